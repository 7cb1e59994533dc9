/*
 * cmd-dump.c: `vstate dump`, every section of a migration stream printed,
 * for the developer whose migration has just failed.
 *
 * SPDX-License-Identifier: MIT
 *
 * The stream is loaded whole (stream-input.h: mapped, never copied), then
 * printed in stream order.  A load that fails part-way prints what was
 * decoded before the failure, then the error, and exits with 2.  RAM is
 * summarised per block (pages sent, zero pages, a SHA-256 of the content),
 * or listed page by page with --ram=pages; page contents are never kept
 * beyond the mapping of the input.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tools/commands.h"
#include "tools/dump-util.h"
#include "tools/streamtool.h"
#include "tools/qemu-json.h"
#include "visitor/pretty/pretty.h"

typedef enum DumpFormat {
    DUMP_TREE,
    DUMP_TRACE,
    DUMP_JSON,
    DUMP_QEMU_JSON,
} DumpFormat;

typedef enum DumpRam {
    DUMP_RAM_NONE,
    DUMP_RAM_SUMMARY,
    DUMP_RAM_PAGES,
} DumpRam;

typedef struct Dump {
    VsInput *in;
    DumpFormat format;
    DumpRam ram;
    const char *const *globs;  /* --section, NULL-terminated, or NULL */
    DumpColors c;
    GString *out;
    bool ram_listed;        /* the block summaries were printed */
    size_t n_json;          /* records written to the JSON list */
    const VsRecord *failed; /* the section the load failed in, read as far as it goes */
    bool write_failed;
} Dump;

/* Output beyond this is written out as it comes (page listings can be long). */
#define DUMP_SPILL_BYTES ((size_t)1 << 20)

/* Writes what is buffered to standard output once there is enough of it. */
static void dump_spill(Dump *d, bool all)
{
    if (d->out->len && (all || d->out->len >= DUMP_SPILL_BYTES)) {
        d->write_failed |= fwrite(d->out->str, 1, d->out->len, stdout) != d->out->len;
        g_string_truncate(d->out, 0);
    }
}

static const DumpHelp dump_help = {
    .synopsis = "FILE|-",
    .description =
        "Print every section of a migration stream: QEMU 7.2's legacy form or vstate's BER\n"
        "form, told apart by the first bytes; - reads standard input.  Device sections are\n"
        "decoded with the compiled schemas where one fits the section's version, else with\n"
        "the stream's own description trailer.  RAM is summarised per block: size, pages\n"
        "sent, zero pages and the SHA-256 of the block's content (pages never sent count as\n"
        "zeros), which equals sha256sum of the block's memory image.\n"
        "\n"
        "Formats: tree (for reading; the default on a terminal), trace (one line per scalar\n"
        "with its full path, stable and diff-friendly; the default otherwise), json (vstate's\n"
        "own: records in stream order with types, versions, array counts), qemu-json (exactly\n"
        "what QEMU's scripts/analyze-migration.py -d state prints; it also works on BER input,\n"
        "on streams with commands and on streams without a description trailer).\n"
        "\n"
        "When the stream fails to load, everything decoded before the failure is printed,\n"
        "then one line on standard error naming the section, the field path, the byte\n"
        "offset and what was read against what was expected.  Colour is used on a terminal\n"
        "only; no pager is started.  On a terminal, long work shows a progress line on\n"
        "standard error.",
    .exit_status = "  0  the whole stream was decoded and printed\n"
                   "  2  bad usage, unreadable input, not a stream, or the stream failed to\n"
                   "     load (what came before the failure was printed)",
    .examples = "  vstate dump ran2s.bin | less\n"
                "  vstate dump --section 'i8259' --format=tree ran2s.bin\n"
                "  vstate dump --format=qemu-json ran2s.bin > ran2s.state.json\n"
                "  ssh host cat /tmp/mig | vstate dump --ram=none -\n"
                "  vstate dump --format=json --ram=pages ran2s.bin | jq '.records[0]'",
};

/* ---- RAM ----------------------------------------------------------------------- */

/* What one page record holds, in words ("zero 0x00", "page sha256 ..."). */
static char *dump_page_text(const VsRamRecord *r)
{
    switch (r->flags & ~(uint32_t)VS_RAM_CONTINUE) {
    case VS_RAM_ZERO:
        return g_strdup_printf("zero fill 0x%02x", r->fill);
    case VS_RAM_PAGE: {
        g_autofree char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, r->data, r->len);

        return g_strdup_printf("page sha256 %s", sum);
    }
    case VS_RAM_XBZRLE:
        return g_strdup_printf("xbzrle %zu bytes", r->len);
    default:
        return g_strdup_printf("compressed %zu bytes", r->len);
    }
}

