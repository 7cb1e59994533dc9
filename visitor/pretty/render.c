/*
 * render.c: TRACE, TREE and JSON renderings of a state tree (formats are
 * described in pretty.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include "visitor/pretty/pretty.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

/* ---- shared value formatting -------------------------------------------- */

/* Lowercase hex with 0x; negative values as -0x5 (INT64_MIN included). */
static void append_signed_hex(GString *out, int64_t v)
{
    if (v < 0) {
        uint64_t magnitude = (uint64_t)(-(v + 1)) + 1;

        g_string_append_printf(out, "-0x%" PRIx64, magnitude);
    } else {
        g_string_append_printf(out, "0x%" PRIx64, (uint64_t)v);
    }
}

/* An integer, bool or f64 value as TRACE and TREE show it. */
static void append_scalar_value(GString *out, const VsNode *node)
{
    switch (node->kind) {
    case VS_NODE_UINT:
        g_string_append_printf(out, "0x%" PRIx64, node->value.u);
        break;
    case VS_NODE_INT:
        append_signed_hex(out, node->value.i);
        break;
    case VS_NODE_BOOL:
        g_string_append(out, node->value.b ? "true" : "false");
        break;
    case VS_NODE_F64:
        g_string_append_printf(out, "%.17g", node->value.f);
        break;
    default:
        g_assert_not_reached();
    }
}

/* C-style escaping for the text of strings: \" \\ \n \t \r, else \xNN. */
static void append_c_escaped(GString *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            g_string_append(out, "\\\"");
            break;
        case '\\':
            g_string_append(out, "\\\\");
            break;
        case '\n':
            g_string_append(out, "\\n");
            break;
        case '\t':
            g_string_append(out, "\\t");
            break;
        case '\r':
            g_string_append(out, "\\r");
            break;
        default:
            if (*p >= 0x20 && *p < 0x7f) {
                g_string_append_c(out, (char)*p);
            } else {
                g_string_append_printf(out, "\\x%02x", *p);
            }
        }
    }
}

static bool node_is_container(const VsNode *node)
{
    return node->kind == VS_NODE_STRUCT || node->kind == VS_NODE_SUBSECTION ||
           node->kind == VS_NODE_ARRAY || node->kind == VS_NODE_LIST;
}

/* Arrays and lists hold unnamed elements, numbered by position. */
static bool node_holds_elements(const VsNode *node)
{
    return node->kind == VS_NODE_ARRAY || node->kind == VS_NODE_LIST;
}

/* ---- TRACE ------------------------------------------------------------- */

static void trace_bytes(GString *out, const char *path, const VsNode *leaf)
{
    for (size_t i = 0; i < leaf->len; i++) {
        g_string_append_printf(out, "%s(%zu)(1).[%zu] = (uint8) 0x%x\n", path, leaf->len, i,
                               leaf->bytes[i]);
    }
}

void vs_render_trace_leaf(GString *out, const char *path, const VsNode *leaf)
{
    g_assert(!node_is_container(leaf));
    switch (leaf->kind) {
    case VS_NODE_BUFFER:
    case VS_NODE_OPAQUE:
        trace_bytes(out, path, leaf);
        return;
    case VS_NODE_UNUSED:
        g_string_append_printf(out, "%s = (unused) %zu bytes\n", path, leaf->len);
        return;
    case VS_NODE_NULL:
        g_string_append_printf(out, "%s = (nullptr)\n", path);
        return;
    case VS_NODE_STRING:
        g_string_append_printf(out, "%s = (string) \"", path);
        append_c_escaped(out, leaf->str ? leaf->str : "");
        g_string_append(out, "\"\n");
        return;
    default:
        g_string_append_printf(out, "%s = (%s) ", path, vs_node_type_name(leaf));
        append_scalar_value(out, leaf);
        g_string_append_c(out, '\n');
    }
}

/*
 * Appends @node's trace-form component to @path, exactly as the core's
 * vs_visitor_trace_path() renders a frame: ".name" or ".[i]", and
 * "(count)(elem_size)" after an array, "(list)" after a list.
 */
static void trace_append_component(GString *path, const VsNode *node, bool is_element,
                                   size_t index)
{
    if (path->len) {
        g_string_append_c(path, '.');
    }
    if (is_element) {
        g_string_append_printf(path, "[%zu]", index);
    } else {
        g_string_append(path, node->name ? node->name : "<root>");
    }
    if (node->kind == VS_NODE_ARRAY) {
        g_string_append_printf(path, "(%" PRIu32 ")(%zu)", node->count, node->elem_size);
    } else if (node->kind == VS_NODE_LIST) {
        g_string_append(path, "(list)");
    }
}

