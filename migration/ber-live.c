/*
 * ber-live.c: the BER stream form as a live migration stream: the source's
 * incremental writer and the destination's incremental reader (see
 * ber-live.h).
 *
 * SPDX-License-Identifier: MIT
 *
 * The reader never trusts a length before it checked it against what it
 * bounds: a container's remaining bytes, the largest element of its kind
 * (a device state, a header), the local RAM block.  Elements that are not
 * RAM are read whole into a buffer, bounded, and parsed there with the BER
 * layer; RAM records are read field by field so that page data lands in
 * guest memory without a copy.
 */
#include "migration/ber-live.h"

#include "migration/ber-stream.h"
#include "migration/migrate.h"
#include "migration/stream.h"
#include "migration/trace-migration.h"
#include "migration/vmdesc.h"
#include "visitor/ber/ber-tlv.h"
#include "visitor/ber/ber-visitor.h"
#include "visitor/pretty/tee-visitor.h"
#include "visitor/qemufile/legacy-visitor.h"
#include "vs-version.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

/* The record tags of docs/ber-format.md, "Streams". */
enum {
    BL_TAG_HEADER = 16,
    BL_TAG_CONFIG = 17,
    BL_TAG_SECTION = 18,
    BL_TAG_RAM = 19,
    BL_TAG_COMMAND = 20,
    BL_TAG_EOF = 21,
    BL_TAG_TRAILER = 22,
    BL_TAG_TRAILING = 23,
};

#define BL_TAG_STRUCT 12
#define BL_FILE_VERSION 3u
#define BL_MAX_NAME 255u
/* Bounds on what the reader holds at once. */
#define BL_MAX_HEADER (16u << 20)
#define BL_MAX_CONFIG (1u << 20)
#define BL_MAX_STATE (64u << 20)
#define BL_MAX_TRAILER (64u << 20)
#define BL_MAX_SECTIONS 65536u
/* A page record's bytes before its data: SEQUENCE, offset, flags, block, OCTET STRING. */
#define BL_PAGE_HEADER_MAX (4 * VS_BER_MAX_HEADER + 2 * 9 + BL_MAX_NAME)

/* ---- source ------------------------------------------------------------------ */

struct VsBerLiveOut {
    const VsSaveState *devices;
    VsRamRecordWriter writer;
    const VsRamSaveBlock *last_block;   /* CONTINUE, as QEMU's saver sets it */
};

static void bl_put_string(GByteArray *out, const char *s)
{
    size_t n = strlen(s);

    vs_ber_put_prim(out, VS_BER_UNIVERSAL, VS_BER_TAG_VISIBLESTRING, n ? s : NULL, n);
}

static void bl_put_bool(GByteArray *out, bool b)
{
    uint8_t v = b ? 0xff : 0x00;

    vs_ber_put_prim(out, VS_BER_UNIVERSAL, VS_BER_TAG_BOOLEAN, &v, 1);
}

static void bl_put_octets(GByteArray *out, const void *data, size_t len)
{
    vs_ber_put_prim(out, VS_BER_UNIVERSAL, VS_BER_TAG_OCTET_STRING, len ? data : NULL, len);
}

static void bl_flush_array(VsQemuFile *f, GByteArray *out)
{
    vs_qemufile_put_buffer(f, out->data, out->len);
    g_byte_array_set_size(out, 0);
}

/* A primitive TLV at @p; returns its size. */
static size_t bl_prim_at(uint8_t *p, uint32_t tag, const void *data, size_t len)
{
    size_t n = vs_ber_write_header(p, vs_ber_id_bits(VS_BER_UNIVERSAL, false), tag, len);

    memcpy(p + n, data, len);
    return n + len;
}

static size_t bl_uint_at(uint8_t *p, uint64_t v)
{
    uint8_t octets[9];

    return bl_prim_at(p, VS_BER_TAG_INTEGER, octets, vs_ber_integer_octets(v, false, octets));
}

static void bl_out_mem_size(void *opaque, VsQemuFile *f, const VsRamSaveBlock *blocks, size_t n)
{
    VsBerLiveOut *o = opaque;
    g_autoptr(GByteArray) out = g_byte_array_new();
    size_t rec = vs_ber_open(out, VS_BER_UNIVERSAL, VS_BER_TAG_SEQUENCE);
    size_t list;
    uint64_t total = 0;

    for (size_t i = 0; i < n; i++) {
        total += blocks[i].length;
    }
    vs_ber_put_uint(out, total);
    vs_ber_put_uint(out, VS_RAM_MEM_SIZE);
    list = vs_ber_open(out, VS_BER_UNIVERSAL, VS_BER_TAG_SEQUENCE);
    for (size_t i = 0; i < n; i++) {
        size_t seq = vs_ber_open(out, VS_BER_UNIVERSAL, VS_BER_TAG_SEQUENCE);

        bl_put_string(out, blocks[i].name);
        vs_ber_put_uint(out, blocks[i].length);
        vs_ber_close(out, seq);
    }
    vs_ber_close(out, list);
    vs_ber_close(out, rec);
    bl_flush_array(f, out);
    /* As QEMU after the block list: the next page record names its block. */
    o->last_block = NULL;
}

/*
 * A ZERO or PAGE record: the record's header and fields in one write, the
 * page's bytes by reference from guest memory (vs_qemufile_put_borrowed():
 * a page the guest changes before the flush is dirty and sent again).
 */
static bool bl_out_page(void *opaque, VsQemuFile *f, const VsRamSaveBlock *block,
                        uint64_t offset)
{
    VsBerLiveOut *o = opaque;
    const uint8_t *page = block->host + offset;
    bool zero = vs_ram_page_is_zero(page, VS_RAM_PAGE_SIZE);
    uint32_t flags = zero ? VS_RAM_ZERO : VS_RAM_PAGE;
    size_t name_len = strlen(block->name);
    uint8_t buf[VS_BER_MAX_HEADER + BL_PAGE_HEADER_MAX];
    uint8_t *fields = buf + VS_BER_MAX_HEADER;
    size_t n = 0, h, payload;

    g_assert(offset % VS_RAM_PAGE_SIZE == 0 && offset < block->length);
    if (block == o->last_block) {
        flags |= VS_RAM_CONTINUE;
    }
    o->last_block = block;
    n += bl_uint_at(fields + n, offset);
    n += bl_uint_at(fields + n, flags);
    n += bl_prim_at(fields + n, VS_BER_TAG_VISIBLESTRING, block->name, name_len);
    if (zero) {
        n += bl_uint_at(fields + n, 0);
        payload = 0;
    } else {
        n += vs_ber_write_header(fields + n, vs_ber_id_bits(VS_BER_UNIVERSAL, false),
                                 VS_BER_TAG_OCTET_STRING, VS_RAM_PAGE_SIZE);
        payload = VS_RAM_PAGE_SIZE;
    }
    /* The SEQUENCE's header goes right before the fields. */
    h = vs_ber_header_size(VS_BER_TAG_SEQUENCE, n + payload);
    vs_ber_write_header(fields - h, vs_ber_id_bits(VS_BER_UNIVERSAL, true), VS_BER_TAG_SEQUENCE,
                        n + payload);
    vs_qemufile_put_buffer(f, fields - h, h + n);
    if (!zero) {
        vs_qemufile_put_borrowed(f, page, VS_RAM_PAGE_SIZE);
    }
    return zero;
}

