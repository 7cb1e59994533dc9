/*
 * cmd-trace.c: `vstate trace`, the visit trace of loading a whole stream:
 * one line per scalar of every device section, in stream order, for
 * save/load symmetry checks.
 *
 * SPDX-License-Identifier: MIT
 */
#include <fnmatch.h>
#include <inttypes.h>
#include <string.h>

#include "tools/commands.h"
#include "tools/streamtool.h"
#include "visitor/pretty/pretty.h"

typedef struct TraceRun {
    FILE *out;
    GString *buf;
    char **sections;         /* --section patterns; NULL: every section */
    bool headers;
    size_t printed;
} TraceRun;

static bool trace_wanted(const TraceRun *t, const VsSection *sec)
{
    if (!t->sections) {
        return true;
    }
    for (char **p = t->sections; *p; p++) {
        if (fnmatch(*p, sec->idstr, 0) == 0) {
            return true;
        }
    }
    return false;
}

static void trace_print(TraceRun *t, const VsSection *sec, const char *note)
{
    if (!sec->state || !trace_wanted(t, sec)) {
        return;
    }
    g_string_truncate(t->buf, 0);
    if (t->headers) {
        g_string_append_printf(t->buf,
                               "# section %s instance %" PRIu32 " id %" PRIu32 " version %" PRIu32
                               " (decoded by %s%s)\n",
                               sec->idstr, sec->instance_id, sec->section_id, sec->version_id,
                               vs_decoded_by_name(sec->decoded_by), note);
    }
    vs_render_trace(t->buf, sec->state);
    fwrite(t->buf->str, 1, t->buf->len, t->out);
    t->printed++;
}

static void trace_section(const VsSection *sec, void *opaque)
{
    trace_print(opaque, sec, "");
}

/* The fields of the section a failed load stopped in, up to the failure. */
static void trace_failed_section(TraceRun *t, TALLOC_CTX *ctx, const VsToolStream *ts)
{
    VsSection sec = { 0 };

    if (vs_input_failed_section(ts->input, ctx, &sec)) {
        trace_print(t, &sec, "; the load failed in this section");
    }
}

static const VsToolHelp trace_help = {
    .params = "FILE|-",
    .description =
        "Load a migration stream (legacy QEMU format or vstate's BER form, detected from its\n"
        "first bytes) and print the visit trace of the load: one line per scalar of every\n"
        "device section, in stream order, as `path = (type) value` (docs/pretty.md).\n"
        "Each section starts with a `# section IDSTR instance N id ID version V (decoded by\n"
        "schema|description)` line. RAM sections are not traced (see `vstate dump --ram`).\n"
        "\n"
        "The trace of a load equals the trace of the save that wrote the state: comparing\n"
        "the two is the save/load symmetry check. When the load fails, the sections decoded\n"
        "before the failure are printed, then the fields of the failing section decoded\n"
        "before the error (its header line says `the load failed in this section`), then\n"
        "the error (section, field path, byte offset, what was read and what was expected)\n"
        "on standard error.",
    .epilogue =
        "Exit status:\n"
        "  0  the whole stream was loaded\n"
        "  2  the input cannot be read, is not a stream, or fails to load\n"
        "\n"
        "Examples:\n"
        "  vstate trace saved.bin | grep '^i8259'\n"
        "  vstate trace --section 'mc146818rtc' --no-headers saved.bin\n"
        "  vstate trace --no-schemas saved.bin > by-desc.txt;"
        " vstate trace saved.bin > by-schema.txt\n"
        "  diff by-desc.txt by-schema.txt   # do the compiled schemas read what QEMU described?\n",
};

int vs_cmd_trace(const char *prog, int argc, char **argv)
{
    g_auto(GStrv) sections = NULL;
    gboolean no_headers = FALSE, no_schemas = FALSE, no_description = FALSE;
    GOptionEntry entries[] = {
        { "section", 's', 0, G_OPTION_ARG_STRING_ARRAY, &sections,
          "trace only sections whose idstr matches this shell glob (repeatable)", "PATTERN" },
        { "no-headers", 0, 0, G_OPTION_ARG_NONE, &no_headers,
          "leave out the `# section` line before each section", NULL },
        { "no-schemas", 0, 0, G_OPTION_ARG_NONE, &no_schemas,
          "decode device sections from the stream's own description only", NULL },
        { "no-description", 0, 0, G_OPTION_ARG_NONE, &no_description,
          "ignore the stream's description trailer (compiled schemas only)", NULL },
        { NULL },
    };
    TALLOC_CTX *ctx = talloc_new(NULL);
    g_autoptr(GError) err = NULL;
    VsLoadOptions opts = { 0 };
    VsToolStream *ts;
    TraceRun t = { 0 };
    int status = VS_TOOL_EXIT_ERROR;

    if (!vs_tool_parse_options(prog, &trace_help, entries, &argc, &argv, &status)) {
        goto out;
    }
    if (argc != 2) {
        status = vs_tool_fail(prog, "expected one FILE (or - for standard input); see --help");
        goto out;
    }
    opts.no_schemas = no_schemas;
    opts.no_description = no_description;
    ts = vs_tool_open_stream(ctx, argv[1], &opts, false, &err);
    if (!ts) {
        status = vs_tool_fail(prog, "%s", err->message);
        goto out;
    }
    t = (TraceRun){ .out = stdout, .buf = g_string_new(NULL), .sections = sections,
                    .headers = !no_headers };
    vs_tool_foreach_section(ts->stream, trace_section, &t);
    if (!ts->complete) {
        trace_failed_section(&t, ctx, ts);
    }
    g_string_free(t.buf, TRUE);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        status = vs_tool_fail(prog, "writing standard output failed");
        goto out;
    }
    if (!ts->complete) {
        status = vs_tool_fail(prog, "%s: %s", argv[1], ts->error->message);
        goto out;
    }
    status = VS_TOOL_EXIT_OK;
out:
    talloc_free(ctx);
    return status;
}
