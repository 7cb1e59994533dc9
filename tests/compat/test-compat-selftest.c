/*
 * test-compat-selftest.c: the compatibility harness tested on schemas made
 * for it (tests/compat/selftest/), so each of its verdicts is seen to go
 * both ways: a compatible pair passes with its defaults checked, swapped
 * fields fail naming a field and a seed, a pair with nothing in common is
 * a vacuous pass and fails, declared breaks must happen, golden streams
 * must keep loading and must exist.  Also the predicate evaluator, the
 * random states and the trace comparison on their own.
 *
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib/gstdio.h>

#include "compat/compat-impl.h"
#include "good.vs.h"

/* Runs the harness with @opts, capturing the report; returns its verdict. */
static bool run_captured(VsCompatOptions *opts, char **ret_text)
{
    size_t len;
    FILE *f = open_memstream(ret_text, &len);
    bool ok;

    assert_non_null(f);
    opts->out = f;
    ok = vs_compat_run(opts);
    fclose(f);
    return ok;
}

/* Whether one line of @text holds each of the words of @words (space-separated). */
static bool row_has(const char *text, const char *words)
{
    char **lines = g_strsplit(text, "\n", -1);
    char **want = g_strsplit(words, " ", -1);
    bool found = false;

    for (char **l = lines; *l && !found; l++) {
        char **got = g_strsplit_set(*l, " ", -1);
        size_t at = 0;

        /* The words in order, each a whole column. */
        for (char **g = got; *g && want[at]; g++) {
            if (**g && strcmp(*g, want[at]) == 0) {
                at++;
            }
        }
        found = want[at] == NULL;
        g_strfreev(got);
    }
    g_strfreev(lines);
    g_strfreev(want);
    return found;
}

static void test_eval(void **state)
{
    Good g = { .a = 3, .b = 0xffff, .n = 2, .x = 0 };
    int64_t v;
    GError *err = NULL;

    (void)state;
    assert_true(vs_compat_eval("a + b * 2", &vs_type_Good, &g, 2, &v, NULL));
    assert_int_equal(v, 3 + 0xffff * 2);
    assert_true(vs_compat_eval("(a << 2) | 1", &vs_type_Good, &g, 2, &v, NULL));
    assert_int_equal(v, 13);
    assert_true(vs_compat_eval("a / x + a % x", &vs_type_Good, &g, 2, &v, NULL));
    assert_int_equal(v, 0);                        /* division by zero is 0 */
    assert_true(vs_compat_eval("a << 64", &vs_type_Good, &g, 2, &v, NULL));
    assert_int_equal(v, 0);
    assert_true(vs_compat_eval("-a >> 70", &vs_type_Good, &g, 2, &v, NULL));
    assert_int_equal(v, -1);
    assert_true(vs_compat_eval("n <= 8 && !(x != 0) || version < 1", &vs_type_Good, &g, 2, &v,
                               NULL));
    assert_int_equal(v, 1);
    assert_true(vs_compat_eval("a < 2 == 0", &vs_type_Good, &g, 1, &v, NULL));
    assert_int_equal(v, 1);
    assert_true(vs_compat_eval("~a & 0xff ^ 1", &vs_type_Good, &g, 1, &v, NULL));
    assert_int_equal(v, (~3 & 0xff) ^ 1);
    assert_true(vs_compat_eval("version", &vs_type_Good, &g, 7, &v, NULL));
    assert_int_equal(v, 7);
    assert_false(vs_compat_eval("nosuch + 1", &vs_type_Good, &g, 1, &v, &err));
    assert_non_null(strstr(err->message, "not an integer member"));
    g_clear_error(&err);
    assert_false(vs_compat_eval("arr != 0", &vs_type_Good, &g, 1, &v, &err));
    g_clear_error(&err);
    assert_false(vs_compat_eval("f()", &vs_type_Good, &g, 1, &v, &err));
    assert_non_null(strstr(err->message, "C function"));
    g_clear_error(&err);
    assert_false(vs_compat_eval("(a", &vs_type_Good, &g, 1, &v, &err));
    g_clear_error(&err);
}

