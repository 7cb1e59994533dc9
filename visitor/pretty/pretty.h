/*
 * pretty.h: state trees from walks and back, and the renderings people and
 * scripts read: trace lines, an indented tree, JSON.
 *
 * SPDX-License-Identifier: MIT
 *
 * Theory of operation
 * ===================
 *
 * Three visitors connect walks (visitor.h) with state trees (state-tree.h):
 *
 *   - the tree builder (SAVE) records a walk as a VsNode tree;
 *   - the tree reader (LOAD) walks a tree back into the walker's object;
 *   - the trace visitor (SAVE) writes trace lines while the walk runs, so a
 *     walk that fails half-way (for instance a legacy load tee'd with it, see
 *     tee-visitor.h) shows how far it got.
 *
 * Renderings of a tree (vs_render_*):
 *
 *   TRACE: one line per scalar, stable and diff-friendly:
 *       PIIX3.dev.config(256)(1).[255] = (uint8) 0x0
 *       i8259.irr = (uint8) 0x10
 *       slirp.bootp.bootp_clients(16)(8).[0].macaddr(6)(1).[0] = (uint8) 0x1
 *     The path is the field names joined by '.'; an array is written
 *     name(count)(elem_size) and its elements .[i]; a list is written
 *     name(list) and its elements .[i] ("t.entries(list).[2].id"); a
 *     subsection's component is its wire name
 *     ("vsdemo.vsdemo/irq.irq_pending").  Values:
 *       integers   (uint8)..(uint64), (int8)..(int64): lowercase hex with 0x,
 *                  negative signed values as -0x5
 *       bool       (bool) true / (bool) false
 *       f64        (float64) printed with %.17g
 *       buffers and opaque payloads: one line per byte, as an array of uint8:
 *                  name(len)(1).[i] = (uint8) 0x..
 *       strings    (string) "text", C escapes (\" \\ \n \t \r \xNN)
 *       unused     path = (unused) N bytes
 *       NULL element of an array of pointers: path.[i] = (nullptr)
 *     Paths are exactly those of vs_visitor_trace_path() during the walk, so
 *     the trace visitor's output equals the TRACE rendering of the tree the
 *     builder makes of the same walk.
 *
 *   TREE: for people; two spaces of indent per level:
 *       vsdemo (VsExDemo v2)
 *         id = 0x1235 (uint16)
 *         regs[4]
 *           [0..2] (3 equal) = 0x0 (uint16)
 *           [3] = 0x401 (uint16)
 *         blob: 8 bytes
 *           00000000  76 73 74 61 74 65 21 00                           |vstate!.|
 *         unused: 3 bytes (unused)
 *         vsdemo/irq (subsection VsExDemoIrq v1)
 *           irq_pending = 0x1 (uint8)
 *     Structs show "name (Type vN)", subsections "name (subsection Type vN)",
 *     arrays "name[count]", lists "name (list of N)"; the elements of both
 *     follow as "[i]".  Runs of two or more equal consecutive elements
 *     (equal subtrees) are folded into one "[a..b] (n equal)" entry.
 *     Buffers and opaque payloads show "name: N bytes" (opaque: "name: N
 *     bytes (opaque)") and a hexdump -C style dump: offset, 16 bytes in two
 *     groups of 8, the ASCII column; a line equal to the one before is
 *     folded into a single "*" line, and a dump that ends folded closes with
 *     the end offset.  Strings: name = "text" (string); NULL elements:
 *     [i] = null.
 *
 *   JSON: one object per node:
 *       {"name": "irr", "kind": "uint", "width": 1, "value": 16}
 *     Every object has "kind" (vs_node_kind_name()) and, unless it is an
 *     array or list element, "name" ("<root>" for an unnamed root).  Further
 *     members by kind:
 *       struct, subsection  "type", "wire_name", "version", "children"
 *       array, list         "count", "elem_size", "children" (a list's count
 *                           is its number of elements)
 *       uint, int           "width", "value": a JSON number when width <= 4;
 *                           for width 8 always a decimal string
 *                           ("72623859790382856", "-5"), so 64-bit values
 *                           never lose precision in a double-based parser
 *       bool                "value": true / false
 *       f64                 "value": a number (%.17g); "nan", "inf" or
 *                           "-inf" as strings
 *       buffer, opaque      "length", "value": lowercase hex digits, no spaces
 *       string              "value": the text (escaped; invalid UTF-8 bytes as
 *                           \u00XX)
 *       unused              "length"
 *       null                nothing more
 *     "children" lists the children in wire order.  Compact mode writes no
 *     whitespace; pretty mode writes each container's children on their own
 *     lines, indented by two spaces per level, and each leaf on one line.
 *     Both end with a newline.
 *
 * Example: print a walk as trace lines and as a tree
 *
 *     VsVisitor *b = vs_tree_builder_new(ctx, ctx);
 *     g_autoptr(GString) out = g_string_new(NULL);
 *
 *     if (vs_ex_visit_pic(b, "i8259", &pic, errp) && vs_visitor_complete(b, errp)) {
 *         vs_render_trace(out, vs_tree_builder_root(b));
 *         vs_render_tree(out, vs_tree_builder_root(b));
 *     }
 *     vs_visitor_free(b);
 */
