/*
 * ber-stream.c: vs_stream_encode_ber() and vs_stream_load_ber(), a whole
 * migration stream in BER form (docs/ber-format.md, "Streams").
 *
 * SPDX-License-Identifier: MIT
 *
 * Writing mirrors stream-encode.c record by record; device states go
 * through vs_node_walk() into the BER save visitor.  Reading walks the
 * outer SEQUENCE element by element (an indefinite length is followed as
 * a stream, so a truncated input fails at the record it cuts), bounds
 * every tag, length and value by vs_ber_read_tlv() and by the legacy field
 * the value goes back into, and names the record index and byte offset in
 * every error.  A failed load frees everything it built.
 */
#include "migration/ber-stream.h"

#include "migration/stream-internal.h"
#include "visitor/ber/ber-tlv.h"
#include "visitor/ber/ber-visitor.h"
#include "visitor/pretty/tree-walk.h"
#include "visitor/registry.h"
#include "vs-version.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

/* The record tags of docs/ber-format.md, "Streams". */
enum {
    BS_TAG_HEADER = 16,
    BS_TAG_CONFIG = 17,
    BS_TAG_SECTION = 18,
    BS_TAG_RAM = 19,
    BS_TAG_COMMAND = 20,
    BS_TAG_EOF = 21,
    BS_TAG_TRAILER = 22,
    BS_TAG_TRAILING = 23,
};

/* The struct value of a device state. */
#define BS_TAG_STRUCT 12
#define BS_CMD_PACKAGED 7
/* As the legacy loader: QEMU sends one level. */
#define BS_MAX_PACKAGE_DEPTH 4
#define BS_MAX_NAME 255
#define BS_MIN_PAGE_SIZE 512
#define BS_MAX_PAGE_SIZE (UINT64_C(1) << 30)
#define BS_RAM_PAGE_FLAGS (VS_RAM_ZERO | VS_RAM_PAGE | VS_RAM_COMPRESS_PAGE | VS_RAM_XBZRLE)
/* As stream.c parses a trailer. */
#define BS_TRAILER_BYTES_PER_NODE 6
#define BS_TRAILER_MIN_NODES 1024

/* ---- writing -------------------------------------------------------------- */

static bool bs_put_stream(const VsStream *s, GByteArray *out, const VsBerEncodeOptions *opts,
                          GError **errp);

static void bs_put_string(GByteArray *out, const char *str)
{
    size_t n = str ? strlen(str) : 0;

    vs_ber_put_prim(out, VS_BER_UNIVERSAL, VS_BER_TAG_VISIBLESTRING, n ? str : NULL, n);
}

static void bs_put_octets(GByteArray *out, const uint8_t *data, size_t len)
{
    vs_ber_put_prim(out, VS_BER_UNIVERSAL, VS_BER_TAG_OCTET_STRING, len ? data : NULL, len);
}

static void bs_put_bool(GByteArray *out, bool b)
{
    uint8_t v = b ? 0xff : 0x00;

    vs_ber_put_prim(out, VS_BER_UNIVERSAL, VS_BER_TAG_BOOLEAN, &v, 1);
}

/* Opens `[tag] SEQUENCE {`; returns the tag's start, the SEQUENCE's in @ret_seq. */
static size_t bs_open_seq(GByteArray *out, uint32_t tag, size_t *ret_seq)
{
    size_t outer = vs_ber_open(out, VS_BER_CONTEXT, tag);

    *ret_seq = vs_ber_open(out, VS_BER_UNIVERSAL, VS_BER_TAG_SEQUENCE);
    return outer;
}

static void bs_close_seq(GByteArray *out, size_t outer, size_t seq)
{
    vs_ber_close(out, seq);
    vs_ber_close(out, outer);
}

/* `[tag] OCTET STRING` */
static void bs_put_wrapped_octets(GByteArray *out, uint32_t tag, const uint8_t *data,
                                  size_t len)
{
    size_t outer = vs_ber_open(out, VS_BER_CONTEXT, tag);

    bs_put_octets(out, data, len);
    vs_ber_close(out, outer);
}

/* Whether the writer marks the sections named @idstr must-understand. */
static bool bs_marked(const VsBerEncodeOptions *opts, const char *idstr)
{
    for (size_t i = 0; opts && opts->must_understand && opts->must_understand[i]; i++) {
        if (g_strcmp0(opts->must_understand[i], idstr) == 0) {
            return true;
        }
    }
    return false;
}

/* Whether an earlier device section record has @sec's section id. */
static bool bs_section_seen(const VsStream *s, size_t upto, const VsSection *sec)
{
    for (size_t i = 0; i < upto; i++) {
        const VsRecord *r = &s->records[i];

        if (r->kind == VS_REC_SECTION && r->section.decoded_by != VS_DECODED_RAM &&
            r->section.section_id == sec->section_id) {
            return true;
        }
    }
    return false;
}

/*
 * The header's schema list: per device section, its idstr, instance, wire
 * name, the digest of this build's schema for the wire name (empty when it
 * has none) and, when the writer marked it, must-understand.
 */
static void bs_put_schemas(const VsStream *s, GByteArray *out, const VsBerEncodeOptions *opts)
{
    size_t list = vs_ber_open(out, VS_BER_UNIVERSAL, VS_BER_TAG_SEQUENCE);

    for (size_t i = 0; i < s->n_records; i++) {
        const VsSection *sec = &s->records[i].section;
        const VsRegistryEntry *e;
        uint8_t digest[VS_BER_DIGEST_LEN];
        size_t seq;

        if (s->records[i].kind != VS_REC_SECTION || sec->decoded_by == VS_DECODED_RAM ||
            bs_section_seen(s, i, sec)) {
            continue;
        }
        e = sec->wire_name ? vs_registry_lookup(sec->wire_name) : NULL;
        seq = vs_ber_open(out, VS_BER_UNIVERSAL, VS_BER_TAG_SEQUENCE);
        bs_put_string(out, sec->idstr);
        vs_ber_put_uint(out, sec->instance_id);
        bs_put_string(out, sec->wire_name);
        if (e) {
            vs_ber_schema_digest(e->type, digest);
        }
        bs_put_octets(out, digest, e ? sizeof(digest) : 0);
        if (bs_marked(opts, sec->idstr)) {
            bs_put_bool(out, true);
        }
        vs_ber_close(out, seq);
    }
    vs_ber_close(out, list);
}

static void bs_put_header(const VsStream *s, GByteArray *out, const VsBerEncodeOptions *opts)
{
    size_t seq, outer = bs_open_seq(out, BS_TAG_HEADER, &seq);

    vs_ber_put_prim(out, VS_BER_UNIVERSAL, VS_BER_TAG_UTF8STRING, "vstate", 6);
    bs_put_string(out, VS_VERSION_STRING);
    vs_ber_put_uint(out, s->version);
    bs_put_string(out, s->machine);
    vs_ber_put_uint(out, s->page_size ? s->page_size : 4096);
    bs_put_schemas(s, out, opts);
    bs_close_seq(out, outer, seq);
}

static void bs_put_config(const VsRecord *r, GByteArray *out)
{
    size_t seq, outer = bs_open_seq(out, BS_TAG_CONFIG, &seq);

    bs_put_string(out, r->machine);
    bs_put_octets(out, r->config_rest, r->config_rest_len);
    bs_close_seq(out, outer, seq);
}

