/*
 * registry.c: process-wide table of known struct types (see registry.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include "visitor/registry.h"

#include <string.h>

static GMutex registry_lock;
static GHashTable *registry; /* wire name -> const VsRegistryEntry * */

bool vs_registry_add(const VsRegistryEntry *entry)
{
    const VsRegistryEntry *old;
    bool ok = true;

    g_assert(entry && entry->type && entry->type->wire_name && entry->walker);
    g_mutex_lock(&registry_lock);
    if (!registry) {
        registry = g_hash_table_new(g_str_hash, g_str_equal);
    }
    old = g_hash_table_lookup(registry, entry->type->wire_name);
    if (!old) {
        g_hash_table_insert(registry, (gpointer)entry->type->wire_name, (gpointer)entry);
    } else {
        ok = old == entry;
    }
    g_mutex_unlock(&registry_lock);
    return ok;
}

const VsRegistryEntry *vs_registry_lookup(const char *wire_name)
{
    const VsRegistryEntry *e = NULL;

    g_mutex_lock(&registry_lock);
    if (registry) {
        e = g_hash_table_lookup(registry, wire_name);
    }
    g_mutex_unlock(&registry_lock);
    return e;
}

static int compare_entries(const void *a, const void *b)
{
    const VsRegistryEntry *const *ea = a;
    const VsRegistryEntry *const *eb = b;

    return strcmp((*ea)->type->wire_name, (*eb)->type->wire_name);
}

const VsRegistryEntry **vs_registry_list(TALLOC_CTX *mem_ctx)
{
    const VsRegistryEntry **list;
    GHashTableIter it;
    gpointer value;
    size_t n = 0;

    g_mutex_lock(&registry_lock);
    list = talloc_zero_array(mem_ctx, const VsRegistryEntry *,
                             (registry ? g_hash_table_size(registry) : 0) + 1);
    g_assert(list != NULL);
    if (registry) {
        g_hash_table_iter_init(&it, registry);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
            list[n++] = value;
        }
    }
    g_mutex_unlock(&registry_lock);
    qsort(list, n, sizeof(*list), compare_entries);
    return list;
}

void *vs_registry_new_object(TALLOC_CTX *mem_ctx, const VsRegistryEntry *entry)
{
    void *obj = talloc_zero_size(mem_ctx, entry->type->size);

    g_assert(obj != NULL);
    talloc_set_name_const(obj, entry->type->name);
    if (entry->init) {
        entry->init(obj, obj);
    }
    return obj;
}
