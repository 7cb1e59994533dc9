/*
 * multifd-packet.c: QEMU 7.2's multifd packets (init packet, data packet
 * header) and the per-channel zlib/zstd streams (see multifd.h).
 *
 * SPDX-License-Identifier: MIT
 *
 * Nothing here blocks or allocates per packet: the codec works on fixed
 * buffers, and everything a header says is checked before it is used.
 */
#include "migration/multifd.h"

#include <inttypes.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

G_DEFINE_QUARK(vs-multifd-error-quark, vs_multifd_error)

/* Header layout (qemu-stream-format.md §5.2). */
#define PKT_OFF_FLAGS 8
#define PKT_OFF_PAGES_ALLOC 12
#define PKT_OFF_NORMAL 16
#define PKT_OFF_NEXT_SIZE 20
#define PKT_OFF_PACKET_NUM 24
#define PKT_OFF_RAMBLOCK 64
#define PKT_RAMBLOCK_LEN 256
#define PKT_OFF_OFFSETS 320
#define INIT_OFF_UUID 8
#define INIT_OFF_ID 24

static const char *const compression_names[VS_MULTIFD_COMPRESSION__MAX] = {
    [VS_MULTIFD_COMPRESSION_NONE] = "none",
    [VS_MULTIFD_COMPRESSION_ZLIB] = "zlib",
    [VS_MULTIFD_COMPRESSION_ZSTD] = "zstd",
};

const char *vs_multifd_compression_name(VsMultifdCompression c)
{
    return c < VS_MULTIFD_COMPRESSION__MAX ? compression_names[c] : "?";
}

bool vs_multifd_compression_parse(const char *name, VsMultifdCompression *ret)
{
    for (unsigned i = 0; i < VS_MULTIFD_COMPRESSION__MAX; i++) {
        if (strcmp(name, compression_names[i]) == 0) {
            *ret = (VsMultifdCompression)i;
            return true;
        }
    }
    return false;
}

static uint32_t compression_flags(VsMultifdCompression c)
{
    return c == VS_MULTIFD_COMPRESSION_ZLIB   ? VS_MULTIFD_FLAG_ZLIB
           : c == VS_MULTIFD_COMPRESSION_ZSTD ? VS_MULTIFD_FLAG_ZSTD
                                              : 0;
}

