/*
 * vmdesc.c: a SAVE visitor that records a section's vmdesc entry (see
 * vmdesc.h).
 *
 * SPDX-License-Identifier: MIT
 *
 * The visitor keeps its own stack of frames (structs, subsections, arrays,
 * lists) next to the core's path.  A struct frame collects field records;
 * an array frame collects element records and turns them into field
 * records of its parent when it ends, because only then is it known
 * whether QEMU would have "compressed" the array.  JSON is built once, from
 * the finished root frame, so "[k]" suffixes (which depend on every field
 * of a struct) can be decided before any name is written.
 *
 * Sizes are counted here from the visits, with the legacy visitor's wire
 * forms (legacy-visitor.h), so the visitor also works outside a tee.
 */
#include "migration/vmdesc.h"
#include "visitor/visitor-impl.h"

#include <string.h>

typedef enum VdFrameKind {
    VD_STRUCT,     /* the root, a nested struct, a struct element */
    VD_SUBSECTION,
    VD_ARRAY,
    VD_LIST,
} VdFrameKind;

typedef struct VdFrame VdFrame;

typedef enum VdKey {
    VD_KEY_NONE,
    VD_KEY_ARRAY_LEN,
    VD_KEY_INDEX,
} VdKey;

/* One entry of a "fields" list, before its name is final. */
typedef struct VdField {
    const char *name;          /* as visited */
    uint32_t origin;           /* entries of one visited field share it */
    int suffix;                /* k of "name[k]", or -1 */
    VdKey key;
    uint32_t key_value;
    const char *type;
    const VdFrame *struct_desc; /* written as "struct": {...} */
    const VdFrame **inline_descs; /* members written into the field itself */
    size_t n_inline;
    uint64_t size;
} VdField;

/* One element of an array, before the array decides its entries. */
typedef struct VdElem {
    const char *type;          /* NULL for a NULL pointer until resolved */
    const VdFrame *struct_desc; /* struct elements */
    bool is_null;
    uint64_t size;
    bool sent_sub;             /* a subsection was sent inside it */
} VdElem;

struct VdFrame {
    VdFrameKind kind;
    const char *name;          /* field name in the parent; NULL for elements */
    const VsTypeInfo *type;    /* structs and subsections */
    uint32_t version;
    uint64_t size;             /* wire bytes so far */
    bool sent_sub;             /* a subsection was sent in it, at any depth */
    bool empty;                /* a NULL element's "{}" */
    /* structs and subsections */
    VdField *fields;
    size_t n_fields;
    const VdFrame **subs;
    size_t n_subs;
    size_t cursor;             /* next entry of type->fields to match */
    bool described;            /* type->fields was matched by name */
    uint32_t next_origin;
    /* nested structs, arrays and lists: their entry in the parent struct */
    VdField proto;             /* name, numbering; not yet typed or sized */
    bool has_proto;
    const VsFieldInfo *info;   /* the field's descriptor, or NULL */
    size_t elem_size;
    VdElem *elems;
    size_t n_elems;
    bool flatten;              /* an array inside an array: elements go up */
    const VdFrame **items;     /* lists: the elements' frames */
    size_t n_items;
};

typedef struct VmdescVisitor {
    VsVisitor base;            /* must stay first */
    char *idstr;
    uint32_t instance_id;
    VdFrame **stack;
    size_t depth;
    size_t stack_alloc;
    VdFrame *root;             /* the finished root struct */
    uint64_t opaque_size;      /* a root opaque payload's length */
    bool opaque_root;
    VsJson *entry;             /* built by complete */
} VmdescVisitor;

G_STATIC_ASSERT(offsetof(VmdescVisitor, base) == 0);

static VmdescVisitor *to_vd(VsVisitor *v)
{
    return (VmdescVisitor *)v;
}

/* ---- growing talloc arrays ------------------------------------------- */

/* Appends a zeroed field record to struct frame @f. */
static VdField *vd_new_field(VdFrame *f)
{
    f->fields = talloc_realloc(f, f->fields, VdField, f->n_fields + 1);
    g_assert(f->fields != NULL);
    memset(&f->fields[f->n_fields], 0, sizeof(VdField));
    return &f->fields[f->n_fields++];
}

/* Appends a zeroed element record to array frame @f. */
static VdElem *vd_new_elem(VdFrame *f)
{
    f->elems = talloc_realloc(f, f->elems, VdElem, f->n_elems + 1);
    g_assert(f->elems != NULL);
    memset(&f->elems[f->n_elems], 0, sizeof(VdElem));
    return &f->elems[f->n_elems++];
}

