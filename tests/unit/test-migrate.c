/*
 * test-migrate.c: live migration between two demo VMs in one process,
 * over real transports: every channel kind, with and without a workload,
 * cancel in setup/active/device, a destination that goes away, a source
 * that goes away, the bandwidth cap, the downtime limit, migrating again.
 *
 * SPDX-License-Identifier: MIT
 *
 * After every completed migration the destination's RAM (a digest per
 * block) and device state equal the source's, which stays stopped at the
 * switchover point.  RAM is kept small (64 MiB) for the default suite.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "test-helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "migration/channel.h"
#include "tests/unit/migrate-helpers.h"
#include "vm/vm.h"

#define MiB (1024ull * 1024)
#define RAM_SIZE (64 * MiB)

static VsVm *new_vm(void **state, bool incoming, VsVmFill fill, uint64_t dirty_rate,
                    VsVmDirty dirty)
{
    VsVmConfig cfg = VS_VM_CONFIG_INIT;
    GError *err = NULL;
    VsVm *vm;

    cfg.ram_size = RAM_SIZE;
    cfg.fill = fill;
    cfg.dirty_rate = dirty_rate;
    cfg.incoming = incoming;
    cfg.dirty = dirty;
    /* A destination stays stopped, so its state is the switchover state. */
    cfg.paused = incoming;
    cfg.seed = incoming ? 99 : 7;
    vm = vs_vm_new(*state, &cfg, &err);
    if (!vm) {
        print_error("%s\n", err->message);
    }
    assert_non_null(vm);
    if (!incoming) {
        assert_true(vs_vm_cont(vm, &err));
    }
    return vm;
}

static void set_params(VsVm *vm, uint64_t bw, uint64_t downtime)
{
    GError *err = NULL;
    VsMigParams p;

    vs_migration_get_params(vs_vm_migration(vm), &p);
    p.max_bandwidth = bw;
    p.downtime_limit = downtime;
    assert_true(vs_migration_set_params(vs_vm_migration(vm), &p, &err));
}

/* Source to destination over @dst_uri/@src_uri (src_uri NULL: the listener's address). */
static void migrate_pair(void **state, const char *dst_uri, const char *src_uri,
                         uint64_t dirty_rate, VsVmDirty dirty)
{
    VsVm *src = new_vm(state, false, VS_VM_FILL_RANDOM, dirty_rate, dirty);
    VsVm *dst = new_vm(state, true, VS_VM_FILL_ZERO, 0, VS_VM_DIRTY_AUTO);
    GError *err = NULL;
    g_autofree char *addr = NULL;
    VsMigInfo si, di;

    set_params(src, 0, 300);
    assert_true(vs_vm_incoming(dst, dst_uri, &err));
    addr = vs_migration_incoming_address(vs_vm_migration(dst));
    assert_true(vs_migration_start(vs_vm_migration(src), src_uri ? src_uri : addr, &err));
    si = wait_done(src);
    di = wait_done(dst);
    if (si.status != VS_MIG_STATUS_COMPLETED || di.status != VS_MIG_STATUS_COMPLETED) {
        print_error("source %s (%s), destination %s (%s)\n", vs_mig_status_name(si.status),
                    si.error_desc, vs_mig_status_name(di.status), di.error_desc);
        fail();
    }
    /* QEMU's completed figures. */
    assert_true(si.has_ram && si.has_downtime && si.has_total_time && si.has_setup_time);
    assert_int_equal(si.ram.remaining, 0);
    assert_int_equal(si.ram.total, vs_ram_list_total(vs_vm_ram(src)));
    assert_true(si.ram.normal >= RAM_SIZE / VS_RAM_PAGE_SIZE);   /* random pc.ram */
    assert_true(si.ram.duplicate >= 16 * MiB / VS_RAM_PAGE_SIZE);  /* blank vga.vram */
    assert_true(si.ram.dirty_sync_count >= 1);
    assert_int_equal(vs_vm_run_state(src), VS_VM_POSTMIGRATE);
    assert_int_equal(vs_vm_run_state(dst), VS_VM_PAUSED);
    assert_vms_equal(src, dst);
    talloc_free(dst);
    talloc_free(src);
}

static void test_migrate_tcp(void **state)
{
    migrate_pair(state, "tcp:127.0.0.1:0", NULL, 0, VS_VM_DIRTY_AUTO);
}

static void test_migrate_tcp_workload(void **state)
{
    migrate_pair(state, "tcp:127.0.0.1:0", NULL, 100 * MiB, VS_VM_DIRTY_AUTO);
}

