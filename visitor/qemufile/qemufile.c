/*
 * qemufile.c: a buffered, one-directional byte channel in the manner of
 * QEMU's QEMUFile, over a descriptor, a socket, a file path or memory.
 *
 * SPDX-License-Identifier: MIT
 *
 * The legacy (vmstate) visitors read and write QEMU's migration stream
 * through this channel, so every integer is big-endian and every failure is
 * sticky: leaf code puts and gets without checking, and the caller looks at
 * vs_qemufile_failed() once at the end.
 *
 * Model.  One buffer of VS_QEMUFILE_BUF_SIZE bytes serves either direction.
 * A reader sees a window rbuf[rpos, rlen) of bytes fetched but not yet
 * consumed; a memory reader's window is the borrowed buffer itself, so it
 * never copies.  A writer queues bytes in buf[0, wlen) and drains them to
 * the backend when the buffer is full, on flush and on close.  Backends are
 * reached only through a small ops table.
 *
 * Gathered writes.  Bulk data that the caller keeps alive (guest RAM pages)
 * can be queued by reference with vs_qemufile_put_borrowed(): the writer
 * keeps a list of iovecs alternating runs of buf with borrowed ranges, and a
 * drain hands the whole list to one writev.  A page then crosses user space
 * without a copy, and a large batch costs one system call instead of one
 * per buffer-full (a pipe in particular pays a reader wake-up per write).
 */
#include "visitor/qemufile/iov.h"
#include "visitor/qemufile/qemufile.h"
#include "visitor/qemufile/qemufile-splice.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

G_DEFINE_QUARK(vs-qemufile-error-quark, vs_qemufile_error)

/* Entries of one gathered write (Linux's IOV_MAX). */
#define QF_IOV_MAX 1024
/* Borrowed bytes queued before a drain: large enough that the system call
 * cost vanishes, small enough that the batch stays in the caches. */
#define QF_BATCH_BYTES (1024 * 1024)
/* Shorter borrowed ranges are copied: an iovec costs more than the copy. */
#define QF_BORROW_MIN 256

typedef struct VsQemuFileOps {
    /* Names the backend in error messages. */
    const char *kind;
    /* True when messages should carry the descriptor number. */
    bool uses_fd;
    /* Reads what is ready, up to @len; 0 at end of stream, -1 with errno. */
    ssize_t (*read)(VsQemuFile *f, uint8_t *buf, size_t len);
    /* Writes @len bytes; returns how many went out, errno set when short. */
    size_t (*write)(VsQemuFile *f, const uint8_t *buf, size_t len);
    /* Writes all of @iov (which it may modify); as write().  Optional: the
     * entries then go one by one to write(). */
    size_t (*writev)(VsQemuFile *f, struct iovec *iov, int n_iov);
    /* Releases what the file owns; -1 with errno. */
    int (*close)(VsQemuFile *f);
} VsQemuFileOps;

struct VsQemuFile {
    const VsQemuFileOps *ops;
    VsQemuFileMode mode;
    int fd;
    bool owns_fd;
    bool closed;
    /* The backend reported end of stream; do not ask it again. */
    bool backend_eof;
    /* The path of an opened file, for messages; NULL otherwise. */
    char *path;
    GError *err;

    /* Read window: buf, or the borrowed bytes of a memory reader. */
    const uint8_t *rbuf;
    size_t rpos;
    size_t rlen;
    /* Bytes queued in buf by a writer. */
    size_t wlen;
    /*
     * A writer's gathered write: @n_iov entries holding @iov_bytes bytes
     * (runs of buf and borrowed ranges), then buf[seg_start, wlen), which
     * is not in the list yet.  NULL for readers.
     */
    struct iovec *iov;
    int n_iov;
    size_t iov_bytes;
    size_t seg_start;
    /* A writer into a pipe: gathered writes go by reference. */
    QfSplicer *splicer;

    /*
     * A memory writer's output.  g_try_realloc rather than talloc because
     * talloc refuses blocks above 256 MiB, and a stream can be bigger.
     */
    uint8_t *mem;
    size_t mem_len;
    size_t mem_cap;

