/*
 * dump-util.h: what `vstate dump` and `vstate describe` share: man-page
 * style help, colour, a progress line, opening and loading the input with
 * the error reported the same way, and small printing helpers.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VSTATE_TOOLS_DUMP_UTIL_H
#define VSTATE_TOOLS_DUMP_UTIL_H

#include <glib.h>
#include <stdbool.h>
#include <stdio.h>

#include "migration/stream-input.h"

G_BEGIN_DECLS

/* The sections of a man page that --help prints around the options. */
typedef struct DumpHelp {
    const char *synopsis;       /* the operands, after "[OPTION…]" */
    const char *description;
    const char *exit_status;
    const char *examples;
} DumpHelp;

/*
 * vs_tool_parse_options() (tools/streamtool.h) with the exit status and
 * examples as the epilogue: --help prints the man page and returns false
 * with *@ret_status 0, a bad option one line and false with *@ret_status 2.
 */
bool dump_parse_options(const char *prog, const DumpHelp *help, const GOptionEntry *entries,
                        int *argc, char ***argv, int *ret_status);

/*
 * vs_tool_use_color() as a yes/no in *@ret_color.
 * --color: "always", "never", or "auto"/NULL (a terminal, NO_COLOR unset,
 * TERM not "dumb").  False for another word.
 */
bool dump_parse_color(const char *when, FILE *fp, bool *ret_color);

/* SGR sequences, empty strings when @color is false. */
typedef struct DumpColors {
    const char *bold;
    const char *section;
    const char *ram;
    const char *error;
    const char *dim;
    const char *reset;
} DumpColors;

DumpColors dump_colors(bool color);

/* A progress callback for VsInputOptions: a line on stderr, only on a terminal. */
void dump_progress(void *opaque, const char *what, uint64_t done, uint64_t total);
/* Clears the progress line if one was drawn. */
void dump_progress_done(void);

/*
 * Opens and loads @path.  *@ret_input is NULL when the input could not be
 * opened (then the error was printed and *@ret_status is 2).  When the load
 * fails part-way, *@ret_error holds why and the input holds what was
 * decoded before.
 */
bool dump_open(const char *prog, TALLOC_CTX *ctx, const char *path, const VsInputOptions *o,
               VsInput **ret_input, GError **ret_error, int *ret_status);

/* Prints a load error after the partial output; returns VS_TOOL_EXIT_ERROR. */
int dump_load_error(const char *prog, const VsInput *in, const GError *err,
                    const DumpColors *c);

/* "START", "PART", "END", "FULL". */
const char *dump_section_type(uint8_t type);
/* A command's name ("PACKAGED") or "CMD_n". */
const char *dump_command_name(uint16_t cmd);

/* Calls @fn on every record of @s in stream order, packages' records after their command. */
typedef void (*DumpRecordFn)(const VsRecord *r, unsigned depth, void *opaque);
void dump_foreach_record(const VsStream *s, DumpRecordFn fn, void *opaque);

/* @s as a JSON string (quotes included), escapes as RFC 8259 wants. */
void dump_json_string(GString *out, const char *s);

G_END_DECLS

#endif /* VSTATE_TOOLS_DUMP_UTIL_H */