static void bl_out_eos(void *opaque, VsQemuFile *f)
{
    /* SEQUENCE { offset 0, flags EOS } */
    static const uint8_t eos[] = { 0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, VS_RAM_EOS };

    (void)opaque;
    vs_qemufile_put_buffer(f, eos, sizeof(eos));
}

VsBerLiveOut *vs_ber_live_out_new(TALLOC_CTX *mem_ctx, const VsSaveState *devices)
{
    VsBerLiveOut *o = talloc_zero(mem_ctx, VsBerLiveOut);

    g_assert(o != NULL);
    o->devices = devices;
    o->writer = (VsRamRecordWriter){ .mem_size = bl_out_mem_size, .page = bl_out_page,
                                     .eos = bl_out_eos, .opaque = o };
    return o;
}

const VsRamRecordWriter *vs_ber_live_ram_writer(VsBerLiveOut *o)
{
    return &o->writer;
}

/* The header's schema list: every device section the stream will hold, in order. */
static void bl_put_schemas(const VsBerLiveOut *o, GByteArray *out)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    size_t n = 0;
    VsSaveDeviceRef *devs = vs_savevm_devices_in_order(o->devices, tmp, &n);
    size_t list = vs_ber_open(out, VS_BER_UNIVERSAL, VS_BER_TAG_SEQUENCE);

    for (size_t i = 0; i < n; i++) {
        uint8_t digest[VS_BER_DIGEST_LEN];
        size_t seq = vs_ber_open(out, VS_BER_UNIVERSAL, VS_BER_TAG_SEQUENCE);

        bl_put_string(out, devs[i].idstr);
        vs_ber_put_uint(out, devs[i].instance_id);
        bl_put_string(out, devs[i].entry->type->wire_name);
        vs_ber_schema_digest(devs[i].entry->type, digest);
        bl_put_octets(out, digest, sizeof(digest));
        vs_ber_close(out, seq);
    }
    vs_ber_close(out, list);
    talloc_free(tmp);
}

void vs_ber_live_put_header(VsBerLiveOut *o, VsQemuFile *f)
{
    static const uint8_t indefinite[] = { 0x30, 0x80 };
    g_autoptr(GByteArray) out = g_byte_array_new();
    const char *machine = vs_savevm_machine_type(o->devices);
    size_t outer, seq;

    g_byte_array_append(out, indefinite, sizeof(indefinite));
    outer = vs_ber_open(out, VS_BER_CONTEXT, BL_TAG_HEADER);
    seq = vs_ber_open(out, VS_BER_UNIVERSAL, VS_BER_TAG_SEQUENCE);
    vs_ber_put_prim(out, VS_BER_UNIVERSAL, VS_BER_TAG_UTF8STRING, "vstate", 6);
    bl_put_string(out, VS_VERSION_STRING);
    vs_ber_put_uint(out, BL_FILE_VERSION);
    bl_put_string(out, machine);
    vs_ber_put_uint(out, VS_RAM_PAGE_SIZE);
    bl_put_schemas(o, out);
    vs_ber_close(out, seq);
    vs_ber_close(out, outer);

    outer = vs_ber_open(out, VS_BER_CONTEXT, BL_TAG_CONFIG);
    seq = vs_ber_open(out, VS_BER_UNIVERSAL, VS_BER_TAG_SEQUENCE);
    bl_put_string(out, machine);
    bl_put_octets(out, NULL, 0);
    vs_ber_close(out, seq);
    vs_ber_close(out, outer);
    bl_flush_array(f, out);
}

void vs_ber_live_open_section(VsBerLiveOut *o, VsQemuFile *f, uint8_t type,
                              uint32_t section_id)
{
    g_autoptr(GByteArray) out = g_byte_array_new();
    const uint8_t open_section[] = { vs_ber_id_bits(VS_BER_CONTEXT, true) | BL_TAG_SECTION,
                                     0x80, 0x30, 0x80 };
    const uint8_t open_body[] = { vs_ber_id_bits(VS_BER_CONTEXT, true) | BL_TAG_RAM, 0x80,
                                  0x30, 0x80 };

    (void)o;
    g_byte_array_append(out, open_section, sizeof(open_section));
    vs_ber_put_uint(out, type);
    vs_ber_put_uint(out, section_id);
    /* PART and END carry the START's idstr, instance and version too. */
    bl_put_string(out, "ram");
    vs_ber_put_uint(out, 0);
    vs_ber_put_uint(out, VS_SAVEVM_RAM_VERSION);
    bl_put_bool(out, true);
    g_byte_array_append(out, open_body, sizeof(open_body));
    bl_flush_array(f, out);
}

void vs_ber_live_close_section(VsBerLiveOut *o, VsQemuFile *f)
{
    (void)o;
    vs_qemufile_put_fill(f, 0, 8);
}

/* One device walked once: its BER state to @ber, its legacy FULL section to @legacy. */
static bool bl_walk_device(const VsSaveDeviceRef *d, GByteArray *ber, VsQemuFile *legacy,
                           VsJson *descs, GError **errp)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    VsVisitor *save, *bytes, *desc, *observers, *tee;
    g_autoptr(GError) local = NULL;
    const uint8_t *state;
    size_t state_len = 0, outer, seq;
    bool ok;

    g_assert(tmp != NULL);
    vs_savevm_put_section_header(legacy, VS_MIG_SECTION_FULL, d->section_id, d->idstr,
                                 d->instance_id, d->entry->type->version);
    save = vs_ber_save_visitor_new(tmp);
    bytes = vs_legacy_save_visitor_new(tmp, legacy);
    desc = vs_vmdesc_visitor_new(tmp, d->idstr, d->instance_id);
    observers = vs_tee_visitor_new(tmp, bytes, desc);
    tee = vs_tee_visitor_new(tmp, save, observers);
    ok = d->entry->walker(tee, d->idstr, d->obj, &local) && vs_visitor_complete(tee, &local);
    if (ok) {
        vs_savevm_put_footer(legacy, d->section_id);
        vs_json_array_append(descs, vs_vmdesc_visitor_steal(desc, descs));
        state = vs_ber_save_visitor_data(save, &state_len);
        outer = vs_ber_open(ber, VS_BER_CONTEXT, BL_TAG_SECTION);
        seq = vs_ber_open(ber, VS_BER_UNIVERSAL, VS_BER_TAG_SEQUENCE);
        vs_ber_put_uint(ber, VS_MIG_SECTION_FULL);
        vs_ber_put_uint(ber, d->section_id);
        bl_put_string(ber, d->idstr);
        vs_ber_put_uint(ber, d->instance_id);
        vs_ber_put_uint(ber, d->entry->type->version);
        bl_put_bool(ber, true);
        g_byte_array_append(ber, state, (guint)state_len);
        vs_ber_close(ber, seq);
        vs_ber_close(ber, outer);
    }
    vs_visitor_free(tee);
    vs_visitor_free(observers);
    vs_visitor_free(desc);
    vs_visitor_free(bytes);
    vs_visitor_free(save);
    talloc_free(tmp);
    if (!ok) {
        g_set_error(errp, VS_SAVEVM_ERROR, VS_SAVEVM_ERROR_DEVICE,
                    "saving section '%s' instance %" PRIu32 " failed: %s", d->idstr,
                    d->instance_id, local->message);
    }
    return ok;
}

