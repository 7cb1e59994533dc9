/*
 * ber-load.c: the BER LOAD visitor (see ber-visitor.h and
 * docs/ber-format.md).
 *
 * SPDX-License-Identifier: MIT
 *
 * The visitor keeps one cursor per open container: the bounds of the
 * SEQUENCE content still to read.  Each visit takes the next item of the
 * innermost cursor: a field wrapper [i] SEQUENCE { name, value } inside a
 * struct or subsection, a bare value at the root and inside an array or list.
 * The item is consumed whole before its value is examined, so an error or
 * a skip never leaves a cursor in the middle of a TLV.
 *
 * Lenient loads search the rest of the struct for a field of the wanted
 * name, skipping (and listing) what comes before it; a field the stream
 * lacks keeps its value, and a container the stream lacks is walked as an
 * "absent" frame in which every visit keeps its value silently.
 */
#include "visitor/ber/ber-tlv.h"
#include "visitor/ber/ber-visitor.h"
#include "visitor/visitor-impl.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

typedef enum LoadKind {
    LOAD_ROOT,
    LOAD_STRUCT,
    LOAD_SUBSECTION,
    LOAD_ARRAY,
    LOAD_LIST,
} LoadKind;

typedef struct LoadFrame {
    LoadKind kind;
    size_t pos, end;        /* what remains of the container's content */
    bool absent;            /* lenient: the stream lacks this container */
    uint32_t stream_count;  /* arrays: the count the stream announced */
    uint32_t taken;         /* arrays: elements read so far */
} LoadFrame;

/* Frames kept inside the visitor before the heap is used. */
#define INLINE_FRAMES 8

typedef struct BerLoad {
    VsVisitor base;         /* must stay first */
    const uint8_t *data;
    size_t len;
    VsBerPolicy policy;
    LoadFrame *frames;      /* inline_frames or a g_malloc()ed array; [0] is the root */
    size_t depth, frames_cap;
    size_t offset;          /* start of the item being examined, for messages */
    GPtrArray *warnings;    /* created by the first warning */
    LoadFrame inline_frames[INLINE_FRAMES];
} BerLoad;

G_STATIC_ASSERT(offsetof(BerLoad, base) == 0);

/* A field item: [i] SEQUENCE { name UTF8String?, value }. */
typedef struct Field {
    VsBerTlv item;
    const char *name;       /* not NUL-terminated; NULL when the item has none */
    size_t name_len;
    VsBerTlv value;
    bool must_understand;   /* the writer marked the item (docs/ber-format.md) */
} Field;

static const VsVisitorOps ber_load_ops;

static BerLoad *to_load(VsVisitor *v)
{
    return (BerLoad *)v;
}

static LoadFrame *load_top(BerLoad *l)
{
    return &l->frames[l->depth - 1];
}

static bool lenient(BerLoad *l)
{
    return l->policy == VS_BER_LENIENT;
}

