/*
 * cmd-describe.c: `vstate describe`, the facts of a migration stream
 * without its values: the form and who wrote it, the machine type, then
 * per section where it is, how big, and how it was decoded.
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tools/commands.h"
#include "tools/dump-util.h"
#include "tools/streamtool.h"

typedef struct Describe {
    VsInput *in;
    bool json;
    DumpColors c;
    GString *out;
    size_t n_sections;
    const VsRecord *failed; /* the section the load failed in */
} Describe;

static const DumpHelp describe_help = {
    .synopsis = "FILE|-",
    .description =
        "Describe a migration stream (QEMU 7.2's legacy form or vstate's BER form; - reads\n"
        "standard input): first the header facts (the form, the writer's identity for BER,\n"
        "the machine type from the configuration section, the target page size, the\n"
        "description trailer; for BER the header's schema list: per section the SHA-256\n"
        "of the writer's schema, whether it is this build's, and the must-understand\n"
        "marks, with a note for each section whose schema differs or is unknown here),\n"
        "then one line per section record in stream order: idstr, instance, version,\n"
        "section id, record type, byte offset and size in the stream\n"
        "(header and footer included; BER records have no legacy offsets), and how its\n"
        "content was decoded:\n"
        "  schema       a compiled walker registered for the section's wire name\n"
        "  description  the stream's own JSON description trailer\n"
        "  ram          RAM and other iterative sections, decoded by their own reader\n"
        "  opaque       kept as bytes\n"
        "Commands (postcopy, return path, packages) are listed where they occur.  When the\n"
        "stream fails to load, the sections before the failure are listed, then the error.",
    .exit_status = "  0  the whole stream was decoded\n"
                   "  2  bad usage, unreadable input, not a stream, or the stream failed to\n"
                   "     load (the sections before the failure were listed)",
    .examples = "  vstate describe ran2s.bin\n"
                "  vstate describe --format=json ran2s.bin | jq -r '.sections[] | "
                "select(.decoded_by == \"description\") | .idstr'\n"
                "  cat ran2s.ber | vstate describe -",
};

/* ---- the BER header's schema list -------------------------------------------------- */

static const char *const describe_match_names[] = {
    [VS_BER_SCHEMA_SAME] = "same",
    [VS_BER_SCHEMA_DIFFERS] = "differs",
    [VS_BER_SCHEMA_NO_DIGEST] = "no_digest",
    [VS_BER_SCHEMA_UNKNOWN] = "unknown",
};

static const char *const describe_match_text[] = {
    [VS_BER_SCHEMA_SAME] = "same as this build's",
    [VS_BER_SCHEMA_DIFFERS] = "DIFFERS from this build's",
    [VS_BER_SCHEMA_NO_DIGEST] = "none sent; this build has one",
    [VS_BER_SCHEMA_UNKNOWN] = "no schema in this build",
};

static void describe_hex(GString *o, const uint8_t *bytes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        g_string_append_printf(o, "%02x", bytes[i]);
    }
}

/*
 * Notes on the schema list: each section whose writer's schema is not this
 * build's (a load checks its fields one by one), and whether a load into
 * this build refuses the stream (a must-understand section it has no
 * schema for).  Sections with no schema here are marked on their line.
 */
static GPtrArray *describe_schema_notes(const VsBerStreamInfo *info)
{
    GPtrArray *notes = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) refused = NULL;

    for (size_t i = 0; i < info->n_sections; i++) {
        const VsBerSectionSchema *e = &info->sections[i];

        if (e->match == VS_BER_SCHEMA_DIFFERS || e->match == VS_BER_SCHEMA_NO_DIGEST) {
            g_ptr_array_add(notes,
                            g_strdup_printf("section '%s' instance %" PRIu32 ": %s; a load "
                                            "checks its fields one by one",
                                            e->idstr, e->instance_id,
                                            e->match == VS_BER_SCHEMA_DIFFERS
                                                ? "the writer's schema differs from this build's"
                                                : "the writer sent no schema digest"));
        }
    }
    if (!vs_ber_stream_check(info, VS_BER_LENIENT, NULL, &refused)) {
        g_ptr_array_add(notes, g_strdup_printf("a load into this build refuses the stream: %s",
                                               refused->message));
    }
    return notes;
}

