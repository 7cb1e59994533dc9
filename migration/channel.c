/*
 * channel.c: migration transports by URI (see channel.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include "migration/channel.h"
#include "migration/trace-migration.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

G_DEFINE_QUARK(vs-channel-error-quark, vs_channel_error)

/* A multifd source connects up to 255 channels besides the main one before
 * the destination has accepted them all: they wait in the backlog. */
#define CHANNEL_LISTEN_BACKLOG 256

/*
 * Pipe sizes to try for exec:, largest first.  A RAM page spliced into a
 * pipe takes two of its slots (header, page), so 1 MiB (256 slots) holds
 * only 128 pages; a reader and a writer on different CPUs then wait for
 * each other's wake-ups (machine-limits.md §3).  Above
 * /proc/sys/fs/pipe-max-size (1 MiB) only a privileged process succeeds;
 * the others get the largest size allowed, and a failure is harmless.
 */
static const int channel_pipe_sizes[] = { 16 << 20, 4 << 20, 1 << 20 };

struct VsChannel {
    VsChannelKind kind;
    VsQemuFile *file;
    int fd;                 /* the descriptor under @file, for shutdown() */
    bool is_socket;
    pid_t child;            /* exec: the command, until reaped; else 0 */
    volatile gint shut;     /* vs_channel_shutdown() ran */
};

struct VsChannelListener {
    VsChannelKind kind;
    char *uri;
    char *address;
    int fd;                 /* listening socket, or the stream for exec/fd/file */
    pid_t child;            /* exec: */
    char *unix_path;        /* removed when the listener is freed */
    bool handed_over;       /* exec/fd/file: the stream went to a channel */
    volatile gint aborted;
};

static bool channel_fail_errno(GError **errp, int errsv, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static bool channel_fail_errno(GError **errp, int errsv, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *what = NULL;

    va_start(ap, fmt);
    what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(errp, VS_CHANNEL_ERROR, VS_CHANNEL_ERROR_IO, "%s: %s", what, g_strerror(errsv));
    return false;
}

bool vs_channel_parse_uri(const char *uri, VsChannelKind *ret_kind, const char **ret_rest,
                          GError **errp)
{
    static const struct {
        const char *prefix;
        VsChannelKind kind;
    } schemes[] = {
        { "tcp:", VS_CHANNEL_TCP },   { "unix:", VS_CHANNEL_UNIX },
        { "exec:", VS_CHANNEL_EXEC }, { "fd:", VS_CHANNEL_FD },
        { "file:", VS_CHANNEL_FILE },
    };

    for (size_t i = 0; uri && i < G_N_ELEMENTS(schemes); i++) {
        size_t n = strlen(schemes[i].prefix);

        if (strncmp(uri, schemes[i].prefix, n) == 0) {
            *ret_kind = schemes[i].kind;
            *ret_rest = uri + n;
            if (uri[n] == '\0') {
                break;
            }
            return true;
        }
    }
    /* QEMU 7.2's words, then what this build accepts. */
    g_set_error(errp, VS_CHANNEL_ERROR, VS_CHANNEL_ERROR_URI,
                "unknown migration protocol: %s (expected tcp:HOST:PORT, unix:PATH, exec:CMD, "
                "fd:N or file:PATH)", uri ? uri : "");
    return false;
}

/* ---- addresses ------------------------------------------------------------ */

/* "HOST:PORT" or "[V6]:PORT" into its parts (copied). */
static bool channel_split_host_port(const char *rest, char **ret_host, char **ret_port,
                                    GError **errp)
{
    const char *colon;

    if (rest[0] == '[') {
        const char *close = strchr(rest, ']');

        if (!close || close[1] != ':') {
            goto bad;
        }
        *ret_host = g_strndup(rest + 1, (size_t)(close - rest - 1));
        colon = close + 1;
    } else {
        colon = strrchr(rest, ':');
        if (!colon) {
            goto bad;
        }
        *ret_host = g_strndup(rest, (size_t)(colon - rest));
    }
    if (colon[1] == '\0') {
        g_free(*ret_host);
        goto bad;
    }
    *ret_port = g_strdup(colon + 1);
    return true;
bad:
    g_set_error(errp, VS_CHANNEL_ERROR, VS_CHANNEL_ERROR_URI,
                "tcp address '%s' is not HOST:PORT", rest);
    return false;
}

static struct addrinfo *channel_resolve(const char *rest, bool passive, GError **errp)
{
    g_autofree char *host = NULL, *port = NULL;
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC };
    struct addrinfo *res = NULL;
    int rc;

    if (!channel_split_host_port(rest, &host, &port, errp)) {
        return NULL;
    }
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (rc != 0) {
        g_set_error(errp, VS_CHANNEL_ERROR, VS_CHANNEL_ERROR_URI,
                    "address resolution failed for %s:%s: %s", host, port, gai_strerror(rc));
        return NULL;
    }
    return res;
}

