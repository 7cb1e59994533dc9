/*
 * fuzz-multifd.c: feeds arbitrary bytes to the multifd packet decoder and
 * the channels' decompression, as a destination channel thread uses them.
 * Any input must end in success or a clean VS_MULTIFD_ERROR: no crash, no
 * write outside the RAM blocks, no allocation driven by the input.
 *
 * SPDX-License-Identifier: MIT
 *
 * Input: one byte choosing the compression (none, zlib, zstd, by its value
 * modulo 3), a 64-byte init packet, then packets (1344-byte header and the
 * payload it declares) until the input ends or a packet fails.  RAM is two
 * small blocks ("pc.ram" 256 KiB, "vga.vram" 16 KiB).  The stored corpus
 * is tests/fuzz/corpus/multifd/ (files named by SHA-256).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migration/multifd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_RAM (256u * 1024u)
#define FUZZ_VRAM (16u * 1024u)

static void fuzz_check_error(GError *err)
{
    if (!err || err->domain != VS_MULTIFD_ERROR) {
        fprintf(stderr, "fuzz-multifd: a failure without a multifd error\n");
        abort();
    }
    g_error_free(err);
}

/* One packet at *@pos; false once the input is used up or a packet fails. */
static bool fuzz_packet(VsRamList *ram, VsMultifdCompression comp, VsMultifdInflater *z,
                        const uint8_t *data, size_t size, size_t *pos)
{
    VsMultifdPacket p;
    VsRamBlock *b = NULL;
    GError *err = NULL;
    uint8_t *pages[VS_MULTIFD_PAGE_COUNT];
    size_t len;

    if (size - *pos < VS_MULTIFD_HEADER_SIZE) {
        return false;
    }
    if (!vs_multifd_packet_decode(data + *pos, ram, comp, 0, &p, &b, &err)) {
        fuzz_check_error(err);
        return false;
    }
    *pos += VS_MULTIFD_HEADER_SIZE;
    len = vs_multifd_packet_payload(&p, comp);
    if (p.normal_pages == 0) {
        return true;
    }
    if (len > VS_MULTIFD_MAX_PAYLOAD || size - *pos < len) {
        return false;
    }
    for (uint32_t i = 0; i < p.normal_pages; i++) {
        pages[i] = b->host + p.offset[i];
    }
    if (comp == VS_MULTIFD_COMPRESSION_NONE) {
        for (uint32_t i = 0; i < p.normal_pages; i++) {
            memcpy(pages[i], data + *pos + (size_t)i * VS_RAM_PAGE_SIZE, VS_RAM_PAGE_SIZE);
        }
    } else if (!vs_multifd_inflate(z, data + *pos, len, pages, p.normal_pages, &err)) {
        fuzz_check_error(err);
        return false;
    }
    *pos += len;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    TALLOC_CTX *ctx = talloc_new(NULL);
    VsMultifdConfig cfg = { .channels = 4 };
    VsRamList *ram = vs_ram_list_new(ctx);
    uint8_t *mem = talloc_zero_size(ctx, FUZZ_RAM + FUZZ_VRAM);
    VsMultifdInflater *z = NULL;
    VsMultifdCompression comp;
    GError *err = NULL;
    size_t pos = 1 + VS_MULTIFD_INIT_SIZE;
    uint8_t id = 0;

    if (size < pos || !mem) {
        talloc_free(ctx);
        return 0;
    }
    comp = (VsMultifdCompression)(data[0] % VS_MULTIFD_COMPRESSION__MAX);
    vs_ram_list_add(ram, "pc.ram", mem, FUZZ_RAM, NULL);
    vs_ram_list_add(ram, "vga.vram", mem + FUZZ_RAM, FUZZ_VRAM, NULL);
    if (!vs_multifd_init_decode(data + 1, &cfg, &id, &err)) {
        fuzz_check_error(err);
    }
    if (comp != VS_MULTIFD_COMPRESSION_NONE) {
        z = vs_multifd_inflater_new(ctx, comp, 0, NULL);
        if (!z) {
            abort();
        }
    }
    while (fuzz_packet(ram, comp, z, data, size, &pos)) {
    }
    talloc_free(ctx);
    return 0;
}