/* Appends @item to the frame list *@arr of *@n entries, a talloc child of @ctx. */
static void vd_append_frame(TALLOC_CTX *ctx, const VdFrame ***arr, size_t *n,
                            const VdFrame *item)
{
    *arr = talloc_realloc(ctx, *arr, const VdFrame *, *n + 1);
    g_assert(*arr != NULL);
    (*arr)[(*n)++] = item;
}

/* ---- the frame stack -------------------------------------------------- */

static VdFrame *vd_top(VmdescVisitor *vd)
{
    return vd->depth ? vd->stack[vd->depth - 1] : NULL;
}

static VdFrame *vd_push(VmdescVisitor *vd, VdFrameKind kind, const char *name)
{
    VdFrame *f = talloc_zero(vd, VdFrame);

    g_assert(f != NULL);
    f->kind = kind;
    f->name = name ? talloc_strdup(f, name) : NULL;
    if (vd->depth == vd->stack_alloc) {
        vd->stack_alloc = vd->stack_alloc ? vd->stack_alloc * 2 : 8;
        vd->stack = talloc_realloc(vd, vd->stack, VdFrame *, vd->stack_alloc);
        g_assert(vd->stack != NULL);
    }
    vd->stack[vd->depth++] = f;
    return f;
}

static VdFrame *vd_pop(VmdescVisitor *vd)
{
    g_assert(vd->depth > 0);
    return vd->stack[--vd->depth];
}

static bool vd_is_struct(const VdFrame *f)
{
    return f && (f->kind == VD_STRUCT || f->kind == VD_SUBSECTION);
}

/* ---- descriptors -------------------------------------------------------- */

/* Whether QEMU's vmsd would list this entry (C-only members are not in it). */
static bool vd_info_listed(const VsFieldInfo *fi)
{
    return !(fi->flags & VS_FIELD_F_LOCAL) && fi->kind != VS_FIELD_SUBSECTION;
}

/* What a visit says of a field, to tell same-named table entries apart. */
typedef struct VdHint {
    VsFieldKind kind;          /* VS_FIELD__MAX: a container, anything fits */
    unsigned width;            /* integers */
} VdHint;

static const VdHint vd_any = { VS_FIELD__MAX, 0 };

/* Whether table entry @fi can be the field visited as @hint. */
static bool vd_info_fits(const VsFieldInfo *fi, VdHint hint)
{
    if (hint.kind == VS_FIELD__MAX || fi->kind == VS_FIELD_CODEC) {
        return true;
    }
    if (fi->kind == VS_FIELD_TIMER) {
        return hint.kind == VS_FIELD_INT && hint.width == 8;
    }
    return fi->kind == hint.kind && (!hint.width || fi->width == hint.width);
}

/* The first listed entry at or after @from named @name that fits, or SIZE_MAX. */
static size_t vd_find_info(const VdFrame *f, size_t from, const char *name, VdHint hint)
{
    const VsTypeInfo *t = f->type;

    for (size_t i = from; i < t->n_fields; i++) {
        const VsFieldInfo *fi = &t->fields[i];

        if (vd_info_listed(fi) && strcmp(fi->name, name) == 0 && fi->since <= f->version &&
            vd_info_fits(fi, hint)) {
            return i;
        }
    }
    return SIZE_MAX;
}

/*
 * The descriptor of the next field named @name in @f's type table, and
 * QEMU's "[k]" for it: QEMU numbers a name only when the vmsd lists more
 * than one field with it, and counts every listed field, also those this
 * version did not send (fw_cfg's two "cur_offset" give "cur_offset[1]").
 * Same-named entries the walk cannot have visited (a later `since`, another
 * kind or width) are passed over.
 */
static const VsFieldInfo *vd_match_info(VdFrame *f, const char *name, VdHint hint,
                                        int *ret_suffix)
{
    const VsTypeInfo *t = f->type;
    int before = 0, total = 0;
    size_t found;

    *ret_suffix = -1;
    if (!t || !t->fields || !name) {
        return NULL;
    }
    f->described = true;
    found = vd_find_info(f, f->cursor, name, hint);
    if (found == SIZE_MAX) {
        found = vd_find_info(f, f->cursor, name, vd_any);
    }
    if (found == SIZE_MAX) {
        return NULL;
    }
    f->cursor = found + 1;
    for (size_t i = 0; i < t->n_fields; i++) {
        if (vd_info_listed(&t->fields[i]) && strcmp(t->fields[i].name, name) == 0) {
            before += i < found;
            total++;
        }
    }
    *ret_suffix = total > 1 ? before : -1;
    return &t->fields[found];
}

/*
 * The start of an entry in struct frame @f for the visited field @name:
 * its name, its "[k]" and its descriptor.  Matching happens when the field
 * starts, in visit order, so the table's cursor follows the walk.
 */
