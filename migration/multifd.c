/*
 * multifd.c: the source's sending channels and the destination's receiving
 * channels of a multifd migration, each with its own thread (see
 * multifd.h).
 *
 * SPDX-License-Identifier: MIT
 *
 * Pages move between guest memory and the sockets without a copy when
 * they are not compressed: a packet is one sendmsg() of the header and
 * the 128 pages where they lie, and the destination reads a header, then
 * readv()s the pages straight to their places.  The VsQemuFile of a
 * multifd channel is never used; only the main channel's is.
 *
 * Locking: one mutex per side guards the job slots, the sync counters and
 * the first error.  The source's main thread hands a packet to an idle
 * channel (one job at a time per channel, as QEMU's pending_job) and waits
 * when none is idle; a channel thread writes its job, then reports idle.
 */
#include "migration/multifd.h"
#include "migration/stream.h"
#include "visitor/qemufile/iov.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static bool mf_fail(GError **errp, VsMultifdError code, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static bool mf_fail(GError **errp, VsMultifdError code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_propagate_error(errp, g_error_new_valist(VS_MULTIFD_ERROR, code, fmt, ap));
    va_end(ap);
    return false;
}

/* ---- parameters --------------------------------------------------------------------------- */

void vs_multifd_default_params(VsMigParams *p)
{
    p->multifd = false;
    p->multifd_channels = 2;
    p->multifd_compression = VS_MULTIFD_COMPRESSION_NONE;
    p->multifd_zlib_level = 1;
    p->multifd_zstd_level = 1;
}

bool vs_multifd_check_params(const VsMigParams *p, GError **errp)
{
    /* QEMU 7.2's words (QERR_INVALID_PARAMETER_VALUE, migrate_caps_check). */
    if (p->multifd_channels < 1) {
        g_set_error(errp, VS_MIGRATE_ERROR, VS_MIGRATE_ERROR_PARAM,
                    "Parameter 'multifd_channels' expects a value between 1 and 255");
        return false;
    }
    if (p->multifd_compression >= VS_MULTIFD_COMPRESSION__MAX) {
        g_set_error(errp, VS_MIGRATE_ERROR, VS_MIGRATE_ERROR_PARAM,
                    "Parameter 'multifd-compression' does not accept value %u",
                    p->multifd_compression);
        return false;
    }
    if (p->multifd_zlib_level > 9) {
        g_set_error(errp, VS_MIGRATE_ERROR, VS_MIGRATE_ERROR_PARAM,
                    "Parameter 'multifd_zlib_level' expects a value between 0 and 9");
        return false;
    }
    if (p->multifd_zstd_level > 20) {
        g_set_error(errp, VS_MIGRATE_ERROR, VS_MIGRATE_ERROR_PARAM,
                    "Parameter 'multifd_zstd_level' expects a value between 0 and 20");
        return false;
    }
    if (p->multifd && p->background_snapshot) {
        g_set_error(errp, VS_MIGRATE_ERROR, VS_MIGRATE_ERROR_PARAM,
                    "Background-snapshot is not compatible with multifd");
        return false;
    }
    return true;
}

void vs_multifd_config_from_params(const VsMigParams *p, VsMultifdConfig *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->channels = p->multifd_channels;
    ret->compression = (VsMultifdCompression)p->multifd_compression;
    ret->zlib_level = p->multifd_zlib_level;
    ret->zstd_level = p->multifd_zstd_level;
}

/* ---- socket I/O ------------------------------------------------------------------------ */

/* Writes every byte of @iov (modified); false with errno set. */
static bool mf_writev_all(int fd, struct iovec *iov, int cnt)
{
    while (cnt > 0) {
        struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)cnt };
        ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        vs_iov_advance(&iov, &cnt, (size_t)n);
    }
    return true;
}

typedef enum MfReadResult {
    MF_READ_OK,
    MF_READ_EOF,      /* *ret_got bytes came before the end */
    MF_READ_ERROR,    /* errno set */
} MfReadResult;

/* Reads every byte of @iov (modified). */
static MfReadResult mf_readv_all(int fd, struct iovec *iov, int cnt, size_t *ret_got)
{
    size_t got = 0;

    while (cnt > 0) {
        ssize_t n = readv(fd, iov, MIN(cnt, IOV_MAX));

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            *ret_got = got;
            return MF_READ_ERROR;
        }
        if (n == 0) {
            *ret_got = got;
            return MF_READ_EOF;
        }
        got += (size_t)n;
        vs_iov_advance(&iov, &cnt, (size_t)n);
    }
    *ret_got = got;
    return MF_READ_OK;
}

