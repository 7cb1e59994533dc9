/*
 * stream-input.c: opening, form detection, loading and RAM summaries for
 * the streams tools are given (stream-input.h).
 *
 * SPDX-License-Identifier: MIT
 *
 * Inputs are mapped, never read into the heap, so that the page payloads
 * the loaders point at cost page cache rather than heap; pipes are spooled
 * to an unlinked temporary file first, because the legacy loader needs the
 * whole stream at once (the description trailer at its end decodes the
 * device sections at its beginning).
 */
#include "migration/stream-input.h"

#include "migration/ber-stream.h"
#include "migration/stream-internal.h"
#include "visitor/pretty/pretty.h"
#include "visitor/pretty/tee-visitor.h"
#include "visitor/qemufile/legacy-visitor.h"
#include "visitor/registry.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Chunk in which a pipe is copied to the spool file. */
#define INPUT_SPOOL_CHUNK ((size_t)1 << 20)
/* Units of work between two progress reports. */
#define INPUT_PROGRESS_STEP ((uint64_t)64 << 20)
/* Zero bytes fed to the digest at once for pages never sent. */
#define INPUT_ZERO_CHUNK 65536

/* The BER stream's header element: [16], constructed, context class. */
#define INPUT_BER_HEADER_TAG 0xb0

const char *vs_input_format_name(VsInputFormat format)
{
    return format == VS_INPUT_BER ? "ber" : "legacy";
}

static bool input_fail(GError **errp, VsMigError code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static bool input_fail(GError **errp, VsMigError code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_propagate_error(errp, g_error_new_valist(VS_MIG_ERROR, code, fmt, ap));
    va_end(ap);
    return false;
}

static void input_progress(const VsInputOptions *o, const char *what, uint64_t done,
                           uint64_t total)
{
    if (o && o->progress) {
        o->progress(o->progress_opaque, what, done, total);
    }
}

/* ---- mapping ------------------------------------------------------------- */

static int input_unmap(VsInput *in)
{
    if (in->map) {
        munmap(in->map, in->map_len);
        in->map = NULL;
    }
    return 0;
}

/* Copies a pipe to an unlinked temporary file; returns its descriptor or -1. */
static int input_spool(int fd, const char *name, const VsInputOptions *o, GError **errp)
{
    g_autofree char *what = g_strdup_printf("reading %s", name);
    uint64_t done = 0, next_report = INPUT_PROGRESS_STEP;
    g_autofree char *tmp_path = NULL;
    g_autofree uint8_t *buf = g_malloc(INPUT_SPOOL_CHUNK);
    GError *local = NULL;
    int out = g_file_open_tmp("vstate-input-XXXXXX", &tmp_path, &local);

    if (out < 0) {
        input_fail(errp, VS_MIG_ERROR_IO, "%s: cannot spool to a temporary file: %s", name,
                   local->message);
        g_error_free(local);
        return -1;
    }
    unlink(tmp_path);
    for (;;) {
        ssize_t n = read(fd, buf, INPUT_SPOOL_CHUNK);
        size_t put = 0;

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            input_fail(errp, VS_MIG_ERROR_IO, "%s: read failed: %s", name, g_strerror(errno));
            close(out);
            return -1;
        }
        if (n == 0) {
            return out;
        }
        while (put < (size_t)n) {
            ssize_t w = write(out, buf + put, (size_t)n - put);

            if (w < 0 && errno == EINTR) {
                continue;
            }
            if (w < 0) {
                input_fail(errp, VS_MIG_ERROR_IO, "%s: cannot spool to a temporary file: %s",
                           name, g_strerror(errno));
                close(out);
                return -1;
            }
            put += (size_t)w;
        }
        done += (uint64_t)n;
        if (done >= next_report) {
            input_progress(o, what, done, 0);
            next_report = done + INPUT_PROGRESS_STEP;
        }
    }
}

