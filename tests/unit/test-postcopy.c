/*
 * test-postcopy.c: postcopy between two demo VMs in one process, over
 * TCP: a workload that outruns a bandwidth-limited link completes in
 * postcopy, with userfaultfd and with the software fallback; the switch
 * after N rounds; a fault storm of threads reading the same and different
 * pages on the destination; the connection cut at random points of
 * postcopy (through a throttling proxy), then recovered; a cut without
 * recovery, which leaves the destination paused with its pages intact;
 * postcopy-preempt (requested pages on a second connection), with a cut
 * and recovery of both channels, and the request latency with and
 * without it as a measure; max-postcopy-bandwidth pacing the sweep; the
 * capability combinations refused.
 *
 * SPDX-License-Identifier: MIT
 *
 * Every test prints the destination's fault mode.  After a postcopy the
 * destination's pc.ram must equal the source's final pc.ram with the
 * destination workload's own writes replayed on top, every other block
 * must equal the source's, and the device sections must be the same bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "test-helpers.h"

#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "migration/postcopy.h"
#include "vm/vm.h"

#define MiB (1024ull * 1024)
#define RAM_SIZE (64 * MiB)
#define WAIT_US (60ll * 1000 * 1000)

static VsVm *new_vm(void **state, bool incoming, uint64_t dirty_rate, uint64_t seed)
{
    VsVmConfig cfg = VS_VM_CONFIG_INIT;
    GError *err = NULL;
    VsVm *vm;

    cfg.ram_size = RAM_SIZE;
    cfg.fill = VS_VM_FILL_RANDOM;
    cfg.dirty_rate = dirty_rate;
    cfg.incoming = incoming;
    cfg.seed = seed;
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

/* postcopy-preempt and max-postcopy-bandwidth of the next set_postcopy(). */
static bool opt_preempt;
static uint64_t opt_postcopy_bw;

static void set_postcopy(VsVm *vm, uint64_t bw, uint32_t after_rounds, bool blocktime)
{
    GError *err = NULL;
    VsMigParams p;

    vs_migration_get_params(vs_vm_migration(vm), &p);
    p.max_bandwidth = bw;
    p.downtime_limit = 50;
    p.postcopy_ram = true;
    p.postcopy_blocktime = blocktime;
    p.postcopy_after_rounds = after_rounds;
    p.postcopy_preempt = opt_preempt;
    p.max_postcopy_bandwidth = opt_postcopy_bw;
    if (!vs_migration_set_params(vs_vm_migration(vm), &p, &err)) {
        print_error("%s\n", err->message);
        fail();
    }
}

static VsMigStatus wait_status(VsVm *vm, VsMigStatus want, int64_t timeout_us)
{
    int64_t until = g_get_monotonic_time() + timeout_us;
    VsMigInfo info;

    do {
        vs_migration_query(vs_vm_migration(vm), &info);
        if (info.status == want) {
            break;
        }
        g_usleep(2000);
    } while (g_get_monotonic_time() < until);
    return info.status;
}

static void expect_completed(VsVm *src, VsVm *dst)
{
    VsMigInfo si, di;

    vs_migration_wait(vs_vm_migration(src), WAIT_US);
    vs_migration_wait(vs_vm_migration(dst), WAIT_US);
    vs_migration_query(vs_vm_migration(src), &si);
    vs_migration_query(vs_vm_migration(dst), &di);
    if (si.status != VS_MIG_STATUS_COMPLETED || di.status != VS_MIG_STATUS_COMPLETED) {
        print_error("source %s (%s), destination %s (%s)\n", vs_mig_status_name(si.status),
                    si.error_desc, vs_mig_status_name(di.status), di.error_desc);
        fail();
    }
}

static void print_mode(VsVm *dst)
{
    const char *note = NULL;
    const char *mode = vs_postcopy_mode(vs_migration_postcopy(vs_vm_migration(dst)), &note);

    printf("# postcopy fault mode: %s%s%s\n", mode ? mode : "none", note ? " - " : "",
           note ? note : "");
}

