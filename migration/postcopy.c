/*
 * postcopy.c: postcopy's common parts and its source side: the return
 * path thread, the switch (discard, package), the postcopy rounds with
 * requested pages first, pause and resume (see postcopy.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include "migration/postcopy-internal.h"
#include "migration/stream.h"
#include "migration/trace-migration.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/un.h>

/* A postcopy PART(ram) section ends after this long (QEMU's 50 ms rounds). */
#define PC_ROUND_US (50 * 1000)
/* Waits are sliced so that a cancel is seen quickly. */
#define PC_WAIT_SLICE_US (100 * 1000)
/* How long a resume handshake (bitmaps, ack) or the final SHUT may take. */
#define PC_HANDSHAKE_US (30ll * 1000 * 1000)
/* Package bytes a destination accepts (QEMU allows up to 4 GiB). */
#define PC_MAX_PACKAGE (256u << 20)

bool pc_error(GError **errp, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_propagate_error(errp, g_error_new_valist(VS_MIGRATE_ERROR, VS_MIGRATE_ERROR_STREAM, fmt,
                                               ap));
    va_end(ap);
    return false;
}

void pc_put_command(VsQemuFile *f, uint16_t cmd, uint16_t len, const uint8_t *payload)
{
    vs_qemufile_put_byte(f, VS_MIG_COMMAND);
    vs_qemufile_put_be16(f, cmd);
    vs_qemufile_put_be16(f, len);
    if (len) {
        vs_qemufile_put_buffer(f, payload, len);
    }
}

static void pc_put_ping(VsQemuFile *f, uint32_t value)
{
    uint8_t be[4] = { (uint8_t)(value >> 24), (uint8_t)(value >> 16), (uint8_t)(value >> 8),
                      (uint8_t)value };

    pc_put_command(f, PC_CMD_PING, 4, be);
}

size_t pc_block_index(VsPostcopy *pc, const VsRamBlock *b)
{
    for (size_t i = 0; i < vs_ram_list_count(pc->ram); i++) {
        if (vs_ram_list_get(pc->ram, i) == b) {
            return i;
        }
    }
    return SIZE_MAX;
}

/* ---- the object ------------------------------------------------------------------------ */

static void pc_rp_join(VsPostcopy *pc);

static int pc_destructor(VsPostcopy *pc)
{
    vs_postcopy_shutdown(pc);
    pc_rp_join(pc);
    pc_in_cleanup(pc);
    g_free(pc->rp_error);
    g_free(pc->resume_uri);
    g_free(pc->recover_uri);
    g_mutex_clear(&pc->lock);
    g_mutex_clear(&pc->place_lock);
    g_cond_clear(&pc->cond);
    return 0;
}

VsPostcopy *vs_postcopy_new(TALLOC_CTX *mem_ctx, VsRamList *ram, VsDirtyTracker *tracker,
                            VsMigState *out_state, const gint *cancel)
{
    VsPostcopy *pc = talloc_zero(mem_ctx, VsPostcopy);

    g_assert(pc != NULL);
    pc->ram = ram;
    pc->tracker = tracker;
    pc->out_st = out_state;
    pc->cancel = cancel;
    pc->rp_fd = -1;
    pc->uffd = -1;
    pc->wake_fd = -1;
    pc->main_fd = -1;
    pc->queue = talloc_array(pc, PcRequest, PC_QUEUE_MAX);
    pc->rp = vs_rp_writer_new(pc);
    g_assert(pc->queue != NULL);
    g_mutex_init(&pc->lock);
    g_mutex_init(&pc->place_lock);
    g_cond_init(&pc->cond);
    talloc_set_destructor(pc, pc_destructor);
    return pc;
}

void vs_postcopy_shutdown(VsPostcopy *pc)
{
    g_mutex_lock(&pc->lock);
    g_atomic_int_set(&pc->shutdown, 1);
    if (pc->listener) {
        vs_channel_listener_abort(pc->listener);
    }
    if (pc->in_ch) {
        vs_channel_shutdown(pc->in_ch);
    }
    if (pc->pre_in_ch) {
        vs_channel_shutdown(pc->pre_in_ch);
    }
    if (pc->pre_out_ch) {
        vs_channel_shutdown(pc->pre_out_ch);
    }
    g_cond_broadcast(&pc->cond);
    g_mutex_unlock(&pc->lock);
}

void vs_postcopy_stats(VsPostcopy *pc, VsPostcopyStats *ret)
{
    g_mutex_lock(&pc->lock);
    *ret = pc->stats;
    g_mutex_unlock(&pc->lock);
}

const char *vs_postcopy_mode(VsPostcopy *pc, const char **ret_note)
{
    const char *mode;

    g_mutex_lock(&pc->lock);
    mode = pc->mode;
    if (ret_note) {
        *ret_note = pc->mode_note;
    }
    g_mutex_unlock(&pc->lock);
    return mode;
}

size_t vs_postcopy_request_latencies(VsPostcopy *pc, uint32_t *ret_us, size_t max)
{
    size_t n;

    g_mutex_lock(&pc->lock);
    n = MIN(max, pc->n_latencies);
    if (n) {
        memcpy(ret_us, pc->latencies, n * sizeof(uint32_t));
    }
    g_mutex_unlock(&pc->lock);
    return n;
}

