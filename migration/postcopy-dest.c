/*
 * postcopy-dest.c: postcopy's destination: the commands, userfaultfd (or
 * the software fallback), the fault thread, atomic page placement,
 * blocktime, pause and recovery (see postcopy.h).
 *
 * SPDX-License-Identifier: MIT
 *
 * Threads: the incoming thread (migrate.c) parses the stream and places
 * pages; the fault thread turns faults into page requests on the return
 * path; with postcopy-preempt a thread of its own reads and places the
 * preempt channel's pages (each channel has its own block-name state and
 * batch, a PcLoader).  A page is "received" once it is placed; that bit is set after
 * the placement, so whoever sees it sees the page's bytes.  Requests are
 * sent once per page (QEMU 7.2 repeats them) and repeated after a
 * recovery for every page requested and not yet received.
 */
#include "migration/postcopy-internal.h"
#include "migration/stream.h"
#include "migration/trace-migration.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PC_MAX_NAME 255
/* Fault messages read at once. */
#define PC_FAULT_BATCH 16

static const char *const pc_cmd_names[PC_CMD_MAX] = {
    "INVALID", "OPEN_RETURN_PATH", "PING", "POSTCOPY_ADVISE", "POSTCOPY_LISTEN",
    "POSTCOPY_RUN", "POSTCOPY_RAM_DISCARD", "PACKAGED", "ENABLE_COLO", "POSTCOPY_RESUME",
    "RECV_BITMAP",
};

/* 7.2's fixed lengths; -1: variable. */
static const int pc_cmd_lens[PC_CMD_MAX] = {
    -1, 0, 4, -1, 0, 0, -1, 4, 0, 0, -1,
};

/* ---- blocks, bitmaps --------------------------------------------------------------------- */

static void pc_in_free_maps(VsPostcopy *pc)
{
    TALLOC_FREE(pc->blocks);
    TALLOC_FREE(pc->received);
    TALLOC_FREE(pc->requested);
    TALLOC_FREE(pc->soft_queue);
    TALLOC_FREE(pc->main_ld.batch);
    TALLOC_FREE(pc->pre_ld.batch);
    TALLOC_FREE(pc->req_time);
    pc->n_blocks = 0;
}

/* Per block bitmaps; every page counts as received until DISCARD says otherwise. */
static void pc_in_alloc_maps(VsPostcopy *pc)
{
    size_t n = vs_ram_list_count(pc->ram);

    pc_in_free_maps(pc);
    pc->n_blocks = n;
    pc->blocks = talloc_array(pc, VsRamBlock *, n + 1);
    pc->received = talloc_zero_array(pc, unsigned long *, n + 1);
    pc->requested = talloc_zero_array(pc, unsigned long *, n + 1);
    pc->soft_queue = talloc_array(pc, PcRequest, PC_QUEUE_MAX);
    pc->main_ld.batch = talloc_array(pc, uint8_t, PC_BATCH_PAGES * VS_RAM_PAGE_SIZE);
    pc->pre_ld.batch = talloc_array(pc, uint8_t, PC_BATCH_PAGES * VS_RAM_PAGE_SIZE);
    pc->req_time = talloc_zero_array(pc, int64_t *, n + 1);
    g_assert(pc->blocks && pc->received && pc->requested && pc->soft_queue &&
             pc->main_ld.batch && pc->pre_ld.batch && pc->req_time);
    for (size_t i = 0; i < n; i++) {
        VsRamBlock *b = vs_ram_list_get(pc->ram, i);
        uint64_t words = VS_BITS_TO_LONGS(b->npages);

        pc->blocks[i] = b;
        pc->received[i] = talloc_array(pc->received, unsigned long, words);
        pc->requested[i] = talloc_zero_array(pc->requested, unsigned long, words);
        pc->req_time[i] = talloc_zero_array(pc->req_time, int64_t, b->npages + 1);
        g_assert(pc->received[i] && pc->requested[i] && pc->req_time[i]);
        memset(pc->received[i], 0xff, words * sizeof(unsigned long));
        if (b->npages % VS_BITS_PER_LONG) {
            pc->received[i][words - 1] = (1ul << (b->npages % VS_BITS_PER_LONG)) - 1;
        }
    }
}

/* The block and page of host address @addr; false when none holds it. */
static bool pc_find_addr(VsPostcopy *pc, uint64_t addr, size_t *ret_bi, uint64_t *ret_page)
{
    for (size_t i = 0; i < pc->n_blocks; i++) {
        uint64_t base = (uintptr_t)pc->blocks[i]->host;

        if (addr >= base && addr < base + pc->blocks[i]->save.length) {
            *ret_bi = i;
            *ret_page = (addr - base) / VS_RAM_PAGE_SIZE;
            return true;
        }
    }
    return false;
}

static uint64_t pc_missing_pages(VsPostcopy *pc, size_t bi)
{
    const VsRamBlock *b = pc->blocks[bi];
    uint64_t have = 0;

    for (uint64_t w = 0; w < VS_BITS_TO_LONGS(b->npages); w++) {
        have += (uint64_t)__builtin_popcountl(__atomic_load_n(&pc->received[bi][w],
                                                              __ATOMIC_ACQUIRE));
    }
    return b->npages - have;
}

/* ---- blocktime ------------------------------------------------------------------------------- */

static PcThread *pc_thread_slot(VsPostcopy *pc, int tid)
{
    for (size_t i = 0; i < pc->n_threads; i++) {
        if (pc->threads[i].tid == tid) {
            return &pc->threads[i];
        }
    }
    if (pc->n_threads == PC_MAX_THREADS) {
        return NULL;
    }
    pc->threads[pc->n_threads] = (PcThread){ .tid = tid };
    return &pc->threads[pc->n_threads++];
}

/*
 * Thread @tid waits for page @page of block @bi.  postcopy-blocktime is
 * the time all guest threads seen so far waited at once; each thread's
 * own total is its postcopy-vcpu-blocktime.
 */
static void pc_blocktime_begin(VsPostcopy *pc, int tid, size_t bi, uint64_t page)
{
    int64_t now = g_get_monotonic_time();
    PcThread *t;

    if (!pc->blocktime_cap) {
        return;
    }
    g_mutex_lock(&pc->lock);
    t = pc_thread_slot(pc, tid);
    if (t && !t->blocked) {
        t->blocked = true;
        t->block = bi;
        t->page = page;
        t->since_us = now;
        if (++pc->n_blocked == pc->n_threads) {
            pc->all_blocked_since = now;
        }
        trace_postcopy_ram_blocktime_begin(page * VS_RAM_PAGE_SIZE, (uint32_t)tid);
    }
    g_mutex_unlock(&pc->lock);
}