static void warn(BerLoad *l, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void warn(BerLoad *l, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (!l->warnings) {
        l->warnings = g_ptr_array_new_with_free_func(g_free);
    }
    g_ptr_array_add(l->warnings, g_strdup_printf("%s: %s (offset 0x%zx)",
                                                 vs_visitor_path(&l->base), msg, l->offset));
}

/* A TLV-layer error, with the field path and offset in front. */
static bool fail_tlv(BerLoad *l, GError *local, GError **errp)
{
    vs_visit_fail_from(&l->base, errp, local);
    g_error_free(local);
    return false;
}

/* What a value TLV is, in the words of the trace form. */
static const char *value_kind(const VsBerTlv *t, char *buf, size_t size)
{
    static const char *const context[] = {
        NULL, "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
        "float64", "unused", "opaque", "struct", "array", "list", "subsection",
    };

    if (t->cls == VS_BER_CONTEXT && t->constructed && t->tag < G_N_ELEMENTS(context) &&
        context[t->tag]) {
        return context[t->tag];
    }
    if (t->cls == VS_BER_UNIVERSAL && !t->constructed) {
        switch (t->tag) {
        case VS_BER_TAG_BOOLEAN:
            return "bool";
        case VS_BER_TAG_OCTET_STRING:
            return "buffer";
        case VS_BER_TAG_VISIBLESTRING:
            return "string";
        case VS_BER_TAG_NULL:
            return "nullptr";
        }
    }
    return vs_ber_tag_name(t, buf, size);
}

/* ---- items ------------------------------------------------------------ */

/*
 * The common field item, decoded in place: `[i] L 30 L 0c n name value`,
 * every identifier one octet and every length short, no marker.  Anything
 * else returns false and takes the general path, which reports what is
 * wrong.
 */
static inline bool quick_field(BerLoad *l, size_t pos, size_t end, Field *fld)
{
    const uint8_t *p = l->data + pos;
    size_t avail = end - pos, item_len, name_len, vpos;

    if (avail < 6 || (p[0] & 0xe0) != 0xa0 || (p[0] & 0x1f) == 0x1f || p[1] >= 0x80 ||
        p[2] != 0x30 || p[4] != 0x0c || p[5] >= 0x80 || l->depth + 2 > VS_BER_MAX_DEPTH) {
        return false;
    }
    item_len = p[1];
    name_len = p[5];
    if (item_len + 2 > avail || p[3] != item_len - 2 || name_len + 4 > item_len) {
        return false;
    }
    vpos = pos + 6 + name_len;
    if (!vs_ber_read_tlv_quick(l->data, vpos, pos + 2 + item_len, l->depth + 2, &fld->value,
                               NULL) ||
        fld->value.end != pos + 2 + item_len) {
        return false;
    }
    fld->item = (VsBerTlv){ .start = pos, .cls = VS_BER_CONTEXT, .constructed = true,
                            .tag = p[0] & 0x1fu, .content = pos + 2, .len = item_len,
                            .content_end = pos + 2 + item_len, .end = pos + 2 + item_len };
    fld->name = (const char *)p + 6;
    fld->name_len = name_len;
    fld->must_understand = false;
    l->offset = vpos;
    return true;
}

/* Whether the frame's items are bare values (the root, elements), not field items. */
static inline bool holds_values(const LoadFrame *f)
{
    return f->kind == LOAD_ARRAY || f->kind == LOAD_LIST || f->kind == LOAD_ROOT;
}

/*
 * Where the next part's value starts when the common case holds: the
 * value at the cursor of the root, an array or a list, or the value of the
 * field item at the cursor of a struct or subsection when that item has
 * short forms and the name @name.  *@ret_end is the item's end (the
 * frame's for a bare value).  Returns false, with nothing consumed,
 * otherwise.
 */
static inline __attribute__((always_inline)) bool quick_value(BerLoad *l, const char *name,
                                                               size_t *ret_pos, size_t *ret_end)
{
    const LoadFrame *f = load_top(l);
    const uint8_t *p = l->data + f->pos;
    size_t avail = f->end - f->pos, item_len, name_len;

    if (f->absent || f->pos >= f->end || l->depth + 2 > VS_BER_MAX_DEPTH) {
        return false;
    }
    if (holds_values(f)) {
        *ret_pos = f->pos;
        *ret_end = f->end;
        return true;
    }
    if ((f->kind != LOAD_STRUCT && f->kind != LOAD_SUBSECTION) || !name || avail < 6 ||
        (p[0] & 0xe0) != 0xa0 || (p[0] & 0x1f) == 0x1f || p[1] >= 0x80 || p[2] != 0x30 ||
        p[4] != VS_BER_TAG_UTF8STRING) {
        return false;
    }
    item_len = p[1];
    name_len = p[5];
    if (item_len + 2 > avail || p[3] != item_len - 2 || name_len + 4 > item_len) {
        return false;
    }
    /* Byte by byte, never past @name's end: the stream's name may hold a NUL. */
    for (size_t i = 0; i < name_len; i++) {
        if (name[i] == '\0' || name[i] != (char)p[6 + i]) {
            return false;
        }
    }
    if (name[name_len] != '\0') {
        return false;
    }
    *ret_pos = f->pos + 6 + name_len;
    *ret_end = f->pos + 2 + item_len;
    return true;
}

/*
 * After a field's value: nothing, or the must-understand marker (BOOLEAN
 * TRUE) and nothing after it.
 */
static bool read_marker(BerLoad *l, Field *fld, size_t end, unsigned depth, GError **errp)
{
    GError *local = NULL;
    VsBerTlv mark;

    fld->must_understand = false;
    if (fld->value.end == end) {
        return true;
    }
    l->offset = fld->value.end;
    if (!vs_ber_read_tlv_quick(l->data, fld->value.end, end, depth, &mark, &local) ||
        !vs_ber_is(&mark, VS_BER_UNIVERSAL, false, VS_BER_TAG_BOOLEAN) || mark.len != 1 ||
        l->data[mark.content] != 0xff || mark.end != end) {
        g_clear_error(&local);
        return vs_visit_fail(&l->base, errp, VS_VISIT_ERROR_MISMATCH,
                             "trailing bytes after the value of field [%" PRIu32 "]",
                             fld->item.tag);
    }
    fld->must_understand = true;
    return true;
}

/* Reads the field item at @pos; the item must fill its wrapper exactly. */
static bool read_field(BerLoad *l, size_t pos, size_t end, Field *fld, GError **errp)
{
    GError *local = NULL;
    unsigned depth = l->depth;
    VsBerTlv seq;
    size_t p;

    if (quick_field(l, pos, end, fld)) {
        return true;
    }
    l->offset = pos;
    if (!vs_ber_read_tlv_quick(l->data, pos, end, depth, &fld->item, &local)) {
        return fail_tlv(l, local, errp);
    }
    if (fld->item.cls != VS_BER_CONTEXT || !fld->item.constructed) {
        return vs_visit_fail(&l->base, errp, VS_VISIT_ERROR_MISMATCH,
                             "expected a field [i], found %s",
                             vs_ber_tag_name(&fld->item, (char[40]){ 0 }, 40));
    }
    if (!vs_ber_read_tlv_quick(l->data, fld->item.content, fld->item.content_end, depth + 1,
                               &seq, &local)) {
        return fail_tlv(l, local, errp);
    }
    if (!vs_ber_is(&seq, VS_BER_UNIVERSAL, true, VS_BER_TAG_SEQUENCE) ||
        seq.end != fld->item.content_end) {
        return vs_visit_fail(&l->base, errp, VS_VISIT_ERROR_MISMATCH,
                             "field [%" PRIu32 "] does not hold exactly one SEQUENCE",
                             fld->item.tag);
    }
    p = seq.content;
    if (!vs_ber_read_tlv_quick(l->data, p, seq.content_end, depth + 2, &fld->value, &local)) {
        return fail_tlv(l, local, errp);
    }
    fld->name = NULL;
    fld->name_len = 0;
    if (vs_ber_is(&fld->value, VS_BER_UNIVERSAL, false, VS_BER_TAG_UTF8STRING)) {
        fld->name = (const char *)l->data + fld->value.content;
        fld->name_len = fld->value.len;
        if (!vs_ber_read_tlv_quick(l->data, fld->value.end, seq.content_end, depth + 2,
                                   &fld->value, &local)) {
            return fail_tlv(l, local, errp);
        }
    }
    if (!read_marker(l, fld, seq.content_end, depth + 2, errp)) {
        return false;
    }
    l->offset = fld->value.start;
    return true;
}

static bool name_is(const Field *fld, const char *name)
{
    if (!name || !fld->name) {
        return !name && !fld->name;
    }
    return fld->name_len == strlen(name) && memcmp(fld->name, name, fld->name_len) == 0;
}

static bool is_subsection(const Field *fld)
{
    return vs_ber_is(&fld->value, VS_BER_CONTEXT, true, 15);
}

static char *field_name(const Field *fld)
{
    return fld->name ? g_strndup(fld->name, fld->name_len) : g_strdup("<unnamed>");
}

/* Lenient: skips the items in [pos, upto), listing each. */
static bool skip_items(BerLoad *l, LoadFrame *f, size_t upto, GError **errp)
{
    while (f->pos < upto) {
        Field fld;
        g_autofree char *name = NULL;

        if (!read_field(l, f->pos, f->end, &fld, errp)) {
            return false;
        }
        name = field_name(&fld);
        l->offset = fld.item.start;
        if (fld.must_understand) {
            return vs_visit_fail(&l->base, errp,
                                 is_subsection(&fld) ? VS_VISIT_ERROR_SUBSECTION
                                                     : VS_VISIT_ERROR_MISMATCH,
                                 "the stream holds %s '%s', marked must-understand, "
                                 "which the schema does not know",
                                 is_subsection(&fld) ? "subsection" : "field", name);
        }
        warn(l, "skipped %s '%s' the schema does not know",
             is_subsection(&fld) ? "subsection" : "field", name);
        f->pos = fld.item.end;
    }
    return true;
}

/*
 * Finds the item of field @name (a subsection when @sub) in the innermost
 * struct or subsection and consumes it.  *@found is false when the stream
 * does not hold it where it may be: next (strict) or anywhere in the rest
 * of the struct (lenient).
 */
static bool find_field(BerLoad *l, const char *name, bool sub, Field *fld, bool *found,
                       GError **errp)
{
    LoadFrame *f = load_top(l);
    size_t pos = f->pos;

    *found = false;
    while (pos < f->end) {
        if (!read_field(l, pos, f->end, fld, errp)) {
            return false;
        }
        if (name_is(fld, name) && is_subsection(fld) == sub) {
            if (!skip_items(l, f, pos, errp)) {
                return false;
            }
            f->pos = fld->item.end;
            *found = true;
            return true;
        }
        if (!lenient(l)) {
            break;
        }
        pos = fld->item.end;
    }
    l->offset = f->pos;
    return true;
}

/*
 * Takes the next part's value TLV.  *@found is false (and true returned)
 * when a lenient load finds no such field; the visit then keeps its value.
 */
static bool take_value(VsVisitor *v, VsBerTlv *value, bool *found, GError **errp)
{
    BerLoad *l = to_load(v);
    LoadFrame *f = load_top(l);
    const char *name = vs_visitor_top(v)->name;
    GError *local = NULL;
    Field fld;

    *found = true;
    if (f->absent) {
        *found = false;
        return true;
    }
    if (f->kind == LOAD_ARRAY || f->kind == LOAD_LIST || f->kind == LOAD_ROOT) {
        l->offset = f->pos;
        if (f->pos >= f->end) {
            return vs_visit_fail(v, errp, VS_VISIT_ERROR_TRUNCATED,
                                 "the stream's %s ends before this element",
                                 f->kind == LOAD_ARRAY  ? "array"
                                 : f->kind == LOAD_LIST ? "list"
                                                        : "section");
        }
        if (!vs_ber_read_tlv_quick(l->data, f->pos, f->end, l->depth, value, &local)) {
            return fail_tlv(l, local, errp);
        }
        f->pos = value->end;
        f->taken++;
        return true;
    }
    if (!find_field(l, name, false, &fld, found, errp)) {
        return false;
    }
    if (*found) {
        *value = fld.value;
        return true;
    }
    if (lenient(l)) {
        warn(l, "not in the stream; kept its value");
        return true;
    }
    if (f->pos >= f->end) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_MISMATCH,
                             "the stream's struct ends before this field");
    }
    {
        g_autofree char *got = field_name(&fld);

        l->offset = fld.item.start;
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_MISMATCH,
                             "the stream holds %s '%s' here", is_subsection(&fld) ? "subsection" : "field",
                             got);
    }
}