static MfReadResult mf_read_all(int fd, void *buf, size_t len, size_t *ret_got)
{
    struct iovec iov = { buf, len };

    return mf_readv_all(fd, &iov, 1, ret_got);
}

/* ---- source ----------------------------------------------------------------------------- */

typedef struct MfJob {
    const VsRamBlock *block;
    uint32_t n;                   /* pages */
    uint32_t flags;               /* VS_MULTIFD_FLAG_SYNC or 0 */
    uint64_t packet_num;
    uint64_t offset[VS_MULTIFD_PAGE_COUNT];
} MfJob;

typedef struct MfSendChannel {
    VsMultifdSend *s;
    unsigned id;
    VsChannel *ch;
    int fd;
    GThread *thread;
    GCond job_cond;
    bool busy;                    /* under s->lock: @job is this channel's to write */
    MfJob job;
    VsMultifdDeflater *deflater;
    uint8_t *cbuf;                /* compressed payload */
    uint8_t hdr[VS_MULTIFD_HEADER_SIZE];
} MfSendChannel;

struct VsMultifdSend {
    VsMultifdConfig cfg;
    VsQemuFileRateHook pace;
    void *pace_opaque;
    GMutex lock;
    GCond idle_cond;              /* a channel became idle, or failed */
    MfSendChannel *chans;         /* talloc array of cfg.channels */
    unsigned n_started;           /* threads running */
    unsigned next;                /* round robin */
    uint64_t packet_num;
    bool quit;
    GError *error;                /* the first channel error */
    uint64_t bytes;               /* atomic */
    MfJob queue;                  /* the main thread's batch being filled */
    bool finished;
};

static void mf_send_record_error(VsMultifdSend *s, GError *err)
{
    g_mutex_lock(&s->lock);
    if (!s->error && !s->quit) {
        s->error = err;
        err = NULL;
    }
    g_cond_broadcast(&s->idle_cond);
    g_mutex_unlock(&s->lock);
    if (err) {
        g_error_free(err);
    }
}

static bool mf_send_packet(MfSendChannel *c, const MfJob *job, GError **errp)
{
    VsMultifdSend *s = c->s;
    struct iovec iov[1 + VS_MULTIFD_PAGE_COUNT];
    const uint8_t *pages[VS_MULTIFD_PAGE_COUNT];
    VsMultifdPacket p;
    size_t total = VS_MULTIFD_HEADER_SIZE;
    int cnt = 1;

    memset(&p, 0, sizeof(p));
    p.flags = job->flags;
    p.pages_alloc = VS_MULTIFD_PAGE_COUNT;
    p.normal_pages = job->n;
    p.packet_num = job->packet_num;
    for (uint32_t i = 0; i < job->n; i++) {
        p.offset[i] = job->offset[i];
        pages[i] = job->block->save.host + job->offset[i];
    }
    if (job->n > 0) {
        g_strlcpy(p.ramblock, job->block->save.name, sizeof(p.ramblock));
        if (c->deflater) {
            size_t clen = 0;

            p.flags |= s->cfg.compression == VS_MULTIFD_COMPRESSION_ZLIB ? VS_MULTIFD_FLAG_ZLIB
                                                                         : VS_MULTIFD_FLAG_ZSTD;
            if (!vs_multifd_deflate(c->deflater, pages, job->n, c->cbuf,
                                    VS_MULTIFD_MAX_PAYLOAD, &clen, errp)) {
                return false;
            }
            p.next_packet_size = (uint32_t)clen;
            iov[cnt++] = (struct iovec){ c->cbuf, clen };
        } else {
            p.next_packet_size = job->n * VS_RAM_PAGE_SIZE;
            for (uint32_t i = 0; i < job->n; i++) {
                iov[cnt++] = (struct iovec){ (void *)(uintptr_t)pages[i], VS_RAM_PAGE_SIZE };
            }
        }
        total += p.next_packet_size;
    }
    vs_multifd_packet_encode(c->hdr, &p);
    iov[0] = (struct iovec){ c->hdr, VS_MULTIFD_HEADER_SIZE };
    if (!mf_writev_all(c->fd, iov, cnt)) {
        return mf_fail(errp, VS_MULTIFD_ERROR_CHANNEL,
                       "multifd channel %u: writing packet %" PRIu64 " failed: %s", c->id,
                       job->packet_num, g_strerror(errno));
    }
    __atomic_fetch_add(&s->bytes, total, __ATOMIC_RELAXED);
    return true;
}