/* Maps all of the regular file @fd into @in. */
static bool input_map(VsInput *in, int fd, GError **errp)
{
    struct stat st;

    if (fstat(fd, &st) != 0) {
        return input_fail(errp, VS_MIG_ERROR_IO, "%s: %s", in->name, g_strerror(errno));
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        return input_fail(errp, VS_MIG_ERROR_LIMIT, "%s: too large to map", in->name);
    }
    in->len = (size_t)st.st_size;
    if (in->len == 0) {
        in->data = (const uint8_t *)"";
        return true;
    }
    in->map = mmap(NULL, in->len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (in->map == MAP_FAILED) {
        in->map = NULL;
        return input_fail(errp, VS_MIG_ERROR_IO, "%s: cannot map: %s", in->name,
                          g_strerror(errno));
    }
    in->map_len = in->len;
    /* Loads read the stream front to back, apart from the trailer. */
    madvise(in->map, in->map_len, MADV_SEQUENTIAL);
    in->data = in->map;
    return true;
}

/* ---- form detection -------------------------------------------------------- */

/* One BER TLV header at *@pos: tag byte and definite length. */
static bool input_ber_tlv(const uint8_t *p, size_t len, size_t *pos, uint8_t *ret_tag,
                          size_t *ret_len)
{
    size_t n = 0;
    uint8_t first;

    if (*pos + 2 > len) {
        return false;
    }
    *ret_tag = p[(*pos)++];
    first = p[(*pos)++];
    if (first < 0x80) {
        n = first;
    } else {
        unsigned k = first & 0x7f;

        if (k == 0 || k > sizeof(size_t) || *pos + k > len) {
            return false;
        }
        for (unsigned i = 0; i < k; i++) {
            n = n << 8 | p[(*pos)++];
        }
    }
    if (n > len - *pos) {
        return false;
    }
    *ret_len = n;
    return true;
}

/*
 * The writer identity from a BER stream's header: [16] { SEQUENCE {
 * "vstate" UTF8String, writer VisibleString, ... } }, as "vstate 0.1.0".
 * NULL when the header does not have that shape (the loader then says why).
 */
static char *input_ber_writer(TALLOC_CTX *ctx, const uint8_t *p, size_t len)
{
    size_t pos = 2, n, program, program_len;
    uint8_t tag;

    if (!input_ber_tlv(p, len, &pos, &tag, &n) || tag != INPUT_BER_HEADER_TAG ||
        !input_ber_tlv(p, len, &pos, &tag, &n) || tag != 0x30 ||
        !input_ber_tlv(p, len, &pos, &tag, &n) || tag != 0x0c) {
        return NULL;
    }
    program = pos;
    program_len = n;
    pos += n;
    if (!input_ber_tlv(p, len, &pos, &tag, &n) || tag != 0x1a) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (p[pos + i] < 0x20 || p[pos + i] > 0x7e) {
            return NULL;
        }
    }
    for (size_t i = 0; i < program_len; i++) {
        if (p[program + i] < 0x20 || p[program + i] > 0x7e) {
            return NULL;
        }
    }
    /* "vstate" and its version, as `vstate --version` says it. */
    return talloc_asprintf(ctx, "%.*s %.*s", (int)program_len, (const char *)p + program,
                           (int)n, (const char *)p + pos);
}

static bool input_detect(VsInput *in, GError **errp)
{
    const uint8_t *p = in->data;
    g_autoptr(GString) found = g_string_new(NULL);

    if (in->len >= 4 && p[0] == 'Q' && p[1] == 'E' && p[2] == 'V' && p[3] == 'M') {
        in->format = VS_INPUT_LEGACY;
        return true;
    }
    if (in->len >= 2 && p[0] == 0x30 && p[1] == 0x80) {
        in->format = VS_INPUT_BER;
        in->writer = input_ber_writer(in, p, in->len);
        return true;
    }
    if (in->len == 0) {
        return input_fail(errp, VS_MIG_ERROR_FORMAT,
                          "%s: empty input, not a migration stream", in->name);
    }
    for (size_t i = 0; i < in->len && i < 8; i++) {
        g_string_append_printf(found, "%s%02x", i ? " " : "", p[i]);
    }
    return input_fail(errp, VS_MIG_ERROR_FORMAT,
                      "%s: not a migration stream (starts with %s; expected the legacy magic "
                      "51 45 56 4d \"QEVM\" or vstate's BER form 30 80)",
                      in->name, found->str);
}

