/*
 * page-digest.h: one 64-bit digest per RAM page, for comparing the guest
 * memory of two streams without keeping page contents.
 *
 * SPDX-License-Identifier: MIT
 *
 * Records are applied in stream order, so a page sent again replaces what
 * was sent before and the digest stands for the page's final content: a
 * PAGE's bytes, a ZERO record's fill byte repeated over the page.  XBZRLE
 * and COMPRESS_PAGE records are not expanded (that would need the page's
 * previous bytes or an inflater); their digest chains the payload onto
 * what the page held before, so such pages compare equal only when both
 * streams sent them the same way.  Memory: about 32 bytes per distinct page
 * sent, whatever the page size (a table of page digests is what comparing
 * two streams' memory page by page needs; `vstate diff` builds it from
 * pages streamed by the loader, which keeps none of them).
 */
#ifndef VSTATE_TOOLS_PAGE_DIGEST_H
#define VSTATE_TOOLS_PAGE_DIGEST_H

#include <stdint.h>
#include <talloc.h>

#include "migration/stream.h"

G_BEGIN_DECLS

typedef struct VsPageDigests VsPageDigests;

/*
 * An empty set for pages of @page_size bytes (a power of two); 0: the page
 * size of the first page given to vs_page_digests_add_page().
 */
VsPageDigests *vs_page_digests_new(TALLOC_CTX *mem_ctx, uint64_t page_size);

/* Applies one RAM record (records other than pages are ignored). */
void vs_page_digests_add_record(VsPageDigests *pd, const VsRamRecord *r);

/* Applies one streamed page (VsLoadOptions' ram_page). */
void vs_page_digests_add_page(VsPageDigests *pd, const VsRamPage *p);

/* Applies every record of a RAM section. */
void vs_page_digests_add_section(VsPageDigests *pd, const VsSection *sec);

/* The 64-bit digest of @len bytes (also what a PAGE record's digest is). */
uint64_t vs_page_digest_bytes(const uint8_t *data, size_t len);

typedef enum VsPageDiffKind {
    VS_PAGE_DIFF_CONTENT,    /* sent by both, final contents differ */
    VS_PAGE_DIFF_ONLY_A,     /* sent by the first set only */
    VS_PAGE_DIFF_ONLY_B,     /* sent by the second set only */
} VsPageDiffKind;

/* A run of consecutive pages of one block that differ the same way. */
typedef struct VsPageDiffRange {
    const char *block;
    uint64_t start;          /* byte offset of the first page */
    uint64_t end;            /* byte offset after the last page */
    uint64_t n_pages;
    VsPageDiffKind kind;
} VsPageDiffRange;

typedef void (*VsPageDiffFn)(const VsPageDiffRange *range, void *opaque);

/*
 * vs_page_digests_compare: calls @fn for every range of pages that differ
 * between @a and @b, block by block (blocks in the order @a first saw
 * them, then @b's others), ranges in offset order.
 * Returns: the number of differing pages.
 */
uint64_t vs_page_digests_compare(const VsPageDigests *a, const VsPageDigests *b,
                                 VsPageDiffFn fn, void *opaque);

G_END_DECLS

#endif /* VSTATE_TOOLS_PAGE_DIGEST_H */
