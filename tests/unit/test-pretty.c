/*
 * test-pretty.c: state trees, the tree builder and reader, the trace
 * visitor and the TRACE, TREE and JSON renderings.
 *
 * SPDX-License-Identifier: MIT
 *
 * Expected renderings are written out literally.  Besides the example
 * walkers, three small walkers are defined here: PIIX3 and slirp reproduce
 * the paths of the trace example in docs/DESIGN.md, "misc" covers the
 * parts the example walkers lack (signed and 64-bit values, strings, opaque
 * payloads, special doubles) and "queue" has lists of structs and scalars.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "examples/example-walkers.h"
#include "test-helpers.h"
#include "visitor/pretty/pretty.h"
#include "visitor/visitor-impl.h"

/* ---- fixtures ---------------------------------------------------------- */

/* ---- test walkers ------------------------------------------------------ */

typedef struct TestPciDev {
    uint8_t config[256];
} TestPciDev;

typedef struct TestPiix3 {
    TestPciDev dev;
} TestPiix3;

static const VsTypeInfo test_pci_dev_type = {
    .name = "TestPciDevice", .wire_name = "PCIDevice", .version = 2,
    .minimum_version = 2, .size = sizeof(TestPciDev),
};

static const VsTypeInfo test_piix3_type = {
    .name = "TestPiix3", .wire_name = "PIIX3", .version = 3,
    .minimum_version = 2, .size = sizeof(TestPiix3),
};

static bool test_visit_pci_dev(VsVisitor *v, const char *name, TestPciDev *s, GError **errp)
{
    uint32_t version = test_pci_dev_type.version;
    bool ok = false;

    if (!vs_visit_start_struct(v, name, &test_pci_dev_type, &version, errp)) {
        return false;
    }
    if (!vs_visit_buffer(v, "config", s->config, sizeof(s->config), errp)) {
        goto out;
    }
    ok = vs_visit_check_struct(v, errp);
out:
    vs_visit_end_struct(v);
    return ok;
}

static bool test_visit_piix3(VsVisitor *v, const char *name, TestPiix3 *s, GError **errp)
{
    uint32_t version = test_piix3_type.version;
    bool ok = false;

    if (!vs_visit_start_struct(v, name, &test_piix3_type, &version, errp)) {
        return false;
    }
    if (!test_visit_pci_dev(v, "dev", &s->dev, errp)) {
        goto out;
    }
    ok = vs_visit_check_struct(v, errp);
out:
    vs_visit_end_struct(v);
    return ok;
}

#define TEST_BOOTP_CLIENTS 16

typedef struct TestBootpClient {
    uint16_t allocated;
    uint8_t macaddr[6];
} TestBootpClient;

typedef struct TestSlirp {
    TestBootpClient bootp_clients[TEST_BOOTP_CLIENTS];
} TestSlirp;

static const VsTypeInfo test_bootp_client_type = {
    .name = "TestBootpClient", .wire_name = "slirp-bootp-client", .version = 1,
    .minimum_version = 1, .size = sizeof(TestBootpClient),
};

static const VsTypeInfo test_bootp_type = {
    .name = "TestBootp", .wire_name = "slirp-bootp", .version = 1,
    .minimum_version = 1, .size = sizeof(TestSlirp),
};

static const VsTypeInfo test_slirp_type = {
    .name = "TestSlirp", .wire_name = "slirp", .version = 4,
    .minimum_version = 4, .size = sizeof(TestSlirp),
};

static bool test_visit_bootp_client(VsVisitor *v, const char *name, TestBootpClient *s,
                                    GError **errp)
{
    uint32_t version = test_bootp_client_type.version;
    bool ok = false;

    if (!vs_visit_start_struct(v, name, &test_bootp_client_type, &version, errp)) {
        return false;
    }
    if (!vs_visit_u16(v, "allocated", &s->allocated, errp) ||
        !vs_visit_u8_array(v, "macaddr", s->macaddr, sizeof(s->macaddr), errp)) {
        goto out;
    }
    ok = vs_visit_check_struct(v, errp);
out:
    vs_visit_end_struct(v);
    return ok;
}

static bool test_visit_bootp(VsVisitor *v, const char *name, TestSlirp *s, GError **errp)
{
    uint32_t version = test_bootp_type.version;
    uint32_t n = TEST_BOOTP_CLIENTS;
    bool ok = false;

    if (!vs_visit_start_struct(v, name, &test_bootp_type, &version, errp)) {
        return false;
    }
    if (!vs_visit_start_array(v, "bootp_clients", &n, TEST_BOOTP_CLIENTS, 8, errp)) {
        goto out;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!test_visit_bootp_client(v, NULL, &s->bootp_clients[i], errp)) {
            break;
        }
    }
    vs_visit_end_array(v);
    ok = !vs_visitor_failed(v) && vs_visit_check_struct(v, errp);
out:
    vs_visit_end_struct(v);
    return ok;
}

static bool test_visit_slirp(VsVisitor *v, const char *name, TestSlirp *s, GError **errp)
{
    uint32_t version = test_slirp_type.version;
    bool ok = false;

    if (!vs_visit_start_struct(v, name, &test_slirp_type, &version, errp)) {
        return false;
    }
    if (!test_visit_bootp(v, "bootp", s, errp)) {
        goto out;
    }
    ok = vs_visit_check_struct(v, errp);
out:
    vs_visit_end_struct(v);
    return ok;
}

typedef struct TestMisc {
    int8_t neg;
    int64_t big_neg;
    bool off;
    double ratio;
    char *label;
    uint8_t *payload;
    size_t payload_len;
} TestMisc;

static const VsTypeInfo test_misc_type = {
    .name = "TestMisc", .wire_name = "misc", .version = 1,
    .minimum_version = 1, .size = sizeof(TestMisc),
};

static bool test_visit_misc(VsVisitor *v, const char *name, TestMisc *s, GError **errp)
{
    uint32_t version = test_misc_type.version;
    bool ok = false;

    if (!vs_visit_start_struct(v, name, &test_misc_type, &version, errp)) {
        return false;
    }
    if (!vs_visit_i8(v, "neg", &s->neg, errp) ||
        !vs_visit_i64(v, "big_neg", &s->big_neg, errp) ||
        !vs_visit_bool(v, "off", &s->off, errp) ||
        !vs_visit_f64(v, "ratio", &s->ratio, errp) ||
        !vs_visit_string(v, "label", &s->label, 32, errp) ||
        !vs_visit_opaque(v, "payload", &s->payload, &s->payload_len, 16, errp) ||
        !vs_visit_unused(v, "pad", 2, errp)) {
        goto out;
    }
    ok = vs_visit_check_struct(v, errp);
out:
    vs_visit_end_struct(v);
    return ok;
}

#define TEST_QUEUE_MAX 4

typedef struct TestQueueEntry {
    uint16_t id;
    uint8_t prio;
} TestQueueEntry;

typedef struct TestQueue {
    uint8_t head;
    uint32_t n_entries;
    TestQueueEntry entries[TEST_QUEUE_MAX];
    uint32_t n_bytes;
    uint8_t bytes[TEST_QUEUE_MAX];
} TestQueue;

static const VsTypeInfo test_queue_entry_type = {
    .name = "TestQueueEntry", .wire_name = "queue-entry", .version = 1,
    .minimum_version = 1, .size = sizeof(TestQueueEntry),
};

static const VsTypeInfo test_queue_type = {
    .name = "TestQueue", .wire_name = "queue", .version = 1,
    .minimum_version = 1, .size = sizeof(TestQueue),
};

static bool test_visit_queue_entry(VsVisitor *v, const char *name, TestQueueEntry *s,
                                   GError **errp)
{
    uint32_t version = test_queue_entry_type.version;
    bool ok = false;

    if (!vs_visit_start_struct(v, name, &test_queue_entry_type, &version, errp)) {
        return false;
    }
    if (!vs_visit_u16(v, "id", &s->id, errp) || !vs_visit_u8(v, "prio", &s->prio, errp)) {
        goto out;
    }
    ok = vs_visit_check_struct(v, errp);
out:
    vs_visit_end_struct(v);
    return ok;
}

/* A list of structs: up to TEST_QUEUE_MAX, *n of them on save, set on load. */
static bool test_visit_entry_list(VsVisitor *v, TestQueueEntry *entries, uint32_t *n,
                                  GError **errp)
{
    uint32_t i;

    if (!vs_visit_start_list(v, "entries", TEST_QUEUE_MAX, 3, errp)) {
        return false;
    }
    for (i = 0;; i++) {
        bool more = i < *n;

        if (!vs_visit_list_next(v, &more, errp) || !more ||
            !test_visit_queue_entry(v, NULL, &entries[i], errp)) {
            break;
        }
    }
    vs_visit_end_list(v);
    *n = i;
    return !vs_visitor_failed(v);
}

/* A list of scalars. */
static bool test_visit_byte_list(VsVisitor *v, uint8_t *bytes, uint32_t *n, GError **errp)
{
    uint32_t i;

    if (!vs_visit_start_list(v, "bytes", TEST_QUEUE_MAX, 1, errp)) {
        return false;
    }
    for (i = 0;; i++) {
        bool more = i < *n;

        if (!vs_visit_list_next(v, &more, errp) || !more ||
            !vs_visit_u8(v, NULL, &bytes[i], errp)) {
            break;
        }
    }
    vs_visit_end_list(v);
    *n = i;
    return !vs_visitor_failed(v);
}

static bool test_visit_queue(VsVisitor *v, const char *name, TestQueue *s, GError **errp)
{
    uint32_t version = test_queue_type.version;
    bool ok = false;

    if (!vs_visit_start_struct(v, name, &test_queue_type, &version, errp)) {
        return false;
    }
    if (!vs_visit_u8(v, "head", &s->head, errp) ||
        !test_visit_entry_list(v, s->entries, &s->n_entries, errp) ||
        !test_visit_byte_list(v, s->bytes, &s->n_bytes, errp)) {
        goto out;
    }
    ok = vs_visit_check_struct(v, errp);
out:
    vs_visit_end_struct(v);
    return ok;
}

/* ---- helpers ----------------------------------------------------------- */

static void fill_pic(VsExPic *pic)
{
    *pic = (VsExPic){
        .irr = 0x10, .imr = 0xb8, .irq_base = 0x8, .init4 = 0x1, .elcr = 0xc,
    };
}

static void fill_misc(TestMisc *m, char *label, uint8_t payload[3])
{
    payload[0] = 0xde;
    payload[1] = 0xad;
    payload[2] = 0x00;
    *m = (TestMisc){
        .neg = -5, .big_neg = INT64_MIN, .off = false, .ratio = 0.1,
        .label = label, .payload = payload, .payload_len = 3,
    };
}