/* The destination holds the source's final RAM plus its own workload's writes. */
static void assert_postcopy_result(void **state, VsVm *src, VsVm *dst, const VsVmConfig *dcfg)
{
    VsRamList *sl = vs_vm_ram(src), *dl = vs_vm_ram(dst);
    uint8_t *expect;
    uint8_t *sd = NULL, *dd = NULL;
    size_t sl_len = 0, dl_len = 0;

    vs_vm_stop(dst);
    for (size_t i = 0; i < vs_ram_list_count(sl); i++) {
        VsRamBlock *sb = vs_ram_list_get(sl, i), *db = vs_ram_list_get(dl, i);

        assert_string_equal(sb->save.name, db->save.name);
        if (strcmp(sb->save.name, "pc.ram") == 0) {
            expect = g_malloc(sb->save.length);
            memcpy(expect, sb->host, sb->save.length);
            vs_vm_replay_workload(dcfg, vs_vm_pages_written(dst), expect);
            if (memcmp(expect, db->host, sb->save.length) != 0) {
                print_error("pc.ram differs from the source's plus the destination's writes\n");
                g_free(expect);
                fail();
            }
            g_free(expect);
        } else if (vs_vm_block_digest(src, i) != vs_vm_block_digest(dst, i)) {
            print_error("RAM block %s differs\n", sb->save.name);
            fail();
        }
    }
    assert_true(vs_migration_device_sections(vs_vm_migration(src), *state, &sd, &sl_len));
    assert_true(vs_migration_device_sections(vs_vm_migration(dst), *state, &dd, &dl_len));
    assert_int_equal(sl_len, dl_len);
    assert_memory_equal(sd, dd, sl_len);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/* Request to placement on the destination, p50 and p99 (us); false when none was timed. */
static bool request_latency(VsVm *dst, uint32_t *ret_p50, uint32_t *ret_p99, size_t *ret_n)
{
    uint32_t *lat = g_new(uint32_t, 8192);
    size_t n = vs_postcopy_request_latencies(vs_migration_postcopy(vs_vm_migration(dst)), lat,
                                             8192);

    *ret_n = n;
    if (n) {
        qsort(lat, n, sizeof(lat[0]), cmp_u32);
        *ret_p50 = lat[n / 2];
        *ret_p99 = lat[MIN(n - 1, n * 99 / 100)];
    }
    g_free(lat);
    return n > 0;
}

/* The last userfaultfd run's figures without and with preempt, for the comparison line. */
static uint32_t lat_plain[2], lat_preempt[2];
static uint32_t lat_storm_plain[2], lat_storm_preempt[2];

/*
 * A source dirtying 200 MB/s over a 32 MiB/s link never converges; the
 * switch to postcopy finishes it while the destination's workload runs.
 */
static void run_postcopy(void **state, bool software, uint32_t after_rounds)
{
    VsVmConfig dcfg = VS_VM_CONFIG_INIT;
    VsVm *src, *dst;
    GError *err = NULL;
    g_autofree char *addr = NULL;
    VsPostcopyStats ps;
    VsMigInfo si, di;

    if (software) {
        g_setenv("VSTATE_POSTCOPY_UFFD", "off", TRUE);
    } else {
        g_unsetenv("VSTATE_POSTCOPY_UFFD");
    }
    src = new_vm(state, false, 200 * MiB, 7);
    dst = new_vm(state, true, 20 * MiB, 99);
    dcfg.ram_size = RAM_SIZE;
    dcfg.fill = VS_VM_FILL_RANDOM;
    dcfg.dirty_rate = 20 * MiB;
    dcfg.seed = 99;
    set_postcopy(src, 32 * MiB, after_rounds, false);
    set_postcopy(dst, 0, 0, true);
    assert_true(vs_vm_incoming(dst, "tcp:127.0.0.1:0", &err));
    addr = vs_migration_incoming_address(vs_vm_migration(dst));
    assert_true(vs_migration_start(vs_vm_migration(src), addr, &err));
    if (!after_rounds) {
        /* Precopy runs a while, falling behind, then the switch. */
        assert_int_equal(wait_status(src, VS_MIG_STATUS_ACTIVE, WAIT_US), VS_MIG_STATUS_ACTIVE);
        g_usleep(600 * 1000);
        vs_migration_query(vs_vm_migration(src), &si);
        assert_int_equal(si.status, VS_MIG_STATUS_ACTIVE);
        assert_true(vs_postcopy_start(vs_migration_postcopy(vs_vm_migration(src)), &err));
    }
    expect_completed(src, dst);
    print_mode(dst);
    assert_string_equal(vs_postcopy_mode(vs_migration_postcopy(vs_vm_migration(dst)), NULL),
                        software ? "software" : "userfaultfd");
    vs_migration_query(vs_vm_migration(src), &si);
    vs_migration_query(vs_vm_migration(dst), &di);
    vs_postcopy_stats(vs_migration_postcopy(vs_vm_migration(dst)), &ps);
    printf("# postcopy: %" PRIu64 " requests, %" PRIu64 " postcopy bytes, %" PRIu64
           " pages placed in %" PRIu64 " placements; destination wrote %" PRIu64
           " pages; blocktime %u ms\n", si.ram.postcopy_requests, si.ram.postcopy_bytes,
           ps.placed_pages, ps.placed_batches, vs_vm_pages_written(dst),
           di.postcopy_blocktime);
    assert_true(si.ram.postcopy_bytes > 0);
    assert_true(ps.placed_pages > 0);
    assert_true(di.has_postcopy_blocktime);
    assert_true(di.n_postcopy_vcpu_blocktime <= 1);
    /* The destination's guest ran during postcopy, so it asked for pages. */
    assert_true(vs_vm_pages_written(dst) > 0);
    assert_true(si.ram.postcopy_requests > 0);
    assert_postcopy_result(state, src, dst, &dcfg);
    {
        VsPostcopyStats sps;
        uint32_t p50 = 0, p99 = 0;
        size_t n = 0;

        vs_postcopy_stats(vs_migration_postcopy(vs_vm_migration(src)), &sps);
        if (request_latency(dst, &p50, &p99, &n)) {
            printf("# request latency%s: %zu requests, p50 %" PRIu32 " us, p99 %" PRIu32
                   " us; %" PRIu64 " pages on the preempt channel\n",
                   opt_preempt ? " with preempt" : " without preempt", n, p50, p99,
                   ps.preempt_pages);
            if (!software && !after_rounds) {
                uint32_t *keep = opt_preempt ? lat_preempt : lat_plain;

                keep[0] = p50;
                keep[1] = p99;
            }
        }
        if (opt_preempt) {
            /* Requested pages went on the preempt channel, and arrived there. */
            assert_true(sps.preempt_pages > 0);
            assert_true(ps.preempt_pages > 0);
            assert_true(ps.preempt_pages <= sps.preempt_pages);
        } else {
            assert_int_equal(sps.preempt_pages, 0);
            assert_int_equal(ps.preempt_pages, 0);
        }
    }
    g_unsetenv("VSTATE_POSTCOPY_UFFD");
}

static void test_postcopy_uffd(void **state)
{
    run_postcopy(state, false, 0);
}

static void test_postcopy_software(void **state)
{
    run_postcopy(state, true, 0);
}

static void test_postcopy_after_rounds(void **state)
{
    run_postcopy(state, false, 1);
}

static void test_preempt_uffd(void **state)
{
    opt_preempt = true;
    run_postcopy(state, false, 0);
    opt_preempt = false;
    if (lat_plain[0] && lat_preempt[0]) {
        /* A measure, not a check: timing depends on the machine. */
        printf("# request latency p50/p99 (us): without preempt %" PRIu32 "/%" PRIu32
               ", with preempt %" PRIu32 "/%" PRIu32 "\n", lat_plain[0], lat_plain[1],
               lat_preempt[0], lat_preempt[1]);
    }
}

static void test_preempt_software(void **state)
{
    opt_preempt = true;
    run_postcopy(state, true, 0);
    opt_preempt = false;
}

/* ---- fault storm --------------------------------------------------------------------------- */

#define STORM_THREADS 8
#define STORM_TOUCHES 400

typedef struct Storm {
    VsVm *dst;
    VsRamBlock *src_ram;
    unsigned index;
    gint *go;
    gint mismatches;
} Storm;

/* Reads pages: even touches on a few pages all threads share, odd ones on its own. */
static gpointer storm_thread(gpointer opaque)
{
    Storm *s = opaque;
    VsRamBlock *b = vs_ram_list_find(vs_vm_ram(s->dst), "pc.ram");
    VsPostcopy *pc = vs_migration_postcopy(vs_vm_migration(s->dst));
    uint64_t rng = 0x9e3779b97f4a7c15ull * (s->index + 1);

    while (!g_atomic_int_get(s->go)) {
        g_usleep(100);
    }
    for (unsigned i = 0; i < STORM_TOUCHES; i++) {
        uint64_t page;

        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        page = (i % 2) ? ((rng >> 20) % (b->npages / STORM_THREADS)) * STORM_THREADS + s->index
                       : (rng >> 20) % 16;
        vs_postcopy_access(pc, b, page * VS_RAM_PAGE_SIZE);
        if (memcmp(b->host + page * VS_RAM_PAGE_SIZE,
                   s->src_ram->host + page * VS_RAM_PAGE_SIZE, VS_RAM_PAGE_SIZE) != 0) {
            g_atomic_int_inc(&s->mismatches);
        }
    }
    return NULL;
}

static void run_storm(void **state, bool software)
{
    VsVm *src, *dst;
    GError *err = NULL;
    g_autofree char *addr = NULL;
    GThread *threads[STORM_THREADS];
    Storm storm[STORM_THREADS];
    gint go = 0;
    int mismatches = 0;

    if (software) {
        g_setenv("VSTATE_POSTCOPY_UFFD", "off", TRUE);
    } else {
        g_unsetenv("VSTATE_POSTCOPY_UFFD");
    }
    src = new_vm(state, false, 100 * MiB, 11);
    dst = new_vm(state, true, 0, 12);
    /* Slow postcopy: the storm runs while most pages are still missing. */
    set_postcopy(src, 16 * MiB, 0, false);
    set_postcopy(dst, 0, 0, false);
    assert_true(vs_vm_incoming(dst, "tcp:127.0.0.1:0", &err));
    addr = vs_migration_incoming_address(vs_vm_migration(dst));
    assert_true(vs_migration_start(vs_vm_migration(src), addr, &err));
    assert_int_equal(wait_status(src, VS_MIG_STATUS_ACTIVE, WAIT_US), VS_MIG_STATUS_ACTIVE);
    g_usleep(200 * 1000);
    for (unsigned i = 0; i < STORM_THREADS; i++) {
        storm[i] = (Storm){ .dst = dst, .index = i, .go = &go,
                            .src_ram = vs_ram_list_find(vs_vm_ram(src), "pc.ram") };
        threads[i] = g_thread_new("storm", storm_thread, &storm[i]);
    }
    assert_true(vs_postcopy_start(vs_migration_postcopy(vs_vm_migration(src)), &err));
    /* The source is stopped for good once the destination runs. */
    assert_int_equal(wait_status(dst, VS_MIG_STATUS_POSTCOPY_ACTIVE, WAIT_US),
                     VS_MIG_STATUS_POSTCOPY_ACTIVE);
    g_usleep(20 * 1000);
    g_atomic_int_set(&go, 1);
    for (unsigned i = 0; i < STORM_THREADS; i++) {
        g_thread_join(threads[i]);
        mismatches += g_atomic_int_get(&storm[i].mismatches);
    }
    expect_completed(src, dst);
    print_mode(dst);
    printf("# fault storm: %d threads x %d reads, %d mismatches\n", STORM_THREADS,
           STORM_TOUCHES, mismatches);
    assert_int_equal(mismatches, 0);
    {
        uint32_t p50 = 0, p99 = 0;
        size_t n = 0;

        if (request_latency(dst, &p50, &p99, &n)) {
            uint32_t *keep = opt_preempt ? lat_storm_preempt : lat_storm_plain;

            printf("# fault storm request latency%s: %zu requests, p50 %" PRIu32 " us, p99 %"
                   PRIu32 " us\n", opt_preempt ? " with preempt" : " without preempt", n, p50,
                   p99);
            if (!software) {
                keep[0] = p50;
                keep[1] = p99;
            }
        }
    }
    for (size_t i = 0; i < vs_ram_list_count(vs_vm_ram(src)); i++) {
        assert_true(vs_vm_block_digest(src, i) == vs_vm_block_digest(dst, i));
    }
    g_unsetenv("VSTATE_POSTCOPY_UFFD");
}

static void test_storm_uffd(void **state)
{
    run_storm(state, false);
}

static void test_storm_software(void **state)
{
    run_storm(state, true);
}

static void test_storm_preempt(void **state)
{
    opt_preempt = true;
    run_storm(state, false);
    opt_preempt = false;
    if (lat_storm_plain[0] && lat_storm_preempt[0]) {
        /* A measure, not a check: timing depends on the machine. */
        printf("# fault storm request latency p50/p99 (us): without preempt %" PRIu32 "/%"
               PRIu32 ", with preempt %" PRIu32 "/%" PRIu32 "\n", lat_storm_plain[0],
               lat_storm_plain[1], lat_storm_preempt[0], lat_storm_preempt[1]);
    }
}

/* ---- recovery ---------------------------------------------------------------------------------- */

/*
 * A proxy between source and destination that passes about 40 MiB/s on
 * each connection (so postcopy lasts a second or two) and can cut them
 * all: the main channel and, with postcopy-preempt, the preempt channel.
 */
#define PROXY_MAX_CONN 4

typedef struct Proxy Proxy;

typedef struct ProxyConn {
    Proxy *px;
    int a;                       /* from the source */
    int b;                       /* to the destination */
    GThread *thread;
} ProxyConn;

struct Proxy {
    int listen_fd;
    char *dst_path;              /* unix socket of the destination */
    GThread *thread;
    gint cut;
    ProxyConn conns[PROXY_MAX_CONN];
    unsigned n_conns;
};

static int unix_socket(const char *path, bool listen_on)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    if (listen_on) {
        unlink(path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
            close(fd);
            return -1;
        }
    } else if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static gpointer proxy_conn_thread(gpointer opaque)
{
    ProxyConn *pcn = opaque;
    Proxy *px = pcn->px;
    int a = pcn->a, b = pcn->b;
    uint8_t *buf = g_malloc(2 * 65536);
    int64_t start = g_get_monotonic_time();
    uint64_t fwd = 0;

    while (a >= 0 && b >= 0 && !g_atomic_int_get(&px->cut)) {
        struct pollfd fds[2] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN } };

        if (poll(fds, 2, 20) <= 0) {
            continue;
        }
        for (int i = 0; i < 2; i++) {
            ssize_t n;

            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                continue;
            }
            n = read(fds[i].fd, buf + i * 65536, 65536);
            if (n <= 0 || write(fds[!i].fd, buf + i * 65536, (size_t)n) != n) {
                g_atomic_int_set(&px->cut, 1);
                break;
            }
            if (i == 0) {
                /* About 40 MiB/s from source to destination. */
                int64_t due = start + (int64_t)((fwd += (uint64_t)n) / 40);

                while (g_get_monotonic_time() < due && !g_atomic_int_get(&px->cut)) {
                    g_usleep(500);
                }
            }
        }
    }
    /* A cut: both ends see every connection break. */
    if (a >= 0) {
        shutdown(a, SHUT_RDWR);
        close(a);
    }
    if (b >= 0) {
        shutdown(b, SHUT_RDWR);
        close(b);
    }
    g_free(buf);
    return NULL;
}