static gpointer mf_send_thread(gpointer opaque)
{
    MfSendChannel *c = opaque;
    VsMultifdSend *s = c->s;

    for (;;) {
        GError *err = NULL;
        bool ok;

        g_mutex_lock(&s->lock);
        while (!c->busy && !s->quit) {
            g_cond_wait(&c->job_cond, &s->lock);
        }
        if (!c->busy || s->error) {
            c->busy = false;
            g_cond_broadcast(&s->idle_cond);
            g_mutex_unlock(&s->lock);
            break;
        }
        g_mutex_unlock(&s->lock);
        /* The job is this thread's while busy: the main thread does not touch it. */
        ok = mf_send_packet(c, &c->job, &err);
        if (!ok) {
            mf_send_record_error(s, err);
        }
        g_mutex_lock(&s->lock);
        c->busy = false;
        g_cond_broadcast(&s->idle_cond);
        g_mutex_unlock(&s->lock);
        if (!ok) {
            break;
        }
    }
    return NULL;
}

/* Copies the first error into @errp; false when there is none. */
static bool mf_send_take_error(VsMultifdSend *s, GError **errp)
{
    bool has;

    g_mutex_lock(&s->lock);
    has = s->error != NULL;
    if (has) {
        g_propagate_error(errp, g_error_copy(s->error));
    }
    g_mutex_unlock(&s->lock);
    return has;
}

bool vs_multifd_send_error(VsMultifdSend *s, GError **errp)
{
    return mf_send_take_error(s, errp);
}

/* Hands @job to the next idle channel (round robin), waiting for one; false on a failure. */
static bool mf_send_dispatch(VsMultifdSend *s, const MfJob *job, uint32_t flags)
{
    g_mutex_lock(&s->lock);
    for (;;) {
        unsigned n = s->cfg.channels;

        if (s->error || s->quit) {
            g_mutex_unlock(&s->lock);
            return false;
        }
        for (unsigned i = 0; i < n; i++) {
            MfSendChannel *c = &s->chans[(s->next + i) % n];

            if (!c->busy) {
                c->job.block = job->block;
                c->job.n = job->n;
                c->job.flags = flags;
                c->job.packet_num = s->packet_num++;
                memcpy(c->job.offset, job->offset, job->n * sizeof(job->offset[0]));
                c->busy = true;
                g_cond_signal(&c->job_cond);
                s->next = (c->id + 1) % n;
                g_mutex_unlock(&s->lock);
                return true;
            }
        }
        g_cond_wait(&s->idle_cond, &s->lock);
    }
}

/* Sets @f's error to the channel's (or to a stop) once the multifd side failed. */
static void mf_send_fail_file(VsMultifdSend *s, VsQemuFile *f)
{
    GError *err = NULL;

    if (!mf_send_take_error(s, &err)) {
        err = g_error_new(VS_MULTIFD_ERROR, VS_MULTIFD_ERROR_CHANNEL,
                          "multifd: the channels were stopped");
    }
    vs_qemufile_set_error(f, err);
}

static void mf_send_flush_queue(VsMultifdSend *s, VsQemuFile *f)
{
    size_t bytes = VS_MULTIFD_HEADER_SIZE + (size_t)s->queue.n * VS_RAM_PAGE_SIZE;

    if (s->queue.n == 0 || vs_qemufile_failed(f)) {
        s->queue.n = 0;
        return;
    }
    /* max-bandwidth counts these bytes too (compressed packets at their raw size). */
    if (s->pace && !s->pace(f, bytes, s->pace_opaque)) {
        vs_qemufile_set_error(f, g_error_new(VS_MULTIFD_ERROR, VS_MULTIFD_ERROR_CHANNEL,
                                             "migration was cancelled"));
    } else if (!mf_send_dispatch(s, &s->queue, 0)) {
        mf_send_fail_file(s, f);
    }
    s->queue.n = 0;
}

static void mf_sink_page(void *opaque, VsQemuFile *f, const VsRamBlock *b, uint64_t offset)
{
    VsMultifdSend *s = opaque;

    if (s->queue.n && s->queue.block != b) {
        mf_send_flush_queue(s, f);
    }
    s->queue.block = b;
    s->queue.offset[s->queue.n++] = offset;
    if (s->queue.n == VS_MULTIFD_PAGE_COUNT) {
        mf_send_flush_queue(s, f);
    }
}

/*
 * The sync before a section's EOS (QEMU's multifd_send_sync_main): queued
 * pages out, a SYNC packet on every channel, and all of them written.
 */