static void describe_schemas_text(Describe *d, const VsBerStreamInfo *info)
{
    GString *o = d->out;
    g_autoptr(GPtrArray) notes = describe_schema_notes(info);

    g_string_append_printf(o, "%sschemas:%s    %zu section%s in the header\n", d->c.bold,
                           d->c.reset, info->n_sections, info->n_sections == 1 ? "" : "s");
    for (size_t i = 0; i < info->n_sections; i++) {
        const VsBerSectionSchema *e = &info->sections[i];
        bool odd = e->match != VS_BER_SCHEMA_SAME;

        g_string_append_printf(o, "  %s%s%s instance %" PRIu32 " (%s): ", d->c.section, e->idstr,
                               d->c.reset, e->instance_id, e->wire_name);
        if (e->has_digest) {
            g_string_append(o, "sha256:");
            describe_hex(o, e->digest, VS_BER_DIGEST_LEN);
        } else {
            g_string_append(o, "no digest");
        }
        g_string_append_printf(o, ", %s%s%s%s\n", odd ? d->c.error : "",
                               describe_match_text[e->match], odd ? d->c.reset : "",
                               e->must_understand ? ", must-understand" : "");
    }
    for (guint i = 0; i < notes->len; i++) {
        g_string_append_printf(o, "%snote:%s %s\n", d->c.bold, d->c.reset,
                               (const char *)g_ptr_array_index(notes, i));
    }
}

static void describe_schemas_json(Describe *d, const VsBerStreamInfo *info)
{
    GString *o = d->out;
    g_autoptr(GPtrArray) notes = describe_schema_notes(info);

    g_string_append(o, ",\n  \"schemas\": [");
    for (size_t i = 0; i < info->n_sections; i++) {
        const VsBerSectionSchema *e = &info->sections[i];

        g_string_append_printf(o, "%s\n    {\"idstr\": ", i ? "," : "");
        dump_json_string(o, e->idstr);
        g_string_append_printf(o, ", \"instance\": %" PRIu32 ", \"wire_name\": ",
                               e->instance_id);
        dump_json_string(o, e->wire_name);
        g_string_append(o, ", \"digest\": ");
        if (e->has_digest) {
            g_string_append(o, "\"");
            describe_hex(o, e->digest, VS_BER_DIGEST_LEN);
            g_string_append(o, "\"");
        } else {
            g_string_append(o, "null");
        }
        g_string_append_printf(o, ", \"schema_match\": \"%s\", \"must_understand\": %s}",
                               describe_match_names[e->match],
                               e->must_understand ? "true" : "false");
    }
    g_string_append(o, info->n_sections ? "\n  ],\n  \"schema_notes\": [" : "],\n  \"schema_notes\": [");
    for (guint i = 0; i < notes->len; i++) {
        g_string_append(o, i ? ", " : "");
        dump_json_string(o, g_ptr_array_index(notes, i));
    }
    g_string_append(o, "]");
}

/* ---- text ------------------------------------------------------------------------ */

static void describe_header_text(Describe *d)
{
    const VsStream *s = d->in->stream;
    GString *o = d->out;
    const VsRecord *desc = NULL;

    for (size_t i = 0; s && i < s->n_records; i++) {
        if (s->records[i].kind == VS_REC_VMDESC) {
            desc = &s->records[i];
        }
    }
    g_string_append_printf(o, "%sfile:%s       %s\n", d->c.bold, d->c.reset, d->in->name);
    g_string_append_printf(o, "%sformat:%s     %s, %zu bytes\n", d->c.bold, d->c.reset,
                           d->in->format == VS_INPUT_BER ? "vstate BER stream"
                                                         : "QEMU legacy migration stream",
                           d->in->len);
    if (d->in->format == VS_INPUT_BER) {
        g_string_append_printf(o, "%swriter:%s     %s\n", d->c.bold, d->c.reset,
                               d->in->writer ? d->in->writer : "(unknown)");
    }
    g_string_append_printf(o, "%smachine:%s    %s\n", d->c.bold, d->c.reset,
                           s && s->machine ? s->machine : "(no configuration section)");
    if (s) {
        g_string_append_printf(o, "%spage size:%s  %" PRIu64 "\n", d->c.bold, d->c.reset,
                               s->page_size);
        g_string_append_printf(o, "%strailer:%s    ", d->c.bold, d->c.reset);
        if (!s->vmdesc_raw) {
            g_string_append(o, "none\n");
        } else if (d->in->format == VS_INPUT_BER || !desc) {
            g_string_append_printf(o, "%zu bytes of JSON\n", s->vmdesc_len);
        } else {
            g_string_append_printf(o, "%zu bytes of JSON at offset 0x%" PRIx64 "\n",
                                   s->vmdesc_len, desc->offset);
        }
    }
    if (d->in->ber_info) {
        describe_schemas_text(d, d->in->ber_info);
    }
    g_string_append_printf(o, "%s%-28s %8s %7s %4s %-5s %10s %8s  %s%s\n", d->c.dim, "IDSTR",
                           "INSTANCE", "VERSION", "ID", "TYPE", "OFFSET", "SIZE", "DECODED_BY",
                           d->c.reset);
}

