/*
 * qemufile-splice.h: gathered writes into a pipe by reference (vmsplice),
 * for the VsQemuFile fd backend.  Internal to visitor/qemufile.
 *
 * SPDX-License-Identifier: MIT
 *
 * A write() into a pipe copies every byte into pages the kernel allocates
 * for the pipe, and the reader copies them out again.  vmsplice() instead
 * puts references to the writer's own pages into the pipe, so the reader's
 * copy is the only one.  The price: the pipe reads the writer's memory when
 * the reader gets to it, possibly long after the call returned.  So
 *
 *   - borrowed ranges (vs_qemufile_put_borrowed()) are spliced as they
 *     are: their owner keeps them mapped and resends what changes;
 *   - the file's own buffer, reused at once, is first copied into an arena
 *     of chunks that are reused only once the reader has consumed them
 *     (the pipe is a FIFO, so "bytes written minus FIONREAD" says how far
 *     it got); without a free chunk such bytes are written with write();
 *   - the arena is unmapped, never freed to the heap: pages still queued
 *     in the pipe keep their content until read.
 */
#ifndef VSTATE_QEMUFILE_SPLICE_H
#define VSTATE_QEMUFILE_SPLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

typedef struct QfSplicer QfSplicer;

/* A splicer for the pipe @fd (the write end), or NULL when @fd is no pipe
 * or the arena cannot be mapped (then plain writes apply). */
QfSplicer *qf_splicer_new(int fd);

/*
 * qf_splicer_writev: writes all of @iov; entries inside [@copy_lo, @copy_hi)
 * are copied first (the caller reuses that memory), the rest go by
 * reference.  @iov may be modified.
 * Returns: bytes written; fewer than asked with errno set on failure.
 */
size_t qf_splicer_writev(QfSplicer *s, struct iovec *iov, int n_iov, const uint8_t *copy_lo,
                         const uint8_t *copy_hi);

/* Unmaps the arena (content queued in the pipe stays readable); NULL is fine. */
void qf_splicer_free(QfSplicer *s);

#endif /* VSTATE_QEMUFILE_SPLICE_H */