bool vs_ber_live_put_devices(VsBerLiveOut *o, VsQemuFile *f, TALLOC_CTX *mem_ctx,
                             uint8_t **ret_legacy, size_t *ret_len, GError **errp)
{
    static const uint8_t eof[] = { 0xb5, 0x02, 0x05, 0x00 };
    static const uint8_t end[] = { 0x00, 0x00 };
    TALLOC_CTX *tmp = talloc_new(NULL);
    VsQemuFile *legacy = vs_qemufile_new_memory_writer(tmp);
    VsJson *descs = vs_json_new_array(tmp);
    g_autoptr(GByteArray) out = g_byte_array_new();
    size_t n = 0, before = 0, len = 0, outer;
    VsSaveDeviceRef *devs = vs_savevm_devices_in_order(o->devices, tmp, &n);
    const uint8_t *data;
    bool ok = true;

    for (size_t i = 0; ok && i < n; i++) {
        ok = bl_walk_device(&devs[i], out, legacy, descs, errp);
        bl_flush_array(f, out);
    }
    if (ok) {
        (void)vs_qemufile_memory_data(legacy, &before);
        vs_savevm_put_trailer(tmp, legacy, descs);
        data = vs_qemufile_memory_data(legacy, &len);
        /* The trailer's JSON follows EOF, its type byte and its be32 length. */
        g_assert(len >= before + 6);
        g_byte_array_append(out, eof, sizeof(eof));
        outer = vs_ber_open(out, VS_BER_CONTEXT, BL_TAG_TRAILER);
        bl_put_octets(out, data + before + 6, len - before - 6);
        vs_ber_close(out, outer);
        g_byte_array_append(out, end, sizeof(end));
        bl_flush_array(f, out);
        ok = vs_qemufile_flush(f, errp);
    }
    if (ok) {
        *ret_legacy = talloc_memdup(mem_ctx, data, len);
        *ret_len = len;
        g_assert(*ret_legacy != NULL || len == 0);
    }
    talloc_free(tmp);
    return ok;
}

/* ---- destination: elements from the channel -------------------------------------- */

typedef struct BlBinding {
    uint32_t section_id;
    char *idstr;
    uint32_t instance_id;
    uint32_t version_id;
    bool is_ram;
    const VsRegistryEntry *entry;
    void *obj;
} BlBinding;

typedef struct BlIn {
    VsQemuFile *f;
    const VsBerLiveSink *sink;
    TALLOC_CTX *ctx;
    size_t rec;                  /* index of the record being read; SIZE_MAX: the header */
    uint64_t rec_at;             /* its offset */
    BlBinding *bindings;         /* talloc array */
    size_t n_bindings;
    VsRamBlock *last;            /* the block of the last page record */
    bool got_config;
} BlIn;

/* A constructed element being read. */
typedef struct BlBox {
    bool indefinite;
    uint64_t end;                /* definite: where its content ends */
    unsigned depth;
} BlBox;

/* An element's identifier and length, read from the channel. */
typedef struct BlTlv {
    uint64_t start;
    VsBerClass cls;
    bool constructed;
    uint32_t tag;
    bool indefinite;
    uint64_t len;                /* definite only */
} BlTlv;

