/*
 * test-multifd.c: multifd (RAM over several connections): the packet
 * codec and its errors, the per-channel compression streams, and live
 * migrations between two demo VMs in one process with 1, 2, 4 and 8
 * channels, with and without a workload and compression, over tcp and
 * unix; a channel killed in the middle; mismatched configurations.
 *
 * SPDX-License-Identifier: MIT
 *
 * After every completed migration the destination's RAM (a digest per
 * block) and device state equal the source's.  RAM stays at 64 MiB.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "test-helpers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "migration/multifd.h"
/* Longer than the helpers' default of 60 s for the 8-channel compressed runs. */
#define WAIT_US (90ll * 1000 * 1000)
#include "tests/unit/migrate-helpers.h"
#include "vm/vm.h"

#define MiB (1024ull * 1024)
#define RAM_SIZE (64 * MiB)
#define PS VS_RAM_PAGE_SIZE

/* ---- packet codec ------------------------------------------------------------------- */

typedef struct Ram {
    VsRamList *list;
    uint8_t *mem;
} Ram;

/* Two blocks: "pc.ram" of 1 MiB, "vga.vram" of 64 KiB. */
static Ram ram_new(TALLOC_CTX *ctx)
{
    Ram r;
    GError *err = NULL;

    r.list = vs_ram_list_new(ctx);
    r.mem = talloc_zero_size(ctx, MiB + 64 * 1024);
    assert_non_null(r.mem);
    assert_non_null(vs_ram_list_add(r.list, "pc.ram", r.mem, MiB, &err));
    assert_non_null(vs_ram_list_add(r.list, "vga.vram", r.mem + MiB, 64 * 1024, &err));
    return r;
}

static VsMultifdPacket packet_with_pages(const char *block, uint32_t n)
{
    VsMultifdPacket p;

    memset(&p, 0, sizeof(p));
    p.flags = 0;
    p.pages_alloc = VS_MULTIFD_PAGE_COUNT;
    p.normal_pages = n;
    p.next_packet_size = n * PS;
    p.packet_num = 42;
    g_strlcpy(p.ramblock, block, sizeof(p.ramblock));
    for (uint32_t i = 0; i < n; i++) {
        p.offset[i] = (uint64_t)(n - i) * PS;   /* any order is fine */
    }
    return p;
}

static void test_packet_roundtrip(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    Ram r = ram_new(ctx);
    uint8_t hdr[VS_MULTIFD_HEADER_SIZE];
    VsMultifdPacket p = packet_with_pages("pc.ram", 100), q;
    VsRamBlock *b = NULL;
    GError *err = NULL;

    assert_int_equal(VS_MULTIFD_HEADER_SIZE, 1344);
    p.flags = VS_MULTIFD_FLAG_SYNC;
    vs_multifd_packet_encode(hdr, &p);
    /* The layout of qemu-stream-format.md §5.2. */
    assert_memory_equal(hdr, "\x11\x22\x33\x44\x00\x00\x00\x01\x00\x00\x00\x01", 12);
    assert_memory_equal(hdr + 16, "\x00\x00\x00\x64", 4);
    assert_memory_equal(hdr + 24, "\x00\x00\x00\x00\x00\x00\x00\x2a", 8);
    assert_string_equal((const char *)hdr + 64, "pc.ram");
    assert_true(vs_multifd_packet_decode(hdr, r.list, VS_MULTIFD_COMPRESSION_NONE, 3, &q, &b,
                                         &err));
    assert_ptr_equal(b, vs_ram_list_find(r.list, "pc.ram"));
    assert_int_equal(q.normal_pages, 100);
    assert_int_equal(q.flags, VS_MULTIFD_FLAG_SYNC);
    assert_int_equal(q.packet_num, 42);
    assert_memory_equal(q.offset, p.offset, 100 * sizeof(uint64_t));
    assert_int_equal(vs_multifd_packet_payload(&q, VS_MULTIFD_COMPRESSION_NONE), 100 * PS);

    /* A SYNC packet without pages names no block that must exist. */
    p = packet_with_pages("no-such-block", 0);
    p.flags = VS_MULTIFD_FLAG_SYNC;
    vs_multifd_packet_encode(hdr, &p);
    assert_true(vs_multifd_packet_decode(hdr, r.list, VS_MULTIFD_COMPRESSION_ZSTD, 0, &q, &b,
                                         &err));
    assert_null(b);
    assert_int_equal(vs_multifd_packet_payload(&q, VS_MULTIFD_COMPRESSION_ZSTD), 0);
    talloc_free(ctx);
}

