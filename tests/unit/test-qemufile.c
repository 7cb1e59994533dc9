/*
 * test-qemufile.c: unit tests for the buffered byte channel VsQemuFile.
 *
 * SPDX-License-Identifier: MIT
 *
 * Every backend is exercised with real kernel objects (pipes, files in a
 * temporary directory, socketpairs, TCP over loopback) and with streams
 * larger than the internal buffer, so that refills, partial reads and
 * partial writes really happen.  Each test gets its own talloc context;
 * the teardown fails the test if anything was left allocated under it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "test-helpers.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "visitor/qemufile/qemufile.h"

#define BUF VS_QEMUFILE_BUF_SIZE
/* Odd on purpose, so that the stream never ends on a buffer boundary. */
#define BIG_LEN ((size_t)(1024 * 1024 + 123))

/* A deterministic byte pattern without short cycles, shared read-only by
 * all threads. */
static uint8_t *big;

static uint8_t pattern_byte(size_t i)
{
    return (uint8_t)(i * 131u + (i >> 9) * 7u + 1u);
}

static uint64_t load_be(const uint8_t *p, size_t width)
{
    uint64_t v = 0;

    for (size_t i = 0; i < width; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* Fixtures */

static int group_setup(void **state)
{
    (void)state;
    /* If SIGPIPE ever reached us, the process would die and the run fail. */
    signal(SIGPIPE, SIG_DFL);
    big = g_malloc(BIG_LEN);
    for (size_t i = 0; i < BIG_LEN; i++) {
        big[i] = pattern_byte(i);
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    g_free(big);
    return 0;
}

/* Helpers */

/* The file has failed with @code and a message starting with @prefix. */
#define assert_qf_error(f, code, prefix)                                           \
    do {                                                                           \
        assert_true(vs_qemufile_failed(f));                                        \
        assert_gerror(vs_qemufile_error(f), VS_QEMUFILE_ERROR, (code), (prefix)); \
    } while (0)

#define assert_qf_gerror(err, code, prefix) assert_gerror((err), VS_QEMUFILE_ERROR, (code), (prefix))

/* Checks the bytes a memory writer holds, and that it did not fail. */
static void assert_written(VsQemuFile *f, const uint8_t *want, size_t want_len)
{
    size_t len = 12345;
    const uint8_t *data = vs_qemufile_memory_data(f, &len);

    assert_false(vs_qemufile_failed(f));
    assert_non_null(data);
    assert_int_equal(len, want_len);
    if (want_len) {
        assert_memory_equal(data, want, want_len);
    }
}

static bool fd_is_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1;
}

static void make_pipe(int p[2])
{
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
}

static void set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);

    assert_true(flags >= 0);
    assert_int_equal(fcntl(fd, F_SETFL, flags | O_NONBLOCK), 0);
}

/* Accepts a loopback connection on an ephemeral port. */
static void tcp_pair(int *client, int *server)
{
    struct sockaddr_in addr = { .sin_family = AF_INET };
    socklen_t addr_len = sizeof(addr);
    int lst = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(lst >= 0);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    assert_int_equal(bind(lst, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(listen(lst, 1), 0);
    assert_int_equal(getsockname(lst, (struct sockaddr *)&addr, &addr_len), 0);
    assert_true(ntohs(addr.sin_port) != 0);
    *client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(*client >= 0);
    assert_int_equal(connect(*client, (struct sockaddr *)&addr, sizeof(addr)), 0);
    *server = accept4(lst, NULL, NULL, SOCK_CLOEXEC);
    assert_true(*server >= 0);
    close(lst);
}

/* The descriptor this process has open on @path, or -1. */
static int fd_for_path(const char *path)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *de;
    int found = -1;

    assert_non_null(dir);
    while ((de = readdir(dir)) != NULL) {
        char target[PATH_MAX];
        ssize_t n;

        if (de->d_name[0] == '.') {
            continue;
        }
        n = readlinkat(dirfd(dir), de->d_name, target, sizeof(target) - 1);
        if (n < 0) {
            continue;
        }
        target[n] = '\0';
        if (strcmp(target, path) == 0) {
            found = atoi(de->d_name);
        }
    }
    closedir(dir);
    return found;
}

/*
 * Writes @len bytes of @data with a mix of every put, in steps that
 * straddle buffer boundaries.  Safe to call from a thread: no assertions.
 */
static void write_stream(VsQemuFile *f, const uint8_t *data, size_t len)
{
    static const size_t steps[] = { 7, 1, 2, 4, 8, 33333, 3, BUF + 1, 100000, BUF };
    size_t off = 0;

    for (unsigned k = 0; off < len; k++) {
        size_t n = MIN(steps[k % G_N_ELEMENTS(steps)], len - off);

        switch (n) {
        case 1:
            vs_qemufile_put_byte(f, data[off]);
            break;
        case 2:
            vs_qemufile_put_be16(f, (uint16_t)load_be(data + off, 2));
            break;
        case 4:
            vs_qemufile_put_be32(f, (uint32_t)load_be(data + off, 4));
            break;
        case 8:
            vs_qemufile_put_be64(f, load_be(data + off, 8));
            break;
        default:
            vs_qemufile_put_buffer(f, data + off, n);
            break;
        }
        off += n;
    }
}

/* Reads a value of @n bytes (n <= 8) the way a visitor would. */
static void check_value(VsQemuFile *f, const uint8_t *want, size_t n)
{
    switch (n) {
    case 1:
        assert_int_equal(vs_qemufile_get_byte(f), want[0]);
        break;
    case 2:
        assert_int_equal(vs_qemufile_get_be16(f), load_be(want, 2));
        break;
    case 4:
        assert_int_equal(vs_qemufile_get_be32(f), load_be(want, 4));
        break;
    default:
        assert_int_equal(vs_qemufile_get_be64(f), load_be(want, 8));
        break;
    }
}

/* Reads @n bytes either by peek-then-skip or by get_buffer. */
static void check_run(VsQemuFile *f, const uint8_t *want, size_t n, bool by_peek)
{
    if (by_peek && n <= BUF) {
        const uint8_t *p = NULL;

        assert_int_equal(vs_qemufile_peek(f, 0, n, &p), n);
        assert_memory_equal(p, want, n);
        assert_int_equal(vs_qemufile_skip(f, n), n);
    } else {
        uint8_t *tmp = g_malloc(n);

        assert_int_equal(vs_qemufile_get_buffer(f, tmp, n), n);
        assert_memory_equal(tmp, want, n);
        g_free(tmp);
    }
}

/* Reads the whole stream back with a mix of gets, peeks and skips. */
static void check_stream(VsQemuFile *f, const uint8_t *data, size_t len)
{
    static const size_t steps[] = { 1, 2, 4, 8, 3, 4099, 70001, 17, BUF, 5, BUF - 1 };
    size_t off = 0;

    for (unsigned k = 0; off < len; k++) {
        size_t n = MIN(steps[k % G_N_ELEMENTS(steps)], len - off);

        if (n == 1 || n == 2 || n == 4 || n == 8) {
            check_value(f, data + off, n);
        } else {
            check_run(f, data + off, n, k % 2 == 0);
        }
        off += n;
    }
    assert_false(vs_qemufile_failed(f));
    assert_int_equal(vs_qemufile_pos(f), len);
    assert_true(vs_qemufile_at_eof(f));
    assert_false(vs_qemufile_failed(f));
}

/* Threads.  cmocka assertions must stay on the main thread, so threads only
 * record what happened. */

typedef struct Pump {
    int fd;
    bool socket;
    const uint8_t *data;
    size_t len;
    bool ok;
    char *message;
} Pump;

/* Writes a stream through its own VsQemuFile (own talloc tree: talloc is
 * not shared across threads), then closes the descriptor it owns. */
static gpointer pump_writer(gpointer opaque)
{
    Pump *p = opaque;
    TALLOC_CTX *ctx = talloc_new(NULL);
    VsQemuFile *f = p->socket ? vs_qemufile_new_socket(ctx, p->fd, VS_QEMUFILE_WRITE, true)
                              : vs_qemufile_new_fd(ctx, p->fd, VS_QEMUFILE_WRITE, true);
    GError *err = NULL;
    sigset_t pipe_only;

    /*
     * A pipe has no MSG_NOSIGNAL.  Should the reading test fail and close
     * its end early, this thread must see EPIPE rather than kill the run.
     */
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    if (!p->socket) {
        pthread_sigmask(SIG_BLOCK, &pipe_only, NULL);
    }
    write_stream(f, p->data, p->len);
    p->ok = vs_qemufile_close(f, &err);
    if (err) {
        p->message = g_strdup(err->message);
        g_error_free(err);
    }
    talloc_free(ctx);
    return NULL;
}

static GThread *start_pump(Pump *p, int fd, bool socket, const uint8_t *data, size_t len)
{
    *p = (Pump){ .fd = fd, .socket = socket, .data = data, .len = len };
    return g_thread_new("qemufile-pump", pump_writer, p);
}

static void finish_pump(GThread *t, Pump *p)
{
    g_thread_join(t);
    if (!p->ok) {
        fail_msg("writer thread failed: %s", p->message ? p->message : "?");
    }
    g_free(p->message);
}

typedef struct Sink {
    int fd;
    uint8_t *got;
    size_t len;
    size_t cap;
    int error;
} Sink;

/* Drains @fd with plain recv() in small, slow bites so that a
 * non-blocking writer keeps running into a full socket buffer. */
static gpointer sink_reader(gpointer opaque)
{
    Sink *s = opaque;

    for (unsigned k = 0;; k++) {
        ssize_t n = recv(s->fd, s->got + s->len, MIN((size_t)1500, s->cap - s->len), 0);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            s->error = n < 0 ? errno : 0;
            return NULL;
        }
        s->len += (size_t)n;
        if (k % 64 == 0) {
            g_usleep(200);
        }
    }
}