static bool bl_fail(const BlIn *in, GError **errp, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static bool bl_fail(const BlIn *in, GError **errp, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (in->rec == SIZE_MAX) {
        g_set_error(errp, VS_MIGRATE_ERROR, VS_MIGRATE_ERROR_STREAM,
                    "BER stream header at offset 0x%" PRIx64 ": %s", in->rec_at, msg);
    } else {
        g_set_error(errp, VS_MIGRATE_ERROR, VS_MIGRATE_ERROR_STREAM,
                    "BER stream record %zu at offset 0x%" PRIx64 ": %s", in->rec, in->rec_at,
                    msg);
    }
    return false;
}

static uint64_t bl_pos(const BlIn *in)
{
    return vs_qemufile_pos(in->f);
}

/* True (with the error) when the channel failed: the source went away, an I/O error. */
static bool bl_channel_failed(const BlIn *in, const char *what, GError **errp)
{
    if (!vs_qemufile_failed(in->f)) {
        return false;
    }
    bl_fail(in, errp, "%s: %s", what, vs_qemufile_error(in->f)->message);
    return true;
}

static const char *bl_tag_name(VsBerClass cls, bool constructed, uint32_t tag, char *buf,
                               size_t size)
{
    VsBerTlv t = { .cls = cls, .constructed = constructed, .tag = tag };

    return vs_ber_tag_name(&t, buf, size);
}

/* The length octets after an identifier. */
static bool bl_length(BlIn *in, BlTlv *t, const char *what, GError **errp)
{
    uint8_t l = vs_qemufile_get_byte(in->f);

    if (bl_channel_failed(in, what, errp)) {
        return false;
    }
    t->indefinite = l == 0x80;
    t->len = l;
    if (l == 0x80 && !t->constructed) {
        return bl_fail(in, errp, "%s at offset 0x%" PRIx64 ": a primitive element with an "
                       "indefinite length", what, t->start);
    }
    if (l > 0x80) {
        unsigned n = l & 0x7f;

        if (n > 8) {
            return bl_fail(in, errp, "%s at offset 0x%" PRIx64 ": %u length octets", what,
                           t->start, n);
        }
        t->len = 0;
        for (unsigned i = 0; i < n; i++) {
            t->len = t->len << 8 | vs_qemufile_get_byte(in->f);
        }
        if (bl_channel_failed(in, what, errp)) {
            return false;
        }
    }
    return true;
}

/* The next element's identifier and length inside @box; @what names it in errors. */
static bool bl_header(BlIn *in, const BlBox *box, const char *what, BlTlv *t, GError **errp)
{
    uint8_t id;

    t->start = bl_pos(in);
    if (!box->indefinite && t->start >= box->end) {
        return bl_fail(in, errp, "%s missing at offset 0x%" PRIx64 ": its container ends there",
                       what, t->start);
    }
    if (box->depth >= VS_BER_MAX_DEPTH) {
        return bl_fail(in, errp, "%s at offset 0x%" PRIx64 ": nested deeper than %d", what,
                       t->start, VS_BER_MAX_DEPTH);
    }
    id = vs_qemufile_get_byte(in->f);
    if (bl_channel_failed(in, what, errp)) {
        return false;
    }
    if ((id & 0x1f) == 0x1f) {
        return bl_fail(in, errp, "%s at offset 0x%" PRIx64 ": tag numbers from 31 are not "
                       "part of the stream form", what, t->start);
    }
    t->cls = (VsBerClass)(id >> 6);
    t->constructed = (id & 0x20) != 0;
    t->tag = id & 0x1f;
    if (!bl_length(in, t, what, errp)) {
        return false;
    }
    if (id == 0 && t->len == 0 && !t->indefinite) {
        return bl_fail(in, errp, "%s at offset 0x%" PRIx64 ": end-of-contents where an element "
                       "belongs", what, t->start);
    }
    if (!box->indefinite && bl_pos(in) > box->end) {
        return bl_fail(in, errp, "%s at offset 0x%" PRIx64 ": its header runs past its "
                       "container's end at 0x%" PRIx64, what, t->start, box->end);
    }
    if (!t->indefinite && !box->indefinite && t->len > box->end - bl_pos(in)) {
        return bl_fail(in, errp, "%s at offset 0x%" PRIx64 ": its length 0x%" PRIx64
                       " runs past its container's end at 0x%" PRIx64, what, t->start, t->len,
                       box->end);
    }
    return true;
}

/* bl_header() of an element that must have this identifier. */
static bool bl_expect(BlIn *in, const BlBox *box, VsBerClass cls, bool constructed,
                      uint32_t tag, const char *what, BlTlv *t, GError **errp)
{
    char want[32], got[32];

    if (!bl_header(in, box, what, t, errp)) {
        return false;
    }
    if (t->cls != cls || t->constructed != constructed || t->tag != tag) {
        return bl_fail(in, errp, "%s at offset 0x%" PRIx64 ": expected %s, found %s", what,
                       t->start, bl_tag_name(cls, constructed, tag, want, sizeof(want)),
                       bl_tag_name(t->cls, t->constructed, t->tag, got, sizeof(got)));
    }
    return true;
}

static BlBox bl_enter(const BlIn *in, const BlBox *outer, const BlTlv *t)
{
    return (BlBox){ .indefinite = t->indefinite, .end = bl_pos(in) + t->len,
                    .depth = outer->depth + 1 };
}

/* Whether @box has another element. */
static bool bl_more(BlIn *in, const BlBox *box, const char *what, bool *ret_more,
                    GError **errp)
{
    const uint8_t *p;

    if (!box->indefinite) {
        if (bl_pos(in) > box->end) {
            return bl_fail(in, errp, "%s runs past its container's end at 0x%" PRIx64, what,
                           box->end);
        }
        *ret_more = bl_pos(in) < box->end;
        return true;
    }
    if (vs_qemufile_peek(in->f, 0, 2, &p) < 2) {
        /* Not a whole end-of-contents: the channel says why. */
        vs_qemufile_skip(in->f, 2);
        return !bl_channel_failed(in, what, errp) &&
               bl_fail(in, errp, "%s: the input ends", what);
    }
    *ret_more = p[0] != 0 || p[1] != 0;
    return true;
}

/* The end of @box: its end-of-contents, or exactly its definite end. */
static bool bl_leave(BlIn *in, const BlBox *box, const char *what, GError **errp)
{
    uint64_t at = bl_pos(in);
    bool more = false;

    if (!bl_more(in, box, what, &more, errp)) {
        return false;
    }
    if (more) {
        return bl_fail(in, errp, "unexpected element at offset 0x%" PRIx64 " in %s", at, what);
    }
    if (box->indefinite) {
        vs_qemufile_skip(in->f, 2);
    }
    return true;
}

/* A primitive element's content, at most @max bytes, into @buf. */
static bool bl_prim(BlIn *in, const BlBox *box, uint32_t tag, const char *what, uint8_t *buf,
                    size_t max, size_t *ret_len, GError **errp)
{
    BlTlv t;

    if (!bl_expect(in, box, VS_BER_UNIVERSAL, false, tag, what, &t, errp)) {
        return false;
    }
    if (t.len > max) {
        return bl_fail(in, errp, "%s at offset 0x%" PRIx64 ": %" PRIu64 " bytes, at most %zu "
                       "fit", what, t.start, t.len, max);
    }
    vs_qemufile_get_buffer(in->f, buf, t.len);
    *ret_len = t.len;
    return !bl_channel_failed(in, what, errp);
}

static bool bl_uint(BlIn *in, const BlBox *box, uint64_t max, const char *what, uint64_t *ret,
                    GError **errp)
{
    g_autoptr(GError) local = NULL;
    uint8_t buf[9];
    uint64_t at = bl_pos(in);
    VsBerTlv t = { .cls = VS_BER_UNIVERSAL, .tag = VS_BER_TAG_INTEGER };
    bool negative;

    if (!bl_prim(in, box, VS_BER_TAG_INTEGER, what, buf, sizeof(buf), &t.len, errp)) {
        return false;
    }
    t.content_end = t.end = t.len;
    if (!vs_ber_get_integer(buf, &t, &negative, ret, &local)) {
        return bl_fail(in, errp, "%s at offset 0x%" PRIx64 ": %s", what, at, local->message);
    }
    if (negative || *ret > max) {
        return bl_fail(in, errp, "%s at offset 0x%" PRIx64 ": %s%" PRIu64 " is outside 0..%"
                       PRIu64, what, at, negative ? "-" : "", negative ? -*ret : *ret, max);
    }
    return true;
}

static bool bl_uint32(BlIn *in, const BlBox *box, const char *what, uint32_t *ret,
                      GError **errp)
{
    uint64_t v;

    if (!bl_uint(in, box, UINT32_MAX, what, &v, errp)) {
        return false;
    }
    *ret = (uint32_t)v;
    return true;
}

/* A VisibleString of 1..255 bytes without NUL. */
static bool bl_name(BlIn *in, const BlBox *box, const char *what, char out[BL_MAX_NAME + 1],
                    GError **errp)
{
    uint64_t at = bl_pos(in);
    size_t n = 0;

    if (!bl_prim(in, box, VS_BER_TAG_VISIBLESTRING, what, (uint8_t *)out, BL_MAX_NAME, &n,
                 errp)) {
        return false;
    }
    out[n] = '\0';
    if (n == 0 || strlen(out) != n) {
        return bl_fail(in, errp, "%s at offset 0x%" PRIx64 ": %s", what, at,
                       n ? "holds a NUL byte" : "is empty");
    }
    return true;
}

static bool bl_bool(BlIn *in, const BlBox *box, const char *what, bool *ret, GError **errp)
{
    uint8_t b;
    size_t n = 0;

    if (!bl_prim(in, box, VS_BER_TAG_BOOLEAN, what, &b, 1, &n, errp)) {
        return false;
    }
    if (n != 1) {
        return bl_fail(in, errp, "%s: a BOOLEAN of %zu bytes", what, n);
    }
    *ret = b != 0;
    return true;
}

/*
 * The rest of the element whose header @t was read: appended to @out with
 * a header of its own, its content at most @max bytes (indefinite
 * containers are followed element by element).
 */
static bool bl_rest(BlIn *in, const BlBox *box, const BlTlv *t, size_t max, const char *what,
                    GByteArray *out, GError **errp)
{
    uint8_t id = (uint8_t)(vs_ber_id_bits(t->cls, t->constructed) | t->tag);

    if (!t->indefinite) {
        size_t at;

        if (t->len > max || out->len + t->len > max) {
            return bl_fail(in, errp, "%s at offset 0x%" PRIx64 ": %" PRIu64 " bytes exceed the "
                           "%zu this destination accepts", what, t->start, t->len, max);
        }
        vs_ber_put_header(out, t->cls, t->constructed, t->tag, t->len);
        at = out->len;
        g_byte_array_set_size(out, (guint)(at + t->len));
        vs_qemufile_get_buffer(in->f, out->data + at, t->len);
        return !bl_channel_failed(in, what, errp);
    }
    {
        static const uint8_t eoc[] = { 0, 0 };
        const uint8_t open[] = { id, 0x80 };
        BlBox inner = bl_enter(in, box, t);
        bool more = true;

        g_byte_array_append(out, open, sizeof(open));
        while (bl_more(in, &inner, what, &more, errp) && more) {
            BlTlv child;

            if (!bl_header(in, &inner, what, &child, errp) ||
                !bl_rest(in, &inner, &child, max, what, out, errp)) {
                return false;
            }
            if (out->len > max) {
                return bl_fail(in, errp, "%s at offset 0x%" PRIx64 ": more than the %zu bytes "
                               "this destination accepts", what, t->start, max);
            }
        }
        if (more || !bl_leave(in, &inner, what, errp)) {
            return false;
        }
        g_byte_array_append(out, eoc, sizeof(eoc));
        return true;
    }
}

/* ---- destination: records ----------------------------------------------------------- */

static BlBinding *bl_binding(BlIn *in, uint32_t id)
{
    for (size_t i = 0; i < in->n_bindings; i++) {
        if (in->bindings[i].section_id == id) {
            return &in->bindings[i];
        }
    }
    return NULL;
}

static bool bl_unknown_section(BlIn *in, const char *idstr, uint32_t instance_id,
                               const char *where, GError **errp)
{
    /* QEMU's words, as the legacy loader says them. */
    return bl_fail(in, errp, "Unknown savevm section or instance '%s' %" PRIu32 "%s. Make sure "
                   "that your current VM setup matches your saved VM setup, including any "
                   "hotplugged devices", idstr, instance_id, where);
}

/*
 * The header: `vstate`, file version 3, the page size of the RAM records,
 * and the device sections to come, each of which must exist here: a
 * mismatch fails before any RAM moved.
 */
static bool bl_load_header(BlIn *in, const BlBox *stream, GError **errp)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    g_autoptr(GByteArray) buf = g_byte_array_new();
    static const uint8_t open[] = { 0x30, 0x80 }, eoc[] = { 0, 0 };
    g_autoptr(GError) local = NULL;
    VsBerStreamInfo *info = NULL;
    VsStream *s = NULL;
    bool ok = false;
    BlTlv t;

    g_assert(tmp != NULL);
    g_byte_array_append(buf, open, sizeof(open));
    in->rec_at = bl_pos(in);
    if (!bl_expect(in, stream, VS_BER_CONTEXT, true, BL_TAG_HEADER, "header", &t, errp) ||
        !bl_rest(in, stream, &t, BL_MAX_HEADER, "header", buf, errp)) {
        goto out;
    }
    g_byte_array_append(buf, eoc, sizeof(eoc));
    if (!vs_stream_load_ber_info(tmp, buf->data, buf->len, &s, &info, &local)) {
        bl_fail(in, errp, "%s", local->message);
        goto out;
    }
    if (info->file_version != BL_FILE_VERSION || info->page_size != VS_RAM_PAGE_SIZE) {
        bl_fail(in, errp, "file version %" PRIu32 " and page size %" PRIu64 " where this "
                "destination takes version %u with %u-byte pages", info->file_version,
                info->page_size, BL_FILE_VERSION, VS_RAM_PAGE_SIZE);
        goto out;
    }
    if (*info->machine && strcmp(info->machine, vs_savevm_machine_type(in->sink->devices))) {
        /* QEMU's words, for the configuration; the header says it first. */
        bl_fail(in, errp, "Machine type received is '%s' and local is '%s'", info->machine,
                vs_savevm_machine_type(in->sink->devices));
        goto out;
    }
    for (size_t i = 0; i < info->n_sections; i++) {
        const VsBerSectionSchema *e = &info->sections[i];
        const VsRegistryEntry *entry;
        void *obj;

        if (!vs_savevm_find_device(in->sink->devices, e->idstr, e->instance_id, &entry, &obj)) {
            bl_unknown_section(in, e->idstr, e->instance_id, " (listed in the stream header)",
                               errp);
            goto out;
        }
    }
    ok = true;
out:
    talloc_free(tmp);
    return ok;
}