    uint64_t pos;
    uint64_t transferred;

    uint64_t rate_budget;
    uint64_t rate_used;
    VsQemuFileRateHook rate_hook;
    void *rate_opaque;

    /* VS_QEMUFILE_BUF_SIZE bytes, except for memory readers. */
    uint8_t buf[];
};

/* Errors */

void vs_qemufile_set_error(VsQemuFile *f, GError *err)
{
    if (!err) {
        return;
    }
    if (f->err) {
        /* The first error explains the failure; later ones are fallout. */
        g_error_free(err);
        return;
    }
    f->err = err;
}

bool vs_qemufile_failed(const VsQemuFile *f)
{
    return f->err != NULL;
}

const GError *vs_qemufile_error(const VsQemuFile *f)
{
    return f->err;
}

static void qf_fail(VsQemuFile *f, VsQemuFileError code, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static void qf_fail(VsQemuFile *f, VsQemuFileError code, const char *fmt, ...)
{
    va_list ap;

    if (f->err) {
        /* Do not build a message that would be thrown away. */
        return;
    }
    va_start(ap, fmt);
    f->err = g_error_new_valist(VS_QEMUFILE_ERROR, (int)code, fmt, ap);
    va_end(ap);
}

/* @action reads "read from", "write to" or "close". */
static void qf_fail_errno(VsQemuFile *f, const char *action, int errsv)
{
    const char *why = g_strerror(errsv);

    if (f->path) {
        qf_fail(f, VS_QEMUFILE_ERROR_IO, "cannot %s %s: %s", action, f->path, why);
    } else if (f->ops->uses_fd) {
        qf_fail(f, VS_QEMUFILE_ERROR_IO, "cannot %s %s %d: %s", action, f->ops->kind,
                f->fd, why);
    } else {
        qf_fail(f, VS_QEMUFILE_ERROR_IO, "cannot %s %s: %s", action, f->ops->kind, why);
    }
}

static void qf_fail_eof(VsQemuFile *f, uint64_t offset, size_t wanted, size_t got)
{
    qf_fail(f, VS_QEMUFILE_ERROR_EOF,
            "unexpected end of stream at offset %" G_GUINT64_FORMAT
            " (wanted %zu byte%s, %zu available)",
            offset, wanted, wanted == 1 ? "" : "s", got);
}

static bool qf_report(const VsQemuFile *f, GError **errp)
{
    if (!f->err) {
        return true;
    }
    g_propagate_error(errp, g_error_copy(f->err));
    return false;
}

/*
 * Gatekeeper of every get and put: a failed file stays quiet, and misuse
 * fails the file so that the caller's single check at the end sees it.
 */
static bool qf_ready(VsQemuFile *f, VsQemuFileMode want)
{
    if (f->err) {
        return false;
    }
    if (f->mode != want) {
        qf_fail(f, VS_QEMUFILE_ERROR_MODE,
                want == VS_QEMUFILE_READ
                    ? "cannot read from a stream opened for writing"
                    : "cannot write to a stream opened for reading");
        return false;
    }
    if (f->closed) {
        qf_fail(f, VS_QEMUFILE_ERROR_IO, "cannot %s a closed stream",
                want == VS_QEMUFILE_READ ? "read from" : "write to");
        return false;
    }
    return true;
}

/* Descriptor plumbing shared by the fd and socket backends */

/*
 * Decides whether a failed read/write/send/recv is worth repeating: EINTR
 * always is, and EAGAIN means the descriptor was made non-blocking behind
 * our back, so wait for it instead of failing the stream.
 */
static bool qf_retry(int fd, short events)
{
    struct pollfd pfd = { .fd = fd, .events = events };

    if (errno == EINTR) {
        return true;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
        return false;
    }
    while (poll(&pfd, 1, -1) < 0) {
        if (errno != EINTR) {
            return false;
        }
    }
    return true;
}

typedef ssize_t (*QfSysRead)(int fd, void *buf, size_t len);
typedef ssize_t (*QfSysWrite)(int fd, const void *buf, size_t len);

static ssize_t qf_sys_read(int fd, void *buf, size_t len)
{
    return read(fd, buf, len);
}

static ssize_t qf_sys_recv(int fd, void *buf, size_t len)
{
    return recv(fd, buf, len, 0);
}

static ssize_t qf_sys_write(int fd, const void *buf, size_t len)
{
    return write(fd, buf, len);
}

/* MSG_NOSIGNAL: a vanished peer must be an error, not a process kill. */
static ssize_t qf_sys_send(int fd, const void *buf, size_t len)
{
    return send(fd, buf, len, MSG_NOSIGNAL);
}

/* Returns as soon as some bytes arrive: waiting for more could deadlock a
 * request/response peer. */
static ssize_t qf_read_some(int fd, uint8_t *buf, size_t len, QfSysRead op)
{
    for (;;) {
        ssize_t n = op(fd, buf, len);

        if (n >= 0 || !qf_retry(fd, POLLIN)) {
            return n;
        }
    }
}

static size_t qf_write_all(int fd, const uint8_t *buf, size_t len, QfSysWrite op)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = op(fd, buf + done, len - done);

        if (n > 0) {
            done += (size_t)n;
        } else if (n == 0) {
            /* No progress and no errno: do not spin forever. */
            errno = EIO;
            break;
        } else if (!qf_retry(fd, POLLOUT)) {
            break;
        }
    }
    return done;
}

