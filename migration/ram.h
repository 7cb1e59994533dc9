/*
 * ram.h: guest RAM for live migration: blocks, dirty tracking, the precopy
 * sender and the destination's receiver.
 *
 * SPDX-License-Identifier: MIT
 *
 * Theory of operation
 * ===================
 *
 * A VsRamList holds the VM's RAM blocks (QEMU's RAMBlocks: a name such as
 * "pc.ram", host memory, a length), in QEMU's RAM-list order (larger first,
 * equal sizes in creation order), which is the order MEM_SIZE lists them
 * and pages are sent in.
 *
 * A VsDirtyTracker records which pages the guest wrote.  Two backends:
 *
 *   - explicit: the writer calls vs_dirty_mark() after it writes; marks go
 *     into one atomic bitmap per block.  Works everywhere.
 *   - uffd: the kernel tracks writes with userfaultfd's asynchronous
 *     write-protect (UFFD_FEATURE_WP_ASYNC); the PAGEMAP_SCAN ioctl
 *     returns the written pages and write-protects them again in one call.
 *     vs_dirty_mark() is then a no-op.  Needs Linux 6.7 and the right to
 *     use userfaultfd (root, or vm.unprivileged_userfaultfd=1).
 *
 * The precopy sender (QEMU's ram_save_setup/iterate/complete) keeps its own
 * per-block "to send" bitmap:
 *
 *     VsRamSender *rs = vs_ram_sender_new(ctx, list, tracker);
 *     vs_ram_sender_setup(rs, f, errp);        START body: MEM_SIZE, EOS;
 *                                              every page is to send
 *     while (vs_ram_sender_pending(rs) > threshold) {
 *         vs_ram_sender_iterate(rs, f, ...);   PART body: pages, EOS
 *         if (nothing left) vs_ram_sender_sync(rs, errp);  a dirty sync
 *     }
 *     stop the guest;
 *     vs_ram_sender_complete(rs, f, errp);     END body: sync, the rest, EOS
 *
 * Zero pages are found with a vectorized scan and sent as ZERO records;
 * others as PAGE records (QEMU 7.2's RAM record format, ram-save.h).
 *
 * The receiver applies RAM section bodies to the destination's blocks as
 * they arrive: MEM_SIZE is checked against the local blocks, PAGE bytes
 * are read straight into guest memory, a ZERO page is cleared unless it is
 * zero already (so untouched memory stays untouched).
 */
#ifndef VSTATE_MIGRATION_RAM_H
#define VSTATE_MIGRATION_RAM_H

#include "migration/ram-save.h"
#include "visitor/qemufile/qemufile.h"

G_BEGIN_DECLS

#define VS_RAM_ERROR (vs_ram_error_quark())
GQuark vs_ram_error_quark(void);

typedef enum VsRamError {
    VS_RAM_ERROR_INVALID,      /* bad block name, length or duplicate */
    VS_RAM_ERROR_UNSUPPORTED,  /* a dirty-tracking backend this system lacks */
    VS_RAM_ERROR_TRACKER,      /* the tracker failed while running */
    VS_RAM_ERROR_STREAM,       /* the incoming RAM records are wrong */
    VS_RAM_ERROR__MAX,
} VsRamError;

/* The target page size of the RAM records (x86). */
#define VS_RAM_PAGE_SIZE 4096u

typedef struct VsRamBlock {
    VsRamSaveBlock save;      /* name, host, length (as the record writer sees it) */
    uint8_t *host;            /* writable view of save.host */
    uint64_t npages;
    unsigned long *to_send;   /* sender: pages still to send */
    unsigned long *marks;     /* explicit tracker: pages written since the last collect */
} VsRamBlock;

typedef struct VsRamList VsRamList;

VsRamList *vs_ram_list_new(TALLOC_CTX *mem_ctx);

/*
 * vs_ram_list_add: add a block.
 * @name: 1..255 bytes, copied
 * @host: @length bytes, borrowed: must outlive the list
 * @length: a multiple of VS_RAM_PAGE_SIZE
 * Returns: the block (owned by the list), or NULL with VS_RAM_ERROR_INVALID.
 */
VsRamBlock *vs_ram_list_add(VsRamList *list, const char *name, uint8_t *host, uint64_t length,
                            GError **errp);
size_t vs_ram_list_count(const VsRamList *list);
/* Blocks in RAM-list order; borrowed. */
VsRamBlock *vs_ram_list_get(const VsRamList *list, size_t i);
VsRamBlock *vs_ram_list_find(const VsRamList *list, const char *name);
uint64_t vs_ram_list_total(const VsRamList *list);

/*
 * vs_ram_buffer_is_zero: whether @len bytes at @p are zero.  SSE2, or
 * AVX2 where the CPU has it; @p any alignment.
 */
bool vs_ram_buffer_is_zero(const uint8_t *p, size_t len);

/*
 * vs_ram_digest: a 64-bit digest of @len bytes (fast, not cryptographic:
 * for checking that two VMs hold the same memory or device bytes).
 */
