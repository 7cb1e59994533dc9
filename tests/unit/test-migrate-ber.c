/*
 * test-migrate-ber.c: live migrations in vstate's BER stream form (the
 * x-vstate-ber capability): over tcp and unix, with and without a
 * workload, captured to a file that the stream tools' loader reads, its
 * figures, cancel, both ends set differently, and destinations fed cut or
 * corrupted BER streams.
 *
 * SPDX-License-Identifier: MIT
 *
 * After every completed migration the destination's RAM (a digest per
 * block) and device state (the bytes it loaded, re-encoded) equal the
 * source's.  RAM is small (64 MiB, 64 KiB for the cut streams).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "test-helpers.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "migration/channel.h"
#include "migration/stream-input.h"
#include "tests/unit/migrate-helpers.h"
#include "vm/vm.h"

#define MiB (1024ull * 1024)
#define RAM_SIZE (64 * MiB)
#define SMALL_RAM (64 * 1024)

static void set_ber(VsVm *vm, bool on, uint64_t bw, uint64_t downtime)
{
    GError *err = NULL;
    VsMigParams p;

    vs_migration_get_params(vs_vm_migration(vm), &p);
    p.ber_stream = on;
    p.max_bandwidth = bw;
    p.downtime_limit = downtime;
    if (!vs_migration_set_params(vs_vm_migration(vm), &p, &err)) {
        print_error("%s\n", err->message);
        fail();
    }
}

static VsVm *new_vm_sized(void **state, bool incoming, uint64_t ram, VsVmFill fill,
                          uint64_t dirty_rate, bool ber)
{
    VsVmConfig cfg = VS_VM_CONFIG_INIT;
    GError *err = NULL;
    VsVm *vm;

    cfg.ram_size = ram;
    cfg.fill = fill;
    cfg.dirty_rate = dirty_rate;
    cfg.incoming = incoming;
    /* A destination stays stopped, so its state is the switchover state. */
    cfg.paused = incoming;
    cfg.seed = incoming ? 99 : 7;
    vm = vs_vm_new(*state, &cfg, &err);
    if (!vm) {
        print_error("%s\n", err->message);
    }
    assert_non_null(vm);
    set_ber(vm, ber, 0, 300);
    if (!incoming) {
        assert_true(vs_vm_cont(vm, &err));
    }
    return vm;
}

static VsVm *new_vm(void **state, bool incoming, VsVmFill fill, uint64_t dirty_rate, bool ber)
{
    return new_vm_sized(state, incoming, RAM_SIZE, fill, dirty_rate, ber);
}

/* The device sections each end kept are the same bytes. */
static void assert_sections_equal(VsVm *a, VsVm *b)
{
    TALLOC_CTX *ctx = talloc_new(NULL);
    uint8_t *da = NULL, *db = NULL;
    size_t la = 0, lb = 0;

    assert_true(vs_migration_device_sections(vs_vm_migration(a), ctx, &da, &la));
    assert_true(vs_migration_device_sections(vs_vm_migration(b), ctx, &db, &lb));
    assert_int_equal(la, lb);
    assert_memory_equal(da, db, la);
    talloc_free(ctx);
}

/* ---- migrations ------------------------------------------------------------------ */