static void bs_put_ram_blocks(const VsRamRecord *rec, GByteArray *out)
{
    size_t list = vs_ber_open(out, VS_BER_UNIVERSAL, VS_BER_TAG_SEQUENCE);

    for (size_t i = 0; i < rec->n_blocks; i++) {
        const VsRamBlockInfo *b = &rec->blocks[i];
        size_t seq = vs_ber_open(out, VS_BER_UNIVERSAL, VS_BER_TAG_SEQUENCE);
        size_t opt;

        bs_put_string(out, b->name);
        vs_ber_put_uint(out, b->length);
        if (b->has_page_size) {
            opt = vs_ber_open(out, VS_BER_CONTEXT, 0);
            vs_ber_put_uint(out, b->page_size);
            vs_ber_close(out, opt);
        }
        if (b->has_mr_addr) {
            opt = vs_ber_open(out, VS_BER_CONTEXT, 1);
            vs_ber_put_uint(out, b->mr_addr);
            vs_ber_close(out, opt);
        }
        vs_ber_close(out, seq);
    }
    vs_ber_close(out, list);
}

static void bs_put_ram_record(const VsRamRecord *rec, GByteArray *out)
{
    size_t seq = vs_ber_open(out, VS_BER_UNIVERSAL, VS_BER_TAG_SEQUENCE);

    vs_ber_put_uint(out, rec->offset);
    vs_ber_put_uint(out, rec->flags);
    if (rec->flags & BS_RAM_PAGE_FLAGS) {
        bs_put_string(out, rec->block);
    }
    switch (rec->flags & ~(uint32_t)VS_RAM_CONTINUE) {
    case VS_RAM_MEM_SIZE:
        bs_put_ram_blocks(rec, out);
        break;
    case VS_RAM_ZERO:
        vs_ber_put_uint(out, rec->fill);
        break;
    case VS_RAM_PAGE:
    case VS_RAM_COMPRESS_PAGE:
        bs_put_octets(out, rec->data, rec->len);
        break;
    case VS_RAM_XBZRLE:
        vs_ber_put_uint(out, rec->xbzrle_flag);
        bs_put_octets(out, rec->data, rec->len);
        break;
    default:
        break;
    }
    vs_ber_close(out, seq);
}

static void bs_put_ram(const VsSection *sec, GByteArray *out)
{
    size_t seq, outer = bs_open_seq(out, BS_TAG_RAM, &seq);

    for (size_t i = 0; i < sec->n_ram; i++) {
        bs_put_ram_record(&sec->ram[i], out);
    }
    bs_close_seq(out, outer, seq);
}

static bool bs_put_state(const VsSection *sec, size_t idx, GByteArray *out, GError **errp)
{
    g_autoptr(GError) local = NULL;
    const uint8_t *bytes;
    VsVisitor *save;
    size_t len = 0;
    bool ok;

    if (!sec->state) {
        return vs_mig_fail(errp, VS_MIG_ERROR_UNDECODABLE,
                           "record %zu: section '%s' (instance %" PRIu32 ", id %" PRIu32
                           ") has no state to encode",
                           idx, sec->idstr, sec->instance_id, sec->section_id);
    }
    save = vs_ber_save_visitor_new(NULL);
    ok = vs_node_walk(sec->state, save, &local) && vs_visitor_complete(save, &local);
    if (ok) {
        bytes = vs_ber_save_visitor_data(save, &len);
        g_byte_array_append(out, bytes, (guint)len);
    }
    vs_visitor_free(save);
    if (!ok) {
        return vs_mig_fail(errp, VS_MIG_ERROR_DEVICE,
                           "record %zu: cannot encode section '%s' (instance %" PRIu32
                           ", id %" PRIu32 "): %s",
                           idx, sec->idstr, sec->instance_id, sec->section_id, local->message);
    }
    return true;
}

static bool bs_put_section(const VsSection *sec, size_t idx, GByteArray *out, GError **errp)
{
    size_t seq, outer = bs_open_seq(out, BS_TAG_SECTION, &seq);

    vs_ber_put_uint(out, sec->type);
    vs_ber_put_uint(out, sec->section_id);
    bs_put_string(out, sec->idstr);
    vs_ber_put_uint(out, sec->instance_id);
    vs_ber_put_uint(out, sec->version_id);
    bs_put_bool(out, sec->has_footer);
    if (sec->decoded_by == VS_DECODED_RAM) {
        bs_put_ram(sec, out);
    } else if (!bs_put_state(sec, idx, out, errp)) {
        return false;
    }
    bs_close_seq(out, outer, seq);
    return true;
}

static bool bs_put_command(const VsCommand *cmd, size_t idx, GByteArray *out,
                           const VsBerEncodeOptions *opts, GError **errp)
{
    size_t seq, outer = bs_open_seq(out, BS_TAG_COMMAND, &seq);

    vs_ber_put_uint(out, cmd->cmd);
    bs_put_octets(out, cmd->payload, cmd->len);
    if (cmd->package && !bs_put_stream(cmd->package, out, opts, errp)) {
        g_prefix_error(errp, "record %zu, its package: ", idx);
        return false;
    }
    bs_close_seq(out, outer, seq);
    return true;
}

static bool bs_put_record(const VsStream *s, size_t idx, GByteArray *out,
                          const VsBerEncodeOptions *opts, GError **errp)
{
    const VsRecord *r = &s->records[idx];
    size_t outer;

    switch (r->kind) {
    case VS_REC_CONFIG:
        bs_put_config(r, out);
        return true;
    case VS_REC_SECTION:
        return bs_put_section(&r->section, idx, out, errp);
    case VS_REC_COMMAND:
        return bs_put_command(&r->command, idx, out, opts, errp);
    case VS_REC_EOF:
        outer = vs_ber_open(out, VS_BER_CONTEXT, BS_TAG_EOF);
        vs_ber_put_prim(out, VS_BER_UNIVERSAL, VS_BER_TAG_NULL, NULL, 0);
        vs_ber_close(out, outer);
        return true;
    case VS_REC_VMDESC:
        bs_put_wrapped_octets(out, BS_TAG_TRAILER, s->vmdesc_raw, s->vmdesc_len);
        return true;
    default:
        return vs_mig_fail(errp, VS_MIG_ERROR_FORMAT, "record %zu is of unknown kind %d", idx,
                           r->kind);
    }
}

static bool bs_put_stream(const VsStream *s, GByteArray *out, const VsBerEncodeOptions *opts,
                          GError **errp)
{
    static const uint8_t indefinite[] = { 0x30, 0x80 };
    static const uint8_t eoc[] = { 0x00, 0x00 };

    g_byte_array_append(out, indefinite, sizeof(indefinite));
    bs_put_header(s, out, opts);
    for (size_t i = 0; i < s->n_records; i++) {
        if (!bs_put_record(s, i, out, opts, errp)) {
            return false;
        }
    }
    if (s->trailing_len) {
        bs_put_wrapped_octets(out, BS_TAG_TRAILING, s->trailing, s->trailing_len);
    }
    g_byte_array_append(out, eoc, sizeof(eoc));
    return true;
}

bool vs_stream_encode_ber(const VsStream *s, GByteArray *out, GError **errp)
{
    return bs_put_stream(s, out, NULL, errp);
}

bool vs_stream_encode_ber_opts(const VsStream *s, GByteArray *out,
                               const VsBerEncodeOptions *opts, GError **errp)
{
    return bs_put_stream(s, out, opts, errp);
}

/* ---- reading: elements ---------------------------------------------------- */

/* The load: input, top stream, and where errors point. */
typedef struct BsReader {
    const uint8_t *data;
    size_t len;
    VsStream *top;            /* MEM_SIZE blocks go here, as in the legacy loader */
    size_t rec;               /* index of the element being read; SIZE_MAX: the header */
    size_t at;                /* its offset */
    unsigned packages;        /* nesting of packages */
    VsBerStreamInfo *info;    /* the top stream's header, or NULL when not wanted */
    VsRamPageFn ram_page;     /* page records go here, not kept, when set */
    void *ram_page_opaque;
    /* Where the top stream's current record starts, for a failed load. */
    size_t top_rec;
    size_t top_at;
    /*
     * Salvaging the record a load failed in: containers running past the
     * input are read up to its end, a state is decoded as far as it goes
     * (into @salvage_path and @salvage_error), RAM is not read again.
     */
    bool salvage;
    char *salvage_path;
    GError *salvage_error;
} BsReader;

