/*
 * vstate.c: the `vstate` command line, git-style subcommands.
 *
 * SPDX-License-Identifier: MIT
 *
 * Exit status, for every subcommand: 0 success, 1 differences found (for
 * commands that compare), 2 error, with a one-line message on stderr.
 */
#include <errno.h>
#include <glib/gstdio.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "examples/example-walkers.h"
#include "visitor/pretty/pretty.h"
#include "visitor/pretty/tee-visitor.h"
#include "visitor/qemufile/legacy-visitor.h"
#include "visitor/registry.h"
#include "migration/savevm.h"
#include "migration/stream.h"
#include "vs-version.h"
#include "tools/commands.h"

enum {
    EXIT_OK = 0,
    EXIT_DIFFERENT = 1,
    EXIT_ERROR = 2,
};

/* Largest state body `print` reads when no --length bounds it. */
#define PRINT_MAX_INPUT (64u << 20)

typedef struct Command {
    const char *name;
    const char *summary;
    int (*run)(const char *prog, int argc, char **argv);
} Command;

static int fail(const char *prog, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static int fail(const char *prog, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_ERROR;
}

static int fail_gerror(const char *prog, const GError *err)
{
    return fail(prog, "%s", err->message);
}

/*
 * Parses the options of one subcommand.  --help is handled here rather than
 * by GOption, which would exit() from inside the parse.  On false,
 * *ret_status says whether that was help (0) or a bad option (2).
 */
static bool parse_options(const char *prog, const char *params, const char *summary,
                          const GOptionEntry *entries, int *argc, char ***argv,
                          int *ret_status)
{
    g_autoptr(GOptionContext) oc = g_option_context_new(params);
    g_autoptr(GError) err = NULL;
    gboolean help = FALSE;
    const GOptionEntry help_entry[] = {
        { "help", 'h', 0, G_OPTION_ARG_NONE, &help, "show this help", NULL },
        { NULL },
    };

    g_set_prgname(prog);
    g_option_context_set_summary(oc, summary);
    g_option_context_set_help_enabled(oc, FALSE);
    g_option_context_add_main_entries(oc, help_entry, NULL);
    g_option_context_add_main_entries(oc, entries, NULL);
    if (!g_option_context_parse(oc, argc, argv, &err)) {
        *ret_status = fail(prog, "%s (try --help)", err->message);
        return false;
    }
    if (help) {
        g_autofree char *text = g_option_context_get_help(oc, TRUE, NULL);

        fputs(text, stdout);
        *ret_status = EXIT_OK;
        return false;
    }
    return true;
}

static bool parse_format(const char *name, VsRenderFormat *ret_format)
{
    static const struct {
        const char *name;
        VsRenderFormat format;
    } formats[] = {
        { "trace", VS_RENDER_TRACE },
        { "tree", VS_RENDER_TREE },
        { "json", VS_RENDER_JSON_PRETTY },
        { "json-compact", VS_RENDER_JSON },
    };

    if (!name) {
        /* People read trees; pipes and scripts get the diff-friendly trace. */
        *ret_format = isatty(STDOUT_FILENO) ? VS_RENDER_TREE : VS_RENDER_TRACE;
        return true;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(formats); i++) {
        if (strcmp(name, formats[i].name) == 0) {
            *ret_format = formats[i].format;
            return true;
        }
    }
    return false;
}

/* ---- loading one state body ------------------------------------------- */

/*
 * Loads one state of @entry's type from @f with the legacy visitor, building
 * the tree of what was loaded.  On failure *ret_tree holds the part loaded
 * before the error, which is often the most useful thing to show.
 */
static bool load_legacy(TALLOC_CTX *ctx, VsQemuFile *f, const VsRegistryEntry *entry,
                        const char *name, bool has_version, uint32_t version, void **ret_obj,
                        VsNode **ret_tree, GError **errp)
{
    void *obj = vs_registry_new_object(ctx, entry);
    VsVisitor *load = vs_legacy_load_visitor_new(ctx, f, obj);
    VsVisitor *builder = vs_tree_builder_new(ctx, ctx);
    VsVisitor *tee = vs_tee_visitor_new(ctx, load, builder);
    bool ok;

    if (has_version) {
        vs_visitor_set_root_version(load, version);
    }
    ok = entry->walker(tee, name, obj, errp) && vs_visitor_complete(tee, errp);
    *ret_tree = vs_tree_builder_root(builder);
    *ret_obj = obj;
    return ok;
}

/* ---- vstate print ------------------------------------------------------ */

static bool read_input(TALLOC_CTX *ctx, const char *path, uint64_t offset, int64_t length,
                       uint8_t **ret_data, size_t *ret_len, GError **errp)
{
    VsQemuFile *f;
    uint8_t *data;
    size_t cap = length >= 0 ? (size_t)length : PRINT_MAX_INPUT;
    size_t got;

    if (strcmp(path, "-") == 0) {
        f = vs_qemufile_new_fd(ctx, STDIN_FILENO, VS_QEMUFILE_READ, false);
    } else {
        f = vs_qemufile_open_path(ctx, path, VS_QEMUFILE_READ, errp);
        if (!f) {
            return false;
        }
    }
    if (vs_qemufile_skip(f, offset) != offset) {
        g_set_error(errp, VS_QEMUFILE_ERROR, VS_QEMUFILE_ERROR_EOF,
                    "%s: offset %" PRIu64 " is past the end of the input", path, offset);
        return false;
    }
    data = talloc_size(ctx, cap + 1);
    g_assert(data != NULL);
    got = vs_qemufile_get_buffer(f, data, cap);
    if (length >= 0 && got < cap) {
        g_set_error(errp, VS_QEMUFILE_ERROR, VS_QEMUFILE_ERROR_EOF,
                    "%s: only %zu of the %zu bytes asked for follow offset %" PRIu64, path, got,
                    cap, offset);
        return false;
    }
    if (length < 0 && got == cap && !vs_qemufile_at_eof(f)) {
        g_set_error(errp, VS_QEMUFILE_ERROR, VS_QEMUFILE_ERROR_IO,
                    "%s: input larger than %u bytes; give --length", path, PRINT_MAX_INPUT);
        return false;
    }
    *ret_data = data;
    *ret_len = got;
    return true;
}

static int cmd_print(const char *prog, int argc, char **argv)
{
    g_autofree char *type = NULL;
    g_autofree char *format_name = NULL;
    gint64 offset = 0;
    gint64 length = -1;
    gint version = -1;
    GOptionEntry entries[] = {
        { "type", 't', 0, G_OPTION_ARG_STRING, &type, "wire name of the state's type (see `vstate types`)", "NAME" },
        { "format", 'f', 0, G_OPTION_ARG_STRING, &format_name, "tree, trace, json or json-compact (default: tree on a terminal, else trace)", "FORMAT" },
        { "version", 'V', 0, G_OPTION_ARG_INT, &version, "version the state was written with (default: the type's current one)", "N" },
        { "offset", 'o', 0, G_OPTION_ARG_INT64, &offset, "byte offset of the state in FILE", "BYTES" },
        { "length", 'l', 0, G_OPTION_ARG_INT64, &length, "bytes the state occupies (default: to the end of FILE)", "BYTES" },
        { NULL },
    };
    TALLOC_CTX *ctx = talloc_new(NULL);
    const VsRegistryEntry *entry;
    VsRenderFormat format;
    g_autoptr(GError) err = NULL;
    uint8_t *data;
    size_t len;
    VsQemuFile *f;
    VsNode *tree = NULL;
    void *obj;
    bool ok;
    int status = EXIT_ERROR;

    if (!parse_options(prog, "FILE|-",
                       "Decode one device state written in QEMU's legacy format and print it.",
                       entries, &argc, &argv, &status)) {
        goto out;
    }
    if (argc != 2) {
        status = fail(prog, "expected one FILE (or - for standard input)");
        goto out;
    }
    if (!type) {
        status = fail(prog, "--type is required (see `vstate types`)");
        goto out;
    }
    entry = vs_registry_lookup(type);
    if (!entry) {
        status = fail(prog, "no compiled schema for '%s' (see `vstate types`)", type);
        goto out;
    }
    if (!parse_format(format_name, &format)) {
        status = fail(prog, "unknown format '%s' (tree, trace, json, json-compact)", format_name);
        goto out;
    }
    if (offset < 0 || length < -1) {
        status = fail(prog, "--offset and --length must not be negative");
        goto out;
    }
    if (!read_input(ctx, argv[1], (uint64_t)offset, length, &data, &len, &err)) {
        status = fail_gerror(prog, err);
        goto out;
    }
    /* Offsets in messages are the file's, not the state's. */
    f = vs_qemufile_new_memory_reader_at(ctx, data, len, (uint64_t)offset);
    ok = load_legacy(ctx, f, entry, type, version >= 0, (uint32_t)version, &obj, &tree, &err);
    if (tree) {
        /* Print what was decoded even when the load failed part-way. */
        vs_render_file(stdout, tree, format, NULL);
        fflush(stdout);
    }
    if (!ok) {
        status = fail_gerror(prog, err);
        goto out;
    }
    if (vs_qemufile_pos(f) - (uint64_t)offset != len) {
        status = fail(prog, "%" PRIu64 " byte(s) follow the state of '%s' at offset %" PRIu64
                      ": the schema and the stream disagree",
                      (uint64_t)offset + len - vs_qemufile_pos(f), type, vs_qemufile_pos(f));
        goto out;
    }
    status = EXIT_OK;
out:
    talloc_free(ctx);
    return status;
}

/* ---- vstate types ------------------------------------------------------ */

static int cmd_types(const char *prog, int argc, char **argv)
{
    GOptionEntry entries[] = { { NULL } };
    TALLOC_CTX *ctx = talloc_new(NULL);
    const VsRegistryEntry **list;
    int status = EXIT_ERROR;

    if (!parse_options(prog, "", "List the state types this build can decode.", entries, &argc,
                       &argv, &status)) {
        goto out;
    }
    if (argc != 1) {
        status = fail(prog, "no arguments expected");
        goto out;
    }
    printf("%-16s %-16s %8s %8s %6s\n", "WIRE NAME", "TYPE", "VERSION", "MINIMUM", "SIZE");
    list = vs_registry_list(ctx);
    for (size_t i = 0; list[i]; i++) {
        const VsTypeInfo *t = list[i]->type;

        printf("%-16s %-16s %8" PRIu32 " %8" PRIu32 " %6zu\n", t->wire_name, t->name,
               t->version, t->minimum_version, t->size);
    }
    status = EXIT_OK;
out:
    talloc_free(ctx);
    return status;
}

/* ---- vstate demo ------------------------------------------------------- */

#define DEMO_RAM_SIZE (1u << 20)
#define DEMO_MACHINE "pc-i440fx-7.2"

typedef struct DemoDevice {
    const char *idstr;
    uint32_t instance_id;
    const VsRegistryEntry *entry;
    void *obj;
    VsNode *saved;
} DemoDevice;

/* The PIC pair as SeaBIOS leaves it (the values QEMU 7.2 saved after boot). */
static void demo_fill_pics(VsExPic *master, VsExPic *slave)
{
    *master = (VsExPic){ .last_irr = 0x01, .imr = 0xb8, .irq_base = 0x08, .init4 = 1 };
    *slave = (VsExPic){ .imr = 0x8e, .irq_base = 0x70, .init4 = 1, .elcr = 0x0c };
}

/* Guest RAM with zero pages, constant pages and a pattern, as a guest has. */
static uint8_t *demo_ram(TALLOC_CTX *ctx)
{
    uint8_t *ram = talloc_zero_size(ctx, DEMO_RAM_SIZE);

    g_assert(ram != NULL);
    for (size_t page = 0; page < DEMO_RAM_SIZE / 4096; page += 3) {
        for (size_t i = 0; i < 4096; i++) {
            ram[page * 4096 + i] = page % 2 ? 0xaa : (uint8_t)(page * 7 + i * 13);
        }
    }
    return ram;
}

/* A tree of what a device holds, made by walking it (nothing is written). */
static VsNode *demo_tree(TALLOC_CTX *ctx, DemoDevice *d, GError **errp)
{
    VsVisitor *builder = vs_tree_builder_new(ctx, ctx);
    bool ok = d->entry->walker(builder, d->idstr, d->obj, errp) &&
              vs_visitor_complete(builder, errp);

    return ok ? vs_tree_builder_root(builder) : NULL;
}

static bool demo_write(TALLOC_CTX *ctx, const char *path, DemoDevice *devs, size_t n,
                       const uint8_t *ram, GError **errp)
{
    VsSaveState *save = vs_savevm_new(ctx, DEMO_MACHINE);
    VsQemuFile *f;

    if (!vs_savevm_add_ram_block(save, "pc.ram", ram, DEMO_RAM_SIZE, errp)) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        devs[i].saved = demo_tree(ctx, &devs[i], errp);
        if (!devs[i].saved ||
            !vs_savevm_add_device(save, devs[i].idstr, devs[i].instance_id, devs[i].entry,
                                  devs[i].obj, 0, errp)) {
            return false;
        }
    }
    f = vs_qemufile_open_path(ctx, path, VS_QEMUFILE_WRITE, errp);
    return f && vs_savevm_write(save, f, errp) && vs_qemufile_close(f, errp);
}