static void mf_sink_flush(void *opaque, VsQemuFile *f)
{
    VsMultifdSend *s = opaque;
    bool ok = true;

    mf_send_flush_queue(s, f);
    if (vs_qemufile_failed(f)) {
        return;
    }
    g_mutex_lock(&s->lock);
    for (unsigned i = 0; i < s->cfg.channels && ok; i++) {
        MfSendChannel *c = &s->chans[i];

        while (c->busy && !s->error && !s->quit) {
            g_cond_wait(&s->idle_cond, &s->lock);
        }
        ok = !s->error && !s->quit;
        if (ok) {
            c->job.n = 0;
            c->job.flags = VS_MULTIFD_FLAG_SYNC;
            c->job.packet_num = s->packet_num++;
            c->busy = true;
            g_cond_signal(&c->job_cond);
        }
    }
    for (unsigned i = 0; i < s->cfg.channels && ok; i++) {
        while (s->chans[i].busy && !s->error && !s->quit) {
            g_cond_wait(&s->idle_cond, &s->lock);
        }
        ok = !s->error && !s->quit;
    }
    g_mutex_unlock(&s->lock);
    if (!ok) {
        mf_send_fail_file(s, f);
    }
}

static const VsRamPageSink mf_sink = {
    .page = mf_sink_page,
    .flush = mf_sink_flush,
};

const VsRamPageSink *vs_multifd_send_sink(void)
{
    return &mf_sink;
}

uint64_t vs_multifd_send_bytes(VsMultifdSend *s)
{
    return __atomic_load_n(&s->bytes, __ATOMIC_RELAXED);
}

void vs_multifd_send_shutdown(VsMultifdSend *s)
{
    g_mutex_lock(&s->lock);
    s->quit = true;
    for (unsigned i = 0; i < s->cfg.channels; i++) {
        if (s->chans[i].ch) {
            vs_channel_shutdown(s->chans[i].ch);
        }
        g_cond_signal(&s->chans[i].job_cond);
    }
    g_cond_broadcast(&s->idle_cond);
    g_mutex_unlock(&s->lock);
}

bool vs_multifd_send_finish(VsMultifdSend *s, GError **errp)
{
    if (!s->finished) {
        s->finished = true;
        g_mutex_lock(&s->lock);
        s->quit = true;
        for (unsigned i = 0; i < s->cfg.channels; i++) {
            g_cond_signal(&s->chans[i].job_cond);
        }
        g_mutex_unlock(&s->lock);
        for (unsigned i = 0; i < s->cfg.channels; i++) {
            MfSendChannel *c = &s->chans[i];

            if (c->thread) {
                g_thread_join(c->thread);
                c->thread = NULL;
            }
            /* Only after the threads: closing sends what is queued, then the end. */
            TALLOC_FREE(c->ch);
        }
    }
    return !mf_send_take_error(s, errp);
}

static int mf_send_destructor(VsMultifdSend *s)
{
    vs_multifd_send_shutdown(s);
    vs_multifd_send_finish(s, NULL);
    for (unsigned i = 0; i < s->cfg.channels; i++) {
        g_cond_clear(&s->chans[i].job_cond);
    }
    g_cond_clear(&s->idle_cond);
    g_mutex_clear(&s->lock);
    if (s->error) {
        g_error_free(s->error);
    }
    return 0;
}

/*
 * Small packets (SYNC, compressed pages) must not wait for the previous
 * one's acknowledgement (Nagle): a sync would cost a delayed-ACK timeout.
 * Harmless where it does not apply (unix sockets).
 */
