/*
 * ber-visitor.h: visitors for vstate's self-describing BER encoding.
 *
 * SPDX-License-Identifier: MIT
 *
 * Theory of operation
 * ===================
 *
 * docs/ber-format.md is the specification.  A walk saved as BER carries,
 * for every part, its field name, its kind with width and signedness, and
 * the version and type name of every struct, so:
 *
 *   - the SAVE visitor writes a walk into a byte buffer (DER lengths);
 *   - the LOAD visitor reads it back through any walker and reports every
 *     disagreement between stream and schema with the field path and the
 *     byte offset.  Under VS_BER_STRICT each one is an error; under
 *     VS_BER_LENIENT a value that fits its destination is accepted, fields
 *     and subsections the schema does not know are skipped, fields the
 *     stream lacks keep their value, and each such decision is listed
 *     (vs_ber_load_visitor_warnings()); an item the writer marked
 *     must-understand (vs_ber_save_visitor_mark()) is never skipped: the
 *     load fails instead;
 *   - vs_ber_decode_tree() turns the bytes into a VsNode tree without any
 *     schema, the same tree the tree builder makes from the walk.
 *
 * Field numbers.  Each field is wrapped in a context tag [i]: i is the
 * member's slot in its type's VsTypeInfo.fields (docs/ber-format.md,
 * "Containers": members in declaration order, local and validate members
 * taking none, a gtree two, subsections after the fields) when the walker
 * describes its type and the member is found there (by name; subsections
 * by type); otherwise the next number after all described slots.
 * Hand-written walkers (n_fields 0) thus number their fields 0, 1, 2, ...
 * in visit order.
 *
 * Example: save a section, then load it back leniently
 *
 *     VsVisitor *save = vs_ber_save_visitor_new(ctx);
 *     size_t len;
 *     const uint8_t *bytes;
 *
 *     if (!vs_ex_visit_demo(save, "vsdemo", &demo, errp) ||
 *         !vs_visitor_complete(save, errp)) {
 *         goto out;
 *     }
 *     bytes = vs_ber_save_visitor_data(save, &len);
 *
 *     VsVisitor *load = vs_ber_load_visitor_new(ctx, bytes, len, VS_BER_LENIENT, NULL);
 *     if (vs_ex_visit_demo(load, "vsdemo", &copy, errp) &&
 *         vs_visitor_complete(load, errp)) {
 *         size_t n;
 *         const char *const *w = vs_ber_load_visitor_warnings(load, &n);
 *         for (size_t i = 0; i < n; i++) {
 *             g_printerr("warning: %s\n", w[i]);
 *         }
 *     }
 */
#ifndef VSTATE_BER_VISITOR_H
#define VSTATE_BER_VISITOR_H

#include "visitor/pretty/state-tree.h"
#include "visitor/visitor.h"

G_BEGIN_DECLS

/* How a BER load treats disagreements between stream and schema. */
typedef enum VsBerPolicy {
    VS_BER_STRICT,  /* every disagreement is an error */
    VS_BER_LENIENT, /* accept what can be accepted, and list it */
} VsBerPolicy;

/*
 * vs_ber_save_visitor_new: a SAVE visitor writing one walk as BER.
 * @mem_ctx: talloc parent
 *
 * Ownership: a talloc child of @mem_ctx; free with vs_visitor_free().
 * Returns: the visitor; never NULL.
 */
VsVisitor *vs_ber_save_visitor_new(TALLOC_CTX *mem_ctx);

/*
 * Room for a BER save visitor in the caller's storage (a local variable):
 * see vs_ber_save_visitor_init().  Its content is private.
 */
typedef struct VsBerSaveStorage {
    union {
        max_align_t align;
        unsigned char bytes[1024];
    } u;
} VsBerSaveStorage;

/*
 * vs_ber_save_visitor_init: the same SAVE visitor as
 * vs_ber_save_visitor_new(), created in @storage instead of allocated.
 * Saving one section at a time (a few hundred bytes each), allocating and
 * freeing a talloc object per save costs as much as a fifth of the
 * encoding; this costs a few stores.
 * @storage: where the visitor lives; must outlive it
 *
 * The visitor is not a talloc object (no talloc parent, no
 * talloc_steal()); everything else is as for vs_ber_save_visitor_new().
 * Free it with vs_visitor_free() before @storage goes away: output that
 * outgrew the storage is on the heap until then.
 *
 *     VsBerSaveStorage st;
 *     VsVisitor *v = vs_ber_save_visitor_init(&st);
 *     bool ok = vs_visit_Counter(v, "counter", &c, errp) && vs_visitor_complete(v, errp);
 *     if (ok) {
 *         bytes = vs_ber_save_visitor_data(v, &len);   (copy them out)
 *     }
 *     vs_visitor_free(v);
 *
 * Returns: the visitor (a pointer into @storage); never NULL.
 */