static void pc_blocktime_end(VsPostcopy *pc, size_t bi, uint64_t first, uint64_t n)
{
    int64_t now;

    if (!pc->blocktime_cap) {
        return;
    }
    now = g_get_monotonic_time();
    g_mutex_lock(&pc->lock);
    for (size_t i = 0; pc->n_blocked && i < pc->n_threads; i++) {
        PcThread *t = &pc->threads[i];

        if (!t->blocked || t->block != bi || t->page < first || t->page >= first + n) {
            continue;
        }
        if (pc->n_blocked == pc->n_threads) {
            pc->all_blocked_total += now - pc->all_blocked_since;
        }
        t->blocked = false;
        t->total_us += now - t->since_us;
        pc->n_blocked--;
        trace_postcopy_ram_blocktime_end((uintptr_t)pc->blocks[bi]->host +
                                         t->page * VS_RAM_PAGE_SIZE, (uint32_t)t->tid,
                                         (uint64_t)(now - t->since_us));
    }
    g_mutex_unlock(&pc->lock);
}

static void pc_blocktime_publish(VsPostcopy *pc)
{
    uint32_t per[PC_MAX_THREADS];
    size_t n;

    if (!pc->blocktime_cap) {
        return;
    }
    g_mutex_lock(&pc->lock);
    n = pc->n_threads;
    for (size_t i = 0; i < n; i++) {
        per[i] = (uint32_t)(pc->threads[i].total_us / 1000);
    }
    vs_migstate_set_blocktime(pc->in_st, (uint32_t)(pc->all_blocked_total / 1000), per, n);
    g_mutex_unlock(&pc->lock);
}

/* ---- placement ----------------------------------------------------------------------------- */

/* Under the lock: the request latency of each requested page in the range. */
static void pc_note_latencies(VsPostcopy *pc, size_t bi, uint64_t first, uint64_t n)
{
    int64_t now = 0;

    for (uint64_t p = first; p < first + n; p++) {
        int64_t t = __atomic_exchange_n(&pc->req_time[bi][p], 0, __ATOMIC_ACQ_REL);

        if (t == 0) {
            continue;
        }
        if (!now) {
            now = g_get_monotonic_time();
        }
        if (pc->latencies && pc->n_latencies < PC_MAX_LATENCIES) {
            pc->latencies[pc->n_latencies++] = (uint32_t)MIN(now - t, (int64_t)UINT32_MAX);
        }
    }
}

static void pc_mark_received(VsPostcopy *pc, PcLoader *ld, size_t bi, uint64_t first,
                             uint64_t n)
{
    for (uint64_t p = first; p < first + n; p++) {
        pc_bit_set(pc->received[bi], p);
    }
    pc_blocktime_end(pc, bi, first, n);
    g_mutex_lock(&pc->lock);
    pc_note_latencies(pc, bi, first, n);
    pc->stats.placed_pages += n;
    pc->stats.placed_batches++;
    if (ld && ld->preempt) {
        pc->stats.preempt_pages += n;
    }
    if (pc->soft_waiters) {
        g_cond_broadcast(&pc->cond);
    }
    g_mutex_unlock(&pc->lock);
}

/*
 * @n pages from @src at page @first of block @bi, atomically: a page the
 * guest waits for appears whole, and one already there (received twice,
 * after a recovery) is left as the guest changed it.
 */
static bool pc_place(VsPostcopy *pc, PcLoader *ld, size_t bi, uint64_t first, uint64_t n,
                     const uint8_t *src, GError **errp)
{
    VsRamBlock *b = pc->blocks[bi];
    uint64_t len = n * VS_RAM_PAGE_SIZE, done = 0;

    trace_postcopy_place_page(b->save.name, first * VS_RAM_PAGE_SIZE, (unsigned)n);
    if (!pc->use_uffd) {
        /* Two channels place pages: a page received on one is not copied over by the other. */
        g_mutex_lock(&pc->place_lock);
        for (uint64_t i = 0; i < n; i++) {
            if (!pc_bit_get(pc->received[bi], first + i)) {
                memcpy(b->host + (first + i) * VS_RAM_PAGE_SIZE, src + i * VS_RAM_PAGE_SIZE,
                       VS_RAM_PAGE_SIZE);
            }
        }
        pc_mark_received(pc, ld, bi, first, n);
        g_mutex_unlock(&pc->place_lock);
        return true;
    }
    while (done < len) {
        struct uffdio_copy c = {
            .dst = (uintptr_t)b->host + first * VS_RAM_PAGE_SIZE + done,
            .src = (uintptr_t)src + done,
            .len = len - done,
        };

        if (ioctl(pc->uffd, UFFDIO_COPY, &c) == 0) {
            break;
        }
        if (errno == EEXIST && c.copy <= 0) {
            done += VS_RAM_PAGE_SIZE;       /* there already: keep it */
        } else if (errno == EAGAIN) {
            done += c.copy > 0 ? (uint64_t)c.copy : 0;
        } else {
            return pc_error(errp, "postcopy: UFFDIO_COPY at 0x%" PRIx64 " of RAM block '%s' "
                            "failed: %s", (first * VS_RAM_PAGE_SIZE) + done, b->save.name,
                            g_strerror(errno));
        }
    }
    pc_mark_received(pc, ld, bi, first, n);
    return true;
}

static bool pc_place_zero(VsPostcopy *pc, PcLoader *ld, size_t bi, uint64_t page,
                          GError **errp)
{
    VsRamBlock *b = pc->blocks[bi];
    struct uffdio_zeropage z = {
        .range = { .start = (uintptr_t)b->host + page * VS_RAM_PAGE_SIZE,
                   .len = VS_RAM_PAGE_SIZE },
    };

    trace_postcopy_place_page_zero(b->save.name, page * VS_RAM_PAGE_SIZE);
    if (!pc->use_uffd) {
        g_mutex_lock(&pc->place_lock);
        if (!pc_bit_get(pc->received[bi], page)) {
            memset(b->host + page * VS_RAM_PAGE_SIZE, 0, VS_RAM_PAGE_SIZE);
        }
        pc_mark_received(pc, ld, bi, page, 1);
        g_mutex_unlock(&pc->place_lock);
        return true;
    } else {
        while (ioctl(pc->uffd, UFFDIO_ZEROPAGE, &z) < 0 && errno != EEXIST) {
            if (errno != EAGAIN) {
                return pc_error(errp, "postcopy: UFFDIO_ZEROPAGE at 0x%" PRIx64 " of RAM "
                                "block '%s' failed: %s", page * VS_RAM_PAGE_SIZE, b->save.name,
                                g_strerror(errno));
            }
        }
    }
    pc_mark_received(pc, ld, bi, page, 1);
    return true;
}

static bool pc_batch_flush(VsPostcopy *pc, PcLoader *ld, GError **errp)
{
    unsigned n = ld->batch_n;

    ld->batch_n = 0;
    return n == 0 || pc_place(pc, ld, ld->batch_block, ld->batch_first, n, ld->batch, errp);
}

/* ---- the fault thread ------------------------------------------------------------------------ */

static void pc_wake_fault_thread(VsPostcopy *pc)
{
    uint64_t one = 1;

    if (pc->wake_fd >= 0) {
        (void)!write(pc->wake_fd, &one, sizeof(one));
    }
}

