/*
 * qemu-json.c: the analyze-migration.py `-d state` rendering of a loaded
 * stream (qemu-json.h).
 *
 * SPDX-License-Identifier: MIT
 *
 * Two steps: the stream's records become a small value tree with the
 * script's shape (ordered objects, lists, strings, booleans), then that
 * tree is written in the script's JSON layout.  Objects are built through
 * a "group": for each key, the values read under it in order, because the
 * script turns a name read twice into a list, and reads a re-sent section
 * (PART/END) into the same object.
 */
#include "tools/qemu-json.h"

#include <inttypes.h>
#include <string.h>
#include <talloc.h>

typedef enum QjKind {
    QJ_OBJECT,
    QJ_LIST,
    QJ_STRING,
    QJ_BOOL,
} QjKind;

typedef struct QjValue QjValue;

/* A key of an object under construction and the values read under it. */
typedef struct QjKey {
    char *name;
    bool replace;       /* a later value replaces (subsections, RAM sizes) */
    QjValue **values;
    size_t n_values;
} QjKey;

struct QjValue {
    QjKind kind;
    char *str;          /* QJ_STRING */
    bool b;             /* QJ_BOOL */
    QjKey *keys;        /* QJ_OBJECT */
    size_t n_keys;
    QjValue **items;    /* QJ_LIST */
    size_t n_items;
};

static QjValue *qj_new(TALLOC_CTX *ctx, QjKind kind)
{
    QjValue *v = talloc_zero(ctx, QjValue);

    g_assert(v != NULL);
    v->kind = kind;
    return v;
}

static QjValue *qj_string(TALLOC_CTX *ctx, char *owned)
{
    QjValue *v = qj_new(ctx, QJ_STRING);

    v->str = talloc_strdup(v, owned);
    g_free(owned);
    return v;
}

static void qj_list_add(QjValue *list, QjValue *item)
{
    list->items = talloc_realloc(list, list->items, QjValue *, list->n_items + 1);
    g_assert(list->items != NULL);
    list->items[list->n_items++] = talloc_steal(list, item);
}

static QjKey *qj_key(QjValue *obj, const char *name, bool replace)
{
    for (size_t i = 0; i < obj->n_keys; i++) {
        if (strcmp(obj->keys[i].name, name) == 0) {
            return &obj->keys[i];
        }
    }
    obj->keys = talloc_realloc(obj, obj->keys, QjKey, obj->n_keys + 1);
    g_assert(obj->keys != NULL);
    obj->keys[obj->n_keys] = (QjKey){ .name = talloc_strdup(obj, name), .replace = replace };
    return &obj->keys[obj->n_keys++];
}

/* Reads @v under @name into @obj, as the script's struct reader stores a field. */
static void qj_put(QjValue *obj, const char *name, QjValue *v, bool replace)
{
    QjKey *k = qj_key(obj, name, replace);

    if (replace) {
        k->n_values = 0;
    }
    k->values = talloc_realloc(obj, k->values, QjValue *, k->n_values + 1);
    g_assert(k->values != NULL);
    k->values[k->n_values++] = talloc_steal(obj, v);
}

/* ---- values of state nodes ------------------------------------------------- */

/* How the description types a field, where that changes the script's output. */
typedef enum QjOverride {
    QJ_AS_NODE,
    QJ_AS_SIGNED,      /* "uint8 equal", "uint16 equal", "int64 equal" */
    QJ_AS_BOOL,        /* "bool" (any non-zero byte is true) */
} QjOverride;

static QjOverride qj_override(const VsJson *field)
{
    const char *type = vs_json_get_string(vs_json_object_get(field, "type"), NULL, NULL);

    if (!type) {
        return QJ_AS_NODE;
    }
    if (strcmp(type, "uint8 equal") == 0 || strcmp(type, "uint16 equal") == 0 ||
        strcmp(type, "int64 equal") == 0) {
        return QJ_AS_SIGNED;
    }
    return strcmp(type, "bool") == 0 ? QJ_AS_BOOL : QJ_AS_NODE;
}

/* The first field of description struct @desc named @name, or NULL. */
static const VsJson *qj_desc_field(const VsJson *desc, const char *name)
{
    const VsJson *fields = vs_json_object_get(desc, "fields");

    for (size_t i = 0; name && i < vs_json_length(fields); i++) {
        const VsJson *f = vs_json_array_get(fields, i);
        const char *n = vs_json_get_string(vs_json_object_get(f, "name"), NULL, NULL);

        if (n && strcmp(n, name) == 0) {
            return f;
        }
    }
    return NULL;
}

