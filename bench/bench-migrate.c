/*
 * bench-migrate.c: how fast live migration moves RAM, against baselines
 * measured in the same run on the same machine.
 *
 * SPDX-License-Identifier: MIT
 *
 *   1. Zero-page scan (vs_ram_buffer_is_zero() per 4 KiB page over
 *      populated all-zero memory, the worst case) against memcpy of the
 *      same memory, into a 64 KiB ring and into a second buffer.
 *   2. RAM precopy over loopback TCP (the RAM sender writing QEMU 7.2 RAM
 *      records of random pages, the receiver applying them to a second
 *      buffer) against a raw page stream over the same kind of socket:
 *      16-byte headers and 4 KiB pages written 16 at a time with writev,
 *      read into 256 KiB and copied to their place.  Also the sender alone
 *      into `exec:cat > /dev/null`.
 *
 * Usage: bench-migrate [--size MiB] [--runs N]     (default 256 MiB, 3 runs)
 * Each figure is the median of the runs; the ratios are of medians.
 *
 * Helpers for bench-qemu-throughput.py, which runs `vstate vm` and QEMU 7.2
 * side by side (docs/bench.md):
 *   bench-migrate --random-file PATH --size MiB [--seed N]
 *       writes the bytes `vstate vm --fill random --seed N` puts in pc.ram,
 *       for QEMU's `-device loader,file=PATH,addr=0`
 *   bench-migrate --sink tcp:127.0.0.1:PORT
 *       accepts connections one after the other and discards what they
 *       send (1 MiB reads), printing the bytes of each
 *   bench-migrate --raw-to URI --size MiB [--seed N]
 *       sends the raw page stream of that RAM content to `exec:CMD` or
 *       `tcp:127.0.0.1:PORT` and prints "raw: BYTES bytes in US us"
 */
#include "migration/channel.h"
#include "migration/ram.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#define PAGE VS_RAM_PAGE_SIZE
#define RAW_BATCH 16
#define RAW_READ (256 * 1024)

static size_t bench_size = 256u << 20;
static int bench_runs = 3;
static uint64_t bench_seed = 1;

static uint8_t *bench_map(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    return p;
}

