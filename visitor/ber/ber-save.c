/*
 * ber-save.c: the BER SAVE visitor (see ber-visitor.h and
 * docs/ber-format.md).
 *
 * SPDX-License-Identifier: MIT
 *
 * Every part is written as it is visited, straight into one output buffer
 * (inline in the visitor until it outgrows it).  A leaf's lengths are all
 * known before it is written, so a field item is written front to back in
 * one go.  Containers are opened with one reserved length octet and closed
 * (length patched in) when their walk ends; content is moved only when a
 * length needs more than one octet, so the output has minimal definite
 * lengths.  An array or list header names its element type, which the
 * visitor learns from the first element: the header is inserted in front
 * of the elements once that is known (only NULL markers, which hold no
 * open container, can precede it).
 *
 * Field numbers come from the struct's VsTypeInfo.fields.  Walkers visit
 * members in declaration order, so each struct frame keeps a cursor into
 * its fields and the number of the slot under it: a visit normally matches
 * at the cursor (a pointer comparison of the names first) and nothing is
 * searched.  Paths are rendered only for error messages and, when the
 * writer marked items must-understand, to find the marked ones.
 */
#include "visitor/ber/ber-tlv.h"
#include "visitor/ber/ber-visitor.h"
#include "visitor/visitor-impl.h"

#include <stdio.h>
#include <string.h>

/* Constructed TLVs one visited part may keep open: [i], SEQUENCE, [k], SEQUENCE. */
#define MAX_OPENS 4
/*
 * Frames and output bytes kept inside the visitor before the heap is used.
 * They are sized so that the whole visitor (with the core's base and
 * talloc's header) stays within glibc's per-thread cache of small blocks:
 * past it, creating and freeing the visitor costs more than encoding a
 * small struct.  The first heap buffer is HEAP_OUT bytes, still cached.
 */
#define INLINE_FRAMES 3
#define INLINE_OUT 168
#define HEAP_OUT 1024

/* Identifier bits of the tags the writer uses. */
#define ID_CONTEXT_C 0xa0   /* context-specific, constructed */
#define ID_UNIVERSAL 0x00
#define ID_UNIVERSAL_C 0x20

typedef enum SaveKind {
    SAVE_STRUCT,
    SAVE_SUBSECTION,
    SAVE_ARRAY,
    SAVE_LIST,
} SaveKind;

/* Kept small (64 bytes): what only structs or only arrays need shares room. */
typedef struct SaveFrame {
    size_t opens[MAX_OPENS];
    union {
        struct {                        /* structs and subsections */
            const VsTypeInfo *type;
            uint32_t cursor;            /* next member of type->fields expected */
            uint32_t cursor_slot;       /* the slot number of that member */
            uint32_t unmatched;         /* members not found in type->fields so far */
        };
        struct {                        /* arrays and lists */
            const char *name;           /* the member's name, for its declared element type */
            size_t elem_size;
            uint32_t count;
        };
    };
    uint8_t kind;                       /* a SaveKind */
    uint8_t n_opens;
    bool header_done;
    bool saw_pointer;                   /* an element was a pointer marker */
    bool must_understand;               /* the item gets the marker when it closes */
} SaveFrame;

typedef struct BerSave {
    VsVisitor base;                 /* must stay first */
    uint8_t *out;                   /* inline_out, or a g_malloc()ed buffer */
    size_t len, cap;
    SaveFrame *frames;              /* inline_frames, or a g_malloc()ed array */
    SaveFrame *top;                 /* frames[depth - 1], or NULL at the root */
    uint32_t depth, frames_cap;     /* 32 bits: room for @top within the size below */
    GPtrArray *marks;               /* paths marked must-understand, or NULL */
    SaveFrame inline_frames[INLINE_FRAMES];
    uint8_t inline_out[INLINE_OUT];
} BerSave;

G_STATIC_ASSERT(offsetof(BerSave, base) == 0);
/* 1032 bytes: glibc's largest cached request; 96: talloc 2.4's chunk header. */
G_STATIC_ASSERT(sizeof(BerSave) + 96 <= 1032);
G_STATIC_ASSERT(sizeof(SaveFrame) <= 64);

static const VsVisitorOps ber_save_ops;

static BerSave *to_save(VsVisitor *v)
{
    return (BerSave *)v;
}

static SaveFrame *save_top(BerSave *s)
{
    return s->top;
}

/* ---- the output buffer ------------------------------------------------ */

static __attribute__((noinline)) void out_grow(BerSave *s, size_t need)
{
    size_t cap = MAX(s->cap * 2, HEAP_OUT);

    while (cap < need) {
        cap *= 2;
    }
    if (s->out == s->inline_out) {
        s->out = g_malloc(cap);
        memcpy(s->out, s->inline_out, s->len);
    } else {
        s->out = g_realloc(s->out, cap);
    }
    s->cap = cap;
}

/* Room for @n more bytes; returns where they go (the caller advances len). */
static inline uint8_t *out_room(BerSave *s, size_t n)
{
    if (G_UNLIKELY(s->cap - s->len < n)) {
        out_grow(s, s->len + n);
    }
    return s->out + s->len;
}

/* Starts a constructed TLV with one length octet reserved; returns its start. */
static size_t out_open(BerSave *s, uint32_t tag, uint8_t id_bits)
{
    uint8_t *p = out_room(s, VS_BER_MAX_HEADER);
    size_t start = s->len;

    s->len += vs_ber_write_header(p, id_bits, tag, 0);
    return start;
}

