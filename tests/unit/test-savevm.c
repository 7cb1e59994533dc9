/*
 * test-savevm.c: the stream writer (migration/savevm.h, ram-save.h) and the
 * vmdesc visitor (migration/vmdesc.h).
 *
 * SPDX-License-Identifier: MIT
 *
 * Expected JSON is written with single quotes for readability; jq() turns
 * them into double quotes (no expected text contains a single quote).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tests/unit/test-helpers.h"

#include "examples/example-walkers.h"
#include "migration/json.h"
#include "migration/ram-save.h"
#include "migration/savevm.h"
#include "migration/stream.h"
#include "migration/vmdesc.h"
#include "visitor/registry.h"

#define PAGE VS_SAVEVM_PAGE_SIZE

/* ---- helpers -------------------------------------------------------------- */

/* @text with every ' replaced by ", a talloc child of @ctx. */
static char *jq(TALLOC_CTX *ctx, const char *text)
{
    char *s = talloc_strdup(ctx, text);

    assert_non_null(s);
    for (char *p = s; *p; p++) {
        if (*p == '\'') {
            *p = '"';
        }
    }
    return s;
}

/* @entry in QEMU's compact layout, a talloc child of @ctx. */
static char *json_text(TALLOC_CTX *ctx, const VsJson *entry)
{
    g_autoptr(GString) out = g_string_new(NULL);

    vs_json_write(out, entry, VS_JSON_STYLE_COMPACT);
    return talloc_strdup(ctx, out->str);
}

static void assert_entry(TALLOC_CTX *ctx, const VsJson *entry, const char *want_single_quoted)
{
    char *got = json_text(ctx, entry);
    char *want = jq(ctx, want_single_quoted);

    if (strcmp(got, want) != 0) {
        print_error("got:  %s\nwant: %s\n", got, want);
    }
    assert_string_equal(got, want);
    talloc_free(got);
    talloc_free(want);
}

/* The vmdesc entry of one walk with no bytes written. */
static VsJson *describe(TALLOC_CTX *ctx, const char *idstr, VsWalkerFn walker, void *obj)
{
    g_autoptr(GError) err = NULL;
    VsJson *entry = NULL;

    if (!vs_vmdesc_describe(ctx, idstr, 0, walker, obj, &entry, &err)) {
        fail_msg("describe failed: %s", err->message);
    }
    return entry;
}

/* Writes @s to memory; the bytes are a talloc child of @ctx. */
static uint8_t *write_stream(TALLOC_CTX *ctx, VsSaveState *s, size_t *ret_len)
{
    g_autoptr(GError) err = NULL;
    VsQemuFile *f = vs_qemufile_new_memory_writer(ctx);
    const uint8_t *data;
    uint8_t *copy;

    if (!vs_savevm_write(s, f, &err)) {
        fail_msg("vs_savevm_write failed: %s", err->message);
    }
    data = vs_qemufile_memory_data(f, ret_len);
    copy = talloc_memdup(ctx, data, *ret_len);
    assert_non_null(copy);
    vs_qemufile_free(f);
    return copy;
}