typedef struct Trickle {
    int fd;
    size_t slow;
    size_t len;
} Trickle;

/* Sends @slow bytes one at a time with pauses, then the rest at once. */
static gpointer trickle_writer(gpointer opaque)
{
    Trickle *t = opaque;
    size_t off = 0;

    while (off < t->len) {
        size_t n = off < t->slow ? 1 : t->len - off;
        ssize_t w = write(t->fd, big + off, n);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            break;
        }
        off += (size_t)w;
        if (off < t->slow) {
            g_usleep(300);
        }
    }
    close(t->fd);
    return NULL;
}

/* Encoding: exact bytes for every width */

static void test_qemufile_put_byte(void **state)
{
    static const uint8_t want[] = { 0x00, 0x7f, 0x80, 0xff };
    VsQemuFile *f = vs_qemufile_new_memory_writer(*state);

    vs_qemufile_put_byte(f, 0x00);
    vs_qemufile_put_byte(f, 0x7f);
    vs_qemufile_put_byte(f, 0x80);
    vs_qemufile_put_byte(f, 0xff);
    assert_written(f, want, sizeof(want));
    vs_qemufile_free(f);
}

static void test_qemufile_put_be16(void **state)
{
    static const uint8_t want[] = { 0x01, 0x02, 0xff, 0xfe, 0x00, 0x00 };
    VsQemuFile *f = vs_qemufile_new_memory_writer(*state);

    vs_qemufile_put_be16(f, 0x0102);
    vs_qemufile_put_be16(f, 0xfffe);
    vs_qemufile_put_be16(f, 0);
    assert_written(f, want, sizeof(want));
    vs_qemufile_free(f);
}

static void test_qemufile_put_be32(void **state)
{
    static const uint8_t want[] = { 0x01, 0x02, 0x03, 0x04, 0x51, 0x45, 0x56, 0x4d,
                                    0xff, 0xff, 0xff, 0xfe };
    VsQemuFile *f = vs_qemufile_new_memory_writer(*state);

    vs_qemufile_put_be32(f, 0x01020304);
    vs_qemufile_put_be32(f, 0x5145564d);
    vs_qemufile_put_be32(f, 0xfffffffe);
    assert_written(f, want, sizeof(want));
    vs_qemufile_free(f);
}

static void test_qemufile_put_be64(void **state)
{
    static const uint8_t want[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                                    0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10 };
    VsQemuFile *f = vs_qemufile_new_memory_writer(*state);

    vs_qemufile_put_be64(f, 0x0102030405060708ull);
    vs_qemufile_put_be64(f, 0xfedcba9876543210ull);
    assert_written(f, want, sizeof(want));
    vs_qemufile_free(f);
}

static void test_qemufile_get_widths(void **state)
{
    static const uint8_t in[] = { 0x81, 0x01, 0x02, 0xff, 0xfe, 0x01, 0x02, 0x03, 0x04,
                                  0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10 };
    VsQemuFile *f = vs_qemufile_new_memory_reader(*state, in, sizeof(in));

    assert_int_equal(vs_qemufile_get_byte(f), 0x81);
    assert_int_equal(vs_qemufile_get_be16(f), 0x0102);
    assert_int_equal(vs_qemufile_get_be16(f), 0xfffe);
    assert_int_equal(vs_qemufile_get_be32(f), 0x01020304);
    assert_true(vs_qemufile_get_be64(f) == 0xfedcba9876543210ull);
    assert_true(vs_qemufile_at_eof(f));
    assert_false(vs_qemufile_failed(f));
    vs_qemufile_free(f);
}

static void test_qemufile_round_trip_widths(void **state)
{
    static const uint64_t values[] = { 0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000,
                                       0xffff, 0x7fffffff, 0x80000000u, 0xffffffffu,
                                       0x8000000000000000ull, UINT64_MAX,
                                       0x0123456789abcdefull };
    VsQemuFile *w = vs_qemufile_new_memory_writer(*state);
    VsQemuFile *r;
    const uint8_t *data;
    size_t len;

    for (size_t i = 0; i < G_N_ELEMENTS(values); i++) {
        vs_qemufile_put_byte(w, (uint8_t)values[i]);
        vs_qemufile_put_be16(w, (uint16_t)values[i]);
        vs_qemufile_put_be32(w, (uint32_t)values[i]);
        vs_qemufile_put_be64(w, values[i]);
    }
    data = vs_qemufile_memory_data(w, &len);
    assert_int_equal(len, G_N_ELEMENTS(values) * 15);
    r = vs_qemufile_new_memory_reader(*state, data, len);
    for (size_t i = 0; i < G_N_ELEMENTS(values); i++) {
        assert_int_equal(vs_qemufile_get_byte(r), (uint8_t)values[i]);
        assert_int_equal(vs_qemufile_get_be16(r), (uint16_t)values[i]);
        assert_int_equal(vs_qemufile_get_be32(r), (uint32_t)values[i]);
        assert_true(vs_qemufile_get_be64(r) == values[i]);
    }
    assert_true(vs_qemufile_at_eof(r));
    assert_false(vs_qemufile_failed(r));
    vs_qemufile_free(r);
    vs_qemufile_free(w);
}

/* Buffers, fill, counted strings */

static void test_qemufile_put_get_buffer(void **state)
{
    static const uint8_t small[] = { 0xde, 0xad, 0xbe, 0xef };
    VsQemuFile *w = vs_qemufile_new_memory_writer(*state);
    VsQemuFile *r;
    const uint8_t *data;
    uint8_t *back = g_malloc(3 * BUF);
    uint8_t four[4];
    size_t len;

    vs_qemufile_put_buffer(w, small, sizeof(small));
    vs_qemufile_put_buffer(w, NULL, 0);
    vs_qemufile_put_buffer(w, big, 3 * BUF - 1);
    data = vs_qemufile_memory_data(w, &len);
    assert_int_equal(len, 3 * BUF + 3);
    assert_memory_equal(data, small, 4);
    assert_memory_equal(data + 4, big, 3 * BUF - 1);

    r = vs_qemufile_new_memory_reader(*state, data, len);
    assert_int_equal(vs_qemufile_get_buffer(r, four, 0), 0);
    assert_int_equal(vs_qemufile_get_buffer(r, four, 4), 4);
    assert_memory_equal(four, small, 4);
    assert_int_equal(vs_qemufile_get_buffer(r, back, 3 * BUF - 1), 3 * BUF - 1);
    assert_memory_equal(back, big, 3 * BUF - 1);
    assert_true(vs_qemufile_at_eof(r));
    assert_false(vs_qemufile_failed(r));
    vs_qemufile_free(r);
    vs_qemufile_free(w);
    g_free(back);
}

static void test_qemufile_put_fill(void **state)
{
    VsQemuFile *f = vs_qemufile_new_memory_writer(*state);
    size_t n = 2 * BUF + 17;
    uint8_t *want = g_malloc(n + 2);
    const uint8_t *data;
    size_t len;

    vs_qemufile_put_byte(f, 0x01);
    vs_qemufile_put_fill(f, 0xa5, n);
    vs_qemufile_put_fill(f, 0x00, 0);
    vs_qemufile_put_byte(f, 0x02);
    want[0] = 0x01;
    memset(want + 1, 0xa5, n);
    want[n + 1] = 0x02;
    data = vs_qemufile_memory_data(f, &len);
    assert_int_equal(len, n + 2);
    assert_memory_equal(data, want, n + 2);
    assert_int_equal(vs_qemufile_pos(f), n + 2);
    vs_qemufile_free(f);
    g_free(want);
}

static void test_qemufile_cstr8(void **state)
{
    VsQemuFile *f = vs_qemufile_new_memory_writer(*state);
    char *longest = g_strnfill(255, 'x');
    const uint8_t *data;
    size_t len;

    vs_qemufile_put_cstr8(f, "abc");
    vs_qemufile_put_cstr8(f, "");
    vs_qemufile_put_cstr8(f, NULL);
    vs_qemufile_put_cstr8(f, longest);
    data = vs_qemufile_memory_data(f, &len);
    assert_false(vs_qemufile_failed(f));
    assert_int_equal(len, 4 + 1 + 1 + 256);
    assert_memory_equal(data, "\x03" "abc" "\x00" "\x00" "\xff", 7);
    assert_memory_equal(data + 7, longest, 255);
    vs_qemufile_free(f);
    g_free(longest);
}

static void test_qemufile_fail_cstr8_too_long(void **state)
{
    VsQemuFile *f = vs_qemufile_new_memory_writer(*state);
    char *too_long = g_strnfill(256, 'y');

    vs_qemufile_put_byte(f, 0x42);
    vs_qemufile_put_cstr8(f, too_long);
    assert_qf_error(f, VS_QEMUFILE_ERROR_IO, "counted string of 256 bytes exceeds 255");
    /* Nothing of the string, not even its length byte, was queued. */
    assert_int_equal(vs_qemufile_pos(f), 1);
    vs_qemufile_free(f);
    g_free(too_long);
}

/* Peek, skip, at_eof */

