/*
 * visitor.h: the visitor interface that every walker calls.
 *
 * SPDX-License-Identifier: MIT
 *
 * Theory of operation
 * ===================
 *
 * Device state is described once.  For every schema type T there is one
 * walker, `bool vs_visit_T(VsVisitor *v, const char *name, T *obj, GError
 * **errp)`, which calls the functions of this header for every part of T in
 * wire order.  The same walker serves every format and both directions:
 *
 *   - a SAVE visitor reads through the pointers it is given and writes a
 *     stream (legacy QEMUFile bytes, BER) or a rendering (trace, tree, JSON);
 *   - a LOAD visitor reads a stream and writes through the pointers.
 *
 * Visitors differ only in their ops table (visitor-impl.h).  The functions
 * below are thin wrappers that every call goes through; they own what all
 * formats share:
 *
 *   - the *field path*: a stack of field names and array indices, so an error
 *     or a trace line can say `PIIX3.dev.config[255]`;
 *   - the *contract*: every successful vs_visit_start_X() is paired with
 *     vs_visit_end_X(), ends match their starts, array element counts are
 *     honoured, a visitor is used for one complete walk;
 *   - *narrowing*: implementations see 64-bit integers and a width in bytes;
 *     the wrappers widen on save and range-check on load;
 *   - *bounds*: counts are checked against their declared maximum, versions
 *     against the type's [minimum_version, version].
 *
 * Names.  @name is the field name in the enclosing struct, or the section
 * name for the root (e.g. "i8259").  Inside an array, elements are visited
 * with @name NULL; the core numbers them.  Names are borrowed: a name given
 * to vs_visit_start_X() must stay valid until the matching vs_visit_end_X().
 *
 * Errors follow the GError rules: @errp is last; a false return means
 * exactly one error was set; *@errp is never touched on success.  Messages
 * are one phrase that begins with the field path, e.g.
 *   "i8259.elcr: stream ends after 0 of 1 bytes (offset 0x1f)".
 * After a failure the walker still pairs what it started (goto out), then
 * returns false.  A visitor that has failed stays failed: later calls return
 * false with a copy of the first error.
 *
 * Memory.  Visitors are talloc objects; free one with vs_visitor_free().  A
 * LOAD visitor writes into storage the caller provides.  Variable-sized
 * things it must allocate (strings, opaque payloads) become talloc children
 * of the visitor's result context, so a failed load is released with one
 * talloc_free() of that context.
 *
 * Worked example: a walker for
 *
 *     typedef struct Pic { uint8_t irr; uint8_t imr; uint8_t elcr[2]; } Pic;
 *
 *     static const VsTypeInfo pic_type = {
 *         .name = "Pic", .wire_name = "pic", .version = 1,
 *         .minimum_version = 1, .size = sizeof(Pic),
 *     };
 *
 *     bool vs_visit_Pic(VsVisitor *v, const char *name, Pic *s, GError **errp)
 *     {
 *         uint32_t version = pic_type.version;
 *         uint32_t n = 2;
 *         bool ok = false;
 *
 *         if (!vs_visit_start_struct(v, name, &pic_type, &version, errp)) {
 *             return false;
 *         }
 *         if (!vs_visit_u8(v, "irr", &s->irr, errp) ||
 *             !vs_visit_u8(v, "imr", &s->imr, errp)) {
 *             goto out;
 *         }
 *         if (!vs_visit_start_array(v, "elcr", &n, 2, 1, errp)) {
 *             goto out;
 *         }
 *         for (uint32_t i = 0; i < n; i++) {
 *             if (!vs_visit_u8(v, NULL, &s->elcr[i], errp)) {
 *                 break;
 *             }
 *         }
 *         vs_visit_end_array(v);
 *         ok = !vs_visitor_failed(v) && vs_visit_check_struct(v, errp);
 *     out:
 *         vs_visit_end_struct(v);
 *         return ok;
 *     }
 *
 * On load, *version starts as the type's version; at the root, the version
 * the container read from the section header replaces it (see
 * vs_visitor_set_root_version()), and a visitor whose stream carries struct
 * versions replaces it again.  Walkers gate `since N` fields on it.
 *
 * docs/visitor.md has the complete example, the trace it produces and the
 * legacy bytes it writes.
 */
#ifndef VSTATE_VISITOR_H
#define VSTATE_VISITOR_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <talloc.h>

G_BEGIN_DECLS

