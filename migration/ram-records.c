/*
 * ram-records.c: the records of a RAM section ("ram", version 4), read as
 * QEMU 7.2's precopy RAM loader reads them and written back as sent.
 *
 * SPDX-License-Identifier: MIT
 *
 * Each record starts with a be64 word, offset | flags, the flags being the
 * bits below the target page size (qemu-stream-format.md §3.1).  Records
 * are kept in stream order exactly as sent (page records are instead
 * handed to the load's ram_page callback when it has one): repeated pages, CONTINUE (the
 * block of the previous page record, also across sections), the XBZRLE
 * flag byte, the fill byte of ZERO pages.  Page payloads point into the
 * input; nothing is allocated for a length the stream declares (a block's
 * length is only a number to check offsets against).
 *
 * A file has no destination VM, so every block of MEM_SIZE is accepted, and
 * page records are checked against that list.  The optional words after a
 * block's length are decided from what the stream itself says:
 *   - mr_addr (x-ignore-shared): when the configuration section's
 *     capability list holds "x-ignore-shared" (it is a validated
 *     capability, so a source with it on always sends that list);
 *   - page_size (postcopy-ram, hugepage blocks): only after a 16-byte
 *     POSTCOPY_ADVISE whose page-size summary has a size other than the
 *     target page size, and then for a block whose next be64 is a power of
 *     two above the target page size that is part of the summary.  Neither
 *     a block entry (its first byte is a non-zero name length) nor a record
 *     word (it has flag bits) can look like that.
 */
#include "migration/stream-internal.h"

#include <inttypes.h>
#include <string.h>

#define RAM_ENCODING_FLAG_XBZRLE 0x01
/* MEM_SIZE alone can carry no block name. */
#define RAM_PAGE_FLAGS (VS_RAM_ZERO | VS_RAM_PAGE | VS_RAM_COMPRESS_PAGE | VS_RAM_XBZRLE)

/* zlib's compressBound(): the largest deflate stream of @n bytes. */
static uint64_t ram_compress_bound(uint64_t n)
{
    return n + (n >> 12) + (n >> 14) + (n >> 25) + 13;
}

static VsRamRecord *ram_add(VsSection *sec, TALLOC_CTX *rec_ctx)
{
    size_t alloc = talloc_array_length(sec->ram);

    if (sec->n_ram == alloc) {
        alloc = alloc ? alloc * 2 : 64;
        sec->ram = talloc_realloc(rec_ctx, sec->ram, VsRamRecord, alloc);
        g_assert(sec->ram != NULL);
    }
    memset(&sec->ram[sec->n_ram], 0, sizeof(VsRamRecord));
    return &sec->ram[sec->n_ram++];
}

/* ---- MEM_SIZE ------------------------------------------------------------- */

static bool ram_block_add(VsRamBlockInfo **blocks, size_t *n, TALLOC_CTX *ctx,
                          VsRamBlockInfo **ret)
{
    size_t alloc = talloc_array_length(*blocks);

    if (*n == alloc) {
        alloc = alloc ? alloc * 2 : 8;
        *blocks = talloc_realloc(ctx, *blocks, VsRamBlockInfo, alloc);
        g_assert(*blocks != NULL);
    }
    memset(&(*blocks)[*n], 0, sizeof(VsRamBlockInfo));
    *ret = &(*blocks)[(*n)++];
    return true;
}

/* Whether the be64 after a block's length is a hugepage size (see the top). */
static bool ram_has_page_size(VsLoadCtx *lc, const VsCursor *c)
{
    uint64_t v;

    if (!lc->postcopy_advised || !(lc->pagesize_summary & ~lc->page_size) ||
        !vs_cursor_peek_be64(c, 0, &v)) {
        return false;
    }
    return v > lc->page_size && (v & (v - 1)) == 0 && (v & lc->pagesize_summary);
}

/*
 * The block list: entries until their lengths add up to the total, as
 * QEMU counts them.  A length beyond what is left of the total would make
 * QEMU's unsigned count wrap and read on into the next records; here it is
 * an error.
 */