/* A page the guest waits for: ask the source once. */
static void pc_request(VsPostcopy *pc, size_t bi, uint64_t page, int tid)
{
    const VsRamBlock *b = pc->blocks[bi];

    if (pc_bit_test_and_set(pc->requested[bi], page)) {
        return;
    }
    __atomic_store_n(&pc->req_time[bi][page], g_get_monotonic_time(), __ATOMIC_RELEASE);
    trace_postcopy_ram_fault_thread_request((uintptr_t)b->host + page * VS_RAM_PAGE_SIZE,
                                            b->save.name, page * VS_RAM_PAGE_SIZE, (uint32_t)tid);
    g_mutex_lock(&pc->lock);
    pc->stats.requests++;
    g_mutex_unlock(&pc->lock);
    /* Detached (paused): the request goes again once recovered. */
    (void)vs_rp_send_req_pages(pc->rp, b->save.name, page * VS_RAM_PAGE_SIZE, VS_RAM_PAGE_SIZE);
}

/*
 * A fault on a page already received: it was placed after the fault was
 * queued (wake the thread), or it was received as an untouched zero page
 * (place a zero page).
 */
static void pc_fault_on_received(VsPostcopy *pc, size_t bi, uint64_t page)
{
    struct uffdio_zeropage z = {
        .range = { .start = (uintptr_t)pc->blocks[bi]->host + page * VS_RAM_PAGE_SIZE,
                   .len = VS_RAM_PAGE_SIZE },
    };

    if (ioctl(pc->uffd, UFFDIO_ZEROPAGE, &z) < 0 && errno == EEXIST) {
        struct uffdio_range r = z.range;

        (void)ioctl(pc->uffd, UFFDIO_WAKE, &r);
    }
    pc_blocktime_end(pc, bi, page, 1);
}

static void pc_handle_uffd(VsPostcopy *pc)
{
    struct uffd_msg msgs[PC_FAULT_BATCH];
    ssize_t n = read(pc->uffd, msgs, sizeof(msgs));

    for (ssize_t i = 0; n > 0 && i < n / (ssize_t)sizeof(msgs[0]); i++) {
        uint64_t addr = msgs[i].arg.pagefault.address, page;
        int tid = (int)msgs[i].arg.pagefault.feat.ptid;
        size_t bi;

        if (msgs[i].event != UFFD_EVENT_PAGEFAULT || !pc_find_addr(pc, addr, &bi, &page)) {
            continue;
        }
        pc_blocktime_begin(pc, tid, bi, page);
        if (pc_bit_get(pc->received[bi], page)) {
            pc_fault_on_received(pc, bi, page);
        } else {
            pc_request(pc, bi, page, tid);
        }
    }
}

/* Software fallback: the accessors' queue. */
static void pc_handle_soft(VsPostcopy *pc)
{
    PcRequest reqs[64];
    size_t n;

    do {
        g_mutex_lock(&pc->lock);
        n = MIN(pc->soft_len, G_N_ELEMENTS(reqs));
        memcpy(reqs, pc->soft_queue + pc->soft_len - n, n * sizeof(reqs[0]));
        pc->soft_len -= n;
        g_mutex_unlock(&pc->lock);
        for (size_t i = 0; i < n; i++) {
            size_t bi = pc_block_index(pc, reqs[i].block);
            const VsRamBlock *b = pc->blocks[bi];

            trace_postcopy_ram_fault_thread_request((uintptr_t)b->host +
                                                    reqs[i].page * VS_RAM_PAGE_SIZE,
                                                    b->save.name,
                                                    reqs[i].page * VS_RAM_PAGE_SIZE, 0);
            g_mutex_lock(&pc->lock);
            pc->stats.requests++;
            g_mutex_unlock(&pc->lock);
            (void)vs_rp_send_req_pages(pc->rp, b->save.name, reqs[i].page * VS_RAM_PAGE_SIZE,
                                       VS_RAM_PAGE_SIZE);
        }
    } while (n > 0);
}

static gpointer pc_fault_thread(gpointer opaque)
{
    VsPostcopy *pc = opaque;
    struct pollfd fds[2] = {
        { .fd = pc->wake_fd, .events = POLLIN },
        { .fd = pc->uffd, .events = POLLIN },
    };

    trace_postcopy_ram_fault_thread_entry();
    while (!g_atomic_int_get(&pc->fault_quit)) {
        uint64_t count;

        if (poll(fds, pc->use_uffd ? 2 : 1, -1) < 0) {
            continue;
        }
        if (fds[0].revents & POLLIN) {
            (void)!read(pc->wake_fd, &count, sizeof(count));
        }
        if (pc->use_uffd && (fds[1].revents & POLLIN)) {
            pc_handle_uffd(pc);
        }
        if (!pc->use_uffd) {
            pc_handle_soft(pc);
        }
    }
    trace_postcopy_ram_fault_thread_exit();
    return NULL;
}

static void pc_fault_thread_stop(VsPostcopy *pc)
{
    if (pc->fault_thread) {
        g_atomic_int_set(&pc->fault_quit, 1);
        pc_wake_fault_thread(pc);
        g_thread_join(pc->fault_thread);
        pc->fault_thread = NULL;
    }
}

/* ---- software fallback: the guest's accessor ----------------------------------------------- */

/* Under the lock, with the gate on (the bitmaps exist): block index, or SIZE_MAX. */
static size_t pc_gate_block(VsPostcopy *pc, const VsRamBlock *b, uint64_t page)
{
    size_t bi;

    for (bi = 0; bi < pc->n_blocks && pc->blocks[bi] != b; bi++) {
    }
    return bi == pc->n_blocks || page >= b->npages ? SIZE_MAX : bi;
}

void vs_postcopy_access(VsPostcopy *pc, const VsRamBlock *b, uint64_t offset)
{
    uint64_t page = offset / VS_RAM_PAGE_SIZE;
    size_t bi;

    if (!pc || !g_atomic_int_get(&pc->gate_on)) {
        return;
    }
    /* The bitmaps are freed under the lock once the gate is off. */
    g_mutex_lock(&pc->lock);
    if (!g_atomic_int_get(&pc->gate_on) || (bi = pc_gate_block(pc, b, page)) == SIZE_MAX ||
        pc_bit_get(pc->received[bi], page)) {
        g_mutex_unlock(&pc->lock);
        return;
    }
    g_mutex_unlock(&pc->lock);
    pc_blocktime_begin(pc, (int)syscall(SYS_gettid), bi, page);
    g_mutex_lock(&pc->lock);
    pc->soft_waiters++;
    if (g_atomic_int_get(&pc->gate_on) && !pc_bit_test_and_set(pc->requested[bi], page) &&
        pc->soft_len < PC_QUEUE_MAX) {
        __atomic_store_n(&pc->req_time[bi][page], g_get_monotonic_time(), __ATOMIC_RELEASE);
        pc->soft_queue[pc->soft_len++] = (PcRequest){ pc->blocks[bi], page };
        pc_wake_fault_thread(pc);
    }
    while (g_atomic_int_get(&pc->gate_on) && !pc_bit_get(pc->received[bi], page)) {
        g_cond_wait(&pc->cond, &pc->lock);
    }
    pc->soft_waiters--;
    g_mutex_unlock(&pc->lock);
}

