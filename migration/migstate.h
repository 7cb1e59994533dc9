/*
 * migstate.h: a migration's state machine and statistics, read as one
 * consistent snapshot.
 *
 * SPDX-License-Identifier: MIT
 *
 * Theory of operation
 * ===================
 *
 * The states are QEMU 7.2's MigrationStatus, in its order (postcopy, colo,
 * pre-switchover and wait-unplug are named but never entered here).  A
 * source goes
 *
 *     none|completed|failed|cancelled -> setup -> active -> device -> completed
 *                    any of setup/active/device -> cancelling -> cancelled
 *                    any of setup/active/device -> failed
 *
 * and a destination none -> active -> completed|failed (QEMU's incoming
 * side skips setup).  Postcopy (migration/postcopy.h), both sides:
 *
 *     active -> postcopy-active -> completed | failed
 *     postcopy-active -> postcopy-paused -> postcopy-recover -> postcopy-active
 *                        postcopy-recover -> postcopy-paused (handshake failed)
 *
 * and on the source any postcopy state -> cancelling.  Every change goes through vs_migstate_transition(),
 * which refuses a change the table does not have or whose "from" is not
 * the current state (so a cancel and a completion cannot both win).
 *
 * The engine updates figures and states under one lock; a query copies
 * them under the same lock and fills a VsMigInfo as QEMU's query-migrate
 * fills MigrationInfo for that state.  A reply therefore never shows
 * `active` without RAM figures, nor figures from two moments:
 *
 *     VsMigInfo info;
 *     vs_migstate_query(ms, &info);
 *     if (info.status == VS_MIG_STATUS_ACTIVE) g_assert(info.has_ram);
 */
#ifndef VSTATE_MIGRATION_MIGSTATE_H
#define VSTATE_MIGRATION_MIGSTATE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <talloc.h>

G_BEGIN_DECLS

typedef enum VsMigStatus {
    VS_MIG_STATUS_NONE,
    VS_MIG_STATUS_SETUP,
    VS_MIG_STATUS_CANCELLING,
    VS_MIG_STATUS_CANCELLED,
    VS_MIG_STATUS_ACTIVE,
    VS_MIG_STATUS_POSTCOPY_ACTIVE,
    VS_MIG_STATUS_POSTCOPY_PAUSED,
    VS_MIG_STATUS_POSTCOPY_RECOVER,
    VS_MIG_STATUS_COMPLETED,
    VS_MIG_STATUS_FAILED,
    VS_MIG_STATUS_COLO,
    VS_MIG_STATUS_PRE_SWITCHOVER,
    VS_MIG_STATUS_DEVICE,
    VS_MIG_STATUS_WAIT_UNPLUG,
    VS_MIG_STATUS__MAX,
} VsMigStatus;

/* QMP's spelling: "none", "setup", ..., "postcopy-active", ... */
const char *vs_mig_status_name(VsMigStatus status);
/* True for none, completed, failed and cancelled: nothing runs. */
bool vs_mig_status_is_idle(VsMigStatus status);

/* MigrationStats as query-migrate reports them (bytes, pages, rates). */
typedef struct VsMigRamInfo {
    uint64_t transferred;
    uint64_t remaining;
    uint64_t total;
    uint64_t duplicate;
    uint64_t normal;
    uint64_t normal_bytes;
    uint64_t dirty_pages_rate;
    double mbps;
    uint64_t dirty_sync_count;
    uint64_t page_size;
    uint64_t pages_per_second;
    uint64_t precopy_bytes;
    uint64_t downtime_bytes;
    uint64_t postcopy_requests;  /* pages the destination asked for */
    uint64_t postcopy_bytes;     /* bytes sent after the switch to postcopy */
} VsMigRamInfo;

/* Workload threads the destination reports postcopy-vcpu-blocktime for. */
#define VS_MIG_MAX_VCPU_BLOCKTIME 64

/* MigrationInfo: each has_* says whether QMP would include the member. */
typedef struct VsMigInfo {
    bool has_status;
    VsMigStatus status;
    bool has_ram;
    VsMigRamInfo ram;
    bool has_total_time;
    int64_t total_time;          /* ms */
    bool has_setup_time;
    int64_t setup_time;          /* ms */
    bool has_downtime;
    int64_t downtime;            /* ms */
    bool has_expected_downtime;
    int64_t expected_downtime;   /* ms */
    bool has_cpu_throttle_percentage;
    uint64_t cpu_throttle_percentage;
    /* Destination, postcopy-blocktime capability: ms all guest threads
     * waited for pages at once, and each thread's own total. */
    bool has_postcopy_blocktime;
    uint32_t postcopy_blocktime;
    size_t n_postcopy_vcpu_blocktime;
    uint32_t postcopy_vcpu_blocktime[VS_MIG_MAX_VCPU_BLOCKTIME];
    bool has_error_desc;
    char error_desc[512];
} VsMigInfo;

typedef struct VsMigState VsMigState;

/* @incoming: a destination's state (figures are not reported, as in QEMU). */
VsMigState *vs_migstate_new(TALLOC_CTX *mem_ctx, bool incoming);

VsMigStatus vs_migstate_status(VsMigState *ms);

/*
 * vs_migstate_transition: @from -> @to if the state is @from and the table
 * allows it.  Entering setup clears every figure and starts the clock;
 * leaving setup records setup-time; completed/failed/cancelled stop the
 * clock.
 * Returns: whether the change happened.
 */
bool vs_migstate_transition(VsMigState *ms, VsMigStatus from, VsMigStatus to);

/*
 * vs_migstate_fail: the running migration failed because of @reason: to
 * failed, or from cancelling to cancelled (the failure was the cancel's
 * doing).  Keeps the first reason.  Returns the state entered.
 */
VsMigStatus vs_migstate_fail(VsMigState *ms, const char *reason);

/* Figures of the running migration, replaced together. */
void vs_migstate_set_ram(VsMigState *ms, const VsMigRamInfo *ram, int64_t expected_downtime_ms);
/* auto-converge's current throttle, 0 when the guest is not throttled. */
void vs_migstate_set_throttle(VsMigState *ms, unsigned percent);
/* The measured downtime (set before the transition to completed). */
void vs_migstate_set_downtime(VsMigState *ms, int64_t downtime_ms);
/* Destination: postcopy blocktime (ms), reported once completed; @n is capped. */
void vs_migstate_set_blocktime(VsMigState *ms, uint32_t total_ms, const uint32_t *per_thread_ms,
                               size_t n);

/* A consistent snapshot, populated per state as QEMU 7.2 populates it. */
void vs_migstate_query(VsMigState *ms, VsMigInfo *ret);

G_END_DECLS

#endif /* VSTATE_MIGRATION_MIGSTATE_H */