/* Bumped whenever walkers compiled against an older header would misbehave. */
#define VS_VISITOR_ABI_VERSION 4

typedef struct VsVisitor VsVisitor;

/* Errors of the visitor core (and of visitors that have no domain of their own). */
#define VS_VISIT_ERROR (vs_visit_error_quark())
GQuark vs_visit_error_quark(void);

typedef enum VsVisitError {
    VS_VISIT_ERROR_TRUNCATED,   /* the stream ended inside a value */
    VS_VISIT_ERROR_RANGE,       /* a value does not fit its declared width */
    VS_VISIT_ERROR_MISMATCH,    /* stream and schema disagree (equal field, marker, name) */
    VS_VISIT_ERROR_LIMIT,       /* a count or length exceeds its declared maximum */
    VS_VISIT_ERROR_VERSION,     /* version outside [minimum_version, version] */
    VS_VISIT_ERROR_SUBSECTION,  /* a subsection the schema does not know */
    VS_VISIT_ERROR_UNSUPPORTED, /* the visitor cannot express this operation */
    VS_VISIT_ERROR_CONTRACT,    /* the walker broke the visitor contract */
    VS_VISIT_ERROR_IO,          /* the underlying channel failed */
    VS_VISIT_ERROR_HOOK,        /* a device hook (pre_save, post_load, ...) failed */
    VS_VISIT_ERROR__MAX,
} VsVisitError;

typedef struct VsFieldInfo VsFieldInfo;

/*
 * VsTypeInfo: what the core, the formats and the tools know of a struct
 * type.  Generated code emits one per schema type (and per subsection).
 * @name: the schema/C type name ("PICCommonState")
 * @wire_name: QEMU's vmsd name ("i8259"); subsection names start with it
 * @version: the current version, written on save
 * @minimum_version: the oldest version a load accepts
 * @size: sizeof the C struct (0 for a subsection, whose fields live in the
 *   parent's struct)
 * @fields, @n_fields: the members in wire order (NULL/0 for hand-written
 *   walkers that do not describe themselves)
 * @needed: for a subsection, its `needed` predicate as schema text, or NULL
 * @name_len, @wire_name_len: strlen() of @name and @wire_name, filled in by
 *   the generator so that writers need not measure them on every save; 0
 *   means not given (writers then measure the string)
 */
typedef struct VsTypeInfo {
    const char *name;
    const char *wire_name;
    uint32_t version;
    uint32_t minimum_version;
    size_t size;
    const VsFieldInfo *fields;
    uint32_t n_fields;
    const char *needed;
    uint32_t name_len;
    uint32_t wire_name_len;
} VsTypeInfo;

/* What a described member is. */
typedef enum VsFieldKind {
    VS_FIELD_UINT,       /* width 1/2/4/8 */
    VS_FIELD_INT,        /* width 1/2/4/8 */
    VS_FIELD_BOOL,
    VS_FIELD_F64,
    VS_FIELD_TIMER,      /* QEMU timer: be64 expiry, -1 when not armed */
    VS_FIELD_BUFFER,     /* bytes */
    VS_FIELD_STRUCT,     /* @type */
    VS_FIELD_UNUSED,     /* padding */
    VS_FIELD_BITMAP,     /* be64 words */
    VS_FIELD_QTAILQ,     /* list of @type, QEMU's QTAILQ encoding */
    VS_FIELD_QLIST,      /* list of @type, QEMU's QLIST encoding */
    VS_FIELD_GTREE,      /* GTree of @key_type -> @type */
    VS_FIELD_TMP,        /* a temporary struct @type encoded inline */
    VS_FIELD_VALIDATE,   /* a load-time condition, nothing on the wire */
    VS_FIELD_CODEC,      /* a custom codec, @codec */
    VS_FIELD_SUBSECTION, /* @type is the subsection */
    VS_FIELD__MAX,
} VsFieldKind;

/* Flags of a VsFieldInfo. */
enum {
    VS_FIELD_F_ARRAY = 1 << 0,      /* @count elements, or @count_field of them */
    VS_FIELD_F_POINTER = 1 << 1,    /* stored through a pointer */
    VS_FIELD_F_PTR_ARRAY = 1 << 2,  /* array of pointers, NULL as QEMU's marker */
    VS_FIELD_F_EQUAL = 1 << 3,      /* load fails when the value differs */
    VS_FIELD_F_LE = 1 << 4,         /* load fails unless 0 <= value <= local */
    VS_FIELD_F_LOCAL = 1 << 5,      /* C member only, never on the wire */
    VS_FIELD_F_DEFAULT = 1 << 6,    /* @default_value applies below @since */
};