static void test_migrate_tcp_workload_explicit(void **state)
{
    migrate_pair(state, "tcp:127.0.0.1:0", NULL, 100 * MiB, VS_VM_DIRTY_EXPLICIT);
}

static void test_migrate_unix_workload(void **state)
{
    g_autofree char *uri = g_strdup_printf("unix:%s/mig.sock", tmpdir);

    migrate_pair(state, uri, NULL, 50 * MiB, VS_VM_DIRTY_AUTO);
}

/* fd: both ends of a socketpair, as a management layer passes them. */
static void test_migrate_fd(void **state)
{
    int sv[2];
    g_autofree char *src_uri = NULL, *dst_uri = NULL;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    src_uri = g_strdup_printf("fd:%d", sv[0]);
    dst_uri = g_strdup_printf("fd:%d", sv[1]);
    migrate_pair(state, dst_uri, src_uri, 20 * MiB, VS_VM_DIRTY_AUTO);
}

/* file: and exec: run one after the other: save to a file, then load it. */
static void migrate_via_file(void **state, const char *save_uri, const char *load_uri)
{
    VsVm *src = new_vm(state, false, VS_VM_FILL_PATTERN, 30 * MiB, VS_VM_DIRTY_AUTO);
    VsVm *dst;
    GError *err = NULL;
    VsMigInfo si, di;

    set_params(src, 0, 300);
    assert_true(vs_migration_start(vs_vm_migration(src), save_uri, &err));
    si = wait_done(src);
    assert_int_equal(si.status, VS_MIG_STATUS_COMPLETED);
    dst = new_vm(state, true, VS_VM_FILL_ZERO, 0, VS_VM_DIRTY_AUTO);
    assert_true(vs_vm_incoming(dst, load_uri, &err));
    di = wait_done(dst);
    if (di.status != VS_MIG_STATUS_COMPLETED) {
        print_error("destination: %s\n", di.error_desc);
        fail();
    }
    assert_vms_equal(src, dst);
    talloc_free(dst);
    talloc_free(src);
}

static void test_migrate_file(void **state)
{
    g_autofree char *uri = g_strdup_printf("file:%s/vm.bin", tmpdir);

    migrate_via_file(state, uri, uri);
}

static void test_migrate_exec(void **state)
{
    g_autofree char *save = g_strdup_printf("exec:cat > '%s/exec.bin'", tmpdir);
    g_autofree char *load = g_strdup_printf("exec:cat '%s/exec.bin'", tmpdir);

    migrate_via_file(state, save, load);
}

/* After a completed migration the stopped VM migrates again; migrate shows setup at once. */
static void test_migrate_again(void **state)
{
    VsVm *src = new_vm(state, false, VS_VM_FILL_RANDOM, 0, VS_VM_DIRTY_AUTO);
    g_autofree char *f1 = g_strdup_printf("file:%s/a.bin", tmpdir);
    g_autofree char *f2 = g_strdup_printf("file:%s/b.bin", tmpdir);
    GError *err = NULL;
    VsMigInfo info;

    set_params(src, 0, 300);
    assert_true(vs_migration_start(vs_vm_migration(src), f1, &err));
    assert_int_equal(wait_done(src).status, VS_MIG_STATUS_COMPLETED);
    assert_true(vs_migration_start(vs_vm_migration(src), f2, &err));
    vs_migration_query(vs_vm_migration(src), &info);
    /* Never the previous migration's "completed". */
    assert_true(info.status != VS_MIG_STATUS_COMPLETED || info.total_time < 1000);
    assert_int_equal(wait_done(src).status, VS_MIG_STATUS_COMPLETED);
    talloc_free(src);
}

/* The board's devices change while the guest runs (timer and RTC interrupts). */
static void test_migrate_devices_tick(void **state)
{
    VsVm *vm = new_vm(state, false, VS_VM_FILL_ZERO, 0, VS_VM_DIRTY_AUTO);
    GError *err = NULL;
    uint64_t before, after;

    vs_vm_stop(vm);
    before = vs_vm_device_digest(vm);
    assert_true(vs_vm_device_digest(vm) == before);   /* stopped: stable */
    assert_true(vs_vm_cont(vm, &err));
    g_usleep(100 * 1000);
    vs_vm_stop(vm);
    after = vs_vm_device_digest(vm);
    assert_true(before != after);
    talloc_free(vm);
}

/* ---- cancel ---------------------------------------------------------------------- */

/* A destination that reads at about @rate bytes/s, then (at @limit) stops. */
typedef struct SlowSink {
    VsChannelListener *l;
    uint64_t rate;
    uint64_t limit;            /* close after this many bytes; 0: read to the end */
    uint64_t got;
    GThread *thread;
} SlowSink;