/* The value must be a @what; strict fails otherwise, lenient keeps the destination. */
static bool kind_mismatch(VsVisitor *v, const VsBerTlv *value, const char *what, GError **errp)
{
    BerLoad *l = to_load(v);
    char buf[40];

    l->offset = value->start;
    return vs_visit_fail(v, errp, VS_VISIT_ERROR_MISMATCH, "the stream holds %s, the schema %s",
                         value_kind(value, buf, sizeof(buf)), what);
}

/* [tag] holding exactly one primitive universal @utag: its content. */
static bool unwrap(VsVisitor *v, const VsBerTlv *value, uint32_t utag, VsBerTlv *inner,
                   GError **errp)
{
    BerLoad *l = to_load(v);
    GError *local = NULL;

    if (!vs_ber_read_tlv_quick(l->data, value->content, value->content_end, l->depth + 1, inner,
                         &local)) {
        return fail_tlv(l, local, errp);
    }
    if (!vs_ber_is(inner, VS_BER_UNIVERSAL, false, utag) || inner->end != value->content_end) {
        char buf[40];

        l->offset = inner->start;
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_MISMATCH,
                             "malformed %s: expected exactly one %s inside",
                             value_kind(value, buf, sizeof(buf)),
                             utag == VS_BER_TAG_INTEGER ? "INTEGER" : "OCTET STRING");
    }
    return true;
}

/* ---- containers ------------------------------------------------------- */

static inline void push_frame(BerLoad *l, LoadKind kind, size_t pos, size_t end, bool absent)
{
    if (G_UNLIKELY(l->depth == l->frames_cap)) {
        size_t cap = l->frames_cap * 2;

        if (l->frames == l->inline_frames) {
            l->frames = g_new(LoadFrame, cap);
            memcpy(l->frames, l->inline_frames, sizeof(l->inline_frames));
        } else {
            l->frames = g_renew(LoadFrame, l->frames, cap);
        }
        l->frames_cap = cap;
    }
    l->frames[l->depth++] = (LoadFrame){ .kind = kind, .pos = pos, .end = end,
                                         .absent = absent };
}

static void pop_frame(VsVisitor *v)
{
    BerLoad *l = to_load(v);

    g_assert(l->depth > 1);
    l->depth--;
}

/* Opens [tag] SEQUENCE: *@seq is the SEQUENCE. */
static inline bool open_seq(VsVisitor *v, const VsBerTlv *value, VsBerTlv *seq, GError **errp)
{
    BerLoad *l = to_load(v);
    GError *local = NULL;

    if (!vs_ber_read_tlv_quick(l->data, value->content, value->content_end, l->depth + 1, seq,
                         &local)) {
        return fail_tlv(l, local, errp);
    }
    if (!vs_ber_is(seq, VS_BER_UNIVERSAL, true, VS_BER_TAG_SEQUENCE) || seq->end != value->content_end) {
        l->offset = seq->start;
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_MISMATCH,
                             "malformed container: expected exactly one SEQUENCE inside");
    }
    return true;
}