static void migrate_pair(void **state, const char *dst_uri, uint64_t dirty_rate)
{
    VsVm *src = new_vm(state, false, VS_VM_FILL_RANDOM, dirty_rate, true);
    VsVm *dst = new_vm(state, true, VS_VM_FILL_ZERO, 0, true);
    GError *err = NULL;
    g_autofree char *addr = NULL;
    VsMigInfo si, di;

    assert_true(vs_vm_incoming(dst, dst_uri, &err));
    addr = vs_migration_incoming_address(vs_vm_migration(dst));
    assert_true(vs_migration_start(vs_vm_migration(src), addr, &err));
    si = wait_done(src);
    di = wait_done(dst);
    if (si.status != VS_MIG_STATUS_COMPLETED || di.status != VS_MIG_STATUS_COMPLETED) {
        print_error("source %s (%s), destination %s (%s)\n", vs_mig_status_name(si.status),
                    si.error_desc, vs_mig_status_name(di.status), di.error_desc);
        fail();
    }
    assert_true(si.has_ram && si.has_downtime && si.has_total_time);
    assert_int_equal(si.ram.remaining, 0);
    assert_int_equal(si.ram.total, vs_ram_list_total(vs_vm_ram(src)));
    assert_true(si.ram.normal >= RAM_SIZE / VS_RAM_PAGE_SIZE);     /* random pc.ram */
    assert_true(si.ram.duplicate >= 16 * MiB / VS_RAM_PAGE_SIZE);  /* blank vga.vram */
    /* Every normal page's 4 KiB went, and the record overhead is small. */
    assert_true(si.ram.transferred > si.ram.normal * VS_RAM_PAGE_SIZE);
    assert_true(si.ram.transferred < si.ram.normal * (VS_RAM_PAGE_SIZE + 64) +
                                         si.ram.duplicate * 64 + MiB);
    assert_int_equal(vs_vm_run_state(src), VS_VM_POSTMIGRATE);
    assert_int_equal(vs_vm_run_state(dst), VS_VM_PAUSED);
    assert_vms_equal(src, dst);
    assert_sections_equal(src, dst);
    talloc_free(dst);
    talloc_free(src);
}

static void test_ber_tcp(void **state)
{
    migrate_pair(state, "tcp:127.0.0.1:0", 0);
}

static void test_ber_tcp_workload(void **state)
{
    migrate_pair(state, "tcp:127.0.0.1:0", 100 * MiB);
}

static void test_ber_unix(void **state)
{
    g_autofree char *uri = g_strdup_printf("unix:%s/ber.sock", tmpdir);

    migrate_pair(state, uri, 0);
}

static void test_ber_unix_workload(void **state)
{
    g_autofree char *uri = g_strdup_printf("unix:%s/ber-w.sock", tmpdir);

    migrate_pair(state, uri, 50 * MiB);
}

/* SHA-256 of @len bytes, lowercase hex, as the stream input's RAM summaries. */
static char *sha256_hex(const uint8_t *p, size_t len)
{
    return g_compute_checksum_for_data(G_CHECKSUM_SHA256, p, len);
}

/*
 * A running guest captured to file: in BER form: the stream tools' loader
 * (`vstate dump`, `describe`) reads it whole, every block's content
 * digest is the source's memory at the switchover, every device section
 * decodes, and the file loads into a destination.
 */
static void test_ber_capture_file(void **state)
{
    g_autofree char *path = g_strdup_printf("%s/capture.ber", tmpdir);
    g_autofree char *uri = g_strdup_printf("file:%s", path);
    VsVm *src = new_vm(state, false, VS_VM_FILL_PATTERN, 30 * MiB, true);
    VsInputOptions o = { .ram = VS_INPUT_RAM_SUMMARY };
    VsRamList *ram = vs_vm_ram(src);
    GError *err = NULL;
    VsInput *in = NULL;
    VsMigInfo si, di;
    size_t devices = 0;
    VsVm *dst;

    assert_true(vs_migration_start(vs_vm_migration(src), uri, &err));
    si = wait_done(src);
    assert_int_equal(si.status, VS_MIG_STATUS_COMPLETED);
    assert_true(vs_input_open(*state, path, &in, &err));
    assert_int_equal(in->format, VS_INPUT_BER);
    /* query-migrate's figure is the stream's length. */
    assert_int_equal(si.ram.transferred, in->len);
    if (!vs_input_load(in, &o, &err)) {
        print_error("%s\n", err->message);
        fail();
    }
    assert_non_null(in->ber_info);
    assert_int_equal(in->n_ram_blocks, vs_ram_list_count(ram));
    for (size_t i = 0; i < in->n_ram_blocks; i++) {
        VsRamBlock *b = vs_ram_list_find(ram, in->ram_blocks[i].name);
        g_autofree char *want = NULL;

        assert_non_null(b);
        want = sha256_hex(b->host, b->save.length);
        assert_true(in->ram_blocks[i].has_digest);
        assert_string_equal(in->ram_blocks[i].digest, want);
    }
    for (size_t i = 0; i < in->stream->n_records; i++) {
        const VsRecord *r = &in->stream->records[i];

        if (r->kind == VS_REC_SECTION && r->section.decoded_by != VS_DECODED_RAM) {
            assert_non_null(r->section.state);
            devices++;
        }
    }
    assert_int_equal(devices, vs_savevm_device_count(vs_vm_devices(src)));
    assert_int_equal(in->ber_info->n_sections, devices);
    for (size_t i = 0; i < in->ber_info->n_sections; i++) {
        assert_int_equal(in->ber_info->sections[i].match, VS_BER_SCHEMA_SAME);
    }
    talloc_free(in);

    dst = new_vm(state, true, VS_VM_FILL_ZERO, 0, true);
    assert_true(vs_vm_incoming(dst, uri, &err));
    di = wait_done(dst);
    if (di.status != VS_MIG_STATUS_COMPLETED) {
        print_error("destination: %s\n", di.error_desc);
        fail();
    }
    assert_vms_equal(src, dst);
    assert_sections_equal(src, dst);
    talloc_free(dst);
    talloc_free(src);
}