/* The configuration: the machine type must be ours; no subsections. */
static bool bl_load_config(BlIn *in, const BlBox *stream, const BlTlv *t, GError **errp)
{
    const char *local = vs_savevm_machine_type(in->sink->devices);
    g_autoptr(GByteArray) buf = g_byte_array_new();
    g_autoptr(GError) err = NULL;
    VsBerTlv outer, seq, machine, rest;
    g_autofree char *name = NULL;

    if (!bl_rest(in, stream, t, BL_MAX_CONFIG, "configuration", buf, errp)) {
        return false;
    }
    if (!vs_ber_read_tlv(buf->data, 0, buf->len, 0, &outer, &err) ||
        !vs_ber_read_tlv(buf->data, outer.content, outer.content_end, 1, &seq, &err) ||
        !vs_ber_read_tlv(buf->data, seq.content, seq.content_end, 2, &machine, &err) ||
        !vs_ber_read_tlv(buf->data, machine.end, seq.content_end, 2, &rest, &err)) {
        return bl_fail(in, errp, "configuration: %s", err->message);
    }
    if (!vs_ber_is(&seq, VS_BER_UNIVERSAL, true, VS_BER_TAG_SEQUENCE) ||
        !vs_ber_is(&machine, VS_BER_UNIVERSAL, false, VS_BER_TAG_VISIBLESTRING) ||
        !vs_ber_is(&rest, VS_BER_UNIVERSAL, false, VS_BER_TAG_OCTET_STRING) ||
        rest.end != seq.content_end || seq.end != outer.content_end) {
        return bl_fail(in, errp, "configuration: not SEQUENCE { machine VisibleString, rest "
                       "OCTET STRING }");
    }
    name = g_strndup((const char *)buf->data + machine.content, machine.len);
    if (strlen(name) != machine.len || strcmp(name, local) != 0) {
        /* QEMU's words. */
        return bl_fail(in, errp, "Machine type received is '%s' and local is '%s'", name, local);
    }
    if (rest.len) {
        return bl_fail(in, errp, "configuration subsections (x-ignore-shared, validate-uuid, "
                       "target-page-bits) are not supported by this destination");
    }
    return true;
}

