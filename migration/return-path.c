/*
 * return-path.c: the return path's messages (see return-path.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include "migration/return-path.h"
#include "migration/migrate.h"
#include "migration/ram-internal.h"
#include "migration/channel.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* QEMU's source reads messages into a buffer of this size. */
#define RP_MAX_LEN 512

/* Fixed payload lengths; -1: variable. */
static const int rp_lengths[VS_RP_MAX] = {
    [VS_RP_INVALID] = -1, [VS_RP_SHUT] = 4,         [VS_RP_PONG] = 4,
    [VS_RP_REQ_PAGES_ID] = -1, [VS_RP_REQ_PAGES] = 12, [VS_RP_RECV_BITMAP] = -1,
    [VS_RP_RESUME_ACK] = 4,
};

const char *vs_rp_type_name(unsigned type)
{
    static const char *const names[VS_RP_MAX] = {
        "INVALID", "SHUT", "PONG", "REQ_PAGES_ID", "REQ_PAGES", "RECV_BITMAP", "RESUME_ACK",
    };
    return type < VS_RP_MAX ? names[type] : "INVALID";
}

/* ---- destination: sending ---------------------------------------------------- */

struct VsRpWriter {
    GMutex lock;
    int fd;
    char last_block[256];
};

static int rp_writer_destructor(VsRpWriter *w)
{
    g_mutex_clear(&w->lock);
    return 0;
}

VsRpWriter *vs_rp_writer_new(TALLOC_CTX *mem_ctx)
{
    VsRpWriter *w = talloc_zero(mem_ctx, VsRpWriter);

    g_assert(w != NULL);
    g_mutex_init(&w->lock);
    w->fd = -1;
    talloc_set_destructor(w, rp_writer_destructor);
    return w;
}

