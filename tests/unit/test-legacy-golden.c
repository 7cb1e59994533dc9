/*
 * test-legacy-golden.c: golden bytes of the legacy (vmstate) visitors.
 *
 * SPDX-License-Identifier: MIT
 *
 * The expected bytes below were worked out by hand from the wire rules
 * (docs: qemu-stream-format.md §2.3-2.6; legacy-visitor.h) and the values
 * vs_ex_demo_fill() gives, not produced by the code under test.  The last
 * test reads the two i8259 sections of a real QEMU 7.2 stream from the
 * corpus, loads them, checks the registers and saves them back byte for
 * byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "examples/example-walkers.h"
#include "tests/unit/test-helpers.h"
#include "visitor/qemufile/legacy-visitor.h"

/* ---- expected bytes --------------------------------------------------- */

/* vs_ex_demo_fill(seed 1), version 2: slot 1 set, irq subsection present. */
static const uint8_t demo_seed1[] = {
    /* 0: id 0x1235, temperature -41, enabled */
    0x12, 0x35, 0xff, 0xff, 0xff, 0xd7, 0x01,
    /* 7: counter 0x0102030405060709 */
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x09,
    /* 15: gain 2.5 (IEEE 0x4004000000000000) */
    0x40, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    /* 23: inner (nested struct, nothing around it): mode 3, mask 0xdeadbeef */
    0x03, 0xde, 0xad, 0xbe, 0xef,
    /* 28: regs[4] (fixed array, no count): 0x0101 0x0201 0x0301 0x0401 */
    0x01, 0x01, 0x02, 0x01, 0x03, 0x01, 0x04, 0x01,
    /* 36: fifo_len 4, then fifo[4] (variable array, count from fifo_len) */
    0x04, 0xa0, 0xa1, 0xa2, 0xa3,
    /* 41: extra 0xcafe0001 (since version 2) */
    0xca, 0xfe, 0x00, 0x01,
    /* 45: unused, 3 zero bytes */
    0x00, 0x00, 0x00,
    /* 48: chans[0] {1, 0x11}, chans[1] {2, 0x22} */
    0x01, 0x00, 0x00, 0x00, 0x11, 0x02, 0x00, 0x00, 0x00, 0x22,
    /* 58: slots[0] {7, 0x77}, slots[1] {8, 0x88}: no marker for set pointers */
    0x07, 0x00, 0x00, 0x00, 0x77, 0x08, 0x00, 0x00, 0x00, 0x88,
    /* 68: blob "vstate!\0" */
    0x76, 0x73, 0x74, 0x61, 0x74, 0x65, 0x21, 0x00,
    /* 76: subsection marker, name length 10, "vsdemo/irq", version 1 */
    0x05, 0x0a, 0x76, 0x73, 0x64, 0x65, 0x6d, 0x6f, 0x2f, 0x69, 0x72, 0x71,
    0x00, 0x00, 0x00, 0x01,
    /* 92: irq_pending 1, irq_mask 0xfffe */
    0x01, 0xff, 0xfe,
};

/* vs_ex_demo_fill(seed 0), version 2: slot 1 NULL, no irq subsection. */
static const uint8_t demo_seed0[] = {
    /* 0: id 0x1234, temperature -40, enabled */
    0x12, 0x34, 0xff, 0xff, 0xff, 0xd8, 0x01,
    /* 7: counter 0x0102030405060708 */
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
    /* 15: gain 1.5 (IEEE 0x3ff8000000000000) */
    0x3f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    /* 23: inner: mode 3, mask 0xdeadbeef */
    0x03, 0xde, 0xad, 0xbe, 0xef,
    /* 28: regs: 0x0100 0x0200 0x0300 0x0400 */
    0x01, 0x00, 0x02, 0x00, 0x03, 0x00, 0x04, 0x00,
    /* 36: fifo_len 3, fifo[3] */
    0x03, 0xa0, 0xa1, 0xa2,
    /* 40: extra 0xcafe0000 */
    0xca, 0xfe, 0x00, 0x00,
    /* 44: unused */
    0x00, 0x00, 0x00,
    /* 47: chans[0], chans[1] */
    0x01, 0x00, 0x00, 0x00, 0x11, 0x02, 0x00, 0x00, 0x00, 0x22,
    /* 57: slots[0] {7, 0x77}; slots[1] NULL: the marker 0x30 alone */
    0x07, 0x00, 0x00, 0x00, 0x77, 0x30,
    /* 63: blob; then no subsection (irq_pending 0) */
    0x76, 0x73, 0x74, 0x61, 0x74, 0x65, 0x21, 0x00,
};