#ifndef VSTATE_PRETTY_H
#define VSTATE_PRETTY_H

#include <stdio.h>

#include "visitor/pretty/state-tree.h"
#include "visitor/visitor.h"

G_BEGIN_DECLS

/* ---- tree builder ------------------------------------------------------ */

/*
 * vs_tree_builder_new: a SAVE visitor that records one walk as a VsNode tree.
 * @mem_ctx: talloc parent of the visitor
 * @tree_ctx: talloc parent of the tree's root; NULL means the visitor (the
 *   tree is then freed with it)
 *
 * The walk's top-level part becomes the root; a second top-level part fails
 * with VS_VISIT_ERROR_UNSUPPORTED.  Subsections that are not present make no
 * node; the non-NULL marker of an array of pointers makes none either (the
 * pointee's node is the element).
 *
 * Ownership: the visitor is a child of @mem_ctx; free it with
 * vs_visitor_free().  Freeing it does not free a tree under @tree_ctx.
 * Returns: the visitor; never NULL.
 */
VsVisitor *vs_tree_builder_new(TALLOC_CTX *mem_ctx, TALLOC_CTX *tree_ctx);

/*
 * vs_tree_builder_root: the tree built so far.
 * @v: a visitor made by vs_tree_builder_new() (asserted)
 *
 * After a failed walk the tree holds what was visited before the failure.
 *
 * Ownership: borrowed from @tree_ctx (or from @v when it was NULL);
 * talloc_steal() it to keep it elsewhere.
 * Returns: the root, or NULL when nothing was visited.
 */
VsNode *vs_tree_builder_root(VsVisitor *v);

/* ---- tree reader ------------------------------------------------------- */

/*
 * vs_tree_reader_new: a LOAD visitor that walks @root into the walker's
 * object.
 * @mem_ctx: talloc parent of the visitor
 * @root: the tree; borrowed, must outlive the visitor
 * @result_ctx: talloc parent of what the load allocates (strings, opaque
 *   payloads); NULL means the visitor
 *
 * The walk must match the tree part by part: the top-level part is @root,
 * fields match the children of their struct in order, array counts equal
 * the nodes' counts.  A part whose kind, name, integer width, count or
 * length differs from the tree's fails with VS_VISIT_ERROR_MISMATCH, naming
 * what the tree held and what the walker expected
 * ("vsdemo.id: tree holds uint8 'id', the walker expects uint16 'id'").
 * Struct and subsection versions come from the tree (they replace
 * *version).  A list node answers vs_visit_list_next() with more = true
 * while it holds elements not yet visited, then false; its count must equal
 * its number of children.  A subsection is present when the tree's struct
 * holds it (in any position after the fields visited so far);
 * vs_visit_check_struct() fails with VS_VISIT_ERROR_SUBSECTION for a
 * subsection the walker did not ask for and with VS_VISIT_ERROR_MISMATCH for
 * other nodes left over.  An opaque payload takes the tree's length
 * (VS_VISIT_ERROR_LIMIT above @max_len).  vs_visitor_complete() fails if
 * @root was never visited.
 *
 * Ownership: the visitor is a child of @mem_ctx; free it with
 * vs_visitor_free().
 * Returns: the visitor; never NULL.
 */