static void test_qemufile_peek_memory(void **state)
{
    static const uint8_t in[] = { 1, 2, 3, 4, 5, 6 };
    VsQemuFile *f = vs_qemufile_new_memory_reader(*state, in, sizeof(in));
    const uint8_t *p = NULL;
    uint8_t b = 0;

    assert_int_equal(vs_qemufile_peek(f, 0, 4, &p), 4);
    assert_memory_equal(p, in, 4);
    assert_int_equal(vs_qemufile_peek(f, 2, 2, &p), 2);
    assert_memory_equal(p, in + 2, 2);
    assert_true(vs_qemufile_peek_byte(f, 5, &b));
    assert_int_equal(b, 6);
    /* Peeking consumes nothing. */
    assert_int_equal(vs_qemufile_pos(f), 0);
    assert_int_equal(vs_qemufile_get_be16(f), 0x0102);
    assert_true(vs_qemufile_peek_byte(f, 0, &b));
    assert_int_equal(b, 3);
    assert_int_equal(vs_qemufile_peek(f, 0, 4, NULL), 4);
    assert_false(vs_qemufile_failed(f));
    vs_qemufile_free(f);
}

static void test_qemufile_peek_near_eof(void **state)
{
    static const uint8_t in[] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0 };
    VsQemuFile *f = vs_qemufile_new_memory_reader(*state, in, sizeof(in));
    const uint8_t *p = NULL;
    uint8_t b = 0xaa;

    assert_int_equal(vs_qemufile_peek(f, 0, 100, &p), 10);
    assert_memory_equal(p, in, 10);
    assert_int_equal(vs_qemufile_peek(f, 7, 100, &p), 3);
    assert_memory_equal(p, in + 7, 3);
    assert_int_equal(vs_qemufile_peek(f, 10, 1, &p), 0);
    assert_null(p);
    assert_int_equal(vs_qemufile_peek(f, 20, 4, &p), 0);
    assert_false(vs_qemufile_peek_byte(f, 10, &b));
    assert_int_equal(b, 0xaa);
    assert_true(vs_qemufile_peek_byte(f, 9, &b));
    assert_int_equal(b, 0);
    /* Running out while peeking is not an error. */
    assert_false(vs_qemufile_failed(f));
    assert_int_equal(vs_qemufile_skip(f, 10), 10);
    assert_int_equal(vs_qemufile_peek(f, 0, 1, &p), 0);
    assert_false(vs_qemufile_failed(f));
    vs_qemufile_free(f);
}

/* Writes @len bytes of the pattern to a fresh file in a fresh temp dir. */
static char *make_pattern_file(char **ret_dir, size_t len)
{
    GError *err = NULL;
    char *dir = g_dir_make_tmp("test-qemufile-XXXXXX", &err);
    char *path;

    assert_null(err);
    assert_non_null(dir);
    path = g_build_filename(dir, "stream.bin", NULL);
    assert_true(g_file_set_contents(path, (const char *)big, (gssize)len, &err));
    *ret_dir = dir;
    return path;
}

static void remove_file_and_dir(char *path, char *dir)
{
    assert_int_equal(g_unlink(path), 0);
    assert_int_equal(g_rmdir(dir), 0);
    g_free(path);
    g_free(dir);
}

static void test_qemufile_peek_refill(void **state)
{
    char *dir;
    char *path = make_pattern_file(&dir, 3 * BUF);
    VsQemuFile *f = vs_qemufile_open_path(*state, path, VS_QEMUFILE_READ, NULL);
    uint8_t *tmp = g_malloc(BUF);
    const uint8_t *p = NULL;

    assert_non_null(f);
    /* Leave 8 bytes in the first buffer load, then look 100 past them. */
    assert_int_equal(vs_qemufile_get_buffer(f, tmp, BUF - 8), BUF - 8);
    assert_int_equal(vs_qemufile_transferred(f), BUF);
    assert_int_equal(vs_qemufile_peek(f, 0, 108, &p), 108);
    assert_memory_equal(p, big + BUF - 8, 108);
    assert_true(vs_qemufile_transferred(f) > BUF);
    assert_int_equal(vs_qemufile_pos(f), BUF - 8);
    /* An offset alone can also cross the refill. */
    assert_int_equal(vs_qemufile_peek(f, BUF - 50, 50, &p), 50);
    assert_memory_equal(p, big + 2 * BUF - 58, 50);
    assert_int_equal(vs_qemufile_get_be64(f), load_be(big + BUF - 8, 8));
    assert_false(vs_qemufile_failed(f));
    vs_qemufile_free(f);
    remove_file_and_dir(path, dir);
    g_free(tmp);
}

static void test_qemufile_peek_large_lookahead(void **state)
{
    char *dir;
    char *path = make_pattern_file(&dir, 100000);
    VsQemuFile *f = vs_qemufile_open_path(*state, path, VS_QEMUFILE_READ, NULL);
    const uint8_t *p = NULL;

    assert_non_null(f);
    assert_int_equal(vs_qemufile_skip(f, 1001), 1001);
    assert_int_equal(vs_qemufile_peek(f, 0, BUF, &p), BUF);
    assert_memory_equal(p, big + 1001, BUF);
    assert_int_equal(vs_qemufile_peek(f, 1000, BUF - 1000, &p), BUF - 1000);
    assert_memory_equal(p, big + 2001, BUF - 1000);
    /* Near the end the full lookahead is not there: fewer, no error. */
    assert_int_equal(vs_qemufile_skip(f, 100000 - 1001 - 100), 100000 - 1001 - 100);
    assert_int_equal(vs_qemufile_peek(f, 0, BUF, &p), 100);
    assert_memory_equal(p, big + 100000 - 100, 100);
    assert_false(vs_qemufile_failed(f));
    assert_int_equal(vs_qemufile_skip(f, 100), 100);
    assert_true(vs_qemufile_at_eof(f));
    assert_false(vs_qemufile_failed(f));
    vs_qemufile_free(f);
    remove_file_and_dir(path, dir);
}

static void test_qemufile_peek_trickle(void **state)
{
    int p[2];
    Trickle t = { .slow = 64, .len = 4096 };
    GThread *thread;
    VsQemuFile *f;
    const uint8_t *ptr = NULL;

    make_pipe(p);
    /* Non-blocking, so the reader also goes through its wait-for-data path. */
    set_nonblocking(p[0]);
    t.fd = p[1];
    thread = g_thread_new("trickle", trickle_writer, &t);
    f = vs_qemufile_new_fd(*state, p[0], VS_QEMUFILE_READ, true);
    /* The bytes arrive one by one; peek must gather all 64. */
    assert_int_equal(vs_qemufile_peek(f, 0, 64, &ptr), 64);
    assert_memory_equal(ptr, big, 64);
    assert_int_equal(vs_qemufile_peek(f, 0, 4096, &ptr), 4096);
    assert_memory_equal(ptr, big, 4096);
    assert_int_equal(vs_qemufile_peek(f, 0, 5000, &ptr), 4096);
    assert_false(vs_qemufile_failed(f));
    g_thread_join(thread);
    vs_qemufile_free(f);
}

static int criticals;

static void count_criticals(const gchar *domain, GLogLevelFlags level,
                            const gchar *message, gpointer opaque)
{
    (void)domain;
    (void)message;
    (void)opaque;
    if (level & G_LOG_LEVEL_CRITICAL) {
        criticals++;
    }
}

static void test_qemufile_fail_peek_too_far(void **state)
{
    static const uint8_t in[] = { 1, 2, 3 };
    VsQemuFile *f = vs_qemufile_new_memory_reader(*state, in, sizeof(in));
    GLogFunc old = g_log_set_default_handler(count_criticals, NULL);
    const uint8_t *p = in;

    criticals = 0;
    assert_int_equal(vs_qemufile_peek(f, 1, BUF, &p), 0);
    assert_null(p);
    assert_int_equal(vs_qemufile_peek(f, SIZE_MAX, 2, &p), 0);
    assert_int_equal(vs_qemufile_peek(f, 0, BUF + 1, &p), 0);
    g_log_set_default_handler(old, NULL);
    assert_int_equal(criticals, 3);
    /* A caller's bug, not a stream failure. */
    assert_false(vs_qemufile_failed(f));
    assert_int_equal(vs_qemufile_peek(f, 0, BUF, &p), 3);
    vs_qemufile_free(f);
}

