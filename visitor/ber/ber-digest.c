/*
 * ber-digest.c: schema digests for the BER stream header (see ber-visitor.h
 * and docs/ber-format.md, "Schema digests").
 *
 * SPDX-License-Identifier: MIT
 *
 * A digest is the SHA-256 of a canonical text of a type's description
 * (VsTypeInfo and its VsFieldInfo members, nested types inline), so two
 * builds compiled from the same schema give the same digest whatever their
 * compiler, and any change a loader could notice changes it.
 */
#include "visitor/ber/ber-visitor.h"

#include <inttypes.h>
#include <string.h>

/* Deeper nesting than any schema has: the text stops there, marked. */
#define DIGEST_MAX_DEPTH 32

static const char *const kind_names[VS_FIELD__MAX] = {
    [VS_FIELD_UINT] = "uint",         [VS_FIELD_INT] = "int",
    [VS_FIELD_BOOL] = "bool",         [VS_FIELD_F64] = "f64",
    [VS_FIELD_TIMER] = "timer",       [VS_FIELD_BUFFER] = "buffer",
    [VS_FIELD_STRUCT] = "struct",     [VS_FIELD_UNUSED] = "unused",
    [VS_FIELD_BITMAP] = "bitmap",     [VS_FIELD_QTAILQ] = "qtailq",
    [VS_FIELD_QLIST] = "qlist",       [VS_FIELD_GTREE] = "gtree",
    [VS_FIELD_TMP] = "tmp",           [VS_FIELD_VALIDATE] = "validate",
    [VS_FIELD_CODEC] = "codec",       [VS_FIELD_SUBSECTION] = "subsection",
};

static const char *or_dash(const char *s)
{
    return s ? s : "-";
}

static void type_text(GString *out, const VsTypeInfo *type, unsigned depth);

/* One member: a line of its attributes, then its nested types in braces. */
static void field_text(GString *out, const VsFieldInfo *fi, unsigned depth)
{
    const char *kind = (unsigned)fi->kind < VS_FIELD__MAX && kind_names[fi->kind]
                           ? kind_names[fi->kind]
                           : "?";

    g_string_append_printf(out,
                           "field %s %s width %u flags 0x%" PRIx32 " elem %zu count %" PRIu32
                           " max %" PRIu32 " count-field %s multiply %" PRIu32
                           " since %" PRIu32 " test %s default %" PRId64 " codec %s\n",
                           or_dash(fi->name), kind, fi->width, fi->flags, fi->elem_size,
                           fi->count, fi->max, or_dash(fi->count_field), fi->multiply,
                           fi->since, or_dash(fi->test), fi->default_value,
                           or_dash(fi->codec));
    if (fi->type) {
        g_string_append(out, "{\n");
        type_text(out, fi->type, depth + 1);
        g_string_append(out, "}\n");
    }
    if (fi->key_type) {
        g_string_append(out, "key {\n");
        type_text(out, fi->key_type, depth + 1);
        g_string_append(out, "}\n");
    }
}

static void type_text(GString *out, const VsTypeInfo *type, unsigned depth)
{
    if (depth > DIGEST_MAX_DEPTH) {
        g_string_append(out, "too deep\n");
        return;
    }
    g_string_append_printf(out,
                           "type %s wire %s version %" PRIu32 " minimum %" PRIu32
                           " needed %s fields %" PRIu32 "\n",
                           or_dash(type->name), or_dash(type->wire_name), type->version,
                           type->minimum_version, or_dash(type->needed), type->n_fields);
    for (uint32_t i = 0; type->fields && i < type->n_fields; i++) {
        field_text(out, &type->fields[i], depth);
    }
}

char *vs_ber_schema_text(const VsTypeInfo *type)
{
    GString *out = g_string_new("vstate schema 1\n");

    type_text(out, type, 0);
    return g_string_free(out, FALSE);
}

void vs_ber_schema_digest(const VsTypeInfo *type, uint8_t out[VS_BER_DIGEST_LEN])
{
    g_autofree char *text = vs_ber_schema_text(type);
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
    gsize len = VS_BER_DIGEST_LEN;

    g_checksum_update(sum, (const guchar *)text, (gssize)strlen(text));
    g_checksum_get_digest(sum, out, &len);
    g_assert(len == VS_BER_DIGEST_LEN);
}