static void bench_fill_random(uint8_t *p, size_t len)
{
    uint64_t s = 0x12345678abcdefull;

    for (size_t i = 0; i + 8 <= len; i += 8) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        memcpy(p + i, &s, 8);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* The median of @runs timings of @fn, as GB/s of @bytes. */
static double bench_median(double (*fn)(void *), void *opaque)
{
    double v[16];
    int n = bench_runs < 16 ? bench_runs : 16;

    for (int i = 0; i < n; i++) {
        v[i] = fn(opaque);
    }
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return v[n / 2];
}

static double gbps(size_t bytes, int64_t us)
{
    return us > 0 ? (double)bytes / (double)us / 1000.0 : 0;
}

/* ---- 1. zero scan vs memcpy ------------------------------------------------------ */

typedef struct ScanCtx {
    uint8_t *src;
    uint8_t *dst;
    uint8_t ring[64 * 1024];
    size_t zero_pages;
} ScanCtx;

static double run_zero_scan(void *opaque)
{
    ScanCtx *c = opaque;
    int64_t t0 = g_get_monotonic_time();

    c->zero_pages = 0;
    for (size_t off = 0; off < bench_size; off += PAGE) {
        c->zero_pages += vs_ram_buffer_is_zero(c->src + off, PAGE);
    }
    return gbps(bench_size, g_get_monotonic_time() - t0);
}

static double run_memcpy_ring(void *opaque)
{
    ScanCtx *c = opaque;
    int64_t t0 = g_get_monotonic_time();

    for (size_t off = 0; off < bench_size; off += PAGE) {
        memcpy(c->ring + off % sizeof(c->ring), c->src + off, PAGE);
    }
    __asm__ volatile("" : : "r"(c->ring) : "memory");
    return gbps(bench_size, g_get_monotonic_time() - t0);
}

static double run_memcpy_big(void *opaque)
{
    ScanCtx *c = opaque;
    int64_t t0 = g_get_monotonic_time();

    for (size_t off = 0; off < bench_size; off += PAGE) {
        memcpy(c->dst + off, c->src + off, PAGE);
    }
    __asm__ volatile("" : : "r"(c->dst) : "memory");
    return gbps(bench_size, g_get_monotonic_time() - t0);
}

static void bench_zero_scan(void)
{
    ScanCtx *c = g_new0(ScanCtx, 1);
    double scan, ring, big;

    c->src = bench_map(bench_size);
    c->dst = bench_map(bench_size);
    /* Real pages that hold zeros, not the shared zero page. */
    memset(c->src, 1, bench_size);
    memset(c->src, 0, bench_size);
    memset(c->dst, 1, bench_size);
    scan = bench_median(run_zero_scan, c);
    ring = bench_median(run_memcpy_ring, c);
    big = bench_median(run_memcpy_big, c);
    printf("zero-page scan:      %6.2f GB/s  (%zu of %zu pages zero)\n", scan, c->zero_pages,
           bench_size / PAGE);
    printf("memcpy to 64 KiB:    %6.2f GB/s  -> scan/memcpy %.2f\n", ring, scan / ring);
    printf("memcpy to buffer:    %6.2f GB/s  -> scan/memcpy %.2f\n", big, scan / big);
    munmap(c->src, bench_size);
    munmap(c->dst, bench_size);
    g_free(c);
}

/* ---- 2. RAM records vs a raw page stream ------------------------------------------- */

typedef struct StreamCtx {
    uint8_t *src;
    uint8_t *dst;
    const char *uri;             /* where the sender connects */
    VsChannelListener *l;        /* NULL: no receiver (exec:) */
    bool raw;
    bool ok;
} StreamCtx;

static gpointer raw_receive(gpointer opaque)
{
    StreamCtx *c = opaque;
    TALLOC_CTX *ctx = talloc_new(NULL);
    VsChannel *ch = vs_channel_accept(c->l, ctx, NULL);
    VsQemuFile *f = ch ? vs_channel_file(ch) : NULL;
    uint8_t *buf = g_malloc(RAW_READ);
    size_t have = 0, pos = 0, pages = 0;

    /* Parse [u64 offset, u64 len][page] records out of 256 KiB reads. */
    while (f && pages < bench_size / PAGE) {
        size_t n = vs_qemufile_get_buffer(f, buf + have, RAW_READ - have);

        if (n == 0) {
            break;
        }
        have += n;
        pos = 0;
        while (have - pos >= 16 + PAGE) {
            uint64_t off;

            memcpy(&off, buf + pos, 8);
            memcpy(c->dst + off, buf + pos + 16, PAGE);
            pos += 16 + PAGE;
            pages++;
        }
        memmove(buf, buf + pos, have - pos);
        have -= pos;
    }
    c->ok = pages == bench_size / PAGE && memcmp(c->src, c->dst, bench_size) == 0;
    g_free(buf);
    talloc_free(ctx);
    return NULL;
}

/* The raw sender writes with writev straight from guest memory. */
static bool raw_send(StreamCtx *c, int fd)
{
    uint64_t hdr[RAW_BATCH][2];
    struct iovec iov[2 * RAW_BATCH];

    for (size_t off = 0; off < bench_size; off += RAW_BATCH * PAGE) {
        size_t n = 0, total = 0, done = 0;

        for (size_t k = 0; k < RAW_BATCH && off + k * PAGE < bench_size; k++, n++) {
            hdr[k][0] = off + k * PAGE;
            hdr[k][1] = PAGE;
            iov[2 * k] = (struct iovec){ hdr[k], 16 };
            iov[2 * k + 1] = (struct iovec){ c->src + off + k * PAGE, PAGE };
            total += 16 + PAGE;
        }
        while (done < total) {
            struct iovec *v = iov;
            size_t skip = done, cnt = 2 * n;
            ssize_t w;

            while (skip >= v->iov_len) {
                skip -= v->iov_len;
                v++;
                cnt--;
            }
            v->iov_base = (uint8_t *)v->iov_base + skip;
            v->iov_len -= skip;
            w = writev(fd, v, (int)cnt);
            if (w <= 0) {
                return false;
            }
            done += (size_t)w;
        }
    }
    return true;
}

static gpointer ram_receive(gpointer opaque)
{
    StreamCtx *c = opaque;
    TALLOC_CTX *ctx = talloc_new(NULL);
    VsChannel *ch = vs_channel_accept(c->l, ctx, NULL);
    VsRamList *list = vs_ram_list_new(ctx);
    VsRamReceiver rr;
    bool ok = ch != NULL;

    vs_ram_list_add(list, "pc.ram", c->dst, bench_size, NULL);
    vs_ram_receiver_init(&rr, list);
    /* setup, one full pass, completion */
    for (int i = 0; ok && i < 3; i++) {
        ok = vs_ram_receiver_load(&rr, vs_channel_file(ch), NULL);
    }
    c->ok = ok && memcmp(c->src, c->dst, bench_size) == 0;
    talloc_free(ctx);
    return NULL;
}

static bool ram_send(StreamCtx *c, VsChannel *ch)
{
    TALLOC_CTX *ctx = talloc_new(NULL);
    VsRamList *list = vs_ram_list_new(ctx);
    VsDirtyTracker *t;
    VsRamSender *rs;
    VsQemuFile *f = vs_channel_file(ch);
    bool ok;

    vs_ram_list_add(list, "pc.ram", c->src, bench_size, NULL);
    t = vs_dirty_tracker_new(ctx, list, VS_DIRTY_EXPLICIT, NULL);
    rs = vs_ram_sender_new(ctx, list, t);
    ok = vs_ram_sender_setup(rs, f, NULL);
    vs_ram_sender_iterate(rs, f, 0);
    ok = ok && vs_ram_sender_complete(rs, f, NULL) && vs_qemufile_flush(f, NULL);
    talloc_free(ctx);
    return ok;
}

/* A plain TCP connection to the listener, for the raw stream's writev. */
static int raw_connect(const char *uri)
{
    const char *port = strrchr(uri, ':');
    struct sockaddr_in sin = { .sin_family = AF_INET };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sin.sin_port = htons((uint16_t)atoi(port + 1));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
        perror("connect");
        exit(2);
    }
    return fd;
}