static void describe_record_text(const VsRecord *r, unsigned depth, void *opaque)
{
    Describe *d = opaque;
    bool ber = d->in->format == VS_INPUT_BER;
    g_autofree char *indent = g_strnfill(depth * 2, ' ');
    g_autofree char *offset = ber ? g_strdup("-") : g_strdup_printf("0x%" PRIx64, r->offset);
    g_autofree char *size = ber ? g_strdup("-") : g_strdup_printf("%" PRIu64, r->length);
    const VsSection *sec = &r->section;

    if (r->kind == VS_REC_COMMAND) {
        g_string_append_printf(d->out, "%s%scommand %s%s, %u payload bytes at offset %s\n",
                               indent, d->c.bold, dump_command_name(r->command.cmd),
                               d->c.reset, r->command.len, offset);
        return;
    }
    if (r->kind != VS_REC_SECTION) {
        return;
    }
    g_autofree char *name = g_strconcat(indent, sec->idstr, NULL);

    if (r == d->failed) {
        g_free(size);
        size = g_strdup("?");
    }
    g_string_append_printf(d->out, "%s%-28s%s %8" PRIu32 " %7" PRIu32 " %4" PRIu32
                           " %-5s %10s %8s  %s%s%s%s\n",
                           d->c.section, name, d->c.reset, sec->instance_id, sec->version_id,
                           sec->section_id, dump_section_type(sec->type), offset, size,
                           vs_decoded_by_name(sec->decoded_by), d->c.error,
                           r == d->failed ? " (failed here)" : "", d->c.reset);
}

/* ---- JSON ------------------------------------------------------------------------- */

static void describe_json_nullable(GString *o, const char *s)
{
    if (s) {
        dump_json_string(o, s);
    } else {
        g_string_append(o, "null");
    }
}

static void describe_record_json(const VsRecord *r, unsigned depth, void *opaque)
{
    Describe *d = opaque;
    GString *o = d->out;
    bool ber = d->in->format == VS_INPUT_BER;
    const VsSection *sec = &r->section;

    if (r->kind != VS_REC_SECTION && r->kind != VS_REC_COMMAND) {
        return;
    }
    g_string_append_printf(o, "%s\n    {", d->n_sections++ ? "," : "");
    if (r->kind == VS_REC_COMMAND) {
        g_string_append_printf(o, "\"command\": \"%s\", \"length\": %u",
                               dump_command_name(r->command.cmd), r->command.len);
    } else {
        g_string_append(o, "\"idstr\": ");
        dump_json_string(o, sec->idstr);
        g_string_append_printf(o, ", \"instance\": %" PRIu32 ", \"version\": %" PRIu32
                                  ", \"section_id\": %" PRIu32 ", \"type\": \"%s\"",
                               sec->instance_id, sec->version_id, sec->section_id,
                               dump_section_type(sec->type));
    }
    if (ber) {
        g_string_append(o, ", \"offset\": null, \"size\": null");
    } else if (r == d->failed) {
        g_string_append_printf(o, ", \"offset\": %" PRIu64 ", \"size\": null", r->offset);
    } else {
        g_string_append_printf(o, ", \"offset\": %" PRIu64 ", \"size\": %" PRIu64, r->offset,
                               r->length);
    }
    if (r->kind == VS_REC_SECTION) {
        g_string_append(o, ", \"wire_name\": ");
        describe_json_nullable(o, sec->wire_name);
        g_string_append_printf(o, ", \"decoded_by\": \"%s\", \"complete\": %s",
                               vs_decoded_by_name(sec->decoded_by),
                               r == d->failed ? "false" : "true");
    }
    g_string_append_printf(o, ", \"in_package\": %s}", depth ? "true" : "false");
}