/* Patches the length of the TLV opened at @start; moves the content if it is long. */
static G_GNUC_NO_INLINE void out_close_slow(BerSave *s, size_t start)
{
    size_t idlen = 1, content, len, n;

    if ((s->out[start] & 0x1f) == 0x1f) {
        while (s->out[start + idlen] & 0x80) {
            idlen++;
        }
        idlen++;
    }
    content = start + idlen + 1;
    len = s->len - content;
    if (G_LIKELY(len < 128)) {
        s->out[start + idlen] = (uint8_t)len;
        return;
    }
    {
        uint8_t octets[VS_BER_MAX_HEADER];

        n = vs_ber_length_octets(len, octets);
        out_room(s, n - 1);
        memmove(s->out + content + n - 1, s->out + content, len);
        s->len += n - 1;
        memcpy(s->out + start + idlen, octets, n);
    }
}

/* out_close_slow() inline for the usual case: a one-octet tag and a short length. */
static inline void out_close(BerSave *s, size_t start)
{
    size_t len = s->len - start - 2;

    if (G_LIKELY((s->out[start] & 0x1f) != 0x1f && len < 128)) {
        s->out[start + 1] = (uint8_t)len;
        return;
    }
    out_close_slow(s, start);
}

static inline uint8_t *put_header(uint8_t *p, uint8_t id_bits, uint32_t tag, size_t len)
{
    return p + vs_ber_write_header(p, id_bits, tag, len);
}

/*
 * Copies a short string (a name) without a call: names are mostly under
 * 17 bytes, where memcpy()'s call and size dispatch cost more than the copy.
 */
static inline void copy_short(uint8_t *dst, const char *src, size_t n)
{
    if (n >= 8 && n <= 16) {
        uint64_t a, b;

        memcpy(&a, src, 8);
        memcpy(&b, src + n - 8, 8);
        memcpy(dst, &a, 8);
        memcpy(dst + n - 8, &b, 8);
    } else if (n >= 4 && n < 8) {
        uint32_t a, b;

        memcpy(&a, src, 4);
        memcpy(&b, src + n - 4, 4);
        memcpy(dst, &a, 4);
        memcpy(dst + n - 4, &b, 4);
    } else if (n > 16) {
        memcpy(dst, src, n);
    } else {
        for (size_t i = 0; i < n; i++) {
            dst[i] = (uint8_t)src[i];
        }
    }
}

/* strlen(@str), or @known_len when @str is the string it was measured from. */
static inline size_t known_strlen(const char *str, const char *known, uint32_t known_len)
{
    if (!str) {
        return 0;
    }
    return str == known && known_len ? known_len : strlen(str);
}

/* A whole primitive TLV, appended. */
static void out_prim(BerSave *s, uint8_t id_bits, uint32_t tag, const void *data, size_t len)
{
    uint8_t *p = out_room(s, VS_BER_MAX_HEADER + len);
    uint8_t *q = put_header(p, id_bits, tag, len);

    if (len) {
        memcpy(q, data, len);
    }
    s->len += (size_t)(q - p) + len;
}

static void out_string(BerSave *s, uint32_t tag, const char *str)
{
    out_prim(s, ID_UNIVERSAL, tag, str, str ? strlen(str) : 0);
}

/* The must-understand marker: BOOLEAN TRUE after a field item's value. */
static const uint8_t must_understand_marker[] = { 0x01, 0x01, 0xff };

/* ---- field numbers and element types ------------------------------- */

static bool member_is(const VsFieldInfo *fi, const char *name, const VsTypeInfo *sub)
{
    if (sub) {
        return fi->kind == VS_FIELD_SUBSECTION && fi->type &&
               (fi->type == sub || g_strcmp0(fi->type->wire_name, sub->wire_name) == 0);
    }
    return fi->kind != VS_FIELD_SUBSECTION &&
           (fi->name == name || g_strcmp0(fi->name, name) == 0);
}

/* The member of @type that a visit of @name (or of subsection @sub) is. */
static const VsFieldInfo *find_member(const VsTypeInfo *type, const char *name,
                                      const VsTypeInfo *sub, uint32_t *ret_index)
{
    for (uint32_t i = 0; type && type->fields && i < type->n_fields; i++) {
        if (member_is(&type->fields[i], name, sub)) {
            *ret_index = i;
            return &type->fields[i];
        }
    }
    return NULL;
}

/* Slots a member takes (docs/ber-format.md): local and validate none, gtree two. */
static uint32_t member_slots(const VsFieldInfo *fi)
{
    if ((fi->flags & VS_FIELD_F_LOCAL) || fi->kind == VS_FIELD_VALIDATE) {
        return 0;
    }
    return fi->kind == VS_FIELD_GTREE ? 2 : 1;
}

/*
 * The slot number by searching the whole description: a member out of
 * declaration order, a gtree's node count, or a member the description
 * lacks (which takes the next number after all described slots).
 */
static uint32_t field_number_search(SaveFrame *parent, const char *name, const VsTypeInfo *sub)
{
    const VsTypeInfo *type = parent->type;
    uint32_t slot = 0, i = 0;
    const VsFieldInfo *hit = find_member(type, name, sub, &i);

    if (!hit && name && g_str_has_suffix(name, "_nnodes")) {
        /* A gtree's node count: the first of its two slots. */
        g_autofree char *base = g_strndup(name, strlen(name) - strlen("_nnodes"));

        hit = find_member(type, base, NULL, &i);
        if (hit && hit->kind == VS_FIELD_GTREE) {
            for (uint32_t k = 0; k < i; k++) {
                slot += member_slots(&type->fields[k]);
            }
            return slot;
        }
        hit = NULL;
    }
    for (uint32_t k = 0; type && type->fields && k < type->n_fields; k++) {
        if (hit && k == i) {
            return slot + (hit->kind == VS_FIELD_GTREE ? 1 : 0);
        }
        slot += member_slots(&type->fields[k]);
    }
    return slot + parent->unmatched++;
}

/*
 * The slot number of a visit of @name (or of subsection @sub): the members
 * from the cursor on are tried first (names are unique within a type, so
 * the first match is the same as the whole search's).
 */
