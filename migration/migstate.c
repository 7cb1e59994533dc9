/*
 * migstate.c: the state machine and statistics of a migration (see
 * migstate.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include "migration/migstate.h"
#include "migration/trace-migration.h"

#include <string.h>

struct VsMigState {
    GMutex lock;
    bool incoming;
    VsMigStatus status;
    int64_t start_us;            /* entering setup (source) or active (destination) */
    int64_t setup_done_us;       /* leaving setup; 0 before */
    int64_t end_us;              /* entering a final state; 0 before */
    int64_t downtime_ms;
    bool has_downtime;
    int64_t expected_downtime_ms;
    VsMigRamInfo ram;
    unsigned throttle;
    bool has_blocktime;
    uint32_t blocktime_ms;
    size_t n_vcpu_blocktime;
    uint32_t vcpu_blocktime_ms[VS_MIG_MAX_VCPU_BLOCKTIME];
    char *error;                 /* g_malloc'd, first reason */
};

static const char *const status_names[VS_MIG_STATUS__MAX] = {
    [VS_MIG_STATUS_NONE] = "none",
    [VS_MIG_STATUS_SETUP] = "setup",
    [VS_MIG_STATUS_CANCELLING] = "cancelling",
    [VS_MIG_STATUS_CANCELLED] = "cancelled",
    [VS_MIG_STATUS_ACTIVE] = "active",
    [VS_MIG_STATUS_POSTCOPY_ACTIVE] = "postcopy-active",
    [VS_MIG_STATUS_POSTCOPY_PAUSED] = "postcopy-paused",
    [VS_MIG_STATUS_POSTCOPY_RECOVER] = "postcopy-recover",
    [VS_MIG_STATUS_COMPLETED] = "completed",
    [VS_MIG_STATUS_FAILED] = "failed",
    [VS_MIG_STATUS_COLO] = "colo",
    [VS_MIG_STATUS_PRE_SWITCHOVER] = "pre-switchover",
    [VS_MIG_STATUS_DEVICE] = "device",
    [VS_MIG_STATUS_WAIT_UNPLUG] = "wait-unplug",
};

const char *vs_mig_status_name(VsMigStatus status)
{
    return status < VS_MIG_STATUS__MAX ? status_names[status] : "invalid";
}

bool vs_mig_status_is_idle(VsMigStatus status)
{
    return status == VS_MIG_STATUS_NONE || status == VS_MIG_STATUS_COMPLETED ||
           status == VS_MIG_STATUS_FAILED || status == VS_MIG_STATUS_CANCELLED;
}

static int migstate_destructor(VsMigState *ms)
{
    g_mutex_clear(&ms->lock);
    g_free(ms->error);
    return 0;
}

VsMigState *vs_migstate_new(TALLOC_CTX *mem_ctx, bool incoming)
{
    VsMigState *ms = talloc_zero(mem_ctx, VsMigState);

    g_assert(ms != NULL);
    g_mutex_init(&ms->lock);
    ms->incoming = incoming;
    talloc_set_destructor(ms, migstate_destructor);
    return ms;
}

VsMigStatus vs_migstate_status(VsMigState *ms)
{
    VsMigStatus s;

    g_mutex_lock(&ms->lock);
    s = ms->status;
    g_mutex_unlock(&ms->lock);
    return s;
}

/* Postcopy's transitions, as QEMU 7.2 makes them on either side (§4.7). */
static bool migstate_postcopy_allowed(bool incoming, VsMigStatus from, VsMigStatus to)
{
    switch (to) {
    case VS_MIG_STATUS_POSTCOPY_ACTIVE:
        return from == VS_MIG_STATUS_ACTIVE || from == VS_MIG_STATUS_POSTCOPY_RECOVER;
    case VS_MIG_STATUS_POSTCOPY_PAUSED:
        return from == VS_MIG_STATUS_POSTCOPY_ACTIVE || from == VS_MIG_STATUS_POSTCOPY_RECOVER;
    case VS_MIG_STATUS_POSTCOPY_RECOVER:
        return from == VS_MIG_STATUS_POSTCOPY_PAUSED;
    case VS_MIG_STATUS_COMPLETED:
    case VS_MIG_STATUS_FAILED:
        return from == VS_MIG_STATUS_POSTCOPY_ACTIVE ||
               (to == VS_MIG_STATUS_FAILED && (from == VS_MIG_STATUS_POSTCOPY_PAUSED ||
                                               from == VS_MIG_STATUS_POSTCOPY_RECOVER));
    case VS_MIG_STATUS_CANCELLING:
        return !incoming && (from == VS_MIG_STATUS_POSTCOPY_ACTIVE ||
                             from == VS_MIG_STATUS_POSTCOPY_PAUSED ||
                             from == VS_MIG_STATUS_POSTCOPY_RECOVER);
    default:
        return false;
    }
}