static void test_qemufile_skip(void **state)
{
    static const uint8_t in[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    VsQemuFile *f = vs_qemufile_new_memory_reader(*state, in, sizeof(in));

    assert_int_equal(vs_qemufile_skip(f, 0), 0);
    assert_int_equal(vs_qemufile_skip(f, 3), 3);
    assert_int_equal(vs_qemufile_get_byte(f), 4);
    assert_int_equal(vs_qemufile_pos(f), 4);
    assert_int_equal(vs_qemufile_skip(f, 10), 4);
    assert_qf_error(f, VS_QEMUFILE_ERROR_EOF,
                    "unexpected end of stream at offset 4 (wanted 10 bytes, 4 available)");
    assert_int_equal(vs_qemufile_pos(f), 8);
    vs_qemufile_free(f);
}

static void test_qemufile_skip_large_fd(void **state)
{
    char *dir;
    char *path = make_pattern_file(&dir, BIG_LEN);
    VsQemuFile *f = vs_qemufile_open_path(*state, path, VS_QEMUFILE_READ, NULL);
    char *want;

    assert_non_null(f);
    assert_int_equal(vs_qemufile_skip(f, 5 * BUF + 3), 5 * BUF + 3);
    assert_int_equal(vs_qemufile_get_be32(f), load_be(big + 5 * BUF + 3, 4));
    assert_int_equal(vs_qemufile_skip(f, BIG_LEN), BIG_LEN - 5 * BUF - 7);
    want = g_strdup_printf("unexpected end of stream at offset %zu (wanted %zu bytes, %zu available)",
                           (size_t)(5 * BUF + 7), BIG_LEN, BIG_LEN - 5 * BUF - 7);
    assert_qf_error(f, VS_QEMUFILE_ERROR_EOF, want);
    g_free(want);
    assert_int_equal(vs_qemufile_pos(f), BIG_LEN);
    assert_int_equal(vs_qemufile_transferred(f), BIG_LEN);
    vs_qemufile_free(f);
    remove_file_and_dir(path, dir);
}

static void test_qemufile_at_eof(void **state)
{
    static const uint8_t in[] = { 1, 2 };
    VsQemuFile *f = vs_qemufile_new_memory_reader(*state, in, sizeof(in));
    VsQemuFile *empty = vs_qemufile_new_memory_reader(*state, NULL, 0);

    assert_false(vs_qemufile_at_eof(f));
    assert_int_equal(vs_qemufile_get_byte(f), 1);
    assert_false(vs_qemufile_at_eof(f));
    assert_int_equal(vs_qemufile_get_byte(f), 2);
    assert_true(vs_qemufile_at_eof(f));
    assert_false(vs_qemufile_failed(f));
    assert_true(vs_qemufile_at_eof(empty));
    assert_false(vs_qemufile_failed(empty));
    assert_int_equal(vs_qemufile_get_byte(empty), 0);
    assert_qf_error(empty, VS_QEMUFILE_ERROR_EOF,
                    "unexpected end of stream at offset 0 (wanted 1 byte, 0 available)");
    vs_qemufile_free(empty);
    vs_qemufile_free(f);
}

/* Positions */

static void test_qemufile_pos_transferred_writer(void **state)
{
    VsQemuFile *f = vs_qemufile_new_memory_writer(*state);

    assert_int_equal(vs_qemufile_pos(f), 0);
    assert_int_equal(vs_qemufile_transferred(f), 0);
    vs_qemufile_put_be32(f, 7);
    vs_qemufile_put_buffer(f, big, 6);
    /* Buffered, not yet through the backend. */
    assert_int_equal(vs_qemufile_pos(f), 10);
    assert_int_equal(vs_qemufile_transferred(f), 0);
    assert_true(vs_qemufile_flush(f, NULL));
    assert_int_equal(vs_qemufile_transferred(f), 10);
    /* Overflowing the buffer sends one buffer's worth on its own. */
    vs_qemufile_put_fill(f, 0, BUF + 1);
    assert_int_equal(vs_qemufile_pos(f), BUF + 11);
    assert_int_equal(vs_qemufile_transferred(f), BUF + 10);
    assert_true(vs_qemufile_flush(f, NULL));
    assert_int_equal(vs_qemufile_transferred(f), BUF + 11);
    vs_qemufile_free(f);
}

static void test_qemufile_pos_transferred_reader(void **state)
{
    int p[2];
    VsQemuFile *f;

    make_pipe(p);
    assert_int_equal(write(p[1], big, 100), 100);
    close(p[1]);
    f = vs_qemufile_new_fd(*state, p[0], VS_QEMUFILE_READ, true);
    assert_int_equal(vs_qemufile_get_byte(f), big[0]);
    assert_int_equal(vs_qemufile_pos(f), 1);
    /* The reader fetched ahead of what it was asked for. */
    assert_int_equal(vs_qemufile_transferred(f), 100);
    assert_int_equal(vs_qemufile_skip(f, 99), 99);
    assert_int_equal(vs_qemufile_pos(f), 100);
    assert_int_equal(vs_qemufile_transferred(f), 100);
    vs_qemufile_free(f);
}

static void test_qemufile_pos_transferred_memory_reader(void **state)
{
    VsQemuFile *f = vs_qemufile_new_memory_reader(*state, big, 1000);

    /* The whole borrowed buffer is visible from the start. */
    assert_int_equal(vs_qemufile_transferred(f), 1000);
    assert_int_equal(vs_qemufile_pos(f), 0);
    assert_int_equal(vs_qemufile_skip(f, 999), 999);
    assert_int_equal(vs_qemufile_pos(f), 999);
    assert_int_equal(vs_qemufile_transferred(f), 1000);
    vs_qemufile_free(f);
}

/* Sticky errors */

static void test_qemufile_fail_sticky_first_error(void **state)
{
    VsQemuFile *f = vs_qemufile_new_memory_writer(*state);
    GError *err = NULL;

    assert_false(vs_qemufile_failed(f));
    assert_null(vs_qemufile_error(f));
    vs_qemufile_set_error(f, NULL);
    assert_false(vs_qemufile_failed(f));
    vs_qemufile_set_error(f, g_error_new(G_FILE_ERROR, G_FILE_ERROR_NOENT, "first"));
    vs_qemufile_set_error(f, g_error_new(VS_QEMUFILE_ERROR, VS_QEMUFILE_ERROR_IO, "second"));
    assert_true(vs_qemufile_failed(f));
    assert_string_equal(vs_qemufile_error(f)->message, "first");
    assert_true(vs_qemufile_error(f)->domain == G_FILE_ERROR);
    /* Later puts are ignored and flush/close report the first error. */
    vs_qemufile_put_cstr8(f, "ok");
    assert_false(vs_qemufile_flush(f, &err));
    assert_non_null(err);
    assert_string_equal(err->message, "first");
    g_error_free(err);
    err = NULL;
    assert_false(vs_qemufile_close(f, &err));
    assert_string_equal(err->message, "first");
    g_error_free(err);
    vs_qemufile_free(f);
}

static void test_qemufile_fail_gets_zero_after_error(void **state)
{
    uint8_t in[64];
    uint8_t out[8];
    VsQemuFile *f;
    const uint8_t *p = in;

    memset(in, 0xff, sizeof(in));
    memset(out, 0x11, sizeof(out));
    f = vs_qemufile_new_memory_reader(*state, in, sizeof(in));
    assert_int_equal(vs_qemufile_get_byte(f), 0xff);
    vs_qemufile_set_error(f, g_error_new(VS_QEMUFILE_ERROR, VS_QEMUFILE_ERROR_IO, "boom"));
    assert_int_equal(vs_qemufile_get_byte(f), 0);
    assert_int_equal(vs_qemufile_get_be16(f), 0);
    assert_int_equal(vs_qemufile_get_be32(f), 0);
    assert_true(vs_qemufile_get_be64(f) == 0);
    assert_int_equal(vs_qemufile_get_buffer(f, out, sizeof(out)), 0);
    assert_int_equal(out[0], 0x11);
    assert_int_equal(vs_qemufile_skip(f, 4), 0);
    assert_int_equal(vs_qemufile_peek(f, 0, 4, &p), 0);
    assert_null(p);
    assert_false(vs_qemufile_peek_byte(f, 0, NULL));
    assert_true(vs_qemufile_at_eof(f));
    assert_int_equal(vs_qemufile_pos(f), 1);
    assert_qf_error(f, VS_QEMUFILE_ERROR_IO, "boom");
    vs_qemufile_free(f);
}

static void test_qemufile_fail_puts_ignored_after_error(void **state)
{
    VsQemuFile *f = vs_qemufile_new_memory_writer(*state);
    size_t len = 99;

    vs_qemufile_put_be16(f, 0x0102);
    assert_true(vs_qemufile_flush(f, NULL));
    vs_qemufile_put_byte(f, 0x03); /* queued but never sent: the file fails first */
    vs_qemufile_set_error(f, g_error_new(VS_QEMUFILE_ERROR, VS_QEMUFILE_ERROR_IO, "boom"));
    vs_qemufile_put_byte(f, 1);
    vs_qemufile_put_be16(f, 1);
    vs_qemufile_put_be32(f, 1);
    vs_qemufile_put_be64(f, 1);
    vs_qemufile_put_buffer(f, big, 100);
    vs_qemufile_put_fill(f, 0, 100);
    vs_qemufile_put_cstr8(f, "x");
    assert_int_equal(vs_qemufile_pos(f), 3);
    assert_false(vs_qemufile_flush(f, NULL));
    assert_memory_equal(vs_qemufile_memory_data(f, &len), "\x01\x02", 2);
    assert_int_equal(len, 2);
    assert_int_equal(vs_qemufile_transferred(f), 2);
    assert_qf_error(f, VS_QEMUFILE_ERROR_IO, "boom");
    vs_qemufile_free(f);
}

static void test_qemufile_fail_eof_mid_be32(void **state)
{
    uint8_t *in = g_malloc(1235);
    VsQemuFile *f;
    GError *err = NULL;

    memcpy(in, big, 1235);
    f = vs_qemufile_new_memory_reader(*state, in, 1235);
    assert_int_equal(vs_qemufile_skip(f, 1234), 1234);
    assert_int_equal(vs_qemufile_get_be32(f), 0);
    assert_qf_error(f, VS_QEMUFILE_ERROR_EOF, "");
    assert_string_equal(vs_qemufile_error(f)->message,
                        "unexpected end of stream at offset 1234 (wanted 4 bytes, 1 available)");
    /* Later gets stay quiet and keep the first message. */
    assert_int_equal(vs_qemufile_get_be16(f), 0);
    assert_false(vs_qemufile_close(f, &err));
    assert_qf_gerror(err, VS_QEMUFILE_ERROR_EOF, "unexpected end of stream at offset 1234 (wanted 4 bytes, 1 available)");
    g_error_free(err);
    vs_qemufile_free(f);
    g_free(in);
}

static void test_qemufile_fail_eof_each_width(void **state)
{
    static const uint8_t in[] = { 1, 2, 3, 4, 5, 6, 7 };
    VsQemuFile *f;

    f = vs_qemufile_new_memory_reader(*state, in, 1);
    assert_int_equal(vs_qemufile_get_be16(f), 0);
    assert_qf_error(f, VS_QEMUFILE_ERROR_EOF, "unexpected end of stream at offset 0 (wanted 2 bytes, 1 available)");
    vs_qemufile_free(f);

    f = vs_qemufile_new_memory_reader(*state, in, 7);
    assert_true(vs_qemufile_get_be64(f) == 0);
    assert_qf_error(f, VS_QEMUFILE_ERROR_EOF, "unexpected end of stream at offset 0 (wanted 8 bytes, 7 available)");
    vs_qemufile_free(f);

    f = vs_qemufile_new_memory_reader(*state, in, 5);
    assert_int_equal(vs_qemufile_get_be32(f), 0x01020304);
    assert_int_equal(vs_qemufile_get_be32(f), 0);
    assert_qf_error(f, VS_QEMUFILE_ERROR_EOF, "unexpected end of stream at offset 4 (wanted 4 bytes, 1 available)");
    vs_qemufile_free(f);
}

static void test_qemufile_fail_get_buffer_short(void **state)
{
    int p[2];
    uint8_t out[16] = { 0 };
    VsQemuFile *f;

    make_pipe(p);
    assert_int_equal(write(p[1], big, 5), 5);
    close(p[1]);
    f = vs_qemufile_new_fd(*state, p[0], VS_QEMUFILE_READ, true);
    assert_int_equal(vs_qemufile_get_buffer(f, out, sizeof(out)), 5);
    assert_memory_equal(out, big, 5);
    assert_qf_error(f, VS_QEMUFILE_ERROR_EOF,
                    "unexpected end of stream at offset 0 (wanted 16 bytes, 5 available)");
    vs_qemufile_free(f);
}

static void test_qemufile_fail_eof_mid_be32_pipe(void **state)
{
    int p[2];
    VsQemuFile *f;

    make_pipe(p);
    assert_int_equal(write(p[1], "\x01\x02\x03\x04\x05\x06", 6), 6);
    close(p[1]);
    f = vs_qemufile_new_fd(*state, p[0], VS_QEMUFILE_READ, true);
    assert_int_equal(vs_qemufile_get_be32(f), 0x01020304);
    assert_int_equal(vs_qemufile_get_be32(f), 0);
    assert_qf_error(f, VS_QEMUFILE_ERROR_EOF,
                    "unexpected end of stream at offset 4 (wanted 4 bytes, 2 available)");
    vs_qemufile_free(f);
}

/* Memory backend */

static void test_qemufile_memory_writer_large(void **state)
{
    VsQemuFile *f = vs_qemufile_new_memory_writer(*state);
    size_t len = 0;
    const uint8_t *data;

    write_stream(f, big, BIG_LEN);
    data = vs_qemufile_memory_data(f, &len);
    assert_int_equal(len, BIG_LEN);
    assert_memory_equal(data, big, BIG_LEN);
    assert_int_equal(vs_qemufile_pos(f), BIG_LEN);
    assert_int_equal(vs_qemufile_transferred(f), BIG_LEN);
    /* Data stays valid and contiguous when the writer grows afterwards. */
    vs_qemufile_put_be32(f, 0xcafef00d);
    data = vs_qemufile_memory_data(f, &len);
    assert_int_equal(len, BIG_LEN + 4);
    assert_memory_equal(data, big, BIG_LEN);
    assert_memory_equal(data + BIG_LEN, "\xca\xfe\xf0\x0d", 4);
    assert_true(vs_qemufile_close(f, NULL));
    /* A closed memory writer still shows what it collected. */
    data = vs_qemufile_memory_data(f, &len);
    assert_int_equal(len, BIG_LEN + 4);
    assert_memory_equal(data + BIG_LEN, "\xca\xfe\xf0\x0d", 4);
    vs_qemufile_free(f);
}

static void test_qemufile_memory_reader_large(void **state)
{
    VsQemuFile *f = vs_qemufile_new_memory_reader(*state, big, BIG_LEN);

    check_stream(f, big, BIG_LEN);
    vs_qemufile_free(f);
}

static void test_qemufile_memory_empty(void **state)
{
    VsQemuFile *w = vs_qemufile_new_memory_writer(*state);
    VsQemuFile *r = vs_qemufile_new_memory_reader(*state, NULL, 0);
    size_t len = 5;

    assert_non_null(vs_qemufile_memory_data(w, &len));
    assert_int_equal(len, 0);
    assert_true(vs_qemufile_at_eof(r));
    assert_true(vs_qemufile_close(w, NULL));
    assert_true(vs_qemufile_close(r, NULL));
    vs_qemufile_free(r);
    vs_qemufile_free(w);
}

static void test_qemufile_memory_data_other_backends(void **state)
{
    int p[2];
    VsQemuFile *fd_writer;
    VsQemuFile *reader = vs_qemufile_new_memory_reader(*state, big, 10);
    size_t len = 77;

    make_pipe(p);
    fd_writer = vs_qemufile_new_fd(*state, p[1], VS_QEMUFILE_WRITE, true);
    assert_null(vs_qemufile_memory_data(fd_writer, &len));
    assert_int_equal(len, 0);
    len = 77;
    assert_null(vs_qemufile_memory_data(reader, &len));
    assert_int_equal(len, 0);
    assert_false(vs_qemufile_failed(fd_writer));
    assert_false(vs_qemufile_failed(reader));
    vs_qemufile_free(reader);
    vs_qemufile_free(fd_writer);
    close(p[0]);
}

/* Descriptor, path and socket backends */

static void test_qemufile_fd_pipe(void **state)
{
    int p[2];
    Pump pump;
    GThread *t;
    VsQemuFile *f;

    make_pipe(p);
    /* Far more than the pipe holds: only a concurrent reader lets it through. */
    t = start_pump(&pump, p[1], false, big, BIG_LEN);
    f = vs_qemufile_new_fd(*state, p[0], VS_QEMUFILE_READ, true);
    check_stream(f, big, BIG_LEN);
    assert_int_equal(vs_qemufile_transferred(f), BIG_LEN);
    finish_pump(t, &pump);
    assert_true(vs_qemufile_close(f, NULL));
    vs_qemufile_free(f);
}

static void test_qemufile_path_round_trip(void **state)
{
    GError *err = NULL;
    char *dir = g_dir_make_tmp("test-qemufile-XXXXXX", &err);
    char *path = g_build_filename(dir, "out.bin", NULL);
    mode_t old_mask = umask(022);
    VsQemuFile *f = vs_qemufile_open_path(*state, path, VS_QEMUFILE_WRITE, &err);
    struct stat st;
    int fd;

    umask(old_mask);
    assert_null(err);
    assert_non_null(f);
    fd = fd_for_path(path);
    assert_true(fd >= 0);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    vs_qemufile_put_be32(f, 0x5145564d);
    write_stream(f, big, BIG_LEN);
    vs_qemufile_put_cstr8(f, "tail");
    assert_true(vs_qemufile_close(f, &err));
    assert_false(fd_is_open(fd));
    vs_qemufile_free(f);

    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 4 + BIG_LEN + 5);
    f = vs_qemufile_open_path(*state, path, VS_QEMUFILE_READ, &err);
    assert_null(err);
    assert_int_equal(vs_qemufile_get_be32(f), 0x5145564d);
    check_run(f, big, BIG_LEN, false);
    assert_int_equal(vs_qemufile_get_byte(f), 4);
    check_run(f, (const uint8_t *)"tail", 4, true);
    assert_true(vs_qemufile_at_eof(f));
    assert_false(vs_qemufile_failed(f));
    fd = fd_for_path(path);
    assert_true(fd >= 0);
    /* The path backend owns its descriptor: freeing closes it. */
    vs_qemufile_free(f);
    assert_int_equal(fd_for_path(path), -1);
    remove_file_and_dir(path, dir);
}

