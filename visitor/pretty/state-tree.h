/*
 * state-tree.h: a typed tree of device state (VsNode), the form in which
 * stream loaders keep a section, the pretty renderings print it and the
 * `vstate` tools compare it.
 *
 * SPDX-License-Identifier: MIT
 *
 * Theory of operation
 * ===================
 *
 * A walk (visitor.h) is a sequence of nested parts; a VsNode tree records
 * one walk with everything the walk said about each part: names, types,
 * widths, versions, array counts and element sizes, and the values.  The
 * tree builder (pretty.h) makes a tree from any walk; the tree reader walks
 * a tree back into an object; render.c prints a tree as trace lines, as an
 * indented tree for people, or as JSON.
 *
 * Shape.  Structs, subsections, arrays and lists are containers; their
 * children are kept in wire order.  A child of a struct or subsection has a
 * name; a child of an array or list is an element and has none (name
 * NULL): its index is its position.  A list records a walk's
 * vs_visit_start_list(): its count is always its number of children.  An
 * element that is a NULL pointer in an array of pointers is a VS_NODE_NULL
 * node; a present pointer's element is the pointee's node itself.  A
 * subsection that was not sent has no node.
 *
 * Fields.  VsNode is a plain struct so readers can look at it directly;
 * which fields mean something depends on the kind (see the struct).  Build
 * trees with the vs_node_new_*() constructors and vs_node_append(); do not
 * write the fields of a node that is part of a tree.
 *
 * Memory.  Every node is a talloc object; vs_node_append() makes the child a
 * talloc child of its parent, so freeing the root (or the context it was
 * created under) frees the whole tree.  Strings and bytes are copied into the
 * nodes.  vs_node_free() frees a node and unlinks it from its parent.
 *
 * Paths.  vs_node_path() and vs_node_compare() name nodes as error messages
 * do (`vsdemo.chans[1].mask`): names joined by '.', elements as [i], the
 * root by its name (`<root>` when it has none).
 *
 * Example: the tree of `i8259 { irr = 0x10 }` and a lookup in it
 *
 *     VsNode *pic = vs_node_new_struct(ctx, "i8259", "VsExPic", "i8259", 1);
 *
 *     vs_node_append(pic, vs_node_new_uint(ctx, "irr", 1, 0x10));
 *     g_assert(vs_node_child(pic, "irr")->value.u == 0x10);
 *     g_assert(vs_node_lookup(pic, "i8259.irr") == vs_node_child(pic, "irr"));
 *     g_assert(vs_node_count(pic) == 2);
 *     vs_node_free(pic);
 */
#ifndef VSTATE_STATE_TREE_H
#define VSTATE_STATE_TREE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <talloc.h>

G_BEGIN_DECLS

/* What a node holds. */
typedef enum VsNodeKind {
    VS_NODE_STRUCT,     /* children: the fields */
    VS_NODE_SUBSECTION, /* children: the fields; name is the wire name */
    VS_NODE_ARRAY,      /* children: the elements (name NULL) */
    VS_NODE_UINT,       /* value.u, width */
    VS_NODE_INT,        /* value.i, width */
    VS_NODE_BOOL,       /* value.b */
    VS_NODE_F64,        /* value.f */
    VS_NODE_BUFFER,     /* bytes, len */
    VS_NODE_STRING,     /* str */
    VS_NODE_UNUSED,     /* len (padding bytes) */
    VS_NODE_NULL,       /* a NULL element of an array of pointers */
    VS_NODE_OPAQUE,     /* bytes, len (a payload with no schema) */
    VS_NODE_LIST,       /* children: the elements (name NULL); count = n_children */
    VS_NODE__MAX,
} VsNodeKind;

typedef struct VsNode VsNode;

/*
 * VsNode: one part of a walk.
 * @kind: what the node holds
 * @name: field name; NULL for array and list elements (and an unnamed root)
 * @parent: the container holding the node, NULL for a root
 * @type_name: structs and subsections: the schema type name ("VsExPic")
 * @wire_name: structs and subsections: the vmsd name ("i8259")
 * @version: structs and subsections: the version the walk used
 * @count: arrays: the element count the walk declared; lists: the number of
 *   children (vs_node_append() and vs_node_free() keep it)
 * @elem_size: arrays and lists: wire size of one element in bytes (0 when it
 *   varies)
 * @width: integers: 1, 2, 4 or 8 bytes
 * @value: integers, bool, f64
 * @bytes: buffers and opaque payloads: @len bytes (NULL when @len is 0)
 * @len: buffers, opaque payloads and unused padding: length in bytes
 * @str: strings: NUL-terminated text
 * @children: containers: @n_children child pointers in wire order
 * @children_alloc: allocated slots of @children (the tree's business)
 */
struct VsNode {
    VsNodeKind kind;
    char *name;
    VsNode *parent;
    char *type_name;
    char *wire_name;
    uint32_t version;
    uint32_t count;
    size_t elem_size;
    unsigned width;
    union {
        uint64_t u;
        int64_t i;
        bool b;
        double f;
    } value;
    uint8_t *bytes;
    size_t len;
    char *str;
    VsNode **children;
    size_t n_children;
    size_t children_alloc;
};

