/*
 * ram-save.c: QEMU 7.2's RAM records (see ram-save.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include "migration/ram-save.h"
#include "migration/ram.h"
#include "migration/stream.h"

#include <string.h>

void vs_ram_saver_init(VsRamSaver *rs, uint64_t page_size)
{
    g_assert(page_size != 0 && (page_size & (page_size - 1)) == 0);
    rs->page_size = page_size;
    rs->last_block = NULL;
    rs->borrow_pages = false;
}

void vs_ram_saver_forget(VsRamSaver *rs)
{
    rs->last_block = NULL;
}

/* The vectorized scan of the live migration core (ram.h). */
bool vs_ram_page_is_zero(const uint8_t *page, size_t len)
{
    return vs_ram_buffer_is_zero(page, len);
}

void vs_ram_save_mem_size(VsQemuFile *f, const VsRamSaveBlock *blocks, size_t n_blocks)
{
    uint64_t total = 0;

    for (size_t i = 0; i < n_blocks; i++) {
        total += blocks[i].length;
    }
    vs_qemufile_put_be64(f, total | VS_RAM_MEM_SIZE);
    for (size_t i = 0; i < n_blocks; i++) {
        vs_qemufile_put_cstr8(f, blocks[i].name);
        vs_qemufile_put_be64(f, blocks[i].length);
    }
}

/* The record word and, unless CONTINUE applies, the block name. */
static void ram_save_record_header(VsRamSaver *rs, VsQemuFile *f, const VsRamSaveBlock *block,
                                   uint64_t offset, uint32_t flags)
{
    bool same_block = rs->last_block == block;

    vs_qemufile_put_be64(f, offset | flags | (same_block ? VS_RAM_CONTINUE : 0));
    if (!same_block) {
        vs_qemufile_put_cstr8(f, block->name);
    }
    rs->last_block = block;
}

bool vs_ram_save_page(VsRamSaver *rs, VsQemuFile *f, const VsRamSaveBlock *block,
                      uint64_t offset)
{
    const uint8_t *page;

    g_assert(offset % rs->page_size == 0 && offset < block->length);
    page = block->host + offset;
    if (vs_ram_page_is_zero(page, rs->page_size)) {
        /* QEMU 7.2 always sends fill byte 0. */
        ram_save_record_header(rs, f, block, offset, VS_RAM_ZERO);
        vs_qemufile_put_byte(f, 0);
        return true;
    }
    ram_save_record_header(rs, f, block, offset, VS_RAM_PAGE);
    if (rs->borrow_pages) {
        vs_qemufile_put_borrowed(f, page, rs->page_size);
    } else {
        vs_qemufile_put_buffer(f, page, rs->page_size);
    }
    return false;
}

void vs_ram_save_block(VsRamSaver *rs, VsQemuFile *f, const VsRamSaveBlock *block)
{
    for (uint64_t off = 0; off < block->length && !vs_qemufile_failed(f); off += rs->page_size) {
        vs_ram_save_page(rs, f, block, off);
    }
}

void vs_ram_save_eos(VsQemuFile *f)
{
    vs_qemufile_put_be64(f, VS_RAM_EOS);
}

/* A stable insertion sort: block lists are short. */
void vs_ram_sort_blocks(VsRamSaveBlock *blocks, size_t n_blocks)
{
    for (size_t i = 1; i < n_blocks; i++) {
        VsRamSaveBlock b = blocks[i];
        size_t j = i;

        for (; j > 0 && blocks[j - 1].length < b.length; j--) {
            blocks[j] = blocks[j - 1];
        }
        blocks[j] = b;
    }
}