typedef ssize_t (*QfSysWritev)(int fd, const struct iovec *iov, int n_iov);

static ssize_t qf_sys_writev(int fd, const struct iovec *iov, int n_iov)
{
    return writev(fd, iov, n_iov);
}

static ssize_t qf_sys_sendv(int fd, const struct iovec *iov, int n_iov)
{
    struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n_iov };

    return sendmsg(fd, &msg, MSG_NOSIGNAL);
}

/* As qf_write_all(), over @iov, which is advanced past what went out. */
static size_t qf_writev_all(int fd, struct iovec *iov, int n_iov, QfSysWritev op)
{
    size_t done = 0;

    while (n_iov > 0) {
        ssize_t n = op(fd, iov, n_iov);

        if (n == 0) {
            errno = EIO;
            break;
        }
        if (n < 0) {
            if (!qf_retry(fd, POLLOUT)) {
                break;
            }
            continue;
        }
        done += (size_t)n;
        vs_iov_advance(&iov, &n_iov, (size_t)n);
    }
    return done;
}

static size_t qf_fd_writev(VsQemuFile *f, struct iovec *iov, int n_iov)
{
    if (f->splicer) {
        return qf_splicer_writev(f->splicer, iov, n_iov, f->buf, f->buf + VS_QEMUFILE_BUF_SIZE);
    }
    return qf_writev_all(f->fd, iov, n_iov, qf_sys_writev);
}

static size_t qf_socket_writev(VsQemuFile *f, struct iovec *iov, int n_iov)
{
    return qf_writev_all(f->fd, iov, n_iov, qf_sys_sendv);
}

static ssize_t qf_fd_read(VsQemuFile *f, uint8_t *buf, size_t len)
{
    return qf_read_some(f->fd, buf, len, qf_sys_read);
}

static size_t qf_fd_write(VsQemuFile *f, const uint8_t *buf, size_t len)
{
    return qf_write_all(f->fd, buf, len, qf_sys_write);
}

static ssize_t qf_socket_read(VsQemuFile *f, uint8_t *buf, size_t len)
{
    return qf_read_some(f->fd, buf, len, qf_sys_recv);
}

static size_t qf_socket_write(VsQemuFile *f, const uint8_t *buf, size_t len)
{
    return qf_write_all(f->fd, buf, len, qf_sys_send);
}

static int qf_fd_close(VsQemuFile *f)
{
    if (!f->owns_fd) {
        return 0;
    }
    /* Give up ownership first: a failed close must not be retried later. */
    f->owns_fd = false;
    /* On Linux the descriptor is gone even when close() says EINTR. */
    if (close(f->fd) < 0 && errno != EINTR) {
        return -1;
    }
    return 0;
}