/*
 * vs_node_new: a node of @kind with no value and no children.
 * @mem_ctx: talloc parent of the node
 * @kind: what it holds
 * @name: field name, copied; NULL for array elements
 *
 * The typed constructors below are usually what you want.
 *
 * Ownership: a talloc child of @mem_ctx; vs_node_append() moves it under
 * its parent.
 * Returns: the new node; never NULL (allocation failure aborts).
 */
VsNode *vs_node_new(TALLOC_CTX *mem_ctx, VsNodeKind kind, const char *name);

/*
 * vs_node_new_struct: a struct node.
 * @mem_ctx: talloc parent of the node
 * @name: field name or section name, copied; NULL for an array element
 * @type_name: schema type name, copied
 * @wire_name: vmsd name, copied
 * @version: the version the walk used
 *
 * Ownership: as vs_node_new().
 * Returns: the new node; never NULL.
 */
VsNode *vs_node_new_struct(TALLOC_CTX *mem_ctx, const char *name, const char *type_name,
                           const char *wire_name, uint32_t version);

/*
 * vs_node_new_subsection: a subsection node; its name and wire name are
 * both @wire_name ("vsdemo/irq").
 * @mem_ctx: talloc parent of the node
 * @wire_name: the subsection's wire name, copied
 * @type_name: schema type name, copied
 * @version: the version the walk used
 *
 * Ownership: as vs_node_new().
 * Returns: the new node; never NULL.
 */
VsNode *vs_node_new_subsection(TALLOC_CTX *mem_ctx, const char *wire_name,
                               const char *type_name, uint32_t version);

/*
 * vs_node_new_array: an array node; append its @count elements to it.
 * @mem_ctx: talloc parent of the node
 * @name: field name, copied; NULL for an array element
 * @count: declared element count
 * @elem_size: wire size of one element in bytes, 0 when it varies
 *
 * Ownership: as vs_node_new().
 * Returns: the new node; never NULL.
 */
VsNode *vs_node_new_array(TALLOC_CTX *mem_ctx, const char *name, uint32_t count,
                          size_t elem_size);

/*
 * vs_node_new_list: an empty list node; append its elements to it (each
 * vs_node_append() counts one).
 * @mem_ctx: talloc parent of the node
 * @name: field name, copied; NULL for an array or list element
 * @elem_size: wire size of one element in bytes, 0 when it varies
 *
 * Ownership: as vs_node_new().
 * Returns: the new node; never NULL.
 */
VsNode *vs_node_new_list(TALLOC_CTX *mem_ctx, const char *name, size_t elem_size);

/*
 * vs_node_new_uint / vs_node_new_int: an integer of @width bytes.
 * @mem_ctx: talloc parent of the node
 * @name: field name, copied; NULL for an array element
 * @width: 1, 2, 4 or 8 (asserted)
 * @value: the value; it should fit in @width bytes.  It is kept as given:
 *   a tree that records a faulty walk shows the faulty value, and the
 *   visitor core range-checks it when a tree reader loads it.
 *
 * Ownership: as vs_node_new().
 * Returns: the new node; never NULL.
 */
VsNode *vs_node_new_uint(TALLOC_CTX *mem_ctx, const char *name, unsigned width,
                         uint64_t value);
VsNode *vs_node_new_int(TALLOC_CTX *mem_ctx, const char *name, unsigned width,
                        int64_t value);

/*
 * vs_node_new_bool / vs_node_new_f64: a bool or an IEEE double.
 * @mem_ctx: talloc parent of the node
 * @name: field name, copied; NULL for an array element
 * @value: the value
 *
 * Ownership: as vs_node_new().
 * Returns: the new node; never NULL.
 */
VsNode *vs_node_new_bool(TALLOC_CTX *mem_ctx, const char *name, bool value);
VsNode *vs_node_new_f64(TALLOC_CTX *mem_ctx, const char *name, double value);

/*
 * vs_node_new_buffer / vs_node_new_opaque: @len bytes, copied.
 * @mem_ctx: talloc parent of the node
 * @name: field name, copied; NULL for an array element
 * @data: the bytes; may be NULL when @len is 0
 * @len: number of bytes
 *
 * Ownership: as vs_node_new(); the copy is a talloc child of the node.
 * Returns: the new node; never NULL.
 */
VsNode *vs_node_new_buffer(TALLOC_CTX *mem_ctx, const char *name, const uint8_t *data,
                           size_t len);
VsNode *vs_node_new_opaque(TALLOC_CTX *mem_ctx, const char *name, const uint8_t *data,
                           size_t len);

/*
 * vs_node_new_string: a string, copied.
 * @mem_ctx: talloc parent of the node
 * @name: field name, copied; NULL for an array element
 * @str: NUL-terminated text; NULL counts as ""
 *
 * Ownership: as vs_node_new().
 * Returns: the new node; never NULL.
 */