bool vs_postcopy_check_params(const VsMigParams *p, GError **errp)
{
    /* QEMU 7.2's words for the combinations it refuses too. */
    if (p->postcopy_ram && p->background_snapshot) {
        return pc_error(errp, "Background-snapshot is not compatible with postcopy-ram");
    }
    if (p->postcopy_blocktime && p->background_snapshot) {
        return pc_error(errp, "Background-snapshot is not compatible with postcopy-blocktime");
    }
    if (p->postcopy_preempt && !p->postcopy_ram) {
        return pc_error(errp, "Postcopy preempt requires postcopy-ram");
    }
    /*
     * vstate's own refusals: QEMU 7.2 accepts these, but here they would
     * not work.  Multifd's receive threads write pages without userfaultfd
     * (and its channels cannot be told from the preempt channel, as in
     * 7.2); the BER live stream has no postcopy commands.
     */
    if (p->postcopy_ram && p->multifd) {
        return pc_error(errp, "Postcopy is not supported together with multifd in vstate: "
                        "turn one of postcopy-ram and multifd off");
    }
    if (p->postcopy_ram && p->ber_stream) {
        return pc_error(errp, "Postcopy is not compatible with x-vstate-ber: the BER live "
                        "stream has no postcopy commands");
    }
    return true;
}

void vs_postcopy_set_params(VsPostcopy *pc, const VsMigParams *p)
{
    __atomic_store_n(&pc->bw, p->max_postcopy_bandwidth, __ATOMIC_RELAXED);
}

/* True once a cancel was asked for or the migration goes away. */
static bool pc_out_stopping(VsPostcopy *pc)
{
    return g_atomic_int_get(pc->cancel) || g_atomic_int_get(&pc->shutdown);
}

/* ---- source: the return path thread ----------------------------------------------------- */

/* REQ_PAGES(_ID): checked as QEMU checks it, then queued page by page. */
static bool pc_rp_queue(VsPostcopy *pc, const VsRpMsg *msg, VsRamBlock **last, GError **errp)
{
    VsRamBlock *b = *last;

    if (msg->start % VS_RAM_PAGE_SIZE || msg->len % VS_RAM_PAGE_SIZE || msg->len == 0) {
        return pc_error(errp, "migrate_handle_rp_req_pages: Misaligned page request, start: "
                        "%" PRIx64 " len: %" PRIu32, msg->start, msg->len);
    }
    if (msg->type == VS_RP_REQ_PAGES_ID) {
        b = vs_ram_list_find(pc->ram, msg->block);
        if (!b) {
            return pc_error(errp, "ram_save_queue_pages no block '%s'", msg->block);
        }
        *last = b;
    } else if (!b) {
        return pc_error(errp, "ram_save_queue_pages no previous block");
    }
    if (msg->start >= b->save.length || msg->len > b->save.length - msg->start) {
        return pc_error(errp, "ram_save_queue_pages request overrun start=%" PRIx64 " len=%"
                        PRIu32 " blocklen=%" PRIx64, msg->start, msg->len, b->save.length);
    }
    trace_migrate_handle_rp_req_pages(b->save.name, msg->start, msg->len);
    g_mutex_lock(&pc->lock);
    for (uint64_t off = 0; off < msg->len; off += VS_RAM_PAGE_SIZE) {
        /* A full queue drops the request: the background sweep still sends the page. */
        if (pc->q_len < PC_QUEUE_MAX) {
            pc->queue[(pc->q_head + pc->q_len++) % PC_QUEUE_MAX] =
                (PcRequest){ b, (msg->start + off) / VS_RAM_PAGE_SIZE };
        }
        pc->stats.requests++;
    }
    g_atomic_int_set(&pc->q_nonempty, 1);
    /* A sweep waiting for its bandwidth serves it at once. */
    g_cond_broadcast(&pc->cond);
    g_mutex_unlock(&pc->lock);
    return true;
}

static bool pc_rp_recv_bitmap(VsPostcopy *pc, int fd, const VsRpMsg *msg, GError **errp)
{
    VsRamBlock *b = vs_ram_list_find(pc->ram, msg->block);
    size_t bi = b ? pc_block_index(pc, b) : SIZE_MAX;

    if (bi == SIZE_MAX || !pc->recv_bitmaps) {
        return pc_error(errp, "migrate_handle_rp_recv_bitmap: invalid block name '%s'",
                        msg->block);
    }
    if (!vs_rp_read_bitmap(fd, b->save.name, b->npages, pc->recv_bitmaps[bi], errp)) {
        return false;
    }
    trace_migrate_handle_rp_recv_bitmap(b->save.name);
    g_mutex_lock(&pc->lock);
    pc->recv_got[bi] = true;
    g_cond_broadcast(&pc->cond);
    g_mutex_unlock(&pc->lock);
    return true;
}

static bool pc_rp_handle(VsPostcopy *pc, int fd, const VsRpMsg *msg, VsRamBlock **last,
                         GError **errp)
{
    switch (msg->type) {
    case VS_RP_PONG:
        g_mutex_lock(&pc->lock);
        pc->last_pong = msg->value;
        g_mutex_unlock(&pc->lock);
        return true;
    case VS_RP_REQ_PAGES:
    case VS_RP_REQ_PAGES_ID:
        return pc_rp_queue(pc, msg, last, errp);
    case VS_RP_RECV_BITMAP:
        return pc_rp_recv_bitmap(pc, fd, msg, errp);
    case VS_RP_RESUME_ACK:
        if (msg->value != 1) {
            return pc_error(errp, "migrate_handle_rp_resume_ack: illegal resume_ack value %"
                            PRIu32, msg->value);
        }
        g_mutex_lock(&pc->lock);
        pc->resume_acked = true;
        g_cond_broadcast(&pc->cond);
        g_mutex_unlock(&pc->lock);
        return true;
    default:
        g_assert_not_reached();
    }
}