/* Memory writer */

static bool qf_mem_grow(VsQemuFile *f, size_t extra)
{
    size_t cap = MAX(f->mem_cap, (size_t)VS_QEMUFILE_BUF_SIZE);
    uint8_t *mem;

    if (extra > SIZE_MAX - f->mem_len) {
        errno = EFBIG;
        return false;
    }
    /* Doubling keeps a long stream of appends linear overall. */
    while (cap - f->mem_len < extra) {
        cap = cap > SIZE_MAX / 2 ? f->mem_len + extra : cap * 2;
    }
    mem = g_try_realloc(f->mem, cap);
    if (!mem) {
        errno = ENOMEM;
        return false;
    }
    f->mem = mem;
    f->mem_cap = cap;
    return true;
}

static size_t qf_mem_write(VsQemuFile *f, const uint8_t *buf, size_t len)
{
    if (len > f->mem_cap - f->mem_len && !qf_mem_grow(f, len)) {
        return 0;
    }
    memcpy(f->mem + f->mem_len, buf, len);
    f->mem_len += len;
    return len;
}

static const VsQemuFileOps qf_fd_ops = {
    .kind = "fd",
    .uses_fd = true,
    .read = qf_fd_read,
    .write = qf_fd_write,
    .writev = qf_fd_writev,
    .close = qf_fd_close,
};

static const VsQemuFileOps qf_socket_ops = {
    .kind = "socket",
    .uses_fd = true,
    .read = qf_socket_read,
    .write = qf_socket_write,
    .writev = qf_socket_writev,
    .close = qf_fd_close,
};

/* Every byte is in the window from the start, so there is nothing to read. */
static const VsQemuFileOps qf_mem_reader_ops = {
    .kind = "memory buffer",
};

static const VsQemuFileOps qf_mem_writer_ops = {
    .kind = "memory buffer",
    .write = qf_mem_write,
};

/* Construction and destruction */

static int qf_destructor(VsQemuFile *f)
{
    if (!f->closed && f->ops->close) {
        /* Nobody is left to hear about a close error here. */
        (void)f->ops->close(f);
    }
    if (f->err) {
        g_error_free(f->err);
    }
    g_free(f->mem);
    qf_splicer_free(f->splicer);
    return 0;
}

static VsQemuFile *qf_new(TALLOC_CTX *mem_ctx, const VsQemuFileOps *ops,
                          VsQemuFileMode mode, size_t buf_size)
{
    VsQemuFile *f;

    g_return_val_if_fail(mode == VS_QEMUFILE_READ || mode == VS_QEMUFILE_WRITE, NULL);
    /* One block for the object and its buffer: fewer allocations to leak.
     * Only the object is zeroed; the buffer is written before it is read. */
    f = talloc_size(mem_ctx, sizeof(*f) + buf_size);
    if (!f) {
        return NULL;
    }
    memset(f, 0, sizeof(*f));
    talloc_set_name_const(f, "VsQemuFile");
    f->ops = ops;
    f->mode = mode;
    f->fd = -1;
    f->rbuf = f->buf;
    if (mode == VS_QEMUFILE_WRITE) {
        f->iov = talloc_array(f, struct iovec, QF_IOV_MAX);
        if (!f->iov) {
            talloc_free(f);
            return NULL;
        }
    }
    talloc_set_destructor(f, qf_destructor);
    return f;
}

/* Takes ownership of @fd when @owns, even on failure, so it never leaks. */
static VsQemuFile *qf_new_fd_file(TALLOC_CTX *mem_ctx, const VsQemuFileOps *ops, int fd,
                                  VsQemuFileMode mode, bool owns)
{
    VsQemuFile *f = qf_new(mem_ctx, ops, mode, VS_QEMUFILE_BUF_SIZE);

    if (!f) {
        if (owns && fd >= 0) {
            close(fd);
        }
        return NULL;
    }
    f->fd = fd;
    f->owns_fd = owns;
    if (mode == VS_QEMUFILE_WRITE && ops == &qf_fd_ops) {
        f->splicer = qf_splicer_new(fd);
    }
    return f;
}