/* Compares every device section of @s with what was saved; counts differences. */
static size_t demo_compare(TALLOC_CTX *ctx, VsStream *s, DemoDevice *devs, size_t n,
                           const char *how)
{
    size_t diffs = 0;

    for (size_t i = 0; i < n; i++) {
        VsSection *sec = vs_stream_find_section(s, devs[i].idstr, devs[i].instance_id);
        char *where = NULL;
        char *why = NULL;

        if (!sec || !sec->state) {
            printf("  %s %" PRIu32 ": missing from the stream\n", devs[i].idstr,
                   devs[i].instance_id);
            diffs++;
        } else if (!vs_node_compare(devs[i].saved, sec->state, ctx, &where, &why)) {
            printf("  %s %" PRIu32 " (decoded by %s) differs at %s: %s\n", devs[i].idstr,
                   devs[i].instance_id, how, where, why);
            diffs++;
        }
    }
    return diffs;
}

static void demo_summary(const VsStream *s)
{
    size_t pages = 0, zero = 0;

    for (size_t i = 0; i < s->n_records; i++) {
        const VsSection *sec = &s->records[i].section;

        if (s->records[i].kind != VS_REC_SECTION) {
            continue;
        }
        for (size_t r = 0; r < sec->n_ram; r++) {
            pages += (sec->ram[r].flags & VS_RAM_PAGE) != 0;
            zero += (sec->ram[r].flags & VS_RAM_ZERO) != 0;
        }
        if (sec->type == VS_MIG_SECTION_FULL || sec->type == VS_MIG_SECTION_START) {
            printf("  section %-8s instance %" PRIu32 " id %" PRIu32 " version %" PRIu32
                   ": decoded by %s\n", sec->idstr, sec->instance_id, sec->section_id,
                   sec->version_id, vs_decoded_by_name(sec->decoded_by));
        }
    }
    printf("  RAM: %zu pages sent as data, %zu as zero pages; description trailer of %zu "
           "bytes\n", pages, zero, s->vmdesc_len);
}