/* Random states keep counts within maxima and validate predicates true, and vary. */
static void test_random_states(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    unsigned with_x = 0;
    unsigned distinct_n = 0;
    bool seen_n[9] = { false };

    (void)state;
    for (uint64_t seed = 0; seed < 400; seed++) {
        VsCompatRng rng;
        Good g;
        Good again;

        memset(&g, 0, sizeof(g));
        memset(&again, 0, sizeof(again));
        vs_compat_rng_seed(&rng, seed);
        assert_true(vs_compat_random_state(mem, &vs_type_Good, &g, &rng, NULL));
        assert_true(g.n <= 8);
        assert_int_not_equal(g.a, 0x55);
        with_x += g.x != 0;
        if (!seen_n[g.n]) {
            seen_n[g.n] = true;
            distinct_n++;
        }
        /* The same seed draws the same state. */
        vs_compat_rng_seed(&rng, seed);
        assert_true(vs_compat_random_state(mem, &vs_type_Good, &again, &rng, NULL));
        assert_memory_equal(&g, &again, sizeof(g));
    }
    assert_true(with_x > 40 && with_x < 360);     /* the subsection goes both ways */
    assert_true(distinct_n >= 6);
    talloc_free(mem);
}

static void test_diff(void **state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    VsCompatDiff d;
    const char *a = "s.a = (uint8) 0x1\ns.b = (uint8) 0x2\ns.old = (uint8) 0x3\n";
    const char *b = "s.a = (uint8) 0x1\ns.new = (uint8) 0x9\ns.b = (uint8) 0x2\n";
    const char *c = "s.b = (uint8) 0x2\ns.a = (uint8) 0x1\n";
    const char *w = "s.inner.a = (uint8) 0x1\ns.inner.b = (uint8) 0x7\n";

    (void)state;
    vs_compat_diff_common(mem, a, b, NULL, NULL, &d, NULL);
    assert_null(d.first);
    assert_int_equal(d.compared, 2);
    assert_int_equal(d.only_a, 1);
    assert_int_equal(d.only_b, 1);
    vs_compat_diff_common(mem, a, c, NULL, NULL, &d, NULL);
    assert_non_null(d.first);
    assert_non_null(strstr(d.first, "out of order"));
    vs_compat_diff_common(mem, a, w, NULL, "inner", &d, NULL);
    assert_non_null(d.first);
    assert_string_equal(d.first, "s.b: saved (uint8) 0x2, loaded (uint8) 0x7");
    vs_compat_diff_exact(mem, a, b, NULL, NULL, &d, NULL);
    assert_non_null(strstr(d.first, "line 2: s.b"));
    vs_compat_diff_exact(mem, a, a, NULL, NULL, &d, NULL);
    assert_null(d.first);
    assert_int_equal(d.compared, 3);
    talloc_free(mem);
}

static void test_compatible_pair_passes(void **state)
{
    VsCompatOptions opts = { .states = 60, .seed = 5, .device = "good" };
    char *text = NULL;

    (void)state;
    if (!run_captured(&opts, &text)) {
        print_error("%s", text);
        fail();
    }
    assert_true(row_has(text, "good good-v1.vs->good.vs old->new legacy load 60 60 0 0"));
    assert_true(row_has(text, "good good-v1.vs->good.vs old->new ber load 60 60 0 0"));
    assert_true(row_has(text, "good good.vs->good-v1.vs new->old ber refused:version 60 0 60 0"));
    assert_null(strstr(text, "FAIL"));
    assert_non_null(strstr(text, "compat: ok"));
    free(text);
}

static void test_swapped_fields_fail(void **state)
{
    VsCompatOptions opts = { .states = 30, .seed = 9, .device = "swap" };
    char *text = NULL;

    (void)state;
    assert_false(run_captured(&opts, &text));
    assert_non_null(strstr(text, "FAIL swap swap-v1.vs -> swap.vs old->new legacy"));
    assert_non_null(strstr(text, "save and load traces differ: swap."));
    assert_non_null(strstr(text, "state seed 0x"));
    assert_non_null(strstr(text, "reproduce: vstate compat --device swap --seed 9"));
    free(text);
}

static void test_nothing_in_common_is_vacuous(void **state)
{
    VsCompatOptions opts = { .states = 10, .seed = 1, .device = "renamed" };
    char *text = NULL;

    (void)state;
    assert_false(run_captured(&opts, &text));
    /* QEMU's bytes load (same width), but no field can be compared. */
    assert_true(row_has(text, "renamed renamed-v1.vs->renamed.vs old->new legacy load 10 10 0 0 0 0 "
                              "0 FAIL (vacuous): no field compared"));
    free(text);
}