void vs_rp_writer_attach(VsRpWriter *w, int fd)
{
    int one = 1;

    /*
     * Requests are small and each one is waited for: without TCP_NODELAY,
     * Nagle holds one back until the last is acknowledged, and when the
     * pages come back on another connection (preempt) that ACK is delayed
     * (up to 40 ms).  Fails harmlessly on unix sockets.
     */
    if (fd >= 0) {
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    g_mutex_lock(&w->lock);
    w->fd = fd;
    w->last_block[0] = '\0';
    g_mutex_unlock(&w->lock);
}

bool vs_rp_writer_attached(VsRpWriter *w)
{
    bool on;

    g_mutex_lock(&w->lock);
    on = w->fd >= 0;
    g_mutex_unlock(&w->lock);
    return on;
}

static bool rp_write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* Caller holds the lock.  A failed send detaches: the connection is gone. */
static bool rp_send_locked(VsRpWriter *w, const uint8_t *msg, size_t len)
{
    if (w->fd < 0) {
        return false;
    }
    if (!rp_write_all(w->fd, msg, len)) {
        w->fd = -1;
        return false;
    }
    return true;
}

static size_t rp_put_header(uint8_t *buf, VsRpType type, uint16_t len)
{
    buf[0] = (uint8_t)(type >> 8);
    buf[1] = (uint8_t)type;
    buf[2] = (uint8_t)(len >> 8);
    buf[3] = (uint8_t)len;
    return 4;
}

static size_t rp_put_be32(uint8_t *p, uint32_t v)
{
    v = GUINT32_TO_BE(v);
    memcpy(p, &v, 4);
    return 4;
}

static size_t rp_put_be64(uint8_t *p, uint64_t v)
{
    v = GUINT64_TO_BE(v);
    memcpy(p, &v, 8);
    return 8;
}

static bool rp_send_u32(VsRpWriter *w, VsRpType type, uint32_t v)
{
    uint8_t buf[8];
    size_t n = rp_put_header(buf, type, 4);
    bool ok;

    n += rp_put_be32(buf + n, v);
    g_mutex_lock(&w->lock);
    ok = rp_send_locked(w, buf, n);
    g_mutex_unlock(&w->lock);
    return ok;
}

bool vs_rp_send_shut(VsRpWriter *w, uint32_t status)
{
    return rp_send_u32(w, VS_RP_SHUT, status);
}

bool vs_rp_send_pong(VsRpWriter *w, uint32_t value)
{
    return rp_send_u32(w, VS_RP_PONG, value);
}

bool vs_rp_send_resume_ack(VsRpWriter *w)
{
    return rp_send_u32(w, VS_RP_RESUME_ACK, 1);
}

bool vs_rp_send_req_pages(VsRpWriter *w, const char *block, uint64_t start, uint32_t len)
{
    uint8_t buf[4 + 13 + 255];
    size_t name_len = strlen(block), n;
    bool ok;

    g_assert(name_len > 0 && name_len <= 255);
    g_mutex_lock(&w->lock);
    if (strcmp(w->last_block, block) != 0) {
        n = rp_put_header(buf, VS_RP_REQ_PAGES_ID, (uint16_t)(13 + name_len));
        n += rp_put_be64(buf + n, start);
        n += rp_put_be32(buf + n, len);
        buf[n++] = (uint8_t)name_len;
        memcpy(buf + n, block, name_len);
        n += name_len;
        g_strlcpy(w->last_block, block, sizeof(w->last_block));
    } else {
        n = rp_put_header(buf, VS_RP_REQ_PAGES, 12);
        n += rp_put_be64(buf + n, start);
        n += rp_put_be32(buf + n, len);
    }
    ok = rp_send_locked(w, buf, n);
    g_mutex_unlock(&w->lock);
    return ok;
}

/* The blob's size: ceil(npages / 8) bytes rounded up to whole 64-bit words. */
static uint64_t rp_bitmap_bytes(uint64_t npages)
{
    return (npages + 63) / 64 * 8;
}

bool vs_rp_send_recv_bitmap(VsRpWriter *w, const char *block, const unsigned long *bitmap,
                            uint64_t npages)
{
    uint64_t size = rp_bitmap_bytes(npages);
    size_t name_len = strlen(block);
    uint8_t *buf = g_malloc(4 + 1 + name_len + 8 + size + 8);
    size_t n;
    bool ok;

    g_assert(name_len > 0 && name_len <= 255);
    n = rp_put_header(buf, VS_RP_RECV_BITMAP, (uint16_t)(1 + name_len));
    buf[n++] = (uint8_t)name_len;
    memcpy(buf + n, block, name_len);
    n += name_len;
    n += rp_put_be64(buf + n, size);
    /* Little-endian 64-bit words: page i is bit i % 8 of byte i / 8. */
    for (uint64_t word = 0; word < size / 8; word++) {
        uint64_t v = 0;

        for (unsigned bit = 0; bit < 64; bit++) {
            uint64_t p = word * 64 + bit;

            if (p < npages && (bitmap[p / VS_BITS_PER_LONG] >> (p % VS_BITS_PER_LONG)) & 1) {
                v |= 1ull << bit;
            }
        }
        v = GUINT64_TO_LE(v);
        memcpy(buf + n, &v, 8);
        n += 8;
    }
    n += rp_put_be64(buf + n, VS_RP_BITMAP_END_MARK);
    g_mutex_lock(&w->lock);
    ok = rp_send_locked(w, buf, n);
    g_mutex_unlock(&w->lock);
    g_free(buf);
    return ok;
}

/* ---- source: reading ---------------------------------------------------------- */

static bool rp_fail(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static bool rp_io_fail(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* A wrong message: the return path is bad. */
static bool rp_fail(GError **errp, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_propagate_error(errp, g_error_new_valist(VS_MIGRATE_ERROR, VS_MIGRATE_ERROR_STREAM, fmt,
                                               ap));
    va_end(ap);
    return false;
}

/* The connection broke (VS_CHANNEL_ERROR_IO): postcopy may recover from it. */
static bool rp_io_fail(GError **errp, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_propagate_error(errp, g_error_new_valist(VS_CHANNEL_ERROR, VS_CHANNEL_ERROR_IO, fmt, ap));
    va_end(ap);
    return false;
}

/* Exactly @len bytes; false at the end of the stream or on an error. */
static bool rp_read_all(int fd, uint8_t *p, size_t len, ssize_t *ret_got)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = read(fd, p + got, len - got);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            *ret_got = n < 0 ? -errno : (ssize_t)got;
            return false;
        }
        got += (size_t)n;
    }
    *ret_got = (ssize_t)got;
    return true;
}

static uint32_t rp_be32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return GUINT32_FROM_BE(v);
}

static uint64_t rp_be64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return GUINT64_FROM_BE(v);
}