static bool ram_mem_size(VsLoadCtx *lc, VsRamRecord *rec, TALLOC_CTX *rec_ctx, VsCursor *c,
                         GError **errp)
{
    uint64_t left = rec->offset;

    g_hash_table_remove_all(lc->blocks);
    lc->last_block = NULL;
    while (left) {
        size_t at = c->pos;
        const uint8_t *name;
        VsRamBlockInfo *b;
        uint8_t n;

        n = 0;
        if (!vs_cursor_u8(c, &n) || !vs_cursor_bytes(c, n, &name)) {
            return vs_mig_fail_short(errp, c, n ? n : 1, "RAM MEM_SIZE block name");
        }
        if (memchr(name, '\0', n)) {
            return vs_mig_fail(errp, VS_MIG_ERROR_RAM,
                               "RAM MEM_SIZE: the block name at offset 0x%zx holds a NUL byte",
                               at);
        }
        ram_block_add(&rec->blocks, &rec->n_blocks, rec_ctx, &b);
        b->name = talloc_strndup(rec_ctx, (const char *)name, n);
        if (!vs_cursor_be64(c, &b->length)) {
            return vs_mig_fail_short(errp, c, 8, "RAM MEM_SIZE block length");
        }
        if (b->length > left) {
            return vs_mig_fail(errp, VS_MIG_ERROR_RAM,
                               "RAM MEM_SIZE: block \"%s\" of 0x%" PRIx64 " bytes at offset 0x%zx "
                               "exceeds the 0x%" PRIx64 " bytes left of the total 0x%" PRIx64,
                               b->name, b->length, at, left, rec->offset);
        }
        left -= b->length;
        if (ram_has_page_size(lc, c)) {
            b->has_page_size = true;
            vs_cursor_be64(c, &b->page_size);
        }
        if (lc->ignore_shared) {
            b->has_mr_addr = true;
            if (!vs_cursor_be64(c, &b->mr_addr)) {
                return vs_mig_fail_short(errp, c, 8, "RAM MEM_SIZE block mr_addr");
            }
        }
    }
    /* Lookups by name; the first of two equal names wins. */
    for (size_t i = 0; i < rec->n_blocks; i++) {
        if (!g_hash_table_contains(lc->blocks, rec->blocks[i].name)) {
            g_hash_table_insert(lc->blocks, rec->blocks[i].name, &rec->blocks[i]);
        }
    }
    lc->top->blocks = rec->blocks;
    lc->top->n_blocks = rec->n_blocks;
    return true;
}

/* ---- page records --------------------------------------------------------- */

/* The block a page record applies to: named, or the previous one (CONTINUE). */
static bool ram_block(VsLoadCtx *lc, VsRamRecord *rec, VsCursor *c, size_t at,
                      const VsRamBlockInfo **ret, GError **errp)
{
    const VsRamBlockInfo *b;
    const uint8_t *name;
    char *id;
    uint8_t n = 0;

    if (rec->flags & VS_RAM_CONTINUE) {
        if (!lc->last_block) {
            return vs_mig_fail(errp, VS_MIG_ERROR_RAM,
                               "Ack, bad migration stream! (RAM record at offset 0x%zx has "
                               "RAM_SAVE_FLAG_CONTINUE but no page record came before it)",
                               at);
        }
        rec->block = lc->last_block->name;
        *ret = lc->last_block;
        return true;
    }
    if (!vs_cursor_u8(c, &n) || !vs_cursor_bytes(c, n, &name)) {
        return vs_mig_fail_short(errp, c, n ? n : 1, "RAM record block name");
    }
    id = talloc_strndup(lc->scratch, (const char *)name, n);
    b = memchr(name, '\0', n) ? NULL : g_hash_table_lookup(lc->blocks, id);
    if (!b) {
        g_autofree char *esc = g_strescape(id, NULL);

        return vs_mig_fail(errp, VS_MIG_ERROR_RAM,
                           "Can't find block %s (RAM record at offset 0x%zx; MEM_SIZE listed "
                           "%u blocks)",
                           esc, at, g_hash_table_size(lc->blocks));
    }
    lc->last_block = b;
    rec->block = b->name;
    *ret = b;
    return true;
}

/*
 * XBZRLE data (§3.5): pairs of uleb128 unchanged and changed runs, the
 * changed bytes after each pair, all within one page.  Checked without the
 * old page: the runs must be well formed and stay inside the page.
 */
static bool ram_uleb_small(const uint8_t *p, size_t left, size_t *pos, uint32_t *ret)
{
    if (*pos >= left) {
        return false;
    }
    if (!(p[*pos] & 0x80)) {
        *ret = p[(*pos)++];
        return true;
    }
    if (*pos + 1 >= left || (p[*pos + 1] & 0x80)) {
        return false;
    }
    *ret = (uint32_t)(p[*pos] & 0x7f) | (uint32_t)p[*pos + 1] << 7;
    *pos += 2;
    return true;
}

