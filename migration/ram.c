/*
 * ram.c: RAM blocks, dirty tracking, the precopy sender and the receiver
 * (see ram.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include "migration/ram-internal.h"
#include "migration/stream.h"
#include "migration/trace-migration.h"

#include <inttypes.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RAM_HAVE_X86 1
#endif

G_DEFINE_QUARK(vs-ram-error-quark, vs_ram_error)

/* QEMU's ram_save_iterate: check the clock every 64 pages. */
#define RAM_TIME_CHECK_PAGES 64
#define RAM_MAX_NAME 255

struct VsRamList {
    VsRamBlock **blocks;      /* talloc array in RAM-list order */
    size_t n_blocks;
};

/* ---- blocks --------------------------------------------------------------------- */

VsRamList *vs_ram_list_new(TALLOC_CTX *mem_ctx)
{
    VsRamList *list = talloc_zero(mem_ctx, VsRamList);

    g_assert(list != NULL);
    return list;
}

static bool ram_check_new_block(const VsRamList *list, const char *name, const uint8_t *host,
                                uint64_t length, GError **errp)
{
    size_t len = name ? strlen(name) : 0;

    if (len == 0 || len > RAM_MAX_NAME) {
        g_set_error(errp, VS_RAM_ERROR, VS_RAM_ERROR_INVALID,
                    "RAM block name '%s' must be 1 to %d bytes long", name ? name : "",
                    RAM_MAX_NAME);
        return false;
    }
    if (length == 0 || length % VS_RAM_PAGE_SIZE != 0 || !host) {
        g_set_error(errp, VS_RAM_ERROR, VS_RAM_ERROR_INVALID,
                    "RAM block '%s': length 0x%" PRIx64 " is not a non-zero multiple of %u",
                    name, length, VS_RAM_PAGE_SIZE);
        return false;
    }
    if (vs_ram_list_find(list, name)) {
        g_set_error(errp, VS_RAM_ERROR, VS_RAM_ERROR_INVALID,
                    "RAM block '%s' is already registered", name);
        return false;
    }
    return true;
}

VsRamBlock *vs_ram_list_add(VsRamList *list, const char *name, uint8_t *host, uint64_t length,
                            GError **errp)
{
    VsRamBlock *b;
    size_t at;

    if (!ram_check_new_block(list, name, host, length, errp)) {
        return NULL;
    }
    b = talloc_zero(list, VsRamBlock);
    g_assert(b != NULL);
    b->save.name = talloc_strdup(b, name);
    b->save.host = host;
    b->save.length = length;
    b->host = host;
    b->npages = length / VS_RAM_PAGE_SIZE;
    b->to_send = talloc_zero_array(b, unsigned long, VS_BITS_TO_LONGS(b->npages));
    b->marks = talloc_zero_array(b, unsigned long, VS_BITS_TO_LONGS(b->npages));
    g_assert(b->save.name && b->to_send && b->marks);

    /* QEMU's RAM list: larger first, equal lengths in creation order. */
    for (at = 0; at < list->n_blocks && list->blocks[at]->save.length >= length; at++) {
    }
    list->blocks = talloc_realloc(list, list->blocks, VsRamBlock *, list->n_blocks + 1);
    g_assert(list->blocks != NULL);
    memmove(&list->blocks[at + 1], &list->blocks[at],
            (list->n_blocks - at) * sizeof(list->blocks[0]));
    list->blocks[at] = b;
    list->n_blocks++;
    return b;
}

size_t vs_ram_list_count(const VsRamList *list)
{
    return list->n_blocks;
}

VsRamBlock *vs_ram_list_get(const VsRamList *list, size_t i)
{
    g_assert(i < list->n_blocks);
    return list->blocks[i];
}

VsRamBlock *vs_ram_list_find(const VsRamList *list, const char *name)
{
    for (size_t i = 0; i < list->n_blocks; i++) {
        if (strcmp(list->blocks[i]->save.name, name) == 0) {
            return list->blocks[i];
        }
    }
    return NULL;
}

uint64_t vs_ram_list_total(const VsRamList *list)
{
    uint64_t total = 0;

    for (size_t i = 0; i < list->n_blocks; i++) {
        total += list->blocks[i]->save.length;
    }
    return total;
}

