/*
 * vmdesc.h: the description trailer of a migration stream (QEMU's
 * "vmdesc"), recorded from the same walk that writes a section.
 *
 * SPDX-License-Identifier: MIT
 *
 * Theory of operation
 * ===================
 *
 * After EOF, QEMU 7.2 appends a JSON document that says, for every FULL
 * section it wrote, which fields it wrote, of which type, and how many
 * bytes each took (qemu-stream-format.md §1.8).  Tools such as
 * scripts/analyze-migration.py and vstate's own loader decode sections
 * from it without knowing the devices.
 *
 * The vmdesc visitor is a SAVE visitor that writes nothing: it watches a
 * walk and records that description.  The container runs it next to the
 * legacy SAVE visitor through a tee, so the description comes from the
 * very walk whose bytes go to the stream:
 *
 *     VsVisitor *bytes = vs_legacy_save_visitor_new(ctx, f);
 *     VsVisitor *desc = vs_vmdesc_visitor_new(ctx, "i8259", 0);
 *     VsVisitor *tee = vs_tee_visitor_new(ctx, bytes, desc);
 *
 *     ok = vs_ex_visit_pic(tee, "i8259", pic, errp) && vs_visitor_complete(tee, errp);
 *     VsJson *entry = ok ? vs_vmdesc_visitor_steal(desc, ctx) : NULL;
 *
 * The entry of one section (key order as QEMU writes it):
 *
 *     {"name": idstr, "instance_id": n, "vmsd_name": wire name, "version": v,
 *      "fields": [...], ["subsections": [...]]}
 *
 * and of one field:
 *
 *     {"name", ["array_len" | "index"], "type", ["struct"], "size"}
 *
 * Rules (QEMU 7.2's, as far as a walk can tell them; vmdesc.c explains
 * each where it is applied):
 *
 *   - type: "uint8".."uint64", "int8".."int64", "bool" from the visit;
 *     buffers, opaque payloads and strings are "buffer"; unused bytes
 *     "unused_buffer"; f64 "float64" (the name analyze-migration.py reads
 *     as 8 raw bytes; QEMU 7.2 itself has no f64 field); a nested struct
 *     "struct" with its description under "struct";
 *   - size: the bytes written for the field (for an array entry, for one
 *     element), nested subsections included;
 *   - a field with 0 elements has no entry, one with 1 element no
 *     "array_len"/"index";
 *   - an array is "compressed" to one entry with "array_len" and the first
 *     element's description, else it has one entry per element with
 *     "index";
 *   - a NULL element of an array of pointers has size 1 and the field's
 *     type ("struct": {} for structs);
 *   - a name used by several fields of one struct becomes "name[k]";
 *   - subsections that were sent are listed, in order, under
 *     "subsections" of the struct they belong to; the key is absent when
 *     none was sent.
 *
 * When a struct's VsTypeInfo carries its field table (generated walkers),
 * the table refines what the walk alone cannot say: QEMU's compression
 * test (no existence test, no subsection list), the "[k]" numbering of
 * fields that exist in other versions only, and the types "timer",
 * "<int> equal", "int32 le", codecs ("pci config"), "bitmap", "tmp",
 * "qtailq", "qlist" and "gtree".  Hand-written walkers without a table get
 * the walk-only rules documented in vmdesc.c.
 */
#ifndef VSTATE_MIGRATION_VMDESC_H
#define VSTATE_MIGRATION_VMDESC_H

#include "migration/json.h"
#include "visitor/registry.h"
#include "visitor/visitor.h"

G_BEGIN_DECLS

/*
 * vs_vmdesc_visitor_new: a SAVE visitor recording the description of one
 * section.
 * @mem_ctx: talloc parent of the visitor
 * @idstr: the section's idstr ("i8259", "0000:00:02.0/e1000"), copied
 * @instance_id: the section's instance id
 *
 * The walk must be one section: a root struct (a VMState device), or a
 * root opaque payload (a section without a schema, described as QEMU
 * describes a legacy save_state handler: one "data" buffer).
 *
 * Ownership: a talloc child of @mem_ctx; free with vs_visitor_free().
 * Returns: the visitor; never NULL.
 */
VsVisitor *vs_vmdesc_visitor_new(TALLOC_CTX *mem_ctx, const char *idstr, uint32_t instance_id);

/*
 * vs_vmdesc_visitor_steal: the section's entry, once the walk is complete.
 * @v: a vmdesc visitor after a successful vs_visitor_complete()
 * @mem_ctx: new talloc parent of the entry
 *
 * Returns: the entry (moved under @mem_ctx; a second call returns NULL),
 * or NULL when the walk did not finish.
 */
VsJson *vs_vmdesc_visitor_steal(VsVisitor *v, TALLOC_CTX *mem_ctx);

/*
 * vs_vmdesc_describe: the entry of one section, from a walk on its own
 * (no bytes are written).
 * @mem_ctx: talloc parent of the entry
 * @idstr, @instance_id: as for vs_vmdesc_visitor_new()
 * @walker: the section's walker (e.g. a registry entry's)
 * @obj: the state to walk; only read
 * @ret_entry: set to the entry on success
 * @errp: the walk's error
 *
 * Returns: true on success.
 */
bool vs_vmdesc_describe(TALLOC_CTX *mem_ctx, const char *idstr, uint32_t instance_id,
                        VsWalkerFn walker, void *obj, VsJson **ret_entry, GError **errp);

/*
 * vs_vmdesc_trailer_new: the whole trailer, {"page_size": N, "devices": [...]}.
 * @mem_ctx: talloc parent of the trailer
 * @page_size: the target page size
 * @devices: a JSON array of section entries, in stream order; taken (moved
 *   under the trailer); must not be in a container yet
 *
 * Write it with vs_json_write(out, trailer, VS_JSON_STYLE_COMPACT) for
 * QEMU's bytes.
 * Returns: the trailer; never NULL.
 */
VsJson *vs_vmdesc_trailer_new(TALLOC_CTX *mem_ctx, uint64_t page_size, VsJson *devices);

G_END_DECLS

#endif /* VSTATE_MIGRATION_VMDESC_H */
