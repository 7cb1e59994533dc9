/*
 * bench-postcopy.c: postcopy's costs on the destination against floors
 * measured in the same run with the same threading model.
 *
 * SPDX-License-Identifier: MIT
 *
 *   1. Page-fault service latency (the time a guest thread spends in an
 *      access to a page not yet received, i.e. fault to page placed and
 *      thread woken), p50 and p99:
 *        floor   a thread reads pages of userfaultfd MISSING memory; a
 *                fault thread polls the userfaultfd, sends an 8-byte
 *                request over loopback TCP (TCP_NODELAY), a responder
 *                thread answers with 4 KiB, the fault thread reads it and
 *                places it with UFFDIO_COPY (3 threads).  A second floor
 *                splits the fault thread as vstate does: it only sends the
 *                request, a receiver thread reads the reply (8-byte header
 *                and the page) and places it (4 threads).  A third also
 *                splits the source as vstate's does: the responder queues
 *                the request (mutex and condition variable) for a sender
 *                thread that writes the reply (5 threads).
 *        vstate  a real postcopy migration of a demo VM between two VMs in
 *                this process over loopback TCP: the destination's fault
 *                thread, return path, the source's return path thread and
 *                migration thread answering requests, the incoming (or
 *                preempt) thread placing pages.  The faulting thread is
 *                the benchmark's: it reads random pages of the
 *                destination's pc.ram that mincore() reports absent and
 *                times each read.  Four scenarios: the background sweep
 *                paced to 4 MiB/s while measuring (max-postcopy-bandwidth:
 *                the demand path alone, what the floors compare with) or
 *                at full speed, each without and with postcopy-preempt.
 *      Both with every thread on CPU 0 and unpinned (the scheduler's
 *      choice), like with like.  Goal: p50 within 1.5x, p99 within 2x of
 *      the 3-thread floor.
 *   2. Placement for the background stream: UFFDIO_COPY of 16 pages per
 *      call against 1 page per call, cost per page.
 *   3. Total time of a postcopy migration of a guest with no workload
 *      (switched at once) against a precopy migration of the same guest.
 *
 * Where userfaultfd is not available (or with --software), the floors
 * cannot run; the vstate figures are then those of the software fallback
 * (the accessor vs_postcopy_access() waits for the page) and are labelled
 * so.
 *
 * Usage: bench-postcopy [--size MiB] [--runs N] [--faults N] [--software]
 *        (default: a 1024 MiB guest, 3 runs, 5000 faults per latency run;
 *        a guest that completes in precopy before the switch measures none)
 * Each figure is the median over the runs of that run's figure.
 */
#include "migration/postcopy.h"
#include "vm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/userfaultfd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096u
#define MiB ((uint64_t)1024 * 1024)
#define FLOOR_PAGES 65536u              /* 256 MiB of MISSING memory */
#define PLACE_PAGES 16384u              /* 64 MiB placed per placement run */
#define MAX_RUNS 15
#define MAX_VSTATE_SAMPLES 200000u

static uint64_t bench_size = 1024 * MiB;
static int bench_runs = 3;
static unsigned bench_faults = 5000;
static bool bench_software;

/* ---- helpers ------------------------------------------------------------------------------ */

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "bench-postcopy: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void die_gerror(const char *what, GError *err)
{
    fprintf(stderr, "bench-postcopy: %s: %s\n", what, err ? err->message : "failed");
    exit(2);
}

static uint8_t *map_anon(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED) {
        die("mmap");
    }
    (void)madvise(p, len, MADV_NOHUGEPAGE);
    return p;
}

