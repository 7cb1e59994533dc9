/*
 * test-stream.c: loading and re-encoding whole migration streams
 * (migration/stream.h).
 *
 * SPDX-License-Identifier: MIT
 *
 * With VSTATE_CORPUS_DIR naming the QEMU 7.2 corpus:
 *   - every corpus stream loads, every section is decoded, and encoding the
 *     result gives the input back byte for byte;
 *   - the records match the corpus's own scan (*.sections.json: ids, order,
 *     offsets, lengths, footers, RAM block list and record counts);
 *   - every decoded value matches QEMU's analyze-migration.py output
 *     (*.state.json), and the RAM block sizes its "section sizes";
 *   - sections with a compiled walker (the example i8259) decode to the
 *     same tree from the walker and from the description;
 *   - truncated, cut, bit-flipped and oversized variants of a corpus stream
 *     fail with a clean VS_MIG_ERROR and no large allocation.
 * Without the corpus those tests skip and say why.  Synthetic streams built
 * here check the exact QEMU wording of the main failures and the records
 * the corpus lacks (commands, PACKAGED, XBZRLE, CONTINUE errors).
 *
 * Error domain: every failure of vs_stream_load() is a VS_MIG_ERROR, also
 * a device body that fails to decode (VS_MIG_ERROR_DEVICE, or
 * VS_MIG_ERROR_TRUNCATED when it runs out of input); the visitor's message
 * with its field path is inside the message.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "examples/example-walkers.h"
#include "migration/stream.h"
#include "tests/unit/corpus.h"
#include "tests/unit/stream-builder.h"
#include "tests/unit/test-helpers.h"
#include "visitor/pretty/pretty.h"
#include "visitor/pretty/tree-walk.h"
#include "visitor/qemufile/legacy-visitor.h"
#include "visitor/registry.h"

/* A failed load may keep this much per input byte (records, trees, JSON). */
#define TEST_MEM_FACTOR 24
#define TEST_MEM_SLACK (256 * 1024)

/* ---- helpers ------------------------------------------------------------ */

static VsJson *read_json(TALLOC_CTX *ctx, const char *path)
{
    g_autoptr(GError) err = NULL;
    size_t len;
    g_autofree uint8_t *data = vs_test_read_file(path, &len);
    VsJson *j = vs_json_parse(ctx, data, len, NULL, &err);

    if (!j) {
        print_error("%s: %s\n", path, err->message);
        fail();
    }
    return j;
}

static const char *jstr(const VsJson *obj, const char *key)
{
    return vs_json_get_string(vs_json_object_get(obj, key), NULL, NULL);
}

static uint64_t ju64(const VsJson *obj, const char *key)
{
    uint64_t v = UINT64_MAX;

    if (!vs_json_get_uint64(vs_json_object_get(obj, key), &v, NULL)) {
        print_error("JSON member '%s' is not an unsigned integer\n", key);
        fail();
    }
    return v;
}

/* Encodes @s and compares with @data, naming the first differing offset. */
static void assert_roundtrip(const VsStream *s, const uint8_t *data, size_t len)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    VsQemuFile *out = vs_qemufile_new_memory_writer(tmp);
    g_autoptr(GError) err = NULL;
    const uint8_t *got;
    size_t got_len = 0;

    if (!vs_stream_encode(s, out, &err)) {
        print_error("encode failed: %s\n", err->message);
        fail();
    }
    got = vs_qemufile_memory_data(out, &got_len);
    if (got_len != len || memcmp(got, data, len) != 0) {
        size_t i = 0;

        while (i < got_len && i < len && got[i] == data[i]) {
            i++;
        }
        print_error("re-encoded stream differs: %zu bytes vs %zu, first difference at offset "
                    "0x%zx\n",
                    got_len, len, i);
        fail();
    }
    talloc_free(tmp);
}

static const char *type_name(uint8_t type)
{
    switch (type) {
    case VS_MIG_SECTION_START:
        return "START";
    case VS_MIG_SECTION_PART:
        return "PART";
    case VS_MIG_SECTION_END:
        return "END";
    default:
        return "FULL";
    }
}

/* ---- section list against *.sections.json -------------------------------- */

typedef struct RamStats {
    uint64_t zero, normal, nonzero_fill, eos, mem_size, names_sent, continue_across;
} RamStats;

static void ram_stats(const VsStream *s, RamStats *st)
{
    memset(st, 0, sizeof(*st));
    for (size_t i = 0; i < s->n_records; i++) {
        const VsSection *sec = &s->records[i].section;
        bool first = true;

        if (s->records[i].kind != VS_REC_SECTION || sec->decoded_by != VS_DECODED_RAM) {
            continue;
        }
        for (size_t k = 0; k < sec->n_ram; k++) {
            const VsRamRecord *r = &sec->ram[k];
            uint32_t type = r->flags & ~(uint32_t)VS_RAM_CONTINUE;

            st->mem_size += type == VS_RAM_MEM_SIZE;
            st->eos += type == VS_RAM_EOS;
            if (type != VS_RAM_ZERO && type != VS_RAM_PAGE) {
                continue;
            }
            st->zero += type == VS_RAM_ZERO;
            st->nonzero_fill += type == VS_RAM_ZERO && r->fill;
            st->normal += type == VS_RAM_PAGE;
            st->names_sent += !(r->flags & VS_RAM_CONTINUE);
            st->continue_across += first && (r->flags & VS_RAM_CONTINUE);
            first = false;
        }
    }
}

static void check_record(const VsRecord *r, const VsJson *jr)
{
    const char *type = jstr(jr, "type");
    const VsSection *sec = &r->section;

    assert_non_null(type);
    assert_int_equal(r->offset, ju64(jr, "offset"));
    switch (r->kind) {
    case VS_REC_CONFIG:
        assert_string_equal(type, "CONFIGURATION");
        assert_string_equal(r->machine, jstr(jr, "machine"));
        assert_int_equal(r->length, ju64(jr, "length"));
        break;
    case VS_REC_SECTION:
        assert_string_equal(type, type_name(sec->type));
        assert_int_equal(sec->section_id, ju64(jr, "section_id"));
        assert_string_equal(sec->idstr, jstr(jr, "idstr"));
        if (sec->type == VS_MIG_SECTION_START || sec->type == VS_MIG_SECTION_FULL) {
            assert_int_equal(sec->instance_id, ju64(jr, "instance_id"));
            assert_int_equal(sec->version_id, ju64(jr, "version_id"));
        }
        assert_int_equal(sec->body_offset, ju64(jr, "payload_offset"));
        assert_int_equal(sec->body_length, ju64(jr, "payload_length"));
        assert_int_equal(r->length, ju64(jr, "length"));
        assert_true(sec->has_footer ==
                    (vs_json_kind(vs_json_object_get(jr, "footer")) == VS_JSON_BOOL));
        break;
    case VS_REC_EOF:
        assert_string_equal(type, "EOF");
        break;
    default:
        print_error("unexpected record kind %d at offset %" PRIu64 "\n", r->kind, r->offset);
        fail();
    }
}

