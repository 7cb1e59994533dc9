/*
 * legacy-save.c: the SAVE visitor for QEMU's legacy (vmstate) byte format.
 *
 * SPDX-License-Identifier: MIT
 *
 * Every op writes the wire form of one part (see legacy-visitor.h) to a
 * VsQemuFile and then checks the file's sticky error, so a failing channel
 * is reported at the field that hit it.  Structs, arrays and lists add
 * nothing of their own to the stream (a list's markers come from
 * list_next); a struct's version is not written either (the container puts
 * the root version in the section header, nested structs use their local
 * version on both sides).  The caller owns the file and flushes it.
 */
#include "visitor/qemufile/legacy-visitor.h"
#include "visitor/visitor-impl.h"

#include <string.h>

/* QEMU's counted strings (cstr8) carry a one-byte length. */
#define LEGACY_CSTR8_MAX 255

typedef struct VsLegacySave {
    VsVisitor base; /* must be first */
    VsQemuFile *f;
} VsLegacySave;

static VsQemuFile *legacy_save_file(VsVisitor *v)
{
    return ((VsLegacySave *)v)->f;
}

/* Reports the channel's error, if any, at the current path. */
static bool legacy_save_check(VsVisitor *v, GError **errp)
{
    VsQemuFile *f = legacy_save_file(v);

    if (vs_qemufile_failed(f)) {
        return vs_visit_fail_from(v, errp, vs_qemufile_error(f));
    }
    return true;
}

/* Writes the low @width bytes of @val, most significant first. */
static void legacy_save_put_be(VsQemuFile *f, uint64_t val, unsigned width)
{
    switch (width) {
    case 1:
        vs_qemufile_put_byte(f, (uint8_t)val);
        break;
    case 2:
        vs_qemufile_put_be16(f, (uint16_t)val);
        break;
    case 4:
        vs_qemufile_put_be32(f, (uint32_t)val);
        break;
    default:
        g_assert(width == 8);
        vs_qemufile_put_be64(f, val);
        break;
    }
}

static bool legacy_save_start_struct(VsVisitor *v, const char *name, const VsTypeInfo *type,
                                     uint32_t *version, GError **errp)
{
    return true;
}

static bool legacy_save_start_array(VsVisitor *v, const char *name, uint32_t *count,
                                    uint32_t max, size_t elem_size, GError **errp)
{
    return true;
}

static bool legacy_save_start_list(VsVisitor *v, const char *name, uint32_t max,
                                   size_t elem_size, GError **errp)
{
    return true;
}

/* 0x01 before an element, 0x00 after the last one. */
static bool legacy_save_list_next(VsVisitor *v, bool *more, GError **errp)
{
    vs_qemufile_put_byte(legacy_save_file(v), *more ? VS_LEGACY_LIST_MORE : VS_LEGACY_LIST_END);
    return legacy_save_check(v, errp);
}

/* 0x05, u8 name length, name, be32 version; nothing when not needed. */
static bool legacy_save_start_subsection(VsVisitor *v, const char *name,
                                         const VsTypeInfo *type, uint32_t *version,
                                         bool *present, GError **errp)
{
    VsQemuFile *f = legacy_save_file(v);
    size_t len = strlen(name);

    if (!*present) {
        return true;
    }
    if (len > LEGACY_CSTR8_MAX) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_LIMIT,
                             "subsection name of %zu bytes exceeds the maximum of %d", len,
                             LEGACY_CSTR8_MAX);
    }
    vs_qemufile_put_byte(f, VS_LEGACY_SUBSECTION);
    vs_qemufile_put_cstr8(f, name);
    vs_qemufile_put_be32(f, *version);
    return legacy_save_check(v, errp);
}

static bool legacy_save_type_uint(VsVisitor *v, const char *name, uint64_t *val,
                                  unsigned width, GError **errp)
{
    legacy_save_put_be(legacy_save_file(v), *val, width);
    return legacy_save_check(v, errp);
}