/* The calling thread (and the threads it creates from now on) on CPU 0, or on every CPU. */
static void pin_self(bool one_cpu)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    if (one_cpu) {
        CPU_SET(0, &set);
    } else {
        for (int c = 0; c < CPU_SETSIZE && c < (int)sysconf(_SC_NPROCESSORS_CONF); c++) {
            CPU_SET(c, &set);
        }
    }
    if (sched_setaffinity(0, sizeof(set), &set) < 0) {
        die("sched_setaffinity");
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The median of the runs that measured something (> 0); 0 when none did. */
static double median_measured(const double *v, int n)
{
    double m[MAX_RUNS];
    int k = 0;

    for (int i = 0; i < n; i++) {
        if (v[i] > 0) {
            m[k++] = v[i];
        }
    }
    return k ? median(m, k) : 0;
}

/* p50 and p99 in microseconds of @n latencies in nanoseconds (sorted in place). */
typedef struct Pct {
    double p50, p99;
    size_t n;
} Pct;

static Pct percentiles(uint32_t *ns, size_t n)
{
    Pct r = { 0, 0, n };

    if (n == 0) {
        return r;
    }
    qsort(ns, n, sizeof(ns[0]), cmp_u32);
    r.p50 = ns[n / 2] / 1000.0;
    r.p99 = ns[(size_t)((double)n * 0.99)] / 1000.0;
    return r;
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A random permutation of 0..n-1. */
static uint32_t *shuffled(uint32_t n, uint64_t seed)
{
    uint32_t *v = g_new(uint32_t, n);

    for (uint32_t i = 0; i < n; i++) {
        v[i] = i;
    }
    for (uint32_t i = n - 1; i > 0; i--) {
        uint32_t j = (uint32_t)(xorshift(&seed) % (i + 1));
        uint32_t t = v[i];

        v[i] = v[j];
        v[j] = t;
    }
    return v;
}

static bool uffd_available(char *why, size_t why_len)
{
    struct uffdio_api api = { .api = UFFD_API };
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);

    if (fd < 0) {
        snprintf(why, why_len, "userfaultfd() failed: %s", strerror(errno));
        return false;
    }
    if (ioctl(fd, UFFDIO_API, &api) < 0) {
        snprintf(why, why_len, "UFFDIO_API failed: %s", strerror(errno));
        close(fd);
        return false;
    }
    close(fd);
    return true;
}

/* A userfaultfd with @len bytes at @p registered in MISSING mode. */
static int uffd_register(uint8_t *p, size_t len, bool nonblock)
{
    struct uffdio_api api = { .api = UFFD_API };
    struct uffdio_register reg = {
        .range = { .start = (uintptr_t)p, .len = len },
        .mode = UFFDIO_REGISTER_MODE_MISSING,
    };
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | (nonblock ? O_NONBLOCK : 0));

    if (fd < 0 || ioctl(fd, UFFDIO_API, &api) < 0 || ioctl(fd, UFFDIO_REGISTER, &reg) < 0) {
        die("userfaultfd");
    }
    return fd;
}

static void uffd_copy(int uffd, uint8_t *dst, const uint8_t *src, size_t len)
{
    struct uffdio_copy c = { .dst = (uintptr_t)dst, .src = (uintptr_t)src, .len = len };

    while (ioctl(uffd, UFFDIO_COPY, &c) < 0) {
        if (errno == EEXIST) {
            return;
        }
        if (errno != EAGAIN) {
            die("UFFDIO_COPY");
        }
        if (c.copy > 0) {
            c.dst += (uint64_t)c.copy;
            c.src += (uint64_t)c.copy;
            c.len -= (uint64_t)c.copy;
        }
        c.copy = 0;
    }
}