/* query-migrate while a BER migration is active, then cancelled: the source runs on. */
static void test_ber_cancel_active(void **state)
{
    VsVm *src = new_vm(state, false, VS_VM_FILL_RANDOM, 20 * MiB, true);
    VsVm *dst = new_vm(state, true, VS_VM_FILL_ZERO, 0, true);
    GError *err = NULL;
    g_autofree char *addr = NULL;
    VsMigInfo info, di;
    uint64_t before;

    set_ber(src, true, 16 * MiB, 300);   /* 64 MiB take seconds: still active below */
    assert_true(vs_vm_incoming(dst, "tcp:127.0.0.1:0", &err));
    addr = vs_migration_incoming_address(vs_vm_migration(dst));
    assert_true(vs_migration_start(vs_vm_migration(src), addr, &err));
    assert_true(wait_status(src, VS_MIG_STATUS_ACTIVE));
    g_usleep(300 * 1000);
    vs_migration_query(vs_vm_migration(src), &info);
    assert_int_equal(info.status, VS_MIG_STATUS_ACTIVE);
    assert_true(info.has_ram && info.ram.transferred > 0 && info.ram.remaining > 0);
    assert_true(info.ram.normal > 0);
    vs_migration_cancel(vs_vm_migration(src));
    info = wait_done(src);
    assert_int_equal(info.status, VS_MIG_STATUS_CANCELLED);
    assert_int_equal(vs_vm_run_state(src), VS_VM_RUNNING);
    before = vs_vm_pages_written(src);
    g_usleep(100 * 1000);
    assert_true(vs_vm_pages_written(src) > before);
    /* The destination loses its source inside a RAM section and says so. */
    di = wait_done(dst);
    assert_int_equal(di.status, VS_MIG_STATUS_FAILED);
    if (!strstr(di.error_desc, "BER stream record") ||
        !strstr(di.error_desc, "end of stream")) {
        print_error("error-desc: %s\n", di.error_desc);
        fail();
    }
    talloc_free(dst);
    talloc_free(src);
}

/* One end set for BER, the other not: the destination refuses at the first bytes. */
static void mismatch(void **state, bool src_ber, const char *want)
{
    VsVm *src = new_vm(state, false, VS_VM_FILL_RANDOM, 0, src_ber);
    VsVm *dst = new_vm(state, true, VS_VM_FILL_ZERO, 0, !src_ber);
    GError *err = NULL;
    g_autofree char *addr = NULL;
    uint64_t blank = vs_vm_block_digest(dst, 0);
    VsMigInfo di;

    assert_true(vs_vm_incoming(dst, "tcp:127.0.0.1:0", &err));
    addr = vs_migration_incoming_address(vs_vm_migration(dst));
    assert_true(vs_migration_start(vs_vm_migration(src), addr, &err));
    di = wait_done(dst);
    assert_int_equal(di.status, VS_MIG_STATUS_FAILED);
    if (!strstr(di.error_desc, want) || !strstr(di.error_desc, "x-vstate-ber")) {
        print_error("error-desc: %s\n", di.error_desc);
        fail();
    }
    /* Nothing reached the destination's RAM (the source's is random). */
    assert_true(vs_vm_block_digest(dst, 0) == blank);
    /* The source fails too: its peer hung up. */
    assert_int_equal(wait_done(src).status, VS_MIG_STATUS_FAILED);
    talloc_free(dst);
    talloc_free(src);
}