/*
 * VsFieldInfo: one member of a described type, for tools (printers,
 * checkers, importers).  Walkers do not read it.
 */
struct VsFieldInfo {
    const char *name;
    VsFieldKind kind;
    uint32_t flags;
    unsigned width;              /* integers */
    uint32_t name_len;           /* strlen(@name) from the generator; 0 when not given */
    size_t offset;               /* offsetof() in the C struct; SIZE_MAX when none */
    size_t elem_size;            /* wire bytes of one element when fixed, else 0 */
    uint32_t count;              /* fixed element count (1 for a single value) */
    uint32_t max;                /* variable counts: the declared maximum */
    const char *count_field;     /* variable counts: the field holding it */
    uint32_t multiply;           /* count = count_field * multiply (1 normally) */
    uint32_t since;              /* exists from this version on */
    const char *test;            /* existence predicate as schema text, or NULL */
    int64_t default_value;       /* with VS_FIELD_F_DEFAULT */
    const VsTypeInfo *type;      /* struct, list element, tmp, subsection */
    const VsTypeInfo *key_type;  /* GTree keys that are structs; NULL for u64 keys */
    const char *codec;           /* custom codec's info name ("pci config") */
};

/* Direction of a visitor: SAVE reads the object, LOAD writes it. */
typedef enum VsVisitorKind {
    VS_VISITOR_SAVE = 1,
    VS_VISITOR_LOAD = 2,
} VsVisitorKind;

VsVisitorKind vs_visitor_kind(const VsVisitor *v);
static inline bool vs_visit_is_load(const VsVisitor *v)
{
    return vs_visitor_kind(v) == VS_VISITOR_LOAD;
}
/* The visitor implementation's name ("legacy-save", "trace", ...). */
const char *vs_visitor_impl_name(const VsVisitor *v);

/*
 * vs_visit_start_struct:
 * @name: field name, section name at the root, NULL for an array element
 * @type: the struct's type
 * @version: in/out.  Save: the version to write, normally @type->version.
 *   Load: @type->version on entry; at the root the version given to
 *   vs_visitor_set_root_version() replaces it, and a visitor whose stream
 *   carries struct versions replaces it again.  The core then checks it lies in
 *   [@type->minimum_version, @type->version].  Walkers gate `since N`
 *   fields on *@version.
 *
 * Pairing: on success, call vs_visit_end_struct() exactly once.
 * Returns: true on success.
 */
bool vs_visit_start_struct(VsVisitor *v, const char *name, const VsTypeInfo *type,
                           uint32_t *version, GError **errp);
/* Call after the last member: LOAD visitors check for what they cannot skip. */
bool vs_visit_check_struct(VsVisitor *v, GError **errp);
void vs_visit_end_struct(VsVisitor *v);

/*
 * vs_visit_start_array:
 * @name: field name
 * @count: in/out element count.  Save and legacy load: the walker's count
 *   (a constant, or the value of the count field).  Visitors whose stream
 *   carries counts may replace it on load.
 * @max: the declared maximum; the core fails with VS_VISIT_ERROR_LIMIT when
 *   *@count exceeds it, before any element is visited
 * @elem_size: size of one element on the wire in bytes, when fixed (0 when
 *   elements vary in size); shown by the trace rendering
 *
 * The walker then visits exactly *@count elements with @name NULL.
 * Pairing: on success, call vs_visit_end_array() exactly once.
 */
bool vs_visit_start_array(VsVisitor *v, const char *name, uint32_t *count, uint32_t max,
                          size_t elem_size, GError **errp);
void vs_visit_end_array(VsVisitor *v);

