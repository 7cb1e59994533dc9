/*
 * page-digest.c: per-page digests of a stream's RAM and their comparison
 * (see page-digest.h).
 *
 * SPDX-License-Identifier: MIT
 *
 * Each block keeps an open-addressing table from page index to digest:
 * sixteen bytes a slot, at most half full.  Block lengths from the stream
 * are never used as sizes; tables grow with the pages actually sent.
 */
#include "tools/page-digest.h"

#include <stdlib.h>
#include <string.h>

/* Digest chaining tags: a page sent as XBZRLE or compressed differs from its bytes. */
#define DIGEST_TAG_XBZRLE UINT64_C(0x58425a524c450001)
#define DIGEST_TAG_COMPRESS UINT64_C(0x434f4d5052450002)

typedef struct PageSlot {
    uint64_t key;            /* page index + 1; 0 is an empty slot */
    uint64_t digest;
} PageSlot;

typedef struct BlockDigests {
    char *name;
    PageSlot *slots;
    size_t n_slots;          /* a power of two */
    size_t used;
} BlockDigests;

struct VsPageDigests {
    uint64_t page_size;
    bool page_size_fixed;    /* given, or learnt from the first page */
    GPtrArray *blocks;       /* BlockDigests *, in the order first seen */
    GHashTable *by_name;     /* name -> BlockDigests * */
    uint64_t fill_digest[256];
    bool fill_known[256];
};

/* ---- the digest --------------------------------------------------------- */

static inline uint64_t rotl64(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

static inline uint64_t fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= UINT64_C(0xff51afd7ed558ccd);
    k ^= k >> 33;
    k *= UINT64_C(0xc4ceb9fe1a85ec53);
    k ^= k >> 33;
    return k;
}

/* Word-at-a-time mixing (the structure of MurmurHash3's 64-bit body). */
uint64_t vs_page_digest_bytes(const uint8_t *data, size_t len)
{
    const uint64_t c1 = UINT64_C(0x87c37b91114253d5), c2 = UINT64_C(0x4cf5ad432745937f);
    uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ ((uint64_t)len * c1);
    size_t i = 0;

    for (; i + 8 <= len; i += 8) {
        uint64_t w;

        memcpy(&w, data + i, 8);
        w = GUINT64_FROM_LE(w);
        w *= c1;
        w = rotl64(w, 31);
        w *= c2;
        h ^= w;
        h = rotl64(h, 27) * 5 + 0x52dce729;
    }
    if (i < len) {
        uint64_t w = 0;

        for (size_t j = 0; i + j < len; j++) {
            w |= (uint64_t)data[i + j] << (8 * j);
        }
        w *= c1;
        w = rotl64(w, 31);
        w *= c2;
        h ^= w;
    }
    return fmix64(h);
}

static uint64_t digest_fill(VsPageDigests *pd, uint8_t fill)
{
    if (!pd->fill_known[fill]) {
        uint8_t *page = g_malloc(pd->page_size);

        memset(page, fill, pd->page_size);
        pd->fill_digest[fill] = vs_page_digest_bytes(page, pd->page_size);
        pd->fill_known[fill] = true;
        g_free(page);
    }
    return pd->fill_digest[fill];
}

/* ---- tables ------------------------------------------------------------- */

static PageSlot *table_find(const BlockDigests *bd, uint64_t page)
{
    size_t mask = bd->n_slots - 1;
    size_t i = (size_t)fmix64(page + 1) & mask;

    while (bd->slots[i].key && bd->slots[i].key != page + 1) {
        i = (i + 1) & mask;
    }
    return &bd->slots[i];
}

static void table_grow(BlockDigests *bd)
{
    PageSlot *old = bd->slots;
    size_t n_old = bd->n_slots;

    bd->n_slots = n_old ? n_old * 2 : 64;
    bd->slots = talloc_zero_array(bd, PageSlot, bd->n_slots);
    g_assert(bd->slots != NULL);
    for (size_t i = 0; i < n_old; i++) {
        if (old[i].key) {
            *table_find(bd, old[i].key - 1) = old[i];
        }
    }
    talloc_free(old);
}

/* The digest slot of @page (empty, key 0, when never set). */
static uint64_t *table_lookup(const BlockDigests *bd, uint64_t page, bool *ret_found)
{
    PageSlot *slot;

    *ret_found = false;
    if (!bd || !bd->n_slots) {
        return NULL;
    }
    slot = table_find(bd, page);
    *ret_found = slot->key != 0;
    return &slot->digest;
}

static void table_set(BlockDigests *bd, uint64_t page, uint64_t digest)
{
    PageSlot *slot;

    if ((bd->used + 1) * 2 > bd->n_slots) {
        table_grow(bd);
    }
    slot = table_find(bd, page);
    if (!slot->key) {
        slot->key = page + 1;
        bd->used++;
    }
    slot->digest = digest;
}

static int block_destroy(VsPageDigests *pd)
{
    g_ptr_array_unref(pd->blocks);
    g_hash_table_unref(pd->by_name);
    return 0;
}

VsPageDigests *vs_page_digests_new(TALLOC_CTX *mem_ctx, uint64_t page_size)
{
    VsPageDigests *pd = talloc_zero(mem_ctx, VsPageDigests);

    g_assert(pd != NULL);
    pd->page_size = page_size ? page_size : 4096;
    pd->page_size_fixed = page_size != 0;
    pd->blocks = g_ptr_array_new();
    pd->by_name = g_hash_table_new(g_str_hash, g_str_equal);
    talloc_set_destructor(pd, block_destroy);
    return pd;
}