static void describe_json(Describe *d, const GError *err)
{
    const VsStream *s = d->in->stream;
    GString *o = d->out;

    g_string_append(o, "{\n  \"file\": ");
    dump_json_string(o, d->in->name);
    g_string_append_printf(o, ",\n  \"format\": \"%s\",\n  \"size\": %zu,\n  \"writer\": ",
                           vs_input_format_name(d->in->format), d->in->len);
    describe_json_nullable(o, d->in->writer);
    g_string_append(o, ",\n  \"machine\": ");
    describe_json_nullable(o, s ? s->machine : NULL);
    g_string_append_printf(o, ",\n  \"page_size\": %" PRIu64 ",\n  \"trailer_bytes\": ",
                           s ? s->page_size : 0);
    if (s && s->vmdesc_raw) {
        g_string_append_printf(o, "%zu", s->vmdesc_len);
    } else {
        g_string_append(o, "null");
    }
    if (d->in->ber_info) {
        describe_schemas_json(d, d->in->ber_info);
    }
    g_string_append(o, ",\n  \"sections\": [");
    if (s) {
        dump_foreach_record(s, describe_record_json, d);
    }
    if (d->failed) {
        describe_record_json(d->failed, 0, d);
    }
    g_string_append(o, d->n_sections ? "\n  ],\n  \"complete\": " : "],\n  \"complete\": ");
    g_string_append_printf(o, "%s,\n  \"error\": ", err ? "false" : "true");
    describe_json_nullable(o, err ? err->message : NULL);
    g_string_append(o, "\n}\n");
}

int vs_cmd_describe(const char *prog, int argc, char **argv)
{
    g_autofree char *format_name = NULL;
    g_autofree char *color_name = NULL;
    gboolean no_schemas = FALSE, no_description = FALSE;
    GOptionEntry entries[] = {
        { "format", 'f', 0, G_OPTION_ARG_STRING, &format_name, "text (the default) or json", "FORMAT" },
        { "color", 0, 0, G_OPTION_ARG_STRING, &color_name, "auto (the default: on a terminal), always or never", "WHEN" },
        { "no-schemas", 0, 0, G_OPTION_ARG_NONE, &no_schemas, "decode device sections from the stream's description only", NULL },
        { "no-description", 0, 0, G_OPTION_ARG_NONE, &no_description, "ignore the description trailer (decode with compiled schemas only)", NULL },
        { NULL },
    };
    TALLOC_CTX *ctx = talloc_new(NULL);
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GError) err = NULL;
    VsInputOptions o = { .ram = VS_INPUT_RAM_NONE, .stream_ram = true,
                         .progress = dump_progress };
    Describe d = { .out = out };
    bool color = false, ecolor = false;
    DumpColors ec;
    int status = VS_TOOL_EXIT_ERROR;

    if (!dump_parse_options(prog, &describe_help, entries, &argc, &argv, &status)) {
        goto out;
    }
    if (argc != 2) {
        status = vs_tool_fail(prog, "expected one FILE (or - for standard input); see --help");
        goto out;
    }
    if (format_name && strcmp(format_name, "json") != 0 && strcmp(format_name, "text") != 0) {
        status = vs_tool_fail(prog, "unknown format '%s' (text, json)", format_name);
        goto out;
    }
    if (!dump_parse_color(color_name, stdout, &color) ||
        !dump_parse_color(color_name, stderr, &ecolor)) {
        status = vs_tool_fail(prog, "unknown --color '%s' (auto, always, never)", color_name);
        goto out;
    }
    d.json = format_name && strcmp(format_name, "json") == 0;
    d.c = dump_colors(color && !d.json);
    o.progress_opaque = (void *)prog;
    o.load.no_schemas = no_schemas;
    o.load.no_description = no_description;
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
    if (d.json) {
        describe_json(&d, err);
    } else {
        describe_header_text(&d);
        if (d.in->stream) {
            dump_foreach_record(d.in->stream, describe_record_text, &d);
        }
        if (d.failed) {
            describe_record_text(d.failed, 0, &d);
        }
    }
    fwrite(out->str, 1, out->len, stdout);
    if (fflush(stdout) != 0) {
        status = vs_tool_fail(prog, "cannot write the output");
        goto out;
    }
    if (err) {
        ec = dump_colors(ecolor);
        status = dump_load_error(prog, d.in, err, &ec);
    }
out:
    talloc_free(ctx);
    return status;
}
