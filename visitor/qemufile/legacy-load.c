/*
 * legacy-load.c: the LOAD visitor for QEMU's legacy (vmstate) byte format.
 *
 * SPDX-License-Identifier: MIT
 *
 * Every op reads the wire form of one part (see legacy-visitor.h) from a
 * VsQemuFile.  Reads are checked as they happen: a stream that ends inside a
 * value fails with VS_VISIT_ERROR_TRUNCATED ("stream ends after 1 of 4
 * bytes", the offset being where the value starts); any other channel
 * failure keeps the VsQemuFile's own domain and code.  Lengths that come
 * from the stream are checked against their maximum before anything is
 * allocated, and payloads whose length the caller gives are read in growing
 * chunks, so a short stream never makes the visitor allocate more than
 * about twice what it actually holds.
 *
 * Subsections are found by peeking, as QEMU does: nothing is consumed until
 * the header is known to be the one the walker asks for.  A header counts
 * only when its marker, length and whole name are visible; a stream that
 * ends inside a header whose visible bytes agree with the requested
 * subsection is reported as truncated (see legacy_load_start_subsection()).
 */
#include "visitor/qemufile/legacy-visitor.h"
#include "visitor/visitor-impl.h"

#include <stdarg.h>
#include <string.h>

/* First chunk of an opaque payload; later chunks double, up to the length. */
#define LEGACY_OPAQUE_CHUNK 4096

typedef struct VsLegacyLoad {
    VsVisitor base; /* must be first */
    VsQemuFile *f;
    /* Set while a failure is reported: the offset where the part began. */
    bool have_fail_offset;
    uint64_t fail_offset;
} VsLegacyLoad;

/* A subsection header as far as the stream shows it. */
typedef struct LegacyHeader {
    bool complete;       /* marker, length and whole name visible */
    size_t visible;      /* header bytes visible (marker and length included) */
    uint8_t name_len;
    const uint8_t *name; /* borrowed from the file; valid until its next call */
    size_t name_visible; /* name bytes visible */
} LegacyHeader;

static VsQemuFile *legacy_load_file(VsVisitor *v)
{
    return ((VsLegacyLoad *)v)->f;
}

/* ---- errors and reading with bounds ----------------------------------- */

/* vs_visit_fail(), but the offset in the message is @start. */
static bool legacy_load_fail_at(VsVisitor *v, uint64_t start, GError **errp, VsVisitError code,
                                const char *fmt, ...) G_GNUC_PRINTF(5, 6);

static bool legacy_load_fail_at(VsVisitor *v, uint64_t start, GError **errp, VsVisitError code,
                                const char *fmt, ...)
{
    VsLegacyLoad *lv = (VsLegacyLoad *)v;
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    lv->have_fail_offset = true;
    lv->fail_offset = start;
    vs_visit_fail(v, errp, code, "%s", msg);
    lv->have_fail_offset = false;
    return false;
}

/*
 * A read of @len bytes starting at @start delivered only @got: report the
 * channel's error, as a truncation when it is the end of the stream.
 */
static bool legacy_load_fail_read(VsVisitor *v, uint64_t start, size_t got, size_t len,
                                  GError **errp)
{
    const GError *cause = vs_qemufile_error(legacy_load_file(v));

    if (cause && !g_error_matches(cause, VS_QEMUFILE_ERROR, VS_QEMUFILE_ERROR_EOF)) {
        return vs_visit_fail_from(v, errp, cause);
    }
    return legacy_load_fail_at(v, start, errp, VS_VISIT_ERROR_TRUNCATED,
                               "stream ends after %zu of %zu bytes", got, len);
}

/* Reads @len bytes into @dst, or skips them when @dst is NULL. */
static bool legacy_load_bytes(VsVisitor *v, uint8_t *dst, size_t len, GError **errp)
{
    VsQemuFile *f = legacy_load_file(v);
    uint64_t start = vs_qemufile_pos(f);
    size_t got = dst ? vs_qemufile_get_buffer(f, dst, len) : vs_qemufile_skip(f, len);

    if (got < len || vs_qemufile_failed(f)) {
        return legacy_load_fail_read(v, start, got, len, errp);
    }
    return true;
}