static void pc_gate_off(VsPostcopy *pc)
{
    g_mutex_lock(&pc->lock);
    g_atomic_int_set(&pc->gate_on, 0);
    g_cond_broadcast(&pc->cond);
    g_mutex_unlock(&pc->lock);
}

/* ---- the preempt channel ------------------------------------------------------------------- */

static bool pc_in_records(VsPostcopy *pc, PcLoader *ld, VsQemuFile *f, GError **errp);

/* Reads the preempt channel's page records until its EOS. */
static gpointer pc_preempt_thread(gpointer opaque)
{
    VsPostcopy *pc = opaque;
    GError *err = NULL;
    VsChannel *ch;

    g_mutex_lock(&pc->lock);
    ch = pc->pre_in_ch;
    g_mutex_unlock(&pc->lock);
    if (pc_in_records(pc, &pc->pre_ld, vs_channel_file(ch), &err)) {
        g_atomic_int_set(&pc->pre_eos, 1);
        return NULL;
    }
    trace_loadvm_process_command(err->message, 0);
    g_error_free(err);
    if (!g_atomic_int_get(&pc->pre_quit) && pc->main_fd >= 0) {
        /* Both channels pause together: the incoming thread sees its channel break. */
        shutdown(pc->main_fd, SHUT_RDWR);
    }
    return NULL;
}

static void pc_pre_start(VsPostcopy *pc)
{
    if (!pc->pre_in_ch || pc->pre_thread) {
        return;
    }
    g_atomic_int_set(&pc->pre_quit, 0);
    g_atomic_int_set(&pc->pre_eos, 0);
    pc->pre_ld.last_block = NULL;
    pc->pre_ld.batch_n = 0;
    pc->pre_thread = g_thread_new("vs-postcopy-preempt", pc_preempt_thread, pc);
}

/* Waits for the preempt thread; @stop: break its channel first (pause, failure, teardown). */
static void pc_pre_join(VsPostcopy *pc, bool stop)
{
    if (!pc->pre_thread) {
        return;
    }
    if (stop) {
        g_atomic_int_set(&pc->pre_quit, 1);
        g_mutex_lock(&pc->lock);
        vs_channel_shutdown(pc->pre_in_ch);
        g_mutex_unlock(&pc->lock);
    }
    g_thread_join(pc->pre_thread);
    pc->pre_thread = NULL;
}

bool vs_postcopy_in_accept_preempt(VsPostcopy *pc, const VsMigParams *p,
                                   VsChannelListener *l, GError **errp)
{
    VsChannel *ch;

    if (!p->postcopy_ram || !p->postcopy_preempt) {
        return true;
    }
    ch = vs_channel_accept(l, pc, errp);
    if (!ch) {
        g_prefix_error(errp, "postcopy-preempt channel: ");
        return false;
    }
    g_mutex_lock(&pc->lock);
    talloc_free(pc->pre_next);
    pc->pre_next = ch;
    g_mutex_unlock(&pc->lock);
    return true;
}

void vs_postcopy_release(VsPostcopy *pc)
{
    pc_gate_off(pc);
    g_mutex_lock(&pc->lock);
    for (size_t i = 0; pc->uffd >= 0 && i < pc->n_blocks; i++) {
        struct uffdio_range r = { .start = (uintptr_t)pc->blocks[i]->host,
                                  .len = pc->blocks[i]->save.length };

        /* Ending the registration wakes the threads blocked in a fault. */
        (void)ioctl(pc->uffd, UFFDIO_UNREGISTER, &r);
    }
    g_mutex_unlock(&pc->lock);
}

/* ---- teardown ------------------------------------------------------------------------------- */

void pc_in_cleanup(VsPostcopy *pc)
{
    trace_postcopy_ram_incoming_cleanup_entry();
    pc_pre_join(pc, true);
    pc_fault_thread_stop(pc);
    pc_gate_off(pc);
    g_mutex_lock(&pc->lock);
    if (pc->uffd >= 0) {
        /* Closing unregisters the blocks and wakes any waiting thread. */
        close(pc->uffd);
        pc->uffd = -1;
    }
    g_mutex_unlock(&pc->lock);
    if (pc->wake_fd >= 0) {
        close(pc->wake_fd);
        pc->wake_fd = -1;
    }
    if (pc->tracker_suspended) {
        pc->tracker_suspended = false;
        (void)vs_dirty_tracker_resume(pc->tracker, NULL);
    }
    vs_rp_writer_attach(pc->rp, -1);
    g_mutex_lock(&pc->lock);
    TALLOC_FREE(pc->listener);
    pc->in_ch = NULL;
    pc->pre_in_ch = NULL;
    g_mutex_unlock(&pc->lock);
    pc->main_fd = -1;
    TALLOC_FREE(pc->in_ctx);
    g_mutex_lock(&pc->lock);
    pc_in_free_maps(pc);
    g_mutex_unlock(&pc->lock);
    pc->in_state = PC_IN_NONE;
    trace_postcopy_ram_incoming_cleanup_exit();
}

void vs_postcopy_in_begin(VsPostcopy *pc, VsMigState *st, const VsMigParams *p,
                          const VsMigVmOps *ops, void *opaque)
{
    pc_in_cleanup(pc);
    pc->in_st = st;
    pc->in_cap = p->postcopy_ram;
    pc->blocktime_cap = p->postcopy_blocktime;
    pc->ops = ops;
    pc->ops_opaque = opaque;
    pc->use_uffd = false;
    pc->main_ld = (PcLoader){ 0 };
    pc->pre_ld = (PcLoader){ .preempt = true };
    pc->in_preempt = p->postcopy_ram && p->postcopy_preempt;
    g_atomic_int_set(&pc->fault_quit, 0);
    g_mutex_lock(&pc->lock);
    memset(&pc->stats, 0, sizeof(pc->stats));
    pc->mode = NULL;
    TALLOC_FREE(pc->mode_note);
    pc->n_threads = 0;
    pc->n_blocked = 0;
    pc->all_blocked_total = 0;
    pc->soft_len = 0;
    pc->in_paused = false;
    g_clear_pointer(&pc->recover_uri, g_free);
    pc->n_latencies = 0;
    if (!pc->latencies) {
        pc->latencies = talloc_array(pc, uint32_t, PC_MAX_LATENCIES);
        g_assert(pc->latencies != NULL);
    }
    g_mutex_unlock(&pc->lock);
    pc->in_ctx = talloc_new(pc);
    g_assert(pc->in_ctx != NULL);
    g_mutex_lock(&pc->lock);
    pc->pre_in_ch = NULL;
    if (pc->in_preempt && pc->pre_next) {
        pc->pre_in_ch = talloc_steal(pc->in_ctx, pc->pre_next);
        pc->pre_next = NULL;
    }
    TALLOC_FREE(pc->pre_next);
    g_mutex_unlock(&pc->lock);
}

