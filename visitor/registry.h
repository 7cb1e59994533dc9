/*
 * registry.h: the table of known struct types by wire name, so tools can
 * decode any section whose type was compiled in.
 *
 * SPDX-License-Identifier: MIT
 *
 * Generated code (and hand-written walkers) add one entry per top-level
 * type; the stream loader and the `vstate` tools look types up by the wire
 * name a stream gives.  The registry is process-wide and thread-safe.
 *
 *     static bool visit_pic(VsVisitor *v, const char *name, void *obj, GError **errp)
 *     {
 *         return vs_ex_visit_pic(v, name, obj, errp);
 *     }
 *     static const VsRegistryEntry pic_entry = { &vs_ex_pic_type, visit_pic, NULL };
 *     vs_registry_add(&pic_entry);
 *     ...
 *     const VsRegistryEntry *e = vs_registry_lookup("i8259");
 *     void *obj = vs_registry_new_object(ctx, e);
 *     e->walker(v, "i8259", obj, errp);
 */
#ifndef VSTATE_REGISTRY_H
#define VSTATE_REGISTRY_H

#include "visitor/visitor.h"

G_BEGIN_DECLS

typedef bool (*VsWalkerFn)(VsVisitor *v, const char *name, void *obj, GError **errp);
/* Prepares a zeroed object for a load (e.g. allocates what pointers it needs). */
typedef void (*VsObjectInitFn)(TALLOC_CTX *mem_ctx, void *obj);

typedef struct VsRegistryEntry {
    const VsTypeInfo *type;
    VsWalkerFn walker;
    VsObjectInitFn init;    /* optional */
} VsRegistryEntry;

/*
 * vs_registry_add: make @entry known under @entry->type->wire_name.
 * @entry: borrowed; must stay valid for the life of the process (static)
 * Adding the same entry twice is harmless; a different entry for a wire
 * name that is taken replaces nothing and returns false.
 */
bool vs_registry_add(const VsRegistryEntry *entry);

/* The entry for @wire_name, or NULL. */
const VsRegistryEntry *vs_registry_lookup(const char *wire_name);

/*
 * vs_registry_list: all entries sorted by wire name.
 * Ownership: a new array (NULL-terminated), a talloc child of @mem_ctx.
 */
const VsRegistryEntry **vs_registry_list(TALLOC_CTX *mem_ctx);

/*
 * vs_registry_new_object: a zeroed object of @entry's type, prepared for a
 * load by its init function.  Ownership: a talloc child of @mem_ctx.
 */
void *vs_registry_new_object(TALLOC_CTX *mem_ctx, const VsRegistryEntry *entry);

G_END_DECLS

#endif /* VSTATE_REGISTRY_H */
