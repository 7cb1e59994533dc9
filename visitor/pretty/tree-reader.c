/*
 * tree-reader.c: a LOAD visitor that walks a VsNode tree into the walker's
 * object (see pretty.h).
 *
 * SPDX-License-Identifier: MIT
 *
 * The reader keeps one frame per open container of the tree, parallel to
 * the core's frames.  Fields are matched in order: each visit takes the next
 * child of the innermost container and must agree with it in kind, name and
 * width.  Subsections are found by name among the children not yet taken,
 * because a stream may order them differently from the walker (QEMU reads
 * subsections in stream order and looks each one up by name).
 */
#include "visitor/pretty/pretty.h"
#include "visitor/visitor-impl.h"

#include <inttypes.h>
#include <string.h>

typedef struct ReaderFrame {
    const VsNode *node; /* the open container */
    size_t next;        /* the next child to match in order */
    bool *used;         /* children taken out of order (subsections); NULL if none */
} ReaderFrame;

typedef struct TreeReader {
    VsVisitor base;     /* must stay first */
    const VsNode *root;
    bool root_taken;
    ReaderFrame *frames; /* talloc array, frames[0..depth-1] */
    size_t depth;
    size_t frames_alloc;
} TreeReader;

G_STATIC_ASSERT(offsetof(TreeReader, base) == 0);

static TreeReader *to_tree_reader(VsVisitor *v)
{
    return (TreeReader *)v;
}

static ReaderFrame *tree_reader_top(TreeReader *tr)
{
    return tr->depth ? &tr->frames[tr->depth - 1] : NULL;
}

static void tree_reader_push(TreeReader *tr, const VsNode *node)
{
    if (tr->depth == tr->frames_alloc) {
        size_t n = tr->frames_alloc ? tr->frames_alloc * 2 : 8;

        tr->frames = talloc_realloc(tr, tr->frames, ReaderFrame, n);
        g_assert(tr->frames != NULL);
        tr->frames_alloc = n;
    }
    tr->frames[tr->depth++] = (ReaderFrame){ .node = node };
}

static void tree_reader_pop(VsVisitor *v)
{
    TreeReader *tr = to_tree_reader(v);

    g_assert(tr->depth > 0);
    tr->depth--;
    TALLOC_FREE(tr->frames[tr->depth].used);
}

/* ---- matching ---------------------------------------------------------- */

/* The next child to match in order, or NULL when the container is done. */
static const VsNode *tree_reader_peek(TreeReader *tr)
{
    ReaderFrame *f = tree_reader_top(tr);

    if (!f) {
        return tr->root_taken ? NULL : tr->root;
    }
    while (f->next < f->node->n_children && f->used && f->used[f->next]) {
        f->next++;
    }
    return f->next < f->node->n_children ? f->node->children[f->next] : NULL;
}

static void tree_reader_consume(TreeReader *tr)
{
    ReaderFrame *f = tree_reader_top(tr);

    if (f) {
        f->next++;
    } else {
        tr->root_taken = true;
    }
}

/* "uint16 'id'", "struct 'inner'", "uint8" (an element). */
static void describe(GString *s, VsNodeKind kind, unsigned width, const char *name)
{
    VsNode probe = { .kind = kind, .width = width };

    g_string_append(s, vs_node_type_name(&probe));
    if (name) {
        g_string_append_printf(s, " '%s'", name);
    }
}

static bool tree_reader_mismatch(VsVisitor *v, GError **errp, const VsNode *held,
                                 VsNodeKind kind, unsigned width, const char *name)
{
    g_autoptr(GString) what_held = g_string_new(NULL);
    g_autoptr(GString) expected = g_string_new(NULL);

    if (held) {
        describe(what_held, held->kind, held->width, held->name);
    } else {
        g_string_append(what_held, "nothing more");
    }
    describe(expected, kind, width, name);
    return vs_visit_fail(v, errp, VS_VISIT_ERROR_MISMATCH, "tree holds %s, the walker expects %s",
                         what_held->str, expected->str);
}

static bool names_equal(const char *a, const char *b)
{
    return (!a || !b) ? a == b : strcmp(a, b) == 0;
}

/*
 * Takes the next child, which must be a @kind of @width bytes (0 for
 * non-integers) named as the core's innermost frame.
 */
static const VsNode *tree_reader_take(VsVisitor *v, VsNodeKind kind, unsigned width,
                                      GError **errp)
{
    TreeReader *tr = to_tree_reader(v);
    const char *name = vs_visitor_top(v)->name;
    const VsNode *node = tree_reader_peek(tr);

    if (!node || node->kind != kind || node->width != width || !names_equal(node->name, name)) {
        tree_reader_mismatch(v, errp, node, kind, width, name);
        return NULL;
    }
    tree_reader_consume(tr);
    return node;
}

static bool tree_reader_check_length(VsVisitor *v, const VsNode *node, size_t len,
                                     GError **errp)
{
    if (node->len != len) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_MISMATCH,
                             "tree holds %zu bytes, the walker expects %zu", node->len, len);
    }
    return true;
}

/* ---- containers -------------------------------------------------------- */