/* ---- opening ----------------------------------------------------------------- */

static VsInput *input_new(TALLOC_CTX *mem_ctx, const char *name)
{
    VsInput *in = talloc_zero(mem_ctx, VsInput);

    g_assert(in != NULL);
    in->name = talloc_strdup(in, name);
    talloc_set_destructor(in, input_unmap);
    return in;
}

bool vs_input_open(TALLOC_CTX *mem_ctx, const char *path, VsInput **ret_input, GError **errp)
{
    return vs_input_open_opts(mem_ctx, path, NULL, ret_input, errp);
}

bool vs_input_open_opts(TALLOC_CTX *mem_ctx, const char *path, const VsInputOptions *opts,
                        VsInput **ret_input, GError **errp)
{
    bool is_stdin = strcmp(path, "-") == 0;
    VsInput *in = input_new(mem_ctx, is_stdin ? "standard input" : path);
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    bool ok;

    *ret_input = NULL;
    if (fd < 0) {
        input_fail(errp, VS_MIG_ERROR_IO, "cannot open %s: %s", path, g_strerror(errno));
        talloc_free(in);
        return false;
    }
    if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        input_fail(errp, VS_MIG_ERROR_IO, "cannot read %s: %s", in->name,
                   S_ISDIR(st.st_mode) ? "it is a directory" : g_strerror(errno));
        ok = false;
    } else if (S_ISREG(st.st_mode)) {
        ok = input_map(in, fd, errp);
    } else {
        int spool = input_spool(fd, in->name, opts, errp);

        ok = spool >= 0 && input_map(in, spool, errp);
        if (spool >= 0) {
            close(spool);
        }
    }
    if (!is_stdin) {
        close(fd);
    }
    if (!ok || !input_detect(in, errp)) {
        talloc_free(in);
        return false;
    }
    *ret_input = in;
    return true;
}

bool vs_input_open_memory(TALLOC_CTX *mem_ctx, const char *name, const uint8_t *data,
                          size_t len, VsInput **ret_input, GError **errp)
{
    VsInput *in = input_new(mem_ctx, name);

    *ret_input = NULL;
    in->data = data ? data : (const uint8_t *)"";
    in->len = len;
    if (!input_detect(in, errp)) {
        talloc_free(in);
        return false;
    }
    *ret_input = in;
    return true;
}

/* ---- RAM summaries ------------------------------------------------------------ */

/*
 * Summaries are worked out as the pages go by, so that a load need not keep
 * them: per block the counts, and while every page comes at a higher
 * offset than the one before (as a stopped guest's pages are sent), a
 * running SHA-256.  A block whose pages come out of order or again is
 * summarised afterwards in windows of INPUT_WINDOW_PAGES pages, one more
 * pass over the pages per window, each keeping the last record per page of
 * its window only.
 */
#define INPUT_WINDOW_PAGES ((uint64_t)1 << 18)

typedef struct InputBlock {
    VsInputRamBlock sum;        /* counts so far; name and length set at the end */
    GChecksum *digest;          /* the running digest, while in order */
    uint64_t next;              /* bytes of the block hashed so far */
    uint64_t next_report;
    bool any;                   /* a page was seen */
    bool out_of_order;          /* a page at or below the one before */
    uint64_t pages_end;         /* one past the highest page number sent */
    bool no_digest;             /* content that cannot be known from the stream */
} InputBlock;

typedef struct InputSummary {
    VsInput *in;
    const VsInputOptions *o;
    GHashTable *by_name;        /* name (g_strdup) -> InputBlock (g_new0) */
} InputSummary;

static void input_block_free(gpointer p)
{
    InputBlock *b = p;

    if (b->digest) {
        g_checksum_free(b->digest);
    }
    g_free(b);
}

static bool input_is_page(const VsRamRecord *r)
{
    return (r->flags & (VS_RAM_ZERO | VS_RAM_PAGE | VS_RAM_XBZRLE | VS_RAM_COMPRESS_PAGE)) != 0;
}