static gpointer proxy_thread(gpointer opaque)
{
    Proxy *px = opaque;

    while (!g_atomic_int_get(&px->cut) && px->n_conns < PROXY_MAX_CONN) {
        struct pollfd pfd = { .fd = px->listen_fd, .events = POLLIN };
        ProxyConn *pcn;
        int a;

        if (poll(&pfd, 1, 20) <= 0) {
            continue;
        }
        a = accept(px->listen_fd, NULL, NULL);
        if (a < 0) {
            continue;
        }
        pcn = &px->conns[px->n_conns++];
        pcn->px = px;
        pcn->a = a;
        /* Connected here, in order: the destination tells its channels by arrival order. */
        pcn->b = unix_socket(px->dst_path, false);
        pcn->thread = g_thread_new("proxy-conn", proxy_conn_thread, pcn);
    }
    for (unsigned i = 0; i < px->n_conns; i++) {
        g_thread_join(px->conns[i].thread);
    }
    return NULL;
}

static void proxy_start(Proxy *px, const char *path, const char *dst_path)
{
    memset(px, 0, sizeof(*px));
    px->listen_fd = unix_socket(path, true);
    assert_true(px->listen_fd >= 0);
    px->dst_path = g_strdup(dst_path);
    g_atomic_int_set(&px->cut, 0);
    px->thread = g_thread_new("proxy", proxy_thread, px);
}

