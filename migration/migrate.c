/*
 * migrate.c: the live migration engine: the source's migration thread and
 * the destination's incoming thread (see migrate.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include "migration/migrate.h"
#include "migration/ber-live.h"
#include "migration/channel.h"
#include "migration/multifd.h"
#include "migration/postcopy.h"
#include "migration/stream.h"
#include "migration/trace-migration.h"
#include "migration/vmdesc.h"
#include "visitor/pretty/tee-visitor.h"
#include "visitor/qemufile/legacy-visitor.h"

#include <inttypes.h>
#include <string.h>

G_DEFINE_QUARK(vs-migrate-error-quark, vs_migrate_error)

/* QEMU's MAX_WAIT: a RAM round ends after 50 ms, so state changes are seen. */
#define MIG_ROUND_US (50 * 1000)
/* QEMU's BUFFER_DELAY: bandwidth is measured over 100 ms windows. */
#define MIG_WINDOW_US (100 * 1000)
/* The largest downtime-limit QEMU accepts (ms). */
#define MIG_MAX_DOWNTIME_LIMIT 2000000u
/* Bounds on what an incoming stream may make us keep. */
#define MIG_MAX_SECTIONS 65536u
#define MIG_MAX_MACHINE_NAME 256u
#define MIG_MAX_VMDESC (64u << 20)
/* auto-converge looks at the dirty rate over periods of at least 1 s. */
#define MIG_THROTTLE_PERIOD_US (1000 * 1000)
/* The longest sleep of the pacer, so that a cancel is seen quickly. */
#define MIG_PACE_SLICE_US (20 * 1000)

struct VsMigration {
    VsSaveState *devices;
    VsRamList *ram;
    VsDirtyTracker *tracker;
    const VsMigVmOps *ops;
    void *opaque;

    GMutex lock;                 /* everything below, except the thread's own */
    GCond idle_cond;
    VsMigParams params;
    VsMigState *out_state;
    VsMigState *in_state;        /* NULL until the first vs_migration_incoming() */
    bool incoming;               /* the last migration was incoming */
    bool running;                /* a thread runs */
    GThread *thread;
    char *uri;
    VsChannel *ch;               /* the running migration's channel, for cancel */
    VsMultifdSend *mf_send;      /* the running migration's multifd channels, for cancel */
    VsMultifdRecv *mf_recv;      /* owned by the incoming thread */
    VsChannelListener *listener;
    gint cancel;
    VsPostcopy *pc;              /* postcopy's side of either direction */
    bool has_received_digest;
    uint64_t received_digest;
    /* The last migration's device sections as a stream (see vs_migration_device_sections). */
    uint8_t *sections;
    size_t sections_len;

    /* Owned by the source thread. */
    int64_t pace_start_us;
    uint64_t pace_bytes;
    uint64_t pace_bw;
    bool pace_off;
};