static bool dump_is_page(const VsRamRecord *r)
{
    return (r->flags & (VS_RAM_ZERO | VS_RAM_PAGE | VS_RAM_XBZRLE | VS_RAM_COMPRESS_PAGE)) != 0;
}

static void dump_ram_text(Dump *d, const VsSection *sec, const char *indent)
{
    GString *o = d->out;

    if (d->ram == DUMP_RAM_NONE && !d->ram_listed) {
        for (size_t i = 0; i < d->in->n_ram_blocks; i++) {
            const VsInputRamBlock *b = &d->in->ram_blocks[i];

            g_string_append_printf(o, "%s%sblock %s%s: 0x%" PRIx64 " bytes, %" PRIu64
                                   " pages sent (%" PRIu64 " zero, %" PRIu64 " data, %" PRIu64
                                   " encoded)\n",
                                   indent, d->c.ram, b->name, d->c.reset, b->length,
                                   b->pages_sent, b->zero_pages, b->data_pages,
                                   b->encoded_pages);
        }
    } else if (!d->ram_listed) {
        for (size_t i = 0; i < d->in->n_ram_blocks; i++) {
            const VsInputRamBlock *b = &d->in->ram_blocks[i];

            g_string_append_printf(o, "%s%sblock %s%s: 0x%" PRIx64 " bytes, %" PRIu64
                                   " pages sent (%" PRIu64 " zero, %" PRIu64 " data, %" PRIu64
                                   " encoded), %" PRIu64 " distinct, sha256 %s\n",
                                   indent, d->c.ram, b->name, d->c.reset, b->length,
                                   b->pages_sent, b->zero_pages, b->data_pages,
                                   b->encoded_pages, b->pages_present,
                                   b->has_digest ? b->digest
                                   : b->digest_too_large ? "not computed (block over 64 GiB)"
                                   : "unknown (XBZRLE or compressed pages)");
        }
    }
    d->ram_listed = true;
    if (d->ram != DUMP_RAM_PAGES) {
        return;
    }
    for (size_t i = 0; i < sec->n_ram; i++) {
        const VsRamRecord *r = &sec->ram[i];
        g_autofree char *what = NULL;

        if (!dump_is_page(r)) {
            continue;
        }
        what = dump_page_text(r);
        g_string_append_printf(o, "%s  %s 0x%016" PRIx64 " %s\n", indent, r->block, r->offset,
                               what);
        dump_spill(d, false);
    }
}

/* RAM as trace lines: one per scalar. */
static void dump_ram_trace(Dump *d, const VsSection *sec)
{
    GString *o = d->out;

    for (size_t i = 0; i < d->in->n_ram_blocks && !d->ram_listed; i++) {
        const VsInputRamBlock *b = &d->in->ram_blocks[i];
        g_autoptr(GString) key = g_string_new(NULL);

        dump_json_string(key, b->name);
        g_string_append_printf(o, "ram[%s].length = (uint64) 0x%" PRIx64 "\n", key->str,
                               b->length);
        g_string_append_printf(o, "ram[%s].pages_sent = (uint64) 0x%" PRIx64 "\n", key->str,
                               b->pages_sent);
        g_string_append_printf(o, "ram[%s].zero_pages = (uint64) 0x%" PRIx64 "\n", key->str,
                               b->zero_pages);
        g_string_append_printf(o, "ram[%s].data_pages = (uint64) 0x%" PRIx64 "\n", key->str,
                               b->data_pages);
        g_string_append_printf(o, "ram[%s].encoded_pages = (uint64) 0x%" PRIx64 "\n", key->str,
                               b->encoded_pages);
        if (d->ram != DUMP_RAM_NONE) {
            g_string_append_printf(o, "ram[%s].pages_present = (uint64) 0x%" PRIx64 "\n",
                                   key->str, b->pages_present);
            g_string_append_printf(o, "ram[%s].sha256 = (string) \"%s\"\n", key->str,
                                   b->has_digest ? b->digest : "unknown");
        }
    }
    d->ram_listed = true;
    if (d->ram != DUMP_RAM_PAGES) {
        return;
    }
    for (size_t i = 0; i < sec->n_ram; i++) {
        const VsRamRecord *r = &sec->ram[i];
        g_autoptr(GString) key = g_string_new(NULL);
        g_autofree char *what = NULL;

        if (!dump_is_page(r)) {
            continue;
        }
        dump_json_string(key, r->block);
        what = dump_page_text(r);
        g_string_append_printf(o, "ram[%s].page[0x%" PRIx64 "] = (page) %s\n", key->str,
                               r->offset, what);
        dump_spill(d, false);
    }
}