static void trace_node(GString *out, GString *path, const VsNode *node, bool is_element,
                       size_t index)
{
    size_t saved = path->len;

    trace_append_component(path, node, is_element, index);
    if (node_is_container(node)) {
        for (size_t i = 0; i < node->n_children; i++) {
            trace_node(out, path, node->children[i], node_holds_elements(node), i);
        }
    } else {
        vs_render_trace_leaf(out, path->str, node);
    }
    g_string_truncate(path, saved);
}

void vs_render_trace(GString *out, const VsNode *root)
{
    g_autoptr(GString) path = g_string_new(NULL);

    if (root) {
        trace_node(out, path, root, false, 0);
    }
}

/* ---- TREE -------------------------------------------------------------- */

#define HEXDUMP_WIDTH 16

static void tree_indent(GString *out, unsigned depth)
{
    for (unsigned i = 0; i < depth; i++) {
        g_string_append(out, "  ");
    }
}

/* One hexdump -C line: offset, two groups of 8 bytes, the ASCII column. */
static void hexdump_line(GString *out, unsigned depth, size_t offset, const uint8_t *p,
                         size_t n)
{
    tree_indent(out, depth);
    g_string_append_printf(out, "%08zx  ", offset);
    for (size_t k = 0; k < HEXDUMP_WIDTH; k++) {
        if (k < n) {
            g_string_append_printf(out, "%02x ", p[k]);
        } else {
            g_string_append(out, "   ");
        }
        if (k == HEXDUMP_WIDTH / 2 - 1) {
            g_string_append_c(out, ' ');
        }
    }
    g_string_append(out, " |");
    for (size_t k = 0; k < n; k++) {
        g_string_append_c(out, p[k] >= 0x20 && p[k] < 0x7f ? (char)p[k] : '.');
    }
    g_string_append(out, "|\n");
}

static bool hexdump_repeats(const uint8_t *bytes, size_t len, size_t offset)
{
    return offset >= HEXDUMP_WIDTH && offset + HEXDUMP_WIDTH <= len &&
           memcmp(bytes + offset, bytes + offset - HEXDUMP_WIDTH, HEXDUMP_WIDTH) == 0;
}

static void hexdump(GString *out, unsigned depth, const uint8_t *bytes, size_t len)
{
    bool folded = false;

    for (size_t off = 0; off < len; off += HEXDUMP_WIDTH) {
        if (hexdump_repeats(bytes, len, off)) {
            if (!folded) {
                tree_indent(out, depth);
                g_string_append(out, "*\n");
            }
            folded = true;
            continue;
        }
        folded = false;
        hexdump_line(out, depth, off, bytes + off, MIN(len - off, (size_t)HEXDUMP_WIDTH));
    }
    if (folded) {
        tree_indent(out, depth);
        g_string_append_printf(out, "%08zx\n", len);
    }
}

static void tree_node(GString *out, const VsNode *node, const char *label, unsigned depth);

static void tree_children(GString *out, const VsNode *node, unsigned depth)
{
    for (size_t i = 0; i < node->n_children; i++) {
        const VsNode *child = node->children[i];

        tree_node(out, child, child->name ? child->name : "?", depth);
    }
}

/* Elements of an array or list, with runs of equal consecutive elements folded. */
static void tree_elements(GString *out, const VsNode *array, unsigned depth)
{
    size_t n = array->n_children;
    size_t run_end;

    for (size_t i = 0; i < n; i = run_end) {
        g_autofree char *label = NULL;

        run_end = i + 1;
        while (run_end < n && vs_node_equal(array->children[i], array->children[run_end])) {
            run_end++;
        }
        if (run_end - i >= 2) {
            label = g_strdup_printf("[%zu..%zu] (%zu equal)", i, run_end - 1, run_end - i);
        } else {
            label = g_strdup_printf("[%zu]", i);
        }
        tree_node(out, array->children[i], label, depth);
    }
}