static VdField vd_field_proto(VdFrame *f, const char *name, VdHint hint,
                              const VsFieldInfo **ret_info)
{
    VdField proto = { .suffix = -1 };
    const VsFieldInfo *info = vd_match_info(f, name, hint, &proto.suffix);

    proto.name = talloc_strdup(f, name ? name : "");
    g_assert(proto.name != NULL);
    proto.origin = f->next_origin++;
    *ret_info = info;
    return proto;
}

/* Appends a field record made from @proto to struct frame @f. */
static VdField *vd_add_field(VdFrame *f, const VdField *proto)
{
    VdField *fld = vd_new_field(f);

    *fld = *proto;
    return fld;
}

/*
 * Starts a container (nested struct, array, list) @f inside @parent: when
 * @parent is a struct, the container becomes one of its fields.
 */
static void vd_start_container(VdFrame *parent, VdFrame *f)
{
    if (vd_is_struct(parent)) {
        f->proto = vd_field_proto(parent, f->name, vd_any, &f->info);
        f->has_proto = true;
    }
}

/*
 * The info names of integers whose load checks the value.  QEMU 7.2 has
 * "uint8/uint16/int32/uint32 equal", "int64 equal" for uint64 (sic) and
 * "int32 le"; the other widths follow the same pattern.
 */
