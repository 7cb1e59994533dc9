/*
 * tree-walk.c: vs_node_walk(), the walker of a state tree (see tree-walk.h).
 *
 * SPDX-License-Identifier: MIT
 *
 * Recursion follows the tree's depth, which the walk that built it bounded
 * (stream descriptions are parsed with a depth limit).  Type descriptors
 * are made per struct node and freed when its walk ends: the core keeps a
 * pointer to the type only while the struct is open.
 */
#include "visitor/pretty/tree-walk.h"

#include <inttypes.h>
#include <string.h>

/* QEMU's counted strings: the usual maximum for a string a load reads. */
#define TREE_WALK_STRING_MAX 255

static bool walk_node(const VsNode *n, VsVisitor *v, GError **errp);

static VsTypeInfo *walk_type(const VsNode *n)
{
    VsTypeInfo *t = talloc_zero(NULL, VsTypeInfo);

    g_assert(t != NULL);
    t->name = n->type_name ? n->type_name : "";
    t->wire_name = n->wire_name ? n->wire_name : n->name ? n->name : "";
    t->version = n->version;
    t->minimum_version = n->version;
    return t;
}

static bool walk_children(const VsNode *n, VsVisitor *v, GError **errp)
{
    for (size_t i = 0; i < n->n_children; i++) {
        if (!walk_node(n->children[i], v, errp)) {
            return false;
        }
    }
    return true;
}

static bool walk_struct(const VsNode *n, VsVisitor *v, GError **errp)
{
    VsTypeInfo *t = walk_type(n);
    uint32_t version = n->version;
    bool ok;

    if (!vs_visit_start_struct(v, n->name, t, &version, errp)) {
        talloc_free(t);
        return false;
    }
    ok = walk_children(n, v, errp) && vs_visit_check_struct(v, errp);
    vs_visit_end_struct(v);
    talloc_free(t);
    return ok;
}

static bool walk_subsection(const VsNode *n, VsVisitor *v, GError **errp)
{
    VsTypeInfo *t = walk_type(n);
    uint32_t version = n->version;
    bool present = true;
    bool ok;

    if (!vs_visit_start_subsection(v, n->name, t, &version, &present, errp)) {
        talloc_free(t);
        return false;
    }
    if (!present) {
        talloc_free(t);
        return vs_visit_report(v, NULL, errp, VS_VISIT_ERROR_MISMATCH,
                               "subsection '%s' of the tree is not in the stream", n->name);
    }
    ok = walk_children(n, v, errp) && vs_visit_check_struct(v, errp);
    vs_visit_end_subsection(v);
    talloc_free(t);
    return ok;
}

static bool walk_has_null(const VsNode *n)
{
    for (size_t i = 0; i < n->n_children; i++) {
        if (n->children[i]->kind == VS_NODE_NULL) {
            return true;
        }
    }
    return false;
}

static bool walk_array(const VsNode *n, VsVisitor *v, GError **errp)
{
    uint32_t count = n->count;
    bool pointers = walk_has_null(n);
    bool ok = true;

    if (n->n_children != n->count) {
        return vs_visit_report(v, n->name, errp, VS_VISIT_ERROR_CONTRACT,
                               "array node declares %" PRIu32 " elements but holds %zu", n->count,
                               n->n_children);
    }
    if (!vs_visit_start_array(v, n->name, &count, n->count, n->elem_size, errp)) {
        return false;
    }
    if (count != n->count) {
        ok = vs_visit_report(v, NULL, errp, VS_VISIT_ERROR_MISMATCH,
                             "the visitor has %" PRIu32 " elements, the tree %" PRIu32, count,
                             n->count);
    }
    for (size_t i = 0; ok && i < n->n_children; i++) {
        const VsNode *child = n->children[i];

        if (pointers && child->kind != VS_NODE_NULL) {
            bool is_null = false;

            ok = vs_visit_nullptr(v, NULL, &is_null, errp);
        }
        ok = ok && walk_node(child, v, errp);
    }
    vs_visit_end_array(v);
    return ok;
}

