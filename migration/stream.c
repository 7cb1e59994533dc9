/*
 * stream.c: loading a QEMU 7.2 migration stream: the entry points, the
 * file header, the description trailer, and what follows the EOF item.
 *
 * SPDX-License-Identifier: MIT
 *
 * The trailer is located before anything else is decoded, because device
 * sections come first in the stream but are decoded from the description
 * at its end.  QEMU's own analyzer finds it by searching for the last NUL
 * byte; here the input is scanned backwards for `00 06 be32 len` whose
 * JSON runs exactly to the end of the input.  JSON holds no NUL byte, so
 * the real trailer is the first such candidate whose text parses; a match
 * that is a coincidence inside the length field fails to parse and the
 * scan goes on (a few candidates at most are tried).
 *
 * Errors of the whole load are in the VS_MIG_ERROR domain, including a
 * device section whose body fails to decode (VS_MIG_ERROR_DEVICE, or
 * VS_MIG_ERROR_TRUNCATED when the body runs past the end of the input):
 * the visitor's message, with its field path and offset, is kept inside
 * QEMU's "error while loading state ..." sentence.
 */
#include "migration/stream-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

G_DEFINE_QUARK(vs-mig-error-quark, vs_mig_error)

/* Candidate trailers whose JSON is parsed before giving up. */
#define STREAM_TRAILER_TRIES 4
/*
 * Description-walk elements allowed: one per input byte and a constant, so
 * that elements of size 0 (which consume no input) cannot multiply.
 */
#define STREAM_DESC_BUDGET_PER_BYTE 1
#define STREAM_DESC_BUDGET_BASE 65536
/*
 * JSON values allowed in a trailer: QEMU's take 13-15 bytes each (an
 * object per field with its name, type and size), so one per 6 bytes
 * leaves room while keeping the parsed tree within ~15 bytes per byte.
 */
#define STREAM_TRAILER_BYTES_PER_NODE 6
#define STREAM_TRAILER_MIN_NODES 1024
/* Default cap for vs_stream_load_file(). */
#define STREAM_DEFAULT_MAX_INPUT ((size_t)4 << 30)
/* Target page sizes accepted from a trailer or a configuration section. */
#define STREAM_MIN_PAGE_BITS 10
#define STREAM_MAX_PAGE_BITS 16

const char *vs_decoded_by_name(VsDecodedBy how)
{
    static const char *const names[VS_DECODED__MAX] = {
        [VS_DECODED_SCHEMA] = "schema",
        [VS_DECODED_DESCRIPTION] = "description",
        [VS_DECODED_RAM] = "ram",
        [VS_DECODED_OPAQUE] = "opaque",
    };

    g_return_val_if_fail((unsigned)how < VS_DECODED__MAX, "unknown");
    return names[how];
}

/* ---- errors and the cursor -------------------------------------------- */

bool vs_mig_fail(GError **errp, VsMigError code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_propagate_error(errp, g_error_new_valist(VS_MIG_ERROR, code, fmt, ap));
    va_end(ap);
    return false;
}

bool vs_mig_fail_short(GError **errp, const VsCursor *c, size_t want, const char *what)
{
    return vs_mig_fail(errp, VS_MIG_ERROR_TRUNCATED,
                       "%s: stream ends after %zu of %zu bytes (offset 0x%zx)", what,
                       vs_cursor_left(c), want, c->pos);
}

static uint64_t stream_be(const uint8_t *p, unsigned width)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < width; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

bool vs_cursor_u8(VsCursor *c, uint8_t *ret)
{
    if (vs_cursor_left(c) < 1) {
        return false;
    }
    *ret = c->data[c->pos++];
    return true;
}

bool vs_cursor_be16(VsCursor *c, uint16_t *ret)
{
    if (vs_cursor_left(c) < 2) {
        return false;
    }
    *ret = (uint16_t)stream_be(c->data + c->pos, 2);
    c->pos += 2;
    return true;
}

bool vs_cursor_be32(VsCursor *c, uint32_t *ret)
{
    if (vs_cursor_left(c) < 4) {
        return false;
    }
    *ret = (uint32_t)stream_be(c->data + c->pos, 4);
    c->pos += 4;
    return true;
}