static double run_stream(void *opaque)
{
    StreamCtx *c = opaque;
    TALLOC_CTX *ctx = talloc_new(NULL);
    GThread *rx = NULL;
    int64_t t0;
    bool ok;

    memset(c->dst, 0, bench_size);
    c->ok = true;
    if (c->l) {
        rx = g_thread_new("rx", c->raw ? raw_receive : ram_receive, c);
    }
    t0 = g_get_monotonic_time();
    if (c->raw) {
        int fd = raw_connect(c->uri);

        ok = raw_send(c, fd);
        close(fd);
    } else {
        VsChannel *ch = vs_channel_connect(ctx, c->uri, NULL);

        ok = ch && ram_send(c, ch) && vs_channel_close(ch, NULL);
    }
    if (rx) {
        g_thread_join(rx);
    }
    t0 = g_get_monotonic_time() - t0;
    talloc_free(ctx);
    if (!ok || !c->ok) {
        fprintf(stderr, "bench-migrate: the %s stream to %s failed\n", c->raw ? "raw" : "RAM",
                c->uri);
        exit(2);
    }
    return gbps(bench_size, t0);
}

static void bench_streams(void)
{
    TALLOC_CTX *ctx = talloc_new(NULL);
    StreamCtx c = { 0 };
    double ram_tcp, raw_tcp, ram_exec;

    c.src = bench_map(bench_size);
    c.dst = bench_map(bench_size);
    bench_fill_random(c.src, bench_size);
    c.l = vs_channel_listen(ctx, "tcp:127.0.0.1:0", NULL);
    c.uri = vs_channel_listener_address(c.l);
    raw_tcp = bench_median(run_stream, (c.raw = true, &c));
    ram_tcp = bench_median(run_stream, (c.raw = false, &c));
    c.l = NULL;
    c.uri = "exec:cat > /dev/null";
    ram_exec = bench_median(run_stream, &c);
    printf("raw page stream, TCP:  %6.2f GB/s  (16-byte headers, writev of 16 pages)\n",
           raw_tcp);
    printf("RAM precopy, TCP:      %6.2f GB/s  -> RAM/raw %.2f\n", ram_tcp, ram_tcp / raw_tcp);
    printf("RAM precopy, exec:cat > /dev/null: %6.2f GB/s (sender only)\n", ram_exec);
    munmap(c.src, bench_size);
    munmap(c.dst, bench_size);
    talloc_free(ctx);
}

/* ---- helpers for bench-qemu-throughput.py ------------------------------------------- */

/* xorshift64*, as the demo VM fills RAM (vm/vm.c). */
static uint64_t vm_like_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dull;
}

/* The content of pc.ram under `vstate vm --fill random --seed @seed`: pc.ram
 * is the VM's first block, filled with seed + 1. */
static uint8_t *vm_like_ram(uint64_t seed)
{
    uint8_t *p = bench_map(bench_size);
    uint64_t rng = (seed + 1) * 0x9e3779b97f4a7c15ull + 7;

    for (size_t i = 0; i + 8 <= bench_size; i += 8) {
        uint64_t v = vm_like_rand(&rng);

        memcpy(p + i, &v, 8);
    }
    return p;
}

static bool write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n <= 0 && errno != EINTR) {
            return false;
        }
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        }
    }
    return true;
}

/* Prints the digest `vstate vm --describe` prints for pc.ram, so that a
 * caller can check that both hold the same bytes. */