/* The transitions QEMU 7.2's precopy code makes (qemu-stream-format.md §6.1). */
static bool migstate_allowed(bool incoming, VsMigStatus from, VsMigStatus to)
{
    if (migstate_postcopy_allowed(incoming, from, to)) {
        return true;
    }
    if (incoming) {
        return (from == VS_MIG_STATUS_NONE && to == VS_MIG_STATUS_ACTIVE) ||
               (from == VS_MIG_STATUS_ACTIVE &&
                (to == VS_MIG_STATUS_COMPLETED || to == VS_MIG_STATUS_FAILED));
    }
    switch (to) {
    case VS_MIG_STATUS_SETUP:
        return vs_mig_status_is_idle(from);
    case VS_MIG_STATUS_ACTIVE:
        return from == VS_MIG_STATUS_SETUP;
    case VS_MIG_STATUS_DEVICE:
        return from == VS_MIG_STATUS_ACTIVE;
    case VS_MIG_STATUS_COMPLETED:
        return from == VS_MIG_STATUS_DEVICE || from == VS_MIG_STATUS_ACTIVE;
    case VS_MIG_STATUS_CANCELLING:
    case VS_MIG_STATUS_FAILED:
        return from == VS_MIG_STATUS_SETUP || from == VS_MIG_STATUS_ACTIVE ||
               from == VS_MIG_STATUS_DEVICE;
    case VS_MIG_STATUS_CANCELLED:
        return from == VS_MIG_STATUS_CANCELLING;
    default:
        return false;
    }
}

static void migstate_enter(VsMigState *ms, VsMigStatus to)
{
    int64_t now = g_get_monotonic_time();

    if (to == VS_MIG_STATUS_SETUP || (ms->incoming && to == VS_MIG_STATUS_ACTIVE)) {
        memset(&ms->ram, 0, sizeof(ms->ram));
        ms->start_us = now;
        ms->setup_done_us = 0;
        ms->end_us = 0;
        ms->has_downtime = false;
        ms->downtime_ms = 0;
        ms->expected_downtime_ms = 0;
        ms->throttle = 0;
        ms->has_blocktime = false;
        ms->n_vcpu_blocktime = 0;
        g_clear_pointer(&ms->error, g_free);
    }
    if (ms->status == VS_MIG_STATUS_SETUP && to != VS_MIG_STATUS_SETUP) {
        ms->setup_done_us = now;
    }
    if (vs_mig_status_is_idle(to)) {
        ms->end_us = now;
    }
    ms->status = to;
    trace_migrate_set_state(vs_mig_status_name(to));
}

bool vs_migstate_transition(VsMigState *ms, VsMigStatus from, VsMigStatus to)
{
    bool ok;

    g_mutex_lock(&ms->lock);
    ok = ms->status == from && migstate_allowed(ms->incoming, from, to);
    if (ok) {
        migstate_enter(ms, to);
    }
    g_mutex_unlock(&ms->lock);
    return ok;
}

VsMigStatus vs_migstate_fail(VsMigState *ms, const char *reason)
{
    VsMigStatus to;

    g_mutex_lock(&ms->lock);
    to = ms->status == VS_MIG_STATUS_CANCELLING ? VS_MIG_STATUS_CANCELLED : VS_MIG_STATUS_FAILED;
    if (migstate_allowed(ms->incoming, ms->status, to)) {
        if (!ms->error && reason) {
            ms->error = g_strdup(reason);
        }
        migstate_enter(ms, to);
    }
    to = ms->status;
    g_mutex_unlock(&ms->lock);
    return to;
}