static gpointer sink_main(gpointer opaque)
{
    SlowSink *s = opaque;
    TALLOC_CTX *ctx = talloc_new(NULL);
    VsChannel *ch = vs_channel_accept(s->l, ctx, NULL);
    uint8_t buf[64 * 1024];

    while (ch) {
        size_t n = vs_qemufile_get_buffer(vs_channel_file(ch), buf, sizeof(buf));

        s->got += n;
        if (n < sizeof(buf) || (s->limit && s->got >= s->limit)) {
            break;
        }
        if (s->rate) {
            g_usleep((gulong)(sizeof(buf) * 1000000ull / s->rate));
        }
    }
    talloc_free(ctx);   /* closes the connection */
    return NULL;
}

static SlowSink *sink_new(void **state, uint64_t rate, uint64_t limit)
{
    SlowSink *s = talloc_zero(*state, SlowSink);
    GError *err = NULL;

    s->rate = rate;
    s->limit = limit;
    s->l = vs_channel_listen(s, "tcp:127.0.0.1:0", &err);
    assert_non_null(s->l);
    s->thread = g_thread_new("sink", sink_main, s);
    return s;
}

static void sink_free(SlowSink *s)
{
    vs_channel_listener_abort(s->l);
    g_thread_join(s->thread);
    talloc_free(s);
}

/* Cancelled: the source runs on and its workload keeps writing. */
static void assert_cancelled_and_running(VsVm *src)
{
    VsMigInfo info = wait_done(src);
    uint64_t before;

    assert_int_equal(info.status, VS_MIG_STATUS_CANCELLED);
    assert_false(info.has_ram);
    assert_int_equal(vs_vm_run_state(src), VS_VM_RUNNING);
    before = vs_vm_pages_written(src);
    g_usleep(100 * 1000);
    assert_true(vs_vm_pages_written(src) > before);
}

static void test_migrate_cancel_setup(void **state)
{
    VsVm *src = new_vm(state, false, VS_VM_FILL_ZERO, 20 * MiB, VS_VM_DIRTY_AUTO);
    SlowSink *sink = sink_new(state, 1 * MiB, 0);
    GError *err = NULL;
    VsMigInfo info;

    assert_true(vs_migration_start(vs_vm_migration(src), vs_channel_listener_address(sink->l),
                                   &err));
    vs_migration_query(vs_vm_migration(src), &info);
    assert_true(info.status == VS_MIG_STATUS_SETUP || info.status == VS_MIG_STATUS_ACTIVE);
    vs_migration_cancel(vs_vm_migration(src));
    assert_cancelled_and_running(src);
    sink_free(sink);
    talloc_free(src);
}

static void test_migrate_cancel_active(void **state)
{
    VsVm *src = new_vm(state, false, VS_VM_FILL_RANDOM, 20 * MiB, VS_VM_DIRTY_AUTO);
    SlowSink *sink = sink_new(state, 0, 0);
    GError *err = NULL;
    VsMigInfo info;

    set_params(src, 16 * MiB, 300);   /* 64 MiB take seconds: still active below */
    assert_true(vs_migration_start(vs_vm_migration(src), vs_channel_listener_address(sink->l),
                                   &err));
    assert_true(wait_status(src, VS_MIG_STATUS_ACTIVE));
    g_usleep(200 * 1000);
    vs_migration_query(vs_vm_migration(src), &info);
    assert_int_equal(info.status, VS_MIG_STATUS_ACTIVE);
    assert_true(info.has_ram && info.ram.transferred > 0 && info.ram.remaining > 0);
    vs_migration_cancel(vs_vm_migration(src));
    assert_cancelled_and_running(src);
    sink_free(sink);
    talloc_free(src);
}

/*
 * The device phase lasts while the rest of RAM goes to a slow reader: a
 * huge downtime-limit makes the source stop the guest after the first
 * bandwidth measurement, with most of RAM still to send.
 */
static void test_migrate_cancel_device(void **state)
{
    VsVm *src = new_vm(state, false, VS_VM_FILL_RANDOM, 20 * MiB, VS_VM_DIRTY_AUTO);
    SlowSink *sink = sink_new(state, 32 * MiB, 0);
    GError *err = NULL;

    set_params(src, 0, 2000000);
    assert_true(vs_migration_start(vs_vm_migration(src), vs_channel_listener_address(sink->l),
                                   &err));
    assert_true(wait_status(src, VS_MIG_STATUS_DEVICE));
    assert_int_equal(vs_vm_run_state(src), VS_VM_POSTMIGRATE);
    vs_migration_cancel(vs_vm_migration(src));
    assert_cancelled_and_running(src);
    sink_free(sink);
    talloc_free(src);
}