static const VsJson *qj_desc_subsection(const VsJson *desc, const char *name)
{
    const VsJson *subs = vs_json_object_get(desc, "subsections");

    for (size_t i = 0; name && i < vs_json_length(subs); i++) {
        const VsJson *s = vs_json_array_get(subs, i);
        const char *n = vs_json_get_string(vs_json_object_get(s, "vmsd_name"), NULL, NULL);

        if (n && strcmp(n, name) == 0) {
            return s;
        }
    }
    return NULL;
}

static char *qj_hex_bytes(const uint8_t *p, size_t len)
{
    GString *s = g_string_sized_new(len * 3);

    for (size_t i = 0; i < len; i++) {
        g_string_append_printf(s, "%s%02x", i ? " " : "", p ? p[i] : 0);
    }
    return g_string_free(s, FALSE);
}

static char *qj_int(uint64_t bits, unsigned width, bool is_signed)
{
    uint64_t mask = width >= 8 ? UINT64_MAX : ((uint64_t)1 << (8 * width)) - 1;
    uint64_t u = bits & mask;
    int64_t sv;

    if (!is_signed || width == 0 || !(u >> (8 * MIN(width, 8u) - 1) & 1)) {
        return g_strdup_printf("0x%0*" PRIx64, (int)(2 * width), u);
    }
    sv = width >= 8 ? (int64_t)u : (int64_t)u - ((int64_t)1 << (8 * width));
    return g_strdup_printf("0x%0*" PRIx64 " (%" PRId64 ")", (int)(2 * width), u, sv);
}

static QjValue *qj_struct(TALLOC_CTX *ctx, const VsNode *n, const VsJson *desc);

static QjValue *qj_scalar(TALLOC_CTX *ctx, const VsNode *n, QjOverride how)
{
    QjValue *v;
    uint8_t be[8];
    uint64_t bits;

    switch (n->kind) {
    case VS_NODE_UINT:
    case VS_NODE_INT:
        if (how == QJ_AS_BOOL) {
            v = qj_new(ctx, QJ_BOOL);
            v->b = n->value.u != 0;
            return v;
        }
        return qj_string(ctx, qj_int(n->value.u, n->width,
                                     n->kind == VS_NODE_INT || how == QJ_AS_SIGNED));
    case VS_NODE_BOOL:
        v = qj_new(ctx, QJ_BOOL);
        v->b = n->value.b;
        return v;
    case VS_NODE_F64:
        /* The script has no float reader: the eight bytes as sent. */
        memcpy(&bits, &n->value.f, sizeof(bits));
        for (int i = 0; i < 8; i++) {
            be[i] = (uint8_t)(bits >> (56 - 8 * i));
        }
        return qj_string(ctx, qj_hex_bytes(be, 8));
    case VS_NODE_BUFFER:
    case VS_NODE_OPAQUE:
        return qj_string(ctx, qj_hex_bytes(n->bytes, n->len));
    case VS_NODE_UNUSED:
        return qj_string(ctx, qj_hex_bytes(NULL, n->len));
    case VS_NODE_STRING:
        return qj_string(ctx, g_strdup(n->str ? n->str : ""));
    default:
        return qj_string(ctx, g_strdup("nullptr"));
    }
}

/* The value of one array element or field that is not itself an array. */
static QjValue *qj_value(TALLOC_CTX *ctx, const VsNode *n, const VsJson *field)
{
    if (n->kind == VS_NODE_STRUCT || n->kind == VS_NODE_SUBSECTION) {
        return qj_struct(ctx, n, vs_json_object_get(field, "struct"));
    }
    if (n->kind == VS_NODE_ARRAY || n->kind == VS_NODE_LIST) {
        /* Arrays of arrays come only from compiled schemas: nested lists. */
        QjValue *list = qj_new(ctx, QJ_LIST);

        for (size_t i = 0; i < n->n_children; i++) {
            qj_list_add(list, qj_value(list, n->children[i], field));
        }
        return list;
    }
    return qj_scalar(ctx, n, qj_override(field));
}