/* Reads a big-endian unsigned integer of @width bytes. */
static bool legacy_load_be(VsVisitor *v, unsigned width, uint64_t *ret, GError **errp)
{
    uint8_t b[8];
    uint64_t val = 0;

    g_assert(width >= 1 && width <= sizeof(b));
    if (!legacy_load_bytes(v, b, width, errp)) {
        return false;
    }
    for (unsigned i = 0; i < width; i++) {
        val = val << 8 | b[i];
    }
    *ret = val;
    return true;
}

/* ---- subsection headers ----------------------------------------------- */

/*
 * Peeks at what follows as a subsection header.  Returns false when the
 * next byte is not the subsection marker (or there is none); otherwise
 * fills @h with as much of the header as the stream has.
 */
static bool legacy_load_peek_header(VsVisitor *v, LegacyHeader *h)
{
    VsQemuFile *f = legacy_load_file(v);
    uint8_t marker;

    memset(h, 0, sizeof(*h));
    if (!vs_qemufile_peek_byte(f, 0, &marker) || marker != VS_LEGACY_SUBSECTION) {
        return false;
    }
    h->visible = 1;
    if (!vs_qemufile_peek_byte(f, 1, &h->name_len)) {
        return true;
    }
    h->visible = 2;
    /* No more than the header needs: a socket may have nothing beyond it. */
    h->name_visible = vs_qemufile_peek(f, 2, h->name_len, &h->name);
    h->visible += h->name_visible;
    h->complete = h->name_visible == h->name_len;
    return true;
}

/* Whether the visible part of @h agrees with a header for @name. */
static bool legacy_load_header_could_be(const LegacyHeader *h, const char *name)
{
    size_t len = strlen(name);

    if (h->visible < 2 || h->name_len != len) {
        return false;
    }
    return h->name_visible == 0 || memcmp(h->name, name, h->name_visible) == 0;
}

/* QEMU's rule for "a subsection of @parent": longer than it, starting with it. */
static bool legacy_load_header_is_child(const LegacyHeader *h, const char *parent)
{
    size_t plen = strlen(parent);

    return h->complete && h->name_len >= plen + 1 && memcmp(h->name, parent, plen) == 0;
}

/* ---- ops -------------------------------------------------------------- */

static bool legacy_load_start_struct(VsVisitor *v, const char *name, const VsTypeInfo *type,
                                     uint32_t *version, GError **errp)
{
    /* The root version comes from the container, nested ones are local. */
    return true;
}

static bool legacy_load_start_array(VsVisitor *v, const char *name, uint32_t *count,
                                    uint32_t max, size_t elem_size, GError **errp)
{
    /* The walker's count stands: legacy arrays carry none. */
    return true;
}

static bool legacy_load_start_list(VsVisitor *v, const char *name, uint32_t max,
                                   size_t elem_size, GError **errp)
{
    /* No count either: each element announces itself. */
    return true;
}

/* One marker byte: 0x01 an element follows, 0x00 the list ends. */
static bool legacy_load_list_next(VsVisitor *v, bool *more, GError **errp)
{
    uint64_t start = vs_qemufile_pos(legacy_load_file(v));
    uint8_t b;

    if (!legacy_load_bytes(v, &b, 1, errp)) {
        return false;
    }
    if (b != VS_LEGACY_LIST_MORE && b != VS_LEGACY_LIST_END) {
        return legacy_load_fail_at(v, start, errp, VS_VISIT_ERROR_MISMATCH,
                                   "list marker 0x%02x is neither 1 nor 0", b);
    }
    *more = b == VS_LEGACY_LIST_MORE;
    return true;
}

/*
 * Present iff the next bytes are a complete header with exactly @name; it is
 * then consumed with its version.  Anything else leaves the stream alone:
 * a later subsection of this struct is found by a later call, an unknown
 * one of this struct fails in check_struct, an outer struct's belongs to it.
 *
 * A stream ending inside the header: QEMU treats an incomplete header as
 * "not ours" and leaves the failure to the section footer.  Here, when the
 * visible bytes agree with this subsection's header (the marker, its name
 * length, a prefix of its name), the load fails as truncated, naming the
 * subsection.  A lone marker byte at the very end stays "absent": a valid
 * section body may end with an outer field of value 0x05, and QEMU reads it
 * that way too.
 */