/* ---- zero detection ---------------------------------------------------------------- */

/*
 * Any vector OR reaches memory bandwidth (machine-limits.md §2), so the
 * point is only to branch once per 64 or 128 bytes, never per byte.  Most
 * non-zero pages differ from zero in their first bytes: check 16 first.
 */
static bool ram_tail_is_zero(const uint8_t *p, size_t len)
{
    uint64_t acc = 0;
    size_t i = 0;

    for (; i + 8 <= len; i += 8) {
        uint64_t w;

        memcpy(&w, p + i, 8);
        acc |= w;
    }
    for (; i < len; i++) {
        acc |= p[i];
    }
    return acc == 0;
}

#ifdef RAM_HAVE_X86
static bool ram_is_zero_sse2(const uint8_t *p, size_t len)
{
    const __m128i zero = _mm_setzero_si128();
    size_t i = 0;

    for (; i + 64 <= len; i += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(p + i + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(const void *)(p + i + 48));
        __m128i x = _mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d));

        if (_mm_movemask_epi8(_mm_cmpeq_epi8(x, zero)) != 0xffff) {
            return false;
        }
    }
    return ram_tail_is_zero(p + i, len - i);
}

__attribute__((target("avx2"))) static bool ram_is_zero_avx2(const uint8_t *p, size_t len)
{
    size_t i = 0;

    for (; i + 128 <= len; i += 128) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 32));
        __m256i c = _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 64));
        __m256i d = _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 96));
        __m256i x = _mm256_or_si256(_mm256_or_si256(a, b), _mm256_or_si256(c, d));

        if (!_mm256_testz_si256(x, x)) {
            return false;
        }
    }
    return ram_tail_is_zero(p + i, len - i);
}

typedef bool (*RamZeroFn)(const uint8_t *p, size_t len);

static RamZeroFn ram_zero_fn(void)
{
    static RamZeroFn fn;

    if (!fn) {
        __builtin_cpu_init();
        fn = __builtin_cpu_supports("avx2") ? ram_is_zero_avx2 : ram_is_zero_sse2;
    }
    return fn;
}
#endif

bool vs_ram_buffer_is_zero(const uint8_t *p, size_t len)
{
    if (len >= 16 && !ram_tail_is_zero(p, 16)) {
        return false;
    }
#ifdef RAM_HAVE_X86
    return ram_zero_fn()(p, len);
#else
    return ram_tail_is_zero(p, len);
#endif
}

uint64_t vs_ram_digest(const uint8_t *p, size_t len)
{
    /* Four independent lanes, so the multiplies overlap; the tail bytewise. */
    uint64_t h[4] = { 0x9e3779b97f4a7c15ull, 0xc2b2ae3d27d4eb4full, 0x165667b19e3779f9ull,
                      0x27d4eb2f165667c5ull };
    size_t i = 0;

    for (; i + 32 <= len; i += 32) {
        for (int k = 0; k < 4; k++) {
            uint64_t w;

            memcpy(&w, p + i + 8 * k, 8);
            h[k] = (h[k] ^ w) * 0x100000001b3ull;
            h[k] ^= h[k] >> 29;
        }
    }
    for (; i < len; i++) {
        h[0] = (h[0] ^ p[i]) * 0x100000001b3ull;
    }
    return ((h[0] ^ (h[1] << 1) ^ (h[2] << 2) ^ (h[3] << 3)) * 0x9e3779b97f4a7c15ull) ^ len;
}

/* ---- dirty tracking ------------------------------------------------------------------ */

struct VsDirtyTracker {
    VsDirtyBackend backend;
    VsRamList *list;
    VsUffdTracker *uffd;
    gint running;
};

VsDirtyTracker *vs_dirty_tracker_new(TALLOC_CTX *mem_ctx, VsRamList *list,
                                     VsDirtyBackend backend, GError **errp)
{
    VsDirtyTracker *t = talloc_zero(mem_ctx, VsDirtyTracker);

    g_assert(t != NULL);
    t->backend = backend;
    t->list = list;
    if (backend == VS_DIRTY_UFFD) {
        t->uffd = vs_uffd_tracker_new(t, list, errp);
        if (!t->uffd) {
            talloc_free(t);
            return NULL;
        }
    }
    return t;
}