static void dump_ram_block_json(GString *o, const VsInputRamBlock *b, DumpRam ram)
{
    g_string_append(o, "{\"name\": ");
    dump_json_string(o, b->name);
    g_string_append_printf(o, ", \"length\": %" PRIu64 ", \"pages_sent\": %" PRIu64
                              ", \"zero_pages\": %" PRIu64 ", \"data_pages\": %" PRIu64
                              ", \"encoded_pages\": %" PRIu64,
                           b->length, b->pages_sent, b->zero_pages, b->data_pages,
                           b->encoded_pages);
    if (ram != DUMP_RAM_NONE) {
        g_string_append_printf(o, ", \"pages_present\": %" PRIu64 ", \"sha256\": ",
                               b->pages_present);
        if (b->has_digest) {
            g_string_append_printf(o, "\"%s\"", b->digest);
        } else {
            g_string_append(o, "null");
        }
    }
    g_string_append(o, "}");
}

static void dump_ram_json(Dump *d, const VsSection *sec)
{
    GString *o = d->out;
    bool first = true;

    if (d->ram != DUMP_RAM_PAGES) {
        return;
    }
    g_string_append(o, ",\n      \"pages\": [");
    for (size_t i = 0; i < sec->n_ram; i++) {
        const VsRamRecord *r = &sec->ram[i];
        g_autofree char *what = NULL;

        if (!dump_is_page(r)) {
            continue;
        }
        what = dump_page_text(r);
        g_string_append_printf(o, "%s\n        {\"block\": ", first ? "" : ",");
        dump_json_string(o, r->block);
        g_string_append_printf(o, ", \"offset\": %" PRIu64 ", \"content\": ", r->offset);
        dump_json_string(o, what);
        g_string_append(o, "}");
        first = false;
        dump_spill(d, false);
    }
    g_string_append(o, first ? "]" : "\n      ]");
}

/* ---- records ---------------------------------------------------------------------- */

static bool dump_wanted(const Dump *d, const VsSection *sec)
{
    return vs_qemu_json_glob_match(d->globs, sec->idstr);
}

/* Indents every line of @text by @indent into @o. */
static void dump_indented(GString *o, const char *text, const char *indent)
{
    const char *p = text;

    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);

        g_string_append(o, indent);
        g_string_append_len(o, p, (gssize)n);
        p += n;
    }
}

static void dump_section_tree(Dump *d, const VsSection *sec, const VsRecord *r,
                              const char *indent)
{
    bool ber = d->in->format == VS_INPUT_BER;

    g_string_append_printf(d->out, "%s%ssection %s%s instance %" PRIu32 " version %" PRIu32
                           " id %" PRIu32 " %s",
                           indent, d->c.section, sec->idstr, d->c.reset, sec->instance_id,
                           sec->version_id, sec->section_id, dump_section_type(sec->type));
    if (!ber && r == d->failed) {
        g_string_append_printf(d->out, " at 0x%" PRIx64, r->offset);
    } else if (!ber) {
        g_string_append_printf(d->out, " at 0x%" PRIx64 " (%" PRIu64 " bytes)", r->offset,
                               r->length);
    }
    g_string_append_printf(d->out, "%s, decoded by %s%s%s\n", d->c.dim,
                           vs_decoded_by_name(sec->decoded_by), d->c.reset,
                           r == d->failed ? ": INCOMPLETE, the load failed in this section"
                                          : "");
    if (sec->decoded_by == VS_DECODED_RAM) {
        g_autofree char *sub = g_strconcat(indent, "  ", NULL);

        dump_ram_text(d, sec, sub);
    } else if (sec->state) {
        g_autoptr(GString) tree = g_string_new(NULL);
        g_autofree char *sub = g_strconcat(indent, "  ", NULL);

        vs_render_tree(tree, sec->state);
        dump_indented(d->out, tree->str, sub);
    }
}