/* ---- commands -------------------------------------------------------------------------------- */

static bool pc_wrong_state(VsPostcopy *pc, const char *cmd, GError **errp)
{
    /* QEMU 7.2's words. */
    return pc_error(errp, "%s in wrong postcopy state (%d)", cmd, (int)pc->in_state);
}

/* A userfaultfd that can place pages; false (with the reason) when this kernel or user cannot. */
static bool pc_open_uffd(VsPostcopy *pc, char **ret_why)
{
    struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_THREAD_ID };
    const char *env = getenv("VSTATE_POSTCOPY_UFFD");

    if (env && strcmp(env, "off") == 0) {
        *ret_why = talloc_strdup(pc, "userfaultfd turned off by VSTATE_POSTCOPY_UFFD=off");
        return false;
    }
    pc->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (pc->uffd < 0) {
        *ret_why = talloc_asprintf(pc, "userfaultfd() failed: %s", g_strerror(errno));
        return false;
    }
    if (ioctl(pc->uffd, UFFDIO_API, &api) < 0) {
        *ret_why = talloc_asprintf(pc, "UFFDIO_API failed: %s", g_strerror(errno));
        close(pc->uffd);
        pc->uffd = -1;
        return false;
    }
    return true;
}

/* ADVISE: be64 page-size summary, be64 target page size. */
static bool pc_cmd_advise(VsPostcopy *pc, const uint8_t *p, uint16_t len, GError **errp)
{
    uint64_t summary, tps;
    char *why = NULL;

    trace_loadvm_postcopy_handle_advise();
    if (pc->in_state != PC_IN_NONE) {
        return pc_wrong_state(pc, "CMD_POSTCOPY_ADVISE", errp);
    }
    if (len == 0) {
        return !pc->in_cap || pc_error(errp, "RAM postcopy is enabled but have 0 byte advise");
    }
    if (len != 16) {
        return pc_error(errp, "CMD_POSTCOPY_ADVISE invalid length (%u)", len);
    }
    if (!pc->in_cap) {
        return pc_error(errp, "RAM postcopy is disabled but have 16 byte advise");
    }
    memcpy(&summary, p, 8);
    memcpy(&tps, p + 8, 8);
    summary = GUINT64_FROM_BE(summary);
    tps = GUINT64_FROM_BE(tps);
    if (summary != VS_RAM_PAGE_SIZE) {
        return pc_error(errp, "Postcopy needs matching RAM page sizes (s=0x%" PRIx64 " d=0x%x)",
                        summary, VS_RAM_PAGE_SIZE);
    }
    if (tps != VS_RAM_PAGE_SIZE) {
        return pc_error(errp, "Postcopy needs matching target page sizes (s=%" PRIu64 " d=%u)",
                        tps, VS_RAM_PAGE_SIZE);
    }
    pc_in_alloc_maps(pc);
    pc->use_uffd = pc_open_uffd(pc, &why);
    g_mutex_lock(&pc->lock);
    pc->mode = pc->use_uffd ? "userfaultfd" : "software";
    pc->mode_note = why;
    g_mutex_unlock(&pc->lock);
    if (pc->use_uffd) {
        /* A range takes one userfaultfd: the dirty tracker's goes until the end. */
        vs_dirty_tracker_suspend(pc->tracker);
        pc->tracker_suspended = true;
        /* As QEMU: RAM starts empty, so what precopy does not send faults later. */
        for (size_t i = 0; i < pc->n_blocks; i++) {
            VsRamBlock *b = pc->blocks[i];

            (void)madvise(b->host, b->save.length, MADV_NOHUGEPAGE);
            (void)madvise(b->host, b->save.length, MADV_DONTNEED);
        }
    }
    pc->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (pc->wake_fd < 0) {
        return pc_error(errp, "postcopy: eventfd: %s", g_strerror(errno));
    }
    pc->in_state = PC_IN_ADVISE;
    return true;
}

static bool pc_discard_range(VsPostcopy *pc, size_t bi, uint64_t start, uint64_t len,
                             GError **errp)
{
    VsRamBlock *b = pc->blocks[bi];

    if (start % VS_RAM_PAGE_SIZE || len % VS_RAM_PAGE_SIZE || start >= b->save.length ||
        len > b->save.length - start) {
        return pc_error(errp, "ram_discard_range: Unaligned or overrun start:0x%" PRIx64
                        " len: 0x%" PRIx64 " in block '%s' of 0x%" PRIx64, start, len,
                        b->save.name, b->save.length);
    }
    trace_postcopy_ram_discard_range(b->save.name, start, len);
    for (uint64_t p = start / VS_RAM_PAGE_SIZE; p < (start + len) / VS_RAM_PAGE_SIZE; p++) {
        pc_bit_clear(pc->received[bi], p);
    }
    if (pc->use_uffd && madvise(b->host + start, len, MADV_DONTNEED) < 0) {
        return pc_error(errp, "ram_discard_range: madvise of '%s' failed: %s", b->save.name,
                        g_strerror(errno));
    }
    return true;
}

/* DISCARD: version 0, cstr8 block, 0, then (be64 start, be64 length) ranges. */
static bool pc_cmd_discard(VsPostcopy *pc, const uint8_t *p, uint16_t len, GError **errp)
{
    char name[PC_MAX_NAME + 1];
    VsRamBlock *b;
    size_t at, bi;

    if (pc->in_state != PC_IN_ADVISE && pc->in_state != PC_IN_DISCARD) {
        return pc_wrong_state(pc, "CMD_POSTCOPY_RAM_DISCARD", errp);
    }
    pc->in_state = PC_IN_DISCARD;
    if (len < 20) {
        return pc_error(errp, "CMD_POSTCOPY_RAM_DISCARD invalid length (%u)", len);
    }
    if (p[0] != 0) {
        return pc_error(errp, "CMD_POSTCOPY_RAM_DISCARD invalid version (%u)", p[0]);
    }
    if (p[1] == 0 || (size_t)3 + p[1] > len) {
        return pc_error(errp, "CMD_POSTCOPY_RAM_DISCARD Failed to read RAMBlock ID");
    }
    memcpy(name, p + 2, p[1]);
    name[p[1]] = '\0';
    at = 2 + (size_t)p[1];
    trace_loadvm_postcopy_ram_handle_discard_header(name, len);
    if (p[at] != 0) {
        return pc_error(errp, "CMD_POSTCOPY_RAM_DISCARD missing nil (%u)", p[at]);
    }
    at++;
    if ((len - at) % 16 != 0) {
        return pc_error(errp, "CMD_POSTCOPY_RAM_DISCARD invalid length (%u)", len);
    }
    b = vs_ram_list_find(pc->ram, name);
    bi = b ? pc_block_index(pc, b) : SIZE_MAX;
    if (bi == SIZE_MAX) {
        return pc_error(errp, "ram_discard_range: Failed to find block '%s'", name);
    }
    for (; at < len; at += 16) {
        uint64_t start, rlen;

        memcpy(&start, p + at, 8);
        memcpy(&rlen, p + at + 8, 8);
        if (!pc_discard_range(pc, bi, GUINT64_FROM_BE(start), GUINT64_FROM_BE(rlen), errp)) {
            return false;
        }
    }
    return true;
}