static void check_sections(const VsStream *s, const VsJson *sj)
{
    const VsJson *records = vs_json_object_get(sj, "records");
    const VsJson *vmdesc = vs_json_object_get(sj, "vmdesc");
    const VsJson *blocks = vs_json_object_get(sj, "ram_blocks");
    const VsJson *stats = vs_json_object_get(sj, "ram_stats");
    size_t k = 0;
    RamStats st;

    for (size_t i = 0; i < s->n_records; i++) {
        if (s->records[i].kind == VS_REC_VMDESC) {
            assert_int_equal(s->records[i].offset, ju64(vmdesc, "offset"));
            assert_int_equal(s->vmdesc_len, ju64(vmdesc, "json_length"));
            continue;
        }
        assert_true(k < vs_json_length(records));
        check_record(&s->records[i], vs_json_array_get(records, k++));
    }
    assert_int_equal(k, vs_json_length(records));
    assert_int_equal(s->trailing_len, ju64(sj, "trailing_bytes"));
    assert_int_equal(s->page_size, ju64(vmdesc, "page_size"));
    assert_int_equal(s->n_blocks, vs_json_length(blocks));
    for (size_t i = 0; i < s->n_blocks; i++) {
        const VsJson *b = vs_json_array_get(blocks, i);

        assert_string_equal(s->blocks[i].name, jstr(b, "name"));
        assert_int_equal(s->blocks[i].length, ju64(b, "used_length"));
    }
    ram_stats(s, &st);
    assert_int_equal(st.zero, ju64(stats, "zero_pages"));
    assert_int_equal(st.normal, ju64(stats, "normal_pages"));
    assert_int_equal(st.nonzero_fill, ju64(stats, "nonzero_fill"));
    assert_int_equal(st.eos, ju64(stats, "eos"));
    assert_int_equal(st.mem_size, ju64(stats, "mem_size_records"));
    assert_int_equal(st.names_sent, ju64(stats, "block_names_sent"));
    assert_int_equal(st.continue_across, ju64(stats, "continue_across_sections"));
}

static VsStream *load_ok(TALLOC_CTX *ctx, const uint8_t *data, size_t len,
                         const VsLoadOptions *opts)
{
    g_autoptr(GError) err = NULL;
    VsStream *s = NULL;

    if (!vs_stream_load(ctx, data, len, opts, &s, &err)) {
        print_error("load failed: %s\n", err->message);
        fail();
    }
    return s;
}

/* Every section decoded: device sections have a state. */
static void check_all_decoded(const VsStream *s)
{
    for (size_t i = 0; i < s->n_records; i++) {
        const VsSection *sec = &s->records[i].section;

        if (s->records[i].kind != VS_REC_SECTION) {
            continue;
        }
        if (sec->decoded_by == VS_DECODED_RAM) {
            assert_true(sec->n_ram >= 1);
            continue;
        }
        if (!sec->state) {
            print_error("section '%s' %u has no state\n", sec->idstr, sec->instance_id);
            fail();
        }
    }
}

static void test_stream_corpus_roundtrip(void **state)
{
    g_autofree char *dir = vs_test_corpus_dir();
    g_autoptr(GPtrArray) streams = NULL;

    SKIP_WITHOUT_CORPUS(dir);
    streams = vs_test_corpus_streams(dir);
    for (guint i = 0; i < streams->len; i++) {
        TALLOC_CTX *ctx = talloc_new(*state);
        g_autofree char *bin = g_strconcat(streams->pdata[i], ".bin", NULL);
        g_autofree char *secs = g_strconcat(streams->pdata[i], ".sections.json", NULL);
        g_autoptr(GError) err = NULL;
        size_t len;
        g_autofree uint8_t *data = vs_test_read_file(bin, &len);
        VsStream *s = NULL;

        print_message("# %s\n", bin);
        if (!vs_stream_load_file(ctx, bin, NULL, &s, &err)) {
            print_error("%s: %s\n", bin, err->message);
            fail();
        }
        assert_non_null(s->vmdesc);
        assert_non_null(s->machine);
        check_all_decoded(s);
        assert_roundtrip(s, data, len);
        check_sections(s, read_json(ctx, secs));
        talloc_free(ctx);
    }
}

/* ---- decoded values against *.state.json ------------------------------------ */

static size_t leaves_checked;

/* analyze-migration.py prints integers as "0x%0*x", negative ones with " (-n)". */
static void check_int(const VsNode *n, const VsJson *j, const char *path)
{
    const char *s = vs_json_get_string(j, NULL, NULL);
    uint64_t want, got = n->value.u;

    if (!s || strncmp(s, "0x", 2) != 0 || strlen(s) < 2 + 2 * n->width) {
        print_error("%s: reference is not a hex string of %u bytes\n", path, n->width);
        fail();
    }
    want = g_ascii_strtoull(s + 2, NULL, 16);
    if (n->width < 8) {
        got &= (UINT64_C(1) << (8 * n->width)) - 1;
    }
    if (got != want) {
        print_error("%s: decoded 0x%" PRIx64 ", reference %s\n", path, got, s);
        fail();
    }
}

/* Buffers are printed as "xx xx xx". */
static void check_buffer(const VsNode *n, const VsJson *j, const char *path)
{
    const char *s = vs_json_get_string(j, NULL, NULL);

    assert_non_null(s);
    if (strlen(s) != (n->len ? n->len * 3 - 1 : 0)) {
        print_error("%s: %zu bytes decoded, reference '%.40s...'\n", path, n->len, s);
        fail();
    }
    for (size_t i = 0; i < n->len; i++) {
        unsigned b = (unsigned)g_ascii_strtoull(s + 3 * i, NULL, 16);

        if (b != n->bytes[i]) {
            print_error("%s[%zu]: decoded 0x%02x, reference 0x%02x\n", path, i, n->bytes[i], b);
            fail();
        }
    }
}

static void check_node(const VsNode *n, const VsJson *j, const char *path)
{
    g_autofree char *p = NULL;

    if (!j) {
        print_error("%s: missing in the reference decode\n", path);
        fail();
    }
    switch (n->kind) {
    case VS_NODE_STRUCT:
    case VS_NODE_SUBSECTION:
        assert_int_equal(vs_json_kind(j), VS_JSON_OBJECT);
        for (size_t i = 0; i < n->n_children; i++) {
            const VsNode *c = n->children[i];

            p = g_strdup_printf("%s.%s", path, c->name);
            check_node(c, vs_json_object_get(j, c->name), p);
            g_clear_pointer(&p, g_free);
        }
        break;
    case VS_NODE_ARRAY:
        assert_int_equal(vs_json_kind(j), VS_JSON_ARRAY);
        assert_int_equal(vs_json_length(j), n->n_children);
        for (size_t i = 0; i < n->n_children; i++) {
            p = g_strdup_printf("%s[%zu]", path, i);
            check_node(n->children[i], vs_json_array_get(j, i), p);
            g_clear_pointer(&p, g_free);
        }
        break;
    case VS_NODE_UINT:
    case VS_NODE_INT:
        check_int(n, j, path);
        leaves_checked++;
        break;
    case VS_NODE_BOOL: {
        bool b;

        assert_true(vs_json_get_bool(j, &b, NULL));
        assert_true(b == n->value.b);
        leaves_checked++;
        break;
    }
    case VS_NODE_BUFFER:
        check_buffer(n, j, path);
        leaves_checked++;
        break;
    default:
        print_error("%s: unexpected %s node\n", path, vs_node_kind_name(n->kind));
        fail();
    }
}