static bool mig_error(GError **errp, VsMigrateError code, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static bool mig_error(GError **errp, VsMigrateError code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_propagate_error(errp, g_error_new_valist(VS_MIGRATE_ERROR, code, fmt, ap));
    va_end(ap);
    return false;
}

static void mig_join(VsMigration *m)
{
    GThread *t;

    g_mutex_lock(&m->lock);
    t = m->thread;
    m->thread = NULL;
    g_mutex_unlock(&m->lock);
    if (t) {
        g_thread_join(t);
    }
}

static int mig_destructor(VsMigration *m)
{
    vs_migration_cancel(m);
    vs_postcopy_shutdown(m->pc);
    g_mutex_lock(&m->lock);
    if (m->listener) {
        vs_channel_listener_abort(m->listener);
    }
    if (m->incoming && m->ch) {
        vs_channel_shutdown(m->ch);
    }
    g_mutex_unlock(&m->lock);
    mig_join(m);
    g_mutex_clear(&m->lock);
    g_cond_clear(&m->idle_cond);
    return 0;
}

VsMigration *vs_migration_new(TALLOC_CTX *mem_ctx, VsSaveState *devices, VsRamList *ram,
                              VsDirtyTracker *tracker, const VsMigVmOps *ops, void *opaque)
{
    VsMigration *m = talloc_zero(mem_ctx, VsMigration);

    g_assert(m != NULL && devices && ram && tracker && ops);
    m->devices = devices;
    m->ram = ram;
    m->tracker = tracker;
    m->ops = ops;
    m->opaque = opaque;
    g_mutex_init(&m->lock);
    g_cond_init(&m->idle_cond);
    m->params.max_bandwidth = VS_MIG_DEFAULT_MAX_BANDWIDTH;
    m->params.downtime_limit = VS_MIG_DEFAULT_DOWNTIME_LIMIT;
    m->params.throttle_trigger_threshold = 50;
    m->params.cpu_throttle_initial = 20;
    m->params.cpu_throttle_increment = 10;
    m->params.max_cpu_throttle = 99;
    vs_multifd_default_params(&m->params);
    m->out_state = vs_migstate_new(m, false);
    m->pc = vs_postcopy_new(m, ram, tracker, m->out_state, &m->cancel);
    talloc_set_destructor(m, mig_destructor);
    return m;
}

void vs_migration_get_params(VsMigration *m, VsMigParams *ret)
{
    g_mutex_lock(&m->lock);
    *ret = m->params;
    g_mutex_unlock(&m->lock);
}

static bool mig_check_range(const char *name, unsigned v, unsigned lo, unsigned hi,
                            GError **errp)
{
    if (v < lo || v > hi) {
        /* QEMU 7.2's words. */
        return mig_error(errp, VS_MIGRATE_ERROR_PARAM,
                         "Parameter '%s' expects an integer in the range of %u to %u", name, lo,
                         hi);
    }
    return true;
}

bool vs_migration_set_params(VsMigration *m, const VsMigParams *p, GError **errp)
{
    if (p->downtime_limit > MIG_MAX_DOWNTIME_LIMIT) {
        /* QEMU 7.2's words. */
        return mig_error(errp, VS_MIGRATE_ERROR_PARAM,
                         "Parameter 'downtime_limit' expects an integer in the range of 0 to "
                         "%u milliseconds", MIG_MAX_DOWNTIME_LIMIT);
    }
    if (!mig_check_range("throttle_trigger_threshold", p->throttle_trigger_threshold, 1, 100,
                         errp) ||
        !mig_check_range("cpu_throttle_initial", p->cpu_throttle_initial, 1, 99, errp) ||
        !mig_check_range("cpu_throttle_increment", p->cpu_throttle_increment, 1, 99, errp) ||
        !mig_check_range("max_cpu_throttle", p->max_cpu_throttle, 1, 99, errp)) {
        return false;
    }
    if (p->background_snapshot && p->ber_stream) {
        return mig_error(errp, VS_MIGRATE_ERROR_PARAM,
                         "Background-snapshot is not compatible with x-vstate-ber");
    }
    if (p->multifd && p->ber_stream) {
        /* Multifd's page packets are QEMU's form on channels of their own. */
        return mig_error(errp, VS_MIGRATE_ERROR_PARAM,
                         "Multifd is not compatible with x-vstate-ber");
    }
    if (!vs_multifd_check_params(p, errp)) {
        return false;
    }
    if (!vs_postcopy_check_params(p, errp)) {
        return false;
    }
    if (p->background_snapshot && p->auto_converge) {
        /* QEMU 7.2's words; it refuses the same combination. */
        return mig_error(errp, VS_MIGRATE_ERROR_PARAM,
                         "Background-snapshot is not compatible with auto-converge");
    }
    g_mutex_lock(&m->lock);
    if ((p->auto_converge != m->params.auto_converge ||
         p->background_snapshot != m->params.background_snapshot ||
         p->ber_stream != m->params.ber_stream ||
         p->multifd != m->params.multifd) && m->running &&
        !m->incoming) {
        g_mutex_unlock(&m->lock);
        return mig_error(errp, VS_MIGRATE_ERROR_BUSY, "There's a migration process in progress");
    }
    m->params = *p;
    g_mutex_unlock(&m->lock);
    vs_postcopy_set_params(m->pc, p);
    return true;
}

void vs_migration_query(VsMigration *m, VsMigInfo *ret)
{
    g_mutex_lock(&m->lock);
    vs_migstate_query(m->incoming ? m->in_state : m->out_state, ret);
    g_mutex_unlock(&m->lock);
}

VsPostcopy *vs_migration_postcopy(VsMigration *m)
{
    return m->pc;
}

VsMigStatus vs_migration_wait(VsMigration *m, int64_t timeout_us)
{
    int64_t until = g_get_monotonic_time() + timeout_us;
    VsMigStatus s;

    g_mutex_lock(&m->lock);
    while (m->running) {
        if (timeout_us < 0) {
            g_cond_wait(&m->idle_cond, &m->lock);
        } else if (!g_cond_wait_until(&m->idle_cond, &m->lock, until)) {
            break;
        }
    }
    s = vs_migstate_status(m->incoming ? m->in_state : m->out_state);
    g_mutex_unlock(&m->lock);
    return s;
}

/* The thread's last act: what waits for it may go on. */
static void mig_thread_done(VsMigration *m)
{
    g_mutex_lock(&m->lock);
    m->running = false;
    m->ch = NULL;
    g_cond_broadcast(&m->idle_cond);
    g_mutex_unlock(&m->lock);
}

static void mig_publish_channel(VsMigration *m, VsChannel *ch)
{
    g_mutex_lock(&m->lock);
    m->ch = ch;
    if (g_atomic_int_get(&m->cancel) && ch) {
        vs_channel_shutdown(ch);
    }
    g_mutex_unlock(&m->lock);
}

/* ---- source: pacing --------------------------------------------------------- */

static uint64_t mig_max_bandwidth(VsMigration *m)
{
    uint64_t bw;

    g_mutex_lock(&m->lock);
    bw = m->params.max_bandwidth;
    g_mutex_unlock(&m->lock);
    return bw;
}

/*
 * Called before every write to the channel: sleeps until the bytes sent
 * so far fit max-bandwidth since the pacer started, and stops the stream
 * on cancel.  An idle pacer is restarted so that no credit piles up.
 */
static bool mig_rate_hook(VsQemuFile *f, size_t bytes, void *opaque)
{
    VsMigration *m = opaque;
    uint64_t bw = mig_max_bandwidth(m);
    int64_t now = g_get_monotonic_time();

    if (g_atomic_int_get(&m->cancel)) {
        return false;
    }
    if (bw != m->pace_bw) {
        m->pace_bw = bw;
        m->pace_start_us = now;
        m->pace_bytes = 0;
    }
    if (bw && !m->pace_off) {
        for (;;) {
            int64_t due = m->pace_start_us + (int64_t)((double)m->pace_bytes * 1e6 / (double)bw);

            now = g_get_monotonic_time();
            if (now - due > MIG_WINDOW_US) {
                m->pace_start_us = now;
                m->pace_bytes = 0;
                break;
            }
            if (now >= due) {
                break;
            }
            g_usleep((gulong)MIN(due - now, MIG_PACE_SLICE_US));
            if (g_atomic_int_get(&m->cancel)) {
                return false;
            }
        }
    }
    m->pace_bytes += bytes;
    return true;
}

/* ---- source: the migration thread ------------------------------------------ */

typedef struct MigOut {
    VsMigration *m;
    VsRamSender *rs;
    VsQemuFile *f;
    VsBerLiveOut *ber;           /* x-vstate-ber: the BER form's writer; NULL: legacy */
    int64_t start_us;
    /* Bandwidth measurement window. */
    int64_t window_start_us;
    uint64_t window_bytes;
    uint64_t window_pages;
    double bandwidth;            /* bytes per us, last window */
    double mbps;
    uint64_t pages_per_second;
    int64_t last_sync_us;
    uint64_t last_sync_count;
    uint64_t dirty_pages_rate;
    uint64_t precopy_bytes;
    uint64_t final_bytes;        /* the stream's length once the channel closed */
    VsMultifdSend *mf;           /* multifd channels, or NULL */
    /* auto-converge (QEMU's migration_trigger_throttle). */
    int64_t period_start_us;
    uint64_t period_xfer_start;
    uint64_t period_dirty_pages;
    unsigned dirty_rate_high_cnt;
    unsigned throttle;
    bool postcopy;               /* the rounds ended to switch to postcopy */
} MigOut;

/* Bytes written so far; the channel's file is gone once it closed. */
static uint64_t mig_out_pos(const MigOut *o)
{
    return (o->f ? vs_qemufile_pos(o->f) : o->final_bytes) +
           (o->mf ? vs_multifd_send_bytes(o->mf) : 0);
}

static uint64_t mig_downtime_limit(VsMigration *m)
{
    uint64_t d;

    g_mutex_lock(&m->lock);
    d = m->params.downtime_limit;
    g_mutex_unlock(&m->lock);
    return d;
}

static void mig_out_figures(MigOut *o, VsMigRamInfo *ri, int64_t *expected_ms)
{
    VsRamSendStats st;

    vs_ram_sender_stats(o->rs, &st);
    memset(ri, 0, sizeof(*ri));
    ri->transferred = mig_out_pos(o);
    ri->remaining = vs_ram_sender_pending(o->rs);
    ri->total = vs_ram_list_total(o->m->ram);
    ri->duplicate = st.zero_pages;
    ri->normal = st.normal_pages;
    ri->normal_bytes = st.normal_pages * VS_RAM_PAGE_SIZE;
    ri->dirty_sync_count = st.dirty_syncs;
    ri->page_size = VS_RAM_PAGE_SIZE;
    ri->mbps = o->mbps;
    ri->pages_per_second = o->pages_per_second;
    ri->dirty_pages_rate = o->dirty_pages_rate;
    ri->precopy_bytes = o->precopy_bytes ? o->precopy_bytes : ri->transferred;
    ri->downtime_bytes = st.downtime_bytes;
    *expected_ms = o->bandwidth > 0 ? (int64_t)((double)ri->remaining / o->bandwidth / 1000.0)
                                    : (int64_t)mig_downtime_limit(o->m);
}

static void mig_out_publish(MigOut *o)
{
    VsMigRamInfo ri;
    int64_t expected;

    mig_out_figures(o, &ri, &expected);
    vs_migstate_set_ram(o->m->out_state, &ri, expected);
}

/* Ends a measurement window every 100 ms (QEMU's migration_update_counters). */
static void mig_out_measure(MigOut *o)
{
    int64_t now = g_get_monotonic_time();
    int64_t spent = now - o->window_start_us;
    VsRamSendStats st;
    uint64_t pages;

    if (spent < MIG_WINDOW_US) {
        return;
    }
    vs_ram_sender_stats(o->rs, &st);
    pages = st.zero_pages + st.normal_pages;
    o->bandwidth = (double)(mig_out_pos(o) - o->window_bytes) / (double)spent;
    trace_migrate_transferred(mig_out_pos(o) - o->window_bytes, (uint64_t)spent,
                              (uint64_t)(o->bandwidth * 1e6),
                              (uint64_t)(o->bandwidth * 1000.0 * (double)mig_downtime_limit(o->m)));
    o->mbps = o->bandwidth * 8.0;       /* bytes/us * 8 = Mbit/s */
    o->pages_per_second = (uint64_t)((double)(pages - o->window_pages) * 1e6 / (double)spent);
    o->window_start_us = now;
    o->window_bytes = mig_out_pos(o);
    o->window_pages = pages;
    mig_out_publish(o);
}

static void mig_out_set_throttle(MigOut *o, unsigned percent)
{
    trace_migration_throttle(percent);
    o->throttle = percent;
    if (o->m->ops->set_throttle) {
        o->m->ops->set_throttle(o->m->opaque, percent);
    }
    vs_migstate_set_throttle(o->m->out_state, percent);
}

/*
 * auto-converge, as QEMU 7.2: over each period of at least a second, when
 * the guest dirtied more than throttle-trigger-threshold % of what was
 * sent, for the second period running, throttle it: cpu-throttle-initial
 * first, then cpu-throttle-increment more each time, up to
 * max-cpu-throttle.
 */
static void mig_out_auto_converge(MigOut *o, int64_t now, uint64_t fresh_pages)
{
    VsMigParams p;
    uint64_t xfer, dirty;

    vs_migration_get_params(o->m, &p);
    o->period_dirty_pages += fresh_pages;
    if (now - o->period_start_us < MIG_THROTTLE_PERIOD_US) {
        return;
    }
    xfer = mig_out_pos(o) - o->period_xfer_start;
    dirty = o->period_dirty_pages * VS_RAM_PAGE_SIZE;
    o->period_start_us = now;
    o->period_xfer_start = mig_out_pos(o);
    o->period_dirty_pages = 0;
    if (!p.auto_converge || dirty <= xfer * p.throttle_trigger_threshold / 100 ||
        ++o->dirty_rate_high_cnt < 2) {
        return;
    }
    o->dirty_rate_high_cnt = 0;
    mig_out_set_throttle(o, o->throttle == 0 ? p.cpu_throttle_initial
                                             : MIN(o->throttle + p.cpu_throttle_increment,
                                                   p.max_cpu_throttle));
}

static bool mig_out_sync(MigOut *o, GError **errp)
{
    int64_t now = g_get_monotonic_time();
    VsRamSendStats st;

    if (!vs_ram_sender_sync(o->rs, errp)) {
        return false;
    }
    vs_ram_sender_stats(o->rs, &st);
    if (now > o->last_sync_us) {
        o->dirty_pages_rate = (uint64_t)((double)st.last_sync_new * 1e6 /
                                         (double)(now - o->last_sync_us));
    }
    o->last_sync_us = now;
    mig_out_auto_converge(o, now, st.last_sync_new);
    return true;
}

/* True (with the error set) once a cancel was asked for. */
static bool mig_out_cancelled(VsMigration *m, GError **errp)
{
    if (g_atomic_int_get(&m->cancel)) {
        mig_error(errp, VS_MIGRATE_ERROR_STATE, "migration was cancelled");
        return true;
    }
    return false;
}

static bool mig_out_file_ok(MigOut *o, GError **errp)
{
    if (vs_qemufile_failed(o->f)) {
        g_propagate_error(errp, g_error_copy(vs_qemufile_error(o->f)));
        return false;
    }
    return true;
}

/* A RAM section's framing in the stream's form (x-vstate-ber: migration/ber-live.h). */
static void mig_out_ram_section(MigOut *o, uint8_t type, uint32_t id)
{
    if (o->ber) {
        vs_ber_live_open_section(o->ber, o->f, type, id);
    } else if (type == VS_MIG_SECTION_START) {
        vs_savevm_put_section_header(o->f, type, id, "ram", 0, VS_SAVEVM_RAM_VERSION);
    } else {
        vs_savevm_put_section_header(o->f, type, id, NULL, 0, 0);
    }
}

static void mig_out_ram_footer(MigOut *o, uint32_t id)
{
    if (o->ber) {
        vs_ber_live_close_section(o->ber, o->f);
    } else {
        vs_savevm_put_footer(o->f, id);
    }
}

/* postcopy-ram: the return path and ADVISE (socket channels only). */
static bool mig_out_postcopy_begin(MigOut *o, GError **errp)
{
    VsMigParams p;
    int fd = -1;

    vs_migration_get_params(o->m, &p);
    g_mutex_lock(&o->m->lock);
    if (o->m->ch && (vs_channel_kind(o->m->ch) == VS_CHANNEL_TCP ||
                     vs_channel_kind(o->m->ch) == VS_CHANNEL_UNIX)) {
        fd = vs_channel_fd(o->m->ch);
    }
    g_mutex_unlock(&o->m->lock);
    return vs_postcopy_out_begin(o->m->pc, o->m->out_state, &p, fd, o->f, errp);
}

/* Header, configuration, START(ram). */
static bool mig_out_setup(MigOut *o, GError **errp)
{
    uint32_t id = vs_savevm_ram_section_id(o->m->devices);

    trace_savevm_state_setup();
    if (o->ber) {
        vs_ber_live_put_header(o->ber, o->f);
    } else {
        vs_savevm_write_header(o->m->devices, o->f);
        if (!mig_out_postcopy_begin(o, errp)) {
            return false;
        }
    }
    trace_savevm_section_start("ram", id);
    mig_out_ram_section(o, VS_MIG_SECTION_START, id);
    if (!vs_ram_sender_setup(o->rs, o->f, errp)) {
        return false;
    }
    mig_out_ram_footer(o, id);
    trace_savevm_section_end("ram", id, 0);
    o->last_sync_us = g_get_monotonic_time();
    o->period_start_us = o->last_sync_us;
    o->period_xfer_start = mig_out_pos(o);
    return vs_qemufile_flush(o->f, errp);
}

/* PART(ram) rounds until what is left fits the threshold after a sync. */
static bool mig_out_iterate(MigOut *o, GError **errp)
{
    uint32_t id = vs_savevm_ram_section_id(o->m->devices);

    o->window_start_us = g_get_monotonic_time();
    for (;;) {
        double threshold;
        uint64_t pending;

        if (mig_out_cancelled(o->m, errp)) {
            return false;
        }
        {
            VsRamSendStats st;

            vs_ram_sender_stats(o->rs, &st);
            if (vs_postcopy_out_should_switch(o->m->pc, st.dirty_syncs)) {
                o->postcopy = true;
                return true;
            }
        }
        mig_out_measure(o);
        threshold = o->bandwidth * 1000.0 * (double)mig_downtime_limit(o->m);
        pending = vs_ram_sender_pending(o->rs);
        trace_migrate_pending(pending, (uint64_t)threshold);
        if ((double)pending <= threshold) {
            if (!mig_out_sync(o, errp)) {
                return false;
            }
            pending = vs_ram_sender_pending(o->rs);
            mig_out_publish(o);
            if ((double)pending <= threshold) {
                return true;
            }
        }
        mig_out_ram_section(o, VS_MIG_SECTION_PART, id);
        vs_ram_sender_iterate(o->rs, o->f, MIG_ROUND_US);
        mig_out_ram_footer(o, id);
        if (!mig_out_file_ok(o, errp)) {
            return false;
        }
    }
}

/* Keeps a copy of the device sections of this migration, as a stream of their own. */
static void mig_keep_sections(VsMigration *m, const VsSaveState *devices,
                              const uint8_t *data, size_t len, bool with_header)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    VsQemuFile *f = vs_qemufile_new_memory_writer(tmp);
    const uint8_t *all;
    size_t all_len = 0;

    g_assert(tmp != NULL);
    if (with_header) {
        vs_savevm_write_header(devices, f);
    }
    vs_qemufile_put_buffer(f, data, len);
    all = vs_qemufile_memory_data(f, &all_len);
    g_mutex_lock(&m->lock);
    talloc_free(m->sections);
    m->sections = talloc_memdup(m, all, all_len);
    m->sections_len = all_len;
    g_assert(m->sections != NULL || all_len == 0);
    g_mutex_unlock(&m->lock);
    talloc_free(tmp);
}