/*
 * vs_visit_start_list: a list whose length is not known beforehand (QEMU's
 * QTAILQ, QLIST and GTree encodings: a marker before each element and one
 * at the end).  A GTree also writes its node count first: the walker visits
 * it as a u32 before the list (and on load compares it with what it read),
 * and each element is a key and a value, visited as one struct.
 * @name: field name
 * @max: the declared maximum number of elements
 * @elem_size: size of one element on the wire in bytes, when fixed (0 when
 *   elements vary in size)
 *
 * The walker then calls vs_visit_list_next() before each element and once
 * more at the end.  Elements are numbered like array elements: the error
 * path of one is `name[i]`, its trace path `name(list).[i]`.
 * Pairing: on success, call vs_visit_end_list() exactly once.
 *
 * A walker for up to 8 entries kept in a C array; on load the core's
 * maximum check keeps i below the array's capacity:
 *
 *     uint32_t i;
 *
 *     if (!vs_visit_start_list(v, "entries", 8, 0, errp)) {
 *         goto out;
 *     }
 *     for (i = 0;; i++) {
 *         bool more = i < s->n_entries;          (load: the stream decides)
 *
 *         if (!vs_visit_list_next(v, &more, errp) || !more ||
 *             !vs_visit_Entry(v, NULL, &s->entries[i], errp)) {
 *             break;
 *         }
 *     }
 *     vs_visit_end_list(v);
 *     s->n_entries = i;                          (meaningful on success)
 */
bool vs_visit_start_list(VsVisitor *v, const char *name, uint32_t max, size_t elem_size,
                         GError **errp);

/*
 * vs_visit_list_next: whether another element follows.
 * @more: in/out.  Save: given by the walker, true when an element follows.
 *   Load: set by the visitor from the stream.  False on failure.
 *
 * Call only directly inside a list.  When *@more is true the walker visits
 * exactly one element (@name NULL) next; when it is false it calls
 * vs_visit_end_list().  The core fails with VS_VISIT_ERROR_LIMIT when
 * *@more is true for element number @max, before that element is visited
 * (on save and on load).
 */
bool vs_visit_list_next(VsVisitor *v, bool *more, GError **errp);
void vs_visit_end_list(VsVisitor *v);

/*
 * vs_visit_start_subsection:
 * @name: the subsection's wire name, "<parent wire name>/<part>"
 * @type: its type (wire_name equals @name)
 * @version: in/out as for vs_visit_start_struct(); subsections always carry
 *   their version in the stream
 * @present: in/out.  Save: whether it is written (the `needed` predicate).
 *   Load: set by the visitor to whether the stream holds it next.
 *
 * Returns true on success whether or not it is present.  When *@present is
 * false after the call, the walker skips the members and does NOT call
 * vs_visit_end_subsection(); otherwise it visits them and ends it.
 */
bool vs_visit_start_subsection(VsVisitor *v, const char *name, const VsTypeInfo *type,
                               uint32_t *version, bool *present, GError **errp);
void vs_visit_end_subsection(VsVisitor *v);

/*
 * Scalars.  Integer widths and signedness are part of the call; a LOAD
 * visitor's value is range-checked before it is stored.
 */
bool vs_visit_u8(VsVisitor *v, const char *name, uint8_t *val, GError **errp);
bool vs_visit_u16(VsVisitor *v, const char *name, uint16_t *val, GError **errp);
bool vs_visit_u32(VsVisitor *v, const char *name, uint32_t *val, GError **errp);
bool vs_visit_u64(VsVisitor *v, const char *name, uint64_t *val, GError **errp);
bool vs_visit_i8(VsVisitor *v, const char *name, int8_t *val, GError **errp);
bool vs_visit_i16(VsVisitor *v, const char *name, int16_t *val, GError **errp);
bool vs_visit_i32(VsVisitor *v, const char *name, int32_t *val, GError **errp);
bool vs_visit_i64(VsVisitor *v, const char *name, int64_t *val, GError **errp);
bool vs_visit_bool(VsVisitor *v, const char *name, bool *val, GError **errp);
bool vs_visit_f64(VsVisitor *v, const char *name, double *val, GError **errp);

/* The generic forms the narrow ones use; @width is 1, 2, 4 or 8 bytes. */
bool vs_visit_uint(VsVisitor *v, const char *name, uint64_t *val, unsigned width,
                   GError **errp);
bool vs_visit_int(VsVisitor *v, const char *name, int64_t *val, unsigned width,
                  GError **errp);

/*
 * vs_visit_buffer: @len raw bytes at @buf (caller's storage, both directions).
 * Renderings show it as an array of uint8.
 */
bool vs_visit_buffer(VsVisitor *v, const char *name, uint8_t *buf, size_t len,
                     GError **errp);

/*
 * vs_visit_string: length-prefixed text such as an idstr.
 * @str: save: a NUL-terminated string (NULL counts as empty).  Load: set to a
 *   new NUL-terminated string, a talloc child of the result context.
 * @max_len: longest accepted length in bytes (255 for QEMU's counted strings)
 */