static void tree_node(GString *out, const VsNode *node, const char *label, unsigned depth)
{
    tree_indent(out, depth);
    g_string_append(out, label);
    switch (node->kind) {
    case VS_NODE_STRUCT:
        g_string_append_printf(out, " (%s v%" PRIu32 ")\n", node->type_name, node->version);
        tree_children(out, node, depth + 1);
        return;
    case VS_NODE_SUBSECTION:
        g_string_append_printf(out, " (subsection %s v%" PRIu32 ")\n", node->type_name,
                               node->version);
        tree_children(out, node, depth + 1);
        return;
    case VS_NODE_ARRAY:
        g_string_append_printf(out, "[%" PRIu32 "]\n", node->count);
        tree_elements(out, node, depth + 1);
        return;
    case VS_NODE_LIST:
        g_string_append_printf(out, " (list of %" PRIu32 ")\n", node->count);
        tree_elements(out, node, depth + 1);
        return;
    case VS_NODE_BUFFER:
    case VS_NODE_OPAQUE:
        g_string_append_printf(out, ": %zu bytes%s\n", node->len,
                               node->kind == VS_NODE_OPAQUE ? " (opaque)" : "");
        hexdump(out, depth + 1, node->bytes, node->len);
        return;
    case VS_NODE_UNUSED:
        g_string_append_printf(out, ": %zu bytes (unused)\n", node->len);
        return;
    case VS_NODE_NULL:
        g_string_append(out, " = null\n");
        return;
    case VS_NODE_STRING:
        g_string_append(out, " = \"");
        append_c_escaped(out, node->str ? node->str : "");
        g_string_append(out, "\" (string)\n");
        return;
    default:
        g_string_append(out, " = ");
        append_scalar_value(out, node);
        g_string_append_printf(out, " (%s)\n", vs_node_type_name(node));
    }
}

void vs_render_tree(GString *out, const VsNode *root)
{
    if (root) {
        tree_node(out, root, root->name ? root->name : "<root>", 0);
    }
}

/* ---- JSON -------------------------------------------------------------- */

typedef struct JsonWriter {
    GString *out;
    bool pretty;
    bool first_member;  /* no separator before the next member */
} JsonWriter;

static void json_escape_byte(GString *out, unsigned char c, bool utf8_ok)
{
    switch (c) {
    case '"':
        g_string_append(out, "\\\"");
        return;
    case '\\':
        g_string_append(out, "\\\\");
        return;
    case '\n':
        g_string_append(out, "\\n");
        return;
    case '\r':
        g_string_append(out, "\\r");
        return;
    case '\t':
        g_string_append(out, "\\t");
        return;
    default:
        if (c < 0x20 || (c >= 0x80 && !utf8_ok)) {
            g_string_append_printf(out, "\\u%04x", c);
        } else {
            g_string_append_c(out, (char)c);
        }
    }
}

/* A JSON string; text that is not valid UTF-8 has its high bytes as \u00XX. */
static void json_string(GString *out, const char *s)
{
    bool utf8_ok = g_utf8_validate(s, -1, NULL);

    g_string_append_c(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        json_escape_byte(out, *p, utf8_ok);
    }
    g_string_append_c(out, '"');
}

static void json_key(JsonWriter *w, const char *key)
{
    if (!w->first_member) {
        g_string_append(w->out, w->pretty ? ", " : ",");
    }
    w->first_member = false;
    json_string(w->out, key);
    g_string_append(w->out, w->pretty ? ": " : ":");
}

static void json_member_string(JsonWriter *w, const char *key, const char *value)
{
    json_key(w, key);
    json_string(w->out, value ? value : "");
}

static void json_member_uint(JsonWriter *w, const char *key, uint64_t value)
{
    json_key(w, key);
    g_string_append_printf(w->out, "%" PRIu64, value);
}

/* Integers of width 8 are decimal strings so no JSON parser rounds them. */
static void json_integer_value(JsonWriter *w, const VsNode *node)
{
    const char *quote = node->width == 8 ? "\"" : "";

    json_key(w, "value");
    if (node->kind == VS_NODE_UINT) {
        g_string_append_printf(w->out, "%s%" PRIu64 "%s", quote, node->value.u, quote);
    } else {
        g_string_append_printf(w->out, "%s%" PRId64 "%s", quote, node->value.i, quote);
    }
}

static void json_f64_value(JsonWriter *w, double f)
{
    json_key(w, "value");
    if (isnan(f)) {
        g_string_append(w->out, "\"nan\"");
    } else if (isinf(f)) {
        g_string_append(w->out, f < 0 ? "\"-inf\"" : "\"inf\"");
    } else {
        g_string_append_printf(w->out, "%.17g", f);
    }
}