VsVisitor *vs_ber_save_visitor_init(VsBerSaveStorage *storage);

/*
 * vs_ber_save_visitor_data: the bytes written so far; complete once
 * vs_visitor_complete() has succeeded.
 * @v: a visitor from vs_ber_save_visitor_new() or vs_ber_save_visitor_init()
 * @ret_len: set to the number of bytes
 *
 * Ownership: borrowed; valid until the next operation on @v or its free.
 * Returns: the bytes (never NULL, even when empty).
 */
const uint8_t *vs_ber_save_visitor_data(VsVisitor *v, size_t *ret_len);

/*
 * vs_ber_save_visitor_mark: mark the item at @path must-understand
 * (docs/ber-format.md, "Must-understand"): a loader that does not know it
 * fails instead of skipping it.  Call before the walk, once per item.
 * @v: a visitor from vs_ber_save_visitor_new()
 * @path: the item's field path in the error form, `vsdemo.inner.mask`, or a
 *   subsection's, `vsdemo.vsdemo/irq`; a path no field item has marks
 *   nothing (the root and array elements are not field items)
 */
void vs_ber_save_visitor_mark(VsVisitor *v, const char *path);

/*
 * vs_ber_load_visitor_new: a LOAD visitor reading one walk from BER bytes.
 * @mem_ctx: talloc parent
 * @data, @len: the encoding; borrowed, must outlive the visitor
 * @policy: strict or lenient (see above)
 * @result_ctx: parent of strings and payloads the load allocates; NULL
 *   means the visitor
 *
 * vs_visitor_complete() fails when bytes follow the section.
 * Ownership: a talloc child of @mem_ctx; free with vs_visitor_free().
 * Returns: the visitor; never NULL.
 */
VsVisitor *vs_ber_load_visitor_new(TALLOC_CTX *mem_ctx, const uint8_t *data, size_t len,
                                   VsBerPolicy policy, TALLOC_CTX *result_ctx);

/*
 * vs_ber_load_visitor_warnings: what a lenient load accepted or skipped,
 * one "path: what (offset 0x..)" line each, in stream order.  A strict
 * load lists nothing.
 * @v: a visitor from vs_ber_load_visitor_new()
 * @ret_n: set to the number of lines
 *
 * Ownership: borrowed; valid until @v is freed.
 * Returns: the lines (NULL when there are none).
 */
const char *const *vs_ber_load_visitor_warnings(VsVisitor *v, size_t *ret_n);

/*
 * vs_ber_decode_tree: decode BER bytes without a schema.
 * @mem_ctx: talloc parent of the tree
 * @data, @len: one encoded walk (docs/ber-format.md), nothing after it
 * @errp: VS_VISIT_ERROR_TRUNCATED, _MISMATCH, _RANGE or _LIMIT with the
 *   byte offset of the problem
 *
 * The tree equals (vs_node_compare()) the tree builder's tree of the walk
 * that wrote the bytes: names, type and wire names, versions, counts,
 * element sizes, widths and values.
 * Ownership: a talloc child of @mem_ctx.
 * Returns: the root, or NULL with *@errp set.
 */
VsNode *vs_ber_decode_tree(TALLOC_CTX *mem_ctx, const uint8_t *data, size_t len,
                           GError **errp);

/*
 * vs_ber_decode_tree_partial: vs_ber_decode_tree() for showing what bytes
 * that fail to decode (corrupted, or cut short: containers running past
 * @len are read up to it) held before the failure.
 * @ret_partial: on failure, the structs decoded so far with the fields
 *   before the failing one (an array that failed is left out), or NULL
 * @ret_path: on failure, the path of the field that failed
 *   ("vsdemo.fifo[3]"), g_malloc()ed, or NULL when it failed in the root's
 *   header
 * Returns: the whole tree, or NULL on failure with *@errp set.
 */
VsNode *vs_ber_decode_tree_partial(TALLOC_CTX *mem_ctx, const uint8_t *data, size_t len,
                                   VsNode **ret_partial, char **ret_path, GError **errp);

/* Length of a schema digest (SHA-256). */
#define VS_BER_DIGEST_LEN 32

/*
 * vs_ber_schema_text: the canonical text of @type's description that its
 * digest is taken of (docs/ber-format.md, "Schema digests"): the type's
 * names, versions and `needed` text, then one line per member with every
 * attribute that shapes the wire (not the C offsets), nested types inline.
 * Ownership: a new string; g_free() it.
 */
char *vs_ber_schema_text(const VsTypeInfo *type);

/* vs_ber_schema_digest: the SHA-256 of vs_ber_schema_text(@type). */
void vs_ber_schema_digest(const VsTypeInfo *type, uint8_t out[VS_BER_DIGEST_LEN]);

G_END_DECLS

#endif /* VSTATE_BER_VISITOR_H */
