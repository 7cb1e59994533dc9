/*
 * streamtool.c: option parsing, errors, colour and stream opening shared by
 * `vstate diff`, `vstate convert` and `vstate trace`.
 *
 * SPDX-License-Identifier: MIT
 */
#include "tools/streamtool.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migration/stream-input.h"

int vs_tool_fail(const char *prog, const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return VS_TOOL_EXIT_ERROR;
}

bool vs_tool_parse_options(const char *prog, const VsToolHelp *help,
                           const GOptionEntry *entries, int *argc, char ***argv,
                           int *ret_status)
{
    g_autoptr(GOptionContext) oc = g_option_context_new(help->params);
    g_autoptr(GError) err = NULL;
    gboolean want_help = FALSE;
    const GOptionEntry help_entry[] = {
        { "help", 'h', 0, G_OPTION_ARG_NONE, &want_help, "show this help and exit", NULL },
        { NULL },
    };

    /* GOption would exit() from inside the parse for --help; we return. */
    g_set_prgname(prog);
    g_option_context_set_summary(oc, help->description);
    g_option_context_set_description(oc, help->epilogue);
    g_option_context_set_help_enabled(oc, FALSE);
    g_option_context_add_main_entries(oc, help_entry, NULL);
    g_option_context_add_main_entries(oc, entries, NULL);
    if (!g_option_context_parse(oc, argc, argv, &err)) {
        *ret_status = vs_tool_fail(prog, "%s (try --help)", err->message);
        return false;
    }
    if (want_help) {
        g_autofree char *text = g_option_context_get_help(oc, TRUE, NULL);

        fputs(text, stdout);
        *ret_status = VS_TOOL_EXIT_OK;
        return false;
    }
    return true;
}

bool vs_tool_use_color(const char *when, FILE *fp, bool *ret_bad)
{
    const char *term = g_getenv("TERM");

    *ret_bad = false;
    if (when && strcmp(when, "always") == 0) {
        return true;
    }
    if (when && strcmp(when, "never") == 0) {
        return false;
    }
    if (when && strcmp(when, "auto") != 0) {
        *ret_bad = true;
        return false;
    }
    return isatty(fileno(fp)) && !g_getenv("NO_COLOR") && !(term && strcmp(term, "dumb") == 0);
}

const char *vs_tool_format_name(VsToolFormat format)
{
    return format == VS_TOOL_FORMAT_BER ? "ber" : "legacy";
}

/* The GError is glib's; it goes with the result. */
static int tool_stream_destroy(VsToolStream *ts)
{
    g_clear_error(&ts->error);
    return 0;
}

/* Inputs from this size on get a "loading" line on a terminal. */
#define TOOL_LOADING_NOTICE ((size_t)64 << 20)

/* The progress line of one load. */
typedef struct ToolProgress {
    const char *path;
    bool shown;              /* a line is on the terminal and needs clearing */
} ToolProgress;

/* One line on stderr, rewritten in place: only when stderr is a terminal. */
static void tool_progress(void *opaque, const char *what, uint64_t done, uint64_t total)
{
    ToolProgress *p = opaque;

    if (total) {
        fprintf(stderr, "\r\033[K%s: %s %3u%%", p->path, what, (unsigned)(done * 100 / total));
    } else {
        fprintf(stderr, "\r\033[K%s: %s", p->path, what);
    }
    fflush(stderr);
    p->shown = true;
}

VsToolStream *vs_tool_open_stream(TALLOC_CTX *mem_ctx, const char *path,
                                  const VsLoadOptions *opts, bool keep_pages, GError **errp)
{
    VsToolStream *ts = talloc_zero(mem_ctx, VsToolStream);
    VsInputOptions io = { .ram = VS_INPUT_RAM_NONE };
    ToolProgress progress = { .path = path };

    g_assert(ts != NULL);
    talloc_set_destructor(ts, tool_stream_destroy);
    if (!vs_input_open(ts, path, &ts->input, errp)) {
        talloc_free(ts);
        return NULL;
    }
    ts->path = talloc_strdup(ts, path);
    ts->format = ts->input->format == VS_INPUT_BER ? VS_TOOL_FORMAT_BER : VS_TOOL_FORMAT_LEGACY;
    ts->input_len = ts->input->len;
    if (opts) {
        io.load = *opts;
    }
    io.stream_ram = !keep_pages;
    if (isatty(STDERR_FILENO)) {
        io.progress = tool_progress;
        io.progress_opaque = &progress;
        /* Parsing a stream of GiBs takes seconds: say what is going on. */
        if (ts->input->len >= TOOL_LOADING_NOTICE) {
            tool_progress(&progress, "loading", 0, 0);
        }
    }
    ts->complete = vs_input_load(ts->input, &io, &ts->error);
    if (progress.shown) {
        fputs("\r\033[K", stderr);
    }
    ts->stream = ts->input->stream;
    if (!ts->complete && !ts->stream) {
        g_propagate_error(errp, ts->error);
        ts->error = NULL;
        talloc_free(ts);
        return NULL;
    }
    return ts;
}

static void tool_foreach_in(const VsStream *s, VsToolSectionFn fn, void *opaque,
                            unsigned depth)
{
    for (size_t i = 0; i < s->n_records; i++) {
        const VsRecord *r = &s->records[i];

        if (r->kind == VS_REC_SECTION) {
            fn(&r->section, opaque);
        } else if (r->kind == VS_REC_COMMAND && r->command.package && depth < 8) {
            tool_foreach_in(r->command.package, fn, opaque, depth + 1);
        }
    }
}

void vs_tool_foreach_section(const VsStream *s, VsToolSectionFn fn, void *opaque)
{
    if (s) {
        tool_foreach_in(s, fn, opaque, 0);
    }
}
