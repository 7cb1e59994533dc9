/*
 * ber-save.c: the BER SAVE visitor (see ber-visitor.h and
 * docs/ber-format.md).
 *
 * SPDX-License-Identifier: MIT
 *
 * Every part is written as it is visited.  Containers are opened with one
 * reserved length octet and closed (length patched in) when their walk
 * ends, so the output has minimal definite lengths.  An array or list
 * header names its element type, which the visitor learns from the first
 * element: the header is inserted in front of the elements once that is
 * known (only NULL markers, which hold no open container, can precede it).
 */
#include "visitor/ber/ber-tlv.h"
#include "visitor/ber/ber-visitor.h"
#include "visitor/visitor-impl.h"

#include <string.h>

/* Constructed TLVs one visited part may keep open: [i], SEQUENCE, [k], SEQUENCE. */
#define MAX_OPENS 4

typedef enum SaveKind {
    SAVE_STRUCT,
    SAVE_SUBSECTION,
    SAVE_ARRAY,
    SAVE_LIST,
} SaveKind;

typedef struct SaveFrame {
    SaveKind kind;
    size_t opens[MAX_OPENS];
    unsigned n_opens;
    /* structs and subsections */
    const VsTypeInfo *type;
    uint32_t unmatched;             /* members not found in type->fields so far */
    /* arrays and lists */
    const VsFieldInfo *field;       /* the array's member description, or NULL */
    size_t header_at;               /* where the header goes */
    bool header_done;
    bool saw_pointer;               /* an element was a pointer marker */
    uint32_t count;
    size_t elem_size;
} SaveFrame;

typedef struct BerSave {
    VsVisitor base;                 /* must stay first */
    GByteArray *out;
    GArray *frames;                 /* SaveFrame */
} BerSave;

G_STATIC_ASSERT(offsetof(BerSave, base) == 0);

static const VsVisitorOps ber_save_ops;

static BerSave *to_save(VsVisitor *v)
{
    return (BerSave *)v;
}

static SaveFrame *save_top(BerSave *s)
{
    return s->frames->len ? &g_array_index(s->frames, SaveFrame, s->frames->len - 1) : NULL;
}

static void put_string(GByteArray *out, uint32_t tag, const char *str)
{
    vs_ber_put_prim(out, VS_BER_UNIVERSAL, tag, str, str ? strlen(str) : 0);
}

/* ---- field numbers and element types ------------------------------- */