/* ---- peers that go away -------------------------------------------------------------- */

static void test_migrate_fail_destination_gone(void **state)
{
    VsVm *src = new_vm(state, false, VS_VM_FILL_RANDOM, 20 * MiB, VS_VM_DIRTY_AUTO);
    SlowSink *sink = sink_new(state, 0, 2 * MiB);   /* hangs up after 2 MiB */
    GError *err = NULL;
    VsMigInfo info;

    set_params(src, 64 * MiB, 300);
    assert_true(vs_migration_start(vs_vm_migration(src), vs_channel_listener_address(sink->l),
                                   &err));
    info = wait_done(src);
    assert_int_equal(info.status, VS_MIG_STATUS_FAILED);
    assert_true(info.has_error_desc);
    if (!strstr(info.error_desc, "Broken pipe") && !strstr(info.error_desc, "reset")) {
        print_error("error-desc: %s\n", info.error_desc);
        fail();
    }
    /* Nothing lost on the source. */
    assert_int_equal(vs_vm_run_state(src), VS_VM_RUNNING);
    sink_free(sink);
    talloc_free(src);
}

static void test_migrate_fail_source_gone(void **state)
{
    VsVm *src = new_vm(state, false, VS_VM_FILL_RANDOM, 0, VS_VM_DIRTY_AUTO);
    VsVm *dst = new_vm(state, true, VS_VM_FILL_ZERO, 0, VS_VM_DIRTY_AUTO);
    GError *err = NULL;
    g_autofree char *addr = NULL;
    VsMigInfo di;

    set_params(src, 16 * MiB, 300);
    assert_true(vs_vm_incoming(dst, "tcp:127.0.0.1:0", &err));
    addr = vs_migration_incoming_address(vs_vm_migration(dst));
    assert_true(vs_migration_start(vs_vm_migration(src), addr, &err));
    assert_true(wait_status(dst, VS_MIG_STATUS_ACTIVE));
    g_usleep(200 * 1000);
    /* The source process is gone: its end of the connection closes. */
    talloc_free(src);
    di = wait_done(dst);
    assert_int_equal(di.status, VS_MIG_STATUS_FAILED);
    assert_true(di.has_error_desc);
    if (!strstr(di.error_desc, "load of migration failed: ") ||
        !strstr(di.error_desc, "unexpected end of stream")) {
        print_error("error-desc: %s\n", di.error_desc);
        fail();
    }
    talloc_free(dst);
}

static void test_migrate_fail_wrong_machine(void **state)
{
    VsVm *dst = new_vm(state, true, VS_VM_FILL_ZERO, 0, VS_VM_DIRTY_AUTO);
    GError *err = NULL;
    g_autofree char *addr = NULL;
    TALLOC_CTX *ctx = talloc_new(NULL);
    VsChannel *ch;
    VsQemuFile *f;
    VsMigInfo di;

    assert_true(vs_vm_incoming(dst, "tcp:127.0.0.1:0", &err));
    addr = vs_migration_incoming_address(vs_vm_migration(dst));
    ch = vs_channel_connect(ctx, addr, &err);
    assert_non_null(ch);
    f = vs_channel_file(ch);
    vs_qemufile_put_be32(f, 0x5145564d);
    vs_qemufile_put_be32(f, 3);
    vs_qemufile_put_byte(f, 0x07);
    vs_qemufile_put_be32(f, 10);
    vs_qemufile_put_buffer(f, (const uint8_t *)"pc-q35-7.2", 10);
    assert_true(vs_channel_close(ch, &err));
    di = wait_done(dst);
    assert_int_equal(di.status, VS_MIG_STATUS_FAILED);
    assert_non_null(strstr(di.error_desc,
                           "Machine type received is 'pc-q35-7.2' and local is 'pc-i440fx-7.2'"));
    talloc_free(ctx);
    talloc_free(dst);
}

/* Loads @len bytes of @data as an incoming file: migration; its final info. */
static VsMigInfo load_bytes(void **state, const uint8_t *data, size_t len)
{
    g_autofree char *path = g_strdup_printf("%s/cut.bin", tmpdir);
    g_autofree char *uri = g_strdup_printf("file:%s", path);
    VsVmConfig cfg = VS_VM_CONFIG_INIT;
    GError *err = NULL;
    VsMigInfo info;
    VsVm *dst;

    cfg.ram_size = 64 * 1024;
    cfg.incoming = true;
    cfg.paused = true;
    cfg.dirty = VS_VM_DIRTY_EXPLICIT;
    dst = vs_vm_new(*state, &cfg, &err);
    assert_non_null(dst);
    assert_true(g_file_set_contents(path, (const char *)data, (gssize)len, &err));
    assert_true(vs_vm_incoming(dst, uri, &err));
    info = wait_done(dst);
    talloc_free(dst);
    return info;
}

