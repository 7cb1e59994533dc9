/*
 * vm.h: the demo VM: named RAM blocks as a PC has them, devices, a
 * guest-like workload that dirties memory, and live migration of it all.
 *
 * SPDX-License-Identifier: MIT
 *
 * Theory of operation
 * ===================
 *
 * A VsVm is what `vstate vm` runs.  It owns:
 *
 *   - RAM blocks named as QEMU names a PC's (pc.ram of the size asked,
 *     0000:00:02.0/vga.vram, pc.bios, pc.rom and the fw_cfg ROM blobs),
 *     anonymous memory filled at start with zeros, random bytes or a
 *     pattern;
 *   - the devices of the board (vm/board.c), each registered with the
 *     migration core under its (idstr, instance) with its walker;
 *   - a workload thread that, while the guest runs, writes pages at a rate
 *     and in a pattern (random, sequential, or a hot set) and drives the
 *     devices (timer ticks, interrupt lines), so RAM and device state change;
 *   - a dirty tracker (the kernel's userfaultfd tracking where it works,
 *     else explicit marks by the workload) and a VsMigration.
 *
 * Run states follow QEMU's names: "running", "paused", "prelaunch"
 * (started paused), "inmigrate" (waiting for an incoming migration),
 * "postmigrate" (after migrating out).
 *
 *     VsVmConfig cfg = VS_VM_CONFIG_INIT;
 *     cfg.ram_size = 64 << 20;
 *     cfg.dirty_rate = 50 << 20;
 *     VsVm *vm = vs_vm_new(ctx, &cfg, errp);
 *     vs_vm_cont(vm);
 *     vs_migration_start(vs_vm_migration(vm), "tcp:127.0.0.1:4444", errp);
 */
#ifndef VSTATE_VM_VM_H
#define VSTATE_VM_VM_H

#include "migration/migrate.h"

G_BEGIN_DECLS

#define VS_VM_ERROR (vs_vm_error_quark())
GQuark vs_vm_error_quark(void);

typedef enum VsVmError {
    VS_VM_ERROR_CONFIG,        /* a bad size, option or combination */
    VS_VM_ERROR_RESOURCE,      /* memory could not be mapped */
    VS_VM_ERROR_STATE,         /* not possible in the current run state */
    VS_VM_ERROR__MAX,
} VsVmError;

typedef enum VsVmFill {
    VS_VM_FILL_ZERO,
    VS_VM_FILL_RANDOM,
    VS_VM_FILL_PATTERN,
} VsVmFill;

typedef enum VsVmPattern {
    VS_VM_PATTERN_RANDOM,
    VS_VM_PATTERN_SEQUENTIAL,
    VS_VM_PATTERN_HOT,
} VsVmPattern;

typedef enum VsVmDirty {
    VS_VM_DIRTY_AUTO,          /* the kernel's tracker where it works, else explicit */
    VS_VM_DIRTY_EXPLICIT,
    VS_VM_DIRTY_UFFD,
} VsVmDirty;

typedef enum VsVmRunState {
    VS_VM_RUNNING,
    VS_VM_PAUSED,
    VS_VM_PRELAUNCH,
    VS_VM_INMIGRATE,
    VS_VM_POSTMIGRATE,
} VsVmRunState;

typedef struct VsVmConfig {
    uint64_t ram_size;         /* pc.ram bytes, a multiple of 4 KiB */
    VsVmFill fill;
    uint64_t seed;             /* random fill and workload */
    uint64_t dirty_rate;       /* bytes of pages dirtied per second; 0: no workload */
    VsVmPattern pattern;
    VsVmDirty dirty;
    bool paused;               /* -S: stay paused, also after an incoming migration */
    bool incoming;             /* start in "inmigrate" */
    bool no_demo_device;       /* leave out the devices QEMU does not know: vsdemo, bootp, ring */
} VsVmConfig;

#define VS_VM_CONFIG_INIT { .ram_size = 128ull << 20, .seed = 1 }

typedef struct VsVm VsVm;

VsVm *vs_vm_new(TALLOC_CTX *mem_ctx, const VsVmConfig *cfg, GError **errp);

VsMigration *vs_vm_migration(VsVm *vm);
VsRamList *vs_vm_ram(VsVm *vm);
VsSaveState *vs_vm_devices(VsVm *vm);
/* Which dirty tracker is used, and why when it is not the kernel's. */
const char *vs_vm_tracker_name(VsVm *vm);
const char *vs_vm_tracker_note(VsVm *vm);

VsVmRunState vs_vm_run_state(VsVm *vm);
/* QEMU's RunState spelling of @state. */
const char *vs_vm_run_state_name(VsVmRunState state);
bool vs_vm_is_running(VsVm *vm);
/* QEMU's cont: run (or, while inmigrate, run once the migration is in). */
bool vs_vm_cont(VsVm *vm, GError **errp);
/* QEMU's stop: the workload parks; returns once it did. */
void vs_vm_stop(VsVm *vm);

/* Start listening for an incoming migration (needs run state inmigrate). */
bool vs_vm_incoming(VsVm *vm, const char *uri, GError **errp);

/*
 * vs_vm_replay_workload: apply the first @writes writes of the workload a
 * VM with @cfg runs (write number v stores the 64-bit value v) to
 * @pc_ram, @cfg->ram_size bytes; to check what a snapshot holds.
 */
void vs_vm_replay_workload(const VsVmConfig *cfg, uint64_t writes, uint8_t *pc_ram);

/* Pages the workload wrote so far (= the value of its last write). */
uint64_t vs_vm_pages_written(VsVm *vm);

/*
 * vs_vm_block_digest: a 64-bit digest of a RAM block's bytes (not
 * cryptographic; for checking that two VMs hold the same memory).
 */
uint64_t vs_vm_block_digest(VsVm *vm, size_t block);
/*
 * vs_vm_device_digest: a digest of the devices' state as migrated: after
 * an incoming migration, while the guest has not run since, the bytes the
 * destination received (before post_load hooks); otherwise the devices'
 * legacy bytes saved now with hooks off (on a source stopped by a
 * migration: what it sent).
 */
uint64_t vs_vm_device_digest(VsVm *vm);

/*
 * vs_vm_save_devices: write the device state at the last migration's
 * switchover to @path as a stream `vstate diff` and the other stream tools
 * read (no RAM): on a source, the device sections exactly as sent; on a
 * destination, as loaded (see vs_migration_device_sections()).  Fails
 * (VS_VM_ERROR_STATE) when no migration got that far.
 */
bool vs_vm_save_devices(VsVm *vm, const char *path, GError **errp);

/*
 * vs_vm_describe: one line per RAM block and device with its digest
 * ("ram pc.ram 67108864 3f2a..."; "device i8259 0 91be..."); the guest
 * must be stopped.  g_free() the result.
 */
char *vs_vm_describe(VsVm *vm);

G_END_DECLS

#endif /* VSTATE_VM_VM_H */