/* A made-up PIC state: register n holds n + 1. */
static const uint8_t pic_golden[] = {
    0x01, 0x02, 0x03, 0x04, /* last_irr, irr, imr, isr */
    0x05, 0x06, 0x07, 0x08, /* priority_add, irq_base, read_reg_select, poll */
    0x09, 0x0a, 0x0b, 0x0c, /* special_mask, init_state, auto_eoi, rotate_on_auto_eoi */
    0x0d, 0x0e, 0x0f, 0x10, /* special_fully_nested_mode, init4, single_mode, elcr */
};

/* ---- harness ---------------------------------------------------------- */

typedef bool (*Walk)(VsVisitor *v, void *obj, GError **errp);

static bool walk_demo(VsVisitor *v, void *obj, GError **errp)
{
    return vs_ex_visit_demo(v, "vsdemo", obj, errp) && vs_visitor_complete(v, errp);
}

static bool walk_pic(VsVisitor *v, void *obj, GError **errp)
{
    return vs_ex_visit_pic(v, "i8259", obj, errp) && vs_visitor_complete(v, errp);
}

/* Saves @obj with @walk and compares with @want. */
static void check_save(Walk walk, void *obj, const uint8_t *want, size_t want_len)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    VsQemuFile *f = vs_qemufile_new_memory_writer(mem);
    VsVisitor *v = vs_legacy_save_visitor_new(mem, f);
    GError *err = NULL;
    const uint8_t *data;
    size_t len = 0;

    if (!walk(v, obj, &err)) {
        print_error("save failed: %s\n", err->message);
        fail();
    }
    data = vs_qemufile_memory_data(f, &len);
    assert_bytes(data, len, want, want_len);
    talloc_free(mem);
}

/* Loads @data with @walk at @root_version; all of it must be consumed. */
static void check_load(Walk walk, void *obj, const uint8_t *data, size_t len,
                       uint32_t root_version)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    VsQemuFile *f = vs_qemufile_new_memory_reader(mem, data, len);
    VsVisitor *v = vs_legacy_load_visitor_new(mem, f, NULL);
    GError *err = NULL;

    vs_visitor_set_root_version(v, root_version);
    if (!walk(v, obj, &err)) {
        print_error("load failed: %s\n", err->message);
        fail();
    }
    assert_int_equal(vs_qemufile_pos(f), len);
    assert_true(vs_qemufile_at_eof(f));
    talloc_free(mem);
}

/* ---- the demo device -------------------------------------------------- */

static void check_demo(unsigned seed, const uint8_t *want, size_t want_len)
{
    VsExDemo demo, loaded;
    VsExInner storage[VS_EX_SLOTS], lstorage[VS_EX_SLOTS];

    vs_ex_demo_fill(&demo, storage, seed);
    check_save(walk_demo, &demo, want, want_len);
    vs_ex_demo_prepare_load(&loaded, lstorage, seed);
    check_load(walk_demo, &loaded, want, want_len, 2);
    assert_true(vs_ex_demo_equal(&demo, &loaded));
}

static void test_legacy_golden_demo_subsection(void **state)
{
    check_demo(1, demo_seed1, sizeof(demo_seed1));
}

static void test_legacy_golden_demo_null_slot(void **state)
{
    check_demo(0, demo_seed0, sizeof(demo_seed0));
}

/* Version 1 of the same state: the bytes without `extra` (offsets 41-44). */
static void test_legacy_golden_demo_v1(void **state)
{
    uint8_t v1[sizeof(demo_seed1) - 4];
    VsExDemo demo, loaded;
    VsExInner storage[VS_EX_SLOTS], lstorage[VS_EX_SLOTS];

    memcpy(v1, demo_seed1, 41);
    memcpy(v1 + 41, demo_seed1 + 45, sizeof(demo_seed1) - 45);
    assert_int_equal(v1[41], 0x00); /* the unused bytes follow fifo directly */
    vs_ex_demo_fill(&demo, storage, 1);
    vs_ex_demo_prepare_load(&loaded, lstorage, 1);
    check_load(walk_demo, &loaded, v1, sizeof(v1), 1);
    assert_int_equal(loaded.extra, 0);
    loaded.extra = demo.extra;
    assert_true(vs_ex_demo_equal(&demo, &loaded));
}

