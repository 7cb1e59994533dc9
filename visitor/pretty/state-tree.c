/*
 * state-tree.c: the typed state tree (see state-tree.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include "visitor/pretty/state-tree.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- construction ------------------------------------------------------ */

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

static char *node_strdup(VsNode *node, const char *s)
{
    char *copy;

    if (!s) {
        return NULL;
    }
    copy = talloc_strdup(node, s);
    g_assert(copy != NULL);
    return copy;
}

VsNode *vs_node_new(TALLOC_CTX *mem_ctx, VsNodeKind kind, const char *name)
{
    VsNode *node;

    g_assert(kind < VS_NODE__MAX);
    node = talloc_zero(mem_ctx, VsNode);
    g_assert(node != NULL);
    node->kind = kind;
    node->name = node_strdup(node, name);
    return node;
}

VsNode *vs_node_new_struct(TALLOC_CTX *mem_ctx, const char *name, const char *type_name,
                           const char *wire_name, uint32_t version)
{
    VsNode *node = vs_node_new(mem_ctx, VS_NODE_STRUCT, name);

    node->type_name = node_strdup(node, type_name);
    node->wire_name = node_strdup(node, wire_name);
    node->version = version;
    return node;
}

VsNode *vs_node_new_subsection(TALLOC_CTX *mem_ctx, const char *wire_name,
                               const char *type_name, uint32_t version)
{
    VsNode *node = vs_node_new(mem_ctx, VS_NODE_SUBSECTION, wire_name);

    node->type_name = node_strdup(node, type_name);
    node->wire_name = node_strdup(node, wire_name);
    node->version = version;
    return node;
}

VsNode *vs_node_new_array(TALLOC_CTX *mem_ctx, const char *name, uint32_t count,
                          size_t elem_size)
{
    VsNode *node = vs_node_new(mem_ctx, VS_NODE_ARRAY, name);

    node->count = count;
    node->elem_size = elem_size;
    return node;
}

VsNode *vs_node_new_list(TALLOC_CTX *mem_ctx, const char *name, size_t elem_size)
{
    VsNode *node = vs_node_new(mem_ctx, VS_NODE_LIST, name);

    node->elem_size = elem_size;
    return node;
}

static void assert_width(unsigned width)
{
    g_assert(width == 1 || width == 2 || width == 4 || width == 8);
}

VsNode *vs_node_new_uint(TALLOC_CTX *mem_ctx, const char *name, unsigned width,
                         uint64_t value)
{
    VsNode *node;

    assert_width(width);
    node = vs_node_new(mem_ctx, VS_NODE_UINT, name);
    node->width = width;
    node->value.u = value;
    return node;
}

VsNode *vs_node_new_int(TALLOC_CTX *mem_ctx, const char *name, unsigned width, int64_t value)
{
    VsNode *node;

    assert_width(width);
    node = vs_node_new(mem_ctx, VS_NODE_INT, name);
    node->width = width;
    node->value.i = value;
    return node;
}

VsNode *vs_node_new_bool(TALLOC_CTX *mem_ctx, const char *name, bool value)
{
    VsNode *node = vs_node_new(mem_ctx, VS_NODE_BOOL, name);

    node->value.b = value;
    return node;
}

VsNode *vs_node_new_f64(TALLOC_CTX *mem_ctx, const char *name, double value)
{
    VsNode *node = vs_node_new(mem_ctx, VS_NODE_F64, name);

    node->value.f = value;
    return node;
}

static VsNode *node_new_bytes(TALLOC_CTX *mem_ctx, VsNodeKind kind, const char *name,
                              const uint8_t *data, size_t len)
{
    VsNode *node = vs_node_new(mem_ctx, kind, name);

    g_assert(data != NULL || len == 0);
    node->len = len;
    if (len) {
        node->bytes = talloc_memdup(node, data, len);
        g_assert(node->bytes != NULL);
    }
    return node;
}