static bool demo_reencode(TALLOC_CTX *ctx, const VsStream *s, const uint8_t *orig, size_t len,
                          GError **errp)
{
    VsQemuFile *out = vs_qemufile_new_memory_writer(ctx);
    const uint8_t *bytes;
    size_t out_len;

    if (!vs_stream_encode(s, out, errp) || !vs_qemufile_flush(out, errp)) {
        return false;
    }
    bytes = vs_qemufile_memory_data(out, &out_len);
    return out_len == len && memcmp(bytes, orig, len) == 0;
}

static int cmd_demo(const char *prog, int argc, char **argv)
{
    g_autofree char *out_path = NULL;
    g_autofree char *format_name = NULL;
    GOptionEntry entries[] = {
        { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out_path, "keep the stream in this file (default: a temporary file)", "FILE" },
        { "format", 'f', 0, G_OPTION_ARG_STRING, &format_name, "how to print the state: tree (default), trace, json", "FORMAT" },
        { NULL },
    };
    TALLOC_CTX *ctx = talloc_new(NULL);
    g_autoptr(GError) err = NULL;
    g_autofree char *tmpdir = NULL;
    g_autofree char *path = NULL;
    g_autofree char *data = NULL;
    gsize len = 0;
    VsExPic master, slave;
    VsExDemo demo;
    VsExInner slots[VS_EX_SLOTS];
    DemoDevice devs[3];
    VsRenderFormat format = VS_RENDER_TREE;
    VsLoadOptions desc_only = { .no_schemas = true };
    VsStream *by_schema = NULL, *by_desc = NULL;
    size_t diffs;
    int status = EXIT_ERROR;

    if (!parse_options(prog, "",
                       "Save device states and guest RAM as a QEMU 7.2 migration stream, print "
                       "them, load the stream back two ways and check that nothing changed.",
                       entries, &argc, &argv, &status)) {
        goto out;
    }
    if (format_name && !parse_format(format_name, &format)) {
        status = fail(prog, "unknown format '%s' (tree, trace, json, json-compact)", format_name);
        goto out;
    }
    if (out_path) {
        path = g_strdup(out_path);
    } else {
        tmpdir = g_dir_make_tmp("vstate-demo-XXXXXX", &err);
        if (!tmpdir) {
            status = fail_gerror(prog, err);
            goto out;
        }
        path = g_build_filename(tmpdir, "demo.mig", NULL);
    }

    demo_fill_pics(&master, &slave);
    vs_ex_demo_fill(&demo, slots, 1);
    devs[0] = (DemoDevice){ "i8259", 0, vs_registry_lookup("i8259"), &master, NULL };
    devs[1] = (DemoDevice){ "i8259", 1, vs_registry_lookup("i8259"), &slave, NULL };
    devs[2] = (DemoDevice){ "vsdemo", 0, vs_registry_lookup("vsdemo"), &demo, NULL };

    printf("1. writing a QEMU 7.2 migration stream (%s, 1 MiB of RAM, %zu devices) to %s\n",
           DEMO_MACHINE, G_N_ELEMENTS(devs), path);
    if (!demo_write(ctx, path, devs, G_N_ELEMENTS(devs), demo_ram(ctx), &err) ||
        !g_file_get_contents(path, &data, &len, &err)) {
        status = fail_gerror(prog, err);
        goto out;
    }
    printf("2. the device states saved:\n");
    for (size_t i = 0; i < G_N_ELEMENTS(devs); i++) {
        vs_render_file(stdout, devs[i].saved, format, NULL);
    }
    printf("3. loading the stream with the compiled schemas, then from its own description\n");
    if (!vs_stream_load(ctx, (const uint8_t *)data, len, NULL, &by_schema, &err) ||
        !vs_stream_load(ctx, (const uint8_t *)data, len, &desc_only, &by_desc, &err)) {
        status = fail_gerror(prog, err);
        goto out;
    }
    demo_summary(by_schema);
    diffs = demo_compare(ctx, by_schema, devs, G_N_ELEMENTS(devs), "schema");
    if (diffs) {
        printf("FAILED: %zu device state(s) changed in the round trip\n", diffs);
        status = EXIT_DIFFERENT;
        goto out;
    }
    printf("4. re-encoding both loads through the record layer\n");
    if (!demo_reencode(ctx, by_schema, (const uint8_t *)data, len, &err) ||
        !demo_reencode(ctx, by_desc, (const uint8_t *)data, len, &err)) {
        status = err ? fail_gerror(prog, err)
                     : fail(prog, "the re-encoded stream differs from %s", path);
        goto out;
    }
    printf("OK: %zu device states identical after the round trip; both re-encodings are "
           "byte-identical (%zu bytes)\n", G_N_ELEMENTS(devs), (size_t)len);
    status = EXIT_OK;
out:
    if (tmpdir) {
        g_unlink(path);
        g_rmdir(tmpdir);
    }
    talloc_free(ctx);
    return status;
}

