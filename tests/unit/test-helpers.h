/*
 * test-helpers.h: small assertions shared by the cmocka unit tests.
 *
 * SPDX-License-Identifier: MIT
 *
 * Include after <cmocka.h>.  Every helper reports the caller's file and
 * line and prints the error message it looked at when it fails.
 *
 *   assert_gerror(err, domain, code, prefix)       message starts with prefix
 *   assert_gerror_path(err, domain, code, path)    message starts with "path: "
 *   assert_gerror_contains(err, text)              message contains text
 *   assert_bytes(got, got_len, want, want_len)     byte-exact, with a diff table
 *   vs_test_ctx_setup / vs_test_ctx_teardown       a talloc context per test that
 *                                                  must be empty again at the end
 */
#ifndef VSTATE_TEST_HELPERS_H
#define VSTATE_TEST_HELPERS_H

#include <glib.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <talloc.h>

static inline void vs_test_gerror_check(const GError *err, GQuark domain, int code,
                                        const char *prefix, bool exact_path,
                                        const char *file, int line)
{
    size_t plen = strlen(prefix);

    if (!err) {
        print_error("expected an error %s/%d at '%s', got none\n", g_quark_to_string(domain),
                    code, prefix);
        _fail(file, line);
        return;
    }
    if (err->domain != domain || err->code != code) {
        print_error("expected error %s/%d, got %s/%d: %s\n", g_quark_to_string(domain), code,
                    g_quark_to_string(err->domain), err->code, err->message);
        _fail(file, line);
        return;
    }
    if (strncmp(err->message, prefix, plen) != 0 ||
        (exact_path && strncmp(err->message + plen, ": ", 2) != 0)) {
        print_error("expected a message starting with '%s%s', got: %s\n", prefix,
                    exact_path ? ": " : "", err->message);
        _fail(file, line);
    }
}

static inline void vs_test_gerror_contains(const GError *err, const char *text,
                                           const char *file, int line)
{
    if (!err) {
        print_error("expected an error containing '%s', got none\n", text);
        _fail(file, line);
        return;
    }
    if (!strstr(err->message, text)) {
        print_error("expected a message containing '%s', got: %s\n", text, err->message);
        _fail(file, line);
    }
}

#define assert_gerror(err, domain, code, prefix) \
    vs_test_gerror_check((err), (domain), (code), (prefix), false, __FILE__, __LINE__)
#define assert_gerror_path(err, domain, code, path) \
    vs_test_gerror_check((err), (domain), (code), (path), true, __FILE__, __LINE__)
#define assert_gerror_contains(err, text) \
    vs_test_gerror_contains((err), (text), __FILE__, __LINE__)

static inline void vs_test_assert_bytes(const uint8_t *got, size_t got_len, const uint8_t *want,
                                        size_t want_len, const char *file, int line)
{
    if (got_len == want_len && memcmp(got, want, want_len) == 0) {
        return;
    }
    print_error("byte mismatch: got %zu bytes, want %zu\n", got_len, want_len);
    for (size_t i = 0; i < MAX(got_len, want_len); i++) {
        char g[4] = "--", w[4] = "--";

        if (i < got_len) {
            snprintf(g, sizeof(g), "%02x", got[i]);
        }
        if (i < want_len) {
            snprintf(w, sizeof(w), "%02x", want[i]);
        }
        print_error("  [%3zu] got %s want %s%s\n", i, g, w, strcmp(g, w) ? "  <--" : "");
    }
    _fail(file, line);
}

#define assert_bytes(got, got_len, want, want_len) \
    vs_test_assert_bytes((got), (got_len), (want), (want_len), __FILE__, __LINE__)

/* A fresh talloc context per test, in *state. */
static inline int vs_test_ctx_setup(void **state)
{
    *state = talloc_new(NULL);
    return *state ? 0 : -1;
}

/* Every test frees what it made: only the context itself may be left. */
static inline int vs_test_ctx_teardown(void **state)
{
    TALLOC_CTX *ctx = *state;
    size_t blocks = talloc_total_blocks(ctx);

    if (blocks != 1) {
        talloc_report_full(ctx, stderr);
    }
    talloc_free(ctx);
    return blocks == 1 ? 0 : -1;
}

#endif /* VSTATE_TEST_HELPERS_H */