static bool channel_unix_addr(const char *path, struct sockaddr_un *sun, GError **errp)
{
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    if (path[0] == '\0' || strlen(path) >= sizeof(sun->sun_path)) {
        g_set_error(errp, VS_CHANNEL_ERROR, VS_CHANNEL_ERROR_URI,
                    "unix socket path '%s' must be 1 to %zu bytes long", path,
                    sizeof(sun->sun_path) - 1);
        return false;
    }
    memcpy(sun->sun_path, path, strlen(path));
    return true;
}

/* ---- channels ------------------------------------------------------------ */

static int channel_destructor(VsChannel *ch)
{
    if (ch->file) {
        vs_qemufile_free(ch->file);
        ch->file = NULL;
    }
    if (ch->child > 0) {
        /* Not closed: do not leave a zombie behind. */
        kill(ch->child, SIGTERM);
        waitpid(ch->child, NULL, 0);
        ch->child = 0;
    }
    return 0;
}

static bool channel_fd_is_socket(int fd)
{
    struct stat st;

    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Wraps @fd (owned from here on) in a channel reading or writing it. */
static VsChannel *channel_new(TALLOC_CTX *mem_ctx, VsChannelKind kind, int fd,
                              VsQemuFileMode mode, pid_t child)
{
    VsChannel *ch = talloc_zero(mem_ctx, VsChannel);

    g_assert(ch != NULL);
    ch->kind = kind;
    ch->fd = fd;
    ch->child = child;
    ch->is_socket = channel_fd_is_socket(fd);
    ch->file = ch->is_socket ? vs_qemufile_new_socket(ch, fd, mode, true)
                             : vs_qemufile_new_fd(ch, fd, mode, true);
    talloc_set_destructor(ch, channel_destructor);
    return ch;
}

VsQemuFile *vs_channel_file(VsChannel *ch)
{
    return ch->file;
}

VsChannelKind vs_channel_kind(const VsChannel *ch)
{
    return ch->kind;
}

int vs_channel_fd(const VsChannel *ch)
{
    return ch->fd;
}

void vs_channel_shutdown(VsChannel *ch)
{
    g_atomic_int_set(&ch->shut, 1);
    if (ch->is_socket) {
        shutdown(ch->fd, SHUT_RDWR);
    } else if (ch->child > 0) {
        /* A pipe cannot be shut down; its reader or writer can go away. */
        kill(ch->child, SIGTERM);
    }
}

static bool channel_reap(VsChannel *ch, GError **errp)
{
    int status = 0;
    pid_t pid = ch->child;

    ch->child = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return channel_fail_errno(errp, errno, "waiting for the exec: command");
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        return true;
    }
    if (g_atomic_int_get(&ch->shut)) {
        return true;   /* terminated on purpose */
    }
    if (WIFSIGNALED(status)) {
        g_set_error(errp, VS_CHANNEL_ERROR, VS_CHANNEL_ERROR_CHILD,
                    "the exec: command was killed by signal %d", WTERMSIG(status));
    } else {
        g_set_error(errp, VS_CHANNEL_ERROR, VS_CHANNEL_ERROR_CHILD,
                    "the exec: command exited with status %d", WEXITSTATUS(status));
    }
    return false;
}