static void dump_record_tree(const VsRecord *r, unsigned depth, void *opaque)
{
    Dump *d = opaque;
    g_autofree char *indent = g_strnfill(depth * 2, ' ');

    dump_spill(d, false);
    switch (r->kind) {
    case VS_REC_SECTION:
        if (dump_wanted(d, &r->section)) {
            dump_section_tree(d, &r->section, r, indent);
        }
        break;
    case VS_REC_COMMAND:
        if (!d->globs) {
            g_string_append_printf(d->out, "%s%scommand %s%s (%u payload bytes)", indent,
                                   d->c.bold, dump_command_name(r->command.cmd), d->c.reset,
                                   r->command.len);
            if (r->command.package) {
                g_string_append_printf(d->out, ", a package of %" PRIu32 " bytes:",
                                       r->command.package_len);
            }
            g_string_append_c(d->out, '\n');
        }
        break;
    case VS_REC_CONFIG:
        if (!d->globs) {
            g_string_append_printf(d->out, "%s%sconfiguration%s machine %s\n", indent,
                                   d->c.bold, d->c.reset, r->machine);
        }
        break;
    default:
        break;
    }
}

static void dump_record_trace(const VsRecord *r, unsigned depth, void *opaque)
{
    Dump *d = opaque;
    const VsSection *sec = &r->section;

    (void)depth;
    dump_spill(d, false);
    if (r->kind != VS_REC_SECTION || !dump_wanted(d, sec)) {
        return;
    }
    /* Headers carry no offsets or ids, so that traces of two streams diff well. */
    g_string_append_printf(d->out,
                           "# section %s instance %" PRIu32 " version %" PRIu32 " %s (decoded by %s%s)\n",
                           sec->idstr, sec->instance_id, sec->version_id,
                           dump_section_type(sec->type), vs_decoded_by_name(sec->decoded_by),
                           r == d->failed ? ", incomplete: the load failed here" : "");
    if (sec->decoded_by == VS_DECODED_RAM) {
        dump_ram_trace(d, sec);
    } else if (sec->state) {
        vs_render_trace(d->out, sec->state);
    }
}

static void dump_record_json(const VsRecord *r, unsigned depth, void *opaque)
{
    Dump *d = opaque;
    GString *o = d->out;
    bool ber = d->in->format == VS_INPUT_BER;
    const VsSection *sec = &r->section;

    dump_spill(d, false);
    if (r->kind == VS_REC_SECTION ? !dump_wanted(d, sec) : d->globs != NULL) {
        return;
    }
    g_string_append_printf(o, "%s\n    {", d->n_json++ ? "," : "");
    switch (r->kind) {
    case VS_REC_SECTION:
        g_string_append(o, "\"kind\": \"section\", \"idstr\": ");
        dump_json_string(o, sec->idstr);
        g_string_append_printf(o, ", \"instance\": %" PRIu32 ", \"version\": %" PRIu32
                                  ", \"section_id\": %" PRIu32 ", \"type\": \"%s\"",
                               sec->instance_id, sec->version_id, sec->section_id,
                               dump_section_type(sec->type));
        break;
    case VS_REC_COMMAND:
        g_string_append_printf(o, "\"kind\": \"command\", \"command\": \"%s\", \"length\": %u",
                               dump_command_name(r->command.cmd), r->command.len);
        break;
    case VS_REC_CONFIG:
        g_string_append(o, "\"kind\": \"configuration\", \"machine\": ");
        dump_json_string(o, r->machine);
        break;
    case VS_REC_EOF:
        g_string_append(o, "\"kind\": \"eof\"");
        break;
    default:
        g_string_append_printf(o, "\"kind\": \"description\", \"bytes\": %zu",
                               d->in->stream->vmdesc_len);
        break;
    }
    g_string_append_printf(o, ", \"in_package\": %s", depth ? "true" : "false");
    if (ber) {
        g_string_append(o, ", \"offset\": null, \"size\": null");
    } else if (r == d->failed) {
        g_string_append_printf(o, ", \"offset\": %" PRIu64 ", \"size\": null", r->offset);
    } else {
        g_string_append_printf(o, ", \"offset\": %" PRIu64 ", \"size\": %" PRIu64, r->offset,
                               r->length);
    }
    if (r->kind == VS_REC_SECTION) {
        g_string_append_printf(o, ", \"decoded_by\": \"%s\", \"complete\": %s",
                               vs_decoded_by_name(sec->decoded_by),
                               r == d->failed ? "false" : "true");
        if (sec->decoded_by == VS_DECODED_RAM) {
            dump_ram_json(d, sec);
        } else if (sec->state) {
            g_autoptr(GString) state = g_string_new(NULL);

            vs_render_json(state, sec->state, false);
            while (state->len && state->str[state->len - 1] == '\n') {
                g_string_truncate(state, state->len - 1);
            }
            g_string_append_printf(o, ",\n      \"state\": %s", state->str);
        }
    }
    g_string_append(o, "}");
}