static void mf_set_nodelay(int fd)
{
    int one = 1;

    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Connects channel @c and sends its init packet. */
static bool mf_send_connect(VsMultifdSend *s, MfSendChannel *c, const char *uri, GError **errp)
{
    uint8_t init[VS_MULTIFD_INIT_SIZE];
    struct iovec iov = { init, sizeof(init) };
    GError *local = NULL;

    c->ch = vs_channel_connect(s, uri, &local);
    if (!c->ch) {
        mf_fail(errp, VS_MULTIFD_ERROR_CHANNEL, "multifd channel %u: %s", c->id,
                local->message);
        g_error_free(local);
        return false;
    }
    c->fd = vs_channel_fd(c->ch);
    mf_set_nodelay(c->fd);
    vs_multifd_init_encode(init, s->cfg.uuid, (uint8_t)c->id);
    if (!mf_writev_all(c->fd, &iov, 1)) {
        return mf_fail(errp, VS_MULTIFD_ERROR_CHANNEL,
                       "multifd channel %u: writing the init packet failed: %s", c->id,
                       g_strerror(errno));
    }
    __atomic_fetch_add(&s->bytes, (uint64_t)VS_MULTIFD_INIT_SIZE, __ATOMIC_RELAXED);
    if (s->cfg.compression != VS_MULTIFD_COMPRESSION_NONE) {
        unsigned level = s->cfg.compression == VS_MULTIFD_COMPRESSION_ZLIB ? s->cfg.zlib_level
                                                                           : s->cfg.zstd_level;

        c->deflater = vs_multifd_deflater_new(s, s->cfg.compression, level, c->id, errp);
        c->cbuf = talloc_size(s, VS_MULTIFD_MAX_PAYLOAD);
        g_assert(c->cbuf != NULL);
        if (!c->deflater) {
            return false;
        }
    }
    return true;
}

/* Multifd needs connections it can open again: sockets. */
static bool mf_check_uri(const char *uri, GError **errp)
{
    VsChannelKind kind;
    const char *rest;

    if (!vs_channel_parse_uri(uri, &kind, &rest, errp)) {
        return false;
    }
    if (kind != VS_CHANNEL_TCP && kind != VS_CHANNEL_UNIX) {
        /* QEMU 7.2's words. */
        return mf_fail(errp, VS_MULTIFD_ERROR_PARAM,
                       "multifd is not supported by current protocol (%s; multifd needs tcp: "
                       "or unix:)", uri);
    }
    return true;
}

VsMultifdSend *vs_multifd_send_new(TALLOC_CTX *mem_ctx, const VsMultifdConfig *cfg,
                                   const char *uri, VsQemuFileRateHook pace, void *pace_opaque,
                                   GError **errp)
{
    VsMultifdSend *s;

    g_assert(cfg->channels >= 1 && cfg->channels <= VS_MULTIFD_MAX_CHANNELS);
    if (!mf_check_uri(uri, errp)) {
        return NULL;
    }
    s = talloc_zero(mem_ctx, VsMultifdSend);
    g_assert(s != NULL);
    s->cfg = *cfg;
    s->pace = pace;
    s->pace_opaque = pace_opaque;
    g_mutex_init(&s->lock);
    g_cond_init(&s->idle_cond);
    s->chans = talloc_zero_array(s, MfSendChannel, cfg->channels);
    g_assert(s->chans != NULL);
    for (unsigned i = 0; i < cfg->channels; i++) {
        s->chans[i].s = s;
        s->chans[i].id = i;
        s->chans[i].fd = -1;
        g_cond_init(&s->chans[i].job_cond);
    }
    talloc_set_destructor(s, mf_send_destructor);
    for (unsigned i = 0; i < cfg->channels; i++) {
        if (!mf_send_connect(s, &s->chans[i], uri, errp)) {
            talloc_free(s);
            return NULL;
        }
    }
    for (unsigned i = 0; i < cfg->channels; i++) {
        g_autofree char *name = g_strdup_printf("vs-multifdsend_%u", i);

        s->chans[i].thread = g_thread_new(name, mf_send_thread, &s->chans[i]);
    }
    return s;
}

/* ---- destination --------------------------------------------------------------------------- */

typedef struct MfRecvChannel {
    VsMultifdRecv *r;
    unsigned id;
    VsChannel *ch;
    int fd;
    GThread *thread;
    bool synced;                  /* under r->lock: read a SYNC, waits for the release */
    bool closed;                  /* under r->lock: the source ended it between packets */
    VsMultifdInflater *inflater;
    uint8_t *cbuf;
    uint8_t hdr[VS_MULTIFD_HEADER_SIZE];
    VsMultifdPacket pkt;
} MfRecvChannel;

struct VsMultifdRecv {
    VsMultifdConfig cfg;
    VsRamList *ram;
    GMutex lock;
    GCond cond;                   /* a SYNC came, a release, a failure, a close */
    MfRecvChannel *chans;         /* by channel id */
    VsChannel *main;
    VsChannelListener *listener;  /* watched for channels beyond the expected ones */
    GThread *watcher;
    VsChannel *extra;             /* under lock: what the watcher accepted, being read */
    unsigned synced;
    uint64_t generation;          /* counts releases */
    bool quit;
    GError *error;
    uint64_t pages;               /* atomic */
};

/* The first failure stops everything: every channel and the main one. */
static void mf_recv_fail(VsMultifdRecv *r, GError *err)
{
    bool first;

    g_mutex_lock(&r->lock);
    first = !r->error && !r->quit;
    if (first) {
        r->error = err;
        err = NULL;
    }
    g_cond_broadcast(&r->cond);
    g_mutex_unlock(&r->lock);
    if (err) {
        g_error_free(err);
    }
    if (first) {
        vs_multifd_recv_shutdown(r);
    }
}

static bool mf_recv_read_failed(MfRecvChannel *c, MfReadResult res, size_t got, size_t want,
                                const char *what, GError **errp)
{
    if (res == MF_READ_ERROR) {
        return mf_fail(errp, VS_MULTIFD_ERROR_CHANNEL, "multifd channel %u: reading %s: %s",
                       c->id, what, g_strerror(errno));
    }
    return mf_fail(errp, VS_MULTIFD_ERROR_CHANNEL,
                   "multifd channel %u: the source closed the channel inside %s (%zu of %zu "
                   "bytes)", c->id, what, got, want);
}

static bool mf_recv_payload(MfRecvChannel *c, const VsRamBlock *b, GError **errp)
{
    const VsMultifdPacket *p = &c->pkt;
    uint8_t *pages[VS_MULTIFD_PAGE_COUNT];
    struct iovec iov[VS_MULTIFD_PAGE_COUNT];
    size_t len = vs_multifd_packet_payload(p, c->r->cfg.compression);
    MfReadResult res;
    size_t got = 0;

    for (uint32_t i = 0; i < p->normal_pages; i++) {
        pages[i] = b->host + p->offset[i];
        iov[i] = (struct iovec){ pages[i], VS_RAM_PAGE_SIZE };
    }
    if (!c->inflater) {
        res = mf_readv_all(c->fd, iov, (int)p->normal_pages, &got);
    } else {
        res = mf_read_all(c->fd, c->cbuf, len, &got);
    }
    if (res != MF_READ_OK) {
        return mf_recv_read_failed(c, res, got, len, "a packet's pages", errp);
    }
    return !c->inflater ||
           vs_multifd_inflate(c->inflater, c->cbuf, len, pages, p->normal_pages, errp);
}

/* After a SYNC: report it and wait for the main thread's release; false to stop. */
static bool mf_recv_wait_release(MfRecvChannel *c)
{
    VsMultifdRecv *r = c->r;
    uint64_t gen;
    bool go_on;

    g_mutex_lock(&r->lock);
    c->synced = true;
    r->synced++;
    gen = r->generation;
    g_cond_broadcast(&r->cond);
    while (r->generation == gen && !r->quit && !r->error) {
        g_cond_wait(&r->cond, &r->lock);
    }
    go_on = !r->quit && !r->error;
    g_mutex_unlock(&r->lock);
    return go_on;
}

/* One packet; false at the end (*@ret_closed) or on an error. */
static bool mf_recv_packet(MfRecvChannel *c, bool *ret_closed, GError **errp)
{
    VsMultifdRecv *r = c->r;
    VsRamBlock *b = NULL;
    size_t got = 0;
    MfReadResult res = mf_read_all(c->fd, c->hdr, sizeof(c->hdr), &got);

    if (res == MF_READ_EOF && got == 0) {
        *ret_closed = true;
        return false;
    }
    if (res != MF_READ_OK) {
        return mf_recv_read_failed(c, res, got, sizeof(c->hdr), "a packet header", errp);
    }
    if (!vs_multifd_packet_decode(c->hdr, r->ram, r->cfg.compression, c->id, &c->pkt, &b,
                                  errp)) {
        return false;
    }
    if (c->pkt.normal_pages && !mf_recv_payload(c, b, errp)) {
        return false;
    }
    __atomic_fetch_add(&r->pages, (uint64_t)c->pkt.normal_pages, __ATOMIC_RELAXED);
    return true;
}

static gpointer mf_recv_thread(gpointer opaque)
{
    MfRecvChannel *c = opaque;
    VsMultifdRecv *r = c->r;

    for (;;) {
        GError *err = NULL;
        bool closed = false;

        if (!mf_recv_packet(c, &closed, &err)) {
            g_mutex_lock(&r->lock);
            c->closed = true;
            /* Once finishing, whatever the reads say is only the shutdown. */
            if (r->quit && err) {
                g_clear_error(&err);
            }
            g_cond_broadcast(&r->cond);
            g_mutex_unlock(&r->lock);
            if (err) {
                mf_recv_fail(r, err);
            }
            break;
        }
        if ((c->pkt.flags & VS_MULTIFD_FLAG_SYNC) && !mf_recv_wait_release(c)) {
            break;
        }
    }
    return NULL;
}

bool vs_multifd_recv_sync(VsMultifdRecv *r, GError **errp)
{
    bool ok = true;

    g_mutex_lock(&r->lock);
    while (ok && r->synced < r->cfg.channels) {
        if (r->error) {
            g_propagate_error(errp, g_error_copy(r->error));
            ok = false;
            break;
        }
        for (unsigned i = 0; i < r->cfg.channels; i++) {
            if (r->chans[i].closed && !r->chans[i].synced) {
                ok = mf_fail(errp, VS_MULTIFD_ERROR_CHANNEL,
                             "multifd channel %u: the source closed the channel before its "
                             "SYNC at the end of a RAM section", i);
                break;
            }
        }
        if (ok) {
            g_cond_wait(&r->cond, &r->lock);
        }
    }
    if (ok) {
        for (unsigned i = 0; i < r->cfg.channels; i++) {
            r->chans[i].synced = false;
        }
        r->synced = 0;
        r->generation++;
        g_cond_broadcast(&r->cond);
    }
    g_mutex_unlock(&r->lock);
    return ok;
}

bool vs_multifd_recv_error(VsMultifdRecv *r, GError **errp)
{
    bool has;

    g_mutex_lock(&r->lock);
    has = r->error != NULL;
    if (has) {
        g_propagate_error(errp, g_error_copy(r->error));
    }
    g_mutex_unlock(&r->lock);
    return has;
}

uint64_t vs_multifd_recv_pages(VsMultifdRecv *r)
{
    return __atomic_load_n(&r->pages, __ATOMIC_RELAXED);
}

void vs_multifd_recv_shutdown(VsMultifdRecv *r)
{
    g_mutex_lock(&r->lock);
    for (unsigned i = 0; i < r->cfg.channels; i++) {
        if (r->chans[i].ch) {
            vs_channel_shutdown(r->chans[i].ch);
        }
    }
    if (r->main && r->error) {
        vs_channel_shutdown(r->main);
    }
    if (r->extra) {
        vs_channel_shutdown(r->extra);
    }
    g_cond_broadcast(&r->cond);
    g_mutex_unlock(&r->lock);
}

void vs_multifd_recv_finish(VsMultifdRecv *r)
{
    g_mutex_lock(&r->lock);
    r->quit = true;
    r->main = NULL;
    g_cond_broadcast(&r->cond);
    g_mutex_unlock(&r->lock);
    vs_multifd_recv_shutdown(r);
    if (r->watcher) {
        vs_channel_listener_abort(r->listener);
        g_thread_join(r->watcher);
        r->watcher = NULL;
    }
    for (unsigned i = 0; i < r->cfg.channels; i++) {
        if (r->chans[i].thread) {
            g_thread_join(r->chans[i].thread);
            r->chans[i].thread = NULL;
        }
    }
}

static int mf_recv_destructor(VsMultifdRecv *r)
{
    vs_multifd_recv_finish(r);
    g_cond_clear(&r->cond);
    g_mutex_clear(&r->lock);
    if (r->error) {
        g_error_free(r->error);
    }
    return 0;
}

VsMultifdRecv *vs_multifd_recv_new(TALLOC_CTX *mem_ctx, const VsMultifdConfig *cfg,
                                   VsRamList *ram)
{
    VsMultifdRecv *r = talloc_zero(mem_ctx, VsMultifdRecv);

    g_assert(r != NULL && cfg->channels >= 1 && cfg->channels <= VS_MULTIFD_MAX_CHANNELS);
    r->cfg = *cfg;
    r->ram = ram;
    g_mutex_init(&r->lock);
    g_cond_init(&r->cond);
    r->chans = talloc_zero_array(r, MfRecvChannel, cfg->channels);
    g_assert(r->chans != NULL);
    talloc_set_destructor(r, mf_recv_destructor);
    return r;
}

/* A multifd connection: its init packet, then its thread. */
static bool mf_recv_add_channel(VsMultifdRecv *r, VsChannel *ch, unsigned accepted,
                                GError **errp)
{
    uint8_t init[VS_MULTIFD_INIT_SIZE];
    int fd = vs_channel_fd(ch);
    GError *local = NULL;
    MfRecvChannel *c;
    size_t got = 0;
    uint8_t id = 0;

    if (mf_read_all(fd, init, sizeof(init), &got) != MF_READ_OK) {
        return mf_fail(errp, VS_MULTIFD_ERROR_CHANNEL,
                       "failed to receive packet via multifd channel %u: the init packet ended "
                       "after %zu of %u bytes", accepted, got, VS_MULTIFD_INIT_SIZE);
    }
    if (!vs_multifd_init_decode(init, &r->cfg, &id, &local)) {
        /* QEMU 7.2's prefix: the count of channels accepted so far. */
        mf_fail(errp, VS_MULTIFD_ERROR_PACKET, "failed to receive packet via multifd channel "
                "%u: %s", accepted, local->message);
        g_error_free(local);
        return false;
    }
    c = &r->chans[id];
    if (c->ch) {
        return mf_fail(errp, VS_MULTIFD_ERROR_PACKET, "multifd: received id '%u' already setup",
                       id);
    }
    c->r = r;
    c->id = id;
    c->fd = fd;
    if (r->cfg.compression != VS_MULTIFD_COMPRESSION_NONE) {
        c->inflater = vs_multifd_inflater_new(r, r->cfg.compression, id, errp);
        if (!c->inflater) {
            return false;
        }
        c->cbuf = talloc_size(r, VS_MULTIFD_MAX_PAYLOAD);
        g_assert(c->cbuf != NULL);
    }
    g_mutex_lock(&r->lock);
    c->ch = talloc_steal(r, ch);
    g_mutex_unlock(&r->lock);
    {
        g_autofree char *name = g_strdup_printf("vs-multifdrecv_%u", id);

        c->thread = g_thread_new(name, mf_recv_thread, c);
    }
    return true;
}

/* The first four bytes of a connection, left in place. */
static bool mf_peek_magic(VsChannel *ch, uint32_t *ret, GError **errp)
{
    uint8_t b[4];
    ssize_t n;

    do {
        n = recv(vs_channel_fd(ch), b, sizeof(b), MSG_PEEK | MSG_WAITALL);
    } while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(b)) {
        return mf_fail(errp, VS_MULTIFD_ERROR_CHANNEL,
                       "a connection ended before its first 4 bytes told which channel it is (%s)",
                       n < 0 ? g_strerror(errno) : "closed");
    }
    *ret = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    return true;
}

