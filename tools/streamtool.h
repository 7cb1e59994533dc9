/*
 * streamtool.h: what the stream-comparing commands (diff, convert, trace)
 * share: option parsing with man-page style help, one-line errors, colour
 * decisions, and opening a stream of either format from a path or "-".
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VSTATE_TOOLS_STREAMTOOL_H
#define VSTATE_TOOLS_STREAMTOOL_H

#include <glib.h>
#include <stdbool.h>
#include <stdio.h>
#include <talloc.h>

#include "migration/stream-input.h"

G_BEGIN_DECLS

/* Exit statuses shared by every command (see tools/vstate.c). */
enum {
    VS_TOOL_EXIT_OK = 0,
    VS_TOOL_EXIT_DIFFERENT = 1,
    VS_TOOL_EXIT_ERROR = 2,
};

/* Prints "PROG: message" on stderr; returns VS_TOOL_EXIT_ERROR. */
int vs_tool_fail(const char *prog, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/*
 * The help text of one command, in the order a man page has it.
 * @params: the synopsis after the command name ("[OPTION...] A B")
 * @description: what the command does (paragraphs)
 * @epilogue: exit status and examples, printed after the options
 */
typedef struct VsToolHelp {
    const char *params;
    const char *description;
    const char *epilogue;
} VsToolHelp;

/*
 * Parses @entries from @argc and @argv (GOption), leaving the operands.
 * --help prints @help and returns false with *@ret_status 0; a bad option
 * prints one line and returns false with *@ret_status 2.
 */
bool vs_tool_parse_options(const char *prog, const VsToolHelp *help,
                           const GOptionEntry *entries, int *argc, char ***argv,
                           int *ret_status);

/*
 * Whether to colour output on @fp for a --color value ("auto", "always",
 * "never"; NULL is auto: a terminal, TERM not "dumb", NO_COLOR unset).
 * False with *@ret_bad set for any other value.
 */
bool vs_tool_use_color(const char *when, FILE *fp, bool *ret_bad);

/* The two forms a stream comes in. */
typedef enum VsToolFormat {
    VS_TOOL_FORMAT_LEGACY,
    VS_TOOL_FORMAT_BER,
} VsToolFormat;

const char *vs_tool_format_name(VsToolFormat format);

/* A stream opened by vs_tool_open_stream(). */
typedef struct VsToolStream {
    const char *path;        /* as given ("-" for standard input) */
    VsToolFormat format;
    VsStream *stream;        /* NULL when nothing could be decoded */
    bool complete;           /* false: @stream holds what came before @error */
    GError *error;           /* why the load stopped, or NULL */
    uint64_t input_len;      /* bytes read */
    VsInput *input;          /* the mapped input the stream points into */
} VsToolStream;

/*
 * vs_tool_open_stream: open @path ("-": standard input) with
 * migration/stream-input.h, which tells the form from the first bytes
 * (legacy "QEVM" or a BER SEQUENCE) and maps rather than copies the input,
 * and load it; a progress line goes to stderr when that is a terminal.
 * @mem_ctx: talloc parent of the result (the input bytes included)
 * @opts: load options; NULL for defaults.  With @opts->ram_page set, RAM
 *   page records are handed to it and not kept (bounded memory: see
 *   stream-input.h); @keep_pages keeps them instead (to re-encode)
 *
 * A load that fails part-way still returns the result, with @complete
 * false, @error set and @stream holding the records decoded before the
 * failure (for BER, once its header was read).  Only input that
 * cannot be read or has neither format returns NULL (with @errp set).
 */
VsToolStream *vs_tool_open_stream(TALLOC_CTX *mem_ctx, const char *path,
                                  const VsLoadOptions *opts, bool keep_pages, GError **errp);

/*
 * Calls @fn for every section record of @s in stream order, descending
 * into the packages of PACKAGED commands.
 */
typedef void (*VsToolSectionFn)(const VsSection *sec, void *opaque);
void vs_tool_foreach_section(const VsStream *s, VsToolSectionFn fn, void *opaque);

G_END_DECLS

#endif /* VSTATE_TOOLS_STREAMTOOL_H */