/* Encodes @p, lets @poke spoil the bytes, and expects a decode error containing @want. */
static void expect_bad(Ram *r, VsMultifdPacket p, VsMultifdCompression comp, size_t at,
                       const void *bytes, size_t len, const char *want)
{
    uint8_t hdr[VS_MULTIFD_HEADER_SIZE];
    VsMultifdPacket q;
    VsRamBlock *b = NULL;
    GError *err = NULL;

    vs_multifd_packet_encode(hdr, &p);
    if (bytes) {
        memcpy(hdr + at, bytes, len);
    }
    assert_false(vs_multifd_packet_decode(hdr, r->list, comp, 5, &q, &b, &err));
    assert_gerror(err, VS_MULTIFD_ERROR, VS_MULTIFD_ERROR_PACKET, "multifd channel ");
    assert_gerror_contains(err, "multifd channel 5: ");
    assert_gerror_contains(err, want);
    g_error_free(err);
}

static void test_packet_malformed(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    Ram r = ram_new(ctx);
    VsMultifdPacket p = packet_with_pages("pc.ram", 4);

    expect_bad(&r, p, VS_MULTIFD_COMPRESSION_NONE, 0, "\x11\x22\x33\x45", 4,
               "received packet magic 11223345 and expected magic 11223344");
    expect_bad(&r, p, VS_MULTIFD_COMPRESSION_NONE, 4, "\x00\x00\x00\x02", 4,
               "received packet version 2 and expected version 1");
    expect_bad(&r, p, VS_MULTIFD_COMPRESSION_NONE, 12, "\x00\x00\x00\x81", 4,
               "received packet with size 129 and expected a size of 128");
    expect_bad(&r, p, VS_MULTIFD_COMPRESSION_NONE, 16, "\x00\x00\x00\x81", 4,
               "received packet with 129 pages and expected maximum pages are 128");
    expect_bad(&r, p, VS_MULTIFD_COMPRESSION_NONE, 16, "\xff\xff\xff\xff", 4,
               "received packet with 4294967295 pages");
    expect_bad(&r, packet_with_pages("pc.rom", 4), VS_MULTIFD_COMPRESSION_NONE, 0, NULL, 0,
               "unknown ram block pc.rom");
    /* A name filling all 256 bytes is cut at 255, as QEMU does. */
    {
        char name[256];

        memset(name, 'x', sizeof(name));
        expect_bad(&r, p, VS_MULTIFD_COMPRESSION_NONE, 64, name, sizeof(name),
                   "unknown ram block xxxx");
    }
    /* Offsets: the last page of the block is fine, one past it or unaligned is not. */
    p.offset[3] = MiB;
    expect_bad(&r, p, VS_MULTIFD_COMPRESSION_NONE, 0, NULL, 0, "offset too long 1048576");
    p.offset[3] = 17;
    expect_bad(&r, p, VS_MULTIFD_COMPRESSION_NONE, 0, NULL, 0, "page 3 of packet 42");
    p.offset[3] = UINT64_MAX;
    expect_bad(&r, p, VS_MULTIFD_COMPRESSION_NONE, 0, NULL, 0, "offset too long");
    /* Compression bits must be this end's method. */
    p = packet_with_pages("vga.vram", 2);
    p.flags = VS_MULTIFD_FLAG_ZLIB;
    expect_bad(&r, p, VS_MULTIFD_COMPRESSION_NONE, 0, NULL, 0, "flags received 2 flags expected 0");
    p.flags = 0;
    expect_bad(&r, p, VS_MULTIFD_COMPRESSION_ZSTD, 0, NULL, 0, "flags received 0 flags expected 4");
    /* A compressed payload size beyond what a packet can need, or none. */
    p.flags = VS_MULTIFD_FLAG_ZSTD;
    p.next_packet_size = VS_MULTIFD_MAX_PAYLOAD + 1;
    expect_bad(&r, p, VS_MULTIFD_COMPRESSION_ZSTD, 0, NULL, 0, "declares 1048577 compressed");
    p.next_packet_size = 0;
    expect_bad(&r, p, VS_MULTIFD_COMPRESSION_ZSTD, 0, NULL, 0, "declares 0 compressed");
    talloc_free(ctx);
}