static const char *vd_checked_type(const char *type, bool le)
{
    static const char *const names[][3] = {
        { "uint8", "uint8 equal", "uint8 le" },    { "uint16", "uint16 equal", "uint16 le" },
        { "uint32", "uint32 equal", "uint32 le" }, { "uint64", "int64 equal", "uint64 le" },
        { "int8", "int8 equal", "int8 le" },       { "int16", "int16 equal", "int16 le" },
        { "int32", "int32 equal", "int32 le" },    { "int64", "int64 equal", "int64 le" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        if (strcmp(names[i][0], type) == 0) {
            return names[i][le ? 2 : 1];
        }
    }
    return type;
}

/* QEMU's info name for a scalar the table says is special. */
static const char *vd_refine_type(const char *type, const VsFieldInfo *info)
{
    if (!info) {
        return type;
    }
    if (info->kind == VS_FIELD_TIMER) {
        return "timer";
    }
    if (info->kind == VS_FIELD_CODEC && info->codec) {
        return info->codec;
    }
    if (info->flags & (VS_FIELD_F_EQUAL | VS_FIELD_F_LE)) {
        return vd_checked_type(type, info->flags & VS_FIELD_F_LE);
    }
    return type;
}

/*
 * QEMU's compression test for an array of @t structs: every field of the
 * vmsd has no existence test and is itself compressible, and the vmsd has
 * no subsection list at all.  1 yes, 0 no, -1 unknown (no table).
 */
static int vd_type_compressible(const VsTypeInfo *t, unsigned depth)
{
    if (!t || !t->fields || depth > 32) {
        return -1;
    }
    for (uint32_t i = 0; i < t->n_fields; i++) {
        const VsFieldInfo *fi = &t->fields[i];

        if (fi->kind == VS_FIELD_SUBSECTION) {
            return 0;
        }
        if (!vd_info_listed(fi)) {
            continue;
        }
        if (fi->test) {
            return 0;
        }
        if (fi->kind == VS_FIELD_STRUCT) {
            int sub = vd_type_compressible(fi->type, depth + 1);

            if (sub != 1) {
                return sub;
            }
        }
    }
    return 1;
}

/* ---- JSON ------------------------------------------------------------- */

static VsJson *vd_fields_json(TALLOC_CTX *ctx, const VdFrame *f);

/* vmsd_name, version, fields, [subsections]: a struct's own members. */
static void vd_append_struct_members(VsJson *obj, const VdFrame *f)
{
    VsJson *subs;

    if (f->empty) {
        return;
    }
    vs_json_object_append(obj, "vmsd_name", vs_json_new_string(obj, f->type->wire_name));
    vs_json_object_append(obj, "version", vs_json_new_uint64(obj, f->version));
    vs_json_object_append(obj, "fields", vd_fields_json(obj, f));
    if (f->n_subs == 0) {
        return;
    }
    subs = vs_json_new_array(obj);
    for (size_t i = 0; i < f->n_subs; i++) {
        VsJson *sub = vs_json_new_object(subs);

        vd_append_struct_members(sub, f->subs[i]);
        vs_json_array_append(subs, sub);
    }
    vs_json_object_append(obj, "subsections", subs);
}

static VsJson *vd_struct_json(TALLOC_CTX *ctx, const VdFrame *f)
{
    VsJson *obj = vs_json_new_object(ctx);

    vd_append_struct_members(obj, f);
    return obj;
}

/* {"name", ["array_len" | "index"], "type", ["struct"], [inline], "size"} */
static VsJson *vd_field_json(TALLOC_CTX *ctx, const VdField *fld)
{
    VsJson *obj = vs_json_new_object(ctx);
    const char *name = fld->name;

    if (fld->suffix >= 0) {
        name = talloc_asprintf(obj, "%s[%d]", fld->name, fld->suffix);
    }
    vs_json_object_append(obj, "name", vs_json_new_string(obj, name));
    if (fld->key == VD_KEY_ARRAY_LEN) {
        vs_json_object_append(obj, "array_len", vs_json_new_uint64(obj, fld->key_value));
    } else if (fld->key == VD_KEY_INDEX) {
        vs_json_object_append(obj, "index", vs_json_new_uint64(obj, fld->key_value));
    }
    vs_json_object_append(obj, "type", vs_json_new_string(obj, fld->type));
    if (fld->struct_desc) {
        vs_json_object_append(obj, "struct", vd_struct_json(obj, fld->struct_desc));
    }
    /* tmp and lists: QEMU lets the nested vmsd write straight into the field. */
    for (size_t i = 0; i < fld->n_inline; i++) {
        vd_append_struct_members(obj, fld->inline_descs[i]);
    }
    vs_json_object_append(obj, "size", vs_json_new_uint64(obj, fld->size));
    return obj;
}

static VsJson *vd_fields_json(TALLOC_CTX *ctx, const VdFrame *f)
{
    VsJson *arr = vs_json_new_array(ctx);

    for (size_t i = 0; i < f->n_fields; i++) {
        vs_json_array_append(arr, vd_field_json(arr, &f->fields[i]));
    }
    return arr;
}

/*
 * Walk-only "[k]": without a table, a name is numbered when several
 * visited fields of the struct carry it (entries of one array count once).
 */
static void vd_number_repeated_names(VdFrame *f)
{
    if (f->described) {
        return;
    }
    for (size_t i = 0; i < f->n_fields; i++) {
        int k = 0, total = 0;
        uint32_t last_origin = UINT32_MAX;

        for (size_t j = 0; j < f->n_fields; j++) {
            if (strcmp(f->fields[j].name, f->fields[i].name) != 0 ||
                f->fields[j].origin == last_origin) {
                continue;
            }
            last_origin = f->fields[j].origin;
            if (f->fields[j].origin < f->fields[i].origin) {
                k++;
            }
            total++;
        }
        f->fields[i].suffix = total > 1 ? k : -1;
    }
}

/* ---- recording leaves -------------------------------------------------- */

static VdFrame *vd_require_parent(VsVisitor *v, GError **errp)
{
    VdFrame *top = vd_top(to_vd(v));

    if (!top) {
        vs_visit_fail(v, errp, VS_VISIT_ERROR_UNSUPPORTED,
                      "a section must be a struct or an opaque payload");
    }
    return top;
}

/*
 * A scalar, buffer or padding of @size bytes.  In a struct it is a field;
 * in an array an element; in a list (not a QEMU shape) only its bytes count.
 */
static bool vd_leaf(VsVisitor *v, const char *name, VdHint hint, const char *type,
                    uint64_t size, GError **errp)
{
    VdFrame *top = vd_require_parent(v, errp);
    const VsFieldInfo *info;

    if (!top) {
        return false;
    }
    top->size += size;
    if (vd_is_struct(top)) {
        VdField proto = vd_field_proto(top, name, hint, &info);
        VdField *fld = vd_add_field(top, &proto);

        fld->type = vd_refine_type(type, info);
        fld->size = size;
    } else if (top->kind == VD_ARRAY) {
        VdElem *e = vd_new_elem(top);

        e->type = vd_refine_type(type, top->info);
        e->size = size;
    }
    return true;
}

static const char *const vd_uint_types[] = { [1] = "uint8", [2] = "uint16", [4] = "uint32",
                                            [8] = "uint64" };
static const char *const vd_int_types[] = { [1] = "int8", [2] = "int16", [4] = "int32",
                                           [8] = "int64" };

static bool vmdesc_type_uint(VsVisitor *v, const char *name, uint64_t *val, unsigned width,
                             GError **errp)
{
    VdHint hint = { VS_FIELD_UINT, width };

    return vd_leaf(v, name, hint, vd_uint_types[width], width, errp);
}

static bool vmdesc_type_int(VsVisitor *v, const char *name, int64_t *val, unsigned width,
                            GError **errp)
{
    VdHint hint = { VS_FIELD_INT, width };

    return vd_leaf(v, name, hint, vd_int_types[width], width, errp);
}

static bool vmdesc_type_bool(VsVisitor *v, const char *name, bool *val, GError **errp)
{
    VdHint hint = { VS_FIELD_BOOL, 0 };

    return vd_leaf(v, name, hint, "bool", 1, errp);
}

/*
 * QEMU 7.2 has no f64 field.  "float64" is the name of QEMU's old f64
 * info and is still in analyze-migration.py's table, which reads it as 8
 * raw bytes; vstate's loader reads it back as an f64.
 */
static bool vmdesc_type_f64(VsVisitor *v, const char *name, double *val, GError **errp)
{
    VdHint hint = { VS_FIELD_F64, 0 };

    return vd_leaf(v, name, hint, "float64", 8, errp);
}

static bool vmdesc_buffer(VsVisitor *v, const char *name, uint8_t *buf, size_t len,
                          GError **errp)
{
    VdHint hint = { VS_FIELD_BUFFER, 0 };

    return vd_leaf(v, name, hint, "buffer", len, errp);
}

/* QEMU has no string field; a counted string is raw bytes to a reader. */
static bool vmdesc_string(VsVisitor *v, const char *name, char **str, size_t max_len,
                          GError **errp)
{
    return vd_leaf(v, name, vd_any, "buffer", 1 + (*str ? strlen(*str) : 0), errp);
}

static bool vmdesc_unused(VsVisitor *v, const char *name, size_t len, GError **errp)
{
    VdHint hint = { VS_FIELD_UNUSED, 0 };

    return vd_leaf(v, name, hint, "unused_buffer", len, errp);
}

/*
 * A NULL element is QEMU's one-byte marker; its type is settled when the
 * array ends (that of its siblings).  A present pointer writes nothing:
 * its element is visited next.
 */
static bool vmdesc_nullptr_marker(VsVisitor *v, const char *name, bool *is_null,
                                  GError **errp)
{
    VdFrame *top = vd_top(to_vd(v));
    VdElem *e;

    if (!*is_null) {
        return true;
    }
    if (!top || top->kind != VD_ARRAY) {
        /* QEMU 7.2 has NULL markers in arrays of pointers only. */
        return vd_leaf(v, name, vd_any, "nullptr", 1, errp);
    }
    top->size += 1;
    e = vd_new_elem(top);
    e->is_null = true;
    e->size = 1;
    return true;
}

/*
 * At the root, an opaque payload is a section without VMState: QEMU
 * describes such (save_state) sections as one "data" buffer.  Elsewhere
 * it is a buffer.
 */
static bool vmdesc_opaque(VsVisitor *v, const char *name, uint8_t **data, size_t *len,
                          size_t max_len, GError **errp)
{
    VmdescVisitor *vd = to_vd(v);

    if (vd->depth > 0) {
        return vd_leaf(v, name, vd_any, "buffer", *len, errp);
    }
    if (vd->opaque_root || vd->root) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_CONTRACT, "a second section root");
    }
    vd->opaque_root = true;
    vd->opaque_size = *len;
    return true;
}