bool vs_visit_string(VsVisitor *v, const char *name, char **str, size_t max_len,
                     GError **errp);

/* vs_visit_unused: @len padding bytes, written as zeros, skipped on load. */
bool vs_visit_unused(VsVisitor *v, const char *name, size_t len, GError **errp);

/*
 * vs_visit_nullptr: one element of an array of pointers.
 * @is_null: in/out.  Save: whether the element is NULL (then QEMU writes its
 *   null marker and nothing else).  Load: the caller's own pointer decides
 *   (as in QEMU): true means the stream must hold the marker.  When it is
 *   false the walker visits the element itself next.
 */
bool vs_visit_nullptr(VsVisitor *v, const char *name, bool *is_null, GError **errp);

/*
 * vs_visit_opaque: a payload kept as raw bytes (a section with no schema).
 * @data, @len: save: the bytes.  Load: *@len is the length when the stream
 *   does not carry it (legacy: the container knows it) and at most @max_len;
 *   *@data is set to a new talloc child of the result context.
 */
bool vs_visit_opaque(VsVisitor *v, const char *name, uint8_t **data, size_t *len,
                     size_t max_len, GError **errp);

/*
 * vs_visitor_complete: finish one walk.  Fails if starts and ends did not
 * pair, if the visitor failed earlier, or if the implementation cannot
 * finish (e.g. a flush fails).
 */
bool vs_visitor_complete(VsVisitor *v, GError **errp);

/* Free a visitor; NULL is accepted. */
void vs_visitor_free(VsVisitor *v);

/*
 * vs_visitor_path: the current field path, `a.b[3].c`.
 * Borrowed: valid until the next call on @v or until @v is freed.
 */
const char *vs_visitor_path(VsVisitor *v);

/*
 * vs_visit_report: fail the walk from walker or hook code (an `equal` field
 * that differs, a validation that does not hold).  The message becomes
 * "<path>.<@field>: <message>" (just "<path>: ..." when @field is NULL),
 * the visitor stays failed, and false is returned.
 */
bool vs_visit_report(VsVisitor *v, const char *field, GError **errp, VsVisitError code,
                     const char *fmt, ...) G_GNUC_PRINTF(5, 6);

/*
 * vs_visit_hook_failed: for generated walkers: hook @hook (the C function
 * @func) failed with @cause (taken; may be NULL).  Fails the walk with
 * VS_VISIT_ERROR_HOOK, "<path>: post_load hook pit_post_load failed: ...".
 */
bool vs_visit_hook_failed(VsVisitor *v, const char *hook, const char *func, GError *cause,
                          GError **errp);

/* Whether an operation on @v has failed (the visitor then stays failed). */
bool vs_visitor_failed(const VsVisitor *v);

/*
 * vs_visitor_set_root_version: the version a LOAD visitor's root struct
 * starts from, as read by the container from a section header.
 */
void vs_visitor_set_root_version(VsVisitor *v, uint32_t version);

/*
 * vs_visitor_set_hooks: whether generated walkers run the device's hooks
 * (pre_save, post_save, pre_load, post_load of types and subsections) on
 * this visitor's walk.  On by default.
 *
 * Turn them off to move state through a visitor exactly as it is: a section
 * loaded and re-saved with hooks off comes out byte for byte as it came in,
 * even when a device's pre_save recomputes fields from its clock, and a load
 * with hooks off leaves the fields as the stream held them (no post_load
 * adjusts them).  Hooks of `tmp_for` types still run: they are the
 * translation between the wire and the parent struct, not device behaviour.
 * Predicates (`needed`, `if`, `validate`) are not hooks and always run.
 *
 * Set before the walk; the tee visitor's own setting is the one its walker
 * reads.
 */
void vs_visitor_set_hooks(VsVisitor *v, bool enabled);
/* Whether hooks run on @v's walk (for generated walkers). */
bool vs_visitor_hooks_enabled(const VsVisitor *v);

/*
 * The result context LOAD allocations go under (never NULL, except for a
 * SAVE visitor created in place without one: see visitor-impl.h).
 */
TALLOC_CTX *vs_visitor_result_ctx(VsVisitor *v);

/* Visit @count elements of a u8 array, one by one (for walkers). */
bool vs_visit_u8_array(VsVisitor *v, const char *name, uint8_t *vals, uint32_t count,
                       GError **errp);

G_END_DECLS

#endif /* VSTATE_VISITOR_H */