/*
 * Once every expected channel is in, a source with more channels than this
 * end would wait for ever on the ones never read: refuse them instead.
 */
static gpointer mf_recv_watch(gpointer opaque)
{
    VsMultifdRecv *r = opaque;
    TALLOC_CTX *tmp = talloc_new(NULL);
    VsChannel *ch = vs_channel_accept(r->listener, tmp, NULL);
    uint8_t init[VS_MULTIFD_INIT_SIZE];
    GError *err = NULL;
    size_t got = 0;
    uint8_t id = 0;

    /* Published so that finishing can wake the read below. */
    g_mutex_lock(&r->lock);
    r->extra = ch;
    if (ch && r->quit) {
        vs_channel_shutdown(ch);
    }
    g_mutex_unlock(&r->lock);
    if (ch && mf_read_all(vs_channel_fd(ch), init, sizeof(init), &got) == MF_READ_OK &&
        !vs_multifd_init_decode(init, &r->cfg, &id, &err)) {
        g_prefix_error(&err, "failed to receive packet via multifd channel %u: ",
                       r->cfg.channels);
    } else if (ch && !err) {
        err = g_error_new(VS_MULTIFD_ERROR, VS_MULTIFD_ERROR_CHANNEL,
                          "a connection beyond the main channel and the %u multifd channels "
                          "expected", r->cfg.channels);
    }
    g_mutex_lock(&r->lock);
    r->extra = NULL;
    g_mutex_unlock(&r->lock);
    talloc_free(tmp);
    if (err) {
        mf_recv_fail(r, err);
    }
    return NULL;
}