VsDirtyBackend vs_dirty_tracker_backend(const VsDirtyTracker *t)
{
    return t->backend;
}

const char *vs_dirty_tracker_name(const VsDirtyTracker *t)
{
    return t->backend == VS_DIRTY_UFFD ? "userfaultfd-wp-async" : "explicit";
}

static void dirty_clear_marks(VsDirtyTracker *t)
{
    for (size_t i = 0; i < t->list->n_blocks; i++) {
        VsRamBlock *b = t->list->blocks[i];

        for (uint64_t w = 0; w < VS_BITS_TO_LONGS(b->npages); w++) {
            __atomic_store_n(&b->marks[w], 0, __ATOMIC_RELAXED);
        }
    }
}

bool vs_dirty_tracker_start(VsDirtyTracker *t, GError **errp)
{
    dirty_clear_marks(t);
    if (t->uffd && !vs_uffd_tracker_arm(t->uffd, errp)) {
        return false;
    }
    g_atomic_int_set(&t->running, 1);
    return true;
}

void vs_dirty_tracker_stop(VsDirtyTracker *t)
{
    g_atomic_int_set(&t->running, 0);
    if (t->uffd) {
        vs_uffd_tracker_disarm(t->uffd);
    }
}

bool vs_dirty_tracker_running(const VsDirtyTracker *t)
{
    return g_atomic_int_get(&t->running) != 0;
}

void vs_dirty_tracker_suspend(VsDirtyTracker *t)
{
    g_assert(!vs_dirty_tracker_running(t));
    if (t->backend == VS_DIRTY_UFFD) {
        talloc_free(t->uffd);
        t->uffd = NULL;
    }
}

bool vs_dirty_tracker_resume(VsDirtyTracker *t, GError **errp)
{
    if (t->backend == VS_DIRTY_UFFD && !t->uffd) {
        t->uffd = vs_uffd_tracker_new(t, t->list, errp);
        return t->uffd != NULL;
    }
    return true;
}

void vs_dirty_mark(VsDirtyTracker *t, VsRamBlock *b, uint64_t offset, uint64_t len)
{
    uint64_t first, last;

    if (!t || t->backend != VS_DIRTY_EXPLICIT || !g_atomic_int_get(&t->running) || len == 0 ||
        offset >= b->save.length) {
        return;
    }
    first = offset / VS_RAM_PAGE_SIZE;
    last = MIN(offset + len - 1, b->save.length - 1) / VS_RAM_PAGE_SIZE;
    for (uint64_t p = first; p <= last; p++) {
        /* Release: the page's new bytes are visible to whoever sees the mark. */
        __atomic_fetch_or(&b->marks[p / VS_BITS_PER_LONG], 1ul << (p % VS_BITS_PER_LONG),
                          __ATOMIC_RELEASE);
    }
}

bool vs_dirty_tracker_collect(VsDirtyTracker *t, VsRamBlock *b, unsigned long *bitmap,
                              uint64_t *ret_new, GError **errp)
{
    uint64_t fresh = 0;

    if (t->uffd) {
        return vs_uffd_tracker_collect(t->uffd, b, bitmap, ret_new, errp);
    }
    for (uint64_t w = 0; w < VS_BITS_TO_LONGS(b->npages); w++) {
        unsigned long m;

        if (__atomic_load_n(&b->marks[w], __ATOMIC_RELAXED) == 0) {
            continue;
        }
        m = __atomic_exchange_n(&b->marks[w], 0, __ATOMIC_ACQUIRE);
        fresh += (uint64_t)__builtin_popcountl(m & ~bitmap[w]);
        bitmap[w] |= m;
    }
    *ret_new = fresh;
    return true;
}

/* ---- sender ------------------------------------------------------------------------- */

struct VsRamSender {
    VsRamList *list;
    VsDirtyTracker *tracker;
    VsRamSaver saver;
    uint64_t pending_pages;       /* set bits over every to_send bitmap */
    /* Where the last iteration stopped, so rounds resume there (QEMU's
     * last_seen_block/last_page). */
    size_t cur_block;
    uint64_t cur_page;
    VsRamSendStats stats;
    const VsRamRecordWriter *writer;   /* NULL: QEMU's legacy records */
    const VsRamPageSink *sink;    /* multifd: takes the non-zero pages */
    void *sink_opaque;
};