/*
 * The common opening of a container value: take the next value (*@value),
 * and when it is there check it is a [@tag] and open its SEQUENCE.  When the value is
 * absent (lenient skipping) an empty frame of @kind is pushed and *@present
 * is false.
 */
static bool open_container(VsVisitor *v, const char *name, LoadKind kind, uint32_t tag,
                           const char *what, VsBerTlv *value, VsBerTlv *seq, bool *present,
                           GError **errp)
{
    BerLoad *l = to_load(v);
    LoadFrame *f = load_top(l);
    size_t pos, end;

    /* The common case: the element, or the named field without a marker, next. */
    if (quick_value(l, name, &pos, &end) &&
        vs_ber_read_tlv_quick(l->data, pos, end, holds_values(f) ? l->depth : l->depth + 2,
                              value, NULL) &&
        vs_ber_is(value, VS_BER_CONTEXT, true, tag)) {
        bool element = holds_values(f);

        if (element || value->end == end) {
            f->pos = element ? value->end : end;
            f->taken += element;
            l->offset = value->start;
            *present = true;
            return open_seq(v, value, seq, errp);
        }
    }
    if (!take_value(v, value, present, errp)) {
        return false;
    }
    if (!*present) {
        push_frame(to_load(v), kind, 0, 0, true);
        return true;
    }
    if (!vs_ber_is(value, VS_BER_CONTEXT, true, tag)) {
        return kind_mismatch(v, value, what, errp);
    }
    return open_seq(v, value, seq, errp);
}

/* Reads a header element of @tag at *@pos within @end and advances past it. */
static bool header_elem(VsVisitor *v, size_t *pos, size_t end, uint32_t tag, VsBerTlv *t,
                        const char *what, GError **errp)
{
    BerLoad *l = to_load(v);
    GError *local = NULL;

    l->offset = *pos;
    if (*pos >= end) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_TRUNCATED, "the header lacks its %s",
                             what);
    }
    if (!vs_ber_read_tlv_quick(l->data, *pos, end, l->depth + 2, t, &local)) {
        return fail_tlv(l, local, errp);
    }
    if (!vs_ber_is(t, VS_BER_UNIVERSAL, false, tag)) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_MISMATCH, "the header's %s is malformed",
                             what);
    }
    *pos = t->end;
    return true;
}

/* A header INTEGER that must lie in [0, UINT32_MAX]. */
static bool header_u32(VsVisitor *v, size_t *pos, size_t end, const char *what,
                       uint32_t *ret, GError **errp)
{
    BerLoad *l = to_load(v);
    GError *local = NULL;
    bool neg = false;
    uint64_t val = 0;
    VsBerTlv t;

    if (!header_elem(v, pos, end, VS_BER_TAG_INTEGER, &t, what, errp)) {
        return false;
    }
    if (!vs_ber_get_integer(l->data, &t, &neg, &val, &local)) {
        return fail_tlv(l, local, errp);
    }
    if (neg || val > UINT32_MAX) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_RANGE, "the header's %s is out of range",
                             what);
    }
    *ret = (uint32_t)val;
    return true;
}

/* The stream's version replaces *@version; lenient loads clamp a newer one. */
static void take_version(BerLoad *l, const VsTypeInfo *type, uint32_t stream,
                         uint32_t *version)
{
    if (lenient(l) && stream > type->version) {
        warn(l, "version %" PRIu32 " of '%s' is newer than %" PRIu32 "; loaded as %" PRIu32,
             stream, type->wire_name, type->version, type->version);
        stream = type->version;
    }
    *version = stream;
}

/*
 * A header INTEGER in [0, UINT32_MAX] in its common form, `02 n content`
 * minimal, at *@pos within @end; advances *@pos.  False when the general
 * path must read it.
 */
static inline bool quick_header_u32(const uint8_t *data, size_t *pos, size_t end,
                                    uint32_t *ret)
{
    const uint8_t *p = data + *pos;
    size_t n;
    uint64_t val = 0;

    if (end - *pos < 3 || p[0] != VS_BER_TAG_INTEGER) {
        return false;
    }
    n = p[1];
    if (n == 0 || n > 5 || n + 2 > end - *pos || (p[2] & 0x80) ||
        (n > 1 && p[2] == 0 && !(p[3] & 0x80)) || (n == 5 && p[2] != 0)) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        val = (val << 8) | p[2 + i];
    }
    *ret = (uint32_t)val;
    *pos += n + 2;
    return true;
}

/* A header string of universal @tag with a short length at *@pos; advances *@pos. */
static inline bool quick_header_string(const uint8_t *data, size_t *pos, size_t end,
                                       uint8_t tag, const uint8_t **ret, size_t *ret_len)
{
    const uint8_t *p = data + *pos;

    if (end - *pos < 2 || p[0] != tag || p[1] >= 0x80 || (size_t)p[1] + 2 > end - *pos) {
        return false;
    }
    *ret = p + 2;
    *ret_len = p[1];
    *pos += (size_t)p[1] + 2;
    return true;
}

/*
 * A struct's or subsection's header in its common form, the type name
 * equal to @type's; *@pos moves past it.  False (with *@pos unchanged)
 * when the general path must read it.
 */
static bool quick_struct_header(BerLoad *l, size_t *pos, size_t end, const VsTypeInfo *type,
                                uint32_t *ret_version)
{
    size_t p = *pos, len;
    const uint8_t *str;

    if (!quick_header_string(l->data, &p, end, VS_BER_TAG_UTF8STRING, &str, &len)) {
        return false;
    }
    /* Byte by byte, never past type->name's end: the stream's name may hold a NUL. */
    for (size_t i = 0; i < len; i++) {
        if (type->name[i] == '\0' || type->name[i] != (char)str[i]) {
            return false;
        }
    }
    if (type->name[len] != '\0' ||
        !quick_header_string(l->data, &p, end, VS_BER_TAG_UTF8STRING, &str, &len)) {
        return false;
    }
    l->offset = p;      /* a version out of range is reported at the version */
    if (!quick_header_u32(l->data, &p, end, ret_version)) {
        return false;
    }
    *pos = p;
    return true;
}