static void proxy_stop(Proxy *px)
{
    g_atomic_int_set(&px->cut, 1);
    g_thread_join(px->thread);
    close(px->listen_fd);
    g_free(px->dst_path);
}

/* Destination's resident pc.ram pages must equal the source's (no workload on it). */
static uint64_t assert_resident_pages_equal(VsVm *src, VsVm *dst)
{
    VsRamBlock *sb = vs_ram_list_find(vs_vm_ram(src), "pc.ram");
    VsRamBlock *db = vs_ram_list_find(vs_vm_ram(dst), "pc.ram");
    unsigned char *vec = g_malloc(db->npages);
    uint64_t resident = 0;

    assert_int_equal(mincore(db->host, db->save.length, vec), 0);
    for (uint64_t p = 0; p < db->npages; p++) {
        if (vec[p] & 1) {
            resident++;
            if (memcmp(db->host + p * VS_RAM_PAGE_SIZE, sb->host + p * VS_RAM_PAGE_SIZE,
                       VS_RAM_PAGE_SIZE) != 0) {
                print_error("page %" PRIu64 " differs while paused\n", p);
                g_free(vec);
                fail();
            }
        }
    }
    g_free(vec);
    return resident;
}

static void remove_dir(const char *dir)
{
    g_autofree char *rm = g_strdup_printf("rm -rf '%s'", dir);

    assert_int_equal(system(rm), 0);
}