VsNode *vs_node_new_buffer(TALLOC_CTX *mem_ctx, const char *name, const uint8_t *data,
                           size_t len)
{
    return node_new_bytes(mem_ctx, VS_NODE_BUFFER, name, data, len);
}

VsNode *vs_node_new_opaque(TALLOC_CTX *mem_ctx, const char *name, const uint8_t *data,
                           size_t len)
{
    return node_new_bytes(mem_ctx, VS_NODE_OPAQUE, name, data, len);
}

VsNode *vs_node_new_string(TALLOC_CTX *mem_ctx, const char *name, const char *str)
{
    VsNode *node = vs_node_new(mem_ctx, VS_NODE_STRING, name);

    node->str = node_strdup(node, str ? str : "");
    return node;
}

VsNode *vs_node_new_unused(TALLOC_CTX *mem_ctx, const char *name, size_t len)
{
    VsNode *node = vs_node_new(mem_ctx, VS_NODE_UNUSED, name);

    node->len = len;
    return node;
}

VsNode *vs_node_new_null(TALLOC_CTX *mem_ctx, const char *name)
{
    return vs_node_new(mem_ctx, VS_NODE_NULL, name);
}

static void node_grow_children(VsNode *parent)
{
    size_t n = parent->children_alloc ? parent->children_alloc * 2 : 4;

    parent->children = talloc_realloc(parent, parent->children, VsNode *, n);
    g_assert(parent->children != NULL);
    parent->children_alloc = n;
}

VsNode *vs_node_append(VsNode *parent, VsNode *child)
{
    g_assert(parent != NULL && child != NULL);
    g_assert(node_is_container(parent));
    g_assert(child->parent == NULL && child != parent);
    if (parent->n_children == parent->children_alloc) {
        node_grow_children(parent);
    }
    parent->children[parent->n_children++] = talloc_steal(parent, child);
    child->parent = parent;
    if (parent->kind == VS_NODE_LIST) {
        parent->count = (uint32_t)parent->n_children;
    }
    return child;
}

static void node_unlink(VsNode *node)
{
    VsNode *parent = node->parent;

    for (size_t i = 0; i < parent->n_children; i++) {
        if (parent->children[i] == node) {
            memmove(&parent->children[i], &parent->children[i + 1],
                    (parent->n_children - i - 1) * sizeof(parent->children[0]));
            parent->n_children--;
            if (parent->kind == VS_NODE_LIST) {
                parent->count = (uint32_t)parent->n_children;
            }
            break;
        }
    }
    node->parent = NULL;
}

void vs_node_free(VsNode *node)
{
    if (!node) {
        return;
    }
    if (node->parent) {
        node_unlink(node);
    }
    talloc_free(node);
}

/* ---- queries ----------------------------------------------------------- */

VsNode *vs_node_child(const VsNode *node, const char *name)
{
    if (!node || !name) {
        return NULL;
    }
    for (size_t i = 0; i < node->n_children; i++) {
        VsNode *child = node->children[i];

        if (child->name && strcmp(child->name, name) == 0) {
            return child;
        }
    }
    return NULL;
}

size_t vs_node_count(const VsNode *node)
{
    size_t n;

    if (!node) {
        return 0;
    }
    n = 1;
    for (size_t i = 0; i < node->n_children; i++) {
        n += vs_node_count(node->children[i]);
    }
    return n;
}

/* Parses "[digits]" at *@p; on success advances *@p past it. */
static bool lookup_parse_index(const char **p, size_t *ret_index)
{
    char *end;
    unsigned long long idx;

    if (**p != '[' || !g_ascii_isdigit((*p)[1])) {
        return false;
    }
    idx = strtoull(*p + 1, &end, 10);
    if (*end != ']') {
        return false;
    }
    *ret_index = (size_t)idx;
    *p = end + 1;
    return true;
}

/* The child named by the component at *@p ("name" up to '.', '[' or end). */
static VsNode *lookup_named_child(const VsNode *node, const char **p)
{
    size_t n = strcspn(*p, ".[");
    g_autofree char *name = g_strndup(*p, n);

    *p += n;
    return vs_node_child(node, name);
}

