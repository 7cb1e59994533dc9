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

/* A page record and its place in the stream, for "the last one wins". */
typedef struct InputPage {
    uint64_t offset;
    uint64_t seq;
    const VsRamRecord *rec;
} InputPage;

typedef struct InputRamBlock {
    VsInputRamBlock *out;
    GArray *pages;          /* InputPage, in stream order */
} InputRamBlock;

static gint input_page_cmp(gconstpointer a, gconstpointer b)
{
    const InputPage *x = a, *y = b;

    if (x->offset != y->offset) {
        return x->offset < y->offset ? -1 : 1;
    }
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static bool input_is_page(const VsRamRecord *r)
{
    return (r->flags & (VS_RAM_ZERO | VS_RAM_PAGE | VS_RAM_XBZRLE | VS_RAM_COMPRESS_PAGE)) != 0;
}

/* Collects the page records of @s (packages included) per block, in order. */
static void input_collect(const VsStream *s, GHashTable *by_name, uint64_t *seq)
{
    for (size_t i = 0; i < s->n_records; i++) {
        const VsRecord *r = &s->records[i];

        if (r->kind == VS_REC_COMMAND && r->command.package) {
            input_collect(r->command.package, by_name, seq);
            continue;
        }
        if (r->kind != VS_REC_SECTION) {
            continue;
        }
        for (size_t k = 0; k < r->section.n_ram; k++) {
            const VsRamRecord *rec = &r->section.ram[k];
            InputRamBlock *b;
            InputPage page;

            if (!input_is_page(rec) || !rec->block ||
                !(b = g_hash_table_lookup(by_name, rec->block))) {
                continue;
            }
            page = (InputPage){ .offset = rec->offset, .seq = (*seq)++, .rec = rec };
            g_array_append_val(b->pages, page);
            b->out->pages_sent++;
            b->out->data_pages += (rec->flags & VS_RAM_PAGE) != 0;
            b->out->zero_pages += (rec->flags & VS_RAM_ZERO) != 0;
            b->out->encoded_pages += (rec->flags & (VS_RAM_XBZRLE | VS_RAM_COMPRESS_PAGE)) != 0;
        }
    }
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

/*
 * The digest of one block from its last record per page; false when a
 * last record is XBZRLE or compressed.
 */
static bool input_digest(InputRamBlock *b, uint64_t page_size, const VsInputOptions *o)
{
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
    g_autofree char *what = g_strdup_printf("digest of %s", b->out->name);
    uint64_t pos = 0, next_report = INPUT_PROGRESS_STEP;
    const uint64_t len = b->out->length;
    GArray *pages = b->pages;

    for (guint i = 0; i < pages->len; i++) {
        const InputPage *p = &g_array_index(pages, InputPage, i);
        uint64_t n;

        if (i + 1 < pages->len && g_array_index(pages, InputPage, i + 1).offset == p->offset) {
            continue;   /* a later record replaces this one */
        }
        /* Content the page cannot be known from, or a page outside the block
         * (the legacy loader refuses those; a BER stream is checked less). */
        if ((p->rec->flags & (VS_RAM_XBZRLE | VS_RAM_COMPRESS_PAGE)) || p->offset >= len ||
            p->offset < pos) {
            return false;
        }
        input_hash_fill(sum, 0, p->offset - pos);
        n = MIN(page_size, len - p->offset);
        if (p->rec->flags & VS_RAM_PAGE) {
            g_checksum_update(sum, p->rec->data, (gssize)MIN(n, (uint64_t)p->rec->len));
        } else {
            input_hash_fill(sum, p->rec->fill, n);
        }
        pos = p->offset + n;
        if (pos >= next_report) {
            input_progress(o, what, pos, len);
            next_report = pos + INPUT_PROGRESS_STEP;
        }
    }
    input_hash_fill(sum, 0, len - pos);
    g_strlcpy(b->out->digest, g_checksum_get_string(sum), sizeof(b->out->digest));
    b->out->has_digest = true;
    return true;
}

static void input_summarise(VsInput *in, const VsInputOptions *o)
{
    const VsStream *s = in->stream;
    g_autoptr(GHashTable) by_name = g_hash_table_new(g_str_hash, g_str_equal);
    InputRamBlock *blocks;
    uint64_t seq = 0;

    in->n_ram_blocks = s->n_blocks;
    in->ram_blocks = talloc_zero_array(in, VsInputRamBlock, s->n_blocks ? s->n_blocks : 1);
    blocks = g_new0(InputRamBlock, s->n_blocks ? s->n_blocks : 1);
    g_assert(in->ram_blocks != NULL);
    for (size_t i = 0; i < s->n_blocks; i++) {
        in->ram_blocks[i].name = talloc_strdup(in->ram_blocks, s->blocks[i].name);
        in->ram_blocks[i].length = s->blocks[i].length;
        blocks[i].out = &in->ram_blocks[i];
        blocks[i].pages = g_array_new(FALSE, FALSE, sizeof(InputPage));
        /* The loader resolves names to the first of two equal ones; so here. */
        if (!g_hash_table_contains(by_name, s->blocks[i].name)) {
            g_hash_table_insert(by_name, s->blocks[i].name, &blocks[i]);
        }
    }
    input_collect(s, by_name, &seq);
    for (size_t i = 0; i < s->n_blocks; i++) {
        GArray *pages = blocks[i].pages;

        g_array_sort(pages, input_page_cmp);
        for (guint k = 0; k < pages->len; k++) {
            in->ram_blocks[i].pages_present +=
                k + 1 == pages->len ||
                g_array_index(pages, InputPage, k + 1).offset !=
                    g_array_index(pages, InputPage, k).offset;
        }
        if (o->ram == VS_INPUT_RAM_SUMMARY) {
            input_digest(&blocks[i], s->page_size ? s->page_size : 4096, o);
        }
        g_array_free(pages, TRUE);
    }
    g_free(blocks);
}

/* ---- loading -------------------------------------------------------------------- */

bool vs_input_load(VsInput *in, const VsInputOptions *opts, GError **errp)
{
    static const VsInputOptions defaults = { .ram = VS_INPUT_RAM_NONE };
    const VsInputOptions *o = opts ? opts : &defaults;
    VsLoadOptions load = o->load;
    bool ok;

    talloc_free(in->stream);
    in->stream = NULL;
    TALLOC_FREE(in->ram_blocks);
    in->n_ram_blocks = 0;
    load.max_input = 0;
    in->load = load;
    if (in->format == VS_INPUT_BER) {
        ok = vs_stream_load_ber(in, in->data, in->len, &in->stream, errp);
    } else {
        ok = vs_stream_load(in, in->data, in->len, &load, &in->stream, errp);
    }
    if (in->stream) {
        input_summarise(in, o);
    }
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
