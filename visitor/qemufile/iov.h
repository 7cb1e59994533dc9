/*
 * iov.h: stepping over the bytes a short readv/writev/sendmsg/vmsplice
 * moved in an iovec array, so the call can be repeated for the rest.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VSTATE_QEMUFILE_IOV_H
#define VSTATE_QEMUFILE_IOV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/*
 * Drops the entries of *@iov that @n bytes filled and trims the next one
 * by what is left of @n; *@cnt counts the entries still to move.
 */
static inline void vs_iov_advance(struct iovec **iov, int *cnt, size_t n)
{
    struct iovec *v = *iov;
    int left = *cnt;

    for (; left > 0 && n >= v->iov_len; v++, left--) {
        n -= v->iov_len;
    }
    if (left > 0) {
        v->iov_base = (uint8_t *)v->iov_base + n;
        v->iov_len -= n;
    }
    *iov = v;
    *cnt = left;
}

#endif /* VSTATE_QEMUFILE_IOV_H */
