/*
 * test-trace.c: trace points enabled by name, their output, and the
 * generated trace functions.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "test-helpers.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "migration/trace-migration.h"
#include "migration/trace.h"

static size_t find_event(const char *name)
{
    for (size_t i = 0; i < vs_trace_event_count(); i++) {
        if (strcmp(vs_trace_event_name(i), name) == 0) {
            return i;
        }
    }
    fail_msg("no event %s", name);
    return 0;
}

static void disable_all(void)
{
    assert_true(vs_trace_enable("-*", NULL));
}

static void test_trace_enable_patterns(void **state)
{
    GError *err = NULL;
    size_t set_state = find_event("migrate_set_state");
    size_t pending = find_event("migrate_pending");
    size_t sync = find_event("migration_bitmap_sync_start");

    disable_all();
    assert_true(vs_trace_event_count() >= 20);
    assert_true(vs_trace_enable("migrate_*", &err));
    assert_true(vs_trace_event_enabled(set_state));
    assert_true(vs_trace_event_enabled(pending));
    assert_false(vs_trace_event_enabled(sync));
    assert_true(vs_trace_enable("-migrate_pending", &err));
    assert_true(vs_trace_event_enabled(set_state));
    assert_false(vs_trace_event_enabled(pending));
    assert_false(vs_trace_enable("no_such_event*", &err));
    assert_gerror(err, VS_TRACE_ERROR, 0, "trace pattern 'no_such_event*' matches no event");
    g_clear_error(&err);
    disable_all();
}

/* Runs @fn with stderr going to a file; returns what was written. */
static char *capture_stderr(void (*fn)(void))
{
    char path[] = "/tmp/vs-trace-XXXXXX";
    int fd = mkstemp(path), saved = dup(STDERR_FILENO);
    gchar *text = NULL;

    assert_true(fd >= 0 && saved >= 0);
    dup2(fd, STDERR_FILENO);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    assert_true(g_file_get_contents(path, &text, NULL, NULL));
    unlink(path);
    return text;
}

static void fire_some(void)
{
    trace_migrate_set_state("active");
    trace_migrate_pending(4096, 8192);
    trace_migration_bitmap_sync_start();
    trace_savevm_section_start("ram", 3);
}

static void test_trace_output(void **state)
{
    g_autofree char *pid_at = g_strdup_printf("%d@", (int)getpid());
    g_autofree char *none = NULL, *out = NULL;
    g_auto(GStrv) lines = NULL;

    disable_all();
    none = capture_stderr(fire_some);
    assert_string_equal(none, "");
    assert_true(vs_trace_enable("migrate_*", NULL));
    assert_true(vs_trace_enable("migration_bitmap_sync_start", NULL));
    out = capture_stderr(fire_some);
    lines = g_strsplit(out, "\n", -1);
    /* Three enabled events, one line each, in QEMU's log layout. */
    assert_int_equal(g_strv_length(lines), 4);
    for (int i = 0; i < 3; i++) {
        assert_true(g_str_has_prefix(lines[i], pid_at));
        assert_non_null(strchr(lines[i], ':'));
    }
    assert_true(g_str_has_suffix(lines[0], ":migrate_set_state new state active"));
    assert_true(g_str_has_suffix(lines[1], ":migrate_pending pending size 4096 max 8192"));
    assert_true(g_str_has_suffix(lines[2], ":migration_bitmap_sync_start"));
    assert_string_equal(lines[3], "");
    disable_all();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_enable_patterns),
        cmocka_unit_test(test_trace_output),
    };
    return cmocka_run_group_tests_name("trace", tests, NULL, NULL);
}