static void check_ram_sizes(const VsStream *s, const VsJson *j)
{
    const VsJson *sizes = vs_json_pointer(j, "/section sizes", NULL);

    assert_non_null(sizes);
    assert_int_equal(vs_json_length(sizes), s->n_blocks);
    for (size_t i = 0; i < s->n_blocks; i++) {
        const char *v = jstr(sizes, s->blocks[i].name);

        assert_non_null(v);
        assert_int_equal(g_ascii_strtoull(v + 2, NULL, 16), s->blocks[i].length);
    }
}

static void check_state(const VsStream *s, const VsJson *ref)
{
    size_t sections = 0;

    for (size_t i = 0; i < s->n_records; i++) {
        const VsSection *sec = &s->records[i].section;
        g_autofree char *key = NULL;
        const VsJson *j;

        if (s->records[i].kind != VS_REC_SECTION ||
            (sec->type != VS_MIG_SECTION_FULL && sec->type != VS_MIG_SECTION_START)) {
            continue;
        }
        key = g_strdup_printf("%s (%u)", sec->idstr, sec->section_id);
        j = vs_json_object_get(ref, key);
        if (!j) {
            print_error("section %s is not in the reference decode\n", key);
            fail();
        }
        if (sec->decoded_by == VS_DECODED_RAM) {
            check_ram_sizes(s, j);
        } else {
            assert_int_equal(sec->decoded_by, VS_DECODED_DESCRIPTION);
            check_node(sec->state, j, key);
        }
        sections++;
    }
    assert_int_equal(sections, vs_json_length(ref));
}

static void test_stream_corpus_state(void **state)
{
    g_autofree char *dir = vs_test_corpus_dir();
    g_autoptr(GPtrArray) streams = NULL;

    SKIP_WITHOUT_CORPUS(dir);
    streams = vs_test_corpus_streams(dir);
    for (guint i = 0; i < streams->len; i++) {
        TALLOC_CTX *ctx = talloc_new(*state);
        g_autofree char *bin = g_strconcat(streams->pdata[i], ".bin", NULL);
        g_autofree char *ref = g_strconcat(streams->pdata[i], ".state.json", NULL);
        size_t len;
        g_autofree uint8_t *data = vs_test_read_file(bin, &len);
        VsLoadOptions opts = { .no_schemas = true };
        VsStream *s = load_ok(ctx, data, len, &opts);

        leaves_checked = 0;
        check_state(s, read_json(ctx, ref));
        print_message("# %s: %zu leaves equal to analyze-migration.py's\n", bin, leaves_checked);
        assert_true(leaves_checked > 1000);
        talloc_free(ctx);
    }
}

/* ---- both decoders agree ------------------------------------------------------ */

/* Clears type names (the description knows none) in a tree the test owns. */
static void drop_type_names(VsNode *n)
{
    n->type_name = NULL;
    for (size_t i = 0; i < n->n_children; i++) {
        drop_type_names(n->children[i]);
    }
}

static void test_stream_schema_agrees(void **state)
{
    g_autofree char *dir = vs_test_corpus_dir();
    g_autoptr(GPtrArray) streams = NULL;
    size_t compared = 0;

    SKIP_WITHOUT_CORPUS(dir);
    vs_ex_register();
    streams = vs_test_corpus_streams(dir);
    for (guint i = 0; i < streams->len; i++) {
        TALLOC_CTX *ctx = talloc_new(*state);
        g_autofree char *bin = g_strconcat(streams->pdata[i], ".bin", NULL);
        size_t len;
        g_autofree uint8_t *data = vs_test_read_file(bin, &len);
        VsLoadOptions desc_only = { .no_schemas = true };
        VsStream *a = load_ok(ctx, data, len, NULL);
        VsStream *b = load_ok(ctx, data, len, &desc_only);

        assert_roundtrip(a, data, len);
        assert_int_equal(a->n_records, b->n_records);
        for (size_t k = 0; k < a->n_records; k++) {
            VsSection *sa = &a->records[k].section;
            VsSection *sb = &b->records[k].section;
            char *where = NULL, *why = NULL;

            if (a->records[k].kind != VS_REC_SECTION || sa->decoded_by != VS_DECODED_SCHEMA) {
                continue;
            }
            assert_int_equal(sb->decoded_by, VS_DECODED_DESCRIPTION);
            drop_type_names(sa->state);
            drop_type_names(sb->state);
            if (!vs_node_compare(sa->state, sb->state, ctx, &where, &why)) {
                print_error("%s: '%s' differs at %s: %s\n", bin, sa->idstr, where, why);
                fail();
            }
            compared++;
        }
        talloc_free(ctx);
    }
    /* Two i8259 sections per stream. */
    assert_int_equal(compared, 2 * streams->len);
}

/* ---- synthetic streams ---------------------------------------------------------- */

/* Where the synthetic stream's parts start (for the malformed tests). */
typedef struct Synth {
    Buf *b;
    size_t ram_start, dev_start, dev_body, pic_start, eof;
} Synth;

