/*
 * cmd-vm.c: `vstate vm`, the demo VM: RAM, devices, a workload, a QMP
 * monitor, and live migration in and out.
 *
 * SPDX-License-Identifier: MIT
 *
 * QEMU's own spellings are accepted for the options QEMU users type
 * (-m, -S, -qmp unix:PATH,server=on,wait=off, -incoming URI), so their
 * command lines and QMP scripts carry over.  For one-shot use from the
 * shell, --migrate URI starts a migration at once and --once exits when
 * the migration (either way) ends, after printing the final figures and,
 * with --describe, a digest per RAM block and of the devices; --save-devices
 * FILE keeps the device state of the switchover for `vstate diff`.
 */
#include "tools/commands.h"
#include "migration/trace.h"
#include "vm/qmp.h"
#include "vm/vm.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t vm_signalled;

static void vm_on_signal(int sig)
{
    vm_signalled = sig;
}

static int vm_fail(const char *prog, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static int vm_fail(const char *prog, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 2;
}

/* "64M", "1G", "512" (MiB, as QEMU's -m), "200M" for rates: binary units. */
static bool vm_parse_size(const char *s, uint64_t default_unit, uint64_t *ret)
{
    char *end = NULL;
    double v;
    uint64_t unit = default_unit;

    errno = 0;
    v = g_ascii_strtod(s, &end);
    if (errno || end == s || v < 0) {
        return false;
    }
    switch (g_ascii_toupper(*end)) {
    case '\0': break;
    case 'B': unit = 1; end++; break;
    case 'K': unit = 1ull << 10; end++; break;
    case 'M': unit = 1ull << 20; end++; break;
    case 'G': unit = 1ull << 30; end++; break;
    case 'T': unit = 1ull << 40; end++; break;
    default: return false;
    }
    if (*end == 'i' || *end == 'I') {
        end++;
    }
    if (*end == 'B' || *end == 'b') {
        end++;
    }
    if (*end != '\0' || v * (double)unit > 1e18) {
        return false;
    }
    *ret = (uint64_t)(v * (double)unit);
    return true;
}

/* QEMU's single-dash spellings become this command's long options. */
static void vm_qemu_aliases(int argc, char **argv)
{
    static const struct {
        const char *qemu, *ours;
    } aliases[] = {
        { "-qmp", "--qmp" }, { "-incoming", "--incoming" }, { "-S", "--paused" },
    };

    for (int i = 1; i < argc; i++) {
        for (size_t k = 0; k < G_N_ELEMENTS(aliases); k++) {
            if (strcmp(argv[i], aliases[k].qemu) == 0) {
                argv[i] = (char *)aliases[k].ours;
            }
        }
    }
}

static const char *vm_human(double bytes, char buf[32])
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    size_t u = 0;

    while (bytes >= 1024 && u + 1 < G_N_ELEMENTS(units)) {
        bytes /= 1024;
        u++;
    }
    snprintf(buf, 32, "%.1f %s", bytes, units[u]);
    return buf;
}

static void vm_progress(const VsMigInfo *info)
{
    char a[32], b[32];
    const VsMigRamInfo *r = &info->ram;
    double done = r->total ? 1.0 - (double)r->remaining / (double)r->total : 0;
    int width = 30, fill = (int)(done * width);

    fprintf(stderr, "\r%-9s [%.*s%*s] %3.0f%%  sent %s  remaining %s  %.0f Mbit/s  syncs %" PRIu64
            "   ", vs_mig_status_name(info->status), fill,
            "##############################", width - fill, "", done * 100,
            vm_human((double)r->transferred, a), vm_human((double)r->remaining, b), r->mbps,
            r->dirty_sync_count);
    fflush(stderr);
}

static void vm_print_stats(const VsMigInfo *info)
{
    const VsMigRamInfo *r = &info->ram;

    printf("Migration status: %s\n", vs_mig_status_name(info->status));
    if (info->has_error_desc) {
        printf("error: %s\n", info->error_desc);
    }
    if (!info->has_ram) {
        return;
    }
    printf("total time: %" PRId64 " ms\n", info->total_time);
    if (info->has_downtime) {
        printf("downtime: %" PRId64 " ms\n", info->downtime);
    }
    printf("setup: %" PRId64 " ms\n", info->setup_time);
    printf("transferred ram: %" PRIu64 " kbytes\n", r->transferred >> 10);
    printf("throughput: %.2f mbps\n", r->mbps);
    printf("remaining ram: %" PRIu64 " kbytes\n", r->remaining >> 10);
    printf("total ram: %" PRIu64 " kbytes\n", r->total >> 10);
    printf("duplicate: %" PRIu64 " pages\n", r->duplicate);
    printf("normal: %" PRIu64 " pages\n", r->normal);
    printf("normal bytes: %" PRIu64 " kbytes\n", r->normal_bytes >> 10);
    printf("dirty sync count: %" PRIu64 "\n", r->dirty_sync_count);
    printf("pages-per-second: %" PRIu64 "\n", r->pages_per_second);
    printf("downtime ram: %" PRIu64 " kbytes\n", r->downtime_bytes >> 10);
}