static bool pc_register_blocks(VsPostcopy *pc, GError **errp)
{
    for (size_t i = 0; i < pc->n_blocks; i++) {
        VsRamBlock *b = pc->blocks[i];
        struct uffdio_register reg = {
            .range = { .start = (uintptr_t)b->host, .len = b->save.length },
            .mode = UFFDIO_REGISTER_MODE_MISSING,
        };

        if (ioctl(pc->uffd, UFFDIO_REGISTER, &reg) < 0) {
            return pc_error(errp, "postcopy: registering RAM block '%s' with userfaultfd "
                            "failed: %s", b->save.name, g_strerror(errno));
        }
        if (!(reg.ioctls & (1ull << _UFFDIO_COPY)) || !(reg.ioctls & (1ull << _UFFDIO_ZEROPAGE))) {
            return pc_error(errp, "postcopy: RAM block '%s' cannot take UFFDIO_COPY and "
                            "UFFDIO_ZEROPAGE", b->save.name);
        }
    }
    return true;
}

/* LISTEN: faults are served from now on; the state is postcopy-active. */
static bool pc_cmd_listen(VsPostcopy *pc, GError **errp)
{
    trace_loadvm_postcopy_handle_listen(pc->mode ? pc->mode : "none");
    if (pc->in_state != PC_IN_ADVISE && pc->in_state != PC_IN_DISCARD) {
        return pc_wrong_state(pc, "CMD_POSTCOPY_LISTEN", errp);
    }
    if (!vs_rp_writer_attached(pc->rp)) {
        return pc_error(errp, "CMD_POSTCOPY_LISTEN: postcopy needs the return path open");
    }
    trace_postcopy_ram_enable_notify();
    if (pc->use_uffd && !pc_register_blocks(pc, errp)) {
        return false;
    }
    if (!pc->use_uffd) {
        g_atomic_int_set(&pc->gate_on, 1);
    }
    pc->fault_thread = g_thread_new("vs-postcopy-fault", pc_fault_thread, pc);
    pc->in_state = PC_IN_LISTENING;
    pc_pre_start(pc);
    vs_migstate_transition(pc->in_st, VS_MIG_STATUS_ACTIVE, VS_MIG_STATUS_POSTCOPY_ACTIVE);
    return true;
}

static bool pc_cmd_run(VsPostcopy *pc, GError **errp)
{
    trace_loadvm_postcopy_handle_run();
    if (pc->in_state != PC_IN_LISTENING) {
        return pc_wrong_state(pc, "CMD_POSTCOPY_RUN", errp);
    }
    pc->in_state = PC_IN_RUNNING;
    if (pc->ops->postcopy_run) {
        pc->ops->postcopy_run(pc->ops_opaque);
    }
    return true;
}

/* Every page asked for and not received yet is asked for again (after a recovery). */
static void pc_resend_requests(VsPostcopy *pc)
{
    for (size_t bi = 0; bi < pc->n_blocks; bi++) {
        const VsRamBlock *b = pc->blocks[bi];

        for (uint64_t p = 0; p < b->npages; p++) {
            if (pc_bit_get(pc->requested[bi], p) && !pc_bit_get(pc->received[bi], p)) {
                (void)vs_rp_send_req_pages(pc->rp, b->save.name, p * VS_RAM_PAGE_SIZE,
                                           VS_RAM_PAGE_SIZE);
            }
        }
    }
}

static bool pc_cmd_resume(VsPostcopy *pc)
{
    if (!vs_migstate_transition(pc->in_st, VS_MIG_STATUS_POSTCOPY_RECOVER,
                                VS_MIG_STATUS_POSTCOPY_ACTIVE)) {
        /* As QEMU: only logged, and ignored. */
        trace_loadvm_process_command("POSTCOPY_RESUME (illegal resume received)", 0);
        return true;
    }
    trace_postcopy_pause_incoming_continued();
    (void)vs_rp_send_resume_ack(pc->rp);
    pc_resend_requests(pc);
    g_mutex_lock(&pc->lock);
    pc->stats.recoveries++;
    g_mutex_unlock(&pc->lock);
    return true;
}

static bool pc_cmd_recv_bitmap(VsPostcopy *pc, const uint8_t *p, uint16_t len, GError **errp)
{
    char name[PC_MAX_NAME + 1];
    VsRamBlock *b;
    size_t bi;

    if (vs_migstate_status(pc->in_st) != VS_MIG_STATUS_POSTCOPY_RECOVER) {
        return pc_error(errp, "CMD_RECV_BITMAP: only valid when postcopy-recover");
    }
    if (len < 2 || (size_t)p[0] + 1 != len) {
        return pc_error(errp, "CMD_RECV_BITMAP: invalid length %u for its block name", len);
    }
    memcpy(name, p + 1, p[0]);
    name[p[0]] = '\0';
    trace_loadvm_handle_recv_bitmap(name);
    b = vs_ram_list_find(pc->ram, name);
    bi = b ? pc_block_index(pc, b) : SIZE_MAX;
    if (bi == SIZE_MAX || !pc->received) {
        return pc_error(errp, "RAM block not found: %s", name);
    }
    (void)vs_rp_send_recv_bitmap(pc->rp, name, pc->received[bi], b->npages);
    return true;
}

static bool pc_cmd_packaged(VsPostcopy *pc, VsQemuFile *f, const uint8_t *p,
                            TALLOC_CTX *mem_ctx, VsQemuFile **ret_package, GError **errp)
{
    uint32_t n;
    uint8_t *data;

    (void)pc;
    n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if (n > (256u << 20)) {
        return pc_error(errp, "CMD_PACKAGED: package of %" PRIu32 " bytes exceeds %u", n,
                        256u << 20);
    }
    data = talloc_size(mem_ctx, n ? n : 1);
    g_assert(data != NULL);
    if (vs_qemufile_get_buffer(f, data, n) != n) {
        talloc_free(data);
        g_propagate_error(errp, g_error_copy(vs_qemufile_error(f)));
        return false;
    }
    *ret_package = vs_qemufile_new_memory_reader(data, data, n);
    return true;
}

