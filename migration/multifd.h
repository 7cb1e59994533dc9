/*
 * multifd.h: RAM pages over several extra connections in parallel, as QEMU
 * 7.2's multifd capability moves them: the packets on the wire, their
 * compression, the source's sending channels and the destination's
 * receiving channels.
 *
 * SPDX-License-Identifier: MIT
 *
 * Theory of operation
 * ===================
 *
 * With the `multifd` capability a migration opens, besides its main
 * connection, `multifd-channels` more connections to the same tcp: or
 * unix: URI (qemu-stream-format.md §5).  The main channel carries what it
 * always does (header, sections, device state) except the contents of
 * non-zero pages: a zero page still goes there as a ZERO record, every
 * other page is queued here.  128 queued pages of one block (512 KiB) make
 * a packet, which the next idle channel's thread writes: a 1344-byte header
 * (flags, page count, a packet number global over all channels, the block
 * name, the page offsets), then the pages, raw or through the channel's
 * compression stream.  Each channel starts with a 64-byte init packet
 * (magic, version, UUID, channel id).
 *
 * Ordering.  Before the EOS of every RAM section (START, each PART, END)
 * the source flushes its queue and makes every channel send a packet with
 * the SYNC flag, and writes EOS only once all of them are written.  A
 * destination channel thread that reads a SYNC stops until the main
 * thread, having read that EOS, has seen a SYNC from every channel and
 * releases them all.  So no page of a section is applied after anything
 * the main channel carries after that section, and no page of the next
 * section before it: a round's pages never land after the next round's.
 *
 *     source                                   destination
 *     main: ... ZERO ZERO  [sync]  EOS |PART    main: ... EOS -> wait all SYNC,
 *     ch 0:  pkt pkt SYNC |pkt ...                    release
 *     ch 1:  pkt SYNC     |pkt ...              ch k: pkt pkt SYNC -> wait
 *
 * Errors.  A failure of any channel (I/O, a packet that does not decode,
 * an early end) fails the whole migration with the channel named
 * ("multifd channel 1: ..."): on the source the main thread sees it at its
 * next page or sync and fails as any migration does (the guest runs on);
 * on the destination the failing thread shuts every channel down, the main
 * channel too, so the load stops at once with that error.  A channel whose
 * source closes it cleanly between packets is only an error if a SYNC is
 * still owed.
 *
 * The packet codec and the compression streams below have no threads and
 * no sockets: unit tests and the fuzz target drive them directly.
 */
#ifndef VSTATE_MIGRATION_MULTIFD_H
#define VSTATE_MIGRATION_MULTIFD_H

#include "migration/channel.h"
#include "migration/migrate.h"
#include "migration/ram.h"

G_BEGIN_DECLS

#define VS_MULTIFD_ERROR (vs_multifd_error_quark())
GQuark vs_multifd_error_quark(void);

typedef enum VsMultifdError {
    VS_MULTIFD_ERROR_PACKET,    /* a packet or init packet that does not decode */
    VS_MULTIFD_ERROR_CHANNEL,   /* a channel failed (I/O, early end, compression) */
    VS_MULTIFD_ERROR_PARAM,     /* a URI or configuration multifd cannot use */
    VS_MULTIFD_ERROR__MAX,
} VsMultifdError;

/* QEMU 7.2's constants (qemu-stream-format.md §5). */
#define VS_MULTIFD_MAGIC 0x11223344u
#define VS_MULTIFD_VERSION 1u
#define VS_MULTIFD_FLAG_SYNC 0x1u
#define VS_MULTIFD_FLAG_ZLIB (1u << 1)
#define VS_MULTIFD_FLAG_ZSTD (2u << 1)
#define VS_MULTIFD_FLAG_COMPRESSION_MASK (7u << 1)
/* Pages per packet: 512 KiB of target pages. */
#define VS_MULTIFD_PAGE_COUNT ((512u * 1024u) / VS_RAM_PAGE_SIZE)
#define VS_MULTIFD_INIT_SIZE 64u
#define VS_MULTIFD_HEADER_SIZE (320u + 8u * VS_MULTIFD_PAGE_COUNT)
#define VS_MULTIFD_MAX_CHANNELS 255u
/* The largest compressed payload accepted: QEMU's receive buffer, twice a packet's pages. */
#define VS_MULTIFD_MAX_PAYLOAD (2u * VS_MULTIFD_PAGE_COUNT * VS_RAM_PAGE_SIZE)

