/*
 * visitor-impl.h: the contract between the visitor core and visitor
 * implementations.  Walkers never include this; visitors do.
 *
 * SPDX-License-Identifier: MIT
 *
 * An implementation is a talloc object whose first member is a VsVisitor,
 * created with vs_visitor_alloc() and a `static const VsVisitorOps` table
 * (or the same object in the caller's storage: vs_visitor_init_in_place()).
 * The core calls an op only after it has checked the contract and pushed the
 * field path, so ops never validate pairing and never build paths; they
 * report failures with vs_visit_fail() / vs_visit_fail_from(), which prefix
 * the path.
 *
 * Every op has the contract of the public function of the same name in
 * visitor.h, with these differences:
 *   - integers arrive widened: type_uint/type_int get a 64-bit value and the
 *     width in bytes (1, 2, 4, 8); on load the op stores any 64-bit value and
 *     the core range-checks it;
 *   - an op left NULL means "not supported" unless its comment names a
 *     default; the core then fails with VS_VISIT_ERROR_UNSUPPORTED.
 */
#ifndef VSTATE_VISITOR_IMPL_H
#define VSTATE_VISITOR_IMPL_H

#include "visitor/visitor.h"

G_BEGIN_DECLS

typedef struct VsVisitorOps {
    VsVisitorKind kind;
    const char *impl_name;

    /* Must be set. */
    bool (*start_struct)(VsVisitor *v, const char *name, const VsTypeInfo *type,
                         uint32_t *version, GError **errp);
    /* Optional; default: success. */
    bool (*check_struct)(VsVisitor *v, GError **errp);
    /* Optional. */
    void (*end_struct)(VsVisitor *v);

    /* Must be set. */
    bool (*start_array)(VsVisitor *v, const char *name, uint32_t *count, uint32_t max,
                        size_t elem_size, GError **errp);
    /* Optional. */
    void (*end_array)(VsVisitor *v);

    /* Must be set. */
    bool (*start_subsection)(VsVisitor *v, const char *name, const VsTypeInfo *type,
                             uint32_t *version, bool *present, GError **errp);
    /* Optional. */
    void (*end_subsection)(VsVisitor *v);

    /*
     * Optional (lists not supported when NULL).  list_next: save: write
     * the marker for *more; load: set *more.  The core checks the element
     * count against @max before a save's op and after a load's.
     */
    bool (*start_list)(VsVisitor *v, const char *name, uint32_t max, size_t elem_size,
                       GError **errp);
    bool (*list_next)(VsVisitor *v, bool *more, GError **errp);
    /* Optional. */
    void (*end_list)(VsVisitor *v);

    /* Must be set. */
    bool (*type_uint)(VsVisitor *v, const char *name, uint64_t *val, unsigned width,
                      GError **errp);
    bool (*type_int)(VsVisitor *v, const char *name, int64_t *val, unsigned width,
                     GError **errp);
    bool (*type_bool)(VsVisitor *v, const char *name, bool *val, GError **errp);
    /* Optional; default: the IEEE bit pattern through type_uint, width 8. */
    bool (*type_f64)(VsVisitor *v, const char *name, double *val, GError **errp);
    /* Must be set. */
    bool (*buffer)(VsVisitor *v, const char *name, uint8_t *buf, size_t len, GError **errp);
    bool (*string)(VsVisitor *v, const char *name, char **str, size_t max_len,
                   GError **errp);
    bool (*unused)(VsVisitor *v, const char *name, size_t len, GError **errp);
    /* Optional (not supported when NULL). */
    bool (*nullptr_marker)(VsVisitor *v, const char *name, bool *is_null, GError **errp);
    bool (*opaque)(VsVisitor *v, const char *name, uint8_t **data, size_t *len,
                   size_t max_len, GError **errp);

    /* Optional; default: success.  Called once by vs_visitor_complete(). */
    bool (*complete)(VsVisitor *v, GError **errp);
    /*
     * Optional: the current byte offset in the stream, appended to error
     * messages as "(offset 0x...)".  Returns false when there is none.
     */
    bool (*offset)(VsVisitor *v, uint64_t *ret_offset);
    /* Optional: release what talloc does not own (called on free). */
    void (*destroy)(VsVisitor *v);
} VsVisitorOps;

/* One component of the field path. */
typedef enum VsFrameKind {
    VS_FRAME_STRUCT,
    VS_FRAME_ARRAY,
    VS_FRAME_SUBSECTION,
    VS_FRAME_LEAF,
    VS_FRAME_LIST,
} VsFrameKind;

/* Members ordered so that the frame has no padding holes (48 bytes). */
typedef struct VsFrame {
    VsFrameKind kind;
    uint32_t count;         /* arrays: element count; lists: elements announced so far */
    const char *name;       /* borrowed; NULL for array and list elements */
    int64_t index;          /* element index within the parent array or list, or -1 */
    uint32_t next_index;    /* arrays and lists: index of the next element */
    uint32_t version;       /* structs and subsections: the version in use */
    size_t elem_size;       /* arrays and lists: wire size of one element */
    const VsTypeInfo *type; /* structs and subsections */
    uint32_t max;           /* lists: the declared maximum element count */
    bool list_ended;        /* lists: vs_visit_list_next() reported the end */
} VsFrame;

