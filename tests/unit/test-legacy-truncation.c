/*
 * test-legacy-truncation.c: the legacy LOAD visitor on every prefix of
 * valid streams.
 *
 * SPDX-License-Identifier: MIT
 *
 * A state is saved, then loaded from each prefix of its bytes (a memory
 * reader over the first n bytes).  Each load must fail cleanly with
 * VS_VISIT_ERROR_TRUNCATED, naming the field that was being read and
 * where it starts, and leave nothing behind: the visitor's context is
 * empty after the visitor is freed, and the result context holds only what
 * the object points to.  The field layout each state should have is
 * written out below by hand (not derived from the visitor), so a prefix
 * length maps to the field the stream ends in.
 *
 * Subsection headers are the one place where a prefix can be a valid
 * stream or not quite an error (see legacy-load.c, start_subsection):
 *   - the stream ends right before the header: the subsection is simply
 *     absent (it is optional), and the load succeeds having read it all;
 *   - only the 0x05 marker is left: QEMU reads an incomplete header as
 *     "not a subsection of ours" and so does the visitor; the load
 *     succeeds with that one byte unread, which the container then
 *     reports (QEMU: the section footer check);
 *   - the marker, the name length and a prefix of the name agree with the
 *     subsection asked for: a clean TRUNCATED error naming the subsection;
 *   - the header is complete and the version is cut: TRUNCATED as well.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "examples/example-walkers.h"
#include "tests/unit/test-helpers.h"
#include "visitor/qemufile/legacy-visitor.h"

/* ---- expected layouts ------------------------------------------------- */

typedef enum PartKind {
    PART_VALUE,      /* a value read in one piece */
    PART_SUB_HEADER, /* 0x05, name length, name */
} PartKind;

typedef struct Part {
    size_t start;
    size_t size;
    PartKind kind;
    char *path;
} Part;

typedef struct Layout {
    Part parts[96];
    size_t n;
    size_t len;
} Layout;