static int cmd_random_file(const char *path)
{
    uint8_t *p = vm_like_ram(bench_seed);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0 || !write_all(fd, p, bench_size) || close(fd) < 0) {
        fprintf(stderr, "bench-migrate: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    printf("ram pc.ram %zu %016" PRIx64 "\n", bench_size, vs_ram_digest(p, bench_size));
    munmap(p, bench_size);
    return 0;
}

/* A TCP listener on 127.0.0.1:PORT from "tcp:127.0.0.1:PORT". */
static int sink_listen(const char *uri)
{
    const char *port = strrchr(uri, ':');
    struct sockaddr_in sin = { .sin_family = AF_INET };
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (strncmp(uri, "tcp:", 4) != 0 || !port) {
        fprintf(stderr, "bench-migrate: --sink wants tcp:127.0.0.1:PORT\n");
        exit(2);
    }
    sin.sin_port = htons((uint16_t)atoi(port + 1));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 4) < 0) {
        perror("bench-migrate: sink");
        exit(2);
    }
    return fd;
}

/* The same reader for every sender: 1 MiB reads, nothing kept. */
static int cmd_sink(const char *uri)
{
    int lfd = sink_listen(uri);
    size_t cap = 1u << 20;
    uint8_t *buf = g_malloc(cap);

    printf("sink: listening on %s\n", uri);
    fflush(stdout);
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        uint64_t total = 0;
        ssize_t n;

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            perror("bench-migrate: accept");
            return 1;
        }
        while ((n = read(fd, buf, cap)) != 0) {
            if (n < 0 && errno != EINTR) {
                break;
            }
            total += n > 0 ? (uint64_t)n : 0;
        }
        close(fd);
        printf("sink: %" PRIu64 " bytes\n", total);
        fflush(stdout);
    }
}

/* The raw page stream of the VM's RAM content to a sink; exec: through a
 * pipe as large as the migration channel's. */
static int cmd_raw_to(const char *uri)
{
    StreamCtx c = { .src = vm_like_ram(bench_seed) };
    bool exec = strncmp(uri, "exec:", 5) == 0;
    FILE *child = NULL;
    int64_t t0;
    bool ok;
    int fd;

    signal(SIGPIPE, SIG_IGN);
    t0 = g_get_monotonic_time();
    if (exec) {
        child = popen(uri + 5, "w");
        if (!child) {
            perror("bench-migrate: popen");
            return 2;
        }
        fd = fileno(child);
        (void)fcntl(fd, F_SETPIPE_SZ, 1024 * 1024);
    } else {
        fd = raw_connect(uri);
    }
    ok = raw_send(&c, fd);
    ok = (exec ? pclose(child) == 0 : close(fd) == 0) && ok;
    t0 = g_get_monotonic_time() - t0;
    if (!ok) {
        fprintf(stderr, "bench-migrate: the raw stream to %s failed\n", uri);
        return 1;
    }
    printf("raw: %zu bytes in %" PRId64 " us\n", bench_size / PAGE * (16 + PAGE), t0);
    munmap(c.src, bench_size);
    return 0;
}

int main(int argc, char **argv)
{
    const char *random_file = NULL, *sink = NULL, *raw_to = NULL;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--size") == 0) {
            bench_size = (size_t)strtoull(argv[i + 1], NULL, 10) << 20;
        } else if (strcmp(argv[i], "--runs") == 0) {
            bench_runs = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--seed") == 0) {
            bench_seed = strtoull(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--random-file") == 0) {
            random_file = argv[i + 1];
        } else if (strcmp(argv[i], "--sink") == 0) {
            sink = argv[i + 1];
        } else if (strcmp(argv[i], "--raw-to") == 0) {
            raw_to = argv[i + 1];
        } else {
            fprintf(stderr, "usage: bench-migrate [--size MiB] [--runs N]\n"
                            "       bench-migrate --random-file PATH [--size MiB] [--seed N]\n"
                            "       bench-migrate --sink tcp:127.0.0.1:PORT\n"
                            "       bench-migrate --raw-to URI [--size MiB] [--seed N]\n");
            return 2;
        }
    }
    if (bench_size == 0 || bench_runs < 1) {
        fprintf(stderr, "bench-migrate: --size and --runs must be positive\n");
        return 2;
    }
    if (random_file) {
        return cmd_random_file(random_file);
    }
    if (sink) {
        return cmd_sink(sink);
    }
    if (raw_to) {
        return cmd_raw_to(raw_to);
    }
    printf("bench-migrate: %zu MiB, median of %d runs\n", bench_size >> 20, bench_runs);
    bench_zero_scan();
    bench_streams();
    return 0;
}