static gpointer pc_rp_thread(gpointer opaque)
{
    VsPostcopy *pc = opaque;
    int fd = pc->rp_fd;
    VsRamBlock *last = NULL;
    GError *err = NULL;
    VsRpMsg msg;

    trace_source_return_path_thread_entry();
    while (vs_rp_read(fd, &msg, &err)) {
        if (msg.type == VS_RP_SHUT) {
            trace_source_return_path_thread_shut(msg.value);
            g_mutex_lock(&pc->lock);
            pc->got_shut = true;
            pc->shut_status = msg.value;
            break;
        }
        if (!pc_rp_handle(pc, fd, &msg, &last, &err)) {
            break;
        }
    }
    if (err) {
        g_mutex_lock(&pc->lock);
        if (g_error_matches(err, VS_CHANNEL_ERROR, VS_CHANNEL_ERROR_IO)) {
            pc->rp_io_error = true;
        } else if (!pc->rp_error) {
            pc->rp_error = g_strdup(err->message);
        }
        g_error_free(err);
    }
    pc->rp_done = true;
    if (!pc->got_shut && pc->pre_out_ch) {
        /* A write blocked on the preempt channel must end too (a cut, a cancel). */
        vs_channel_shutdown(pc->pre_out_ch);
    }
    g_cond_broadcast(&pc->cond);
    g_mutex_unlock(&pc->lock);
    if (!pc->got_shut) {
        /* The main channel's writer must notice too. */
        shutdown(fd, SHUT_RDWR);
    }
    trace_source_return_path_thread_end();
    return NULL;
}

static void pc_rp_start(VsPostcopy *pc, int fd)
{
    int one = 1;

    /* Requests and urgent pages are small: no Nagle delay (fails harmlessly on unix sockets). */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    g_mutex_lock(&pc->lock);
    pc->rp_fd = fd;
    pc->rp_done = false;
    pc->rp_io_error = false;
    pc->got_shut = false;
    pc->resume_acked = false;
    g_clear_pointer(&pc->rp_error, g_free);
    pc->rp_thread = g_thread_new("vs-return-path", pc_rp_thread, pc);
    g_mutex_unlock(&pc->lock);
}

static void pc_rp_join(VsPostcopy *pc)
{
    GThread *t;

    g_mutex_lock(&pc->lock);
    t = pc->rp_thread;
    pc->rp_thread = NULL;
    g_mutex_unlock(&pc->lock);
    if (t) {
        if (pc->rp_fd >= 0) {
            shutdown(pc->rp_fd, SHUT_RDWR);
        }
        g_thread_join(t);
    }
    pc->rp_fd = -1;
}

/* ---- source: the preempt channel ---------------------------------------------------------- */

/* The URI of the peer of socket @fd (the address the main channel connected to). */
static char *pc_peer_uri(int fd, GError **errp)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[INET6_ADDRSTRLEN];

    if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) {
        pc_error(errp, "postcopy-preempt: the main channel's peer: %s", g_strerror(errno));
        return NULL;
    }
    switch (ss.ss_family) {
    case AF_INET: {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;

        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        return g_strdup_printf("tcp:%s:%u", host, ntohs(in->sin_port));
    }
    case AF_INET6: {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;

        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        return g_strdup_printf("tcp:[%s]:%u", host, ntohs(in6->sin6_port));
    }
    case AF_UNIX:
        return g_strdup_printf("unix:%s", ((const struct sockaddr_un *)&ss)->sun_path);
    default:
        pc_error(errp, "postcopy-preempt needs a tcp: or unix: channel");
        return NULL;
    }
}

/*
 * Connects the preempt channel to @uri, or (NULL) where the main channel
 * @fd connected: right after the main channel, so that the destination
 * takes it as the second connection.
 */