static void test_legacy_golden_pic(void **state)
{
    VsExPic pic, loaded;

    /* VsExPic is 16 uint8_t members in wire order. */
    G_STATIC_ASSERT(sizeof(VsExPic) == sizeof(pic_golden));
    memcpy(&pic, pic_golden, sizeof(pic));
    check_save(walk_pic, &pic, pic_golden, sizeof(pic_golden));
    memset(&loaded, 0, sizeof(loaded));
    check_load(walk_pic, &loaded, pic_golden, sizeof(pic_golden), 1);
    assert_int_equal(loaded.last_irr, 0x01);
    assert_int_equal(loaded.irq_base, 0x06);
    assert_int_equal(loaded.init4, 0x0e);
    assert_int_equal(loaded.elcr, 0x10);
}

/* ---- real data: i8259 in a QEMU 7.2 stream ---------------------------- */

#define PIC_BODY_LEN 16

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The body of the FULL section "i8259" with @instance, or NULL. */
static const uint8_t *find_pic_section(const uint8_t *data, size_t len, uint32_t instance)
{
    /* 04 <be32 id> 05 "i8259" <be32 instance> <be32 version>, body, 7e <be32 id> */
    static const size_t hdr = 1 + 4 + 1 + 5 + 4 + 4;

    for (size_t i = 0; i + hdr + PIC_BODY_LEN + 5 <= len; i++) {
        const uint8_t *p = data + i;

        if (p[0] != 0x04 || p[5] != 0x05 || memcmp(p + 6, "i8259", 5) != 0) {
            continue;
        }
        if (be32(p + 11) != instance || be32(p + 15) != 1) {
            continue;
        }
        /* The footer repeats the section id. */
        if (p[hdr + PIC_BODY_LEN] != 0x7e || memcmp(p + hdr + PIC_BODY_LEN + 1, p + 1, 4) != 0) {
            continue;
        }
        return p + hdr;
    }
    return NULL;
}

static void check_corpus_pic(const uint8_t *body, const VsExPic *want)
{
    VsExPic pic;

    memset(&pic, 0xee, sizeof(pic));
    check_load(walk_pic, &pic, body, PIC_BODY_LEN, 1);
    assert_memory_equal(&pic, want, sizeof(pic));
    check_save(walk_pic, &pic, body, PIC_BODY_LEN);
}

static void test_legacy_golden_corpus_i8259(void **state)
{
    const char *corpus = getenv("VSTATE_CORPUS_DIR");
    g_autofree char *path = NULL;
    g_autofree char *contents = NULL;
    g_autoptr(GError) err = NULL;
    const uint8_t *master, *slave;
    char *dir;
    size_t len = 0;
    /*
     * Expected registers, checked by hand against ran2s.state.json
     * ("i8259 (15)" and "i8259 (16)"); ran2s.sections.json puts the bodies
     * at offsets 533157 and 533197.
     */
    static const VsExPic want_master = {
        .last_irr = 0x01, .imr = 0xb8, .irq_base = 0x08, .init4 = 0x01,
    };
    static const VsExPic want_slave = {
        .imr = 0x8e, .irq_base = 0x70, .init4 = 0x01, .elcr = 0x0c,
    };

    dir = g_strdup(corpus ? corpus : "../shared/corpus/qemu-7.2");
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        print_message("skipping: the QEMU 7.2 corpus directory %s is absent "
                      "(set it with meson's corpus_dir option)\n",
                      dir);
        g_free(dir); /* skip() does not return */
        skip();
    }
    path = g_build_filename(dir, "streams", "a-pc-bare", "ran2s.bin", NULL);
    g_free(dir);
    if (!g_file_get_contents(path, &contents, &len, &err)) {
        print_error("cannot read %s: %s\n", path, err->message);
        fail();
    }
    master = find_pic_section((const uint8_t *)contents, len, 0);
    slave = find_pic_section((const uint8_t *)contents, len, 1);
    assert_non_null(master);
    assert_non_null(slave);
    check_corpus_pic(master, &want_master);
    check_corpus_pic(slave, &want_slave);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_legacy_golden_demo_subsection),
        cmocka_unit_test(test_legacy_golden_demo_null_slot),
        cmocka_unit_test(test_legacy_golden_demo_v1),
        cmocka_unit_test(test_legacy_golden_pic),
        cmocka_unit_test(test_legacy_golden_corpus_i8259),
    };

    return cmocka_run_group_tests_name("legacy-golden", tests, NULL, NULL);
}
