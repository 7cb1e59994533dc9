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
 */
#ifndef VSTATE_TEST_HELPERS_H
#define VSTATE_TEST_HELPERS_H

#include <glib.h>
#include <stdbool.h>
#include <string.h>

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

#endif /* VSTATE_TEST_HELPERS_H */