static size_t find_bytes(const uint8_t *hay, size_t len, const void *needle, size_t n)
{
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(hay + i, needle, n) == 0) {
            return i;
        }
    }
    return len;
}

/*
 * A stream cut at every byte from the first device section on (and at
 * spread points before it) fails cleanly with the reason; cut right after
 * EOF (no trailer) it loads.  A device body cut short names the device
 * and the field.
 */
static void test_migrate_fail_truncated(void **state)
{
    VsVmConfig cfg = VS_VM_CONFIG_INIT;
    g_autofree char *path = g_strdup_printf("%s/whole.bin", tmpdir);
    g_autofree char *uri = g_strdup_printf("file:%s", path);
    static const uint8_t pic_header[] = { 0x05, 'i', '8', '2', '5', '9', 0, 0, 0, 0 };
    GError *err = NULL;
    gchar *data = NULL;
    gsize len = 0;
    size_t devices_at, eof_at = 0;
    bool named_field = false;
    VsVm *src;

    cfg.ram_size = 64 * 1024;
    cfg.fill = VS_VM_FILL_RANDOM;
    src = vs_vm_new(*state, &cfg, &err);
    assert_non_null(src);
    set_params(src, 0, 300);
    assert_true(vs_migration_start(vs_vm_migration(src), uri, &err));
    assert_int_equal(wait_done(src).status, VS_MIG_STATUS_COMPLETED);
    assert_true(g_file_get_contents(path, &data, &len, &err));
    /* The FULL section of i8259 instance 0 starts 5 bytes before its idstr. */
    devices_at = find_bytes((const uint8_t *)data, len, pic_header, sizeof(pic_header)) - 5;
    assert_true(devices_at < len);
    /* EOF is the 0x00 before the trailer "06 be32(n) JSON" that runs to the end. */
    for (size_t p = len - 6; p > devices_at; p--) {
        const uint8_t *b = (const uint8_t *)data + p;

        if (b[0] == 0x06 && ((size_t)b[1] << 24 | (size_t)b[2] << 16 | (size_t)b[3] << 8 | b[4]) ==
                                len - p - 5) {
            eof_at = p - 1;
            break;
        }
    }
    assert_true(eof_at > devices_at);
    for (size_t cut = 0; cut < len;
         cut = cut < devices_at ? MIN(cut + 4099, devices_at) : cut + (cut < eof_at + 8 ? 1 : 97)) {
        VsMigInfo info = load_bytes(state, (const uint8_t *)data, cut);

        if (cut == eof_at + 1) {
            assert_int_equal(info.status, VS_MIG_STATUS_COMPLETED);
            continue;
        }
        assert_int_equal(info.status, VS_MIG_STATUS_FAILED);
        /* A subsection header cut short reads as an absent subsection (as in
         * QEMU); the footer check then names the section. */
        if (!g_str_has_prefix(info.error_desc, "load of migration failed: ") ||
            (!strstr(info.error_desc, "end of stream") && !strstr(info.error_desc, "stream ends") &&
             !strstr(info.error_desc, "Missing section footer for vsdemo"))) {
            print_error("cut at %zu: %s\n", cut, info.error_desc);
            fail();
        }
        if (getenv("VS_TEST_VERBOSE")) {
            print_message("# cut %zu: %s\n", cut, info.error_desc);
        }
        named_field |= strstr(info.error_desc, "of device 'i8259': i8259.") != NULL;
    }
    assert_true(named_field);
    assert_int_equal(load_bytes(state, (const uint8_t *)data, len).status,
                     VS_MIG_STATUS_COMPLETED);
    g_free(data);
    talloc_free(src);
}

/* ---- limits ---------------------------------------------------------------------------- */