static void add_part(Layout *l, PartKind kind, size_t size, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

static void add_part(Layout *l, PartKind kind, size_t size, const char *fmt, ...)
{
    va_list ap;
    Part *p;

    assert_true(l->n < G_N_ELEMENTS(l->parts));
    p = &l->parts[l->n++];
    p->start = l->len;
    p->size = size;
    p->kind = kind;
    va_start(ap, fmt);
    p->path = talloc_vasprintf(l, fmt, ap);
    va_end(ap);
    l->len += size;
}

static void add_inner(Layout *l, const char *prefix)
{
    add_part(l, PART_VALUE, 1, "%s.mode", prefix);
    add_part(l, PART_VALUE, 4, "%s.mask", prefix);
}

/* The demo device at version 2, in wire order (example-walkers.c). */
static Layout *demo_layout(TALLOC_CTX *ctx, const VsExDemo *s)
{
    Layout *l = talloc_zero(ctx, Layout);

    add_part(l, PART_VALUE, 2, "vsdemo.id");
    add_part(l, PART_VALUE, 4, "vsdemo.temperature");
    add_part(l, PART_VALUE, 1, "vsdemo.enabled");
    add_part(l, PART_VALUE, 8, "vsdemo.counter");
    add_part(l, PART_VALUE, 8, "vsdemo.gain");
    add_inner(l, "vsdemo.inner");
    for (unsigned i = 0; i < 4; i++) {
        add_part(l, PART_VALUE, 2, "vsdemo.regs[%u]", i);
    }
    add_part(l, PART_VALUE, 1, "vsdemo.fifo_len");
    for (unsigned i = 0; i < s->fifo_len; i++) {
        add_part(l, PART_VALUE, 1, "vsdemo.fifo[%u]", i);
    }
    add_part(l, PART_VALUE, 4, "vsdemo.extra");
    add_part(l, PART_VALUE, 3, "vsdemo.unused");
    add_inner(l, "vsdemo.chans[0]");
    add_inner(l, "vsdemo.chans[1]");
    for (unsigned i = 0; i < VS_EX_SLOTS; i++) {
        if (s->slots[i]) {
            char *prefix = talloc_asprintf(l, "vsdemo.slots[%u]", i);

            add_inner(l, prefix);
        } else {
            add_part(l, PART_VALUE, 1, "vsdemo.slots[%u]", i);
        }
    }
    add_part(l, PART_VALUE, 8, "vsdemo.blob");
    if (s->irq_pending) {
        add_part(l, PART_SUB_HEADER, 2 + strlen("vsdemo/irq"), "vsdemo.vsdemo/irq");
        add_part(l, PART_VALUE, 4, "vsdemo.vsdemo/irq");
        add_part(l, PART_VALUE, 1, "vsdemo.vsdemo/irq.irq_pending");
        add_part(l, PART_VALUE, 2, "vsdemo.vsdemo/irq.irq_mask");
    }
    return l;
}

static Layout *pic_layout(TALLOC_CTX *ctx)
{
    static const char *const fields[] = {
        "last_irr", "irr", "imr", "isr", "priority_add", "irq_base", "read_reg_select",
        "poll", "special_mask", "init_state", "auto_eoi", "rotate_on_auto_eoi",
        "special_fully_nested_mode", "init4", "single_mode", "elcr",
    };
    Layout *l = talloc_zero(ctx, Layout);

    for (size_t i = 0; i < G_N_ELEMENTS(fields); i++) {
        add_part(l, PART_VALUE, 1, "i8259.%s", fields[i]);
    }
    return l;
}

/* ---- a walker that allocates: a string and an opaque payload ---------- */

#define TR_PAYLOAD_LEN 40

typedef struct Tr {
    uint8_t a;
    char *name;
    uint8_t *payload;
    size_t payload_len;
    uint16_t b;
} Tr;

static const VsTypeInfo tr_type = { "Tr", "vstrunc", 1, 1, sizeof(Tr) };

static bool visit_tr(VsVisitor *v, const char *name, Tr *s, GError **errp)
{
    uint32_t version = tr_type.version;
    bool ok;

    if (!vs_visit_start_struct(v, name, &tr_type, &version, errp)) {
        return false;
    }
    ok = vs_visit_u8(v, "a", &s->a, errp) && vs_visit_string(v, "name", &s->name, 32, errp) &&
         vs_visit_opaque(v, "payload", &s->payload, &s->payload_len, 64, errp) &&
         vs_visit_u16(v, "b", &s->b, errp) && vs_visit_check_struct(v, errp);
    vs_visit_end_struct(v);
    return ok;
}

static Layout *tr_layout(TALLOC_CTX *ctx, const Tr *s)
{
    Layout *l = talloc_zero(ctx, Layout);

    add_part(l, PART_VALUE, 1, "vstrunc.a");
    add_part(l, PART_VALUE, 1, "vstrunc.name");             /* length byte */
    add_part(l, PART_VALUE, strlen(s->name), "vstrunc.name"); /* its bytes */
    add_part(l, PART_VALUE, s->payload_len, "vstrunc.payload");
    add_part(l, PART_VALUE, 2, "vstrunc.b");
    return l;
}

/* ---- harness ---------------------------------------------------------- */

typedef bool (*Walk)(VsVisitor *v, void *obj, GError **errp);
/* Gives a fresh destination object for a load. */
typedef void (*Prepare)(void *obj, void *storage, unsigned seed);
/* How many blocks under the result context the loaded @obj owns. */
typedef size_t (*Owned)(const void *obj);

typedef struct Subject {
    Walk walk;
    Prepare prepare;
    Owned owned;
    unsigned seed;
} Subject;

static bool walk_demo(VsVisitor *v, void *obj, GError **errp)
{
    return vs_ex_visit_demo(v, "vsdemo", obj, errp) && vs_visitor_complete(v, errp);
}

static bool walk_pic(VsVisitor *v, void *obj, GError **errp)
{
    return vs_ex_visit_pic(v, "i8259", obj, errp) && vs_visitor_complete(v, errp);
}

static bool walk_tr(VsVisitor *v, void *obj, GError **errp)
{
    return visit_tr(v, "vstrunc", obj, errp) && vs_visitor_complete(v, errp);
}

static void prepare_demo(void *obj, void *storage, unsigned seed)
{
    vs_ex_demo_prepare_load(obj, storage, seed);
}

static void prepare_zero_pic(void *obj, void *storage, unsigned seed)
{
    memset(obj, 0, sizeof(VsExPic));
}

static void prepare_zero_tr(void *obj, void *storage, unsigned seed)
{
    Tr *s = obj;

    memset(s, 0, sizeof(*s));
    s->payload_len = TR_PAYLOAD_LEN;
}

static size_t owned_nothing(const void *obj)
{
    return 0;
}

static size_t owned_tr(const void *obj)
{
    const Tr *s = obj;

    return (s->name != NULL) + (s->payload != NULL);
}

static uint8_t *save_bytes(TALLOC_CTX *mem, Walk walk, void *obj, size_t *ret_len)
{
    VsQemuFile *f = vs_qemufile_new_memory_writer(mem);
    VsVisitor *v = vs_legacy_save_visitor_new(mem, f);
    GError *err = NULL;
    const uint8_t *data;
    uint8_t *copy;

    if (!walk(v, obj, &err)) {
        print_error("save failed: %s\n", err->message);
        fail();
    }
    data = vs_qemufile_memory_data(f, ret_len);
    copy = talloc_memdup(mem, data, *ret_len);
    vs_visitor_free(v);
    vs_qemufile_free(f);
    return copy;
}

/* The part the stream ends in when it is cut after @n bytes. */
static const Part *part_at(const Layout *l, size_t n)
{
    for (size_t i = 0; i < l->n; i++) {
        if (n >= l->parts[i].start && n < l->parts[i].start + l->parts[i].size) {
            return &l->parts[i];
        }
    }
    fail_msg("no part holds offset %zu", n);
    return NULL;
}

/* What a load of the first @n bytes must report, given the part it ends in. */
static void check_outcome(const Part *p, size_t n, bool ok, uint64_t consumed,
                          const GError *err)
{
    size_t k = n - p->start;
    g_autofree char *msg = NULL;

    if (p->kind == PART_SUB_HEADER && k < 2) {
        /* Cut before the header (absent), or after its marker (not ours). */
        if (!ok) {
            print_error("prefix %zu: expected success, got: %s\n", n, err->message);
            fail();
        }
        assert_int_equal(consumed, p->start);
        return;
    }
    if (ok) {
        print_error("prefix %zu: the load succeeded; expected it to end in %s\n", n, p->path);
        fail();
    }
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_TRUNCATED, p->path);
    if (p->kind == PART_SUB_HEADER) {
        msg = g_strdup_printf("stream ends inside the subsection header after %zu of %zu bytes "
                              "(offset 0x%zx)",
                              k, p->size, p->start);
    } else {
        msg = g_strdup_printf("stream ends after %zu of %zu bytes (offset 0x%zx)", k, p->size,
                              p->start);
    }
    assert_gerror_contains(err, msg);
}