/* The device sections, EOF and trailer into @f, exactly as kept for vs_migration_device_sections(). */
static bool mig_out_devices(VsMigration *m, VsQemuFile *f, GError **errp)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    VsQemuFile *devs = vs_qemufile_new_memory_writer(tmp);
    const uint8_t *data;
    size_t len = 0;
    bool ok;

    g_assert(tmp != NULL);
    ok = vs_savevm_write_devices(m->devices, devs, errp);
    if (ok) {
        data = vs_qemufile_memory_data(devs, &len);
        mig_keep_sections(m, m->devices, data, len, true);
        vs_qemufile_put_buffer(f, data, len);
        ok = vs_qemufile_flush(f, errp);
    }
    talloc_free(tmp);
    return ok;
}

/* mig_out_devices() in the BER form; the sections are kept in QEMU's. */
static bool mig_out_devices_ber(MigOut *o, GError **errp)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    uint8_t *legacy = NULL;
    size_t len = 0;
    bool ok;

    g_assert(tmp != NULL);
    ok = vs_ber_live_put_devices(o->ber, o->f, tmp, &legacy, &len, errp);
    if (ok) {
        mig_keep_sections(o->m, o->m->devices, legacy, len, true);
    }
    talloc_free(tmp);
    return ok;
}

/* Guest stopped: END(ram), the devices, EOF and the trailer. */
static bool mig_out_complete(MigOut *o, VsChannel *ch, GError **errp)
{
    uint32_t id = vs_savevm_ram_section_id(o->m->devices);

    o->precopy_bytes = mig_out_pos(o);
    /* As QEMU, the final stage is not rate limited. */
    o->m->pace_off = true;
    trace_savevm_state_complete_precopy();
    trace_savevm_section_start("ram", id);
    mig_out_ram_section(o, VS_MIG_SECTION_END, id);
    if (!vs_ram_sender_complete(o->rs, o->f, errp)) {
        return false;
    }
    mig_out_ram_footer(o, id);
    trace_savevm_section_end("ram", id, 0);
    if (!(o->ber ? mig_out_devices_ber(o, errp) : mig_out_devices(o->m, o->f, errp))) {
        return false;
    }
    o->final_bytes = vs_qemufile_pos(o->f);
    o->f = NULL;
    /* A cancel from now on must not shut down a descriptor being closed. */
    mig_publish_channel(o->m, NULL);
    if (o->mf && !vs_multifd_send_finish(o->mf, errp)) {
        return false;
    }
    return vs_channel_close(ch, errp);
}