static void test_migrate_bandwidth_limit(void **state)
{
    VsVm *src = new_vm(state, false, VS_VM_FILL_RANDOM, 0, VS_VM_DIRTY_AUTO);
    SlowSink *sink = sink_new(state, 0, 0);
    const uint64_t bw = 48 * MiB;
    GError *err = NULL;
    VsMigInfo info;
    double bytes_per_s;

    set_params(src, bw, 300);
    assert_true(vs_migration_start(vs_vm_migration(src), vs_channel_listener_address(sink->l),
                                   &err));
    info = wait_done(src);
    assert_int_equal(info.status, VS_MIG_STATUS_COMPLETED);
    /* The final stage is not capped (as QEMU): count the precopy part only. */
    bytes_per_s = (double)info.ram.precopy_bytes / ((double)(info.total_time - info.downtime) / 1e3);
    print_message("# precopy %.1f MiB/s against a cap of %.1f MiB/s\n", bytes_per_s / MiB,
                  (double)bw / MiB);
    assert_true(bytes_per_s <= (double)bw * 1.10);
    assert_true(bytes_per_s >= (double)bw * 0.5);
    sink_free(sink);
    talloc_free(src);
}

static void test_migrate_downtime_limit(void **state)
{
    VsVm *src = new_vm(state, false, VS_VM_FILL_RANDOM, 100 * MiB, VS_VM_DIRTY_AUTO);
    VsVm *dst = new_vm(state, true, VS_VM_FILL_ZERO, 0, VS_VM_DIRTY_AUTO);
    GError *err = NULL;
    g_autofree char *addr = NULL;
    VsMigInfo si;

    set_params(src, 0, 100);
    assert_true(vs_vm_incoming(dst, "tcp:127.0.0.1:0", &err));
    addr = vs_migration_incoming_address(vs_vm_migration(dst));
    assert_true(vs_migration_start(vs_vm_migration(src), addr, &err));
    si = wait_done(src);
    assert_int_equal(si.status, VS_MIG_STATUS_COMPLETED);
    print_message("# downtime %" PRId64 " ms, limit 100 ms, %" PRIu64 " syncs\n", si.downtime,
                  si.ram.dirty_sync_count);
    /* The stated margin: 150 ms over the limit for scheduling on a shared 2-CPU machine. */
    assert_true(si.downtime <= 100 + 150);
    assert_int_equal(wait_done(dst).status, VS_MIG_STATUS_COMPLETED);
    assert_vms_equal(src, dst);
    talloc_free(dst);
    talloc_free(src);
}

/*
 * A guest dirtying far faster than the cap never converges on its own; with
 * auto-converge it is throttled (reported in query-migrate) and completes.
 */
static void test_migrate_auto_converge(void **state)
{
    VsVmConfig cfg = VS_VM_CONFIG_INIT;
    GError *err = NULL;
    VsMigParams p;
    VsMigInfo info;
    uint64_t max_throttle = 0;
    VsVm *src;

    cfg.ram_size = 16 * MiB;
    cfg.fill = VS_VM_FILL_RANDOM;
    cfg.dirty_rate = 200 * MiB;
    src = vs_vm_new(*state, &cfg, &err);
    assert_non_null(src);
    assert_true(vs_vm_cont(src, &err));
    vs_migration_get_params(vs_vm_migration(src), &p);
    p.max_bandwidth = 16 * MiB;
    p.downtime_limit = 300;
    p.cpu_throttle_initial = 90;
    p.cpu_throttle_increment = 9;
    assert_true(vs_migration_set_params(vs_vm_migration(src), &p, &err));

    /* Without: still copying after several passes. */
    assert_true(vs_migration_start(vs_vm_migration(src), "exec:cat > /dev/null", &err));
    g_usleep(3 * 1000 * 1000);
    vs_migration_query(vs_vm_migration(src), &info);
    assert_int_equal(info.status, VS_MIG_STATUS_ACTIVE);
    assert_true(info.ram.dirty_sync_count >= 2);
    assert_false(info.has_cpu_throttle_percentage);
    vs_migration_cancel(vs_vm_migration(src));
    assert_int_equal(wait_done(src).status, VS_MIG_STATUS_CANCELLED);

    /* With: throttled, then done. */
    p.auto_converge = true;
    assert_true(vs_migration_set_params(vs_vm_migration(src), &p, &err));
    assert_true(vs_migration_start(vs_vm_migration(src), "exec:cat > /dev/null", &err));
    /* The capability cannot change under a running migration, as in QEMU. */
    p.auto_converge = false;
    assert_false(vs_migration_set_params(vs_vm_migration(src), &p, &err));
    assert_gerror(err, VS_MIGRATE_ERROR, VS_MIGRATE_ERROR_BUSY, "There's a migration");
    g_clear_error(&err);
    for (int i = 0; i < 3000; i++) {
        vs_migration_query(vs_vm_migration(src), &info);
        if (info.has_cpu_throttle_percentage) {
            max_throttle = MAX(max_throttle, info.cpu_throttle_percentage);
        }
        if (vs_mig_status_is_idle(info.status)) {
            break;
        }
        g_usleep(10 * 1000);
    }
    print_message("# throttled up to %" PRIu64 " %%, %" PRIu64 " syncs\n", max_throttle,
                  info.ram.dirty_sync_count);
    assert_int_equal(info.status, VS_MIG_STATUS_COMPLETED);
    assert_true(max_throttle >= 90 && max_throttle <= 99);
    assert_false(info.has_cpu_throttle_percentage);
    talloc_free(src);
}