static void test_qemufile_path_truncates(void **state)
{
    char *dir;
    char *path = make_pattern_file(&dir, 1000);
    VsQemuFile *f = vs_qemufile_open_path(*state, path, VS_QEMUFILE_WRITE, NULL);
    char *contents = NULL;
    gsize len = 0;

    assert_non_null(f);
    vs_qemufile_put_be16(f, 0xabcd);
    assert_true(vs_qemufile_close(f, NULL));
    vs_qemufile_free(f);
    assert_true(g_file_get_contents(path, &contents, &len, NULL));
    assert_int_equal(len, 2);
    assert_memory_equal(contents, "\xab\xcd", 2);
    g_free(contents);
    remove_file_and_dir(path, dir);
}

static void test_qemufile_fail_open_missing(void **state)
{
    GError *err = NULL;
    char *dir = g_dir_make_tmp("test-qemufile-XXXXXX", &err);
    char *path = g_build_filename(dir, "no-such-file", NULL);
    char *deep = g_build_filename(dir, "no-such-dir", "f", NULL);
    char *want;

    assert_null(vs_qemufile_open_path(*state, path, VS_QEMUFILE_READ, &err));
    want = g_strdup_printf("cannot open %s for reading: %s", path, g_strerror(ENOENT));
    assert_qf_gerror(err, VS_QEMUFILE_ERROR_IO, want);
    g_free(want);
    g_clear_error(&err);
    /* Creating needs the directory to exist. */
    assert_null(vs_qemufile_open_path(*state, deep, VS_QEMUFILE_WRITE, &err));
    want = g_strdup_printf("cannot open %s for writing: %s", deep, g_strerror(ENOENT));
    assert_qf_gerror(err, VS_QEMUFILE_ERROR_IO, want);
    g_free(want);
    g_clear_error(&err);
    /* A NULL errp is allowed. */
    assert_null(vs_qemufile_open_path(*state, path, VS_QEMUFILE_READ, NULL));
    /* A directory cannot be written. */
    assert_null(vs_qemufile_open_path(*state, dir, VS_QEMUFILE_WRITE, &err));
    want = g_strdup_printf("cannot open %s for writing: %s", dir, g_strerror(EISDIR));
    assert_qf_gerror(err, VS_QEMUFILE_ERROR_IO, want);
    g_free(want);
    g_clear_error(&err);
    assert_int_equal(g_rmdir(dir), 0);
    g_free(deep);
    g_free(path);
    g_free(dir);
}