static uint32_t G_GNUC_NO_INLINE field_number_scan(SaveFrame *parent, const char *name,
                                                   const VsTypeInfo *sub)
{
    const VsTypeInfo *type = parent->type;
    uint32_t slot = parent->cursor_slot;

    if (type && type->fields) {
        for (uint32_t i = parent->cursor; i < type->n_fields; i++) {
            const VsFieldInfo *fi = &type->fields[i];

            if (member_is(fi, name, sub)) {
                parent->cursor = i + 1;
                parent->cursor_slot = slot + member_slots(fi);
                return slot + (fi->kind == VS_FIELD_GTREE ? 1 : 0);
            }
            slot += member_slots(fi);
        }
    }
    return field_number_search(parent, name, sub);
}

/*
 * The usual case inline: a generated walker visits the member at the
 * cursor with the very name pointer its description holds, and a plain
 * member takes one slot.  *@ret_fi is then that member (whose name length
 * the description holds), else NULL.
 */
static inline uint32_t field_number(SaveFrame *parent, const char *name, const VsTypeInfo *sub,
                                    const VsFieldInfo **ret_fi)
{
    const VsTypeInfo *type = parent->type;

    *ret_fi = NULL;
    if (!sub && type && parent->cursor < type->n_fields && type->fields) {
        const VsFieldInfo *fi = &type->fields[parent->cursor];

        /* Not a subsection, gtree (two slots) or validate or local member (none). */
        if (fi->name == name && !((1u << fi->kind) & ((1u << VS_FIELD_SUBSECTION) |
                                                      (1u << VS_FIELD_GTREE) |
                                                      (1u << VS_FIELD_VALIDATE))) &&
            !(fi->flags & VS_FIELD_F_LOCAL)) {
            parent->cursor++;
            *ret_fi = fi;
            return parent->cursor_slot++;
        }
    }
    /* No description (a hand-written walker): every member is one past the last. */
    if (!type || !type->fields || !type->n_fields) {
        return parent->unmatched++;
    }
    return field_number_scan(parent, name, sub);
}

/* The length of a member's @name: from its description @fi when there is one. */
static inline size_t member_name_len(const VsFieldInfo *fi, const char *name)
{
    if (fi && fi->name_len) {
        return fi->name_len;
    }
    return name ? strlen(name) : 0;
}

/*
 * "struct T" or "pointer to struct T" in @buf, cut to @size - 1 bytes as
 * snprintf() would (which costs more than the walk of a small struct).
 */
static const char *struct_type_name(char *buf, size_t size, bool pointer, const char *name)
{
    const char *parts[] = { pointer ? "pointer to struct " : "struct ", name ? name : "(null)" };
    size_t len = 0;

    for (unsigned i = 0; i < G_N_ELEMENTS(parts); i++) {
        size_t n = MIN(strlen(parts[i]), size - 1 - len);

        memcpy(buf + len, parts[i], n);
        len += n;
    }
    buf[len] = '\0';
    return buf;
}

/* The element type a schema member declares, for an array with no elements. */
static const char *member_elem_type(const VsFieldInfo *fi, char *buf, size_t size)
{
    static const char *const uints[] = { "uint8", "uint16", NULL, "uint32",
                                         NULL, NULL, NULL, "uint64" };
    static const char *const ints[] = { "int8", "int16", NULL, "int32",
                                        NULL, NULL, NULL, "int64" };

    if (!fi) {
        return NULL;
    }
    switch (fi->kind) {
    case VS_FIELD_UINT:
        return fi->width >= 1 && fi->width <= 8 ? uints[fi->width - 1] : NULL;
    case VS_FIELD_INT:
        return fi->width >= 1 && fi->width <= 8 ? ints[fi->width - 1] : NULL;
    case VS_FIELD_BOOL:
        return "bool";
    case VS_FIELD_F64:
        return "float64";
    case VS_FIELD_STRUCT:
    case VS_FIELD_QTAILQ:
    case VS_FIELD_QLIST:
        if (!fi->type) {
            return NULL;
        }
        return struct_type_name(buf, size, (fi->flags & VS_FIELD_F_PTR_ARRAY) != 0,
                                fi->type->name);
    default:
        return NULL;
    }
}

/*
 * The header in the usual case: no NULL markers precede it, so it is
 * appended where the elements begin.  Nothing is moved.
 */
static void append_elem_header(BerSave *s, SaveFrame *f, const char *elem_type, size_t type_len)
{
    uint8_t *p = out_room(s, VS_BER_MAX_HEADER + type_len + 2 * (2 + 9));
    uint8_t *start = p;
    size_t n;

    p = put_header(p, ID_UNIVERSAL, VS_BER_TAG_VISIBLESTRING, type_len);
    copy_short(p, elem_type, type_len);
    p += type_len;
    if (f->kind == SAVE_ARRAY) {
        n = vs_ber_integer_octets(f->count, false, p + 2);
        p[0] = VS_BER_TAG_INTEGER;
        p[1] = (uint8_t)n;
        p += 2 + n;
    }
    n = vs_ber_integer_octets(f->elem_size, false, p + 2);
    p[0] = VS_BER_TAG_INTEGER;
    p[1] = (uint8_t)n;
    p += 2 + n;
    s->len += (size_t)(p - start);
    f->header_done = true;
}

/*
 * Writes an array's or list's header at its place, in front of any NULL
 * markers.  @type_len is strlen(@elem_type).
 */