/* ---- vstate import-vmstate ---------------------------------------------- */

/*
 * The importer is Python (codegen/vstate_import.py, next to the schema
 * compiler): found in the source tree this binary was built from, else
 * where `meson install` put it.
 */
static char *find_importer(void)
{
    const char *dirs[] = { g_getenv("VSTATE_CODEGEN_DIR"), VS_CODEGEN_SOURCE_DIR,
                           VS_CODEGEN_INSTALL_DIR };

    for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++) {
        char *path;

        if (!dirs[i]) {
            continue;
        }
        path = g_build_filename(dirs[i], "vstate_import.py", NULL);
        if (g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
            return path;
        }
        g_free(path);
    }
    return NULL;
}

static int cmd_import_vmstate(const char *prog, int argc, char **argv)
{
    g_autofree char *importer = find_importer();
    g_autofree char **args = g_new0(char *, argc + 3);

    if (!importer) {
        return fail(prog, "the importer vstate_import.py is not installed "
                    "(set VSTATE_CODEGEN_DIR to its directory)");
    }
    args[0] = (char *)"python3";
    args[1] = importer;
    for (int i = 1; i < argc; i++) {
        args[i + 1] = argv[i];
    }
    fflush(stdout);
    execvp(args[0], args);
    return fail(prog, "cannot run python3: %s", g_strerror(errno));
}