static void test_init_packet(void **state)
{
    VsMultifdConfig cfg = { .channels = 4 };
    uint8_t init[VS_MULTIFD_INIT_SIZE], other[16] = { 1 };
    GError *err = NULL;
    uint8_t id = 0;

    vs_multifd_init_encode(init, cfg.uuid, 3);
    assert_memory_equal(init, "\x11\x22\x33\x44\x00\x00\x00\x01", 8);
    assert_int_equal(init[24], 3);
    assert_true(vs_multifd_init_decode(init, &cfg, &id, &err));
    assert_int_equal(id, 3);

    vs_multifd_init_encode(init, cfg.uuid, 4);
    assert_false(vs_multifd_init_decode(init, &cfg, &id, &err));
    assert_gerror_contains(err, "channel id 4 but only 4 channels");
    g_clear_error(&err);
    vs_multifd_init_encode(init, other, 0);
    assert_false(vs_multifd_init_decode(init, &cfg, &id, &err));
    assert_gerror_contains(err, "received uuid '01000000-0000-0000-0000-000000000000' and "
                                 "expected uuid '00000000-0000-0000-0000-000000000000'");
    g_clear_error(&err);
    vs_multifd_init_encode(init, cfg.uuid, 0);
    init[3] = 0;
    assert_false(vs_multifd_init_decode(init, &cfg, &id, &err));
    assert_gerror_contains(err, "received packet magic 11223300 expected 11223344");
    g_clear_error(&err);
    vs_multifd_init_encode(init, cfg.uuid, 0);
    init[7] = 9;
    assert_false(vs_multifd_init_decode(init, &cfg, &id, &err));
    assert_gerror_contains(err, "received packet version 9 expected 1");
    g_clear_error(&err);
}

/* ---- compression streams ----------------------------------------------------------------- */

/* Pages of text-like content that compresses, different per page. */
static void fill_pages(uint8_t *mem, unsigned n, unsigned salt)
{
    for (unsigned i = 0; i < n; i++) {
        for (unsigned k = 0; k < PS; k++) {
            mem[i * PS + k] = (uint8_t)("vstate multifd "[(k + i) % 15] + ((k / 512 + salt) & 3));
        }
    }
}

static void roundtrip_compression(void **state, VsMultifdCompression comp)
{
    enum { N = 128, ROUNDS = 4 };
    TALLOC_CTX *ctx = talloc_new(*state);
    GError *err = NULL;
    VsMultifdDeflater *d = vs_multifd_deflater_new(ctx, comp, 1, 0, &err);
    VsMultifdInflater *z = vs_multifd_inflater_new(ctx, comp, 0, &err);
    uint8_t *src = talloc_size(ctx, N * PS), *dst = talloc_size(ctx, N * PS);
    uint8_t *buf = talloc_size(ctx, VS_MULTIFD_MAX_PAYLOAD);
    const uint8_t *in[N];
    uint8_t *out[N];

    assert_non_null(d);
    assert_non_null(z);
    for (unsigned i = 0; i < N; i++) {
        in[i] = src + i * PS;
        out[i] = dst + i * PS;
    }
    /* One stream across packets: each packet decodes only after the ones before it. */
    for (unsigned round = 0; round < ROUNDS; round++) {
        unsigned n = round == 2 ? 1 : N;
        size_t len = 0;

        fill_pages(src, n, round);
        memset(dst, 0xee, N * PS);
        assert_true(vs_multifd_deflate(d, in, n, buf, VS_MULTIFD_MAX_PAYLOAD, &len, &err));
        assert_true(len > 0 && len < n * PS);
        if (comp == VS_MULTIFD_COMPRESSION_ZLIB) {
            /* The zlib header only in the first packet; every packet ends on a sync flush. */
            assert_true((buf[0] == 0x78) == (round == 0));
            assert_memory_equal(buf + len - 4, "\x00\x00\xff\xff", 4);
        }
        assert_true(vs_multifd_inflate(z, buf, len, out, n, &err));
        assert_memory_equal(dst, src, n * PS);
    }
    talloc_free(ctx);
}

static void test_compression_zlib(void **state)
{
    roundtrip_compression(state, VS_MULTIFD_COMPRESSION_ZLIB);
}

static void test_compression_zstd(void **state)
{
    roundtrip_compression(state, VS_MULTIFD_COMPRESSION_ZSTD);
}

