/*
 * test-channel.c: migration transports by URI, over real sockets, pipes,
 * child processes and files.
 *
 * SPDX-License-Identifier: MIT
 *
 * Each transport carries a stream larger than the channel's buffer from a
 * writer thread (the source) to the test thread (the destination), which
 * checks every byte.  Failure cases check the error domain, code and words.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "test-helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migration/channel.h"

/* Odd, so that the stream never ends on a buffer boundary. */
#define STREAM_LEN ((size_t)(3 * 1024 * 1024 + 77))

static uint8_t *pattern;
static char *tmpdir;

static uint8_t pattern_byte(size_t i)
{
    return (uint8_t)(i * 167u + (i >> 11) * 13u + 5u);
}

static int group_setup(void **state)
{
    pattern = g_malloc(STREAM_LEN);
    for (size_t i = 0; i < STREAM_LEN; i++) {
        pattern[i] = pattern_byte(i);
    }
    tmpdir = g_dir_make_tmp("vs-channel-XXXXXX", NULL);
    return tmpdir ? 0 : -1;
}

static int group_teardown(void **state)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);

    g_free(pattern);
    if (system(cmd) != 0) {
        return -1;
    }
    g_free(tmpdir);
    return 0;
}

/* The source side, run in a thread: connect to @uri, write the pattern. */
typedef struct Writer {
    char *uri;
    bool ok;
    char *error;
} Writer;

static gpointer writer_main(gpointer opaque)
{
    Writer *w = opaque;
    TALLOC_CTX *ctx = talloc_new(NULL);
    GError *err = NULL;
    VsChannel *ch = vs_channel_connect(ctx, w->uri, &err);

    if (ch) {
        vs_qemufile_put_buffer(vs_channel_file(ch), pattern, STREAM_LEN);
        w->ok = vs_channel_close(ch, &err);
    }
    if (err) {
        w->error = g_strdup(err->message);
        g_error_free(err);
    }
    talloc_free(ctx);
    return NULL;
}

/* Reads the whole stream from @ch and checks it against the pattern. */
static void read_and_check(VsChannel *ch)
{
    VsQemuFile *f = vs_channel_file(ch);
    uint8_t *got = g_malloc(STREAM_LEN + 1);
    GError *err = NULL;

    assert_int_equal(vs_qemufile_get_buffer(f, got, STREAM_LEN), STREAM_LEN);
    assert_true(vs_qemufile_at_eof(f));
    assert_memory_equal(got, pattern, STREAM_LEN);
    assert_true(vs_channel_close(ch, &err));
    assert_null(err);
    g_free(got);
}

/* Listens on @listen_uri, lets a thread connect to the listener's address. */
static void round_trip_socket(void **state, const char *listen_uri)
{
    GError *err = NULL;
    VsChannelListener *l = vs_channel_listen(*state, listen_uri, &err);
    Writer w = { 0 };
    GThread *t;
    VsChannel *ch;

    assert_non_null(l);
    w.uri = g_strdup(vs_channel_listener_address(l));
    t = g_thread_new("writer", writer_main, &w);
    ch = vs_channel_accept(l, *state, &err);
    assert_non_null(ch);
    read_and_check(ch);
    g_thread_join(t);
    if (!w.ok) {
        print_error("writer: %s\n", w.error);
    }
    assert_true(w.ok);
    talloc_free(ch);
    talloc_free(l);
    g_free(w.uri);
    g_free(w.error);
}

static void test_channel_tcp(void **state)
{
    round_trip_socket(state, "tcp:127.0.0.1:0");
}

static void test_channel_tcp_listener_address(void **state)
{
    GError *err = NULL;
    VsChannelListener *l = vs_channel_listen(*state, "tcp:127.0.0.1:0", &err);
    const char *addr;

    assert_non_null(l);
    addr = vs_channel_listener_address(l);
    /* Port 0 was replaced by the port the kernel chose. */
    assert_true(g_str_has_prefix(addr, "tcp:127.0.0.1:"));
    assert_true(atoi(addr + strlen("tcp:127.0.0.1:")) > 0);
    talloc_free(l);
}