static void put_elem_header(BerSave *s, SaveFrame *f, const char *elem_type, size_t type_len)
{
    g_autofree char *full = NULL;
    uint8_t ints[2][9];
    /* Right after the value's SEQUENCE, opened with one tag and one length octet. */
    size_t header_at = f->opens[f->n_opens - 1] + 2;
    size_t n_ints[2], hdr_len, tail = s->len - header_at;
    unsigned k = 0;
    uint8_t *p;

    if (f->saw_pointer && strncmp(elem_type, "pointer", 7) != 0) {
        elem_type = full = g_strdup_printf("pointer to %s", elem_type);
        type_len = strlen(elem_type);
    }
    if (G_LIKELY(!tail)) {
        append_elem_header(s, f, elem_type, type_len);
        return;
    }
    if (f->kind == SAVE_ARRAY) {
        n_ints[k] = vs_ber_integer_octets(f->count, false, ints[k]);
        k++;
    }
    n_ints[k] = vs_ber_integer_octets(f->elem_size, false, ints[k]);
    k++;
    hdr_len = vs_ber_header_size(VS_BER_TAG_VISIBLESTRING, type_len) + type_len;
    for (unsigned i = 0; i < k; i++) {
        hdr_len += 2 + n_ints[i];
    }
    p = out_room(s, hdr_len);
    if (tail) {
        memmove(s->out + header_at + hdr_len, s->out + header_at, tail);
    }
    p = put_header(s->out + header_at, ID_UNIVERSAL, VS_BER_TAG_VISIBLESTRING, type_len);
    memcpy(p, elem_type, type_len);
    p += type_len;
    for (unsigned i = 0; i < k; i++) {
        p = put_header(p, ID_UNIVERSAL, VS_BER_TAG_INTEGER, n_ints[i]);
        memcpy(p, ints[i], n_ints[i]);
        p += n_ints[i];
    }
    s->len += hdr_len;
    f->header_done = true;
}

static void finish_elem_header(BerSave *s, SaveFrame *f)
{
    const SaveFrame *parent = f > s->frames ? f - 1 : NULL;
    const VsFieldInfo *fi = NULL;
    const char *declared;
    char buf[300];
    uint32_t i = 0;

    if (f->header_done) {
        return;
    }
    if (parent && f->name &&
        (parent->kind == SAVE_STRUCT || parent->kind == SAVE_SUBSECTION)) {
        fi = find_member(parent->type, f->name, NULL, &i);
    }
    declared = member_elem_type(fi, buf, sizeof(buf));
    if (!declared) {
        declared = f->saw_pointer ? "pointer" : "unknown";
    }
    put_elem_header(s, f, declared, strlen(declared));
}

/* ---- must-understand -------------------------------------------------- */