static void test_qemufile_fail_read_directory(void **state)
{
    GError *err = NULL;
    char *dir = g_dir_make_tmp("test-qemufile-XXXXXX", &err);
    VsQemuFile *f = vs_qemufile_open_path(*state, dir, VS_QEMUFILE_READ, &err);
    char *want = g_strdup_printf("cannot read from %s: %s", dir, g_strerror(EISDIR));

    /* Opening works; reading is what fails, and it names the path. */
    assert_non_null(f);
    assert_int_equal(vs_qemufile_get_byte(f), 0);
    assert_qf_error(f, VS_QEMUFILE_ERROR_IO, want);
    g_free(want);
    vs_qemufile_free(f);
    assert_int_equal(g_rmdir(dir), 0);
    g_free(dir);
}

static void test_qemufile_socketpair(void **state)
{
    int sv[2];
    Pump pump;
    GThread *t;
    VsQemuFile *f;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    t = start_pump(&pump, sv[0], true, big, BIG_LEN);
    f = vs_qemufile_new_socket(*state, sv[1], VS_QEMUFILE_READ, true);
    check_stream(f, big, BIG_LEN);
    finish_pump(t, &pump);
    vs_qemufile_free(f);
}

static void test_qemufile_tcp_loopback(void **state)
{
    int client, server;
    Pump pump;
    GThread *t;
    VsQemuFile *f;

    tcp_pair(&client, &server);
    t = start_pump(&pump, client, true, big, BIG_LEN);
    f = vs_qemufile_new_socket(*state, server, VS_QEMUFILE_READ, true);
    check_stream(f, big, BIG_LEN);
    assert_int_equal(vs_qemufile_transferred(f), BIG_LEN);
    finish_pump(t, &pump);
    vs_qemufile_free(f);
}

static void test_qemufile_tcp_loopback_reverse(void **state)
{
    int client, server;
    Pump pump;
    GThread *t;
    VsQemuFile *f;

    /* Same again with the accepted end sending. */
    tcp_pair(&client, &server);
    t = start_pump(&pump, server, true, big, BIG_LEN);
    f = vs_qemufile_new_socket(*state, client, VS_QEMUFILE_READ, true);
    check_stream(f, big, BIG_LEN);
    finish_pump(t, &pump);
    vs_qemufile_free(f);
}

static void test_qemufile_socket_nonblocking_writer(void **state)
{
    int sv[2];
    int sndbuf = 4096;
    Sink sink = { .cap = BIG_LEN + 1 };
    GThread *t;
    VsQemuFile *f;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
    /* A small, non-blocking send buffer forces short sends and EAGAIN. */
    set_nonblocking(sv[0]);
    sink.fd = sv[1];
    sink.got = g_malloc(sink.cap);
    t = g_thread_new("sink", sink_reader, &sink);
    f = vs_qemufile_new_socket(*state, sv[0], VS_QEMUFILE_WRITE, true);
    write_stream(f, big, BIG_LEN);
    assert_true(vs_qemufile_close(f, NULL));
    assert_int_equal(vs_qemufile_transferred(f), BIG_LEN);
    g_thread_join(t);
    assert_int_equal(sink.error, 0);
    assert_int_equal(sink.len, BIG_LEN);
    assert_memory_equal(sink.got, big, BIG_LEN);
    vs_qemufile_free(f);
    close(sv[1]);
    g_free(sink.got);
}

static void test_qemufile_socket_peer_eof(void **state)
{
    int sv[2];
    VsQemuFile *f;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(send(sv[0], "\x00\x2a", 2, 0), 2);
    assert_int_equal(shutdown(sv[0], SHUT_WR), 0);
    f = vs_qemufile_new_socket(*state, sv[1], VS_QEMUFILE_READ, false);
    assert_int_equal(vs_qemufile_get_be16(f), 42);
    assert_true(vs_qemufile_at_eof(f));
    assert_false(vs_qemufile_failed(f));
    assert_int_equal(vs_qemufile_get_byte(f), 0);
    assert_qf_error(f, VS_QEMUFILE_ERROR_EOF, "unexpected end of stream at offset 2 (wanted 1 byte, 0 available)");
    vs_qemufile_free(f);
    /* Borrowed: still open after free. */
    assert_true(fd_is_open(sv[1]));
    close(sv[0]);
    close(sv[1]);
}

static void test_qemufile_fail_bad_fd_read(void **state)
{
    int p[2];
    VsQemuFile *f = vs_qemufile_new_fd(*state, -1, VS_QEMUFILE_READ, false);
    char *want = g_strdup_printf("cannot read from fd -1: %s", g_strerror(EBADF));

    assert_int_equal(vs_qemufile_get_be32(f), 0);
    assert_qf_error(f, VS_QEMUFILE_ERROR_IO, want);
    g_free(want);
    vs_qemufile_free(f);

    /* A descriptor closed behind the file's back. */
    make_pipe(p);
    close(p[0]);
    close(p[1]);
    f = vs_qemufile_new_fd(*state, p[0], VS_QEMUFILE_READ, false);
    assert_true(vs_qemufile_at_eof(f));
    want = g_strdup_printf("cannot read from fd %d: %s", p[0], g_strerror(EBADF));
    assert_qf_error(f, VS_QEMUFILE_ERROR_IO, want);
    g_free(want);
    vs_qemufile_free(f);
}

static void test_qemufile_fail_bad_fd_write(void **state)
{
    int p[2];
    VsQemuFile *f;
    GError *err = NULL;
    char *want;

    make_pipe(p);
    /* The read end of a pipe refuses writes with EBADF. */
    f = vs_qemufile_new_fd(*state, p[0], VS_QEMUFILE_WRITE, false);
    vs_qemufile_put_be32(f, 1);
    assert_false(vs_qemufile_failed(f)); /* only buffered so far */
    assert_false(vs_qemufile_flush(f, &err));
    want = g_strdup_printf("cannot write to fd %d: %s", p[0], g_strerror(EBADF));
    assert_qf_gerror(err, VS_QEMUFILE_ERROR_IO, want);
    assert_qf_error(f, VS_QEMUFILE_ERROR_IO, want);
    assert_int_equal(vs_qemufile_transferred(f), 0);
    g_free(want);
    g_error_free(err);
    vs_qemufile_free(f);
    close(p[0]);
    close(p[1]);
}

static void test_qemufile_fail_socket_not_a_socket(void **state)
{
    int p[2];
    VsQemuFile *f;
    char *want;

    make_pipe(p);
    assert_int_equal(write(p[1], "x", 1), 1);
    f = vs_qemufile_new_socket(*state, p[0], VS_QEMUFILE_READ, true);
    assert_int_equal(vs_qemufile_get_byte(f), 0);
    want = g_strdup_printf("cannot read from socket %d: %s", p[0], g_strerror(ENOTSOCK));
    assert_qf_error(f, VS_QEMUFILE_ERROR_IO, want);
    g_free(want);
    vs_qemufile_free(f);
    close(p[1]);
}

static void test_qemufile_fail_socket_peer_closed(void **state)
{
    int sv[2];
    VsQemuFile *f;
    GError *err = NULL;
    char *want;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    close(sv[1]);
    f = vs_qemufile_new_socket(*state, sv[0], VS_QEMUFILE_WRITE, true);
    vs_qemufile_put_buffer(f, big, 100);
    /* Reaching the next line at all shows that no SIGPIPE was raised. */
    assert_false(vs_qemufile_flush(f, &err));
    want = g_strdup_printf("cannot write to socket %d: %s", sv[0], g_strerror(EPIPE));
    assert_qf_gerror(err, VS_QEMUFILE_ERROR_IO, want);
    g_free(want);
    g_error_free(err);
    vs_qemufile_put_byte(f, 1);
    assert_int_equal(vs_qemufile_pos(f), 100);
    vs_qemufile_free(f);
}

static void test_qemufile_fail_tcp_peer_closed(void **state)
{
    int client, server;
    VsQemuFile *f;
    const GError *err;
    int rounds = 0;

    tcp_pair(&client, &server);
    close(server);
    f = vs_qemufile_new_socket(*state, client, VS_QEMUFILE_WRITE, true);
    /* TCP accepts the first sends; the peer's reset then fails later ones. */
    while (!vs_qemufile_failed(f) && rounds++ < 5000) {
        vs_qemufile_put_buffer(f, big, 1000);
        (void)vs_qemufile_flush(f, NULL);
        g_usleep(1000);
    }
    err = vs_qemufile_error(f);
    assert_qf_error(f, VS_QEMUFILE_ERROR_IO, "cannot write to socket ");
    if (!strstr(err->message, g_strerror(EPIPE)) &&
        !strstr(err->message, g_strerror(ECONNRESET))) {
        fail_msg("unexpected error: %s", err->message);
    }
    vs_qemufile_free(f);
}

/* Rate limiting */