static void test_channel_unix(void **state)
{
    g_autofree char *uri = g_strdup_printf("unix:%s/mig.sock", tmpdir);
    g_autofree char *path = g_strdup_printf("%s/mig.sock", tmpdir);

    /* A stale file at the path is replaced, as QEMU does. */
    assert_true(g_file_set_contents(path, "stale", -1, NULL));
    round_trip_socket(state, uri);
    /* Freeing the listener removed its socket file. */
    assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
}

/* exec: on both ends, through files the commands read and write. */
static void test_channel_exec(void **state)
{
    g_autofree char *out = g_strdup_printf("%s/exec-out.bin", tmpdir);
    g_autofree char *src_uri = g_strdup_printf("exec:cat > '%s'", out);
    g_autofree char *dst_uri = g_strdup_printf("exec:cat '%s'", out);
    GError *err = NULL;
    Writer w = { .uri = src_uri };
    VsChannelListener *l;
    VsChannel *ch;

    writer_main(&w);
    assert_true(w.ok);
    l = vs_channel_listen(*state, dst_uri, &err);
    assert_non_null(l);
    ch = vs_channel_accept(l, *state, &err);
    assert_non_null(ch);
    assert_int_equal(vs_channel_kind(ch), VS_CHANNEL_EXEC);
    read_and_check(ch);
    talloc_free(ch);
    talloc_free(l);
    g_free(w.error);
}

static void test_channel_file(void **state)
{
    g_autofree char *uri = g_strdup_printf("file:%s/file.bin", tmpdir);
    GError *err = NULL;
    Writer w = { .uri = uri };
    VsChannelListener *l;
    VsChannel *ch;

    writer_main(&w);
    assert_true(w.ok);
    l = vs_channel_listen(*state, uri, &err);
    assert_non_null(l);
    ch = vs_channel_accept(l, *state, &err);
    assert_non_null(ch);
    read_and_check(ch);
    /* A file carries one stream. */
    assert_null(vs_channel_accept(l, *state, &err));
    assert_gerror_contains(err, "already taken");
    g_clear_error(&err);
    talloc_free(ch);
    talloc_free(l);
    g_free(w.error);
}

/* fd:N over both ends of a socketpair. */
static void test_channel_fd(void **state)
{
    int sv[2];
    GError *err = NULL;
    Writer w = { 0 };
    g_autofree char *in_uri = NULL;
    VsChannelListener *l;
    VsChannel *ch;
    GThread *t;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    w.uri = g_strdup_printf("fd:%d", sv[0]);
    in_uri = g_strdup_printf("fd:%d", sv[1]);
    l = vs_channel_listen(*state, in_uri, &err);
    assert_non_null(l);
    t = g_thread_new("writer", writer_main, &w);
    ch = vs_channel_accept(l, *state, &err);
    assert_non_null(ch);
    read_and_check(ch);
    g_thread_join(t);
    assert_true(w.ok);
    talloc_free(ch);
    talloc_free(l);
    /* Both descriptors belonged to the channels, which closed them. */
    assert_int_equal(fcntl(sv[0], F_GETFD), -1);
    assert_int_equal(fcntl(sv[1], F_GETFD), -1);
    g_free(w.uri);
    g_free(w.error);
}

static void test_channel_fail_uri(void **state)
{
    GError *err = NULL;

    assert_null(vs_channel_connect(*state, "rdma:1.2.3.4:5", &err));
    assert_gerror(err, VS_CHANNEL_ERROR, VS_CHANNEL_ERROR_URI, "unknown migration protocol");
    g_clear_error(&err);
    assert_null(vs_channel_listen(*state, "tcp:nohostport", &err));
    assert_gerror(err, VS_CHANNEL_ERROR, VS_CHANNEL_ERROR_URI, "tcp address 'nohostport'");
    g_clear_error(&err);
    assert_null(vs_channel_connect(*state, "fd:12x", &err));
    assert_gerror(err, VS_CHANNEL_ERROR, VS_CHANNEL_ERROR_URI, "fd: wants");
    g_clear_error(&err);
    assert_null(vs_channel_connect(*state, "unix:", &err));
    assert_gerror(err, VS_CHANNEL_ERROR, VS_CHANNEL_ERROR_URI, "unknown migration protocol");
    g_clear_error(&err);
}

