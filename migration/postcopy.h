/*
 * postcopy.h: postcopy live migration: the destination runs the guest
 * before all of its RAM has arrived and fetches each page it touches on
 * demand; with recovery from a cut connection.
 *
 * SPDX-License-Identifier: MIT
 *
 * Theory of operation
 * ===================
 *
 * A VsPostcopy belongs to a VsMigration (migrate.h), which calls into it
 * at a few points of its source and destination threads; the flow and
 * wire format are QEMU 7.2's (qemu-stream-format.md §1.7, §4, docs/postcopy.md):
 *
 * Source, with the postcopy-ram capability:
 *
 *     setup      OPEN_RETURN_PATH, PING 1, POSTCOPY_ADVISE; a thread reads
 *                the return path (PONG, REQ_PAGES*, RECV_BITMAP, RESUME_ACK,
 *                SHUT)
 *     active     precopy rounds, until migrate-start-postcopy (or, a vstate
 *                extension, x-postcopy-after-rounds passes over RAM)
 *     switch     guest stopped; a last dirty sync; POSTCOPY_RAM_DISCARD of
 *                every page still to send, per block; PING 2; PACKAGED(
 *                LISTEN, the device sections, PING 3, RUN); PING 4
 *     postcopy-active  PART(ram) sections: requested pages first, each
 *                flushed at once, then the background sweep from there;
 *                END(ram), EOF; waits for SHUT
 *
 * Destination:
 *
 *     ADVISE     checks the page sizes; userfaultfd or the software
 *                fallback is chosen; RAM is emptied (QEMU discards it too)
 *     DISCARD    the ranges are dropped again and not "received"
 *     LISTEN     (in the package) RAM blocks registered with a userfaultfd
 *                in MISSING mode; the fault thread starts; postcopy-active
 *     RUN        (end of the package) the guest runs
 *     PART(ram)  pages placed atomically: UFFDIO_COPY (16 pages at once for
 *                the background stream, requested pages alone and at once),
 *                UFFDIO_ZEROPAGE for zero pages
 *     EOF        every page must be in; SHUT(0); completed
 *
 * The fault thread reads the userfaultfd; for a page not yet received it
 * sends REQ_PAGES(_ID) on the return path; the incoming thread's
 * placement wakes the faulting thread.  Where userfaultfd is not
 * available (or VSTATE_POSTCOPY_UFFD=off), the software fallback runs the
 * same protocol: the guest's memory accessor calls vs_postcopy_access()
 * before it touches a page, which waits until the page is received
 * (vs_postcopy_mode() says which mode ran).
 *
 * postcopy-preempt (QEMU 7.2's): a second connection, made right after
 * the main one and taken by the destination as the next it accepts,
 * carries requested pages only: bare page records with their own
 * block-name (CONTINUE) state, no header, no sections; the migration
 * thread writes each requested page there and flushes it, so it does not
 * queue behind the background stream; after the main channel's EOF an
 * EOS record ends it.  The destination reads it in a thread of its own.
 * max-postcopy-bandwidth paces the background sweep after the switch,
 * never a requested page.
 *
 * Recovery: an I/O error on the connection in postcopy-active takes both
 * sides to postcopy-paused, nothing received is lost (the guest on the
 * destination keeps running, its faults wait).  vs_postcopy_recover() on
 * the destination listens again, vs_postcopy_resume() on the source
 * connects: postcopy-recover; the source asks for each block's received
 * bitmap (RECV_BITMAP), sends again every page not received, then
 * POSTCOPY_RESUME; the destination answers RESUME_ACK and repeats its
 * outstanding requests; both are postcopy-active again.
 */
#ifndef VSTATE_MIGRATION_POSTCOPY_H
#define VSTATE_MIGRATION_POSTCOPY_H

#include "migration/channel.h"
#include "migration/migrate.h"

G_BEGIN_DECLS

typedef struct VsPostcopy VsPostcopy;

/* ---- for the guest and the monitor ----------------------------------------------- */

/*
 * vs_postcopy_access: the guest is about to touch byte @offset of @b.
 * While a destination runs postcopy in the software fallback, waits
 * until that page is received; otherwise returns at once (one atomic
 * load).  Any thread.
 */
void vs_postcopy_access(VsPostcopy *pc, const VsRamBlock *b, uint64_t offset);

/*
 * vs_postcopy_release: the guest goes away: every guest thread waiting for
 * a page is let go (the fallback's waits end, the userfaultfd registration
 * ends, so a missing page reads as zeroes), so that it can be joined
 * before the migration is freed.  The migration cannot place pages
 * afterwards.  Any thread; a no-op when no postcopy runs.
 */
void vs_postcopy_release(VsPostcopy *pc);

/* migrate-start-postcopy: switch the running precopy migration over. */
bool vs_postcopy_start(VsPostcopy *pc, GError **errp);

/* migrate-recover: a paused destination listens on @uri for its source. */
bool vs_postcopy_recover(VsPostcopy *pc, const char *uri, GError **errp);

/* migrate with resume=true: a paused source connects to @uri again. */
bool vs_postcopy_resume(VsPostcopy *pc, const char *uri, GError **errp);

/*
 * The destination's page-fault mode of the last postcopy: "userfaultfd",
 * "software" (with the reason in *@ret_note, may be NULL), or NULL when
 * none ran.  Borrowed.
 */
const char *vs_postcopy_mode(VsPostcopy *pc, const char **ret_note);