static char *write_temp(const char *text)
{
    char *path = g_build_filename(g_get_tmp_dir(), "vstate-compat-XXXXXX", NULL);
    int fd = g_mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_declared_breaks(void **state)
{
    char *path = write_temp("# a break that does not happen\n"
                            "good good-v1.vs old->new legacy truncated  # claimed\n");
    char *wrong = write_temp("swap swap-v1.vs old->new legacy\n");
    char *unmatched = write_temp("nosuch nosuch-v1.vs old->new ber mismatch\n");
    VsCompatOptions opts = { .states = 20, .seed = 3, .device = "good", .known_breaks = path };
    char *text = NULL;

    (void)state;
    assert_false(run_captured(&opts, &text));
    assert_non_null(strstr(text, "loaded although claimed"));
    free(text);
    opts.known_breaks = wrong;
    assert_false(run_captured(&opts, &text));
    assert_non_null(strstr(text, "expected DEVICE SCHEMA DIRECTION"));
    free(text);
    opts.known_breaks = unmatched;
    opts.device = NULL;
    assert_false(run_captured(&opts, &text));
    assert_non_null(strstr(text, "known break nosuch nosuch-v1.vs old->new ber matches no case"));
    free(text);
    g_unlink(path);
    g_unlink(wrong);
    g_unlink(unmatched);
    g_free(path);
    g_free(wrong);
    g_free(unmatched);
}

static char *read_report(const char *dir, const char *device, bool *ret_ok, uint32_t *n)
{
    char *text = NULL;
    size_t len;
    FILE *f = open_memstream(&text, &len);

    *ret_ok = vs_compat_check_golden(dir, device, f, n);
    fclose(f);
    return text;
}

static void test_golden(void **state)
{
    char *dir = g_dir_make_tmp("vstate-golden-XXXXXX", NULL);
    char *path = g_build_filename(dir, "good-v1.v1.legacy", NULL);
    char *ber = g_build_filename(dir, "good.v2.ber", NULL);
    char *text;
    char *bytes;
    gsize len;
    uint32_t n;
    bool ok;
    FILE *devnull = fopen("/dev/null", "w");

    (void)state;
    assert_true(vs_compat_write_golden(dir, devnull, NULL));
    text = read_report(dir, NULL, &ok, &n);
    assert_true(ok);
    assert_int_equal(n, 12);                       /* 3 devices x (history + current) x 2 */
    assert_non_null(strstr(text, "ok      golden good-v1.v1.legacy"));
    free(text);

    /* Written once: a second run keeps what is there. */
    assert_true(g_file_get_contents(path, &bytes, &len, NULL));
    bytes[0] ^= 0x01;                              /* field a changes */
    assert_true(g_file_set_contents(path, bytes, (gssize)len, NULL));
    assert_true(vs_compat_write_golden(dir, devnull, NULL));
    text = read_report(dir, "good", &ok, &n);
    assert_false(ok);
    assert_non_null(strstr(text, "FAIL golden good-v1.v1.legacy: the loaded state changed: line 1: good.a"));
    free(text);
    g_free(bytes);

    /* A stream that stops loading. */
    assert_true(g_file_set_contents(ber, "\x30\x03\x02\x01", 4, NULL));
    text = read_report(dir, "good", &ok, &n);
    assert_false(ok);
    assert_non_null(strstr(text, "FAIL golden good.v2.ber: expected a load, now refused"));
    free(text);

    /* A released schema without its stream. */
    g_unlink(path);
    text = read_report(dir, "good", &ok, &n);
    assert_false(ok);
    assert_non_null(strstr(text, "FAIL golden good-v1.v1.legacy: missing for released schema good-v1.vs"));
    free(text);

    fclose(devnull);
    g_free(path);
    g_free(ber);
    {
        char *rm = g_strdup_printf("rm -rf '%s'", dir);

        assert_int_equal(system(rm), 0);
        g_free(rm);
    }
    g_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eval),
        cmocka_unit_test(test_random_states),
        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_compatible_pair_passes),
        cmocka_unit_test(test_swapped_fields_fail),
        cmocka_unit_test(test_nothing_in_common_is_vacuous),
        cmocka_unit_test(test_declared_breaks),
        cmocka_unit_test(test_golden),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