static const char synth_desc[] =
    "{\"page_size\": 4096, \"devices\": ["
    "{\"name\": \"0000:00:02.0/dev\", \"instance_id\": 0, \"vmsd_name\": \"dev\", \"version\": 2, "
    "\"fields\": ["
    "{\"name\": \"id\", \"type\": \"uint16\", \"size\": 2}, "
    "{\"name\": \"temp\", \"type\": \"int32\", \"size\": 4}, "
    "{\"name\": \"on\", \"type\": \"bool\", \"size\": 1}, "
    "{\"name\": \"regs\", \"array_len\": 3, \"type\": \"uint32 equal\", \"size\": 4}, "
    "{\"name\": \"unused\", \"type\": \"unused_buffer\", \"size\": 2}, "
    "{\"name\": \"ch\", \"index\": 0, \"type\": \"struct\", \"struct\": {\"vmsd_name\": \"chan\", "
    "\"version\": 1, \"fields\": [{\"name\": \"mode\", \"type\": \"uint8\", \"size\": 1}]}, "
    "\"size\": 1}, "
    "{\"name\": \"ch\", \"index\": 1, \"type\": \"struct\", \"struct\": {\"vmsd_name\": \"chan\", "
    "\"version\": 1, \"fields\": [{\"name\": \"mode\", \"type\": \"uint8\", \"size\": 1}], "
    "\"subsections\": [{\"vmsd_name\": \"chan/x\", \"version\": 1, \"fields\": "
    "[{\"name\": \"x\", \"type\": \"int8\", \"size\": 1}]}]}, \"size\": 8}, "
    "{\"name\": \"tm\", \"type\": \"timer\", \"size\": 8}, "
    "{\"name\": \"slot\", \"type\": \"struct\", \"struct\": {}, \"size\": 1}"
    "], \"subsections\": [{\"vmsd_name\": \"dev/irq\", \"version\": 1, \"fields\": "
    "[{\"name\": \"mask\", \"type\": \"uint64\", \"size\": 8}]}]}, "
    "{\"name\": \"i8259\", \"instance_id\": 0, \"vmsd_name\": \"i8259\", \"version\": 1, "
    "\"fields\": ["
    "{\"name\": \"last_irr\", \"type\": \"uint8\", \"size\": 1}, "
    "{\"name\": \"irr\", \"type\": \"uint8\", \"size\": 1}, "
    "{\"name\": \"imr\", \"type\": \"uint8\", \"size\": 1}, "
    "{\"name\": \"isr\", \"type\": \"uint8\", \"size\": 1}, "
    "{\"name\": \"priority_add\", \"type\": \"uint8\", \"size\": 1}, "
    "{\"name\": \"irq_base\", \"type\": \"uint8\", \"size\": 1}, "
    "{\"name\": \"read_reg_select\", \"type\": \"uint8\", \"size\": 1}, "
    "{\"name\": \"poll\", \"type\": \"uint8\", \"size\": 1}, "
    "{\"name\": \"special_mask\", \"type\": \"uint8\", \"size\": 1}, "
    "{\"name\": \"init_state\", \"type\": \"uint8\", \"size\": 1}, "
    "{\"name\": \"auto_eoi\", \"type\": \"uint8\", \"size\": 1}, "
    "{\"name\": \"rotate_on_auto_eoi\", \"type\": \"uint8\", \"size\": 1}, "
    "{\"name\": \"special_fully_nested_mode\", \"type\": \"uint8\", \"size\": 1}, "
    "{\"name\": \"init4\", \"type\": \"uint8\", \"size\": 1}, "
    "{\"name\": \"single_mode\", \"type\": \"uint8\", \"size\": 1}, "
    "{\"name\": \"elcr\", \"type\": \"uint8\", \"size\": 1}]}]}";

/*
 * A small stream with every kind of record: configuration with
 * subsections, commands, RAM with MEM_SIZE, ZERO, PAGE, XBZRLE, CONTINUE
 * across sections, a described device with arrays, indexed struct fields,
 * nested and top-level subsections, a null slot, non-zero padding, a bool
 * byte of 2, an i8259, EOF and the trailer.
 */
static Synth synth_stream(void)
{
    Synth sy = { .b = g_byte_array_new() };
    Buf *b = sy.b;

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
    put8(b, VS_MIG_COMMAND);            /* OPEN_RETURN_PATH */
    put16(b, 1);
    put16(b, 0);
    put8(b, VS_MIG_COMMAND);            /* PING 1 */
    put16(b, 2);
    put16(b, 4);
    put32(b, 1);
    sy.ram_start = b->len;
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
    put64(b, 0x1000 | VS_RAM_XBZRLE | VS_RAM_CONTINUE);   /* same block as before */
    put8(b, 1);
    put16(b, 5);
    put8(b, 0x10);                      /* 16 unchanged */
    put8(b, 0x03);                      /* 3 changed */
    put8(b, 0xaa);
    put8(b, 0xbb);
    put8(b, 0xcc);
    put64(b, 0x0000 | VS_RAM_ZERO);     /* repeated page, other block */
    putstr(b, "rom");
    put8(b, 0x5a);
    put64(b, VS_RAM_EOS);
    put_footer(b, 2);
    put_section(b, VS_MIG_SECTION_END, 2, NULL, 0, 0);
    put64(b, VS_RAM_EOS);
    put_footer(b, 2);
    sy.dev_start = b->len;
    put_section(b, VS_MIG_SECTION_FULL, 7, "0000:00:02.0/dev", 0, 2);
    sy.dev_body = b->len;
    put16(b, 0x1234);                   /* id */
    put32(b, 0xfffffffe);               /* temp -2 */
    put8(b, 2);                         /* a bool byte of 2 */
    put32(b, 1);
    put32(b, 2);
    put32(b, 3);                        /* regs */
    put8(b, 0x11);
    put8(b, 0x22);                      /* non-zero padding */
    put8(b, 9);                         /* ch[0].mode */
    put8(b, 8);                         /* ch[1].mode */
    put8(b, 0x05);
    putstr(b, "chan/x");
    put32(b, 1);
    put8(b, 0xff);                      /* ch[1].chan/x.x = -1 */
    put64(b, UINT64_MAX);               /* timer not armed */
    put8(b, 0x30);                      /* null slot */
    put8(b, 0x05);
    putstr(b, "dev/irq");
    put32(b, 1);
    put64(b, 0x0102030405060708);
    put_footer(b, 7);
    sy.pic_start = b->len;
    put_section(b, VS_MIG_SECTION_FULL, 8, "i8259", 0, 1);
    for (int i = 0; i < 16; i++) {
        put8(b, (uint8_t)(i + 1));
    }
    put_footer(b, 8);
    sy.eof = b->len;
    put8(b, VS_MIG_EOF);
    put_trailer(b, synth_desc);
    return sy;
}

static void test_stream_synthetic(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    Synth sy = synth_stream();
    VsLoadOptions desc_only = { .no_schemas = true };
    VsStream *s = load_ok(ctx, sy.b->data, sy.b->len, &desc_only);
    const VsSection *dev = vs_stream_find_section(s, "0000:00:02.0/dev", 0);
    const VsSection *pic = vs_stream_find_section(s, "i8259", 0);
    const VsNode *n;

    assert_roundtrip(s, sy.b->data, sy.b->len);
    assert_string_equal(s->machine, "pc-test");
    assert_int_equal(s->n_blocks, 2);
    assert_non_null(dev);
    assert_int_equal(dev->decoded_by, VS_DECODED_DESCRIPTION);
    assert_string_equal(dev->wire_name, "dev");
    assert_int_equal(dev->state->version, 2);
    n = vs_node_lookup(dev->state, "dev.temp");
    assert_non_null(n);
    assert_int_equal(n->value.i, -2);
    n = vs_node_lookup(dev->state, "dev.on");
    assert_int_equal(n->kind, VS_NODE_UINT); /* a bool byte of 2 stays a byte */
    n = vs_node_lookup(dev->state, "dev.regs[2]");
    assert_int_equal(n->value.u, 3);
    n = vs_node_lookup(dev->state, "dev.ch[1].chan/x.x");
    assert_non_null(n);
    assert_int_equal(n->value.i, -1);
    n = vs_node_lookup(dev->state, "dev.slot");
    assert_int_equal(n->kind, VS_NODE_NULL);
    n = vs_node_lookup(dev->state, "dev.dev/irq.mask");
    assert_int_equal(n->value.u, 0x0102030405060708);
    assert_non_null(pic);
    assert_int_equal(pic->decoded_by, VS_DECODED_DESCRIPTION);
    assert_string_equal(vs_decoded_by_name(pic->decoded_by), "description");
    /* RAM: CONTINUE across sections resolves to the previous block. */
    for (size_t i = 0; i < s->n_records; i++) {
        const VsSection *sec = &s->records[i].section;

        if (s->records[i].kind == VS_REC_SECTION && sec->type == VS_MIG_SECTION_PART &&
            sec->ram[0].flags & VS_RAM_XBZRLE) {
            assert_string_equal(sec->ram[0].block, "blk");
            assert_int_equal(sec->ram[0].len, 5);
        }
    }
    g_byte_array_unref(sy.b);
    talloc_free(ctx);
}