static BlockDigests *block_get(VsPageDigests *pd, const char *name)
{
    BlockDigests *bd = g_hash_table_lookup(pd->by_name, name);

    if (!bd) {
        bd = talloc_zero(pd, BlockDigests);
        g_assert(bd != NULL);
        bd->name = talloc_strdup(bd, name);
        g_ptr_array_add(pd->blocks, bd);
        g_hash_table_insert(pd->by_name, bd->name, bd);
    }
    return bd;
}

void vs_page_digests_add_record(VsPageDigests *pd, const VsRamRecord *r)
{
    uint32_t kind = r->flags & (VS_RAM_ZERO | VS_RAM_PAGE | VS_RAM_XBZRLE | VS_RAM_COMPRESS_PAGE);
    BlockDigests *bd;
    uint64_t page, digest;
    uint64_t *prev;
    bool found;

    if (!kind || !r->block) {
        return;
    }
    bd = block_get(pd, r->block);
    page = r->offset / pd->page_size;
    if (kind & VS_RAM_ZERO) {
        digest = digest_fill(pd, r->fill);
    } else if (kind & VS_RAM_PAGE) {
        digest = vs_page_digest_bytes(r->data, r->len);
    } else {
        uint64_t tag = kind & VS_RAM_XBZRLE ? DIGEST_TAG_XBZRLE : DIGEST_TAG_COMPRESS;

        prev = table_lookup(bd, page, &found);
        digest = fmix64((found ? *prev : 0) ^ tag ^ vs_page_digest_bytes(r->data, r->len));
    }
    table_set(bd, page, digest);
}

void vs_page_digests_add_page(VsPageDigests *pd, const VsRamPage *p)
{
    if (!pd->page_size_fixed && p->page_size) {
        pd->page_size = p->page_size;
        memset(pd->fill_known, 0, sizeof(pd->fill_known));
    }
    pd->page_size_fixed = true;
    vs_page_digests_add_record(pd, p->rec);
}

void vs_page_digests_add_section(VsPageDigests *pd, const VsSection *sec)
{
    for (size_t i = 0; i < sec->n_ram; i++) {
        vs_page_digests_add_record(pd, &sec->ram[i]);
    }
}

/* ---- comparing ---------------------------------------------------------- */

static int slot_cmp(const void *x, const void *y)
{
    const PageSlot *a = x, *b = y;

    return a->key < b->key ? -1 : a->key > b->key;
}

/* The used slots of @bd sorted by page; *@ret_n of them (g_free the result). */
static PageSlot *block_sorted(const BlockDigests *bd, size_t *ret_n)
{
    PageSlot *out;
    size_t n = 0;

    *ret_n = 0;
    if (!bd || !bd->used) {
        return NULL;
    }
    out = g_new(PageSlot, bd->used);
    for (size_t i = 0; i < bd->n_slots; i++) {
        if (bd->slots[i].key) {
            out[n++] = bd->slots[i];
        }
    }
    qsort(out, n, sizeof(*out), slot_cmp);
    *ret_n = n;
    return out;
}

typedef struct RangeAcc {
    VsPageDiffRange cur;
    bool open;
    uint64_t page_size;
    uint64_t total;
    VsPageDiffFn fn;
    void *opaque;
} RangeAcc;

static void range_close(RangeAcc *acc)
{
    if (acc->open) {
        acc->fn(&acc->cur, acc->opaque);
        acc->open = false;
    }
}

static void range_add(RangeAcc *acc, uint64_t page, VsPageDiffKind kind)
{
    uint64_t start = page * acc->page_size;

    acc->total++;
    if (acc->open && acc->cur.kind == kind && acc->cur.end == start) {
        acc->cur.end += acc->page_size;
        acc->cur.n_pages++;
        return;
    }
    range_close(acc);
    acc->cur.start = start;
    acc->cur.end = start + acc->page_size;
    acc->cur.n_pages = 1;
    acc->cur.kind = kind;
    acc->open = true;
}

/* Merges the sorted pages of one block from both sides. */
static void compare_block(RangeAcc *acc, const char *name, const BlockDigests *a,
                          const BlockDigests *b)
{
    size_t na, nb, i = 0, j = 0;
    g_autofree PageSlot *pa = block_sorted(a, &na);
    g_autofree PageSlot *pb = block_sorted(b, &nb);

    acc->cur.block = name;
    while (i < na || j < nb) {
        if (j == nb || (i < na && pa[i].key < pb[j].key)) {
            range_add(acc, pa[i++].key - 1, VS_PAGE_DIFF_ONLY_A);
        } else if (i == na || pb[j].key < pa[i].key) {
            range_add(acc, pb[j++].key - 1, VS_PAGE_DIFF_ONLY_B);
        } else {
            if (pa[i].digest != pb[j].digest) {
                range_add(acc, pa[i].key - 1, VS_PAGE_DIFF_CONTENT);
            }
            i++;
            j++;
        }
    }
    range_close(acc);
}

uint64_t vs_page_digests_compare(const VsPageDigests *a, const VsPageDigests *b,
                                 VsPageDiffFn fn, void *opaque)
{
    RangeAcc acc = { .page_size = a->page_size, .fn = fn, .opaque = opaque };

    for (guint i = 0; i < a->blocks->len; i++) {
        const BlockDigests *ba = g_ptr_array_index(a->blocks, i);

        compare_block(&acc, ba->name, ba, g_hash_table_lookup(b->by_name, ba->name));
    }
    for (guint i = 0; i < b->blocks->len; i++) {
        const BlockDigests *bb = g_ptr_array_index(b->blocks, i);

        if (!g_hash_table_lookup(a->by_name, bb->name)) {
            compare_block(&acc, bb->name, NULL, bb);
        }
    }
    return acc.total;
}
