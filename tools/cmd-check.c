/*
 * cmd-check.c: `vstate check OLD NEW`, the static compatibility checker:
 * which changes between two schema sets (.vs files, directories of them, or
 * QEMU -dump-vmstate JSON) break migration, and in which direction.
 *
 * SPDX-License-Identifier: MIT
 *
 * The checker is Python (codegen/vstate_check.py), because it reads schemas
 * with the schema compiler's own parser and checks.  This command finds the
 * script and runs it with the same arguments, so options, output and exit
 * status (0 compatible, 1 incompatible, 2 error) are the script's; see
 * docs/compat.md.
 */
#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tools/commands.h"

#define CHECK_SCRIPT "vstate_check.py"
#define EXIT_ERROR 2

/*
 * The script sits next to the schema compiler: $VSTATE_CODEGEN_DIR when
 * set, else the source tree this binary was built from, else where
 * `meson install` put it.  Returns NULL when none holds it.
 */
static char *find_check_script(void)
{
    const char *dirs[] = { g_getenv("VSTATE_CODEGEN_DIR"), VS_CODEGEN_SOURCE_DIR,
                           VS_CODEGEN_INSTALL_DIR };

    for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++) {
        char *path;

        if (!dirs[i] || !dirs[i][0]) {
            continue;
        }
        path = g_build_filename(dirs[i], CHECK_SCRIPT, NULL);
        if (g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
            return path;
        }
        g_free(path);
    }
    return NULL;
}

int vs_cmd_check(const char *prog, int argc, char **argv)
{
    g_autofree char *script = find_check_script();
    g_autofree char **args = NULL;

    if (!script) {
        fprintf(stderr, "%s: the checker %s is not installed (set VSTATE_CODEGEN_DIR to "
                "its directory)\n", prog, CHECK_SCRIPT);
        return EXIT_ERROR;
    }
    /* python3 SCRIPT ARGS... NULL; argv[0] is the command's name. */
    args = g_new0(char *, (size_t)argc + 2);
    args[0] = (char *)"python3";
    args[1] = script;
    for (int i = 1; i < argc; i++) {
        args[i + 1] = argv[i];
    }
    fflush(stdout);
    execvp(args[0], args);
    fprintf(stderr, "%s: cannot run python3: %s\n", prog, g_strerror(errno));
    return EXIT_ERROR;
}