bool vs_channel_close(VsChannel *ch, GError **errp)
{
    GError *local = NULL;
    bool ok = true;

    if (ch->file) {
        trace_qemu_file_fclose();
        ok = vs_qemufile_close(ch->file, &local);
        vs_qemufile_free(ch->file);
        ch->file = NULL;
    }
    if (ch->child > 0) {
        /* The stream's own error explains more than the command's exit. */
        if (!channel_reap(ch, local ? NULL : &local)) {
            ok = false;
        }
    }
    if (local) {
        g_propagate_error(errp, local);
    }
    return ok;
}

/* ---- exec: ---------------------------------------------------------------- */

static void channel_grow_pipe(int fd)
{
#ifdef F_SETPIPE_SZ
    for (size_t i = 0; i < G_N_ELEMENTS(channel_pipe_sizes); i++) {
        if (fcntl(fd, F_SETPIPE_SZ, channel_pipe_sizes[i]) >= 0) {
            break;
        }
    }
#endif
}

/*
 * Starts `/bin/sh -c @cmd`, with its stdin (source) or stdout (destination)
 * on a pipe whose other end is returned.
 *
 * posix_spawn rather than fork: glibc starts the child with vfork
 * semantics, so the page tables of guest RAM (gigabytes) are not copied,
 * and the guest's next write to each page does not fault to undo a
 * copy-on-write that the exec had already made pointless.  The child gets
 * descriptors 0-2 only (a reading command's stdin is /dev/null), and
 * SIGPIPE back at its default (the migration ignores it).
 */
static bool channel_spawn(const char *cmd, bool we_write, int *ret_fd, pid_t *ret_pid,
                          GError **errp)
{
    char *const argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)cmd, NULL };
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t dflt;
    int p[2], rc;
    pid_t pid;

    if (we_write) {
        trace_migration_exec_outgoing(cmd);
    } else {
        trace_migration_exec_incoming(cmd);
    }
    if (pipe2(p, O_CLOEXEC) < 0) {
        return channel_fail_errno(errp, errno, "cannot make a pipe for the exec: command");
    }
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGPIPE);
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    /* The child's end becomes its stdin (we write) or stdout (we read);
     * dup2 clears close-on-exec on the copy. */
    posix_spawn_file_actions_adddup2(&fa, we_write ? p[0] : p[1], we_write ? 0 : 1);
    if (!we_write) {
        /* A reading command gets no input from the terminal. */
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    }
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawnattr_setsigdefault(&attr, &dflt);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
    rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(we_write ? p[0] : p[1]);
    if (rc != 0) {
        close(we_write ? p[1] : p[0]);
        g_set_error(errp, VS_CHANNEL_ERROR, VS_CHANNEL_ERROR_CHILD,
                    "cannot start the exec: command '%s': %s", cmd, g_strerror(rc));
        return false;
    }
    *ret_fd = we_write ? p[1] : p[0];
    channel_grow_pipe(*ret_fd);
    *ret_pid = pid;
    return true;
}

/* ---- fd: and file: ------------------------------------------------------- */

static bool channel_parse_fd(const char *rest, int *ret_fd, GError **errp)
{
    char *end = NULL;
    long n;

    errno = 0;
    n = strtol(rest, &end, 10);
    if (errno || !end || *end || end == rest || n < 0 || n > INT_MAX) {
        g_set_error(errp, VS_CHANNEL_ERROR, VS_CHANNEL_ERROR_URI,
                    "fd: wants a descriptor number, not '%s'", rest);
        return false;
    }
    if (fcntl((int)n, F_GETFD) < 0) {
        return channel_fail_errno(errp, errno, "descriptor %ld", n);
    }
    *ret_fd = (int)n;
    return true;
}

static int channel_open_file(const char *path, bool for_write, GError **errp)
{
    int fd = for_write ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
                       : open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        channel_fail_errno(errp, errno, "cannot open '%s' for %s", path,
                           for_write ? "writing" : "reading");
    }
    return fd;
}