static void input_hash_fill(GChecksum *sum, uint8_t byte, uint64_t n)
{
    static const uint8_t zeros[INPUT_ZERO_CHUNK];
    uint8_t fill[INPUT_ZERO_CHUNK];
    const uint8_t *src = zeros;

    if (byte) {
        memset(fill, byte, sizeof(fill));
        src = fill;
    }
    while (n) {
        size_t k = n < INPUT_ZERO_CHUNK ? (size_t)n : INPUT_ZERO_CHUNK;

        g_checksum_update(sum, src, k);
        n -= k;
    }
}

/* Hashes the final content of the page at @offset (the block's bytes before it are done). */
static bool input_hash_page(GChecksum *sum, const VsRamRecord *rec, uint64_t offset,
                            uint64_t page_size, uint64_t length)
{
    uint64_t n = MIN(page_size, length - offset);

    if (rec->flags & VS_RAM_PAGE) {
        g_checksum_update(sum, rec->data, (gssize)MIN(n, (uint64_t)rec->len));
        if (rec->len < n) {
            input_hash_fill(sum, 0, n - rec->len);
        }
        return true;
    }
    if (rec->flags & VS_RAM_ZERO) {
        input_hash_fill(sum, rec->fill, n);
        return true;
    }
    return false;   /* XBZRLE or compressed: needs the page before, or zlib */
}

static InputBlock *input_block(InputSummary *su, const char *name)
{
    InputBlock *b = g_hash_table_lookup(su->by_name, name);

    if (!b) {
        b = g_new0(InputBlock, 1);
        if (su->o->ram == VS_INPUT_RAM_SUMMARY) {
            b->digest = g_checksum_new(G_CHECKSUM_SHA256);
        }
        b->next_report = INPUT_PROGRESS_STEP;
        g_hash_table_insert(su->by_name, g_strdup(name), b);
    }
    return b;
}

/* One page record, in stream order: counts, and the digest while in order. */
static void input_page(void *opaque, const VsRamPage *p)
{
    InputSummary *su = opaque;
    const VsRamRecord *rec = p->rec;
    InputBlock *b;

    if (!input_is_page(rec) || !rec->block || !p->block) {
        return;
    }
    b = input_block(su, rec->block);
    b->sum.pages_sent++;
    b->sum.data_pages += (rec->flags & VS_RAM_PAGE) != 0;
    b->sum.zero_pages += (rec->flags & VS_RAM_ZERO) != 0;
    b->sum.encoded_pages += (rec->flags & (VS_RAM_XBZRLE | VS_RAM_COMPRESS_PAGE)) != 0;
    b->pages_end = MAX(b->pages_end, rec->offset / p->page_size + 1);
    if (b->any && rec->offset < b->next) {
        b->out_of_order = true;
    }
    b->any = true;
    /* A page outside the block: the legacy loader refuses it, BER is checked less. */
    if (rec->offset >= p->block->length || p->block->length > VS_INPUT_DIGEST_MAX_BYTES) {
        b->no_digest = true;
    }
    if (b->out_of_order) {
        return;
    }
    b->next = rec->offset + p->page_size;
    if (!b->digest || b->no_digest) {
        return;
    }
    input_hash_fill(b->digest, 0, rec->offset - b->sum.length);
    b->no_digest = !input_hash_page(b->digest, rec, rec->offset, p->page_size,
                                    p->block->length);
    /* sum.length holds the bytes hashed until the end, where it gets the block's length. */
    b->sum.length = MIN(rec->offset + p->page_size, p->block->length);
    if (b->sum.length >= b->next_report) {
        g_autofree char *what = g_strdup_printf("digest of %s", rec->block);

        input_progress(su->o, what, b->sum.length, p->block->length);
        b->next_report = b->sum.length + INPUT_PROGRESS_STEP;
    }
}