static void test_channel_fail_connect_refused(void **state)
{
    GError *err = NULL;
    VsChannelListener *l = vs_channel_listen(*state, "tcp:127.0.0.1:0", &err);
    g_autofree char *addr = g_strdup(vs_channel_listener_address(l));
    g_autofree char *path = g_strdup_printf("unix:%s/nobody.sock", tmpdir);

    /* Nobody listens on a port just given back. */
    talloc_free(l);
    assert_null(vs_channel_connect(*state, addr, &err));
    assert_gerror(err, VS_CHANNEL_ERROR, VS_CHANNEL_ERROR_IO, "Failed to connect to 'tcp:");
    assert_gerror_contains(err, "refused");
    g_clear_error(&err);
    assert_null(vs_channel_connect(*state, path, &err));
    assert_gerror(err, VS_CHANNEL_ERROR, VS_CHANNEL_ERROR_IO, "Failed to connect to 'unix:");
    g_clear_error(&err);
}

/* A command that fails is reported when the channel closes. */
static void test_channel_fail_exec_status(void **state)
{
    GError *err = NULL;
    VsChannel *ch = vs_channel_connect(*state, "exec:cat > /dev/null; exit 3", &err);

    assert_non_null(ch);
    vs_qemufile_put_buffer(vs_channel_file(ch), pattern, 4096);
    assert_false(vs_channel_close(ch, &err));
    assert_gerror(err, VS_CHANNEL_ERROR, VS_CHANNEL_ERROR_CHILD,
                  "the exec: command exited with status 3");
    g_clear_error(&err);
    talloc_free(ch);
}

/* A reader that goes away fails the writer (no SIGPIPE kills the test). */
static void test_channel_fail_exec_reader_gone(void **state)
{
    GError *err = NULL;
    VsChannel *ch = vs_channel_connect(*state, "exec:exit 0", &err);

    assert_non_null(ch);
    vs_qemufile_put_buffer(vs_channel_file(ch), pattern, STREAM_LEN);
    assert_false(vs_channel_close(ch, &err));
    assert_gerror(err, VS_QEMUFILE_ERROR, VS_QEMUFILE_ERROR_IO, "cannot write to");
    assert_gerror_contains(err, "Broken pipe");
    g_clear_error(&err);
    talloc_free(ch);
}

/* Another thread aborts an accept that waits for a source that never comes. */
static gpointer abort_later(gpointer opaque)
{
    g_usleep(50 * 1000);
    vs_channel_listener_abort(opaque);
    return NULL;
}

static void test_channel_fail_accept_aborted(void **state)
{
    GError *err = NULL;
    VsChannelListener *l = vs_channel_listen(*state, "tcp:127.0.0.1:0", &err);
    GThread *t = g_thread_new("abort", abort_later, l);

    assert_null(vs_channel_accept(l, *state, &err));
    assert_gerror(err, VS_CHANNEL_ERROR, VS_CHANNEL_ERROR_ABORTED, "waiting for the source");
    g_clear_error(&err);
    g_thread_join(t);
    talloc_free(l);
}

/* Shutting a channel down from another thread wakes a blocked reader. */
static gpointer shutdown_later(gpointer opaque)
{
    g_usleep(50 * 1000);
    vs_channel_shutdown(opaque);
    return NULL;
}

static void test_channel_shutdown_wakes_reader(void **state)
{
    GError *err = NULL;
    VsChannelListener *l = vs_channel_listen(*state, "tcp:127.0.0.1:0", &err);
    VsChannel *out = vs_channel_connect(*state, vs_channel_listener_address(l), &err);
    VsChannel *in = vs_channel_accept(l, *state, &err);
    GThread *t;

    assert_non_null(out);
    assert_non_null(in);
    t = g_thread_new("shutdown", shutdown_later, in);
    /* Nothing is ever sent: only the shutdown ends this read. */
    (void)vs_qemufile_get_be32(vs_channel_file(in));
    assert_true(vs_qemufile_failed(vs_channel_file(in)));
    g_thread_join(t);
    talloc_free(in);
    talloc_free(out);
    talloc_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_channel_tcp, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_channel_tcp_listener_address, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_channel_unix, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_channel_exec, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_channel_file, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_channel_fd, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_channel_fail_uri, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_channel_fail_connect_refused, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_channel_fail_exec_status, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_channel_fail_exec_reader_gone, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_channel_fail_accept_aborted, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_channel_shutdown_wakes_reader, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
    };
    return cmocka_run_group_tests_name("channel", tests, group_setup, group_teardown);
}