/* MEM_SIZE's block list: every block must exist here with the same length. */
static bool bl_mem_size(BlIn *in, const BlBox *rec, uint64_t total, uint64_t at,
                        GError **errp)
{
    uint64_t left = total;
    bool more = false;
    BlBox list;
    BlTlv t;

    if (!bl_expect(in, rec, VS_BER_UNIVERSAL, true, VS_BER_TAG_SEQUENCE,
                   "RAM MEM_SIZE block list", &t, errp)) {
        return false;
    }
    list = bl_enter(in, rec, &t);
    while (bl_more(in, &list, "RAM MEM_SIZE block list", &more, errp) && more) {
        char name[BL_MAX_NAME + 1];
        uint64_t len, ignored;
        VsRamBlock *b;
        BlBox e;

        if (!bl_expect(in, &list, VS_BER_UNIVERSAL, true, VS_BER_TAG_SEQUENCE,
                       "RAM MEM_SIZE block", &t, errp)) {
            return false;
        }
        e = bl_enter(in, &list, &t);
        if (!bl_name(in, &e, "RAM block name", name, errp) ||
            !bl_uint(in, &e, UINT64_MAX, "RAM block length", &len, errp)) {
            return false;
        }
        /* page-size [0] and mr-addr [1]: QEMU sends them for other setups only. */
        while (bl_more(in, &e, "RAM MEM_SIZE block", &more, errp) && more) {
            BlBox opt;

            if (!bl_header(in, &e, "RAM block option", &t, errp)) {
                return false;
            }
            if (t.cls != VS_BER_CONTEXT || !t.constructed || t.tag > 1) {
                return bl_fail(in, errp, "RAM block option at offset 0x%" PRIx64 ": expected "
                               "[0] page-size or [1] mr-addr", t.start);
            }
            opt = bl_enter(in, &e, &t);
            if (!bl_uint(in, &opt, UINT64_MAX, "RAM block option", &ignored, errp) ||
                !bl_leave(in, &opt, "RAM block option", errp)) {
                return false;
            }
        }
        if (more || !bl_leave(in, &e, "RAM MEM_SIZE block", errp)) {
            return false;
        }
        b = vs_ram_list_find(in->sink->rr->list, name);
        if (!b) {
            return bl_fail(in, errp, "Unknown ramblock \"%s\", cannot accept migration "
                           "(MEM_SIZE record at offset 0x%" PRIx64 ")", name, at);
        }
        if (len != b->save.length) {
            return bl_fail(in, errp, "Size mismatch: %s: 0x%" PRIx64 " != 0x%" PRIx64
                           ": Invalid argument (MEM_SIZE record at offset 0x%" PRIx64 ")",
                           name, len, b->save.length, at);
        }
        if (len > left) {
            return bl_fail(in, errp, "MEM_SIZE lists more than its total of 0x%" PRIx64
                           " bytes (block %s, record at offset 0x%" PRIx64 ")", total, name,
                           at);
        }
        left -= len;
    }
    if (more || !bl_leave(in, &list, "RAM MEM_SIZE block list", errp)) {
        return false;
    }
    if (left) {
        return bl_fail(in, errp, "MEM_SIZE leaves 0x%" PRIx64 " bytes of its total 0x%" PRIx64
                       " unlisted (record at offset 0x%" PRIx64 ")", left, total, at);
    }
    in->sink->rr->got_mem_size = true;
    return true;
}

/* ZERO: clear the page unless it is zero already, so untouched memory stays untouched. */
static bool bl_zero_page(BlIn *in, const BlBox *rec, uint8_t *host, GError **errp)
{
    uint64_t fill;

    if (!bl_uint(in, rec, UINT8_MAX, "RAM ZERO fill", &fill, errp)) {
        return false;
    }
    if (fill != 0 || !vs_ram_buffer_is_zero(host, VS_RAM_PAGE_SIZE)) {
        memset(host, (int)fill, VS_RAM_PAGE_SIZE);
    }
    in->sink->rr->zero_pages++;
    return true;
}

/* PAGE: the data goes from the channel straight into guest memory. */
static bool bl_data_page(BlIn *in, const BlBox *rec, uint8_t *host, GError **errp)
{
    BlTlv t;

    if (!bl_expect(in, rec, VS_BER_UNIVERSAL, false, VS_BER_TAG_OCTET_STRING, "RAM PAGE data",
                   &t, errp)) {
        return false;
    }
    if (t.len != VS_RAM_PAGE_SIZE) {
        return bl_fail(in, errp, "RAM PAGE data at offset 0x%" PRIx64 " of %" PRIu64 " bytes, "
                       "the page size is %u", t.start, t.len, VS_RAM_PAGE_SIZE);
    }
    vs_qemufile_get_buffer(in->f, host, VS_RAM_PAGE_SIZE);
    in->sink->rr->pages++;
    return !bl_channel_failed(in, "RAM PAGE data", errp);
}

/* The block a page record names. */
static VsRamBlock *bl_record_block(BlIn *in, const BlBox *rec, uint64_t at, GError **errp)
{
    char name[BL_MAX_NAME + 1];
    VsRamBlock *b;

    if (!bl_name(in, rec, "RAM record block", name, errp)) {
        return NULL;
    }
    b = in->last && strcmp(in->last->save.name, name) == 0
            ? in->last
            : vs_ram_list_find(in->sink->rr->list, name);
    if (!b) {
        /* QEMU's words. */
        bl_fail(in, errp, "Can't find block %s (RAM record at offset 0x%" PRIx64 ")", name, at);
        return NULL;
    }
    in->last = b;
    return b;
}

static bool bl_ram_record(BlIn *in, const BlBox *list, GError **errp)
{
    uint64_t at = bl_pos(in), offset, flags;
    uint32_t kind;
    VsRamBlock *b = NULL;
    BlBox rec;
    BlTlv t;
    bool ok;

    if (!bl_expect(in, list, VS_BER_UNIVERSAL, true, VS_BER_TAG_SEQUENCE, "RAM record", &t,
                   errp)) {
        return false;
    }
    rec = bl_enter(in, list, &t);
    if (!bl_uint(in, &rec, UINT64_MAX, "RAM record offset", &offset, errp) ||
        !bl_uint(in, &rec, VS_RAM_PAGE_SIZE - 1, "RAM record flags", &flags, errp)) {
        return false;
    }
    kind = (uint32_t)flags & ~(uint32_t)VS_RAM_CONTINUE;
    if (kind == VS_RAM_ZERO || kind == VS_RAM_PAGE) {
        b = bl_record_block(in, &rec, at, errp);
        if (!b) {
            return false;
        }
        if (offset % VS_RAM_PAGE_SIZE || offset >= b->save.length) {
            /* QEMU's words. */
            return bl_fail(in, errp, "Illegal RAM offset %" PRIx64 " (RAM record at offset 0x%"
                           PRIx64 "; block %s has 0x%" PRIx64 " bytes)", offset, at,
                           b->save.name, b->save.length);
        }
    }
    switch (kind) {
    case VS_RAM_MEM_SIZE:
        ok = bl_mem_size(in, &rec, offset, at, errp);
        break;
    case VS_RAM_ZERO:
        ok = bl_zero_page(in, &rec, b->host + offset, errp);
        break;
    case VS_RAM_PAGE:
        ok = bl_data_page(in, &rec, b->host + offset, errp);
        break;
    case VS_RAM_EOS:
        ok = true;
        break;
    default:
        /* QEMU's words; XBZRLE and compressed pages are not sent live here. */
        return bl_fail(in, errp, "Unknown combination of migration flags: 0x%" PRIx64
                       " (RAM record at offset 0x%" PRIx64 ")", flags, at);
    }
    return ok && bl_leave(in, &rec, "RAM record", errp);
}