/* Calls @fn for every page record @s kept (packages included), in stream order. */
static void input_replay(const VsStream *top, const VsStream *s, VsRamPageFn fn, void *opaque)
{
    for (size_t i = 0; i < s->n_records; i++) {
        const VsRecord *r = &s->records[i];

        if (r->kind == VS_REC_COMMAND && r->command.package) {
            input_replay(top, r->command.package, fn, opaque);
            continue;
        }
        if (r->kind != VS_REC_SECTION) {
            continue;
        }
        for (size_t k = 0; k < r->section.n_ram; k++) {
            const VsRamRecord *rec = &r->section.ram[k];
            VsRamPage p = { .rec = rec, .page_size = top->page_size ? top->page_size : 4096 };

            if (!input_is_page(rec) || !rec->block) {
                continue;
            }
            /* The loader resolves names to the first of two equal ones; so here. */
            for (size_t b = 0; b < top->n_blocks && !p.block; b++) {
                p.block = strcmp(top->blocks[b].name, rec->block) == 0 ? &top->blocks[b] : NULL;
            }
            fn(opaque, &p);
        }
    }
}

/* Loads @in again into a scratch stream, handing the pages to @fn. */
static void input_reload(VsInput *in, VsRamPageFn fn, void *opaque)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    VsLoadOptions load = in->load;
    VsStream *s = NULL;

    load.ram_page = fn;
    load.ram_page_opaque = opaque;
    if (in->format == VS_INPUT_BER) {
        vs_stream_load_ber_opts(tmp, in->data, in->len, &load, &s, NULL, NULL, NULL);
    } else {
        vs_stream_load(tmp, in->data, in->len, &load, &s, NULL);
    }
    talloc_free(tmp);
}

/* The last record per page of one window of one block. */
typedef struct InputSlot {
    const uint8_t *data;        /* into the input, which outlives the pass */
    uint32_t len;
    uint16_t flags;
    uint8_t fill;
    bool set;
} InputSlot;

typedef struct InputWindow {
    const char *block;
    uint64_t first;             /* page number of slots[0] */
    uint64_t n;
    InputSlot *slots;
} InputWindow;

static void input_window_page(void *opaque, const VsRamPage *p)
{
    InputWindow *w = opaque;
    const VsRamRecord *rec = p->rec;
    uint64_t page = rec->offset / p->page_size;
    InputSlot *slot;

    if (!input_is_page(rec) || !rec->block || !p->block || strcmp(rec->block, w->block) != 0 ||
        page < w->first || page - w->first >= w->n) {
        return;
    }
    slot = &w->slots[page - w->first];
    *slot = (InputSlot){ .data = rec->data, .len = (uint32_t)MIN(rec->len, UINT32_MAX),
                         .flags = (uint16_t)rec->flags, .fill = rec->fill, .set = true };
}

/* Counts and digest of a block whose pages came out of order, window by window. */
static void input_windows(VsInput *in, const VsInputOptions *o, VsInputRamBlock *out,
                          bool known, uint64_t pages_end, uint64_t page_size)
{
    g_autofree char *what = g_strdup_printf("digest of %s", out->name);
    /* Windows up to the last page sent: a block's length is the stream's word. */
    uint64_t pages = MIN(out->length / page_size + (out->length % page_size != 0), pages_end);
    InputWindow w = { .block = out->name, .n = MIN(pages, INPUT_WINDOW_PAGES) };
    GChecksum *sum = o->ram == VS_INPUT_RAM_SUMMARY ? g_checksum_new(G_CHECKSUM_SHA256) : NULL;

    w.slots = g_new(InputSlot, w.n ? w.n : 1);
    out->pages_present = 0;
    for (w.first = 0; w.first < pages; w.first += w.n) {
        memset(w.slots, 0, w.n * sizeof(InputSlot));
        if (in->stream && in->stream->n_records && !in->streamed) {
            input_replay(in->stream, in->stream, input_window_page, &w);
        } else {
            input_reload(in, input_window_page, &w);
        }
        for (uint64_t i = 0; i < w.n && w.first + i < pages; i++) {
            const InputSlot *slot = &w.slots[i];
            uint64_t offset = (w.first + i) * page_size;
            VsRamRecord rec = { .flags = slot->flags, .fill = slot->fill, .data = slot->data,
                                .len = slot->len };

            out->pages_present += slot->set;
            if (sum && known) {
                known = slot->set ? input_hash_page(sum, &rec, offset, page_size, out->length)
                                  : (input_hash_fill(sum, 0, MIN(page_size, out->length - offset)),
                                     true);
            }
        }
        input_progress(o, what, MIN((w.first + w.n) * page_size, out->length), out->length);
    }
    if (sum && known) {
        input_hash_fill(sum, 0, out->length - MIN(out->length, pages * page_size));
        g_strlcpy(out->digest, g_checksum_get_string(sum), sizeof(out->digest));
        out->has_digest = true;
    }
    if (sum) {
        g_checksum_free(sum);
    }
    g_free(w.slots);
}

