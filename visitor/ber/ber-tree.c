/*
 * ber-tree.c: vs_ber_decode_tree(), the schema-less BER decoder (see
 * ber-visitor.h and docs/ber-format.md).
 *
 * SPDX-License-Identifier: MIT
 *
 * A recursive descent over the encoding: each value's tag says which
 * VsNode it becomes; a field wrapper gives it its name.  Every header
 * element is checked for its place and type, so a decoded tree always has
 * a shape some walk could have produced (array counts equal the elements).
 */
#include "visitor/ber/ber-tlv.h"
#include "visitor/ber/ber-visitor.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

typedef struct Decoder {
    const uint8_t *data;
    TALLOC_CTX *ctx;
    /* Partial decoding (vs_ber_decode_tree_partial()). */
    bool partial;
    VsNode *kept;             /* the innermost struct that failed, with its fields so far */
    GPtrArray *names;         /* the path being decoded: field names, "[i]" */
    char *fail_path;          /* the path at the first failure */
} Decoder;

static void path_push(Decoder *d, char *name)
{
    g_ptr_array_add(d->names, name);
}

static void path_pop(Decoder *d)
{
    if (d->partial) {
        g_ptr_array_remove_index(d->names, d->names->len - 1);
    }
}

/* Notes the path of the first failure (the innermost comes first). */
static void path_fail(Decoder *d)
{
    GString *p;

    if (!d->partial || d->fail_path) {
        return;
    }
    p = g_string_new(NULL);
    for (guint i = 0; i < d->names->len; i++) {
        const char *n = g_ptr_array_index(d->names, i);

        if (!n[0]) {
            continue;   /* a subsection's item has no name */
        }
        if (p->len && n[0] != '[') {
            g_string_append_c(p, '.');
        }
        g_string_append(p, n);
    }
    d->fail_path = g_string_free(p, FALSE);
}