uint64_t vs_ram_digest(const uint8_t *p, size_t len);

/* ---- dirty tracking -------------------------------------------------------- */

typedef enum VsDirtyBackend {
    VS_DIRTY_EXPLICIT,
    VS_DIRTY_UFFD,
} VsDirtyBackend;

typedef struct VsDirtyTracker VsDirtyTracker;

/*
 * vs_dirty_tracker_new: a tracker over every block of @list (blocks added
 * later are not tracked).
 * Returns: NULL with VS_RAM_ERROR_UNSUPPORTED (saying why) when @backend
 * cannot work here; the explicit backend always works.
 */
VsDirtyTracker *vs_dirty_tracker_new(TALLOC_CTX *mem_ctx, VsRamList *list,
                                     VsDirtyBackend backend, GError **errp);
VsDirtyBackend vs_dirty_tracker_backend(const VsDirtyTracker *t);
/* "explicit" or "userfaultfd-wp-async". */
const char *vs_dirty_tracker_name(const VsDirtyTracker *t);

/* vs_dirty_tracker_start: from now on writes are recorded (all pages clean). */
bool vs_dirty_tracker_start(VsDirtyTracker *t, GError **errp);
/* vs_dirty_tracker_stop: recording ends; marks are dropped. */
void vs_dirty_tracker_stop(VsDirtyTracker *t);
bool vs_dirty_tracker_running(const VsDirtyTracker *t);

/*
 * vs_dirty_mark: record a write of @len bytes at @offset of @b (call after
 * writing).  Any thread; lock-free.  A no-op unless the explicit tracker
 * is running.
 */
void vs_dirty_mark(VsDirtyTracker *t, VsRamBlock *b, uint64_t offset, uint64_t len);

/*
 * vs_dirty_tracker_collect: OR the pages of @b written since the last
 * collect (or start) into @bitmap, and start recording afresh.
 * @ret_new: pages that were not yet set in @bitmap
 */
bool vs_dirty_tracker_collect(VsDirtyTracker *t, VsRamBlock *b, unsigned long *bitmap,
                              uint64_t *ret_new, GError **errp);

/*
 * vs_dirty_tracker_suspend/resume: hand the kernel tracker's registration
 * over (a memory range takes one userfaultfd: a background snapshot needs
 * its own) and take it back; no-ops for the explicit tracker.  Suspend
 * only while the tracker is not running.
 */
void vs_dirty_tracker_suspend(VsDirtyTracker *t);
bool vs_dirty_tracker_resume(VsDirtyTracker *t, GError **errp);

/* ---- write-protect for background snapshots ---------------------------------- */

typedef struct VsRamWp VsRamWp;

/*
 * vs_ram_wp_new: write-protect every block of @list with a synchronous
 * userfaultfd: a guest write to a protected page blocks until the page is
 * released.  VS_RAM_ERROR_UNSUPPORTED when the kernel cannot.
 * Freeing it lifts every protection and wakes blocked writers.
 */
VsRamWp *vs_ram_wp_new(TALLOC_CTX *mem_ctx, VsRamList *list, GError **errp);
/* The next page a writer waits for, without blocking; false when none. */
bool vs_ram_wp_next_fault(VsRamWp *wp, VsRamBlock **ret_block, uint64_t *ret_page);
/* Lift the protection of @npages pages from @first_page, waking their writers. */
void vs_ram_wp_release(VsRamWp *wp, VsRamBlock *b, uint64_t first_page, uint64_t npages);

/* ---- precopy sender --------------------------------------------------------- */

typedef struct VsRamSendStats {
    uint64_t bytes;           /* RAM record bytes written (all sections) */
    uint64_t zero_pages;      /* QEMU's "duplicate" */
    uint64_t normal_pages;
    uint64_t dirty_syncs;
    uint64_t last_sync_new;   /* pages the last sync found newly dirty */
    uint64_t downtime_bytes;  /* written by vs_ram_sender_complete() */
} VsRamSendStats;

typedef struct VsRamSender VsRamSender;

VsRamSender *vs_ram_sender_new(TALLOC_CTX *mem_ctx, VsRamList *list, VsDirtyTracker *tracker);

/*
 * VsRamRecordWriter: the sender's records in another form than QEMU's
 * legacy records (vstate's BER live stream, migration/ber-live.h).
 * @mem_size: the MEM_SIZE record of @blocks, in RAM-list order
 * @page: the record of the page at @offset of @block; true when it went
 *   as a ZERO record
 * @eos: the EOS record ending a section body
 */
typedef struct VsRamRecordWriter {
    void (*mem_size)(void *opaque, VsQemuFile *f, const VsRamSaveBlock *blocks, size_t n);
    bool (*page)(void *opaque, VsQemuFile *f, const VsRamSaveBlock *block, uint64_t offset);
    void (*eos)(void *opaque, VsQemuFile *f);
    void *opaque;
} VsRamRecordWriter;

/* vs_ram_sender_set_writer: write records through @w (borrowed); NULL: legacy records. */
void vs_ram_sender_set_writer(VsRamSender *rs, const VsRamRecordWriter *w);