static bool tree_reader_start_struct(VsVisitor *v, const char *name, const VsTypeInfo *type,
                                     uint32_t *version, GError **errp)
{
    const VsNode *node = tree_reader_take(v, VS_NODE_STRUCT, 0, errp);

    if (!node) {
        return false;
    }
    *version = node->version;
    tree_reader_push(to_tree_reader(v), node);
    return true;
}

static bool tree_reader_leftover(VsVisitor *v, const VsNode *node, GError **errp)
{
    g_autoptr(GString) what = g_string_new(NULL);

    if (node->kind == VS_NODE_SUBSECTION) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_SUBSECTION,
                             "tree holds subsection '%s' the walker does not know",
                             node->name ? node->name : "");
    }
    describe(what, node->kind, node->width, node->name);
    return vs_visit_fail(v, errp, VS_VISIT_ERROR_MISMATCH,
                         "tree holds %s after the walker's last field", what->str);
}

static bool tree_reader_check_struct(VsVisitor *v, GError **errp)
{
    const VsNode *left = tree_reader_peek(to_tree_reader(v));

    return left ? tree_reader_leftover(v, left, errp) : true;
}

static void tree_reader_end_struct(VsVisitor *v)
{
    tree_reader_pop(v);
}

static bool tree_reader_start_array(VsVisitor *v, const char *name, uint32_t *count,
                                    uint32_t max, size_t elem_size, GError **errp)
{
    const VsNode *node = tree_reader_take(v, VS_NODE_ARRAY, 0, errp);

    if (!node) {
        return false;
    }
    if (node->count != *count) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_MISMATCH,
                             "tree holds %" PRIu32 " elements, the walker expects %" PRIu32,
                             node->count, *count);
    }
    if (node->n_children != node->count) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_MISMATCH,
                             "tree declares %" PRIu32 " elements but holds %zu", node->count,
                             node->n_children);
    }
    tree_reader_push(to_tree_reader(v), node);
    return true;
}

static void tree_reader_end_array(VsVisitor *v)
{
    tree_reader_pop(v);
}

static bool tree_reader_start_list(VsVisitor *v, const char *name, uint32_t max,
                                   size_t elem_size, GError **errp)
{
    const VsNode *node = tree_reader_take(v, VS_NODE_LIST, 0, errp);

    if (!node) {
        return false;
    }
    if (node->n_children != node->count) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_MISMATCH,
                             "tree declares %" PRIu32 " elements but holds %zu", node->count,
                             node->n_children);
    }
    tree_reader_push(to_tree_reader(v), node);
    return true;
}

/* More while the list holds elements the walker has not visited yet. */
static bool tree_reader_list_next(VsVisitor *v, bool *more, GError **errp)
{
    const ReaderFrame *f = tree_reader_top(to_tree_reader(v));

    /* The core only lets list_next run directly inside a list. */
    g_assert(f != NULL && f->node->kind == VS_NODE_LIST);
    *more = f->next < f->node->n_children;
    return true;
}

static void tree_reader_end_list(VsVisitor *v)
{
    tree_reader_pop(v);
}

/* Finds the not yet taken subsection @name among @f's children. */
static bool tree_reader_find_subsection(const ReaderFrame *f, const char *name,
                                        size_t *ret_index)
{
    for (size_t i = f->next; i < f->node->n_children; i++) {
        const VsNode *child = f->node->children[i];

        if (child->kind == VS_NODE_SUBSECTION && !(f->used && f->used[i]) &&
            names_equal(child->name, name)) {
            *ret_index = i;
            return true;
        }
    }
    return false;
}

static void tree_reader_mark_used(TreeReader *tr, ReaderFrame *f, size_t index)
{
    if (index == f->next) {
        f->next++;
        return;
    }
    if (!f->used) {
        f->used = talloc_zero_array(tr, bool, f->node->n_children);
        g_assert(f->used != NULL);
    }
    f->used[index] = true;
}

static bool tree_reader_start_subsection(VsVisitor *v, const char *name,
                                         const VsTypeInfo *type, uint32_t *version,
                                         bool *present, GError **errp)
{
    TreeReader *tr = to_tree_reader(v);
    ReaderFrame *f = tree_reader_top(tr);
    size_t index;

    /* The core only lets a subsection start inside a struct or subsection. */
    g_assert(f != NULL);
    *present = tree_reader_find_subsection(f, name, &index);
    if (*present) {
        const VsNode *node = f->node->children[index];

        tree_reader_mark_used(tr, f, index);
        *version = node->version;
        tree_reader_push(tr, node);
    }
    return true;
}

static void tree_reader_end_subsection(VsVisitor *v)
{
    tree_reader_pop(v);
}

/* ---- leaves ------------------------------------------------------------ */

static bool tree_reader_type_uint(VsVisitor *v, const char *name, uint64_t *val,
                                  unsigned width, GError **errp)
{
    const VsNode *node = tree_reader_take(v, VS_NODE_UINT, width, errp);

    if (!node) {
        return false;
    }
    *val = node->value.u;
    return true;
}