VsQemuFile *vs_qemufile_new_fd(TALLOC_CTX *mem_ctx, int fd, VsQemuFileMode mode,
                               bool close_on_free)
{
    return qf_new_fd_file(mem_ctx, &qf_fd_ops, fd, mode, close_on_free);
}

VsQemuFile *vs_qemufile_new_socket(TALLOC_CTX *mem_ctx, int sockfd, VsQemuFileMode mode,
                                   bool close_on_free)
{
    return qf_new_fd_file(mem_ctx, &qf_socket_ops, sockfd, mode, close_on_free);
}

static int qf_open(const char *path, VsQemuFileMode mode)
{
    int flags = mode == VS_QEMUFILE_READ ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC;
    int fd;

    /* open() of a FIFO blocks and so can be interrupted. */
    do {
        fd = open(path, flags | O_CLOEXEC, 0644);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

VsQemuFile *vs_qemufile_open_path(TALLOC_CTX *mem_ctx, const char *path,
                                  VsQemuFileMode mode, GError **errp)
{
    VsQemuFile *f;
    int fd;

    g_return_val_if_fail(path != NULL, NULL);
    g_return_val_if_fail(mode == VS_QEMUFILE_READ || mode == VS_QEMUFILE_WRITE, NULL);
    fd = qf_open(path, mode);
    if (fd < 0) {
        int errsv = errno;

        g_set_error(errp, VS_QEMUFILE_ERROR, VS_QEMUFILE_ERROR_IO,
                    "cannot open %s for %s: %s", path,
                    mode == VS_QEMUFILE_READ ? "reading" : "writing", g_strerror(errsv));
        return NULL;
    }
    f = qf_new_fd_file(mem_ctx, &qf_fd_ops, fd, mode, true);
    if (f) {
        f->path = talloc_strdup(f, path);
    }
    if (!f || !f->path) {
        talloc_free(f);
        g_set_error(errp, VS_QEMUFILE_ERROR, VS_QEMUFILE_ERROR_IO, "cannot open %s: %s",
                    path, g_strerror(ENOMEM));
        return NULL;
    }
    return f;
}

VsQemuFile *vs_qemufile_new_memory_reader(TALLOC_CTX *mem_ctx, const uint8_t *data,
                                          size_t len)
{
    VsQemuFile *f;

    g_return_val_if_fail(data != NULL || len == 0, NULL);
    f = qf_new(mem_ctx, &qf_mem_reader_ops, VS_QEMUFILE_READ, 0);
    if (!f) {
        return NULL;
    }
    /* An empty reader still needs a non-NULL window for pointer arithmetic. */
    f->rbuf = data ? data : f->buf;
    f->rlen = len;
    f->backend_eof = true;
    /* The whole buffer entered the window at once. */
    f->transferred = len;
    return f;
}

VsQemuFile *vs_qemufile_new_memory_reader_at(TALLOC_CTX *mem_ctx, const uint8_t *data,
                                             size_t len, uint64_t start_pos)
{
    VsQemuFile *f = vs_qemufile_new_memory_reader(mem_ctx, data, len);

    if (f) {
        f->pos = start_pos;
    }
    return f;
}

VsQemuFile *vs_qemufile_new_memory_writer(TALLOC_CTX *mem_ctx)
{
    return qf_new(mem_ctx, &qf_mem_writer_ops, VS_QEMUFILE_WRITE, VS_QEMUFILE_BUF_SIZE);
}

void vs_qemufile_free(VsQemuFile *f)
{
    talloc_free(f);
}

/* Writing */

/* Ends the current run of buf as an entry of the gathered write. */
static void qf_close_segment(VsQemuFile *f)
{
    size_t len = f->wlen - f->seg_start;

    if (len == 0) {
        return;
    }
    g_assert(f->n_iov < QF_IOV_MAX);
    f->iov[f->n_iov++] = (struct iovec){ f->buf + f->seg_start, len };
    f->iov_bytes += len;
    f->seg_start = f->wlen;
}

/* The gathered write, by the backend's writev or entry by entry. */
static size_t qf_write_iov(VsQemuFile *f)
{
    size_t done = 0;

    if (f->ops->writev) {
        return f->ops->writev(f, f->iov, f->n_iov);
    }
    for (int i = 0; i < f->n_iov; i++) {
        size_t n = f->ops->write(f, f->iov[i].iov_base, f->iov[i].iov_len);

        done += n;
        if (n < f->iov[i].iov_len) {
            break;
        }
    }
    return done;
}

/*
 * Hands the queued bytes to the backend.  The queue is emptied even on
 * failure: a failed file ignores puts, so those bytes can never matter.
 * The rate hook must not write to @f: the queued bytes are still queued.
 */
static void qf_drain(VsQemuFile *f)
{
    size_t len, done;

    qf_close_segment(f);
    len = f->iov_bytes;
    if (len > 0 && !f->err) {
        if (f->rate_hook && !f->rate_hook(f, len, f->rate_opaque)) {
            qf_fail(f, VS_QEMUFILE_ERROR_RATE,
                    "rate hook stopped the stream at offset %" G_GUINT64_FORMAT,
                    f->transferred);
        }
        if (!f->err) {
            done = qf_write_iov(f);
            f->transferred += done;
            if (done < len) {
                qf_fail_errno(f, "write to", errno);
            }
        }
    }
    f->wlen = 0;
    f->seg_start = 0;
    f->n_iov = 0;
    f->iov_bytes = 0;
}

/* Free space in the write buffer, draining it when full; 0 once failed. */
static size_t qf_room(VsQemuFile *f)
{
    if (f->wlen == VS_QEMUFILE_BUF_SIZE) {
        qf_drain(f);
    }
    return f->err ? 0 : VS_QEMUFILE_BUF_SIZE - f->wlen;
}

static void qf_commit(VsQemuFile *f, size_t n)
{
    f->wlen += n;
    f->pos += n;
    /* The budget counts what the sender queued, not what reached the wire. */
    f->rate_used += n;
}

void vs_qemufile_put_buffer(VsQemuFile *f, const uint8_t *buf, size_t len)
{
    if (!qf_ready(f, VS_QEMUFILE_WRITE)) {
        return;
    }
    while (len > 0) {
        size_t n = MIN(qf_room(f), len);

        if (n == 0) {
            return;
        }
        memcpy(f->buf + f->wlen, buf, n);
        qf_commit(f, n);
        buf += n;
        len -= n;
    }
}

void vs_qemufile_put_borrowed(VsQemuFile *f, const uint8_t *buf, size_t len)
{
    if (len < QF_BORROW_MIN) {
        vs_qemufile_put_buffer(f, buf, len);
        return;
    }
    if (!qf_ready(f, VS_QEMUFILE_WRITE)) {
        return;
    }
    /* Room for this entry and the run of buf before it, and a batch that
     * stays bounded; after it, one entry is left for buf's next run. */
    if (f->n_iov + 3 > QF_IOV_MAX || f->iov_bytes + len > QF_BATCH_BYTES) {
        qf_drain(f);
        if (f->err) {
            return;
        }
    }
    qf_close_segment(f);
    f->iov[f->n_iov++] = (struct iovec){ (void *)buf, len };
    f->iov_bytes += len;
    f->pos += len;
    f->rate_used += len;
}

void vs_qemufile_put_fill(VsQemuFile *f, uint8_t byte, size_t len)
{
    if (!qf_ready(f, VS_QEMUFILE_WRITE)) {
        return;
    }
    while (len > 0) {
        size_t n = MIN(qf_room(f), len);

        if (n == 0) {
            return;
        }
        memset(f->buf + f->wlen, byte, n);
        qf_commit(f, n);
        len -= n;
    }
}

/* Shifts, not casts of memory, so the host's byte order never matters. */
static void qf_put_be(VsQemuFile *f, uint64_t v, size_t width)
{
    uint8_t b[8];

    for (size_t i = width; i > 0; i--) {
        b[i - 1] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
    vs_qemufile_put_buffer(f, b, width);
}

void vs_qemufile_put_byte(VsQemuFile *f, uint8_t v)
{
    qf_put_be(f, v, 1);
}

void vs_qemufile_put_be16(VsQemuFile *f, uint16_t v)
{
    qf_put_be(f, v, 2);
}

void vs_qemufile_put_be32(VsQemuFile *f, uint32_t v)
{
    qf_put_be(f, v, 4);
}

void vs_qemufile_put_be64(VsQemuFile *f, uint64_t v)
{
    qf_put_be(f, v, 8);
}

void vs_qemufile_put_cstr8(VsQemuFile *f, const char *s)
{
    /* NULL has no bytes to send; writing it as "" keeps the stream framed. */
    size_t len = s ? strlen(s) : 0;

    if (!qf_ready(f, VS_QEMUFILE_WRITE)) {
        return;
    }
    if (len > UINT8_MAX) {
        qf_fail(f, VS_QEMUFILE_ERROR_IO, "counted string of %zu bytes exceeds 255", len);
        return;
    }
    vs_qemufile_put_byte(f, (uint8_t)len);
    vs_qemufile_put_buffer(f, (const uint8_t *)s, len);
}

const uint8_t *vs_qemufile_memory_data(VsQemuFile *f, size_t *ret_len)
{
    static const uint8_t empty[1];

    if (f->ops != &qf_mem_writer_ops) {
        if (ret_len) {
            *ret_len = 0;
        }
        return NULL;
    }
    qf_drain(f);
    if (ret_len) {
        *ret_len = f->mem_len;
    }
    /* Callers may test for NULL to tell "not a memory writer" apart. */
    return f->mem ? f->mem : empty;
}

/* Reading */

static size_t qf_avail(const VsQemuFile *f)
{
    return f->rlen - f->rpos;
}

/* Moves the unread bytes to the front so the rest of buf can take more. */
static void qf_compact(VsQemuFile *f)
{
    size_t avail = qf_avail(f);

    if (f->rpos == 0) {
        return;
    }
    memmove(f->buf, f->buf + f->rpos, avail);
    f->rpos = 0;
    f->rlen = avail;
}

static void qf_read_backend(VsQemuFile *f)
{
    ssize_t n = f->ops->read(f, f->buf + f->rlen, VS_QEMUFILE_BUF_SIZE - f->rlen);

    if (n < 0) {
        qf_fail_errno(f, "read from", errno);
    } else if (n == 0) {
        f->backend_eof = true;
    } else {
        f->rlen += (size_t)n;
        f->transferred += (uint64_t)n;
    }
}

/*
 * Makes @want bytes (at most VS_QEMUFILE_BUF_SIZE) visible past rpos if
 * the stream has them.  Returns how many are visible, which is less than
 * @want only at the end of the stream or after an error.  Memory readers
 * start with backend_eof set, so buf is never touched for them.
 */
static size_t qf_fill(VsQemuFile *f, size_t want)
{
    while (qf_avail(f) < want && !f->backend_eof && !f->err) {
        qf_compact(f);
        qf_read_backend(f);
    }
    return qf_avail(f);
}

/* Consumes up to @len bytes into @dst (NULL to drop them). */
static size_t qf_take(VsQemuFile *f, uint8_t *dst, size_t len)
{
    uint64_t start = f->pos;
    size_t done = 0;

    if (!qf_ready(f, VS_QEMUFILE_READ)) {
        return 0;
    }
    while (done < len) {
        size_t n = MIN(qf_fill(f, 1), len - done);

        if (n == 0) {
            break;
        }
        if (dst) {
            memcpy(dst + done, f->rbuf + f->rpos, n);
        }
        f->rpos += n;
        f->pos += n;
        done += n;
    }
    if (done < len) {
        qf_fail_eof(f, start, len, done);
    }
    return done;
}

static uint64_t qf_get_be(VsQemuFile *f, size_t width)
{
    uint8_t b[8];
    uint64_t v = 0;

    if (qf_take(f, b, width) < width) {
        return 0;
    }
    for (size_t i = 0; i < width; i++) {
        v = v << 8 | b[i];
    }
    return v;
}

uint8_t vs_qemufile_get_byte(VsQemuFile *f)
{
    return (uint8_t)qf_get_be(f, 1);
}

uint16_t vs_qemufile_get_be16(VsQemuFile *f)
{
    return (uint16_t)qf_get_be(f, 2);
}

uint32_t vs_qemufile_get_be32(VsQemuFile *f)
{
    return (uint32_t)qf_get_be(f, 4);
}

uint64_t vs_qemufile_get_be64(VsQemuFile *f)
{
    return qf_get_be(f, 8);
}

size_t vs_qemufile_get_buffer(VsQemuFile *f, uint8_t *buf, size_t len)
{
    return qf_take(f, buf, len);
}

size_t vs_qemufile_skip(VsQemuFile *f, size_t len)
{
    return qf_take(f, NULL, len);
}

size_t vs_qemufile_peek(VsQemuFile *f, size_t offset, size_t len, const uint8_t **ret_ptr)
{
    size_t avail;

    if (ret_ptr) {
        *ret_ptr = NULL;
    }
    g_return_val_if_fail(offset <= VS_QEMUFILE_BUF_SIZE &&
                             len <= VS_QEMUFILE_BUF_SIZE - offset, 0);
    if (!qf_ready(f, VS_QEMUFILE_READ)) {
        return 0;
    }
    avail = qf_fill(f, offset + len);
    if (avail <= offset) {
        return 0;
    }
    if (ret_ptr) {
        *ret_ptr = f->rbuf + f->rpos + offset;
    }
    return MIN(len, avail - offset);
}

bool vs_qemufile_peek_byte(VsQemuFile *f, size_t offset, uint8_t *ret_byte)
{
    const uint8_t *p;

    if (vs_qemufile_peek(f, offset, 1, &p) < 1) {
        return false;
    }
    if (ret_byte) {
        *ret_byte = *p;
    }
    return true;
}

bool vs_qemufile_at_eof(VsQemuFile *f)
{
    /* A failed or misused file has nothing more to give either. */
    if (!qf_ready(f, VS_QEMUFILE_READ)) {
        return true;
    }
    return qf_fill(f, 1) == 0;
}

/* Positions */

uint64_t vs_qemufile_pos(const VsQemuFile *f)
{
    return f->pos;
}

uint64_t vs_qemufile_transferred(const VsQemuFile *f)
{
    return f->transferred;
}

/* Flush and close */

/* Also false for a reader that has failed: "false" always means "failed". */
bool vs_qemufile_flush(VsQemuFile *f, GError **errp)
{
    if (f->mode == VS_QEMUFILE_WRITE && !f->closed) {
        qf_drain(f);
    }
    return qf_report(f, errp);
}

bool vs_qemufile_close(VsQemuFile *f, GError **errp)
{
    if (!f->closed) {
        if (f->mode == VS_QEMUFILE_WRITE) {
            qf_drain(f);
        }
        f->closed = true;
        if (f->ops->close && f->ops->close(f) < 0) {
            qf_fail_errno(f, "close", errno);
        }
    }
    return qf_report(f, errp);
}

/* Rate limiting */

void vs_qemufile_set_rate_limit(VsQemuFile *f, uint64_t budget_bytes)
{
    f->rate_budget = budget_bytes;
}

uint64_t vs_qemufile_rate_limit(const VsQemuFile *f)
{
    return f->rate_budget;
}

void vs_qemufile_rate_reset(VsQemuFile *f)
{
    f->rate_used = 0;
}

/*
 * A failed file counts as limited: puts are ignored, so a sender looping
 * "while not limited, put" would otherwise never stop.
 */
bool vs_qemufile_rate_limited(const VsQemuFile *f)
{
    if (f->err) {
        return true;
    }
    return f->rate_budget != 0 && f->rate_used >= f->rate_budget;
}

void vs_qemufile_set_rate_hook(VsQemuFile *f, VsQemuFileRateHook hook, void *opaque)
{
    f->rate_hook = hook;
    f->rate_opaque = opaque;
}