/* Reads the children of struct node @n into @obj (appending, as a re-read does). */
static void qj_struct_into(QjValue *obj, const VsNode *n, const VsJson *desc)
{
    for (size_t i = 0; i < n->n_children; i++) {
        const VsNode *c = n->children[i];
        const char *name = c->name ? c->name : "";

        if (c->kind == VS_NODE_SUBSECTION) {
            qj_put(obj, name, qj_struct(obj, c, qj_desc_subsection(desc, c->name)), true);
        } else if (c->kind == VS_NODE_ARRAY || c->kind == VS_NODE_LIST) {
            const VsJson *field = qj_desc_field(desc, c->name);

            /* The script unfolds an array into one field per element. */
            for (size_t k = 0; k < c->n_children; k++) {
                qj_put(obj, name, qj_value(obj, c->children[k], field), false);
            }
        } else {
            qj_put(obj, name, qj_value(obj, c, qj_desc_field(desc, c->name)), false);
        }
    }
}

static QjValue *qj_struct(TALLOC_CTX *ctx, const VsNode *n, const VsJson *desc)
{
    QjValue *obj = qj_new(ctx, QJ_OBJECT);

    qj_struct_into(obj, n, desc);
    return obj;
}

/* ---- sections ------------------------------------------------------------------ */

typedef struct QjSection {
    uint32_t section_id;
    char *idstr;
    QjValue *value;
} QjSection;

typedef struct QjStream {
    TALLOC_CTX *ctx;
    const VsStream *top;
    const char *const *globs;
    QjSection *sections;
    size_t n_sections;
} QjStream;

static QjSection *qj_section(QjStream *qs, uint32_t id)
{
    for (size_t i = 0; i < qs->n_sections; i++) {
        if (qs->sections[i].section_id == id) {
            return &qs->sections[i];
        }
    }
    return NULL;
}

/* The trailer's device entry for a section, or NULL. */
static const VsJson *qj_desc_device(const VsStream *s, const VsSection *sec)
{
    const VsJson *devices = vs_json_object_get(s->vmdesc, "devices");

    for (size_t i = 0; i < vs_json_length(devices); i++) {
        const VsJson *d = vs_json_array_get(devices, i);
        const char *name = vs_json_get_string(vs_json_object_get(d, "name"), NULL, NULL);
        uint64_t inst;

        if (name && strcmp(name, sec->idstr) == 0 &&
            vs_json_get_uint64(vs_json_object_get(d, "instance_id"), &inst, NULL) &&
            inst == sec->instance_id) {
            return d;
        }
    }
    return NULL;
}

static void qj_ram(QjValue *obj, const VsSection *sec)
{
    QjKey *k = qj_key(obj, "section sizes", true);
    QjValue *sizes;

    if (!k->n_values) {
        qj_put(obj, "section sizes", qj_new(obj, QJ_OBJECT), true);
    }
    sizes = k->values[0];
    for (size_t i = 0; i < sec->n_ram; i++) {
        const VsRamRecord *r = &sec->ram[i];

        if ((r->flags & ~(uint32_t)VS_RAM_CONTINUE) != VS_RAM_MEM_SIZE) {
            continue;
        }
        for (size_t b = 0; b < r->n_blocks; b++) {
            qj_put(sizes, r->blocks[b].name,
                   qj_string(sizes, g_strdup_printf("0x%016" PRIx64, r->blocks[b].length)),
                   true);
        }
    }
}

static void qj_add_section(QjStream *qs, const VsSection *sec)
{
    bool fresh = sec->type == VS_MIG_SECTION_START || sec->type == VS_MIG_SECTION_FULL;
    QjSection *entry = qj_section(qs, sec->section_id);

    if (!vs_qemu_json_glob_match(qs->globs, sec->idstr)) {
        return;
    }
    if (!entry) {
        qs->sections = talloc_realloc(qs->ctx, qs->sections, QjSection, qs->n_sections + 1);
        g_assert(qs->sections != NULL);
        entry = &qs->sections[qs->n_sections++];
        *entry = (QjSection){ .section_id = sec->section_id };
        fresh = true;
    }
    if (fresh) {
        entry->idstr = talloc_strdup(qs->ctx, sec->idstr);
        entry->value = qj_new(qs->ctx, QJ_OBJECT);
    }
    if (sec->decoded_by == VS_DECODED_RAM) {
        qj_ram(entry->value, sec);
    } else if (sec->state) {
        qj_struct_into(entry->value, sec->state, qj_desc_device(qs->top, sec));
    }
}

static void qj_add_stream(QjStream *qs, const VsStream *s)
{
    for (size_t i = 0; i < s->n_records; i++) {
        const VsRecord *r = &s->records[i];

        if (r->kind == VS_REC_SECTION) {
            qj_add_section(qs, &r->section);
        } else if (r->kind == VS_REC_COMMAND && r->command.package) {
            qj_add_stream(qs, r->command.package);
        }
    }
}