static void test_ber_mismatch_src_ber(void **state)
{
    mismatch(state, true, "sends vstate's BER stream form");
}

static void test_ber_mismatch_src_legacy(void **state)
{
    mismatch(state, false, "sends QEMU's legacy stream");
}

/*
 * A destination lacking a device the source's header lists fails at the
 * header, before any RAM moved.
 */
static void test_ber_unknown_device_early(void **state)
{
    VsVm *src = new_vm(state, false, VS_VM_FILL_RANDOM, 0, true);
    VsVmConfig cfg = VS_VM_CONFIG_INIT;
    GError *err = NULL;
    g_autofree char *addr = NULL;
    VsMigInfo di;
    uint64_t blank;
    VsVm *dst;

    cfg.ram_size = RAM_SIZE;
    cfg.incoming = true;
    cfg.paused = true;
    cfg.no_demo_device = true;
    dst = vs_vm_new(*state, &cfg, &err);
    assert_non_null(dst);
    set_ber(dst, true, 0, 300);
    blank = vs_vm_block_digest(dst, 0);
    assert_true(vs_vm_incoming(dst, "tcp:127.0.0.1:0", &err));
    addr = vs_migration_incoming_address(vs_vm_migration(dst));
    assert_true(vs_migration_start(vs_vm_migration(src), addr, &err));
    di = wait_done(dst);
    assert_int_equal(di.status, VS_MIG_STATUS_FAILED);
    if (!strstr(di.error_desc, "BER stream header") ||
        !strstr(di.error_desc, "Unknown savevm section or instance") ||
        !strstr(di.error_desc, "listed in the stream header")) {
        print_error("error-desc: %s\n", di.error_desc);
        fail();
    }
    /* pc.ram (random on the source) was not touched. */
    assert_true(vs_vm_block_digest(dst, 0) == blank);
    (void)wait_done(src);
    talloc_free(dst);
    talloc_free(src);
}

/* Capabilities whose streams the BER form does not carry are refused with it. */
static void test_ber_refused_combinations(void **state)
{
    VsVm *vm = new_vm_sized(state, false, SMALL_RAM, VS_VM_FILL_ZERO, 0, true);
    VsMigration *m = vs_vm_migration(vm);
    GError *err = NULL;
    VsMigParams p;

    vs_migration_get_params(m, &p);
    p.background_snapshot = true;
    assert_false(vs_migration_set_params(m, &p, &err));
    assert_non_null(strstr(err->message, "Background-snapshot is not compatible with "
                                         "x-vstate-ber"));
    g_clear_error(&err);
    vs_migration_get_params(m, &p);
    p.multifd = true;
    assert_false(vs_migration_set_params(m, &p, &err));
    assert_non_null(strstr(err->message, "Multifd is not compatible with x-vstate-ber"));
    g_clear_error(&err);
    /* Without BER both are fine. */
    vs_migration_get_params(m, &p);
    p.ber_stream = false;
    p.multifd = true;
    assert_true(vs_migration_set_params(m, &p, &err));
    vs_migration_get_params(m, &p);
    assert_false(p.ber_stream);
    talloc_free(vm);
}

/* ---- bad streams ------------------------------------------------------------------ */

/* Loads @len bytes of @data as an incoming BER file: migration; its final info. */
static VsMigInfo load_bytes(void **state, const uint8_t *data, size_t len)
{
    g_autofree char *path = g_strdup_printf("%s/cut.ber", tmpdir);
    g_autofree char *uri = g_strdup_printf("file:%s", path);
    VsVmConfig cfg = VS_VM_CONFIG_INIT;
    GError *err = NULL;
    VsMigInfo info;
    VsVm *dst;

    cfg.ram_size = SMALL_RAM;
    cfg.incoming = true;
    cfg.paused = true;
    cfg.dirty = VS_VM_DIRTY_EXPLICIT;
    dst = vs_vm_new(*state, &cfg, &err);
    assert_non_null(dst);
    set_ber(dst, true, 0, 300);
    assert_true(g_file_set_contents(path, (const char *)data, (gssize)len, &err));
    assert_true(vs_vm_incoming(dst, uri, &err));
    info = wait_done(dst);
    talloc_free(dst);
    return info;
}