/* A RAM section's `[19] SEQUENCE OF ram-record`, record by record. */
static bool bl_load_ram(BlIn *in, const BlBox *section, const BlTlv *t, GError **errp)
{
    BlBox body = bl_enter(in, section, t), list;
    bool more = false;
    BlTlv seq;

    if (!bl_expect(in, &body, VS_BER_UNIVERSAL, true, VS_BER_TAG_SEQUENCE, "RAM body", &seq,
                   errp)) {
        return false;
    }
    list = bl_enter(in, &body, &seq);
    while (bl_more(in, &list, "RAM body", &more, errp) && more) {
        if (!bl_ram_record(in, &list, errp)) {
            return false;
        }
    }
    if (more || !bl_leave(in, &list, "RAM body", errp) ||
        !bl_leave(in, &body, "RAM body", errp)) {
        return false;
    }
    trace_ram_load_complete(0, in->sink->rr->pages + in->sink->rr->zero_pages);
    return true;
}

/*
 * A device state through the device's walker: the BER load visitor into
 * the device, observers re-encoding the values as loaded (before post_load
 * hooks adjust them) in QEMU's form, for the digest of what was received.
 */
static bool bl_load_device(BlIn *in, const BlBox *section, const BlBinding *b, const BlTlv *t,
                           GError **errp)
{
    g_autoptr(GByteArray) buf = g_byte_array_new();
    TALLOC_CTX *tmp;
    VsVisitor *load, *copy, *desc, *observers, *tee;
    GError *local = NULL;
    size_t before = 0, after = 0;
    const uint8_t *data;
    bool ok;

    if (!bl_rest(in, section, t, BL_MAX_STATE, "device state", buf, errp)) {
        return false;
    }
    tmp = talloc_new(NULL);
    g_assert(tmp != NULL);
    trace_vmstate_load(b->idstr, b->entry->type->wire_name);
    (void)vs_qemufile_memory_data(in->sink->received, &before);
    load = vs_ber_load_visitor_new(tmp, buf->data, buf->len, VS_BER_STRICT, NULL);
    copy = vs_legacy_save_visitor_new(tmp, in->sink->received);
    desc = vs_vmdesc_visitor_new(tmp, b->idstr, b->instance_id);
    observers = vs_tee_visitor_new(tmp, copy, desc);
    tee = vs_tee_visitor_new(tmp, load, observers);
    ok = b->entry->walker(tee, b->idstr, b->obj, &local) && vs_visitor_complete(tee, &local);
    if (ok) {
        data = vs_qemufile_memory_data(in->sink->received, &after);
        vs_savevm_put_section_header(in->sink->sections, VS_MIG_SECTION_FULL, b->section_id,
                                     b->idstr, b->instance_id, b->version_id);
        vs_qemufile_put_buffer(in->sink->sections, data + before, after - before);
        vs_savevm_put_footer(in->sink->sections, b->section_id);
        vs_json_array_append(in->sink->descs, vs_vmdesc_visitor_steal(desc, in->sink->descs));
    }
    vs_visitor_free(tee);
    vs_visitor_free(observers);
    vs_visitor_free(desc);
    vs_visitor_free(copy);
    vs_visitor_free(load);
    talloc_free(tmp);
    if (!ok) {
        /* The legacy loader's words; the visitor's offsets count from the state's start. */
        g_set_error(errp, VS_MIGRATE_ERROR, VS_MIGRATE_ERROR_STREAM,
                    "error while loading state for instance 0x%" PRIx32 " of device '%s': %s "
                    "(BER stream record %zu, the state at offset 0x%" PRIx64 ")",
                    b->instance_id, b->idstr, local->message, in->rec, t->start);
        g_error_free(local);
    }
    return ok;
}

/* START/FULL bind a section id; PART/END must name a bound one with its identity. */
static BlBinding *bl_bind(BlIn *in, uint8_t type, uint32_t id, const char *idstr,
                          uint32_t instance_id, uint32_t version_id, GError **errp)
{
    BlBinding b = { .section_id = id, .instance_id = instance_id, .version_id = version_id };
    BlBinding *bound = bl_binding(in, id);

    if (type == VS_MIG_SECTION_PART || type == VS_MIG_SECTION_END) {
        if (!bound) {
            bl_fail(in, errp, "Unknown savevm section %" PRIu32, id);
            return NULL;
        }
        if (strcmp(bound->idstr, idstr) != 0 || bound->instance_id != instance_id) {
            bl_fail(in, errp, "section id %" PRIu32 " is '%s' %" PRIu32 " but was introduced "
                    "as '%s' %" PRIu32, id, idstr, instance_id, bound->idstr,
                    bound->instance_id);
            return NULL;
        }
        return bound;
    }
    if (strcmp(idstr, "ram") == 0 && instance_id == 0) {
        b.is_ram = true;
        if (version_id != VS_SAVEVM_RAM_VERSION) {
            bl_fail(in, errp, "savevm: unsupported version %" PRIu32 " for 'ram' v4",
                    version_id);
            return NULL;
        }
    } else if (!vs_savevm_find_device(in->sink->devices, idstr, instance_id, &b.entry, &b.obj)) {
        bl_unknown_section(in, idstr, instance_id, "", errp);
        return NULL;
    } else if (version_id > b.entry->type->version) {
        bl_fail(in, errp, "savevm: unsupported version %" PRIu32 " for '%s' v%" PRIu32,
                version_id, idstr, b.entry->type->version);
        return NULL;
    }
    if (type == VS_MIG_SECTION_START && !b.is_ram) {
        bl_fail(in, errp, "section '%s' is sent live (START) but is not an iterative section "
                "here", idstr);
        return NULL;
    }
    if (bound || in->n_bindings >= BL_MAX_SECTIONS) {
        bl_fail(in, errp, "section id %" PRIu32 " ('%s') is introduced twice or too many "
                "sections", id, idstr);
        return NULL;
    }
    trace_qemu_loadvm_state_section_startfull(id, idstr, instance_id, version_id);
    b.idstr = talloc_strdup(in->ctx, idstr);
    in->bindings = talloc_realloc(in->ctx, in->bindings, BlBinding, in->n_bindings + 1);
    g_assert(in->bindings != NULL && b.idstr != NULL);
    in->bindings[in->n_bindings] = b;
    return &in->bindings[in->n_bindings++];
}