static bool ram_xbzrle_ok(const uint8_t *p, size_t len, uint64_t page)
{
    size_t i = 0;
    uint64_t d = 0;

    while (i < len) {
        uint32_t same, diff;
        bool first = i == 0;

        if (!ram_uleb_small(p, len, &i, &same) || (!first && same == 0)) {
            return false;
        }
        d += same;
        if (d > page || !ram_uleb_small(p, len, &i, &diff) || diff == 0 ||
            d + diff > page || diff > len - i) {
            return false;
        }
        i += diff;
        d += diff;
    }
    return true;
}

static bool ram_xbzrle(VsLoadCtx *lc, VsRamRecord *rec, VsCursor *c, GError **errp)
{
    const char *why = NULL;
    uint16_t n;

    if (!vs_cursor_u8(c, &rec->xbzrle_flag) || !vs_cursor_be16(c, &n)) {
        return vs_mig_fail_short(errp, c, 3, "RAM XBZRLE header");
    }
    if (rec->xbzrle_flag != RAM_ENCODING_FLAG_XBZRLE) {
        why = "wrong compression!";
    } else if (n > lc->page_size) {
        why = "len overflow!";
    } else if (!vs_cursor_bytes(c, n, &rec->data)) {
        return vs_mig_fail_short(errp, c, n, "RAM XBZRLE data");
    } else if (!ram_xbzrle_ok(rec->data, n, lc->page_size)) {
        why = "decode error!";
    }
    if (why) {
        return vs_mig_fail(errp, VS_MIG_ERROR_RAM,
                           "Failed to load XBZRLE page - %s; Failed to decompress XBZRLE page at "
                           "%" PRIx64 " (block %s, flag 0x%02x, %u bytes of data, page size %" PRIu64
                           ")",
                           why, rec->offset, rec->block, rec->xbzrle_flag, n, lc->page_size);
    }
    rec->len = n;
    return true;
}

static bool ram_compressed(VsLoadCtx *lc, VsRamRecord *rec, VsCursor *c, GError **errp)
{
    uint32_t n;

    if (!vs_cursor_be32(c, &n)) {
        return vs_mig_fail_short(errp, c, 4, "RAM COMPRESS_PAGE length");
    }
    /* QEMU reads the length into an int: above INT_MAX it is negative. */
    if (n > ram_compress_bound(lc->page_size)) {
        return vs_mig_fail(errp, VS_MIG_ERROR_RAM,
                           "Invalid compressed data length: %d (offset 0x%zx; at most %" PRIu64
                           " for a page of %" PRIu64 " bytes)",
                           (int)n, c->pos - 4, ram_compress_bound(lc->page_size), lc->page_size);
    }
    if (!vs_cursor_bytes(c, n, &rec->data)) {
        return vs_mig_fail_short(errp, c, n, "RAM COMPRESS_PAGE data");
    }
    rec->len = n;
    return true;
}

/* The payload of one record by its type; @ret_eos at the end marker. */
static bool ram_payload(VsLoadCtx *lc, VsRamRecord *rec, TALLOC_CTX *rec_ctx, VsCursor *c,
                        size_t at, bool *ret_eos, GError **errp)
{
    switch (rec->flags & ~(uint32_t)VS_RAM_CONTINUE) {
    case VS_RAM_MEM_SIZE:
        return ram_mem_size(lc, rec, rec_ctx, c, errp);
    case VS_RAM_ZERO:
        if (!vs_cursor_u8(c, &rec->fill)) {
            return vs_mig_fail_short(errp, c, 1, "RAM ZERO fill byte");
        }
        return true;
    case VS_RAM_PAGE:
        if (!vs_cursor_bytes(c, lc->page_size, &rec->data)) {
            return vs_mig_fail_short(errp, c, lc->page_size, "RAM PAGE data");
        }
        rec->len = lc->page_size;
        return true;
    case VS_RAM_COMPRESS_PAGE:
        return ram_compressed(lc, rec, c, errp);
    case VS_RAM_XBZRLE:
        return ram_xbzrle(lc, rec, c, errp);
    case VS_RAM_EOS:
        *ret_eos = true;
        return true;
    default:
        return vs_mig_fail(errp, VS_MIG_ERROR_RAM,
                           "Unknown combination of migration flags: 0x%x (RAM record at offset "
                           "0x%zx, word 0x%016" PRIx64 "%s)",
                           rec->flags, at, rec->offset | rec->flags,
                           (rec->flags & VS_RAM_HOOK) ? "; RAM_SAVE_FLAG_HOOK needs the RDMA transport"
                                                      : "");
    }
}