/* An array's header in its common form; *@pos moves past it.  False: the general path. */
static bool quick_array_header(BerLoad *l, size_t *pos, size_t end, uint32_t *ret_count,
                               uint32_t *ret_elem_size)
{
    size_t p = *pos, len;
    const uint8_t *str;

    if (!quick_header_string(l->data, &p, end, VS_BER_TAG_VISIBLESTRING, &str, &len) ||
        !quick_header_u32(l->data, &p, end, ret_count) ||
        !quick_header_u32(l->data, &p, end, ret_elem_size)) {
        return false;
    }
    *pos = p;
    return true;
}

static bool check_type_name(VsVisitor *v, const VsBerTlv *t, const VsTypeInfo *type,
                            GError **errp)
{
    BerLoad *l = to_load(v);
    const char *got = (const char *)l->data + t->content;

    if (t->len == strlen(type->name) && memcmp(got, type->name, t->len) == 0) {
        return true;
    }
    if (!lenient(l)) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_MISMATCH,
                             "the stream holds type '%.*s', the schema '%s'", (int)MIN(t->len, 200),
                             got, type->name);
    }
    warn(l, "the stream's type is '%.*s', the schema's '%s'", (int)MIN(t->len, 200), got,
         type->name);
    return true;
}

static bool ber_load_start_struct(VsVisitor *v, const char *name, const VsTypeInfo *type,
                                  uint32_t *version, GError **errp)
{
    BerLoad *l = to_load(v);
    VsBerTlv value, seq, t;
    uint32_t stream_version = 0;
    bool found;
    size_t p;

    if (!open_container(v, name, LOAD_STRUCT, 12, "a struct", &value, &seq, &found, errp)) {
        return false;
    }
    if (!found) {
        return true;
    }
    p = seq.content;
    if (!quick_struct_header(l, &p, seq.content_end, type, &stream_version) &&
        (!header_elem(v, &p, seq.content_end, VS_BER_TAG_UTF8STRING, &t, "type name", errp) ||
         !check_type_name(v, &t, type, errp) ||
         !header_elem(v, &p, seq.content_end, VS_BER_TAG_UTF8STRING, &t, "wire name", errp) ||
         !header_u32(v, &p, seq.content_end, "version", &stream_version, errp))) {
        return false;
    }
    take_version(l, type, stream_version, version);
    push_frame(l, LOAD_STRUCT, p, seq.content_end, false);
    return true;
}

/* What is left in a struct is unknown to the schema: strict refuses it. */
static bool ber_load_check_struct(VsVisitor *v, GError **errp)
{
    BerLoad *l = to_load(v);
    LoadFrame *f = load_top(l);
    Field fld;

    if (f->absent || f->pos >= f->end) {
        return true;
    }
    if (lenient(l)) {
        return skip_items(l, f, f->end, errp);
    }
    if (!read_field(l, f->pos, f->end, &fld, errp)) {
        return false;
    }
    {
        g_autofree char *got = field_name(&fld);

        l->offset = fld.item.start;
        return vs_visit_fail(v, errp,
                             is_subsection(&fld) ? VS_VISIT_ERROR_SUBSECTION
                                                 : VS_VISIT_ERROR_MISMATCH,
                             "the stream holds %s '%s' the schema does not know",
                             is_subsection(&fld) ? "subsection" : "field", got);
    }
}

static bool ber_load_start_subsection(VsVisitor *v, const char *name, const VsTypeInfo *type,
                                      uint32_t *version, bool *present, GError **errp)
{
    BerLoad *l = to_load(v);
    LoadFrame *f = load_top(l);
    VsBerTlv seq, t;
    uint32_t stream_version = 0;
    Field fld;
    size_t p, pos, end;

    *present = false;
    if (f->absent || f->kind == LOAD_ROOT) {
        return true;
    }
    /* The common case: the subsection next, without a marker. */
    if (quick_value(l, name, &pos, &end) &&
        vs_ber_read_tlv_quick(l->data, pos, end, l->depth + 2, &fld.value, NULL) &&
        is_subsection(&fld) && fld.value.end == end) {
        f->pos = end;
        l->offset = fld.value.start;
        *present = true;
    } else if (!find_field(l, name, true, &fld, present, errp)) {
        return false;
    }
    if (!*present) {
        return true;
    }
    if (!open_seq(v, &fld.value, &seq, errp)) {
        return false;
    }
    p = seq.content;
    if (!quick_struct_header(l, &p, seq.content_end, type, &stream_version) &&
        (!header_elem(v, &p, seq.content_end, VS_BER_TAG_UTF8STRING, &t, "type name", errp) ||
         !check_type_name(v, &t, type, errp) ||
         !header_elem(v, &p, seq.content_end, VS_BER_TAG_UTF8STRING, &t, "wire name", errp) ||
         !header_u32(v, &p, seq.content_end, "version", &stream_version, errp))) {
        return false;
    }
    take_version(l, type, stream_version, version);
    push_frame(l, LOAD_SUBSECTION, p, seq.content_end, false);
    return true;
}

static bool ber_load_start_array(VsVisitor *v, const char *name, uint32_t *count,
                                 uint32_t max, size_t elem_size, GError **errp)
{
    BerLoad *l = to_load(v);
    VsBerTlv value, seq, t;
    uint32_t stream_count = 0, stream_elem_size = 0;
    bool found;
    size_t p;

    if (!open_container(v, name, LOAD_ARRAY, 13, "an array", &value, &seq, &found, errp)) {
        return false;
    }
    if (!found) {
        return true;
    }
    p = seq.content;
    if (!quick_array_header(l, &p, seq.content_end, &stream_count, &stream_elem_size) &&
        (!header_elem(v, &p, seq.content_end, VS_BER_TAG_VISIBLESTRING, &t, "element type",
                      errp) ||
         !header_u32(v, &p, seq.content_end, "count", &stream_count, errp) ||
         !header_u32(v, &p, seq.content_end, "element size", &stream_elem_size, errp))) {
        return false;
    }
    l->offset = value.start;
    if (stream_count != *count) {
        if (!lenient(l)) {
            return vs_visit_fail(v, errp, VS_VISIT_ERROR_MISMATCH,
                                 "the stream holds %" PRIu32 " elements, the schema %" PRIu32,
                                 stream_count, *count);
        }
        warn(l, "the stream holds %" PRIu32 " elements, the schema %" PRIu32 "; %s",
             stream_count, *count,
             stream_count > *count ? "the extra ones are skipped" : "the rest keep their values");
        *count = MIN(stream_count, *count);
    }
    push_frame(l, LOAD_ARRAY, p, seq.content_end, false);
    load_top(l)->stream_count = stream_count;
    return true;
}