/* Cut during postcopy after a delay drawn from @seed; recover unless @no_recovery. */
static void run_cut(void **state, uint64_t seed, bool no_recovery)
{
    g_autofree char *dir = g_dir_make_tmp("vs-postcopy-XXXXXX", NULL);
    g_autofree char *dst_sock = g_strdup_printf("%s/dst.sock", dir);
    g_autofree char *proxy_sock = g_strdup_printf("%s/proxy.sock", dir);
    g_autofree char *rec_sock = g_strdup_printf("%s/rec.sock", dir);
    g_autofree char *uri = NULL;
    uint64_t dirty = no_recovery ? 0 : 10 * MiB;
    VsVmConfig dcfg = VS_VM_CONFIG_INIT;
    GRand *rng = g_rand_new_with_seed((guint32)seed);
    int64_t cut_after = g_rand_int_range(rng, 10, 900) * 1000;
    VsVm *src, *dst;
    GError *err = NULL;
    VsPostcopyStats ps;
    Proxy px;

    g_rand_free(rng);
    g_unsetenv("VSTATE_POSTCOPY_UFFD");
    src = new_vm(state, false, 100 * MiB, seed);
    dst = new_vm(state, true, dirty, seed + 1000);
    dcfg.ram_size = RAM_SIZE;
    dcfg.fill = VS_VM_FILL_RANDOM;
    dcfg.dirty_rate = dirty;
    dcfg.seed = seed + 1000;
    set_postcopy(src, 32 * MiB, 0, false);
    set_postcopy(dst, 0, 0, false);
    uri = g_strdup_printf("unix:%s", dst_sock);
    assert_true(vs_vm_incoming(dst, uri, &err));
    proxy_start(&px, proxy_sock, dst_sock);
    g_free(uri);
    uri = g_strdup_printf("unix:%s", proxy_sock);
    assert_true(vs_migration_start(vs_vm_migration(src), uri, &err));
    assert_int_equal(wait_status(src, VS_MIG_STATUS_ACTIVE, WAIT_US), VS_MIG_STATUS_ACTIVE);
    g_usleep(200 * 1000);
    assert_true(vs_postcopy_start(vs_migration_postcopy(vs_vm_migration(src)), &err));
    assert_int_equal(wait_status(src, VS_MIG_STATUS_POSTCOPY_ACTIVE, WAIT_US),
                     VS_MIG_STATUS_POSTCOPY_ACTIVE);
    g_usleep((gulong)cut_after);
    g_atomic_int_set(&px.cut, 1);
    if (wait_status(dst, VS_MIG_STATUS_POSTCOPY_PAUSED, 10 * 1000 * 1000) !=
        VS_MIG_STATUS_POSTCOPY_PAUSED) {
        VsMigInfo di;

        vs_migration_query(vs_vm_migration(dst), &di);
        /* A late cut may miss: the migration was already over. */
        printf("# seed %" PRIu64 ": cut after %" PRId64 " ms, destination %s\n", seed,
               cut_after / 1000, vs_mig_status_name(di.status));
        assert_int_equal(di.status, VS_MIG_STATUS_COMPLETED);
        proxy_stop(&px);
        expect_completed(src, dst);
        assert_postcopy_result(state, src, dst, &dcfg);
        remove_dir(dir);
        return;
    }
    assert_int_equal(wait_status(src, VS_MIG_STATUS_POSTCOPY_PAUSED, 10 * 1000 * 1000),
                     VS_MIG_STATUS_POSTCOPY_PAUSED);
    proxy_stop(&px);
    if (no_recovery) {
        uint64_t resident;

        g_usleep(300 * 1000);
        assert_int_equal(wait_status(dst, VS_MIG_STATUS_POSTCOPY_PAUSED, 0),
                         VS_MIG_STATUS_POSTCOPY_PAUSED);
        resident = assert_resident_pages_equal(src, dst);
        printf("# seed %" PRIu64 ": cut after %" PRId64 " ms, no recovery: destination paused, "
               "%" PRIu64 " resident pages all equal the source's\n", seed, cut_after / 1000,
               resident);
        /* Going away while paused ends both sides without a hang. */
        vs_migration_cancel(vs_vm_migration(src));
        remove_dir(dir);
        return;
    }
    g_free(uri);
    uri = g_strdup_printf("unix:%s", rec_sock);
    assert_true(vs_postcopy_recover(vs_migration_postcopy(vs_vm_migration(dst)), uri, &err));
    assert_true(vs_postcopy_resume(vs_migration_postcopy(vs_vm_migration(src)), uri, &err));
    expect_completed(src, dst);
    vs_postcopy_stats(vs_migration_postcopy(vs_vm_migration(src)), &ps);
    printf("# seed %" PRIu64 ": cut after %" PRId64 " ms, recovered %" PRIu64 " time(s)%s, %"
           PRIu64 " pages on the preempt channel\n", seed, cut_after / 1000, ps.recoveries,
           opt_preempt ? " with preempt" : "", ps.preempt_pages);
    assert_true(ps.recoveries >= 1);
    assert_postcopy_result(state, src, dst, &dcfg);
    remove_dir(dir);
}