/* vs_node_walk() drives other visitors than the legacy one: a tree builder copies. */
static void test_stream_node_walk_copy(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    Synth sy = synth_stream();
    VsStream *s = load_ok(ctx, sy.b->data, sy.b->len, NULL);
    const VsSection *dev = vs_stream_find_section(s, "0000:00:02.0/dev", 0);
    VsVisitor *builder = vs_tree_builder_new(ctx, ctx);
    g_autoptr(GError) err = NULL;
    char *where = NULL, *why = NULL;

    assert_true(vs_node_walk(dev->state, builder, &err));
    assert_true(vs_visitor_complete(builder, &err));
    if (!vs_node_compare(dev->state, vs_tree_builder_root(builder), ctx, &where, &why)) {
        print_error("copy differs at %s: %s\n", where, why);
        fail();
    }
    g_byte_array_unref(sy.b);
    talloc_free(ctx);
}

/* A packaged (postcopy-shaped) stream: ADVISE, DISCARD, PACKAGED(LISTEN, FULL, RUN). */
static Buf *synth_postcopy(void)
{
    Buf *b = g_byte_array_new();
    Buf *pkg = g_byte_array_new();

    put32(b, VS_MIG_FILE_MAGIC);
    put32(b, 3);
    put8(b, VS_MIG_COMMAND);            /* ADVISE with the page sizes */
    put16(b, 3);
    put16(b, 16);
    put64(b, 0x201000);
    put64(b, 0x1000);
    put_section(b, VS_MIG_SECTION_START, 2, "ram", 0, 4);
    put64(b, 0x200000 | VS_RAM_MEM_SIZE);
    putstr(b, "huge");
    put64(b, 0x200000);
    put64(b, 0x200000);                 /* page_size word of a hugepage block */
    put64(b, VS_RAM_EOS);
    put_footer(b, 2);
    put8(b, VS_MIG_COMMAND);            /* DISCARD one range of "huge" */
    put16(b, 6);
    put16(b, 3 + 4 + 16);
    put8(b, 0);
    putstr(b, "huge");
    put8(b, 0);
    put64(b, 0);
    put64(b, 0x1000);
    put8(pkg, VS_MIG_COMMAND);          /* LISTEN */
    put16(pkg, 4);
    put16(pkg, 0);
    put_section(pkg, VS_MIG_SECTION_FULL, 3, "i8259", 0, 1);
    for (int i = 0; i < 16; i++) {
        put8(pkg, (uint8_t)i);
    }
    put_footer(pkg, 3);
    put8(pkg, VS_MIG_COMMAND);          /* RUN */
    put16(pkg, 5);
    put16(pkg, 0);
    put8(pkg, 0xee);                    /* dropped by QEMU, kept here */
    put8(b, VS_MIG_COMMAND);
    put16(b, 7);
    put16(b, 4);
    put32(b, pkg->len);
    g_byte_array_append(b, pkg->data, pkg->len);
    put_section(b, VS_MIG_SECTION_END, 2, NULL, 0, 0);
    put64(b, 0x1000 | VS_RAM_PAGE);
    putstr(b, "huge");
    for (int i = 0; i < 4096; i++) {
        put8(b, (uint8_t)i);
    }
    put64(b, VS_RAM_EOS);
    put_footer(b, 2);
    put8(b, VS_MIG_EOF);
    g_byte_array_unref(pkg);
    return b;
}

static void test_stream_packaged(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    Buf *b = synth_postcopy();
    VsStream *s = NULL;
    const VsCommand *pk = NULL;
    g_autoptr(GError) err = NULL;
    bool ok;

    vs_ex_register();
    ok = vs_stream_load(ctx, b->data, b->len, NULL, &s, &err);
    if (!ok) {
        print_error("%s\n", err->message);
        fail();
    }
    assert_true(s->blocks[0].has_page_size);
    assert_int_equal(s->blocks[0].page_size, 0x200000);
    for (size_t i = 0; i < s->n_records; i++) {
        if (s->records[i].kind == VS_REC_COMMAND && s->records[i].command.cmd == 7) {
            pk = &s->records[i].command;
        }
    }
    assert_non_null(pk);
    assert_non_null(pk->package);
    assert_int_equal(pk->package->n_records, 3);
    assert_int_equal(pk->package->records[1].section.decoded_by, VS_DECODED_SCHEMA);
    assert_int_equal(pk->package->trailing_len, 1);
    assert_roundtrip(s, b->data, b->len);
    g_byte_array_unref(b);
    talloc_free(ctx);
}

/* ---- failures: exact words --------------------------------------------------------- */

/* Loads @data, which must fail with @code and a message starting with @prefix. */
static void expect_fail(const uint8_t *data, size_t len, const VsLoadOptions *opts, int code,
                        const char *prefix)
{
    TALLOC_CTX *ctx = talloc_new(NULL);
    g_autoptr(GError) err = NULL;
    VsStream *s = NULL;

    assert_false(vs_stream_load(ctx, data, len, opts, &s, &err));
    assert_gerror(err, VS_MIG_ERROR, code, prefix);
    print_message("#   %s\n", err->message);
    talloc_free(ctx);
}

static void patch8(Buf *b, size_t at, uint8_t v)
{
    b->data[at] = v;
}

static void test_stream_fail_words(void **state)
{
    Synth sy = synth_stream();
    Buf *b = g_byte_array_new();
    static const uint8_t not_stream[] = "QEVN\0\0\0\3";
    static const uint8_t v2[] = { 'Q', 'E', 'V', 'M', 0, 0, 0, 2 };

    expect_fail(not_stream, 8, NULL, VS_MIG_ERROR_FORMAT, "Not a migration stream (read 0x5145564e");
    expect_fail(v2, 8, NULL, VS_MIG_ERROR_FORMAT, "SaveVM v2 format is obsolete");
    expect_fail(sy.b->data, 6, NULL, VS_MIG_ERROR_TRUNCATED,
                "Unsupported migration stream version");

    /* Unknown item type where the first RAM section starts. */
    g_byte_array_append(b, sy.b->data, sy.b->len);
    patch8(b, sy.ram_start, 0x09);
    expect_fail(b->data, b->len, NULL, VS_MIG_ERROR_FORMAT, "Unknown savevm section type 9");
    patch8(b, sy.ram_start, VS_MIG_SECTION_START);

    /* The i8259's body one byte short: its footer's marker is body data. */
    g_byte_array_remove_index(b, (guint)(sy.pic_start + 19 + 3));
    expect_fail(b->data, b->len, NULL, VS_MIG_ERROR_SECTION, "Missing section footer for i8259");
    g_byte_array_set_size(b, 0);
    g_byte_array_append(b, sy.b->data, sy.b->len);

    /* Footer with another id. */
    patch8(b, sy.pic_start + 19 + 16 + 4, 9);
    expect_fail(b->data, b->len, NULL, VS_MIG_ERROR_SECTION,
                "Mismatched section id in footer for i8259 - read 0x9 expected 0x8");
    g_byte_array_unref(b);
    g_byte_array_unref(sy.b);
}