static bool ber_load_start_list(VsVisitor *v, const char *name, uint32_t max,
                                size_t elem_size, GError **errp)
{
    BerLoad *l = to_load(v);
    VsBerTlv value, seq, t;
    uint32_t stream_elem_size = 0;
    bool found;
    size_t p;

    if (!open_container(v, name, LOAD_LIST, 14, "a list", &value, &seq, &found, errp)) {
        return false;
    }
    if (!found) {
        return true;
    }
    p = seq.content;
    if (!header_elem(v, &p, seq.content_end, VS_BER_TAG_VISIBLESTRING, &t, "element type", errp) ||
        !header_u32(v, &p, seq.content_end, "element size", &stream_elem_size, errp)) {
        return false;
    }
    push_frame(l, LOAD_LIST, p, seq.content_end, false);
    return true;
}

static bool ber_load_list_next(VsVisitor *v, bool *more, GError **errp)
{
    LoadFrame *f = load_top(to_load(v));

    *more = !f->absent && f->pos < f->end;
    return true;
}

/* Extra elements of a longer array were announced in the warning; drop them. */
static void ber_load_end_array(VsVisitor *v)
{
    pop_frame(v);
}

/* ---- leaves ----------------------------------------------------------- */

/* Whether the stream's integer fits a destination of @width bytes and @is_signed. */
static inline bool int_fits(bool neg, uint64_t val, unsigned width, bool is_signed)
{
    unsigned bits = width * 8;

    if (!is_signed) {
        return !neg && (bits == 64 || val >> bits == 0);
    }
    if (neg) {
        return bits == 64 || (int64_t)val >= -(INT64_C(1) << (bits - 1));
    }
    return val < (UINT64_C(1) << (bits - 1));
}

/*
 * The common integer, decoded in place: `[want] L 02 n content` with short
 * forms, a minimal content of at most 8 octets that fits the destination,
 * within @avail bytes at @p.  Anything else returns false and takes the
 * general path, which reports what is wrong.
 */
static inline __attribute__((always_inline)) bool quick_integer(const uint8_t *p, size_t avail,
                                                                 uint32_t want, unsigned width,
                                                                 bool is_signed, uint64_t *ret,
                                                                 size_t *ret_used)
{
    size_t n;
    uint64_t val;
    bool neg;

    if (avail < 5 || p[0] != (0xa0 | want) || p[2] != VS_BER_TAG_INTEGER) {
        return false;
    }
    n = p[3];
    if (n == 0 || n > 8 || p[1] != n + 2 || n + 4 > avail ||
        (n > 1 && ((p[4] == 0 && !(p[5] & 0x80)) || (p[4] == 0xff && (p[5] & 0x80))))) {
        return false;
    }
    neg = p[4] & 0x80;
    val = neg ? UINT64_MAX : 0;
    for (size_t i = 0; i < n; i++) {
        val = (val << 8) | p[4 + i];
    }
    if (!int_fits(neg, val, width, is_signed)) {
        return false;
    }
    *ret = val;
    *ret_used = n + 4;
    return true;
}

static bool load_integer(VsVisitor *v, unsigned width, bool is_signed, uint64_t *ret,
                         bool *found, GError **errp)
{
    BerLoad *l = to_load(v);
    GError *local = NULL;
    /* By width in bytes (1, 2, 4, 8): log2 of the width. */
    static const uint8_t log2w[] = { 0, 0, 1, 0, 2, 0, 0, 0, 3 };
    static const char *const names[2][4] = {
        { "uint8", "uint16", "uint32", "uint64" },
        { "int8", "int16", "int32", "int64" },
    };
    uint32_t want = log2w[width] + (is_signed ? 5u : 1u);
    const char *what = names[is_signed][log2w[width]];
    LoadFrame *f = load_top(l);
    VsBerTlv value, inner;
    char buf[40];
    bool neg = false;
    size_t used;

    /* An element: straight from the cursor. */
    if ((f->kind == LOAD_ARRAY || f->kind == LOAD_LIST) && !f->absent && f->pos < f->end &&
        l->depth < VS_BER_MAX_DEPTH &&
        quick_integer(l->data + f->pos, f->end - f->pos, want, width, is_signed, ret, &used)) {
        f->pos += used;
        f->taken++;
        *found = true;
        return true;
    }
    if (!take_value(v, &value, found, errp)) {
        return false;
    }
    if (!*found) {
        return true;
    }
    if (quick_integer(l->data + value.start, value.end - value.start, want, width, is_signed,
                      ret, &used) &&
        used == value.end - value.start) {
        return true;
    }
    if (value.cls != VS_BER_CONTEXT || !value.constructed || value.tag < 1 || value.tag > 8) {
        return kind_mismatch(v, &value, what, errp);
    }
    if (value.tag != want && !lenient(l)) {
        return kind_mismatch(v, &value, what, errp);
    }
    if (!unwrap(v, &value, VS_BER_TAG_INTEGER, &inner, errp)) {
        return false;
    }
    if (!vs_ber_get_integer(l->data, &inner, &neg, ret, &local)) {
        return fail_tlv(l, local, errp);
    }
    l->offset = value.start;
    /* The tag's own width and signedness bound the value as well. */
    if (!int_fits(neg, *ret, 1u << ((value.tag - 1) % 4), value.tag >= 5)) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_RANGE, "the value does not fit its %s tag",
                             value_kind(&value, buf, sizeof(buf)));
    }
    if (value.tag != want) {
        if (!int_fits(neg, *ret, width, is_signed)) {
            return vs_visit_fail(v, errp, VS_VISIT_ERROR_RANGE,
                                 "the stream's %s value does not fit the schema's %s",
                                 value_kind(&value, buf, sizeof(buf)), what);
        }
        warn(l, "the stream's %s accepted as %s", value_kind(&value, buf, sizeof(buf)), what);
    }
    return true;
}