static void test_cut_recover(void **state)
{
    const char *env = getenv("VSTATE_POSTCOPY_SEEDS");
    unsigned seeds = env ? (unsigned)atoi(env) : 4;

    for (unsigned i = 1; i <= seeds; i++) {
        TALLOC_CTX *ctx = talloc_new(*state);

        run_cut((void **)&ctx, 1000 + i, false);
        talloc_free(ctx);
    }
}

static void test_cut_no_recovery(void **state)
{
    run_cut(state, 77, true);
}

/* The same with postcopy-preempt: both channels cut, both re-established. */
static void test_cut_recover_preempt(void **state)
{
    const char *env = getenv("VSTATE_POSTCOPY_SEEDS");
    unsigned seeds = env ? (unsigned)atoi(env) : 2;

    opt_preempt = true;
    for (unsigned i = 1; i <= seeds; i++) {
        TALLOC_CTX *ctx = talloc_new(*state);

        run_cut((void **)&ctx, 2000 + i, false);
        talloc_free(ctx);
    }
    opt_preempt = false;
}

/* ---- max-postcopy-bandwidth ------------------------------------------------------------------ */

/*
 * Postcopy's background sweep limited to 16 MiB/s: the phase cannot end
 * before its bytes at that rate; requested pages still go (not limited).
 */