void vs_migstate_set_ram(VsMigState *ms, const VsMigRamInfo *ram, int64_t expected_downtime_ms)
{
    g_mutex_lock(&ms->lock);
    ms->ram = *ram;
    ms->expected_downtime_ms = expected_downtime_ms;
    g_mutex_unlock(&ms->lock);
}

void vs_migstate_set_throttle(VsMigState *ms, unsigned percent)
{
    g_mutex_lock(&ms->lock);
    ms->throttle = percent;
    g_mutex_unlock(&ms->lock);
}

void vs_migstate_set_downtime(VsMigState *ms, int64_t downtime_ms)
{
    g_mutex_lock(&ms->lock);
    ms->downtime_ms = downtime_ms;
    ms->has_downtime = true;
    g_mutex_unlock(&ms->lock);
}

void vs_migstate_set_blocktime(VsMigState *ms, uint32_t total_ms, const uint32_t *per_thread_ms,
                               size_t n)
{
    g_mutex_lock(&ms->lock);
    ms->has_blocktime = true;
    ms->blocktime_ms = total_ms;
    ms->n_vcpu_blocktime = MIN(n, (size_t)VS_MIG_MAX_VCPU_BLOCKTIME);
    memcpy(ms->vcpu_blocktime_ms, per_thread_ms, ms->n_vcpu_blocktime * sizeof(uint32_t));
    g_mutex_unlock(&ms->lock);
}

static void migstate_fill_times(const VsMigState *ms, VsMigInfo *ret, int64_t now)
{
    int64_t end = ms->end_us ? ms->end_us : now;

    ret->has_total_time = true;
    ret->total_time = (end - ms->start_us) / 1000;
    if (ms->setup_done_us) {
        ret->has_setup_time = true;
        ret->setup_time = (ms->setup_done_us - ms->start_us) / 1000;
    }
}

void vs_migstate_query(VsMigState *ms, VsMigInfo *ret)
{
    int64_t now;

    memset(ret, 0, sizeof(*ret));
    g_mutex_lock(&ms->lock);
    /* Read under the lock: a clock read before it may predate the start of
     * the migration the reply shows, giving a negative total-time. */
    now = g_get_monotonic_time();
    ret->status = ms->status;
    ret->has_status = ms->status != VS_MIG_STATUS_NONE;
    if (ms->incoming) {
        /* QEMU's destination reports its status only, and once completed
         * the postcopy blocktime. */
        if (ms->status == VS_MIG_STATUS_COMPLETED && ms->has_blocktime) {
            ret->has_postcopy_blocktime = true;
            ret->postcopy_blocktime = ms->blocktime_ms;
            ret->n_postcopy_vcpu_blocktime = ms->n_vcpu_blocktime;
            memcpy(ret->postcopy_vcpu_blocktime, ms->vcpu_blocktime_ms,
                   ms->n_vcpu_blocktime * sizeof(uint32_t));
        }
    } else {
        switch (ms->status) {
        case VS_MIG_STATUS_ACTIVE:
        case VS_MIG_STATUS_CANCELLING:
        case VS_MIG_STATUS_DEVICE:
        case VS_MIG_STATUS_POSTCOPY_ACTIVE:
        case VS_MIG_STATUS_POSTCOPY_PAUSED:
        case VS_MIG_STATUS_POSTCOPY_RECOVER:
            migstate_fill_times(ms, ret, now);
            ret->has_expected_downtime = true;
            ret->expected_downtime = ms->expected_downtime_ms;
            ret->has_ram = true;
            ret->ram = ms->ram;
            /* QEMU reports it while the guest is throttled. */
            ret->has_cpu_throttle_percentage = ms->throttle > 0;
            ret->cpu_throttle_percentage = ms->throttle;
            break;
        case VS_MIG_STATUS_COMPLETED:
            migstate_fill_times(ms, ret, now);
            ret->has_downtime = ms->has_downtime;
            ret->downtime = ms->downtime_ms;
            ret->has_ram = true;
            ret->ram = ms->ram;
            ret->ram.remaining = 0;
            ret->ram.dirty_pages_rate = 0;
            break;
        default:
            break;
        }
    }
    if (ms->status == VS_MIG_STATUS_FAILED && ms->error) {
        ret->has_error_desc = true;
        g_strlcpy(ret->error_desc, ms->error, sizeof(ret->error_desc));
    }
    g_mutex_unlock(&ms->lock);
}