typedef struct VmOptions {
    char *ram;
    char *fill;
    char *dirty_rate;
    char *pattern;
    char *tracker;
    char *qmp;
    char *incoming;
    char *migrate;
    char *max_bandwidth;
    char *save_devices;
    gint64 downtime_limit;
    gint64 seed;
    gboolean paused;
    gboolean once;
    gboolean describe;
    gboolean progress;
    gboolean auto_converge;
    gboolean no_demo;
    gboolean snapshot;
    gboolean ber;
    char **trace;
} VmOptions;

static bool vm_pick(const char *prog, const char *what, const char *value,
                    const char *const *names, size_t n, int *ret)
{
    for (size_t i = 0; value && i < n; i++) {
        if (strcmp(value, names[i]) == 0) {
            *ret = (int)i;
            return true;
        }
    }
    if (value) {
        vm_fail(prog, "--%s: '%s' is not one of %s%s%s", what, value, names[0],
                n > 1 ? ", " : "", n > 1 ? names[1] : "");
        return false;
    }
    return true;
}

static bool vm_config(const char *prog, const VmOptions *o, VsVmConfig *cfg)
{
    static const char *const fills[] = { "zero", "random", "pattern" };
    static const char *const patterns[] = { "random", "sequential", "hot" };
    static const char *const trackers[] = { "auto", "explicit", "uffd" };
    int fill = cfg->fill, pattern = cfg->pattern, tracker = cfg->dirty;

    if (o->ram && !vm_parse_size(o->ram, 1ull << 20, &cfg->ram_size)) {
        vm_fail(prog, "--ram: '%s' is not a size (e.g. 64M, 1G)", o->ram);
        return false;
    }
    if (o->dirty_rate && !vm_parse_size(o->dirty_rate, 1, &cfg->dirty_rate)) {
        vm_fail(prog, "--dirty-rate: '%s' is not a rate in bytes per second (e.g. 200M)",
                o->dirty_rate);
        return false;
    }
    if (!vm_pick(prog, "fill", o->fill, fills, 3, &fill) ||
        !vm_pick(prog, "pattern", o->pattern, patterns, 3, &pattern) ||
        !vm_pick(prog, "dirty-tracker", o->tracker, trackers, 3, &tracker)) {
        return false;
    }
    cfg->fill = (VsVmFill)fill;
    cfg->pattern = (VsVmPattern)pattern;
    cfg->dirty = (VsVmDirty)tracker;
    cfg->seed = (uint64_t)o->seed;
    cfg->incoming = o->incoming != NULL;
    cfg->no_demo_device = o->no_demo;
    /* One-shot destinations stay stopped, so what they print is the switchover state. */
    cfg->paused = o->paused || (o->once && o->incoming);
    return true;
}

static bool vm_set_params(const char *prog, VsVm *vm, const VmOptions *o)
{
    g_autoptr(GError) err = NULL;
    VsMigParams p;

    vs_migration_get_params(vs_vm_migration(vm), &p);
    if (o->max_bandwidth && !vm_parse_size(o->max_bandwidth, 1, &p.max_bandwidth)) {
        vm_fail(prog, "--max-bandwidth: '%s' is not a rate (e.g. 1G, 0 for unlimited)",
                o->max_bandwidth);
        return false;
    }
    if (o->downtime_limit >= 0) {
        p.downtime_limit = (uint64_t)o->downtime_limit;
    }
    p.auto_converge = p.auto_converge || o->auto_converge;
    p.background_snapshot = p.background_snapshot || o->snapshot;
    p.ber_stream = p.ber_stream || o->ber;
    if (!vs_migration_set_params(vs_vm_migration(vm), &p, &err)) {
        vm_fail(prog, "%s", err->message);
        return false;
    }
    return true;
}