/* ---- the whole stream ------------------------------------------------------------------ */

static void dump_header_text(Dump *d)
{
    const VsStream *s = d->in->stream;

    g_string_append_printf(d->out, "%sstream%s %s: %s, %zu bytes", d->c.bold, d->c.reset,
                           d->in->name, vs_input_format_name(d->in->format), d->in->len);
    if (d->in->writer) {
        g_string_append_printf(d->out, ", written by %s", d->in->writer);
    }
    if (s && s->machine) {
        g_string_append_printf(d->out, ", machine %s", s->machine);
    }
    if (s) {
        g_string_append_printf(d->out, ", page size %" PRIu64, s->page_size);
    }
    g_string_append_c(d->out, '\n');
}

static void dump_json(Dump *d, const GError *err)
{
    const VsStream *s = d->in->stream;
    GString *o = d->out;

    g_string_append(o, "{\n  \"file\": ");
    dump_json_string(o, d->in->name);
    g_string_append_printf(o, ",\n  \"format\": \"%s\",\n  \"size\": %zu,\n  \"writer\": ",
                           vs_input_format_name(d->in->format), d->in->len);
    if (d->in->writer) {
        dump_json_string(o, d->in->writer);
    } else {
        g_string_append(o, "null");
    }
    g_string_append(o, ",\n  \"machine\": ");
    if (s && s->machine) {
        dump_json_string(o, s->machine);
    } else {
        g_string_append(o, "null");
    }
    g_string_append_printf(o, ",\n  \"page_size\": %" PRIu64 ",\n  \"ram_blocks\": [",
                           s ? s->page_size : 0);
    for (size_t i = 0; i < d->in->n_ram_blocks; i++) {
        g_string_append(o, i ? ",\n    " : "\n    ");
        dump_ram_block_json(o, &d->in->ram_blocks[i], d->ram);
    }
    g_string_append(o, d->in->n_ram_blocks ? "\n  ],\n  \"records\": [" : "],\n  \"records\": [");
    if (s) {
        dump_foreach_record(s, dump_record_json, d);
    }
    if (d->failed) {
        dump_record_json(d->failed, 0, d);
    }
    g_string_append(o, d->n_json ? "\n  ],\n  \"error\": " : "],\n  \"error\": ");
    if (err) {
        g_string_append(o, "{\"message\": ");
        dump_json_string(o, err->message);
        g_string_append_printf(o, ", \"decoded_up_to\": %" PRIu64 "}",
                               vs_input_decoded_end(d->in));
    } else {
        g_string_append(o, "null");
    }
    g_string_append(o, "\n}\n");
}

static void dump_render(Dump *d, const GError *err)
{
    const VsStream *s = d->in->stream;

    switch (d->format) {
    case DUMP_QEMU_JSON:
        if (s) {
            vs_qemu_json_render(d->out, s, d->globs);
        }
        break;
    case DUMP_JSON:
        dump_json(d, err);
        break;
    case DUMP_TREE:
        dump_header_text(d);
        if (s) {
            dump_foreach_record(s, dump_record_tree, d);
        }
        if (d->failed) {
            dump_record_tree(d->failed, 0, d);
        }
        break;
    case DUMP_TRACE:
        if (s) {
            dump_foreach_record(s, dump_record_trace, d);
        }
        if (d->failed) {
            dump_record_trace(d->failed, 0, d);
        }
        break;
    }
}

static bool dump_parse_format(const char *name, DumpFormat *ret)
{
    static const char *const names[] = { "tree", "trace", "json", "qemu-json" };

    if (!name) {
        *ret = isatty(STDOUT_FILENO) ? DUMP_TREE : DUMP_TRACE;
        return true;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        if (strcmp(name, names[i]) == 0) {
            *ret = (DumpFormat)i;
            return true;
        }
    }
    return false;
}

