/*
 * qemufile-splice.c: gathered writes into a pipe by reference (see
 * qemufile-splice.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include "visitor/qemufile/iov.h"
#include "visitor/qemufile/qemufile-splice.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Each chunk holds any one run of the file's buffer (32 KiB at most). */
#define SPLICE_CHUNK_SIZE (64 * 1024)
#define SPLICE_CHUNKS 8
#define SPLICE_IOV_MAX 1024

struct QfSplicer {
    int fd;
    uint8_t *arena;                    /* SPLICE_CHUNKS chunks, mmap'd */
    uint64_t chunk_end[SPLICE_CHUNKS]; /* pipe offset just past what a chunk supplied */
    unsigned cur;                      /* the chunk being filled */
    size_t cur_used;
    uint64_t written;                  /* bytes put into the pipe so far */
    bool plain;                        /* vmsplice refused: write() from now on */
    struct iovec out[SPLICE_IOV_MAX];  /* entries not handed to the kernel yet */
    int n_out;
    size_t out_bytes;
};

QfSplicer *qf_splicer_new(int fd)
{
#ifdef __linux__
    struct stat st;
    QfSplicer *s;
    void *arena;

    int fl = fcntl(fd, F_GETFL);

    /* On a read-only descriptor vmsplice() would read the pipe instead;
     * leave that (failing) write to write(). */
    if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode) || fl < 0 ||
        (fl & O_ACCMODE) == O_RDONLY) {
        return NULL;
    }
    arena = mmap(NULL, (size_t)SPLICE_CHUNKS * SPLICE_CHUNK_SIZE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (arena == MAP_FAILED) {
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        munmap(arena, (size_t)SPLICE_CHUNKS * SPLICE_CHUNK_SIZE);
        return NULL;
    }
    s->fd = fd;
    s->arena = arena;
    return s;
#else
    (void)fd;
    return NULL;
#endif
}

void qf_splicer_free(QfSplicer *s)
{
    if (!s) {
        return;
    }
    /* Unmapped pages still referenced by the pipe live on until read. */
    munmap(s->arena, (size_t)SPLICE_CHUNKS * SPLICE_CHUNK_SIZE);
    free(s);
}

/* How far the reader got: the pipe holds the last FIONREAD bytes written. */
static uint64_t splice_consumed(const QfSplicer *s)
{
    int unread = 0;

    if (ioctl(s->fd, FIONREAD, &unread) < 0 || unread < 0 || (uint64_t)unread > s->written) {
        return 0;   /* unknown: treat nothing as consumed */
    }
    return s->written - (uint64_t)unread;
}

/* One call of the kernel: vmsplice, or writev once vmsplice was refused. */
static ssize_t splice_call(QfSplicer *s, const struct iovec *iov, int n)
{
#ifdef __linux__
    if (!s->plain) {
        ssize_t r = vmsplice(s->fd, iov, (unsigned long)n, 0);

        /* The first call tells whether this pipe takes references. */
        if (r < 0 && s->written == 0 && (errno == EINVAL || errno == ENOSYS)) {
            s->plain = true;
        } else {
            return r;
        }
    }
#endif
    return writev(s->fd, iov, n);
}

/* After a failed call: true when it is worth repeating (EINTR, or a
 * descriptor made non-blocking behind our back that is writable again). */
static bool splice_retry(const QfSplicer *s, ssize_t r)
{
    struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };

    if (r == 0) {
        errno = EIO;
        return false;
    }
    if (errno == EINTR) {
        return true;
    }
    return (errno == EAGAIN || errno == EWOULDBLOCK) && poll(&pfd, 1, -1) >= 0;
}

/* Writes @len bytes at @p with a copy, as write() does. */
static bool splice_write_copy(QfSplicer *s, const uint8_t *p, size_t len, size_t *done)
{
    while (len > 0) {
        ssize_t r = write(s->fd, p, len);

        if (r <= 0) {
            if (splice_retry(s, r)) {
                continue;
            }
            return false;
        }
        p += r;
        len -= (size_t)r;
        *done += (size_t)r;
        s->written += (uint64_t)r;
    }
    return true;
}

/* Hands the queued entries to the kernel; false (errno set) when short. */
static bool splice_flush(QfSplicer *s, size_t *done)
{
    struct iovec *iov = s->out;
    int n = s->n_out;

    while (n > 0) {
        ssize_t r = splice_call(s, iov, n);

        if (r <= 0) {
            if (splice_retry(s, r)) {
                continue;
            }
            s->n_out = 0;
            s->out_bytes = 0;
            return false;
        }
        *done += (size_t)r;
        s->written += (uint64_t)r;
        vs_iov_advance(&iov, &n, (size_t)r);
    }
    s->n_out = 0;
    s->out_bytes = 0;
    return true;
}

static bool splice_chunk_free(const QfSplicer *s, unsigned chunk)
{
    return s->chunk_end[chunk] == 0 || splice_consumed(s) >= s->chunk_end[chunk];
}

/*
 * A copy of @len bytes at @p in the arena, to be queued next; NULL when no
 * chunk is free yet (the caller then writes the bytes with a copy).
 */
static const uint8_t *splice_stash(QfSplicer *s, const uint8_t *p, size_t len, size_t *done,
                                   bool *ret_failed)
{
    uint8_t *dst;

    *ret_failed = false;
    if (len > SPLICE_CHUNK_SIZE) {
        return NULL;
    }
    if (s->cur_used + len > SPLICE_CHUNK_SIZE) {
        unsigned next = (s->cur + 1) % SPLICE_CHUNKS;

        if (!splice_chunk_free(s, next)) {
            return NULL;
        }
        s->cur = next;
        s->cur_used = 0;
    }
    if (s->n_out == SPLICE_IOV_MAX && !splice_flush(s, done)) {
        *ret_failed = true;
        return NULL;
    }
    dst = s->arena + (size_t)s->cur * SPLICE_CHUNK_SIZE + s->cur_used;
    memcpy(dst, p, len);
    s->cur_used += len;
    s->chunk_end[s->cur] = s->written + s->out_bytes + len;
    return dst;
}

size_t qf_splicer_writev(QfSplicer *s, struct iovec *iov, int n_iov, const uint8_t *copy_lo,
                         const uint8_t *copy_hi)
{
    size_t done = 0;

    for (int i = 0; i < n_iov; i++) {
        const uint8_t *p = iov[i].iov_base;
        size_t len = iov[i].iov_len;

        if (!s->plain && p >= copy_lo && p < copy_hi) {
            bool failed;
            const uint8_t *copy = splice_stash(s, p, len, &done, &failed);

            if (failed) {
                return done;
            }
            if (!copy) {
                /* No free chunk: a plain write, after what is queued. */
                if (!splice_flush(s, &done) || !splice_write_copy(s, p, len, &done)) {
                    return done;
                }
                continue;
            }
            p = copy;
        }
        if (s->n_out == SPLICE_IOV_MAX && !splice_flush(s, &done)) {
            return done;
        }
        s->out[s->n_out++] = (struct iovec){ (void *)p, len };
        s->out_bytes += len;
    }
    splice_flush(s, &done);
    return done;
}
