/*
 * tree-walk.h: drive any visitor from a state tree.
 *
 * SPDX-License-Identifier: MIT
 *
 * vs_node_walk() is the walker of a VsNode tree: it calls the visitor
 * operations a walker would have called to produce the tree, in wire order.
 * That makes a tree the universal source of a walk: a section loaded from a
 * stream is re-encoded with vs_node_walk(state, legacy SAVE visitor), and
 * converted to another format with that format's visitor, without any
 * compiled walker for the device.
 *
 *     VsVisitor *save = vs_legacy_save_visitor_new(ctx, out);
 *     ok = vs_node_walk(section->state, save, errp) &&
 *          vs_visitor_complete(save, errp);
 *     vs_visitor_free(save);
 */
#ifndef VSTATE_TREE_WALK_H
#define VSTATE_TREE_WALK_H

#include "visitor/pretty/state-tree.h"
#include "visitor/visitor.h"

G_BEGIN_DECLS

/*
 * vs_node_walk: visit @root and its subtree with @v.
 * @root: the tree; borrowed, must outlive the call
 * @v: any visitor, usually a SAVE visitor; it is not completed
 * @errp: the visitor's error (with its field path), or VS_VISIT_ERROR_CONTRACT
 *   for a tree that no walk could have produced (an array whose count is
 *   not its number of children)
 *
 * What each node becomes:
 *   struct       vs_visit_start_struct() with a VsTypeInfo made from the
 *                node (type name, wire name, version = minimum_version = the
 *                node's version), the children, vs_visit_check_struct(),
 *                vs_visit_end_struct()
 *   subsection   vs_visit_start_subsection() with present = true and the
 *                node's version; a LOAD visitor that finds it absent fails
 *                the walk (VS_VISIT_ERROR_MISMATCH)
 *   array        vs_visit_start_array() with the node's count (also its
 *                maximum) and element size; when any element is a NULL
 *                node the array is taken to be an array of pointers and
 *                every other element is preceded by vs_visit_nullptr()
 *                with is_null = false (the tree builder keeps no node for
 *                a present pointer's marker)
 *   list         vs_visit_start_list() with the number of children as the
 *                maximum, vs_visit_list_next() before each element and once
 *                at the end
 *   leaves       the matching vs_visit_*(): integers with their width,
 *                bool, f64, buffer, string, unused (its length; legacy
 *                writes zeros), nullptr (is_null = true), opaque
 *
 * Values are read from the tree; a LOAD visitor writes into scratch copies
 * that are dropped (the tree is never modified), so a LOAD visitor can be
 * used to check that a stream has the tree's shape.
 *
 * Returns: true on success.
 */
bool vs_node_walk(const VsNode *root, VsVisitor *v, GError **errp);

G_END_DECLS

#endif /* VSTATE_TREE_WALK_H */