static bool read_full(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len) {
        ssize_t n = read(fd, p, len);

        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static bool write_full(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len) {
        ssize_t n = write(fd, p, len);

        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* A connected loopback TCP pair with TCP_NODELAY on both ends. */
static void tcp_pair(int fds[2])
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof(a);
    int one = 1;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
        getsockname(l, (struct sockaddr *)&a, &alen) < 0) {
        die("listen");
    }
    fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fds[0] < 0 || connect(fds[0], (struct sockaddr *)&a, sizeof(a)) < 0) {
        die("connect");
    }
    fds[1] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    if (fds[1] < 0) {
        die("accept");
    }
    close(l);
    (void)setsockopt(fds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    (void)setsockopt(fds[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* ---- 1a. the floor ----------------------------------------------------------------------------- */

#define RELAY_MAX 64

typedef struct Floor {
    bool split;                 /* 4 threads: a receiver thread places */
    bool relay;                 /* 5 threads: the responder hands requests to a sender thread */
    GMutex lock;                /* the relay's queue */
    GCond cond;
    uint64_t relay_q[RELAY_MAX];
    unsigned relay_head, relay_len;
    bool relay_done;
    uint8_t *mem;               /* FLOOR_PAGES of MISSING memory */
    uint8_t *src;               /* what the responder sends */
    int uffd;
    int dst_fd, src_fd;         /* destination and source ends of the socket */
    int stop_fd[2];             /* a pipe: the fault thread must stop */
    uint32_t *order;
    unsigned faults;
    uint32_t *lat_ns;
} Floor;

/* The relay's sender (5 threads): queued index out, with its page. */
static void *floor_sender(void *opaque)
{
    Floor *fl = opaque;

    for (;;) {
        uint64_t page;

        g_mutex_lock(&fl->lock);
        while (!fl->relay_len && !fl->relay_done) {
            g_cond_wait(&fl->cond, &fl->lock);
        }
        if (!fl->relay_len) {
            g_mutex_unlock(&fl->lock);
            return NULL;
        }
        page = fl->relay_q[fl->relay_head];
        fl->relay_head = (fl->relay_head + 1) % RELAY_MAX;
        fl->relay_len--;
        g_mutex_unlock(&fl->lock);
        if (!write_full(fl->src_fd, &page, sizeof(page)) ||
            !write_full(fl->src_fd, fl->src + (page % FLOOR_PAGES) * PAGE, PAGE)) {
            return NULL;
        }
    }
}

/* Hands @page to the sender; at the end (UINT64_MAX), tells it to stop. */
static void floor_relay(Floor *fl, uint64_t page)
{
    g_mutex_lock(&fl->lock);
    if (page == UINT64_MAX) {
        fl->relay_done = true;
    } else if (fl->relay_len < RELAY_MAX) {
        fl->relay_q[(fl->relay_head + fl->relay_len++) % RELAY_MAX] = page;
    }
    g_cond_broadcast(&fl->cond);
    g_mutex_unlock(&fl->lock);
}

/* The source: 8-byte page index in, (8-byte index and) 4 KiB page out, or to the relay. */
static void *floor_responder(void *opaque)
{
    Floor *fl = opaque;
    uint64_t page;

    while (read_full(fl->src_fd, &page, sizeof(page))) {
        if (fl->relay) {
            floor_relay(fl, page);
            if (page == UINT64_MAX) {
                break;
            }
            continue;
        }
        if (page == UINT64_MAX) {
            break;
        }
        if ((fl->split && !write_full(fl->src_fd, &page, sizeof(page))) ||
            !write_full(fl->src_fd, fl->src + (page % FLOOR_PAGES) * PAGE, PAGE)) {
            break;
        }
    }
    return NULL;
}

/* The fault thread: a request per fault; without a receiver it also places the reply. */
static void *floor_fault_thread(void *opaque)
{
    Floor *fl = opaque;
    uint8_t *buf = map_anon(PAGE);
    struct pollfd fds[2] = {
        { .fd = fl->uffd, .events = POLLIN },
        { .fd = fl->stop_fd[0], .events = POLLIN },
    };

    for (;;) {
        struct uffd_msg msg;
        uint64_t page;

        if (poll(fds, 2, -1) < 0 || (fds[1].revents & POLLIN)) {
            break;
        }
        if (read(fl->uffd, &msg, sizeof(msg)) != (ssize_t)sizeof(msg) ||
            msg.event != UFFD_EVENT_PAGEFAULT) {
            continue;
        }
        page = (msg.arg.pagefault.address - (uintptr_t)fl->mem) / PAGE;
        if (!write_full(fl->dst_fd, &page, sizeof(page))) {
            die("request");
        }
        if (!fl->split) {
            if (!read_full(fl->dst_fd, buf, PAGE)) {
                die("reply");
            }
            uffd_copy(fl->uffd, fl->mem + page * PAGE, buf, PAGE);
        }
    }
    munmap(buf, PAGE);
    return NULL;
}

/* The receiver (4-thread floor): reads index and page, places it. */
static void *floor_receiver(void *opaque)
{
    Floor *fl = opaque;
    uint8_t *buf = map_anon(PAGE);
    uint64_t page;

    while (read_full(fl->dst_fd, &page, sizeof(page))) {
        if (page == UINT64_MAX || !read_full(fl->dst_fd, buf, PAGE)) {
            break;
        }
        uffd_copy(fl->uffd, fl->mem + page * PAGE, buf, PAGE);
    }
    munmap(buf, PAGE);
    return NULL;
}

/* The guest thread: one read per page, each timed. */
static void *floor_guest(void *opaque)
{
    Floor *fl = opaque;
    volatile uint8_t sink = 0;

    for (unsigned i = 0; i < fl->faults; i++) {
        const volatile uint8_t *p = fl->mem + (size_t)fl->order[i] * PAGE;
        uint64_t t0 = now_ns();

        sink += *p;
        fl->lat_ns[i] = (uint32_t)MIN(now_ns() - t0, UINT32_MAX);
    }
    (void)sink;
    return NULL;
}

/* @threads: 3 (the fault thread places), 4 (a receiver places), 5 (and a relay on the source). */
static Pct floor_run(int threads, bool one_cpu, uint64_t seed)
{
    Floor fl = { .split = threads >= 4, .relay = threads == 5,
                 .faults = MIN(bench_faults, FLOOR_PAGES) };
    pthread_t guest, fault, responder, receiver, sender;
    int fds[2];
    Pct r;

    pin_self(one_cpu);
    fl.mem = map_anon((size_t)FLOOR_PAGES * PAGE);
    fl.src = map_anon((size_t)FLOOR_PAGES * PAGE);
    memset(fl.src, 0x5a, (size_t)FLOOR_PAGES * PAGE);
    fl.uffd = uffd_register(fl.mem, (size_t)FLOOR_PAGES * PAGE, true);
    tcp_pair(fds);
    fl.dst_fd = fds[0];
    fl.src_fd = fds[1];
    if (pipe2(fl.stop_fd, O_CLOEXEC) < 0) {
        die("pipe");
    }
    fl.order = shuffled(FLOOR_PAGES, seed);
    fl.lat_ns = g_new(uint32_t, fl.faults);
    g_mutex_init(&fl.lock);
    g_cond_init(&fl.cond);
    pthread_create(&responder, NULL, floor_responder, &fl);
    if (fl.relay) {
        pthread_create(&sender, NULL, floor_sender, &fl);
    }
    pthread_create(&fault, NULL, floor_fault_thread, &fl);
    if (fl.split) {
        pthread_create(&receiver, NULL, floor_receiver, &fl);
    }
    pthread_create(&guest, NULL, floor_guest, &fl);
    pthread_join(guest, NULL);
    (void)!write(fl.stop_fd[1], "x", 1);
    pthread_join(fault, NULL);
    {
        uint64_t end = UINT64_MAX;

        (void)write_full(fl.dst_fd, &end, sizeof(end));
    }
    pthread_join(responder, NULL);
    if (fl.relay) {
        pthread_join(sender, NULL);
    }
    if (fl.split) {
        shutdown(fl.src_fd, SHUT_RDWR);
        pthread_join(receiver, NULL);
    }
    r = percentiles(fl.lat_ns, fl.faults);
    close(fl.uffd);
    close(fds[0]);
    close(fds[1]);
    close(fl.stop_fd[0]);
    close(fl.stop_fd[1]);
    munmap(fl.mem, (size_t)FLOOR_PAGES * PAGE);
    munmap(fl.src, (size_t)FLOOR_PAGES * PAGE);
    g_free(fl.order);
    g_free(fl.lat_ns);
    g_mutex_clear(&fl.lock);
    g_cond_clear(&fl.cond);
    pin_self(false);
    return r;
}

/* ---- 1b. vstate's postcopy ------------------------------------------------------------------- */

static VsVm *new_vm(TALLOC_CTX *ctx, bool incoming, uint64_t seed)
{
    VsVmConfig cfg = VS_VM_CONFIG_INIT;
    GError *err = NULL;
    VsVm *vm;

    cfg.ram_size = bench_size;
    cfg.fill = VS_VM_FILL_RANDOM;
    cfg.dirty_rate = 0;
    cfg.incoming = incoming;
    cfg.seed = seed;
    vm = vs_vm_new(ctx, &cfg, &err);
    if (!vm) {
        die_gerror("vs_vm_new", err);
    }
    if (!incoming && !vs_vm_cont(vm, &err)) {
        die_gerror("vs_vm_cont", err);
    }
    return vm;
}

/* How the vstate latency runs send the background stream. */
typedef struct Scenario {
    const char *name;
    bool preempt;               /* postcopy-preempt: requested pages on their own channel */
    uint64_t sweep_bw;          /* max-postcopy-bandwidth while measuring; 0: unlimited */
} Scenario;

static const Scenario scenarios[] = {
    { "sweep paced to 4 MiB/s", false, 4 * MiB },
    { "sweep paced to 4 MiB/s, preempt", true, 4 * MiB },
    { "sweep at full speed", false, 0 },
    { "sweep at full speed, preempt", true, 0 },
};
#define N_SCEN G_N_ELEMENTS(scenarios)

static void set_params(VsVm *vm, bool postcopy, const Scenario *sc)
{
    GError *err = NULL;
    VsMigParams p;

    vs_migration_get_params(vs_vm_migration(vm), &p);
    p.max_bandwidth = 0;
    p.postcopy_ram = postcopy;
    p.postcopy_preempt = postcopy && sc && sc->preempt;
    p.max_postcopy_bandwidth = sc ? sc->sweep_bw : 0;
    if (!vs_migration_set_params(vs_vm_migration(vm), &p, &err)) {
        die_gerror("migrate-set-parameters", err);
    }
}

static VsMigStatus status_of(VsVm *vm)
{
    VsMigInfo info;

    vs_migration_query(vs_vm_migration(vm), &info);
    return info.status;
}

/* Two VMs, the destination listening; the source not started. */
typedef struct Pair {
    TALLOC_CTX *ctx;
    VsVm *src, *dst;
    char *addr;
} Pair;

static Pair pair_new(bool postcopy, const Scenario *sc)
{
    Pair p = { .ctx = talloc_new(NULL) };
    GError *err = NULL;

    p.src = new_vm(p.ctx, false, 7);
    p.dst = new_vm(p.ctx, true, 7);
    set_params(p.src, postcopy, sc);
    set_params(p.dst, postcopy, sc);
    if (!vs_vm_incoming(p.dst, "tcp:127.0.0.1:0", &err)) {
        die_gerror("incoming", err);
    }
    p.addr = vs_migration_incoming_address(vs_vm_migration(p.dst));
    return p;
}

static void pair_start(Pair *p, bool postcopy)
{
    GError *err = NULL;

    if (!vs_migration_start(vs_vm_migration(p->src), p->addr, &err)) {
        die_gerror("migrate", err);
    }
    /*
     * Switched as soon as the source accepts it (once its migration thread
     * has written the header), before the first pass: RAM follows in postcopy.
     */
    while (postcopy &&
           !vs_postcopy_start(vs_migration_postcopy(vs_vm_migration(p->src)), &err)) {
        VsMigStatus s = status_of(p->src);

        if (s == VS_MIG_STATUS_COMPLETED || s == VS_MIG_STATUS_FAILED ||
            s == VS_MIG_STATUS_CANCELLED) {
            die_gerror("migrate-start-postcopy", err);
        }
        g_clear_error(&err);
        g_usleep(20);
    }
}

static void pair_wait(Pair *p)
{
    VsMigInfo si, di;

    vs_migration_wait(vs_vm_migration(p->src), 600ll * 1000 * 1000);
    vs_migration_wait(vs_vm_migration(p->dst), 600ll * 1000 * 1000);
    vs_migration_query(vs_vm_migration(p->src), &si);
    vs_migration_query(vs_vm_migration(p->dst), &di);
    if (si.status != VS_MIG_STATUS_COMPLETED || di.status != VS_MIG_STATUS_COMPLETED) {
        fprintf(stderr, "bench-postcopy: migration failed: source %s (%s), destination %s "
                "(%s)\n", vs_mig_status_name(si.status), si.error_desc,
                vs_mig_status_name(di.status), di.error_desc);
        exit(2);
    }
}

static void pair_free(Pair *p)
{
    g_free(p->addr);
    talloc_free(p->ctx);
}

typedef struct VstateLat {
    Pct pct;
    uint64_t absent;            /* reads of pages mincore() reported absent */
    uint64_t fast;              /* of them, placed by the sweep before the read (< 1 us) */
    uint64_t requests, placed_pages, placed_batches, preempt_pages;
    char mode[64];
} VstateLat;

typedef struct Prober {
    VsVm *dst;
    VsPostcopy *pc;
    VsRamBlock *ram;
    bool software;
    uint32_t *lat_ns;
    size_t n;
    uint64_t absent, fast;
} Prober;

/*
 * The destination's guest thread of the benchmark: random pages of
 * pc.ram, each read timed when the page was absent just before (with
 * userfaultfd), or each vs_postcopy_access() and read during which a
 * request was sent (fallback: the page's bytes are there already, only
 * the accessor knows).
 */
static void *vstate_prober(void *opaque)
{
    Prober *pr = opaque;
    uint64_t npages = pr->ram->npages, seed = 0x9e3779b97f4a7c15ull;
    volatile uint8_t sink = 0;

    while (pr->n < MIN(bench_faults, MAX_VSTATE_SAMPLES)) {
        uint64_t page = xorshift(&seed) % npages;
        uint8_t *p = pr->ram->host + page * PAGE;
        unsigned char resident = 1;
        uint64_t t0, dt;

        if (status_of(pr->dst) != VS_MIG_STATUS_POSTCOPY_ACTIVE) {
            break;
        }
        if (pr->software) {
            VsPostcopyStats before, after;

            vs_postcopy_stats(pr->pc, &before);
            t0 = now_ns();
            vs_postcopy_access(pr->pc, pr->ram, page * PAGE);
            sink += *(volatile uint8_t *)p;
            dt = now_ns() - t0;
            /* A fault is an access that had a request sent (this is the only faulting thread). */
            vs_postcopy_stats(pr->pc, &after);
            if (after.requests != before.requests) {
                pr->absent++;
                pr->lat_ns[pr->n++] = (uint32_t)MIN(dt, UINT32_MAX);
            }
            continue;
        }
        if (mincore(p, PAGE, &resident) < 0 || (resident & 1)) {
            continue;
        }
        t0 = now_ns();
        sink += *(volatile uint8_t *)p;
        dt = now_ns() - t0;
        pr->absent++;
        if (dt < 1000) {
            pr->fast++;
            continue;
        }
        pr->lat_ns[pr->n++] = (uint32_t)MIN(dt, UINT32_MAX);
    }
    (void)sink;
    return NULL;
}

static VstateLat vstate_latency_run(bool one_cpu, const Scenario *sc)
{
    VstateLat r = { { 0, 0, 0 }, 0, 0, 0, 0, 0, 0, "" };
    Prober pr = { .software = bench_software };
    VsPostcopyStats ps;
    const char *mode, *note = NULL;
    pthread_t t;
    Pair p;

    pin_self(one_cpu);
    p = pair_new(true, sc);
    pr.dst = p.dst;
    pr.pc = vs_migration_postcopy(vs_vm_migration(p.dst));
    pr.ram = vs_ram_list_find(vs_vm_ram(p.dst), "pc.ram");
    pr.lat_ns = g_new(uint32_t, MAX_VSTATE_SAMPLES);
    if (!pr.ram) {
        fprintf(stderr, "bench-postcopy: the demo VM has no pc.ram\n");
        exit(2);
    }
    pair_start(&p, true);
    /* The guest runs on the destination once the package is loaded. */
    while (!vs_vm_is_running(p.dst) && status_of(p.dst) != VS_MIG_STATUS_COMPLETED &&
           status_of(p.dst) != VS_MIG_STATUS_FAILED) {
        g_usleep(50);
    }
    pthread_create(&t, NULL, vstate_prober, &pr);
    pthread_join(t, NULL);
    if (sc->sweep_bw) {
        Scenario rest = *sc;

        /* Measured: the rest goes at full speed. */
        rest.sweep_bw = 0;
        set_params(p.src, true, &rest);
    }
    pair_wait(&p);
    r.pct = percentiles(pr.lat_ns, pr.n);
    r.absent = pr.absent;
    r.fast = pr.fast;
    vs_postcopy_stats(pr.pc, &ps);
    r.requests = ps.requests;
    r.placed_pages = ps.placed_pages;
    r.placed_batches = ps.placed_batches;
    r.preempt_pages = ps.preempt_pages;
    mode = vs_postcopy_mode(pr.pc, &note);
    snprintf(r.mode, sizeof(r.mode), "%s", mode ? mode : "none");
    if (note && strcmp(r.mode, "software") == 0) {
        fprintf(stderr, "# fallback: %s\n", note);
    }
    g_free(pr.lat_ns);
    pair_free(&p);
    pin_self(false);
    return r;
}

/* ---- 2. placement -------------------------------------------------------------------------- */

/* Nanoseconds per page placing PLACE_PAGES pages @batch at a time. */
static double place_run(unsigned batch)
{
    size_t len = (size_t)PLACE_PAGES * PAGE;
    uint8_t *mem = map_anon(len), *src = map_anon((size_t)batch * PAGE);
    int uffd = uffd_register(mem, len, false);
    uint64_t t0;
    double ns;

    memset(src, 0x3c, (size_t)batch * PAGE);
    t0 = now_ns();
    for (size_t p = 0; p < PLACE_PAGES; p += batch) {
        uffd_copy(uffd, mem + p * PAGE, src, (size_t)batch * PAGE);
    }
    ns = (double)(now_ns() - t0) / PLACE_PAGES;
    close(uffd);
    munmap(mem, len);
    munmap(src, (size_t)batch * PAGE);
    return ns;
}

/* ---- 3. total time --------------------------------------------------------------------------- */

/* Milliseconds from migrate to both ends completed; *@ret_run_ms: to the destination running. */
static double total_run(bool postcopy, double *ret_run_ms)
{
    Pair p = pair_new(postcopy, NULL);
    uint64_t t0 = now_ns(), run = 0;
    double ms;

    pair_start(&p, postcopy);
    while (status_of(p.dst) != VS_MIG_STATUS_COMPLETED &&
           status_of(p.dst) != VS_MIG_STATUS_FAILED) {
        if (!run && vs_vm_is_running(p.dst)) {
            run = now_ns();
        }
        g_usleep(100);
    }
    pair_wait(&p);
    ms = (double)(now_ns() - t0) / 1e6;
    *ret_run_ms = run ? (double)(run - t0) / 1e6 : ms;
    pair_free(&p);
    return ms;
}

/* ---- main ----------------------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: bench-postcopy [--size MiB] [--runs N] [--faults N] [--software]\n");
    exit(1);
}

static void parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
            bench_size = strtoull(argv[++i], NULL, 10) * MiB;
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            bench_runs = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--faults") == 0 && i + 1 < argc) {
            bench_faults = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--software") == 0) {
            bench_software = true;
        } else {
            usage();
        }
    }
    if (bench_size < 16 * MiB || bench_size % PAGE || bench_runs < 1 || bench_runs > MAX_RUNS ||
        bench_faults < 100) {
        usage();
    }
}

static const char *met(double ratio, double goal)
{
    return ratio <= goal ? "met" : "NOT met";
}

int main(int argc, char **argv)
{
    static const char *const pin_names[2] = { "unpinned", "all on CPU 0" };
    static double f3[2][2][MAX_RUNS], f4[2][2][MAX_RUNS], f5[2][2][MAX_RUNS];
    static double vs[2][N_SCEN][2][MAX_RUNS];
    double pl1[MAX_RUNS], pl16[MAX_RUNS], pre[MAX_RUNS], post[MAX_RUNS], post_run[MAX_RUNS];
    double pre_run;
    char why[256] = "";
    bool uffd;
    VstateLat last[2][N_SCEN];

    parse_args(argc, argv);
    if (bench_software) {
        g_setenv("VSTATE_POSTCOPY_UFFD", "off", TRUE);
    }
    uffd = !bench_software && uffd_available(why, sizeof(why));
    if (!uffd) {
        /* vstate's destination finds the same and falls back by itself. */
        bench_software = true;
        printf("userfaultfd: NOT used (%s): the floors and placement figures are not measured; "
               "the vstate figures are the SOFTWARE FALLBACK's\n",
               why[0] ? why : "--software");
    } else {
        printf("userfaultfd: available\n");
    }
    printf("guest %" PRIu64 " MiB, %d runs, %u faults per latency run, %ld CPUs\n\n",
           bench_size / MiB, bench_runs, MIN(bench_faults, FLOOR_PAGES),
           sysconf(_SC_NPROCESSORS_ONLN));
    fflush(stdout);

    for (int run = 0; run < bench_runs; run++) {
        for (int one = 1; one >= 0; one--) {
            Pct a = { 0, 0, 0 }, b = { 0, 0, 0 }, c = { 0, 0, 0 };

            if (uffd) {
                a = floor_run(3, one, 11 + (uint64_t)run);
                b = floor_run(4, one, 11 + (uint64_t)run);
                c = floor_run(5, one, 11 + (uint64_t)run);
            }
            f3[one][0][run] = a.p50;
            f3[one][1][run] = a.p99;
            f4[one][0][run] = b.p50;
            f4[one][1][run] = b.p99;
            f5[one][0][run] = c.p50;
            f5[one][1][run] = c.p99;
            if (uffd) {
                printf("run %d, %-12s: floor %7.1f / %7.1f us, 4 threads %7.1f / %7.1f us, "
                       "5 threads %7.1f / %7.1f us\n", run, pin_names[one], a.p50, a.p99,
                       b.p50, b.p99, c.p50, c.p99);
            }
            for (size_t sc = 0; sc < N_SCEN; sc++) {
                VstateLat v = vstate_latency_run(one, &scenarios[sc]);

                vs[one][sc][0][run] = v.pct.p50;
                vs[one][sc][1][run] = v.pct.p99;
                last[one][sc] = v;
                printf("run %d, %-12s: vstate (%s, %s) %7.1f / %7.1f us over %zu faults "
                       "(%" PRIu64 " absent pages placed before the read); %" PRIu64
                       " requests, %" PRIu64 " pages in %" PRIu64 " placements, %" PRIu64
                       " on the preempt channel\n", run, pin_names[one], v.mode,
                       scenarios[sc].name, v.pct.p50, v.pct.p99, v.pct.n, v.fast, v.requests,
                       v.placed_pages, v.placed_batches, v.preempt_pages);
                fflush(stdout);
            }
        }
        if (uffd) {
            pl1[run] = place_run(1);
            pl16[run] = place_run(16);
        }
        pre[run] = total_run(false, &pre_run);
        post[run] = total_run(true, &post_run[run]);
        if (uffd) {
            printf("run %d: placement %.3f / %.3f us per page (1 / 16 per call)\n", run,
                   pl1[run] / 1000, pl16[run] / 1000);
        }
        printf("run %d: total: precopy %.0f ms, postcopy %.0f ms (destination running after "
               "%.0f ms)\n", run, pre[run], post[run], post_run[run]);
        fflush(stdout);
    }

    printf("\n1. Page-fault service latency, fault to page placed, p50 / p99 (medians of %d "
           "runs)\n", bench_runs);
    for (int one = 1; one >= 0; one--) {
        double fp50 = median(f3[one][0], bench_runs), fp99 = median(f3[one][1], bench_runs);
        double gp50 = median(f4[one][0], bench_runs), gp99 = median(f4[one][1], bench_runs);
        double hp50 = median(f5[one][0], bench_runs), hp99 = median(f5[one][1], bench_runs);

        printf("  %s:\n", pin_names[one]);
        if (uffd) {
            printf("    %-52s %8.1f / %8.1f us\n", "floor (fault thread requests and places)",
                   fp50, fp99);
            printf("    %-52s %8.1f / %8.1f us\n", "floor, 4 threads (a receiver places)", gp50,
                   gp99);
            printf("    %-52s %8.1f / %8.1f us\n", "floor, 5 threads (and a relay on the source)",
                   hp50, hp99);
        }
        for (size_t sc = 0; sc < N_SCEN; sc++) {
            double vp50 = median_measured(vs[one][sc][0], bench_runs);
            double vp99 = median_measured(vs[one][sc][1], bench_runs);
            g_autofree char *label = g_strdup_printf("vstate %s, %s", last[one][sc].mode,
                                                     scenarios[sc].name);

            if (vp50 == 0) {
                /* A small guest can complete in precopy before the switch is taken. */
                printf("    %-52s no fault measured (no postcopy phase)\n", label);
                continue;
            }
            printf("    %-52s %8.1f / %8.1f us", label, vp50, vp99);
            if (uffd) {
                printf("  ratio %.2fx (goal 1.5x: %s) / %.2fx (goal 2x: %s); p50 %.2fx the "
                       "5-thread floor", vp50 / fp50, met(vp50 / fp50, 1.5), vp99 / fp99,
                       met(vp99 / fp99, 2.0), vp50 / hp50);
            } else {
                printf("  (SOFTWARE FALLBACK: no userfaultfd floor)");
            }
            printf("\n");
        }
    }
    if (uffd) {
        double a = median(pl1, bench_runs), b = median(pl16, bench_runs);
        const VstateLat *v = &last[0][2];

        printf("\n2. UFFDIO_COPY placement: 1 page per call %.3f us per page, 16 pages per call "
               "%.3f us per page: ratio %.2fx\n", a / 1000, b / 1000, a / b);
        printf("   vstate's last full-speed run placed %" PRIu64 " pages in %" PRIu64
               " calls (%.1f per call; zero pages go one by one with UFFDIO_ZEROPAGE)\n",
               v->placed_pages, v->placed_batches,
               v->placed_batches ? (double)v->placed_pages / (double)v->placed_batches : 0.0);
    }
    {
        double a = median(pre, bench_runs), b = median(post, bench_runs);
        double c = median(post_run, bench_runs);

        printf("\n3. Total time, %" PRIu64 " MiB guest with no workload: precopy %.0f ms, "
               "postcopy %.0f ms (ratio %.2fx); the destination runs after %.0f ms\n",
               bench_size / MiB, a, b, b / a, c);
    }
    return 0;
}