/* The tree of a walk of @demo; a talloc child of @ctx. */
static VsNode *tree_of_demo(TALLOC_CTX *ctx, VsExDemo *demo)
{
    VsVisitor *b = vs_tree_builder_new(ctx, ctx);
    GError *err = NULL;
    VsNode *root;

    assert_true(vs_ex_visit_demo(b, "vsdemo", demo, &err));
    assert_true(vs_visitor_complete(b, &err));
    assert_null(err);
    root = vs_tree_builder_root(b);
    vs_visitor_free(b);
    return root;
}

static VsNode *demo_tree(TALLOC_CTX *ctx, unsigned seed)
{
    VsExDemo demo;
    VsExInner storage[VS_EX_SLOTS];

    vs_ex_demo_fill(&demo, storage, seed);
    return tree_of_demo(ctx, &demo);
}

static VsNode *pic_tree(TALLOC_CTX *ctx)
{
    VsExPic pic;
    VsVisitor *b = vs_tree_builder_new(ctx, ctx);
    GError *err = NULL;
    VsNode *root;

    fill_pic(&pic);
    assert_true(vs_ex_visit_pic(b, "i8259", &pic, &err));
    assert_true(vs_visitor_complete(b, &err));
    root = vs_tree_builder_root(b);
    vs_visitor_free(b);
    return root;
}

static void assert_demo_trace_both_ways(TALLOC_CTX *ctx, unsigned seed, const char *expected)
{
    VsExDemo demo;
    VsExInner storage[VS_EX_SLOTS];
    g_autoptr(GString) streamed = g_string_new(NULL);
    g_autoptr(GString) rendered = g_string_new(NULL);
    VsVisitor *t = vs_trace_visitor_new(ctx, streamed);
    VsNode *root = demo_tree(ctx, seed);
    GError *err = NULL;

    vs_ex_demo_fill(&demo, storage, seed);
    assert_true(vs_ex_visit_demo(t, "vsdemo", &demo, &err));
    assert_true(vs_visitor_complete(t, &err));
    vs_render_trace(rendered, root);
    assert_string_equal(streamed->str, expected);
    assert_string_equal(rendered->str, expected);
    vs_visitor_free(t);
    vs_node_free(root);
}

static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);

    for (const char *p = strstr(text, line); p; p = strstr(p + 1, line)) {
        if ((p == text || p[-1] == '\n') && p[n] == '\n') {
            return true;
        }
    }
    return false;
}

static size_t count_lines(const char *text)
{
    size_t n = 0;

    for (const char *p = strchr(text, '\n'); p; p = strchr(p + 1, '\n')) {
        n++;
    }
    return n;
}

/* ---- a small JSON validator (RFC 8259 grammar, no semantics) ------------ */

typedef struct JsonScan {
    const char *p;
    unsigned depth;
} JsonScan;

static bool json_value(JsonScan *s);

static void json_ws(JsonScan *s)
{
    while (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r') {
        s->p++;
    }
}

static bool json_literal(JsonScan *s, const char *word)
{
    size_t n = strlen(word);

    if (strncmp(s->p, word, n) != 0) {
        return false;
    }
    s->p += n;
    return true;
}

static bool json_string_token(JsonScan *s)
{
    if (*s->p++ != '"') {
        return false;
    }
    while (*s->p != '"') {
        unsigned char c = (unsigned char)*s->p++;

        if (c < 0x20) {
            return false;
        }
        if (c == '\\') {
            c = (unsigned char)*s->p++;
            if (c == 'u') {
                for (int i = 0; i < 4; i++) {
                    if (!g_ascii_isxdigit(*s->p++)) {
                        return false;
                    }
                }
            } else if (!strchr("\"\\/bfnrt", c) || c == 0) {
                return false;
            }
        }
    }
    s->p++;
    return true;
}

static bool json_digits(JsonScan *s)
{
    const char *start = s->p;

    while (g_ascii_isdigit(*s->p)) {
        s->p++;
    }
    return s->p > start;
}

static bool json_number(JsonScan *s)
{
    if (*s->p == '-') {
        s->p++;
    }
    if (*s->p == '0') {
        s->p++;
    } else if (!json_digits(s)) {
        return false;
    }
    if (*s->p == '.') {
        s->p++;
        if (!json_digits(s)) {
            return false;
        }
    }
    if (*s->p == 'e' || *s->p == 'E') {
        s->p++;
        if (*s->p == '+' || *s->p == '-') {
            s->p++;
        }
        if (!json_digits(s)) {
            return false;
        }
    }
    return true;
}

/* Members or elements up to @close; @object asks for "key": before each. */
static bool json_sequence(JsonScan *s, char close, bool object)
{
    s->p++;
    json_ws(s);
    if (*s->p == close) {
        s->p++;
        return true;
    }
    for (;;) {
        json_ws(s);
        if (object) {
            if (!json_string_token(s)) {
                return false;
            }
            json_ws(s);
            if (*s->p++ != ':') {
                return false;
            }
        }
        if (!json_value(s)) {
            return false;
        }
        json_ws(s);
        if (*s->p == close) {
            s->p++;
            return true;
        }
        if (*s->p++ != ',') {
            return false;
        }
    }
}

static bool json_value(JsonScan *s)
{
    bool ok;

    json_ws(s);
    if (++s->depth > 64) {
        return false;
    }
    switch (*s->p) {
    case '{':
        ok = json_sequence(s, '}', true);
        break;
    case '[':
        ok = json_sequence(s, ']', false);
        break;
    case '"':
        ok = json_string_token(s);
        break;
    case 't':
        ok = json_literal(s, "true");
        break;
    case 'f':
        ok = json_literal(s, "false");
        break;
    case 'n':
        ok = json_literal(s, "null");
        break;
    default:
        ok = json_number(s);
    }
    s->depth--;
    return ok;
}

static bool json_valid(const char *text)
{
    JsonScan s = { .p = text };

    if (!g_utf8_validate(text, -1, NULL) || !json_value(&s)) {
        return false;
    }
    json_ws(&s);
    return *s.p == '\0';
}

/* ---- TRACE ------------------------------------------------------------- */

static const char pic_trace[] =
    "i8259.last_irr = (uint8) 0x0\n"
    "i8259.irr = (uint8) 0x10\n"
    "i8259.imr = (uint8) 0xb8\n"
    "i8259.isr = (uint8) 0x0\n"
    "i8259.priority_add = (uint8) 0x0\n"
    "i8259.irq_base = (uint8) 0x8\n"
    "i8259.read_reg_select = (uint8) 0x0\n"
    "i8259.poll = (uint8) 0x0\n"
    "i8259.special_mask = (uint8) 0x0\n"
    "i8259.init_state = (uint8) 0x0\n"
    "i8259.auto_eoi = (uint8) 0x0\n"
    "i8259.rotate_on_auto_eoi = (uint8) 0x0\n"
    "i8259.special_fully_nested_mode = (uint8) 0x0\n"
    "i8259.init4 = (uint8) 0x1\n"
    "i8259.single_mode = (uint8) 0x0\n"
    "i8259.elcr = (uint8) 0xc\n";

static void test_pretty_trace_pic(void **state)
{
    VsExPic pic;
    g_autoptr(GString) streamed = g_string_new(NULL);
    g_autoptr(GString) rendered = g_string_new(NULL);
    VsVisitor *t = vs_trace_visitor_new(*state, streamed);
    VsNode *root = pic_tree(*state);
    GError *err = NULL;

    fill_pic(&pic);
    assert_true(vs_ex_visit_pic(t, "i8259", &pic, &err));
    assert_true(vs_visitor_complete(t, &err));
    vs_render_trace(rendered, root);
    assert_string_equal(streamed->str, pic_trace);
    assert_string_equal(rendered->str, pic_trace);
    vs_visitor_free(t);
    vs_node_free(root);
}

static void test_pretty_trace_demo_seed1(void **state)
{
    static const char expected[] =
        "vsdemo.id = (uint16) 0x1235\n"
        "vsdemo.temperature = (int32) -0x29\n"
        "vsdemo.enabled = (bool) true\n"
        "vsdemo.counter = (uint64) 0x102030405060709\n"
        "vsdemo.gain = (float64) 2.5\n"
        "vsdemo.inner.mode = (uint8) 0x3\n"
        "vsdemo.inner.mask = (uint32) 0xdeadbeef\n"
        "vsdemo.regs(4)(2).[0] = (uint16) 0x101\n"
        "vsdemo.regs(4)(2).[1] = (uint16) 0x201\n"
        "vsdemo.regs(4)(2).[2] = (uint16) 0x301\n"
        "vsdemo.regs(4)(2).[3] = (uint16) 0x401\n"
        "vsdemo.fifo_len = (uint8) 0x4\n"
        "vsdemo.fifo(4)(1).[0] = (uint8) 0xa0\n"
        "vsdemo.fifo(4)(1).[1] = (uint8) 0xa1\n"
        "vsdemo.fifo(4)(1).[2] = (uint8) 0xa2\n"
        "vsdemo.fifo(4)(1).[3] = (uint8) 0xa3\n"
        "vsdemo.extra = (uint32) 0xcafe0001\n"
        "vsdemo.unused = (unused) 3 bytes\n"
        "vsdemo.chans(2)(5).[0].mode = (uint8) 0x1\n"
        "vsdemo.chans(2)(5).[0].mask = (uint32) 0x11\n"
        "vsdemo.chans(2)(5).[1].mode = (uint8) 0x2\n"
        "vsdemo.chans(2)(5).[1].mask = (uint32) 0x22\n"
        "vsdemo.slots(2)(0).[0].mode = (uint8) 0x7\n"
        "vsdemo.slots(2)(0).[0].mask = (uint32) 0x77\n"
        "vsdemo.slots(2)(0).[1].mode = (uint8) 0x8\n"
        "vsdemo.slots(2)(0).[1].mask = (uint32) 0x88\n"
        "vsdemo.blob(8)(1).[0] = (uint8) 0x76\n"
        "vsdemo.blob(8)(1).[1] = (uint8) 0x73\n"
        "vsdemo.blob(8)(1).[2] = (uint8) 0x74\n"
        "vsdemo.blob(8)(1).[3] = (uint8) 0x61\n"
        "vsdemo.blob(8)(1).[4] = (uint8) 0x74\n"
        "vsdemo.blob(8)(1).[5] = (uint8) 0x65\n"
        "vsdemo.blob(8)(1).[6] = (uint8) 0x21\n"
        "vsdemo.blob(8)(1).[7] = (uint8) 0x0\n"
        "vsdemo.vsdemo/irq.irq_pending = (uint8) 0x1\n"
        "vsdemo.vsdemo/irq.irq_mask = (uint16) 0xfffe\n";

    assert_demo_trace_both_ways(*state, 1, expected);
}

