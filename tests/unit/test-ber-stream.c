/*
 * test-ber-stream.c: whole migration streams in BER form
 * (migration/ber-stream.h, docs/ber-format.md "Streams").
 *
 * SPDX-License-Identifier: MIT
 *
 * For every corpus stream (streams/<dir>/<name>.bin under
 * VSTATE_CORPUS_DIR; skipped with the reason when absent) and a synthetic
 * stream with every kind of record (configuration, commands, a PACKAGED
 * command with bytes after POSTCOPY_RUN in its package, RAM with MEM_SIZE, ZERO,
 * PAGE, XBZRLE, COMPRESS, CONTINUE across sections, device sections, EOF,
 * trailer, trailing bytes):
 *   legacy -> vs_stream_load -> vs_stream_encode_ber -> vs_stream_load_ber
 *   -> vs_stream_encode gives the original bytes;
 * the BER form parses as one TLV tree with vs_ber_read_tlv() and nothing
 * after it; truncated BER forms fail cleanly (a VS_MIG_ERROR, no stream,
 * nothing left in the talloc context), and so do synthetic BER forms with
 * any one byte changed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "migration/ber-stream.h"
#include "tests/unit/corpus.h"
#include "tests/unit/stream-builder.h"
#include "tests/unit/test-helpers.h"
#include "visitor/ber/ber-tlv.h"
#include "visitor/qemufile/qemufile.h"
#include "visitor/registry.h"
#include "vs-version.h"

/* Cut points tried per corpus stream in the truncation test. */
#define TEST_CORPUS_CUTS 300

/* ---- helpers ------------------------------------------------------------ */

/* Every TLV of [pos, end) parses, constructed ones recursively. */
static size_t walk_tlvs(const uint8_t *data, size_t pos, size_t end, unsigned depth)
{
    size_t n = 0;

    while (pos < end) {
        g_autoptr(GError) err = NULL;
        VsBerTlv tlv;

        if (!vs_ber_read_tlv(data, pos, end, depth, &tlv, &err)) {
            print_error("TLV at 0x%zx: %s\n", pos, err->message);
            fail();
        }
        n++;
        if (tlv.constructed) {
            n += walk_tlvs(data, tlv.content, tlv.content_end, depth + 1);
        }
        pos = tlv.end;
    }
    return n;
}

/* The BER form is one indefinite SEQUENCE with nothing after it. */
static void check_ber_shape(const GByteArray *ber)
{
    g_autoptr(GError) err = NULL;
    VsBerTlv tlv;

    assert_true(ber->len >= 4);
    assert_int_equal(ber->data[0], 0x30);
    assert_int_equal(ber->data[1], 0x80);
    if (!vs_ber_read_tlv(ber->data, 0, ber->len, 0, &tlv, &err)) {
        print_error("BER stream: %s\n", err->message);
        fail();
    }
    assert_true(vs_ber_is(&tlv, VS_BER_UNIVERSAL, true, VS_BER_TAG_SEQUENCE));
    assert_int_equal(tlv.end, ber->len);
    assert_true(walk_tlvs(ber->data, tlv.content, tlv.content_end, 1) >= 3);
}

static void legacy_encode(const VsStream *s, GByteArray *out)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    VsQemuFile *f = vs_qemufile_new_memory_writer(tmp);
    g_autoptr(GError) err = NULL;
    const uint8_t *bytes;
    size_t len = 0;

    if (!vs_stream_encode(s, f, &err)) {
        print_error("legacy encode: %s\n", err->message);
        fail();
    }
    bytes = vs_qemufile_memory_data(f, &len);
    g_byte_array_append(out, bytes, (guint)len);
    talloc_free(tmp);
}

