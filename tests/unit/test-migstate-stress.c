/*
 * test-migstate-stress.c: query-migrate's consistency guarantee under
 * load: several threads query the status in a tight loop while thousands
 * of state changes happen, and every reply is checked.
 *
 * SPDX-License-Identifier: MIT
 *
 * Two drivers make the state changes:
 *   - direct: a VsMigState driven through the state machine as the engine
 *     drives it, thousands of migrations back to back, with a second
 *     thread cancelling at random moments and some migrations failing.
 *     Every figure published is a function of (migration number, step), so
 *     a reply shows exactly which moment its figures come from;
 *   - live: real migrations of a small demo VM (random RAM, some with a
 *     workload) to a destination VM over a unix socket, to a reading sink
 *     over loopback TCP, and to `exec:cat`, cancelled at random points.
 *
 * Each reply must be one snapshot: its state is valid, the members present
 * are the ones QEMU 7.2 reports for that state (active/device/cancelling
 * with RAM figures, completed with total time, setup time and downtime,
 * setup/cancelled/failed without RAM figures), its figures agree with each
 * other, and, in the direct run, they belong to the migration that was
 * running and to one step of it.  Consecutive replies of one thread within
 * one migration follow the state table and figures that only grow never
 * shrink.  The counts are printed as TAP comments.  This is the test the
 * ThreadSanitizer build runs (meson suite "tsan", ./quickstart test --tsan).
 *
 * VSTATE_STRESS_SCALE (default 1) multiplies the number of migrations.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "test-helpers.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "migration/channel.h"
#include "migration/migstate.h"
#include "vm/vm.h"

#define MiB (1024ull * 1024)
#define PAGE VS_RAM_PAGE_SIZE
#define N_QUERIERS 3
#define WAIT_US (120ll * 1000 * 1000)

/* Direct run: figures are f(migration number g, step k). */
#define DIRECT_MIGRATIONS 3000
#define DIRECT_BASE_PAGES 4096u     /* total = (DIRECT_BASE_PAGES + g) pages */
#define DIRECT_MAX_STEP 6

/* Live run. */
#define LIVE_MIGRATIONS 60
#define LIVE_RAM (8 * MiB)

static unsigned stress_scale(void)
{
    const char *s = getenv("VSTATE_STRESS_SCALE");
    unsigned v = s ? (unsigned)strtoul(s, NULL, 10) : 1;

    return v ? v : 1;
}

/* ---- what the queriers share ----------------------------------------------------------- */

/*
 * A migration's window: the driver bumps `begun` before it starts
 * migration n and sets `returned` once the start returned.  A reply read
 * with returned == n before the query and begun == n after it belongs to
 * migration n.
 */
typedef struct Stress {
    const char *name;
    bool direct;
    uint64_t ram_total;          /* live: the source's RAM */
    VsMigState *ms;              /* direct */
    VsMigration *mig;            /* live: the source */
    gint begun;
    gint returned;
    gint stop;

    GMutex lock;                 /* the members below */
    uint64_t replies;
    uint64_t changes_seen;
    uint64_t bad;
    uint64_t seen[VS_MIG_STATUS__MAX];
    char first_bad[768];
} Stress;

typedef struct Querier {
    Stress *s;
    unsigned index;
    /* The previous reply and its window. */
    bool has_prev;
    VsMigInfo prev;
    int prev_returned;
    /* Totals, merged into Stress at the end. */
    uint64_t replies;
    uint64_t changes_seen;
    uint64_t bad;
    uint64_t seen[VS_MIG_STATUS__MAX];
    char first_bad[768];
} Querier;

static void stress_init(Stress *s, const char *name, bool direct)
{
    memset(s, 0, sizeof(*s));
    s->name = name;
    s->direct = direct;
    g_mutex_init(&s->lock);
}