void vs_ram_sender_set_sink(VsRamSender *rs, const VsRamPageSink *sink, void *opaque)
{
    rs->sink = sink;
    rs->sink_opaque = opaque;
}

/* Before each EOS: a sink's pages must be out first (multifd's sync). */
static void sender_flush_sink(VsRamSender *rs, VsQemuFile *f)
{
    if (rs->sink) {
        rs->sink->flush(rs->sink_opaque, f);
    }
}

VsRamSender *vs_ram_sender_new(TALLOC_CTX *mem_ctx, VsRamList *list, VsDirtyTracker *tracker)
{
    VsRamSender *rs = talloc_zero(mem_ctx, VsRamSender);

    g_assert(rs != NULL && tracker != NULL);
    rs->list = list;
    rs->tracker = tracker;
    vs_ram_saver_init(&rs->saver, VS_RAM_PAGE_SIZE);
    /* Precopy resends what changes: pages can go out without a copy. */
    rs->saver.borrow_pages = true;
    return rs;
}

void vs_ram_sender_set_writer(VsRamSender *rs, const VsRamRecordWriter *w)
{
    rs->writer = w;
}

/* The record writers: QEMU's legacy records unless another form was set. */
static void sender_put_mem_size(VsRamSender *rs, VsQemuFile *f, const VsRamSaveBlock *blocks,
                                size_t n)
{
    if (rs->writer) {
        rs->writer->mem_size(rs->writer->opaque, f, blocks, n);
    } else {
        vs_ram_save_mem_size(f, blocks, n);
    }
}

static bool sender_put_page(VsRamSender *rs, VsQemuFile *f, const VsRamSaveBlock *block,
                            uint64_t offset)
{
    return rs->writer ? rs->writer->page(rs->writer->opaque, f, block, offset)
                      : vs_ram_save_page(&rs->saver, f, block, offset);
}

/* Returns the bytes written. */
static uint64_t sender_put_eos(VsRamSender *rs, VsQemuFile *f)
{
    uint64_t before = vs_qemufile_pos(f);

    if (rs->writer) {
        rs->writer->eos(rs->writer->opaque, f);
    } else {
        vs_ram_save_eos(f);
    }
    return vs_qemufile_pos(f) - before;
}

static void sender_mark_all(VsRamSender *rs)
{
    rs->pending_pages = 0;
    for (size_t i = 0; i < rs->list->n_blocks; i++) {
        VsRamBlock *b = rs->list->blocks[i];
        uint64_t words = VS_BITS_TO_LONGS(b->npages);

        memset(b->to_send, 0xff, words * sizeof(unsigned long));
        if (b->npages % VS_BITS_PER_LONG) {
            b->to_send[words - 1] = (1ul << (b->npages % VS_BITS_PER_LONG)) - 1;
        }
        rs->pending_pages += b->npages;
    }
}

bool vs_ram_sender_setup(VsRamSender *rs, VsQemuFile *f, GError **errp)
{
    const VsRamSaveBlock **blocks = talloc_array(rs, const VsRamSaveBlock *,
                                                 rs->list->n_blocks + 1);
    VsRamSaveBlock *flat = talloc_array(rs, VsRamSaveBlock, rs->list->n_blocks + 1);
    uint64_t before = vs_qemufile_pos(f);

    g_assert(blocks && flat);
    /* Tracking starts before the first pass reads anything: a write during
     * the pass is then either read by it or sent again later. */
    if (!vs_dirty_tracker_start(rs->tracker, errp)) {
        talloc_free(blocks);
        talloc_free(flat);
        return false;
    }
    sender_mark_all(rs);
    rs->cur_block = 0;
    rs->cur_page = 0;
    vs_ram_saver_forget(&rs->saver);
    for (size_t i = 0; i < rs->list->n_blocks; i++) {
        flat[i] = rs->list->blocks[i]->save;
    }
    sender_put_mem_size(rs, f, flat, rs->list->n_blocks);
    sender_flush_sink(rs, f);
    sender_put_eos(rs, f);
    rs->stats.bytes += vs_qemufile_pos(f) - before;
    talloc_free(blocks);
    talloc_free(flat);
    return true;
}