static bool lookup_root_matches(const VsNode *root, const char **p)
{
    const char *name = root->name ? root->name : "<root>";
    size_t n = strlen(name);

    if (strncmp(*p, name, n) != 0 || ((*p)[n] != '\0' && (*p)[n] != '.' && (*p)[n] != '[')) {
        return false;
    }
    *p += n;
    return true;
}

VsNode *vs_node_lookup(const VsNode *root, const char *path)
{
    const VsNode *node = root;
    const char *p = path;

    if (!root || !path || !lookup_root_matches(root, &p)) {
        return NULL;
    }
    while (node && *p) {
        size_t idx;

        if (*p == '[') {
            if (!lookup_parse_index(&p, &idx) || !node_holds_elements(node) ||
                idx >= node->n_children) {
                return NULL;
            }
            node = node->children[idx];
        } else if (*p == '.') {
            p++;
            node = lookup_named_child(node, &p);
        } else {
            return NULL;
        }
    }
    return (VsNode *)node;
}

/* ---- paths ------------------------------------------------------------- */

static size_t node_index(const VsNode *node)
{
    const VsNode *parent = node->parent;

    for (size_t i = 0; i < parent->n_children; i++) {
        if (parent->children[i] == node) {
            return i;
        }
    }
    g_assert_not_reached();
}

/*
 * Appends one component in the error form to @s, which holds the parent's
 * path: ".name", or "[index]" for an array or list element.
 */
static void path_append_component(GString *s, const char *name, bool is_element,
                                  size_t index)
{
    if (is_element) {
        g_string_append_printf(s, "[%zu]", index);
        return;
    }
    if (s->len) {
        g_string_append_c(s, '.');
    }
    g_string_append(s, name ? name : "<root>");
}

static bool node_is_element(const VsNode *node)
{
    return node->parent && node_holds_elements(node->parent);
}

static void path_build(GString *s, const VsNode *node)
{
    if (node->parent) {
        path_build(s, node->parent);
        path_append_component(s, node->name, node_is_element(node), node_index(node));
    } else {
        path_append_component(s, node->name, false, 0);
    }
}

char *vs_node_path(TALLOC_CTX *mem_ctx, const VsNode *node)
{
    g_autoptr(GString) s = g_string_new(NULL);
    char *ret;

    g_assert(node != NULL);
    path_build(s, node);
    ret = talloc_strdup(mem_ctx, s->str);
    g_assert(ret != NULL);
    return ret;
}

/* ---- names ------------------------------------------------------------- */

const char *vs_node_kind_name(VsNodeKind kind)
{
    static const char *const names[VS_NODE__MAX] = {
        [VS_NODE_STRUCT] = "struct",   [VS_NODE_SUBSECTION] = "subsection",
        [VS_NODE_ARRAY] = "array",     [VS_NODE_UINT] = "uint",
        [VS_NODE_INT] = "int",         [VS_NODE_BOOL] = "bool",
        [VS_NODE_F64] = "f64",         [VS_NODE_BUFFER] = "buffer",
        [VS_NODE_STRING] = "string",   [VS_NODE_UNUSED] = "unused",
        [VS_NODE_NULL] = "null",       [VS_NODE_OPAQUE] = "opaque",
        [VS_NODE_LIST] = "list",
    };

    g_assert(kind < VS_NODE__MAX);
    return names[kind];
}

static const char *width_type_name(bool is_signed, unsigned width)
{
    switch (width) {
    case 1:
        return is_signed ? "int8" : "uint8";
    case 2:
        return is_signed ? "int16" : "uint16";
    case 4:
        return is_signed ? "int32" : "uint32";
    case 8:
        return is_signed ? "int64" : "uint64";
    default:
        return is_signed ? "int?" : "uint?";
    }
}

