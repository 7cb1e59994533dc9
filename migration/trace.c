/*
 * trace.c: enabling trace points by name and printing them (see trace.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include "migration/trace.h"
#include "migration/trace-migration.h"


#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

G_DEFINE_QUARK(vs-trace-error-quark, vs_trace_error)

size_t vs_trace_event_count(void)
{
    return VS_TRACE_MIGRATION__COUNT;
}

const char *vs_trace_event_name(size_t i)
{
    g_assert(i < VS_TRACE_MIGRATION__COUNT);
    return vs_trace_migration_names[i];
}

bool vs_trace_event_enabled(size_t i)
{
    g_assert(i < VS_TRACE_MIGRATION__COUNT);
    return __atomic_load_n(&vs_trace_migration_enabled[i], __ATOMIC_RELAXED);
}

bool vs_trace_enable(const char *pattern, GError **errp)
{
    bool on = pattern[0] != '-';
    const char *glob = on ? pattern : pattern + 1;
    size_t matched = 0;

    for (size_t i = 0; i < VS_TRACE_MIGRATION__COUNT; i++) {
        if (g_pattern_match_simple(glob, vs_trace_migration_names[i])) {
            __atomic_store_n(&vs_trace_migration_enabled[i], on, __ATOMIC_RELAXED);
            matched++;
        }
    }
    if (matched == 0) {
        g_set_error(errp, VS_TRACE_ERROR, 0,
                    "trace pattern '%s' matches no event (see migration/trace-events)",
                    pattern);
        return false;
    }
    return true;
}

void vs_trace_emit(const char *name, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    g_autofree char *line = NULL;
    struct timeval tv;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    gettimeofday(&tv, NULL);
    /* QEMU's log backend layout; one write, so lines of threads do not mix. */
    line = g_strdup_printf("%d@%ld.%06ld:%s%s%s\n", (int)getpid(), (long)tv.tv_sec,
                           (long)tv.tv_usec, name, msg[0] ? " " : "", msg);
    if (write(STDERR_FILENO, line, strlen(line)) < 0) {
        /* Tracing must never fail the traced code. */
    }
}