static void test_qemufile_rate_budget(void **state)
{
    VsQemuFile *f = vs_qemufile_new_memory_writer(*state);

    assert_int_equal(vs_qemufile_rate_limit(f), 0);
    vs_qemufile_put_fill(f, 0, 10 * BUF);
    assert_false(vs_qemufile_rate_limited(f));
    vs_qemufile_set_rate_limit(f, 100);
    assert_int_equal(vs_qemufile_rate_limit(f), 100);
    /* Bytes from before the reset still count. */
    assert_true(vs_qemufile_rate_limited(f));
    vs_qemufile_rate_reset(f);
    assert_false(vs_qemufile_rate_limited(f));
    vs_qemufile_put_buffer(f, big, 99);
    assert_false(vs_qemufile_rate_limited(f));
    /* Counted when put, before anything reaches the backend. */
    vs_qemufile_put_byte(f, 0);
    assert_true(vs_qemufile_rate_limited(f));
    vs_qemufile_put_be64(f, 0);
    assert_true(vs_qemufile_rate_limited(f));
    vs_qemufile_rate_reset(f);
    assert_false(vs_qemufile_rate_limited(f));
    vs_qemufile_set_rate_limit(f, 0);
    vs_qemufile_put_fill(f, 0, 1000);
    assert_false(vs_qemufile_rate_limited(f));
    assert_false(vs_qemufile_failed(f));
    vs_qemufile_free(f);
}

typedef struct HookLog {
    VsQemuFile *expect_file;
    uint64_t bytes;
    unsigned calls;
    unsigned refuse_at;
    bool wrong_file;
} HookLog;

static bool log_hook(VsQemuFile *f, size_t bytes, void *opaque)
{
    HookLog *log = opaque;

    if (f != log->expect_file) {
        log->wrong_file = true;
    }
    log->calls++;
    if (log->refuse_at && log->calls >= log->refuse_at) {
        return false;
    }
    log->bytes += bytes;
    return true;
}

static void test_qemufile_rate_hook_counts(void **state)
{
    VsQemuFile *f = vs_qemufile_new_memory_writer(*state);
    HookLog log = { .expect_file = f };
    size_t total = 3 * BUF + 100;

    vs_qemufile_set_rate_hook(f, log_hook, &log);
    vs_qemufile_put_buffer(f, big, total);
    /* Three full buffers went out; the rest waits for the flush. */
    assert_int_equal(log.calls, 3);
    assert_int_equal(log.bytes, 3 * BUF);
    assert_true(vs_qemufile_flush(f, NULL));
    assert_int_equal(log.calls, 4);
    assert_int_equal(log.bytes, total);
    /* An empty flush does not bother the hook. */
    assert_true(vs_qemufile_flush(f, NULL));
    assert_int_equal(log.calls, 4);
    assert_false(log.wrong_file);
    assert_int_equal(vs_qemufile_transferred(f), total);
    assert_written(f, big, total);
    vs_qemufile_set_rate_hook(f, NULL, NULL);
    vs_qemufile_put_byte(f, 1);
    assert_true(vs_qemufile_flush(f, NULL));
    assert_int_equal(log.calls, 4);
    vs_qemufile_free(f);
}

static void test_qemufile_rate_hook_socket(void **state)
{
    int sv[2];
    Sink sink = { .cap = BIG_LEN + 1 };
    GThread *t;
    VsQemuFile *f;
    HookLog log = { 0 };

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    sink.fd = sv[1];
    sink.got = g_malloc(sink.cap);
    t = g_thread_new("sink", sink_reader, &sink);
    f = vs_qemufile_new_socket(*state, sv[0], VS_QEMUFILE_WRITE, true);
    log.expect_file = f;
    vs_qemufile_set_rate_hook(f, log_hook, &log);
    write_stream(f, big, BIG_LEN);
    assert_true(vs_qemufile_close(f, NULL));
    g_thread_join(t);
    assert_int_equal(log.bytes, BIG_LEN);
    assert_true(log.calls >= BIG_LEN / BUF);
    assert_int_equal(sink.len, BIG_LEN);
    assert_memory_equal(sink.got, big, BIG_LEN);
    vs_qemufile_free(f);
    close(sv[1]);
    g_free(sink.got);
}

static void test_qemufile_fail_rate_hook_refuses(void **state)
{
    VsQemuFile *f = vs_qemufile_new_memory_writer(*state);
    HookLog log = { .expect_file = f, .refuse_at = 2 };
    GError *err = NULL;
    size_t len = 0;

    vs_qemufile_set_rate_hook(f, log_hook, &log);
    vs_qemufile_put_buffer(f, big, 3 * BUF);
    assert_qf_error(f, VS_QEMUFILE_ERROR_RATE, "rate hook stopped the stream");
    assert_int_equal(log.calls, 2);
    /* The refused buffer never reached the backend. */
    assert_int_equal(vs_qemufile_transferred(f), BUF);
    (void)vs_qemufile_memory_data(f, &len);
    assert_int_equal(len, BUF);
    vs_qemufile_put_be32(f, 1);
    assert_false(vs_qemufile_close(f, &err));
    assert_qf_gerror(err, VS_QEMUFILE_ERROR_RATE, "rate hook stopped the stream");
    g_error_free(err);
    assert_int_equal(log.calls, 2);
    assert_true(vs_qemufile_rate_limited(f));
    vs_qemufile_free(f);
}

static void test_qemufile_fail_rate_limited_after_error(void **state)
{
    VsQemuFile *f = vs_qemufile_new_memory_writer(*state);

    /* A sender waiting for "limited" must stop once puts are ignored. */
    assert_false(vs_qemufile_rate_limited(f));
    vs_qemufile_set_error(f, g_error_new(VS_QEMUFILE_ERROR, VS_QEMUFILE_ERROR_IO, "x"));
    assert_true(vs_qemufile_rate_limited(f));
    vs_qemufile_free(f);
}

/* Mode misuse */

typedef void (*FileOp)(VsQemuFile *f);

static void op_get_byte(VsQemuFile *f) { (void)vs_qemufile_get_byte(f); }
static void op_get_be16(VsQemuFile *f) { (void)vs_qemufile_get_be16(f); }
static void op_get_be32(VsQemuFile *f) { (void)vs_qemufile_get_be32(f); }
static void op_get_be64(VsQemuFile *f) { (void)vs_qemufile_get_be64(f); }
static void op_skip(VsQemuFile *f) { (void)vs_qemufile_skip(f, 1); }
static void op_at_eof(VsQemuFile *f) { assert_true(vs_qemufile_at_eof(f)); }
static void op_peek_byte(VsQemuFile *f) { assert_false(vs_qemufile_peek_byte(f, 0, NULL)); }

static void op_get_buffer(VsQemuFile *f)
{
    uint8_t b[4];

    assert_int_equal(vs_qemufile_get_buffer(f, b, sizeof(b)), 0);
}

static void op_peek(VsQemuFile *f)
{
    const uint8_t *p = NULL;

    assert_int_equal(vs_qemufile_peek(f, 0, 1, &p), 0);
    assert_null(p);
}

static void op_put_byte(VsQemuFile *f) { vs_qemufile_put_byte(f, 1); }
static void op_put_be16(VsQemuFile *f) { vs_qemufile_put_be16(f, 1); }
static void op_put_be32(VsQemuFile *f) { vs_qemufile_put_be32(f, 1); }
static void op_put_be64(VsQemuFile *f) { vs_qemufile_put_be64(f, 1); }
static void op_put_buffer(VsQemuFile *f) { vs_qemufile_put_buffer(f, big, 4); }
static void op_put_fill(VsQemuFile *f) { vs_qemufile_put_fill(f, 0, 4); }
static void op_put_cstr8(VsQemuFile *f) { vs_qemufile_put_cstr8(f, "abc"); }

static void test_qemufile_fail_mode_get_on_writer(void **state)
{
    static const FileOp ops[] = { op_get_byte, op_get_be16, op_get_be32, op_get_be64,
                                  op_get_buffer, op_skip, op_peek, op_peek_byte,
                                  op_at_eof };

    for (size_t i = 0; i < G_N_ELEMENTS(ops); i++) {
        VsQemuFile *f = vs_qemufile_new_memory_writer(*state);

        ops[i](f);
        assert_qf_error(f, VS_QEMUFILE_ERROR_MODE,
                        "cannot read from a stream opened for writing");
        vs_qemufile_free(f);
    }
}

static void test_qemufile_fail_mode_put_on_reader(void **state)
{
    static const FileOp ops[] = { op_put_byte, op_put_be16, op_put_be32, op_put_be64,
                                  op_put_buffer, op_put_fill, op_put_cstr8 };

    for (size_t i = 0; i < G_N_ELEMENTS(ops); i++) {
        VsQemuFile *f = vs_qemufile_new_memory_reader(*state, big, 16);

        ops[i](f);
        assert_qf_error(f, VS_QEMUFILE_ERROR_MODE,
                        "cannot write to a stream opened for reading");
        assert_int_equal(vs_qemufile_pos(f), 0);
        /* The reader is now dead too: the misuse is the first error. */
        assert_int_equal(vs_qemufile_get_byte(f), 0);
        assert_qf_error(f, VS_QEMUFILE_ERROR_MODE, "cannot write to a stream opened for reading");
        vs_qemufile_free(f);
    }
}

static void test_qemufile_fail_mode_fd_reader(void **state)
{
    int p[2];
    VsQemuFile *f;

    make_pipe(p);
    f = vs_qemufile_new_fd(*state, p[0], VS_QEMUFILE_READ, true);
    vs_qemufile_put_be32(f, 1);
    assert_qf_error(f, VS_QEMUFILE_ERROR_MODE, "cannot write to a stream opened for reading");
    vs_qemufile_free(f);
    close(p[1]);
}

/* Flush, close, free */

static void test_qemufile_flush_reader(void **state)
{
    VsQemuFile *f = vs_qemufile_new_memory_reader(*state, big, 4);
    GError *err = NULL;

    assert_true(vs_qemufile_flush(f, &err));
    assert_null(err);
    assert_int_equal(vs_qemufile_get_be32(f), load_be(big, 4));
    assert_true(vs_qemufile_flush(f, NULL));
    vs_qemufile_free(f);
}