/* Runs until quit, a signal, or (--once) the end of the migration. */
static int vm_main_loop(const char *prog, VsVm *vm, VsQmpServer *qmp, const VmOptions *o)
{
    bool show = o->progress && isatty(STDERR_FILENO);
    bool started = false;
    VsMigInfo info;

    for (;;) {
        g_usleep(50 * 1000);
        vs_migration_query(vs_vm_migration(vm), &info);
        if (info.has_status) {
            started = true;
        }
        if (show && info.has_ram && !vs_mig_status_is_idle(info.status)) {
            vm_progress(&info);
        }
        if (o->incoming && info.status == VS_MIG_STATUS_FAILED) {
            /* As QEMU: a destination whose load failed exits. */
            fprintf(stderr, "%s%s: %s\n", show ? "\n" : "", prog, info.error_desc);
            return 1;
        }
        if (o->once && started && vs_mig_status_is_idle(info.status)) {
            break;
        }
        if (vm_signalled || (qmp && vs_qmp_server_quit_requested(qmp))) {
            return 0;
        }
    }
    if (show) {
        /* The last frame: the final status and figures, not the last poll's. */
        if (info.has_ram) {
            vm_progress(&info);
        }
        fputc('\n', stderr);
    }
    if (!o->incoming) {
        vm_print_stats(&info);
    } else {
        printf("Migration status: %s\n", vs_mig_status_name(info.status));
    }
    if (o->describe) {
        g_autofree char *d = vs_vm_describe(vm);

        fputs(d, stdout);
    }
    fflush(stdout);
    if (o->save_devices && info.status == VS_MIG_STATUS_COMPLETED) {
        g_autoptr(GError) err = NULL;

        if (!vs_vm_save_devices(vm, o->save_devices, &err)) {
            fprintf(stderr, "%s: --save-devices: %s\n", prog, err->message);
            return 1;
        }
    }
    return info.status == VS_MIG_STATUS_COMPLETED ? 0 : 1;
}