static void mig_out_postcopy_channel(void *opaque, VsChannel *ch)
{
    mig_publish_channel(opaque, ch);
}

/* The switch to postcopy and the rest of the migration (postcopy.c). */
static bool mig_out_postcopy(MigOut *o, VsChannel *ch, bool *ret_stopped, GError **errp)
{
    VsMigration *m = o->m;
    TALLOC_CTX *tmp = talloc_new(NULL);
    VsQemuFile *devs = vs_qemufile_new_memory_writer(tmp);
    VsPostcopyOut po = { .rs = o->rs, .ch = ch, .f = o->f,
                         .ram_section_id = vs_savevm_ram_section_id(m->devices),
                         .stop_us = g_get_monotonic_time(), .guest_stopped = ret_stopped,
                         .publish_channel = mig_out_postcopy_channel, .opaque = m };
    bool ok;

    g_assert(tmp != NULL);
    if (m->ops->is_running(m->opaque)) {
        m->ops->stop(m->opaque);
        *ret_stopped = true;
    }
    trace_migration_completion_vm_stop(0);
    o->precopy_bytes = mig_out_pos(o);
    m->pace_off = true;          /* max-postcopy-bandwidth 0: unlimited, as QEMU's default */
    ok = vs_savevm_write_devices(m->devices, devs, errp);
    if (ok) {
        po.devices = vs_qemufile_memory_data(devs, &po.devices_len);
        mig_keep_sections(m, m->devices, po.devices, po.devices_len, true);
        ok = vs_postcopy_out_run(m->pc, &po, errp);
    }
    talloc_free(tmp);
    return ok;
}

/* The whole migration; *@ret_stopped says whether it stopped the guest. */
static bool mig_out_run(MigOut *o, VsChannel *ch, bool *ret_stopped, GError **errp)
{
    VsMigration *m = o->m;
    int64_t stop_us;

    if (!mig_out_setup(o, errp)) {
        return false;
    }
    mig_out_publish(o);
    if (!vs_migstate_transition(m->out_state, VS_MIG_STATUS_SETUP, VS_MIG_STATUS_ACTIVE)) {
        return mig_error(errp, VS_MIGRATE_ERROR_STATE, "migration was cancelled");
    }
    trace_migration_thread_setup_complete();
    if (!mig_out_iterate(o, errp)) {
        return false;
    }
    if (o->postcopy) {
        return mig_out_postcopy(o, ch, ret_stopped, errp);
    }
    stop_us = g_get_monotonic_time();
    if (m->ops->is_running(m->opaque)) {
        m->ops->stop(m->opaque);
        *ret_stopped = true;
    }
    trace_migration_completion_vm_stop(0);
    if (!vs_migstate_transition(m->out_state, VS_MIG_STATUS_ACTIVE, VS_MIG_STATUS_DEVICE)) {
        return mig_error(errp, VS_MIGRATE_ERROR_STATE, "migration was cancelled");
    }
    if (!mig_out_complete(o, ch, errp)) {
        return false;
    }
    vs_migstate_set_downtime(m->out_state, (g_get_monotonic_time() - stop_us) / 1000);
    {
        /* QEMU reports the figures of the whole migration once it completed. */
        int64_t total_us = g_get_monotonic_time() - o->start_us;
        VsRamSendStats st;

        vs_ram_sender_stats(o->rs, &st);
        if (total_us > 0) {
            o->mbps = (double)mig_out_pos(o) * 8.0 / (double)total_us;
            o->pages_per_second = (uint64_t)((double)(st.zero_pages + st.normal_pages) * 1e6 /
                                             (double)total_us);
        }
        mig_out_publish(o);
    }
    if (!vs_migstate_transition(m->out_state, VS_MIG_STATUS_DEVICE, VS_MIG_STATUS_COMPLETED)) {
        return mig_error(errp, VS_MIGRATE_ERROR_STATE, "migration was cancelled");
    }
    return true;
}

/*
 * A background snapshot (QEMU's background-snapshot capability): the
 * devices are saved with the guest stopped for a moment, RAM is
 * write-protected, the guest runs on, and every page goes out as it was
 * at that moment (pages the guest wants to write first).  The stream is
 * QEMU's for this case: START(ram), PART(ram)... without END, then the
 * device sections, EOF and the trailer saved at the start.
 */