static bool pkt_fail(GError **errp, VsMultifdError code, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static bool pkt_fail(GError **errp, VsMultifdError code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_propagate_error(errp, g_error_new_valist(VS_MULTIFD_ERROR, code, fmt, ap));
    va_end(ap);
    return false;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
    return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* ---- init packet ------------------------------------------------------------------ */

void vs_multifd_init_encode(uint8_t out[VS_MULTIFD_INIT_SIZE], const uint8_t uuid[16],
                            uint8_t id)
{
    memset(out, 0, VS_MULTIFD_INIT_SIZE);
    put_be32(out, VS_MULTIFD_MAGIC);
    put_be32(out + 4, VS_MULTIFD_VERSION);
    memcpy(out + INIT_OFF_UUID, uuid, 16);
    out[INIT_OFF_ID] = id;
}

static void uuid_format(const uint8_t u[16], char out[37])
{
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
             u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
             u[15]);
}

bool vs_multifd_init_decode(const uint8_t in[VS_MULTIFD_INIT_SIZE], const VsMultifdConfig *cfg,
                            uint8_t *ret_id, GError **errp)
{
    uint32_t magic = get_be32(in);
    uint32_t version = get_be32(in + 4);
    uint8_t id = in[INIT_OFF_ID];

    /* QEMU 7.2's words. */
    if (magic != VS_MULTIFD_MAGIC) {
        return pkt_fail(errp, VS_MULTIFD_ERROR_PACKET,
                        "multifd: received packet magic %" PRIx32 " expected %x", magic,
                        VS_MULTIFD_MAGIC);
    }
    if (version != VS_MULTIFD_VERSION) {
        return pkt_fail(errp, VS_MULTIFD_ERROR_PACKET,
                        "multifd: received packet version %" PRIu32 " expected %u", version,
                        VS_MULTIFD_VERSION);
    }
    if (memcmp(in + INIT_OFF_UUID, cfg->uuid, 16) != 0) {
        char got[37], want[37];

        uuid_format(in + INIT_OFF_UUID, got);
        uuid_format(cfg->uuid, want);
        return pkt_fail(errp, VS_MULTIFD_ERROR_PACKET,
                        "multifd: received uuid '%s' and expected uuid '%s' for channel %u", got,
                        want, id);
    }
    if (id >= cfg->channels) {
        return pkt_fail(errp, VS_MULTIFD_ERROR_PACKET,
                        "multifd: received channel id %u but only %u channels are expected", id,
                        cfg->channels);
    }
    *ret_id = id;
    return true;
}

/* ---- data packet header ------------------------------------------------------------- */

void vs_multifd_packet_encode(uint8_t out[VS_MULTIFD_HEADER_SIZE], const VsMultifdPacket *p)
{
    size_t name_len = strnlen(p->ramblock, PKT_RAMBLOCK_LEN - 1);

    memset(out, 0, VS_MULTIFD_HEADER_SIZE);
    put_be32(out, VS_MULTIFD_MAGIC);
    put_be32(out + 4, VS_MULTIFD_VERSION);
    put_be32(out + PKT_OFF_FLAGS, p->flags);
    put_be32(out + PKT_OFF_PAGES_ALLOC, p->pages_alloc);
    put_be32(out + PKT_OFF_NORMAL, p->normal_pages);
    put_be32(out + PKT_OFF_NEXT_SIZE, p->next_packet_size);
    put_be64(out + PKT_OFF_PACKET_NUM, p->packet_num);
    memcpy(out + PKT_OFF_RAMBLOCK, p->ramblock, name_len);
    for (uint32_t i = 0; i < p->normal_pages && i < VS_MULTIFD_PAGE_COUNT; i++) {
        put_be64(out + PKT_OFF_OFFSETS + 8 * i, p->offset[i]);
    }
}

size_t vs_multifd_packet_payload(const VsMultifdPacket *p, VsMultifdCompression compression)
{
    if (p->normal_pages == 0) {
        return 0;
    }
    /* Raw pages: QEMU reads their size and ignores next_packet_size. */
    return compression == VS_MULTIFD_COMPRESSION_NONE
               ? (size_t)p->normal_pages * VS_RAM_PAGE_SIZE
               : p->next_packet_size;
}

static bool packet_check_pages(const VsMultifdPacket *p, VsRamList *ram,
                               VsMultifdCompression compression, unsigned channel,
                               VsRamBlock **ret_block, GError **errp)
{
    uint32_t want = compression_flags(compression);
    uint32_t got = p->flags & VS_MULTIFD_FLAG_COMPRESSION_MASK;
    VsRamBlock *b;

    if (got != want) {
        return pkt_fail(errp, VS_MULTIFD_ERROR_PACKET,
                        "multifd channel %u: flags received %x flags expected %x (packet %"
                        PRIu64 ": compression %s expected)", channel, got, want, p->packet_num,
                        vs_multifd_compression_name(compression));
    }
    if (compression != VS_MULTIFD_COMPRESSION_NONE &&
        (p->next_packet_size == 0 || p->next_packet_size > VS_MULTIFD_MAX_PAYLOAD)) {
        return pkt_fail(errp, VS_MULTIFD_ERROR_PACKET,
                        "multifd channel %u: packet %" PRIu64 " declares %" PRIu32
                        " compressed bytes, expected 1 to %u", channel, p->packet_num,
                        p->next_packet_size, VS_MULTIFD_MAX_PAYLOAD);
    }
    b = vs_ram_list_find(ram, p->ramblock);
    if (!b) {
        return pkt_fail(errp, VS_MULTIFD_ERROR_PACKET,
                        "multifd channel %u: unknown ram block %s (packet %" PRIu64 ")", channel,
                        p->ramblock, p->packet_num);
    }
    for (uint32_t i = 0; i < p->normal_pages; i++) {
        uint64_t off = p->offset[i];

        if (off > b->save.length - VS_RAM_PAGE_SIZE || off % VS_RAM_PAGE_SIZE != 0) {
            return pkt_fail(errp, VS_MULTIFD_ERROR_PACKET,
                            "multifd channel %u: offset too long %" PRIu64 " (max %" PRIx64
                            ") or not page aligned, page %" PRIu32 " of packet %" PRIu64
                            " (block %s)", channel, off, b->save.length - VS_RAM_PAGE_SIZE, i,
                            p->packet_num, b->save.name);
        }
    }
    *ret_block = b;
    return true;
}

bool vs_multifd_packet_decode(const uint8_t in[VS_MULTIFD_HEADER_SIZE], VsRamList *ram,
                              VsMultifdCompression compression, unsigned channel,
                              VsMultifdPacket *ret, VsRamBlock **ret_block, GError **errp)
{
    uint32_t magic = get_be32(in);
    uint32_t version = get_be32(in + 4);

    *ret_block = NULL;
    /* QEMU 7.2's words, after the channel. */
    if (magic != VS_MULTIFD_MAGIC) {
        return pkt_fail(errp, VS_MULTIFD_ERROR_PACKET,
                        "multifd channel %u: received packet magic %" PRIx32
                        " and expected magic %x", channel, magic, VS_MULTIFD_MAGIC);
    }
    if (version != VS_MULTIFD_VERSION) {
        return pkt_fail(errp, VS_MULTIFD_ERROR_PACKET,
                        "multifd channel %u: received packet version %" PRIu32
                        " and expected version %u", channel, version, VS_MULTIFD_VERSION);
    }
    ret->flags = get_be32(in + PKT_OFF_FLAGS);
    ret->pages_alloc = get_be32(in + PKT_OFF_PAGES_ALLOC);
    ret->normal_pages = get_be32(in + PKT_OFF_NORMAL);
    ret->next_packet_size = get_be32(in + PKT_OFF_NEXT_SIZE);
    ret->packet_num = get_be64(in + PKT_OFF_PACKET_NUM);
    if (ret->pages_alloc > VS_MULTIFD_PAGE_COUNT) {
        return pkt_fail(errp, VS_MULTIFD_ERROR_PACKET,
                        "multifd channel %u: received packet with size %" PRIu32
                        " and expected a size of %u (packet %" PRIu64 ")", channel,
                        ret->pages_alloc, VS_MULTIFD_PAGE_COUNT, ret->packet_num);
    }
    if (ret->normal_pages > ret->pages_alloc) {
        return pkt_fail(errp, VS_MULTIFD_ERROR_PACKET,
                        "multifd channel %u: received packet with %" PRIu32
                        " pages and expected maximum pages are %" PRIu32 " (packet %" PRIu64 ")",
                        channel, ret->normal_pages, ret->pages_alloc, ret->packet_num);
    }
    /* As QEMU: the name is at most 255 bytes, whatever byte 255 holds. */
    memcpy(ret->ramblock, in + PKT_OFF_RAMBLOCK, PKT_RAMBLOCK_LEN);
    ret->ramblock[PKT_RAMBLOCK_LEN - 1] = '\0';
    for (uint32_t i = 0; i < ret->normal_pages; i++) {
        ret->offset[i] = get_be64(in + PKT_OFF_OFFSETS + 8 * i);
    }
    if (ret->normal_pages == 0) {
        return true;
    }
    return packet_check_pages(ret, ram, compression, channel, ret_block, errp);
}

/* ---- compression ------------------------------------------------------------------------ */

struct VsMultifdDeflater {
    VsMultifdCompression compression;
    unsigned channel;
    bool zlib_ready;
    z_stream zs;
    ZSTD_CStream *zcs;
};

struct VsMultifdInflater {
    VsMultifdCompression compression;
    unsigned channel;
    bool zlib_ready;
    z_stream zs;
    ZSTD_DStream *zds;
    uint8_t *scratch;             /* zstd: a packet's pages, decoded in one go */
};

static int deflater_destructor(VsMultifdDeflater *d)
{
    if (d->zlib_ready) {
        deflateEnd(&d->zs);
    }
    ZSTD_freeCStream(d->zcs);
    return 0;
}

static int inflater_destructor(VsMultifdInflater *z)
{
    if (z->zlib_ready) {
        inflateEnd(&z->zs);
    }
    ZSTD_freeDStream(z->zds);
    return 0;
}

VsMultifdDeflater *vs_multifd_deflater_new(TALLOC_CTX *mem_ctx, VsMultifdCompression compression,
                                           unsigned level, unsigned channel, GError **errp)
{
    VsMultifdDeflater *d = talloc_zero(mem_ctx, VsMultifdDeflater);

    g_assert(d != NULL && compression != VS_MULTIFD_COMPRESSION_NONE);
    d->compression = compression;
    d->channel = channel;
    talloc_set_destructor(d, deflater_destructor);
    if (compression == VS_MULTIFD_COMPRESSION_ZLIB) {
        if (deflateInit(&d->zs, (int)level) != Z_OK) {
            pkt_fail(errp, VS_MULTIFD_ERROR_CHANNEL, "multifd channel %u: deflate init failed",
                     channel);
            talloc_free(d);
            return NULL;
        }
        d->zlib_ready = true;
        return d;
    }
    d->zcs = ZSTD_createCStream();
    if (!d->zcs || ZSTD_isError(ZSTD_initCStream(d->zcs, (int)level))) {
        pkt_fail(errp, VS_MULTIFD_ERROR_CHANNEL, "multifd channel %u: zstd init failed",
                 channel);
        talloc_free(d);
        return NULL;
    }
    return d;
}

static bool deflate_zlib(VsMultifdDeflater *d, const uint8_t *const *pages, unsigned n,
                         uint8_t *out, size_t cap, size_t *ret_len, GError **errp)
{
    z_stream *zs = &d->zs;

    zs->next_out = out;
    zs->avail_out = (uInt)cap;
    for (unsigned i = 0; i < n; i++) {
        int flush = i == n - 1 ? Z_SYNC_FLUSH : Z_NO_FLUSH;
        int ret;

        zs->next_in = (Bytef *)(uintptr_t)pages[i];
        zs->avail_in = VS_RAM_PAGE_SIZE;
        do {
            ret = deflate(zs, flush);
        } while (ret == Z_OK && zs->avail_in && zs->avail_out);
        /* A sync flush is only complete when output room is left over. */
        if (ret != Z_OK || zs->avail_in || zs->avail_out == 0) {
            return pkt_fail(errp, VS_MULTIFD_ERROR_CHANNEL,
                            "multifd channel %u: deflate returned %d (%u bytes of output room)",
                            d->channel, ret, zs->avail_out);
        }
    }
    *ret_len = cap - zs->avail_out;
    return true;
}

static bool deflate_zstd(VsMultifdDeflater *d, const uint8_t *const *pages, unsigned n,
                         uint8_t *out, size_t cap, size_t *ret_len, GError **errp)
{
    ZSTD_outBuffer ob = { out, cap, 0 };

    for (unsigned i = 0; i < n; i++) {
        ZSTD_EndDirective mode = i == n - 1 ? ZSTD_e_flush : ZSTD_e_continue;
        ZSTD_inBuffer ib = { pages[i], VS_RAM_PAGE_SIZE, 0 };
        size_t ret;

        do {
            ret = ZSTD_compressStream2(d->zcs, &ob, &ib, mode);
        } while (!ZSTD_isError(ret) && ob.pos < ob.size &&
                 (ib.pos < ib.size || (mode == ZSTD_e_flush && ret > 0)));
        if (ZSTD_isError(ret) || ib.pos < ib.size || (mode == ZSTD_e_flush && ret > 0)) {
            return pkt_fail(errp, VS_MULTIFD_ERROR_CHANNEL,
                            "multifd channel %u: zstd compression failed: %s", d->channel,
                            ZSTD_isError(ret) ? ZSTD_getErrorName(ret) : "output full");
        }
    }
    *ret_len = ob.pos;
    return true;
}

bool vs_multifd_deflate(VsMultifdDeflater *d, const uint8_t *const *pages, unsigned n,
                        uint8_t *out, size_t cap, size_t *ret_len, GError **errp)
{
    g_assert(n > 0);
    return d->compression == VS_MULTIFD_COMPRESSION_ZLIB
               ? deflate_zlib(d, pages, n, out, cap, ret_len, errp)
               : deflate_zstd(d, pages, n, out, cap, ret_len, errp);
}

VsMultifdInflater *vs_multifd_inflater_new(TALLOC_CTX *mem_ctx, VsMultifdCompression compression,
                                           unsigned channel, GError **errp)
{
    VsMultifdInflater *z = talloc_zero(mem_ctx, VsMultifdInflater);

    g_assert(z != NULL && compression != VS_MULTIFD_COMPRESSION_NONE);
    z->compression = compression;
    z->channel = channel;
    talloc_set_destructor(z, inflater_destructor);
    if (compression == VS_MULTIFD_COMPRESSION_ZLIB) {
        if (inflateInit(&z->zs) != Z_OK) {
            pkt_fail(errp, VS_MULTIFD_ERROR_CHANNEL, "multifd channel %u: inflate init failed",
                     channel);
            talloc_free(z);
            return NULL;
        }
        z->zlib_ready = true;
        return z;
    }
    z->scratch = talloc_size(z, (size_t)VS_MULTIFD_PAGE_COUNT * VS_RAM_PAGE_SIZE);
    g_assert(z->scratch != NULL);
    z->zds = ZSTD_createDStream();
    if (!z->zds || ZSTD_isError(ZSTD_initDStream(z->zds))) {
        pkt_fail(errp, VS_MULTIFD_ERROR_CHANNEL, "multifd channel %u: zstd init failed",
                 channel);
        talloc_free(z);
        return NULL;
    }
    return z;
}

/*
 * Each call either makes progress or stops the loop, and output never
 * exceeds the page it is given: a hostile stream costs at most its length.
 */
static bool inflate_zlib(VsMultifdInflater *z, const uint8_t *in, size_t len,
                         uint8_t *const *pages, unsigned n, GError **errp)
{
    z_stream *zs = &z->zs;
    uint8_t spare;
    int ret = Z_OK;

    zs->next_in = (Bytef *)(uintptr_t)in;
    zs->avail_in = (uInt)len;
    for (unsigned i = 0; i < n; i++) {
        zs->next_out = pages[i];
        zs->avail_out = VS_RAM_PAGE_SIZE;
        while (zs->avail_out && zs->avail_in) {
            ret = inflate(zs, Z_SYNC_FLUSH);
            if (ret != Z_OK) {
                break;
            }
        }
        if (ret != Z_OK && ret != Z_BUF_ERROR) {
            return pkt_fail(errp, VS_MULTIFD_ERROR_PACKET,
                            "multifd channel %u: inflate returned %d instead of Z_OK (%s), page "
                            "%u of %u", z->channel, ret, zs->msg ? zs->msg : "no message", i, n);
        }
        if (zs->avail_out) {
            return pkt_fail(errp, VS_MULTIFD_ERROR_PACKET,
                            "multifd channel %u: inflate generated too few output (page %u of "
                            "%u short by %u bytes)", z->channel, i, n, zs->avail_out);
        }
    }
    /* What is left may only be the end of the sync flush: no more output. */
    while (zs->avail_in) {
        uInt before = zs->avail_in;

        zs->next_out = &spare;
        zs->avail_out = 1;
        ret = inflate(zs, Z_SYNC_FLUSH);
        if ((ret != Z_OK && ret != Z_BUF_ERROR) || zs->avail_out == 0 ||
            zs->avail_in == before) {
            return pkt_fail(errp, VS_MULTIFD_ERROR_PACKET,
                            "multifd channel %u: %u compressed bytes left after %u pages",
                            z->channel, zs->avail_in, n);
        }
    }
    return true;
}

static bool inflate_zstd(VsMultifdInflater *z, const uint8_t *in, size_t len,
                         uint8_t *const *pages, unsigned n, GError **errp)
{
    ZSTD_inBuffer ib = { in, len, 0 };
    /* Whole packets at once: one decoder call per packet, not one per page. */
    ZSTD_outBuffer ob = { z->scratch, (size_t)n * VS_RAM_PAGE_SIZE, 0 };
    uint8_t spare;

    while (ob.pos < ob.size) {
        size_t in_before = ib.pos, out_before = ob.pos;
        size_t ret = ZSTD_decompressStream(z->zds, &ob, &ib);

        if (ZSTD_isError(ret)) {
            return pkt_fail(errp, VS_MULTIFD_ERROR_PACKET,
                            "multifd channel %u: zstd: %s (page %zu of %u)", z->channel,
                            ZSTD_getErrorName(ret), ob.pos / VS_RAM_PAGE_SIZE, n);
        }
        if (ib.pos == in_before && ob.pos == out_before) {
            return pkt_fail(errp, VS_MULTIFD_ERROR_PACKET,
                            "multifd channel %u: packet size received %zu gives too few "
                            "output (%zu of %zu bytes for %u pages)", z->channel, len, ob.pos,
                            ob.size, n);
        }
    }
    for (unsigned i = 0; i < n; i++) {
        memcpy(pages[i], z->scratch + (size_t)i * VS_RAM_PAGE_SIZE, VS_RAM_PAGE_SIZE);
    }
    /* Once at least: the decoder may hold output it already decoded. */
    do {
        ZSTD_outBuffer rest = { &spare, 1, 0 };
        size_t before = ib.pos;
        size_t ret = ZSTD_decompressStream(z->zds, &rest, &ib);

        if (ZSTD_isError(ret) || rest.pos != 0 || (ib.pos == before && ib.pos < ib.size)) {
            return pkt_fail(errp, VS_MULTIFD_ERROR_PACKET,
                            "multifd channel %u: %zu compressed bytes left after %u pages",
                            z->channel, ib.size - ib.pos, n);
        }
    } while (ib.pos < ib.size);
    return true;
}

bool vs_multifd_inflate(VsMultifdInflater *z, const uint8_t *in, size_t len,
                        uint8_t *const *pages, unsigned n, GError **errp)
{
    return z->compression == VS_MULTIFD_COMPRESSION_ZLIB
               ? inflate_zlib(z, in, len, pages, n, errp)
               : inflate_zstd(z, in, len, pages, n, errp);
}
