/*
 * bench-multifd.c: how fast multifd moves RAM, against baselines measured
 * in the same run on the same machine.
 *
 * SPDX-License-Identifier: MIT
 *
 * Two demo VMs in this process (vm/), the source paused with random
 * pc.ram, migrated over loopback TCP with max-bandwidth unlimited:
 *
 *   precopy      the single-channel RAM precopy
 *   multifd N    multifd with N = 1, 2, 4 channels, no compression
 *   raw 2        a raw page stream over 2 TCP connections measured here:
 *                one thread per connection writing 16-byte headers and
 *                128 pages per sendmsg() straight from the source's RAM,
 *                one thread per connection reading the header and the
 *                pages straight to their place (what multifd does, minus
 *                the migration: no dirty tracking, zero scan or sync)
 *   zstd 2       multifd 2 channels with zstd, for a guest whose memory
 *                compresses (pattern fill): bytes on the wire and time
 *
 * Throughput is pc.ram bytes over the migration's total time as the source
 * reports it (query-migrate's total-time), the medians of the runs.
 *
 * Usage: bench-multifd [--size MiB] [--runs N]     (default 1024 MiB, 3 runs)
 */
#include "migration/multifd.h"
#include "visitor/qemufile/iov.h"
#include "vm/vm.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define PS VS_RAM_PAGE_SIZE
#define RAW_BATCH 128

static uint64_t bench_size = 1024ull << 20;
static int bench_runs = 3;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return v[n / 2];
}

static VsVm *bench_vm(TALLOC_CTX *ctx, bool incoming, VsVmFill fill)
{
    VsVmConfig cfg = VS_VM_CONFIG_INIT;
    GError *err = NULL;
    VsVm *vm;

    cfg.ram_size = bench_size;
    cfg.fill = fill;
    cfg.incoming = incoming;
    cfg.paused = true;
    cfg.seed = 7;
    vm = vs_vm_new(ctx, &cfg, &err);
    if (!vm) {
        fprintf(stderr, "bench-multifd: %s\n", err->message);
        exit(1);
    }
    return vm;
}

typedef struct Result {
    double gbps;          /* pc.ram GB/s */
    uint64_t bytes;       /* transferred */
} Result;

/* One migration; channels 0: precopy. */
static Result bench_migrate(VsVmFill fill, unsigned channels, VsMultifdCompression comp)
{
    TALLOC_CTX *ctx = talloc_new(NULL);
    VsVm *src = bench_vm(ctx, false, fill);
    VsVm *dst = bench_vm(ctx, true, VS_VM_FILL_ZERO);
    VsVm *vms[2] = { src, dst };
    g_autofree char *addr = NULL;
    GError *err = NULL;
    VsMigInfo si, di;
    Result r;

    for (int i = 0; i < 2; i++) {
        VsMigParams p;

        vs_migration_get_params(vs_vm_migration(vms[i]), &p);
        p.max_bandwidth = 0;
        p.multifd = channels > 0;
        p.multifd_channels = (uint8_t)(channels ? channels : 2);
        p.multifd_compression = (uint8_t)comp;
        if (!vs_migration_set_params(vs_vm_migration(vms[i]), &p, &err)) {
            fprintf(stderr, "bench-multifd: %s\n", err->message);
            exit(1);
        }
    }
    if (!vs_vm_incoming(dst, "tcp:127.0.0.1:0", &err) ||
        !(addr = vs_migration_incoming_address(vs_vm_migration(dst))) ||
        !vs_migration_start(vs_vm_migration(src), addr, &err)) {
        fprintf(stderr, "bench-multifd: %s\n", err ? err->message : "no address");
        exit(1);
    }
    vs_migration_wait(vs_vm_migration(src), -1);
    vs_migration_wait(vs_vm_migration(dst), -1);
    vs_migration_query(vs_vm_migration(src), &si);
    vs_migration_query(vs_vm_migration(dst), &di);
    if (si.status != VS_MIG_STATUS_COMPLETED || di.status != VS_MIG_STATUS_COMPLETED ||
        vs_vm_block_digest(src, 0) != vs_vm_block_digest(dst, 0)) {
        fprintf(stderr, "bench-multifd: migration failed: %s / %s\n", si.error_desc,
                di.error_desc);
        exit(1);
    }
    r.gbps = (double)bench_size / ((double)si.total_time * 1e6);
    r.bytes = si.ram.transferred;
    talloc_free(ctx);
    return r;
}