/* Frames held inside the visitor; deeper walks move to a talloc array. */
#define VS_VISITOR_INLINE_FRAMES 8

/*
 * The base every visitor embeds first.  Fields are the core's.  Creating
 * a visitor is one talloc allocation: the frame stack starts in
 * inline_frames (left uninitialised: a frame is written when pushed) and
 * the path string exists only once a path has been rendered.
 */
struct VsVisitor {
    const VsVisitorOps *ops;
    TALLOC_CTX *result_ctx;
    VsFrame *frames;        /* frames[0..depth-1]: inline_frames or a talloc array */
    size_t depth;
    size_t frames_alloc;
    GString *path;          /* cache for vs_visitor_path(); NULL until first needed */
    GError *error;          /* first failure; the visitor stays failed */
    bool completed;
    bool has_root_version;
    uint32_t root_version;
    bool hooks_off;         /* vs_visitor_set_hooks(v, false) */
    bool in_place;          /* in the caller's storage, not a talloc object */
    VsFrame inline_frames[VS_VISITOR_INLINE_FRAMES];
};

/*
 * vs_visitor_alloc: allocate an implementation object of @size bytes whose
 * first member is a VsVisitor, and initialise the base.
 * @mem_ctx: talloc parent
 * @ops: the implementation's static table
 * @result_ctx: where LOAD allocations go; NULL means the visitor itself
 *
 * Ownership: a talloc child of @mem_ctx; free with vs_visitor_free().
 */
void *vs_visitor_alloc(TALLOC_CTX *mem_ctx, const VsVisitorOps *ops, size_t size,
                       TALLOC_CTX *result_ctx);

/*
 * vs_visitor_alloc_scratch: as vs_visitor_alloc(), but the object's last
 * @scratch bytes are left uninitialised: inline buffers the implementation
 * only reads after writing them, which would cost more to zero than a
 * small walk costs.
 */
void *vs_visitor_alloc_scratch(TALLOC_CTX *mem_ctx, const VsVisitorOps *ops, size_t size,
                               size_t scratch, TALLOC_CTX *result_ctx);

/*
 * vs_visitor_init_in_place: as vs_visitor_alloc_scratch(), but in @size
 * bytes of the caller's @storage (aligned for any type) instead of a talloc
 * allocation.  Creating and freeing such a visitor costs a few stores where
 * a talloc object costs a malloc(), a free() and talloc's bookkeeping,
 * which is more than encoding a small struct.
 * @result_ctx: where LOAD allocations go; may be NULL only for SAVE
 *   visitors (vs_visitor_result_ctx() then returns NULL)
 *
 * The visitor is not a talloc object: it cannot be a talloc parent or be
 * stolen.  vs_visitor_free() releases what it holds (it frees no storage),
 * and must be called before @storage goes away.
 */
void *vs_visitor_init_in_place(void *storage, const VsVisitorOps *ops, size_t size,
                               size_t scratch, TALLOC_CTX *result_ctx);

#define vs_visitor_new(mem_ctx, ops, Type, result_ctx) \
    ((Type *)vs_visitor_alloc((mem_ctx), (ops), sizeof(Type), (result_ctx)))

/*
 * vs_visit_fail: set *@errp to "<path>: <message>[ (offset 0x..)]" in the
 * VS_VISIT_ERROR domain.  Always returns false.
 */
bool vs_visit_fail(VsVisitor *v, GError **errp, VsVisitError code, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

/*
 * vs_visit_fail_from: as vs_visit_fail() but keeps @cause's domain and code
 * and uses its message.  @cause is borrowed.  Always returns false.
 */
bool vs_visit_fail_from(VsVisitor *v, GError **errp, const GError *cause);

/*
 * vs_visitor_poison: mark @v failed with a copy of @cause unless it has
 * failed already.  For visitors that drive other visitors (the tee): once
 * one inner visitor fails, the other must not report the walker's early
 * exit from an array as a contract breach.  @cause is borrowed.
 */
void vs_visitor_poison(VsVisitor *v, const GError *cause);

/* The first error of @v, or NULL.  Borrowed: valid until @v is freed. */
const GError *vs_visitor_error(const VsVisitor *v);

/* The innermost frame (the one being visited), or NULL at the root. */
const VsFrame *vs_visitor_top(const VsVisitor *v);
/* The frame @up levels above the innermost one, or NULL. */
const VsFrame *vs_visitor_frame(const VsVisitor *v, size_t up);
size_t vs_visitor_depth(const VsVisitor *v);

/*
 * vs_visitor_trace_path: the path in the trace form,
 * `slirp.bootp.bootp_clients(16)(8).[0].macaddr(6)(1).[0]`; a list
 * component is `name(list)`, its elements `.[i]`.
 * Borrowed: valid until the next call on @v.
 */
const char *vs_visitor_trace_path(VsVisitor *v);

G_END_DECLS

#endif /* VSTATE_VISITOR_IMPL_H */