/* A small guest's whole BER stream, saved through a file: migration. */
static uint8_t *capture_small(void **state, size_t *ret_len)
{
    g_autofree char *path = g_strdup_printf("%s/whole.ber", tmpdir);
    g_autofree char *uri = g_strdup_printf("file:%s", path);
    VsVm *src = new_vm_sized(state, false, SMALL_RAM, VS_VM_FILL_RANDOM, 0, true);
    GError *err = NULL;
    gchar *data = NULL;
    gsize len = 0;

    assert_true(vs_migration_start(vs_vm_migration(src), uri, &err));
    assert_int_equal(wait_done(src).status, VS_MIG_STATUS_COMPLETED);
    assert_true(g_file_get_contents(path, &data, &len, &err));
    talloc_free(src);
    *ret_len = len;
    return (uint8_t *)data;
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
 * The FULL section of i8259 instance 0: `b2 LL 30 LL`, type FULL (02 01 04),
 * its id (02 01 NN), then the idstr and instance (the header's schema list
 * has them too, without the type before).
 */
static size_t find_pic_section(const uint8_t *data, size_t len)
{
    static const uint8_t idstr[] = { 0x1a, 0x05, 'i', '8', '2', '5', '9', 0x02, 0x01, 0x00 };
    static const uint8_t full[] = { 0x02, 0x01, 0x04, 0x02, 0x01 };

    for (size_t at = 0; at < len; at++) {
        at += find_bytes(data + at, len - at, idstr, sizeof(idstr));
        if (at >= len) {
            break;
        }
        if (at >= 6 + 4 && memcmp(data + at - 6, full, sizeof(full)) == 0) {
            for (size_t p = at - 6; p + 16 > at; p--) {
                if (data[p] == 0xb2) {
                    return p;
                }
            }
        }
    }
    fail();
    return 0;
}

/*
 * Cut at every byte of the first device sections (the i8259s), at every
 * 97th byte after them and every 8191st in the RAM before:
 * every load fails cleanly, saying where.  The whole stream loads.
 */
static void test_ber_truncated(void **state)
{
    size_t len = 0, devices_at;
    uint8_t *data = capture_small(state, &len);
    unsigned cuts = 0;

    devices_at = find_pic_section(data, len);
    for (size_t cut = 0; cut < len;
         cut = cut < devices_at ? MIN(cut + 8191, devices_at)
                                : cut + (cut < devices_at + 1024 ? 1 : 97)) {
        VsMigInfo info = load_bytes(state, data, cut);

        assert_int_equal(info.status, VS_MIG_STATUS_FAILED);
        if (!g_str_has_prefix(info.error_desc, "load of migration failed: ") ||
            (!strstr(info.error_desc, "end of stream") && !strstr(info.error_desc, "input ends"))) {
            print_error("cut at %zu: %s\n", cut, info.error_desc);
            fail();
        }
        if (cut > 2 && !strstr(info.error_desc, "BER stream")) {
            print_error("cut at %zu does not say where: %s\n", cut, info.error_desc);
            fail();
        }
        if (getenv("VS_TEST_VERBOSE")) {
            print_message("# cut %zu: %s\n", cut, info.error_desc);
        }
        cuts++;
    }
    print_message("# %u cut streams refused\n", cuts);
    assert_int_equal(load_bytes(state, data, len).status, VS_MIG_STATUS_COMPLETED);
    g_free(data);
}

/*
 * Another machine type in the header and configuration is refused at the
 * header, in QEMU's words; a record no reader knows in the
 * configuration's place is refused, naming it.
 */
static void test_ber_wrong_machine(void **state)
{
    size_t len = 0, at, cfg_at;
    uint8_t *data = capture_small(state, &len);
    uint8_t *copy = g_memdup2(data, len);
    static const char local[] = "pc-i440fx-7.2";
    static const uint8_t config[] = { 0xb1 };
    VsMigInfo info;
    unsigned replaced = 0;

    for (at = 0; (at += find_bytes(copy + at, len - at, local, 13)) < len; at += 13) {
        memcpy(copy + at, "pc-i440fx-8.0", 13);
        replaced++;
    }
    assert_true(replaced >= 2);   /* the header's and the configuration's */
    info = load_bytes(state, copy, len);
    assert_int_equal(info.status, VS_MIG_STATUS_FAILED);
    if (!strstr(info.error_desc, "BER stream header at offset 0x2: Machine type received is "
                                 "'pc-i440fx-8.0' and local is 'pc-i440fx-7.2'")) {
        print_error("error-desc: %s\n", info.error_desc);
        fail();
    }
    /* The configuration record [17], right after the header, turned into
     * [29], a record no reader knows. */
    memcpy(copy, data, len);
    assert_int_equal(copy[2], 0xb0);
    if (copy[3] < 0x80) {
        cfg_at = 4 + copy[3];
    } else {
        size_t n = copy[3] & 0x7f, hlen = 0;

        for (size_t i = 0; i < n; i++) {
            hlen = hlen << 8 | copy[4 + i];
        }
        cfg_at = 4 + n + hlen;
    }
    assert_true(cfg_at < len);
    assert_int_equal(copy[cfg_at], config[0]);
    copy[cfg_at] = 0xbd;
    info = load_bytes(state, copy, len);
    assert_int_equal(info.status, VS_MIG_STATUS_FAILED);
    assert_non_null(strstr(info.error_desc, "BER stream record 0 at offset"));
    assert_non_null(strstr(info.error_desc, "unexpected record [29]"));
    g_free(copy);
    g_free(data);
}

/*
 * Every byte of the i8259 section changed in turn: each load completes or
 * fails cleanly (under the sanitizers: nothing read out of bounds); a
 * value whose type no longer matches names the device and the field path.
 */
static void test_ber_corrupted(void **state)
{
    size_t len = 0, at, end;
    uint8_t *data = capture_small(state, &len);
    unsigned failed = 0, completed = 0;
    bool named_field = false;

    at = find_pic_section(data, len);
    /* The section's own length: b2 LL (short form), b2 81 LL or b2 82 LL LL. */
    if (data[at + 1] < 0x80) {
        end = at + 2 + data[at + 1];
    } else if (data[at + 1] == 0x81) {
        end = at + 3 + data[at + 2];
    } else {
        assert_int_equal(data[at + 1], 0x82);
        end = at + 4 + ((size_t)data[at + 2] << 8 | data[at + 3]);
    }
    assert_true(end <= len);
    for (size_t p = at; p < end; p++) {
        uint8_t keep = data[p];
        VsMigInfo info;

        data[p] ^= 0x01;
        info = load_bytes(state, data, len);
        data[p] = keep;
        if (info.status == VS_MIG_STATUS_COMPLETED) {
            completed++;
            continue;
        }
        assert_int_equal(info.status, VS_MIG_STATUS_FAILED);
        assert_true(g_str_has_prefix(info.error_desc, "load of migration failed: "));
        failed++;
        named_field |= strstr(info.error_desc, "of device 'i8259': i8259.") != NULL;
        if (getenv("VS_TEST_VERBOSE")) {
            print_message("# byte %zu: %s\n", p, info.error_desc);
        }
    }
    print_message("# i8259 section: %u corruptions refused, %u loaded (a value changed)\n",
                  failed, completed);
    assert_true(failed > 0);
    assert_true(named_field);
    g_free(data);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, vs_test_ctx_setup, vs_test_ctx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_ber_tcp),
        T(test_ber_tcp_workload),
        T(test_ber_unix),
        T(test_ber_unix_workload),
        T(test_ber_capture_file),
        T(test_ber_cancel_active),
        T(test_ber_mismatch_src_ber),
        T(test_ber_mismatch_src_legacy),
        T(test_ber_unknown_device_early),
        T(test_ber_refused_combinations),
        T(test_ber_truncated),
        T(test_ber_wrong_machine),
        T(test_ber_corrupted),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
