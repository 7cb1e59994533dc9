/*
 * tree-builder.c: a SAVE visitor that records a walk as a VsNode tree
 * (see pretty.h).
 *
 * SPDX-License-Identifier: MIT
 *
 * Node names come from the core's innermost frame rather than from the
 * walker's @name argument: the core already turned array and list elements
 * into unnamed frames, so the tree agrees with the paths the core renders.
 * A list node counts its elements as they are appended.
 */
#include "visitor/pretty/pretty.h"
#include "visitor/visitor-impl.h"

typedef struct TreeBuilder {
    VsVisitor base;         /* must stay first */
    TALLOC_CTX *tree_ctx;   /* parent of the root */
    VsNode *root;
    VsNode *current;        /* innermost open container; NULL at the top level */
} TreeBuilder;

G_STATIC_ASSERT(offsetof(TreeBuilder, base) == 0);

static const VsVisitorOps tree_builder_ops;

static TreeBuilder *to_tree_builder(VsVisitor *v)
{
    return (TreeBuilder *)v;
}

/* The name of the part being visited: NULL for array and list elements. */
static const char *tree_builder_name(VsVisitor *v)
{
    return vs_visitor_top(v)->name;
}

/* Adds @node to the open container, or makes it the root. */
static bool tree_builder_add(VsVisitor *v, VsNode *node, GError **errp)
{
    TreeBuilder *tb = to_tree_builder(v);

    if (tb->current) {
        vs_node_append(tb->current, node);
        return true;
    }
    if (tb->root) {
        talloc_free(node);
        return vs_visit_fail(v, errp, VS_VISIT_ERROR_UNSUPPORTED,
                             "the tree builder holds one top-level part, '%s' is a second",
                             tb->root->name ? tb->root->name : "<root>");
    }
    tb->root = node;
    return true;
}

static bool tree_builder_open(VsVisitor *v, VsNode *node, GError **errp)
{
    if (!tree_builder_add(v, node, errp)) {
        return false;
    }
    to_tree_builder(v)->current = node;
    return true;
}

static void tree_builder_close(VsVisitor *v)
{
    TreeBuilder *tb = to_tree_builder(v);

    g_assert(tb->current != NULL);
    tb->current = tb->current->parent;
}

static bool tree_builder_start_struct(VsVisitor *v, const char *name, const VsTypeInfo *type,
                                      uint32_t *version, GError **errp)
{
    TALLOC_CTX *ctx = to_tree_builder(v)->tree_ctx;

    return tree_builder_open(v, vs_node_new_struct(ctx, tree_builder_name(v), type->name,
                                                   type->wire_name, *version),
                             errp);
}

static void tree_builder_end_struct(VsVisitor *v)
{
    tree_builder_close(v);
}

static bool tree_builder_start_array(VsVisitor *v, const char *name, uint32_t *count,
                                     uint32_t max, size_t elem_size, GError **errp)
{
    TALLOC_CTX *ctx = to_tree_builder(v)->tree_ctx;

    return tree_builder_open(
        v, vs_node_new_array(ctx, tree_builder_name(v), *count, elem_size), errp);
}

static void tree_builder_end_array(VsVisitor *v)
{
    tree_builder_close(v);
}

static bool tree_builder_start_list(VsVisitor *v, const char *name, uint32_t max,
                                    size_t elem_size, GError **errp)
{
    TALLOC_CTX *ctx = to_tree_builder(v)->tree_ctx;

    return tree_builder_open(v, vs_node_new_list(ctx, tree_builder_name(v), elem_size), errp);
}

/* The markers leave no node: the elements are the list's children. */
static bool tree_builder_list_next(VsVisitor *v, bool *more, GError **errp)
{
    return true;
}

static void tree_builder_end_list(VsVisitor *v)
{
    tree_builder_close(v);
}

static bool tree_builder_start_subsection(VsVisitor *v, const char *name,
                                          const VsTypeInfo *type, uint32_t *version,
                                          bool *present, GError **errp)
{
    TALLOC_CTX *ctx = to_tree_builder(v)->tree_ctx;

    if (!*present) {
        return true;
    }
    return tree_builder_open(v, vs_node_new_subsection(ctx, name, type->name, *version),
                             errp);
}

static void tree_builder_end_subsection(VsVisitor *v)
{
    tree_builder_close(v);
}