static bool ram_record(VsLoadCtx *lc, VsSection *sec, TALLOC_CTX *rec_ctx, VsCursor *c,
                       bool *ret_eos, GError **errp)
{
    size_t at = c->pos;
    VsRamRecord *rec;
    const VsRamBlockInfo *b = NULL;
    uint64_t w;

    VsRamRecord streamed;
    uint32_t flags;

    if (!vs_cursor_be64(c, &w)) {
        return vs_mig_fail_short(errp, c, 8, "RAM record word");
    }
    flags = (uint32_t)(w & (lc->page_size - 1));
    /* A streamed page record lives on the stack for the callback only. */
    if ((flags & RAM_PAGE_FLAGS) && lc->opts.ram_page) {
        memset(&streamed, 0, sizeof(streamed));
        rec = &streamed;
    } else {
        rec = ram_add(sec, rec_ctx);
    }
    rec->flags = flags;
    rec->offset = w & ~(lc->page_size - 1);
    if (rec->flags & RAM_PAGE_FLAGS) {
        if (lc->opts.max_pages && ++lc->n_pages > lc->opts.max_pages) {
            return vs_mig_fail(errp, VS_MIG_ERROR_LIMIT,
                               "more than the limit of %zu RAM page records (offset 0x%zx)",
                               lc->opts.max_pages, at);
        }
        if (!ram_block(lc, rec, c, at, &b, errp)) {
            return false;
        }
        if (rec->offset >= b->length) {
            return vs_mig_fail(errp, VS_MIG_ERROR_RAM,
                               "Illegal RAM offset %" PRIx64 " (RAM record at offset 0x%zx; block "
                               "%s has 0x%" PRIx64 " bytes)",
                               rec->offset, at, b->name, b->length);
        }
    }
    if (!ram_payload(lc, rec, rec_ctx, c, at, ret_eos, errp)) {
        return false;
    }
    if (rec == &streamed) {
        VsRamPage page = { .rec = rec, .block = b, .page_size = lc->page_size,
                           .input_offset = at };

        lc->opts.ram_page(lc->opts.ram_page_opaque, &page);
    }
    return true;
}

bool vs_ram_load_section(VsLoadCtx *lc, VsSection *sec, TALLOC_CTX *rec_ctx, VsCursor *c,
                         GError **errp)
{
    bool eos = false;

    while (!eos) {
        if (!ram_record(lc, sec, rec_ctx, c, &eos, errp)) {
            return false;
        }
    }
    /* Give back what doubling left unused. */
    if (sec->n_ram < talloc_array_length(sec->ram)) {
        sec->ram = talloc_realloc(rec_ctx, sec->ram, VsRamRecord, sec->n_ram);
        g_assert(sec->ram != NULL);
    }
    return true;
}

/* ---- encoding --------------------------------------------------------------- */

static void ram_encode_record(const VsRamRecord *rec, VsQemuFile *out)
{
    vs_qemufile_put_be64(out, rec->offset | rec->flags);
    if ((rec->flags & RAM_PAGE_FLAGS) && !(rec->flags & VS_RAM_CONTINUE)) {
        vs_qemufile_put_cstr8(out, rec->block);
    }
    switch (rec->flags & ~(uint32_t)VS_RAM_CONTINUE) {
    case VS_RAM_MEM_SIZE:
        for (size_t i = 0; i < rec->n_blocks; i++) {
            const VsRamBlockInfo *b = &rec->blocks[i];

            vs_qemufile_put_cstr8(out, b->name);
            vs_qemufile_put_be64(out, b->length);
            if (b->has_page_size) {
                vs_qemufile_put_be64(out, b->page_size);
            }
            if (b->has_mr_addr) {
                vs_qemufile_put_be64(out, b->mr_addr);
            }
        }
        break;
    case VS_RAM_ZERO:
        vs_qemufile_put_byte(out, rec->fill);
        break;
    case VS_RAM_PAGE:
        vs_qemufile_put_buffer(out, rec->data, rec->len);
        break;
    case VS_RAM_COMPRESS_PAGE:
        vs_qemufile_put_be32(out, (uint32_t)rec->len);
        vs_qemufile_put_buffer(out, rec->data, rec->len);
        break;
    case VS_RAM_XBZRLE:
        vs_qemufile_put_byte(out, rec->xbzrle_flag);
        vs_qemufile_put_be16(out, (uint16_t)rec->len);
        vs_qemufile_put_buffer(out, rec->data, rec->len);
        break;
    default:
        break;
    }
}

void vs_ram_encode_section(const VsSection *sec, VsQemuFile *out)
{
    for (size_t i = 0; i < sec->n_ram; i++) {
        ram_encode_record(&sec->ram[i], out);
    }
}