/* ---- listening ----------------------------------------------------------- */

static int listener_destructor(VsChannelListener *l)
{
    if (l->fd >= 0 && !l->handed_over) {
        close(l->fd);
    }
    l->fd = -1;
    if (l->unix_path) {
        unlink(l->unix_path);
    }
    if (l->child > 0 && !l->handed_over) {
        kill(l->child, SIGTERM);
        waitpid(l->child, NULL, 0);
    }
    return 0;
}

static bool listen_tcp(VsChannelListener *l, const char *rest, GError **errp)
{
    struct addrinfo *res = channel_resolve(rest, true, errp);
    int errsv = 0;

    if (!res) {
        return false;
    }
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int one = 1;
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);

        if (fd < 0) {
            errsv = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, CHANNEL_LISTEN_BACKLOG) == 0) {
            l->fd = fd;
            break;
        }
        errsv = errno;
        close(fd);
    }
    freeaddrinfo(res);
    if (l->fd < 0) {
        return channel_fail_errno(errp, errsv, "cannot listen on tcp:%s", rest);
    }
    /* Report the port the kernel chose for port 0. */
    {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        char host[NI_MAXHOST], port[NI_MAXSERV];

        if (getsockname(l->fd, (struct sockaddr *)&ss, &len) == 0 &&
            getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port, sizeof(port),
                        NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
            l->address = talloc_asprintf(l, ss.ss_family == AF_INET6 ? "tcp:[%s]:%s"
                                                                       : "tcp:%s:%s",
                                         host, port);
        }
    }
    return true;
}

static bool listen_unix(VsChannelListener *l, const char *path, GError **errp)
{
    struct sockaddr_un sun;
    int fd;

    if (!channel_unix_addr(path, &sun, errp)) {
        return false;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return channel_fail_errno(errp, errno, "socket");
    }
    /* As QEMU: a socket file left by an earlier run is replaced. */
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, CHANNEL_LISTEN_BACKLOG) < 0) {
        int errsv = errno;

        close(fd);
        return channel_fail_errno(errp, errsv, "cannot listen on unix:%s", path);
    }
    l->fd = fd;
    l->unix_path = talloc_strdup(l, path);
    return true;
}

VsChannelListener *vs_channel_listen(TALLOC_CTX *mem_ctx, const char *uri, GError **errp)
{
    VsChannelListener *l;
    const char *rest;
    VsChannelKind kind;
    bool ok = false;

    if (!vs_channel_parse_uri(uri, &kind, &rest, errp)) {
        return NULL;
    }
    l = talloc_zero(mem_ctx, VsChannelListener);
    g_assert(l != NULL);
    l->kind = kind;
    l->fd = -1;
    l->uri = talloc_strdup(l, uri);
    talloc_set_destructor(l, listener_destructor);
    switch (kind) {
    case VS_CHANNEL_TCP:
        ok = listen_tcp(l, rest, errp);
        break;
    case VS_CHANNEL_UNIX:
        ok = listen_unix(l, rest, errp);
        break;
    case VS_CHANNEL_EXEC:
        ok = channel_spawn(rest, false, &l->fd, &l->child, errp);
        break;
    case VS_CHANNEL_FD:
        ok = channel_parse_fd(rest, &l->fd, errp);
        break;
    case VS_CHANNEL_FILE:
        l->fd = channel_open_file(rest, false, errp);
        ok = l->fd >= 0;
        break;
    }
    if (!ok) {
        talloc_free(l);
        return NULL;
    }
    return l;
}

const char *vs_channel_listener_address(const VsChannelListener *l)
{
    return l->address ? l->address : l->uri;
}

void vs_channel_listener_abort(VsChannelListener *l)
{
    g_atomic_int_set(&l->aborted, 1);
    /* On Linux, shutting a listening socket down wakes a blocked accept(). */
    if ((l->kind == VS_CHANNEL_TCP || l->kind == VS_CHANNEL_UNIX) && l->fd >= 0) {
        shutdown(l->fd, SHUT_RDWR);
    }
}