static bool pc_pre_connect(VsPostcopy *pc, const char *uri, int fd, GError **errp)
{
    g_autofree char *peer = uri ? NULL : pc_peer_uri(fd, errp);
    TALLOC_CTX *ctx;
    VsChannel *ch;
    int one = 1;

    if (!uri && !peer) {
        return false;
    }
    ctx = talloc_new(pc);
    g_assert(ctx != NULL);
    ch = vs_channel_connect(ctx, uri ? uri : peer, errp);
    if (!ch) {
        g_prefix_error(errp, "postcopy-preempt channel: ");
        talloc_free(ctx);
        return false;
    }
    /* Each urgent page leaves at once. */
    (void)setsockopt(vs_channel_fd(ch), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    g_mutex_lock(&pc->lock);
    pc->pre_out_ctx = ctx;
    pc->pre_out_ch = ch;
    if (g_atomic_int_get(&pc->shutdown) || g_atomic_int_get(pc->cancel)) {
        vs_channel_shutdown(ch);
    }
    g_mutex_unlock(&pc->lock);
    return true;
}

/* Breaks and frees the preempt channel, if any. */
static void pc_pre_drop(VsPostcopy *pc)
{
    TALLOC_CTX *ctx;

    g_mutex_lock(&pc->lock);
    ctx = pc->pre_out_ctx;
    if (pc->pre_out_ch) {
        vs_channel_shutdown(pc->pre_out_ch);
    }
    pc->pre_out_ch = NULL;
    pc->pre_out_ctx = NULL;
    g_mutex_unlock(&pc->lock);
    talloc_free(ctx);
}

/* The preempt channel's file, or NULL (written by the migration thread only). */
static VsQemuFile *pc_pre_file(VsPostcopy *pc)
{
    return pc->pre_out_ch ? vs_channel_file(pc->pre_out_ch) : NULL;
}

/* ---- source: setup and the switch ------------------------------------------------------- */

bool vs_postcopy_out_begin(VsPostcopy *pc, VsMigState *st, const VsMigParams *p, int fd,
                           VsQemuFile *f, GError **errp)
{
    uint8_t advise[16];
    uint64_t v;

    pc_rp_join(pc);
    pc->out_st = st;
    g_atomic_int_set(&pc->switch_asked, 0);
    pc->out_on = p->postcopy_ram;
    pc->after_rounds = p->postcopy_after_rounds;
    if (!pc->out_on) {
        return true;
    }
    if (fd < 0) {
        pc->out_on = false;
        /* QEMU 7.2's words, and why. */
        return pc_error(errp, "Unable to open return-path for postcopy: postcopy-ram needs a "
                        "tcp: or unix: channel");
    }
    g_mutex_lock(&pc->lock);
    memset(&pc->stats, 0, sizeof(pc->stats));
    pc->q_len = 0;
    g_atomic_int_set(&pc->q_nonempty, 0);
    g_mutex_unlock(&pc->lock);
    vs_postcopy_set_params(pc, p);
    pc->out_preempt = p->postcopy_preempt;
    if (pc->out_preempt && !pc_pre_connect(pc, NULL, fd, errp)) {
        pc->out_on = false;
        return false;
    }
    pc_rp_start(pc, fd);
    pc_put_command(f, PC_CMD_OPEN_RETURN_PATH, 0, NULL);
    pc_put_ping(f, 1);
    /* The OR of the blocks' page sizes, and the target page size. */
    v = GUINT64_TO_BE((uint64_t)VS_RAM_PAGE_SIZE);
    memcpy(advise, &v, 8);
    memcpy(advise + 8, &v, 8);
    trace_qemu_savevm_send_postcopy_advise();
    pc_put_command(f, PC_CMD_POSTCOPY_ADVISE, sizeof(advise), advise);
    return true;
}

bool vs_postcopy_out_should_switch(VsPostcopy *pc, uint64_t dirty_syncs)
{
    return pc->out_on && (g_atomic_int_get(&pc->switch_asked) ||
                          (pc->after_rounds && dirty_syncs >= pc->after_rounds));
}

void vs_postcopy_out_end(VsPostcopy *pc)
{
    pc_pre_drop(pc);
    pc_rp_join(pc);
    g_mutex_lock(&pc->lock);
    pc->out_on = false;
    pc->out_paused = false;
    g_clear_pointer(&pc->resume_uri, g_free);
    g_mutex_unlock(&pc->lock);
}

bool vs_postcopy_start(VsPostcopy *pc, GError **errp)
{
    VsMigStatus s = vs_migstate_status(pc->out_st);

    if (vs_mig_status_is_idle(s)) {
        /* QEMU 7.2's words. */
        return pc_error(errp, "Postcopy must be started after migration has been started");
    }
    if (!pc->out_on) {
        return pc_error(errp, "Enable postcopy with migrate_set_capability before the start "
                        "of migration");
    }
    g_atomic_int_set(&pc->switch_asked, 1);
    return true;
}

/* One DISCARD command: up to 12 ranges of @b (byte offsets and lengths). */
static void pc_put_discard(VsQemuFile *f, const VsRamBlock *b, const uint64_t *ranges, size_t n)
{
    size_t name_len = strlen(b->save.name);
    uint8_t buf[3 + 255 + 16 * PC_DISCARD_MAX_RANGES];
    size_t at = 0;

    buf[at++] = 0;                       /* format version */
    buf[at++] = (uint8_t)name_len;
    memcpy(buf + at, b->save.name, name_len);
    at += name_len;
    buf[at++] = 0;                       /* terminator */
    for (size_t i = 0; i < n; i++) {
        uint64_t start = GUINT64_TO_BE(ranges[2 * i]), len = GUINT64_TO_BE(ranges[2 * i + 1]);

        memcpy(buf + at, &start, 8);
        memcpy(buf + at + 8, &len, 8);
        at += 16;
        trace_postcopy_discard_send_range(b->save.name, ranges[2 * i], ranges[2 * i + 1]);
    }
    pc_put_command(f, PC_CMD_POSTCOPY_RAM_DISCARD, (uint16_t)at, buf);
}

/* Every page still to send, as runs per block, so the destination drops what it holds of them. */
static void pc_send_discards(VsPostcopy *pc, VsQemuFile *f)
{
    for (size_t i = 0; i < vs_ram_list_count(pc->ram); i++) {
        const VsRamBlock *b = vs_ram_list_get(pc->ram, i);
        uint64_t ranges[2 * PC_DISCARD_MAX_RANGES];
        size_t n = 0;
        uint64_t p = 0;

        while (p < b->npages) {
            uint64_t first;

            if (!((b->to_send[p / VS_BITS_PER_LONG] >> (p % VS_BITS_PER_LONG)) & 1)) {
                p++;
                continue;
            }
            first = p;
            while (p < b->npages && ((b->to_send[p / VS_BITS_PER_LONG] >>
                                      (p % VS_BITS_PER_LONG)) & 1)) {
                p++;
            }
            ranges[2 * n] = first * VS_RAM_PAGE_SIZE;
            ranges[2 * n + 1] = (p - first) * VS_RAM_PAGE_SIZE;
            if (++n == PC_DISCARD_MAX_RANGES) {
                pc_put_discard(f, b, ranges, n);
                n = 0;
            }
        }
        if (n) {
            pc_put_discard(f, b, ranges, n);
        }
    }
}

/*
 * The FULL sections of @devices (vs_savevm_write_devices()'s output): all
 * before EOF and the trailer.  The trailer is 00 06 be32(len) JSON; JSON
 * text has no 00 byte, so the last place that fits is the one.
 */
static bool pc_device_sections_len(const uint8_t *d, size_t len, size_t *ret, GError **errp)
{
    for (size_t p = len >= 6 ? len - 6 : 0; len >= 6; p--) {
        if (d[p] == VS_MIG_EOF && d[p + 1] == VS_MIG_VMDESCRIPTION &&
            ((uint64_t)d[p + 2] << 24 | (uint64_t)d[p + 3] << 16 | (uint64_t)d[p + 4] << 8 |
             d[p + 5]) == len - p - 6) {
            *ret = p;
            return true;
        }
        if (p == 0) {
            break;
        }
    }
    return pc_error(errp, "postcopy: the device sections have no EOF and trailer");
}

/* PACKAGED(LISTEN, the FULL device sections, PING 3, RUN). */
static bool pc_send_package(VsPostcopy *pc, VsPostcopyOut *o, VsQemuFile *f, GError **errp)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    VsQemuFile *pkg = vs_qemufile_new_memory_writer(tmp);
    const uint8_t *data;
    size_t sections = 0, len = 0;
    uint8_t be[4];

    g_assert(tmp != NULL);
    if (!pc_device_sections_len(o->devices, o->devices_len, &sections, errp)) {
        talloc_free(tmp);
        return false;
    }
    (void)pc;
    pc_put_command(pkg, PC_CMD_POSTCOPY_LISTEN, 0, NULL);
    vs_qemufile_put_buffer(pkg, o->devices, sections);
    pc_put_ping(pkg, 3);
    pc_put_command(pkg, PC_CMD_POSTCOPY_RUN, 0, NULL);
    data = vs_qemufile_memory_data(pkg, &len);
    trace_qemu_savevm_send_packaged();
    be[0] = (uint8_t)(len >> 24);
    be[1] = (uint8_t)(len >> 16);
    be[2] = (uint8_t)(len >> 8);
    be[3] = (uint8_t)len;
    pc_put_command(f, PC_CMD_PACKAGED, 4, be);
    vs_qemufile_put_buffer(f, data, len);
    talloc_free(tmp);
    return true;
}