/* Whether the writer marked the part being visited (the core's top frame). */
static bool marked(BerSave *s)
{
    const char *path;

    if (G_LIKELY(!s->marks)) {
        return false;
    }
    path = vs_visitor_path(&s->base);
    for (guint i = 0; i < s->marks->len; i++) {
        if (strcmp(path, s->marks->pdata[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* ---- items ------------------------------------------------------------ */

/* The struct or subsection frame holding a field, or NULL (root, element). */
static SaveFrame *field_parent(BerSave *s)
{
    SaveFrame *parent = save_top(s);

    if (!parent || parent->kind == SAVE_ARRAY || parent->kind == SAVE_LIST) {
        return NULL;
    }
    return parent;
}

/* Inside an array or list whose header waits for its element type: write it. */
static void element_begins(BerSave *s, const char *elem_type)
{
    SaveFrame *parent = save_top(s);

    if (parent && (parent->kind == SAVE_ARRAY || parent->kind == SAVE_LIST) &&
        !parent->header_done && elem_type) {
        put_elem_header(s, parent, elem_type, strlen(elem_type));
    }
}

/*
 * A leaf: a primitive of universal @utag with @len content octets, wrapped
 * in [@context_tag] when it is >= 0; inside a struct or subsection, in its
 * field item [i] SEQUENCE { name, value }.  Every length is known, so it is
 * written front to back.
 */
static bool put_item(BerSave *s, SaveFrame *parent, uint32_t number, const char *name,
                     size_t name_len, const char *elem_type, int context_tag, uint32_t utag,
                     const void *data, size_t len)
{
    size_t value_len = vs_ber_header_size(utag, len) + len;
    size_t wrapped = context_tag >= 0 ? vs_ber_header_size((uint32_t)context_tag, value_len) +
                                        value_len
                                      : value_len;
    size_t total = wrapped, seq_len = 0;
    bool mark = false;
    uint8_t *p, *start;

    if (parent) {
        mark = marked(s);
        if (G_LIKELY(name && number < 31 && name_len + wrapped + 3 < 124)) {
            /* Every length short: [i] L 30 L 0c n name value [marker]. */
            seq_len = 2 + name_len + wrapped + (mark ? sizeof(must_understand_marker) : 0);
            start = p = out_room(s, seq_len + 4);
            p[0] = (uint8_t)(ID_CONTEXT_C | number);
            p[1] = (uint8_t)(seq_len + 2);
            p[2] = ID_UNIVERSAL_C | VS_BER_TAG_SEQUENCE;
            p[3] = (uint8_t)seq_len;
            p[4] = VS_BER_TAG_UTF8STRING;
            p[5] = (uint8_t)name_len;
            copy_short(p + 6, name, name_len);
            p += 6 + name_len;
            if (context_tag >= 0) {
                *p++ = (uint8_t)(ID_CONTEXT_C | context_tag);
                *p++ = (uint8_t)value_len;
            }
            p = put_header(p, ID_UNIVERSAL, utag, len);
            if (len) {
                memcpy(p, data, len);
                p += len;
            }
            if (mark) {
                memcpy(p, must_understand_marker, sizeof(must_understand_marker));
                p += sizeof(must_understand_marker);
            }
            s->len += (size_t)(p - start);
            return true;
        }
        seq_len = (name ? vs_ber_header_size(VS_BER_TAG_UTF8STRING, name_len) + name_len : 0) +
                  wrapped + (mark ? sizeof(must_understand_marker) : 0);
        total = vs_ber_header_size(number, vs_ber_header_size(VS_BER_TAG_SEQUENCE, seq_len) +
                                               seq_len) +
                vs_ber_header_size(VS_BER_TAG_SEQUENCE, seq_len) + seq_len;
    } else {
        element_begins(s, elem_type);
    }
    start = p = out_room(s, total);
    if (parent) {
        p = put_header(p, ID_CONTEXT_C, number,
                       vs_ber_header_size(VS_BER_TAG_SEQUENCE, seq_len) + seq_len);
        p = put_header(p, ID_UNIVERSAL_C, VS_BER_TAG_SEQUENCE, seq_len);
        if (name) {
            p = put_header(p, ID_UNIVERSAL, VS_BER_TAG_UTF8STRING, name_len);
            memcpy(p, name, name_len);
            p += name_len;
        }
    }
    if (context_tag >= 0) {
        p = put_header(p, ID_CONTEXT_C, (uint32_t)context_tag, value_len);
    }
    p = put_header(p, ID_UNIVERSAL, utag, len);
    if (len) {
        memcpy(p, data, len);
        p += len;
    }
    if (mark) {
        memcpy(p, must_understand_marker, sizeof(must_understand_marker));
        p += sizeof(must_understand_marker);
    }
    g_assert((size_t)(p - start) == total);
    s->len += total;
    return true;
}

/* A leaf visited by @name: its field number first when it is a struct's member. */
static bool put_leaf(VsVisitor *v, const char *name, const char *elem_type, int context_tag,
                     uint32_t utag, const void *data, size_t len)
{
    BerSave *s = to_save(v);
    SaveFrame *parent = field_parent(s);
    const VsFieldInfo *fi = NULL;
    uint32_t number = parent ? field_number(parent, name, NULL, &fi) : 0;

    return put_item(s, parent, number, name, parent ? member_name_len(fi, name) : 0, elem_type,
                    context_tag, utag, data, len);
}

/* Pushes a save frame (the inline array first, then the heap). */
static inline SaveFrame *push_frame(BerSave *s, SaveKind kind)
{
    SaveFrame *f;

    if (G_UNLIKELY(s->depth == s->frames_cap)) {
        uint32_t cap = s->frames_cap * 2;

        if (s->frames == s->inline_frames) {
            s->frames = g_new(SaveFrame, cap);
            memcpy(s->frames, s->inline_frames, sizeof(s->inline_frames));
        } else {
            s->frames = g_renew(SaveFrame, s->frames, cap);
        }
        s->frames_cap = cap;
    }
    f = s->top = &s->frames[s->depth++];
    memset(f, 0, sizeof(*f));
    f->kind = (uint8_t)kind;
    return f;
}

/*
 * Opens a field item holding a container: [@number] SEQUENCE { name, and
 * the value's [@tag] SEQUENCE.  Stores the four starts in @opens; returns 4.
 */
static unsigned open_field_item(BerSave *s, uint32_t number, const char *name, size_t name_len,
                                uint32_t tag, size_t opens[MAX_OPENS])
{
    unsigned n = 0;

    if (G_LIKELY(name && number < 31 && name_len < 128 && tag < 31)) {
        /* Every tag and length short: [i] 00 30 00 0c n name [tag] 00 30 00, in one go. */
        uint8_t *p = out_room(s, 10 + name_len);

        opens[0] = s->len;
        opens[1] = s->len + 2;
        opens[2] = s->len + 6 + name_len;
        opens[3] = s->len + 8 + name_len;
        p[0] = (uint8_t)(ID_CONTEXT_C | number);
        p[1] = 0;
        p[2] = ID_UNIVERSAL_C | VS_BER_TAG_SEQUENCE;
        p[3] = 0;
        p[4] = VS_BER_TAG_UTF8STRING;
        p[5] = (uint8_t)name_len;
        copy_short(p + 6, name, name_len);
        p += 6 + name_len;
        p[0] = (uint8_t)(ID_CONTEXT_C | tag);
        p[1] = 0;
        p[2] = ID_UNIVERSAL_C | VS_BER_TAG_SEQUENCE;
        p[3] = 0;
        s->len += 10 + name_len;
        return 4;
    }
    opens[n++] = out_open(s, number, ID_CONTEXT_C);
    opens[n++] = out_open(s, VS_BER_TAG_SEQUENCE, ID_UNIVERSAL_C);
    if (name) {
        out_string(s, VS_BER_TAG_UTF8STRING, name);
    }
    opens[n++] = out_open(s, tag, ID_CONTEXT_C);
    opens[n++] = out_open(s, VS_BER_TAG_SEQUENCE, ID_UNIVERSAL_C);
    return n;
}

/*
 * Opens the item (a field [i] SEQUENCE { name, ... } inside a struct or
 * subsection; nothing at the root or for an element) and the value's [@tag]
 * SEQUENCE, and pushes a frame for them.
 */
static SaveFrame *push_container(VsVisitor *v, const char *name, SaveKind kind, uint32_t tag,
                                 const VsTypeInfo *sub, const char *elem_type)
{
    BerSave *s = to_save(v);
    SaveFrame *parent = field_parent(s);
    SaveFrame *f;

    if (parent) {
        /* Numbered before the push, which may move the frames. */
        const VsFieldInfo *fi;
        uint32_t number = field_number(parent, name, sub, &fi);
        bool mark = G_UNLIKELY(s->marks != NULL) && marked(s);

        f = push_frame(s, kind);
        f->n_opens = (uint8_t)open_field_item(s, number, name, member_name_len(fi, name), tag,
                                              f->opens);
        f->must_understand = mark;
    } else {
        uint8_t *p;

        element_begins(s, elem_type);
        f = push_frame(s, kind);
        /* The value's [tag] and SEQUENCE (every tag is short): a0|tag 00 30 00. */
        p = out_room(s, 4);
        f->opens[0] = s->len;
        f->opens[1] = s->len + 2;
        p[0] = (uint8_t)(ID_CONTEXT_C | tag);
        p[1] = 0;
        p[2] = ID_UNIVERSAL_C | VS_BER_TAG_SEQUENCE;
        p[3] = 0;
        s->len += 4;
        f->n_opens = 2;
    }
    return f;
}

static void pop_container(VsVisitor *v)
{
    BerSave *s = to_save(v);
    SaveFrame *f = save_top(s);
    unsigned n;

    g_assert(f != NULL);
    if ((f->kind == SAVE_ARRAY || f->kind == SAVE_LIST) && !f->header_done) {
        finish_elem_header(s, f);
    }
    n = f->n_opens;
    /* The value's [tag] and SEQUENCE, then the item's marker, SEQUENCE and [i]. */
    out_close(s, f->opens[--n]);
    out_close(s, f->opens[--n]);
    if (n && f->must_understand) {
        memcpy(out_room(s, sizeof(must_understand_marker)), must_understand_marker,
               sizeof(must_understand_marker));
        s->len += sizeof(must_understand_marker);
    }
    while (n > 0) {
        out_close(s, f->opens[--n]);
    }
    s->depth--;
    s->top = s->depth ? &s->frames[s->depth - 1] : NULL;
}

/* ---- ops -------------------------------------------------------------- */

/*
 * Writes a struct's or subsection's header: type name, wire name, version,
 * as three primitives appended in one go.
 */
static void put_struct_header(BerSave *s, const VsTypeInfo *type, const char *wire_name,
                              uint32_t version)
{
    size_t type_len = known_strlen(type->name, type->name, type->name_len);
    size_t wire_len = known_strlen(wire_name, type->wire_name, type->wire_name_len);
    uint8_t *p = out_room(s, 3 * VS_BER_MAX_HEADER + type_len + wire_len + 9);
    uint8_t *start = p;
    size_t ver_len;

    p = put_header(p, ID_UNIVERSAL, VS_BER_TAG_UTF8STRING, type_len);
    copy_short(p, type->name, type_len);
    p += type_len;
    p = put_header(p, ID_UNIVERSAL, VS_BER_TAG_UTF8STRING, wire_len);
    copy_short(p, wire_name, wire_len);
    p += wire_len;
    ver_len = vs_ber_integer_octets(version, false, p + 2);
    p[0] = VS_BER_TAG_INTEGER;
    p[1] = (uint8_t)ver_len;
    p += 2 + ver_len;
    s->len += (size_t)(p - start);
}

/* "struct T", the element type of an array of structs (only needed for the first). */
static const char *struct_elem_type(BerSave *s, const VsTypeInfo *type, char *buf, size_t size)
{
    SaveFrame *parent = save_top(s);

    if (!parent || (parent->kind != SAVE_ARRAY && parent->kind != SAVE_LIST) ||
        parent->header_done) {
        return NULL;
    }
    return struct_type_name(buf, size, false, type->name);
}

static bool ber_save_start_struct(VsVisitor *v, const char *name, const VsTypeInfo *type,
                                  uint32_t *version, GError **errp)
{
    BerSave *s = to_save(v);
    char buf[300];
    SaveFrame *f = push_container(v, name, SAVE_STRUCT, 12, NULL,
                                  struct_elem_type(s, type, buf, sizeof(buf)));

    f->type = type;
    put_struct_header(s, type, type->wire_name, *version);
    return true;
}

static bool ber_save_start_subsection(VsVisitor *v, const char *name, const VsTypeInfo *type,
                                      uint32_t *version, bool *present, GError **errp)
{
    SaveFrame *f;

    if (!*present) {
        return true;
    }
    f = push_container(v, name, SAVE_SUBSECTION, 15, type, NULL);
    f->type = type;
    put_struct_header(to_save(v), type, name, *version);
    return true;
}

static bool ber_save_start_array(VsVisitor *v, const char *name, uint32_t *count,
                                 uint32_t max, size_t elem_size, GError **errp)
{
    SaveFrame *f = push_container(v, name, SAVE_ARRAY, 13, NULL, "array");

    f->name = name;
    f->count = *count;
    f->elem_size = elem_size;
    return true;
}

static bool ber_save_start_list(VsVisitor *v, const char *name, uint32_t max,
                                size_t elem_size, GError **errp)
{
    SaveFrame *f = push_container(v, name, SAVE_LIST, 14, NULL, "list");

    f->name = name;
    f->elem_size = elem_size;
    return true;
}

/* The markers are implied: the list's elements follow one another. */
static bool ber_save_list_next(VsVisitor *v, bool *more, GError **errp)
{
    return true;
}

/* Type names, their lengths and context tags by width in bytes (1, 2, 4, 8). */
static const char *const uint_names[] = { NULL, "uint8", "uint16", NULL, "uint32",
                                          NULL, NULL, NULL, "uint64" };
static const char *const int_names[] = { NULL, "int8", "int16", NULL, "int32",
                                         NULL, NULL, NULL, "int64" };
static const uint8_t uint_name_len[] = { 0, 5, 6, 0, 6, 0, 0, 0, 6 };
static const uint8_t int_name_len[] = { 0, 4, 5, 0, 5, 0, 0, 0, 5 };
static const uint8_t width_tag[] = { 0, 1, 2, 0, 3, 0, 0, 0, 4 };

/*
 * The header of an array or list of integers, from its first element:
 * `1a n uintN 02 01 count 02 01 size` in one go when nothing precedes it
 * and both numbers take one octet, else put_elem_header().
 */
static G_GNUC_NO_INLINE void put_int_elem_header(BerSave *s, SaveFrame *f, unsigned width,
                                                 bool is_signed)
{
    const char *type = is_signed ? int_names[width] : uint_names[width];
    size_t type_len = is_signed ? int_name_len[width] : uint_name_len[width];
    uint8_t *p;

    if (G_UNLIKELY(f->opens[f->n_opens - 1] + 2 != s->len || f->saw_pointer ||
                   f->count >= 0x80 || f->elem_size >= 0x80)) {
        put_elem_header(s, f, type, type_len);
        return;
    }
    p = out_room(s, 2 + 6 + 6);
    p[0] = VS_BER_TAG_VISIBLESTRING;
    p[1] = (uint8_t)type_len;
    copy_short(p + 2, type, type_len);
    p += 2 + type_len;
    if (f->kind == SAVE_ARRAY) {
        p[0] = VS_BER_TAG_INTEGER;
        p[1] = 1;
        p[2] = (uint8_t)f->count;
        p += 3;
        s->len += 3;
    }
    p[0] = VS_BER_TAG_INTEGER;
    p[1] = 1;
    p[2] = (uint8_t)f->elem_size;
    s->len += 2 + type_len + 3;
    f->header_done = true;
}

/*
 * An integer element of an array or list: `[k] 02 len v`, appended
 * directly (the common case of integer arrays), after the header when it
 * is the first.
 */
G_ALWAYS_INLINE static inline void put_int_element(BerSave *s, SaveFrame *f, unsigned width,
                                                   bool is_signed, uint64_t bits)
{
    uint32_t tag = width_tag[width] + (is_signed ? 4u : 0u);
    uint8_t *p;
    size_t n;

    if (G_UNLIKELY(!f->header_done)) {
        /* The element type the first element shows, as element_begins() would write it. */
        put_int_elem_header(s, f, width, is_signed);
    }
    p = out_room(s, 4 + 9);
    /* One content octet: 0..127, and -128..-1 when signed (most elements). */
    if (bits < 0x80 || (is_signed && bits >= (uint64_t)-0x80)) {
        p[0] = (uint8_t)(ID_CONTEXT_C | tag);
        p[1] = 3;
        p[2] = VS_BER_TAG_INTEGER;
        p[3] = 1;
        p[4] = (uint8_t)bits;
        s->len += 5;
        return;
    }
    n = vs_ber_integer_octets(bits, is_signed, p + 4);

    p[0] = (uint8_t)(ID_CONTEXT_C | tag);
    p[1] = (uint8_t)(n + 2);
    p[2] = VS_BER_TAG_INTEGER;
    p[3] = (uint8_t)n;
    s->len += 4 + n;
}

/*
 * An integer member of a struct, the most common item:
 * `[i] L 30 L 0c n name [k] L 02 n value`, with the integer's octets
 * written straight into the output; put_item() when a tag or a length is
 * long.
 */
G_ALWAYS_INLINE static inline void put_int_field(BerSave *s, SaveFrame *parent, const char *name,
                                                 unsigned width, bool is_signed, uint64_t bits)
{
    uint32_t tag = width_tag[width] + (is_signed ? 4u : 0u);
    const VsFieldInfo *fi;
    uint32_t number = field_number(parent, name, NULL, &fi);
    size_t name_len = member_name_len(fi, name), n, seq_len;
    uint8_t *p, *q;

    if (G_UNLIKELY(number >= 31 || name_len >= 100)) {
        uint8_t content[9];

        put_item(s, parent, number, name, name_len, NULL, (int)tag, VS_BER_TAG_INTEGER, content,
                 vs_ber_integer_octets(bits, is_signed, content));
        return;
    }
    p = out_room(s, 6 + name_len + 4 + 9);
    p[0] = (uint8_t)(ID_CONTEXT_C | number);
    p[2] = ID_UNIVERSAL_C | VS_BER_TAG_SEQUENCE;
    p[4] = VS_BER_TAG_UTF8STRING;
    p[5] = (uint8_t)name_len;
    copy_short(p + 6, name, name_len);
    q = p + 6 + name_len;
    if (bits < 0x80 || (is_signed && bits >= (uint64_t)-0x80)) {
        q[4] = (uint8_t)bits;
        n = 1;
    } else {
        n = vs_ber_integer_octets(bits, is_signed, q + 4);
    }
    q[0] = (uint8_t)(ID_CONTEXT_C | tag);
    q[1] = (uint8_t)(n + 2);
    q[2] = VS_BER_TAG_INTEGER;
    q[3] = (uint8_t)n;
    seq_len = 2 + name_len + 4 + n;
    p[1] = (uint8_t)(seq_len + 2);
    p[3] = (uint8_t)seq_len;
    s->len += seq_len + 4;
}

/* Any other integer: at the root, unnamed in a struct, or with items to mark. */
static G_GNUC_NO_INLINE bool put_int_leaf(VsVisitor *v, const char *name, unsigned width,
                                          bool is_signed, uint64_t bits)
{
    uint8_t content[9];
    size_t len = vs_ber_integer_octets(bits, is_signed, content);

    if (is_signed) {
        return put_leaf(v, name, int_names[width], width_tag[width] + 4, VS_BER_TAG_INTEGER,
                        content, len);
    }
    return put_leaf(v, name, uint_names[width], width_tag[width], VS_BER_TAG_INTEGER, content,
                    len);
}

/* An integer visit: an element, a struct's member, or put_int_leaf(). */
G_ALWAYS_INLINE static inline bool put_int(VsVisitor *v, const char *name, unsigned width,
                                           bool is_signed, uint64_t bits)
{
    BerSave *s = to_save(v);
    SaveFrame *parent = save_top(s);

    if (G_LIKELY(parent && !s->marks)) {
        if (parent->kind == SAVE_ARRAY || parent->kind == SAVE_LIST) {
            put_int_element(s, parent, width, is_signed, bits);
            return true;
        }
        if (name) {
            put_int_field(s, parent, name, width, is_signed, bits);
            return true;
        }
    }
    return put_int_leaf(v, name, width, is_signed, bits);
}

static bool ber_save_type_uint(VsVisitor *v, const char *name, uint64_t *val, unsigned width,
                               GError **errp)
{
    return put_int(v, name, width, false, *val);
}

static bool ber_save_type_int(VsVisitor *v, const char *name, int64_t *val, unsigned width,
                              GError **errp)
{
    return put_int(v, name, width, true, (uint64_t)*val);
}

static bool ber_save_type_bool(VsVisitor *v, const char *name, bool *val, GError **errp)
{
    uint8_t b = *val ? 0xff : 0x00;

    return put_leaf(v, name, "bool", -1, VS_BER_TAG_BOOLEAN, &b, 1);
}

static bool ber_save_type_f64(VsVisitor *v, const char *name, double *val, GError **errp)
{
    uint64_t bits;
    uint8_t be[8];

    memcpy(&bits, val, sizeof(bits));
    for (unsigned i = 0; i < 8; i++) {
        be[i] = (uint8_t)(bits >> (56 - 8 * i));
    }
    return put_leaf(v, name, "float64", 9, VS_BER_TAG_OCTET_STRING, be, sizeof(be));
}

static bool ber_save_buffer(VsVisitor *v, const char *name, uint8_t *buf, size_t len,
                            GError **errp)
{
    return put_leaf(v, name, "buffer", -1, VS_BER_TAG_OCTET_STRING, buf, len);
}

static bool ber_save_string(VsVisitor *v, const char *name, char **str, size_t max_len,
                            GError **errp)
{
    const char *text = *str ? *str : "";

    return put_leaf(v, name, "string", -1, VS_BER_TAG_VISIBLESTRING, text, strlen(text));
}

static bool ber_save_unused(VsVisitor *v, const char *name, size_t len, GError **errp)
{
    uint8_t content[9];

    return put_leaf(v, name, "unused", 10, VS_BER_TAG_INTEGER, content,
                    vs_ber_integer_octets(len, false, content));
}

/* A present pointer writes nothing: its pointee is the element. */
static bool ber_save_nullptr_marker(VsVisitor *v, const char *name, bool *is_null,
                                    GError **errp)
{
    SaveFrame *parent = save_top(to_save(v));

    if (parent && (parent->kind == SAVE_ARRAY || parent->kind == SAVE_LIST)) {
        parent->saw_pointer = true;
    }
    if (!*is_null) {
        return true;
    }
    /* No element type yet: the header waits for a pointee or the end. */
    return put_leaf(v, name, NULL, -1, VS_BER_TAG_NULL, NULL, 0);
}

static bool ber_save_opaque(VsVisitor *v, const char *name, uint8_t **data, size_t *len,
                            size_t max_len, GError **errp)
{
    return put_leaf(v, name, "opaque", 11, VS_BER_TAG_OCTET_STRING, *data, *len);
}

static void ber_save_destroy(VsVisitor *v)
{
    BerSave *s = to_save(v);

    if (s->out != s->inline_out) {
        g_free(s->out);
    }
    if (s->frames != s->inline_frames) {
        g_free(s->frames);
    }
    if (s->marks) {
        g_ptr_array_unref(s->marks);
    }
}

static const VsVisitorOps ber_save_ops = {
    .kind = VS_VISITOR_SAVE,
    .impl_name = "ber-save",
    .start_struct = ber_save_start_struct,
    .end_struct = pop_container,
    .start_array = ber_save_start_array,
    .end_array = pop_container,
    .start_subsection = ber_save_start_subsection,
    .end_subsection = pop_container,
    .start_list = ber_save_start_list,
    .list_next = ber_save_list_next,
    .end_list = pop_container,
    .type_uint = ber_save_type_uint,
    .type_int = ber_save_type_int,
    .type_bool = ber_save_type_bool,
    .type_f64 = ber_save_type_f64,
    .buffer = ber_save_buffer,
    .string = ber_save_string,
    .unused = ber_save_unused,
    .nullptr_marker = ber_save_nullptr_marker,
    .opaque = ber_save_opaque,
    .destroy = ber_save_destroy,
};

G_STATIC_ASSERT(sizeof(BerSave) <= sizeof(VsBerSaveStorage));

/* The inline frames and output are written before they are read: not zeroed. */
#define BER_SAVE_SCRATCH (sizeof(BerSave) - offsetof(BerSave, inline_frames))

static VsVisitor *ber_save_setup(BerSave *s)
{
    s->out = s->inline_out;
    s->cap = INLINE_OUT;
    s->frames = s->inline_frames;
    s->frames_cap = INLINE_FRAMES;
    return &s->base;
}

VsVisitor *vs_ber_save_visitor_new(TALLOC_CTX *mem_ctx)
{
    return ber_save_setup(vs_visitor_alloc_scratch(mem_ctx, &ber_save_ops, sizeof(BerSave),
                                                   BER_SAVE_SCRATCH, NULL));
}

VsVisitor *vs_ber_save_visitor_init(VsBerSaveStorage *storage)
{
    return ber_save_setup(vs_visitor_init_in_place(storage, &ber_save_ops, sizeof(BerSave),
                                                   BER_SAVE_SCRATCH, NULL));
}

void vs_ber_save_visitor_mark(VsVisitor *v, const char *path)
{
    BerSave *s;

    g_return_if_fail(v != NULL && v->ops == &ber_save_ops && path != NULL);
    s = to_save(v);
    if (!s->marks) {
        s->marks = g_ptr_array_new_with_free_func(g_free);
    }
    g_ptr_array_add(s->marks, g_strdup(path));
}

const uint8_t *vs_ber_save_visitor_data(VsVisitor *v, size_t *ret_len)
{
    BerSave *s;

    g_return_val_if_fail(v != NULL && v->ops == &ber_save_ops, NULL);
    s = to_save(v);
    *ret_len = s->len;
    return s->out;
}