/* Too little, too much and spoiled compressed data give errors, never more output than asked. */
static void bad_compression(void **state, VsMultifdCompression comp)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    GError *err = NULL;
    uint8_t *src = talloc_size(ctx, 4 * PS), *dst = talloc_size(ctx, 5 * PS);
    uint8_t *buf = talloc_size(ctx, VS_MULTIFD_MAX_PAYLOAD);
    const uint8_t *in[4] = { src, src + PS, src + 2 * PS, src + 3 * PS };
    uint8_t *out[4] = { dst, dst + PS, dst + 2 * PS, dst + 3 * PS };
    size_t len = 0;
    VsMultifdDeflater *d = vs_multifd_deflater_new(ctx, comp, 3, 0, &err);
    VsMultifdInflater *z;

    fill_pages(src, 4, 1);
    assert_true(vs_multifd_deflate(d, in, 4, buf, VS_MULTIFD_MAX_PAYLOAD, &len, &err));
    /* Fewer bytes than the pages need. */
    z = vs_multifd_inflater_new(ctx, comp, 7, &err);
    assert_false(vs_multifd_inflate(z, buf, len / 2, out, 4, &err));
    assert_gerror_contains(err, "multifd channel 7: ");
    g_clear_error(&err);
    /* More pages' worth of data than the header says. */
    z = vs_multifd_inflater_new(ctx, comp, 7, &err);
    memset(dst + 3 * PS, 0x5a, 2 * PS);
    assert_false(vs_multifd_inflate(z, buf, len, out, 3, &err));
    assert_gerror_contains(err, "compressed bytes left after 3 pages");
    g_clear_error(&err);
    /* Garbage. */
    z = vs_multifd_inflater_new(ctx, comp, 7, &err);
    memset(buf, 0xa5, 64);
    assert_false(vs_multifd_inflate(z, buf, 64, out, 4, &err));
    assert_gerror(err, VS_MULTIFD_ERROR, VS_MULTIFD_ERROR_PACKET, "multifd channel ");
    g_clear_error(&err);
    talloc_free(ctx);
}

static void test_compression_malformed_zlib(void **state)
{
    bad_compression(state, VS_MULTIFD_COMPRESSION_ZLIB);
}

static void test_compression_malformed_zstd(void **state)
{
    bad_compression(state, VS_MULTIFD_COMPRESSION_ZSTD);
}

/* ---- live migrations ---------------------------------------------------------------------- */