/* ---- structs ------------------------------------------------------------ */

static bool vmdesc_start_struct(VsVisitor *v, const char *name, const VsTypeInfo *type,
                                uint32_t *version, GError **errp)
{
    VmdescVisitor *vd = to_vd(v);
    VdFrame *parent = vd_top(vd);
    VdFrame *f;

    if (!parent && (vd->root || vd->opaque_root)) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_CONTRACT, "a second section root");
    }
    f = vd_push(vd, VD_STRUCT, name);
    f->type = type;
    f->version = *version;
    vd_start_container(parent, f);
    return true;
}

/* A finished struct @f in struct @parent: "struct", or "tmp" as the table says. */
static void vd_struct_into_struct(VdFrame *parent, VdFrame *f)
{
    VdField *fld = vd_add_field(parent, &f->proto);

    fld->size = f->size;
    if (f->info && f->info->kind == VS_FIELD_TMP) {
        /* VMSTATE_WITH_TMP: the temporary vmsd's keys sit in the field. */
        fld->type = "tmp";
        vd_append_frame(parent, &fld->inline_descs, &fld->n_inline, f);
    } else {
        fld->type = "struct";
        fld->struct_desc = f;
    }
}

static void vmdesc_end_struct(VsVisitor *v)
{
    VmdescVisitor *vd = to_vd(v);
    VdFrame *f = vd_pop(vd);
    VdFrame *parent = vd_top(vd);
    VdElem *e;

    vd_number_repeated_names(f);
    if (!parent) {
        vd->root = f;
        return;
    }
    parent->size += f->size;
    parent->sent_sub |= f->sent_sub;
    if (vd_is_struct(parent)) {
        vd_struct_into_struct(parent, f);
    } else if (parent->kind == VD_ARRAY) {
        e = vd_new_elem(parent);
        e->type = "struct";
        e->struct_desc = f;
        e->size = f->size;
        e->sent_sub = f->sent_sub;
    } else {
        vd_append_frame(parent, &parent->items, &parent->n_items, f);
    }
}

