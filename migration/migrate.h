/*
 * migrate.h: live migration of a VM's RAM and devices, source and
 * destination, each in its own thread.
 *
 * SPDX-License-Identifier: MIT
 *
 * Theory of operation
 * ===================
 *
 * A VsMigration belongs to one VM: its devices (a VsSaveState, savevm.h),
 * its RAM (a VsRamList with a dirty tracker, ram.h) and callbacks that stop
 * and restart the guest.  It runs one migration at a time, in either
 * direction, with the state machine of migstate.h.
 *
 * Source (QEMU 7.2's precopy migration thread), after vs_migration_start():
 *
 *     setup      connect the URI; header, configuration; START(ram): MEM_SIZE
 *     active     PART(ram) rounds: dirty pages, at most 50 ms each, paced to
 *                max-bandwidth; a dirty sync whenever what is left fits the
 *                threshold (measured bandwidth x downtime-limit), until it
 *                still fits after the sync
 *     device     stop the guest; END(ram): a last sync and every dirty page;
 *                FULL(device) sections, EOF, the vmdesc trailer
 *     completed  the guest stays stopped, as QEMU leaves it (it may be
 *                migrated or saved again)
 *
 * A cancel (any state) or a failure stops the thread and, if the guest was
 * running before the migration stopped it, restarts it: nothing is lost on
 * the source.  vs_migration_start() returns with the state already `setup`,
 * as QEMU's migrate command does.
 *
 * Destination, after vs_migration_incoming() (which returns once the URI
 * listens): accept, then load the stream as it arrives: RAM records into
 * the blocks, FULL sections into the registered devices by (idstr,
 * instance) through their walkers.  Errors use QEMU's words plus the field
 * path; a source that goes away fails the load with the channel's reason.
 *
 *     VsMigration *m = vs_migration_new(ctx, devices, ram, tracker, &ops, vm);
 *     vs_migration_start(m, "tcp:127.0.0.1:4444", errp);
 *     ... vs_migration_query(m, &info) ... vs_migration_cancel(m) ...
 *     vs_migration_wait(m, -1);
 */
#ifndef VSTATE_MIGRATION_MIGRATE_H
#define VSTATE_MIGRATION_MIGRATE_H

#include "migration/migstate.h"
#include "migration/ram.h"
#include "migration/savevm.h"

G_BEGIN_DECLS

#define VS_MIGRATE_ERROR (vs_migrate_error_quark())
GQuark vs_migrate_error_quark(void);

typedef enum VsMigrateError {
    VS_MIGRATE_ERROR_BUSY,      /* a migration is already running */
    VS_MIGRATE_ERROR_STATE,     /* not possible in this state (e.g. a destination) */
    VS_MIGRATE_ERROR_PARAM,     /* a parameter value out of range */
    VS_MIGRATE_ERROR_STREAM,    /* the incoming stream is wrong */
    VS_MIGRATE_ERROR__MAX,
} VsMigrateError;

/* The guest, as the migration sees it.  Called from the migration thread. */
typedef struct VsMigVmOps {
    /* Stop the guest; returns once nothing writes RAM or device state. */
    void (*stop)(void *opaque);
    /* Let it run again. */
    void (*start)(void *opaque);
    bool (*is_running)(void *opaque);
    /* Destination: the load ended (@ok), devices and RAM hold the state. */
    void (*incoming_done)(void *opaque, bool ok);
    /* auto-converge: let the guest run only (100 - @percent) % of its time; 0 ends it. */
    void (*set_throttle)(void *opaque, unsigned percent);
    /* Destination, postcopy: the devices are loaded and RAM follows on
     * demand: run the guest now if it is to run after the migration. */
    void (*postcopy_run)(void *opaque);
} VsMigVmOps;

/* QEMU 7.2's defaults: 128 MiB/s (MAX_THROTTLE), 300 ms. */
#define VS_MIG_DEFAULT_MAX_BANDWIDTH (128ull << 20)
#define VS_MIG_DEFAULT_DOWNTIME_LIMIT 300u

