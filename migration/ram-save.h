/*
 * ram-save.h: writing QEMU 7.2's RAM records (qemu-stream-format.md §3).
 *
 * SPDX-License-Identifier: MIT
 *
 * The pieces a RAM section body is made of, kept small so a migration core
 * can drive its own rounds (send some dirty pages, EOS, footer, again):
 *
 *     VsRamSaver rs;
 *
 *     vs_ram_saver_init(&rs, 4096);
 *     vs_ram_save_mem_size(f, blocks, n);      START: the block list ...
 *     vs_ram_save_eos(f);                      ... then EOS
 *     for each dirty page:
 *         vs_ram_save_page(&rs, f, &blocks[b], offset);   PART: ZERO or PAGE
 *     vs_ram_save_eos(f);
 *
 * A VsRamSaver remembers the block of the last page record it wrote, so a
 * record for the same block sets CONTINUE and leaves the name out, as QEMU
 * does on one channel, across section boundaries too.  Call
 * vs_ram_saver_forget() where QEMU forgets it (the RAM list changed, the
 * postcopy switch).
 *
 * Everything is written through the VsQemuFile's sticky error: check the
 * file once at the end.
 */
#ifndef VSTATE_MIGRATION_RAM_SAVE_H
#define VSTATE_MIGRATION_RAM_SAVE_H

#include "visitor/qemufile/qemufile.h"

G_BEGIN_DECLS

/* One RAM block as the writer sees it. */
typedef struct VsRamSaveBlock {
    const char *name;          /* idstr, 1..255 bytes: "pc.ram" */
    const uint8_t *host;       /* @length bytes of guest memory; borrowed */
    uint64_t length;           /* used length, a multiple of the page size */
} VsRamSaveBlock;

typedef struct VsRamSaver {
    uint64_t page_size;                  /* target page size */
    const VsRamSaveBlock *last_block;    /* block of the last page record, or NULL */
    /*
     * Pages go out by reference (vs_qemufile_put_borrowed()), not copied:
     * only where a page changed before the next flush is sent again anyway
     * (precopy under dirty tracking), never for a snapshot that must hold
     * the content of the moment it was saved.  False after init.
     */
    bool borrow_pages;
} VsRamSaver;

/* vs_ram_saver_init: a saver for pages of @page_size bytes (a power of two). */
void vs_ram_saver_init(VsRamSaver *rs, uint64_t page_size);

/* vs_ram_saver_forget: the next page record names its block again. */
void vs_ram_saver_forget(VsRamSaver *rs);

/*
 * vs_ram_page_is_zero: whether @len bytes at @page are all zero.
 * Vectorized (vs_ram_buffer_is_zero()); any @page alignment and @len are fine.
 */
bool vs_ram_page_is_zero(const uint8_t *page, size_t len);

/*
 * vs_ram_save_mem_size: the MEM_SIZE record: be64 (total | MEM_SIZE), then
 * per block its cstr8 name and be64 length, in the order given (QEMU's RAM
 * list order; see vs_ram_sort_blocks()).
 */
void vs_ram_save_mem_size(VsQemuFile *f, const VsRamSaveBlock *blocks, size_t n_blocks);

/*
 * vs_ram_save_page: the record of the page at @offset in @block: ZERO with
 * fill byte 0 when the page is all zero, else PAGE with its bytes; CONTINUE
 * when @block is the saver's last block, else the block's name.
 * @offset: page aligned and inside the block (asserted)
 *
 * Returns: true when a ZERO record was written.
 */
bool vs_ram_save_page(VsRamSaver *rs, VsQemuFile *f, const VsRamSaveBlock *block,
                      uint64_t offset);

/* vs_ram_save_block: a record for every page of @block, in address order. */
void vs_ram_save_block(VsRamSaver *rs, VsQemuFile *f, const VsRamSaveBlock *block);

/* vs_ram_save_eos: the EOS record ending a RAM section's body. */
void vs_ram_save_eos(VsQemuFile *f);

/*
 * vs_ram_sort_blocks: order @blocks as QEMU's RAM list: larger length
 * first, equal lengths in their given (creation) order.
 */
void vs_ram_sort_blocks(VsRamSaveBlock *blocks, size_t n_blocks);

G_END_DECLS

#endif /* VSTATE_MIGRATION_RAM_SAVE_H */