bool vs_postcopy_in_command(VsPostcopy *pc, VsQemuFile *f, int fd, TALLOC_CTX *mem_ctx,
                            VsQemuFile **ret_package, bool *ret_end_package, GError **errp)
{
    uint16_t cmd = vs_qemufile_get_be16(f), len = vs_qemufile_get_be16(f);
    uint8_t payload[65536];

    *ret_package = NULL;
    *ret_end_package = false;
    if (vs_qemufile_failed(f)) {
        g_propagate_error(errp, g_error_copy(vs_qemufile_error(f)));
        return false;
    }
    if (cmd == 0 || cmd >= PC_CMD_MAX) {
        return pc_error(errp, "MIG_CMD 0x%x unknown (len 0x%x)", cmd, len);
    }
    if (pc_cmd_lens[cmd] >= 0 && len != pc_cmd_lens[cmd]) {
        return pc_error(errp, "%s received with bad length - expecting %d, got %u",
                        cmd == PC_CMD_ENABLE_COLO ? "(null)" : pc_cmd_names[cmd],
                        pc_cmd_lens[cmd], len);
    }
    if (vs_qemufile_get_buffer(f, payload, len) != len) {
        g_propagate_error(errp, g_error_copy(vs_qemufile_error(f)));
        return false;
    }
    trace_loadvm_process_command(pc_cmd_names[cmd], len);
    switch (cmd) {
    case PC_CMD_OPEN_RETURN_PATH:
        if (!vs_rp_writer_attached(pc->rp)) {
            if (fd < 0) {
                return pc_error(errp, "CMD_OPEN_RETURN_PATH failed");
            }
            vs_rp_writer_attach(pc->rp, fd);
            pc->main_fd = fd;
        }
        return true;
    case PC_CMD_PING:
        (void)vs_rp_send_pong(pc->rp, (uint32_t)payload[0] << 24 | (uint32_t)payload[1] << 16 |
                                          (uint32_t)payload[2] << 8 | payload[3]);
        return true;
    case PC_CMD_POSTCOPY_ADVISE:
        return pc_cmd_advise(pc, payload, len, errp);
    case PC_CMD_POSTCOPY_RAM_DISCARD:
        return pc_cmd_discard(pc, payload, len, errp);
    case PC_CMD_POSTCOPY_LISTEN:
        return pc_cmd_listen(pc, errp);
    case PC_CMD_POSTCOPY_RUN:
        *ret_end_package = true;
        return pc_cmd_run(pc, errp);
    case PC_CMD_PACKAGED:
        return pc_cmd_packaged(pc, f, payload, mem_ctx, ret_package, errp);
    case PC_CMD_POSTCOPY_RESUME:
        return pc_cmd_resume(pc);
    case PC_CMD_RECV_BITMAP:
        return pc_cmd_recv_bitmap(pc, payload, len, errp);
    default:
        return pc_error(errp, "MIG_CMD %s (0x%x) is not supported by this destination",
                        pc_cmd_names[cmd], cmd);
    }
}

bool vs_postcopy_in_listening(VsPostcopy *pc)
{
    return pc->in_state == PC_IN_LISTENING || pc->in_state == PC_IN_RUNNING;
}

/* ---- RAM during postcopy ------------------------------------------------------------------- */

static bool pc_ram_block(VsPostcopy *pc, PcLoader *ld, VsQemuFile *f, uint32_t flags,
                         uint64_t at, size_t *ret_bi, GError **errp)
{
    char name[PC_MAX_NAME + 1];
    uint8_t len;
    VsRamBlock *b;

    if (!(flags & VS_RAM_CONTINUE)) {
        len = vs_qemufile_get_byte(f);
        name[vs_qemufile_get_buffer(f, (uint8_t *)name, len)] = '\0';
        if (vs_qemufile_failed(f)) {
            g_propagate_error(errp, g_error_copy(vs_qemufile_error(f)));
            return false;
        }
        b = vs_ram_list_find(pc->ram, name);
        if (!b) {
            return pc_error(errp, "Can't find block %s (RAM record at offset 0x%" PRIx64 ")",
                            name, at);
        }
        ld->last_block = b;
    } else if (!ld->last_block) {
        return pc_error(errp, "Ack, bad migration stream! (RAM record at offset 0x%" PRIx64
                        " has RAM_SAVE_FLAG_CONTINUE but no page record came before it)", at);
    }
    *ret_bi = pc_block_index(pc, ld->last_block);
    return true;
}

/* One page record into the batch (contiguous pages of one block), placed when full or needed. */
static bool pc_ram_page(VsPostcopy *pc, PcLoader *ld, VsQemuFile *f, size_t bi,
                        uint64_t page, int fill, GError **errp)
{
    uint8_t *slot;

    if (ld->batch_n && (ld->batch_block != bi || ld->batch_first + ld->batch_n != page ||
                        ld->batch_n == PC_BATCH_PAGES)) {
        if (!pc_batch_flush(pc, ld, errp)) {
            return false;
        }
    }
    if (ld->batch_n == 0) {
        ld->batch_block = bi;
        ld->batch_first = page;
    }
    slot = ld->batch + (size_t)ld->batch_n * VS_RAM_PAGE_SIZE;
    if (fill >= 0) {
        memset(slot, fill, VS_RAM_PAGE_SIZE);
    } else if (vs_qemufile_get_buffer(f, slot, VS_RAM_PAGE_SIZE) != VS_RAM_PAGE_SIZE) {
        g_propagate_error(errp, g_error_copy(vs_qemufile_error(f)));
        return false;
    }
    ld->batch_n++;
    /* A page the guest waits for goes in at once, not after 15 more. */
    return !pc_bit_get(pc->requested[bi], page) || pc_batch_flush(pc, ld, errp);
}

static bool pc_ram_record(VsPostcopy *pc, PcLoader *ld, VsQemuFile *f, uint64_t addr,
                          uint32_t flags, uint64_t at, GError **errp)
{
    size_t bi;
    uint64_t page;
    uint8_t fill;

    if (!pc_ram_block(pc, ld, f, flags, at, &bi, errp)) {
        return false;
    }
    if (addr >= pc->blocks[bi]->save.length) {
        return pc_error(errp, "Illegal RAM offset %" PRIx64 " (RAM record at offset 0x%"
                        PRIx64 "; block %s has 0x%" PRIx64 " bytes)", addr, at,
                        pc->blocks[bi]->save.name, pc->blocks[bi]->save.length);
    }
    page = addr / VS_RAM_PAGE_SIZE;
    if ((flags & ~VS_RAM_CONTINUE) == VS_RAM_PAGE) {
        return pc_ram_page(pc, ld, f, bi, page, -1, errp);
    }
    fill = vs_qemufile_get_byte(f);
    if (vs_qemufile_failed(f)) {
        g_propagate_error(errp, g_error_copy(vs_qemufile_error(f)));
        return false;
    }
    if (fill != 0) {
        return pc_ram_page(pc, ld, f, bi, page, fill, errp);
    }
    return pc_batch_flush(pc, ld, errp) && pc_place_zero(pc, ld, bi, page, errp);
}