/* ---- source: the postcopy rounds ------------------------------------------------------------ */

static bool pc_pop_request(VsPostcopy *pc, PcRequest *ret)
{
    bool got = false;

    if (!g_atomic_int_get(&pc->q_nonempty)) {
        return false;
    }
    g_mutex_lock(&pc->lock);
    if (pc->q_len) {
        *ret = pc->queue[pc->q_head];
        pc->q_head = (pc->q_head + 1) % PC_QUEUE_MAX;
        pc->q_len--;
        got = true;
    }
    g_atomic_int_set(&pc->q_nonempty, pc->q_len > 0);
    g_mutex_unlock(&pc->lock);
    return got;
}

/*
 * max-postcopy-bandwidth: whether the background sweep must wait; if so
 * waits until it may go on, a request comes, or @round_end.
 */
static bool pc_pace_hold(VsPostcopy *pc, int64_t round_end)
{
    uint64_t bw = __atomic_load_n(&pc->bw, __ATOMIC_RELAXED);
    int64_t now = g_get_monotonic_time(), due;

    if (bw != pc->pace_bw) {
        pc->pace_bw = bw;
        pc->pace_start_us = now;
        pc->pace_bytes = 0;
    }
    if (!bw) {
        return false;
    }
    due = pc->pace_start_us + (int64_t)((double)pc->pace_bytes * 1e6 / (double)bw);
    if (now >= due) {
        return false;
    }
    g_mutex_lock(&pc->lock);
    if (!pc->q_len && !pc_out_stopping(pc)) {
        g_cond_wait_until(&pc->cond, &pc->lock, MIN(due, round_end));
    }
    g_mutex_unlock(&pc->lock);
    return true;
}

/*
 * A requested page, flushed at once: on the preempt channel if there is
 * one (the saver's block-name state is per channel, so the next record on
 * either names its block), else in the main channel's section.
 */
static void pc_out_requested(VsPostcopy *pc, VsPostcopyOut *o, VsQemuFile *f,
                             const PcRequest *r)
{
    VsQemuFile *pf = pc_pre_file(pc);

    if (pf) {
        vs_ram_sender_forget_block(o->rs);
    }
    if (vs_ram_sender_send_requested(o->rs, pf ? pf : f, r->block, r->page)) {
        trace_get_queued_page(r->block->save.name, r->page * VS_RAM_PAGE_SIZE, r->page);
        (void)vs_qemufile_flush(pf ? pf : f, NULL);
        if (pf) {
            g_mutex_lock(&pc->lock);
            pc->stats.preempt_pages++;
            g_mutex_unlock(&pc->lock);
        }
    }
    if (pf) {
        vs_ram_sender_forget_block(o->rs);
    }
}