static bool legacy_load_start_subsection(VsVisitor *v, const char *name,
                                         const VsTypeInfo *type, uint32_t *version,
                                         bool *present, GError **errp)
{
    VsQemuFile *f = legacy_load_file(v);
    LegacyHeader h;
    uint64_t ver;

    *present = false;
    if (!legacy_load_peek_header(v, &h) || !legacy_load_header_could_be(&h, name)) {
        return true;
    }
    if (!h.complete) {
        return legacy_load_fail_at(v, vs_qemufile_pos(f), errp, VS_VISIT_ERROR_TRUNCATED,
                                   "stream ends inside the subsection header after %zu of %zu "
                                   "bytes",
                                   h.visible, (size_t)2 + h.name_len);
    }
    if (!legacy_load_bytes(v, NULL, 2 + (size_t)h.name_len, errp) ||
        !legacy_load_be(v, 4, &ver, errp)) {
        return false;
    }
    *version = (uint32_t)ver;
    *present = true;
    return true;
}

/* A complete subsection header of this struct that no walker call took. */
static bool legacy_load_check_struct(VsVisitor *v, GError **errp)
{
    VsQemuFile *f = legacy_load_file(v);
    const VsFrame *top = vs_visitor_top(v);
    const char *parent = top->type ? top->type->wire_name : NULL;
    LegacyHeader h;
    const uint8_t *vb;
    g_autofree char *raw = NULL;
    g_autofree char *sub = NULL;

    if (!parent || !legacy_load_peek_header(v, &h) || !legacy_load_header_is_child(&h, parent)) {
        return true;
    }
    /* Copied before the next peek, and escaped: the bytes are the stream's. */
    raw = g_strndup((const char *)h.name, h.name_len);
    sub = g_strescape(raw, NULL);
    if (vs_qemufile_peek(f, 2 + (size_t)h.name_len, 4, &vb) == 4) {
        uint32_t ver = (uint32_t)vb[0] << 24 | (uint32_t)vb[1] << 16 |
                       (uint32_t)vb[2] << 8 | vb[3];

        return vs_visit_fail(v, errp, VS_VISIT_ERROR_SUBSECTION,
                             "unknown subsection '%s' (version %u) in '%s'", sub, ver, parent);
    }
    return vs_visit_fail(v, errp, VS_VISIT_ERROR_SUBSECTION, "unknown subsection '%s' in '%s'",
                         sub, parent);
}

static bool legacy_load_type_uint(VsVisitor *v, const char *name, uint64_t *val,
                                  unsigned width, GError **errp)
{
    return legacy_load_be(v, width, val, errp);
}

/* Sign-extends the two's-complement value of @width bytes. */
static bool legacy_load_type_int(VsVisitor *v, const char *name, int64_t *val,
                                 unsigned width, GError **errp)
{
    uint64_t raw;

    if (!legacy_load_be(v, width, &raw, errp)) {
        return false;
    }
    if (width < 8) {
        uint64_t sign = UINT64_C(1) << (width * 8 - 1);

        *val = (int64_t)(raw ^ sign) - (int64_t)sign;
    } else {
        *val = (int64_t)raw;
    }
    return true;
}

static bool legacy_load_type_bool(VsVisitor *v, const char *name, bool *val, GError **errp)
{
    uint8_t b;

    if (!legacy_load_bytes(v, &b, 1, errp)) {
        return false;
    }
    *val = b != 0;
    return true;
}

static bool legacy_load_buffer(VsVisitor *v, const char *name, uint8_t *buf, size_t len,
                               GError **errp)
{
    if (len == 0) {
        return true;
    }
    return legacy_load_bytes(v, buf, len, errp);
}

/*
 * u8 length, checked against @max_len before anything is allocated, then
 * the bytes.  A NUL inside would make the C string shorter than what was
 * sent (and a re-save differ), so it is refused.
 */
static bool legacy_load_string(VsVisitor *v, const char *name, char **str, size_t max_len,
                               GError **errp)
{
    uint64_t start = vs_qemufile_pos(legacy_load_file(v));
    uint8_t len;
    char *s;

    if (!legacy_load_bytes(v, &len, 1, errp)) {
        return false;
    }
    if (len > max_len) {
        return legacy_load_fail_at(v, start, errp, VS_VISIT_ERROR_LIMIT,
                                   "string of %u bytes exceeds the maximum of %zu", len,
                                   max_len);
    }
    s = talloc_array(vs_visitor_result_ctx(v), char, (size_t)len + 1);
    g_assert(s != NULL);
    if (!legacy_load_bytes(v, (uint8_t *)s, len, errp)) {
        talloc_free(s);
        return false;
    }
    s[len] = '\0';
    if (strlen(s) != len) {
        talloc_free(s);
        return legacy_load_fail_at(v, start, errp, VS_VISIT_ERROR_MISMATCH,
                                   "string of %u bytes holds a NUL byte", len);
    }
    *str = s;
    return true;
}