int vs_cmd_vm(const char *prog, int argc, char **argv)
{
    VmOptions o = { .downtime_limit = -1, .seed = 1 };
    GOptionEntry entries[] = {
        { "ram", 'm', 0, G_OPTION_ARG_STRING, &o.ram, "pc.ram size (default 128M; a bare number is MiB, as QEMU's -m)", "SIZE" },
        { "fill", 0, 0, G_OPTION_ARG_STRING, &o.fill, "initial RAM content: zero (default), random, pattern", "HOW" },
        { "dirty-rate", 0, 0, G_OPTION_ARG_STRING, &o.dirty_rate, "workload: bytes of pages dirtied per second, e.g. 200M (default: no workload)", "RATE" },
        { "pattern", 0, 0, G_OPTION_ARG_STRING, &o.pattern, "workload pattern: random (default), sequential, hot", "P" },
        { "dirty-tracker", 0, 0, G_OPTION_ARG_STRING, &o.tracker, "auto (default: userfaultfd where it works), explicit, uffd", "T" },
        { "seed", 0, 0, G_OPTION_ARG_INT64, &o.seed, "random fill and workload seed (default 1)", "N" },
        { "qmp", 0, 0, G_OPTION_ARG_STRING, &o.qmp, "QMP monitor socket: unix:PATH (QEMU: -qmp unix:PATH,server=on,wait=off)", "SPEC" },
        { "incoming", 0, 0, G_OPTION_ARG_STRING, &o.incoming, "wait for a migration on URI, or 'defer' for QMP migrate-incoming", "URI" },
        { "paused", 0, 0, G_OPTION_ARG_NONE, &o.paused, "do not run the guest until 'cont' (QEMU: -S)", NULL },
        { "migrate", 0, 0, G_OPTION_ARG_STRING, &o.migrate, "migrate to URI at once", "URI" },
        { "max-bandwidth", 0, 0, G_OPTION_ARG_STRING, &o.max_bandwidth, "migration bandwidth cap in bytes/s (default 128M, 0: none)", "RATE" },
        { "downtime-limit", 0, 0, G_OPTION_ARG_INT64, &o.downtime_limit, "migration downtime limit in ms (default 300)", "MS" },
        { "auto-converge", 0, 0, G_OPTION_ARG_NONE, &o.auto_converge, "throttle the guest when it dirties memory faster than it is sent", NULL },
        { "background-snapshot", 0, 0, G_OPTION_ARG_NONE, &o.snapshot, "--migrate saves the state of the moment it starts while the guest runs on (a live dump)", NULL },
        { "ber", 0, 0, G_OPTION_ARG_NONE, &o.ber, "migrate in vstate's BER stream form (capability x-vstate-ber); set it on both ends", NULL },
        { "no-demo-device", 0, 0, G_OPTION_ARG_NONE, &o.no_demo, "leave out the devices QEMU 7.2 does not know (vsdemo, bootp, ring), to migrate into QEMU", NULL },
        { "trace", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.trace, "print the trace events matching PATTERN on stderr (repeatable; -PATTERN disables)", "PATTERN" },
        { "once", 0, 0, G_OPTION_ARG_NONE, &o.once, "exit when the migration ends (status 0 when completed)", NULL },
        { "describe", 0, 0, G_OPTION_ARG_NONE, &o.describe, "with --once: print a digest per RAM block and of the devices", NULL },
        { "save-devices", 0, 0, G_OPTION_ARG_FILENAME, &o.save_devices, "with --once: write the device state at the switchover (as sent, or as loaded) to FILE, a stream for 'vstate diff'", "FILE" },
        { "progress", 0, 0, G_OPTION_ARG_NONE, &o.progress, "show a progress bar on a terminal", NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) oc = g_option_context_new("- run the demo VM");
    g_autoptr(GError) err = NULL;
    TALLOC_CTX *ctx = talloc_new(NULL);
    VsVmConfig cfg = VS_VM_CONFIG_INIT;
    VsQmpServer *qmp = NULL;
    VsVm *vm;
    int rc = 2;

    vm_qemu_aliases(argc, argv);
    g_option_context_add_main_entries(oc, entries, NULL);
    if (!g_option_context_parse(oc, &argc, &argv, &err)) {
        rc = vm_fail(prog, "%s", err->message);
        goto out;
    }
    if (argc > 1) {
        rc = vm_fail(prog, "unexpected argument '%s'", argv[1]);
        goto out;
    }
    if (o.migrate && o.incoming) {
        rc = vm_fail(prog, "--migrate and --incoming exclude each other");
        goto out;
    }
    if (o.save_devices && !o.once) {
        rc = vm_fail(prog, "--save-devices needs --once");
        goto out;
    }
    if (!vm_config(prog, &o, &cfg)) {
        goto out;
    }
    for (char **t = o.trace; t && *t; t++) {
        if (!vs_trace_enable(*t, &err)) {
            rc = vm_fail(prog, "--trace: %s", err->message);
            goto out;
        }
    }
    signal(SIGINT, vm_on_signal);
    signal(SIGTERM, vm_on_signal);
    vm = vs_vm_new(ctx, &cfg, &err);
    if (!vm) {
        rc = vm_fail(prog, "%s", err->message);
        goto out;
    }
    fprintf(stderr, "%s: %s RAM in %zu blocks, dirty tracking: %s%s%s%s\n", prog,
            o.ram ? o.ram : "128M", vs_ram_list_count(vs_vm_ram(vm)), vs_vm_tracker_name(vm),
            vs_vm_tracker_note(vm) ? " (" : "", vs_vm_tracker_note(vm) ? vs_vm_tracker_note(vm) : "",
            vs_vm_tracker_note(vm) ? ")" : "");
    if (!vm_set_params(prog, vm, &o)) {
        goto out;
    }
    if (o.qmp && !(qmp = vs_qmp_server_new(ctx, vm, o.qmp, &err))) {
        rc = vm_fail(prog, "%s", err->message);
        goto out;
    }
    if (o.incoming && strcmp(o.incoming, "defer") != 0) {
        g_autofree char *addr = NULL;

        if (!vs_vm_incoming(vm, o.incoming, &err)) {
            rc = vm_fail(prog, "%s", err->message);
            goto out;
        }
        addr = vs_migration_incoming_address(vs_vm_migration(vm));
        printf("listening on %s\n", addr ? addr : o.incoming);
        fflush(stdout);
    }
    if (!o.incoming && !o.paused && !vs_vm_cont(vm, &err)) {
        rc = vm_fail(prog, "%s", err->message);
        goto out;
    }
    if (o.migrate && !vs_migration_start(vs_vm_migration(vm), o.migrate, &err)) {
        rc = vm_fail(prog, "%s", err->message);
        goto out;
    }
    rc = vm_main_loop(prog, vm, qmp, &o);
out:
    talloc_free(ctx);
    g_free(o.ram);
    g_free(o.fill);
    g_free(o.dirty_rate);
    g_free(o.pattern);
    g_free(o.tracker);
    g_free(o.qmp);
    g_free(o.incoming);
    g_free(o.migrate);
    g_free(o.max_bandwidth);
    g_free(o.save_devices);
    g_strfreev(o.trace);
    return rc;
}