/* The summaries of @in->stream's blocks from what @su gathered. */
static void input_summarise(VsInput *in, const VsInputOptions *o, InputSummary *su)
{
    const VsStream *s = in->stream;
    uint64_t page_size = s->page_size ? s->page_size : 4096;

    in->n_ram_blocks = s->n_blocks;
    in->ram_blocks = talloc_zero_array(in, VsInputRamBlock, s->n_blocks ? s->n_blocks : 1);
    g_assert(in->ram_blocks != NULL);
    for (size_t i = 0; i < s->n_blocks; i++) {
        VsInputRamBlock *out = &in->ram_blocks[i];
        InputBlock *b = g_hash_table_lookup(su->by_name, s->blocks[i].name);
        bool first = true;

        /* Two blocks of one name: the pages went to the first. */
        for (size_t k = 0; k < i && first; k++) {
            first = strcmp(s->blocks[k].name, s->blocks[i].name) != 0;
        }
        out->name = talloc_strdup(in->ram_blocks, s->blocks[i].name);
        out->length = s->blocks[i].length;
        out->digest_too_large = out->length > VS_INPUT_DIGEST_MAX_BYTES;
        if (!b || !first) {
            /* No page sent: the content is all zero bytes. */
            if (o->ram == VS_INPUT_RAM_SUMMARY && !out->digest_too_large) {
                g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);

                input_hash_fill(sum, 0, out->length);
                g_strlcpy(out->digest, g_checksum_get_string(sum), sizeof(out->digest));
                out->has_digest = true;
            }
            continue;
        }
        out->pages_sent = b->sum.pages_sent;
        out->data_pages = b->sum.data_pages;
        out->zero_pages = b->sum.zero_pages;
        out->encoded_pages = b->sum.encoded_pages;
        if (b->out_of_order) {
            input_windows(in, o, out, !b->no_digest && !out->digest_too_large, b->pages_end,
                          page_size);
            continue;
        }
        out->pages_present = b->sum.pages_sent;
        if (b->digest && !b->no_digest && b->sum.length <= out->length) {
            input_hash_fill(b->digest, 0, out->length - b->sum.length);
            g_strlcpy(out->digest, g_checksum_get_string(b->digest), sizeof(out->digest));
            out->has_digest = true;
        }
    }
}

/* ---- loading -------------------------------------------------------------------- */

/* Streaming: the summary sees each page, then the caller's own callback. */
static void input_stream_page(void *opaque, const VsRamPage *p)
{
    InputSummary *su = opaque;

    input_page(su, p);
    if (su->o->load.ram_page) {
        su->o->load.ram_page(su->o->load.ram_page_opaque, p);
    }
}

bool vs_input_load(VsInput *in, const VsInputOptions *opts, GError **errp)
{
    static const VsInputOptions defaults = { .ram = VS_INPUT_RAM_NONE };
    const VsInputOptions *o = opts ? opts : &defaults;
    VsLoadOptions load = o->load;
    InputSummary su = { .in = in, .o = o };
    bool ok;

    talloc_free(in->stream);
    in->stream = NULL;
    TALLOC_FREE(in->ram_blocks);
    TALLOC_FREE(in->ber_info);
    in->ber_failed = NULL;
    in->n_ram_blocks = 0;
    load.max_input = 0;
    in->streamed = o->stream_ram || load.ram_page;
    load.ram_page = in->streamed ? input_stream_page : NULL;
    load.ram_page_opaque = &su;
    su.by_name = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, input_block_free);
    if (in->format == VS_INPUT_BER) {
        ok = vs_stream_load_ber_opts(in, in->data, in->len, &load, &in->stream, &in->ber_info,
                                     &in->ber_failed, errp);
    } else {
        ok = vs_stream_load(in, in->data, in->len, &load, &in->stream, errp);
    }
    /* A reload for the windows uses the caller's options, not the summary's callback. */
    in->load = o->load;
    in->load.max_input = 0;
    in->load.ram_page = NULL;
    if (in->stream) {
        if (!in->streamed) {
            input_replay(in->stream, in->stream, input_page, &su);
        }
        input_summarise(in, o, &su);
    }
    g_hash_table_unref(su.by_name);
    return ok;
}