bool vs_cursor_be64(VsCursor *c, uint64_t *ret)
{
    if (vs_cursor_left(c) < 8) {
        return false;
    }
    *ret = stream_be(c->data + c->pos, 8);
    c->pos += 8;
    return true;
}

bool vs_cursor_bytes(VsCursor *c, size_t len, const uint8_t **ret)
{
    if (vs_cursor_left(c) < len) {
        return false;
    }
    *ret = c->data + c->pos;
    c->pos += len;
    return true;
}

bool vs_cursor_peek_u8(const VsCursor *c, size_t ahead, uint8_t *ret)
{
    if (vs_cursor_left(c) <= ahead) {
        return false;
    }
    *ret = c->data[c->pos + ahead];
    return true;
}

bool vs_cursor_peek_be64(const VsCursor *c, size_t ahead, uint64_t *ret)
{
    if (vs_cursor_left(c) < ahead || vs_cursor_left(c) - ahead < 8) {
        return false;
    }
    *ret = stream_be(c->data + c->pos + ahead, 8);
    return true;
}

uint8_t *vs_mig_memdup(TALLOC_CTX *ctx, const uint8_t *p, size_t len)
{
    uint8_t *copy = talloc_array(ctx, uint8_t, len + 1);

    g_assert(copy != NULL);
    if (len) {
        memcpy(copy, p, len);
    }
    copy[len] = 0;
    return copy;
}

void vs_stream_shrink(VsStream *s)
{
    if (s->n_records && s->n_records < talloc_array_length(s->records)) {
        s->records = talloc_realloc(s, s->records, VsRecord, s->n_records);
        g_assert(s->records != NULL);
    }
}

VsRecord *vs_stream_add_record(VsStream *s)
{
    size_t alloc = talloc_array_length(s->records);

    if (s->n_records == alloc) {
        alloc = alloc ? alloc * 2 : 16;
        s->records = talloc_realloc(s, s->records, VsRecord, alloc);
        g_assert(s->records != NULL);
    }
    memset(&s->records[s->n_records], 0, sizeof(VsRecord));
    return &s->records[s->n_records++];
}

/* ---- the description trailer ------------------------------------------ */

typedef struct StreamTrailer {
    bool found;
    size_t offset;      /* of the 0x06 byte */
    size_t json_len;
    VsJson *json;       /* parsed, or NULL */
    char *problem;      /* why @json is NULL although a trailer was found */
} StreamTrailer;

/* Whether a trailer starting at @p (its 0x06 byte) runs exactly to the end. */
static bool stream_trailer_fits(const uint8_t *data, size_t len, size_t p)
{
    return data[p - 1] == VS_MIG_EOF && data[p] == VS_MIG_VMDESCRIPTION && len - p >= 5 &&
           stream_be(data + p + 1, 4) == len - p - 5;
}

static void stream_locate_trailer(TALLOC_CTX *ctx, const uint8_t *data, size_t len,
                                  StreamTrailer *t)
{
    VsJsonLimits limits = { 0 };
    unsigned tries = 0;

    memset(t, 0, sizeof(*t));
    /* The header and at least an EOF byte come first. */
    for (size_t p = len >= 5 ? len - 5 : 0; p > 8 && tries < STREAM_TRAILER_TRIES; p--) {
        g_autoptr(GError) err = NULL;
        VsJson *json;

        if (!stream_trailer_fits(data, len, p)) {
            continue;
        }
        tries++;
        limits.max_nodes = (len - p - 5) / STREAM_TRAILER_BYTES_PER_NODE + STREAM_TRAILER_MIN_NODES;
        json = vs_json_parse(ctx, data + p + 5, len - p - 5, &limits, &err);
        if (!t->found || json) {
            /* Remember the last one tried, for its error, unless one parses. */
            talloc_free(t->problem);
            t->found = true;
            t->offset = p;
            t->json_len = len - p - 5;
            t->json = json;
            t->problem = json ? NULL : talloc_strdup(ctx, err->message);
        }
        if (json) {
            return;
        }
    }
}