static void test_postcopy_bandwidth(void **state)
{
    const uint64_t limit = 16 * MiB;
    VsVm *src, *dst;
    GError *err = NULL;
    g_autofree char *addr = NULL;
    VsMigInfo si;
    int64_t t0, spent_us;
    double floor_us;

    g_unsetenv("VSTATE_POSTCOPY_UFFD");
    src = new_vm(state, false, 100 * MiB, 21);
    dst = new_vm(state, true, 5 * MiB, 22);
    opt_postcopy_bw = limit;
    set_postcopy(src, 32 * MiB, 0, false);
    opt_postcopy_bw = 0;
    set_postcopy(dst, 0, 0, false);
    assert_true(vs_vm_incoming(dst, "tcp:127.0.0.1:0", &err));
    addr = vs_migration_incoming_address(vs_vm_migration(dst));
    assert_true(vs_migration_start(vs_vm_migration(src), addr, &err));
    assert_int_equal(wait_status(src, VS_MIG_STATUS_ACTIVE, WAIT_US), VS_MIG_STATUS_ACTIVE);
    g_usleep(300 * 1000);
    assert_true(vs_postcopy_start(vs_migration_postcopy(vs_vm_migration(src)), &err));
    assert_int_equal(wait_status(src, VS_MIG_STATUS_POSTCOPY_ACTIVE, WAIT_US),
                     VS_MIG_STATUS_POSTCOPY_ACTIVE);
    t0 = g_get_monotonic_time();
    expect_completed(src, dst);
    spent_us = g_get_monotonic_time() - t0;
    vs_migration_query(vs_vm_migration(src), &si);
    /* The requested pages are not paced: leave their bytes out of the floor. */
    floor_us = (double)(si.ram.postcopy_bytes -
                        MIN(si.ram.postcopy_bytes, si.ram.postcopy_requests *
                                                   (VS_RAM_PAGE_SIZE + 64))) * 1e6 /
               (double)limit;
    printf("# max-postcopy-bandwidth %" PRIu64 " MiB/s: %" PRIu64 " postcopy bytes (%" PRIu64
           " requests) in %" PRId64 " ms; the limit allows no less than %.0f ms\n",
           (uint64_t)(limit / MiB), si.ram.postcopy_bytes, si.ram.postcopy_requests,
           spent_us / 1000, floor_us / 1000);
    assert_true(si.ram.postcopy_bytes > 8 * MiB);
    /* 10% slack for the first window. */
    assert_true((double)spent_us >= floor_us * 0.9);
    assert_true(si.ram.postcopy_requests > 0);
}

