/*
 * trace.h: trace points of the migration core, enabled by name.
 *
 * SPDX-License-Identifier: MIT
 *
 * Events are declared in migration/trace-events (QEMU's syntax) and
 * compiled by scripts/tracetool.py into trace_<name>() functions
 * (migration/trace-migration.h in the build tree).  Each fires a USDT
 * probe (provider "vstate", where <sys/sdt.h> was found at build time), so
 * perf or bpftrace can attach without a rebuild, and prints one line on
 * standard error when its name was enabled:
 *
 *     vs_trace_enable("migrate_*", errp);         glob patterns, as --trace
 *     trace_migrate_set_state("active");
 *     -> 12345@1700000000.123456:migrate_set_state new state active
 */
#ifndef VSTATE_MIGRATION_TRACE_H
#define VSTATE_MIGRATION_TRACE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

G_BEGIN_DECLS

#define VS_TRACE_ERROR (vs_trace_error_quark())
GQuark vs_trace_error_quark(void);

/*
 * vs_trace_enable: enable every event whose name matches @pattern ('*' and
 * '?' globs); a pattern starting with '-' disables instead.
 * Returns: false with an error when no event matches (a typo, then).
 */
bool vs_trace_enable(const char *pattern, GError **errp);

/* Events, in declaration order. */
size_t vs_trace_event_count(void);
const char *vs_trace_event_name(size_t i);
bool vs_trace_event_enabled(size_t i);

/* Prints "pid@seconds.micros:name formatted\n" on stderr as one write. */
void vs_trace_emit(const char *name, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

G_END_DECLS

#endif /* VSTATE_MIGRATION_TRACE_H */