/* legacy -> load -> BER -> load_ber -> legacy == @data; the BER form in @ber. */
static void roundtrip(TALLOC_CTX *ctx, const char *what, const uint8_t *data, size_t len,
                      const VsLoadOptions *opts, GByteArray *ber)
{
    TALLOC_CTX *tmp = talloc_new(ctx);
    g_autoptr(GByteArray) again = g_byte_array_new();
    g_autoptr(GError) err = NULL;
    VsStream *s = NULL, *copy = NULL;

    if (!vs_stream_load(tmp, data, len, opts, &s, &err)) {
        print_error("%s: legacy load: %s\n", what, err->message);
        fail();
    }
    if (!vs_stream_encode_ber(s, ber, &err)) {
        print_error("%s: BER encode: %s\n", what, err->message);
        fail();
    }
    check_ber_shape(ber);
    if (!vs_stream_load_ber(tmp, ber->data, ber->len, &copy, &err)) {
        print_error("%s: BER load: %s\n", what, err->message);
        fail();
    }
    assert_int_equal(copy->n_records, s->n_records);
    legacy_encode(copy, again);
    assert_bytes(again->data, again->len, data, len);
    talloc_free(tmp);
}

/* Every cut of @ber at the given points fails cleanly. */
static void check_cut(TALLOC_CTX *ctx, const GByteArray *ber, size_t cut)
{
    g_autoptr(GError) err = NULL;
    VsStream *s = (VsStream *)ctx;
    size_t before = talloc_total_blocks(ctx);

    assert_false(vs_stream_load_ber(ctx, ber->data, cut, &s, &err));
    assert_null(s);
    assert_non_null(err);
    assert_int_equal(err->domain, VS_MIG_ERROR);
    assert_true(strstr(err->message, "offset 0x") != NULL);
    assert_true(g_str_has_prefix(err->message, "BER stream"));
    assert_int_equal(talloc_total_blocks(ctx), before);
}

/*
 * Every cut of @ber with partial results: the records before the failure,
 * never more as the cut moves back, the failing section named; everything
 * goes with the stream.  Returns the records kept.
 */
static size_t check_cut_partial(TALLOC_CTX *ctx, const GByteArray *ber, size_t cut,
                                size_t full_records)
{
    g_autoptr(GError) err = NULL;
    VsStream *s = NULL;
    VsBerStreamInfo *info = NULL;
    VsSection *failed = NULL;
    size_t before = talloc_total_blocks(ctx), kept;

    assert_false(vs_stream_load_ber_opts(ctx, ber->data, cut, NULL, &s, &info, &failed, &err));
    assert_non_null(err);
    assert_int_equal(err->domain, VS_MIG_ERROR);
    assert_true(strstr(err->message, "offset 0x") != NULL);
    if (!s) {
        assert_null(failed);
        assert_null(info);
        assert_int_equal(talloc_total_blocks(ctx), before);
        return 0;
    }
    kept = s->n_records;
    assert_true(kept <= full_records);
    if (failed) {
        assert_non_null(failed->idstr);
        assert_true(strstr(err->message, failed->idstr) != NULL);
    }
    talloc_free(info);
    talloc_free(s);
    assert_int_equal(talloc_total_blocks(ctx), before);
    return kept;
}

/* @ber with one byte changed loads or fails cleanly, at every position. */
static void check_mangled(TALLOC_CTX *ctx, const GByteArray *ber)
{
    g_autofree uint8_t *copy = g_memdup2(ber->data, ber->len);
    size_t before = talloc_total_blocks(ctx);

    for (size_t i = 0; i < ber->len; i++) {
        g_autoptr(GError) err = NULL;
        VsStream *s = NULL;

        copy[i] ^= (uint8_t)(0x01 << (i % 8)) | 0x80;
        if (vs_stream_load_ber(ctx, copy, ber->len, &s, &err)) {
            talloc_free(s);
        } else {
            assert_null(s);
            assert_int_equal(err->domain, VS_MIG_ERROR);
        }
        assert_int_equal(talloc_total_blocks(ctx), before);
        copy[i] = ber->data[i];
    }
}

/* ---- a synthetic stream with every kind of record ------------------------------ */