/*
 * The common integer part in one go: quick_value() and quick_integer(),
 * an element or a field value that ends its item (no marker).  Returns
 * false, with nothing consumed, when the general path must decide.
 */
static inline __attribute__((always_inline)) bool quick_integer_part(BerLoad *l,
                                                                      const char *name,
                                                                      unsigned width,
                                                                      bool is_signed,
                                                                      uint64_t *ret)
{
    static const uint8_t tags[] = { 0, 1, 2, 0, 3, 0, 0, 0, 4 };
    LoadFrame *f = load_top(l);
    size_t pos, end, used;
    bool element;

    if (!quick_value(l, name, &pos, &end) ||
        !quick_integer(l->data + pos, end - pos, tags[width] + (is_signed ? 4u : 0u), width,
                       is_signed, ret, &used)) {
        return false;
    }
    element = holds_values(f);
    if (!element && pos + used != end) {
        return false;
    }
    l->offset = pos;
    f->pos = element ? pos + used : end;
    f->taken += element;
    return true;
}

static bool ber_load_type_uint(VsVisitor *v, const char *name, uint64_t *val, unsigned width,
                               GError **errp)
{
    uint64_t tmp;
    bool found;

    if (quick_integer_part(to_load(v), name, width, false, val)) {
        return true;
    }
    if (!load_integer(v, width, false, &tmp, &found, errp)) {
        return false;
    }
    if (found) {
        *val = tmp;
    }
    return true;
}

static bool ber_load_type_int(VsVisitor *v, const char *name, int64_t *val, unsigned width,
                              GError **errp)
{
    uint64_t tmp;
    bool found;

    if (quick_integer_part(to_load(v), name, width, true, &tmp)) {
        *val = (int64_t)tmp;
        return true;
    }
    if (!load_integer(v, width, true, &tmp, &found, errp)) {
        return false;
    }
    if (found) {
        *val = (int64_t)tmp;
    }
    return true;
}

/* Takes a primitive universal @tag value, or reports what the stream holds. */
static bool load_prim(VsVisitor *v, uint32_t tag, const char *what, VsBerTlv *value,
                      bool *found, GError **errp)
{
    if (!take_value(v, value, found, errp)) {
        return false;
    }
    if (!*found) {
        return true;
    }
    if (!vs_ber_is(value, VS_BER_UNIVERSAL, false, tag)) {
        return kind_mismatch(v, value, what, errp);
    }
    return true;
}

static bool ber_load_type_bool(VsVisitor *v, const char *name, bool *val, GError **errp)
{
    BerLoad *l = to_load(v);
    VsBerTlv value;
    bool found;

    if (!load_prim(v, VS_BER_TAG_BOOLEAN, "bool", &value, &found, errp)) {
        return false;
    }
    if (!found) {
        return true;
    }
    if (value.len != 1) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_MISMATCH, "BOOLEAN of %zu bytes",
                             value.len);
    }
    *val = l->data[value.content] != 0;
    return true;
}

static bool ber_load_type_f64(VsVisitor *v, const char *name, double *val, GError **errp)
{
    BerLoad *l = to_load(v);
    VsBerTlv value, inner;
    uint64_t bits = 0;
    bool found;

    if (!take_value(v, &value, &found, errp)) {
        return false;
    }
    if (!found) {
        return true;
    }
    if (!vs_ber_is(&value, VS_BER_CONTEXT, true, 9)) {
        return kind_mismatch(v, &value, "float64", errp);
    }
    if (!unwrap(v, &value, VS_BER_TAG_OCTET_STRING, &inner, errp)) {
        return false;
    }
    if (inner.len != 8) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_MISMATCH, "float64 of %zu bytes",
                             inner.len);
    }
    for (unsigned i = 0; i < 8; i++) {
        bits = (bits << 8) | l->data[inner.content + i];
    }
    memcpy(val, &bits, sizeof(*val));
    return true;
}

static bool ber_load_buffer(VsVisitor *v, const char *name, uint8_t *buf, size_t len,
                            GError **errp)
{
    BerLoad *l = to_load(v);
    VsBerTlv value;
    bool found;

    if (!load_prim(v, VS_BER_TAG_OCTET_STRING, "buffer", &value, &found, errp)) {
        return false;
    }
    if (!found) {
        return true;
    }
    if (value.len != len) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_MISMATCH,
                             "the stream's buffer has %zu bytes, the schema's %zu", value.len,
                             len);
    }
    if (len) {
        memcpy(buf, l->data + value.content, len);
    }
    return true;
}

static bool ber_load_string(VsVisitor *v, const char *name, char **str, size_t max_len,
                            GError **errp)
{
    BerLoad *l = to_load(v);
    VsBerTlv value;
    bool found;

    if (!load_prim(v, VS_BER_TAG_VISIBLESTRING, "string", &value, &found, errp)) {
        return false;
    }
    if (!found) {
        if (!*str) {
            *str = talloc_strdup(vs_visitor_result_ctx(v), "");
        }
        return true;
    }
    if (value.len > max_len) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_LIMIT,
                             "string of %zu bytes exceeds the maximum of %zu", value.len,
                             max_len);
    }
    if (memchr(l->data + value.content, 0, value.len)) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_MISMATCH, "string holds a NUL byte");
    }
    *str = talloc_strndup(vs_visitor_result_ctx(v), (const char *)l->data + value.content,
                          value.len);
    g_assert(*str != NULL);
    return true;
}