static bool mig_out_run_snapshot(MigOut *o, VsChannel *ch, bool *ret_stopped, GError **errp)
{
    VsMigration *m = o->m;
    TALLOC_CTX *tmp = talloc_new(NULL);
    uint32_t id = vs_savevm_ram_section_id(m->devices);
    bool was_running = m->ops->is_running(m->opaque);
    VsQemuFile *devs = vs_qemufile_new_memory_writer(tmp);
    const uint8_t *dev_bytes;
    size_t dev_len = 0;
    VsRamWp *wp = NULL;
    bool done = false, ok = false;

    g_assert(tmp != NULL);
    if (was_running) {
        m->ops->stop(m->opaque);
        *ret_stopped = true;
    }
    if (!vs_savevm_write_devices(m->devices, devs, errp)) {
        goto out;
    }
    vs_dirty_tracker_suspend(m->tracker);
    wp = vs_ram_wp_new(tmp, m->ram, errp);
    if (!wp) {
        g_prefix_error(errp, "Background-snapshot is not supported by host kernel: ");
        goto out;
    }
    trace_savevm_state_setup();
    vs_savevm_write_header(m->devices, o->f);
    vs_savevm_put_section_header(o->f, VS_MIG_SECTION_START, id, "ram", 0,
                                 VS_SAVEVM_RAM_VERSION);
    vs_ram_sender_snapshot_setup(o->rs, o->f);
    vs_savevm_put_footer(o->f, id);
    if (was_running) {
        /* The state is fixed: the guest may run again. */
        m->ops->start(m->opaque);
        *ret_stopped = false;
    }
    mig_out_publish(o);
    if (!vs_migstate_transition(m->out_state, VS_MIG_STATUS_SETUP, VS_MIG_STATUS_ACTIVE)) {
        mig_error(errp, VS_MIGRATE_ERROR_STATE, "migration was cancelled");
        goto out;
    }
    o->window_start_us = g_get_monotonic_time();
    while (!done) {
        if (mig_out_cancelled(m, errp)) {
            goto out;
        }
        vs_savevm_put_section_header(o->f, VS_MIG_SECTION_PART, id, NULL, 0, 0);
        vs_ram_sender_snapshot_round(o->rs, o->f, wp, &done);
        vs_savevm_put_footer(o->f, id);
        if (!mig_out_file_ok(o, errp)) {
            goto out;
        }
        mig_out_measure(o);
    }
    dev_bytes = vs_qemufile_memory_data(devs, &dev_len);
    mig_keep_sections(m, m->devices, dev_bytes, dev_len, true);
    vs_qemufile_put_buffer(o->f, dev_bytes, dev_len);
    if (!vs_qemufile_flush(o->f, errp)) {
        goto out;
    }
    o->final_bytes = vs_qemufile_pos(o->f);
    o->f = NULL;
    mig_publish_channel(m, NULL);
    ok = vs_channel_close(ch, errp);
out:
    /* Freeing the write-protection wakes any writer still waiting. */
    talloc_free(wp);
    if (!vs_dirty_tracker_resume(m->tracker, ok ? errp : NULL)) {
        ok = false;
    }
    talloc_free(tmp);
    if (ok) {
        mig_out_publish(o);
        ok = vs_migstate_transition(m->out_state, VS_MIG_STATUS_ACTIVE,
                                    VS_MIG_STATUS_COMPLETED) ||
             mig_error(errp, VS_MIGRATE_ERROR_STATE, "migration was cancelled");
    }
    return ok;
}

/*
 * Multifd: the extra channels, connected after the main one (a QEMU 7.2
 * destination takes the first connection for the main channel); from now
 * on non-zero pages go through them.
 */
static bool mig_out_multifd_start(MigOut *o, const VsMigParams *p, GError **errp)
{
    VsMultifdConfig cfg;
    VsMultifdSend *mf;

    vs_multifd_config_from_params(p, &cfg);
    mf = vs_multifd_send_new(o->rs, &cfg, o->m->uri, mig_rate_hook, o->m, errp);
    if (!mf) {
        return false;
    }
    g_mutex_lock(&o->m->lock);
    o->m->mf_send = mf;
    if (g_atomic_int_get(&o->m->cancel)) {
        vs_multifd_send_shutdown(mf);
    }
    g_mutex_unlock(&o->m->lock);
    o->mf = mf;
    vs_ram_sender_set_sink(o->rs, vs_multifd_send_sink(), mf);
    return true;
}

/* A failed multifd migration: the channel's error explains more than the main channel's. */
static void mig_out_multifd_end(MigOut *o, GError **err)
{
    GError *mf_err = NULL;

    if (!o->mf) {
        return;
    }
    if (*err && vs_multifd_send_error(o->mf, &mf_err)) {
        g_clear_error(err);
        *err = mf_err;
    }
    g_mutex_lock(&o->m->lock);
    o->m->mf_send = NULL;
    g_mutex_unlock(&o->m->lock);
}

static gpointer mig_out_thread(gpointer opaque)
{
    VsMigration *m = opaque;
    TALLOC_CTX *tmp = talloc_new(NULL);
    MigOut o = { .m = m, .start_us = g_get_monotonic_time() };
    bool was_running = m->ops->is_running(m->opaque);
    bool stopped = false;
    GError *err = NULL;
    VsChannel *ch;

    g_assert(tmp != NULL);
    m->pace_bw = 0;
    m->pace_off = false;
    o.rs = vs_ram_sender_new(tmp, m->ram, m->tracker);
    ch = vs_channel_connect(tmp, m->uri, &err);
    if (ch) {
        o.f = vs_channel_file(ch);
        vs_qemufile_set_rate_hook(o.f, mig_rate_hook, m);
        VsMigParams p;

        vs_migration_get_params(m, &p);
        if (p.ber_stream) {
            o.ber = vs_ber_live_out_new(tmp, m->devices);
            vs_ram_sender_set_writer(o.rs, vs_ber_live_ram_writer(o.ber));
        }
        mig_publish_channel(m, ch);
        if ((!p.multifd || mig_out_multifd_start(&o, &p, &err)) &&
            (p.background_snapshot ? mig_out_run_snapshot(&o, ch, &stopped, &err)
                                   : mig_out_run(&o, ch, &stopped, &err))) {
            goto done;
        }
    }
    mig_out_multifd_end(&o, &err);
    vs_ram_sender_abort(o.rs);
    if (g_atomic_int_get(&m->cancel)) {
        g_clear_error(&err);
    }
    vs_migstate_fail(m->out_state, err ? err->message : "migration was cancelled");
    /* Nothing is lost on the source: the guest runs on as before. */
    if (stopped && was_running) {
        m->ops->start(m->opaque);
    }
done:
    if (o.throttle) {
        /* QEMU stops throttling when the migration ends, however it ends. */
        mig_out_set_throttle(&o, 0);
    }
    g_clear_error(&err);
    vs_postcopy_out_end(m->pc);
    mig_publish_channel(m, NULL);
    mig_out_multifd_end(&o, &err);
    talloc_free(tmp);
    mig_thread_done(m);
    return NULL;
}

bool vs_migration_start(VsMigration *m, const char *uri, GError **errp)
{
    VsChannelKind kind;
    const char *rest;
    GError *local = NULL;

    if (!vs_channel_parse_uri(uri, &kind, &rest, &local)) {
        mig_error(errp, VS_MIGRATE_ERROR_PARAM, "%s", local->message);
        g_error_free(local);
        return false;
    }
    g_mutex_lock(&m->lock);
    if (m->running) {
        g_mutex_unlock(&m->lock);
        /* QEMU 7.2's words. */
        return mig_error(errp, VS_MIGRATE_ERROR_BUSY,
                         "There's a migration process in progress");
    }
    if (m->incoming && m->in_state &&
        vs_migstate_status(m->in_state) != VS_MIG_STATUS_COMPLETED) {
        g_mutex_unlock(&m->lock);
        return mig_error(errp, VS_MIGRATE_ERROR_STATE,
                         "Guest is waiting for an incoming migration");
    }
    g_mutex_unlock(&m->lock);
    mig_join(m);
    g_mutex_lock(&m->lock);
    /* The status reads setup before this returns, never the last "completed". */
    if (!vs_migstate_transition(m->out_state, vs_migstate_status(m->out_state),
                                VS_MIG_STATUS_SETUP)) {
        g_mutex_unlock(&m->lock);
        return mig_error(errp, VS_MIGRATE_ERROR_BUSY, "There's a migration process in progress");
    }
    m->incoming = false;
    m->running = true;
    TALLOC_FREE(m->sections);
    g_atomic_int_set(&m->cancel, 0);
    talloc_free(m->uri);
    m->uri = talloc_strdup(m, uri);
    m->thread = g_thread_new("vs-migration", mig_out_thread, m);
    g_mutex_unlock(&m->lock);
    return true;
}