static VsVm *new_vm(void **state, bool incoming, VsVmFill fill, uint64_t dirty_rate)
{
    VsVmConfig cfg = VS_VM_CONFIG_INIT;
    GError *err = NULL;
    VsVm *vm;

    cfg.ram_size = RAM_SIZE;
    cfg.fill = fill;
    cfg.dirty_rate = dirty_rate;
    cfg.incoming = incoming;
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

static void set_multifd(VsVm *vm, unsigned channels, VsMultifdCompression comp, uint64_t bw)
{
    GError *err = NULL;
    VsMigParams p;

    vs_migration_get_params(vs_vm_migration(vm), &p);
    p.multifd = true;
    p.multifd_channels = (uint8_t)channels;
    p.multifd_compression = (uint8_t)comp;
    p.max_bandwidth = bw;
    p.downtime_limit = 300;
    if (!vs_migration_set_params(vs_vm_migration(vm), &p, &err)) {
        print_error("%s\n", err->message);
        fail();
    }
}

static void migrate_multifd(void **state, const char *dst_uri, unsigned channels,
                            VsMultifdCompression comp, VsVmFill fill, uint64_t dirty_rate)
{
    VsVm *src = new_vm(state, false, fill, dirty_rate);
    VsVm *dst = new_vm(state, true, VS_VM_FILL_ZERO, 0);
    GError *err = NULL;
    g_autofree char *addr = NULL;
    VsMigInfo si, di;

    set_multifd(src, channels, comp, 0);
    set_multifd(dst, channels, comp, 0);
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
    assert_int_equal(si.ram.remaining, 0);
    assert_true(si.ram.normal >= (fill == VS_VM_FILL_RANDOM ? RAM_SIZE / PS : 1));
    if (comp == VS_MULTIFD_COMPRESSION_NONE && fill == VS_VM_FILL_RANDOM) {
        /* Every normal page went as a page plus its share of a packet header. */
        assert_true(si.ram.transferred >= si.ram.normal * PS);
    } else if (fill == VS_VM_FILL_PATTERN && comp != VS_MULTIFD_COMPRESSION_NONE) {
        assert_true(si.ram.transferred < si.ram.normal * PS / 2);
    }
    print_message("# %u channel(s), %s, %s: %" PRIu64 " bytes for %" PRIu64
                  " normal pages, %" PRIu64 " syncs\n", channels,
                  vs_multifd_compression_name(comp), dirty_rate ? "workload" : "idle",
                  si.ram.transferred, si.ram.normal, si.ram.dirty_sync_count);
    assert_int_equal(vs_vm_run_state(dst), VS_VM_PAUSED);
    assert_vms_equal(src, dst);
    talloc_free(dst);
    talloc_free(src);
}

static void test_migrate_1(void **state)
{
    migrate_multifd(state, "tcp:127.0.0.1:0", 1, VS_MULTIFD_COMPRESSION_NONE,
                    VS_VM_FILL_RANDOM, 0);
}

static void test_migrate_2(void **state)
{
    migrate_multifd(state, "tcp:127.0.0.1:0", 2, VS_MULTIFD_COMPRESSION_NONE,
                    VS_VM_FILL_RANDOM, 0);
}

static void test_migrate_4(void **state)
{
    migrate_multifd(state, "tcp:127.0.0.1:0", 4, VS_MULTIFD_COMPRESSION_NONE,
                    VS_VM_FILL_RANDOM, 0);
}

static void test_migrate_8(void **state)
{
    migrate_multifd(state, "tcp:127.0.0.1:0", 8, VS_MULTIFD_COMPRESSION_NONE,
                    VS_VM_FILL_RANDOM, 0);
}

static void test_migrate_1_workload(void **state)
{
    migrate_multifd(state, "tcp:127.0.0.1:0", 1, VS_MULTIFD_COMPRESSION_NONE,
                    VS_VM_FILL_RANDOM, 100 * MiB);
}

static void test_migrate_2_workload(void **state)
{
    migrate_multifd(state, "tcp:127.0.0.1:0", 2, VS_MULTIFD_COMPRESSION_NONE,
                    VS_VM_FILL_RANDOM, 100 * MiB);
}

static void test_migrate_4_workload_unix(void **state)
{
    g_autofree char *uri = g_strdup_printf("unix:%s/mf.sock", tmpdir);

    migrate_multifd(state, uri, 4, VS_MULTIFD_COMPRESSION_NONE, VS_VM_FILL_RANDOM, 100 * MiB);
}

static void test_migrate_8_workload(void **state)
{
    migrate_multifd(state, "tcp:127.0.0.1:0", 8, VS_MULTIFD_COMPRESSION_NONE,
                    VS_VM_FILL_RANDOM, 100 * MiB);
}

static void test_migrate_2_zstd(void **state)
{
    migrate_multifd(state, "tcp:127.0.0.1:0", 2, VS_MULTIFD_COMPRESSION_ZSTD,
                    VS_VM_FILL_PATTERN, 0);
}

static void test_migrate_4_zstd_workload(void **state)
{
    migrate_multifd(state, "tcp:127.0.0.1:0", 4, VS_MULTIFD_COMPRESSION_ZSTD,
                    VS_VM_FILL_RANDOM, 50 * MiB);
}

static void test_migrate_2_zlib_workload(void **state)
{
    migrate_multifd(state, "tcp:127.0.0.1:0", 2, VS_MULTIFD_COMPRESSION_ZLIB,
                    VS_VM_FILL_PATTERN, 50 * MiB);
}

static void test_migrate_8_zlib_unix(void **state)
{
    g_autofree char *uri = g_strdup_printf("unix:%s/mfz.sock", tmpdir);

    migrate_multifd(state, uri, 8, VS_MULTIFD_COMPRESSION_ZLIB, VS_VM_FILL_PATTERN, 0);
}

/* ---- failures ----------------------------------------------------------------------------- */

/*
 * A TCP forwarder between source and destination that cuts the first
 * multifd connection after @cut_after bytes: both of its sides are shut
 * down, as when a network path dies.
 */
typedef struct Pump {
    int from, to;
    uint64_t limit;               /* 0: no limit */
    struct Proxy *proxy;
} Pump;

typedef struct Proxy {
    int listen_fd;
    uint16_t port;
    uint16_t dst_port;
    uint64_t cut_after;
    GThread *acceptor;
    GPtrArray *threads;
    GMutex lock;
    bool cut_done;
    gint stop;
} Proxy;

static gpointer pump_main(gpointer opaque)
{
    Pump *p = opaque;
    uint8_t buf[65536];
    uint64_t moved = 0;

    for (;;) {
        size_t want = sizeof(buf);
        ssize_t n;

        if (p->limit) {
            want = (size_t)MIN((uint64_t)want, p->limit - moved);
        }
        if (want == 0) {
            break;
        }
        n = read(p->from, buf, want);
        if (n <= 0 || send(p->to, buf, (size_t)n, MSG_NOSIGNAL) != n) {
            break;
        }
        moved += (uint64_t)n;
    }
    shutdown(p->from, SHUT_RDWR);
    shutdown(p->to, SHUT_RDWR);
    g_free(p);
    return NULL;
}

static int connect_port(uint16_t port)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    return fd;
}