static bool ber_load_unused(VsVisitor *v, const char *name, size_t len, GError **errp)
{
    BerLoad *l = to_load(v);
    GError *local = NULL;
    VsBerTlv value, inner;
    uint64_t n = 0;
    bool found, neg;

    if (!take_value(v, &value, &found, errp)) {
        return false;
    }
    if (!found) {
        return true;
    }
    if (!vs_ber_is(&value, VS_BER_CONTEXT, true, 10)) {
        return kind_mismatch(v, &value, "unused bytes", errp);
    }
    if (!unwrap(v, &value, VS_BER_TAG_INTEGER, &inner, errp)) {
        return false;
    }
    if (!vs_ber_get_integer(l->data, &inner, &neg, &n, &local)) {
        return fail_tlv(l, local, errp);
    }
    if (neg || n != len) {
        if (!lenient(l) || neg) {
            return vs_visit_fail(v, errp, VS_VISIT_ERROR_MISMATCH,
                                 "the stream has %s%" PRIu64 " unused bytes, the schema %zu",
                                 neg ? "-" : "", neg ? -n : n, len);
        }
        warn(l, "the stream has %" PRIu64 " unused bytes, the schema %zu", n, len);
    }
    return true;
}

/*
 * A NULL element must be where the destination's pointer is NULL.  Lenient:
 * a NULL for a present pointer keeps the pointee (*is_null becomes true, so
 * the walker skips it); a value for a NULL pointer is skipped.
 */
static bool ber_load_nullptr_marker(VsVisitor *v, const char *name, bool *is_null,
                                    GError **errp)
{
    BerLoad *l = to_load(v);
    LoadFrame *f = load_top(l);
    bool stream_null;
    VsBerTlv value;
    bool found;

    if (f->absent) {
        return true;
    }
    if (f->pos >= f->end) {
        l->offset = f->pos;
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_TRUNCATED,
                             "the stream's array ends before this element");
    }
    {
        GError *local = NULL;

        if (!vs_ber_read_tlv_quick(l->data, f->pos, f->end, l->depth, &value, &local)) {
            return fail_tlv(l, local, errp);
        }
    }
    l->offset = value.start;
    stream_null = vs_ber_is(&value, VS_BER_UNIVERSAL, false, VS_BER_TAG_NULL);
    if (stream_null == *is_null) {
        if (stream_null) {
            return take_value(v, &value, &found, errp);
        }
        return true;    /* the pointee is taken by the next visit */
    }
    if (!lenient(l)) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_MISMATCH,
                             stream_null ? "the stream holds NULL, the destination a pointer"
                                         : "the stream holds an element, the destination NULL");
    }
    warn(l, stream_null ? "the stream's NULL skipped; the pointee keeps its values"
                        : "the stream's element skipped: the destination is NULL");
    *is_null = true;
    return take_value(v, &value, &found, errp);
}

static bool ber_load_opaque(VsVisitor *v, const char *name, uint8_t **data, size_t *len,
                            size_t max_len, GError **errp)
{
    BerLoad *l = to_load(v);
    VsBerTlv value, inner;
    bool found;

    if (!take_value(v, &value, &found, errp)) {
        return false;
    }
    if (!found) {
        return true;
    }
    if (!vs_ber_is(&value, VS_BER_CONTEXT, true, 11)) {
        return kind_mismatch(v, &value, "an opaque payload", errp);
    }
    if (!unwrap(v, &value, VS_BER_TAG_OCTET_STRING, &inner, errp)) {
        return false;
    }
    if (inner.len > max_len) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_LIMIT,
                             "payload of %zu bytes exceeds the maximum of %zu", inner.len,
                             max_len);
    }
    *data = talloc_memdup(vs_visitor_result_ctx(v), l->data + inner.content,
                          inner.len ? inner.len : 1);
    g_assert(*data != NULL);
    *len = inner.len;
    return true;
}

static bool ber_load_complete(VsVisitor *v, GError **errp)
{
    BerLoad *l = to_load(v);
    LoadFrame *root = load_top(l);

    l->offset = root->pos;
    if (root->pos == 0) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_CONTRACT, "nothing was loaded");
    }
    if (root->pos != root->end) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_MISMATCH,
                             "%zu bytes follow the section", root->end - root->pos);
    }
    return true;
}

static bool ber_load_offset(VsVisitor *v, uint64_t *ret_offset)
{
    *ret_offset = to_load(v)->offset;
    return true;
}

static void ber_load_destroy(VsVisitor *v)
{
    BerLoad *l = to_load(v);

    if (l->frames != l->inline_frames) {
        g_free(l->frames);
    }
    if (l->warnings) {
        g_ptr_array_unref(l->warnings);
    }
}

static const VsVisitorOps ber_load_ops = {
    .kind = VS_VISITOR_LOAD,
    .impl_name = "ber-load",
    .start_struct = ber_load_start_struct,
    .check_struct = ber_load_check_struct,
    .end_struct = pop_frame,
    .start_array = ber_load_start_array,
    .end_array = ber_load_end_array,
    .start_subsection = ber_load_start_subsection,
    .end_subsection = pop_frame,
    .start_list = ber_load_start_list,
    .list_next = ber_load_list_next,
    .end_list = pop_frame,
    .type_uint = ber_load_type_uint,
    .type_int = ber_load_type_int,
    .type_bool = ber_load_type_bool,
    .type_f64 = ber_load_type_f64,
    .buffer = ber_load_buffer,
    .string = ber_load_string,
    .unused = ber_load_unused,
    .nullptr_marker = ber_load_nullptr_marker,
    .opaque = ber_load_opaque,
    .complete = ber_load_complete,
    .offset = ber_load_offset,
    .destroy = ber_load_destroy,
};

VsVisitor *vs_ber_load_visitor_new(TALLOC_CTX *mem_ctx, const uint8_t *data, size_t len,
                                   VsBerPolicy policy, TALLOC_CTX *result_ctx)
{
    BerLoad *l = vs_visitor_new(mem_ctx, &ber_load_ops, BerLoad, result_ctx);

    l->data = data;
    l->len = len;
    l->policy = policy;
    l->frames = l->inline_frames;
    l->frames_cap = INLINE_FRAMES;
    push_frame(l, LOAD_ROOT, 0, len, false);
    return &l->base;
}

const char *const *vs_ber_load_visitor_warnings(VsVisitor *v, size_t *ret_n)
{
    BerLoad *l;

    g_return_val_if_fail(v != NULL && v->ops == &ber_load_ops, NULL);
    l = to_load(v);
    *ret_n = l->warnings ? l->warnings->len : 0;
    return *ret_n ? (const char *const *)l->warnings->pdata : NULL;
}