static bool tree_reader_type_int(VsVisitor *v, const char *name, int64_t *val,
                                 unsigned width, GError **errp)
{
    const VsNode *node = tree_reader_take(v, VS_NODE_INT, width, errp);

    if (!node) {
        return false;
    }
    *val = node->value.i;
    return true;
}

static bool tree_reader_type_bool(VsVisitor *v, const char *name, bool *val, GError **errp)
{
    const VsNode *node = tree_reader_take(v, VS_NODE_BOOL, 0, errp);

    if (!node) {
        return false;
    }
    *val = node->value.b;
    return true;
}

static bool tree_reader_type_f64(VsVisitor *v, const char *name, double *val, GError **errp)
{
    const VsNode *node = tree_reader_take(v, VS_NODE_F64, 0, errp);

    if (!node) {
        return false;
    }
    *val = node->value.f;
    return true;
}

static bool tree_reader_buffer(VsVisitor *v, const char *name, uint8_t *buf, size_t len,
                               GError **errp)
{
    const VsNode *node = tree_reader_take(v, VS_NODE_BUFFER, 0, errp);

    if (!node || !tree_reader_check_length(v, node, len, errp)) {
        return false;
    }
    if (len) {
        memcpy(buf, node->bytes, len);
    }
    return true;
}

static bool tree_reader_string(VsVisitor *v, const char *name, char **str, size_t max_len,
                               GError **errp)
{
    const VsNode *node = tree_reader_take(v, VS_NODE_STRING, 0, errp);

    if (!node) {
        return false;
    }
    *str = talloc_strdup(vs_visitor_result_ctx(v), node->str ? node->str : "");
    g_assert(*str != NULL);
    return true;
}

static bool tree_reader_unused(VsVisitor *v, const char *name, size_t len, GError **errp)
{
    const VsNode *node = tree_reader_take(v, VS_NODE_UNUSED, 0, errp);

    return node && tree_reader_check_length(v, node, len, errp);
}

/*
 * The caller's pointer decides: NULL means the tree must hold a null node
 * here (taken); non-NULL means it must hold the element, which the walker
 * visits next (so it is left for that visit).
 */
static bool tree_reader_nullptr_marker(VsVisitor *v, const char *name, bool *is_null,
                                       GError **errp)
{
    const VsNode *node;

    if (*is_null) {
        return tree_reader_take(v, VS_NODE_NULL, 0, errp) != NULL;
    }
    node = tree_reader_peek(to_tree_reader(v));
    if (!node || node->kind == VS_NODE_NULL) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_MISMATCH,
                             "tree holds %s, the walker expects a non-null element",
                             node ? "nullptr" : "nothing more");
    }
    return true;
}

static bool tree_reader_opaque(VsVisitor *v, const char *name, uint8_t **data, size_t *len,
                               size_t max_len, GError **errp)
{
    const VsNode *node = tree_reader_take(v, VS_NODE_OPAQUE, 0, errp);
    uint8_t *copy;

    if (!node) {
        return false;
    }
    if (node->len > max_len) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_LIMIT,
                             "payload of %zu bytes exceeds the maximum of %zu", node->len,
                             max_len);
    }
    copy = talloc_size(vs_visitor_result_ctx(v), node->len);
    g_assert(copy != NULL);
    if (node->len) {
        memcpy(copy, node->bytes, node->len);
    }
    *data = copy;
    *len = node->len;
    return true;
}

static bool tree_reader_complete(VsVisitor *v, GError **errp)
{
    TreeReader *tr = to_tree_reader(v);

    if (!tr->root_taken) {
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_MISMATCH,
                             "the walk never visited the tree's root '%s'",
                             tr->root->name ? tr->root->name : "<root>");
    }
    return true;
}

static const VsVisitorOps tree_reader_ops = {
    .kind = VS_VISITOR_LOAD,
    .impl_name = "tree-reader",
    .start_struct = tree_reader_start_struct,
    .check_struct = tree_reader_check_struct,
    .end_struct = tree_reader_end_struct,
    .start_array = tree_reader_start_array,
    .end_array = tree_reader_end_array,
    .start_subsection = tree_reader_start_subsection,
    .end_subsection = tree_reader_end_subsection,
    .start_list = tree_reader_start_list,
    .list_next = tree_reader_list_next,
    .end_list = tree_reader_end_list,
    .type_uint = tree_reader_type_uint,
    .type_int = tree_reader_type_int,
    .type_bool = tree_reader_type_bool,
    .type_f64 = tree_reader_type_f64,
    .buffer = tree_reader_buffer,
    .string = tree_reader_string,
    .unused = tree_reader_unused,
    .nullptr_marker = tree_reader_nullptr_marker,
    .opaque = tree_reader_opaque,
    .complete = tree_reader_complete,
};

VsVisitor *vs_tree_reader_new(TALLOC_CTX *mem_ctx, const VsNode *root, TALLOC_CTX *result_ctx)
{
    TreeReader *tr;

    g_assert(root != NULL);
    tr = vs_visitor_new(mem_ctx, &tree_reader_ops, TreeReader, result_ctx);
    tr->root = root;
    return &tr->base;
}