/* ---- writing JSON as Python's json module does ------------------------------------ */

/* One code point as json.dumps(ensure_ascii=True) writes it. */
static void qj_write_codepoint(GString *out, gunichar c)
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
    case '\b':
        g_string_append(out, "\\b");
        return;
    case '\f':
        g_string_append(out, "\\f");
        return;
    default:
        break;
    }
    if (c >= 0x20 && c < 0x7f) {
        g_string_append_c(out, (char)c);
    } else if (c < 0x10000) {
        g_string_append_printf(out, "\\u%04x", c);
    } else {
        c -= 0x10000;
        g_string_append_printf(out, "\\u%04x\\u%04x", 0xd800 + (c >> 10), 0xdc00 + (c & 0x3ff));
    }
}

/* A string; bytes that are not UTF-8 are written as the code point of their value. */
static void qj_write_string(GString *out, const char *s)
{
    const char *p = s;
    const char *end = s + strlen(s);

    g_string_append_c(out, '"');
    while (p < end) {
        gunichar c = g_utf8_get_char_validated(p, end - p);

        if (c == (gunichar)-1 || c == (gunichar)-2) {
            qj_write_codepoint(out, (guchar)*p++);
            continue;
        }
        qj_write_codepoint(out, c);
        p = g_utf8_next_char(p);
    }
    g_string_append_c(out, '"');
}

static void qj_indent(GString *out, unsigned level)
{
    g_string_append_c(out, '\n');
    for (unsigned i = 0; i < level; i++) {
        g_string_append(out, "    ");
    }
}

static void qj_write(GString *out, const QjValue *v, unsigned level);

/* The value an object key ends up with: one read, or a list of all of them. */
static void qj_write_key_value(GString *out, const QjKey *k, unsigned level)
{
    if (k->n_values == 1) {
        qj_write(out, k->values[0], level);
        return;
    }
    g_string_append_c(out, '[');
    for (size_t i = 0; i < k->n_values; i++) {
        g_string_append(out, i ? "," : "");
        qj_indent(out, level + 1);
        qj_write(out, k->values[i], level + 1);
    }
    qj_indent(out, level);
    g_string_append_c(out, ']');
}

static void qj_write(GString *out, const QjValue *v, unsigned level)
{
    switch (v->kind) {
    case QJ_STRING:
        qj_write_string(out, v->str);
        return;
    case QJ_BOOL:
        g_string_append(out, v->b ? "true" : "false");
        return;
    case QJ_LIST:
        if (!v->n_items) {
            g_string_append(out, "[]");
            return;
        }
        g_string_append_c(out, '[');
        for (size_t i = 0; i < v->n_items; i++) {
            g_string_append(out, i ? "," : "");
            qj_indent(out, level + 1);
            qj_write(out, v->items[i], level + 1);
        }
        qj_indent(out, level);
        g_string_append_c(out, ']');
        return;
    case QJ_OBJECT:
        if (!v->n_keys) {
            g_string_append(out, "{}");
            return;
        }
        g_string_append_c(out, '{');
        for (size_t i = 0; i < v->n_keys; i++) {
            g_string_append(out, i ? "," : "");
            qj_indent(out, level + 1);
            qj_write_string(out, v->keys[i].name);
            g_string_append(out, ": ");
            qj_write_key_value(out, &v->keys[i], level + 1);
        }
        qj_indent(out, level);
        g_string_append_c(out, '}');
        return;
    }
}

bool vs_qemu_json_glob_match(const char *const *globs, const char *idstr)
{
    if (!globs) {
        return true;
    }
    for (size_t i = 0; globs[i]; i++) {
        if (g_pattern_match_simple(globs[i], idstr)) {
            return true;
        }
    }
    return false;
}

void vs_qemu_json_render(GString *out, const VsStream *s, const char *const *section_globs)
{
    QjStream qs = { .ctx = talloc_new(NULL), .top = s, .globs = section_globs };
    QjValue *root;

    g_assert(qs.ctx != NULL);
    qj_add_stream(&qs, s);
    root = qj_new(qs.ctx, QJ_OBJECT);
    for (size_t i = 0; i < qs.n_sections; i++) {
        g_autofree char *key = g_strdup_printf("%s (%" PRIu32 ")", qs.sections[i].idstr,
                                               qs.sections[i].section_id);

        qj_put(root, key, qs.sections[i].value, true);
    }
    qj_write(out, root, 0);
    g_string_append_c(out, '\n');
    talloc_free(qs.ctx);
}