static bool pc_pre_failed(VsPostcopy *pc)
{
    VsQemuFile *pf = pc_pre_file(pc);

    return pf && vs_qemufile_failed(pf);
}

/*
 * One PART(ram) section: requested pages first, each flushed at once so
 * it leaves before the background stream's next pages, then the
 * background sweep (which goes on after the last requested page), paced
 * by max-postcopy-bandwidth.  Returns: true when nothing is left to send.
 */
static bool pc_out_section(VsPostcopy *pc, VsPostcopyOut *o, VsQemuFile *f)
{
    int64_t start = g_get_monotonic_time(), round_end = start + PC_ROUND_US;
    uint64_t n = 0;
    bool empty = false;

    vs_savevm_put_section_header(f, VS_MIG_SECTION_PART, o->ram_section_id, NULL, 0, 0);
    while (!vs_qemufile_failed(f) && !pc_pre_failed(pc) && !pc_out_stopping(pc)) {
        PcRequest r;
        uint64_t before;

        if (pc_pop_request(pc, &r)) {
            pc_out_requested(pc, o, f, &r);
            continue;
        }
        if (pc_pace_hold(pc, round_end)) {
            if (g_get_monotonic_time() >= round_end) {
                break;
            }
            continue;
        }
        before = vs_qemufile_pos(f);
        if (!vs_ram_sender_send_next(o->rs, f)) {
            empty = true;
            break;
        }
        pc->pace_bytes += vs_qemufile_pos(f) - before;
        if (++n % 64 == 0 && g_get_monotonic_time() > round_end) {
            break;
        }
    }
    vs_ram_sender_put_eos(o->rs, f);
    vs_savevm_put_footer(f, o->ram_section_id);
    (void)vs_qemufile_flush(f, NULL);
    return empty && !g_atomic_int_get(&pc->q_nonempty);
}

/* query-migrate's figures during postcopy: the precopy ones plus what followed. */
static void pc_out_publish(VsPostcopy *pc, VsPostcopyOut *o, uint64_t transferred,
                           uint64_t postcopy_bytes)
{
    VsRamSendStats st;
    VsMigInfo info;
    VsMigRamInfo ri;

    vs_migstate_query(pc->out_st, &info);
    vs_ram_sender_stats(o->rs, &st);
    ri = info.ram;
    ri.transferred = transferred;
    ri.remaining = vs_ram_sender_pending(o->rs);
    ri.duplicate = st.zero_pages;
    ri.normal = st.normal_pages;
    ri.normal_bytes = st.normal_pages * VS_RAM_PAGE_SIZE;
    ri.postcopy_bytes = postcopy_bytes;
    g_mutex_lock(&pc->lock);
    ri.postcopy_requests = pc->stats.requests;
    g_mutex_unlock(&pc->lock);
    vs_migstate_set_ram(pc->out_st, &ri, 0);
}

/* Whether the connection is gone (the file failed, or the return path broke). */
static bool pc_out_broken(VsPostcopy *pc, VsQemuFile *f, GError **errp)
{
    bool broken;

    g_mutex_lock(&pc->lock);
    if (pc->rp_error) {
        pc_error(errp, "%s", pc->rp_error);
        g_mutex_unlock(&pc->lock);
        return true;
    }
    broken = pc->rp_io_error || (pc->rp_done && !pc->got_shut);
    g_mutex_unlock(&pc->lock);
    return broken || vs_qemufile_failed(f) || pc_pre_failed(pc);
}

/* Waits until @cond_fn holds, the return path ends, a cancel, or @timeout_us. */
static bool pc_out_wait(VsPostcopy *pc, bool (*cond_fn)(VsPostcopy *pc), int64_t timeout_us)
{
    int64_t until = g_get_monotonic_time() + timeout_us;
    bool ok;

    g_mutex_lock(&pc->lock);
    while (!(ok = cond_fn(pc)) && !pc->rp_done && !pc_out_stopping(pc) &&
           g_get_monotonic_time() < until) {
        g_cond_wait_until(&pc->cond, &pc->lock, g_get_monotonic_time() + PC_WAIT_SLICE_US);
    }
    g_mutex_unlock(&pc->lock);
    return ok;
}

static bool pc_all_bitmaps(VsPostcopy *pc)
{
    for (size_t i = 0; i < vs_ram_list_count(pc->ram); i++) {
        if (!pc->recv_got[i]) {
            return false;
        }
    }
    return true;
}

static bool pc_acked(VsPostcopy *pc)
{
    return pc->resume_acked;
}

static bool pc_shut(VsPostcopy *pc)
{
    return pc->got_shut;
}

/* The connection state the resume handshake runs over. */
typedef struct PcConn {
    TALLOC_CTX *ctx;             /* channels made by resumes */
    VsChannel *ch;
    VsQemuFile *f;
    uint64_t done_bytes;         /* bytes of the channels before this one */
} PcConn;