/* ---- dispatch ---------------------------------------------------------- */

static int cmd_help(const char *prog, int argc, char **argv);

static const Command commands[] = {
    { "demo", "write a QEMU migration stream, print it, load it back and compare", cmd_demo },
    { "print", "decode one device state in QEMU's legacy format and print it", cmd_print },
    { "types", "list the state types this build can decode", cmd_types },
    { "dump", "print every section of a stream (tree, trace, json, qemu-json)", vs_cmd_dump },
    { "describe", "list a stream's header facts and sections, with how each was decoded", vs_cmd_describe },
    { "diff", "compare two streams field by field, then sections and RAM pages", vs_cmd_diff },
    { "convert", "re-encode a stream as legacy or BER (legacy -> BER -> legacy is exact)", vs_cmd_convert },
    { "trace", "print the visit trace of loading a stream, one line per scalar", vs_cmd_trace },
    { "import-vmstate", "turn QEMU's -dump-vmstate JSON into .vs schemas", cmd_import_vmstate },
    { "vm", "run the demo VM: RAM, devices, a workload, QMP, live migration in and out", vs_cmd_vm },
    { "check", "find schema changes that break migration, and in which direction", vs_cmd_check },
    { "compat", "save and load random states across schema versions, check golden streams", vs_cmd_compat },
    { "help", "show this help, or a command's (vstate help COMMAND)", cmd_help },
};