/* Figures of the last postcopy on either side. */
typedef struct VsPostcopyStats {
    uint64_t requests;          /* page requests (sent by a destination, served by a source) */
    uint64_t placed_pages;      /* destination: pages placed after LISTEN */
    uint64_t placed_batches;    /* destination: UFFDIO_COPY calls (or copies) for them */
    uint64_t recoveries;        /* pause -> active again */
    uint64_t preempt_pages;     /* pages sent / received on the preempt channel */
} VsPostcopyStats;
void vs_postcopy_stats(VsPostcopy *pc, VsPostcopyStats *ret);

/*
 * vs_postcopy_request_latencies: destination, the last postcopy: for up
 * to @max requested pages, in the order they arrived, the time from the
 * request to the page placed (us).  Returns how many were stored.
 */
size_t vs_postcopy_request_latencies(VsPostcopy *pc, uint32_t *ret_us, size_t max);

/* ---- for migrate.c ------------------------------------------------------------------ */

/* @out_state: the source's state (the monitor's checks); all borrowed. */
VsPostcopy *vs_postcopy_new(TALLOC_CTX *mem_ctx, VsRamList *ram, VsDirtyTracker *tracker,
                            VsMigState *out_state, const gint *cancel);
/* Wakes every wait (a VsMigration going away); postcopy cannot run afterwards. */
void vs_postcopy_shutdown(VsPostcopy *pc);

/* Capabilities that cannot be combined with postcopy-ram (QEMU's words). */
bool vs_postcopy_check_params(const VsMigParams *p, GError **errp);
/* The parameters changed (max-postcopy-bandwidth applies at once). */
void vs_postcopy_set_params(VsPostcopy *pc, const VsMigParams *p);

/*
 * Source.  vs_postcopy_out_begin(): after the header and configuration
 * (a no-op unless @p->postcopy_ram): the return path and ADVISE; @fd is
 * the channel's socket.  vs_postcopy_out_should_switch(): before each
 * round.  vs_postcopy_out_end(): once the migration ended, either way.
 */
bool vs_postcopy_out_begin(VsPostcopy *pc, VsMigState *st, const VsMigParams *p, int fd,
                           VsQemuFile *f, GError **errp);
bool vs_postcopy_out_should_switch(VsPostcopy *pc, uint64_t dirty_syncs);
void vs_postcopy_out_end(VsPostcopy *pc);

typedef struct VsPostcopyOut {
    VsRamSender *rs;
    VsChannel *ch;               /* the channel of the precopy phase */
    VsQemuFile *f;               /* its file */
    uint32_t ram_section_id;
    /* FULL device sections, EOF and trailer, as vs_savevm_write_devices() wrote them. */
    const uint8_t *devices;
    size_t devices_len;
    int64_t stop_us;             /* when the guest stopped, for the downtime */
    bool *guest_stopped;         /* cleared once the destination may run the guest */
    /* A new channel after a recovery (NULL once it ends), for cancel. */
    void (*publish_channel)(void *opaque, VsChannel *ch);
    void *opaque;
} VsPostcopyOut;

/*
 * vs_postcopy_out_run: the guest is stopped and in state active: the
 * switch and the whole postcopy phase, with pauses and resumes, to
 * completed; closes the channel(s).
 */
bool vs_postcopy_out_run(VsPostcopy *pc, VsPostcopyOut *o, GError **errp);

/*
 * Destination.  vs_postcopy_in_begin(): before the stream's items.
 * vs_postcopy_in_command(): a command (after its 0x08 byte); @fd is the
 * channel's socket (the return path).  A PACKAGED command gives its bytes
 * as *@ret_package (a memory reader under @mem_ctx) to parse as items;
 * *@ret_end_package says that parsing them ends here (RUN).
 */
void vs_postcopy_in_begin(VsPostcopy *pc, VsMigState *st, const VsMigParams *p,
                          const VsMigVmOps *ops, void *opaque);
/*
 * vs_postcopy_in_accept_preempt: after the main channel was accepted on
 * @l: with postcopy-ram and postcopy-preempt in @p, the next connection
 * is the preempt channel (kept for the migration's vs_postcopy_in_begin());
 * otherwise nothing.
 */
bool vs_postcopy_in_accept_preempt(VsPostcopy *pc, const VsMigParams *p,
                                   VsChannelListener *l, GError **errp);
bool vs_postcopy_in_command(VsPostcopy *pc, VsQemuFile *f, int fd, TALLOC_CTX *mem_ctx,
                            VsQemuFile **ret_package, bool *ret_end_package, GError **errp);
/* Whether RAM sections now go through vs_postcopy_in_ram(). */
bool vs_postcopy_in_listening(VsPostcopy *pc);
/* One RAM section body during postcopy (QEMU's ram_load_postcopy). */
bool vs_postcopy_in_ram(VsPostcopy *pc, VsQemuFile *f, GError **errp);
/*
 * vs_postcopy_in_pause: the items of @f failed with *@errp.  When that is
 * a broken connection during postcopy: postcopy-paused until a recovery
 * connects; *@f is then the new connection's file, *@errp cleared, true.
 * Otherwise false with *@errp as it was.
 */
bool vs_postcopy_in_pause(VsPostcopy *pc, VsQemuFile **f, GError **errp);
/* The stream ended (@ok): checks every page is in, ends the fault handling, SHUT. */
bool vs_postcopy_in_finish(VsPostcopy *pc, bool ok, GError **errp);

G_END_DECLS

#endif /* VSTATE_MIGRATION_POSTCOPY_H */