/* Two's complement: the low @width bytes of the value's bit pattern. */
static bool legacy_save_type_int(VsVisitor *v, const char *name, int64_t *val,
                                 unsigned width, GError **errp)
{
    legacy_save_put_be(legacy_save_file(v), (uint64_t)*val, width);
    return legacy_save_check(v, errp);
}

static bool legacy_save_type_bool(VsVisitor *v, const char *name, bool *val, GError **errp)
{
    vs_qemufile_put_byte(legacy_save_file(v), *val ? 1 : 0);
    return legacy_save_check(v, errp);
}

static bool legacy_save_buffer(VsVisitor *v, const char *name, uint8_t *buf, size_t len,
                               GError **errp)
{
    vs_qemufile_put_buffer(legacy_save_file(v), buf, len);
    return legacy_save_check(v, errp);
}

/* u8 length, then the bytes without a NUL; NULL is the empty string. */
static bool legacy_save_string(VsVisitor *v, const char *name, char **str, size_t max_len,
                               GError **errp)
{
    const char *s = *str ? *str : "";
    size_t len = strlen(s);

    if (len > LEGACY_CSTR8_MAX) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_LIMIT,
                             "string of %zu bytes does not fit a counted string "
                             "(at most %d bytes)",
                             len, LEGACY_CSTR8_MAX);
    }
    vs_qemufile_put_cstr8(legacy_save_file(v), s);
    return legacy_save_check(v, errp);
}

static bool legacy_save_unused(VsVisitor *v, const char *name, size_t len, GError **errp)
{
    vs_qemufile_put_fill(legacy_save_file(v), 0, len);
    return legacy_save_check(v, errp);
}

/* A NULL element is the marker alone; a present one writes nothing here. */
static bool legacy_save_nullptr_marker(VsVisitor *v, const char *name, bool *is_null,
                                       GError **errp)
{
    if (*is_null) {
        vs_qemufile_put_byte(legacy_save_file(v), VS_LEGACY_NULLPTR_MARKER);
    }
    return legacy_save_check(v, errp);
}

/* The payload raw: its length is the container's business. */
static bool legacy_save_opaque(VsVisitor *v, const char *name, uint8_t **data, size_t *len,
                               size_t max_len, GError **errp)
{
    g_assert(*data != NULL || *len == 0);
    if (*len) {
        vs_qemufile_put_buffer(legacy_save_file(v), *data, *len);
    }
    return legacy_save_check(v, errp);
}

static bool legacy_save_complete(VsVisitor *v, GError **errp)
{
    return legacy_save_check(v, errp);
}

static bool legacy_save_offset(VsVisitor *v, uint64_t *ret_offset)
{
    *ret_offset = vs_qemufile_pos(legacy_save_file(v));
    return true;
}

static const VsVisitorOps legacy_save_ops = {
    .kind = VS_VISITOR_SAVE,
    .impl_name = "legacy-save",
    .start_struct = legacy_save_start_struct,
    .start_array = legacy_save_start_array,
    .start_subsection = legacy_save_start_subsection,
    .start_list = legacy_save_start_list,
    .list_next = legacy_save_list_next,
    .type_uint = legacy_save_type_uint,
    .type_int = legacy_save_type_int,
    .type_bool = legacy_save_type_bool,
    .buffer = legacy_save_buffer,
    .string = legacy_save_string,
    .unused = legacy_save_unused,
    .nullptr_marker = legacy_save_nullptr_marker,
    .opaque = legacy_save_opaque,
    .complete = legacy_save_complete,
    .offset = legacy_save_offset,
};

VsVisitor *vs_legacy_save_visitor_new(TALLOC_CTX *mem_ctx, VsQemuFile *f)
{
    VsLegacySave *s;

    g_assert(f != NULL);
    s = vs_visitor_new(mem_ctx, &legacy_save_ops, VsLegacySave, NULL);
    s->f = f;
    return &s->base;
}