VsChannel *vs_multifd_recv_accept(VsMultifdRecv *r, VsChannelListener *l, TALLOC_CTX *mem_ctx,
                                  GError **errp)
{
    VsChannel *main_ch = NULL;
    unsigned accepted = 0;

    while (!main_ch || accepted < r->cfg.channels) {
        TALLOC_CTX *tmp = talloc_new(NULL);
        VsChannel *ch = vs_channel_accept(l, tmp, errp);
        uint32_t magic = 0;
        bool ok = ch && mf_peek_magic(ch, &magic, errp);

        if (ok && magic == VS_MIG_FILE_MAGIC) {
            ok = !main_ch || mf_fail(errp, VS_MULTIFD_ERROR_CHANNEL,
                                     "a second main channel (\"QEVM\") connected");
            if (ok) {
                main_ch = talloc_steal(mem_ctx, ch);
                g_mutex_lock(&r->lock);
                r->main = main_ch;
                g_mutex_unlock(&r->lock);
            }
        } else if (ok && magic == VS_MULTIFD_MAGIC) {
            ok = accepted < r->cfg.channels
                     ? mf_recv_add_channel(r, ch, accepted, errp)
                     : mf_fail(errp, VS_MULTIFD_ERROR_CHANNEL,
                               "more than the %u multifd channels expected connected",
                               r->cfg.channels);
            accepted += ok;
        } else if (ok) {
            ok = mf_fail(errp, VS_MULTIFD_ERROR_CHANNEL,
                         "a connection starts with 0x%08" PRIx32 ": neither a migration stream "
                         "(\"QEVM\") nor a multifd channel (0x%08x)", magic, VS_MULTIFD_MAGIC);
        }
        talloc_free(tmp);
        if (!ok) {
            if (main_ch) {
                g_mutex_lock(&r->lock);
                r->main = NULL;
                g_mutex_unlock(&r->lock);
                TALLOC_FREE(main_ch);
            }
            vs_multifd_recv_finish(r);
            return NULL;
        }
    }
    r->listener = l;
    r->watcher = g_thread_new("vs-multifd-watch", mf_recv_watch, r);
    return main_ch;
}