static bool walk_list(const VsNode *n, VsVisitor *v, GError **errp)
{
    uint32_t max = n->n_children > UINT32_MAX ? UINT32_MAX : (uint32_t)n->n_children;
    bool ok = true;
    bool more;

    if (!vs_visit_start_list(v, n->name, max, n->elem_size, errp)) {
        return false;
    }
    for (size_t i = 0; ok && i < n->n_children; i++) {
        more = true;
        ok = vs_visit_list_next(v, &more, errp);
        if (ok && !more) {
            ok = vs_visit_report(v, NULL, errp, VS_VISIT_ERROR_MISMATCH,
                                 "the list ends after %zu of the tree's %zu elements", i,
                                 n->n_children);
        }
        ok = ok && walk_node(n->children[i], v, errp);
    }
    if (ok) {
        more = false;
        ok = vs_visit_list_next(v, &more, errp);
        if (ok && more) {
            ok = vs_visit_report(v, NULL, errp, VS_VISIT_ERROR_MISMATCH,
                                 "the list holds more than the tree's %zu elements",
                                 n->n_children);
        }
    }
    vs_visit_end_list(v);
    return ok;
}

/* Bytes a visitor may write to: the tree's own for SAVE, a copy for LOAD. */
static uint8_t *walk_bytes(const VsNode *n, VsVisitor *v, TALLOC_CTX *tmp)
{
    if (!vs_visit_is_load(v)) {
        return (uint8_t *)n->bytes;
    }
    if (!n->len) {
        return NULL;
    }
    return talloc_memdup(tmp, n->bytes, n->len);
}

static bool walk_blob(const VsNode *n, VsVisitor *v, GError **errp)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    uint8_t *bytes = walk_bytes(n, v, tmp);
    size_t len = n->len;
    bool ok;

    if (n->kind == VS_NODE_BUFFER) {
        ok = vs_visit_buffer(v, n->name, bytes, len, errp);
    } else {
        ok = vs_visit_opaque(v, n->name, &bytes, &len, n->len, errp);
    }
    talloc_free(tmp);
    return ok;
}

static bool walk_string(const VsNode *n, VsVisitor *v, GError **errp)
{
    char *s = n->str;
    size_t len = s ? strlen(s) : 0;

    return vs_visit_string(v, n->name, &s, MAX(len, TREE_WALK_STRING_MAX), errp);
}

static bool walk_scalar(const VsNode *n, VsVisitor *v, GError **errp)
{
    /* Only the union member of the node's kind holds a value. */
    switch (n->kind) {
    case VS_NODE_UINT: {
        uint64_t u = n->value.u;

        return vs_visit_uint(v, n->name, &u, n->width, errp);
    }
    case VS_NODE_INT: {
        int64_t i = n->value.i;

        return vs_visit_int(v, n->name, &i, n->width, errp);
    }
    case VS_NODE_BOOL: {
        bool b = n->value.b;

        return vs_visit_bool(v, n->name, &b, errp);
    }
    case VS_NODE_F64: {
        double f = n->value.f;

        return vs_visit_f64(v, n->name, &f, errp);
    }
    case VS_NODE_UNUSED:
        return vs_visit_unused(v, n->name, n->len, errp);
    default: {
        bool is_null = true;

        g_assert(n->kind == VS_NODE_NULL);
        return vs_visit_nullptr(v, n->name, &is_null, errp);
    }
    }
}

static bool walk_node(const VsNode *n, VsVisitor *v, GError **errp)
{
    switch (n->kind) {
    case VS_NODE_STRUCT:
        return walk_struct(n, v, errp);
    case VS_NODE_SUBSECTION:
        return walk_subsection(n, v, errp);
    case VS_NODE_ARRAY:
        return walk_array(n, v, errp);
    case VS_NODE_LIST:
        return walk_list(n, v, errp);
    case VS_NODE_BUFFER:
    case VS_NODE_OPAQUE:
        return walk_blob(n, v, errp);
    case VS_NODE_STRING:
        return walk_string(n, v, errp);
    default:
        return walk_scalar(n, v, errp);
    }
}

bool vs_node_walk(const VsNode *root, VsVisitor *v, GError **errp)
{
    g_return_val_if_fail(root != NULL && v != NULL, false);
    return walk_node(root, v, errp);
}