static void put_command(Buf *b, uint16_t cmd, const uint8_t *payload, uint16_t len)
{
    put8(b, VS_MIG_COMMAND);
    put16(b, cmd);
    put16(b, len);
    g_byte_array_append(b, payload, len);
}

static const char synth_desc[] =
    "{\"page_size\": 4096, \"devices\": ["
    "{\"name\": \"0000:00:02.0/dev\", \"instance_id\": 0, \"vmsd_name\": \"dev\", \"version\": 2, "
    "\"fields\": ["
    "{\"name\": \"id\", \"type\": \"uint16\", \"size\": 2}, "
    "{\"name\": \"temp\", \"type\": \"int32\", \"size\": 4}, "
    "{\"name\": \"on\", \"type\": \"bool\", \"size\": 1}, "
    "{\"name\": \"regs\", \"array_len\": 3, \"type\": \"uint32\", \"size\": 4}, "
    "{\"name\": \"unused\", \"type\": \"unused_buffer\", \"size\": 2}, "
    "{\"name\": \"tm\", \"type\": \"timer\", \"size\": 8}"
    "], \"subsections\": [{\"vmsd_name\": \"dev/irq\", \"version\": 1, \"fields\": "
    "[{\"name\": \"mask\", \"type\": \"uint64\", \"size\": 8}]}]}]}";

static void synth_ram(Buf *b)
{
    put_section(b, VS_MIG_SECTION_START, 2, "ram", 0, 4);
    put64(b, 0x3000 | VS_RAM_MEM_SIZE);
    putstr(b, "blk");
    put64(b, 0x2000);
    putstr(b, "rom");
    put64(b, 0x1000);
    put64(b, VS_RAM_EOS);
    put_footer(b, 2);
    put_section(b, VS_MIG_SECTION_PART, 2, NULL, 0, 0);
    put64(b, 0x0000 | VS_RAM_ZERO);
    putstr(b, "blk");
    put8(b, 0);
    put64(b, 0x1000 | VS_RAM_PAGE | VS_RAM_CONTINUE);
    for (int i = 0; i < 4096; i++) {
        put8(b, (uint8_t)(i * 7));
    }
    put64(b, VS_RAM_EOS);
    put_footer(b, 2);
    put_section(b, VS_MIG_SECTION_PART, 2, NULL, 0, 0);
    put64(b, 0x1000 | VS_RAM_XBZRLE | VS_RAM_CONTINUE);   /* across sections */
    put8(b, 1);
    put16(b, 5);
    put8(b, 0x10);
    put8(b, 0x03);
    put8(b, 0xaa);
    put8(b, 0xbb);
    put8(b, 0xcc);
    put64(b, 0x0000 | VS_RAM_COMPRESS_PAGE);
    putstr(b, "rom");
    put32(b, 3);
    put8(b, 0x78);
    put8(b, 0x9c);
    put8(b, 0x03);
    put64(b, 0x0000 | VS_RAM_ZERO);
    putstr(b, "rom");
    put8(b, 0x5a);
    put64(b, VS_RAM_EOS);
    put_footer(b, 2);
    put_section(b, VS_MIG_SECTION_END, 2, NULL, 0, 0);
    put64(b, VS_RAM_EOS);
    put_footer(b, 2);
}

static void synth_device(Buf *b)
{
    put_section(b, VS_MIG_SECTION_FULL, 7, "0000:00:02.0/dev", 0, 2);
    put16(b, 0x1234);
    put32(b, 0xfffffffe);
    put8(b, 2);                         /* a bool byte of 2 */
    put32(b, 1);
    put32(b, 2);
    put32(b, 3);
    put8(b, 0x11);
    put8(b, 0x22);                      /* non-zero padding */
    put64(b, UINT64_MAX);
    put8(b, 0x05);
    putstr(b, "dev/irq");
    put32(b, 1);
    put64(b, 0x0102030405060708);
    put_footer(b, 7);
}