static bool dump_parse_ram(const char *name, DumpRam *ret)
{
    static const char *const names[] = { "none", "summary", "pages" };

    if (!name) {
        *ret = DUMP_RAM_SUMMARY;
        return true;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        if (strcmp(name, names[i]) == 0) {
            *ret = (DumpRam)i;
            return true;
        }
    }
    return false;
}


int vs_cmd_dump(const char *prog, int argc, char **argv)
{
    g_autofree char *format_name = NULL;
    g_auto(GStrv) sections = NULL;
    g_autofree char *ram_name = NULL;
    g_autofree char *color_name = NULL;
    gboolean no_schemas = FALSE, no_description = FALSE;
    GOptionEntry entries[] = {
        { "format", 'f', 0, G_OPTION_ARG_STRING, &format_name, "tree, trace, json or qemu-json (default: tree on a terminal, else trace)", "FORMAT" },
        { "section", 's', 0, G_OPTION_ARG_STRING_ARRAY, &sections, "only sections whose idstr matches this shell glob (e.g. 'i8259' or '*PIIX*'); repeatable", "PATTERN" },
        { "ram", 'r', 0, G_OPTION_ARG_STRING, &ram_name, "none (page counts only, fastest), summary (counts and digests; the default) or pages (every page record)", "WHAT" },
        { "color", 0, 0, G_OPTION_ARG_STRING, &color_name, "auto (the default: on a terminal), always or never", "WHEN" },
        { "no-schemas", 0, 0, G_OPTION_ARG_NONE, &no_schemas, "decode device sections from the stream's description only", NULL },
        { "no-description", 0, 0, G_OPTION_ARG_NONE, &no_description, "ignore the description trailer (decode with compiled schemas only)", NULL },
        { NULL },
    };
    TALLOC_CTX *ctx = talloc_new(NULL);
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GError) err = NULL;
    VsInputOptions o = { .progress = dump_progress };
    Dump d = { .out = out };
    bool color = false;
    int status = VS_TOOL_EXIT_ERROR;

    if (!dump_parse_options(prog, &dump_help, entries, &argc, &argv, &status)) {
        goto out;
    }
    if (argc != 2) {
        status = vs_tool_fail(prog, "expected one FILE (or - for standard input); see --help");
        goto out;
    }
    if (!dump_parse_format(format_name, &d.format)) {
        status = vs_tool_fail(prog, "unknown format '%s' (tree, trace, json, qemu-json)",
                           format_name);
        goto out;
    }
    if (!dump_parse_ram(ram_name, &d.ram)) {
        status = vs_tool_fail(prog, "unknown --ram '%s' (none, summary, pages)", ram_name);
        goto out;
    }
    if (!dump_parse_color(color_name, stdout, &color)) {
        status = vs_tool_fail(prog, "unknown --color '%s' (auto, always, never)", color_name);
        goto out;
    }
    /* JSON stays JSON: colour only in the text forms. */
    d.c = dump_colors(color && d.format != DUMP_JSON && d.format != DUMP_QEMU_JSON);
    d.globs = (const char *const *)sections;
    o.progress_opaque = (void *)prog;
    o.load.no_schemas = no_schemas;
    o.load.no_description = no_description;
    /* qemu-json has no RAM content; digests are only worked out when printed. */
    o.ram = d.ram == DUMP_RAM_NONE || d.format == DUMP_QEMU_JSON ? VS_INPUT_RAM_NONE
                                                                 : VS_INPUT_RAM_SUMMARY;
    /* Only a page listing needs the page records kept. */
    o.stream_ram = d.ram != DUMP_RAM_PAGES;
    if (!dump_open(prog, ctx, argv[1], &o, &d.in, &err, &status)) {
        goto out;
    }
    if (err) {
        VsRecord *failed = talloc_zero(ctx, VsRecord);

        failed->kind = VS_REC_SECTION;
        failed->offset = vs_input_decoded_end(d.in);
        if (vs_input_failed_section(d.in, ctx, &failed->section)) {
            d.failed = failed;
        }
    }
    dump_render(&d, err);
    dump_spill(&d, true);
    if (d.write_failed || fflush(stdout) != 0) {
        status = vs_tool_fail(prog, "cannot write the output: %s", g_strerror(errno));
        goto out;
    }
    if (err) {
        bool ecolor = false;
        DumpColors ec;

        dump_parse_color(color_name, stderr, &ecolor);
        ec = dump_colors(ecolor);

        status = dump_load_error(prog, d.in, err, &ec);
    }
out:
    talloc_free(ctx);
    return status;
}
