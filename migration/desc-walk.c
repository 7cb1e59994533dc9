/*
 * desc-walk.c: decoding a device section from the stream's own description
 * (the vmdesc trailer), for sections that have no compiled walker.
 *
 * SPDX-License-Identifier: MIT
 *
 * The description lists, per device, the fields that were written, in
 * order, with their type and the bytes each element took
 * (qemu-stream-format.md §1.8).  This file turns that list into visitor
 * calls, as a walker would, so the same tee of the legacy LOAD visitor and
 * a tree builder records it.  It reads like QEMU's analyze-migration.py
 * (§8.1 step 6):
 *
 *   - a field with "array_len" is that many elements of "size" bytes each
 *     (an array node); consecutive entries with the same name and "index"
 *     0, 1, 2, ... are the elements of one array node;
 *   - integer types of their natural size ("uint8".."int64", and the
 *     "equal"/"le" variants, whose checks need a destination and are not
 *     made) are visited as integers; "int64 equal" is QEMU's name for a
 *     uint64 equal field; "bool" is a bool, unless the byte is neither 0
 *     nor 1 (QEMU accepts any non-zero byte), then a uint8 so that the byte
 *     survives re-encoding;
 *   - "struct" is a nested struct node (its vmsd_name and version), with
 *     its fields and the subsections its description lists;
 *   - everything else ("buffer", "unused_buffer", "timer", "vstruct",
 *     "tmp", "pci config", ...) and an integer whose size is not its
 *     width is a buffer of exactly "size" bytes: unused bytes stay a buffer
 *     so that non-zero padding survives re-encoding;
 *   - a one-byte element where the description says a wider type and the
 *     byte is QEMU's null-pointer marker 0x30 is a NULL pointer (7.2
 *     describes a NULL array slot with the field's own type and size 1);
 *   - each listed subsection must follow (0x05, name, be32 version), its
 *     fields after it; the list says exactly which were sent.
 *
 * Nothing from the description is trusted: every key is checked before
 * use, an array's elements must fit in the bytes left, and a budget bounds
 * the number of elements a walk may create (zero-size elements consume no
 * input).  A bad description fails the walk with a visitor error naming
 * the field path.
 */
#include "migration/stream-internal.h"

#include <inttypes.h>
#include <string.h>

#include "visitor/qemufile/legacy-visitor.h"

typedef struct DescWalk {
    VsVisitor *v;
    VsQemuFile *f;
    uint64_t end;       /* input offset where reading must stop */
    uint64_t *budget;
    TALLOC_CTX *tmp;
} DescWalk;

/* One entry of a field list, checked. */
typedef struct DescField {
    const VsJson *obj;
    const char *name;
    const char *type;
    uint64_t size;
    bool has_array_len;
    uint64_t array_len;
    bool has_index;
    uint64_t index;
} DescField;

static bool desc_walk_struct(DescWalk *dw, const char *name, const VsJson *sd, bool is_root,
                             const char *root_wire, uint32_t root_version, GError **errp);

/* The kind of a member that may be absent (VS_JSON_KIND__MAX then). */
static VsJsonKind desc_kind(const VsJson *j)
{
    return j ? vs_json_kind(j) : VS_JSON_KIND__MAX;
}

static uint64_t desc_left(DescWalk *dw)
{
    uint64_t pos = vs_qemufile_pos(dw->f);

    return pos < dw->end ? dw->end - pos : 0;
}