/*
 * Loads every proper prefix of @bytes and checks each outcome against
 * @layout, and that the full stream loads.  Returns the number of prefixes
 * that failed (all but the subsection special cases).
 */
static size_t sweep(const Subject *subj, const uint8_t *bytes, size_t len, const Layout *layout)
{
    size_t failures = 0;

    assert_int_equal(layout->len, len);
    for (size_t n = 0; n <= len; n++) {
        TALLOC_CTX *mem = talloc_new(NULL);
        TALLOC_CTX *result = talloc_new(NULL);
        /* Big enough for any destination used here, plus its slot storage. */
        union {
            VsExDemo demo;
            VsExPic pic;
            Tr tr;
        } obj;
        VsExInner storage[VS_EX_SLOTS];
        VsQemuFile *f = vs_qemufile_new_memory_reader(mem, bytes, n);
        VsVisitor *v = vs_legacy_load_visitor_new(mem, f, result);
        GError *err = NULL;
        uint64_t consumed;
        bool ok;

        subj->prepare(&obj, storage, subj->seed);
        ok = subj->walk(v, &obj, &err);
        consumed = vs_qemufile_pos(f);
        if (n == len) {
            if (!ok) {
                print_error("the whole stream failed to load: %s\n", err->message);
                fail();
            }
            assert_int_equal(consumed, len);
        } else {
            check_outcome(part_at(layout, n), n, ok, consumed, err);
            failures += !ok;
        }
        vs_visitor_free(v);
        vs_qemufile_free(f);
        /* Nothing of the visitor survives it... */
        assert_int_equal(talloc_total_blocks(mem), 1);
        /* ...and the result context holds only what the object points to. */
        assert_int_equal(talloc_total_blocks(result), 1 + subj->owned(&obj));
        g_clear_error(&err);
        talloc_free(result);
        talloc_free(mem);
    }
    return failures;
}

/* ---- tests ------------------------------------------------------------ */

static void sweep_demo(unsigned seed)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    VsExDemo demo;
    VsExInner storage[VS_EX_SLOTS];
    Subject subj = { walk_demo, prepare_demo, owned_nothing, seed };
    Layout *layout;
    uint8_t *bytes;
    size_t len;
    size_t failures;

    vs_ex_demo_fill(&demo, storage, seed);
    layout = demo_layout(mem, &demo);
    bytes = save_bytes(mem, walk_demo, &demo, &len);
    failures = sweep(&subj, bytes, len, layout);
    /* With the subsection, two prefixes load: before it and its lone marker. */
    assert_int_equal(failures, demo.irq_pending ? len - 2 : len);
    talloc_free(mem);
}

