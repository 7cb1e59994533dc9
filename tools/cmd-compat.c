/*
 * cmd-compat.c: `vstate compat`, the dynamic compatibility harness
 * (compat/compat.h): random states saved and loaded across every schema
 * version the build knows, in both forms, the golden streams, and the
 * coverage table.
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat/compat.h"
#include "tools/commands.h"
#include "tools/streamtool.h"

static const VsToolHelp compat_help = {
    .params = "",
    .description =
        "For each device section and each older schema of it (schema/history/), generate\n"
        "random valid states and move them through the walkers with hooks off, in QEMU's\n"
        "legacy form and in BER:\n"
        "  new->new  save, load, re-save: equal bytes, equal traces\n"
        "  old->new  the older schema saves, the current loads: common fields equal, the\n"
        "            others at their declared defaults\n"
        "  new->old  the reverse, where the older accepts the current version; a state that\n"
        "            needs a subsection the older lacks must be refused\n"
        "BER loads are strict. Cases listed in --known-breaks must refuse every state with\n"
        "the error they name; --golden also loads the golden streams of DIR.\n"
        "A failure names the first diverging field and the seed. The coverage table that\n"
        "follows fails the run when a case found nothing to test.\n"
        "\n"
        "Exit status: 0 all cases passed, 1 a case failed, 2 bad usage.",
};

int vs_cmd_compat(const char *prog, int argc, char **argv)
{
    gint states = 50;
    gint64 seed = 1;
    g_autofree char *device = NULL;
    g_autofree char *golden = NULL;
    g_autofree char *write_golden = NULL;
    g_autofree char *known_breaks = NULL;
    g_autofree char *schema_dir = NULL;
    GOptionEntry entries[] = {
        { "states", 'n', 0, G_OPTION_ARG_INT, &states,
          "random states per case (default 50)", "N" },
        { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "the run's seed (default 1)", "S" },
        { "device", 'd', 0, G_OPTION_ARG_STRING, &device,
          "only this device (schema name or section name)", "NAME" },
        { "known-breaks", 'k', 0, G_OPTION_ARG_FILENAME, &known_breaks,
          "cases declared to refuse every state (tests/compat/known-breaks)", "FILE" },
        { "golden", 'g', 0, G_OPTION_ARG_FILENAME, &golden,
          "also load the golden streams of DIR and compare their traces", "DIR" },
        { "schemas", 0, 0, G_OPTION_ARG_FILENAME, &schema_dir,
          "fail unless every schema of DIR and DIR/history is in this build", "DIR" },
        { "write-golden", 0, 0, G_OPTION_ARG_FILENAME, &write_golden,
          "write the golden streams missing from DIR, then stop", "DIR" },
        { NULL },
    };
    VsCompatOptions opts = { 0 };
    int status = VS_TOOL_EXIT_ERROR;

    if (!vs_tool_parse_options(prog, &compat_help, entries, &argc, &argv, &status)) {
        return status;
    }
    if (argc != 1) {
        return vs_tool_fail(prog, "unexpected argument '%s'; see --help", argv[1]);
    }
    if (states < 1) {
        return vs_tool_fail(prog, "--states must be at least 1");
    }
    if (device) {
        bool known = false;

        for (size_t i = 0; i < vs_compat_n_devices; i++) {
            known |= strcmp(device, vs_compat_devices[i].device) == 0 ||
                     strcmp(device, vs_compat_devices[i].section) == 0;
        }
        if (!known) {
            return vs_tool_fail(prog, "no device '%s' (a schema or section name)", device);
        }
    }
    if (write_golden) {
        g_autoptr(GError) err = NULL;

        if (!vs_compat_write_golden(write_golden, stdout, &err)) {
            return vs_tool_fail(prog, "%s", err->message);
        }
        return VS_TOOL_EXIT_OK;
    }
    opts.states = (uint32_t)states;
    opts.seed = (uint64_t)seed;
    opts.device = device;
    opts.golden_dir = golden;
    opts.known_breaks = known_breaks;
    opts.schema_dir = schema_dir;
    opts.out = stdout;
    status = vs_compat_run(&opts) ? VS_TOOL_EXIT_OK : VS_TOOL_EXIT_DIFFERENT;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        return vs_tool_fail(prog, "writing standard output failed");
    }
    return status;
}