/*
 * background-snapshot: the VM keeps running and writing during the dump,
 * and the file holds RAM exactly as it was at one moment: loaded, pc.ram
 * equals the workload's first M writes replayed on zeroed memory, M being
 * the largest value found (write number v stores v).
 */
static void test_migrate_background_snapshot(void **state)
{
    VsVmConfig cfg = VS_VM_CONFIG_INIT;
    g_autofree char *uri = g_strdup_printf("file:%s/snapshot.bin", tmpdir);
    GError *err = NULL;
    VsMigParams p;
    VsMigInfo info;
    VsVm *src, *dst;
    const VsRamBlock *got;
    uint8_t *want;
    uint64_t max = 0, before, during;

    cfg.ram_size = 64 * MiB;
    cfg.dirty_rate = 100 * MiB;
    src = vs_vm_new(*state, &cfg, &err);
    assert_non_null(src);
    assert_true(vs_vm_cont(src, &err));
    g_usleep(100 * 1000);
    vs_migration_get_params(vs_vm_migration(src), &p);
    p.max_bandwidth = 4 * MiB;   /* seconds of dumping, the guest writing all along */
    p.background_snapshot = true;
    p.auto_converge = true;
    assert_false(vs_migration_set_params(vs_vm_migration(src), &p, &err));
    assert_gerror(err, VS_MIGRATE_ERROR, VS_MIGRATE_ERROR_PARAM,
                  "Background-snapshot is not compatible with auto-converge");
    g_clear_error(&err);
    p.auto_converge = false;
    assert_true(vs_migration_set_params(vs_vm_migration(src), &p, &err));
    before = vs_vm_pages_written(src);
    assert_true(vs_migration_start(vs_vm_migration(src), uri, &err));
    info = wait_done(src);
    during = vs_vm_pages_written(src) - before;
    if (info.status != VS_MIG_STATUS_COMPLETED) {
        print_error("%s\n", info.error_desc);
        fail();
    }
    /* A live dump: the guest ran on, and still runs. */
    print_message("# %" PRIu64 " pages written during the dump of %" PRId64 " ms\n", during,
                  info.total_time);
    assert_true(during > 1000);
    assert_int_equal(vs_vm_run_state(src), VS_VM_RUNNING);

    cfg.incoming = true;
    cfg.paused = true;
    cfg.dirty_rate = 0;
    dst = vs_vm_new(*state, &cfg, &err);
    assert_non_null(dst);
    assert_true(vs_vm_incoming(dst, uri, &err));
    assert_int_equal(wait_done(dst).status, VS_MIG_STATUS_COMPLETED);
    got = vs_ram_list_find(vs_vm_ram(dst), "pc.ram");
    for (size_t i = 0; i < cfg.ram_size; i += 8) {
        uint64_t w;

        memcpy(&w, got->host + i, 8);
        max = MAX(max, w);
    }
    assert_true(max >= before && max < before + during);
    want = g_malloc0(cfg.ram_size);
    vs_vm_replay_workload(&cfg, max, want);
    assert_memory_equal(want, got->host, cfg.ram_size);
    g_free(want);
    talloc_free(dst);
    talloc_free(src);
}

/*
 * A cancel at any moment, also as the migration completes: the state always
 * ends idle (completed or cancelled, never stuck in cancelling), a cancelled
 * source runs, a completed one is stopped, and the next migrate starts.
 */