static void usage(FILE *fp)
{
    fprintf(fp, "usage: vstate [--version] [--help] COMMAND [ARGS]\n\n"
                "Virtual-machine device state: decode, print and check it.\n\ncommands:\n");
    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
        fprintf(fp, "  %-15s %s\n", commands[i].name, commands[i].summary);
    }
    fprintf(fp, "\n`vstate COMMAND --help` describes a command's options.\n"
                "Exit status: 0 success, 1 differences found, 2 error.\n");
}

static const Command *find_command(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
        if (strcmp(commands[i].name, name) == 0) {
            return &commands[i];
        }
    }
    return NULL;
}

static int cmd_help(const char *prog, int argc, char **argv)
{
    const Command *c;
    char *help_argv[3];
    g_autofree char *prog_name = NULL;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    c = find_command(argv[1]);
    if (!c || c->run == cmd_help) {
        return c ? (usage(stdout), EXIT_OK) : fail(prog, "unknown command '%s'", argv[1]);
    }
    help_argv[0] = argv[1];
    help_argv[1] = (char *)"--help";
    help_argv[2] = NULL;
    /* The same program name as `vstate COMMAND --help` shows. */
    prog_name = g_strdup_printf("vstate %s", c->name);
    return c->run(prog_name, 2, help_argv);
}

int main(int argc, char **argv)
{
    const Command *c;
    g_autofree char *prog = NULL;

    vs_ex_register();
    if (argc < 2) {
        usage(stderr);
        return EXIT_ERROR;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("vstate %s\n", VS_VERSION_STRING);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    c = find_command(argv[1]);
    if (!c) {
        fprintf(stderr, "vstate: unknown command '%s' (see vstate --help)\n", argv[1]);
        return EXIT_ERROR;
    }
    prog = g_strdup_printf("vstate %s", c->name);
    return c->run(prog, argc - 1, argv + 1);
}