VsNode *vs_node_new_string(TALLOC_CTX *mem_ctx, const char *name, const char *str);

/*
 * vs_node_new_unused: @len padding bytes (no value is kept).
 * @mem_ctx: talloc parent of the node
 * @name: field name, copied; NULL for an array element
 * @len: number of bytes
 *
 * Ownership: as vs_node_new().
 * Returns: the new node; never NULL.
 */
VsNode *vs_node_new_unused(TALLOC_CTX *mem_ctx, const char *name, size_t len);

/*
 * vs_node_new_null: the NULL element of an array of pointers.
 * @mem_ctx: talloc parent of the node
 * @name: NULL for an array element (the usual case), else a field name
 *
 * Ownership: as vs_node_new().
 * Returns: the new node; never NULL.
 */
VsNode *vs_node_new_null(TALLOC_CTX *mem_ctx, const char *name);

/*
 * vs_node_append: make @child the last child of @parent.
 * @parent: a struct, subsection, array or list node (asserted)
 * @child: a node without a parent (asserted)
 *
 * Ownership: @child becomes a talloc child of @parent.
 * Returns: @child, so calls can be chained.
 */
VsNode *vs_node_append(VsNode *parent, VsNode *child);

/*
 * vs_node_child: the first child of @node named @name.
 * @node: any node; NULL is accepted
 * @name: the field name
 *
 * Ownership: borrowed; valid as long as the tree.
 * Returns: the child, or NULL when there is none.
 */
VsNode *vs_node_child(const VsNode *node, const char *name);

/*
 * vs_node_lookup: the node at an error-form @path below and including
 * @root, e.g. "vsdemo.chans[1].mask" or "vsdemo.vsdemo/irq.irq_mask".
 * @root: the tree (its name is the path's first component)
 * @path: names joined by '.', array and list elements as [i]; names that
 *   themselves hold '.' or '[' cannot be looked up this way, nor can single
 *   bytes of a buffer (the buffer node is the leaf)
 *
 * Ownership: borrowed; valid as long as the tree.
 * Returns: the node, or NULL when @path names none.
 */
VsNode *vs_node_lookup(const VsNode *root, const char *path);

/*
 * vs_node_count: the number of nodes in the subtree of @node, @node included.
 * @node: any node; NULL counts 0
 * Returns: the count.
 */
size_t vs_node_count(const VsNode *node);

/*
 * vs_node_path: the error-form path of @node from its root
 * ("vsdemo.chans[1].mask").
 * @mem_ctx: talloc parent of the string
 * @node: a node of any tree
 *
 * Ownership: a talloc child of @mem_ctx.
 * Returns: the path; never NULL.
 */
char *vs_node_path(TALLOC_CTX *mem_ctx, const VsNode *node);

/*
 * vs_node_compare: whether two trees are equal, and where they first differ.
 * @a, @b: the trees (NULL equals only NULL)
 * @mem_ctx: talloc parent of the returned strings
 * @ret_path: optional; when the trees differ, the error-form path of the
 *   first difference in @a's names (depth first, wire order)
 * @ret_reason: optional; when they differ, what differs there, e.g.
 *   "value 0x1 vs 0x2", "kind uint8 vs uint16", "only in the first tree"
 *
 * Nodes are equal when kind, name, type name, wire name, version, count,
 * element size, width, value (doubles by bit pattern), bytes, length, text
 * and children are.  Buffers and opaque payloads that differ are reported
 * at their first differing byte ("blob[3]").
 *
 * Ownership: *@ret_path and *@ret_reason are talloc children of @mem_ctx;
 * they are written only when false is returned.
 * Returns: true when equal.
 */
bool vs_node_compare(const VsNode *a, const VsNode *b, TALLOC_CTX *mem_ctx, char **ret_path,
                     char **ret_reason);

/* vs_node_equal: vs_node_compare() without the report. */
bool vs_node_equal(const VsNode *a, const VsNode *b);

/*
 * vs_node_kind_name: "struct", "subsection", "array", "uint", "int", "bool",
 * "f64", "buffer", "string", "unused", "null", "opaque" or "list".
 * @kind: a kind below VS_NODE__MAX (asserted)
 * Ownership: a static string.
 */
const char *vs_node_kind_name(VsNodeKind kind);

/*
 * vs_node_type_name: the type as the renderings write it: "uint8".."uint64",
 * "int8".."int64", "bool", "float64", "buffer", "string", "unused",
 * "nullptr", "opaque", "struct", "subsection", "array", "list".
 * @node: any node
 * Ownership: a static string.
 */
const char *vs_node_type_name(const VsNode *node);

/*
 * vs_node_free: unlink @node from its parent and free it with its subtree.
 * @node: any node; NULL is accepted
 */
void vs_node_free(VsNode *node);

G_END_DECLS

#endif /* VSTATE_STATE_TREE_H */