/* Seed 0: slot 1 is NULL and the irq subsection is not sent. */
static void test_pretty_trace_demo_seed0(void **state)
{
    static const char expected[] =
        "vsdemo.id = (uint16) 0x1234\n"
        "vsdemo.temperature = (int32) -0x28\n"
        "vsdemo.enabled = (bool) true\n"
        "vsdemo.counter = (uint64) 0x102030405060708\n"
        "vsdemo.gain = (float64) 1.5\n"
        "vsdemo.inner.mode = (uint8) 0x3\n"
        "vsdemo.inner.mask = (uint32) 0xdeadbeef\n"
        "vsdemo.regs(4)(2).[0] = (uint16) 0x100\n"
        "vsdemo.regs(4)(2).[1] = (uint16) 0x200\n"
        "vsdemo.regs(4)(2).[2] = (uint16) 0x300\n"
        "vsdemo.regs(4)(2).[3] = (uint16) 0x400\n"
        "vsdemo.fifo_len = (uint8) 0x3\n"
        "vsdemo.fifo(3)(1).[0] = (uint8) 0xa0\n"
        "vsdemo.fifo(3)(1).[1] = (uint8) 0xa1\n"
        "vsdemo.fifo(3)(1).[2] = (uint8) 0xa2\n"
        "vsdemo.extra = (uint32) 0xcafe0000\n"
        "vsdemo.unused = (unused) 3 bytes\n"
        "vsdemo.chans(2)(5).[0].mode = (uint8) 0x1\n"
        "vsdemo.chans(2)(5).[0].mask = (uint32) 0x11\n"
        "vsdemo.chans(2)(5).[1].mode = (uint8) 0x2\n"
        "vsdemo.chans(2)(5).[1].mask = (uint32) 0x22\n"
        "vsdemo.slots(2)(0).[0].mode = (uint8) 0x7\n"
        "vsdemo.slots(2)(0).[0].mask = (uint32) 0x77\n"
        "vsdemo.slots(2)(0).[1] = (nullptr)\n"
        "vsdemo.blob(8)(1).[0] = (uint8) 0x76\n"
        "vsdemo.blob(8)(1).[1] = (uint8) 0x73\n"
        "vsdemo.blob(8)(1).[2] = (uint8) 0x74\n"
        "vsdemo.blob(8)(1).[3] = (uint8) 0x61\n"
        "vsdemo.blob(8)(1).[4] = (uint8) 0x74\n"
        "vsdemo.blob(8)(1).[5] = (uint8) 0x65\n"
        "vsdemo.blob(8)(1).[6] = (uint8) 0x21\n"
        "vsdemo.blob(8)(1).[7] = (uint8) 0x0\n";

    assert_demo_trace_both_ways(*state, 0, expected);
}

static void test_pretty_trace_misc(void **state)
{
    static const char expected[] =
        "misc.neg = (int8) -0x5\n"
        "misc.big_neg = (int64) -0x8000000000000000\n"
        "misc.off = (bool) false\n"
        "misc.ratio = (float64) 0.10000000000000001\n"
        "misc.label = (string) \"a\\\"b\\\\c\\n\\x01\\xc3\"\n"
        "misc.payload(3)(1).[0] = (uint8) 0xde\n"
        "misc.payload(3)(1).[1] = (uint8) 0xad\n"
        "misc.payload(3)(1).[2] = (uint8) 0x0\n"
        "misc.pad = (unused) 2 bytes\n";
    char label[] = "a\"b\\c\n\x01\xc3";
    uint8_t payload[3];
    TestMisc m;
    g_autoptr(GString) streamed = g_string_new(NULL);
    g_autoptr(GString) rendered = g_string_new(NULL);
    TALLOC_CTX *tree_ctx = talloc_new(*state);
    VsVisitor *t = vs_trace_visitor_new(*state, streamed);
    VsVisitor *b = vs_tree_builder_new(*state, tree_ctx);
    GError *err = NULL;

    fill_misc(&m, label, payload);
    assert_true(test_visit_misc(t, "misc", &m, &err));
    assert_true(test_visit_misc(b, "misc", &m, &err));
    assert_true(vs_visitor_complete(t, &err) && vs_visitor_complete(b, &err));
    vs_render_trace(rendered, vs_tree_builder_root(b));
    assert_string_equal(streamed->str, expected);
    assert_string_equal(rendered->str, expected);
    vs_visitor_free(t);
    vs_visitor_free(b);
    talloc_free(tree_ctx);
}

/* The trace visitor and the rendering of the builder's tree agree. */
static void test_pretty_trace_visitor_matches_render(void **state)
{
    for (unsigned seed = 0; seed < 12; seed++) {
        VsExDemo demo;
        VsExInner storage[VS_EX_SLOTS];
        g_autoptr(GString) streamed = g_string_new(NULL);
        g_autoptr(GString) rendered = g_string_new(NULL);
        VsVisitor *t = vs_trace_visitor_new(*state, streamed);
        VsNode *root = demo_tree(*state, seed);
        GError *err = NULL;

        vs_ex_demo_fill(&demo, storage, seed);
        assert_true(vs_ex_visit_demo(t, "vsdemo", &demo, &err));
        assert_true(vs_visitor_complete(t, &err));
        vs_render_trace(rendered, root);
        assert_string_equal(streamed->str, rendered->str);
        vs_visitor_free(t);
        vs_node_free(root);
    }
}

static void test_pretty_trace_file(void **state)
{
    VsExPic pic;
    char *buf = NULL;
    size_t size = 0;
    FILE *fp = open_memstream(&buf, &size);
    VsVisitor *t = vs_trace_visitor_new_file(*state, fp);
    VsNode *root = pic_tree(*state);
    GError *err = NULL;

    fill_pic(&pic);
    assert_true(vs_ex_visit_pic(t, "i8259", &pic, &err));
    assert_true(vs_visitor_complete(t, &err));
    assert_string_equal(buf, pic_trace);
    assert_true(vs_render_file(fp, root, VS_RENDER_TRACE, &err));
    fclose(fp);
    assert_int_equal(size, 2 * strlen(pic_trace));
    assert_string_equal(buf + strlen(pic_trace), pic_trace);
    free(buf);
    vs_visitor_free(t);
    vs_node_free(root);
}