/* RECV_BITMAP per block, the bitmaps, every page not received to send again, RESUME. */
static bool pc_out_handshake(VsPostcopy *pc, VsPostcopyOut *o, PcConn *c)
{
    size_t n = vs_ram_list_count(pc->ram);

    g_mutex_lock(&pc->lock);
    pc->q_len = 0;
    g_atomic_int_set(&pc->q_nonempty, 0);
    if (!pc->recv_bitmaps) {
        pc->recv_bitmaps = talloc_zero_array(pc, unsigned long *, n + 1);
        pc->recv_got = talloc_zero_array(pc, bool, n + 1);
        g_assert(pc->recv_bitmaps && pc->recv_got);
        for (size_t i = 0; i < n; i++) {
            pc->recv_bitmaps[i] = talloc_zero_array(pc->recv_bitmaps, unsigned long,
                                                    VS_BITS_TO_LONGS(vs_ram_list_get(pc->ram,
                                                                                     i)->npages));
            g_assert(pc->recv_bitmaps[i] != NULL);
        }
    }
    memset(pc->recv_got, 0, n * sizeof(bool));
    g_mutex_unlock(&pc->lock);
    for (size_t i = 0; i < n; i++) {
        const char *name = vs_ram_list_get(pc->ram, i)->save.name;
        uint8_t buf[256];
        size_t len = strlen(name);

        buf[0] = (uint8_t)len;
        memcpy(buf + 1, name, len);
        pc_put_command(c->f, PC_CMD_RECV_BITMAP, (uint16_t)(len + 1), buf);
    }
    if (!vs_qemufile_flush(c->f, NULL) || !pc_out_wait(pc, pc_all_bitmaps, PC_HANDSHAKE_US)) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        vs_ram_sender_resend_missing(o->rs, vs_ram_list_get(pc->ram, i), pc->recv_bitmaps[i]);
    }
    trace_postcopy_pause_continued();
    pc_put_command(c->f, PC_CMD_POSTCOPY_RESUME, 0, NULL);
    return vs_qemufile_flush(c->f, NULL) && pc_out_wait(pc, pc_acked, PC_HANDSHAKE_US);
}

/* Drops the current connection: its return path thread ends. */
static void pc_out_drop(VsPostcopy *pc, VsPostcopyOut *o, PcConn *c)
{
    if (!c->f) {
        return;
    }
    c->done_bytes += vs_qemufile_pos(c->f);
    vs_channel_shutdown(c->ch);
    pc_pre_drop(pc);
    pc_rp_join(pc);
    o->publish_channel(o->opaque, NULL);
    if (c->ch != o->ch) {
        talloc_free(c->ch);
    }
    c->ch = NULL;
    c->f = NULL;
}

/* The URI vs_postcopy_resume() gives, or NULL on cancel. */
static char *pc_out_wait_resume(VsPostcopy *pc)
{
    char *uri;

    g_mutex_lock(&pc->lock);
    pc->out_paused = true;
    while (!pc->resume_uri && !pc_out_stopping(pc)) {
        g_cond_wait_until(&pc->cond, &pc->lock, g_get_monotonic_time() + PC_WAIT_SLICE_US);
    }
    uri = pc->resume_uri;
    pc->resume_uri = NULL;
    pc->out_paused = false;
    g_mutex_unlock(&pc->lock);
    return uri;
}

/*
 * The connection broke in postcopy: postcopy-paused until a resume
 * connects and its handshake succeeds (postcopy-active again, true), or a
 * cancel (false).
 */
static bool pc_out_pause(VsPostcopy *pc, VsPostcopyOut *o, PcConn *c, GError **errp)
{
    for (;;) {
        GError *local = NULL;
        char *uri;
        VsChannel *ch;
        bool ok;

        if (!vs_migstate_transition(pc->out_st, VS_MIG_STATUS_POSTCOPY_ACTIVE,
                                    VS_MIG_STATUS_POSTCOPY_PAUSED) &&
            !vs_migstate_transition(pc->out_st, VS_MIG_STATUS_POSTCOPY_RECOVER,
                                    VS_MIG_STATUS_POSTCOPY_PAUSED)) {
            return pc_error(errp, "migration was cancelled");
        }
        trace_postcopy_pause();
        pc_out_drop(pc, o, c);
        uri = pc_out_wait_resume(pc);
        if (!uri) {
            return pc_error(errp, "migration was cancelled while postcopy was paused");
        }
        vs_migstate_transition(pc->out_st, VS_MIG_STATUS_POSTCOPY_PAUSED,
                               VS_MIG_STATUS_POSTCOPY_RECOVER);
        ch = vs_channel_connect(c->ctx, uri, &local);
        /* The preempt channel again, right after the main one. */
        if (ch && pc->out_preempt && !pc_pre_connect(pc, uri, -1, &local)) {
            vs_channel_shutdown(ch);
            talloc_free(ch);
            ch = NULL;
        }
        g_free(uri);
        if (!ch) {
            trace_postcopy_resume_failed(local->message);
            g_error_free(local);
            continue;
        }
        c->ch = ch;
        c->f = vs_channel_file(ch);
        o->publish_channel(o->opaque, ch);
        pc_rp_start(pc, vs_channel_fd(ch));
        ok = pc_out_handshake(pc, o, c);
        if (ok && vs_migstate_transition(pc->out_st, VS_MIG_STATUS_POSTCOPY_RECOVER,
                                         VS_MIG_STATUS_POSTCOPY_ACTIVE)) {
            g_mutex_lock(&pc->lock);
            pc->stats.recoveries++;
            g_mutex_unlock(&pc->lock);
            return true;
        }
        if (pc_out_stopping(pc)) {
            return pc_error(errp, "migration was cancelled");
        }
    }
}

