/*
 * fuzz-json.c: feeds arbitrary bytes to the strict JSON parser, and checks
 * that the writer and the parser agree on whatever it accepts.
 *
 * SPDX-License-Identifier: MIT
 *
 * Built with -fsanitize=fuzzer when the `fuzzing` option is on; otherwise
 * the same function is driven by fuzz-replay.c over the stored corpus.
 * The whole input is the JSON text (the seeds are plain JSON files).
 * Any input must end in success or a clean GError.  On success:
 *   - both styles of output parse back to an equal tree, and writing that
 *     tree again gives the same bytes (the writer is a fixed point);
 *   - every integer the accessors accept prints back as its literal.
 * A broken property traps, so libFuzzer and the replay test both see it.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "migration/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                 \
    do {                            \
        if (!(cond)) {              \
            __builtin_trap();       \
        }                           \
    } while (0)

/* A failure must be one clean parse error. */
static void check_parse_error(const GError *err)
{
    CHECK(err && err->domain == VS_JSON_ERROR);
    CHECK(err->code == VS_JSON_ERROR_SYNTAX || err->code == VS_JSON_ERROR_TRUNCATED ||
          err->code == VS_JSON_ERROR_ENCODING || err->code == VS_JSON_ERROR_LIMIT);
    CHECK(strstr(err->message, " at offset ") != NULL);
}

/* Accessors on one node: never crash, and integers agree with their text. */
static void check_scalar(const VsJson *v)
{
    char buf[32];
    int64_t i;
    uint64_t u;
    double d;
    bool b;
    size_t len;
    const char *text = vs_json_number_text(v, &len);

    if (vs_json_get_int64(v, &i, NULL)) {
        snprintf(buf, sizeof(buf), "%" PRId64, i);
        CHECK(strcmp(buf, text) == 0 || strcmp(text, "-0") == 0);
    }
    if (vs_json_get_uint64(v, &u, NULL)) {
        snprintf(buf, sizeof(buf), "%" PRIu64, u);
        CHECK(strcmp(buf, text) == 0 || strcmp(text, "-0") == 0);
    }
    if (text) {
        CHECK(len == strlen(text));
        (void)vs_json_get_double(v, &d, NULL);
    }
    if (vs_json_get_string(v, &len, NULL)) {
        CHECK(vs_json_get_string(v, NULL, NULL)[len] == '\0');
    }
    (void)vs_json_get_bool(v, &b, NULL);
}

/* Visits every node without recursion (an explicit stack of parents). */
static void check_tree(const VsJson *root)
{
    g_autoptr(GPtrArray) todo = g_ptr_array_new();

    g_ptr_array_add(todo, (gpointer)root);
    while (todo->len) {
        const VsJson *v = g_ptr_array_steal_index(todo, todo->len - 1);
        size_t n = vs_json_length(v);

        check_scalar(v);
        for (size_t i = 0; i < n; i++) {
            const VsJson *child;

            if (vs_json_kind(v) == VS_JSON_OBJECT) {
                size_t key_len;
                const char *key = vs_json_object_key(v, i, &key_len);

                child = vs_json_object_value(v, i);
                CHECK(key && key[key_len] == '\0');
                /* Lookup finds this member or an earlier one with the same key. */
                CHECK(vs_json_object_get_len(v, key, key_len) != NULL);
            } else {
                child = vs_json_array_get(v, i);
            }
            CHECK(child != NULL);
            g_ptr_array_add(todo, (gpointer)child);
        }
    }
}

static void check_round_trip(TALLOC_CTX *ctx, const VsJson *v, VsJsonStyle style)
{
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GString) again = g_string_new(NULL);
    g_autoptr(GError) err = NULL;
    VsJson *v2;

    vs_json_write(out, v, style);
    v2 = vs_json_parse(ctx, out->str, out->len, NULL, &err);
    CHECK(v2 != NULL);
    CHECK(vs_json_equal(v, v2));
    vs_json_write(again, v2, style);
    CHECK(again->len == out->len && memcmp(again->str, out->str, out->len) == 0);
    talloc_free(v2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    TALLOC_CTX *ctx = talloc_new(NULL);
    g_autoptr(GError) err = NULL;
    VsJson *v = vs_json_parse(ctx, data, size, NULL, &err);

    if (!v) {
        check_parse_error(err);
        CHECK(talloc_total_blocks(ctx) == 1);
    } else {
        CHECK(err == NULL);
        check_tree(v);
        check_round_trip(ctx, v, VS_JSON_STYLE_COMPACT);
        check_round_trip(ctx, v, VS_JSON_STYLE_INDENT);
        (void)vs_json_pointer(v, "/devices/0/fields", NULL);
    }
    talloc_free(ctx);
    return 0;
}