static void test_migrate_cancel_races(void **state)
{
    VsVmConfig cfg = VS_VM_CONFIG_INIT;
    GError *err = NULL;
    unsigned completed = 0, cancelled = 0;
    VsVm *src;

    cfg.ram_size = 4 * MiB;
    src = vs_vm_new(*state, &cfg, &err);
    assert_non_null(src);
    set_params(src, 0, 300);
    for (int round = 0; round < 60; round++) {
        VsMigInfo info;

        assert_true(vs_vm_cont(src, &err));
        if (!vs_migration_start(vs_vm_migration(src), "exec:cat > /dev/null", &err)) {
            print_error("round %d: %s\n", round, err->message);
            fail();
        }
        g_usleep((gulong)(round % 20) * 500);
        vs_migration_cancel(vs_vm_migration(src));
        info = wait_done(src);
        if (info.status == VS_MIG_STATUS_COMPLETED) {
            completed++;
            assert_int_equal(vs_vm_run_state(src), VS_VM_POSTMIGRATE);
        } else {
            assert_int_equal(info.status, VS_MIG_STATUS_CANCELLED);
            assert_int_equal(vs_vm_run_state(src), VS_VM_RUNNING);
            cancelled++;
        }
    }
    print_message("# %u completed, %u cancelled\n", completed, cancelled);
    assert_true(cancelled > 0);
    talloc_free(src);
}

/* ---- status snapshots -------------------------------------------------------------------- */

/* One per polling thread, so the counts need no lock. */
typedef struct Poller {
    VsVm *vm;
    gint *stop;
    uint64_t replies;
    uint64_t bad;
    bool saw_active;
} Poller;

/* Every reply is one consistent snapshot of its state. */
static gpointer poller_main(gpointer opaque)
{
    Poller *p = opaque;

    while (!g_atomic_int_get(p->stop)) {
        VsMigInfo i;

        vs_migration_query(vs_vm_migration(p->vm), &i);
        p->replies++;
        switch (i.status) {
        case VS_MIG_STATUS_ACTIVE:
        case VS_MIG_STATUS_DEVICE:
            p->saw_active = true;
            p->bad += !i.has_ram || !i.has_total_time || !i.has_expected_downtime ||
                      i.ram.total == 0 || i.has_downtime;
            break;
        case VS_MIG_STATUS_COMPLETED:
            p->bad += !i.has_ram || !i.has_downtime || i.ram.remaining != 0;
            break;
        case VS_MIG_STATUS_SETUP:
        case VS_MIG_STATUS_CANCELLED:
            p->bad += i.has_ram || i.has_downtime;
            break;
        default:
            break;
        }
    }
    return NULL;
}

static void test_migrate_query_snapshots(void **state)
{
    VsVm *src = new_vm(state, false, VS_VM_FILL_RANDOM, 50 * MiB, VS_VM_DIRTY_AUTO);
    gint stop = 0;
    Poller p[2] = { { .vm = src, .stop = &stop }, { .vm = src, .stop = &stop } };
    GThread *t[2];
    GError *err = NULL;

    set_params(src, 0, 300);
    t[0] = g_thread_new("poll0", poller_main, &p[0]);
    t[1] = g_thread_new("poll1", poller_main, &p[1]);
    for (int round = 0; round < 4; round++) {
        g_autofree char *uri = g_strdup_printf("exec:cat > /dev/null");

        if (!vs_migration_start(vs_vm_migration(src), uri, &err)) {
            print_error("round %d: %s\n", round, err->message);
            fail();
        }
        if (round % 2) {
            g_usleep(20 * 1000);
            vs_migration_cancel(vs_vm_migration(src));
        }
        wait_done(src);
        if (vs_vm_run_state(src) != VS_VM_RUNNING) {
            assert_true(vs_vm_cont(src, &err));
        }
    }
    g_atomic_int_set(&stop, 1);
    g_thread_join(t[0]);
    g_thread_join(t[1]);
    print_message("# %" PRIu64 " replies checked\n", p[0].replies + p[1].replies);
    assert_true(p[0].saw_active || p[1].saw_active);
    assert_int_equal(p[0].bad + p[1].bad, 0);
    talloc_free(src);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, vs_test_ctx_setup, vs_test_ctx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_migrate_tcp),
        T(test_migrate_tcp_workload),
        T(test_migrate_tcp_workload_explicit),
        T(test_migrate_unix_workload),
        T(test_migrate_fd),
        T(test_migrate_file),
        T(test_migrate_exec),
        T(test_migrate_again),
        T(test_migrate_devices_tick),
        T(test_migrate_cancel_setup),
        T(test_migrate_cancel_active),
        T(test_migrate_cancel_device),
        T(test_migrate_cancel_races),
        T(test_migrate_fail_destination_gone),
        T(test_migrate_fail_source_gone),
        T(test_migrate_fail_wrong_machine),
        T(test_migrate_fail_truncated),
        T(test_migrate_bandwidth_limit),
        T(test_migrate_downtime_limit),
        T(test_migrate_auto_converge),
        T(test_migrate_background_snapshot),
        T(test_migrate_query_snapshots),
    };
#undef T
    return cmocka_run_group_tests_name("migrate", tests, group_setup, group_teardown);
}