/* The next page to send at or after (*bi, *page), wrapping once; false if none. */
static bool sender_next_dirty(VsRamSender *rs, size_t *bi, uint64_t *page)
{
    size_t n = rs->list->n_blocks;

    if (rs->pending_pages == 0) {
        return false;
    }
    for (size_t step = 0; step <= n; step++) {
        size_t b_i = (*bi + step) % n;
        VsRamBlock *b = rs->list->blocks[b_i];
        uint64_t p = step == 0 ? *page : 0;

        while (p < b->npages) {
            unsigned long w = b->to_send[p / VS_BITS_PER_LONG] >> (p % VS_BITS_PER_LONG);

            if (w) {
                p += (uint64_t)__builtin_ctzl(w);
                if (p < b->npages) {
                    *bi = b_i;
                    *page = p;
                    return true;
                }
                break;
            }
            p = (p / VS_BITS_PER_LONG + 1) * VS_BITS_PER_LONG;
        }
    }
    return false;
}

static void sender_send_page(VsRamSender *rs, VsQemuFile *f, size_t bi, uint64_t page)
{
    VsRamBlock *b = rs->list->blocks[bi];
    uint64_t before = vs_qemufile_pos(f);

    b->to_send[page / VS_BITS_PER_LONG] &= ~(1ul << (page % VS_BITS_PER_LONG));
    rs->pending_pages--;
    /* A page the guest changes while it is read is dirty again, and goes
     * again in a later pass or the final one. */
    if (rs->sink && !vs_ram_buffer_is_zero(b->host + page * VS_RAM_PAGE_SIZE,
                                           VS_RAM_PAGE_SIZE)) {
        rs->sink->page(rs->sink_opaque, f, b, page * VS_RAM_PAGE_SIZE);
        rs->stats.normal_pages++;
    } else if (sender_put_page(rs, f, &b->save, page * VS_RAM_PAGE_SIZE)) {
        rs->stats.zero_pages++;
    } else {
        rs->stats.normal_pages++;
    }
    rs->stats.bytes += vs_qemufile_pos(f) - before;
}

uint64_t vs_ram_sender_iterate(VsRamSender *rs, VsQemuFile *f, uint64_t max_us)
{
    int64_t start = g_get_monotonic_time();
    uint64_t sent = 0;

    while (!vs_qemufile_rate_limited(f) &&
           sender_next_dirty(rs, &rs->cur_block, &rs->cur_page)) {
        sender_send_page(rs, f, rs->cur_block, rs->cur_page);
        sent++;
        if (sent % RAM_TIME_CHECK_PAGES == 0 && max_us &&
            (uint64_t)(g_get_monotonic_time() - start) > max_us) {
            break;
        }
    }
    sender_flush_sink(rs, f);
    rs->stats.bytes += sender_put_eos(rs, f);
    if (rs->sink) {
        /* As QEMU: the destination's channels wait for this EOS to go on. */
        vs_qemufile_flush(f, NULL);
    }
    trace_ram_save_iterate(sent);
    return sent;
}

bool vs_ram_sender_sync(VsRamSender *rs, GError **errp)
{
    uint64_t fresh_total = 0;

    trace_migration_bitmap_sync_start();
    for (size_t i = 0; i < rs->list->n_blocks; i++) {
        VsRamBlock *b = rs->list->blocks[i];
        uint64_t fresh = 0;

        if (!vs_dirty_tracker_collect(rs->tracker, b, b->to_send, &fresh, errp)) {
            return false;
        }
        fresh_total += fresh;
    }
    rs->pending_pages += fresh_total;
    rs->stats.dirty_syncs++;
    rs->stats.last_sync_new = fresh_total;
    trace_migration_bitmap_sync_end(fresh_total);
    return true;
}

uint64_t vs_ram_sender_pending(const VsRamSender *rs)
{
    return rs->pending_pages * VS_RAM_PAGE_SIZE;
}