const char *vs_node_type_name(const VsNode *node)
{
    switch (node->kind) {
    case VS_NODE_UINT:
        return width_type_name(false, node->width);
    case VS_NODE_INT:
        return width_type_name(true, node->width);
    case VS_NODE_F64:
        return "float64";
    case VS_NODE_NULL:
        return "nullptr";
    default:
        return vs_node_kind_name(node->kind);
    }
}

/* ---- comparison -------------------------------------------------------- */

/* The first difference found: where (error-form path) and what. */
typedef struct NodeDiff {
    GString *path;
    char *reason;   /* g_malloc'd; NULL while no difference is known */
} NodeDiff;

static bool diff_found(NodeDiff *d, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static bool diff_found(NodeDiff *d, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    d->reason = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return false;
}

static bool strings_equal(const char *a, const char *b)
{
    return (!a || !b) ? a == b : strcmp(a, b) == 0;
}

static const char *quoted_or_none(GString *buf, const char *s)
{
    g_string_truncate(buf, 0);
    if (s) {
        g_string_append_printf(buf, "'%s'", s);
    } else {
        g_string_append(buf, "(none)");
    }
    return buf->str;
}

static bool compare_names(NodeDiff *d, const VsNode *a, const VsNode *b)
{
    g_autoptr(GString) qa = g_string_new(NULL);
    g_autoptr(GString) qb = g_string_new(NULL);

    if (strings_equal(a->name, b->name)) {
        return true;
    }
    return diff_found(d, "name %s vs %s", quoted_or_none(qa, a->name),
                      quoted_or_none(qb, b->name));
}

static bool compare_struct_headers(NodeDiff *d, const VsNode *a, const VsNode *b)
{
    g_autoptr(GString) qa = g_string_new(NULL);
    g_autoptr(GString) qb = g_string_new(NULL);

    if (!strings_equal(a->type_name, b->type_name)) {
        return diff_found(d, "type %s vs %s", quoted_or_none(qa, a->type_name),
                          quoted_or_none(qb, b->type_name));
    }
    if (!strings_equal(a->wire_name, b->wire_name)) {
        return diff_found(d, "wire name %s vs %s", quoted_or_none(qa, a->wire_name),
                          quoted_or_none(qb, b->wire_name));
    }
    if (a->version != b->version) {
        return diff_found(d, "version %" PRIu32 " vs %" PRIu32, a->version, b->version);
    }
    return true;
}

static bool compare_array_headers(NodeDiff *d, const VsNode *a, const VsNode *b)
{
    if (a->count != b->count) {
        return diff_found(d, "count %" PRIu32 " vs %" PRIu32, a->count, b->count);
    }
    if (a->elem_size != b->elem_size) {
        return diff_found(d, "element size %zu vs %zu", a->elem_size, b->elem_size);
    }
    return true;
}

static bool compare_bytes(NodeDiff *d, const VsNode *a, const VsNode *b)
{
    size_t n = MIN(a->len, b->len);

    for (size_t i = 0; i < n; i++) {
        if (a->bytes[i] != b->bytes[i]) {
            g_string_append_printf(d->path, "[%zu]", i);
            return diff_found(d, "value 0x%x vs 0x%x", a->bytes[i], b->bytes[i]);
        }
    }
    if (a->len != b->len) {
        return diff_found(d, "length %zu vs %zu", a->len, b->len);
    }
    return true;
}

static bool compare_f64(NodeDiff *d, double a, double b)
{
    uint64_t ba, bb;

    memcpy(&ba, &a, sizeof(ba));
    memcpy(&bb, &b, sizeof(bb));
    if (ba == bb) {
        return true;
    }
    return diff_found(d, "value %.17g vs %.17g", a, b);
}

static bool compare_values(NodeDiff *d, const VsNode *a, const VsNode *b)
{
    switch (a->kind) {
    case VS_NODE_STRUCT:
    case VS_NODE_SUBSECTION:
        return compare_struct_headers(d, a, b);
    case VS_NODE_ARRAY:
    case VS_NODE_LIST:
        return compare_array_headers(d, a, b);
    case VS_NODE_UINT:
        return a->value.u == b->value.u ||
               diff_found(d, "value 0x%" PRIx64 " vs 0x%" PRIx64, a->value.u, b->value.u);
    case VS_NODE_INT:
        return a->value.i == b->value.i ||
               diff_found(d, "value %" PRId64 " vs %" PRId64, a->value.i, b->value.i);
    case VS_NODE_BOOL:
        return a->value.b == b->value.b ||
               diff_found(d, "value %s vs %s", a->value.b ? "true" : "false",
                          b->value.b ? "true" : "false");
    case VS_NODE_F64:
        return compare_f64(d, a->value.f, b->value.f);
    case VS_NODE_BUFFER:
    case VS_NODE_OPAQUE:
        return compare_bytes(d, a, b);
    case VS_NODE_STRING:
        return strings_equal(a->str, b->str) ||
               diff_found(d, "value \"%s\" vs \"%s\"", a->str, b->str);
    case VS_NODE_UNUSED:
        return a->len == b->len || diff_found(d, "length %zu vs %zu", a->len, b->len);
    case VS_NODE_NULL:
    case VS_NODE__MAX:
        break;
    }
    return true;
}

static bool compare_nodes(NodeDiff *d, const VsNode *a, const VsNode *b, bool is_element,
                          size_t index);

static bool compare_children(NodeDiff *d, const VsNode *a, const VsNode *b)
{
    size_t n = MIN(a->n_children, b->n_children);
    bool elements = node_holds_elements(a);

    for (size_t i = 0; i < n; i++) {
        if (!compare_nodes(d, a->children[i], b->children[i], elements, i)) {
            return false;
        }
    }
    if (a->n_children != b->n_children) {
        const VsNode *extra = a->n_children > n ? a->children[n] : b->children[n];

        path_append_component(d->path, extra->name, elements, n);
        return diff_found(d, "only in the %s tree", a->n_children > n ? "first" : "second");
    }
    return true;
}

static bool compare_nodes(NodeDiff *d, const VsNode *a, const VsNode *b, bool is_element,
                          size_t index)
{
    size_t saved = d->path->len;

    path_append_component(d->path, a->name, is_element, index);
    if (a->kind != b->kind || a->width != b->width) {
        return diff_found(d, "kind %s vs %s", vs_node_type_name(a), vs_node_type_name(b));
    }
    if (!compare_names(d, a, b) || !compare_values(d, a, b) || !compare_children(d, a, b)) {
        return false;
    }
    g_string_truncate(d->path, saved);
    return true;
}

static void diff_report(NodeDiff *d, TALLOC_CTX *mem_ctx, char **ret_path, char **ret_reason)
{
    if (ret_path) {
        *ret_path = talloc_strdup(mem_ctx, d->path->str);
        g_assert(*ret_path != NULL);
    }
    if (ret_reason) {
        *ret_reason = talloc_strdup(mem_ctx, d->reason);
        g_assert(*ret_reason != NULL);
    }
}

bool vs_node_compare(const VsNode *a, const VsNode *b, TALLOC_CTX *mem_ctx, char **ret_path,
                     char **ret_reason)
{
    NodeDiff d = { .path = g_string_new(NULL) };
    bool equal;

    if (!a || !b) {
        equal = a == b;
        if (!equal) {
            g_string_append(d.path, (a ? a : b)->name ? (a ? a : b)->name : "<root>");
            d.reason = g_strdup_printf("only in the %s tree", a ? "first" : "second");
        }
    } else {
        equal = compare_nodes(&d, a, b, false, 0);
    }
    if (!equal) {
        diff_report(&d, mem_ctx, ret_path, ret_reason);
    }
    g_string_free(d.path, TRUE);
    g_free(d.reason);
    return equal;
}

bool vs_node_equal(const VsNode *a, const VsNode *b)
{
    return vs_node_compare(a, b, NULL, NULL, NULL);
}