/* ---- subsections ---------------------------------------------------------- */

static bool vmdesc_start_subsection(VsVisitor *v, const char *name, const VsTypeInfo *type,
                                    uint32_t *version, bool *present, GError **errp)
{
    VdFrame *f;

    if (!*present) {
        return true;
    }
    f = vd_push(to_vd(v), VD_SUBSECTION, name);
    f->type = type;
    f->version = *version;
    return true;
}

/*
 * A sent subsection is listed under its parent, and its bytes (with the
 * 0x05, name length, name and version header) count in the parent's size.
 */
static void vmdesc_end_subsection(VsVisitor *v)
{
    VmdescVisitor *vd = to_vd(v);
    VdFrame *f = vd_pop(vd);
    VdFrame *parent = vd_top(vd);

    vd_number_repeated_names(f);
    g_assert(vd_is_struct(parent));
    parent->size += 1 + 1 + strlen(f->type->wire_name) + 4 + f->size;
    parent->sent_sub = true;
    vd_append_frame(parent, &parent->subs, &parent->n_subs, f);
}

/* ---- arrays ---------------------------------------------------------------- */

static bool vmdesc_start_array(VsVisitor *v, const char *name, uint32_t *count, uint32_t max,
                               size_t elem_size, GError **errp)
{
    VdFrame *parent = vd_require_parent(v, errp);
    VdFrame *f;

    if (!parent) {
        return false;
    }
    f = vd_push(to_vd(v), VD_ARRAY, name);
    f->elem_size = elem_size;
    vd_start_container(parent, f);
    if (parent->kind == VD_ARRAY) {
        /* QEMU's 2D arrays are one flat run of elements. */
        f->flatten = true;
        f->info = parent->info;
    }
    return true;
}

/* Whether two elements would be described alike. */
static bool vd_elem_equal(TALLOC_CTX *ctx, const VdElem *a, const VdElem *b)
{
    TALLOC_CTX *tmp;
    bool same;

    if (a->is_null != b->is_null || a->size != b->size || strcmp(a->type, b->type) != 0 ||
        !a->struct_desc != !b->struct_desc) {
        return false;
    }
    if (!a->struct_desc) {
        return true;
    }
    tmp = talloc_new(ctx);
    g_assert(tmp != NULL);
    same = vs_json_equal(vd_struct_json(tmp, a->struct_desc),
                         vd_struct_json(tmp, b->struct_desc));
    talloc_free(tmp);
    return same;
}

/*
 * Whether the array is described by one entry.  With a table, QEMU's own
 * test: no existence test on the field, and for structs a compressible
 * vmsd.  Without one, the walk decides: every element described alike and
 * none sent a subsection.  (QEMU describes only the first element of a
 * compressed array, which would misdescribe elements that differ; the
 * walk-only rule keeps the description decodable instead.)
 */
static bool vd_array_compressible(VmdescVisitor *vd, const VdFrame *f)
{
    int by_table = -1;

    if (f->info) {
        if (f->info->test) {
            return false;
        }
        by_table = f->info->kind == VS_FIELD_STRUCT ? vd_type_compressible(f->info->type, 0) : 1;
    }
    if (by_table >= 0) {
        return by_table == 1;
    }
    for (size_t i = 0; i < f->n_elems; i++) {
        if (f->elems[i].sent_sub || !vd_elem_equal(vd, &f->elems[0], &f->elems[i])) {
            return false;
        }
    }
    return true;
}

/* The type of an array whose elements are all NULL: the table's, else a guess. */
static const char *vd_null_array_type(const VdFrame *f, bool *ret_is_struct)
{
    const VsFieldInfo *fi = f->info;

    if (fi && fi->kind == VS_FIELD_UINT) {
        *ret_is_struct = false;
        return vd_uint_types[fi->width];
    }
    if (fi && fi->kind == VS_FIELD_INT) {
        *ret_is_struct = false;
        return vd_int_types[fi->width];
    }
    /* Elements of varying size (elem_size 0) are structs. */
    *ret_is_struct = (fi && fi->kind == VS_FIELD_STRUCT) || f->elem_size == 0;
    return *ret_is_struct ? "struct" : "buffer";
}

/*
 * A NULL element is described with the field's ordinary type: its
 * siblings', else the table's; for structs with an empty "struct": {}.
 */