static bool stream_page_bits_ok(uint64_t size)
{
    return size >= (1u << STREAM_MIN_PAGE_BITS) && size <= (1u << STREAM_MAX_PAGE_BITS) &&
           (size & (size - 1)) == 0;
}

/* Indexes the trailer's devices by (name, instance_id); first entry wins. */
static void stream_index_desc(VsLoadCtx *lc, const VsJson *vmdesc)
{
    const VsJson *devices = vs_json_object_get(vmdesc, "devices");

    if (!devices || vs_json_kind(vmdesc) != VS_JSON_OBJECT ||
        vs_json_kind(devices) != VS_JSON_ARRAY) {
        lc->vmdesc_problem = talloc_strdup(lc->scratch, "it has no \"devices\" list");
        return;
    }
    lc->vmdesc = vmdesc;
    for (size_t i = 0; i < vs_json_length(devices); i++) {
        const VsJson *dev = vs_json_array_get(devices, i);
        const char *name = vs_json_get_string(vs_json_object_get(dev, "name"), NULL, NULL);
        uint64_t inst;
        char *key;

        if (!name ||
            !vs_json_get_uint64(vs_json_object_get(dev, "instance_id"), &inst, NULL) ||
            inst > UINT32_MAX) {
            continue;
        }
        key = g_strdup_printf("%s\037%" PRIu64, name, inst);
        if (g_hash_table_contains(lc->desc_by_key, key)) {
            g_free(key);
            continue;
        }
        g_hash_table_insert(lc->desc_by_key, key, (gpointer)dev);
    }
}

const VsJson *vs_load_desc_lookup(VsLoadCtx *lc, const char *idstr, uint32_t instance_id)
{
    g_autofree char *key = NULL;

    if (!lc->vmdesc) {
        return NULL;
    }
    key = g_strdup_printf("%s\037%" PRIu32, idstr, instance_id);
    return g_hash_table_lookup(lc->desc_by_key, key);
}

/* ---- the header -------------------------------------------------------- */

/* QEMU checks the magic, then the version (v2 gets its own message). */
static bool stream_header(const uint8_t *data, size_t len, GError **errp)
{
    uint32_t magic, version;

    if (len < 4) {
        return vs_mig_fail(errp, VS_MIG_ERROR_FORMAT,
                           "Not a migration stream (the input has %zu bytes, too few for the "
                           "magic 0x%08x \"QEVM\")",
                           len, VS_MIG_FILE_MAGIC);
    }
    magic = (uint32_t)stream_be(data, 4);
    if (magic != VS_MIG_FILE_MAGIC) {
        return vs_mig_fail(errp, VS_MIG_ERROR_FORMAT,
                           "Not a migration stream (read 0x%08x at offset 0, expected the magic "
                           "0x%08x \"QEVM\")",
                           magic, VS_MIG_FILE_MAGIC);
    }
    if (len < 8) {
        return vs_mig_fail(errp, VS_MIG_ERROR_TRUNCATED,
                           "Unsupported migration stream version (stream ends after %zu of 4 "
                           "bytes of the version at offset 0x4)",
                           len - 4);
    }
    version = (uint32_t)stream_be(data + 4, 4);
    if (version == 2) {
        return vs_mig_fail(errp, VS_MIG_ERROR_FORMAT,
                           "SaveVM v2 format is obsolete and don't work anymore (version 2 at "
                           "offset 0x4, expected 3)");
    }
    if (version != VS_MIG_FILE_VERSION) {
        return vs_mig_fail(errp, VS_MIG_ERROR_FORMAT,
                           "Unsupported migration stream version (read %" PRIu32
                           " at offset 0x4, expected 3)",
                           version);
    }
    return true;
}

/* ---- after EOF ---------------------------------------------------------- */

/*
 * Keeps what follows the EOF item: the trailer located earlier when it
 * starts right there, else a trailer-shaped item whose length fits (then
 * bytes after it), else raw trailing bytes.  QEMU only warns about
 * anything unexpected here, and so does nothing here: all of it is kept.
 */