/* A description problem, reported at the current path. */
static bool desc_bad(DescWalk *dw, const char *field, GError **errp, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

static bool desc_bad(DescWalk *dw, const char *field, GError **errp, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return vs_visit_report(dw->v, field, errp, VS_VISIT_ERROR_MISMATCH, "the description %s",
                           msg);
}

static const char *desc_str(const VsJson *obj, const char *key)
{
    size_t len = 0;
    const char *s = vs_json_get_string(vs_json_object_get(obj, key), &len, NULL);

    /* Names with NUL bytes cannot be C strings: treated as absent. */
    return s && strlen(s) == len ? s : NULL;
}

static bool desc_u64(const VsJson *obj, const char *key, uint64_t *ret)
{
    return vs_json_get_uint64(vs_json_object_get(obj, key), ret, NULL);
}

static bool desc_field_parse(DescWalk *dw, const VsJson *obj, size_t i, DescField *df,
                             GError **errp)
{
    memset(df, 0, sizeof(*df));
    df->obj = obj;
    df->name = desc_str(obj, "name");
    df->type = desc_str(obj, "type");
    if (desc_kind(obj) != VS_JSON_OBJECT || !df->name || !df->type ||
        !desc_u64(obj, "size", &df->size)) {
        return desc_bad(dw, NULL, errp,
                        "entry %zu of the field list lacks a string \"name\", a string \"type\" "
                        "or an unsigned \"size\"",
                        i);
    }
    if (vs_json_object_get(obj, "array_len")) {
        df->has_array_len = desc_u64(obj, "array_len", &df->array_len);
        if (!df->has_array_len || df->array_len > UINT32_MAX) {
            return desc_bad(dw, df->name, errp, "gives an \"array_len\" that is not a count");
        }
    } else if (vs_json_object_get(obj, "index")) {
        df->has_index = desc_u64(obj, "index", &df->index);
        if (!df->has_index) {
            return desc_bad(dw, df->name, errp, "gives an \"index\" that is not a count");
        }
    }
    return true;
}

/* Width of an integer type name, or 0; *@is_signed for the int types. */
static unsigned desc_int_width(const char *type, bool *is_signed)
{
    static const struct {
        const char *name;
        unsigned width;
        bool is_signed;
    } types[] = {
        { "uint8", 1, false },        { "uint16", 2, false },       { "uint32", 4, false },
        { "uint64", 8, false },       { "int8", 1, true },          { "int16", 2, true },
        { "int32", 4, true },         { "int64", 8, true },         { "int32 le", 4, true },
        { "int32 equal", 4, true },   { "uint8 equal", 1, false },  { "uint16 equal", 2, false },
        { "uint32 equal", 4, false }, { "int64 equal", 8, false },  { "uint64 equal", 8, false },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(types); i++) {
        if (strcmp(type, types[i].name) == 0) {
            *is_signed = types[i].is_signed;
            return types[i].width;
        }
    }
    return 0;
}

static bool desc_spend(DescWalk *dw, GError **errp)
{
    if (*dw->budget == 0) {
        return vs_visit_report(dw->v, NULL, errp, VS_VISIT_ERROR_LIMIT,
                               "the description makes more elements than the input can hold");
    }
    (*dw->budget)--;
    return true;
}

static bool desc_peek(DescWalk *dw, uint8_t *ret)
{
    return vs_qemufile_peek_byte(dw->f, 0, ret);
}

/* Exactly @size raw bytes. */
static bool desc_buffer(DescWalk *dw, const char *name, uint64_t size, GError **errp)
{
    uint8_t *buf;
    bool ok;

    if (size > desc_left(dw)) {
        /* The loader would say the same, but only after the allocation. */
        return vs_visit_report(dw->v, name, errp, VS_VISIT_ERROR_TRUNCATED,
                               "stream ends after %" PRIu64 " of %" PRIu64 " bytes (offset 0x%" PRIx64
                               ")",
                               desc_left(dw), size, vs_qemufile_pos(dw->f));
    }
    buf = talloc_array(dw->tmp, uint8_t, size ? size : 1);
    g_assert(buf != NULL);
    ok = vs_visit_buffer(dw->v, name, buf, (size_t)size, errp);
    talloc_free(buf);
    return ok;
}

static bool desc_null(DescWalk *dw, const char *name, GError **errp)
{
    bool is_null = true;

    return vs_visit_nullptr(dw->v, name, &is_null, errp);
}

static bool desc_int(DescWalk *dw, const char *name, unsigned width, bool is_signed,
                     GError **errp)
{
    if (is_signed) {
        int64_t x = 0;

        return vs_visit_int(dw->v, name, &x, width, errp);
    }
    uint64_t u = 0;

    return vs_visit_uint(dw->v, name, &u, width, errp);
}

static bool desc_bool(DescWalk *dw, const char *name, GError **errp)
{
    uint8_t b = 0;

    if (desc_peek(dw, &b) && b > 1) {
        uint8_t x = 0;

        return vs_visit_u8(dw->v, name, &x, errp);
    }
    bool val = false;

    return vs_visit_bool(dw->v, name, &val, errp);
}

/* A "struct" element: nested, or a NULL slot described as "struct": {}. */
static bool desc_struct_elem(DescWalk *dw, const char *name, const DescField *df,
                             GError **errp)
{
    const VsJson *sd = vs_json_object_get(df->obj, "struct");
    uint8_t b;

    if (desc_kind(sd) != VS_JSON_OBJECT) {
        return desc_bad(dw, df->name, errp, "gives a struct field without a \"struct\" object");
    }
    if (!vs_json_object_get(sd, "fields")) {
        if (df->size == 1 && desc_peek(dw, &b) && b == VS_LEGACY_NULLPTR_MARKER) {
            return desc_null(dw, name, errp);
        }
        return desc_buffer(dw, name, df->size, errp);
    }
    return desc_walk_struct(dw, name, sd, false, NULL, 0, errp);
}

/* One element of the type @df gives, named @name (NULL inside an array). */
static bool desc_element(DescWalk *dw, const char *name, const DescField *df, GError **errp)
{
    bool is_signed = false;
    unsigned width = desc_int_width(df->type, &is_signed);
    uint8_t b;

    if (!desc_spend(dw, errp)) {
        return false;
    }
    if (strcmp(df->type, "struct") == 0) {
        return desc_struct_elem(dw, name, df, errp);
    }
    if (width && width == df->size) {
        return desc_int(dw, name, width, is_signed, errp);
    }
    if (strcmp(df->type, "bool") == 0 && df->size == 1) {
        return desc_bool(dw, name, errp);
    }
    if (width > 1 && df->size == 1 && desc_peek(dw, &b) && b == VS_LEGACY_NULLPTR_MARKER) {
        return desc_null(dw, name, errp);
    }
    return desc_buffer(dw, name, df->size, errp);
}

/* @count elements must fit in what is left (zero-size ones count as one byte). */
static bool desc_array_fits(DescWalk *dw, const char *name, uint64_t count, uint64_t size,
                            GError **errp)
{
    uint64_t unit = size ? size : 1;

    if (count > desc_left(dw) / unit) {
        return vs_visit_report(dw->v, name, errp, VS_VISIT_ERROR_TRUNCATED,
                               "the description declares %" PRIu64 " elements of %" PRIu64
                               " bytes, but only %" PRIu64 " bytes are left (offset 0x%" PRIx64
                               ")",
                               count, size, desc_left(dw), vs_qemufile_pos(dw->f));
    }
    return true;
}

/* A compressed array: "array_len" elements described once. */
static bool desc_array(DescWalk *dw, const DescField *df, GError **errp)
{
    uint32_t n = (uint32_t)df->array_len;
    bool ok = true;

    if (!desc_array_fits(dw, df->name, n, df->size, errp) ||
        !vs_visit_start_array(dw->v, df->name, &n, n, (size_t)df->size, errp)) {
        return false;
    }
    for (uint32_t i = 0; ok && i < n; i++) {
        ok = desc_element(dw, NULL, df, errp);
    }
    vs_visit_end_array(dw->v);
    return ok;
}

/*
 * A run of entries named like @fields[@first] with indexes 0, 1, 2, ...:
 * one array.  Returns the number of entries taken in *@ret_n.
 */
static bool desc_indexed(DescWalk *dw, const VsJson *fields, size_t first, const DescField *df,
                         size_t *ret_n, GError **errp)
{
    size_t total = vs_json_length(fields);
    uint32_t n = 1;
    size_t elem_size = (size_t)df->size;
    bool ok = true;

    if (df->index != 0) {
        return desc_bad(dw, df->name, errp, "starts an indexed field at index %" PRIu64,
                        df->index);
    }
    while (first + n < total && n < UINT32_MAX) {
        const VsJson *o = vs_json_array_get(fields, first + n);
        const char *name = desc_str(o, "name");
        uint64_t idx, size;

        if (!name || strcmp(name, df->name) != 0 || !desc_u64(o, "index", &idx) || idx != n) {
            break;
        }
        if (!desc_u64(o, "size", &size) || size != elem_size) {
            elem_size = 0;
        }
        n++;
    }
    *ret_n = n;
    if (!desc_array_fits(dw, df->name, n, 0, errp) ||
        !vs_visit_start_array(dw->v, df->name, &n, n, elem_size, errp)) {
        return false;
    }
    for (uint32_t i = 0; ok && i < n; i++) {
        DescField ef;

        ok = desc_field_parse(dw, vs_json_array_get(fields, first + i), first + i, &ef, errp) &&
             desc_element(dw, NULL, &ef, errp);
    }
    vs_visit_end_array(dw->v);
    return ok;
}

static bool desc_fields(DescWalk *dw, const VsJson *fields, GError **errp)
{
    size_t total = vs_json_length(fields);

    if (desc_kind(fields) != VS_JSON_ARRAY) {
        return desc_bad(dw, NULL, errp, "has no \"fields\" list here");
    }
    for (size_t i = 0; i < total;) {
        DescField df;
        size_t taken = 1;

        if (!desc_field_parse(dw, vs_json_array_get(fields, i), i, &df, errp)) {
            return false;
        }
        if (df.has_array_len) {
            if (!desc_array(dw, &df, errp)) {
                return false;
            }
        } else if (df.has_index) {
            if (!desc_indexed(dw, fields, i, &df, &taken, errp)) {
                return false;
            }
        } else if (!desc_element(dw, df.name, &df, errp)) {
            return false;
        }
        i += taken;
    }
    return true;
}

/* A VsTypeInfo for a described struct or subsection (lives until the walk ends). */
static VsTypeInfo *desc_type(DescWalk *dw, const char *wire_name, uint32_t version,
                             uint32_t minimum)
{
    VsTypeInfo *t = talloc_zero(dw->tmp, VsTypeInfo);

    g_assert(t != NULL);
    t->name = talloc_strdup(t, wire_name);
    t->wire_name = t->name;
    t->version = version;
    t->minimum_version = minimum;
    return t;
}

static bool desc_subsection(DescWalk *dw, const VsJson *sub, GError **errp)
{
    const char *wire = desc_str(sub, "vmsd_name");
    VsTypeInfo *t;
    uint32_t version = 0;
    bool present = false;
    bool ok;

    if (!wire) {
        return desc_bad(dw, NULL, errp, "lists a subsection without a \"vmsd_name\"");
    }
    /* The stream's be32 version is recorded whatever it is. */
    t = desc_type(dw, wire, UINT32_MAX, 0);
    if (!vs_visit_start_subsection(dw->v, wire, t, &version, &present, errp)) {
        return false;
    }
    if (!present) {
        return vs_visit_report(dw->v, NULL, errp, VS_VISIT_ERROR_SUBSECTION,
                               "the description lists subsection '%s', but the stream does not "
                               "hold it here (offset 0x%" PRIx64 ")",
                               wire, vs_qemufile_pos(dw->f));
    }
    ok = desc_fields(dw, vs_json_object_get(sub, "fields"), errp);
    for (size_t i = 0; ok && i < vs_json_length(vs_json_object_get(sub, "subsections")); i++) {
        ok = desc_subsection(dw, vs_json_array_get(vs_json_object_get(sub, "subsections"), i),
                             errp);
    }
    ok = ok && vs_visit_check_struct(dw->v, errp);
    vs_visit_end_subsection(dw->v);
    return ok;
}

/*
 * A struct: the device itself (@is_root: its version is the section's,
 * its wire name @root_wire when the description gives none) or a nested
 * one (its description's vmsd_name and version).
 */
static bool desc_walk_struct(DescWalk *dw, const char *name, const VsJson *sd, bool is_root,
                             const char *root_wire, uint32_t root_version, GError **errp)
{
    const char *wire = desc_str(sd, "vmsd_name");
    const VsJson *subs = vs_json_object_get(sd, "subsections");
    uint64_t v64 = 0;
    uint32_t version;
    VsTypeInfo *t;
    bool ok;

    if (is_root) {
        wire = wire ? wire : root_wire;
        version = root_version;
    } else {
        if (!wire || (vs_json_object_get(sd, "version") && !desc_u64(sd, "version", &v64)) ||
            v64 > UINT32_MAX) {
            return desc_bad(dw, name, errp,
                            "gives a struct without a \"vmsd_name\" or with a bad \"version\"");
        }
        version = (uint32_t)v64;
    }
    if (subs && desc_kind(subs) != VS_JSON_ARRAY) {
        return desc_bad(dw, name, errp, "gives \"subsections\" that are not a list");
    }
    t = desc_type(dw, wire, version, 0);
    if (!vs_visit_start_struct(dw->v, name, t, &version, errp)) {
        return false;
    }
    ok = desc_fields(dw, vs_json_object_get(sd, "fields"), errp);
    for (size_t i = 0; ok && i < vs_json_length(subs); i++) {
        ok = desc_subsection(dw, vs_json_array_get(subs, i), errp);
    }
    ok = ok && vs_visit_check_struct(dw->v, errp);
    vs_visit_end_struct(dw->v);
    return ok;
}

bool vs_desc_walk(VsVisitor *v, VsQemuFile *f, uint64_t end, const VsJson *device,
                  const char *name, uint32_t version, uint64_t *budget, GError **errp)
{
    DescWalk dw = { .v = v, .f = f, .end = end, .budget = budget, .tmp = talloc_new(NULL) };
    bool ok;

    g_assert(dw.tmp != NULL);
    ok = desc_walk_struct(&dw, name, device, true, name, version, errp);
    talloc_free(dw.tmp);
    return ok;
}