static bool dec_fail(GError **errp, VsVisitError code, size_t offset, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

static bool dec_fail(GError **errp, VsVisitError code, size_t offset, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(errp, VS_VISIT_ERROR, code, "%s (offset 0x%zx)", msg, offset);
    return false;
}

static VsNode *decode_value(Decoder *d, const VsBerTlv *value, const char *name,
                            unsigned depth, GError **errp);

/* The next TLV at *@pos inside @end, of universal primitive @tag when @tag >= 0. */
static bool next_tlv(Decoder *d, size_t *pos, size_t end, unsigned depth, int tag,
                     VsBerTlv *t, GError **errp)
{
    if (*pos >= end) {
        return dec_fail(errp, VS_VISIT_ERROR_TRUNCATED, *pos, "a container ends too early");
    }
    if (d->partial ? !vs_ber_read_tlv_clipped(d->data, *pos, end, depth, t, errp)
                   : !vs_ber_read_tlv(d->data, *pos, end, depth, t, errp)) {
        return false;
    }
    if (tag >= 0 && !vs_ber_is(t, VS_BER_UNIVERSAL, false, (uint32_t)tag)) {
        return dec_fail(errp, VS_VISIT_ERROR_MISMATCH, t->start, "unexpected element in a header");
    }
    *pos = t->end;
    return true;
}

static bool get_u32(Decoder *d, const VsBerTlv *t, uint32_t *ret, GError **errp)
{
    uint64_t val = 0;
    bool neg = false;

    if (!vs_ber_get_integer(d->data, t, &neg, &val, errp)) {
        return false;
    }
    if (neg || val > UINT32_MAX) {
        return dec_fail(errp, VS_VISIT_ERROR_RANGE, t->start, "header INTEGER out of range");
    }
    *ret = (uint32_t)val;
    return true;
}

/* A copy of a string's content; the caller frees it. */
static char *get_text(Decoder *d, const VsBerTlv *t)
{
    return g_strndup((const char *)d->data + t->content, t->len);
}

/* A [k] value's single inner primitive of universal @tag. */
static bool unwrap(Decoder *d, const VsBerTlv *value, uint32_t tag, unsigned depth,
                   VsBerTlv *inner, GError **errp)
{
    size_t pos = value->content;

    if (!next_tlv(d, &pos, value->content_end, depth, (int)tag, inner, errp)) {
        return false;
    }
    if (inner->end != value->content_end) {
        return dec_fail(errp, VS_VISIT_ERROR_MISMATCH, inner->end, "trailing bytes in a value");
    }
    return true;
}

/* A [k] container's single SEQUENCE. */
static bool open_seq(Decoder *d, const VsBerTlv *value, unsigned depth, VsBerTlv *seq,
                     GError **errp)
{
    if (d->partial
            ? !vs_ber_read_tlv_clipped(d->data, value->content, value->content_end, depth, seq,
                                       errp)
            : !vs_ber_read_tlv(d->data, value->content, value->content_end, depth, seq, errp)) {
        return false;
    }
    if (!vs_ber_is(seq, VS_BER_UNIVERSAL, true, VS_BER_TAG_SEQUENCE) || seq->end != value->content_end) {
        return dec_fail(errp, VS_VISIT_ERROR_MISMATCH, seq->start,
                        "a container does not hold exactly one SEQUENCE");
    }
    return true;
}

/* A field item [i] SEQUENCE { name?, value } at *@pos, decoded and appended to @parent. */
static VsNode *decode_field(Decoder *d, size_t *pos, size_t end, unsigned depth,
                            GError **errp)
{
    VsBerTlv item, seq, t;
    g_autofree char *name = NULL;
    size_t p;

    if (!next_tlv(d, pos, end, depth, -1, &item, errp)) {
        return NULL;
    }
    if (item.cls != VS_BER_CONTEXT || !item.constructed) {
        dec_fail(errp, VS_VISIT_ERROR_MISMATCH, item.start, "expected a field [i]");
        return NULL;
    }
    if (!open_seq(d, &item, depth + 1, &seq, errp)) {
        return NULL;
    }
    p = seq.content;
    if (!next_tlv(d, &p, seq.content_end, depth + 2, -1, &t, errp)) {
        return NULL;
    }
    if (vs_ber_is(&t, VS_BER_UNIVERSAL, false, VS_BER_TAG_UTF8STRING)) {
        name = g_strndup((const char *)d->data + t.content, t.len);
        if (!next_tlv(d, &p, seq.content_end, depth + 2, -1, &t, errp)) {
            return NULL;
        }
    }
    if (p != seq.content_end) {
        /* The must-understand marker, BOOLEAN TRUE, may close the item. */
        VsBerTlv mark;
        size_t q = p;

        if (!next_tlv(d, &q, seq.content_end, depth + 2, -1, &mark, NULL) ||
            !vs_ber_is(&mark, VS_BER_UNIVERSAL, false, VS_BER_TAG_BOOLEAN) || mark.len != 1 ||
            d->data[mark.content] != 0xff || q != seq.content_end) {
            dec_fail(errp, VS_VISIT_ERROR_MISMATCH, p, "trailing bytes after a field's value");
            return NULL;
        }
    }
    return decode_value(d, &t, name, depth + 2, errp);
}

/* For a field whose name cannot be read: where it is, after @parent's fields. */
static char *field_after(const VsNode *parent)
{
    const VsNode *last = parent->n_children ? parent->children[parent->n_children - 1] : NULL;

    return last && last->name ? g_strdup_printf("(the field after %s)", last->name)
                              : g_strdup("(the first field)");
}

/* decode_field() with the field's name on the path. */
static VsNode *decode_named_field(Decoder *d, const VsNode *parent, size_t *pos, size_t end,
                                  unsigned depth, GError **errp)
{
    VsBerTlv item, seq, t;
    VsNode *child;
    char *name = NULL;

    if (!d->partial) {
        return decode_field(d, pos, end, depth, errp);
    }
    /* Peek at the name for the path; decode_field() checks the shape. */
    if (*pos < end &&
        vs_ber_read_tlv_clipped(d->data, *pos, end, depth, &item, NULL) &&
        vs_ber_read_tlv_clipped(d->data, item.content, item.content_end, depth + 1, &seq, NULL) &&
        seq.content < seq.content_end &&
        vs_ber_read_tlv_clipped(d->data, seq.content, seq.content_end, depth + 2, &t, NULL)) {
        /* A subsection's item has no name: nothing goes on the path. */
        name = vs_ber_is(&t, VS_BER_UNIVERSAL, false, VS_BER_TAG_UTF8STRING)
                   ? g_strndup((const char *)d->data + t.content, t.len)
                   : g_strdup("");
    }
    path_push(d, name ? name : field_after(parent));
    child = decode_field(d, pos, end, depth, errp);
    if (!child) {
        path_fail(d);
    }
    path_pop(d);
    return child;
}

/* Appends the fields in [pos, end) to @node. */
static bool decode_fields(Decoder *d, VsNode *node, size_t pos, size_t end, unsigned depth,
                          GError **errp)
{
    while (pos < end) {
        VsNode *child = decode_named_field(d, node, &pos, end, depth, errp);

        if (!child) {
            /* A struct that failed inside keeps what it decoded. */
            if (d->kept) {
                vs_node_append(node, d->kept);
                d->kept = NULL;
            }
            return false;
        }
        vs_node_append(node, child);
    }
    return true;
}

/* Appends the elements in [pos, end) to @node. */
static bool decode_elements(Decoder *d, VsNode *node, size_t pos, size_t end, unsigned depth,
                            GError **errp)
{
    while (pos < end) {
        VsBerTlv t;
        VsNode *child;

        if (d->partial) {
            path_push(d, g_strdup_printf("[%zu]", node->n_children));
        }
        if (!next_tlv(d, &pos, end, depth, -1, &t, errp)) {
            path_fail(d);
            return false;
        }
        child = decode_value(d, &t, NULL, depth, errp);
        if (!child) {
            path_fail(d);
            return false;
        }
        path_pop(d);
        vs_node_append(node, child);
    }
    return true;
}

static VsNode *decode_struct(Decoder *d, const VsBerTlv *value, const char *name,
                             unsigned depth, bool subsection, GError **errp)
{
    VsBerTlv seq, type_name, wire_name, version;
    uint32_t ver = 0;
    VsNode *node;
    size_t p;

    if (!open_seq(d, value, depth + 1, &seq, errp)) {
        return NULL;
    }
    p = seq.content;
    if (!next_tlv(d, &p, seq.content_end, depth + 2, VS_BER_TAG_UTF8STRING, &type_name, errp) ||
        !next_tlv(d, &p, seq.content_end, depth + 2, VS_BER_TAG_UTF8STRING, &wire_name, errp) ||
        !next_tlv(d, &p, seq.content_end, depth + 2, VS_BER_TAG_INTEGER, &version, errp) ||
        !get_u32(d, &version, &ver, errp)) {
        return NULL;
    }
    g_autofree char *tname = get_text(d, &type_name);
    g_autofree char *wname = get_text(d, &wire_name);

    if (subsection) {
        node = vs_node_new_subsection(d->ctx, wname, tname, ver);
    } else {
        /* The root carries no name: a section is named by its wire name. */
        node = vs_node_new_struct(d->ctx, depth ? name : wname, tname, wname, ver);
    }
    if (!decode_fields(d, node, p, seq.content_end, depth + 2, errp) ||
        (d->partial && (vs_ber_tlv_clipped(value) || vs_ber_tlv_clipped(&seq)) &&
         !dec_fail(errp, VS_VISIT_ERROR_TRUNCATED, seq.content_end,
                   "the input ends inside '%s' after %zu fields", node->name ? node->name : "",
                   node->n_children))) {
        if (d->partial) {
            /* Cut at a field boundary: the field that is missing. */
            if (!d->fail_path) {
                path_push(d, field_after(node));
            }
            path_fail(d);
            d->kept = node;
        } else {
            talloc_free(node);
        }
        return NULL;
    }
    return node;
}

static VsNode *decode_array(Decoder *d, const VsBerTlv *value, const char *name,
                            unsigned depth, bool list, GError **errp)
{
    VsBerTlv seq, t;
    uint32_t count = 0, elem_size = 0;
    VsNode *node;
    size_t p;

    if (!open_seq(d, value, depth + 1, &seq, errp)) {
        return NULL;
    }
    p = seq.content;
    if (!next_tlv(d, &p, seq.content_end, depth + 2, VS_BER_TAG_VISIBLESTRING, &t, errp) ||
        (!list && (!next_tlv(d, &p, seq.content_end, depth + 2, VS_BER_TAG_INTEGER, &t, errp) ||
                   !get_u32(d, &t, &count, errp))) ||
        !next_tlv(d, &p, seq.content_end, depth + 2, VS_BER_TAG_INTEGER, &t, errp) ||
        !get_u32(d, &t, &elem_size, errp)) {
        return NULL;
    }
    node = list ? vs_node_new_list(d->ctx, name, elem_size)
                : vs_node_new_array(d->ctx, name, count, elem_size);
    if (!decode_elements(d, node, p, seq.content_end, depth + 2, errp)) {
        /* Elements are left out: a partial array would not have its count. */
        talloc_free(node);
        d->kept = NULL;
        return NULL;
    }
    if (!list && node->n_children != count) {
        dec_fail(errp, VS_VISIT_ERROR_MISMATCH, value->start,
                 "array announces %" PRIu32 " elements and holds %zu", count, node->n_children);
        talloc_free(node);
        return NULL;
    }
    return node;
}

static VsNode *decode_integer(Decoder *d, const VsBerTlv *value, const char *name,
                              unsigned depth, GError **errp)
{
    unsigned width = 1u << ((value->tag - 1) % 4);
    bool is_signed = value->tag >= 5;
    VsBerTlv inner;
    uint64_t val = 0;
    bool neg = false;

    if (!unwrap(d, value, VS_BER_TAG_INTEGER, depth + 1, &inner, errp) ||
        !vs_ber_get_integer(d->data, &inner, &neg, &val, errp)) {
        return NULL;
    }
    if (!is_signed ? neg || (width < 8 && val >> (width * 8))
                   : width < 8 && (neg ? (int64_t)val < -(INT64_C(1) << (width * 8 - 1))
                                       : val >= (UINT64_C(1) << (width * 8 - 1)))) {
        dec_fail(errp, VS_VISIT_ERROR_RANGE, value->start, "value does not fit its width");
        return NULL;
    }
    if (!is_signed) {
        return vs_node_new_uint(d->ctx, name, width, val);
    }
    return vs_node_new_int(d->ctx, name, width, (int64_t)val);
}

static VsNode *decode_context(Decoder *d, const VsBerTlv *value, const char *name,
                              unsigned depth, GError **errp)
{
    VsBerTlv inner;
    uint64_t val = 0;
    bool neg = false;

    if (value->tag >= 1 && value->tag <= 8) {
        return decode_integer(d, value, name, depth, errp);
    }
    switch (value->tag) {
    case 9:
        if (!unwrap(d, value, VS_BER_TAG_OCTET_STRING, depth + 1, &inner, errp)) {
            return NULL;
        }
        if (inner.len != 8) {
            dec_fail(errp, VS_VISIT_ERROR_MISMATCH, inner.start, "float64 of %zu bytes",
                     inner.len);
            return NULL;
        }
        for (unsigned i = 0; i < 8; i++) {
            val = (val << 8) | d->data[inner.content + i];
        }
        {
            double f;

            memcpy(&f, &val, sizeof(f));
            return vs_node_new_f64(d->ctx, name, f);
        }
    case 10:
        if (!unwrap(d, value, VS_BER_TAG_INTEGER, depth + 1, &inner, errp) ||
            !vs_ber_get_integer(d->data, &inner, &neg, &val, errp)) {
            return NULL;
        }
        if (neg || val > SIZE_MAX) {
            dec_fail(errp, VS_VISIT_ERROR_RANGE, inner.start, "negative unused length");
            return NULL;
        }
        return vs_node_new_unused(d->ctx, name, (size_t)val);
    case 11:
        if (!unwrap(d, value, VS_BER_TAG_OCTET_STRING, depth + 1, &inner, errp)) {
            return NULL;
        }
        return vs_node_new_opaque(d->ctx, name, d->data + inner.content, inner.len);
    case 12:
    case 15:
        return decode_struct(d, value, name, depth, value->tag == 15, errp);
    case 13:
    case 14:
        return decode_array(d, value, name, depth, value->tag == 14, errp);
    default:
        dec_fail(errp, VS_VISIT_ERROR_MISMATCH, value->start, "unknown value tag [%" PRIu32 "]",
                 value->tag);
        return NULL;
    }
}

static VsNode *decode_value(Decoder *d, const VsBerTlv *value, const char *name,
                            unsigned depth, GError **errp)
{
    if (value->cls == VS_BER_CONTEXT && value->constructed) {
        return decode_context(d, value, name, depth, errp);
    }
    if (value->cls == VS_BER_UNIVERSAL && !value->constructed) {
        switch (value->tag) {
        case VS_BER_TAG_BOOLEAN:
            if (value->len != 1) {
                break;
            }
            return vs_node_new_bool(d->ctx, name, d->data[value->content] != 0);
        case VS_BER_TAG_OCTET_STRING:
            return vs_node_new_buffer(d->ctx, name, d->data + value->content, value->len);
        case VS_BER_TAG_VISIBLESTRING:
            if (memchr(d->data + value->content, 0, value->len)) {
                break;
            }
            {
                g_autofree char *text = get_text(d, value);

                return vs_node_new_string(d->ctx, name, text);
            }
        case VS_BER_TAG_NULL:
            if (value->len != 0) {
                break;
            }
            return vs_node_new_null(d->ctx, name);
        }
    }
    dec_fail(errp, VS_VISIT_ERROR_MISMATCH, value->start, "malformed or unknown value");
    return NULL;
}

VsNode *vs_ber_decode_tree(TALLOC_CTX *mem_ctx, const uint8_t *data, size_t len,
                           GError **errp)
{
    Decoder d = { .data = data, .ctx = mem_ctx };
    size_t pos = 0;
    VsBerTlv t;
    VsNode *root;

    if (!next_tlv(&d, &pos, len, 0, -1, &t, errp)) {
        return NULL;
    }
    root = decode_value(&d, &t, NULL, 0, errp);
    if (!root) {
        return NULL;
    }
    if (pos != len) {
        talloc_free(root);
        dec_fail(errp, VS_VISIT_ERROR_MISMATCH, pos, "%zu bytes follow the section", len - pos);
        return NULL;
    }
    return root;
}

VsNode *vs_ber_decode_tree_partial(TALLOC_CTX *mem_ctx, const uint8_t *data, size_t len,
                                   VsNode **ret_partial, char **ret_path, GError **errp)
{
    Decoder d = { .data = data, .ctx = mem_ctx, .partial = true,
                  .names = g_ptr_array_new_with_free_func(g_free) };
    size_t pos = 0;
    VsBerTlv t;
    VsNode *root = NULL;

    *ret_partial = NULL;
    *ret_path = NULL;
    if (next_tlv(&d, &pos, len, 0, -1, &t, errp)) {
        root = decode_value(&d, &t, NULL, 0, errp);
    }
    if (root && pos != len) {
        talloc_free(root);
        root = NULL;
        dec_fail(errp, VS_VISIT_ERROR_MISMATCH, pos, "%zu bytes follow the section", len - pos);
    }
    if (!root) {
        *ret_partial = d.kept;
        *ret_path = d.fail_path;
    } else {
        g_free(d.fail_path);
    }
    g_ptr_array_unref(d.names);
    return root;
}