static void json_bytes_value(JsonWriter *w, const VsNode *node)
{
    json_member_uint(w, "length", node->len);
    json_key(w, "value");
    g_string_append_c(w->out, '"');
    for (size_t i = 0; i < node->len; i++) {
        g_string_append_printf(w->out, "%02x", node->bytes[i]);
    }
    g_string_append_c(w->out, '"');
}

/* The members after "name" and "kind", children excepted. */
static void json_members(JsonWriter *w, const VsNode *node)
{
    switch (node->kind) {
    case VS_NODE_STRUCT:
    case VS_NODE_SUBSECTION:
        json_member_string(w, "type", node->type_name);
        json_member_string(w, "wire_name", node->wire_name);
        json_member_uint(w, "version", node->version);
        break;
    case VS_NODE_ARRAY:
    case VS_NODE_LIST:
        json_member_uint(w, "count", node->count);
        json_member_uint(w, "elem_size", node->elem_size);
        break;
    case VS_NODE_UINT:
    case VS_NODE_INT:
        json_member_uint(w, "width", node->width);
        json_integer_value(w, node);
        break;
    case VS_NODE_BOOL:
        json_key(w, "value");
        g_string_append(w->out, node->value.b ? "true" : "false");
        break;
    case VS_NODE_F64:
        json_f64_value(w, node->value.f);
        break;
    case VS_NODE_BUFFER:
    case VS_NODE_OPAQUE:
        json_bytes_value(w, node);
        break;
    case VS_NODE_STRING:
        json_member_string(w, "value", node->str);
        break;
    case VS_NODE_UNUSED:
        json_member_uint(w, "length", node->len);
        break;
    case VS_NODE_NULL:
    case VS_NODE__MAX:
        break;
    }
}

static void json_newline(JsonWriter *w, unsigned depth)
{
    if (w->pretty) {
        g_string_append_c(w->out, '\n');
        tree_indent(w->out, depth);
    }
}

static void json_node(JsonWriter *w, const VsNode *node, bool is_element, unsigned depth);

static void json_children(JsonWriter *w, const VsNode *node, unsigned depth)
{
    json_key(w, "children");
    g_string_append_c(w->out, '[');
    for (size_t i = 0; i < node->n_children; i++) {
        if (i) {
            g_string_append_c(w->out, ',');
        }
        json_newline(w, depth + 1);
        json_node(w, node->children[i], node_holds_elements(node), depth + 1);
    }
    if (node->n_children) {
        json_newline(w, depth);
    }
    g_string_append_c(w->out, ']');
}

static void json_node(JsonWriter *w, const VsNode *node, bool is_element, unsigned depth)
{
    g_string_append_c(w->out, '{');
    w->first_member = true;
    if (!is_element) {
        json_member_string(w, "name", node->name ? node->name : "<root>");
    }
    json_member_string(w, "kind", vs_node_kind_name(node->kind));
    json_members(w, node);
    if (node_is_container(node)) {
        json_children(w, node, depth);
    }
    g_string_append_c(w->out, '}');
}

void vs_render_json(GString *out, const VsNode *root, bool pretty)
{
    JsonWriter w = { .out = out, .pretty = pretty };

    if (root) {
        json_node(&w, root, false, 0);
    } else {
        g_string_append(out, "null");
    }
    g_string_append_c(out, '\n');
}

/* ---- dispatch ---------------------------------------------------------- */

void vs_render(GString *out, const VsNode *root, VsRenderFormat format)
{
    switch (format) {
    case VS_RENDER_TRACE:
        vs_render_trace(out, root);
        return;
    case VS_RENDER_TREE:
        vs_render_tree(out, root);
        return;
    case VS_RENDER_JSON:
    case VS_RENDER_JSON_PRETTY:
        vs_render_json(out, root, format == VS_RENDER_JSON_PRETTY);
        return;
    case VS_RENDER__MAX:
        break;
    }
    g_assert_not_reached();
}

bool vs_render_file(FILE *fp, const VsNode *root, VsRenderFormat format, GError **errp)
{
    g_autoptr(GString) out = g_string_new(NULL);

    vs_render(out, root, format);
    errno = 0;
    if (fwrite(out->str, 1, out->len, fp) != out->len) {
        int err = errno ? errno : EIO;

        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(err),
                    "writing the rendering failed: %s", g_strerror(err));
        return false;
    }
    return true;
}