static bool legacy_load_unused(VsVisitor *v, const char *name, size_t len, GError **errp)
{
    return legacy_load_bytes(v, NULL, len, errp);
}

/* As in QEMU, the destination's own pointer decides whether a marker is due. */
static bool legacy_load_nullptr_marker(VsVisitor *v, const char *name, bool *is_null,
                                       GError **errp)
{
    uint64_t start = vs_qemufile_pos(legacy_load_file(v));
    uint8_t b;

    if (!*is_null) {
        return true;
    }
    if (!legacy_load_bytes(v, &b, 1, errp)) {
        return false;
    }
    if (b != VS_LEGACY_NULLPTR_MARKER) {
        return legacy_load_fail_at(v, start, errp, VS_VISIT_ERROR_MISMATCH,
                                   "expected null-pointer marker 0x%02x, found 0x%02x",
                                   VS_LEGACY_NULLPTR_MARKER, b);
    }
    return true;
}

/*
 * *@len bytes (the container knows the length; the core has checked it
 * against @max_len).  The buffer grows with the bytes that actually
 * arrive: a file or socket cannot tell how much is left without reading,
 * and a large @max_len must not turn a short stream into a large
 * allocation.
 */
static bool legacy_load_opaque(VsVisitor *v, const char *name, uint8_t **data, size_t *len,
                               size_t max_len, GError **errp)
{
    TALLOC_CTX *ctx = vs_visitor_result_ctx(v);
    VsQemuFile *f = legacy_load_file(v);
    uint64_t start = vs_qemufile_pos(f);
    size_t want = *len;
    size_t have = 0;
    size_t cap = MIN(want, (size_t)LEGACY_OPAQUE_CHUNK);
    uint8_t *buf = talloc_array(ctx, uint8_t, cap);

    g_assert(buf != NULL);
    while (have < want) {
        size_t got;

        if (have == cap) {
            cap = want - cap > cap ? cap * 2 : want;
            buf = talloc_realloc(ctx, buf, uint8_t, cap);
            g_assert(buf != NULL);
        }
        got = vs_qemufile_get_buffer(f, buf + have, cap - have);
        have += got;
        if (have < cap || vs_qemufile_failed(f)) {
            talloc_free(buf);
            return legacy_load_fail_read(v, start, have, want, errp);
        }
    }
    *data = buf;
    return true;
}

static bool legacy_load_complete(VsVisitor *v, GError **errp)
{
    VsQemuFile *f = legacy_load_file(v);

    if (vs_qemufile_failed(f)) {
        return vs_visit_fail_from(v, errp, vs_qemufile_error(f));
    }
    return true;
}

/* Where the part being reported began, or the read position. */
static bool legacy_load_offset(VsVisitor *v, uint64_t *ret_offset)
{
    VsLegacyLoad *lv = (VsLegacyLoad *)v;

    *ret_offset = lv->have_fail_offset ? lv->fail_offset : vs_qemufile_pos(lv->f);
    return true;
}

static const VsVisitorOps legacy_load_ops = {
    .kind = VS_VISITOR_LOAD,
    .impl_name = "legacy-load",
    .start_struct = legacy_load_start_struct,
    .check_struct = legacy_load_check_struct,
    .start_array = legacy_load_start_array,
    .start_subsection = legacy_load_start_subsection,
    .start_list = legacy_load_start_list,
    .list_next = legacy_load_list_next,
    .type_uint = legacy_load_type_uint,
    .type_int = legacy_load_type_int,
    .type_bool = legacy_load_type_bool,
    .buffer = legacy_load_buffer,
    .string = legacy_load_string,
    .unused = legacy_load_unused,
    .nullptr_marker = legacy_load_nullptr_marker,
    .opaque = legacy_load_opaque,
    .complete = legacy_load_complete,
    .offset = legacy_load_offset,
};

VsVisitor *vs_legacy_load_visitor_new(TALLOC_CTX *mem_ctx, VsQemuFile *f,
                                      TALLOC_CTX *result_ctx)
{
    VsLegacyLoad *lv;

    g_assert(f != NULL);
    lv = vs_visitor_new(mem_ctx, &legacy_load_ops, VsLegacyLoad, result_ctx);
    lv->f = f;
    return &lv->base;
}