/* The member of @type that a visit of @name (or of subsection @sub) is. */
static const VsFieldInfo *find_member(const VsTypeInfo *type, const char *name,
                                      const VsTypeInfo *sub, uint32_t *ret_index)
{
    for (uint32_t i = 0; type && type->fields && i < type->n_fields; i++) {
        const VsFieldInfo *fi = &type->fields[i];
        bool match = sub ? fi->kind == VS_FIELD_SUBSECTION && fi->type &&
                               (fi->type == sub || g_strcmp0(fi->type->wire_name,
                                                             sub->wire_name) == 0)
                         : fi->kind != VS_FIELD_SUBSECTION && g_strcmp0(fi->name, name) == 0;

        if (match) {
            *ret_index = i;
            return fi;
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
 * The slot number of a visit of @name (or of subsection @sub): counted over
 * the type's described members; a member the description lacks (or every
 * member of an undescribed type) takes the next number after them.
 */
static uint32_t field_number(SaveFrame *parent, const char *name, const VsTypeInfo *sub)
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

/* The element type a schema member declares, for an array with no elements. */
static char *member_elem_type(const VsFieldInfo *fi)
{
    if (!fi) {
        return NULL;
    }
    switch (fi->kind) {
    case VS_FIELD_UINT:
        return g_strdup_printf("uint%u", fi->width * 8);
    case VS_FIELD_INT:
        return g_strdup_printf("int%u", fi->width * 8);
    case VS_FIELD_BOOL:
        return g_strdup("bool");
    case VS_FIELD_F64:
        return g_strdup("float64");
    case VS_FIELD_STRUCT:
    case VS_FIELD_QTAILQ:
    case VS_FIELD_QLIST:
        if (!fi->type) {
            return NULL;
        }
        return g_strdup_printf("%sstruct %s",
                               (fi->flags & VS_FIELD_F_PTR_ARRAY) ? "pointer to " : "",
                               fi->type->name);
    default:
        return NULL;
    }
}

/* Writes an array's or list's header at its place, in front of any NULL markers. */
static void put_elem_header(BerSave *s, SaveFrame *f, const char *elem_type)
{
    g_autoptr(GByteArray) hdr = g_byte_array_new();
    g_autofree char *full = NULL;
    size_t tail = s->out->len - f->header_at;

    if (f->saw_pointer && !g_str_has_prefix(elem_type, "pointer")) {
        elem_type = full = g_strdup_printf("pointer to %s", elem_type);
    }
    put_string(hdr, VS_BER_TAG_VISIBLESTRING, elem_type);
    if (f->kind == SAVE_ARRAY) {
        vs_ber_put_uint(hdr, f->count);
    }
    vs_ber_put_uint(hdr, f->elem_size);
    g_byte_array_set_size(s->out, s->out->len + hdr->len);
    memmove(s->out->data + f->header_at + hdr->len, s->out->data + f->header_at, tail);
    memcpy(s->out->data + f->header_at, hdr->data, hdr->len);
    f->header_done = true;
}

static void finish_elem_header(BerSave *s, SaveFrame *f)
{
    g_autofree char *declared = NULL;

    if (f->header_done) {
        return;
    }
    declared = member_elem_type(f->field);
    put_elem_header(s, f, declared ? declared : f->saw_pointer ? "pointer" : "unknown");
}

/* ---- items ------------------------------------------------------------ */

/*
 * Starts the item that holds one visited part: a field [i] SEQUENCE { name,
 * ... } inside a struct or subsection, nothing at the root or inside an array
 * or list (whose header is written once @elem_type is known).  The opened
 * TLVs are recorded in @opens.
 */
static void begin_item(BerSave *s, const char *name, const VsTypeInfo *sub,
                       const char *elem_type, size_t *opens, unsigned *n_opens)
{
    SaveFrame *parent = save_top(s);
    uint32_t number = 0;

    *n_opens = 0;
    if (parent && (parent->kind == SAVE_ARRAY || parent->kind == SAVE_LIST)) {
        if (!parent->header_done && elem_type) {
            put_elem_header(s, parent, elem_type);
        }
        return;
    }
    if (!parent) {
        return;     /* the root is its value alone */
    }
    number = field_number(parent, name, sub);
    opens[(*n_opens)++] = vs_ber_open(s->out, VS_BER_CONTEXT, number);
    opens[(*n_opens)++] = vs_ber_open(s->out, VS_BER_UNIVERSAL, VS_BER_TAG_SEQUENCE);
    if (name) {
        put_string(s->out, VS_BER_TAG_UTF8STRING, name);
    }
}

static void close_opens(BerSave *s, const size_t *opens, unsigned n_opens)
{
    while (n_opens-- > 0) {
        vs_ber_close(s->out, opens[n_opens]);
    }
}

/* A leaf: its item, @tag_kind [k] holding (or being) the primitive, then close. */
static bool put_leaf(VsVisitor *v, const char *name, const char *elem_type, int context_tag,
                     uint32_t tag, const void *data, size_t len)
{
    BerSave *s = to_save(v);
    size_t opens[MAX_OPENS];
    unsigned n;
    size_t wrap = 0;

    begin_item(s, vs_visitor_top(v)->name, NULL, elem_type, opens, &n);
    if (context_tag >= 0) {
        wrap = vs_ber_open(s->out, VS_BER_CONTEXT, (uint32_t)context_tag);
    }
    vs_ber_put_prim(s->out, VS_BER_UNIVERSAL, tag, data, len);
    if (context_tag >= 0) {
        vs_ber_close(s->out, wrap);
    }
    close_opens(s, opens, n);
    return true;
}

/* Opens the item and the value's [@tag] SEQUENCE, and pushes a frame for them. */
static SaveFrame *push_container(VsVisitor *v, SaveKind kind, uint32_t tag,
                                 const VsTypeInfo *sub, const char *elem_type)
{
    BerSave *s = to_save(v);
    SaveFrame f = { .kind = kind };

    begin_item(s, vs_visitor_top(v)->name, sub, elem_type, f.opens, &f.n_opens);
    f.opens[f.n_opens++] = vs_ber_open(s->out, VS_BER_CONTEXT, tag);
    f.opens[f.n_opens++] = vs_ber_open(s->out, VS_BER_UNIVERSAL, VS_BER_TAG_SEQUENCE);
    g_array_append_val(s->frames, f);
    return save_top(s);
}

static void pop_container(VsVisitor *v)
{
    BerSave *s = to_save(v);
    SaveFrame *f = save_top(s);

    g_assert(f != NULL);
    if (f->kind == SAVE_ARRAY || f->kind == SAVE_LIST) {
        finish_elem_header(s, f);
    }
    close_opens(s, f->opens, f->n_opens);
    g_array_set_size(s->frames, s->frames->len - 1);
}

/* ---- ops -------------------------------------------------------------- */

static bool ber_save_start_struct(VsVisitor *v, const char *name, const VsTypeInfo *type,
                                  uint32_t *version, GError **errp)
{
    g_autofree char *elem_type = g_strdup_printf("struct %s", type->name);
    SaveFrame *f = push_container(v, SAVE_STRUCT, 12, NULL, elem_type);
    GByteArray *out = to_save(v)->out;

    f->type = type;
    put_string(out, VS_BER_TAG_UTF8STRING, type->name);
    put_string(out, VS_BER_TAG_UTF8STRING, type->wire_name);
    vs_ber_put_uint(out, *version);
    return true;
}

static bool ber_save_start_subsection(VsVisitor *v, const char *name, const VsTypeInfo *type,
                                      uint32_t *version, bool *present, GError **errp)
{
    SaveFrame *f;

    if (!*present) {
        return true;
    }
    f = push_container(v, SAVE_SUBSECTION, 15, type, NULL);
    f->type = type;
    put_string(to_save(v)->out, VS_BER_TAG_UTF8STRING, type->name);
    put_string(to_save(v)->out, VS_BER_TAG_UTF8STRING, name);
    vs_ber_put_uint(to_save(v)->out, *version);
    return true;
}

/* The array's or list's member in the enclosing struct, for its element type. */
static const VsFieldInfo *container_member(BerSave *s, const char *name)
{
    SaveFrame *parent = save_top(s);
    uint32_t i = 0;

    if (!parent || !name || (parent->kind != SAVE_STRUCT && parent->kind != SAVE_SUBSECTION)) {
        return NULL;
    }
    return find_member(parent->type, name, NULL, &i);
}

static bool ber_save_start_array(VsVisitor *v, const char *name, uint32_t *count,
                                 uint32_t max, size_t elem_size, GError **errp)
{
    BerSave *s = to_save(v);
    const VsFieldInfo *fi = container_member(s, vs_visitor_top(v)->name);
    SaveFrame *f = push_container(v, SAVE_ARRAY, 13, NULL, "array");

    f->field = fi;
    f->header_at = s->out->len;
    f->count = *count;
    f->elem_size = elem_size;
    return true;
}

static bool ber_save_start_list(VsVisitor *v, const char *name, uint32_t max,
                                size_t elem_size, GError **errp)
{
    BerSave *s = to_save(v);
    const VsFieldInfo *fi = container_member(s, vs_visitor_top(v)->name);
    SaveFrame *f = push_container(v, SAVE_LIST, 14, NULL, "list");

    f->field = fi;
    f->header_at = s->out->len;
    f->elem_size = elem_size;
    return true;
}

/* The markers are implied: the list's elements follow one another. */
static bool ber_save_list_next(VsVisitor *v, bool *more, GError **errp)
{
    return true;
}

/* Type names by log2(width): the trace's "(uint16)" and the array element type. */
static const char *const uint_names[] = { "uint8", "uint16", "uint32", "uint64" };
static const char *const int_names[] = { "int8", "int16", "int32", "int64" };

static bool ber_save_type_uint(VsVisitor *v, const char *name, uint64_t *val, unsigned width,
                               GError **errp)
{
    unsigned log2w = (unsigned)g_bit_nth_lsf(width, -1);
    uint8_t content[9];
    size_t len = vs_ber_integer_content(*val, false, content);

    return put_leaf(v, name, uint_names[log2w], (int)log2w + 1, VS_BER_TAG_INTEGER, content,
                    len);
}

static bool ber_save_type_int(VsVisitor *v, const char *name, int64_t *val, unsigned width,
                              GError **errp)
{
    unsigned log2w = (unsigned)g_bit_nth_lsf(width, -1);
    uint8_t content[9];
    size_t len = vs_ber_integer_content((uint64_t)*val, true, content);

    return put_leaf(v, name, int_names[log2w], (int)log2w + 5, VS_BER_TAG_INTEGER, content,
                    len);
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
    g_autoptr(GByteArray) tmp = g_byte_array_new();
    VsBerTlv tlv;

    vs_ber_put_uint(tmp, len);
    if (!vs_ber_read_tlv(tmp->data, 0, tmp->len, 0, &tlv, NULL)) {
        g_assert_not_reached();
    }
    return put_leaf(v, name, "unused", 10, VS_BER_TAG_INTEGER, tmp->data + tlv.content,
                    tlv.len);
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

    g_byte_array_unref(s->out);
    g_array_unref(s->frames);
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

VsVisitor *vs_ber_save_visitor_new(TALLOC_CTX *mem_ctx)
{
    BerSave *s = vs_visitor_new(mem_ctx, &ber_save_ops, BerSave, NULL);

    s->out = g_byte_array_new();
    s->frames = g_array_new(FALSE, TRUE, sizeof(SaveFrame));
    return &s->base;
}

const uint8_t *vs_ber_save_visitor_data(VsVisitor *v, size_t *ret_len)
{
    static const uint8_t empty[1];
    BerSave *s;

    g_return_val_if_fail(v != NULL && v->ops == &ber_save_ops, NULL);
    s = to_save(v);
    *ret_len = s->out->len;
    return s->out->len ? s->out->data : empty;
}