static bool tree_builder_type_uint(VsVisitor *v, const char *name, uint64_t *val,
                                   unsigned width, GError **errp)
{
    TALLOC_CTX *ctx = to_tree_builder(v)->tree_ctx;

    return tree_builder_add(v, vs_node_new_uint(ctx, tree_builder_name(v), width, *val), errp);
}

static bool tree_builder_type_int(VsVisitor *v, const char *name, int64_t *val,
                                  unsigned width, GError **errp)
{
    TALLOC_CTX *ctx = to_tree_builder(v)->tree_ctx;

    return tree_builder_add(v, vs_node_new_int(ctx, tree_builder_name(v), width, *val), errp);
}

static bool tree_builder_type_bool(VsVisitor *v, const char *name, bool *val, GError **errp)
{
    TALLOC_CTX *ctx = to_tree_builder(v)->tree_ctx;

    return tree_builder_add(v, vs_node_new_bool(ctx, tree_builder_name(v), *val), errp);
}

static bool tree_builder_type_f64(VsVisitor *v, const char *name, double *val, GError **errp)
{
    TALLOC_CTX *ctx = to_tree_builder(v)->tree_ctx;

    return tree_builder_add(v, vs_node_new_f64(ctx, tree_builder_name(v), *val), errp);
}

static bool tree_builder_buffer(VsVisitor *v, const char *name, uint8_t *buf, size_t len,
                                GError **errp)
{
    TALLOC_CTX *ctx = to_tree_builder(v)->tree_ctx;

    return tree_builder_add(v, vs_node_new_buffer(ctx, tree_builder_name(v), buf, len), errp);
}

static bool tree_builder_string(VsVisitor *v, const char *name, char **str, size_t max_len,
                                GError **errp)
{
    TALLOC_CTX *ctx = to_tree_builder(v)->tree_ctx;

    return tree_builder_add(v, vs_node_new_string(ctx, tree_builder_name(v), *str), errp);
}

static bool tree_builder_unused(VsVisitor *v, const char *name, size_t len, GError **errp)
{
    TALLOC_CTX *ctx = to_tree_builder(v)->tree_ctx;

    return tree_builder_add(v, vs_node_new_unused(ctx, tree_builder_name(v), len), errp);
}

/* A present pointer adds nothing: the pointee is visited next as the element. */
static bool tree_builder_nullptr_marker(VsVisitor *v, const char *name, bool *is_null,
                                        GError **errp)
{
    TALLOC_CTX *ctx = to_tree_builder(v)->tree_ctx;

    if (!*is_null) {
        return true;
    }
    return tree_builder_add(v, vs_node_new_null(ctx, tree_builder_name(v)), errp);
}

static bool tree_builder_opaque(VsVisitor *v, const char *name, uint8_t **data, size_t *len,
                                size_t max_len, GError **errp)
{
    TALLOC_CTX *ctx = to_tree_builder(v)->tree_ctx;

    return tree_builder_add(v, vs_node_new_opaque(ctx, tree_builder_name(v), *data, *len),
                            errp);
}

static const VsVisitorOps tree_builder_ops = {
    .kind = VS_VISITOR_SAVE,
    .impl_name = "tree-builder",
    .start_struct = tree_builder_start_struct,
    .end_struct = tree_builder_end_struct,
    .start_array = tree_builder_start_array,
    .end_array = tree_builder_end_array,
    .start_subsection = tree_builder_start_subsection,
    .end_subsection = tree_builder_end_subsection,
    .start_list = tree_builder_start_list,
    .list_next = tree_builder_list_next,
    .end_list = tree_builder_end_list,
    .type_uint = tree_builder_type_uint,
    .type_int = tree_builder_type_int,
    .type_bool = tree_builder_type_bool,
    .type_f64 = tree_builder_type_f64,
    .buffer = tree_builder_buffer,
    .string = tree_builder_string,
    .unused = tree_builder_unused,
    .nullptr_marker = tree_builder_nullptr_marker,
    .opaque = tree_builder_opaque,
};

VsVisitor *vs_tree_builder_new(TALLOC_CTX *mem_ctx, TALLOC_CTX *tree_ctx)
{
    TreeBuilder *tb = vs_visitor_new(mem_ctx, &tree_builder_ops, TreeBuilder, NULL);

    tb->tree_ctx = tree_ctx ? tree_ctx : (TALLOC_CTX *)tb;
    return &tb->base;
}

VsNode *vs_tree_builder_root(VsVisitor *v)
{
    g_return_val_if_fail(v != NULL && v->ops == &tree_builder_ops, NULL);
    return to_tree_builder(v)->root;
}
