/*
 * fuzz-replay.c: runs a fuzz target's entry point over stored inputs, so
 * the corpus is replayed by every ordinary test run (no libFuzzer needed).
 *
 * SPDX-License-Identifier: MIT
 *
 * Usage: fuzz-replay DIR|FILE...  Prints one line per input and a count.
 */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) err = NULL;

    if (!g_file_get_contents(path, &data, &len, &err)) {
        fprintf(stderr, "fuzz-replay: %s\n", err->message);
        return 1;
    }
    LLVMFuzzerTestOneInput((const uint8_t *)data, len);
    return 0;
}

static int replay_dir(const char *dir, unsigned *count)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GDir) d = g_dir_open(dir, 0, &err);
    const char *name;
    int failures = 0;

    if (!d) {
        fprintf(stderr, "fuzz-replay: %s\n", err->message);
        return 1;
    }
    while ((name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);

        failures += replay_file(path);
        (*count)++;
    }
    return failures;
}

int main(int argc, char **argv)
{
    unsigned count = 0;
    int failures = 0;

    for (int i = 1; i < argc; i++) {
        if (g_file_test(argv[i], G_FILE_TEST_IS_DIR)) {
            failures += replay_dir(argv[i], &count);
        } else {
            failures += replay_file(argv[i]);
            count++;
        }
    }
    printf("replayed %u inputs, %d unreadable\n", count, failures);
    return failures ? 1 : 0;
}