static void vd_resolve_nulls(VdFrame *f)
{
    const char *type = NULL;
    bool is_struct = false;
    VdFrame *empty = NULL;

    for (size_t i = 0; i < f->n_elems && !type; i++) {
        if (!f->elems[i].is_null) {
            type = f->elems[i].type;
            is_struct = f->elems[i].struct_desc != NULL;
        }
    }
    if (!type) {
        type = vd_null_array_type(f, &is_struct);
    }
    if (is_struct) {
        empty = talloc_zero(f, VdFrame);
        g_assert(empty != NULL);
        empty->empty = true;
    }
    for (size_t i = 0; i < f->n_elems; i++) {
        if (f->elems[i].is_null) {
            f->elems[i].type = type;
            f->elems[i].struct_desc = empty;
        }
    }
}

/* One field record of @parent for element @e, numbered by @key. */
static void vd_elem_into_field(VdFrame *parent, const VdField *proto, const VdElem *e, VdKey key,
                               uint32_t key_value)
{
    VdField *fld = vd_add_field(parent, proto);

    fld->key = key;
    fld->key_value = key_value;
    fld->type = e->type;
    fld->struct_desc = e->struct_desc;
    fld->size = e->size;
}

/*
 * The entries of a finished array in its struct: none for 0 elements; no
 * numbering for 1; "array_len" and the first element when compressed;
 * else one entry per element with its "index".
 */
static void vd_array_into_struct(VmdescVisitor *vd, VdFrame *parent, VdFrame *f)
{
    if (f->n_elems == 0) {
        return;
    }
    if (f->info && f->info->kind == VS_FIELD_BITMAP) {
        /* VMSTATE_BITMAP is one field of be64 words. */
        VdElem whole = { .type = "bitmap", .size = f->size };

        vd_elem_into_field(parent, &f->proto, &whole, VD_KEY_NONE, 0);
        return;
    }
    vd_resolve_nulls(f);
    if (f->n_elems == 1) {
        vd_elem_into_field(parent, &f->proto, &f->elems[0], VD_KEY_NONE, 0);
    } else if (vd_array_compressible(vd, f)) {
        vd_elem_into_field(parent, &f->proto, &f->elems[0], VD_KEY_ARRAY_LEN,
                           (uint32_t)f->n_elems);
    } else {
        for (size_t i = 0; i < f->n_elems; i++) {
            vd_elem_into_field(parent, &f->proto, &f->elems[i], VD_KEY_INDEX, (uint32_t)i);
        }
    }
}

static void vmdesc_end_array(VsVisitor *v)
{
    VmdescVisitor *vd = to_vd(v);
    VdFrame *f = vd_pop(vd);
    VdFrame *parent = vd_top(vd);

    parent->size += f->size;
    parent->sent_sub |= f->sent_sub;
    if (f->flatten) {
        for (size_t i = 0; i < f->n_elems; i++) {
            *vd_new_elem(parent) = f->elems[i];
        }
    } else if (vd_is_struct(parent)) {
        vd_array_into_struct(vd, parent, f);
    }
    /* An array directly in a list is not a QEMU shape: its bytes count only. */
}

/* ---- lists ------------------------------------------------------------------ */

static bool vmdesc_start_list(VsVisitor *v, const char *name, uint32_t max, size_t elem_size,
                              GError **errp)
{
    VdFrame *parent = vd_require_parent(v, errp);

    if (!parent) {
        return false;
    }
    vd_start_container(parent, vd_push(to_vd(v), VD_LIST, name));
    return true;
}

/* Each marker (one per element and one at the end) is a byte. */
static bool vmdesc_list_next(VsVisitor *v, bool *more, GError **errp)
{
    vd_top(to_vd(v))->size += 1;
    return true;
}

/* The info name of a list field: the table's kind; QTAILQ, the usual one, otherwise. */
static const char *vd_list_type(const VsFieldInfo *info)
{
    if (info && info->kind == VS_FIELD_QLIST) {
        return "qlist";
    }
    if (info && info->kind == VS_FIELD_GTREE) {
        return "gtree";
    }
    return "qtailq";
}

/*
 * QEMU's list infos let every element's vmsd write its keys into the
 * field object, so a list of n elements repeats vmsd_name, version and
 * fields n times.
 */
static void vmdesc_end_list(VsVisitor *v)
{
    VmdescVisitor *vd = to_vd(v);
    VdFrame *f = vd_pop(vd);
    VdFrame *parent = vd_top(vd);
    VdField *fld;

    parent->size += f->size;
    if (!f->has_proto) {
        return;
    }
    fld = vd_add_field(parent, &f->proto);
    fld->type = vd_list_type(f->info);
    fld->inline_descs = f->items;
    fld->n_inline = f->n_items;
    fld->size = f->size;
}