static bool listener_check_abort(VsChannelListener *l, GError **errp)
{
    if (g_atomic_int_get(&l->aborted)) {
        g_set_error(errp, VS_CHANNEL_ERROR, VS_CHANNEL_ERROR_ABORTED,
                    "waiting for the source on %s was aborted", vs_channel_listener_address(l));
        return false;
    }
    return true;
}

VsChannel *vs_channel_accept(VsChannelListener *l, TALLOC_CTX *mem_ctx, GError **errp)
{
    VsChannel *ch;
    int fd;

    if (!listener_check_abort(l, errp)) {
        return NULL;
    }
    if (l->kind != VS_CHANNEL_TCP && l->kind != VS_CHANNEL_UNIX) {
        if (l->handed_over) {
            g_set_error(errp, VS_CHANNEL_ERROR, VS_CHANNEL_ERROR_IO,
                        "%s carries one stream, which was already taken", l->uri);
            return NULL;
        }
        l->handed_over = true;
        ch = channel_new(mem_ctx, l->kind, l->fd, VS_QEMUFILE_READ, l->child);
        l->child = 0;
        return ch;
    }
    do {
        fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
    } while (fd < 0 && errno == EINTR && !g_atomic_int_get(&l->aborted));
    if (fd < 0) {
        if (!listener_check_abort(l, errp)) {
            return NULL;
        }
        channel_fail_errno(errp, errno, "accepting on %s", vs_channel_listener_address(l));
        return NULL;
    }
    trace_migration_socket_incoming_accepted();
    return channel_new(mem_ctx, l->kind, fd, VS_QEMUFILE_READ, 0);
}

/* ---- connecting -------------------------------------------------------------- */

static int connect_tcp(const char *rest, GError **errp)
{
    struct addrinfo *res = channel_resolve(rest, false, errp);
    int errsv = 0, fd = -1;

    if (!res) {
        return -1;
    }
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            errsv = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            break;
        }
        errsv = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        channel_fail_errno(errp, errsv, "Failed to connect to 'tcp:%s'", rest);
    }
    return fd;
}

static int connect_unix(const char *path, GError **errp)
{
    struct sockaddr_un sun;
    int fd;

    if (!channel_unix_addr(path, &sun, errp)) {
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        channel_fail_errno(errp, errno, "socket");
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        channel_fail_errno(errp, errno, "Failed to connect to 'unix:%s'", path);
        close(fd);
        return -1;
    }
    return fd;
}

VsChannel *vs_channel_connect(TALLOC_CTX *mem_ctx, const char *uri, GError **errp)
{
    VsChannelKind kind;
    const char *rest;
    pid_t child = 0;
    int fd = -1;

    if (!vs_channel_parse_uri(uri, &kind, &rest, errp)) {
        return NULL;
    }
    switch (kind) {
    case VS_CHANNEL_TCP:
        fd = connect_tcp(rest, errp);
        break;
    case VS_CHANNEL_UNIX:
        fd = connect_unix(rest, errp);
        break;
    case VS_CHANNEL_EXEC:
        /* A pipe whose reader died must fail the write, not kill the
         * process (sockets use MSG_NOSIGNAL instead); QEMU ignores SIGPIPE
         * process-wide as well. */
        signal(SIGPIPE, SIG_IGN);
        if (!channel_spawn(rest, true, &fd, &child, errp)) {
            fd = -1;
        }
        break;
    case VS_CHANNEL_FD:
        signal(SIGPIPE, SIG_IGN);
        if (!channel_parse_fd(rest, &fd, errp)) {
            fd = -1;
        }
        break;
    case VS_CHANNEL_FILE:
        fd = channel_open_file(rest, true, errp);
        break;
    }
    if (fd < 0) {
        return NULL;
    }
    return channel_new(mem_ctx, kind, fd, VS_QEMUFILE_WRITE, child);
}