static gpointer proxy_main(gpointer opaque)
{
    Proxy *px = opaque;

    while (!g_atomic_int_get(&px->stop)) {
        int c = accept(px->listen_fd, NULL, NULL);
        uint8_t magic[4];
        Pump *up, *down;
        int d;

        if (c < 0) {
            break;
        }
        d = connect_port(px->dst_port);
        up = g_new0(Pump, 1);
        down = g_new0(Pump, 1);
        *up = (Pump){ c, d, 0, px };
        *down = (Pump){ d, c, 0, px };
        if (recv(c, magic, 4, MSG_PEEK | MSG_WAITALL) == 4 &&
            memcmp(magic, "\x11\x22\x33\x44", 4) == 0 && !px->cut_done) {
            px->cut_done = true;
            up->limit = px->cut_after;
        }
        g_mutex_lock(&px->lock);
        g_ptr_array_add(px->threads, g_thread_new("pump", pump_main, up));
        g_ptr_array_add(px->threads, g_thread_new("pump", pump_main, down));
        g_mutex_unlock(&px->lock);
    }
    return NULL;
}

static Proxy *proxy_new(uint16_t dst_port, uint64_t cut_after)
{
    Proxy *px = g_new0(Proxy, 1);
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t len = sizeof(sin);

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    px->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(bind(px->listen_fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(px->listen_fd, 16), 0);
    assert_int_equal(getsockname(px->listen_fd, (struct sockaddr *)&sin, &len), 0);
    px->port = ntohs(sin.sin_port);
    px->dst_port = dst_port;
    px->cut_after = cut_after;
    px->threads = g_ptr_array_new();
    g_mutex_init(&px->lock);
    px->acceptor = g_thread_new("proxy", proxy_main, px);
    return px;
}

static void proxy_free(Proxy *px)
{
    g_atomic_int_set(&px->stop, 1);
    shutdown(px->listen_fd, SHUT_RDWR);
    g_thread_join(px->acceptor);
    close(px->listen_fd);
    for (guint i = 0; i < px->threads->len; i++) {
        g_thread_join(g_ptr_array_index(px->threads, i));
    }
    g_ptr_array_free(px->threads, TRUE);
    g_mutex_clear(&px->lock);
    g_free(px);
}

static uint16_t uri_port(const char *uri)
{
    const char *colon = strrchr(uri, ':');

    assert_non_null(colon);
    return (uint16_t)atoi(colon + 1);
}

/* A multifd channel dies mid-migration: both ends fail naming it; the source runs on. */
static void test_channel_killed(void **state)
{
    VsVm *src = new_vm(state, false, VS_VM_FILL_RANDOM, 50 * MiB);
    VsVm *dst = new_vm(state, true, VS_VM_FILL_ZERO, 0);
    GError *err = NULL;
    g_autofree char *addr = NULL, *via = NULL;
    uint64_t written_before;
    VsMigInfo si, di;
    Proxy *px;

    /* Slow enough that the cut comes long before the end. */
    set_multifd(src, 4, VS_MULTIFD_COMPRESSION_NONE, 64 * MiB);
    set_multifd(dst, 4, VS_MULTIFD_COMPRESSION_NONE, 0);
    assert_true(vs_vm_incoming(dst, "tcp:127.0.0.1:0", &err));
    addr = vs_migration_incoming_address(vs_vm_migration(dst));
    px = proxy_new(uri_port(addr), 3 * MiB + 1000);
    via = g_strdup_printf("tcp:127.0.0.1:%u", px->port);
    assert_true(vs_migration_start(vs_vm_migration(src), via, &err));
    si = wait_done(src);
    di = wait_done(dst);
    print_message("# source: %s (%s)\n# destination: %s (%s)\n", vs_mig_status_name(si.status),
                  si.error_desc, vs_mig_status_name(di.status), di.error_desc);
    assert_int_equal(si.status, VS_MIG_STATUS_FAILED);
    assert_int_equal(di.status, VS_MIG_STATUS_FAILED);
    /* Which of its channels the source sees fail first depends on timing. */
    assert_non_null(strstr(si.error_desc, "multifd channel "));
    assert_non_null(strstr(di.error_desc, "multifd channel 0"));
    /* Nothing lost on the source: the guest runs on and keeps writing. */
    assert_true(vs_vm_is_running(src));
    written_before = vs_vm_pages_written(src);
    g_usleep(100 * 1000);
    assert_true(vs_vm_pages_written(src) > written_before);
    proxy_free(px);
    talloc_free(dst);
    talloc_free(src);
}

/* Different channel counts on the two ends: the destination refuses the extra channel. */
static void test_channel_count_mismatch(void **state)
{
    VsVm *src = new_vm(state, false, VS_VM_FILL_RANDOM, 0);
    VsVm *dst = new_vm(state, true, VS_VM_FILL_ZERO, 0);
    GError *err = NULL;
    g_autofree char *addr = NULL;
    VsMigInfo si, di;

    set_multifd(src, 4, VS_MULTIFD_COMPRESSION_NONE, 0);
    set_multifd(dst, 2, VS_MULTIFD_COMPRESSION_NONE, 0);
    assert_true(vs_vm_incoming(dst, "tcp:127.0.0.1:0", &err));
    addr = vs_migration_incoming_address(vs_vm_migration(dst));
    assert_true(vs_migration_start(vs_vm_migration(src), addr, &err));
    di = wait_done(dst);
    si = wait_done(src);
    print_message("# source: %s (%s)\n# destination: %s (%s)\n", vs_mig_status_name(si.status),
                  si.error_desc, vs_mig_status_name(di.status), di.error_desc);
    assert_int_equal(di.status, VS_MIG_STATUS_FAILED);
    assert_non_null(strstr(di.error_desc, "failed to receive packet via multifd channel"));
    assert_int_equal(si.status, VS_MIG_STATUS_FAILED);
    assert_true(vs_vm_is_running(src));
    talloc_free(dst);
    talloc_free(src);
}

/* Different compression: the first packet with pages is refused, naming the channel. */
static void test_compression_mismatch(void **state)
{
    VsVm *src = new_vm(state, false, VS_VM_FILL_RANDOM, 0);
    VsVm *dst = new_vm(state, true, VS_VM_FILL_ZERO, 0);
    GError *err = NULL;
    g_autofree char *addr = NULL;
    VsMigInfo si, di;

    set_multifd(src, 2, VS_MULTIFD_COMPRESSION_ZLIB, 0);
    set_multifd(dst, 2, VS_MULTIFD_COMPRESSION_NONE, 0);
    assert_true(vs_vm_incoming(dst, "tcp:127.0.0.1:0", &err));
    addr = vs_migration_incoming_address(vs_vm_migration(dst));
    assert_true(vs_migration_start(vs_vm_migration(src), addr, &err));
    di = wait_done(dst);
    si = wait_done(src);
    print_message("# destination: %s (%s)\n", vs_mig_status_name(di.status), di.error_desc);
    assert_int_equal(di.status, VS_MIG_STATUS_FAILED);
    assert_non_null(strstr(di.error_desc, "flags received 2 flags expected 0"));
    assert_int_equal(si.status, VS_MIG_STATUS_FAILED);
    assert_true(vs_vm_is_running(src));
    talloc_free(dst);
    talloc_free(src);
}

/* Cancel in the middle of a multifd migration: the source runs on; then it can go again. */
static void test_cancel_then_again(void **state)
{
    VsVm *src = new_vm(state, false, VS_VM_FILL_RANDOM, 20 * MiB);
    VsVm *dst = new_vm(state, true, VS_VM_FILL_ZERO, 0);
    VsVm *dst2 = new_vm(state, true, VS_VM_FILL_ZERO, 0);
    GError *err = NULL;
    g_autofree char *addr = NULL, *addr2 = NULL;
    VsMigInfo si;

    set_multifd(src, 2, VS_MULTIFD_COMPRESSION_NONE, 32 * MiB);
    set_multifd(dst, 2, VS_MULTIFD_COMPRESSION_NONE, 0);
    set_multifd(dst2, 2, VS_MULTIFD_COMPRESSION_NONE, 0);
    assert_true(vs_vm_incoming(dst, "tcp:127.0.0.1:0", &err));
    addr = vs_migration_incoming_address(vs_vm_migration(dst));
    assert_true(vs_migration_start(vs_vm_migration(src), addr, &err));
    g_usleep(300 * 1000);
    vs_migration_cancel(vs_vm_migration(src));
    si = wait_done(src);
    assert_int_equal(si.status, VS_MIG_STATUS_CANCELLED);
    assert_true(vs_vm_is_running(src));
    assert_int_equal(wait_done(dst).status, VS_MIG_STATUS_FAILED);

    set_multifd(src, 2, VS_MULTIFD_COMPRESSION_NONE, 0);
    assert_true(vs_vm_incoming(dst2, "tcp:127.0.0.1:0", &err));
    addr2 = vs_migration_incoming_address(vs_vm_migration(dst2));
    assert_true(vs_migration_start(vs_vm_migration(src), addr2, &err));
    assert_int_equal(wait_done(src).status, VS_MIG_STATUS_COMPLETED);
    assert_int_equal(wait_done(dst2).status, VS_MIG_STATUS_COMPLETED);
    assert_vms_equal(src, dst2);
    talloc_free(dst2);
    talloc_free(dst);
    talloc_free(src);
}

/* Multifd needs sockets; out-of-range parameters are refused with QEMU's words. */
static void test_params(void **state)
{
    VsVm *src = new_vm(state, false, VS_VM_FILL_ZERO, 0);
    VsMigration *m = vs_vm_migration(src);
    g_autofree char *uri = g_strdup_printf("file:%s/mf.bin", tmpdir);
    GError *err = NULL;
    VsMigParams p;

    vs_migration_get_params(m, &p);
    assert_int_equal(p.multifd_channels, 2);
    assert_int_equal(p.multifd_compression, VS_MULTIFD_COMPRESSION_NONE);
    p.multifd_channels = 0;
    assert_false(vs_migration_set_params(m, &p, &err));
    assert_gerror_contains(err, "Parameter 'multifd_channels' expects a value between 1 and 255");
    g_clear_error(&err);
    p.multifd_channels = 2;
    p.multifd_zstd_level = 21;
    assert_false(vs_migration_set_params(m, &p, &err));
    assert_gerror_contains(err, "multifd_zstd_level");
    g_clear_error(&err);
    p.multifd_zstd_level = 1;
    p.multifd = true;
    p.background_snapshot = true;
    assert_false(vs_migration_set_params(m, &p, &err));
    assert_gerror_contains(err, "Background-snapshot is not compatible with multifd");
    g_clear_error(&err);
    set_multifd(src, 2, VS_MULTIFD_COMPRESSION_NONE, 0);
    assert_true(vs_migration_start(m, uri, &err));
    assert_int_equal(wait_done(src).status, VS_MIG_STATUS_FAILED);
    {
        VsMigInfo info = wait_done(src);

        assert_non_null(strstr(info.error_desc, "multifd is not supported by current protocol"));
    }
    assert_true(vs_vm_is_running(src));
    talloc_free(src);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, vs_test_ctx_setup, vs_test_ctx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_packet_roundtrip),
        T(test_packet_malformed),
        T(test_init_packet),
        T(test_compression_zlib),
        T(test_compression_zstd),
        T(test_compression_malformed_zlib),
        T(test_compression_malformed_zstd),
        T(test_params),
        T(test_migrate_1),
        T(test_migrate_2),
        T(test_migrate_4),
        T(test_migrate_8),
        T(test_migrate_1_workload),
        T(test_migrate_2_workload),
        T(test_migrate_4_workload_unix),
        T(test_migrate_8_workload),
        T(test_migrate_2_zstd),
        T(test_migrate_4_zstd_workload),
        T(test_migrate_2_zlib_workload),
        T(test_migrate_8_zlib_unix),
        T(test_channel_killed),
        T(test_channel_count_mismatch),
        T(test_compression_mismatch),
        T(test_cancel_then_again),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