uint64_t vs_input_decoded_end(const VsInput *in)
{
    const VsRecord *last;

    if (!in->stream || in->format != VS_INPUT_LEGACY) {
        return 0;
    }
    if (!in->stream->n_records) {
        return 8;
    }
    last = &in->stream->records[in->stream->n_records - 1];
    return last->offset + last->length;
}

/* ---- the section a load failed in ------------------------------------------------ */

/* Trailer candidates tried, and how far from the end one may start. */
#define INPUT_TRAILER_TRIES 4
#define INPUT_TRAILER_WINDOW ((size_t)64 << 20)

static uint32_t input_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The description trailer still at the end of the input, parsed, or NULL. */
static VsJson *input_trailer(TALLOC_CTX *ctx, const uint8_t *data, size_t len)
{
    size_t low = len > INPUT_TRAILER_WINDOW ? len - INPUT_TRAILER_WINDOW : 9;
    unsigned tries = 0;

    for (size_t p = len >= 5 ? len - 5 : 0; p >= low && p > 8 && tries < INPUT_TRAILER_TRIES;
         p--) {
        VsJsonLimits limits = { 0 };
        VsJson *json;

        if (data[p] != VS_MIG_VMDESCRIPTION || data[p - 1] != VS_MIG_EOF ||
            input_be32(data + p + 1) != len - p - 5) {
            continue;
        }
        tries++;
        limits.max_nodes = (len - p - 5) / 6 + 1024;
        json = vs_json_parse(ctx, data + p + 5, len - p - 5, &limits, NULL);
        if (json) {
            return json;
        }
    }
    return NULL;
}

static const VsJson *input_desc_device(const VsJson *vmdesc, const char *idstr,
                                       uint32_t instance_id)
{
    const VsJson *devices = vs_json_object_get(vmdesc, "devices");

    for (size_t i = 0; i < vs_json_length(devices); i++) {
        const VsJson *d = vs_json_array_get(devices, i);
        const char *name = vs_json_get_string(vs_json_object_get(d, "name"), NULL, NULL);
        uint64_t inst;

        if (name && strcmp(name, idstr) == 0 &&
            vs_json_get_uint64(vs_json_object_get(d, "instance_id"), &inst, NULL) &&
            inst == instance_id) {
            return d;
        }
    }
    return NULL;
}

/* The header at @at into @sec; false when it is not a whole section header. */
static bool input_section_header(const VsInput *in, TALLOC_CTX *ctx, size_t at,
                                 VsSection *sec)
{
    const uint8_t *p = in->data;
    size_t len = in->len;

    memset(sec, 0, sizeof(*sec));
    if (at + 5 > len) {
        return false;
    }
    sec->type = p[at];
    sec->section_id = input_be32(p + at + 1);
    if (sec->type == VS_MIG_SECTION_START || sec->type == VS_MIG_SECTION_FULL) {
        size_t n = at + 5 < len ? p[at + 5] : 0;

        if (n == 0 || at + 6 + n + 8 > len || memchr(p + at + 6, '\0', n)) {
            return false;
        }
        sec->idstr = talloc_strndup(ctx, (const char *)p + at + 6, n);
        sec->instance_id = input_be32(p + at + 6 + n);
        sec->version_id = input_be32(p + at + 10 + n);
        sec->body_offset = at + 14 + n;
        return true;
    }
    if (sec->type != VS_MIG_SECTION_PART && sec->type != VS_MIG_SECTION_END) {
        return false;
    }
    /* PART/END: the START that introduced the id names the section. */
    for (size_t i = in->stream->n_records; i-- > 0;) {
        const VsRecord *r = &in->stream->records[i];

        if (r->kind == VS_REC_SECTION && r->section.section_id == sec->section_id &&
            (r->section.type == VS_MIG_SECTION_START || r->section.type == VS_MIG_SECTION_FULL)) {
            sec->idstr = talloc_strdup(ctx, r->section.idstr);
            sec->instance_id = r->section.instance_id;
            sec->version_id = r->section.version_id;
            sec->body_offset = at + 5;
            return true;
        }
    }
    return false;
}