/* END(ram), EOF (no trailer in postcopy), then the destination's SHUT. */
static bool pc_out_finish(VsPostcopy *pc, VsPostcopyOut *o, PcConn *c)
{
    vs_savevm_put_section_header(c->f, VS_MIG_SECTION_END, o->ram_section_id, NULL, 0, 0);
    vs_ram_sender_put_eos(o->rs, c->f);
    vs_savevm_put_footer(c->f, o->ram_section_id);
    vs_qemufile_put_byte(c->f, VS_MIG_EOF);
    if (!vs_qemufile_flush(c->f, NULL)) {
        return false;
    }
    if (pc_pre_file(pc)) {
        /* As QEMU 7.2: the preempt channel ends with an EOS after the main channel's EOF. */
        vs_qemufile_put_be64(pc_pre_file(pc), VS_RAM_EOS);
        if (!vs_qemufile_flush(pc_pre_file(pc), NULL)) {
            return false;
        }
    }
    return pc_out_wait(pc, pc_shut, PC_HANDSHAKE_US);
}

/* The switch: a last sync, DISCARD, PING 2, the package, PING 4. */
static bool pc_out_switch(VsPostcopy *pc, VsPostcopyOut *o, GError **errp)
{
    if (!vs_migstate_transition(pc->out_st, VS_MIG_STATUS_ACTIVE,
                                VS_MIG_STATUS_POSTCOPY_ACTIVE)) {
        return pc_error(errp, "migration was cancelled");
    }
    trace_postcopy_start();
    /* max-postcopy-bandwidth counts from the switch. */
    pc->pace_bw = 0;
    pc->pace_bytes = 0;
    /* The guest is stopped: after this sync nothing changes any more. */
    if (!vs_ram_sender_sync(o->rs, errp)) {
        return false;
    }
    vs_ram_sender_abort(o->rs);
    vs_ram_sender_restart_sweep(o->rs);
    pc_send_discards(pc, o->f);
    pc_put_ping(o->f, 2);
    if (!pc_send_package(pc, o, o->f, errp)) {
        return false;
    }
    pc_put_ping(o->f, 4);
    if (!vs_qemufile_flush(o->f, errp)) {
        return false;
    }
    /* From here the destination may run the guest: the source must never run it again. */
    *o->guest_stopped = false;
    vs_migstate_set_downtime(pc->out_st, (g_get_monotonic_time() - o->stop_us) / 1000);
    trace_postcopy_start_set_run();
    return true;
}

bool vs_postcopy_out_run(VsPostcopy *pc, VsPostcopyOut *o, GError **errp)
{
    PcConn c = { .ctx = talloc_new(NULL), .ch = o->ch, .f = o->f };
    GError *bad = NULL;
    uint64_t switch_pos;
    bool done = false, ok = false;

    g_assert(c.ctx != NULL);
    if (!pc_out_switch(pc, o, errp)) {
        goto out;
    }
    switch_pos = vs_qemufile_pos(o->f);
    while (!done) {
        if (pc_out_stopping(pc)) {
            pc_error(errp, "migration was cancelled");
            goto out;
        }
        if (pc_out_broken(pc, c.f, &bad)) {
            if (bad) {
                g_propagate_error(errp, bad);
                goto out;
            }
            if (!pc_out_pause(pc, o, &c, errp)) {
                goto out;
            }
            continue;
        }
        if (pc_out_section(pc, o, c.f) && !vs_qemufile_failed(c.f)) {
            done = pc_out_finish(pc, o, &c);
        }
        pc_out_publish(pc, o, c.done_bytes + vs_qemufile_pos(c.f),
                       c.done_bytes + vs_qemufile_pos(c.f) - switch_pos);
    }
    g_mutex_lock(&pc->lock);
    if (pc->shut_status != 0) {
        pc_error(errp, "RP: Sibling indicated error %" PRIu32, pc->shut_status);
        g_mutex_unlock(&pc->lock);
        goto out;
    }
    g_mutex_unlock(&pc->lock);
    pc_rp_join(pc);
    o->publish_channel(o->opaque, NULL);
    ok = vs_channel_close(c.ch, errp);
    if (ok) {
        ok = vs_migstate_transition(pc->out_st, VS_MIG_STATUS_POSTCOPY_ACTIVE,
                                    VS_MIG_STATUS_COMPLETED) ||
             pc_error(errp, "migration was cancelled");
    }
out:
    if (!ok && c.ch) {
        vs_channel_shutdown(c.ch);
        pc_rp_join(pc);
        o->publish_channel(o->opaque, NULL);
    }
    talloc_free(c.ctx);
    return ok;
}

bool vs_postcopy_resume(VsPostcopy *pc, const char *uri, GError **errp)
{
    VsChannelKind kind;
    const char *rest;
    bool ok;

    if (!vs_channel_parse_uri(uri, &kind, &rest, errp)) {
        return false;
    }
    g_mutex_lock(&pc->lock);
    ok = pc->out_paused && !pc->resume_uri;
    if (ok) {
        pc->resume_uri = g_strdup(uri);
        g_cond_broadcast(&pc->cond);
    }
    g_mutex_unlock(&pc->lock);
    /* QEMU 7.2's words. */
    return ok || pc_error(errp, "Cannot resume if there is no paused migration");
}