typedef enum VsMultifdCompression {
    VS_MULTIFD_COMPRESSION_NONE,
    VS_MULTIFD_COMPRESSION_ZLIB,
    VS_MULTIFD_COMPRESSION_ZSTD,
    VS_MULTIFD_COMPRESSION__MAX,
} VsMultifdCompression;

/* "none", "zlib", "zstd" (QEMU's multifd-compression values). */
const char *vs_multifd_compression_name(VsMultifdCompression c);
bool vs_multifd_compression_parse(const char *name, VsMultifdCompression *ret);

/* What both ends must agree on (QEMU 7.2's defaults: 2, none, 1, 1, no UUID). */
typedef struct VsMultifdConfig {
    unsigned channels;               /* 1..255 */
    VsMultifdCompression compression;
    unsigned zlib_level;             /* 0..9 */
    unsigned zstd_level;             /* 0..20 */
    uint8_t uuid[16];                /* the VM's UUID; all zero without one */
} VsMultifdConfig;

/* ---- parameters (migrate.h's VsMigParams) ------------------------------------------ */

/* QEMU 7.2's defaults into @p's multifd members. */
void vs_multifd_default_params(VsMigParams *p);

/* Ranges and combinations, with QEMU 7.2's words (VS_MIGRATE_ERROR_PARAM). */
bool vs_multifd_check_params(const VsMigParams *p, GError **errp);

/* @p's multifd members as the configuration both ends use. */
void vs_multifd_config_from_params(const VsMigParams *p, VsMultifdConfig *ret);

/* ---- packets ------------------------------------------------------------------ */

typedef struct VsMultifdPacket {
    uint32_t flags;
    uint32_t pages_alloc;
    uint32_t normal_pages;
    uint32_t next_packet_size;       /* payload bytes after the header */
    uint64_t packet_num;
    char ramblock[256];              /* NUL-terminated */
    uint64_t offset[VS_MULTIFD_PAGE_COUNT];
} VsMultifdPacket;

/* vs_multifd_init_encode: channel @id's init packet. */
void vs_multifd_init_encode(uint8_t out[VS_MULTIFD_INIT_SIZE], const uint8_t uuid[16],
                            uint8_t id);

/*
 * vs_multifd_init_decode: check an init packet against @cfg (magic,
 * version, UUID, id < channels) and return its channel id.
 * Errors: VS_MULTIFD_ERROR_PACKET with QEMU's words.
 */
bool vs_multifd_init_decode(const uint8_t in[VS_MULTIFD_INIT_SIZE], const VsMultifdConfig *cfg,
                            uint8_t *ret_id, GError **errp);

/* vs_multifd_packet_encode: the header of @p (unused offsets written as zero). */
void vs_multifd_packet_encode(uint8_t out[VS_MULTIFD_HEADER_SIZE], const VsMultifdPacket *p);

/*
 * vs_multifd_packet_decode: read and check a header as QEMU 7.2's
 * destination does: magic, version, page counts, and for a packet with
 * pages the block (in @ram), every offset (a whole page inside the block),
 * the compression bits (@compression's) and the payload size.
 * @channel: only for the messages
 * @ret_block: the block of the pages (NULL for a packet without pages)
 * Errors: VS_MULTIFD_ERROR_PACKET, "multifd channel N: " and QEMU's words.
 */
bool vs_multifd_packet_decode(const uint8_t in[VS_MULTIFD_HEADER_SIZE], VsRamList *ram,
                              VsMultifdCompression compression, unsigned channel,
                              VsMultifdPacket *ret, VsRamBlock **ret_block, GError **errp);

/* Payload bytes that follow a decoded header. */
size_t vs_multifd_packet_payload(const VsMultifdPacket *p, VsMultifdCompression compression);

/* ---- compression streams (one per channel, never reset) -------------------------- */

typedef struct VsMultifdDeflater VsMultifdDeflater;
typedef struct VsMultifdInflater VsMultifdInflater;

/* A compression stream for @compression (not NONE); NULL with an error if the library fails. */
VsMultifdDeflater *vs_multifd_deflater_new(TALLOC_CTX *mem_ctx, VsMultifdCompression compression,
                                           unsigned level, unsigned channel, GError **errp);