/* ---- refusals -------------------------------------------------------------------------------- */

static void test_start_refused(void **state)
{
    VsVm *vm = new_vm(state, false, 0, 3);
    VsPostcopy *pc = vs_migration_postcopy(vs_vm_migration(vm));
    GError *err = NULL;
    VsMigParams p;

    assert_false(vs_postcopy_start(pc, &err));
    assert_string_equal(err->message, "Postcopy must be started after migration has been started");
    g_clear_error(&err);
    assert_false(vs_postcopy_resume(pc, "tcp:127.0.0.1:1", &err));
    assert_string_equal(err->message, "Cannot resume if there is no paused migration");
    g_clear_error(&err);
    assert_false(vs_postcopy_recover(pc, "tcp:127.0.0.1:0", &err));
    assert_string_equal(err->message, "Migrate recover can only be run when postcopy is paused.");
    g_clear_error(&err);
    vs_migration_get_params(vs_vm_migration(vm), &p);
    p.postcopy_ram = true;
    p.background_snapshot = true;
    assert_false(vs_migration_set_params(vs_vm_migration(vm), &p, &err));
    assert_string_equal(err->message, "Background-snapshot is not compatible with postcopy-ram");
    g_clear_error(&err);
    vs_migration_get_params(vs_vm_migration(vm), &p);
    p.postcopy_preempt = true;
    assert_false(vs_migration_set_params(vs_vm_migration(vm), &p, &err));
    assert_string_equal(err->message, "Postcopy preempt requires postcopy-ram");
    g_clear_error(&err);
    p.postcopy_preempt = false;
    p.postcopy_ram = true;
    p.multifd = true;
    assert_false(vs_migration_set_params(vs_vm_migration(vm), &p, &err));
    assert_non_null(strstr(err->message, "multifd"));
    g_clear_error(&err);
    p.multifd = false;
    p.ber_stream = true;
    assert_false(vs_migration_set_params(vs_vm_migration(vm), &p, &err));
    assert_non_null(strstr(err->message, "x-vstate-ber"));
    g_clear_error(&err);
    /* What was refused changed nothing. */
    vs_migration_get_params(vs_vm_migration(vm), &p);
    assert_false(p.postcopy_ram);
    assert_false(p.postcopy_preempt);
}

static int setup_ctx(void **state)
{
    *state = talloc_new(NULL);
    return *state ? 0 : -1;
}

static int teardown_ctx(void **state)
{
    talloc_free(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_start_refused, setup_ctx, teardown_ctx),
        cmocka_unit_test_setup_teardown(test_postcopy_uffd, setup_ctx, teardown_ctx),
        cmocka_unit_test_setup_teardown(test_postcopy_software, setup_ctx, teardown_ctx),
        cmocka_unit_test_setup_teardown(test_postcopy_after_rounds, setup_ctx, teardown_ctx),
        cmocka_unit_test_setup_teardown(test_preempt_uffd, setup_ctx, teardown_ctx),
        cmocka_unit_test_setup_teardown(test_preempt_software, setup_ctx, teardown_ctx),
        cmocka_unit_test_setup_teardown(test_postcopy_bandwidth, setup_ctx, teardown_ctx),
        cmocka_unit_test_setup_teardown(test_storm_uffd, setup_ctx, teardown_ctx),
        cmocka_unit_test_setup_teardown(test_storm_software, setup_ctx, teardown_ctx),
        cmocka_unit_test_setup_teardown(test_storm_preempt, setup_ctx, teardown_ctx),
        cmocka_unit_test_setup_teardown(test_cut_recover, setup_ctx, teardown_ctx),
        cmocka_unit_test_setup_teardown(test_cut_no_recovery, setup_ctx, teardown_ctx),
        cmocka_unit_test_setup_teardown(test_cut_recover_preempt, setup_ctx, teardown_ctx),
    };

    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
