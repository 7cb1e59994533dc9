/*
 * ram-internal.h: what ram.c and the userfaultfd tracker (ram-uffd.c)
 * share; not installed.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VSTATE_MIGRATION_RAM_INTERNAL_H
#define VSTATE_MIGRATION_RAM_INTERNAL_H

#include "migration/ram.h"

G_BEGIN_DECLS

#define VS_BITS_PER_LONG (8 * sizeof(unsigned long))
#define VS_BITS_TO_LONGS(n) (((n) + VS_BITS_PER_LONG - 1) / VS_BITS_PER_LONG)

static inline bool vs_bit_test_and_set(unsigned long *map, uint64_t bit)
{
    unsigned long mask = 1ul << (bit % VS_BITS_PER_LONG);
    unsigned long *w = &map[bit / VS_BITS_PER_LONG];
    bool was = (*w & mask) != 0;

    *w |= mask;
    return was;
}

typedef struct VsUffdTracker VsUffdTracker;

/* Registers every block of @list for asynchronous write-protect.  NULL with
 * VS_RAM_ERROR_UNSUPPORTED saying which step failed. */
VsUffdTracker *vs_uffd_tracker_new(TALLOC_CTX *mem_ctx, VsRamList *list, GError **errp);
/* Write-protects every block: all pages clean from now on. */
bool vs_uffd_tracker_arm(VsUffdTracker *u, GError **errp);
/* Written pages of @b into @bitmap, re-protected in the same call. */
bool vs_uffd_tracker_collect(VsUffdTracker *u, VsRamBlock *b, unsigned long *bitmap,
                             uint64_t *ret_new, GError **errp);
/* Lifts the protection (the guest writes at full speed again). */
void vs_uffd_tracker_disarm(VsUffdTracker *u);

G_END_DECLS

#endif /* VSTATE_MIGRATION_RAM_INTERNAL_H */