void vs_migration_cancel(VsMigration *m)
{
    g_mutex_lock(&m->lock);
    if (m->running && !m->incoming) {
        VsMigStatus s = vs_migstate_status(m->out_state);

        trace_migrate_fd_cancel();
        g_atomic_int_set(&m->cancel, 1);
        if (s == VS_MIG_STATUS_SETUP || s == VS_MIG_STATUS_ACTIVE || s == VS_MIG_STATUS_DEVICE ||
            s == VS_MIG_STATUS_POSTCOPY_ACTIVE || s == VS_MIG_STATUS_POSTCOPY_PAUSED ||
            s == VS_MIG_STATUS_POSTCOPY_RECOVER) {
            vs_migstate_transition(m->out_state, s, VS_MIG_STATUS_CANCELLING);
        }
        if (m->ch) {
            vs_channel_shutdown(m->ch);
        }
        if (m->mf_send) {
            vs_multifd_send_shutdown(m->mf_send);
        }
    }
    g_mutex_unlock(&m->lock);
}

/* ---- destination: loading the stream ------------------------------------------- */

typedef struct MigBinding {
    uint32_t section_id;
    char *idstr;
    uint32_t instance_id;
    uint32_t version_id;
    bool is_ram;
    const VsRegistryEntry *entry;
    void *obj;
} MigBinding;

typedef struct MigIn {
    VsMigration *m;
    VsQemuFile *f;
    VsQemuFile *received;        /* device bodies re-encoded as loaded */
    VsQemuFile *sections;        /* the same as whole FULL sections, for a stream */
    VsJson *descs;               /* their vmdesc entries */
    TALLOC_CTX *ctx;
    VsRamReceiver rr;
    MigBinding *bindings;        /* talloc array */
    size_t n_bindings;
    bool end_package;            /* POSTCOPY_RUN: the package's items end */
} MigIn;

/* A channel failure explains itself (I/O error, end of stream at offset N). */
static bool mig_in_file_failed(MigIn *in, GError **errp)
{
    if (!vs_qemufile_failed(in->f)) {
        return false;
    }
    g_propagate_error(errp, g_error_copy(vs_qemufile_error(in->f)));
    return true;
}

static bool mig_in_header(MigIn *in, GError **errp)
{
    uint32_t magic = vs_qemufile_get_be32(in->f);
    uint32_t version = vs_qemufile_get_be32(in->f);

    if (mig_in_file_failed(in, errp)) {
        return false;
    }
    if (magic != VS_MIG_FILE_MAGIC) {
        g_autofree char *ber = vs_ber_live_mismatch(magic);

        if (ber) {
            return mig_error(errp, VS_MIGRATE_ERROR_STREAM, "%s", ber);
        }
        return mig_error(errp, VS_MIGRATE_ERROR_STREAM,
                         "Not a migration stream (read 0x%08" PRIx32 ", expected the magic "
                         "0x%08x \"QEVM\")", magic, VS_MIG_FILE_MAGIC);
    }
    if (version == 2) {
        return mig_error(errp, VS_MIGRATE_ERROR_STREAM,
                         "SaveVM v2 format is obsolete and don't work anymore");
    }
    if (version != VS_MIG_FILE_VERSION) {
        return mig_error(errp, VS_MIGRATE_ERROR_STREAM, "Unsupported migration stream version");
    }
    return true;
}

/* The configuration section: the machine type must be ours. */
static bool mig_in_config(MigIn *in, GError **errp)
{
    const char *local = vs_savevm_machine_type(in->m->devices);
    uint8_t type = vs_qemufile_get_byte(in->f);
    uint32_t len;
    char name[MIG_MAX_MACHINE_NAME + 1];
    uint8_t next;

    if (mig_in_file_failed(in, errp)) {
        return false;
    }
    if (type != VS_MIG_CONFIGURATION) {
        return mig_error(errp, VS_MIGRATE_ERROR_STREAM,
                         "Configuration section missing (found 0x%02x at offset 0x%" PRIx64 ")",
                         type, vs_qemufile_pos(in->f) - 1);
    }
    len = vs_qemufile_get_be32(in->f);
    if (len > MIG_MAX_MACHINE_NAME) {
        return mig_error(errp, VS_MIGRATE_ERROR_STREAM,
                         "configuration: machine type of %" PRIu32 " bytes exceeds %u", len,
                         MIG_MAX_MACHINE_NAME);
    }
    name[vs_qemufile_get_buffer(in->f, (uint8_t *)name, len)] = '\0';
    if (mig_in_file_failed(in, errp)) {
        return false;
    }
    if (strlen(local) < len || strncmp(name, local, len) != 0) {
        return mig_error(errp, VS_MIGRATE_ERROR_STREAM,
                         "Machine type received is '%s' and local is '%s'", name, local);
    }
    if (vs_qemufile_peek_byte(in->f, 0, &next) && next == VS_LEGACY_SUBSECTION) {
        return mig_error(errp, VS_MIGRATE_ERROR_STREAM,
                         "configuration subsections (x-ignore-shared, validate-uuid, "
                         "target-page-bits) are not supported by this destination");
    }
    return true;
}

static MigBinding *mig_in_binding(MigIn *in, uint32_t id)
{
    for (size_t i = 0; i < in->n_bindings; i++) {
        if (in->bindings[i].section_id == id) {
            return &in->bindings[i];
        }
    }
    return NULL;
}

/* START/FULL: the header after the type byte; binds the id to a handler. */
static MigBinding *mig_in_section_start(MigIn *in, uint8_t type, GError **errp)
{
    MigBinding b = { 0 };
    char idstr[256];
    uint8_t len;

    b.section_id = vs_qemufile_get_be32(in->f);
    len = vs_qemufile_get_byte(in->f);
    idstr[vs_qemufile_get_buffer(in->f, (uint8_t *)idstr, len)] = '\0';
    b.instance_id = vs_qemufile_get_be32(in->f);
    b.version_id = vs_qemufile_get_be32(in->f);
    if (mig_in_file_failed(in, errp)) {
        return NULL;
    }
    if (strcmp(idstr, "ram") == 0 && b.instance_id == 0) {
        b.is_ram = true;
        if (b.version_id != VS_SAVEVM_RAM_VERSION) {
            mig_error(errp, VS_MIGRATE_ERROR_STREAM,
                      "savevm: unsupported version %" PRIu32 " for 'ram' v4", b.version_id);
            return NULL;
        }
    } else if (!vs_savevm_find_device(in->m->devices, idstr, b.instance_id, &b.entry, &b.obj)) {
        mig_error(errp, VS_MIGRATE_ERROR_STREAM,
                  "Unknown savevm section or instance '%s' %" PRIu32 ". Make sure that your "
                  "current VM setup matches your saved VM setup, including any hotplugged "
                  "devices", idstr, b.instance_id);
        return NULL;
    } else if (b.version_id > b.entry->type->version) {
        mig_error(errp, VS_MIGRATE_ERROR_STREAM,
                  "savevm: unsupported version %" PRIu32 " for '%s' v%" PRIu32, b.version_id,
                  idstr, b.entry->type->version);
        return NULL;
    }
    if (type == VS_MIG_SECTION_START && !b.is_ram) {
        mig_error(errp, VS_MIGRATE_ERROR_STREAM,
                  "section '%s' is sent live (START) but is not an iterative section here",
                  idstr);
        return NULL;
    }
    if (mig_in_binding(in, b.section_id) || in->n_bindings >= MIG_MAX_SECTIONS) {
        mig_error(errp, VS_MIGRATE_ERROR_STREAM,
                  "section id %" PRIu32 " ('%s') is introduced twice or too many sections",
                  b.section_id, idstr);
        return NULL;
    }
    trace_qemu_loadvm_state_section_startfull(b.section_id, idstr, b.instance_id, b.version_id);
    b.idstr = talloc_strdup(in->ctx, idstr);
    in->bindings = talloc_realloc(in->ctx, in->bindings, MigBinding, in->n_bindings + 1);
    g_assert(in->bindings != NULL && b.idstr != NULL);
    in->bindings[in->n_bindings] = b;
    return &in->bindings[in->n_bindings++];
}