static bool rp_decode(VsRpMsg *m, const uint8_t *buf, uint16_t len, GError **errp)
{
    switch (m->type) {
    case VS_RP_SHUT:
    case VS_RP_PONG:
    case VS_RP_RESUME_ACK:
        m->value = rp_be32(buf);
        return true;
    case VS_RP_REQ_PAGES:
        m->start = rp_be64(buf);
        m->len = rp_be32(buf + 8);
        return true;
    case VS_RP_REQ_PAGES_ID:
        if (len < 13 || buf[12] == 0 || (size_t)13 + buf[12] != len) {
            /* QEMU's words. */
            return rp_fail(errp, "RP: Req_Page_id with length %d expecting %zd", len,
                           (size_t)13 + (len >= 13 ? buf[12] : 0));
        }
        m->start = rp_be64(buf);
        m->len = rp_be32(buf + 8);
        memcpy(m->block, buf + 13, buf[12]);
        m->block[buf[12]] = '\0';
        return true;
    case VS_RP_RECV_BITMAP:
        if (len < 1 || buf[0] == 0 || (size_t)1 + buf[0] != len) {
            return rp_fail(errp, "source_return_path_thread: missing block name");
        }
        memcpy(m->block, buf + 1, buf[0]);
        m->block[buf[0]] = '\0';
        return true;
    default:
        g_assert_not_reached();
    }
}

bool vs_rp_read(int fd, VsRpMsg *ret, GError **errp)
{
    uint8_t hdr[4], buf[RP_MAX_LEN];
    uint16_t type, len;
    ssize_t got;

    memset(ret, 0, sizeof(*ret));
    if (!rp_read_all(fd, hdr, sizeof(hdr), &got)) {
        return rp_io_fail(errp, "RP: %s", got < 0 ? g_strerror((int)-got)
                                                : "the destination closed the return path");
    }
    type = (uint16_t)(hdr[0] << 8 | hdr[1]);
    len = (uint16_t)(hdr[2] << 8 | hdr[3]);
    if (type == VS_RP_INVALID || type >= VS_RP_MAX) {
        return rp_fail(errp, "RP: Received invalid message 0x%04x length 0x%04x", type, len);
    }
    if ((rp_lengths[type] >= 0 && len != rp_lengths[type]) || len > RP_MAX_LEN) {
        /* QEMU's words, its missing space included. */
        return rp_fail(errp, "RP: Received '%s' message (0x%04x) withincorrect length %d "
                       "expecting %zu", vs_rp_type_name(type), type, len,
                       rp_lengths[type] >= 0 ? (size_t)rp_lengths[type] : (size_t)RP_MAX_LEN);
    }
    if (!rp_read_all(fd, buf, len, &got)) {
        return rp_io_fail(errp, "RP: Failed reading data for message 0x%04x read %d expected %d",
                       type, (int)got, len);
    }
    ret->type = (VsRpType)type;
    return rp_decode(ret, buf, len, errp);
}

bool vs_rp_read_bitmap(int fd, const char *block, uint64_t npages, unsigned long *bitmap,
                       GError **errp)
{
    uint64_t expect = rp_bitmap_bytes(npages), size, mark;
    uint8_t word[8];
    ssize_t got;

    if (!rp_read_all(fd, word, 8, &got)) {
        return rp_io_fail(errp, "RP: the received bitmap of '%s' is cut short", block);
    }
    size = rp_be64(word);
    if (size != expect) {
        return rp_fail(errp, "ram_dirty_bitmap_reload: ramblock '%s' bitmap size mismatch "
                       "(0x%" PRIx64 " != 0x%" PRIx64 ")", block, size, expect);
    }
    memset(bitmap, 0, VS_BITS_TO_LONGS(npages) * sizeof(unsigned long));
    for (uint64_t w = 0; w < size / 8; w++) {
        uint64_t v;

        if (!rp_read_all(fd, word, 8, &got)) {
            return rp_io_fail(errp, "RP: the received bitmap of '%s' is cut short", block);
        }
        memcpy(&v, word, 8);
        v = GUINT64_FROM_LE(v);
        for (unsigned bit = 0; v && bit < 64; bit++, v >>= 1) {
            uint64_t p = w * 64 + bit;

            if ((v & 1) && p < npages) {
                bitmap[p / VS_BITS_PER_LONG] |= 1ul << (p % VS_BITS_PER_LONG);
            }
        }
    }
    if (!rp_read_all(fd, word, 8, &got)) {
        return rp_io_fail(errp, "RP: the received bitmap of '%s' is cut short", block);
    }
    mark = rp_be64(word);
    if (mark != VS_RP_BITMAP_END_MARK) {
        return rp_fail(errp, "ram_dirty_bitmap_reload: ramblock '%s' end mark incorrect: "
                       "0x%" PRIx64, block, mark);
    }
    return true;
}