/* ---- completion ------------------------------------------------------------- */

/* QEMU's entry for a save_state section: its bytes as one "data" buffer. */
static VsJson *vd_opaque_entry(VmdescVisitor *vd)
{
    VsJson *obj = vs_json_new_object(vd);
    VsJson *fields = vs_json_new_array(obj);
    VsJson *data = vs_json_new_object(fields);

    vs_json_object_append(obj, "name", vs_json_new_string(obj, vd->idstr));
    vs_json_object_append(obj, "instance_id", vs_json_new_uint64(obj, vd->instance_id));
    vs_json_object_append(obj, "size", vs_json_new_uint64(obj, vd->opaque_size));
    vs_json_object_append(data, "name", vs_json_new_string(data, "data"));
    vs_json_object_append(data, "size", vs_json_new_uint64(data, vd->opaque_size));
    vs_json_object_append(data, "type", vs_json_new_string(data, "buffer"));
    vs_json_array_append(fields, data);
    vs_json_object_append(obj, "fields", fields);
    return obj;
}

static bool vmdesc_complete(VsVisitor *v, GError **errp)
{
    VmdescVisitor *vd = to_vd(v);
    VsJson *obj;

    if (vd->opaque_root) {
        vd->entry = vd_opaque_entry(vd);
        return true;
    }
    if (!vd->root) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_CONTRACT, "no section was walked");
    }
    obj = vs_json_new_object(vd);
    vs_json_object_append(obj, "name", vs_json_new_string(obj, vd->idstr));
    vs_json_object_append(obj, "instance_id", vs_json_new_uint64(obj, vd->instance_id));
    vd_append_struct_members(obj, vd->root);
    vd->entry = obj;
    return true;
}

static const VsVisitorOps vmdesc_visitor_ops = {
    .kind = VS_VISITOR_SAVE,
    .impl_name = "vmdesc",
    .start_struct = vmdesc_start_struct,
    .end_struct = vmdesc_end_struct,
    .start_array = vmdesc_start_array,
    .end_array = vmdesc_end_array,
    .start_subsection = vmdesc_start_subsection,
    .end_subsection = vmdesc_end_subsection,
    .start_list = vmdesc_start_list,
    .list_next = vmdesc_list_next,
    .end_list = vmdesc_end_list,
    .type_uint = vmdesc_type_uint,
    .type_int = vmdesc_type_int,
    .type_bool = vmdesc_type_bool,
    .type_f64 = vmdesc_type_f64,
    .buffer = vmdesc_buffer,
    .string = vmdesc_string,
    .unused = vmdesc_unused,
    .nullptr_marker = vmdesc_nullptr_marker,
    .opaque = vmdesc_opaque,
    .complete = vmdesc_complete,
};

/* ---- public ------------------------------------------------------------------- */

VsVisitor *vs_vmdesc_visitor_new(TALLOC_CTX *mem_ctx, const char *idstr, uint32_t instance_id)
{
    VmdescVisitor *vd;

    g_assert(idstr != NULL);
    vd = vs_visitor_new(mem_ctx, &vmdesc_visitor_ops, VmdescVisitor, NULL);
    vd->idstr = talloc_strdup(vd, idstr);
    g_assert(vd->idstr != NULL);
    vd->instance_id = instance_id;
    return &vd->base;
}

VsJson *vs_vmdesc_visitor_steal(VsVisitor *v, TALLOC_CTX *mem_ctx)
{
    VmdescVisitor *vd;
    VsJson *entry;

    g_assert(v->ops == &vmdesc_visitor_ops);
    vd = to_vd(v);
    entry = vd->entry;
    vd->entry = NULL;
    return entry ? talloc_steal(mem_ctx, entry) : NULL;
}

bool vs_vmdesc_describe(TALLOC_CTX *mem_ctx, const char *idstr, uint32_t instance_id,
                        VsWalkerFn walker, void *obj, VsJson **ret_entry, GError **errp)
{
    VsVisitor *v = vs_vmdesc_visitor_new(NULL, idstr, instance_id);
    bool ok = walker(v, idstr, obj, errp) && vs_visitor_complete(v, errp);

    if (ok) {
        *ret_entry = vs_vmdesc_visitor_steal(v, mem_ctx);
    }
    vs_visitor_free(v);
    return ok;
}

VsJson *vs_vmdesc_trailer_new(TALLOC_CTX *mem_ctx, uint64_t page_size, VsJson *devices)
{
    VsJson *obj = vs_json_new_object(mem_ctx);

    vs_json_object_append(obj, "page_size", vs_json_new_uint64(obj, page_size));
    vs_json_object_append(obj, "devices", devices);
    return obj;
}
