/*
 * dump-util.c: helpers of `vstate dump` and `vstate describe`
 * (dump-util.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include "tools/dump-util.h"

#include "tools/streamtool.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

bool dump_parse_options(const char *prog, const DumpHelp *help, const GOptionEntry *entries,
                        int *argc, char ***argv, int *ret_status)
{
    g_autofree char *epilogue = g_strdup_printf("Exit status:\n%s\n\nExamples:\n%s",
                                                help->exit_status, help->examples);
    const VsToolHelp tool_help = { .params = help->synopsis, .description = help->description,
                                   .epilogue = epilogue };

    return vs_tool_parse_options(prog, &tool_help, entries, argc, argv, ret_status);
}

bool dump_parse_color(const char *when, FILE *fp, bool *ret_color)
{
    bool bad;

    *ret_color = vs_tool_use_color(when, fp, &bad);
    return !bad;
}

DumpColors dump_colors(bool color)
{
    if (!color) {
        return (DumpColors){ "", "", "", "", "", "" };
    }
    return (DumpColors){
        .bold = "\033[1m",
        .section = "\033[1;34m",
        .ram = "\033[36m",
        .error = "\033[1;31m",
        .dim = "\033[2m",
        .reset = "\033[0m",
    };
}

static bool progress_drawn;

void dump_progress(void *opaque, const char *what, uint64_t done, uint64_t total)
{
    const char *prog = opaque;

    if (!isatty(STDERR_FILENO)) {
        return;
    }
    if (total) {
        fprintf(stderr, "\r\033[K%s: %s: %" PRIu64 " of %" PRIu64 " MiB", prog, what,
                done >> 20, total >> 20);
    } else {
        fprintf(stderr, "\r\033[K%s: %s: %" PRIu64 " MiB", prog, what, done >> 20);
    }
    progress_drawn = true;
}

void dump_progress_done(void)
{
    if (progress_drawn) {
        fputs("\r\033[K", stderr);
        progress_drawn = false;
    }
}

/* Inputs above this size announce the load on a terminal. */
#define DUMP_ANNOUNCE_BYTES ((size_t)256 << 20)

bool dump_open(const char *prog, TALLOC_CTX *ctx, const char *path, const VsInputOptions *o,
               VsInput **ret_input, GError **ret_error, int *ret_status)
{
    g_autoptr(GError) err = NULL;
    VsInput *in = NULL;
    bool ok;

    *ret_input = NULL;
    *ret_error = NULL;
    if (!vs_input_open_opts(ctx, path, o, &in, &err)) {
        dump_progress_done();
        *ret_status = vs_tool_fail(prog, "%s", err->message);
        return false;
    }
    if (in->len >= DUMP_ANNOUNCE_BYTES) {
        dump_progress((void *)prog, "loading", in->len, 0);
    }
    ok = vs_input_load(in, o, &err);
    dump_progress_done();
    if (!ok) {
        *ret_error = g_steal_pointer(&err);
    } else if (in->stream && in->stream->trailing_len && !in->stream->vmdesc_raw) {
        /* QEMU only warns about bytes after EOF; so does this, saying what they may be. */
        fflush(stdout);
        fprintf(stderr, "%s: warning: %s: %" PRIu64 " bytes after the EOF item are not a "
                        "description trailer (one cut short?); they were ignored\n",
                prog, in->name, in->stream->trailing_len);
    }
    *ret_input = in;
    *ret_status = ok ? VS_TOOL_EXIT_OK : VS_TOOL_EXIT_ERROR;
    return true;
}

int dump_load_error(const char *prog, const VsInput *in, const GError *err,
                    const DumpColors *c)
{
    uint64_t end = vs_input_decoded_end(in);

    fflush(stdout);
    if (g_error_matches(err, VS_MIG_ERROR, VS_MIG_ERROR_UNDECODABLE) && in->stream &&
        !in->stream->vmdesc) {
        /* The usual cause: a stream cut short has lost the trailer at its end. */
        fprintf(stderr, "%s: note: %s has no description trailer (a stream cut short loses "
                        "it), so only sections with a compiled schema can be decoded\n",
                prog, in->name);
    }
    if (end) {
        fprintf(stderr, "%s: %s%s: %s%s (the records before offset 0x%" PRIx64
                " were decoded)\n",
                prog, c->error, in->name, err->message, c->reset, end);
    } else {
        fprintf(stderr, "%s: %s%s: %s%s\n", prog, c->error, in->name, err->message, c->reset);
    }
    return VS_TOOL_EXIT_ERROR;
}

const char *dump_section_type(uint8_t type)
{
    switch (type) {
    case VS_MIG_SECTION_START:
        return "START";
    case VS_MIG_SECTION_PART:
        return "PART";
    case VS_MIG_SECTION_END:
        return "END";
    default:
        return "FULL";
    }
}

const char *dump_command_name(uint16_t cmd)
{
    static const char *const names[] = {
        "INVALID", "OPEN_RETURN_PATH", "PING", "POSTCOPY_ADVISE", "POSTCOPY_LISTEN",
        "POSTCOPY_RUN", "POSTCOPY_RAM_DISCARD", "PACKAGED", "ENABLE_COLO", "POSTCOPY_RESUME",
        "RECV_BITMAP",
    };

    return cmd < G_N_ELEMENTS(names) ? names[cmd] : "UNKNOWN";
}

static void dump_foreach_at(const VsStream *s, unsigned depth, DumpRecordFn fn, void *opaque)
{
    for (size_t i = 0; i < s->n_records; i++) {
        const VsRecord *r = &s->records[i];

        fn(r, depth, opaque);
        if (r->kind == VS_REC_COMMAND && r->command.package) {
            dump_foreach_at(r->command.package, depth + 1, fn, opaque);
        }
    }
}

void dump_foreach_record(const VsStream *s, DumpRecordFn fn, void *opaque)
{
    dump_foreach_at(s, 0, fn, opaque);
}

void dump_json_string(GString *out, const char *s)
{
    g_string_append_c(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            g_string_append_c(out, '\\');
            g_string_append_c(out, (char)*p);
        } else if (*p < 0x20 || *p == 0x7f) {
            g_string_append_printf(out, "\\u%04x", *p);
        } else if (*p >= 0x80) {
            gunichar ch = g_utf8_get_char_validated((const char *)p, -1);

            if (ch == (gunichar)-1 || ch == (gunichar)-2) {
                /* Not UTF-8 (a name from a hostile stream): its byte value. */
                g_string_append_printf(out, "\\u%04x", *p);
            } else {
                int n = g_unichar_to_utf8(ch, NULL);

                g_string_append_len(out, (const char *)p, n);
                p += n - 1;
            }
        } else {
            g_string_append_c(out, (char)*p);
        }
    }
    g_string_append_c(out, '"');
}