static void stream_after_eof(VsStream *s, VsCursor *c, StreamTrailer *t)
{
    size_t at = c->pos;
    size_t json_len = 0;
    uint8_t type;
    uint32_t n;

    if (t->found && t->offset == at) {
        json_len = t->json_len;
        s->vmdesc = t->json;
        t->json = NULL;
    } else if (vs_cursor_peek_u8(c, 0, &type) && type == VS_MIG_VMDESCRIPTION &&
               vs_cursor_left(c) >= 5 &&
               (n = (uint32_t)stream_be(c->data + at + 1, 4)) <= vs_cursor_left(c) - 5) {
        VsJsonLimits limits = {
            .max_nodes = n / STREAM_TRAILER_BYTES_PER_NODE + STREAM_TRAILER_MIN_NODES,
        };

        json_len = n;
        s->vmdesc = vs_json_parse(s, c->data + at + 5, n, &limits, NULL);
    } else {
        at = SIZE_MAX;
    }
    if (at != SIZE_MAX) {
        VsRecord *r = vs_stream_add_record(s);

        r->kind = VS_REC_VMDESC;
        r->offset = at;
        r->length = 5 + json_len;
        s->vmdesc_raw = vs_mig_memdup(s, c->data + at + 5, json_len);
        s->vmdesc_len = json_len;
        c->pos = at + 5 + json_len;
    }
    if (vs_cursor_left(c)) {
        s->trailing_len = vs_cursor_left(c);
        s->trailing = vs_mig_memdup(s, c->data + c->pos, s->trailing_len);
        c->pos = c->end;
    }
}

/* ---- entry points ------------------------------------------------------- */

static void stream_ctx_init(VsLoadCtx *lc, TALLOC_CTX *scratch, const uint8_t *data,
                            size_t len, const VsLoadOptions *opts)
{
    memset(lc, 0, sizeof(*lc));
    lc->data = data;
    lc->len = len;
    if (opts) {
        lc->opts = *opts;
    }
    lc->scratch = scratch;
    lc->desc_by_key = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    lc->sections = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, NULL);
    lc->blocks = g_hash_table_new(g_str_hash, g_str_equal);
    lc->page_size = 4096;
    lc->desc_budget = (uint64_t)len * STREAM_DESC_BUDGET_PER_BYTE + STREAM_DESC_BUDGET_BASE;
}

static void stream_ctx_clear(VsLoadCtx *lc)
{
    g_hash_table_destroy(lc->desc_by_key);
    g_hash_table_destroy(lc->sections);
    g_hash_table_destroy(lc->blocks);
}

/* Uses the located trailer for decoding, unless told not to. */
static void stream_use_trailer(VsLoadCtx *lc, StreamTrailer *t)
{
    uint64_t page_size;

    if (!t->found) {
        lc->vmdesc_problem = talloc_strdup(lc->scratch, "the stream has none");
        return;
    }
    if (!t->json) {
        lc->vmdesc_problem = talloc_asprintf(lc->scratch, "it is not valid JSON: %s",
                                             t->problem);
        return;
    }
    if (lc->opts.no_description) {
        lc->vmdesc_problem = talloc_strdup(lc->scratch, "descriptions were not to be used");
        return;
    }
    stream_index_desc(lc, t->json);
    if (vs_json_get_uint64(vs_json_object_get(t->json, "page_size"), &page_size, NULL) &&
        stream_page_bits_ok(page_size)) {
        lc->page_size = page_size;
    }
}