/* POSTCOPY_ADVISE, then PACKAGED { LISTEN, RUN, 2 bytes QEMU drops }. */
static void synth_package(Buf *b)
{
    static const uint8_t pkg[] = {
        VS_MIG_COMMAND, 0, 4, 0, 0, VS_MIG_COMMAND, 0, 5, 0, 0, 'x', 'y',
    };
    const uint8_t len[] = { 0, 0, 0, sizeof(pkg) };

    put_command(b, 3, NULL, 0);
    put_command(b, 7, len, 4);
    g_byte_array_append(b, pkg, sizeof(pkg));
}

/*
 * @tail: bytes after the trailer; the legacy loader then finds no
 * description up front, so the device section is left out.
 */
static Buf *synth_stream(bool tail)
{
    static const uint8_t ping[] = { 0, 0, 0, 1 };
    Buf *b = g_byte_array_new();

    put32(b, VS_MIG_FILE_MAGIC);
    put32(b, 3);
    put8(b, VS_MIG_CONFIGURATION);
    put32(b, 7);
    g_byte_array_append(b, (const uint8_t *)"pc-test", 7);
    put8(b, 0x05);
    putstr(b, "configuration/uuid");
    put32(b, 1);
    for (int i = 0; i < 16; i++) {
        put8(b, (uint8_t)i);
    }
    put_command(b, 1, NULL, 0);         /* OPEN_RETURN_PATH */
    put_command(b, 2, ping, 4);         /* PING 1 */
    synth_ram(b);
    if (!tail) {
        synth_device(b);
    } else {
        synth_package(b);
    }
    put8(b, VS_MIG_EOF);
    put8(b, VS_MIG_VMDESCRIPTION);
    put32(b, (uint32_t)strlen(synth_desc));
    g_byte_array_append(b, (const uint8_t *)synth_desc, (guint)strlen(synth_desc));
    if (tail) {
        g_byte_array_append(b, (const uint8_t *)"tail", 4);
    }
    return b;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_ber_stream_synthetic(void **state)
{
    g_autoptr(GByteArray) legacy = synth_stream(false);
    g_autoptr(GByteArray) tailed = synth_stream(true);
    g_autoptr(GByteArray) ber = g_byte_array_new();
    g_autoptr(GByteArray) ber_tailed = g_byte_array_new();
    VsLoadOptions desc_only = { .no_schemas = true };
    VsStream *s = NULL;
    g_autoptr(GError) err = NULL;

    roundtrip(*state, "synthetic", legacy->data, legacy->len, &desc_only, ber);
    roundtrip(*state, "synthetic with trailing bytes", tailed->data, tailed->len, NULL,
              ber_tailed);
    /* The BER form of the synthetic stream names its parts. */
    assert_true(vs_stream_load_ber(*state, ber->data, ber->len, &s, &err));
    assert_string_equal(s->machine, "pc-test");
    assert_int_equal(s->page_size, 4096);
    assert_int_equal(s->n_blocks, 2);
    assert_non_null(s->vmdesc);
    talloc_free(s);
    assert_true(vs_stream_load_ber(*state, ber_tailed->data, ber_tailed->len, &s, &err));
    assert_int_equal(s->trailing_len, 4);
    assert_int_equal(s->records[8].kind, VS_REC_COMMAND);
    assert_int_equal(s->records[8].command.cmd, 7);
    assert_non_null(s->records[8].command.package);
    assert_int_equal(s->records[8].command.package->trailing_len, 2);
    talloc_free(s);
    for (size_t cut = 0; cut < ber_tailed->len; cut += 7) {
        check_cut(*state, ber_tailed, cut);
    }
    /* Every cut point, all or nothing and with partial results. */
    assert_true(vs_stream_load_ber(*state, ber->data, ber->len, &s, &err));
    size_t full_records = s->n_records, last_kept = 0, named = 0;

    talloc_free(s);
    for (size_t cut = 0; cut < ber->len; cut++) {
        VsSection *failed = NULL;
        VsStream *p = NULL;
        g_autoptr(GError) perr = NULL;
        size_t kept;

        check_cut(*state, ber, cut);
        kept = check_cut_partial(*state, ber, cut, full_records);
        assert_true(kept >= last_kept);
        last_kept = kept;
        vs_stream_load_ber_opts(*state, ber->data, cut, NULL, &p, NULL, &failed, &perr);
        named += failed != NULL;
        talloc_free(p);
    }
    /* Cuts inside section records name the section. */
    assert_true(named > 0);
    assert_int_equal(last_kept, full_records);
    check_mangled(*state, ber);
    check_mangled(*state, ber_tailed);
    /* Bytes after the end-of-contents. */
    g_byte_array_append(ber, (const uint8_t *)"\x05\x00", 2);
    assert_false(vs_stream_load_ber(*state, ber->data, ber->len, &s, &err));
    assert_null(s);
    assert_gerror_contains(err, "follow its end");
}

/* ---- schema digests and must-understand sections ------------------------ */

/* A schema for the synthetic device section's wire name, "dev". */
static const VsFieldInfo dev_fields[] = {
    { .name = "id", .kind = VS_FIELD_UINT, .width = 2, .elem_size = 2, .count = 1,
      .multiply = 1 },
    { .name = NULL },
};
static const VsTypeInfo dev_type = {
    .name = "Dev", .wire_name = "dev", .version = 2, .minimum_version = 1,
    .fields = dev_fields, .n_fields = 1,
};

static bool walk_dev_unused(VsVisitor *v, const char *name, void *obj, GError **errp)
{
    return vs_visit_report(v, NULL, errp, VS_VISIT_ERROR_UNSUPPORTED, "not for loading");
}

static const VsRegistryEntry dev_entry = { &dev_type, walk_dev_unused, NULL };

/* Encodes @s with @opts, loads it back, and returns its header (a child of @ctx). */
static VsBerStreamInfo *info_of(TALLOC_CTX *ctx, const VsStream *s,
                                const VsBerEncodeOptions *opts, GByteArray *ber)
{
    g_autoptr(GError) err = NULL;
    VsBerStreamInfo *info = NULL;
    VsStream *copy = NULL;

    g_byte_array_set_size(ber, 0);
    if (!vs_stream_encode_ber_opts(s, ber, opts, &err) ||
        !vs_stream_load_ber_info(ctx, ber->data, ber->len, &copy, &info, &err)) {
        print_error("BER: %s\n", err->message);
        fail();
    }
    assert_non_null(info);
    talloc_free(copy);
    return info;
}

/* The notes of vs_ber_stream_check(), one per line; whether it passed in *@ok. */
static char *check_notes(TALLOC_CTX *ctx, const VsBerStreamInfo *info, VsBerPolicy policy,
                         bool *ok, GError **errp)
{
    g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
    char *all = talloc_strdup(ctx, "");

    *ok = vs_ber_stream_check(info, policy, notes, errp);
    for (guint i = 0; i < notes->len; i++) {
        all = talloc_asprintf_append(all, "%s\n", (const char *)notes->pdata[i]);
    }
    return all;
}

static void test_ber_stream_schemas(void **state)
{
    static const char *const mark_dev[] = { "0000:00:02.0/dev", NULL };
    const VsBerEncodeOptions marked = { .must_understand = mark_dev };
    g_autoptr(GByteArray) legacy = synth_stream(false);
    g_autoptr(GByteArray) ber = g_byte_array_new();
    g_autoptr(GString) text = g_string_new(NULL);
    VsLoadOptions desc_only = { .no_schemas = true };
    uint8_t digest[VS_BER_DIGEST_LEN];
    g_autoptr(GError) err = NULL;
    VsBerStreamInfo *info;
    VsStream *s = NULL, *copy = NULL;
    uint8_t *at;
    char *notes;
    TALLOC_CTX *tmp = talloc_new(*state);
    bool ok;

    assert_true(vs_stream_load(tmp, legacy->data, legacy->len, &desc_only, &s, &err));

    /* No schema here for "dev": the header says so, and the check decides. */
    info = info_of(tmp, s, NULL, ber);
    assert_string_equal(info->writer, VS_VERSION_STRING);
    assert_string_equal(info->machine, "pc-test");
    assert_int_equal(info->n_sections, 1);     /* the RAM sections have no schema */
    assert_string_equal(info->sections[0].idstr, "0000:00:02.0/dev");
    assert_string_equal(info->sections[0].wire_name, "dev");
    assert_false(info->sections[0].has_digest);
    assert_false(info->sections[0].must_understand);
    assert_int_equal(info->sections[0].match, VS_BER_SCHEMA_UNKNOWN);
    notes = check_notes(tmp, info, VS_BER_STRICT, &ok, &err);
    assert_false(ok);
    assert_gerror(err, VS_MIG_ERROR, VS_MIG_ERROR_SECTION,
                  "section '0000:00:02.0/dev' instance 0 (wire name 'dev'): no schema here");
    g_clear_error(&err);
    notes = check_notes(tmp, info, VS_BER_LENIENT, &ok, &err);
    assert_true(ok);
    assert_non_null(strstr(notes, "(wire name 'dev'): no schema here; skipped"));

    /* Marked must-understand, the lenient check refuses it too. */
    info = info_of(tmp, s, &marked, ber);
    assert_true(info->sections[0].must_understand);
    notes = check_notes(tmp, info, VS_BER_LENIENT, &ok, &err);
    assert_false(ok);
    assert_gerror_contains(err, "is marked must-understand and has no schema here");
    g_clear_error(&err);
    vs_ber_stream_info_render(info, text);
    assert_non_null(strstr(text->str, "section 0000:00:02.0/dev instance 0 (dev): schema - "
                                      "(no schema in this build) must-understand\n"));

    /* With a schema for "dev", the writer sends its digest and the reader matches it. */
    vs_registry_add(&dev_entry);
    vs_ber_schema_digest(&dev_type, digest);
    info = info_of(tmp, s, NULL, ber);
    {
        /* The entry as docs/ber-format.md spells it. */
        static const uint8_t head[] = {
            0x30, 0x3c, 0x1a, 0x10, '0', '0', '0', '0', ':', '0', '0', ':', '0', '2', '.', '0',
            '/', 'd', 'e', 'v', 0x02, 0x01, 0x00, 0x1a, 0x03, 'd', 'e', 'v', 0x04, 0x20,
        };
        uint8_t entry[sizeof(head) + VS_BER_DIGEST_LEN];

        memcpy(entry, head, sizeof(head));
        memcpy(entry + sizeof(head), digest, sizeof(digest));
        assert_non_null(memmem(ber->data, ber->len, entry, sizeof(entry)));
    }
    assert_true(info->sections[0].has_digest);
    assert_memory_equal(info->sections[0].digest, digest, sizeof(digest));
    assert_int_equal(info->sections[0].match, VS_BER_SCHEMA_SAME);
    notes = check_notes(tmp, info, VS_BER_STRICT, &ok, &err);
    assert_true(ok);
    assert_string_equal(notes, "");

    /* A writer with another schema: the load goes on, the check notes it. */
    at = memmem(ber->data, ber->len, digest, sizeof(digest));
    assert_non_null(at);
    at[0] ^= 0xff;
    assert_true(vs_stream_load_ber_info(tmp, ber->data, ber->len, &copy, &info, &err));
    assert_int_equal(info->sections[0].match, VS_BER_SCHEMA_DIFFERS);
    notes = check_notes(tmp, info, VS_BER_STRICT, &ok, &err);
    assert_true(ok);
    assert_non_null(strstr(notes, "(wire name 'dev'): the writer's schema (digest "));
    assert_non_null(strstr(notes, "differs from this build's"));
    g_string_truncate(text, 0);
    vs_ber_stream_info_render(info, text);
    assert_non_null(strstr(text->str, "(differs from this build's)"));
    talloc_free(copy);

    /* A header without the schema list (an older writer) still loads, with no entries. */
    {
        g_autoptr(GByteArray) old_form = g_byte_array_new();
        VsBerTlv hdr, seq, el, last = { 0 };
        size_t pos;

        assert_true(vs_ber_read_tlv(ber->data, 2, ber->len, 1, &hdr, &err));
        assert_true(vs_ber_read_tlv(ber->data, hdr.content, hdr.content_end, 2, &seq, &err));
        for (pos = seq.content; pos < seq.content_end; pos = el.end) {
            assert_true(vs_ber_read_tlv(ber->data, pos, seq.content_end, 3, &el, &err));
            last = el;
        }
        assert_true(vs_ber_is(&last, VS_BER_UNIVERSAL, true, VS_BER_TAG_SEQUENCE));
        g_byte_array_append(old_form, ber->data, 2);
        vs_ber_put_header(old_form, VS_BER_CONTEXT, true, 16,
                          vs_ber_header_size(VS_BER_TAG_SEQUENCE, last.start - seq.content) +
                              last.start - seq.content);
        vs_ber_put_header(old_form, VS_BER_UNIVERSAL, true, VS_BER_TAG_SEQUENCE,
                          last.start - seq.content);
        g_byte_array_append(old_form, ber->data + seq.content, (guint)(last.start - seq.content));
        g_byte_array_append(old_form, ber->data + hdr.end, (guint)(ber->len - hdr.end));
        assert_true(vs_stream_load_ber_info(tmp, old_form->data, old_form->len, &copy, &info,
                                            &err));
        assert_int_equal(info->n_sections, 0);
        assert_string_equal(info->machine, "pc-test");
        talloc_free(copy);
    }

    /* A digest of another length is refused. */
    at[-1] = 31;
    assert_false(vs_stream_load_ber_info(tmp, ber->data, ber->len, &copy, &info, &err));
    assert_null(copy);
    assert_null(info);
    g_clear_error(&err);
    talloc_free(tmp);
}

static void test_ber_stream_corpus(void **state)
{
    g_autofree char *dir = vs_test_corpus_dir();
    g_autoptr(GPtrArray) streams = NULL;
    size_t smallest = SIZE_MAX;
    g_autoptr(GByteArray) small_ber = NULL;

    SKIP_WITHOUT_CORPUS(dir);
    streams = vs_test_corpus_streams(dir);
    for (guint i = 0; i < streams->len; i++) {
        GByteArray *ber = g_byte_array_new();
        g_autofree char *bin = g_strconcat(streams->pdata[i], ".bin", NULL);
        size_t len;
        g_autofree uint8_t *data = vs_test_read_file(bin, &len);

        roundtrip(*state, bin, data, len, NULL, ber);
        print_message("# %s: %zu legacy bytes, %u BER bytes, round trip identical\n", bin, len,
                      ber->len);
        if (len < smallest) {
            smallest = len;
            if (small_ber) {
                g_byte_array_unref(small_ber);
            }
            small_ber = ber;
        } else {
            g_byte_array_unref(ber);
        }
    }
    print_message("# %u corpus streams round-trip\n", streams->len);
    /* Truncations of the smallest: evenly spaced cuts, and every cut near the end. */
    for (size_t k = 0; k < TEST_CORPUS_CUTS; k++) {
        check_cut(*state, small_ber, small_ber->len / TEST_CORPUS_CUTS * k);
    }
    for (size_t cut = small_ber->len - 64; cut < small_ber->len; cut++) {
        check_cut(*state, small_ber, cut);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ber_stream_synthetic, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_ber_stream_schemas, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_ber_stream_corpus, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
    };

    return cmocka_run_group_tests_name("ber-stream", tests, NULL, NULL);
}