bool vs_ram_sender_complete(VsRamSender *rs, VsQemuFile *f, GError **errp)
{
    uint64_t before = rs->stats.bytes;
    bool ok = vs_ram_sender_sync(rs, errp);

    vs_dirty_tracker_stop(rs->tracker);
    if (!ok) {
        return false;
    }
    while (!vs_qemufile_failed(f) && sender_next_dirty(rs, &rs->cur_block, &rs->cur_page)) {
        sender_send_page(rs, f, rs->cur_block, rs->cur_page);
    }
    sender_flush_sink(rs, f);
    rs->stats.bytes += sender_put_eos(rs, f);
    rs->stats.downtime_bytes = rs->stats.bytes - before;
    return true;
}

void vs_ram_sender_snapshot_setup(VsRamSender *rs, VsQemuFile *f)
{
    VsRamSaveBlock *flat = talloc_array(rs, VsRamSaveBlock, rs->list->n_blocks + 1);
    uint64_t before = vs_qemufile_pos(f);

    g_assert(flat != NULL);
    /* A page is released to the guest once sent: it must be copied first. */
    rs->saver.borrow_pages = false;
    sender_mark_all(rs);
    rs->cur_block = 0;
    rs->cur_page = 0;
    vs_ram_saver_forget(&rs->saver);
    for (size_t i = 0; i < rs->list->n_blocks; i++) {
        flat[i] = rs->list->blocks[i]->save;
    }
    sender_put_mem_size(rs, f, flat, rs->list->n_blocks);
    sender_put_eos(rs, f);
    rs->stats.bytes += vs_qemufile_pos(f) - before;
    talloc_free(flat);
}

/* Pages a writer waits for: send them now (if not sent yet), then release. */
static void snapshot_serve_faults(VsRamSender *rs, VsQemuFile *f, VsRamWp *wp)
{
    VsRamBlock *b;
    uint64_t page;

    while (vs_ram_wp_next_fault(wp, &b, &page)) {
        for (size_t bi = 0; bi < rs->list->n_blocks; bi++) {
            if (rs->list->blocks[bi] == b &&
                (b->to_send[page / VS_BITS_PER_LONG] >> (page % VS_BITS_PER_LONG)) & 1) {
                sender_send_page(rs, f, bi, page);
            }
        }
        vs_ram_wp_release(wp, b, page, 1);
    }
}

/* Releases batch pages at a time: fewer ioctls, and a write to a page sent
 * but not yet released is simply served by snapshot_serve_faults(). */
#define SNAPSHOT_RELEASE_BATCH 256u

void vs_ram_sender_snapshot_round(VsRamSender *rs, VsQemuFile *f, VsRamWp *wp, bool *ret_done)
{
    int64_t start = g_get_monotonic_time();
    uint64_t sent = 0;
    size_t run_block = SIZE_MAX;
    uint64_t run_first = 0, run_len = 0;

    *ret_done = false;
    while (!vs_qemufile_rate_limited(f)) {
        if (sent % 16 == 0) {
            snapshot_serve_faults(rs, f, wp);
        }
        if (!sender_next_dirty(rs, &rs->cur_block, &rs->cur_page)) {
            *ret_done = true;
            break;
        }
        sender_send_page(rs, f, rs->cur_block, rs->cur_page);
        if (run_block != rs->cur_block || run_first + run_len != rs->cur_page ||
            run_len == SNAPSHOT_RELEASE_BATCH) {
            if (run_len) {
                vs_ram_wp_release(wp, rs->list->blocks[run_block], run_first, run_len);
            }
            run_block = rs->cur_block;
            run_first = rs->cur_page;
            run_len = 0;
        }
        run_len++;
        if (++sent % RAM_TIME_CHECK_PAGES == 0 &&
            (uint64_t)(g_get_monotonic_time() - start) > 50000) {
            break;
        }
    }
    if (run_len) {
        vs_ram_wp_release(wp, rs->list->blocks[run_block], run_first, run_len);
    }
    snapshot_serve_faults(rs, f, wp);
    rs->stats.bytes += sender_put_eos(rs, f);
}

void vs_ram_sender_abort(VsRamSender *rs)
{
    vs_dirty_tracker_stop(rs->tracker);
}