/* RAM records one by one, in a minimal stream (no configuration, no footers). */
static Buf *ram_stream(void)
{
    Buf *b = g_byte_array_new();

    put32(b, VS_MIG_FILE_MAGIC);
    put32(b, 3);
    put_section(b, VS_MIG_SECTION_START, 1, "ram", 0, 4);
    put64(b, 0x2000 | VS_RAM_MEM_SIZE);
    putstr(b, "pc.ram");
    put64(b, 0x2000);
    return b;
}

static void test_stream_fail_ram_words(void **state)
{
    Buf *b = ram_stream();

    put64(b, 0x1000 | VS_RAM_ZERO | VS_RAM_CONTINUE);
    put8(b, 0);
    expect_fail(b->data, b->len, NULL, VS_MIG_ERROR_RAM,
                "error while loading state for instance 0x0 of device 'ram': Ack, bad migration "
                "stream!");
    g_byte_array_unref(b);

    b = ram_stream();
    put64(b, 0x2000 | VS_RAM_ZERO);
    putstr(b, "pc.ram");
    put8(b, 0);
    expect_fail(b->data, b->len, NULL, VS_MIG_ERROR_RAM,
                "error while loading state for instance 0x0 of device 'ram': Illegal RAM offset "
                "2000 (");
    g_byte_array_unref(b);

    b = ram_stream();
    put64(b, 0x0 | VS_RAM_PAGE);
    putstr(b, "pc.rom");
    expect_fail(b->data, b->len, NULL, VS_MIG_ERROR_RAM,
                "error while loading state for instance 0x0 of device 'ram': Can't find block "
                "pc.rom");
    g_byte_array_unref(b);

    b = ram_stream();
    put64(b, 0x0 | VS_RAM_HOOK);
    expect_fail(b->data, b->len, NULL, VS_MIG_ERROR_RAM,
                "error while loading state for instance 0x0 of device 'ram': Unknown combination "
                "of migration flags: 0x80");
    g_byte_array_unref(b);

    b = ram_stream();
    put64(b, 0x0 | VS_RAM_XBZRLE);
    putstr(b, "pc.ram");
    put8(b, 1);
    put16(b, 2);
    put8(b, 0x01);
    put8(b, 0x05);                      /* 5 changed bytes, none there */
    expect_fail(b->data, b->len, NULL, VS_MIG_ERROR_RAM,
                "error while loading state for instance 0x0 of device 'ram': Failed to load "
                "XBZRLE page - decode error!; Failed to decompress XBZRLE page at 0");
    g_byte_array_unref(b);

    b = ram_stream();
    put64(b, 0x0 | VS_RAM_COMPRESS_PAGE);
    putstr(b, "pc.ram");
    put32(b, 0x80000000);
    expect_fail(b->data, b->len, NULL, VS_MIG_ERROR_RAM,
                "error while loading state for instance 0x0 of device 'ram': Invalid compressed "
                "data length: -2147483648");
    g_byte_array_unref(b);

    /* Block lengths that do not add up to the total. */
    b = g_byte_array_new();
    put32(b, VS_MIG_FILE_MAGIC);
    put32(b, 3);
    put_section(b, VS_MIG_SECTION_START, 1, "ram", 0, 4);
    put64(b, 0x1000 | VS_RAM_MEM_SIZE);
    putstr(b, "pc.ram");
    put64(b, 0x2000);
    expect_fail(b->data, b->len, NULL, VS_MIG_ERROR_RAM,
                "error while loading state for instance 0x0 of device 'ram': RAM MEM_SIZE: block");
    g_byte_array_unref(b);

    /* A newer RAM version is refused at the section header, as in QEMU. */
    b = g_byte_array_new();
    put32(b, VS_MIG_FILE_MAGIC);
    put32(b, 3);
    put_section(b, VS_MIG_SECTION_START, 1, "ram", 0, 5);
    expect_fail(b->data, b->len, NULL, VS_MIG_ERROR_SECTION,
                "savevm: unsupported version 5 for 'ram' v4");
    g_byte_array_unref(b);
}

static void test_stream_fail_command_words(void **state)
{
    Buf *b = g_byte_array_new();

    put32(b, VS_MIG_FILE_MAGIC);
    put32(b, 3);
    put8(b, VS_MIG_COMMAND);
    put16(b, 11);
    put16(b, 0);
    expect_fail(b->data, b->len, NULL, VS_MIG_ERROR_COMMAND, "MIG_CMD 0xb unknown (len 0x0)");
    b->data[10] = 2;                    /* PING with 0 bytes */
    expect_fail(b->data, b->len, NULL, VS_MIG_ERROR_COMMAND,
                "PING received with bad length - expecting 4, got 0");
    b->data[10] = 8;                    /* ENABLE_COLO has no name in 7.2 */
    b->data[12] = 1;
    expect_fail(b->data, b->len, NULL, VS_MIG_ERROR_COMMAND,
                "(null) received with bad length - expecting 0, got 1");
    b->data[10] = 5;                    /* RUN before LISTEN */
    b->data[12] = 0;
    expect_fail(b->data, b->len, NULL, VS_MIG_ERROR_COMMAND,
                "CMD_POSTCOPY_RUN in wrong postcopy state (0)");
    b->data[10] = 7;                    /* PACKAGED longer than the input */
    b->data[12] = 4;
    put32(b, 1000);
    expect_fail(b->data, b->len, NULL, VS_MIG_ERROR_TRUNCATED,
                "CMD_PACKAGED: Buffer receive fail ret=0 length=1000");
    g_byte_array_unref(b);
}

/* vs_stream_load_file(): a path, its size cap, a missing file. */
static void test_stream_load_file(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    Synth sy = synth_stream();
    g_autofree char *path = NULL;
    g_autoptr(GError) err = NULL;
    VsLoadOptions small = { .max_input = 100 };
    VsStream *s = NULL;
    int fd = g_file_open_tmp("test-stream-XXXXXX", &path, &err);

    assert_true(fd >= 0);
    close(fd);
    assert_true(g_file_set_contents(path, (const char *)sy.b->data, sy.b->len, &err));
    assert_true(vs_stream_load_file(ctx, path, NULL, &s, &err));
    assert_roundtrip(s, sy.b->data, sy.b->len);
    talloc_free(s);
    assert_false(vs_stream_load_file(ctx, path, &small, &s, &err));
    assert_gerror(err, VS_MIG_ERROR, VS_MIG_ERROR_LIMIT, path);
    assert_null(s);
    g_clear_error(&err);
    unlink(path);
    assert_false(vs_stream_load_file(ctx, path, NULL, &s, &err));
    assert_gerror(err, VS_MIG_ERROR, VS_MIG_ERROR_IO, "cannot open");
    g_byte_array_unref(sy.b);
    talloc_free(ctx);
}