/* A write that fails surfaces as VS_VISIT_ERROR_IO when the trace is flushed. */
static void test_pretty_trace_fail_file(void **state)
{
    VsExPic pic;
    FILE *fp = fopen("/dev/full", "w");
    VsVisitor *t;
    g_autoptr(GError) err = NULL;

    if (!fp) {
        skip();
    }
    t = vs_trace_visitor_new_file(*state, fp);
    fill_pic(&pic);
    assert_true(vs_ex_visit_pic(t, "i8259", &pic, &err));
    assert_false(vs_visitor_complete(t, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_IO, "<root>");
    assert_gerror_contains(err, "writing the trace failed");
    fclose(fp);
    vs_visitor_free(t);
}

/* ---- the docs/DESIGN.md example ------------------------------------------ */

static void render_walks_of_design_example(TALLOC_CTX *ctx, GString *streamed,
                                           GString *rendered)
{
    static TestPiix3 piix3;
    static TestSlirp slirp;
    VsExPic pic;
    VsVisitor *t = vs_trace_visitor_new(ctx, streamed);
    VsVisitor *b1 = vs_tree_builder_new(ctx, NULL);
    VsVisitor *b2 = vs_tree_builder_new(ctx, NULL);
    VsVisitor *b3 = vs_tree_builder_new(ctx, NULL);
    GError *err = NULL;

    memset(&piix3, 0, sizeof(piix3));
    memset(&slirp, 0, sizeof(slirp));
    slirp.bootp_clients[0].macaddr[0] = 0x1;
    fill_pic(&pic);
    assert_true(test_visit_piix3(b1, "PIIX3", &piix3, &err));
    assert_true(vs_ex_visit_pic(b2, "i8259", &pic, &err));
    assert_true(test_visit_slirp(b3, "slirp", &slirp, &err));
    vs_render_trace(rendered, vs_tree_builder_root(b1));
    vs_render_trace(rendered, vs_tree_builder_root(b2));
    vs_render_trace(rendered, vs_tree_builder_root(b3));
    /* One trace visitor, three top-level walks: it only writes lines. */
    assert_true(test_visit_piix3(t, "PIIX3", &piix3, &err));
    assert_true(vs_ex_visit_pic(t, "i8259", &pic, &err));
    assert_true(test_visit_slirp(t, "slirp", &slirp, &err));
    assert_null(err);
    vs_visitor_free(t);
    vs_visitor_free(b1);
    vs_visitor_free(b2);
    vs_visitor_free(b3);
}

static void test_pretty_design_example_lines(void **state)
{
    g_autoptr(GString) streamed = g_string_new(NULL);
    g_autoptr(GString) rendered = g_string_new(NULL);

    render_walks_of_design_example(*state, streamed, rendered);
    assert_string_equal(streamed->str, rendered->str);
    assert_true(has_line(rendered->str, "PIIX3.dev.config(256)(1).[255] = (uint8) 0x0"));
    assert_true(has_line(rendered->str, "i8259.irr = (uint8) 0x10"));
    assert_true(has_line(rendered->str,
                         "slirp.bootp.bootp_clients(16)(8).[0].macaddr(6)(1).[0] = (uint8) 0x1"));
    assert_true(has_line(rendered->str,
                         "slirp.bootp.bootp_clients(16)(8).[15].allocated = (uint16) 0x0"));
    /* 256 config bytes + 16 PIC registers + 16 * (1 + 6) slirp values */
    assert_int_equal(count_lines(rendered->str), 256 + 16 + 16 * 7);
}

static void test_pretty_design_example_tree(void **state)
{
    static const char expected_piix3[] =
        "PIIX3 (TestPiix3 v3)\n"
        "  dev (TestPciDevice v2)\n"
        "    config: 256 bytes\n"
        "      00000000  86 80 00 70 00 00 00 00  00 00 00 00 00 00 00 00  |...p............|\n"
        "      00000010  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n"
        "      *\n"
        "      00000100\n";
    static const char expected_slirp[] =
        "slirp (TestSlirp v4)\n"
        "  bootp (TestBootp v1)\n"
        "    bootp_clients[16]\n"
        "      [0] (TestBootpClient v1)\n"
        "        allocated = 0x1 (uint16)\n"
        "        macaddr[6]\n"
        "          [0] = 0x52 (uint8)\n"
        "          [1..5] (5 equal) = 0x0 (uint8)\n"
        "      [1..15] (15 equal) (TestBootpClient v1)\n"
        "        allocated = 0x0 (uint16)\n"
        "        macaddr[6]\n"
        "          [0..5] (6 equal) = 0x0 (uint8)\n";
    static TestPiix3 piix3;
    static TestSlirp slirp;
    g_autoptr(GString) out = g_string_new(NULL);
    VsVisitor *b1 = vs_tree_builder_new(*state, NULL);
    VsVisitor *b2 = vs_tree_builder_new(*state, NULL);
    GError *err = NULL;

    memset(&piix3, 0, sizeof(piix3));
    memcpy(piix3.dev.config, "\x86\x80\x00\x70", 4);
    memset(&slirp, 0, sizeof(slirp));
    slirp.bootp_clients[0].allocated = 1;
    slirp.bootp_clients[0].macaddr[0] = 0x52;
    assert_true(test_visit_piix3(b1, "PIIX3", &piix3, &err));
    assert_true(test_visit_slirp(b2, "slirp", &slirp, &err));
    vs_render_tree(out, vs_tree_builder_root(b1));
    assert_string_equal(out->str, expected_piix3);
    g_string_truncate(out, 0);
    vs_render_tree(out, vs_tree_builder_root(b2));
    assert_string_equal(out->str, expected_slirp);
    g_string_truncate(out, 0);
    vs_render_json(out, vs_tree_builder_root(b2), true);
    assert_true(json_valid(out->str));
    assert_non_null(strstr(out->str,
                           "{\"name\": \"bootp_clients\", \"kind\": \"array\", \"count\": 16, "
                           "\"elem_size\": 8, \"children\": [\n"));
    vs_visitor_free(b1);
    vs_visitor_free(b2);
}

/* ---- TREE -------------------------------------------------------------- */

static void test_pretty_tree_demo(void **state)
{
    static const char expected[] =
        "vsdemo (VsExDemo v2)\n"
        "  id = 0x1235 (uint16)\n"
        "  temperature = -0x29 (int32)\n"
        "  enabled = true (bool)\n"
        "  counter = 0x102030405060709 (uint64)\n"
        "  gain = 2.5 (float64)\n"
        "  inner (VsExInner v1)\n"
        "    mode = 0x3 (uint8)\n"
        "    mask = 0xdeadbeef (uint32)\n"
        "  regs[4]\n"
        "    [0] = 0x101 (uint16)\n"
        "    [1] = 0x201 (uint16)\n"
        "    [2] = 0x301 (uint16)\n"
        "    [3] = 0x401 (uint16)\n"
        "  fifo_len = 0x4 (uint8)\n"
        "  fifo[4]\n"
        "    [0] = 0xa0 (uint8)\n"
        "    [1] = 0xa1 (uint8)\n"
        "    [2] = 0xa2 (uint8)\n"
        "    [3] = 0xa3 (uint8)\n"
        "  extra = 0xcafe0001 (uint32)\n"
        "  unused: 3 bytes (unused)\n"
        "  chans[2]\n"
        "    [0] (VsExInner v1)\n"
        "      mode = 0x1 (uint8)\n"
        "      mask = 0x11 (uint32)\n"
        "    [1] (VsExInner v1)\n"
        "      mode = 0x2 (uint8)\n"
        "      mask = 0x22 (uint32)\n"
        "  slots[2]\n"
        "    [0] (VsExInner v1)\n"
        "      mode = 0x7 (uint8)\n"
        "      mask = 0x77 (uint32)\n"
        "    [1] (VsExInner v1)\n"
        "      mode = 0x8 (uint8)\n"
        "      mask = 0x88 (uint32)\n"
        "  blob: 8 bytes\n"
        "    00000000  76 73 74 61 74 65 21 00                           |vstate!.|\n"
        "  vsdemo/irq (subsection VsExDemoIrq v1)\n"
        "    irq_pending = 0x1 (uint8)\n"
        "    irq_mask = 0xfffe (uint16)\n";
    g_autoptr(GString) out = g_string_new(NULL);
    VsNode *root = demo_tree(*state, 1);

    vs_render_tree(out, root);
    assert_string_equal(out->str, expected);
    vs_node_free(root);
}

/* A hand-built tree with folded runs, hex dumps and every leaf kind. */
static VsNode *folding_tree(TALLOC_CTX *ctx)
{
    static const uint8_t mixed[] = { 1, 1, 1, 2, 3, 3 };
    uint8_t config[70] = "ABCDEFGHIJKLMNOP";
    uint8_t page[48];
    VsNode *dev = vs_node_new_struct(ctx, "dev", "Dev", "dev", 3);
    VsNode *zeros = vs_node_append(dev, vs_node_new_array(ctx, "zeros", 16, 1));
    VsNode *mixed_arr = vs_node_append(dev, vs_node_new_array(ctx, "mixed", 6, 1));
    VsNode *pairs = vs_node_append(dev, vs_node_new_array(ctx, "pairs", 3, 1));
    VsNode *ptrs = vs_node_append(dev, vs_node_new_array(ctx, "ptrs", 3, 0));
    VsNode *pair;

    memcpy(config + 64, "xyz\n\x01\xff", 6);
    memset(page, 0xff, sizeof(page));
    for (unsigned i = 0; i < 16; i++) {
        vs_node_append(zeros, vs_node_new_uint(ctx, NULL, 1, 0));
    }
    for (unsigned i = 0; i < sizeof(mixed); i++) {
        vs_node_append(mixed_arr, vs_node_new_uint(ctx, NULL, 1, mixed[i]));
    }
    for (unsigned i = 0; i < 3; i++) {
        pair = vs_node_append(pairs, vs_node_new_struct(ctx, NULL, "Pair", "pair", 1));
        vs_node_append(pair, vs_node_new_uint(ctx, "a", 1, 1));
    }
    vs_node_append(ptrs, vs_node_new_null(ctx, NULL));
    vs_node_append(ptrs, vs_node_new_null(ctx, NULL));
    pair = vs_node_append(ptrs, vs_node_new_struct(ctx, NULL, "Pair", "pair", 1));
    vs_node_append(pair, vs_node_new_uint(ctx, "a", 1, 2));
    vs_node_append(dev, vs_node_new_string(ctx, "name", "a\"b\n\x01"));
    vs_node_append(dev, vs_node_new_int(ctx, "delta", 1, -5));
    vs_node_append(dev, vs_node_new_bool(ctx, "off", false));
    vs_node_append(dev, vs_node_new_f64(ctx, "ratio", 0.1));
    vs_node_append(dev, vs_node_new_unused(ctx, "pad", 3));
    vs_node_append(dev, vs_node_new_buffer(ctx, "config", config, sizeof(config)));
    vs_node_append(dev, vs_node_new_opaque(ctx, "page", page, sizeof(page)));
    vs_node_append(dev, vs_node_new_buffer(ctx, "empty", NULL, 0));
    vs_node_append(dev, vs_node_new_subsection(ctx, "dev/extra", "DevExtra", 1));
    return dev;
}

static void test_pretty_tree_folding_and_hexdump(void **state)
{
    static const char expected[] =
        "dev (Dev v3)\n"
        "  zeros[16]\n"
        "    [0..15] (16 equal) = 0x0 (uint8)\n"
        "  mixed[6]\n"
        "    [0..2] (3 equal) = 0x1 (uint8)\n"
        "    [3] = 0x2 (uint8)\n"
        "    [4..5] (2 equal) = 0x3 (uint8)\n"
        "  pairs[3]\n"
        "    [0..2] (3 equal) (Pair v1)\n"
        "      a = 0x1 (uint8)\n"
        "  ptrs[3]\n"
        "    [0..1] (2 equal) = null\n"
        "    [2] (Pair v1)\n"
        "      a = 0x2 (uint8)\n"
        "  name = \"a\\\"b\\n\\x01\" (string)\n"
        "  delta = -0x5 (int8)\n"
        "  off = false (bool)\n"
        "  ratio = 0.10000000000000001 (float64)\n"
        "  pad: 3 bytes (unused)\n"
        "  config: 70 bytes\n"
        "    00000000  41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50  |ABCDEFGHIJKLMNOP|\n"
        "    00000010  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n"
        "    *\n"
        "    00000040  78 79 7a 0a 01 ff                                 |xyz...|\n"
        "  page: 48 bytes (opaque)\n"
        "    00000000  ff ff ff ff ff ff ff ff  ff ff ff ff ff ff ff ff  |................|\n"
        "    *\n"
        "    00000030\n"
        "  empty: 0 bytes\n"
        "  dev/extra (subsection DevExtra v1)\n";
    g_autoptr(GString) out = g_string_new(NULL);
    VsNode *dev = folding_tree(*state);

    vs_render(out, dev, VS_RENDER_TREE);
    assert_string_equal(out->str, expected);
    vs_node_free(dev);
}

/* ---- JSON -------------------------------------------------------------- */

static VsNode *json_sample_tree(TALLOC_CTX *ctx)
{
    static const uint8_t bytes[] = { 0x00, 0xff };
    VsNode *s = vs_node_new_struct(ctx, "s", "T", "t", 1);
    VsNode *arr;

    vs_node_append(s, vs_node_new_uint(ctx, "a", 1, 1));
    arr = vs_node_append(s, vs_node_new_array(ctx, "arr", 2, 1));
    vs_node_append(arr, vs_node_new_uint(ctx, NULL, 1, 2));
    vs_node_append(arr, vs_node_new_uint(ctx, NULL, 1, 3));
    vs_node_append(s, vs_node_new_uint(ctx, "big", 8, UINT64_C(1) << 63));
    vs_node_append(s, vs_node_new_int(ctx, "neg", 1, -5));
    vs_node_append(s, vs_node_new_int(ctx, "neg64", 8, -5));
    vs_node_append(s, vs_node_new_buffer(ctx, "b", bytes, sizeof(bytes)));
    vs_node_append(s, vs_node_new_string(ctx, "str", "x\"y\\\n\x01\xff"));
    vs_node_append(s, vs_node_new_f64(ctx, "nan", NAN));
    vs_node_append(s, vs_node_new_f64(ctx, "half", -0.5));
    vs_node_append(s, vs_node_new_bool(ctx, "on", true));
    vs_node_append(s, vs_node_new_unused(ctx, "pad", 4));
    vs_node_append(s, vs_node_new_null(ctx, "nothing"));
    vs_node_append(s, vs_node_new_array(ctx, "none", 0, 4));
    return s;
}

static void test_pretty_json_compact(void **state)
{
    static const char expected[] =
        "{\"name\":\"s\",\"kind\":\"struct\",\"type\":\"T\",\"wire_name\":\"t\",\"version\":1,"
        "\"children\":["
        "{\"name\":\"a\",\"kind\":\"uint\",\"width\":1,\"value\":1},"
        "{\"name\":\"arr\",\"kind\":\"array\",\"count\":2,\"elem_size\":1,\"children\":["
        "{\"kind\":\"uint\",\"width\":1,\"value\":2},"
        "{\"kind\":\"uint\",\"width\":1,\"value\":3}]},"
        "{\"name\":\"big\",\"kind\":\"uint\",\"width\":8,\"value\":\"9223372036854775808\"},"
        "{\"name\":\"neg\",\"kind\":\"int\",\"width\":1,\"value\":-5},"
        "{\"name\":\"neg64\",\"kind\":\"int\",\"width\":8,\"value\":\"-5\"},"
        "{\"name\":\"b\",\"kind\":\"buffer\",\"length\":2,\"value\":\"00ff\"},"
        "{\"name\":\"str\",\"kind\":\"string\",\"value\":\"x\\\"y\\\\\\n\\u0001\\u00ff\"},"
        "{\"name\":\"nan\",\"kind\":\"f64\",\"value\":\"nan\"},"
        "{\"name\":\"half\",\"kind\":\"f64\",\"value\":-0.5},"
        "{\"name\":\"on\",\"kind\":\"bool\",\"value\":true},"
        "{\"name\":\"pad\",\"kind\":\"unused\",\"length\":4},"
        "{\"name\":\"nothing\",\"kind\":\"null\"},"
        "{\"name\":\"none\",\"kind\":\"array\",\"count\":0,\"elem_size\":4,\"children\":[]}"
        "]}\n";
    g_autoptr(GString) out = g_string_new(NULL);
    VsNode *s = json_sample_tree(*state);

    vs_render(out, s, VS_RENDER_JSON);
    assert_string_equal(out->str, expected);
    assert_true(json_valid(out->str));
    vs_node_free(s);
}

static void test_pretty_json_pretty(void **state)
{
    static const char expected[] =
        "{\"name\": \"s\", \"kind\": \"struct\", \"type\": \"T\", \"wire_name\": \"t\", "
        "\"version\": 1, \"children\": [\n"
        "  {\"name\": \"a\", \"kind\": \"uint\", \"width\": 1, \"value\": 1},\n"
        "  {\"name\": \"arr\", \"kind\": \"array\", \"count\": 2, \"elem_size\": 1, "
        "\"children\": [\n"
        "    {\"kind\": \"uint\", \"width\": 1, \"value\": 2},\n"
        "    {\"kind\": \"uint\", \"width\": 1, \"value\": 3}\n"
        "  ]},\n"
        "  {\"name\": \"big\", \"kind\": \"uint\", \"width\": 8, \"value\": "
        "\"9223372036854775808\"},\n"
        "  {\"name\": \"neg\", \"kind\": \"int\", \"width\": 1, \"value\": -5},\n"
        "  {\"name\": \"neg64\", \"kind\": \"int\", \"width\": 8, \"value\": \"-5\"},\n"
        "  {\"name\": \"b\", \"kind\": \"buffer\", \"length\": 2, \"value\": \"00ff\"},\n"
        "  {\"name\": \"str\", \"kind\": \"string\", \"value\": "
        "\"x\\\"y\\\\\\n\\u0001\\u00ff\"},\n"
        "  {\"name\": \"nan\", \"kind\": \"f64\", \"value\": \"nan\"},\n"
        "  {\"name\": \"half\", \"kind\": \"f64\", \"value\": -0.5},\n"
        "  {\"name\": \"on\", \"kind\": \"bool\", \"value\": true},\n"
        "  {\"name\": \"pad\", \"kind\": \"unused\", \"length\": 4},\n"
        "  {\"name\": \"nothing\", \"kind\": \"null\"},\n"
        "  {\"name\": \"none\", \"kind\": \"array\", \"count\": 0, \"elem_size\": 4, "
        "\"children\": []}\n"
        "]}\n";
    g_autoptr(GString) out = g_string_new(NULL);
    VsNode *s = json_sample_tree(*state);

    vs_render(out, s, VS_RENDER_JSON_PRETTY);
    assert_string_equal(out->str, expected);
    assert_true(json_valid(out->str));
    vs_node_free(s);
}

/* Valid UTF-8 text passes through; JSON of every demo seed parses. */
static void test_pretty_json_demo_valid(void **state)
{
    g_autoptr(GString) out = g_string_new(NULL);
    VsNode *utf8 = vs_node_new_string(*state, "t", "gr\xc3\xbc\xc3\x9f");

    vs_render_json(out, utf8, false);
    assert_string_equal(out->str, "{\"name\":\"t\",\"kind\":\"string\",\"value\":\"gr\xc3\xbc\xc3\x9f\"}\n");
    vs_node_free(utf8);
    for (unsigned seed = 0; seed < 4; seed++) {
        VsNode *root = demo_tree(*state, seed);

        for (int pretty = 0; pretty < 2; pretty++) {
            g_string_truncate(out, 0);
            vs_render_json(out, root, pretty);
            assert_true(json_valid(out->str));
            assert_non_null(strstr(out->str, pretty ? "\"value\": \"7262385979038285"
                                                    : "\"value\":\"7262385979038285"));
        }
        vs_node_free(root);
    }
    g_string_truncate(out, 0);
    vs_render_json(out, NULL, false);
    assert_string_equal(out->str, "null\n");
    assert_false(json_valid("{\"a\":1,}"));
    assert_false(json_valid("{\"a\":01}"));
    assert_false(json_valid("[\"\x01\"]"));
}

/* ---- the state tree API ------------------------------------------------- */

static void test_pretty_node_api(void **state)
{
    VsNode *root = demo_tree(*state, 1);
    VsNode *mask = vs_node_lookup(root, "vsdemo.chans[1].mask");
    VsNode *irq = vs_node_lookup(root, "vsdemo.vsdemo/irq.irq_mask");
    char *path;

    assert_non_null(mask);
    assert_int_equal(mask->kind, VS_NODE_UINT);
    assert_int_equal(mask->width, 4);
    assert_int_equal(mask->value.u, 0x22);
    assert_non_null(irq);
    assert_int_equal(irq->value.u, 0xfffe);
    assert_ptr_equal(vs_node_child(root, "inner"), vs_node_lookup(root, "vsdemo.inner"));
    assert_ptr_equal(vs_node_lookup(root, "vsdemo"), root);
    assert_null(vs_node_lookup(root, "vsdemo.chans[2]"));
    assert_null(vs_node_lookup(root, "vsdemo.nosuch"));
    assert_null(vs_node_lookup(root, "other.id"));
    assert_null(vs_node_lookup(root, "vsdemox"));
    assert_null(vs_node_lookup(root, "vsdemo.id[0]"));
    assert_null(vs_node_child(root, NULL));
    path = vs_node_path(*state, mask);
    assert_string_equal(path, "vsdemo.chans[1].mask");
    talloc_free(path);
    assert_string_equal(vs_node_type_name(mask), "uint32");
    assert_string_equal(vs_node_kind_name(VS_NODE_SUBSECTION), "subsection");
    assert_string_equal(vs_node_type_name(vs_node_lookup(root, "vsdemo.gain")), "float64");
    /* 1 root + 5 scalars + inner(3) + regs(5) + fifo_len + fifo(5) + extra + unused
     * + chans(7) + slots(7) + blob + irq(3) */
    assert_int_equal(vs_node_count(root), 40);
    /* Freeing a subtree unlinks it. */
    vs_node_free(vs_node_child(root, "inner"));
    assert_null(vs_node_child(root, "inner"));
    assert_int_equal(vs_node_count(root), 37);
    assert_int_equal(vs_node_count(NULL), 0);
    vs_node_free(NULL);
    vs_node_free(root);
}

static void assert_compare(const VsNode *a, const VsNode *b, TALLOC_CTX *ctx,
                           const char *want_path, const char *want_reason)
{
    char *path = NULL;
    char *reason = NULL;

    assert_false(vs_node_compare(a, b, ctx, &path, &reason));
    assert_string_equal(path, want_path);
    assert_string_equal(reason, want_reason);
    talloc_free(path);
    talloc_free(reason);
}

static void test_pretty_compare_first_difference(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    VsNode *a = demo_tree(ctx, 1);
    VsNode *b = demo_tree(ctx, 1);
    VsNode *c = demo_tree(ctx, 3);
    VsNode *d = demo_tree(ctx, 2);
    char *path = NULL;

    assert_true(vs_node_compare(a, b, ctx, &path, NULL));
    assert_null(path);
    assert_true(vs_node_equal(a, b));
    assert_compare(a, c, ctx, "vsdemo.id", "value 0x1235 vs 0x1237");
    vs_node_lookup(b, "vsdemo.blob")->bytes[3] = 'X';
    assert_compare(a, b, ctx, "vsdemo.blob[3]", "value 0x61 vs 0x58");
    vs_node_lookup(b, "vsdemo.blob")->bytes[3] = 'a';
    vs_node_lookup(b, "vsdemo.chans[1].mask")->value.u = 0x23;
    assert_compare(a, b, ctx, "vsdemo.chans[1].mask", "value 0x22 vs 0x23");
    vs_node_lookup(b, "vsdemo.chans[1].mask")->value.u = 0x22;
    vs_node_lookup(b, "vsdemo.temperature")->width = 8;
    assert_compare(a, b, ctx, "vsdemo.temperature", "kind int32 vs int64");
    vs_node_lookup(b, "vsdemo.temperature")->width = 4;
    vs_node_free(vs_node_lookup(b, "vsdemo.vsdemo/irq"));
    assert_compare(a, b, ctx, "vsdemo.vsdemo/irq", "only in the first tree");
    assert_compare(b, a, ctx, "vsdemo.vsdemo/irq", "only in the second tree");
    vs_node_lookup(b, "vsdemo.inner")->version = 7;
    assert_compare(a, b, ctx, "vsdemo.inner", "version 1 vs 7");
    assert_compare(a, NULL, ctx, "vsdemo", "only in the first tree");
    assert_true(vs_node_equal(NULL, NULL));
    /* Seed 2 differs first in id; fifo counts differ later. */
    vs_node_lookup(d, "vsdemo.id")->value.u = 0x1235;
    vs_node_lookup(d, "vsdemo.temperature")->value.i = -41;
    vs_node_lookup(d, "vsdemo.counter")->value.u -= 1;
    vs_node_lookup(d, "vsdemo.gain")->value.f = 2.5;
    for (unsigned i = 0; i < 4; i++) {
        vs_node_lookup(d, "vsdemo.regs")->children[i]->value.u -= 1;
    }
    vs_node_lookup(d, "vsdemo.fifo_len")->value.u = 4;
    assert_compare(a, d, ctx, "vsdemo.fifo", "count 4 vs 5");
    talloc_free(ctx);
}

/* ---- tree builder -------------------------------------------------------- */

static void test_pretty_builder_shapes(void **state)
{
    VsNode *root = demo_tree(*state, 0);
    VsNode *slots = vs_node_child(root, "slots");
    VsNode *fifo = vs_node_child(root, "fifo");

    assert_int_equal(root->kind, VS_NODE_STRUCT);
    assert_string_equal(root->type_name, "VsExDemo");
    assert_string_equal(root->wire_name, "vsdemo");
    assert_int_equal(root->version, 2);
    assert_null(root->parent);
    assert_int_equal(slots->count, 2);
    assert_int_equal(slots->n_children, 2);
    assert_int_equal(slots->children[0]->kind, VS_NODE_STRUCT);
    assert_null(slots->children[0]->name);
    assert_ptr_equal(slots->children[0]->parent, slots);
    assert_int_equal(slots->children[1]->kind, VS_NODE_NULL);
    assert_int_equal(fifo->elem_size, 1);
    assert_int_equal(fifo->count, 3);
    assert_null(vs_node_child(root, "vsdemo/irq"));
    assert_int_equal(vs_node_child(root, "unused")->len, 3);
    vs_node_free(root);
}

static void test_pretty_builder_tree_ctx_null(void **state)
{
    VsExPic pic;
    VsVisitor *b = vs_tree_builder_new(*state, NULL);
    GError *err = NULL;

    fill_pic(&pic);
    assert_null(vs_tree_builder_root(b));
    assert_true(vs_ex_visit_pic(b, "i8259", &pic, &err));
    assert_ptr_equal(talloc_parent(vs_tree_builder_root(b)), b);
    vs_visitor_free(b);
}

static void test_pretty_builder_fail_second_root(void **state)
{
    VsExPic pic;
    VsVisitor *b = vs_tree_builder_new(*state, NULL);
    g_autoptr(GError) err = NULL;

    fill_pic(&pic);
    assert_true(vs_ex_visit_pic(b, "i8259", &pic, &err));
    assert_false(vs_ex_visit_pic(b, "second", &pic, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_UNSUPPORTED, "second");
    assert_gerror_contains(err, "'i8259' is a second");
    assert_int_equal(vs_node_count(vs_tree_builder_root(b)), 17);
    vs_visitor_free(b);
}

/* ---- tree reader ----------------------------------------------------------- */

static void test_pretty_round_trip_demo(void **state)
{
    for (unsigned seed = 0; seed < 8; seed++) {
        TALLOC_CTX *ctx = talloc_new(*state);
        VsExDemo orig, loaded;
        VsExInner orig_storage[VS_EX_SLOTS], loaded_storage[VS_EX_SLOTS];
        VsNode *tree = demo_tree(ctx, seed);
        VsVisitor *r = vs_tree_reader_new(ctx, tree, NULL);
        GError *err = NULL;

        vs_ex_demo_fill(&orig, orig_storage, seed);
        vs_ex_demo_prepare_load(&loaded, loaded_storage, seed);
        assert_true(vs_ex_visit_demo(r, "vsdemo", &loaded, &err));
        assert_true(vs_visitor_complete(r, &err));
        assert_null(err);
        assert_true(vs_ex_demo_equal(&orig, &loaded));
        /* Building again from the loaded object gives the same tree. */
        assert_true(vs_node_equal(tree, tree_of_demo(ctx, &loaded)));
        talloc_free(ctx);
    }
}

static void test_pretty_round_trip_misc(void **state)
{
    char label[] = "a\"b\\c\n\x01\xc3";
    uint8_t payload[3];
    TestMisc orig, loaded = { 0 };
    TALLOC_CTX *tree_ctx = talloc_new(*state);
    TALLOC_CTX *result_ctx = talloc_new(*state);
    VsVisitor *b = vs_tree_builder_new(*state, tree_ctx);
    VsVisitor *r;
    GError *err = NULL;

    fill_misc(&orig, label, payload);
    assert_true(test_visit_misc(b, "misc", &orig, &err));
    r = vs_tree_reader_new(*state, vs_tree_builder_root(b), result_ctx);
    assert_ptr_equal(vs_visitor_result_ctx(r), result_ctx);
    assert_true(test_visit_misc(r, "misc", &loaded, &err));
    assert_true(vs_visitor_complete(r, &err));
    assert_int_equal(loaded.neg, -5);
    assert_true(loaded.big_neg == INT64_MIN);
    assert_false(loaded.off);
    assert_true(loaded.ratio == 0.1);
    assert_string_equal(loaded.label, label);
    assert_int_equal(loaded.payload_len, 3);
    assert_memory_equal(loaded.payload, payload, 3);
    assert_ptr_equal(talloc_parent(loaded.label), result_ctx);
    assert_ptr_equal(talloc_parent(loaded.payload), result_ctx);
    vs_visitor_free(r);
    vs_visitor_free(b);
    /* The load's allocations are exactly the string and the payload. */
    assert_int_equal(talloc_total_blocks(result_ctx), 3);
    talloc_free(result_ctx);
    talloc_free(tree_ctx);
}

static void test_pretty_reader_versions(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    VsNode *tree = demo_tree(ctx, 1);
    VsExDemo loaded;
    VsExInner storage[VS_EX_SLOTS];
    VsVisitor *r;
    GError *err = NULL;

    /* A version 1 tree has no "extra"; the walker skips it. */
    tree->version = 1;
    vs_node_free(vs_node_child(tree, "extra"));
    r = vs_tree_reader_new(ctx, tree, NULL);
    vs_ex_demo_prepare_load(&loaded, storage, 1);
    loaded.extra = 0x5a5a;
    assert_true(vs_ex_visit_demo(r, "vsdemo", &loaded, &err));
    assert_int_equal(loaded.extra, 0x5a5a);
    assert_int_equal(loaded.irq_mask, 0xfffe);
    talloc_free(ctx);
}

static void test_pretty_reader_fail_version_too_new(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    VsNode *tree = demo_tree(ctx, 1);
    VsExDemo loaded;
    VsExInner storage[VS_EX_SLOTS];
    VsVisitor *r = vs_tree_reader_new(ctx, tree, NULL);
    g_autoptr(GError) err = NULL;

    vs_node_lookup(tree, "vsdemo.vsdemo/irq")->version = 2;
    vs_ex_demo_prepare_load(&loaded, storage, 1);
    assert_false(vs_ex_visit_demo(r, "vsdemo", &loaded, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_VERSION, "vsdemo.vsdemo/irq");
    assert_false(vs_visitor_complete(r, NULL));
    talloc_free(ctx);
}

/* Loads demo @seed from @tree and checks the error. */
static void assert_demo_load_fails(TALLOC_CTX *ctx, VsNode *tree, unsigned seed, int code,
                                   const char *path, const char *text)
{
    VsExDemo loaded;
    VsExInner storage[VS_EX_SLOTS];
    VsVisitor *r = vs_tree_reader_new(ctx, tree, NULL);
    g_autoptr(GError) err = NULL;

    vs_ex_demo_prepare_load(&loaded, storage, seed);
    assert_false(vs_ex_visit_demo(r, "vsdemo", &loaded, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, code, path);
    assert_gerror_contains(err, text);
    assert_int_equal(vs_visitor_depth(r), 0);
    vs_visitor_free(r);
}

static void test_pretty_reader_fail_wrong_kind(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    VsNode *tree = demo_tree(ctx, 1);

    vs_node_lookup(tree, "vsdemo.temperature")->kind = VS_NODE_UINT;
    assert_demo_load_fails(ctx, tree, 1, VS_VISIT_ERROR_MISMATCH, "vsdemo.temperature",
                           "tree holds uint32 'temperature', the walker expects int32 "
                           "'temperature'");
    vs_node_lookup(tree, "vsdemo.temperature")->kind = VS_NODE_INT;
    vs_node_lookup(tree, "vsdemo.inner")->kind = VS_NODE_ARRAY;
    assert_demo_load_fails(ctx, tree, 1, VS_VISIT_ERROR_MISMATCH, "vsdemo.inner",
                           "tree holds array 'inner', the walker expects struct 'inner'");
    talloc_free(ctx);
}

static void test_pretty_reader_fail_wrong_width(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    VsNode *tree = demo_tree(ctx, 1);

    vs_node_lookup(tree, "vsdemo.regs[2]")->width = 4;
    assert_demo_load_fails(ctx, tree, 1, VS_VISIT_ERROR_MISMATCH, "vsdemo.regs[2]",
                           "tree holds uint32, the walker expects uint16");
    talloc_free(ctx);
}

static void test_pretty_reader_fail_missing_field(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    VsNode *tree = pic_tree(ctx);
    VsExPic pic = { 0 };
    VsVisitor *r;
    g_autoptr(GError) err = NULL;

    vs_node_free(vs_node_child(tree, "imr"));
    r = vs_tree_reader_new(ctx, tree, NULL);
    assert_false(vs_ex_visit_pic(r, "i8259", &pic, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_MISMATCH, "i8259.imr");
    assert_gerror_contains(err, "tree holds uint8 'isr', the walker expects uint8 'imr'");
    assert_int_equal(pic.irr, 0x10);
    talloc_free(ctx);
}

static void test_pretty_reader_fail_truncated_tree(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    VsNode *tree = demo_tree(ctx, 0);

    vs_node_free(vs_node_child(tree, "blob"));
    assert_demo_load_fails(ctx, tree, 0, VS_VISIT_ERROR_MISMATCH, "vsdemo.blob",
                           "tree holds nothing more, the walker expects buffer 'blob'");
    talloc_free(ctx);
}

static void test_pretty_reader_fail_count(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    VsNode *tree = demo_tree(ctx, 1);

    vs_node_lookup(tree, "vsdemo.fifo_len")->value.u = 5;
    assert_demo_load_fails(ctx, tree, 1, VS_VISIT_ERROR_MISMATCH, "vsdemo.fifo",
                           "tree holds 4 elements, the walker expects 5");
    vs_node_lookup(tree, "vsdemo.fifo_len")->value.u = 4;
    vs_node_lookup(tree, "vsdemo.fifo")->count = 5;
    vs_node_lookup(tree, "vsdemo.fifo_len")->value.u = 5;
    assert_demo_load_fails(ctx, tree, 1, VS_VISIT_ERROR_MISMATCH, "vsdemo.fifo",
                           "tree declares 5 elements but holds 4");
    talloc_free(ctx);
}

static void test_pretty_reader_fail_length(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    VsNode *tree = demo_tree(ctx, 1);

    vs_node_lookup(tree, "vsdemo.unused")->len = 4;
    assert_demo_load_fails(ctx, tree, 1, VS_VISIT_ERROR_MISMATCH, "vsdemo.unused",
                           "tree holds 4 bytes, the walker expects 3");
    vs_node_lookup(tree, "vsdemo.unused")->len = 3;
    vs_node_lookup(tree, "vsdemo.blob")->len = 7;
    assert_demo_load_fails(ctx, tree, 1, VS_VISIT_ERROR_MISMATCH, "vsdemo.blob",
                           "tree holds 7 bytes, the walker expects 8");
    talloc_free(ctx);
}

/* The caller's slot pointers decide; the tree must agree. */
static void test_pretty_reader_fail_nullptr(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    VsNode *with_null = demo_tree(ctx, 0);
    VsNode *without_null = demo_tree(ctx, 1);

    assert_demo_load_fails(ctx, with_null, 1, VS_VISIT_ERROR_MISMATCH, "vsdemo.slots[1]",
                           "tree holds nullptr, the walker expects a non-null element");
    assert_demo_load_fails(ctx, without_null, 0, VS_VISIT_ERROR_MISMATCH, "vsdemo.slots[1]",
                           "tree holds struct, the walker expects nullptr");
    talloc_free(ctx);
}

static void test_pretty_reader_fail_leftovers(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    VsNode *tree = demo_tree(ctx, 1);
    VsNode *inner = vs_node_child(tree, "inner");

    vs_node_append(tree, vs_node_new_subsection(ctx, "vsdemo/new", "VsExDemoNew", 1));
    assert_demo_load_fails(ctx, tree, 1, VS_VISIT_ERROR_SUBSECTION, "vsdemo",
                           "tree holds subsection 'vsdemo/new' the walker does not know");
    vs_node_append(inner, vs_node_new_bool(ctx, "late", true));
    assert_demo_load_fails(ctx, tree, 1, VS_VISIT_ERROR_MISMATCH, "vsdemo.inner",
                           "tree holds bool 'late' after the walker's last field");
    talloc_free(ctx);
}

static void swap_last_children(VsNode *node)
{
    size_t n = node->n_children;
    VsNode *tmp = node->children[n - 1];

    node->children[n - 1] = node->children[n - 2];
    node->children[n - 2] = tmp;
}

/* Subsections are found by name wherever they sit after the fields. */
static void test_pretty_reader_subsection_order(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    VsNode *tree = demo_tree(ctx, 1);
    VsExDemo orig, loaded;
    VsExInner orig_storage[VS_EX_SLOTS], storage[VS_EX_SLOTS];
    VsVisitor *r;
    GError *err = NULL;
    g_autoptr(GError) err2 = NULL;

    /* Put an unknown subsection before the known one: the known one loads,
     * then check_struct names the unknown one. */
    vs_node_append(tree, vs_node_new_subsection(ctx, "vsdemo/zzz", "Zzz", 1));
    swap_last_children(tree);
    vs_ex_demo_fill(&orig, orig_storage, 1);
    vs_ex_demo_prepare_load(&loaded, storage, 1);
    r = vs_tree_reader_new(ctx, tree, NULL);
    assert_false(vs_ex_visit_demo(r, "vsdemo", &loaded, &err2));
    assert_gerror_path(err2, VS_VISIT_ERROR, VS_VISIT_ERROR_SUBSECTION, "vsdemo");
    assert_int_equal(loaded.irq_mask, 0xfffe);
    /* Without the stranger, out-of-order is fine. */
    vs_node_free(vs_node_child(tree, "vsdemo/zzz"));
    vs_ex_demo_prepare_load(&loaded, storage, 1);
    r = vs_tree_reader_new(ctx, tree, NULL);
    assert_true(vs_ex_visit_demo(r, "vsdemo", &loaded, &err));
    assert_true(vs_ex_demo_equal(&orig, &loaded));
    talloc_free(ctx);
}

static void test_pretty_reader_fail_root(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    VsNode *tree = pic_tree(ctx);
    VsExPic pic = { 0 };
    VsVisitor *r = vs_tree_reader_new(ctx, tree, NULL);
    VsVisitor *unused_r = vs_tree_reader_new(ctx, tree, NULL);
    g_autoptr(GError) err = NULL;
    g_autoptr(GError) err2 = NULL;

    assert_false(vs_ex_visit_pic(r, "pic", &pic, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_MISMATCH, "pic");
    assert_gerror_contains(err, "tree holds struct 'i8259', the walker expects struct 'pic'");
    assert_false(vs_visitor_complete(unused_r, &err2));
    assert_gerror_path(err2, VS_VISIT_ERROR, VS_VISIT_ERROR_MISMATCH, "<root>");
    assert_gerror_contains(err2, "never visited the tree's root 'i8259'");
    talloc_free(ctx);
}

static void test_pretty_reader_fail_opaque_limit(void **state)
{
    static const uint8_t big[17] = { 0 };
    char label[] = "x";
    uint8_t payload[3];
    TestMisc m;
    TALLOC_CTX *ctx = talloc_new(*state);
    VsVisitor *b = vs_tree_builder_new(ctx, ctx);
    VsNode *tree;
    VsNode *opaque;
    VsVisitor *r;
    g_autoptr(GError) err = NULL;

    fill_misc(&m, label, payload);
    assert_true(test_visit_misc(b, "misc", &m, NULL));
    tree = vs_tree_builder_root(b);
    opaque = vs_node_child(tree, "payload");
    opaque->bytes = talloc_memdup(opaque, big, sizeof(big));
    opaque->len = sizeof(big);
    memset(&m, 0, sizeof(m));
    r = vs_tree_reader_new(ctx, tree, ctx);
    assert_false(test_visit_misc(r, "misc", &m, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, VS_VISIT_ERROR_LIMIT, "misc.payload");
    assert_null(m.payload);
    talloc_free(ctx);
}

/* ---- lists --------------------------------------------------------------- */

static void fill_queue(TestQueue *q, uint32_t n_entries, uint32_t n_bytes)
{
    memset(q, 0, sizeof(*q));
    q->head = 1;
    q->n_entries = n_entries;
    for (uint32_t i = 0; i < n_entries; i++) {
        q->entries[i] = (TestQueueEntry){ (uint16_t)(i + 1), (uint8_t)(i * 5) };
    }
    q->n_bytes = n_bytes;
    memset(q->bytes, 7, n_bytes);
}

static VsNode *queue_tree(TALLOC_CTX *ctx, TestQueue *q)
{
    VsVisitor *b = vs_tree_builder_new(ctx, ctx);
    GError *err = NULL;
    VsNode *root;

    assert_true(test_visit_queue(b, "q", q, &err));
    assert_true(vs_visitor_complete(b, &err));
    assert_null(err);
    root = vs_tree_builder_root(b);
    vs_visitor_free(b);
    return root;
}

static const char queue_trace[] =
    "q.head = (uint8) 0x1\n"
    "q.entries(list).[0].id = (uint16) 0x1\n"
    "q.entries(list).[0].prio = (uint8) 0x0\n"
    "q.entries(list).[1].id = (uint16) 0x2\n"
    "q.entries(list).[1].prio = (uint8) 0x5\n"
    "q.bytes(list).[0] = (uint8) 0x7\n"
    "q.bytes(list).[1] = (uint8) 0x7\n"
    "q.bytes(list).[2] = (uint8) 0x7\n";

/* The trace visitor and the rendering of the builder's tree agree on lists. */
static void test_pretty_trace_list(void **state)
{
    TestQueue q;
    g_autoptr(GString) streamed = g_string_new(NULL);
    g_autoptr(GString) rendered = g_string_new(NULL);
    VsVisitor *t = vs_trace_visitor_new(*state, streamed);
    VsNode *root;
    GError *err = NULL;

    fill_queue(&q, 2, 3);
    root = queue_tree(*state, &q);
    assert_true(test_visit_queue(t, "q", &q, &err));
    assert_true(vs_visitor_complete(t, &err));
    vs_render_trace(rendered, root);
    assert_string_equal(streamed->str, queue_trace);
    assert_string_equal(rendered->str, queue_trace);
    vs_visitor_free(t);
    vs_node_free(root);

    /* Every length up to the maximum, empty lists included. */
    for (uint32_t n = 0; n <= TEST_QUEUE_MAX; n++) {
        g_string_truncate(streamed, 0);
        g_string_truncate(rendered, 0);
        t = vs_trace_visitor_new(*state, streamed);
        fill_queue(&q, n, TEST_QUEUE_MAX - n);
        root = queue_tree(*state, &q);
        assert_true(test_visit_queue(t, "q", &q, &err));
        vs_render_trace(rendered, root);
        assert_string_equal(streamed->str, rendered->str);
        assert_int_equal(count_lines(rendered->str), 1 + 2 * n + (TEST_QUEUE_MAX - n));
        vs_visitor_free(t);
        vs_node_free(root);
    }
}

static void test_pretty_tree_list(void **state)
{
    static const char expected[] =
        "q (TestQueue v1)\n"
        "  head = 0x1 (uint8)\n"
        "  entries (list of 2)\n"
        "    [0] (TestQueueEntry v1)\n"
        "      id = 0x1 (uint16)\n"
        "      prio = 0x0 (uint8)\n"
        "    [1] (TestQueueEntry v1)\n"
        "      id = 0x2 (uint16)\n"
        "      prio = 0x5 (uint8)\n"
        "  bytes (list of 3)\n"
        "    [0..2] (3 equal) = 0x7 (uint8)\n";
    static const char expected_empty[] =
        "q (TestQueue v1)\n"
        "  head = 0x1 (uint8)\n"
        "  entries (list of 0)\n"
        "  bytes (list of 0)\n";
    g_autoptr(GString) out = g_string_new(NULL);
    TestQueue q;
    VsNode *root;

    fill_queue(&q, 2, 3);
    root = queue_tree(*state, &q);
    vs_render(out, root, VS_RENDER_TREE);
    assert_string_equal(out->str, expected);
    vs_node_free(root);
    g_string_truncate(out, 0);
    fill_queue(&q, 0, 0);
    root = queue_tree(*state, &q);
    vs_render_tree(out, root);
    assert_string_equal(out->str, expected_empty);
    vs_node_free(root);
}

static void test_pretty_json_list(void **state)
{
    static const char expected[] =
        "{\"name\":\"q\",\"kind\":\"struct\",\"type\":\"TestQueue\",\"wire_name\":\"queue\","
        "\"version\":1,\"children\":["
        "{\"name\":\"head\",\"kind\":\"uint\",\"width\":1,\"value\":1},"
        "{\"name\":\"entries\",\"kind\":\"list\",\"count\":1,\"elem_size\":3,\"children\":["
        "{\"kind\":\"struct\",\"type\":\"TestQueueEntry\",\"wire_name\":\"queue-entry\","
        "\"version\":1,\"children\":["
        "{\"name\":\"id\",\"kind\":\"uint\",\"width\":2,\"value\":1},"
        "{\"name\":\"prio\",\"kind\":\"uint\",\"width\":1,\"value\":0}]}]},"
        "{\"name\":\"bytes\",\"kind\":\"list\",\"count\":0,\"elem_size\":1,\"children\":[]}"
        "]}\n";
    static const char expected_pretty_bytes[] =
        "  {\"name\": \"bytes\", \"kind\": \"list\", \"count\": 2, \"elem_size\": 1, "
        "\"children\": [\n"
        "    {\"kind\": \"uint\", \"width\": 1, \"value\": 7},\n"
        "    {\"kind\": \"uint\", \"width\": 1, \"value\": 7}\n"
        "  ]}\n";
    g_autoptr(GString) out = g_string_new(NULL);
    TestQueue q;
    VsNode *root;

    fill_queue(&q, 1, 0);
    root = queue_tree(*state, &q);
    vs_render(out, root, VS_RENDER_JSON);
    assert_string_equal(out->str, expected);
    assert_true(json_valid(out->str));
    vs_node_free(root);
    g_string_truncate(out, 0);
    fill_queue(&q, 3, 2);
    root = queue_tree(*state, &q);
    vs_render(out, root, VS_RENDER_JSON_PRETTY);
    assert_true(json_valid(out->str));
    assert_non_null(strstr(out->str, expected_pretty_bytes));
    vs_node_free(root);
}

/* Builder shapes, lookups, paths, counts kept by append and free. */
static void test_pretty_list_nodes(void **state)
{
    TestQueue q;
    VsNode *root;
    VsNode *entries;
    VsNode *list;
    char *path;

    fill_queue(&q, 3, 1);
    root = queue_tree(*state, &q);
    entries = vs_node_child(root, "entries");
    assert_int_equal(entries->kind, VS_NODE_LIST);
    assert_int_equal(entries->count, 3);
    assert_int_equal(entries->n_children, 3);
    assert_int_equal(entries->elem_size, 3);
    assert_null(entries->children[1]->name);
    assert_ptr_equal(entries->children[1]->parent, entries);
    assert_string_equal(vs_node_kind_name(VS_NODE_LIST), "list");
    assert_string_equal(vs_node_type_name(entries), "list");
    assert_ptr_equal(vs_node_lookup(root, "q.entries[2].prio"),
                     entries->children[2]->children[1]);
    assert_null(vs_node_lookup(root, "q.entries[3]"));
    path = vs_node_path(*state, vs_node_lookup(root, "q.entries[2].prio"));
    assert_string_equal(path, "q.entries[2].prio");
    talloc_free(path);
    /* 1 root + head + entries(1 + 3 * 3) + bytes(1 + 1) */
    assert_int_equal(vs_node_count(root), 14);
    vs_node_free(entries->children[0]);
    assert_int_equal(entries->count, 2);
    assert_int_equal(vs_node_lookup(root, "q.entries[0].id")->value.u, 2);
    vs_node_free(root);

    list = vs_node_new_list(*state, "l", 0);
    assert_int_equal(list->count, 0);
    vs_node_append(list, vs_node_new_null(*state, NULL));
    vs_node_append(list, vs_node_new_bool(*state, NULL, true));
    assert_int_equal(list->count, 2);
    vs_node_free(list);
}

static void test_pretty_compare_list(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    TestQueue q;
    VsNode *a, *b, *arr;

    fill_queue(&q, 3, 2);
    a = queue_tree(ctx, &q);
    b = queue_tree(ctx, &q);
    assert_true(vs_node_equal(a, b));
    vs_node_lookup(b, "q.entries[2].prio")->value.u = 0x63;
    assert_compare(a, b, ctx, "q.entries[2].prio", "value 0xa vs 0x63");
    vs_node_free(vs_node_lookup(b, "q.entries[2]"));
    assert_compare(a, b, ctx, "q.entries", "count 3 vs 2");
    /* Same elements, but an array is not a list. */
    b = queue_tree(ctx, &q);
    arr = vs_node_new_array(ctx, "bytes", 2, 1);
    vs_node_append(arr, vs_node_new_uint(ctx, NULL, 1, 7));
    vs_node_append(arr, vs_node_new_uint(ctx, NULL, 1, 7));
    vs_node_free(vs_node_child(b, "bytes"));
    vs_node_append(b, arr);
    assert_compare(a, b, ctx, "q.bytes", "kind list vs array");
    vs_node_lookup(a, "q.bytes")->elem_size = 2;
    vs_node_lookup(b, "q.bytes")->kind = VS_NODE_LIST;
    assert_compare(a, b, ctx, "q.bytes", "element size 2 vs 1");
    talloc_free(ctx);
}

static void test_pretty_round_trip_list(void **state)
{
    for (uint32_t n = 0; n <= TEST_QUEUE_MAX; n++) {
        TALLOC_CTX *ctx = talloc_new(*state);
        TestQueue orig, loaded;
        VsNode *tree;
        VsVisitor *r;
        GError *err = NULL;

        fill_queue(&orig, n, TEST_QUEUE_MAX - n);
        tree = queue_tree(ctx, &orig);
        memset(&loaded, 0xee, sizeof(loaded));
        r = vs_tree_reader_new(ctx, tree, NULL);
        assert_true(test_visit_queue(r, "q", &loaded, &err));
        assert_true(vs_visitor_complete(r, &err));
        assert_null(err);
        assert_int_equal(loaded.n_entries, n);
        assert_int_equal(loaded.n_bytes, TEST_QUEUE_MAX - n);
        for (uint32_t i = 0; i < n; i++) {
            assert_int_equal(loaded.entries[i].id, orig.entries[i].id);
            assert_int_equal(loaded.entries[i].prio, orig.entries[i].prio);
        }
        assert_memory_equal(loaded.bytes, orig.bytes, TEST_QUEUE_MAX - n);
        /* Building again from the loaded object gives the same tree. */
        assert_true(vs_node_equal(tree, queue_tree(ctx, &loaded)));
        talloc_free(ctx);
    }
}

/* Loads "q" from @tree and checks the error. */
static void assert_queue_load_fails(TALLOC_CTX *ctx, VsNode *tree, int code, const char *path,
                                    const char *text)
{
    TestQueue loaded;
    VsVisitor *r = vs_tree_reader_new(ctx, tree, NULL);
    g_autoptr(GError) err = NULL;

    memset(&loaded, 0, sizeof(loaded));
    assert_false(test_visit_queue(r, "q", &loaded, &err));
    assert_gerror_path(err, VS_VISIT_ERROR, code, path);
    assert_gerror_contains(err, text);
    assert_int_equal(vs_visitor_depth(r), 0);
    vs_visitor_free(r);
}

static void test_pretty_reader_fail_list(void **state)
{
    TALLOC_CTX *ctx = talloc_new(*state);
    TestQueue q;
    VsNode *tree;
    VsNode *entries;

    fill_queue(&q, 2, 1);
    tree = queue_tree(ctx, &q);
    entries = vs_node_child(tree, "entries");
    /* An array where the walker has a list, and the other way round. */
    entries->kind = VS_NODE_ARRAY;
    assert_queue_load_fails(ctx, tree, VS_VISIT_ERROR_MISMATCH, "q.entries",
                            "tree holds array 'entries', the walker expects list 'entries'");
    entries->kind = VS_NODE_LIST;
    vs_node_child(tree, "head")->kind = VS_NODE_LIST;
    vs_node_child(tree, "head")->width = 0;
    assert_queue_load_fails(ctx, tree, VS_VISIT_ERROR_MISMATCH, "q.head",
                            "tree holds list 'head', the walker expects uint8 'head'");
    vs_node_child(tree, "head")->kind = VS_NODE_UINT;
    vs_node_child(tree, "head")->width = 1;
    /* An element that differs. */
    vs_node_lookup(tree, "q.entries[1].id")->width = 4;
    assert_queue_load_fails(ctx, tree, VS_VISIT_ERROR_MISMATCH, "q.entries[1].id",
                            "tree holds uint32 'id', the walker expects uint16 'id'");
    vs_node_lookup(tree, "q.entries[1].id")->width = 2;
    /* A count that disagrees with the elements. */
    entries->count = 5;
    assert_queue_load_fails(ctx, tree, VS_VISIT_ERROR_MISMATCH, "q.entries",
                            "tree declares 5 elements but holds 2");
    entries->count = 2;
    /* More elements than the walker's maximum: refused before the fifth. */
    for (unsigned i = 0; i < 3; i++) {
        VsNode *e = vs_node_append(entries, vs_node_new_struct(ctx, NULL, "TestQueueEntry",
                                                               "queue-entry", 1));

        vs_node_append(e, vs_node_new_uint(ctx, "id", 2, 9));
        vs_node_append(e, vs_node_new_uint(ctx, "prio", 1, 9));
    }
    assert_int_equal(entries->count, 5);
    assert_queue_load_fails(ctx, tree, VS_VISIT_ERROR_LIMIT, "q.entries",
                            "more than the declared maximum of 4 elements");
    talloc_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, vs_test_ctx_setup, vs_test_ctx_teardown)
        T(test_pretty_trace_pic),
        T(test_pretty_trace_demo_seed1),
        T(test_pretty_trace_demo_seed0),
        T(test_pretty_trace_misc),
        T(test_pretty_trace_visitor_matches_render),
        T(test_pretty_trace_file),
        T(test_pretty_trace_fail_file),
        T(test_pretty_design_example_lines),
        T(test_pretty_design_example_tree),
        T(test_pretty_tree_demo),
        T(test_pretty_tree_folding_and_hexdump),
        T(test_pretty_json_compact),
        T(test_pretty_json_pretty),
        T(test_pretty_json_demo_valid),
        T(test_pretty_node_api),
        T(test_pretty_compare_first_difference),
        T(test_pretty_builder_shapes),
        T(test_pretty_builder_tree_ctx_null),
        T(test_pretty_builder_fail_second_root),
        T(test_pretty_round_trip_demo),
        T(test_pretty_round_trip_misc),
        T(test_pretty_reader_versions),
        T(test_pretty_reader_fail_version_too_new),
        T(test_pretty_reader_fail_wrong_kind),
        T(test_pretty_reader_fail_wrong_width),
        T(test_pretty_reader_fail_missing_field),
        T(test_pretty_reader_fail_truncated_tree),
        T(test_pretty_reader_fail_count),
        T(test_pretty_reader_fail_length),
        T(test_pretty_reader_fail_nullptr),
        T(test_pretty_reader_fail_leftovers),
        T(test_pretty_reader_subsection_order),
        T(test_pretty_reader_fail_root),
        T(test_pretty_reader_fail_opaque_limit),
        T(test_pretty_trace_list),
        T(test_pretty_tree_list),
        T(test_pretty_json_list),
        T(test_pretty_list_nodes),
        T(test_pretty_compare_list),
        T(test_pretty_round_trip_list),
        T(test_pretty_reader_fail_list),
#undef T
    };

    return cmocka_run_group_tests_name("pretty", tests, NULL, NULL);
}