/* The elements of one container: [pos, end). */
typedef struct BsSeq {
    size_t pos;
    size_t end;
    unsigned depth;
    bool open;                /* @end is the input's end (an indefinite stream) */
} BsSeq;

static bool bs_fail(const BsReader *r, GError **errp, VsMigError code, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

static bool bs_fail(const BsReader *r, GError **errp, VsMigError code, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (r->rec == SIZE_MAX) {
        return vs_mig_fail(errp, code, "BER stream header at offset 0x%zx: %s", r->at, msg);
    }
    return vs_mig_fail(errp, code, "BER stream record %zu at offset 0x%zx: %s", r->rec, r->at,
                       msg);
}

/* A TLV layer error as a stream error. */
static bool bs_fail_tlv(const BsReader *r, GError **errp, const GError *cause, const char *what)
{
    VsMigError code = VS_MIG_ERROR_FORMAT;

    if (cause->domain == VS_VISIT_ERROR && cause->code == VS_VISIT_ERROR_TRUNCATED) {
        code = VS_MIG_ERROR_TRUNCATED;
    } else if (cause->domain == VS_VISIT_ERROR && cause->code == VS_VISIT_ERROR_LIMIT) {
        code = VS_MIG_ERROR_LIMIT;
    }
    return bs_fail(r, errp, code, "%s: %s", what, cause->message);
}

/* The TLV at @seq's position, not consumed. */
static bool bs_peek(const BsReader *r, const BsSeq *seq, const char *what, VsBerTlv *tlv,
                    GError **errp)
{
    g_autoptr(GError) local = NULL;

    if (seq->pos >= seq->end) {
        return bs_fail(r, errp, seq->open ? VS_MIG_ERROR_TRUNCATED : VS_MIG_ERROR_FORMAT,
                       "%s missing at offset 0x%zx%s", what, seq->pos,
                       seq->open ? " (the input ends)" : "");
    }
    if (r->salvage ? !vs_ber_read_tlv_clipped(r->data, seq->pos, seq->end, seq->depth, tlv,
                                              &local)
                   : !vs_ber_read_tlv(r->data, seq->pos, seq->end, seq->depth, tlv, &local)) {
        return bs_fail_tlv(r, errp, local, what);
    }
    return true;
}

/* The next element of @seq, which must have this identifier. */
static bool bs_next(const BsReader *r, BsSeq *seq, VsBerClass cls, bool constructed,
                    uint32_t tag, const char *what, VsBerTlv *tlv, GError **errp)
{
    if (!bs_peek(r, seq, what, tlv, errp)) {
        return false;
    }
    if (!vs_ber_is(tlv, cls, constructed, tag)) {
        VsBerTlv want = { .cls = cls, .constructed = constructed, .tag = tag };
        char wbuf[32], gbuf[32];

        return bs_fail(r, errp, VS_MIG_ERROR_FORMAT, "%s at offset 0x%zx: expected %s, found %s",
                       what, tlv->start, vs_ber_tag_name(&want, wbuf, sizeof(wbuf)),
                       vs_ber_tag_name(tlv, gbuf, sizeof(gbuf)));
    }
    seq->pos = tlv->end;
    return true;
}

static BsSeq bs_enter(const BsSeq *outer, const VsBerTlv *tlv)
{
    return (BsSeq){ .pos = tlv->content, .end = tlv->content_end, .depth = outer->depth + 1 };
}

static bool bs_done(const BsReader *r, const BsSeq *seq, const char *what, GError **errp)
{
    if (seq->pos != seq->end) {
        return bs_fail(r, errp, VS_MIG_ERROR_FORMAT, "unexpected element at offset 0x%zx in %s",
                       seq->pos, what);
    }
    return true;
}

/* The next element, a SEQUENCE: its elements in @ret. */
static bool bs_next_seq(const BsReader *r, BsSeq *seq, const char *what, BsSeq *ret,
                        GError **errp)
{
    VsBerTlv tlv;

    if (!bs_next(r, seq, VS_BER_UNIVERSAL, true, VS_BER_TAG_SEQUENCE, what, &tlv, errp)) {
        return false;
    }
    *ret = bs_enter(seq, &tlv);
    return true;
}

/* The one element inside the context tag @outer: its content in @ret. */
static bool bs_inner(const BsReader *r, const BsSeq *seq, const VsBerTlv *outer, VsBerClass cls,
                     bool constructed, uint32_t tag, const char *what, BsSeq *ret, GError **errp)
{
    BsSeq in = bs_enter(seq, outer);
    VsBerTlv tlv;

    if (!bs_next(r, &in, cls, constructed, tag, what, &tlv, errp) ||
        !bs_done(r, &in, what, errp)) {
        return false;
    }
    *ret = bs_enter(&in, &tlv);
    return true;
}

static bool bs_uint(const BsReader *r, BsSeq *seq, uint64_t max, const char *what,
                    uint64_t *ret, GError **errp)
{
    g_autoptr(GError) local = NULL;
    VsBerTlv tlv;
    bool negative;

    if (!bs_next(r, seq, VS_BER_UNIVERSAL, false, VS_BER_TAG_INTEGER, what, &tlv, errp)) {
        return false;
    }
    if (!vs_ber_get_integer(r->data, &tlv, &negative, ret, &local)) {
        return bs_fail_tlv(r, errp, local, what);
    }
    if (negative || *ret > max) {
        return bs_fail(r, errp, VS_MIG_ERROR_FORMAT,
                       "%s at offset 0x%zx: %s%" PRIu64 " is outside 0..%" PRIu64, what,
                       tlv.start, negative ? "-" : "", negative ? -*ret : *ret, max);
    }
    return true;
}

static bool bs_uint32(const BsReader *r, BsSeq *seq, const char *what, uint32_t *ret,
                      GError **errp)
{
    uint64_t v;

    if (!bs_uint(r, seq, UINT32_MAX, what, &v, errp)) {
        return false;
    }
    *ret = (uint32_t)v;
    return true;
}

static bool bs_octets(const BsReader *r, BsSeq *seq, size_t max, const char *what,
                      const uint8_t **ret, size_t *ret_len, GError **errp)
{
    VsBerTlv tlv;

    if (!bs_next(r, seq, VS_BER_UNIVERSAL, false, VS_BER_TAG_OCTET_STRING, what, &tlv, errp)) {
        return false;
    }
    if (tlv.len > max) {
        return bs_fail(r, errp, VS_MIG_ERROR_FORMAT,
                       "%s at offset 0x%zx: %zu bytes, at most %zu fit the legacy field", what,
                       tlv.start, tlv.len, max);
    }
    *ret = r->data + tlv.content;
    *ret_len = tlv.len;
    return true;
}

/* A VisibleString of at most @max bytes without NUL, as bounds in the input. */
static bool bs_string_raw(const BsReader *r, BsSeq *seq, size_t max, const char *what,
                          const char **ret, size_t *ret_len, GError **errp)
{
    VsBerTlv tlv;
    const char *p;

    if (!bs_next(r, seq, VS_BER_UNIVERSAL, false, VS_BER_TAG_VISIBLESTRING, what, &tlv, errp)) {
        return false;
    }
    p = (const char *)r->data + tlv.content;
    if (tlv.len > max || memchr(p, '\0', tlv.len)) {
        return bs_fail(r, errp, VS_MIG_ERROR_FORMAT,
                       "%s at offset 0x%zx: %zu bytes%s, at most %zu without NUL fit", what,
                       tlv.start, tlv.len, tlv.len > max ? "" : " holding a NUL", max);
    }
    *ret = p;
    *ret_len = tlv.len;
    return true;
}

static bool bs_string(const BsReader *r, TALLOC_CTX *ctx, BsSeq *seq, size_t max,
                      const char *what, char **ret, GError **errp)
{
    const char *p = NULL;  /* set whenever bs_string_raw() succeeds; gcc -O3 cannot see it */
    size_t n = 0;

    if (!bs_string_raw(r, seq, max, what, &p, &n, errp)) {
        return false;
    }
    *ret = talloc_strndup(ctx, p, n);
    g_assert(*ret != NULL);
    return true;
}

static bool bs_bool(const BsReader *r, BsSeq *seq, const char *what, bool *ret, GError **errp)
{
    VsBerTlv tlv;

    if (!bs_next(r, seq, VS_BER_UNIVERSAL, false, VS_BER_TAG_BOOLEAN, what, &tlv, errp)) {
        return false;
    }
    if (tlv.len != 1) {
        return bs_fail(r, errp, VS_MIG_ERROR_FORMAT, "%s at offset 0x%zx: BOOLEAN of %zu bytes",
                       what, tlv.start, tlv.len);
    }
    *ret = r->data[tlv.content] != 0;
    return true;
}

/* An optional `[tag] INTEGER` next in @seq. */
static bool bs_opt_uint(const BsReader *r, BsSeq *seq, uint32_t tag, const char *what,
                        bool *ret_has, uint64_t *ret, GError **errp)
{
    VsBerTlv tlv;
    BsSeq in;

    *ret_has = false;
    if (seq->pos >= seq->end) {
        return true;
    }
    if (!bs_peek(r, seq, what, &tlv, errp)) {
        return false;
    }
    if (!vs_ber_is(&tlv, VS_BER_CONTEXT, true, tag)) {
        return true;
    }
    seq->pos = tlv.end;
    in = bs_enter(seq, &tlv);
    *ret_has = true;
    return bs_uint(r, &in, UINT64_MAX, what, ret, errp) && bs_done(r, &in, what, errp);
}

/* ---- reading: RAM ----------------------------------------------------------- */

static VsRamRecord *bs_ram_add(VsStream *s, VsSection *sec)
{
    size_t alloc = talloc_array_length(sec->ram);

    if (sec->n_ram == alloc) {
        alloc = alloc ? alloc * 2 : 64;
        sec->ram = talloc_realloc(s, sec->ram, VsRamRecord, alloc);
        g_assert(sec->ram != NULL);
    }
    memset(&sec->ram[sec->n_ram], 0, sizeof(VsRamRecord));
    return &sec->ram[sec->n_ram++];
}

static VsRamBlockInfo *bs_block_add(VsStream *s, VsRamRecord *rec)
{
    size_t alloc = talloc_array_length(rec->blocks);

    if (rec->n_blocks == alloc) {
        alloc = alloc ? alloc * 2 : 8;
        rec->blocks = talloc_realloc(s, rec->blocks, VsRamBlockInfo, alloc);
        g_assert(rec->blocks != NULL);
    }
    memset(&rec->blocks[rec->n_blocks], 0, sizeof(VsRamBlockInfo));
    return &rec->blocks[rec->n_blocks++];
}

/* MEM_SIZE's list: lengths add up to the total, as the legacy loader counts them. */
static bool bs_ram_blocks(BsReader *r, VsStream *s, VsRamRecord *rec, BsSeq *seq,
                          GError **errp)
{
    uint64_t left = rec->offset;
    BsSeq list;

    if (!bs_next_seq(r, seq, "RAM MEM_SIZE block list", &list, errp)) {
        return false;
    }
    while (list.pos < list.end) {
        size_t at = list.pos;
        VsRamBlockInfo *b = bs_block_add(s, rec);
        BsSeq e;

        if (!bs_next_seq(r, &list, "RAM MEM_SIZE block", &e, errp) ||
            !bs_string(r, s, &e, BS_MAX_NAME, "RAM block name", &b->name, errp) ||
            !bs_uint(r, &e, UINT64_MAX, "RAM block length", &b->length, errp) ||
            !bs_opt_uint(r, &e, 0, "RAM block page size", &b->has_page_size, &b->page_size,
                         errp) ||
            !bs_opt_uint(r, &e, 1, "RAM block mr_addr", &b->has_mr_addr, &b->mr_addr, errp) ||
            !bs_done(r, &e, "RAM MEM_SIZE block", errp)) {
            return false;
        }
        if (!left || b->length > left) {
            return bs_fail(r, errp, VS_MIG_ERROR_FORMAT,
                           "RAM MEM_SIZE block \"%s\" at offset 0x%zx: 0x%" PRIx64
                           " bytes where 0x%" PRIx64 " of the total 0x%" PRIx64 " are left",
                           b->name, at, b->length, left, rec->offset);
        }
        left -= b->length;
    }
    if (left) {
        return bs_fail(r, errp, VS_MIG_ERROR_FORMAT,
                       "RAM MEM_SIZE blocks at offset 0x%zx leave 0x%" PRIx64
                       " bytes of the total 0x%" PRIx64 " unlisted",
                       seq->pos, left, rec->offset);
    }
    r->top->blocks = rec->blocks;
    r->top->n_blocks = rec->n_blocks;
    return true;
}

/* The block name: the MEM_SIZE block's own string when there is one. */
static bool bs_ram_block(BsReader *r, VsStream *s, VsRamRecord *rec, BsSeq *seq,
                         const char **last, GError **errp)
{
    const char *p;
    size_t n;

    if (!bs_string_raw(r, seq, BS_MAX_NAME, "RAM record block", &p, &n, errp)) {
        return false;
    }
    if (*last && strlen(*last) == n && memcmp(*last, p, n) == 0) {
        rec->block = *last;
        return true;
    }
    for (size_t i = 0; i < r->top->n_blocks; i++) {
        const char *name = r->top->blocks[i].name;

        if (strlen(name) == n && memcmp(name, p, n) == 0) {
            rec->block = *last = name;
            return true;
        }
    }
    rec->block = *last = talloc_strndup(s, p, n);
    g_assert(rec->block != NULL);
    return true;
}

static bool bs_ram_payload(BsReader *r, VsStream *s, VsRamRecord *rec, BsSeq *seq,
                           GError **errp)
{
    uint64_t v;

    switch (rec->flags & ~(uint32_t)VS_RAM_CONTINUE) {
    case VS_RAM_MEM_SIZE:
        return bs_ram_blocks(r, s, rec, seq, errp);
    case VS_RAM_ZERO:
        if (!bs_uint(r, seq, UINT8_MAX, "RAM ZERO fill", &v, errp)) {
            return false;
        }
        rec->fill = (uint8_t)v;
        return true;
    case VS_RAM_PAGE:
        if (!bs_octets(r, seq, s->page_size, "RAM PAGE data", &rec->data, &rec->len, errp)) {
            return false;
        }
        if (rec->len != s->page_size) {
            return bs_fail(r, errp, VS_MIG_ERROR_FORMAT,
                           "RAM PAGE data of %zu bytes, the page size is %" PRIu64, rec->len,
                           s->page_size);
        }
        return true;
    case VS_RAM_COMPRESS_PAGE:
        return bs_octets(r, seq, UINT32_MAX, "RAM COMPRESS_PAGE data", &rec->data, &rec->len,
                         errp);
    case VS_RAM_XBZRLE:
        if (!bs_uint(r, seq, UINT8_MAX, "RAM XBZRLE encoding", &v, errp)) {
            return false;
        }
        rec->xbzrle_flag = (uint8_t)v;
        return bs_octets(r, seq, UINT16_MAX, "RAM XBZRLE data", &rec->data, &rec->len, errp);
    default:
        return true;    /* EOS */
    }
}

static bool bs_ram_type_known(uint32_t flags)
{
    switch (flags & ~(uint32_t)VS_RAM_CONTINUE) {
    case VS_RAM_MEM_SIZE:
    case VS_RAM_ZERO:
    case VS_RAM_PAGE:
    case VS_RAM_COMPRESS_PAGE:
    case VS_RAM_XBZRLE:
    case VS_RAM_EOS:
        return true;
    default:
        return false;
    }
}

static bool bs_ram_record(BsReader *r, VsStream *s, VsSection *sec, BsSeq *list,
                          const char **last, GError **errp)
{
    size_t at = list->pos;
    uint64_t offset, flags;
    VsRamRecord *rec, streamed;
    BsSeq seq;

    if (!bs_next_seq(r, list, "RAM record", &seq, errp) ||
        !bs_uint(r, &seq, UINT64_MAX, "RAM record offset", &offset, errp) ||
        !bs_uint(r, &seq, s->page_size - 1, "RAM record flags", &flags, errp)) {
        return false;
    }
    if ((offset & (s->page_size - 1)) || !bs_ram_type_known((uint32_t)flags)) {
        return bs_fail(r, errp, VS_MIG_ERROR_FORMAT,
                       "RAM record at offset 0x%zx: offset 0x%" PRIx64 " flags 0x%" PRIx64
                       " is not a legacy record word (page size %" PRIu64 ")",
                       at, offset, flags, s->page_size);
    }
    /* A streamed page record lives on the stack for the callback only. */
    if ((flags & BS_RAM_PAGE_FLAGS) && r->ram_page) {
        memset(&streamed, 0, sizeof(streamed));
        rec = &streamed;
    } else {
        rec = bs_ram_add(s, sec);
    }
    rec->offset = offset;
    rec->flags = (uint32_t)flags;
    if ((flags & BS_RAM_PAGE_FLAGS) && !bs_ram_block(r, s, rec, &seq, last, errp)) {
        return false;
    }
    if (!bs_ram_payload(r, s, rec, &seq, errp) || !bs_done(r, &seq, "RAM record", errp)) {
        return false;
    }
    if (rec == &streamed) {
        const VsRamBlockInfo *b = NULL;

        for (size_t i = 0; i < r->top->n_blocks && !b; i++) {
            b = r->top->blocks[i].name == rec->block ? &r->top->blocks[i] : NULL;
        }
        VsRamPage page = { .rec = rec, .block = b, .page_size = s->page_size,
                           .input_offset = at };

        r->ram_page(r->ram_page_opaque, &page);
    }
    return true;
}

static bool bs_load_ram(BsReader *r, VsStream *s, VsSection *sec, const BsSeq *seq,
                        const VsBerTlv *tlv, GError **errp)
{
    const char *last = NULL;
    BsSeq list;

    if (!bs_inner(r, seq, tlv, VS_BER_UNIVERSAL, true, VS_BER_TAG_SEQUENCE, "RAM body", &list,
                  errp)) {
        return false;
    }
    sec->decoded_by = VS_DECODED_RAM;
    while (list.pos < list.end) {
        if (!bs_ram_record(r, s, sec, &list, &last, errp)) {
            return false;
        }
    }
    if (sec->n_ram < talloc_array_length(sec->ram)) {
        sec->ram = talloc_realloc(s, sec->ram, VsRamRecord, sec->n_ram);
        g_assert(sec->ram != NULL);
    }
    return true;
}

/* ---- reading: records --------------------------------------------------------- */

static bool bs_load_stream(BsReader *r, TALLOC_CTX *ctx, BsSeq *in, bool top, VsStream **ret,
                           GError **errp);

static bool bs_load_state(BsReader *r, VsStream *s, VsSection *sec, const VsBerTlv *tlv,
                          GError **errp)
{
    g_autoptr(GError) local = NULL;
    const char *slash;

    if (r->salvage) {
        VsNode *partial = NULL;

        sec->decoded_by = VS_DECODED_DESCRIPTION;
        sec->state = vs_ber_decode_tree_partial(s, r->data + tlv->start, tlv->end - tlv->start,
                                                &partial, &r->salvage_path,
                                                &r->salvage_error);
        if (!sec->state) {
            sec->state = partial;
        }
        /* Offsets in the tree decoder's messages are relative to the state. */
        r->at = tlv->start;
        slash = strrchr(sec->idstr, '/');
        sec->wire_name = talloc_strdup(s, sec->state && sec->state->wire_name
                                              ? sec->state->wire_name
                                              : slash ? slash + 1 : sec->idstr);
        return sec->state != NULL && !r->salvage_error;
    }
    sec->state = vs_ber_decode_tree(s, r->data + tlv->start, tlv->end - tlv->start, &local);
    if (!sec->state) {
        return bs_fail(r, errp, VS_MIG_ERROR_DEVICE,
                       "the state of section '%s' (instance %" PRIu32 ", id %" PRIu32
                       ") at offset 0x%zx does not decode: %s",
                       sec->idstr, sec->instance_id, sec->section_id, tlv->start, local->message);
    }
    sec->decoded_by = VS_DECODED_DESCRIPTION;
    slash = strrchr(sec->idstr, '/');
    sec->wire_name = talloc_strdup(s, sec->state->wire_name ? sec->state->wire_name
                                                            : slash ? slash + 1 : sec->idstr);
    g_assert(sec->wire_name != NULL);
    return true;
}

static bool bs_load_body(BsReader *r, VsStream *s, VsSection *sec, BsSeq *seq, GError **errp)
{
    VsBerTlv tlv;

    if (!bs_peek(r, seq, "section body", &tlv, errp)) {
        return false;
    }
    seq->pos = tlv.end;
    if (vs_ber_is(&tlv, VS_BER_CONTEXT, true, BS_TAG_RAM)) {
        if (r->salvage) {
            sec->decoded_by = VS_DECODED_RAM;
            return false;
        }
        return bs_load_ram(r, s, sec, seq, &tlv, errp);
    }
    if (vs_ber_is(&tlv, VS_BER_CONTEXT, true, BS_TAG_STRUCT)) {
        return bs_load_state(r, s, sec, &tlv, errp);
    }
    return bs_fail(r, errp, VS_MIG_ERROR_FORMAT,
                   "section body at offset 0x%zx: expected a state [12] or RAM records [19]",
                   tlv.start);
}

static bool bs_load_section(BsReader *r, VsStream *s, const BsSeq *rec_seq, const VsBerTlv *tlv,
                            GError **errp)
{
    VsRecord *rec = vs_stream_add_record(s);
    VsSection *sec = &rec->section;
    uint64_t type;
    BsSeq seq;

    rec->kind = VS_REC_SECTION;
    if (!bs_inner(r, rec_seq, tlv, VS_BER_UNIVERSAL, true, VS_BER_TAG_SEQUENCE, "section", &seq,
                  errp) ||
        !bs_uint(r, &seq, VS_MIG_SECTION_FULL, "section type", &type, errp)) {
        return false;
    }
    if (type < VS_MIG_SECTION_START) {
        return bs_fail(r, errp, VS_MIG_ERROR_FORMAT, "section type %" PRIu64 " is not 1-4",
                       type);
    }
    sec->type = (uint8_t)type;
    return bs_uint32(r, &seq, "section id", &sec->section_id, errp) &&
           bs_string(r, s, &seq, BS_MAX_NAME, "section idstr", &sec->idstr, errp) &&
           bs_uint32(r, &seq, "section instance", &sec->instance_id, errp) &&
           bs_uint32(r, &seq, "section version", &sec->version_id, errp) &&
           bs_bool(r, &seq, "section has-footer", &sec->has_footer, errp) &&
           bs_load_body(r, s, sec, &seq, errp) && bs_done(r, &seq, "section", errp);
}

static bool bs_load_config(BsReader *r, VsStream *s, const BsSeq *rec_seq, const VsBerTlv *tlv,
                           GError **errp)
{
    VsRecord *rec = vs_stream_add_record(s);
    const uint8_t *rest;
    BsSeq seq;

    rec->kind = VS_REC_CONFIG;
    if (!bs_inner(r, rec_seq, tlv, VS_BER_UNIVERSAL, true, VS_BER_TAG_SEQUENCE, "configuration",
                  &seq, errp) ||
        !bs_string(r, s, &seq, UINT32_MAX, "configuration machine", &rec->machine, errp) ||
        !bs_octets(r, &seq, SIZE_MAX, "configuration rest", &rest, &rec->config_rest_len,
                   errp) ||
        !bs_done(r, &seq, "configuration", errp)) {
        return false;
    }
    rec->config_rest = vs_mig_memdup(s, rest, rec->config_rest_len);
    s->machine = rec->machine;
    return true;
}

static bool bs_load_package(BsReader *r, VsStream *s, VsCommand *cmd, BsSeq *seq,
                            GError **errp)
{
    BsReader sub = *r;
    bool ok;

    if (cmd->len != 4 || seq->pos >= seq->end) {
        return bs_fail(r, errp, VS_MIG_ERROR_FORMAT,
                       "PACKAGED command with %u payload bytes%s", cmd->len,
                       seq->pos >= seq->end ? " and no package" : "");
    }
    if (r->packages >= BS_MAX_PACKAGE_DEPTH) {
        return bs_fail(r, errp, VS_MIG_ERROR_LIMIT, "packages nest deeper than %d",
                       BS_MAX_PACKAGE_DEPTH);
    }
    cmd->package_len = (uint32_t)cmd->payload[0] << 24 | (uint32_t)cmd->payload[1] << 16 |
                       (uint32_t)cmd->payload[2] << 8 | cmd->payload[3];
    sub.packages++;
    ok = bs_load_stream(&sub, s, seq, false, &cmd->package, errp);
    if (!ok) {
        g_prefix_error(errp, "BER stream record %zu at offset 0x%zx, its package: ", r->rec,
                       r->at);
    }
    return ok;
}

static bool bs_load_command(BsReader *r, VsStream *s, const BsSeq *rec_seq, const VsBerTlv *tlv,
                            GError **errp)
{
    VsRecord *rec = vs_stream_add_record(s);
    VsCommand *cmd = &rec->command;
    const uint8_t *payload;
    size_t len;
    uint64_t v;
    BsSeq seq;

    rec->kind = VS_REC_COMMAND;
    if (!bs_inner(r, rec_seq, tlv, VS_BER_UNIVERSAL, true, VS_BER_TAG_SEQUENCE, "command", &seq,
                  errp) ||
        !bs_uint(r, &seq, UINT16_MAX, "command number", &v, errp) ||
        !bs_octets(r, &seq, UINT16_MAX, "command payload", &payload, &len, errp)) {
        return false;
    }
    cmd->cmd = (uint16_t)v;
    cmd->len = (uint16_t)len;
    cmd->payload = vs_mig_memdup(s, payload, len);
    if (cmd->cmd == BS_CMD_PACKAGED && !bs_load_package(r, s, cmd, &seq, errp)) {
        return false;
    }
    return bs_done(r, &seq, "command", errp);
}

static bool bs_load_eof(BsReader *r, VsStream *s, const BsSeq *rec_seq, const VsBerTlv *tlv,
                        GError **errp)
{
    BsSeq null;

    if (!bs_inner(r, rec_seq, tlv, VS_BER_UNIVERSAL, false, VS_BER_TAG_NULL, "EOF", &null,
                  errp)) {
        return false;
    }
    if (null.end != null.pos) {
        return bs_fail(r, errp, VS_MIG_ERROR_FORMAT, "EOF: NULL with content");
    }
    vs_stream_add_record(s)->kind = VS_REC_EOF;
    return true;
}

/* The bytes of `[tag] OCTET STRING`, copied. */
static bool bs_load_bytes(BsReader *r, VsStream *s, const BsSeq *rec_seq, const VsBerTlv *tlv,
                          size_t max, const char *what, uint8_t **ret, size_t *ret_len,
                          GError **errp)
{
    BsSeq in;

    if (!bs_inner(r, rec_seq, tlv, VS_BER_UNIVERSAL, false, VS_BER_TAG_OCTET_STRING, what, &in,
                  errp)) {
        return false;
    }
    if (in.end - in.pos > max) {
        return bs_fail(r, errp, VS_MIG_ERROR_FORMAT, "%s of %zu bytes, at most %zu fit", what,
                       in.end - in.pos, max);
    }
    *ret_len = in.end - in.pos;
    *ret = vs_mig_memdup(s, r->data + in.pos, *ret_len);
    return true;
}

static bool bs_load_trailer(BsReader *r, VsStream *s, const BsSeq *rec_seq, const VsBerTlv *tlv,
                            GError **errp)
{
    VsJsonLimits limits = { 0 };

    if (s->vmdesc_raw) {
        return bs_fail(r, errp, VS_MIG_ERROR_FORMAT, "a second trailer");
    }
    if (!bs_load_bytes(r, s, rec_seq, tlv, UINT32_MAX, "trailer", &s->vmdesc_raw,
                       &s->vmdesc_len, errp)) {
        return false;
    }
    vs_stream_add_record(s)->kind = VS_REC_VMDESC;
    limits.max_nodes = s->vmdesc_len / BS_TRAILER_BYTES_PER_NODE + BS_TRAILER_MIN_NODES;
    s->vmdesc = vs_json_parse(s, s->vmdesc_raw, s->vmdesc_len, &limits, NULL);
    return true;
}

static bool bs_load_record(BsReader *r, VsStream *s, const BsSeq *seq, const VsBerTlv *tlv,
                           GError **errp)
{
    switch (tlv->tag) {
    case BS_TAG_CONFIG:
        return bs_load_config(r, s, seq, tlv, errp);
    case BS_TAG_SECTION:
        return bs_load_section(r, s, seq, tlv, errp);
    case BS_TAG_COMMAND:
        return bs_load_command(r, s, seq, tlv, errp);
    case BS_TAG_EOF:
        return bs_load_eof(r, s, seq, tlv, errp);
    case BS_TAG_TRAILER:
        return bs_load_trailer(r, s, seq, tlv, errp);
    default:
        return bs_load_bytes(r, s, seq, tlv, SIZE_MAX, "trailing bytes", &s->trailing,
                             &s->trailing_len, errp);
    }
}

/* Whether @body is at the end of the stream's elements; consumes the EOC. */
static bool bs_at_end(const BsReader *r, BsSeq *body, bool indefinite)
{
    if (!indefinite) {
        return body->pos == body->end;
    }
    if (body->end - body->pos >= 2 && r->data[body->pos] == 0 && r->data[body->pos + 1] == 0) {
        body->pos += 2;
        return true;
    }
    return false;
}

static bool bs_load_records(BsReader *r, VsStream *s, BsSeq *body, bool indefinite,
                            GError **errp)
{
    bool trailing = false;

    for (size_t i = 0; !bs_at_end(r, body, indefinite); i++) {
        VsBerTlv tlv;

        r->rec = i;
        r->at = body->pos;
        if (s == r->top) {
            r->top_rec = i;
            r->top_at = body->pos;
        }
        if (!bs_peek(r, body, "record", &tlv, errp)) {
            return false;
        }
        size_t before = s->n_records;

        if (trailing || tlv.cls != VS_BER_CONTEXT || !tlv.constructed ||
            tlv.tag < BS_TAG_CONFIG || tlv.tag > BS_TAG_TRAILING || tlv.tag == BS_TAG_RAM) {
            char buf[32];

            return bs_fail(r, errp, VS_MIG_ERROR_FORMAT, "%s where %s",
                           vs_ber_tag_name(&tlv, buf, sizeof(buf)),
                           trailing ? "the trailing bytes [23] ended the stream"
                                    : "a record [17]-[18], [20]-[23] belongs");
        }
        body->pos = tlv.end;
        if (!bs_load_record(r, s, body, &tlv, errp)) {
            /* The records before the failing one stand (the caller may keep them). */
            s->n_records = before;
            return false;
        }
        trailing = tlv.tag == BS_TAG_TRAILING;
    }
    return true;
}

/* Whether @e's wire name has a schema here, and whether the digests agree. */
static void bs_match_schema(VsBerSectionSchema *e)
{
    const VsRegistryEntry *reg = vs_registry_lookup(e->wire_name);
    uint8_t here[VS_BER_DIGEST_LEN];

    if (!reg) {
        e->match = VS_BER_SCHEMA_UNKNOWN;
        return;
    }
    if (!e->has_digest) {
        e->match = VS_BER_SCHEMA_NO_DIGEST;
        return;
    }
    vs_ber_schema_digest(reg->type, here);
    e->match = memcmp(here, e->digest, sizeof(here)) == 0 ? VS_BER_SCHEMA_SAME
                                                          : VS_BER_SCHEMA_DIFFERS;
}

/* One entry of the header's schema list; kept in @info when it is not NULL. */
static bool bs_load_schema(BsReader *r, BsSeq *list, VsBerStreamInfo *info, GError **errp)
{
    VsBerSectionSchema e = { 0 };
    const char *idstr, *wire;
    size_t idstr_len, wire_len, digest_len;
    const uint8_t *digest;
    bool mark = false;
    BsSeq seq;

    r->at = list->pos;
    if (!bs_next_seq(r, list, "schema entry", &seq, errp) ||
        !bs_string_raw(r, &seq, BS_MAX_NAME, "schema entry idstr", &idstr, &idstr_len, errp) ||
        !bs_uint32(r, &seq, "schema entry instance", &e.instance_id, errp) ||
        !bs_string_raw(r, &seq, BS_MAX_NAME, "schema entry wire name", &wire, &wire_len,
                       errp) ||
        !bs_octets(r, &seq, VS_BER_DIGEST_LEN, "schema digest", &digest, &digest_len, errp)) {
        return false;
    }
    if (digest_len != 0 && digest_len != VS_BER_DIGEST_LEN) {
        return bs_fail(r, errp, VS_MIG_ERROR_FORMAT,
                       "schema digest of '%.*s': %zu bytes, not 0 or %d", (int)idstr_len, idstr,
                       digest_len, VS_BER_DIGEST_LEN);
    }
    if (seq.pos < seq.end && !bs_bool(r, &seq, "must-understand", &mark, errp)) {
        return false;
    }
    if (!bs_done(r, &seq, "schema entry", errp)) {
        return false;
    }
    if (!info) {
        return true;
    }
    e.idstr = talloc_strndup(info, idstr, idstr_len);
    e.wire_name = talloc_strndup(info, wire, wire_len);
    g_assert(e.idstr && e.wire_name);
    e.has_digest = digest_len != 0;
    if (e.has_digest) {
        memcpy(e.digest, digest, VS_BER_DIGEST_LEN);
    }
    e.must_understand = mark;
    bs_match_schema(&e);
    info->sections = talloc_realloc(info, info->sections, VsBerSectionSchema,
                                    info->n_sections + 1);
    g_assert(info->sections != NULL);
    info->sections[info->n_sections++] = e;
    return true;
}

/* The header's schema list, when the writer sent one (older streams have none). */
static bool bs_load_schemas(BsReader *r, BsSeq *header, VsBerStreamInfo *info, GError **errp)
{
    BsSeq list;

    if (header->pos >= header->end) {
        return true;
    }
    if (!bs_next_seq(r, header, "schema list", &list, errp)) {
        return false;
    }
    while (list.pos < list.end) {
        if (!bs_load_schema(r, &list, info, errp)) {
            return false;
        }
    }
    return true;
}

static bool bs_load_header(BsReader *r, VsStream *s, BsSeq *body, bool top, GError **errp)
{
    VsBerTlv tlv;
    const char *p;
    size_t n;
    uint64_t v;
    char *machine;
    BsSeq seq;

    if (!bs_next(r, body, VS_BER_CONTEXT, true, BS_TAG_HEADER, "header", &tlv, errp) ||
        !bs_inner(r, body, &tlv, VS_BER_UNIVERSAL, true, VS_BER_TAG_SEQUENCE, "header", &seq,
                  errp) ||
        !bs_next(r, &seq, VS_BER_UNIVERSAL, false, VS_BER_TAG_UTF8STRING, "format name", &tlv,
                 errp)) {
        return false;
    }
    if (tlv.len != 6 || memcmp(r->data + tlv.content, "vstate", 6) != 0) {
        return bs_fail(r, errp, VS_MIG_ERROR_FORMAT, "format name is not \"vstate\"");
    }
    if (!bs_string_raw(r, &seq, BS_MAX_NAME, "writer", &p, &n, errp) ||
        !bs_uint32(r, &seq, "file version", &s->version, errp) ||
        !bs_string(r, s, &seq, UINT32_MAX, "machine", &machine, errp) ||
        !bs_uint(r, &seq, BS_MAX_PAGE_SIZE, "page size", &v, errp) ||
        !bs_load_schemas(r, &seq, top ? r->info : NULL, errp) ||
        !bs_done(r, &seq, "header", errp)) {
        return false;
    }
    if (top && r->info) {
        r->info->writer = talloc_strndup(r->info, p, n);
        g_assert(r->info->writer != NULL);
    }
    if ((s->version == 0) == top || v < BS_MIN_PAGE_SIZE || (v & (v - 1))) {
        return bs_fail(r, errp, VS_MIG_ERROR_FORMAT,
                       "file version %" PRIu32 " and page size %" PRIu64 " do not fit %s",
                       s->version, v, top ? "a stream" : "a package (version 0)");
    }
    s->page_size = v;
    s->machine = *machine ? machine : NULL;
    if (top && r->info) {
        r->info->file_version = s->version;
        r->info->machine = talloc_strdup(r->info, machine);
        r->info->page_size = v;
    }
    return true;
}

/* The stream SEQUENCE at @in's position; @in moves past it. */
static bool bs_load_stream(BsReader *r, TALLOC_CTX *ctx, BsSeq *in, bool top, VsStream **ret,
                           GError **errp)
{
    VsStream *s = talloc_zero(ctx, VsStream);
    bool indefinite = in->end - in->pos >= 2 && r->data[in->pos] == 0x30 &&
                      r->data[in->pos + 1] == 0x80;
    BsSeq body;
    bool ok;

    g_assert(s != NULL);
    *ret = NULL;
    if (top) {
        r->top = s;
    }
    r->rec = SIZE_MAX;
    r->at = in->pos;
    if (indefinite) {
        body = (BsSeq){ .pos = in->pos + 2, .end = in->end, .depth = in->depth + 1,
                        .open = in->open };
        ok = true;
    } else {
        ok = bs_next_seq(r, in, "stream", &body, errp);
    }
    ok = ok && bs_load_header(r, s, &body, top, errp) &&
         bs_load_records(r, s, &body, indefinite, errp);
    if (!ok) {
        /* The top stream keeps its records once its header was read. */
        if (top && r->rec != SIZE_MAX) {
            vs_stream_shrink(s);
            *ret = s;
        } else {
            talloc_free(s);
        }
        return false;
    }
    vs_stream_shrink(s);
    in->pos = body.pos;
    *ret = s;
    return true;
}

bool vs_stream_load_ber_info(TALLOC_CTX *mem_ctx, const uint8_t *data, size_t len,
                             VsStream **ret_stream, VsBerStreamInfo **ret_info, GError **errp)
{
    if (!vs_stream_load_ber_opts(mem_ctx, data, len, NULL, ret_stream, ret_info, NULL, errp)) {
        /* All or nothing here, as before partial loads. */
        if (ret_info) {
            TALLOC_FREE(*ret_info);
        }
        TALLOC_FREE(*ret_stream);
        return false;
    }
    return true;
}

/*
 * The section record the load failed in, read again as far as it goes:
 * its header and the fields of its state before the failure.  The load's
 * error @err gains the section and the field path when they are known.
 */
static VsSection *bs_salvage(BsReader *r, VsStream *s, GError **err)
{
    BsSeq all = { .pos = r->top_at, .end = r->len, .depth = 1, .open = true };
    size_t before = s->n_records;
    VsSection *failed = NULL;
    g_autofree char *path = NULL;
    VsBerTlv tlv;

    r->salvage = true;
    r->rec = r->top_rec;
    r->at = r->top_at;
    if (!bs_peek(r, &all, "record", &tlv, NULL) ||
        !vs_ber_is(&tlv, VS_BER_CONTEXT, true, BS_TAG_SECTION)) {
        return NULL;
    }
    bs_load_section(r, s, &all, &tlv, NULL);
    if (s->n_records > before && s->records[before].section.idstr) {
        failed = talloc_memdup(s, &s->records[before].section, sizeof(VsSection));
        g_assert(failed != NULL);
    }
    s->n_records = before;
    if (failed && *err) {
        const VsSection *sec = failed;

        if (r->salvage_path && *r->salvage_path) {
            path = g_strdup_printf(", field %s.%s", sec->wire_name, r->salvage_path);
        }
        g_prefix_error(err, "section '%s' (instance %" PRIu32 ", version %" PRIu32 ")%s: ",
                       sec->idstr, sec->instance_id, sec->version_id, path ? path : "");
        if (r->salvage_error && !strstr((*err)->message, r->salvage_error->message)) {
            g_autofree char *msg = (*err)->message;

            (*err)->message = g_strdup_printf("%s (the state's bytes from offset 0x%zx: %s)", msg,
                                              r->at, r->salvage_error->message);
        }
    }
    g_clear_error(&r->salvage_error);
    g_free(r->salvage_path);
    return failed;
}

bool vs_stream_load_ber_opts(TALLOC_CTX *mem_ctx, const uint8_t *data, size_t len,
                             const VsLoadOptions *opts, VsStream **ret_stream,
                             VsBerStreamInfo **ret_info, VsSection **ret_failed, GError **errp)
{
    BsReader r = { .data = data, .len = len, .rec = SIZE_MAX };
    GError *local = NULL;

    if (opts) {
        r.ram_page = opts->ram_page;
        r.ram_page_opaque = opts->ram_page_opaque;
    }
    BsSeq all = { .pos = 0, .end = len, .open = true };
    VsStream *s = NULL;

    *ret_stream = NULL;
    if (ret_info) {
        *ret_info = NULL;
        r.info = talloc_zero(mem_ctx, VsBerStreamInfo);
        g_assert(r.info != NULL);
    }
    if (ret_failed) {
        *ret_failed = NULL;
    }
    if (!bs_load_stream(&r, mem_ctx, &all, true, &s, &local)) {
        if (s && ret_failed) {
            *ret_failed = bs_salvage(&r, s, &local);
        }
        g_propagate_error(errp, g_steal_pointer(&local));
        *ret_stream = s;
        if (ret_info && s) {
            *ret_info = r.info;
        } else {
            talloc_free(r.info);
        }
        return false;
    }
    if (all.pos != len) {
        talloc_free(s);
        talloc_free(r.info);
        return vs_mig_fail(errp, VS_MIG_ERROR_FORMAT,
                           "BER stream: %zu bytes follow its end at offset 0x%zx", len - all.pos,
                           all.pos);
    }
    *ret_stream = s;
    if (ret_info) {
        *ret_info = r.info;
    }
    return true;
}

bool vs_stream_load_ber(TALLOC_CTX *mem_ctx, const uint8_t *data, size_t len,
                        VsStream **ret_stream, GError **errp)
{
    return vs_stream_load_ber_info(mem_ctx, data, len, ret_stream, NULL, errp);
}

/* ---- schema digests and must-understand sections --------------------------- */

static void bs_hex(GString *out, const uint8_t *bytes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        g_string_append_printf(out, "%02x", bytes[i]);
    }
}