static void querier_bad(Querier *q, const VsMigInfo *i, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static void querier_bad(Querier *q, const VsMigInfo *i, const char *fmt, ...)
{
    va_list ap;
    char why[512];

    if (q->bad++) {
        return;
    }
    va_start(ap, fmt);
    g_vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    g_snprintf(q->first_bad, sizeof(q->first_bad),
               "%s: status %s: %s (transferred %" PRIu64 " remaining %" PRIu64 " total %"
               PRIu64 " normal %" PRIu64 " duplicate %" PRIu64 ")",
               q->s->name, vs_mig_status_name(i->status), why, i->ram.transferred,
               i->ram.remaining, i->ram.total, i->ram.normal, i->ram.duplicate);
}

/* ---- invariants of one reply ------------------------------------------------------------ */

static bool is_source_status(VsMigStatus s)
{
    switch (s) {
    case VS_MIG_STATUS_NONE:
    case VS_MIG_STATUS_SETUP:
    case VS_MIG_STATUS_ACTIVE:
    case VS_MIG_STATUS_DEVICE:
    case VS_MIG_STATUS_COMPLETED:
    case VS_MIG_STATUS_FAILED:
    case VS_MIG_STATUS_CANCELLING:
    case VS_MIG_STATUS_CANCELLED:
        return true;
    default:
        return false;
    }
}

/* The members QEMU 7.2's query-migrate fills for the reply's state. */
static void check_members(Querier *q, const VsMigInfo *i)
{
    bool running = i->status == VS_MIG_STATUS_ACTIVE || i->status == VS_MIG_STATUS_DEVICE ||
                   i->status == VS_MIG_STATUS_CANCELLING;

    if (!is_source_status(i->status)) {
        querier_bad(q, i, "not a state a precopy source is in (%d)", (int)i->status);
        return;
    }
    if (i->has_status != (i->status != VS_MIG_STATUS_NONE)) {
        querier_bad(q, i, "has_status %d", i->has_status);
    }
    if (running) {
        if (!i->has_ram || !i->has_total_time || !i->has_expected_downtime) {
            querier_bad(q, i, "running without RAM figures or times (ram %d time %d exp %d)",
                        i->has_ram, i->has_total_time, i->has_expected_downtime);
        }
        if (i->has_downtime) {
            querier_bad(q, i, "downtime before completion");
        }
        if (!i->has_setup_time && i->status != VS_MIG_STATUS_CANCELLING) {
            querier_bad(q, i, "past setup without setup-time");
        }
    } else if (i->status == VS_MIG_STATUS_COMPLETED) {
        if (!i->has_ram || !i->has_total_time || !i->has_setup_time || !i->has_downtime) {
            querier_bad(q, i, "completed without figures (ram %d total %d setup %d down %d)",
                        i->has_ram, i->has_total_time, i->has_setup_time, i->has_downtime);
        }
        if (i->ram.remaining != 0 || i->has_expected_downtime) {
            querier_bad(q, i, "completed with remaining %" PRIu64 " or expected downtime",
                        i->ram.remaining);
        }
        if (i->downtime > i->total_time || i->setup_time > i->total_time || i->downtime < 0) {
            querier_bad(q, i, "downtime %" PRId64 " / setup %" PRId64 " vs total %" PRId64,
                        i->downtime, i->setup_time, i->total_time);
        }
    } else if (i->has_ram || i->has_total_time || i->has_setup_time || i->has_downtime ||
               i->has_expected_downtime) {
        /* none, setup, failed, cancelled: no figures, never an older migration's. */
        querier_bad(q, i, "figures in this state (ram %d time %d)", i->has_ram,
                    i->has_total_time);
    }
    if (i->has_error_desc != (i->status == VS_MIG_STATUS_FAILED)) {
        querier_bad(q, i, "error-desc %d", i->has_error_desc);
    }
    if (i->has_total_time && (i->total_time < 0 || i->setup_time > i->total_time)) {
        querier_bad(q, i, "total-time %" PRId64 " setup-time %" PRId64, i->total_time,
                    i->setup_time);
    }
}

/* RAM figures of a real migration agree with each other. */
static void check_live_figures(Querier *q, const VsMigInfo *i)
{
    const VsMigRamInfo *r = &i->ram;

    if (r->page_size != PAGE || r->total != q->s->ram_total) {
        querier_bad(q, i, "page size %" PRIu64 ", total %" PRIu64 " of %" PRIu64,
                    r->page_size, r->total, q->s->ram_total);
    }
    if (r->normal_bytes != r->normal * PAGE) {
        querier_bad(q, i, "normal-bytes %" PRIu64 " for %" PRIu64 " pages", r->normal_bytes,
                    r->normal);
    }
    /* Every normal page went out whole, after the stream's header. */
    if (r->transferred < r->normal_bytes || r->transferred == 0) {
        querier_bad(q, i, "transferred %" PRIu64 " below its pages' bytes %" PRIu64,
                    r->transferred, r->normal_bytes);
    }
    if (r->remaining > r->total || r->precopy_bytes > r->transferred ||
        r->downtime_bytes > r->transferred) {
        querier_bad(q, i, "remaining/precopy/downtime bytes out of range (%" PRIu64 "/%" PRIu64
                    ")", r->precopy_bytes, r->downtime_bytes);
    }
    if (i->status == VS_MIG_STATUS_COMPLETED && r->dirty_sync_count == 0) {
        querier_bad(q, i, "completed without a dirty sync");
    }
}

/* Direct run: the figures of migration g, step k (what the driver publishes). */
static void direct_figures(unsigned g, unsigned k, VsMigRamInfo *r, int64_t *expected_ms)
{
    memset(r, 0, sizeof(*r));
    r->page_size = PAGE;
    r->total = (uint64_t)(DIRECT_BASE_PAGES + g) * PAGE;
    r->normal = k;
    r->normal_bytes = (uint64_t)k * PAGE;
    r->duplicate = 2ull * k;
    r->transferred = 100 + (uint64_t)k * (PAGE + 9) + 2ull * k * 9;
    r->remaining = r->total - (uint64_t)k * 3 * PAGE;
    r->dirty_sync_count = 1 + k / 2;
    r->precopy_bytes = r->transferred;
    r->mbps = 1.5 * k;
    r->pages_per_second = 3ull * k;
    r->dirty_pages_rate = k % 7;
    *expected_ms = 10 + k;
}

/* The downtime the driver reports: not more than the clock allows (downtime <= total-time). */
#define DIRECT_DOWNTIME_MS 0

/*
 * A direct reply's figures are those of exactly one (g, k), and g is the
 * migration that ran when the query was made.
 */
static void check_direct_figures(Querier *q, const VsMigInfo *i, int returned, int begun)
{
    VsMigRamInfo want;
    int64_t want_expected;
    uint64_t pages = i->ram.total / PAGE;
    unsigned g, k = (unsigned)i->ram.normal;

    if (i->ram.total % PAGE || pages < DIRECT_BASE_PAGES || k > DIRECT_MAX_STEP + 1) {
        querier_bad(q, i, "figures no step published");
        return;
    }
    g = (unsigned)(pages - DIRECT_BASE_PAGES);
    if ((int)g < returned || (int)g > begun) {
        querier_bad(q, i, "figures of migration %u while %d..%d ran", g, returned, begun);
    }
    direct_figures(g, k, &want, &want_expected);
    if (i->status == VS_MIG_STATUS_COMPLETED) {
        want.remaining = 0;
        want.dirty_pages_rate = 0;
        if (i->downtime != DIRECT_DOWNTIME_MS) {
            querier_bad(q, i, "downtime %" PRId64 " never published", i->downtime);
        }
    } else if (i->expected_downtime != want_expected) {
        querier_bad(q, i, "expected-downtime %" PRId64 " from another step than %u/%u",
                    i->expected_downtime, g, k);
    }
    if (memcmp(&want, &i->ram, sizeof(want)) != 0) {
        querier_bad(q, i, "figures from two moments (step %u of migration %u)", k, g);
    }
}

/* A cancel during setup: cancelling shows the figures setup cleared, as QEMU's does. */
static bool cancelled_in_setup(const VsMigInfo *i)
{
    static const VsMigRamInfo zero;

    return i->status == VS_MIG_STATUS_CANCELLING && memcmp(&i->ram, &zero, sizeof(zero)) == 0;
}

/* Where a migration may go from @from, directly or not (migstate.h's table). */
static bool reachable(VsMigStatus from, VsMigStatus to)
{
    static const unsigned order[VS_MIG_STATUS__MAX] = {
        [VS_MIG_STATUS_SETUP] = 1, [VS_MIG_STATUS_ACTIVE] = 2, [VS_MIG_STATUS_DEVICE] = 3,
    };

    if (from == to) {
        return true;
    }
    switch (from) {
    case VS_MIG_STATUS_SETUP:
    case VS_MIG_STATUS_ACTIVE:
    case VS_MIG_STATUS_DEVICE:
        switch (to) {
        case VS_MIG_STATUS_SETUP:
        case VS_MIG_STATUS_ACTIVE:
        case VS_MIG_STATUS_DEVICE:
            return order[to] > order[from];
        case VS_MIG_STATUS_COMPLETED:
        case VS_MIG_STATUS_CANCELLING:
        case VS_MIG_STATUS_CANCELLED:
        case VS_MIG_STATUS_FAILED:
            return true;
        default:
            return false;
        }
    case VS_MIG_STATUS_CANCELLING:
        return to == VS_MIG_STATUS_CANCELLED;
    default:
        return false;       /* a final state stays until the next migration */
    }
}

#define CHECK_GROWS(field, name)                                                              \
    do {                                                                                      \
        if (i->ram.field < p->ram.field) {                                                    \
            querier_bad(q, i, name " went back from %" PRIu64 " to %" PRIu64, p->ram.field,   \
                        i->ram.field);                                                        \
        }                                                                                     \
    } while (0)

/* Two replies of one thread within one migration. */
static void check_sequence(Querier *q, const VsMigInfo *p, const VsMigInfo *i)
{
    if (!reachable(p->status, i->status)) {
        querier_bad(q, i, "came after %s", vs_mig_status_name(p->status));
    }
    /* After a cancel during setup the first figures may still come. */
    if (p->has_ram && i->has_ram && !cancelled_in_setup(p)) {
        CHECK_GROWS(transferred, "transferred");
        CHECK_GROWS(normal, "normal");
        CHECK_GROWS(duplicate, "duplicate");
        CHECK_GROWS(dirty_sync_count, "dirty-sync-count");
        CHECK_GROWS(precopy_bytes, "precopy-bytes");
        if (i->ram.total != p->ram.total) {
            querier_bad(q, i, "total changed from %" PRIu64, p->ram.total);
        }
    }
    if (p->has_total_time && i->has_total_time && i->total_time < p->total_time) {
        querier_bad(q, i, "total-time went back from %" PRId64, p->total_time);
    }
    if (p->has_setup_time && i->has_setup_time && i->setup_time != p->setup_time) {
        querier_bad(q, i, "setup-time changed from %" PRId64, p->setup_time);
    }
}

static void check_reply(Querier *q, const VsMigInfo *i, int returned, int begun)
{
    check_members(q, i);
    if (i->has_ram && !cancelled_in_setup(i)) {
        if (q->s->direct) {
            check_direct_figures(q, i, returned, begun);
        } else {
            check_live_figures(q, i);
        }
    }
    if (i->status == VS_MIG_STATUS_FAILED && q->s->direct && i->has_error_desc) {
        unsigned g;

        if (sscanf(i->error_desc, "migration %u failed", &g) != 1 || (int)g < returned ||
            (int)g > begun) {
            querier_bad(q, i, "error '%s' while %d..%d ran", i->error_desc, returned, begun);
        }
    }
    /* Both replies fall into one migration's window: the sequence rules apply. */
    if (q->has_prev && q->prev_returned == begun && returned == begun) {
        check_sequence(q, &q->prev, i);
    }
    if (q->has_prev && q->prev.status != i->status) {
        q->changes_seen++;
    }
    q->seen[i->status < VS_MIG_STATUS__MAX ? i->status : 0]++;
    q->prev = *i;
    q->prev_returned = returned;
    q->has_prev = true;
}

static gpointer querier_main(gpointer opaque)
{
    Querier *q = opaque;
    Stress *s = q->s;

    while (!g_atomic_int_get(&s->stop)) {
        VsMigInfo info;
        int returned = g_atomic_int_get(&s->returned);
        int begun;

        if (s->direct) {
            vs_migstate_query(s->ms, &info);
        } else {
            vs_migration_query(s->mig, &info);
        }
        begun = g_atomic_int_get(&s->begun);
        check_reply(q, &info, returned, begun);
        q->replies++;
    }
    g_mutex_lock(&s->lock);
    s->replies += q->replies;
    s->changes_seen += q->changes_seen;
    if (q->bad && !s->bad) {
        g_strlcpy(s->first_bad, q->first_bad, sizeof(s->first_bad));
    }
    s->bad += q->bad;
    for (size_t i = 0; i < VS_MIG_STATUS__MAX; i++) {
        s->seen[i] += q->seen[i];
    }
    g_mutex_unlock(&s->lock);
    return NULL;
}

typedef struct Queriers {
    Querier q[N_QUERIERS];
    GThread *t[N_QUERIERS];
} Queriers;

static void queriers_start(Queriers *qs, Stress *s)
{
    for (unsigned n = 0; n < N_QUERIERS; n++) {
        g_autofree char *name = g_strdup_printf("query%u", n);

        memset(&qs->q[n], 0, sizeof(qs->q[n]));
        qs->q[n].s = s;
        qs->q[n].index = n;
        qs->t[n] = g_thread_new(name, querier_main, &qs->q[n]);
    }
}

/* Stops the queriers and fails the test on any bad reply. */
static void queriers_finish(Queriers *qs, Stress *s)
{
    g_atomic_int_set(&s->stop, 1);
    for (unsigned n = 0; n < N_QUERIERS; n++) {
        g_thread_join(qs->t[n]);
    }
    print_message("# %s: %" PRIu64 " replies checked by %d threads, %" PRIu64
                  " state changes seen (summed over the threads), %d migrations\n", s->name,
                  s->replies, N_QUERIERS, s->changes_seen, g_atomic_int_get(&s->begun));
    print_message("# %s: replies per state: setup %" PRIu64 " active %" PRIu64 " device %"
                  PRIu64 " completed %" PRIu64 " cancelling %" PRIu64 " cancelled %" PRIu64
                  " failed %" PRIu64 "\n", s->name, s->seen[VS_MIG_STATUS_SETUP],
                  s->seen[VS_MIG_STATUS_ACTIVE], s->seen[VS_MIG_STATUS_DEVICE],
                  s->seen[VS_MIG_STATUS_COMPLETED], s->seen[VS_MIG_STATUS_CANCELLING],
                  s->seen[VS_MIG_STATUS_CANCELLED], s->seen[VS_MIG_STATUS_FAILED]);
    if (s->bad) {
        print_error("%" PRIu64 " bad replies; the first: %s\n", s->bad, s->first_bad);
    }
    assert_int_equal(s->bad, 0);
    assert_true(s->replies > 0);
    g_mutex_clear(&s->lock);
}

/* ---- direct: the state machine driven as the engine drives it --------------------------- */

typedef struct Direct {
    Stress *s;
    GRand *rand;
    uint64_t transitions;
    unsigned ends[VS_MIG_STATUS__MAX];   /* how the driver's migrations ended */
    gint cancels;
} Direct;

static bool direct_step(Direct *d, VsMigStatus from, VsMigStatus to)
{
    if (!vs_migstate_transition(d->s->ms, from, to)) {
        return false;
    }
    d->transitions++;
    return true;
}

/* The engine's end after a refused transition or a failure: failed, or cancelled. */
static void direct_fail(Direct *d, unsigned g)
{
    g_autofree char *why = g_strdup_printf("migration %u failed", g);
    VsMigStatus before = vs_migstate_status(d->s->ms);

    if (vs_migstate_fail(d->s->ms, why) != before) {
        d->transitions++;
    }
}

/*
 * Now and then let the queriers run between two changes (two cores are
 * shared by five threads), so that they see the short-lived states too.
 */
static void direct_yield(Direct *d)
{
    int r = g_rand_int_range(d->rand, 0, 16);

    if (r < 4) {
        g_thread_yield();
    } else if (r == 4) {
        g_usleep(50);
    }
}

/* One migration: setup, figures, active with steps, device, completed; or an early end. */
static void direct_migration(Direct *d, unsigned g)
{
    VsMigState *ms = d->s->ms;
    unsigned steps = (unsigned)g_rand_int_range(d->rand, 0, DIRECT_MAX_STEP + 1);
    unsigned fail_at = (unsigned)g_rand_int_range(d->rand, 0, 40);   /* < steps + 3: fails */
    VsMigRamInfo r;
    int64_t expected;

    g_atomic_int_set(&d->s->begun, (int)g);
    if (!direct_step(d, vs_migstate_status(ms), VS_MIG_STATUS_SETUP)) {
        fail_msg("migration %u: setup refused from %s", g,
                 vs_mig_status_name(vs_migstate_status(ms)));
    }
    g_atomic_int_set(&d->s->returned, (int)g);
    if (fail_at == 0) {
        goto fail;
    }
    direct_yield(d);
    direct_figures(g, 0, &r, &expected);
    vs_migstate_set_ram(ms, &r, expected);
    direct_yield(d);
    if (!direct_step(d, VS_MIG_STATUS_SETUP, VS_MIG_STATUS_ACTIVE)) {
        goto fail;
    }
    for (unsigned k = 1; k <= steps; k++) {
        if (fail_at == k) {
            goto fail;
        }
        direct_yield(d);
        direct_figures(g, k, &r, &expected);
        vs_migstate_set_ram(ms, &r, expected);
    }
    direct_yield(d);
    if (!direct_step(d, VS_MIG_STATUS_ACTIVE, VS_MIG_STATUS_DEVICE)) {
        goto fail;
    }
    direct_yield(d);
    direct_figures(g, steps + 1, &r, &expected);
    vs_migstate_set_ram(ms, &r, expected);
    vs_migstate_set_downtime(ms, DIRECT_DOWNTIME_MS);
    if (fail_at == steps + 1 || !direct_step(d, VS_MIG_STATUS_DEVICE, VS_MIG_STATUS_COMPLETED)) {
        goto fail;
    }
    return;
fail:
    direct_fail(d, g);
}

/* Cancels at random moments, as migrate_cancel from the monitor does. */
static gpointer canceller_main(gpointer opaque)
{
    Direct *d = opaque;
    GRand *rand = g_rand_new_with_seed(77);

    while (!g_atomic_int_get(&d->s->stop)) {
        VsMigStatus st = vs_migstate_status(d->s->ms);

        if ((st == VS_MIG_STATUS_SETUP || st == VS_MIG_STATUS_ACTIVE ||
             st == VS_MIG_STATUS_DEVICE) && g_rand_int_range(rand, 0, 32) == 0 &&
            vs_migstate_transition(d->s->ms, st, VS_MIG_STATUS_CANCELLING)) {
            g_atomic_int_inc(&d->cancels);
        }
        if (g_rand_int_range(rand, 0, 16) == 0) {
            g_thread_yield();
        }
    }
    g_rand_free(rand);
    return NULL;
}

static void test_stress_direct(void **state)
{
    Stress s;
    Direct d = { .s = &s };
    Queriers qs;
    GThread *canceller;
    unsigned n = DIRECT_MIGRATIONS * stress_scale();
    int cancels;

    stress_init(&s, "direct", true);
    s.ms = vs_migstate_new(*state, false);
    d.rand = g_rand_new_with_seed(2024);
    queriers_start(&qs, &s);
    canceller = g_thread_new("cancel", canceller_main, &d);
    for (unsigned g = 1; g <= n; g++) {
        direct_migration(&d, g);
        d.ends[vs_migstate_status(s.ms)]++;
        direct_yield(&d);
    }
    /* The canceller stops with the queriers, before any assertion can fail. */
    g_atomic_int_set(&s.stop, 1);
    g_thread_join(canceller);
    queriers_finish(&qs, &s);
    cancels = g_atomic_int_get(&d.cancels);
    print_message("# direct: %" PRIu64 " state changes made\n", d.transitions + (uint64_t)cancels);
    print_message("# direct: %u completed, %u failed, %u cancelled (%d cancels from another "
                  "thread)\n", d.ends[VS_MIG_STATUS_COMPLETED], d.ends[VS_MIG_STATUS_FAILED],
                  d.ends[VS_MIG_STATUS_CANCELLED], cancels);
    /* Every migration ended, each way several times; replies with figures were checked. */
    assert_int_equal(d.ends[VS_MIG_STATUS_COMPLETED] + d.ends[VS_MIG_STATUS_FAILED] +
                     d.ends[VS_MIG_STATUS_CANCELLED], n);
    assert_true(d.ends[VS_MIG_STATUS_COMPLETED] > 0 && d.ends[VS_MIG_STATUS_FAILED] > 0 &&
                d.ends[VS_MIG_STATUS_CANCELLED] > 0);
    /* At least setup and an end each. */
    assert_true(d.transitions + (uint64_t)cancels >= 2ull * n);
    assert_true(s.seen[VS_MIG_STATUS_ACTIVE] + s.seen[VS_MIG_STATUS_DEVICE] +
                s.seen[VS_MIG_STATUS_COMPLETED] > 0);
    g_rand_free(d.rand);
    talloc_free(s.ms);
}

/* ---- live: real migrations -------------------------------------------------------------- */

/* Reads a migration stream to its end and drops it (a destination that just listens). */
typedef struct Sink {
    VsChannelListener *l;
    GThread *thread;
} Sink;

static gpointer sink_main(gpointer opaque)
{
    Sink *k = opaque;
    TALLOC_CTX *ctx = talloc_new(NULL);
    VsChannel *ch = vs_channel_accept(k->l, ctx, NULL);
    uint8_t buf[64 * 1024];

    while (ch && vs_qemufile_get_buffer(vs_channel_file(ch), buf, sizeof(buf)) == sizeof(buf)) {
    }
    talloc_free(ctx);
    return NULL;
}

static Sink *sink_new(TALLOC_CTX *ctx)
{
    Sink *k = talloc_zero(ctx, Sink);
    GError *err = NULL;

    k->l = vs_channel_listen(k, "tcp:127.0.0.1:0", &err);
    assert_non_null(k->l);
    k->thread = g_thread_new("sink", sink_main, k);
    return k;
}

static void sink_free(Sink *k)
{
    vs_channel_listener_abort(k->l);
    g_thread_join(k->thread);
    talloc_free(k);
}

static VsVm *live_vm(TALLOC_CTX *ctx, bool incoming, uint64_t dirty_rate)
{
    VsVmConfig cfg = VS_VM_CONFIG_INIT;
    GError *err = NULL;
    VsVm *vm;

    cfg.ram_size = LIVE_RAM;
    cfg.fill = incoming ? VS_VM_FILL_ZERO : VS_VM_FILL_RANDOM;
    cfg.dirty_rate = dirty_rate;
    cfg.incoming = incoming;
    cfg.paused = incoming;
    cfg.seed = incoming ? 5 : 3;
    vm = vs_vm_new(ctx, &cfg, &err);
    if (!vm) {
        print_error("%s\n", err->message);
    }
    assert_non_null(vm);
    return vm;
}

typedef struct LiveCounts {
    unsigned completed;
    unsigned cancelled;
    unsigned to_vm;
    unsigned dest_replies;
} LiveCounts;

/* A destination's replies: its own status only, never figures (as QEMU's). */
static void check_destination(VsVm *dst, LiveCounts *c)
{
    VsMigInfo i;

    vs_migration_query(vs_vm_migration(dst), &i);
    c->dest_replies++;
    if (i.has_ram || i.has_total_time || i.has_downtime ||
        !(i.status == VS_MIG_STATUS_NONE || i.status == VS_MIG_STATUS_ACTIVE ||
          i.status == VS_MIG_STATUS_COMPLETED || i.status == VS_MIG_STATUS_FAILED)) {
        print_error("destination replied %s with figures %d\n", vs_mig_status_name(i.status),
                    i.has_ram);
        fail();
    }
}

/*
 * Migration @n: to a fresh destination VM over a unix socket (every
 * fourth), to a sink over TCP, or to exec:cat; cancelled after a random
 * pause in half of them.  The source's state afterwards is the one its
 * end implies.
 */
static void live_migration(void **state, Stress *s, VsVm *src, unsigned n, GRand *rand,
                           LiveCounts *c)
{
    TALLOC_CTX *tmp = talloc_new(*state);
    VsMigration *m = vs_vm_migration(src);
    g_autofree char *path = NULL;
    g_autofree char *uri = NULL;
    VsVm *dst = NULL;
    Sink *sink = NULL;
    GError *err = NULL;
    VsMigInfo info;

    if (n % 4 == 0) {
        dst = live_vm(tmp, true, 0);
        path = g_strdup_printf("%s/vs-stress-%d-%u.sock", g_get_tmp_dir(), (int)getpid(), n);
        uri = g_strdup_printf("unix:%s", path);
        assert_true(vs_vm_incoming(dst, uri, &err));
        c->to_vm++;
    } else if (n % 4 == 1) {
        sink = sink_new(tmp);
        uri = g_strdup(vs_channel_listener_address(sink->l));
    } else {
        uri = g_strdup("exec:cat > /dev/null");
    }
    if (vs_vm_run_state(src) != VS_VM_RUNNING) {
        assert_true(vs_vm_cont(src, &err));
    }
    g_atomic_int_set(&s->begun, (int)n);
    if (!vs_migration_start(m, uri, &err)) {
        print_error("migration %u: %s\n", n, err->message);
        fail();
    }
    g_atomic_int_set(&s->returned, (int)n);
    if (g_rand_boolean(rand)) {
        g_usleep((gulong)g_rand_int_range(rand, 0, 20000));
        if (dst) {
            check_destination(dst, c);
        }
        vs_migration_cancel(m);
    }
    vs_migration_wait(m, WAIT_US);
    vs_migration_query(m, &info);
    if (info.status == VS_MIG_STATUS_COMPLETED) {
        c->completed++;
        assert_int_equal(vs_vm_run_state(src), VS_VM_POSTMIGRATE);
    } else if (info.status == VS_MIG_STATUS_CANCELLED) {
        c->cancelled++;
        assert_int_equal(vs_vm_run_state(src), VS_VM_RUNNING);
    } else {
        print_error("migration %u to %s ended %s: %s\n", n, uri, vs_mig_status_name(info.status),
                    info.error_desc);
        fail();
    }
    if (dst) {
        VsMigStatus ds = vs_migration_wait(vs_vm_migration(dst), WAIT_US);

        check_destination(dst, c);
        /* A completed source means a whole stream, loaded. */
        if (info.status == VS_MIG_STATUS_COMPLETED) {
            assert_int_equal(ds, VS_MIG_STATUS_COMPLETED);
        }
    }
    if (sink) {
        sink_free(sink);
    }
    talloc_free(tmp);
    if (path) {
        unlink(path);
    }
}

static void test_stress_live(void **state)
{
    Stress s;
    Queriers qs;
    LiveCounts c = { 0 };
    unsigned n = LIVE_MIGRATIONS * stress_scale();
    GRand *rand = g_rand_new_with_seed(4711);
    VsVm *src = live_vm(*state, false, 20 * MiB);
    GError *err = NULL;
    VsMigParams p;

    vs_migration_get_params(vs_vm_migration(src), &p);
    p.max_bandwidth = 0;
    p.downtime_limit = 300;
    assert_true(vs_migration_set_params(vs_vm_migration(src), &p, &err));
    stress_init(&s, "live", false);
    s.mig = vs_vm_migration(src);
    s.ram_total = vs_ram_list_total(vs_vm_ram(src));
    queriers_start(&qs, &s);
    for (unsigned i = 1; i <= n; i++) {
        live_migration(state, &s, src, i, rand, &c);
    }
    queriers_finish(&qs, &s);
    print_message("# live: %u completed, %u cancelled, %u into a destination VM (%u of its "
                  "replies checked)\n", c.completed, c.cancelled, c.to_vm, c.dest_replies);
    assert_true(c.completed > 0 && c.cancelled > 0);
    assert_true(s.seen[VS_MIG_STATUS_ACTIVE] > 0 && s.seen[VS_MIG_STATUS_COMPLETED] > 0);
    g_rand_free(rand);
    talloc_free(src);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, vs_test_ctx_setup, vs_test_ctx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_stress_direct),
        T(test_stress_live),
    };
#undef T
    return cmocka_run_group_tests_name("migstate-stress", tests, NULL, NULL);
}