/*
 * The densest records: 5-byte commands, each a 160-byte VsRecord.  Memory
 * stays linear (about 33 bytes per input byte here), and the array has no
 * slack once the load is done.
 */
static void test_stream_dense_records(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    Buf *b = g_byte_array_new();
    VsStream *s;

    put32(b, VS_MIG_FILE_MAGIC);
    put32(b, 3);
    for (int i = 0; i < 20000; i++) {
        put8(b, VS_MIG_COMMAND);
        put16(b, 1);
        put16(b, 0);
    }
    put8(b, VS_MIG_EOF);
    s = load_ok(ctx, b->data, b->len, NULL);
    assert_int_equal(s->n_records, 20001);
    assert_int_equal(talloc_array_length(s->records), 20001);
    assert_true(talloc_total_size(ctx) < b->len * 40);
    assert_roundtrip(s, b->data, b->len);
    g_byte_array_unref(b);
    talloc_free(ctx);
}

static void test_stream_fail_undecodable(void **state)
{
    Synth sy = synth_stream();
    VsLoadOptions opts = { .no_description = true };
    TALLOC_CTX *ctx = talloc_new(NULL);
    g_autoptr(GError) err = NULL;
    VsStream *s = NULL;

    assert_false(vs_stream_load(ctx, sy.b->data, sy.b->len, &opts, &s, &err));
    assert_gerror(err, VS_MIG_ERROR, VS_MIG_ERROR_UNDECODABLE,
                  "section '0000:00:02.0/dev' (instance 0, id 7) at offset");
    assert_gerror_contains(err, "the legacy format cannot skip it");
    /* Everything before it was kept: configuration, 2 commands, 4 RAM sections. */
    assert_non_null(s);
    assert_int_equal(s->n_records, 7);
    g_byte_array_unref(sy.b);
    talloc_free(ctx);
}

/* A device error carries QEMU's sentence, then the visitor's path. */
static void test_stream_fail_device_path(void **state)
{
    Synth sy = synth_stream();
    Buf *b = g_byte_array_new();

    g_byte_array_append(b, sy.b->data, sy.b->len);
    /* The nested subsection header's name becomes "chan/y": unknown to ch[1]. */
    b->data[sy.dev_body + 30] = 'y';
    expect_fail(b->data, b->len, NULL, VS_MIG_ERROR_DEVICE,
                "error while loading state for instance 0x0 of device '0000:00:02.0/dev': "
                "dev.ch[1]");
    g_byte_array_unref(b);
    g_byte_array_unref(sy.b);
}

/* ---- failures: malformed variants of real and synthetic streams --------------------------- */

typedef struct Mangle {
    const uint8_t *orig;
    size_t orig_len;
    size_t cases, ok_cases;
} Mangle;

/*
 * Loads @data: a failure must be a VS_MIG_ERROR with a message; a success
 * must re-encode to @data.  Either way, memory stays proportional to the
 * input.
 */
static void try_load(Mangle *m, const uint8_t *data, size_t len)
{
    TALLOC_CTX *ctx = talloc_new(NULL);
    g_autoptr(GError) err = NULL;
    VsStream *s = NULL;
    bool ok = vs_stream_load(ctx, data, len, NULL, &s, &err);
    size_t used = talloc_total_size(ctx);

    m->cases++;
    if (used > len * TEST_MEM_FACTOR + TEST_MEM_SLACK) {
        print_error("a load of %zu bytes keeps %zu bytes\n", len, used);
        fail();
    }
    if (ok) {
        m->ok_cases++;
        assert_roundtrip(s, data, len);
    } else {
        assert_non_null(err);
        if (err->domain != VS_MIG_ERROR || !err->message[0]) {
            print_error("error outside VS_MIG_ERROR: %s\n", err->message);
            fail();
        }
    }
    talloc_free(ctx);
}

static void try_truncated(Mangle *m, size_t at)
{
    if (at <= m->orig_len) {
        try_load(m, m->orig, at);
    }
}

/* The input without [from, to): a section cut short, the rest intact. */
static void try_cut(Mangle *m, size_t from, size_t to)
{
    Buf *b = g_byte_array_new();

    g_byte_array_append(b, m->orig, (guint)from);
    g_byte_array_append(b, m->orig + to, (guint)(m->orig_len - to));
    try_load(m, b->data, b->len);
    g_byte_array_unref(b);
}

static void try_patch(Mangle *m, size_t at, const uint8_t *bytes, size_t n)
{
    Buf *b = g_byte_array_new();

    if (at + n > m->orig_len) {
        g_byte_array_unref(b);
        return;
    }
    g_byte_array_append(b, m->orig, (guint)m->orig_len);
    memcpy(b->data + at, bytes, n);
    try_load(m, b->data, b->len);
    g_byte_array_unref(b);
}

static void try_flip(Mangle *m, size_t at)
{
    uint8_t v;

    if (at >= m->orig_len) {
        return;
    }
    v = m->orig[at] ^ 0xff;
    try_patch(m, at, &v, 1);
    v = m->orig[at] ^ 0x01;
    try_patch(m, at, &v, 1);
}