/*
 * vs_multifd_deflate: compress @n pages into @out as QEMU 7.2 frames a
 * packet (zlib: no flush but a sync flush after the last page; zstd:
 * continue, then a flush).  @cap should be VS_MULTIFD_MAX_PAYLOAD.
 */
bool vs_multifd_deflate(VsMultifdDeflater *d, const uint8_t *const *pages, unsigned n,
                        uint8_t *out, size_t cap, size_t *ret_len, GError **errp);

VsMultifdInflater *vs_multifd_inflater_new(TALLOC_CTX *mem_ctx, VsMultifdCompression compression,
                                           unsigned channel, GError **errp);

/*
 * vs_multifd_inflate: decompress @len bytes into exactly @n pages of
 * VS_RAM_PAGE_SIZE; the input must yield exactly that and be used up.
 */
bool vs_multifd_inflate(VsMultifdInflater *z, const uint8_t *in, size_t len,
                        uint8_t *const *pages, unsigned n, GError **errp);

/* ---- source ------------------------------------------------------------------------ */

typedef struct VsMultifdSend VsMultifdSend;

/*
 * vs_multifd_send_new: connect @cfg->channels channels to @uri (tcp: or
 * unix: only; connect the main channel first, a QEMU 7.2 destination takes
 * the first connection for it), send their init packets and start their
 * threads.
 * @pace, @pace_opaque: called by the main thread with each packet's bytes
 *   before it is queued (max-bandwidth); false stops the migration
 * Ownership: a talloc child of @mem_ctx; freeing it shuts down and joins.
 */
VsMultifdSend *vs_multifd_send_new(TALLOC_CTX *mem_ctx, const VsMultifdConfig *cfg,
                                   const char *uri, VsQemuFileRateHook pace, void *pace_opaque,
                                   GError **errp);

/* The sink to give vs_ram_sender_set_sink() with the VsMultifdSend as opaque. */
const VsRamPageSink *vs_multifd_send_sink(void);

/* Bytes written on the multifd channels (init packets, headers, payloads); any thread. */
uint64_t vs_multifd_send_bytes(VsMultifdSend *s);

/* The first channel error, copied into @errp; false when none. */
bool vs_multifd_send_error(VsMultifdSend *s, GError **errp);

/* vs_multifd_send_shutdown: wake and fail every channel (cancel); any thread. */
void vs_multifd_send_shutdown(VsMultifdSend *s);

/*
 * vs_multifd_send_finish: after the last sync: stop the threads and close
 * the channels.  Returns the first channel error, if any.
 */
bool vs_multifd_send_finish(VsMultifdSend *s, GError **errp);

/* ---- destination -------------------------------------------------------------------- */

typedef struct VsMultifdRecv VsMultifdRecv;

/* A receiver applying pages to @ram; a talloc child of @mem_ctx (freeing it joins). */
VsMultifdRecv *vs_multifd_recv_new(TALLOC_CTX *mem_ctx, const VsMultifdConfig *cfg,
                                   VsRamList *ram);

/*
 * vs_multifd_recv_accept: accept the main channel and every multifd
 * channel on @l in whatever order they come, telling them apart by their
 * first four bytes ("QEVM" or the multifd magic), check each init packet
 * and start the channel's thread.
 * Returns: the main channel (a talloc child of @mem_ctx), or NULL.
 */
VsChannel *vs_multifd_recv_accept(VsMultifdRecv *r, VsChannelListener *l, TALLOC_CTX *mem_ctx,
                                  GError **errp);

/*
 * vs_multifd_recv_sync: at a RAM section's EOS on the main channel: wait for
 * a SYNC from every channel, then release them.  Fails with the failing
 * channel's error.
 */
bool vs_multifd_recv_sync(VsMultifdRecv *r, GError **errp);

/* The first channel error, copied into @errp; false when none. */
bool vs_multifd_recv_error(VsMultifdRecv *r, GError **errp);

/* vs_multifd_recv_shutdown: stop every channel (and the main one); any thread. */
void vs_multifd_recv_shutdown(VsMultifdRecv *r);

/* vs_multifd_recv_finish: after the load: stop and join the channel threads. */
void vs_multifd_recv_finish(VsMultifdRecv *r);

/* Pages the channels wrote into RAM. */
uint64_t vs_multifd_recv_pages(VsMultifdRecv *r);

G_END_DECLS

#endif /* VSTATE_MIGRATION_MULTIFD_H */