/*
 * A device body through its walker, straight into the device's state.  An
 * observer re-encodes the values as loaded (before post_load hooks adjust
 * them), for the digest of what was received.
 */
static bool mig_in_device(MigIn *in, const MigBinding *b, GError **errp)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    VsVisitor *load, *copy, *desc, *observers, *tee;
    GError *local = NULL;
    size_t before = 0, after = 0;
    const uint8_t *data;
    bool ok;

    g_assert(tmp != NULL);
    (void)vs_qemufile_memory_data(in->received, &before);
    load = vs_legacy_load_visitor_new(tmp, in->f, in->m);
    vs_visitor_set_root_version(load, b->version_id);
    copy = vs_legacy_save_visitor_new(tmp, in->received);
    desc = vs_vmdesc_visitor_new(tmp, b->idstr, b->instance_id);
    observers = vs_tee_visitor_new(tmp, copy, desc);
    tee = vs_tee_visitor_new(tmp, load, observers);
    ok = b->entry->walker(tee, b->idstr, b->obj, &local) && vs_visitor_complete(tee, &local);
    if (ok) {
        /* The body as loaded, framed as the FULL section it came in. */
        data = vs_qemufile_memory_data(in->received, &after);
        vs_savevm_put_section_header(in->sections, VS_MIG_SECTION_FULL, b->section_id, b->idstr,
                                     b->instance_id, b->version_id);
        vs_qemufile_put_buffer(in->sections, data + before, after - before);
        vs_savevm_put_footer(in->sections, b->section_id);
        vs_json_array_append(in->descs, vs_vmdesc_visitor_steal(desc, in->descs));
    }
    vs_visitor_free(tee);
    vs_visitor_free(observers);
    vs_visitor_free(desc);
    vs_visitor_free(copy);
    vs_visitor_free(load);
    talloc_free(tmp);
    if (!ok) {
        mig_error(errp, VS_MIGRATE_ERROR_STREAM,
                  "error while loading state for instance 0x%" PRIx32 " of device '%s': %s",
                  b->instance_id, b->idstr, local->message);
        g_error_free(local);
    }
    return ok;
}

static bool mig_in_footer(MigIn *in, const MigBinding *b, GError **errp)
{
    uint64_t at = vs_qemufile_pos(in->f);
    uint8_t type = vs_qemufile_get_byte(in->f);
    uint32_t id;

    if (mig_in_file_failed(in, errp)) {
        return false;
    }
    if (type != VS_MIG_SECTION_FOOTER) {
        return mig_error(errp, VS_MIGRATE_ERROR_STREAM,
                         "Missing section footer for %s (found 0x%02x at offset 0x%" PRIx64 ")",
                         b->idstr, type, at);
    }
    id = vs_qemufile_get_be32(in->f);
    if (mig_in_file_failed(in, errp)) {
        return false;
    }
    if (id != b->section_id) {
        return mig_error(errp, VS_MIGRATE_ERROR_STREAM,
                         "Mismatched section id in footer for %s - read 0x%" PRIx32
                         " expected 0x%" PRIx32, b->idstr, id, b->section_id);
    }
    return true;
}

static bool mig_in_body(MigIn *in, const MigBinding *b, GError **errp)
{
    GError *local = NULL;

    if (!b->is_ram) {
        trace_vmstate_load(b->idstr, b->entry->type->wire_name);
        return mig_in_device(in, b, errp);
    }
    if (vs_postcopy_in_listening(in->m->pc)) {
        /* A broken connection keeps its own error: postcopy may recover from it. */
        return vs_postcopy_in_ram(in->m->pc, in->f, errp);
    }
    /* With multifd, the section's pages on the other channels are in once all synced. */
    if (!vs_ram_receiver_load(&in->rr, in->f, &local) ||
        (in->m->mf_recv && !vs_multifd_recv_sync(in->m->mf_recv, &local))) {
        mig_error(errp, VS_MIGRATE_ERROR_STREAM,
                  "error while loading state for instance 0x%" PRIx32 " of device '%s': %s",
                  b->instance_id, b->idstr, local->message);
        g_error_free(local);
        return false;
    }
    return true;
}

/* After EOF: the vmdesc trailer, read and dropped, as QEMU does. */
static bool mig_in_trailer(MigIn *in, GError **errp)
{
    uint8_t type;
    uint32_t len;

    if (!vs_qemufile_peek_byte(in->f, 0, &type) || type != VS_MIG_VMDESCRIPTION) {
        return true;
    }
    vs_qemufile_skip(in->f, 1);
    len = vs_qemufile_get_be32(in->f);
    if (len > MIG_MAX_VMDESC) {
        return mig_error(errp, VS_MIGRATE_ERROR_STREAM,
                         "vmdesc trailer of %" PRIu32 " bytes exceeds %u", len, MIG_MAX_VMDESC);
    }
    vs_qemufile_skip(in->f, len);
    return !mig_in_file_failed(in, errp);
}

static bool mig_in_items(MigIn *in, GError **errp);

/* A command (postcopy's, the return path's); a package's bytes are items of their own. */
static bool mig_in_command(MigIn *in, GError **errp)
{
    VsMigration *m = in->m;
    VsQemuFile *package = NULL, *outer = in->f;
    int fd = -1;
    bool ok;

    g_mutex_lock(&m->lock);
    if (m->ch && (vs_channel_kind(m->ch) == VS_CHANNEL_TCP ||
                  vs_channel_kind(m->ch) == VS_CHANNEL_UNIX)) {
        fd = vs_channel_fd(m->ch);
    }
    g_mutex_unlock(&m->lock);
    if (!vs_postcopy_in_command(m->pc, in->f, fd, in->ctx, &package, &in->end_package, errp)) {
        return false;
    }
    if (!package) {
        return true;
    }
    in->f = package;
    ok = mig_in_items(in, errp);
    in->f = outer;
    in->end_package = false;
    talloc_free(package);
    return ok;
}

static bool mig_in_items(MigIn *in, GError **errp)
{
    for (;;) {
        uint64_t at = vs_qemufile_pos(in->f);
        uint8_t type = vs_qemufile_get_byte(in->f);
        MigBinding *b;

        if (mig_in_file_failed(in, errp)) {
            return false;
        }
        trace_qemu_loadvm_state_section(type);
        switch (type) {
        case VS_MIG_EOF:
            /* A postcopy stream has no trailer (and its source waits for SHUT). */
            return vs_postcopy_in_listening(in->m->pc) || mig_in_trailer(in, errp);
        case VS_MIG_COMMAND:
            if (!mig_in_command(in, errp)) {
                return false;
            }
            if (in->end_package) {
                return true;
            }
            continue;
        case VS_MIG_SECTION_START:
        case VS_MIG_SECTION_FULL:
            b = mig_in_section_start(in, type, errp);
            break;
        case VS_MIG_SECTION_PART:
        case VS_MIG_SECTION_END: {
            uint32_t id = vs_qemufile_get_be32(in->f);

            if (mig_in_file_failed(in, errp)) {
                return false;
            }
            b = mig_in_binding(in, id);
            if (!b) {
                return mig_error(errp, VS_MIGRATE_ERROR_STREAM,
                                 "Unknown savevm section %" PRIu32 " (at offset 0x%" PRIx64 ")",
                                 id, at);
            }
            break;
        }
        default:
            return mig_error(errp, VS_MIGRATE_ERROR_STREAM,
                             "Unknown savevm section type %u (at offset 0x%" PRIx64 ")", type,
                             at);
        }
        if (!b || !mig_in_body(in, b, errp) || !mig_in_footer(in, b, errp)) {
            return false;
        }
    }
}