/* Page records of @ld's channel up to EOS (QEMU's ram_load_postcopy). */
static bool pc_in_records(VsPostcopy *pc, PcLoader *ld, VsQemuFile *f, GError **errp)
{
    for (;;) {
        uint64_t at = vs_qemufile_pos(f);
        uint64_t word = vs_qemufile_get_be64(f);
        uint32_t flags = (uint32_t)(word & (VS_RAM_PAGE_SIZE - 1));
        uint64_t addr = word & ~(uint64_t)(VS_RAM_PAGE_SIZE - 1);
        bool ok;

        if (vs_qemufile_failed(f)) {
            /* The pages read whole are kept: a recovery does not ask for them again. */
            (void)pc_batch_flush(pc, ld, NULL);
            g_propagate_error(errp, g_error_copy(vs_qemufile_error(f)));
            return false;
        }
        switch (flags & ~VS_RAM_CONTINUE) {
        case VS_RAM_ZERO:
        case VS_RAM_PAGE:
            ok = pc_ram_record(pc, ld, f, addr, flags, at, errp);
            break;
        case VS_RAM_EOS:
            return pc_batch_flush(pc, ld, errp);
        default:
            ok = pc_error(errp, "Unknown combination of migration flags: 0x%x (postcopy mode) "
                          "(RAM record at offset 0x%" PRIx64 ")", flags, at);
            break;
        }
        if (!ok) {
            (void)pc_batch_flush(pc, ld, NULL);
            return false;
        }
    }
}

bool vs_postcopy_in_ram(VsPostcopy *pc, VsQemuFile *f, GError **errp)
{
    return pc_in_records(pc, &pc->main_ld, f, errp);
}

/* ---- pause and recovery ------------------------------------------------------------------------ */

bool vs_postcopy_recover(VsPostcopy *pc, const char *uri, GError **errp)
{
    VsChannelListener *l;

    g_mutex_lock(&pc->lock);
    if (!pc->in_paused) {
        g_mutex_unlock(&pc->lock);
        /* QEMU 7.2's words. */
        return pc_error(errp, "Migrate recover can only be run when postcopy is paused.");
    }
    if (pc->listener) {
        g_mutex_unlock(&pc->lock);
        return pc_error(errp, "Migrate recovery is triggered already");
    }
    g_mutex_unlock(&pc->lock);
    l = vs_channel_listen(pc->in_ctx, uri, errp);
    if (!l) {
        return false;
    }
    g_mutex_lock(&pc->lock);
    pc->listener = l;
    g_cond_broadcast(&pc->cond);
    g_mutex_unlock(&pc->lock);
    return true;
}

/*
 * Waits for vs_postcopy_recover()'s listener, then its connection (and
 * with postcopy-preempt the next one, into *@ret_pre); NULL on shutdown.
 */
static VsChannel *pc_in_wait_recover(VsPostcopy *pc, VsChannel **ret_pre)
{
    for (;;) {
        VsChannelListener *l;
        VsChannel *ch, *pre = NULL;

        g_mutex_lock(&pc->lock);
        while (!pc->listener && !g_atomic_int_get(&pc->shutdown)) {
            g_cond_wait(&pc->cond, &pc->lock);
        }
        l = pc->listener;
        g_mutex_unlock(&pc->lock);
        if (g_atomic_int_get(&pc->shutdown)) {
            return NULL;
        }
        ch = vs_channel_accept(l, pc->in_ctx, NULL);
        if (ch && pc->in_preempt) {
            pre = vs_channel_accept(l, pc->in_ctx, NULL);
            if (!pre) {
                TALLOC_FREE(ch);
            }
        }
        g_mutex_lock(&pc->lock);
        TALLOC_FREE(pc->listener);
        g_mutex_unlock(&pc->lock);
        if (ch) {
            *ret_pre = pre;
            return ch;
        }
    }
}

bool vs_postcopy_in_pause(VsPostcopy *pc, VsQemuFile **f, GError **errp)
{
    VsChannel *ch, *pre = NULL;

    if (pc->in_state != PC_IN_RUNNING || !vs_qemufile_failed(*f) ||
        g_atomic_int_get(&pc->shutdown) ||
        (!vs_migstate_transition(pc->in_st, VS_MIG_STATUS_POSTCOPY_ACTIVE,
                                 VS_MIG_STATUS_POSTCOPY_PAUSED) &&
         !vs_migstate_transition(pc->in_st, VS_MIG_STATUS_POSTCOPY_RECOVER,
                                 VS_MIG_STATUS_POSTCOPY_PAUSED))) {
        return false;
    }
    trace_postcopy_pause_incoming();
    vs_rp_writer_attach(pc->rp, -1);
    pc->main_ld.last_block = NULL;
    pc_pre_join(pc, true);
    g_mutex_lock(&pc->lock);
    if (pc->in_ch) {
        vs_channel_shutdown(pc->in_ch);
    }
    pc->in_paused = true;
    g_mutex_unlock(&pc->lock);
    ch = pc_in_wait_recover(pc, &pre);
    g_mutex_lock(&pc->lock);
    pc->in_paused = false;
    pc->in_ch = ch;
    pc->pre_in_ch = pre;
    g_mutex_unlock(&pc->lock);
    if (!ch) {
        return false;
    }
    vs_migstate_transition(pc->in_st, VS_MIG_STATUS_POSTCOPY_PAUSED,
                           VS_MIG_STATUS_POSTCOPY_RECOVER);
    pc->main_fd = vs_channel_fd(ch);
    vs_rp_writer_attach(pc->rp, vs_channel_fd(ch));
    pc_pre_start(pc);
    *f = vs_channel_file(ch);
    g_clear_error(errp);
    return true;
}

/* ---- the end ------------------------------------------------------------------------------------ */

static bool pc_in_check_complete(VsPostcopy *pc, GError **errp)
{
    for (size_t bi = 0; bi < pc->n_blocks; bi++) {
        uint64_t missing = pc_missing_pages(pc, bi);

        if (missing) {
            return pc_error(errp, "postcopy: the stream ended with %" PRIu64 " pages of RAM "
                            "block '%s' never received", missing, pc->blocks[bi]->save.name);
        }
    }
    return true;
}

bool vs_postcopy_in_finish(VsPostcopy *pc, bool ok, GError **errp)
{
    if (pc->in_state < PC_IN_LISTENING) {
        if (pc->in_state != PC_IN_NONE) {
            (void)vs_rp_send_shut(pc->rp, ok ? 0 : 1);
            pc_in_cleanup(pc);
        }
        return ok;
    }
    /* The source ends the preempt channel with EOS after the main channel's EOF. */
    pc_pre_join(pc, !ok);
    ok = ok && pc_in_check_complete(pc, errp);
    if (!ok) {
        /* The guest's missing pages stay missing: its threads wait, nothing is made up. */
        pc_fault_thread_stop(pc);
        (void)vs_rp_send_shut(pc->rp, 1);
        return false;
    }
    pc_blocktime_publish(pc);
    (void)vs_rp_send_shut(pc->rp, 0);
    pc_in_cleanup(pc);
    pc->in_state = PC_IN_END;
    return vs_migstate_transition(pc->in_st, VS_MIG_STATUS_POSTCOPY_ACTIVE,
                                  VS_MIG_STATUS_COMPLETED) ||
           pc_error(errp, "postcopy: completed in state %s",
                    vs_mig_status_name(vs_migstate_status(pc->in_st)));
}