/* "section 'i8259' instance 1 (wire name 'i8259')" */
static char *bs_section_name(const VsBerSectionSchema *e)
{
    return g_strdup_printf("section '%s' instance %" PRIu32 " (wire name '%s')", e->idstr,
                           e->instance_id, e->wire_name);
}

bool vs_ber_stream_check(const VsBerStreamInfo *info, VsBerPolicy policy, GPtrArray *notes,
                         GError **errp)
{
    for (size_t i = 0; i < info->n_sections; i++) {
        const VsBerSectionSchema *e = &info->sections[i];
        g_autofree char *what = bs_section_name(e);
        g_autoptr(GString) hex = g_string_new(NULL);

        switch (e->match) {
        case VS_BER_SCHEMA_SAME:
            break;
        case VS_BER_SCHEMA_DIFFERS:
            bs_hex(hex, e->digest, 4);
            if (notes) {
                g_ptr_array_add(notes,
                                g_strdup_printf("%s: the writer's schema (digest %s...) differs "
                                                "from this build's; its fields are checked "
                                                "one by one",
                                                what, hex->str));
            }
            break;
        case VS_BER_SCHEMA_NO_DIGEST:
            if (notes) {
                g_ptr_array_add(notes, g_strdup_printf("%s: the writer sent no schema digest; "
                                                       "its fields are checked one by one",
                                                       what));
            }
            break;
        case VS_BER_SCHEMA_UNKNOWN:
            if (policy == VS_BER_STRICT) {
                return vs_mig_fail(errp, VS_MIG_ERROR_SECTION, "%s: no schema here", what);
            }
            if (e->must_understand) {
                return vs_mig_fail(errp, VS_MIG_ERROR_SECTION,
                                   "%s is marked must-understand and has no schema here", what);
            }
            if (notes) {
                g_ptr_array_add(notes, g_strdup_printf("%s: no schema here; skipped", what));
            }
            break;
        }
    }
    return true;
}