static VsMigState *mig_in_state(VsMigration *m)
{
    VsMigState *st;

    g_mutex_lock(&m->lock);
    st = m->in_state;
    g_mutex_unlock(&m->lock);
    return st;
}

static bool mig_in_load(VsMigration *m, VsQemuFile *f, GError **errp)
{
    MigIn in = { .m = m, .f = f, .ctx = talloc_new(NULL) };
    VsMigParams p;
    bool ok;

    g_assert(in.ctx != NULL);
    in.received = vs_qemufile_new_memory_writer(in.ctx);
    in.sections = vs_qemufile_new_memory_writer(in.ctx);
    in.descs = vs_json_new_array(in.ctx);
    vs_savevm_write_header(m->devices, in.sections);
    vs_ram_receiver_init(&in.rr, m->ram);
    vs_migration_get_params(m, &p);
    if (p.ber_stream) {
        VsBerLiveSink sink = { .devices = m->devices, .rr = &in.rr, .received = in.received,
                               .sections = in.sections, .descs = in.descs };

        ok = vs_ber_live_load(f, &sink, errp);
    } else {
        vs_postcopy_in_begin(m->pc, mig_in_state(m), &p, m->ops, m->opaque);
        ok = mig_in_header(&in, errp) && mig_in_config(&in, errp);
        /* A broken connection in postcopy pauses until a recovery connects. */
        while (ok && !mig_in_items(&in, errp)) {
            ok = vs_postcopy_in_pause(m->pc, &in.f, errp);
        }
        ok = vs_postcopy_in_finish(m->pc, ok, errp);
    }
    trace_qemu_loadvm_state_post_main(ok ? 0 : -1);
    if (ok) {
        size_t len = 0;
        const uint8_t *data = vs_qemufile_memory_data(in.received, &len);

        g_mutex_lock(&m->lock);
        m->received_digest = vs_ram_digest(data, len);
        m->has_received_digest = true;
        g_mutex_unlock(&m->lock);
        vs_savevm_put_trailer(in.ctx, in.sections, in.descs);
        data = vs_qemufile_memory_data(in.sections, &len);
        mig_keep_sections(m, m->devices, data, len, false);
    }
    talloc_free(in.ctx);
    return ok;
}

bool vs_migration_device_sections(VsMigration *m, TALLOC_CTX *mem_ctx, uint8_t **ret_data,
                                  size_t *ret_len)
{
    bool has;

    g_mutex_lock(&m->lock);
    has = m->sections != NULL;
    if (has) {
        *ret_data = talloc_memdup(mem_ctx, m->sections, m->sections_len);
        *ret_len = m->sections_len;
        g_assert(*ret_data != NULL);
    }
    g_mutex_unlock(&m->lock);
    return has;
}

bool vs_migration_received_digest(VsMigration *m, uint64_t *ret)
{
    bool has;

    g_mutex_lock(&m->lock);
    has = m->has_received_digest;
    *ret = m->received_digest;
    g_mutex_unlock(&m->lock);
    return has;
}

/* The main channel; with multifd also every multifd channel, their threads started. */
static VsChannel *mig_in_accept(VsMigration *m, VsChannelListener *l, TALLOC_CTX *ctx,
                                GError **errp)
{
    VsMultifdConfig cfg;
    VsMigParams p;

    vs_migration_get_params(m, &p);
    if (!p.multifd) {
        /* With postcopy-preempt the next connection is its channel, as QEMU 7.2 takes it. */
        VsChannel *ch = vs_channel_accept(l, ctx, errp);

        return ch && vs_postcopy_in_accept_preempt(m->pc, &p, l, errp) ? ch : NULL;
    }
    vs_multifd_config_from_params(&p, &cfg);
    m->mf_recv = vs_multifd_recv_new(ctx, &cfg, m->ram);
    return vs_multifd_recv_accept(m->mf_recv, l, ctx, errp);
}

/* Multifd threads stop before the main channel closes; a channel's error explains more. */
static void mig_in_multifd_end(VsMigration *m, bool ok, GError **err)
{
    GError *mf_err = NULL;

    if (!m->mf_recv) {
        return;
    }
    if (!ok && vs_multifd_recv_error(m->mf_recv, &mf_err)) {
        g_clear_error(err);
        *err = mf_err;
    }
    vs_multifd_recv_finish(m->mf_recv);
    TALLOC_FREE(m->mf_recv);
}

static gpointer mig_in_thread(gpointer opaque)
{
    VsMigration *m = opaque;
    TALLOC_CTX *tmp = talloc_new(NULL);
    VsChannelListener *l;
    VsMigState *st;
    GError *err = NULL;
    VsChannel *ch;
    bool ok = false;

    g_assert(tmp != NULL);
    g_mutex_lock(&m->lock);
    l = m->listener;
    st = m->in_state;
    g_mutex_unlock(&m->lock);
    ch = mig_in_accept(m, l, tmp, &err);
    if (ch) {
        mig_publish_channel(m, ch);
        vs_migstate_transition(st, VS_MIG_STATUS_NONE, VS_MIG_STATUS_ACTIVE);
        ok = mig_in_load(m, vs_channel_file(ch), &err);
        mig_publish_channel(m, NULL);
        mig_in_multifd_end(m, ok, &err);
        if (ok) {
            ok = vs_channel_close(ch, &err) ||
                 (g_clear_error(&err), true);   /* the stream was whole */
        }
    }
    mig_in_multifd_end(m, ok, &err);
    trace_process_incoming_migration_co_end(ok ? 0 : -1);
    if (ok) {
        vs_migstate_transition(st, VS_MIG_STATUS_ACTIVE, VS_MIG_STATUS_COMPLETED);
    } else {
        g_autofree char *why = g_strdup_printf("load of migration failed: %s",
                                               err ? err->message : "unknown error");

        if (vs_migstate_status(st) == VS_MIG_STATUS_NONE) {
            vs_migstate_transition(st, VS_MIG_STATUS_NONE, VS_MIG_STATUS_ACTIVE);
        }
        vs_migstate_fail(st, why);
    }
    g_clear_error(&err);
    talloc_free(tmp);
    g_mutex_lock(&m->lock);
    talloc_free(m->listener);
    m->listener = NULL;
    g_mutex_unlock(&m->lock);
    if (m->ops->incoming_done) {
        m->ops->incoming_done(m->opaque, ok);
    }
    mig_thread_done(m);
    return NULL;
}

bool vs_migration_incoming(VsMigration *m, const char *uri, GError **errp)
{
    VsChannelListener *l;

    g_mutex_lock(&m->lock);
    if (m->running || m->listener) {
        g_mutex_unlock(&m->lock);
        return mig_error(errp, VS_MIGRATE_ERROR_BUSY, "There's a migration process in progress");
    }
    g_mutex_unlock(&m->lock);
    mig_join(m);
    l = vs_channel_listen(m, uri, errp);
    if (!l) {
        return false;
    }
    g_mutex_lock(&m->lock);
    m->listener = l;
    m->has_received_digest = false;
    TALLOC_FREE(m->sections);
    talloc_free(m->in_state);
    m->in_state = vs_migstate_new(m, true);
    m->incoming = true;
    m->running = true;
    m->thread = g_thread_new("vs-incoming", mig_in_thread, m);
    g_mutex_unlock(&m->lock);
    return true;
}

char *vs_migration_incoming_address(VsMigration *m)
{
    char *addr = NULL;

    g_mutex_lock(&m->lock);
    if (m->listener) {
        addr = g_strdup(vs_channel_listener_address(m->listener));
    }
    g_mutex_unlock(&m->lock);
    return addr;
}