typedef struct VsMigParams {
    uint64_t max_bandwidth;   /* bytes per second; 0 = unlimited */
    uint64_t downtime_limit;  /* ms, 0..2000000 */
    /* The auto-converge capability and its parameters (QEMU 7.2's defaults
     * 50, 20, 10, 99). */
    bool auto_converge;
    uint8_t throttle_trigger_threshold;   /* 1..100: % of the bytes sent */
    uint8_t cpu_throttle_initial;         /* 1..99 */
    uint8_t cpu_throttle_increment;       /* 1..99 */
    uint8_t max_cpu_throttle;             /* 1..99 */
    /* The background-snapshot capability: migrate saves the state of the
     * moment it starts while the guest runs on (a live dump). */
    bool background_snapshot;
    /* Postcopy (postcopy.h): the postcopy-ram and postcopy-blocktime
     * capabilities, and x-postcopy-after-rounds, a vstate parameter: switch
     * to postcopy by itself after that many passes over RAM (0: only on
     * migrate-start-postcopy). */
    bool postcopy_ram;
    bool postcopy_blocktime;
    uint32_t postcopy_after_rounds;
    /* postcopy-preempt: requested pages on a second connection of their
     * own; max-postcopy-bandwidth: bytes per second of the background
     * sweep after the switch (0: unlimited, QEMU's default). */
    bool postcopy_preempt;
    uint64_t max_postcopy_bandwidth;
    /* x-vstate-ber, a vstate capability: the stream is vstate's BER form
     * (migration/ber-live.h), not QEMU's legacy bytes.  Both ends must set
     * it alike: a destination refuses the other form at its first bytes. */
    bool ber_stream;
    /* The multifd capability and its parameters (multifd.h; QEMU 7.2's
     * defaults: 2 channels, compression none, levels 1 and 1). */
    bool multifd;
    uint8_t multifd_channels;       /* 1..255 */
    uint8_t multifd_compression;    /* a VsMultifdCompression */
    uint8_t multifd_zlib_level;     /* 0..9 */
    uint8_t multifd_zstd_level;     /* 0..20 */
} VsMigParams;

typedef struct VsMigration VsMigration;

/*
 * vs_migration_new:
 * @devices: devices to send / load into; borrowed
 * @ram: RAM blocks; borrowed
 * @tracker: the dirty tracker of @ram; borrowed
 * @ops, @opaque: the guest; borrowed
 * Ownership: a talloc child of @mem_ctx; freeing it cancels and joins a
 * running migration first.
 */
VsMigration *vs_migration_new(TALLOC_CTX *mem_ctx, VsSaveState *devices, VsRamList *ram,
                              VsDirtyTracker *tracker, const VsMigVmOps *ops, void *opaque);

void vs_migration_get_params(VsMigration *m, VsMigParams *ret);
/*
 * Takes effect at once, also in a running migration (auto-converge only
 * when no migration runs: VS_MIGRATE_ERROR_BUSY); out-of-range values give
 * VS_MIGRATE_ERROR_PARAM with QEMU's words.
 */
bool vs_migration_set_params(VsMigration *m, const VsMigParams *p, GError **errp);

/*
 * vs_migration_start: migrate to @uri.  Returns once the state is setup
 * and the migration thread runs; VS_MIGRATE_ERROR_BUSY while one runs.
 */
bool vs_migration_start(VsMigration *m, const char *uri, GError **errp);

/* vs_migration_cancel: QEMU's migrate_cancel; a no-op when nothing runs. */
void vs_migration_cancel(VsMigration *m);

/*
 * vs_migration_incoming: become the destination and listen on @uri; returns
 * once listening (the load runs in a thread).
 */
bool vs_migration_incoming(VsMigration *m, const char *uri, GError **errp);

/* The address the destination listens on (real port for tcp:...:0), or NULL. */
char *vs_migration_incoming_address(VsMigration *m);

/*
 * vs_migration_received_digest: the digest (vs_ram_digest()) of the device
 * sections' bytes as the last incoming migration received them, in stream
 * order, re-encoded from the values loaded before any post_load hook ran;
 * false when no incoming migration completed.
 */
bool vs_migration_received_digest(VsMigration *m, uint64_t *ret);

/*
 * vs_migration_device_sections: the device state of the last completed
 * migration, either way, as a stream of its own that the stream tools read
 * (header, configuration, the FULL sections, EOF, vmdesc trailer; no RAM).
 * On a source: the sections exactly as sent at the switchover.  On a
 * destination: each section re-encoded from the values its load put into
 * the device, before post_load hooks ran (they re-base clock fields on this
 * side's clock), framed as it came.  The two are equal byte for byte when
 * the destination holds what the source sent.
 * Returns: false when the last migration did not get as far as its device
 * sections (or none ran); else a copy under @mem_ctx.
 */
bool vs_migration_device_sections(VsMigration *m, TALLOC_CTX *mem_ctx, uint8_t **ret_data,
                                  size_t *ret_len);

/* The postcopy side of @m (postcopy.h): recovery, the fallback accessor. */
struct VsPostcopy *vs_migration_postcopy(VsMigration *m);

/* The state of the migration in either direction (query-migrate). */
void vs_migration_query(VsMigration *m, VsMigInfo *ret);

/*
 * vs_migration_wait: wait until no migration runs, at most @timeout_us
 * (negative: forever).  Returns the state then.
 */
VsMigStatus vs_migration_wait(VsMigration *m, int64_t timeout_us);

G_END_DECLS

#endif /* VSTATE_MIGRATION_MIGRATE_H */
