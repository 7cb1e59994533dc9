/*
 * test-qemufile-borrowed.c: unit tests for VsQemuFile's gathered writes:
 * vs_qemufile_put_borrowed(), writev on descriptors and sockets, and the
 * vmsplice path into pipes (qemufile-splice.c).
 *
 * SPDX-License-Identifier: MIT
 *
 * Each test writes a stream shaped like RAM precopy (small headers put
 * with copies, 4 KiB pages put by reference) and checks that the reader
 * gets exactly the bytes the same puts produce through copies alone.
 * Readers are slow on purpose where it matters: the splice path must not
 * reuse its copies of the buffer before the reader has consumed them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "test-helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "visitor/qemufile/qemufile.h"

#define PAGE 4096
/* More pages than one gathered write takes (1024 entries, 1 MiB). */
#define N_PAGES 3000

static uint8_t *ram;   /* N_PAGES pages of a pattern, mmap'd like guest RAM */

static int group_setup(void **state)
{
    (void)state;
    /* Writers to a pipe whose reader is gone must see EPIPE. */
    signal(SIGPIPE, SIG_IGN);
    ram = mmap(NULL, (size_t)N_PAGES * PAGE, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ram == MAP_FAILED) {
        return -1;
    }
    for (size_t i = 0; i < (size_t)N_PAGES * PAGE; i++) {
        ram[i] = (uint8_t)(i * 131u + (i >> 12) * 7u + 1u);
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    munmap(ram, (size_t)N_PAGES * PAGE);
    return 0;
}

/*
 * The stream: for each page a be64 header, now and then a larger copied
 * run (up to the whole buffer, so the splice arena's chunks fill and turn
 * over), a short borrowed range (copied), then the page by reference or,
 * with @borrow false, by copy.
 */
static void put_stream(VsQemuFile *f, bool borrow, size_t n_pages)
{
    for (size_t i = 0; i < n_pages; i++) {
        const uint8_t *page = ram + i * PAGE;

        vs_qemufile_put_be64(f, (uint64_t)i * PAGE | 0x8);
        if (i % 97 == 0) {
            vs_qemufile_put_buffer(f, ram + (i * 13 % (N_PAGES - 8)) * PAGE,
                                   VS_QEMUFILE_BUF_SIZE - i % 5);
        }
        if (i % 31 == 0) {
            (borrow ? vs_qemufile_put_borrowed : vs_qemufile_put_buffer)(f, page + 100, 17);
        }
        (borrow ? vs_qemufile_put_borrowed : vs_qemufile_put_buffer)(f, page, PAGE);
    }
}

/* The reference bytes: the same stream through copies into memory. */
static uint8_t *reference(TALLOC_CTX *ctx, size_t n_pages, size_t *ret_len)
{
    VsQemuFile *f = vs_qemufile_new_memory_writer(ctx);
    const uint8_t *data;
    uint8_t *copy;

    put_stream(f, false, n_pages);
    data = vs_qemufile_memory_data(f, ret_len);
    copy = g_memdup2(data, *ret_len);
    vs_qemufile_free(f);
    return copy;
}

typedef struct Reader {
    int fd;
    size_t slow_every;    /* sleep after every this many bytes; 0: never */
    GByteArray *got;
} Reader;

static gpointer reader_thread(gpointer opaque)
{
    Reader *r = opaque;
    uint8_t buf[65536];
    size_t since_sleep = 0;
    ssize_t n;

    r->got = g_byte_array_new();
    /* Odd read sizes: record boundaries never line up with reads. */
    while ((n = read(r->fd, buf, sizeof(buf) - 1000 + (r->got->len % 777))) != 0) {
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        g_byte_array_append(r->got, buf, (guint)n);
        since_sleep += (size_t)n;
        if (r->slow_every && since_sleep >= r->slow_every) {
            g_usleep(300);
            since_sleep = 0;
        }
    }
    return NULL;
}

/* Reports the first difference only: the streams are megabytes long. */
static void check_got(Reader *r, const uint8_t *want, size_t want_len)
{
    size_t n = MIN(r->got->len, want_len), i = 0;

    while (i < n && r->got->data[i] == want[i]) {
        i++;
    }
    if (i < n || r->got->len != want_len) {
        fail_msg("got %u bytes, want %zu; first difference at offset %zu", r->got->len,
                 want_len, i);
    }
    g_byte_array_free(r->got, TRUE);
}

static void test_borrowed_memory_writer(void **state)
{
    size_t want_len;
    uint8_t *want = reference(*state, N_PAGES, &want_len);
    VsQemuFile *f = vs_qemufile_new_memory_writer(*state);
    const uint8_t *data;
    size_t len;

    put_stream(f, true, N_PAGES);
    /* Positions count borrowed bytes as they are put. */
    assert_int_equal(vs_qemufile_pos(f), want_len);
    data = vs_qemufile_memory_data(f, &len);
    assert_int_equal(len, want_len);
    assert_memory_equal(data, want, want_len);
    assert_int_equal(vs_qemufile_transferred(f), want_len);
    vs_qemufile_free(f);
    g_free(want);
}

/* Through a pipe: vmsplice, with a reader slow enough to fill the pipe. */
static void test_borrowed_pipe_splice(void **state)
{
    size_t want_len;
    uint8_t *want = reference(*state, N_PAGES, &want_len);
    Reader r = { .slow_every = 256 * 1024 };
    int p[2];
    VsQemuFile *f;
    GThread *t;

    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    r.fd = p[0];
    t = g_thread_new("reader", reader_thread, &r);
    f = vs_qemufile_new_fd(*state, p[1], VS_QEMUFILE_WRITE, true);
    put_stream(f, true, N_PAGES);
    assert_true(vs_qemufile_close(f, NULL));
    assert_int_equal(vs_qemufile_transferred(f), want_len);
    vs_qemufile_free(f);
    g_thread_join(t);
    close(p[0]);
    check_got(&r, want, want_len);
    g_free(want);
}

/*
 * Copied runs as large as the buffer between pages, into a pipe that holds
 * more than the splice arena: the arena's chunks come round again while the
 * slow reader still has their earlier bytes queued.
 */
static void put_big_runs(VsQemuFile *f, bool borrow)
{
    for (size_t i = 0; i < 600; i++) {
        vs_qemufile_put_buffer(f, ram + (i * 7 % (N_PAGES - 8)) * PAGE, 30000 + i % 7);
        (borrow ? vs_qemufile_put_borrowed : vs_qemufile_put_buffer)(f, ram + i * PAGE, PAGE);
    }
}

static void test_borrowed_pipe_arena_turns_over(void **state)
{
    VsQemuFile *ref = vs_qemufile_new_memory_writer(*state);
    Reader r = { .slow_every = 64 * 1024 };
    const uint8_t *want;
    size_t want_len;
    int p[2];
    VsQemuFile *f;
    GThread *t;

    put_big_runs(ref, false);
    want = vs_qemufile_memory_data(ref, &want_len);
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    /* 4 MiB needs privileges; 1 MiB (the default maximum) already holds
     * twice the arena. */
    if (fcntl(p[1], F_SETPIPE_SZ, 4 << 20) < 0) {
        assert_true(fcntl(p[1], F_SETPIPE_SZ, 1 << 20) >= 1 << 20);
    }
    r.fd = p[0];
    t = g_thread_new("reader", reader_thread, &r);
    f = vs_qemufile_new_fd(*state, p[1], VS_QEMUFILE_WRITE, true);
    put_big_runs(f, true);
    assert_true(vs_qemufile_close(f, NULL));
    vs_qemufile_free(f);
    g_thread_join(t);
    close(p[0]);
    check_got(&r, want, want_len);
    vs_qemufile_free(ref);
}

/*
 * The file is closed and freed (its arena unmapped) while everything it
 * wrote still sits in the pipe: the reader must still get the right bytes.
 */
static void test_borrowed_pipe_outlives_file(void **state)
{
    /* 60 pages, 60 headers and a few runs: well under 256 pipe slots. */
    size_t n_pages = 60, want_len;
    uint8_t *want = reference(*state, n_pages, &want_len);
    Reader r = { 0 };
    int p[2];
    VsQemuFile *f;

    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    assert_true(fcntl(p[1], F_SETPIPE_SZ, 1024 * 1024) >= 1024 * 1024);
    f = vs_qemufile_new_fd(*state, p[1], VS_QEMUFILE_WRITE, true);
    put_stream(f, true, n_pages);
    assert_true(vs_qemufile_close(f, NULL));
    vs_qemufile_free(f);
    /* Scribble over the heap where the file's buffer was. */
    for (int i = 0; i < 64; i++) {
        void *junk = g_malloc(VS_QEMUFILE_BUF_SIZE + 1024);

        memset(junk, 0xa5, VS_QEMUFILE_BUF_SIZE + 1024);
        g_free(junk);
    }
    r.fd = p[0];
    reader_thread(&r);
    close(p[0]);
    check_got(&r, want, want_len);
    g_free(want);
}

static void test_borrowed_socket(void **state)
{
    size_t want_len;
    uint8_t *want = reference(*state, N_PAGES, &want_len);
    Reader r = { .slow_every = 512 * 1024 };
    int sv[2];
    VsQemuFile *f;
    GThread *t;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    r.fd = sv[1];
    t = g_thread_new("reader", reader_thread, &r);
    f = vs_qemufile_new_socket(*state, sv[0], VS_QEMUFILE_WRITE, true);
    put_stream(f, true, N_PAGES);
    assert_true(vs_qemufile_close(f, NULL));
    vs_qemufile_free(f);
    g_thread_join(t);
    close(sv[1]);
    check_got(&r, want, want_len);
    g_free(want);
}

/* A regular file: gathered writes without splicing. */
static void test_borrowed_file(void **state)
{
    size_t want_len;
    uint8_t *want = reference(*state, N_PAGES, &want_len);
    FILE *tmp = tmpfile();
    int fd = dup(fileno(tmp));
    Reader r = { 0 };
    VsQemuFile *f;

    assert_true(fd >= 0);
    f = vs_qemufile_new_fd(*state, fd, VS_QEMUFILE_WRITE, true);
    put_stream(f, true, N_PAGES);
    assert_true(vs_qemufile_close(f, NULL));
    vs_qemufile_free(f);
    r.fd = fileno(tmp);
    assert_int_equal(lseek(r.fd, 0, SEEK_SET), 0);
    reader_thread(&r);
    fclose(tmp);
    check_got(&r, want, want_len);
    g_free(want);
}

/* The reader goes away: the writer fails with EPIPE instead of hanging. */
static void test_borrowed_pipe_reader_gone(void **state)
{
    int p[2];
    VsQemuFile *f;
    GError *err = NULL;

    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    close(p[0]);
    f = vs_qemufile_new_fd(*state, p[1], VS_QEMUFILE_WRITE, true);
    put_stream(f, true, 10);
    assert_false(vs_qemufile_flush(f, &err));
    assert_gerror_contains(err, g_strerror(EPIPE));
    g_error_free(err);
    vs_qemufile_free(f);
}

/* On the read end of a pipe, vmsplice would read: the write must fail. */
static void test_borrowed_pipe_read_end(void **state)
{
    int p[2];
    VsQemuFile *f;
    GError *err = NULL;

    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    f = vs_qemufile_new_fd(*state, p[0], VS_QEMUFILE_WRITE, false);
    put_stream(f, true, 3);
    assert_false(vs_qemufile_flush(f, &err));
    assert_gerror_contains(err, g_strerror(EBADF));
    g_error_free(err);
    vs_qemufile_free(f);
    close(p[0]);
    close(p[1]);
}

/* A failed file ignores borrowed puts like any other. */
static void test_borrowed_after_failure(void **state)
{
    VsQemuFile *f = vs_qemufile_new_memory_writer(*state);
    size_t len;

    vs_qemufile_put_cstr8(f, "this string is far too long to be a counted string of QEMU's "
                             "migration stream, whose length byte stops at two hundred and "
                             "fifty-five, so the file fails here and now, and whatever comes "
                             "after it must be ignored by every kind of put, including the "
                             "borrowed ones");
    assert_true(vs_qemufile_failed(f));
    vs_qemufile_put_borrowed(f, ram, PAGE);
    vs_qemufile_memory_data(f, &len);
    assert_int_equal(len, 0);
    assert_int_equal(vs_qemufile_pos(f), 0);
    vs_qemufile_free(f);
}

#define T(name) cmocka_unit_test_setup_teardown(name, vs_test_ctx_setup, vs_test_ctx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_borrowed_memory_writer),
        T(test_borrowed_pipe_splice),
        T(test_borrowed_pipe_arena_turns_over),
        T(test_borrowed_pipe_outlives_file),
        T(test_borrowed_socket),
        T(test_borrowed_file),
        T(test_borrowed_pipe_reader_gone),
        T(test_borrowed_pipe_read_end),
        T(test_borrowed_after_failure),
    };

    return cmocka_run_group_tests_name("qemufile-borrowed", tests, group_setup, group_teardown);
}