static void test_qemufile_close_flushes_owned_fd(void **state)
{
    int p[2];
    uint8_t got[16];
    VsQemuFile *f;

    make_pipe(p);
    set_nonblocking(p[0]);
    f = vs_qemufile_new_fd(*state, p[1], VS_QEMUFILE_WRITE, true);
    vs_qemufile_put_be64(f, 0x0102030405060708ull);
    vs_qemufile_put_be16(f, 0x090a);
    /* Still buffered. */
    assert_int_equal(read(p[0], got, sizeof(got)), -1);
    assert_int_equal(errno, EAGAIN);
    assert_true(vs_qemufile_close(f, NULL));
    assert_false(fd_is_open(p[1]));
    assert_int_equal(read(p[0], got, sizeof(got)), 10);
    assert_memory_equal(got, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a", 10);
    /* The write end is gone, so the reader sees end of file. */
    assert_int_equal(read(p[0], got, sizeof(got)), 0);
    /* Closing again is harmless; free after close is fine. */
    assert_true(vs_qemufile_close(f, NULL));
    vs_qemufile_free(f);
    close(p[0]);
}

static void test_qemufile_close_keeps_borrowed_fd(void **state)
{
    int p[2];
    uint8_t got[4];
    VsQemuFile *f;

    make_pipe(p);
    f = vs_qemufile_new_fd(*state, p[1], VS_QEMUFILE_WRITE, false);
    vs_qemufile_put_be32(f, 0x01020304);
    assert_true(vs_qemufile_close(f, NULL));
    vs_qemufile_free(f);
    assert_true(fd_is_open(p[1]));
    assert_int_equal(read(p[0], got, sizeof(got)), 4);
    assert_memory_equal(got, "\x01\x02\x03\x04", 4);
    close(p[0]);
    close(p[1]);
}

static void test_qemufile_free_closes_owned_fd(void **state)
{
    int p[2];
    uint8_t got[4];
    VsQemuFile *f;

    make_pipe(p);
    f = vs_qemufile_new_fd(*state, p[1], VS_QEMUFILE_WRITE, true);
    vs_qemufile_put_be32(f, 0x01020304);
    /* Free does not flush: the buffered bytes are dropped. */
    vs_qemufile_free(f);
    assert_false(fd_is_open(p[1]));
    assert_int_equal(read(p[0], got, sizeof(got)), 0);
    close(p[0]);
}

static void test_qemufile_free_with_parent(void **state)
{
    TALLOC_CTX *child = talloc_new(*state);
    int sv[2];
    VsQemuFile *f;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    f = vs_qemufile_new_socket(child, sv[0], VS_QEMUFILE_WRITE, true);
    assert_ptr_equal(talloc_parent(f), child);
    vs_qemufile_set_error(f, g_error_new(VS_QEMUFILE_ERROR, VS_QEMUFILE_ERROR_IO, "x"));
    /* The destructor runs through the parent too: fd closed, error freed. */
    talloc_free(child);
    assert_false(fd_is_open(sv[0]));
    close(sv[1]);
}

static void test_qemufile_free_null(void **state)
{
    (void)state;
    vs_qemufile_free(NULL);
}

static void test_qemufile_fail_close_reports_first_error(void **state)
{
    int p[2];
    VsQemuFile *f;
    GError *err = NULL;

    make_pipe(p);
    assert_int_equal(write(p[1], "\x01", 1), 1);
    close(p[1]);
    f = vs_qemufile_new_fd(*state, p[0], VS_QEMUFILE_READ, true);
    assert_int_equal(vs_qemufile_get_be16(f), 0);
    assert_false(vs_qemufile_close(f, &err));
    assert_qf_gerror(err, VS_QEMUFILE_ERROR_EOF, "unexpected end of stream at offset 0 (wanted 2 bytes, 1 available)");
    g_clear_error(&err);
    assert_false(fd_is_open(p[0]));
    assert_false(vs_qemufile_close(f, &err));
    assert_qf_gerror(err, VS_QEMUFILE_ERROR_EOF, "unexpected end of stream at offset 0 (wanted 2 bytes, 1 available)");
    g_clear_error(&err);
    /* A NULL errp just reports false. */
    assert_false(vs_qemufile_close(f, NULL));
    vs_qemufile_free(f);
}

static void test_qemufile_fail_close_error(void **state)
{
    int p[2];
    VsQemuFile *f;
    GError *err = NULL;
    char *want;

    make_pipe(p);
    f = vs_qemufile_new_fd(*state, p[1], VS_QEMUFILE_WRITE, true);
    /* Someone else closed the descriptor the file owns. */
    close(p[1]);
    assert_false(vs_qemufile_close(f, &err));
    want = g_strdup_printf("cannot close fd %d: %s", p[1], g_strerror(EBADF));
    assert_qf_gerror(err, VS_QEMUFILE_ERROR_IO, want);
    g_free(want);
    g_error_free(err);
    vs_qemufile_free(f);
    close(p[0]);
}

static void test_qemufile_fail_use_after_close(void **state)
{
    VsQemuFile *w = vs_qemufile_new_memory_writer(*state);
    VsQemuFile *r = vs_qemufile_new_memory_reader(*state, big, 16);

    assert_true(vs_qemufile_close(w, NULL));
    vs_qemufile_put_byte(w, 1);
    assert_qf_error(w, VS_QEMUFILE_ERROR_IO, "cannot write to a closed stream");
    assert_int_equal(vs_qemufile_pos(w), 0);
    assert_false(vs_qemufile_close(w, NULL));

    assert_true(vs_qemufile_close(r, NULL));
    assert_int_equal(vs_qemufile_get_byte(r), 0);
    assert_qf_error(r, VS_QEMUFILE_ERROR_IO, "cannot read from a closed stream");
    vs_qemufile_free(r);
    vs_qemufile_free(w);
}

static void test_qemufile_error_quark(void **state)
{
    (void)state;
    assert_true(VS_QEMUFILE_ERROR != 0);
    assert_true(VS_QEMUFILE_ERROR == vs_qemufile_error_quark());
    assert_string_equal(g_quark_to_string(VS_QEMUFILE_ERROR), "vs-qemufile-error-quark");
}

#define T(name) cmocka_unit_test_setup_teardown(name, vs_test_ctx_setup, vs_test_ctx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_qemufile_put_byte),
        T(test_qemufile_put_be16),
        T(test_qemufile_put_be32),
        T(test_qemufile_put_be64),
        T(test_qemufile_get_widths),
        T(test_qemufile_round_trip_widths),
        T(test_qemufile_put_get_buffer),
        T(test_qemufile_put_fill),
        T(test_qemufile_cstr8),
        T(test_qemufile_fail_cstr8_too_long),
        T(test_qemufile_peek_memory),
        T(test_qemufile_peek_near_eof),
        T(test_qemufile_peek_refill),
        T(test_qemufile_peek_large_lookahead),
        T(test_qemufile_peek_trickle),
        T(test_qemufile_fail_peek_too_far),
        T(test_qemufile_skip),
        T(test_qemufile_skip_large_fd),
        T(test_qemufile_at_eof),
        T(test_qemufile_pos_transferred_writer),
        T(test_qemufile_pos_transferred_reader),
        T(test_qemufile_pos_transferred_memory_reader),
        T(test_qemufile_fail_sticky_first_error),
        T(test_qemufile_fail_gets_zero_after_error),
        T(test_qemufile_fail_puts_ignored_after_error),
        T(test_qemufile_fail_eof_mid_be32),
        T(test_qemufile_fail_eof_each_width),
        T(test_qemufile_fail_get_buffer_short),
        T(test_qemufile_fail_eof_mid_be32_pipe),
        T(test_qemufile_memory_writer_large),
        T(test_qemufile_memory_reader_large),
        T(test_qemufile_memory_empty),
        T(test_qemufile_memory_data_other_backends),
        T(test_qemufile_fd_pipe),
        T(test_qemufile_path_round_trip),
        T(test_qemufile_path_truncates),
        T(test_qemufile_fail_open_missing),
        T(test_qemufile_fail_read_directory),
        T(test_qemufile_socketpair),
        T(test_qemufile_tcp_loopback),
        T(test_qemufile_tcp_loopback_reverse),
        T(test_qemufile_socket_nonblocking_writer),
        T(test_qemufile_socket_peer_eof),
        T(test_qemufile_fail_bad_fd_read),
        T(test_qemufile_fail_bad_fd_write),
        T(test_qemufile_fail_socket_not_a_socket),
        T(test_qemufile_fail_socket_peer_closed),
        T(test_qemufile_fail_tcp_peer_closed),
        T(test_qemufile_rate_budget),
        T(test_qemufile_rate_hook_counts),
        T(test_qemufile_rate_hook_socket),
        T(test_qemufile_fail_rate_hook_refuses),
        T(test_qemufile_fail_rate_limited_after_error),
        T(test_qemufile_fail_mode_get_on_writer),
        T(test_qemufile_fail_mode_put_on_reader),
        T(test_qemufile_fail_mode_fd_reader),
        T(test_qemufile_flush_reader),
        T(test_qemufile_close_flushes_owned_fd),
        T(test_qemufile_close_keeps_borrowed_fd),
        T(test_qemufile_free_closes_owned_fd),
        T(test_qemufile_free_with_parent),
        T(test_qemufile_free_null),
        T(test_qemufile_fail_close_reports_first_error),
        T(test_qemufile_fail_close_error),
        T(test_qemufile_fail_use_after_close),
        T(test_qemufile_error_quark),
    };

    return cmocka_run_group_tests_name("qemufile", tests, group_setup, group_teardown);
}