/* ---- raw 2-connection page stream ---------------------------------------------------- */

typedef struct RawConn {
    int fd;
    const uint8_t *src;
    uint8_t *dst;
    uint64_t first_page, npages;
    bool ok;
} RawConn;

typedef struct RawHeader {
    uint64_t first_page;
    uint64_t npages;
} RawHeader;

static bool raw_writev(int fd, struct iovec *iov, int cnt)
{
    while (cnt > 0) {
        struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)cnt };
        ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        vs_iov_advance(&iov, &cnt, (size_t)n);
    }
    return true;
}

static bool raw_readv(int fd, struct iovec *iov, int cnt)
{
    while (cnt > 0) {
        ssize_t n = readv(fd, iov, cnt);

        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            return false;
        }
        vs_iov_advance(&iov, &cnt, (size_t)n);
    }
    return true;
}

static gpointer raw_send_main(gpointer opaque)
{
    RawConn *c = opaque;
    struct iovec iov[1 + RAW_BATCH];

    c->ok = true;
    for (uint64_t p = c->first_page; p < c->first_page + c->npages && c->ok; p += RAW_BATCH) {
        RawHeader h = { p, MIN((uint64_t)RAW_BATCH, c->first_page + c->npages - p) };

        iov[0] = (struct iovec){ &h, sizeof(h) };
        for (uint64_t i = 0; i < h.npages; i++) {
            iov[1 + i] = (struct iovec){ (void *)(uintptr_t)(c->src + (p + i) * PS), PS };
        }
        c->ok = raw_writev(c->fd, iov, 1 + (int)h.npages);
    }
    shutdown(c->fd, SHUT_WR);
    return NULL;
}

static gpointer raw_recv_main(gpointer opaque)
{
    RawConn *c = opaque;
    struct iovec iov[RAW_BATCH];
    RawHeader h;

    c->ok = true;
    for (;;) {
        ssize_t n = recv(c->fd, &h, sizeof(h), MSG_WAITALL);

        if (n == 0) {
            break;
        }
        if (n != (ssize_t)sizeof(h) || h.npages > RAW_BATCH) {
            c->ok = false;
            break;
        }
        for (uint64_t i = 0; i < h.npages; i++) {
            iov[i] = (struct iovec){ c->dst + (h.first_page + i) * PS, PS };
        }
        if (!raw_readv(c->fd, iov, (int)h.npages)) {
            c->ok = false;
            break;
        }
    }
    return NULL;
}

static void raw_socketpair_tcp(int *ret_out, int *ret_in)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t len = sizeof(sin);
    int l = socket(AF_INET, SOCK_STREAM, 0);

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || bind(l, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(l, 4) < 0 ||
        getsockname(l, (struct sockaddr *)&sin, &len) < 0) {
        perror("bench-multifd: listen");
        exit(1);
    }
    *ret_out = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(*ret_out, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
        perror("bench-multifd: connect");
        exit(1);
    }
    *ret_in = accept(l, NULL, NULL);
    close(l);
}