static const VsRegistryEntry *entry_of(const char *wire_name)
{
    const VsRegistryEntry *e;

    vs_ex_register();
    e = vs_registry_lookup(wire_name);
    assert_non_null(e);
    return e;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
    return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* The i8259 master after 2 s of SeaBIOS (corpus a-pc-bare/ran2s.bin). */
static const VsExPic pic_master = { .last_irr = 1, .imr = 0xb8, .irq_base = 0x08, .init4 = 1 };

/* ---- the whole stream ------------------------------------------------------- */

/* The i8259 entry: 16 uint8 fields in QEMU's vmsd order. */
#define I8259_FIELDS                                                                       \
    "[{'name': 'last_irr', 'type': 'uint8', 'size': 1}, "                                 \
    "{'name': 'irr', 'type': 'uint8', 'size': 1}, "                                       \
    "{'name': 'imr', 'type': 'uint8', 'size': 1}, "                                       \
    "{'name': 'isr', 'type': 'uint8', 'size': 1}, "                                       \
    "{'name': 'priority_add', 'type': 'uint8', 'size': 1}, "                              \
    "{'name': 'irq_base', 'type': 'uint8', 'size': 1}, "                                  \
    "{'name': 'read_reg_select', 'type': 'uint8', 'size': 1}, "                           \
    "{'name': 'poll', 'type': 'uint8', 'size': 1}, "                                      \
    "{'name': 'special_mask', 'type': 'uint8', 'size': 1}, "                              \
    "{'name': 'init_state', 'type': 'uint8', 'size': 1}, "                                \
    "{'name': 'auto_eoi', 'type': 'uint8', 'size': 1}, "                                  \
    "{'name': 'rotate_on_auto_eoi', 'type': 'uint8', 'size': 1}, "                        \
    "{'name': 'special_fully_nested_mode', 'type': 'uint8', 'size': 1}, "                 \
    "{'name': 'init4', 'type': 'uint8', 'size': 1}, "                                     \
    "{'name': 'single_mode', 'type': 'uint8', 'size': 1}, "                               \
    "{'name': 'elcr', 'type': 'uint8', 'size': 1}]"

/*
 * One 2-page block (page 0 zero, page 1 not) and one i8259, byte for byte:
 * header, configuration, START/PART/END(ram), FULL(i8259), EOF, trailer.
 */
static void test_savevm_tiny_stream_bytes(void **state)
{
    TALLOC_CTX *ctx = *state;
    g_autoptr(GError) err = NULL;
    VsExPic pic = pic_master;
    uint8_t *ram = talloc_zero_array(ctx, uint8_t, 2 * PAGE);
    VsSaveState *s = vs_savevm_new(ctx, "pc-i440fx-7.2");
    static const uint8_t head[] = {
        0x51, 0x45, 0x56, 0x4d, 0x00, 0x00, 0x00, 0x03,        /* "QEVM", version 3 */
        0x07, 0x00, 0x00, 0x00, 0x0d,                          /* configuration, len 13 */
        'p', 'c', '-', 'i', '4', '4', '0', 'f', 'x', '-', '7', '.', '2',
        /* START, section 2, "ram", instance 0, version 4 */
        0x01, 0x00, 0x00, 0x00, 0x02, 0x03, 'r', 'a', 'm',
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x04,        /* MEM_SIZE, total 0x2000 */
        0x06, 'p', 'c', '.', 'r', 'a', 'm',                    /* block "pc.ram" */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00,        /* its length 0x2000 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,        /* EOS */
        0x7e, 0x00, 0x00, 0x00, 0x02,                          /* footer, section 2 */
        0x02, 0x00, 0x00, 0x00, 0x02,                          /* PART, section 2 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,        /* page 0: ZERO ... */
        0x06, 'p', 'c', '.', 'r', 'a', 'm', 0x00,              /* ... "pc.ram", fill 0 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x28,        /* page 1: PAGE|CONTINUE */
    };
    static const uint8_t tail[] = {
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,        /* EOS */
        0x7e, 0x00, 0x00, 0x00, 0x02,                          /* footer */
        0x03, 0x00, 0x00, 0x00, 0x02,                          /* END, section 2 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,        /* EOS: nothing dirty */
        0x7e, 0x00, 0x00, 0x00, 0x02,                          /* footer */
        /* FULL, section 3, "i8259", instance 0, version 1 */
        0x04, 0x00, 0x00, 0x00, 0x03, 0x05, 'i', '8', '2', '5', '9',
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
        0x01, 0x00, 0xb8, 0x00, 0x00, 0x08, 0x00, 0x00,        /* the 16 register bytes */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
        0x7e, 0x00, 0x00, 0x00, 0x03,                          /* footer, section 3 */
        0x00,                                                  /* EOF */
        0x06, 0x00, 0x00, 0x03, 0xaa,                          /* vmdesc, 938 bytes */
    };
    const char *json = "{'page_size': 4096, 'devices': [{'name': 'i8259', 'instance_id': 0, "
                       "'vmsd_name': 'i8259', 'version': 1, 'fields': " I8259_FIELDS "}]}";
    char *want_json = jq(ctx, json);
    size_t want_len = sizeof(head) + PAGE + sizeof(tail) + strlen(want_json);
    uint8_t *want = talloc_array(ctx, uint8_t, want_len);
    uint8_t *got;
    size_t got_len;

    for (size_t i = 0; i < PAGE; i++) {
        ram[PAGE + i] = (uint8_t)(i * 7 + 1);
    }
    assert_true(vs_savevm_add_ram_block(s, "pc.ram", ram, 2 * PAGE, &err));
    assert_true(vs_savevm_add_device(s, "i8259", 0, entry_of("i8259"), &pic, 0, &err));
    got = write_stream(ctx, s, &got_len);

    assert_int_equal(strlen(want_json), 938);
    memcpy(want, head, sizeof(head));
    memcpy(want + sizeof(head), ram + PAGE, PAGE);
    memcpy(want + sizeof(head) + PAGE, tail, sizeof(tail));
    memcpy(want + sizeof(head) + PAGE + sizeof(tail), want_json, strlen(want_json));
    assert_bytes(got, got_len, want, want_len);
    talloc_free(s);
    talloc_free(ram);
    talloc_free(want_json);
    talloc_free(want);
    talloc_free(got);
}

/* ---- the vsdemo description --------------------------------------------------- */

/*
 * vsdemo filled with seed 2: version 2 (so "extra" exists), fifo_len 5,
 * slot 1 NULL, irq_pending 2 (so the subsection is sent).  The QEMU rules
 * each entry shows:
 *   - scalars carry their info name and width; bool is "bool"; the f64
 *     "gain" is "float64", 8 raw bytes to analyze-migration.py;
 *   - "inner", a nested struct: "type": "struct" and its own vmsd_name,
 *     version and fields under "struct"; size = its bytes (1 + 4);
 *   - "regs", a fixed array of 4 scalars: compressed, "array_len": 4 and the
 *     size of one element;
 *   - "fifo", a variable array whose count (fifo_len) is 5: compressed the
 *     same way; its count field is an ordinary field before it;
 *   - "unused": "unused_buffer" of 3 bytes, no "[k]" since the struct has
 *     only one field of that name;
 *   - "chans", an array of 2 structs described alike with no subsection:
 *     compressed, the first element's description, size of one element;
 *   - "slots", an array of pointers whose element 1 is NULL: the elements
 *     are described differently, so one entry per element with "index";
 *     the NULL one is the 0x30 marker, "struct": {} and size 1;
 *   - "blob", a buffer: "buffer" with its length;
 *   - the sent subsection "vsdemo/irq" is listed under "subsections" after
 *     "fields", with its own version and fields.
 */
static void test_savevm_vmdesc_vsdemo(void **state)
{
    TALLOC_CTX *ctx = *state;
    VsExDemo d;
    VsExInner storage[VS_EX_SLOTS];
    VsJson *entry;

    vs_ex_demo_fill(&d, storage, 2);
    entry = describe(ctx, "vsdemo", entry_of("vsdemo")->walker, &d);
    assert_entry(ctx, entry,
        "{'name': 'vsdemo', 'instance_id': 0, 'vmsd_name': 'vsdemo', 'version': 2, 'fields': ["
        "{'name': 'id', 'type': 'uint16', 'size': 2}, "
        "{'name': 'temperature', 'type': 'int32', 'size': 4}, "
        "{'name': 'enabled', 'type': 'bool', 'size': 1}, "
        "{'name': 'counter', 'type': 'uint64', 'size': 8}, "
        "{'name': 'gain', 'type': 'float64', 'size': 8}, "
        "{'name': 'inner', 'type': 'struct', 'struct': {'vmsd_name': 'vsdemo-inner', "
        "'version': 1, 'fields': [{'name': 'mode', 'type': 'uint8', 'size': 1}, "
        "{'name': 'mask', 'type': 'uint32', 'size': 4}]}, 'size': 5}, "
        "{'name': 'regs', 'array_len': 4, 'type': 'uint16', 'size': 2}, "
        "{'name': 'fifo_len', 'type': 'uint8', 'size': 1}, "
        "{'name': 'fifo', 'array_len': 5, 'type': 'uint8', 'size': 1}, "
        "{'name': 'extra', 'type': 'uint32', 'size': 4}, "
        "{'name': 'unused', 'type': 'unused_buffer', 'size': 3}, "
        "{'name': 'chans', 'array_len': 2, 'type': 'struct', 'struct': {'vmsd_name': "
        "'vsdemo-inner', 'version': 1, 'fields': [{'name': 'mode', 'type': 'uint8', "
        "'size': 1}, {'name': 'mask', 'type': 'uint32', 'size': 4}]}, 'size': 5}, "
        "{'name': 'slots', 'index': 0, 'type': 'struct', 'struct': {'vmsd_name': "
        "'vsdemo-inner', 'version': 1, 'fields': [{'name': 'mode', 'type': 'uint8', "
        "'size': 1}, {'name': 'mask', 'type': 'uint32', 'size': 4}]}, 'size': 5}, "
        "{'name': 'slots', 'index': 1, 'type': 'struct', 'struct': {}, 'size': 1}, "
        "{'name': 'blob', 'type': 'buffer', 'size': 8}], "
        "'subsections': [{'vmsd_name': 'vsdemo/irq', 'version': 1, 'fields': ["
        "{'name': 'irq_pending', 'type': 'uint8', 'size': 1}, "
        "{'name': 'irq_mask', 'type': 'uint16', 'size': 2}]}]}");
    talloc_free(entry);
}

/*
 * Seed 1: both slots present and described alike, so "slots" is
 * compressed like "chans"; irq_pending is 1, so the subsection is listed.
 * Seed 3: irq_pending is 0, so the "subsections" key is absent altogether,
 * and fifo_len 6 gives "array_len": 6.
 */
static void test_savevm_vmdesc_vsdemo_variants(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    VsExDemo d;
    VsExInner storage[VS_EX_SLOTS];
    VsJson *entry;
    char *text;

    vs_ex_demo_fill(&d, storage, 1);
    entry = describe(ctx, "vsdemo", entry_of("vsdemo")->walker, &d);
    text = json_text(ctx, entry);
    assert_non_null(strstr(text, jq(ctx, "{'name': 'slots', 'array_len': 2, 'type': 'struct', "
                                         "'struct': {'vmsd_name': 'vsdemo-inner'")));
    assert_non_null(strstr(text, jq(ctx, "'subsections': [{'vmsd_name': 'vsdemo/irq'")));
    talloc_free(entry);
    talloc_free(text);

    vs_ex_demo_fill(&d, storage, 3);
    entry = describe(ctx, "vsdemo", entry_of("vsdemo")->walker, &d);
    text = json_text(ctx, entry);
    assert_null(strstr(text, "subsections"));
    assert_non_null(strstr(text, jq(ctx, "{'name': 'fifo', 'array_len': 6, 'type': 'uint8'")));
    talloc_free(ctx);
}

/* ---- walk-only rules on a hand-written walker ------------------------------------ */

typedef struct Drive {
    uint8_t head;
    uint8_t media;   /* subsection "drive/media" when non-zero */
} Drive;

typedef struct Multi {
    uint8_t a;
    uint8_t n_empty; /* 0 */
    uint8_t n_one;   /* 1 */
    uint16_t one[2];
    Drive drv[2];
    uint8_t grid[2][2];
} Multi;

static const VsTypeInfo drive_type = { "Drive", "drive", 1, 1, sizeof(Drive) };
static const VsTypeInfo drive_media_type = { "DriveMedia", "drive/media", 1, 1, 0 };
static const VsTypeInfo multi_type = { "Multi", "multi", 3, 1, sizeof(Multi) };

static bool visit_drive(VsVisitor *v, const char *name, Drive *s, GError **errp)
{
    uint32_t version = drive_type.version, sub_version = drive_media_type.version;
    bool present = s->media != 0;
    bool ok = false;

    if (!vs_visit_start_struct(v, name, &drive_type, &version, errp)) {
        return false;
    }
    if (!vs_visit_u8(v, "head", &s->head, errp) ||
        !vs_visit_start_subsection(v, "drive/media", &drive_media_type, &sub_version, &present,
                                   errp)) {
        goto out;
    }
    if (present) {
        ok = vs_visit_u8(v, "media", &s->media, errp);
        vs_visit_end_subsection(v);
        if (!ok) {
            goto out;
        }
    }
    ok = vs_visit_check_struct(v, errp);
out:
    vs_visit_end_struct(v);
    return ok;
}

static bool visit_u8_run(VsVisitor *v, const char *name, uint8_t *vals, uint32_t n,
                         GError **errp)
{
    bool ok = true;

    if (!vs_visit_start_array(v, name, &n, 4, 1, errp)) {
        return false;
    }
    for (uint32_t i = 0; ok && i < n; i++) {
        ok = vs_visit_u8(v, NULL, &vals[i], errp);
    }
    vs_visit_end_array(v);
    return ok;
}

static bool visit_multi_arrays(VsVisitor *v, Multi *s, GError **errp)
{
    uint32_t n_one = s->n_one, n_drv = 2, n_grid = 2;
    bool ok;

    if (!visit_u8_run(v, "empty", &s->a, s->n_empty, errp) ||
        !vs_visit_start_array(v, "one", &n_one, 2, 2, errp)) {
        return false;
    }
    ok = vs_visit_u16(v, NULL, &s->one[0], errp);
    vs_visit_end_array(v);
    if (!ok || !vs_visit_start_array(v, "drv", &n_drv, 2, 0, errp)) {
        return false;
    }
    for (uint32_t i = 0; ok && i < n_drv; i++) {
        ok = visit_drive(v, NULL, &s->drv[i], errp);
    }
    vs_visit_end_array(v);
    if (!ok || !vs_visit_start_array(v, "grid", &n_grid, 2, 2, errp)) {
        return false;
    }
    for (uint32_t i = 0; ok && i < n_grid; i++) {
        ok = visit_u8_run(v, NULL, s->grid[i], 2, errp);
    }
    vs_visit_end_array(v);
    return ok;
}

static bool visit_multi(VsVisitor *v, const char *name, void *obj, GError **errp)
{
    Multi *s = obj;
    uint32_t version = multi_type.version;
    bool ok = false;

    if (!vs_visit_start_struct(v, name, &multi_type, &version, errp)) {
        return false;
    }
    if (!vs_visit_unused(v, "unused", 2, errp) ||
        !vs_visit_u8(v, "a", &s->a, errp) ||
        !vs_visit_unused(v, "unused", 4, errp) ||
        !visit_multi_arrays(v, s, errp)) {
        goto out;
    }
    ok = vs_visit_check_struct(v, errp);
out:
    vs_visit_end_struct(v);
    return ok;
}

/*
 * Without a field table:
 *   - two fields named "unused" become "unused[0]" and "unused[1]";
 *   - a variable array with count 0 has no entry; with count 1 no
 *     "array_len" (QEMU numbers only fields with more than one element);
 *   - an array of structs where one element sent a subsection has one
 *     entry per element with "index"; that element's size counts the
 *     subsection: 1 (head) + 0x05, length, "drive/media", version (17)
 *     + 1 (media) = 19 bytes;
 *   - an array of arrays is one flat run (QEMU's 2D arrays).
 */
static void test_savevm_vmdesc_walk_rules(void **state)
{
    TALLOC_CTX *ctx = *state;
    Multi m = { .a = 1, .n_one = 1, .drv = { { 1, 0 }, { 2, 3 } } };
    VsJson *entry = describe(ctx, "multi", visit_multi, &m);

    assert_entry(ctx, entry,
        "{'name': 'multi', 'instance_id': 0, 'vmsd_name': 'multi', 'version': 3, 'fields': ["
        "{'name': 'unused[0]', 'type': 'unused_buffer', 'size': 2}, "
        "{'name': 'a', 'type': 'uint8', 'size': 1}, "
        "{'name': 'unused[1]', 'type': 'unused_buffer', 'size': 4}, "
        "{'name': 'one', 'type': 'uint16', 'size': 2}, "
        "{'name': 'drv', 'index': 0, 'type': 'struct', 'struct': {'vmsd_name': 'drive', "
        "'version': 1, 'fields': [{'name': 'head', 'type': 'uint8', 'size': 1}]}, 'size': 1}, "
        "{'name': 'drv', 'index': 1, 'type': 'struct', 'struct': {'vmsd_name': 'drive', "
        "'version': 1, 'fields': [{'name': 'head', 'type': 'uint8', 'size': 1}], "
        "'subsections': [{'vmsd_name': 'drive/media', 'version': 1, 'fields': "
        "[{'name': 'media', 'type': 'uint8', 'size': 1}]}]}, 'size': 19}, "
        "{'name': 'grid', 'array_len': 4, 'type': 'uint8', 'size': 1}]}");
    talloc_free(entry);
}

static const VsTypeInfo queue_type = { "Queue", "queue", 1, 1, 0 };

static bool visit_queue(VsVisitor *v, const char *name, void *obj, GError **errp)
{
    Drive *drv = obj;
    uint32_t version = queue_type.version;
    bool ok = false, more = true;
    uint32_t i;

    if (!vs_visit_start_struct(v, name, &queue_type, &version, errp)) {
        return false;
    }
    if (!vs_visit_start_list(v, "q", 8, 0, errp)) {
        goto out;
    }
    for (i = 0; more; i++) {
        more = i < 2;
        if (!vs_visit_list_next(v, &more, errp) || (more && !visit_drive(v, NULL, &drv[i], errp))) {
            break;
        }
    }
    vs_visit_end_list(v);
    ok = !vs_visitor_failed(v) && vs_visit_check_struct(v, errp);
out:
    vs_visit_end_struct(v);
    return ok;
}

/*
 * A list (QEMU's QTAILQ): every element's vmsd writes its keys into the
 * field object itself, so they repeat once per element; the size counts a
 * marker byte before each element and one at the end (3 + 2 x 1).
 */
static void test_savevm_vmdesc_list(void **state)
{
    TALLOC_CTX *ctx = *state;
    Drive drv[2] = { { 1, 0 }, { 2, 0 } };
    VsJson *entry = describe(ctx, "queue", visit_queue, drv);
    const char *elem = "'vmsd_name': 'drive', 'version': 1, 'fields': [{'name': 'head', "
                       "'type': 'uint8', 'size': 1}], ";
    char *want = talloc_asprintf(ctx,
        "{'name': 'queue', 'instance_id': 0, 'vmsd_name': 'queue', 'version': 1, 'fields': ["
        "{'name': 'q', 'type': 'qtailq', %s%s'size': 5}]}", elem, elem);

    assert_entry(ctx, entry, want);
    talloc_free(want);
    talloc_free(entry);
}

/* ---- rules the field table decides ---------------------------------------------- */

typedef struct Tbl {
    uint32_t cur_offset;
    int64_t expire;
    uint32_t id;
    uint64_t big;
    int32_t level;
    uint8_t tmp_byte;
    Drive drives[2];
    uint32_t regs[2];
    uint8_t config[4];
    uint64_t bits[2];
} Tbl;

static const VsFieldInfo tbl_tmp_fields[] = {
    { .name = "t", .kind = VS_FIELD_UINT, .width = 1, .count = 1 },
};
static const VsTypeInfo tbl_tmp_type = { "TblTmp", "tbl_tmp", 0, 0, 1, tbl_tmp_fields, 1 };

static const VsFieldInfo drive_fields[] = {
    { .name = "head", .kind = VS_FIELD_UINT, .width = 1, .count = 1 },
    { .name = "drive/media", .kind = VS_FIELD_SUBSECTION, .type = &drive_media_type },
};
static const VsTypeInfo tdrive_type = { "Drive", "drive", 1, 1, sizeof(Drive), drive_fields, 2 };

static const VsFieldInfo tbl_fields[] = {
    { .name = "cur_offset", .kind = VS_FIELD_UINT, .width = 2, .count = 1, .test = "is_v1" },
    { .name = "cur_offset", .kind = VS_FIELD_UINT, .width = 4, .count = 1, .since = 2 },
    { .name = "expire", .kind = VS_FIELD_TIMER, .count = 1 },
    { .name = "id", .kind = VS_FIELD_UINT, .flags = VS_FIELD_F_EQUAL, .width = 4, .count = 1 },
    { .name = "big", .kind = VS_FIELD_UINT, .flags = VS_FIELD_F_EQUAL, .width = 8, .count = 1 },
    { .name = "level", .kind = VS_FIELD_INT, .flags = VS_FIELD_F_LE, .width = 4, .count = 1 },
    { .name = "shadow", .kind = VS_FIELD_UINT, .flags = VS_FIELD_F_LOCAL, .width = 4 },
    { .name = "tmp", .kind = VS_FIELD_TMP, .type = &tbl_tmp_type },
    { .name = "drives", .kind = VS_FIELD_STRUCT, .flags = VS_FIELD_F_ARRAY, .count = 2,
      .type = &tdrive_type },
    { .name = "regs", .kind = VS_FIELD_UINT, .flags = VS_FIELD_F_ARRAY, .width = 4, .count = 2,
      .test = "has_regs" },
    { .name = "config", .kind = VS_FIELD_CODEC, .count = 1, .codec = "pci config" },
    { .name = "bits", .kind = VS_FIELD_BITMAP, .flags = VS_FIELD_F_ARRAY, .max = 128 },
};
static const VsTypeInfo tbl_type = { "Tbl", "tbl", 2, 1, sizeof(Tbl), tbl_fields,
                                     G_N_ELEMENTS(tbl_fields) };

static bool visit_tbl_tmp(VsVisitor *v, uint8_t *t, GError **errp)
{
    uint32_t version = 0;
    bool ok;

    if (!vs_visit_start_struct(v, "tmp", &tbl_tmp_type, &version, errp)) {
        return false;
    }
    ok = vs_visit_u8(v, "t", t, errp);
    vs_visit_end_struct(v);
    return ok;
}

static bool visit_u32_run(VsVisitor *v, const char *name, uint32_t *vals, uint32_t n,
                          GError **errp)
{
    bool ok = true;

    if (!vs_visit_start_array(v, name, &n, n, 4, errp)) {
        return false;
    }
    for (uint32_t i = 0; ok && i < n; i++) {
        ok = vs_visit_u32(v, NULL, &vals[i], errp);
    }
    vs_visit_end_array(v);
    return ok;
}

static bool visit_tbl_arrays(VsVisitor *v, Tbl *s, GError **errp)
{
    uint32_t n = 2;
    bool ok;

    if (!vs_visit_start_array(v, "drives", &n, 2, 0, errp)) {
        return false;
    }
    ok = visit_drive(v, NULL, &s->drives[0], errp) && visit_drive(v, NULL, &s->drives[1], errp);
    vs_visit_end_array(v);
    if (!ok || !visit_u32_run(v, "regs", s->regs, 2, errp) ||
        !vs_visit_buffer(v, "config", s->config, 4, errp) ||
        !vs_visit_start_array(v, "bits", &n, 2, 8, errp)) {
        return false;
    }
    ok = vs_visit_u64(v, NULL, &s->bits[0], errp) && vs_visit_u64(v, NULL, &s->bits[1], errp);
    vs_visit_end_array(v);
    return ok;
}

static bool visit_tbl(VsVisitor *v, const char *name, void *obj, GError **errp)
{
    Tbl *s = obj;
    uint32_t version = tbl_type.version;
    bool ok = false;

    if (!vs_visit_start_struct(v, name, &tbl_type, &version, errp)) {
        return false;
    }
    if (!vs_visit_u32(v, "cur_offset", &s->cur_offset, errp) ||
        !vs_visit_i64(v, "expire", &s->expire, errp) ||
        !vs_visit_u32(v, "id", &s->id, errp) ||
        !vs_visit_u64(v, "big", &s->big, errp) ||
        !vs_visit_i32(v, "level", &s->level, errp) ||
        !visit_tbl_tmp(v, &s->tmp_byte, errp) ||
        !visit_tbl_arrays(v, s, errp)) {
        goto out;
    }
    ok = vs_visit_check_struct(v, errp);
out:
    vs_visit_end_struct(v);
    return ok;
}

/*
 * With a field table (as generated walkers have):
 *   - "cur_offset[1]": the vmsd lists two fields of that name (fw_cfg's
 *     case), and the one sent is the second, though the first was not sent;
 *   - "timer", "uint32 equal", "int64 equal" (QEMU's name for its uint64
 *     equal info), "int32 le" and a codec's info name from the table;
 *   - "tmp": the temporary struct's keys sit in the field object itself;
 *   - "drives": the element vmsd has a subsection list, so QEMU does not
 *     compress the array even though no element sent a subsection;
 *   - "regs": a field with an existence test is not compressed either;
 *   - "bits": a bitmap is one field of its whole size;
 *   - the C-only field "shadow" is not in the vmsd and changes nothing.
 */
static void test_savevm_vmdesc_table_rules(void **state)
{
    TALLOC_CTX *ctx = *state;
    Tbl t = { .drives = { { 1, 0 }, { 2, 0 } } };
    VsJson *entry = describe(ctx, "tbl", visit_tbl, &t);
    const char *drive = "'type': 'struct', 'struct': {'vmsd_name': 'drive', 'version': 1, "
                        "'fields': [{'name': 'head', 'type': 'uint8', 'size': 1}]}, 'size': 1}, ";
    char *want = talloc_asprintf(ctx,
        "{'name': 'tbl', 'instance_id': 0, 'vmsd_name': 'tbl', 'version': 2, 'fields': ["
        "{'name': 'cur_offset[1]', 'type': 'uint32', 'size': 4}, "
        "{'name': 'expire', 'type': 'timer', 'size': 8}, "
        "{'name': 'id', 'type': 'uint32 equal', 'size': 4}, "
        "{'name': 'big', 'type': 'int64 equal', 'size': 8}, "
        "{'name': 'level', 'type': 'int32 le', 'size': 4}, "
        "{'name': 'tmp', 'type': 'tmp', 'vmsd_name': 'tbl_tmp', 'version': 0, 'fields': "
        "[{'name': 't', 'type': 'uint8', 'size': 1}], 'size': 1}, "
        "{'name': 'drives', 'index': 0, %s"
        "{'name': 'drives', 'index': 1, %s"
        "{'name': 'regs', 'index': 0, 'type': 'uint32', 'size': 4}, "
        "{'name': 'regs', 'index': 1, 'type': 'uint32', 'size': 4}, "
        "{'name': 'config', 'type': 'pci config', 'size': 4}, "
        "{'name': 'bits', 'type': 'bitmap', 'size': 16}]}", drive, drive);

    assert_entry(ctx, entry, want);
    talloc_free(want);
    talloc_free(entry);
}

/* A section with no schema: QEMU's form for a save_state handler. */
static bool visit_blob_section(VsVisitor *v, const char *name, void *obj, GError **errp)
{
    uint8_t *data = obj;
    size_t len = 5;

    return vs_visit_opaque(v, name, &data, &len, 5, errp);
}

static void test_savevm_vmdesc_opaque_section(void **state)
{
    TALLOC_CTX *ctx = *state;
    uint8_t blob[5] = { 1, 2, 3, 4, 5 };
    VsJson *entry = describe(ctx, "slirp", visit_blob_section, blob);

    assert_entry(ctx, entry,
                 "{'name': 'slirp', 'instance_id': 0, 'size': 5, 'fields': "
                 "[{'name': 'data', 'size': 5, 'type': 'buffer'}]}");
    talloc_free(entry);
}

/* ---- the corpus ------------------------------------------------------------------ */

/* The raw trailer JSON of @bin: the bytes after the final 00 06 be32(len). */
static bool corpus_trailer(const uint8_t *bin, size_t len, const uint8_t **ret_json,
                           size_t *ret_len)
{
    for (size_t i = len >= 6 ? len - 6 : 0; i > 0; i--) {
        if (bin[i] == 0x00 && bin[i + 1] == 0x06 && i + 6 + get_be32(bin + i + 2) == len) {
            *ret_json = bin + i + 6;
            *ret_len = len - i - 6;
            return true;
        }
    }
    return false;
}

/* The device entry named @name, instance @instance, of a parsed trailer. */
static const VsJson *corpus_device(const VsJson *trailer, const char *name, int64_t instance)
{
    const VsJson *devices = vs_json_object_get(trailer, "devices");

    for (size_t i = 0; i < vs_json_length(devices); i++) {
        const VsJson *d = vs_json_array_get(devices, i);
        int64_t id;

        if (strcmp(vs_json_get_string(vs_json_object_get(d, "name"), NULL, NULL), name) == 0 &&
            vs_json_get_int64(vs_json_object_get(d, "instance_id"), &id, NULL) &&
            id == instance) {
            return d;
        }
    }
    return NULL;
}

/* Our i8259 entry is byte-identical to QEMU 7.2.22's in a real stream. */
static void test_savevm_corpus_i8259(void **state)
{
    TALLOC_CTX *ctx = *state;
    g_autoptr(GError) err = NULL;
    const char *dir = getenv("VSTATE_CORPUS_DIR");
    char *path = dir ? g_build_filename(dir, "streams", "a-pc-bare", "paused.bin", NULL) : NULL;
    g_autofree gchar *bin = NULL;
    gsize bin_len = 0;
    VsExPic pic = { 0 };
    const uint8_t *raw = NULL;
    size_t raw_len = 0;
    VsJson *trailer, *ours;
    char *want, *got;

    if (!path || !g_file_get_contents(path, &bin, &bin_len, NULL)) {
        print_message("skipped: no corpus stream at %s (set VSTATE_CORPUS_DIR)\n",
                      path ? path : "(unset)");
        g_free(path);
        skip();
    }
    g_free(path);
    assert_true(corpus_trailer((const uint8_t *)bin, bin_len, &raw, &raw_len));
    trailer = vs_json_parse(ctx, raw, raw_len, NULL, &err);
    assert_non_null(trailer);
    want = json_text(ctx, corpus_device(trailer, "i8259", 0));
    ours = describe(ctx, "i8259", entry_of("i8259")->walker, &pic);
    got = json_text(ctx, ours);
    assert_string_equal(got, want);
    /* Re-serialising the parsed entry is exact; check against the raw bytes too. */
    assert_non_null(g_strstr_len((const char *)raw, (gssize)raw_len, got));
    talloc_free(trailer);
    talloc_free(ours);
    talloc_free(want);
    talloc_free(got);
}

/* ---- ordering, RAM records ---------------------------------------------------------- */

/* FULL sections of 16-byte i8259 bodies from @p; their ids and idstrs into @out. */
static size_t scan_full_sections(const uint8_t *p, const uint8_t *end, uint32_t *ids,
                                 char names[][8], size_t max)
{
    size_t n = 0;

    while (p < end && *p == VS_MIG_SECTION_FULL && n < max) {
        uint8_t len = p[5];

        ids[n] = get_be32(p + 1);
        memcpy(names[n], p + 6, len);
        names[n][len] = '\0';
        p += 1 + 4 + 1 + len + 4 + 4 + 16 + 5;
        n++;
    }
    return n;
}

/* Higher priority first, then registration order; ids follow registration. */
static void test_savevm_section_order(void **state)
{
    TALLOC_CTX *ctx = *state;
    g_autoptr(GError) err = NULL;
    VsSaveState *s = vs_savevm_new(ctx, "m");
    VsExPic pics[4] = { { 0 } };
    static const char *const idstrs[] = { "pic-a", "pic-b", "pic-c", "pic-d" };
    static const int prio[] = { 0, 2, 0, 1 };
    /* header 8, configuration 6, START 17+8+8+5, PART 5+8+5, END 5+8+5 */
    const size_t full_at = 8 + 6 + 38 + 18 + 18;
    uint32_t ids[8];
    char names[8][8];
    uint8_t *bin;
    size_t len;

    for (int i = 0; i < 4; i++) {
        assert_true(vs_savevm_add_device(s, idstrs[i], 0, entry_of("i8259"), &pics[i], prio[i],
                                         &err));
    }
    bin = write_stream(ctx, s, &len);
    assert_int_equal(scan_full_sections(bin + full_at, bin + len, ids, names, 8), 4);
    assert_string_equal(names[0], "pic-b");
    assert_int_equal(ids[0], 4);
    assert_string_equal(names[1], "pic-d");
    assert_int_equal(ids[1], 6);
    assert_string_equal(names[2], "pic-a");
    assert_int_equal(ids[2], 3);
    assert_string_equal(names[3], "pic-c");
    assert_int_equal(ids[3], 5);
    talloc_free(bin);
    talloc_free(s);
}

/* One RAM record as parsed back by the test. */
typedef struct TestRecord {
    uint64_t offset;
    uint32_t flags;
    char name[32];
} TestRecord;

/* The records of a RAM body at *@p up to EOS (MEM_SIZE not handled). */
static size_t scan_ram_records(const uint8_t **p, TestRecord *out, size_t max)
{
    size_t n = 0;

    for (;;) {
        uint64_t w = get_be64(*p);
        TestRecord *r = &out[n];

        *p += 8;
        if (w == VS_RAM_EOS) {
            return n;
        }
        assert_true(n < max);
        r->offset = w & ~(uint64_t)(PAGE - 1);
        r->flags = (uint32_t)(w & (PAGE - 1));
        r->name[0] = '\0';
        if (!(r->flags & VS_RAM_CONTINUE)) {
            memcpy(r->name, *p + 1, **p);
            r->name[**p] = '\0';
            *p += 1 + **p;
        }
        *p += (r->flags & VS_RAM_ZERO) ? 1 : PAGE;
        n++;
    }
}

/*
 * Blocks are listed and sent largest first, equal lengths in registration
 * order; a record names its block only when the previous record was of
 * another block (CONTINUE otherwise); zero pages are ZERO, others PAGE.
 */
static void test_savevm_ram_continue(void **state)
{
    TALLOC_CTX *ctx = *state;
    g_autoptr(GError) err = NULL;
    VsSaveState *s = vs_savevm_new(ctx, "m");
    uint8_t *small = talloc_zero_array(ctx, uint8_t, PAGE);
    uint8_t *big = talloc_zero_array(ctx, uint8_t, 3 * PAGE);
    uint8_t *bios = talloc_zero_array(ctx, uint8_t, PAGE);
    TestRecord recs[8];
    const uint8_t *p;
    uint8_t *bin;
    size_t len;

    big[PAGE + 100] = 1;
    bios[PAGE - 1] = 0xff;
    assert_true(vs_savevm_add_ram_block(s, "small", small, PAGE, &err));
    assert_true(vs_savevm_add_ram_block(s, "big", big, 3 * PAGE, &err));
    assert_true(vs_savevm_add_ram_block(s, "bios", bios, PAGE, &err));
    bin = write_stream(ctx, s, &len);

    /* MEM_SIZE: total 5 pages; "big", then "small" and "bios" as registered. */
    p = bin + 8 + 6 + 17;
    assert_int_equal(get_be64(p), 5 * PAGE | VS_RAM_MEM_SIZE);
    assert_memory_equal(p + 8, "\x03" "big", 4);
    assert_memory_equal(p + 8 + 4 + 8, "\x05" "small", 6);
    assert_memory_equal(p + 8 + 4 + 8 + 6 + 8, "\x04" "bios", 5);

    p += 8 + 12 + 14 + 13 + 8 + 5;  /* to the PART header */
    assert_int_equal(*p, VS_MIG_SECTION_PART);
    p += 5;
    assert_int_equal(scan_ram_records(&p, recs, 8), 5);
    assert_int_equal(recs[0].flags, VS_RAM_ZERO);
    assert_string_equal(recs[0].name, "big");
    assert_int_equal(recs[1].flags, VS_RAM_PAGE | VS_RAM_CONTINUE);
    assert_int_equal(recs[1].offset, PAGE);
    assert_int_equal(recs[2].flags, VS_RAM_ZERO | VS_RAM_CONTINUE);
    assert_int_equal(recs[2].offset, 2 * PAGE);
    assert_int_equal(recs[3].flags, VS_RAM_ZERO);
    assert_string_equal(recs[3].name, "small");
    assert_int_equal(recs[4].flags, VS_RAM_PAGE);
    assert_string_equal(recs[4].name, "bios");
    talloc_free(bin);
    talloc_free(s);
    talloc_free(small);
    talloc_free(big);
    talloc_free(bios);
}

/* The word-wise check sees one set bit anywhere, at any alignment and length. */
static void test_savevm_zero_page(void **state)
{
    TALLOC_CTX *ctx = *state;
    uint8_t *buf = talloc_zero_array(ctx, uint8_t, PAGE + 8);

    assert_true(vs_ram_page_is_zero(buf, PAGE));
    assert_true(vs_ram_page_is_zero(buf + 3, 77));
    assert_true(vs_ram_page_is_zero(buf, 0));
    for (size_t pos = 0; pos < PAGE; pos += 61) {
        buf[pos] = 0x01;
        assert_false(vs_ram_page_is_zero(buf, PAGE));
        buf[pos] = 0;
    }
    buf[PAGE - 1] = 0x80;
    assert_false(vs_ram_page_is_zero(buf, PAGE));
    assert_false(vs_ram_page_is_zero(buf + 1, PAGE - 1));
    assert_true(vs_ram_page_is_zero(buf + 1, PAGE - 2));
    talloc_free(buf);
}

/* ZERO carries fill 0 and no page; PAGE carries the page; the return value says which. */
static void test_savevm_zero_vs_page_records(void **state)
{
    TALLOC_CTX *ctx = *state;
    uint8_t *ram = talloc_zero_array(ctx, uint8_t, 2 * PAGE);
    VsRamSaveBlock block = { "b", ram, 2 * PAGE };
    VsQemuFile *f = vs_qemufile_new_memory_writer(ctx);
    VsRamSaver rs;
    const uint8_t *bytes;
    size_t len;
    static const uint8_t zero_rec[] = { 0, 0, 0, 0, 0, 0, 0, 0x02, 0x01, 'b', 0x00 };
    static const uint8_t page_hdr[] = { 0, 0, 0, 0, 0, 0, 0x10, 0x28 };

    ram[PAGE] = 0x42;
    vs_ram_saver_init(&rs, PAGE);
    assert_true(vs_ram_save_page(&rs, f, &block, 0));
    assert_false(vs_ram_save_page(&rs, f, &block, PAGE));
    bytes = vs_qemufile_memory_data(f, &len);
    assert_int_equal(len, sizeof(zero_rec) + sizeof(page_hdr) + PAGE);
    assert_memory_equal(bytes, zero_rec, sizeof(zero_rec));
    assert_memory_equal(bytes + sizeof(zero_rec), page_hdr, sizeof(page_hdr));
    assert_memory_equal(bytes + sizeof(zero_rec) + sizeof(page_hdr), ram + PAGE, PAGE);

    /* After forgetting, the next record names its block again. */
    vs_ram_saver_forget(&rs);
    vs_ram_save_page(&rs, f, &block, 0);
    bytes = vs_qemufile_memory_data(f, &len);
    assert_memory_equal(bytes + len - sizeof(zero_rec), zero_rec, sizeof(zero_rec));
    vs_qemufile_free(f);
    talloc_free(ram);
}

/* ---- loading what was written ---------------------------------------------------- */

/*
 * Rewrites a schema-decoded tree into the form a description-only decode
 * gives, for the differences that are representation, not content:
 *   - the description knows wire names only, so type names become them;
 *   - it keeps unused padding as a buffer (so non-zero padding survives
 *     re-encoding);
 *   - it reads "float64" as 8 raw bytes, as analyze-migration.py does;
 *   - an array's element size is what the walker declared (0: elements
 *     vary) in one and what the description measured in the other, so
 *     normalize_elem_sizes() clears it in both.
 */
static void normalize_schema_tree(VsNode *n)
{
    if ((n->kind == VS_NODE_STRUCT || n->kind == VS_NODE_SUBSECTION) && n->wire_name) {
        talloc_free(n->type_name);
        n->type_name = talloc_strdup(n, n->wire_name);
    } else if (n->kind == VS_NODE_UNUSED) {
        n->kind = VS_NODE_BUFFER;
        n->bytes = n->len ? talloc_zero_size(n, n->len) : NULL;
    } else if (n->kind == VS_NODE_F64) {
        uint64_t bits;
        uint8_t be[8];

        memcpy(&bits, &n->value.f, sizeof(bits));
        for (int i = 0; i < 8; i++) {
            be[i] = (uint8_t)(bits >> (56 - 8 * i));
        }
        n->kind = VS_NODE_BUFFER;
        n->bytes = talloc_memdup(n, be, 8);
        n->len = 8;
        n->value.u = 0;
    }
    for (size_t i = 0; i < n->n_children; i++) {
        normalize_schema_tree(n->children[i]);
    }
}

static void normalize_elem_sizes(VsNode *n)
{
    if (n->kind == VS_NODE_ARRAY) {
        n->elem_size = 0;
    }
    for (size_t i = 0; i < n->n_children; i++) {
        normalize_elem_sizes(n->children[i]);
    }
}

static VsStream *load_written(TALLOC_CTX *ctx, const uint8_t *bin, size_t len, bool no_schemas)
{
    g_autoptr(GError) err = NULL;
    VsLoadOptions opts = { .no_schemas = no_schemas };
    VsStream *st = NULL;

    if (!vs_stream_load(ctx, bin, len, &opts, &st, &err)) {
        fail_msg("loading the written stream (no_schemas %d) failed: %s", no_schemas,
                 err->message);
    }
    return st;
}

/* Every section is there and decoded the expected way; the stream re-encodes exactly. */
static void check_loaded(VsStream *st, const uint8_t *bin, size_t len, VsDecodedBy devices_by)
{
    g_autoptr(GError) err = NULL;
    VsQemuFile *out = vs_qemufile_new_memory_writer(NULL);
    const uint8_t *again;
    size_t again_len, n_full = 0, n_ram = 0;

    for (size_t i = 0; i < st->n_records; i++) {
        const VsSection *sec = &st->records[i].section;

        if (st->records[i].kind != VS_REC_SECTION) {
            continue;
        }
        if (strcmp(sec->idstr, "ram") == 0) {
            assert_int_equal(sec->decoded_by, VS_DECODED_RAM);
            n_ram++;
        } else {
            assert_int_equal(sec->type, VS_MIG_SECTION_FULL);
            assert_int_equal(sec->decoded_by, devices_by);
            assert_non_null(sec->state);
            assert_true(sec->has_footer);
            n_full++;
        }
    }
    assert_int_equal(n_ram, 3);
    assert_int_equal(n_full, 3);
    assert_string_equal(st->machine, "pc-i440fx-7.2");
    assert_true(vs_stream_encode(st, out, &err));
    again = vs_qemufile_memory_data(out, &again_len);
    assert_bytes(again, again_len, bin, len);
    vs_qemufile_free(out);
}

/*
 * What vs_savevm_write() writes, vs_stream_load() reads: with the compiled
 * walkers and from the trailer alone, the two decodes agree, and both
 * re-encode to the same bytes.  vsdemo uses seed 1 (both slots present): a
 * destination's own pointers decide how a NULL slot loads, and the
 * registry's vsdemo object has both slots allocated.
 */
static void test_savevm_load_roundtrip(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    g_autoptr(GError) err = NULL;
    VsSaveState *s = vs_savevm_new(ctx, "pc-i440fx-7.2");
    VsExPic pic0 = pic_master, pic1 = { .irq_base = 0x70, .elcr = 0x0c };
    VsExDemo demo;
    VsExInner storage[VS_EX_SLOTS];
    uint8_t *ram = talloc_zero_array(ctx, uint8_t, 2 * PAGE);
    VsStream *by_schema, *by_desc;
    const VsSection *ram_part;
    uint8_t *bin;
    size_t len;

    ram[PAGE + 17] = 0x99;
    vs_ex_demo_fill(&demo, storage, 1);
    assert_true(vs_savevm_add_ram_block(s, "pc.ram", ram, 2 * PAGE, &err));
    assert_true(vs_savevm_add_device(s, "i8259", 0, entry_of("i8259"), &pic0, 0, &err));
    assert_true(vs_savevm_add_device(s, "i8259", 1, entry_of("i8259"), &pic1, 0, &err));
    assert_true(vs_savevm_add_device(s, "vsdemo", 0, entry_of("vsdemo"), &demo, 1, &err));
    bin = write_stream(ctx, s, &len);

    by_schema = load_written(ctx, bin, len, false);
    by_desc = load_written(ctx, bin, len, true);
    check_loaded(by_schema, bin, len, VS_DECODED_SCHEMA);
    check_loaded(by_desc, bin, len, VS_DECODED_DESCRIPTION);

    /* The PART: a ZERO record naming the block, a PAGE with CONTINUE, EOS. */
    ram_part = &by_schema->records[2].section;
    assert_int_equal(ram_part->type, VS_MIG_SECTION_PART);
    assert_int_equal(ram_part->n_ram, 3);
    assert_int_equal(ram_part->ram[0].flags, VS_RAM_ZERO);
    assert_int_equal(ram_part->ram[1].flags, VS_RAM_PAGE | VS_RAM_CONTINUE);
    assert_string_equal(ram_part->ram[1].block, "pc.ram");
    assert_memory_equal(ram_part->ram[1].data, ram + PAGE, PAGE);

    for (size_t i = 0; i < by_schema->n_records; i++) {
        VsSection *a = &by_schema->records[i].section;
        char *path = NULL, *reason = NULL;

        if (by_schema->records[i].kind != VS_REC_SECTION || !a->state) {
            continue;
        }
        normalize_schema_tree(a->state);
        normalize_elem_sizes(a->state);
        normalize_elem_sizes(by_desc->records[i].section.state);
        if (!vs_node_compare(a->state, by_desc->records[i].section.state, ctx, &path,
                             &reason)) {
            fail_msg("section %s: the decodes differ at %s: %s", a->idstr, path, reason);
        }
    }
    talloc_free(ctx);
}

/* ---- errors ----------------------------------------------------------------------------- */

static bool visit_failing(VsVisitor *v, const char *name, void *obj, GError **errp)
{
    uint32_t version = 1;
    bool ok;

    if (!vs_visit_start_struct(v, name, &vs_ex_pic_type, &version, errp)) {
        return false;
    }
    ok = vs_visit_report(v, "irr", errp, VS_VISIT_ERROR_HOOK, "pre_save refused");
    vs_visit_end_struct(v);
    return ok;
}

static void test_savevm_errors(void **state)
{
    TALLOC_CTX *ctx = *state;
    GError *err = NULL;
    VsSaveState *s = vs_savevm_new(ctx, "m");
    VsExPic pic = { 0 };
    uint8_t page[PAGE] = { 0 };
    static const VsRegistryEntry failing = { &vs_ex_pic_type, visit_failing, NULL };
    char long_name[300];
    VsQemuFile *f;

    memset(long_name, 'x', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';

    assert_true(vs_savevm_add_device(s, "i8259", 0, entry_of("i8259"), &pic, 0, &err));
    assert_false(vs_savevm_add_device(s, "i8259", 0, entry_of("i8259"), &pic, 0, &err));
    assert_gerror(err, VS_SAVEVM_ERROR, VS_SAVEVM_ERROR_DUPLICATE, "section 'i8259' instance 0");
    g_clear_error(&err);
    assert_false(vs_savevm_add_device(s, "ram", 0, entry_of("i8259"), &pic, 0, &err));
    assert_gerror(err, VS_SAVEVM_ERROR, VS_SAVEVM_ERROR_DUPLICATE, "section 'ram'");
    g_clear_error(&err);
    assert_false(vs_savevm_add_device(s, long_name, 0, entry_of("i8259"), &pic, 0, &err));
    assert_gerror(err, VS_SAVEVM_ERROR, VS_SAVEVM_ERROR_INVALID, "section idstr");
    g_clear_error(&err);
    assert_false(vs_savevm_add_ram_block(s, "pc.ram", page, PAGE - 1, &err));
    assert_gerror(err, VS_SAVEVM_ERROR, VS_SAVEVM_ERROR_INVALID, "RAM block 'pc.ram'");
    g_clear_error(&err);
    assert_true(vs_savevm_add_ram_block(s, "pc.ram", page, PAGE, &err));
    assert_false(vs_savevm_add_ram_block(s, "pc.ram", page, PAGE, &err));
    assert_gerror(err, VS_SAVEVM_ERROR, VS_SAVEVM_ERROR_DUPLICATE, "RAM block 'pc.ram'");
    g_clear_error(&err);

    /* A device whose walk fails stops the stream with its path. */
    assert_true(vs_savevm_add_device(s, "bad", 0, &failing, &pic, 0, &err));
    f = vs_qemufile_new_memory_writer(ctx);
    assert_false(vs_savevm_write(s, f, &err));
    assert_gerror(err, VS_SAVEVM_ERROR, VS_SAVEVM_ERROR_DEVICE,
                  "saving section 'bad' instance 0 failed: bad.irr: pre_save refused");
    g_clear_error(&err);
    vs_qemufile_free(f);
    talloc_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_savevm_tiny_stream_bytes, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_savevm_vmdesc_vsdemo, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_savevm_vmdesc_vsdemo_variants, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_savevm_vmdesc_walk_rules, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_savevm_vmdesc_list, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_savevm_vmdesc_table_rules, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_savevm_vmdesc_opaque_section, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_savevm_corpus_i8259, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_savevm_section_order, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_savevm_ram_continue, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_savevm_zero_page, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_savevm_zero_vs_page_records, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_savevm_load_roundtrip, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_savevm_errors, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