/* Slot 1 set, subsection present. */
static void test_legacy_truncation_demo_seed1(void **state)
{
    sweep_demo(1);
}

/* Slot 1 NULL (its marker can be cut), subsection present. */
static void test_legacy_truncation_demo_seed2(void **state)
{
    sweep_demo(2);
}

/* Slot 1 NULL, no subsection: every prefix fails. */
static void test_legacy_truncation_demo_seed0(void **state)
{
    sweep_demo(0);
}

/* Slot 1 set, no subsection, longest fifo. */
static void test_legacy_truncation_demo_seed3(void **state)
{
    sweep_demo(3);
}

static void test_legacy_truncation_pic(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    VsExPic pic;
    Subject subj = { walk_pic, prepare_zero_pic, owned_nothing, 0 };
    uint8_t *bytes;
    size_t len;

    for (size_t i = 0; i < sizeof(pic); i++) {
        ((uint8_t *)&pic)[i] = (uint8_t)(0x80 + i);
    }
    bytes = save_bytes(mem, walk_pic, &pic, &len);
    assert_int_equal(sweep(&subj, bytes, len, pic_layout(mem)), len);
    talloc_free(mem);
}

/* Strings and opaque payloads: partial allocations must not survive. */
static void test_legacy_truncation_allocations(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    uint8_t payload[TR_PAYLOAD_LEN];
    Tr tr = { 0x5a, (char *)"truncate me", payload, sizeof(payload), 0xbeef };
    Subject subj = { walk_tr, prepare_zero_tr, owned_tr, 0 };
    uint8_t *bytes;
    size_t len;

    for (size_t i = 0; i < sizeof(payload); i++) {
        payload[i] = (uint8_t)(i ^ 0xa5);
    }
    bytes = save_bytes(mem, walk_tr, &tr, &len);
    assert_int_equal(sweep(&subj, bytes, len, tr_layout(mem, &tr)), len);
    talloc_free(mem);
}

/* The subsection-header cases spelled out (see the comment at the top). */
static void test_legacy_truncation_subsection_header(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    VsExDemo demo, loaded;
    VsExInner storage[VS_EX_SLOTS], lstorage[VS_EX_SLOTS];
    uint8_t *bytes;
    size_t len;
    /* Seed 1: the header starts at 76 (see test-legacy-golden.c). */
    static const size_t hdr = 76;
    static const struct {
        size_t n;
        bool ok;
        uint64_t consumed;
        const char *text;
    } cases[] = {
        { hdr, true, hdr, NULL },
        { hdr + 1, true, hdr, NULL },
        { hdr + 2, false, 0, "inside the subsection header after 2 of 12 bytes (offset 0x4c)" },
        { hdr + 7, false, 0, "inside the subsection header after 7 of 12 bytes (offset 0x4c)" },
        { hdr + 11, false, 0, "inside the subsection header after 11 of 12 bytes" },
        { hdr + 12, false, 0, "stream ends after 0 of 4 bytes (offset 0x58)" },
    };

    vs_ex_demo_fill(&demo, storage, 1);
    bytes = save_bytes(mem, walk_demo, &demo, &len);
    assert_int_equal(bytes[hdr], VS_LEGACY_SUBSECTION);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        VsQemuFile *f = vs_qemufile_new_memory_reader(mem, bytes, cases[i].n);
        VsVisitor *v = vs_legacy_load_visitor_new(mem, f, NULL);
        GError *err = NULL;
        bool ok;

        vs_ex_demo_prepare_load(&loaded, lstorage, 1);
        ok = walk_demo(v, &loaded, &err);
        assert_int_equal(ok, cases[i].ok);
        if (ok) {
            assert_int_equal(vs_qemufile_pos(f), cases[i].consumed);
            assert_int_equal(loaded.irq_pending, 0);
        } else {
            assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_TRUNCATED,
                               "vsdemo.vsdemo/irq");
            assert_gerror_contains(err, cases[i].text);
        }
        g_clear_error(&err);
        vs_visitor_free(v);
        vs_qemufile_free(f);
    }
    talloc_free(mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_legacy_truncation_demo_seed0),
        cmocka_unit_test(test_legacy_truncation_demo_seed1),
        cmocka_unit_test(test_legacy_truncation_demo_seed2),
        cmocka_unit_test(test_legacy_truncation_demo_seed3),
        cmocka_unit_test(test_legacy_truncation_pic),
        cmocka_unit_test(test_legacy_truncation_allocations),
        cmocka_unit_test(test_legacy_truncation_subsection_header),
    };

    return cmocka_run_group_tests_name("legacy-truncation", tests, NULL, NULL);
}