void vs_ram_sender_stats(const VsRamSender *rs, VsRamSendStats *ret)
{
    *ret = rs->stats;
}

/* ---- sender: postcopy (migration/postcopy.c drives these) ------------------------- */

bool vs_ram_sender_send_requested(VsRamSender *rs, VsQemuFile *f, VsRamBlock *b, uint64_t page)
{
    for (size_t bi = 0; bi < rs->list->n_blocks; bi++) {
        if (rs->list->blocks[bi] != b || page >= b->npages) {
            continue;
        }
        /* The background sweep goes on after the requested page (locality). */
        rs->cur_block = bi;
        rs->cur_page = page;
        if (!((b->to_send[page / VS_BITS_PER_LONG] >> (page % VS_BITS_PER_LONG)) & 1)) {
            return false;
        }
        sender_send_page(rs, f, bi, page);
        return true;
    }
    return false;
}

bool vs_ram_sender_send_next(VsRamSender *rs, VsQemuFile *f)
{
    if (!sender_next_dirty(rs, &rs->cur_block, &rs->cur_page)) {
        return false;
    }
    sender_send_page(rs, f, rs->cur_block, rs->cur_page);
    return true;
}

void vs_ram_sender_forget_block(VsRamSender *rs)
{
    vs_ram_saver_forget(&rs->saver);
}

void vs_ram_sender_put_eos(VsRamSender *rs, VsQemuFile *f)
{
    sender_flush_sink(rs, f);
    rs->stats.bytes += sender_put_eos(rs, f);
}

void vs_ram_sender_resend_missing(VsRamSender *rs, VsRamBlock *b, const unsigned long *received)
{
    uint64_t words = VS_BITS_TO_LONGS(b->npages);

    for (uint64_t w = 0; w < words; w++) {
        unsigned long want = ~received[w];

        if (w == words - 1 && b->npages % VS_BITS_PER_LONG) {
            want &= (1ul << (b->npages % VS_BITS_PER_LONG)) - 1;
        }
        rs->pending_pages -= (uint64_t)__builtin_popcountl(b->to_send[w]);
        b->to_send[w] = want;
        rs->pending_pages += (uint64_t)__builtin_popcountl(want);
    }
    vs_ram_sender_restart_sweep(rs);
}

void vs_ram_sender_restart_sweep(VsRamSender *rs)
{
    vs_ram_saver_forget(&rs->saver);
    rs->cur_block = 0;
    rs->cur_page = 0;
}

/* ---- receiver ----------------------------------------------------------------- */

void vs_ram_receiver_init(VsRamReceiver *r, VsRamList *list)
{
    memset(r, 0, sizeof(*r));
    r->list = list;
}

