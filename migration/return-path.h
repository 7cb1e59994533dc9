/*
 * return-path.h: the messages a destination sends back to its source
 * during a migration (QEMU 7.2's return path), encoded and decoded.
 *
 * SPDX-License-Identifier: MIT
 *
 * The return path is the migration socket read in the other direction.
 * Each message is `be16 type, be16 len, len bytes` (qemu-stream-format.md
 * §4.5):
 *
 *     SHUT(status)              the destination is done (0) or failed
 *     PONG(value)               the answer to a PING command
 *     REQ_PAGES_ID(start, len, block)   a page the guest waits for
 *     REQ_PAGES(start, len)     the same, in the block named last
 *     RECV_BITMAP(block) + blob the pages the destination holds (recovery)
 *     RESUME_ACK(1)             the destination resumed a paused postcopy
 *
 * A VsRpWriter belongs to the destination; several threads (the fault
 * thread and the incoming thread) send through it, each message written
 * whole under its lock.  It may be detached from its socket (a cut
 * connection) and attached to a new one; while detached sends are
 * dropped and return false.  The reader is the source's return-path
 * thread: vs_rp_read() blocks for one message and checks it as QEMU does.
 */
#ifndef VSTATE_MIGRATION_RETURN_PATH_H
#define VSTATE_MIGRATION_RETURN_PATH_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <talloc.h>

G_BEGIN_DECLS

typedef enum VsRpType {
    VS_RP_INVALID = 0,
    VS_RP_SHUT = 1,
    VS_RP_PONG = 2,
    VS_RP_REQ_PAGES_ID = 3,
    VS_RP_REQ_PAGES = 4,
    VS_RP_RECV_BITMAP = 5,
    VS_RP_RESUME_ACK = 6,
    VS_RP_MAX = 7,
} VsRpType;

/* The end marker of a received-bitmap blob (§4.6). */
#define VS_RP_BITMAP_END_MARK 0x0123456789abcdefull

/* QEMU's name of a message type ("REQ_PAGES_ID"), or "INVALID". */
const char *vs_rp_type_name(unsigned type);

/* ---- destination: sending ---------------------------------------------------- */

typedef struct VsRpWriter VsRpWriter;

VsRpWriter *vs_rp_writer_new(TALLOC_CTX *mem_ctx);
/* Send on @fd (borrowed; -1 detaches).  Forgets the last block named. */
void vs_rp_writer_attach(VsRpWriter *w, int fd);
bool vs_rp_writer_attached(VsRpWriter *w);

bool vs_rp_send_shut(VsRpWriter *w, uint32_t status);
bool vs_rp_send_pong(VsRpWriter *w, uint32_t value);
/* REQ_PAGES_ID when @block differs from the last one named, else REQ_PAGES. */
bool vs_rp_send_req_pages(VsRpWriter *w, const char *block, uint64_t start, uint32_t len);
/* RECV_BITMAP(@block) and the blob of @npages bits of @bitmap (host longs). */
bool vs_rp_send_recv_bitmap(VsRpWriter *w, const char *block, const unsigned long *bitmap,
                            uint64_t npages);
bool vs_rp_send_resume_ack(VsRpWriter *w);

/* ---- source: reading ---------------------------------------------------------- */

typedef struct VsRpMsg {
    VsRpType type;
    uint32_t value;          /* SHUT status, PONG value, RESUME_ACK value */
    uint64_t start;          /* REQ_PAGES* */
    uint32_t len;
    char block[256];         /* REQ_PAGES_ID, RECV_BITMAP; "" otherwise */
} VsRpMsg;

/*
 * vs_rp_read: one message from @fd.  Errors use QEMU's words ("RP:
 * Received invalid message 0x%04x length 0x%04x", ...); the end of the
 * stream or a read error say so.
 */
bool vs_rp_read(int fd, VsRpMsg *ret, GError **errp);

/*
 * vs_rp_read_bitmap: the blob after RECV_BITMAP for a block of @npages
 * pages, into @bitmap (host longs, VS_BITS_TO_LONGS(@npages) of them);
 * checks the size and the end marker.
 */
bool vs_rp_read_bitmap(int fd, const char *block, uint64_t npages, unsigned long *bitmap,
                       GError **errp);

G_END_DECLS

#endif /* VSTATE_MIGRATION_RETURN_PATH_H */