/* `[18] SEQUENCE { type, section-id, idstr, instance, version, has-footer, body }` */
static bool bl_load_section(BlIn *in, const BlBox *stream, const BlTlv *t, GError **errp)
{
    BlBox outer = bl_enter(in, stream, t), seq;
    char idstr[BL_MAX_NAME + 1];
    uint32_t id, instance_id, version_id;
    uint64_t type;
    bool has_footer, ok;
    BlBinding *b;
    BlTlv s, body;

    if (!t->constructed) {
        return bl_fail(in, errp, "a section record must be constructed");
    }
    if (!bl_expect(in, &outer, VS_BER_UNIVERSAL, true, VS_BER_TAG_SEQUENCE, "section", &s,
                   errp)) {
        return false;
    }
    seq = bl_enter(in, &outer, &s);
    if (!bl_uint(in, &seq, VS_MIG_SECTION_FULL, "section type", &type, errp) ||
        !bl_uint32(in, &seq, "section id", &id, errp) ||
        !bl_name(in, &seq, "section idstr", idstr, errp) ||
        !bl_uint32(in, &seq, "section instance", &instance_id, errp) ||
        !bl_uint32(in, &seq, "section version", &version_id, errp) ||
        !bl_bool(in, &seq, "section has-footer", &has_footer, errp)) {
        return false;
    }
    if (type < VS_MIG_SECTION_START) {
        return bl_fail(in, errp, "section type %" PRIu64 " is not 1-4", type);
    }
    b = bl_bind(in, (uint8_t)type, id, idstr, instance_id, version_id, errp);
    if (!b || !bl_header(in, &seq, "section body", &body, errp)) {
        return false;
    }
    if (b->is_ram && body.cls == VS_BER_CONTEXT && body.constructed && body.tag == BL_TAG_RAM) {
        GError *local = NULL;

        ok = bl_load_ram(in, &seq, &body, &local);
        if (!ok) {
            /* The legacy loader's words around the record's. */
            g_set_error(errp, VS_MIGRATE_ERROR, VS_MIGRATE_ERROR_STREAM,
                        "error while loading state for instance 0x%" PRIx32 " of device '%s': "
                        "%s", b->instance_id, b->idstr, local->message);
            g_error_free(local);
        }
    } else if (!b->is_ram && body.cls == VS_BER_CONTEXT && body.constructed &&
               body.tag == BL_TAG_STRUCT) {
        ok = bl_load_device(in, &seq, b, &body, errp);
    } else {
        return bl_fail(in, errp, "section body of '%s' at offset 0x%" PRIx64 ": expected %s",
                       idstr, body.start, b->is_ram ? "RAM records [19]" : "a state [12]");
    }
    return ok && bl_leave(in, &seq, "section", errp) && bl_leave(in, &outer, "section", errp);
}

/* `[21] NULL` */
static bool bl_load_eof(BlIn *in, const BlBox *stream, const BlTlv *t, GError **errp)
{
    BlBox outer = bl_enter(in, stream, t);
    BlTlv null;

    if (!t->constructed) {
        return bl_fail(in, errp, "EOF must be [21] holding a NULL");
    }
    if (!bl_expect(in, &outer, VS_BER_UNIVERSAL, false, VS_BER_TAG_NULL, "EOF", &null, errp)) {
        return false;
    }
    if (null.len != 0) {
        return bl_fail(in, errp, "EOF's NULL holds %" PRIu64 " bytes", null.len);
    }
    return bl_leave(in, &outer, "EOF", errp);
}

/* After EOF: the trailer and trailing bytes are read and dropped, as QEMU does. */
static bool bl_skip(BlIn *in, const BlBox *stream, const BlTlv *t, const char *what,
                    GError **errp)
{
    g_autoptr(GByteArray) buf = g_byte_array_new();

    return bl_rest(in, stream, t, BL_MAX_TRAILER, what, buf, errp);
}

static bool bl_load_records(BlIn *in, const BlBox *stream, GError **errp)
{
    bool more = false, eof = false;
    char name[32];

    for (in->rec = 0; bl_more(in, stream, "stream", &more, errp) && more; in->rec++) {
        BlTlv t;
        bool ok;

        in->rec_at = bl_pos(in);
        if (!bl_header(in, stream, "record", &t, errp)) {
            return false;
        }
        trace_qemu_loadvm_state_section(t.tag);
        if (t.cls != VS_BER_CONTEXT) {
            return bl_fail(in, errp, "unexpected element %s",
                           bl_tag_name(t.cls, t.constructed, t.tag, name, sizeof(name)));
        }
        switch (eof ? (t.tag == BL_TAG_TRAILER || t.tag == BL_TAG_TRAILING ? t.tag : 0)
                    : t.tag) {
        case BL_TAG_CONFIG:
            ok = in->got_config ? bl_fail(in, errp, "a second configuration record")
                                : bl_load_config(in, stream, &t, errp);
            in->got_config = true;
            break;
        case BL_TAG_SECTION:
            /* As the legacy loader: the machine type is checked before any state. */
            ok = in->got_config ? bl_load_section(in, stream, &t, errp)
                                : bl_fail(in, errp, "Configuration section missing (found a "
                                          "section record)");
            break;
        case BL_TAG_EOF:
            ok = eof = bl_load_eof(in, stream, &t, errp);
            break;
        case BL_TAG_TRAILER:
            ok = bl_skip(in, stream, &t, "trailer", errp);
            break;
        case BL_TAG_TRAILING:
            ok = bl_skip(in, stream, &t, "trailing bytes", errp);
            break;
        case BL_TAG_COMMAND:
            return bl_fail(in, errp, "command records (postcopy, packages) are not accepted "
                           "in a live BER stream by this destination");
        default:
            return bl_fail(in, errp, "unexpected record %s%s",
                           bl_tag_name(t.cls, t.constructed, t.tag, name, sizeof(name)),
                           eof ? " after EOF" : "");
        }
        if (!ok) {
            return false;
        }
    }
    if (more) {
        return false;
    }
    in->rec_at = bl_pos(in);
    if (!eof) {
        return bl_fail(in, errp, "the stream ends without its EOF record");
    }
    return bl_leave(in, stream, "stream", errp);
}

bool vs_ber_live_load(VsQemuFile *f, const VsBerLiveSink *sink, GError **errp)
{
    BlIn in = { .f = f, .sink = sink, .ctx = talloc_new(NULL), .rec = SIZE_MAX };
    const BlBox top = { .indefinite = true };
    const uint8_t *p = NULL;
    size_t n = vs_qemufile_peek(f, 0, 4, &p);
    BlBox stream;
    BlTlv t;
    bool ok = false;

    g_assert(in.ctx != NULL);
    in.rec_at = bl_pos(&in);
    if (n == 4 && memcmp(p, "QEVM", 4) == 0) {
        g_set_error(errp, VS_MIGRATE_ERROR, VS_MIGRATE_ERROR_STREAM,
                    "the source sends QEMU's legacy stream (\"QEVM\") but this destination "
                    "expects vstate's BER form (capability x-vstate-ber is on here): set the "
                    "capability the same on both ends");
        goto out;
    }
    if (n >= 2 && (p[0] != 0x30 || p[1] != 0x80)) {
        g_set_error(errp, VS_MIGRATE_ERROR, VS_MIGRATE_ERROR_STREAM,
                    "Not a vstate BER migration stream (read %02x %02x, expected 30 80: an "
                    "indefinite-length SEQUENCE)", p[0], p[1]);
        goto out;
    }
    if (!bl_expect(&in, &top, VS_BER_UNIVERSAL, true, VS_BER_TAG_SEQUENCE, "stream", &t, errp)) {
        goto out;
    }
    stream = bl_enter(&in, &top, &t);
    ok = bl_load_header(&in, &stream, errp) && bl_load_records(&in, &stream, errp);
out:
    trace_qemu_loadvm_state_post_main(ok ? 0 : -1);
    talloc_free(in.ctx);
    return ok;
}

char *vs_ber_live_mismatch(uint32_t magic)
{
    if ((magic >> 16) != 0x3080) {
        return NULL;
    }
    return g_strdup("the source sends vstate's BER stream form (30 80) but this destination "
                    "expects QEMU's legacy stream: set capability x-vstate-ber the same on "
                    "both ends");
}