static bool ram_fail(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static bool ram_fail(GError **errp, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_propagate_error(errp, g_error_new_valist(VS_RAM_ERROR, VS_RAM_ERROR_STREAM, fmt, ap));
    va_end(ap);
    return false;
}

/* The channel's own error (an I/O error, the end of the stream) explains more. */
static bool ram_channel_failed(VsQemuFile *f, GError **errp)
{
    if (!vs_qemufile_failed(f)) {
        return false;
    }
    g_propagate_error(errp, g_error_copy(vs_qemufile_error(f)));
    return true;
}

static bool ram_read_name(VsQemuFile *f, char name[RAM_MAX_NAME + 1])
{
    uint8_t len = vs_qemufile_get_byte(f);

    name[vs_qemufile_get_buffer(f, (uint8_t *)name, len)] = '\0';
    return !vs_qemufile_failed(f);
}

/* MEM_SIZE: every listed block must exist here with the same length. */
static bool ram_load_mem_size(VsRamReceiver *r, VsQemuFile *f, uint64_t total, uint64_t at,
                              GError **errp)
{
    uint64_t left = total;

    while (left > 0) {
        char name[RAM_MAX_NAME + 1];
        VsRamBlock *b;
        uint64_t len;

        if (!ram_read_name(f, name)) {
            return !ram_channel_failed(f, errp);
        }
        len = vs_qemufile_get_be64(f);
        if (ram_channel_failed(f, errp)) {
            return false;
        }
        b = vs_ram_list_find(r->list, name);
        if (!b) {
            return ram_fail(errp, "Unknown ramblock \"%s\", cannot accept migration (MEM_SIZE "
                            "record at offset 0x%" PRIx64 ")", name, at);
        }
        if (len != b->save.length) {
            return ram_fail(errp, "Size mismatch: %s: 0x%" PRIx64 " != 0x%" PRIx64
                            ": Invalid argument (MEM_SIZE record at offset 0x%" PRIx64 ")",
                            name, len, b->save.length, at);
        }
        if (len > left) {
            return ram_fail(errp, "MEM_SIZE lists more than its total of 0x%" PRIx64
                            " bytes (block %s, record at offset 0x%" PRIx64 ")", total, name, at);
        }
        left -= len;
    }
    r->got_mem_size = true;
    return true;
}

/* The block a page record applies to: named, or CONTINUE's. */
static VsRamBlock *ram_record_block(VsRamReceiver *r, VsQemuFile *f, uint32_t flags,
                                    uint64_t at, GError **errp)
{
    char name[RAM_MAX_NAME + 1];
    VsRamBlock *b;

    if (flags & VS_RAM_CONTINUE) {
        if (!r->last) {
            ram_fail(errp, "Ack, bad migration stream! (RAM record at offset 0x%" PRIx64
                     " has RAM_SAVE_FLAG_CONTINUE but no page record came before it)", at);
        }
        return r->last;
    }
    if (!ram_read_name(f, name)) {
        ram_channel_failed(f, errp);
        return NULL;
    }
    b = vs_ram_list_find(r->list, name);
    if (!b) {
        ram_fail(errp, "Can't find block %s (RAM record at offset 0x%" PRIx64 ")", name, at);
        return NULL;
    }
    r->last = b;
    return b;
}

static bool ram_load_page(VsRamReceiver *r, VsQemuFile *f, uint64_t addr, uint32_t flags,
                          uint64_t at, GError **errp)
{
    VsRamBlock *b = ram_record_block(r, f, flags, at, errp);
    uint8_t *host;

    if (!b) {
        return false;
    }
    if (addr >= b->save.length) {
        return ram_fail(errp, "Illegal RAM offset %" PRIx64 " (RAM record at offset 0x%" PRIx64
                        "; block %s has 0x%" PRIx64 " bytes)", addr, at, b->save.name,
                        b->save.length);
    }
    host = b->host + addr;
    if ((flags & ~VS_RAM_CONTINUE) == VS_RAM_ZERO) {
        uint8_t fill = vs_qemufile_get_byte(f);

        /* As QEMU: leave an already-zero page alone, so it stays unpopulated. */
        if (fill != 0 || !vs_ram_buffer_is_zero(host, VS_RAM_PAGE_SIZE)) {
            memset(host, fill, VS_RAM_PAGE_SIZE);
        }
        r->zero_pages++;
    } else {
        vs_qemufile_get_buffer(f, host, VS_RAM_PAGE_SIZE);
        r->pages++;
    }
    return !ram_channel_failed(f, errp);
}

bool vs_ram_receiver_load(VsRamReceiver *r, VsQemuFile *f, GError **errp)
{
    for (;;) {
        uint64_t at = vs_qemufile_pos(f);
        uint64_t word = vs_qemufile_get_be64(f);
        uint32_t flags = (uint32_t)(word & (VS_RAM_PAGE_SIZE - 1));
        uint64_t addr = word & ~(uint64_t)(VS_RAM_PAGE_SIZE - 1);
        bool ok;

        if (ram_channel_failed(f, errp)) {
            return false;
        }
        switch (flags & ~VS_RAM_CONTINUE) {
        case VS_RAM_MEM_SIZE:
            ok = ram_load_mem_size(r, f, addr, at, errp);
            break;
        case VS_RAM_ZERO:
        case VS_RAM_PAGE:
            ok = ram_load_page(r, f, addr, flags, at, errp);
            break;
        case VS_RAM_EOS:
            trace_ram_load_complete(0, r->pages + r->zero_pages);
            return true;
        default:
            return ram_fail(errp, "Unknown combination of migration flags: 0x%x (RAM record at "
                            "offset 0x%" PRIx64 ")", flags, at);
        }
        if (!ok) {
            return false;
        }
    }
}