/* Decodes the body as the loader does, keeping the tree of what was read. */
static void input_partial_body(const VsInput *in, TALLOC_CTX *mem_ctx, VsSection *sec,
                               const VsRegistryEntry *schema, const VsJson *desc)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    VsQemuFile *f = vs_qemufile_new_memory_reader(tmp, in->data, in->len);
    VsVisitor *load = vs_legacy_load_visitor_new(tmp, f, tmp);
    VsVisitor *builder = vs_tree_builder_new(tmp, mem_ctx);
    VsVisitor *tee = vs_tee_visitor_new(tmp, load, builder);
    uint64_t budget = (uint64_t)in->len + 65536;
    GError *ignored = NULL;

    g_assert(tmp && f && load && builder && tee);
    vs_qemufile_skip(f, sec->body_offset);
    vs_visitor_set_root_version(load, sec->version_id);
    if (schema) {
        schema->walker(tee, sec->wire_name, vs_registry_new_object(tmp, schema), &ignored);
    } else {
        vs_desc_walk(tee, f, in->len, desc, sec->wire_name, sec->version_id, &budget, &ignored);
    }
    g_clear_error(&ignored);
    sec->state = vs_tree_builder_root(builder);
    talloc_free(tmp);
}

bool vs_input_failed_section(const VsInput *in, TALLOC_CTX *mem_ctx, VsSection *ret_sec)
{
    TALLOC_CTX *tmp;
    const VsRegistryEntry *e;
    const VsJson *vmdesc, *desc;
    const char *vmsd, *slash;
    uint64_t at = vs_input_decoded_end(in);

    if (in->format == VS_INPUT_BER && in->stream && in->ber_failed) {
        *ret_sec = *in->ber_failed;
        return true;
    }
    if (in->format != VS_INPUT_LEGACY || !in->stream || !at || at >= in->len ||
        !input_section_header(in, mem_ctx, (size_t)at, ret_sec)) {
        return false;
    }
    if (strcmp(ret_sec->idstr, "ram") == 0 && ret_sec->instance_id == 0) {
        ret_sec->decoded_by = VS_DECODED_RAM;
        ret_sec->wire_name = talloc_strdup(mem_ctx, "ram");
        return true;
    }
    tmp = talloc_new(NULL);
    vmdesc = in->load.no_description ? NULL : input_trailer(tmp, in->data, in->len);
    desc = input_desc_device(vmdesc, ret_sec->idstr, ret_sec->instance_id);
    vmsd = vs_json_get_string(vs_json_object_get(desc, "vmsd_name"), NULL, NULL);
    slash = strrchr(ret_sec->idstr, '/');
    ret_sec->wire_name = talloc_strdup(mem_ctx, vmsd ? vmsd : slash ? slash + 1 : ret_sec->idstr);
    e = in->load.no_schemas ? NULL : vs_registry_lookup(ret_sec->wire_name);
    if (e && e->walker && ret_sec->version_id >= e->type->minimum_version &&
        ret_sec->version_id <= e->type->version) {
        ret_sec->decoded_by = VS_DECODED_SCHEMA;
        input_partial_body(in, mem_ctx, ret_sec, e, NULL);
    } else if (desc) {
        ret_sec->decoded_by = VS_DECODED_DESCRIPTION;
        input_partial_body(in, mem_ctx, ret_sec, NULL, desc);
    } else {
        ret_sec->decoded_by = VS_DECODED_OPAQUE;
    }
    talloc_free(tmp);
    return true;
}