bool vs_stream_load(TALLOC_CTX *mem_ctx, const uint8_t *data, size_t len,
                    const VsLoadOptions *opts, VsStream **ret_stream, GError **errp)
{
    TALLOC_CTX *scratch;
    VsLoadCtx lc;
    StreamTrailer trailer;
    VsStream *s;
    VsCursor c = { .data = data, .pos = 8, .end = len };
    bool eof = false;
    bool ok;

    g_return_val_if_fail(data != NULL || len == 0, false);
    *ret_stream = NULL;
    if (!stream_header(data, len, errp)) {
        return false;
    }
    s = talloc_zero(mem_ctx, VsStream);
    g_assert(s != NULL);
    s->version = VS_MIG_FILE_VERSION;
    scratch = talloc_new(NULL);
    g_assert(scratch != NULL);
    stream_ctx_init(&lc, scratch, data, len, opts);
    lc.top = s;
    stream_locate_trailer(s, data, len, &trailer);
    stream_use_trailer(&lc, &trailer);

    ok = true;
    if (len > 8 && data[8] == VS_MIG_CONFIGURATION) {
        ok = vs_loadvm_config(&lc, s, &c, errp);
    }
    ok = ok && vs_loadvm_items(&lc, s, &c, false, &eof, errp);
    if (ok) {
        stream_after_eof(s, &c, &trailer);
    }
    s->page_size = lc.page_size;
    vs_stream_shrink(s);
    /* A trailer that was used stays in s->vmdesc (also with no_description). */
    if (!s->vmdesc) {
        talloc_free(trailer.json);
    }
    talloc_free(trailer.problem);
    stream_ctx_clear(&lc);
    talloc_free(scratch);
    *ret_stream = s;
    return ok;
}

/* Reads all of @fd into a talloc buffer under @ctx, at most @max bytes. */
static uint8_t *stream_read_fd(TALLOC_CTX *ctx, int fd, const char *path, size_t max,
                               size_t *ret_len, GError **errp)
{
    struct stat st;
    size_t cap = 65536, len = 0;
    uint8_t *buf;

    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
        vs_mig_fail(errp, VS_MIG_ERROR_LIMIT,
                    "%s: %" PRIu64 " bytes exceed the input limit of %zu bytes", path,
                    (uint64_t)st.st_size, max);
        return NULL;
    }
    buf = talloc_array(ctx, uint8_t, cap);
    g_assert(buf != NULL);
    for (;;) {
        ssize_t n;

        if (len == cap) {
            if (cap > max) {
                talloc_free(buf);
                vs_mig_fail(errp, VS_MIG_ERROR_LIMIT,
                            "%s: more than the input limit of %zu bytes", path, max);
                return NULL;
            }
            cap = cap * 2;
            buf = talloc_realloc(ctx, buf, uint8_t, cap);
            g_assert(buf != NULL);
        }
        n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int e = errno;

            talloc_free(buf);
            vs_mig_fail(errp, VS_MIG_ERROR_IO, "%s: read failed: %s", path, g_strerror(e));
            return NULL;
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
    }
    if (len > max) {
        talloc_free(buf);
        vs_mig_fail(errp, VS_MIG_ERROR_LIMIT, "%s: more than the input limit of %zu bytes",
                    path, max);
        return NULL;
    }
    *ret_len = len;
    return buf;
}

bool vs_stream_load_file(TALLOC_CTX *mem_ctx, const char *path, const VsLoadOptions *opts,
                         VsStream **ret_stream, GError **errp)
{
    size_t max = opts && opts->max_input ? opts->max_input : STREAM_DEFAULT_MAX_INPUT;
    bool is_stdin = strcmp(path, "-") == 0;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    size_t len = 0;
    uint8_t *buf;
    bool ok;

    *ret_stream = NULL;
    if (fd < 0) {
        int e = errno;

        return vs_mig_fail(errp, VS_MIG_ERROR_IO, "cannot open %s: %s", path, g_strerror(e));
    }
    buf = stream_read_fd(mem_ctx, fd, is_stdin ? "standard input" : path, max, &len, errp);
    if (!is_stdin) {
        close(fd);
    }
    if (!buf) {
        return false;
    }
    ok = vs_stream_load(mem_ctx, buf, len, opts, ret_stream, errp);
    if (*ret_stream) {
        talloc_steal(*ret_stream, buf);
    } else {
        talloc_free(buf);
    }
    return ok;
}

VsSection *vs_stream_find_section(VsStream *s, const char *idstr, uint32_t instance_id)
{
    for (size_t i = 0; i < s->n_records; i++) {
        VsSection *sec = &s->records[i].section;

        if (s->records[i].kind == VS_REC_SECTION && sec->idstr &&
            strcmp(sec->idstr, idstr) == 0 && sec->instance_id == instance_id) {
            return sec;
        }
    }
    return NULL;
}
