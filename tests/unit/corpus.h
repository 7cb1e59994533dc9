/*
 * corpus.h: finding and reading the QEMU 7.2 reference streams in tests.
 *
 * SPDX-License-Identifier: MIT
 *
 * Include after <cmocka.h>.  The corpus directory comes from the
 * environment (VSTATE_CORPUS_DIR, set by meson from its corpus_dir option);
 * tests that need it skip, saying why, when it is absent.
 */
#ifndef VSTATE_TEST_CORPUS_H
#define VSTATE_TEST_CORPUS_H

#include <glib.h>
#include <stdint.h>
#include <string.h>

/* The corpus directory (a new string), or NULL when there is none. */
static inline char *vs_test_corpus_dir(void)
{
    const char *dir = g_getenv("VSTATE_CORPUS_DIR");
    g_autofree char *streams = dir ? g_build_filename(dir, "streams", NULL) : NULL;

    if (!streams || !g_file_test(streams, G_FILE_TEST_IS_DIR)) {
        return NULL;
    }
    return g_strdup(dir);
}

#define SKIP_WITHOUT_CORPUS(dir)                                                        \
    do {                                                                                \
        if (!(dir)) {                                                                   \
            print_message("# SKIP VSTATE_CORPUS_DIR does not name the QEMU 7.2 corpus " \
                          "(meson's corpus_dir option)\n");                             \
            skip();                                                                     \
        }                                                                               \
    } while (0)

static inline gint vs_test_cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* streams/<dir>/<name>.bin of corpus @dir, sorted; the paths without ".bin". */
static inline GPtrArray *vs_test_corpus_streams(const char *dir)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *streams = g_build_filename(dir, "streams", NULL);
    g_autoptr(GDir) d = g_dir_open(streams, 0, NULL);
    const char *sub;

    assert_non_null(d);
    while ((sub = g_dir_read_name(d))) {
        g_autofree char *subdir = g_build_filename(streams, sub, NULL);
        g_autoptr(GDir) d2 = g_dir_open(subdir, 0, NULL);
        const char *name;

        while (d2 && (name = g_dir_read_name(d2))) {
            if (g_str_has_suffix(name, ".bin")) {
                g_autofree char *base = g_strndup(name, strlen(name) - 4);

                g_ptr_array_add(out, g_build_filename(subdir, base, NULL));
            }
        }
    }
    g_ptr_array_sort(out, vs_test_cmp_str);
    assert_true(out->len >= 1);
    return out;
}

/* The whole file at @path (g_free it); fails the test when it cannot be read. */
static inline uint8_t *vs_test_read_file(const char *path, size_t *len)
{
    g_autoptr(GError) err = NULL;
    char *data = NULL;
    gsize n = 0;

    if (!g_file_get_contents(path, &data, &n, &err)) {
        print_error("cannot read %s: %s\n", path, err->message);
        fail();
    }
    *len = n;
    return (uint8_t *)data;
}

#endif /* VSTATE_TEST_CORPUS_H */