/* Every length or count field of @width bytes at @at set to large values. */
static void try_oversize(Mangle *m, size_t at, unsigned width)
{
    static const uint8_t ff[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    static const uint8_t big[8] = { 0x7f, 0xff, 0xff, 0xf0, 0, 0, 0, 0 };

    try_patch(m, at, ff, width);
    try_patch(m, at, big, width);
}

/* Mangles every record of a loaded stream @s of @data. */
static void mangle_records(Mangle *m, const VsStream *s, bool all_bytes_of_devices)
{
    for (size_t i = 0; i < s->n_records; i++) {
        const VsRecord *r = &s->records[i];
        size_t at = r->offset, end = r->offset + r->length;

        try_truncated(m, at);
        try_truncated(m, at + 1);
        try_truncated(m, (at + end) / 2);
        try_truncated(m, end - 1);
        try_flip(m, at);
        if (r->kind == VS_REC_CONFIG) {
            try_oversize(m, at + 1, 4);
        }
        if (r->kind == VS_REC_VMDESC) {
            try_oversize(m, at + 1, 4);
            try_flip(m, at + 4);
            try_flip(m, at + 5);
        }
        if (r->kind == VS_REC_COMMAND) {
            try_oversize(m, at + 3, 2);
        }
        if (r->kind != VS_REC_SECTION) {
            continue;
        }
        for (size_t k = 1; k < 5; k++) {
            try_flip(m, at + k);                    /* section id */
        }
        try_flip(m, end - 5);                       /* footer marker */
        try_flip(m, end - 1);                       /* footer id */
        if (r->section.type == VS_MIG_SECTION_START || r->section.type == VS_MIG_SECTION_FULL) {
            size_t n = strlen(r->section.idstr);

            try_oversize(m, at + 5, 1);             /* idstr length */
            try_flip(m, at + 6 + n + 3);            /* instance */
            try_flip(m, at + 6 + n + 7);            /* version */
        }
        if (r->section.decoded_by == VS_DECODED_RAM && r->section.n_ram) {
            size_t body = r->section.body_offset;

            try_oversize(m, body, 8);               /* first record word / MEM_SIZE total */
            try_flip(m, body + 7);                  /* its flags */
            try_oversize(m, body + 8, 1);           /* a block name length */
            try_cut(m, body + 4, end);
        }
        if (all_bytes_of_devices && r->section.decoded_by != VS_DECODED_RAM) {
            for (size_t k = at + 1; k < end; k++) {
                try_cut(m, k, end);
                try_flip(m, k);
            }
        } else if (r->section.decoded_by != VS_DECODED_RAM) {
            try_cut(m, r->section.body_offset + r->section.body_length / 2, end);
        }
    }
}

static void test_stream_fail_synthetic_mangled(void **state)
{
    Synth sy = synth_stream();
    Mangle m = { .orig = sy.b->data, .orig_len = sy.b->len };
    TALLOC_CTX *ctx = talloc_new(NULL);
    VsStream *s = load_ok(ctx, sy.b->data, sy.b->len, NULL);

    for (size_t at = 0; at <= sy.b->len; at++) {
        try_truncated(&m, at);
    }
    mangle_records(&m, s, true);
    print_message("# %zu variants, %zu loaded (and re-encoded exactly)\n", m.cases, m.ok_cases);
    talloc_free(ctx);
    g_byte_array_unref(sy.b);
}

/* Device sections kept in the slim stream (PICs, fw_cfg's subsections, PCI, nesting). */
static const char *const slim_keep[] = {
    "timer", "fw_cfg", "0000:00:01.0/PIIX3", "i8259", "pckbd", "globalstate",
};

static bool slim_kept(const VsRecord *r)
{
    if (r->kind != VS_REC_SECTION) {
        return r->kind == VS_REC_CONFIG || r->kind == VS_REC_EOF;
    }
    if (r->section.decoded_by == VS_DECODED_RAM) {
        return r->section.type != VS_MIG_SECTION_PART;
    }
    for (size_t k = 0; k < G_N_ELEMENTS(slim_keep); k++) {
        if (strcmp(r->section.idstr, slim_keep[k]) == 0) {
            return true;
        }
    }
    return false;
}

/*
 * A corpus stream cut down to a few sections, with a trailer that
 * describes just those (written as QEMU writes it): a valid stream that
 * loads in a millisecond, so thousands of variants stay cheap.
 */
static uint8_t *corpus_slim(const char *dir, size_t *ret_len)
{
    g_autofree char *bin = g_build_filename(dir, "streams", "a-pc-bare", "paused.bin", NULL);
    TALLOC_CTX *ctx = talloc_new(NULL);
    size_t len;
    g_autofree uint8_t *data = vs_test_read_file(bin, &len);
    VsStream *s = load_ok(ctx, data, len, NULL);
    const VsJson *devices = vs_json_object_get(s->vmdesc, "devices");
    GString *json = g_string_new("{\"page_size\": 4096, \"devices\": [");
    Buf *b = g_byte_array_new();
    bool first = true;

    g_byte_array_append(b, data, 8);
    for (size_t i = 0; i < s->n_records; i++) {
        const VsRecord *r = &s->records[i];

        if (slim_kept(r)) {
            g_byte_array_append(b, data + r->offset, (guint)r->length);
        }
    }
    for (size_t i = 0; i < vs_json_length(devices); i++) {
        const VsJson *dev = vs_json_array_get(devices, i);
        const char *name = jstr(dev, "name");

        for (size_t k = 0; k < G_N_ELEMENTS(slim_keep); k++) {
            if (strcmp(name, slim_keep[k]) == 0) {
                g_string_append(json, first ? "" : ", ");
                vs_json_write(json, dev, VS_JSON_STYLE_COMPACT);
                first = false;
            }
        }
    }
    g_string_append(json, "]}");
    put_trailer(b, json->str);
    g_string_free(json, TRUE);
    talloc_free(ctx);
    *ret_len = b->len;
    return g_byte_array_free(b, FALSE);
}

static void test_stream_fail_corpus_mangled(void **state)
{
    g_autofree char *dir = vs_test_corpus_dir();
    g_autofree uint8_t *data = NULL;
    TALLOC_CTX *ctx;
    size_t len = 0;
    Mangle m;
    VsStream *s;

    SKIP_WITHOUT_CORPUS(dir);
    data = corpus_slim(dir, &len);
    m = (Mangle){ .orig = data, .orig_len = len };
    ctx = talloc_new(NULL);
    s = load_ok(ctx, data, len, NULL);
    assert_roundtrip(s, data, len);
    /* The whole corpus stream: truncated at each record boundary, each record cut short. */
    {
        g_autofree char *bin = g_build_filename(dir, "streams", "a-pc-bare", "ran2s.bin", NULL);
        size_t full_len;
        g_autofree uint8_t *full = vs_test_read_file(bin, &full_len);
        Mangle fm = { .orig = full, .orig_len = full_len };
        VsStream *fs = load_ok(ctx, full, full_len, NULL);

        for (size_t i = 0; i < fs->n_records; i++) {
            const VsRecord *r = &fs->records[i];

            try_truncated(&fm, r->offset);
            try_truncated(&fm, r->offset + r->length / 2);
            try_cut(&fm, r->offset + r->length / 2, r->offset + r->length);
        }
        assert_int_equal(fm.ok_cases, 0);   /* no description left, or a broken body */
        print_message("# %zu variants of %s\n", fm.cases, bin);
    }
    /* Truncated at every byte, cut short and flipped at every byte of each section. */
    for (size_t at = 0; at <= len; at++) {
        try_truncated(&m, at);
    }
    mangle_records(&m, s, true);
    print_message("# %zu variants, %zu loaded (and re-encoded exactly)\n", m.cases, m.ok_cases);
    talloc_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stream_corpus_roundtrip, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_stream_corpus_state, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_stream_schema_agrees, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_stream_synthetic, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_stream_node_walk_copy, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_stream_packaged, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_stream_load_file, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_stream_dense_records, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test(test_stream_fail_words),
        cmocka_unit_test(test_stream_fail_ram_words),
        cmocka_unit_test(test_stream_fail_command_words),
        cmocka_unit_test(test_stream_fail_undecodable),
        cmocka_unit_test(test_stream_fail_device_path),
        cmocka_unit_test(test_stream_fail_synthetic_mangled),
        cmocka_unit_test(test_stream_fail_corpus_mangled),
    };

    return cmocka_run_group_tests_name("stream", tests, NULL, NULL);
}