static double bench_raw(unsigned conns)
{
    TALLOC_CTX *ctx = talloc_new(NULL);
    VsVm *src = bench_vm(ctx, false, VS_VM_FILL_RANDOM);
    VsVm *dst = bench_vm(ctx, true, VS_VM_FILL_ZERO);
    VsRamBlock *sb = vs_ram_list_find(vs_vm_ram(src), "pc.ram");
    VsRamBlock *db = vs_ram_list_find(vs_vm_ram(dst), "pc.ram");
    RawConn out[8], in[8];
    GThread *t[16];
    uint64_t per = sb->npages / conns;
    int64_t start;
    double s;

    for (unsigned i = 0; i < conns; i++) {
        int fo, fi;

        raw_socketpair_tcp(&fo, &fi);
        out[i] = (RawConn){ fo, sb->host, NULL, i * per,
                            i == conns - 1 ? sb->npages - i * per : per, false };
        in[i] = (RawConn){ fi, NULL, db->host, 0, 0, false };
    }
    start = g_get_monotonic_time();
    for (unsigned i = 0; i < conns; i++) {
        t[2 * i] = g_thread_new("raw-in", raw_recv_main, &in[i]);
        t[2 * i + 1] = g_thread_new("raw-out", raw_send_main, &out[i]);
    }
    for (unsigned i = 0; i < 2 * conns; i++) {
        g_thread_join(t[i]);
    }
    s = (double)(g_get_monotonic_time() - start) / 1e6;
    for (unsigned i = 0; i < conns; i++) {
        if (!out[i].ok || !in[i].ok) {
            fprintf(stderr, "bench-multifd: raw stream failed\n");
            exit(1);
        }
        close(out[i].fd);
        close(in[i].fd);
    }
    if (vs_vm_block_digest(src, 0) != vs_vm_block_digest(dst, 0)) {
        fprintf(stderr, "bench-multifd: raw stream delivered different bytes\n");
        exit(1);
    }
    talloc_free(ctx);
    return (double)bench_size / s / 1e9;
}

typedef struct Row {
    const char *name;
    VsVmFill fill;
    unsigned channels;
    VsMultifdCompression comp;
    double gbps[16];
    uint64_t bytes;
} Row;

int main(int argc, char **argv)
{
    Row rows[] = {
        { "precopy (1 connection)", VS_VM_FILL_RANDOM, 0, VS_MULTIFD_COMPRESSION_NONE, { 0 }, 0 },
        { "multifd 1 channel", VS_VM_FILL_RANDOM, 1, VS_MULTIFD_COMPRESSION_NONE, { 0 }, 0 },
        { "multifd 2 channels", VS_VM_FILL_RANDOM, 2, VS_MULTIFD_COMPRESSION_NONE, { 0 }, 0 },
        { "multifd 4 channels", VS_VM_FILL_RANDOM, 4, VS_MULTIFD_COMPRESSION_NONE, { 0 }, 0 },
        { "multifd 2, compressible, none", VS_VM_FILL_PATTERN, 2, VS_MULTIFD_COMPRESSION_NONE,
          { 0 }, 0 },
        { "multifd 2, compressible, zstd", VS_VM_FILL_PATTERN, 2, VS_MULTIFD_COMPRESSION_ZSTD,
          { 0 }, 0 },
    };
    double raw[16], m[G_N_ELEMENTS(rows)], raw_m;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
            bench_size = strtoull(argv[++i], NULL, 10) << 20;
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            int runs = atoi(argv[++i]);

            bench_runs = MAX(1, MIN(16, runs));
        } else {
            fprintf(stderr, "usage: bench-multifd [--size MiB] [--runs N]\n");
            return 2;
        }
    }
    printf("bench-multifd: %" PRIu64 " MiB pc.ram over loopback TCP, median of %d runs\n",
           bench_size >> 20, bench_runs);
    /* Interleaved, so that slow phases of a shared machine hit every row alike. */
    for (int run = 0; run < bench_runs; run++) {
        for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
            Result r = bench_migrate(rows[i].fill, rows[i].channels, rows[i].comp);

            rows[i].gbps[run] = r.gbps;
            rows[i].bytes = r.bytes;
        }
        raw[run] = bench_raw(2);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
        m[i] = median(rows[i].gbps, bench_runs);
        printf("  %-32s %6.2f GB/s  %12" PRIu64 " bytes on the wire\n", rows[i].name, m[i],
               rows[i].bytes);
    }
    raw_m = median(raw, bench_runs);
    printf("  %-32s %6.2f GB/s\n", "raw page stream, 2 connections", raw_m);
    printf("ratios: multifd 2 / precopy %.2fx (goal >= 1.6x); multifd 2 / raw 2 %.0f%% "
           "(goal >= 70%%); multifd 4 / precopy %.2fx\n", m[2] / m[0], 100.0 * m[2] / raw_m,
           m[3] / m[0]);
    printf("zstd, compressible guest: %.1f%% of the bytes of no compression, %.2fx its time\n",
           100.0 * (double)rows[5].bytes / (double)rows[4].bytes, m[4] / m[5]);
    return 0;
}