/* The START body: starts the tracker, marks every page to send, MEM_SIZE, EOS. */
bool vs_ram_sender_setup(VsRamSender *rs, VsQemuFile *f, GError **errp);

/*
 * vs_ram_sender_iterate: one PART body: pages to send, in list order, until
 * @f is rate limited, @max_us passed (checked every 64 pages, as QEMU), or
 * none is left; then EOS.
 * Returns: the number of pages written.
 */
uint64_t vs_ram_sender_iterate(VsRamSender *rs, VsQemuFile *f, uint64_t max_us);

/* vs_ram_sender_sync: a dirty-bitmap sync (QEMU's migration_bitmap_sync). */
bool vs_ram_sender_sync(VsRamSender *rs, GError **errp);

/* Bytes of the pages still to send. */
uint64_t vs_ram_sender_pending(const VsRamSender *rs);

/* The END body, guest stopped: a last sync, every page left, EOS; stops the tracker. */
bool vs_ram_sender_complete(VsRamSender *rs, VsQemuFile *f, GError **errp);

/*
 * vs_ram_sender_snapshot: the PART bodies of a background snapshot: every
 * page once, as it was when @wp was armed, pages writers wait for first;
 * each page is released once sent.  @f's rate limit paces it; returns at
 * the end of a 50 ms round with *@ret_done telling whether all went.
 */
void vs_ram_sender_snapshot_round(VsRamSender *rs, VsQemuFile *f, VsRamWp *wp, bool *ret_done);
/* The START body of a background snapshot: MEM_SIZE, EOS; every page to send, no tracking. */
void vs_ram_sender_snapshot_setup(VsRamSender *rs, VsQemuFile *f);

/*
 * A page sink takes the non-zero pages instead of PAGE records on @f (the
 * main channel): multifd.  @flush runs before each section's EOS, and
 * returns once every page it took is written.  Failures go into @f's
 * sticky error.  Zero pages stay ZERO records on @f, as QEMU 7.2 sends them.
 */
typedef struct VsRamPageSink {
    void (*page)(void *opaque, VsQemuFile *f, const VsRamBlock *b, uint64_t offset);
    void (*flush)(void *opaque, VsQemuFile *f);
} VsRamPageSink;

/* vs_ram_sender_set_sink: use @sink (NULL: none) from the next setup on. */
void vs_ram_sender_set_sink(VsRamSender *rs, const VsRamPageSink *sink, void *opaque);

/* vs_ram_sender_abort: stop the tracker (cancel, failure). */
void vs_ram_sender_abort(VsRamSender *rs);

/* A copy of the figures so far. */
void vs_ram_sender_stats(const VsRamSender *rs, VsRamSendStats *ret);

/*
 * Postcopy (migration/postcopy.c), guest stopped and tracker stopped:
 * vs_ram_sender_send_requested() sends page @page of @b now if it is still
 * to send (true) and moves the background sweep there;
 * vs_ram_sender_send_next() sends the sweep's next page (false when none
 * is left); vs_ram_sender_put_eos() ends a section body written so.
 * vs_ram_sender_resend_missing(): after a recovery, the pages of @b to
 * send are those not set in @received (the destination's bitmap); the next
 * record names its block again.
 */
bool vs_ram_sender_send_requested(VsRamSender *rs, VsQemuFile *f, VsRamBlock *b, uint64_t page);
bool vs_ram_sender_send_next(VsRamSender *rs, VsQemuFile *f);
/* The next page record names its block again (postcopy-preempt switches channels). */
void vs_ram_sender_forget_block(VsRamSender *rs);
void vs_ram_sender_put_eos(VsRamSender *rs, VsQemuFile *f);
void vs_ram_sender_resend_missing(VsRamSender *rs, VsRamBlock *b, const unsigned long *received);
/* The sweep starts again from the first block, whose record names it (QEMU does so at the switch). */
void vs_ram_sender_restart_sweep(VsRamSender *rs);

/* ---- receiver ----------------------------------------------------------------- */

typedef struct VsRamReceiver {
    VsRamList *list;
    VsRamBlock *last;         /* the block CONTINUE refers to */
    bool got_mem_size;
    uint64_t pages;           /* PAGE records applied */
    uint64_t zero_pages;      /* ZERO records applied */
} VsRamReceiver;

void vs_ram_receiver_init(VsRamReceiver *r, VsRamList *list);

/*
 * vs_ram_receiver_load: apply one RAM section body (up to its EOS) from @f.
 * Errors (VS_RAM_ERROR_STREAM) use QEMU 7.2's words ("Unknown ramblock
 * \"%s\", cannot accept migration", "Size mismatch: ...", "Illegal RAM
 * offset ...", "Unknown combination of migration flags: 0x%x") followed by
 * the stream offset; a channel failure is the channel's error.
 */
bool vs_ram_receiver_load(VsRamReceiver *r, VsQemuFile *f, GError **errp);

G_END_DECLS

#endif /* VSTATE_MIGRATION_RAM_H */