VsVisitor *vs_tree_reader_new(TALLOC_CTX *mem_ctx, const VsNode *root,
                              TALLOC_CTX *result_ctx);

/* ---- trace visitor ----------------------------------------------------- */

/*
 * vs_trace_visitor_new: a SAVE visitor that appends TRACE lines to @out as
 * the walk goes.
 * @mem_ctx: talloc parent of the visitor
 * @out: where lines are appended; borrowed, must outlive the visitor
 *
 * Ownership: the visitor is a child of @mem_ctx; free it with
 * vs_visitor_free().
 * Returns: the visitor; never NULL.
 */
VsVisitor *vs_trace_visitor_new(TALLOC_CTX *mem_ctx, GString *out);

/*
 * vs_trace_visitor_new_file: as vs_trace_visitor_new(), writing to @fp.
 * @mem_ctx: talloc parent of the visitor
 * @fp: an open stream; borrowed, must outlive the visitor
 *
 * Each scalar's lines are written when it is visited; vs_visitor_complete()
 * flushes @fp.  A write that fails fails the visit with VS_VISIT_ERROR_IO.
 *
 * Ownership: the visitor is a child of @mem_ctx; it never closes @fp.
 * Returns: the visitor; never NULL.
 */
VsVisitor *vs_trace_visitor_new_file(TALLOC_CTX *mem_ctx, FILE *fp);

/* ---- renderings -------------------------------------------------------- */

typedef enum VsRenderFormat {
    VS_RENDER_TRACE,
    VS_RENDER_TREE,
    VS_RENDER_JSON,         /* compact */
    VS_RENDER_JSON_PRETTY,  /* indented */
    VS_RENDER__MAX,
} VsRenderFormat;

/*
 * vs_render_trace: append the TRACE lines of @root to @out.
 * @out: the string appended to
 * @root: the tree; paths start with its name; NULL appends nothing
 */
void vs_render_trace(GString *out, const VsNode *root);

/*
 * vs_render_tree: append the TREE rendering of @root to @out.
 * @out: the string appended to
 * @root: the tree; NULL appends nothing
 */
void vs_render_tree(GString *out, const VsNode *root);

/*
 * vs_render_json: append the JSON rendering of @root to @out.
 * @out: the string appended to
 * @root: the tree; NULL appends "null"
 * @pretty: indented (true) or compact (false)
 */
void vs_render_json(GString *out, const VsNode *root, bool pretty);

/*
 * vs_render: append @root to @out in @format.
 * @out: the string appended to
 * @root: the tree
 * @format: a format below VS_RENDER__MAX (asserted)
 */
void vs_render(GString *out, const VsNode *root, VsRenderFormat format);

/*
 * vs_render_file: write @root to @fp in @format.
 * @fp: an open stream; it is not flushed or closed
 * @root: the tree
 * @format: a format below VS_RENDER__MAX
 * @errp: set when writing fails (G_FILE_ERROR from errno)
 *
 * Returns: true on success.
 */
bool vs_render_file(FILE *fp, const VsNode *root, VsRenderFormat format, GError **errp);

/*
 * vs_render_trace_leaf: append the TRACE line(s) of one leaf at @path.
 * @out: the string appended to
 * @path: the leaf's trace-form path (what vs_visitor_trace_path() gives)
 * @leaf: a node that is not a struct, subsection, array or list (asserted)
 *
 * The renderer and the trace visitor both write through this function; a
 * visitor author can use it for trace-compatible output.
 */
void vs_render_trace_leaf(GString *out, const char *path, const VsNode *leaf);

G_END_DECLS

#endif /* VSTATE_PRETTY_H */