void vs_ber_stream_info_render(const VsBerStreamInfo *info, GString *out)
{
    static const char *const match[] = {
        [VS_BER_SCHEMA_SAME] = "same as this build's",
        [VS_BER_SCHEMA_DIFFERS] = "differs from this build's",
        [VS_BER_SCHEMA_NO_DIGEST] = "none sent; this build has one",
        [VS_BER_SCHEMA_UNKNOWN] = "no schema in this build",
    };

    g_string_append_printf(out, "writer: vstate %s\n", info->writer ? info->writer : "?");
    g_string_append_printf(out, "file version: %" PRIu32 "\n", info->file_version);
    g_string_append_printf(out, "machine: %s\n",
                           info->machine && *info->machine ? info->machine : "(none)");
    g_string_append_printf(out, "page size: %" PRIu64 "\n", info->page_size);
    for (size_t i = 0; i < info->n_sections; i++) {
        const VsBerSectionSchema *e = &info->sections[i];

        g_string_append_printf(out, "section %s instance %" PRIu32 " (%s): schema ", e->idstr,
                               e->instance_id, e->wire_name);
        if (e->has_digest) {
            g_string_append(out, "sha256:");
            bs_hex(out, e->digest, VS_BER_DIGEST_LEN);
        } else {
            g_string_append(out, "-");
        }
        g_string_append_printf(out, " (%s)%s\n", match[e->match],
                               e->must_understand ? " must-understand" : "");
    }
}
