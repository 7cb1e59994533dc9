/*
 * test-json.c: unit tests for the strict JSON parser and writer.
 *
 * SPDX-License-Identifier: MIT
 *
 * Failure tests compare whole messages, offsets included, because the
 * message is the only thing a user sees about a broken vmdesc trailer.
 * With VSTATE_CORPUS_DIR set (the QEMU 7.2 corpus), the real trailers are
 * cut out of the captured streams and must survive parse then write byte
 * for byte.  Each test gets its own talloc context; the teardown fails the
 * test if anything was left allocated under it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "tests/unit/test-helpers.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "migration/json.h"

/* Helpers */

static VsJson *parse_ok_len(TALLOC_CTX *ctx, const char *text, size_t len,
                            const VsJsonLimits *limits)
{
    g_autoptr(GError) err = NULL;
    VsJson *v = vs_json_parse(ctx, text, len, limits, &err);

    if (!v) {
        print_error("parse failed: %s\n", err->message);
        fail();
    }
    return v;
}

static VsJson *parse_ok(TALLOC_CTX *ctx, const char *text)
{
    return parse_ok_len(ctx, text, strlen(text), NULL);
}

static void check_fail_len(TALLOC_CTX *ctx, const char *text, size_t len,
                           const VsJsonLimits *limits, VsJsonError code, const char *message)
{
    g_autoptr(GError) err = NULL;
    VsJson *v = vs_json_parse(ctx, text, len, limits, &err);

    if (v) {
        print_error("input '%.*s' parsed, expected: %s\n", (int)len, text, message);
        fail();
    }
    assert_gerror(err, VS_JSON_ERROR, code, message);
    assert_string_equal(err->message, message);
}

static void check_fail(TALLOC_CTX *ctx, const char *text, VsJsonError code, const char *message)
{
    check_fail_len(ctx, text, strlen(text), NULL, code, message);
}

static char *write_to_str(TALLOC_CTX *ctx, const VsJson *v, VsJsonStyle style)
{
    g_autoptr(GString) out = g_string_new(NULL);

    vs_json_write(out, v, style);
    return talloc_strndup(ctx, out->str, out->len);
}

/* Parses @in, writes it compactly and expects exactly @in back. */
static void check_compact_round_trip(TALLOC_CTX *ctx, const char *in)
{
    VsJson *v = parse_ok(ctx, in);
    char *out = write_to_str(ctx, v, VS_JSON_STYLE_COMPACT);

    assert_string_equal(out, in);
    talloc_free(out);
    talloc_free(v);
}

static void assert_string_node(const VsJson *v, const char *want, size_t want_len)
{
    size_t len = 0;
    const char *s = vs_json_get_string(v, &len, NULL);

    assert_non_null(s);
    assert_bytes((const uint8_t *)s, len, (const uint8_t *)want, want_len);
    assert_int_equal(s[len], '\0');
}

static char *repeat(TALLOC_CTX *ctx, const char *unit, size_t n, const char *tail)
{
    char *s = talloc_strdup(ctx, "");

    for (size_t i = 0; i < n; i++) {
        s = talloc_strdup_append_buffer(s, unit);
    }
    return talloc_strdup_append_buffer(s, tail);
}

/* Kinds */

static void test_json_null(void **state)
{
    VsJson *v = parse_ok(*state, "null");

    assert_int_equal(vs_json_kind(v), VS_JSON_NULL);
    assert_int_equal(vs_json_length(v), 0);
    talloc_free(v);
}

static void test_json_bool(void **state)
{
    VsJson *t = parse_ok(*state, "true");
    VsJson *f = parse_ok(*state, " false ");
    bool b = false;

    assert_int_equal(vs_json_kind(t), VS_JSON_BOOL);
    assert_true(vs_json_get_bool(t, &b, NULL));
    assert_true(b);
    assert_true(vs_json_get_bool(f, &b, NULL));
    assert_false(b);
    talloc_free(t);
    talloc_free(f);
}

static void test_json_number(void **state)
{
    VsJson *v = parse_ok(*state, "42");
    int64_t i = 0;
    uint64_t u = 0;
    double d = 0;
    size_t len = 0;

    assert_int_equal(vs_json_kind(v), VS_JSON_NUMBER);
    assert_string_equal(vs_json_number_text(v, &len), "42");
    assert_int_equal(len, 2);
    assert_true(vs_json_get_int64(v, &i, NULL));
    assert_int_equal(i, 42);
    assert_true(vs_json_get_uint64(v, &u, NULL));
    assert_int_equal(u, 42);
    assert_true(vs_json_get_double(v, &d, NULL));
    assert_true(d == 42.0);
    talloc_free(v);
}

static void test_json_string(void **state)
{
    VsJson *v = parse_ok(*state, "\"hello, world\"");

    assert_int_equal(vs_json_kind(v), VS_JSON_STRING);
    assert_string_node(v, "hello, world", 12);
    assert_null(vs_json_number_text(v, NULL));
    talloc_free(v);
}

static void test_json_string_empty(void **state)
{
    VsJson *v = parse_ok(*state, "\"\"");

    assert_string_node(v, "", 0);
    talloc_free(v);
}

static void test_json_array(void **state)
{
    VsJson *v = parse_ok(*state, "[1, \"two\", [3], {}, null, true]");
    int64_t i = 0;

    assert_int_equal(vs_json_kind(v), VS_JSON_ARRAY);
    assert_int_equal(vs_json_length(v), 6);
    assert_true(vs_json_get_int64(vs_json_array_get(v, 0), &i, NULL));
    assert_int_equal(i, 1);
    assert_string_node(vs_json_array_get(v, 1), "two", 3);
    assert_int_equal(vs_json_kind(vs_json_array_get(v, 2)), VS_JSON_ARRAY);
    assert_int_equal(vs_json_length(vs_json_array_get(v, 2)), 1);
    assert_int_equal(vs_json_kind(vs_json_array_get(v, 3)), VS_JSON_OBJECT);
    assert_int_equal(vs_json_length(vs_json_array_get(v, 3)), 0);
    assert_int_equal(vs_json_kind(vs_json_array_get(v, 4)), VS_JSON_NULL);
    assert_int_equal(vs_json_kind(vs_json_array_get(v, 5)), VS_JSON_BOOL);
    assert_null(vs_json_array_get(v, 6));
    assert_null(vs_json_array_get(v, SIZE_MAX));
    /* Objects are not arrays and arrays have no keys. */
    assert_null(vs_json_object_key(v, 0, NULL));
    assert_null(vs_json_object_value(v, 0));
    assert_null(vs_json_object_get(v, "0"));
    talloc_free(v);
}

static void test_json_array_empty(void **state)
{
    VsJson *v = parse_ok(*state, "[ \t\r\n]");

    assert_int_equal(vs_json_kind(v), VS_JSON_ARRAY);
    assert_int_equal(vs_json_length(v), 0);
    assert_null(vs_json_array_get(v, 0));
    talloc_free(v);
}

static void test_json_object(void **state)
{
    VsJson *v = parse_ok(*state, "{\"name\": \"timer\", \"instance_id\": 0, \"fields\": []}");
    size_t len = 0;
    int64_t i = -1;

    assert_int_equal(vs_json_kind(v), VS_JSON_OBJECT);
    assert_int_equal(vs_json_length(v), 3);
    assert_string_equal(vs_json_object_key(v, 0, &len), "name");
    assert_int_equal(len, 4);
    assert_string_node(vs_json_object_value(v, 0), "timer", 5);
    assert_true(vs_json_get_int64(vs_json_object_get(v, "instance_id"), &i, NULL));
    assert_int_equal(i, 0);
    assert_int_equal(vs_json_kind(vs_json_object_get(v, "fields")), VS_JSON_ARRAY);
    assert_null(vs_json_object_get(v, "missing"));
    assert_null(vs_json_object_get(v, "nam"));
    assert_null(vs_json_object_key(v, 3, NULL));
    assert_null(vs_json_object_value(v, 3));
    assert_null(vs_json_array_get(v, 0));
    talloc_free(v);
}

static void test_json_object_empty(void **state)
{
    VsJson *v = parse_ok(*state, "{}");

    assert_int_equal(vs_json_kind(v), VS_JSON_OBJECT);
    assert_int_equal(vs_json_length(v), 0);
    assert_null(vs_json_object_get(v, ""));
    talloc_free(v);
}

static void test_json_nested(void **state)
{
    VsJson *v = parse_ok(*state, "{\"a\": [{\"b\": [[], {\"c\": [1, [2, [3]]]}]}]}");
    const VsJson *three = vs_json_pointer(v, "/a/0/b/1/c/1/1/0", NULL);
    int64_t i = 0;

    assert_non_null(three);
    assert_true(vs_json_get_int64(three, &i, NULL));
    assert_int_equal(i, 3);
    talloc_free(v);
}

static void test_json_whitespace(void **state)
{
    VsJson *v = parse_ok(*state, " \t\r\n{ \"a\"\n:\t[ 1 ,\r\n2 ] } \n\t ");

    assert_int_equal(vs_json_length(vs_json_object_get(v, "a")), 2);
    talloc_free(v);
}

static void test_json_kind_names(void **state)
{
    (void)state;
    assert_string_equal(vs_json_kind_name(VS_JSON_NULL), "null");
    assert_string_equal(vs_json_kind_name(VS_JSON_BOOL), "bool");
    assert_string_equal(vs_json_kind_name(VS_JSON_NUMBER), "number");
    assert_string_equal(vs_json_kind_name(VS_JSON_STRING), "string");
    assert_string_equal(vs_json_kind_name(VS_JSON_ARRAY), "array");
    assert_string_equal(vs_json_kind_name(VS_JSON_OBJECT), "object");
}

static void test_json_error_quark(void **state)
{
    (void)state;
    assert_true(VS_JSON_ERROR != 0);
    assert_string_equal(g_quark_to_string(VS_JSON_ERROR), "vs-json-error-quark");
}

static void test_json_position(void **state)
{
    VsJson *v = parse_ok(*state, "{\n  \"a\": [10,\n    \"x\"]\n}");
    const VsJson *x = vs_json_pointer(v, "/a/1", NULL);
    VsJson *built = vs_json_new_null(*state);
    size_t offset = 0;
    uint32_t line = 0, column = 0;

    assert_true(vs_json_position(v, &offset, &line, &column));
    assert_int_equal(offset, 0);
    assert_int_equal(line, 1);
    assert_int_equal(column, 1);
    assert_true(vs_json_position(vs_json_object_get(v, "a"), &offset, &line, &column));
    assert_int_equal(offset, 9);
    assert_int_equal(line, 2);
    assert_int_equal(column, 8);
    assert_true(vs_json_position(x, &offset, &line, &column));
    assert_int_equal(offset, 18);
    assert_int_equal(line, 3);
    assert_int_equal(column, 5);
    assert_true(vs_json_position(x, NULL, NULL, NULL));
    assert_false(vs_json_position(built, &offset, &line, &column));
    talloc_free(built);
    talloc_free(v);
}

/* Strings */

static void test_json_string_escapes(void **state)
{
    VsJson *v = parse_ok(*state, "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"");

    assert_string_node(v, "\"\\/\b\f\n\r\t", 8);
    talloc_free(v);
}

static void test_json_string_unicode_escapes(void **state)
{
    VsJson *v = parse_ok(*state, "[\"\\u0041\", \"\\u00e9\", \"\\u00E9\", \"\\u20ac\", \"\\uFFFF\","
                                 " \"\\u007f\", \"\\u0800\", \"\\u07FF\", \"\\uE000\"]");

    assert_string_node(vs_json_array_get(v, 0), "A", 1);
    assert_string_node(vs_json_array_get(v, 1), "\xc3\xa9", 2);
    assert_string_node(vs_json_array_get(v, 2), "\xc3\xa9", 2);
    assert_string_node(vs_json_array_get(v, 3), "\xe2\x82\xac", 3);
    assert_string_node(vs_json_array_get(v, 4), "\xef\xbf\xbf", 3);
    assert_string_node(vs_json_array_get(v, 5), "\x7f", 1);
    assert_string_node(vs_json_array_get(v, 6), "\xe0\xa0\x80", 3);
    assert_string_node(vs_json_array_get(v, 7), "\xdf\xbf", 2);
    assert_string_node(vs_json_array_get(v, 8), "\xee\x80\x80", 3);
    talloc_free(v);
}

static void test_json_string_nul(void **state)
{
    VsJson *v = parse_ok(*state, "{\"k\\u0000ey\": \"a\\u0000b\"}");
    size_t len = 0;

    assert_string_node(vs_json_object_value(v, 0), "a\0b", 3);
    assert_non_null(vs_json_object_key(v, 0, &len));
    assert_int_equal(len, 4);
    assert_memory_equal(vs_json_object_key(v, 0, NULL), "k\0ey", 5);
    assert_null(vs_json_object_get(v, "k"));
    assert_non_null(vs_json_object_get_len(v, "k\0ey", 4));
    talloc_free(v);
}

static void test_json_string_surrogate_pair(void **state)
{
    VsJson *v = parse_ok(*state, "[\"\\uD83D\\uDE00\", \"\\ud800\\udc00\", \"\\uDBFF\\uDFFF\","
                                 " \"x\\uD834\\uDD1Ey\"]");

    assert_string_node(vs_json_array_get(v, 0), "\xf0\x9f\x98\x80", 4);
    assert_string_node(vs_json_array_get(v, 1), "\xf0\x90\x80\x80", 4);
    assert_string_node(vs_json_array_get(v, 2), "\xf4\x8f\xbf\xbf", 4);
    assert_string_node(vs_json_array_get(v, 3), "x\xf0\x9d\x84\x9ey", 6);
    talloc_free(v);
}

static void test_json_string_raw_utf8(void **state)
{
    static const char in[] = "\"\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf "
                             "\xee\x80\x80 \xed\x9f\xbf \xc2\x80 \x7f\"";
    VsJson *v = parse_ok(*state, in);

    assert_string_node(v, in + 1, sizeof(in) - 3);
    talloc_free(v);
}

static void test_json_fail_surrogates(void **state)
{
    check_fail(*state, "\"\\uD83D\"", VS_JSON_ERROR_ENCODING,
               "expected a low surrogate escape after \\uD83D at offset 7 (line 1, column 8), "
               "found '\"'");
    check_fail(*state, "\"\\uD83Dx\"", VS_JSON_ERROR_ENCODING,
               "expected a low surrogate escape after \\uD83D at offset 7 (line 1, column 8), "
               "found 'x'");
    check_fail(*state, "\"\\uD83D\\n\"", VS_JSON_ERROR_ENCODING,
               "expected a low surrogate escape after \\uD83D at offset 8 (line 1, column 9), "
               "found 'n'");
    check_fail(*state, "\"\\uD83D\\u0041\"", VS_JSON_ERROR_ENCODING,
               "expected a low surrogate escape after \\uD83D at offset 7 (line 1, column 8), "
               "found \\u0041");
    check_fail(*state, "\"\\uD83D\\uD83D\"", VS_JSON_ERROR_ENCODING,
               "expected a low surrogate escape after \\uD83D at offset 7 (line 1, column 8), "
               "found \\uD83D");
    check_fail(*state, "\"\\uD83D\\uDE0G\"", VS_JSON_ERROR_SYNTAX,
               "expected 4 hex digits after \\u at offset 12 (line 1, column 13), found 'G'");
    check_fail(*state, "[\"ab\\uDE00\"]", VS_JSON_ERROR_ENCODING,
               "unpaired low surrogate \\uDE00 at offset 4 (line 1, column 5)");
    check_fail(*state, "\"\\udc00\\ud800\"", VS_JSON_ERROR_ENCODING,
               "unpaired low surrogate \\uDC00 at offset 1 (line 1, column 2)");
    check_fail(*state, "\"\\uD83D", VS_JSON_ERROR_TRUNCATED,
               "expected a low surrogate escape after \\uD83D at offset 7 (line 1, column 8), "
               "found end of input");
}

static void test_json_fail_invalid_utf8(void **state)
{
    static const struct {
        const char *in;
        const char *message;
    } cases[] = {
        /* overlong forms */
        { "\"\xc0\x80\"",
          "invalid UTF-8 in string at offset 1 (line 1, column 2), found byte 0xc0" },
        { "\"\xc1\xbf\"",
          "invalid UTF-8 in string at offset 1 (line 1, column 2), found byte 0xc1" },
        { "\"\xe0\x80\x80\"",
          "invalid UTF-8 in string at offset 2 (line 1, column 3), found byte 0x80" },
        { "\"\xf0\x80\x80\x80\"",
          "invalid UTF-8 in string at offset 2 (line 1, column 3), found byte 0x80" },
        /* UTF-16 surrogates encoded directly */
        { "\"\xed\xa0\x80\"",
          "invalid UTF-8 in string at offset 2 (line 1, column 3), found byte 0xa0" },
        { "\"\xed\xbf\xbf\"",
          "invalid UTF-8 in string at offset 2 (line 1, column 3), found byte 0xbf" },
        /* beyond U+10FFFF */
        { "\"\xf4\x90\x80\x80\"",
          "invalid UTF-8 in string at offset 2 (line 1, column 3), found byte 0x90" },
        { "\"\xf5\x80\x80\x80\"",
          "invalid UTF-8 in string at offset 1 (line 1, column 2), found byte 0xf5" },
        { "\"\xff\"", "invalid UTF-8 in string at offset 1 (line 1, column 2), found byte 0xff" },
        /* lone continuation, short sequences */
        { "\"a\x80\"", "invalid UTF-8 in string at offset 2 (line 1, column 3), found byte 0x80" },
        { "\"\xc3(\"", "invalid UTF-8 in string at offset 2 (line 1, column 3), found '('" },
        { "\"\xe2\x82\"", "invalid UTF-8 in string at offset 3 (line 1, column 4), found '\"'" },
        { "\"\xf0\x9f\x98\"",
          "invalid UTF-8 in string at offset 4 (line 1, column 5), found '\"'" },
        /* in a key */
        { "{\"\xfe\": 1}", "invalid UTF-8 in key at offset 2 (line 1, column 3), found byte 0xfe" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        check_fail(*state, cases[i].in, VS_JSON_ERROR_ENCODING, cases[i].message);
    }
    check_fail(*state, "\"\xf0\x9f\x98", VS_JSON_ERROR_TRUNCATED,
               "invalid UTF-8 in string at offset 4 (line 1, column 5), found end of input");
}

static void test_json_fail_string_syntax(void **state)
{
    check_fail(*state, "\"a\\x\"", VS_JSON_ERROR_SYNTAX,
               "expected one of '\"', '\\', '/', 'b', 'f', 'n', 'r', 't', 'u' after '\\' in "
               "string at offset 3 (line 1, column 4), found 'x'");
    check_fail(*state, "{\"\\'\": 1}", VS_JSON_ERROR_SYNTAX,
               "expected one of '\"', '\\', '/', 'b', 'f', 'n', 'r', 't', 'u' after '\\' in "
               "key at offset 3 (line 1, column 4), found '''");
    check_fail(*state, "\"\\u12G4\"", VS_JSON_ERROR_SYNTAX,
               "expected 4 hex digits after \\u at offset 5 (line 1, column 6), found 'G'");
    check_fail(*state, "\"\\u12\"", VS_JSON_ERROR_SYNTAX,
               "expected 4 hex digits after \\u at offset 5 (line 1, column 6), found '\"'");
    check_fail(*state, "\"a\nb\"", VS_JSON_ERROR_SYNTAX,
               "expected '\"' or a character other than a raw control character in string at "
               "offset 2 (line 1, column 3), found byte 0x0a");
    check_fail(*state, "\"\t\"", VS_JSON_ERROR_SYNTAX,
               "expected '\"' or a character other than a raw control character in string at "
               "offset 1 (line 1, column 2), found byte 0x09");
    check_fail_len(*state, "\"a\0b\"", 5, NULL, VS_JSON_ERROR_SYNTAX,
                   "expected '\"' or a character other than a raw control character in string "
                   "at offset 2 (line 1, column 3), found byte 0x00");
    check_fail(*state, "[\"abc", VS_JSON_ERROR_TRUNCATED,
               "expected '\"' to end the string at offset 5 (line 1, column 6), found end of "
               "input");
    check_fail(*state, "{\"abc", VS_JSON_ERROR_TRUNCATED,
               "expected '\"' to end the key at offset 5 (line 1, column 6), found end of "
               "input");
    check_fail(*state, "'a'", VS_JSON_ERROR_SYNTAX,
               "expected a value at offset 0 (line 1, column 1), found '''");
}

static void test_json_fail_nul_byte(void **state)
{
    check_fail_len(*state, "[1,\0 2]", 7, NULL, VS_JSON_ERROR_SYNTAX,
                   "expected a value after ',' in array at offset 3 (line 1, column 4), "
                   "found byte 0x00");
    check_fail_len(*state, "{}\0", 3, NULL, VS_JSON_ERROR_SYNTAX,
                   "expected end of input after the value at offset 2 (line 1, column 3), "
                   "found byte 0x00");
    check_fail_len(*state, "\0", 1, NULL, VS_JSON_ERROR_SYNTAX,
                   "expected a value at offset 0 (line 1, column 1), found byte 0x00");
}

/* Numbers */

static void test_json_int64_limits(void **state)
{
    VsJson *v = parse_ok(*state, "[9223372036854775807, -9223372036854775808, 0, -0, -1,"
                                 " 18446744073709551615, 9223372036854775808]");
    int64_t i = 0;
    uint64_t u = 0;

    assert_true(vs_json_get_int64(vs_json_array_get(v, 0), &i, NULL));
    assert_true(i == INT64_MAX);
    assert_true(vs_json_get_uint64(vs_json_array_get(v, 0), &u, NULL));
    assert_true(u == (uint64_t)INT64_MAX);
    assert_true(vs_json_get_int64(vs_json_array_get(v, 1), &i, NULL));
    assert_true(i == INT64_MIN);
    assert_true(vs_json_get_int64(vs_json_array_get(v, 2), &i, NULL));
    assert_true(i == 0);
    i = 5;
    assert_true(vs_json_get_int64(vs_json_array_get(v, 3), &i, NULL));
    assert_true(i == 0);
    u = 5;
    assert_true(vs_json_get_uint64(vs_json_array_get(v, 3), &u, NULL));
    assert_true(u == 0);
    assert_true(vs_json_get_int64(vs_json_array_get(v, 4), &i, NULL));
    assert_true(i == -1);
    assert_true(vs_json_get_uint64(vs_json_array_get(v, 5), &u, NULL));
    assert_true(u == UINT64_MAX);
    assert_true(vs_json_get_uint64(vs_json_array_get(v, 6), &u, NULL));
    assert_true(u == (uint64_t)INT64_MAX + 1);
    talloc_free(v);
}

static void check_int64_fail(TALLOC_CTX *ctx, const char *text, VsJsonError code,
                             const char *message)
{
    VsJson *v = parse_ok(ctx, text);
    g_autoptr(GError) err = NULL;
    int64_t i = 77;

    assert_false(vs_json_get_int64(v, &i, &err));
    assert_int_equal(i, 77);
    assert_gerror(err, VS_JSON_ERROR, code, message);
    assert_string_equal(err->message, message);
    talloc_free(v);
}

static void check_uint64_fail(TALLOC_CTX *ctx, const char *text, VsJsonError code,
                              const char *message)
{
    VsJson *v = parse_ok(ctx, text);
    g_autoptr(GError) err = NULL;
    uint64_t u = 77;

    assert_false(vs_json_get_uint64(v, &u, &err));
    assert_int_equal(u, 77);
    assert_gerror(err, VS_JSON_ERROR, code, message);
    assert_string_equal(err->message, message);
    talloc_free(v);
}

static void test_json_fail_int_range(void **state)
{
    check_int64_fail(*state, "9223372036854775808", VS_JSON_ERROR_RANGE,
                     "expected an integer in [-9223372036854775808, 9223372036854775807] at "
                     "offset 0 (line 1, column 1), found number 9223372036854775808");
    check_int64_fail(*state, "-9223372036854775809", VS_JSON_ERROR_RANGE,
                     "expected an integer in [-9223372036854775808, 9223372036854775807] at "
                     "offset 0 (line 1, column 1), found number -9223372036854775809");
    check_int64_fail(*state, " 18446744073709551616", VS_JSON_ERROR_RANGE,
                     "expected an integer in [-9223372036854775808, 9223372036854775807] at "
                     "offset 1 (line 1, column 2), found number 18446744073709551616");
    check_uint64_fail(*state, "18446744073709551616", VS_JSON_ERROR_RANGE,
                      "expected an integer in [0, 18446744073709551615] at offset 0 (line 1, "
                      "column 1), found number 18446744073709551616");
    check_uint64_fail(*state, "-1", VS_JSON_ERROR_RANGE,
                      "expected an integer in [0, 18446744073709551615] at offset 0 (line 1, "
                      "column 1), found number -1");
    check_uint64_fail(*state, "-9223372036854775808", VS_JSON_ERROR_RANGE,
                      "expected an integer in [0, 18446744073709551615] at offset 0 (line 1, "
                      "column 1), found number -9223372036854775808");
    check_uint64_fail(*state, "123456789012345678901234567890123456789012345678901234567890",
                      VS_JSON_ERROR_RANGE,
                      "expected an integer in [0, 18446744073709551615] at offset 0 (line 1, "
                      "column 1), found number 1234567890123456789012345678901234567890...");
}

static void test_json_number_forms(void **state)
{
    static const struct {
        const char *text;
        double value;
    } cases[] = {
        { "1.5", 1.5 },     { "-0.25", -0.25 }, { "1e3", 1000.0 },  { "1E3", 1000.0 },
        { "1e+3", 1000.0 }, { "1e-3", 0.001 },  { "-1.5E-2", -0.015 }, { "1.50", 1.5 },
        { "0.0", 0.0 },     { "0e0", 0.0 },     { "1.0", 1.0 },      { "10E0", 10.0 },
        { "1e-400", 0.0 },  { "123.456e2", 12345.6 },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        VsJson *v = parse_ok(*state, cases[i].text);
        g_autoptr(GError) err = NULL;
        g_autofree char *want = NULL;
        double d = -1;
        int64_t i64 = 0;
        uint64_t u64 = 0;

        /* The literal is kept exactly. */
        assert_string_equal(vs_json_number_text(v, NULL), cases[i].text);
        assert_true(vs_json_get_double(v, &d, NULL));
        assert_true(fabs(d - cases[i].value) <= 1e-12 * fabs(cases[i].value));
        /* Integer accessors accept integer literals only, even for integral values. */
        want = g_strdup_printf("expected an integer at offset 0 (line 1, column 1), "
                               "found number %s", cases[i].text);
        assert_false(vs_json_get_int64(v, &i64, &err));
        assert_gerror(err, VS_JSON_ERROR, VS_JSON_ERROR_TYPE, want);
        assert_string_equal(err->message, want);
        g_clear_error(&err);
        assert_false(vs_json_get_uint64(v, &u64, &err));
        assert_string_equal(err->message, want);
        talloc_free(v);
    }
}

static void test_json_fail_double_range(void **state)
{
    VsJson *v = parse_ok(*state, "[1e400, -1e400, 1.7976931348623157e308]");
    g_autoptr(GError) err = NULL;
    double d = 3;

    assert_false(vs_json_get_double(vs_json_array_get(v, 0), &d, &err));
    assert_gerror(err, VS_JSON_ERROR, VS_JSON_ERROR_RANGE,
                  "expected a number in double range at offset 1 (line 1, column 2), found "
                  "number 1e400");
    g_clear_error(&err);
    assert_false(vs_json_get_double(vs_json_array_get(v, 1), &d, &err));
    assert_gerror(err, VS_JSON_ERROR, VS_JSON_ERROR_RANGE, "expected a number in double range");
    assert_true(d == 3);
    assert_true(vs_json_get_double(vs_json_array_get(v, 2), &d, NULL));
    assert_true(d == 1.7976931348623157e308);
    talloc_free(v);
}

static void test_json_fail_number_syntax(void **state)
{
    check_fail(*state, "-", VS_JSON_ERROR_TRUNCATED,
               "expected a digit after '-' at offset 1 (line 1, column 2), found end of input");
    check_fail(*state, "[-a]", VS_JSON_ERROR_SYNTAX,
               "expected a digit after '-' at offset 2 (line 1, column 3), found 'a'");
    check_fail(*state, "01", VS_JSON_ERROR_SYNTAX,
               "expected '.', 'e' or the end of the number after a leading 0 at offset 1 "
               "(line 1, column 2), found '1'");
    check_fail(*state, "[-007]", VS_JSON_ERROR_SYNTAX,
               "expected '.', 'e' or the end of the number after a leading 0 at offset 3 "
               "(line 1, column 4), found '0'");
    check_fail(*state, "[1.]", VS_JSON_ERROR_SYNTAX,
               "expected a digit after '.' in number at offset 3 (line 1, column 4), found ']'");
    check_fail(*state, "1.e5", VS_JSON_ERROR_SYNTAX,
               "expected a digit after '.' in number at offset 2 (line 1, column 3), found 'e'");
    check_fail(*state, "1e", VS_JSON_ERROR_TRUNCATED,
               "expected a digit in the exponent of number at offset 2 (line 1, column 3), "
               "found end of input");
    check_fail(*state, "[1e+]", VS_JSON_ERROR_SYNTAX,
               "expected a digit in the exponent of number at offset 4 (line 1, column 5), "
               "found ']'");
    check_fail(*state, ".5", VS_JSON_ERROR_SYNTAX,
               "expected a value at offset 0 (line 1, column 1), found '.'");
    check_fail(*state, "+1", VS_JSON_ERROR_SYNTAX,
               "expected a value at offset 0 (line 1, column 1), found '+'");
    check_fail(*state, "1.5.3", VS_JSON_ERROR_SYNTAX,
               "expected end of input after the value at offset 3 (line 1, column 4), "
               "found '.'");
    check_fail(*state, "0x10", VS_JSON_ERROR_SYNTAX,
               "expected end of input after the value at offset 1 (line 1, column 2), "
               "found 'x'");
    check_fail(*state, "[NaN]", VS_JSON_ERROR_SYNTAX,
               "expected a value or ']' at offset 1 (line 1, column 2), found 'N'");
    check_fail(*state, "-Infinity", VS_JSON_ERROR_SYNTAX,
               "expected a digit after '-' at offset 1 (line 1, column 2), found 'I'");
}

/* Objects */

static void test_json_member_order(void **state)
{
    static const char *const keys[] = { "zeta", "alpha", "mid", "beta", "a" };
    VsJson *v = parse_ok(*state, "{\"zeta\": 1, \"alpha\": 2, \"mid\": 3, \"beta\": 4, \"a\": 5}");

    assert_int_equal(vs_json_length(v), 5);
    for (size_t i = 0; i < 5; i++) {
        int64_t n = 0;

        assert_string_equal(vs_json_object_key(v, i, NULL), keys[i]);
        assert_true(vs_json_get_int64(vs_json_object_value(v, i), &n, NULL));
        assert_int_equal(n, (int64_t)i + 1);
        assert_ptr_equal(vs_json_object_get(v, keys[i]), vs_json_object_value(v, i));
    }
    talloc_free(v);
}

static void test_json_duplicate_keys(void **state)
{
    static const char in[] = "{\"a\": 1, \"b\": 2, \"a\": 3}";
    VsJson *v = parse_ok(*state, in);
    char *out = write_to_str(*state, v, VS_JSON_STYLE_COMPACT);
    int64_t n = 0;

    /* All members are kept in order; lookups give the first. */
    assert_int_equal(vs_json_length(v), 3);
    assert_string_equal(vs_json_object_key(v, 2, NULL), "a");
    assert_true(vs_json_get_int64(vs_json_object_get(v, "a"), &n, NULL));
    assert_int_equal(n, 1);
    assert_true(vs_json_get_int64(vs_json_pointer(v, "/a", NULL), &n, NULL));
    assert_int_equal(n, 1);
    assert_true(vs_json_get_int64(vs_json_object_value(v, 2), &n, NULL));
    assert_int_equal(n, 3);
    assert_string_equal(out, in);
    talloc_free(out);
    talloc_free(v);
}

static void test_json_pointer(void **state)
{
    VsJson *v = parse_ok(*state, "{\"devices\": [{\"name\": \"timer\"}, {\"fields\": [7]}],"
                                 " \"a/b\": 1, \"m~n\": 2, \"\": 3, \"x\": {\"\": 4}}");
    int64_t n = 0;

    assert_ptr_equal(vs_json_pointer(v, "", NULL), v);
    assert_string_node(vs_json_pointer(v, "/devices/0/name", NULL), "timer", 5);
    assert_true(vs_json_get_int64(vs_json_pointer(v, "/devices/1/fields/0", NULL), &n, NULL));
    assert_int_equal(n, 7);
    assert_true(vs_json_get_int64(vs_json_pointer(v, "/a~1b", NULL), &n, NULL));
    assert_int_equal(n, 1);
    assert_true(vs_json_get_int64(vs_json_pointer(v, "/m~0n", NULL), &n, NULL));
    assert_int_equal(n, 2);
    assert_true(vs_json_get_int64(vs_json_pointer(v, "/", NULL), &n, NULL));
    assert_int_equal(n, 3);
    assert_true(vs_json_get_int64(vs_json_pointer(v, "/x/", NULL), &n, NULL));
    assert_int_equal(n, 4);
    talloc_free(v);
}

static void check_pointer_fail(const VsJson *root, const char *pointer, VsJsonError code,
                               const char *message)
{
    g_autoptr(GError) err = NULL;

    assert_null(vs_json_pointer(root, pointer, &err));
    assert_gerror(err, VS_JSON_ERROR, code, message);
    assert_string_equal(err->message, message);
}

static void test_json_fail_pointer(void **state)
{
    VsJson *v = parse_ok(*state, "{\"devices\": [{\"name\": \"timer\"}, {}], \"n\": 1}");

    check_pointer_fail(v, "/nope", VS_JSON_ERROR_NOT_FOUND, "<root>: no member 'nope'");
    check_pointer_fail(v, "/devices/2", VS_JSON_ERROR_NOT_FOUND,
                       "/devices: index 2 out of range (array of 2)");
    check_pointer_fail(v, "/devices/01", VS_JSON_ERROR_NOT_FOUND,
                       "/devices: expected an array index, found '01'");
    check_pointer_fail(v, "/devices/-", VS_JSON_ERROR_NOT_FOUND,
                       "/devices: expected an array index, found '-'");
    check_pointer_fail(v, "/devices/", VS_JSON_ERROR_NOT_FOUND,
                       "/devices: expected an array index, found ''");
    check_pointer_fail(v, "/devices/99999999999999999999", VS_JSON_ERROR_NOT_FOUND,
                       "/devices: expected an array index, found '99999999999999999999'");
    check_pointer_fail(v, "/devices/0/name/x", VS_JSON_ERROR_NOT_FOUND,
                       "/devices/0/name: expected an array or object to find 'x' in, found string");
    check_pointer_fail(v, "/devices/1/name", VS_JSON_ERROR_NOT_FOUND,
                       "/devices/1: no member 'name'");
    check_pointer_fail(v, "devices", VS_JSON_ERROR_SYNTAX,
                       "JSON pointer 'devices' does not start with '/'");
    check_pointer_fail(v, "/a~2", VS_JSON_ERROR_SYNTAX,
                       "JSON pointer '/a~2': expected '~0' or '~1' at index 2");
    check_pointer_fail(v, "/n~", VS_JSON_ERROR_SYNTAX,
                       "JSON pointer '/n~': expected '~0' or '~1' at index 2");
    talloc_free(v);
}

/* Accessors given the wrong kind or nothing at all. */
static void test_json_fail_accessor_type(void **state)
{
    VsJson *v = parse_ok(*state, "{\"s\": \"x\", \"n\": 1, \"a\": [], \"o\": {}, \"z\": null}");
    g_autoptr(GError) err = NULL;
    bool b = false;
    double d = 0;
    int64_t i = 0;

    assert_false(vs_json_get_bool(vs_json_object_get(v, "s"), &b, &err));
    assert_gerror(err, VS_JSON_ERROR, VS_JSON_ERROR_TYPE,
                  "expected true or false at offset 6 (line 1, column 7), found string");
    g_clear_error(&err);
    assert_null(vs_json_get_string(vs_json_object_get(v, "n"), NULL, &err));
    assert_gerror(err, VS_JSON_ERROR, VS_JSON_ERROR_TYPE,
                  "expected a string at offset 16 (line 1, column 17), found number 1");
    g_clear_error(&err);
    assert_false(vs_json_get_double(vs_json_object_get(v, "a"), &d, &err));
    assert_gerror(err, VS_JSON_ERROR, VS_JSON_ERROR_TYPE,
                  "expected a number at offset 24 (line 1, column 25), found array");
    g_clear_error(&err);
    assert_false(vs_json_get_int64(vs_json_object_get(v, "o"), &i, &err));
    assert_gerror(err, VS_JSON_ERROR, VS_JSON_ERROR_TYPE,
                  "expected an integer at offset 33 (line 1, column 34), found object");
    g_clear_error(&err);
    assert_false(vs_json_get_int64(vs_json_object_get(v, "z"), &i, &err));
    assert_gerror(err, VS_JSON_ERROR, VS_JSON_ERROR_TYPE,
                  "expected an integer at offset 42 (line 1, column 43), found null");
    g_clear_error(&err);
    /* A missing member passes NULL straight through. */
    assert_false(vs_json_get_int64(vs_json_object_get(v, "missing"), &i, &err));
    assert_gerror(err, VS_JSON_ERROR, VS_JSON_ERROR_TYPE, "expected an integer, found nothing");
    assert_string_equal(err->message, "expected an integer, found nothing");
    g_clear_error(&err);
    assert_false(vs_json_get_bool(vs_json_object_get(v, "n"), &b, NULL));
    assert_int_equal(vs_json_length(NULL), 0);
    assert_int_equal(vs_json_length(vs_json_object_get(v, "s")), 0);
    assert_null(vs_json_array_get(NULL, 0));
    assert_null(vs_json_object_get(NULL, "s"));
    assert_null(vs_json_number_text(NULL, NULL));
    talloc_free(v);
}

/* Limits */

static void test_json_depth_limit(void **state)
{
    char *ok = talloc_asprintf(*state, "%s%s", repeat(*state, "[", 64, ""),
                               repeat(*state, "]", 64, ""));
    char *deep = repeat(*state, "[", 65, "");
    char *objs = repeat(*state, "{\"a\":", 3, "1}}}");
    VsJsonLimits one = { .max_depth = 1 };
    VsJsonLimits two = { .max_depth = 2 };

    /* 64 levels parse; the 65th is refused before it is allocated. */
    talloc_free(parse_ok(*state, ok));
    check_fail(*state, deep, VS_JSON_ERROR_LIMIT,
               "nesting depth exceeds 64 at offset 64 (line 1, column 65)");
    check_fail_len(*state, objs, strlen(objs), &two, VS_JSON_ERROR_LIMIT,
                   "nesting depth exceeds 2 at offset 10 (line 1, column 11)");
    talloc_free(parse_ok_len(*state, "[{\"a\": 1}, [2], 3]", 18, &two));
    /* A scalar has depth 0, "[1]" depth 1. */
    talloc_free(parse_ok_len(*state, "7", 1, &one));
    talloc_free(parse_ok_len(*state, "[1]", 3, &one));
    check_fail_len(*state, "[[]]", 4, &one, VS_JSON_ERROR_LIMIT,
                   "nesting depth exceeds 1 at offset 1 (line 1, column 2)");
    talloc_free_children(*state);
}

/* Far deeper than any C stack would take if the parser recursed. */
static void test_json_depth_ceiling(void **state)
{
    VsJsonLimits huge = { .max_depth = UINT32_MAX };
    size_t n = 1000000;
    char *deep = talloc_size(*state, n);
    char *ok = repeat(*state, "[", VS_JSON_MAX_DEPTH_CEILING, "");
    VsJson *v;

    memset(deep, '[', n);
    check_fail_len(*state, deep, n, &huge, VS_JSON_ERROR_LIMIT,
                   "nesting depth exceeds 1024 at offset 1024 (line 1, column 1025)");
    ok = talloc_strdup_append_buffer(ok, repeat(*state, "]", VS_JSON_MAX_DEPTH_CEILING, ""));
    v = parse_ok_len(*state, ok, strlen(ok), &huge);
    talloc_free(v);
    talloc_free_children(*state);
}

static void test_json_node_limit(void **state)
{
    VsJsonLimits three = { .max_nodes = 3 };
    VsJson *v = parse_ok_len(*state, "[1, {}]", 7, &three);

    talloc_free(v);
    check_fail_len(*state, "[1, 2, 3]", 9, &three, VS_JSON_ERROR_LIMIT,
                   "more than 3 values at offset 7 (line 1, column 8)");
    check_fail_len(*state, "{\"a\": 1, \"b\": {\"c\": 2}}", 23, &three, VS_JSON_ERROR_LIMIT,
                   "more than 3 values at offset 20 (line 1, column 21)");
}

static void test_json_string_limit(void **state)
{
    VsJsonLimits four = { .max_string = 4 };
    VsJson *v = parse_ok_len(*state, "[\"abcd\", \"\\u00e9\\u00e9\", 1234, {\"wxyz\": 0}]", 43,
                             &four);

    talloc_free(v);
    check_fail_len(*state, "[\"abcde\"]", 9, &four, VS_JSON_ERROR_LIMIT,
                   "string longer than 4 bytes at offset 1 (line 1, column 2)");
    /* The decoded length counts: three 2-byte characters from six escapes. */
    check_fail_len(*state, "\"\\u00e9\\u00e9\\u00e9\"", 20, &four, VS_JSON_ERROR_LIMIT,
                   "string longer than 4 bytes at offset 0 (line 1, column 1)");
    check_fail_len(*state, "{\"vwxyz\": 1}", 12, &four, VS_JSON_ERROR_LIMIT,
                   "key longer than 4 bytes at offset 1 (line 1, column 2)");
    check_fail_len(*state, "[1, -1234]", 10, &four, VS_JSON_ERROR_LIMIT,
                   "number longer than 4 bytes at offset 4 (line 1, column 5)");
    /* The limit applies even when the string is unterminated: no waiting for the end. */
    check_fail_len(*state, "\"abcdefgh", 9, &four, VS_JSON_ERROR_LIMIT,
                   "string longer than 4 bytes at offset 0 (line 1, column 1)");
}

static void test_json_default_limits(void **state)
{
    size_t n = VS_JSON_DEFAULT_MAX_STRING + 1;
    char *big = talloc_size(*state, n + 2);

    memset(big, 'x', n + 2);
    big[0] = '"';
    big[n + 1] = '"';
    check_fail_len(*state, big, n + 2, NULL, VS_JSON_ERROR_LIMIT,
                   "string longer than 1048576 bytes at offset 0 (line 1, column 1)");
    /* One byte shorter fits. */
    big[n] = '"';
    talloc_free(parse_ok_len(*state, big, n + 1, NULL));
    talloc_free(big);
}

static void test_json_default_node_limit(void **state)
{
    size_t n = VS_JSON_DEFAULT_MAX_NODES;     /* the array itself is one more */
    char *text = talloc_size(*state, 2 * n + 2);
    VsJson *v;

    text[0] = '[';
    for (size_t i = 0; i < n; i++) {
        memcpy(text + 1 + 2 * i, "0,", 2);
    }
    text[2 * n] = ']';
    check_fail_len(*state, text, 2 * n + 1, NULL, VS_JSON_ERROR_LIMIT,
                   "more than 524288 values at offset 1048575 (line 1, column 1048576)");
    /* One element fewer fits. */
    text[2 * n - 2] = ']';
    v = parse_ok_len(*state, text, 2 * n - 1, NULL);
    assert_int_equal(vs_json_length(v), n - 1);
    talloc_free(v);
    talloc_free(text);
}

/* Syntax */

static void test_json_fail_syntax(void **state)
{
    static const struct {
        const char *in;
        VsJsonError code;
        const char *message;
    } cases[] = {
        { "", VS_JSON_ERROR_TRUNCATED,
          "expected a value at offset 0 (line 1, column 1), found end of input" },
        { " \n\t", VS_JSON_ERROR_TRUNCATED,
          "expected a value at offset 3 (line 2, column 2), found end of input" },
        { "]", VS_JSON_ERROR_SYNTAX, "expected a value at offset 0 (line 1, column 1), found ']'" },
        { "\xef\xbb\xbf{}", VS_JSON_ERROR_SYNTAX,
          "expected a value at offset 0 (line 1, column 1), found byte 0xef" },
        { "tru", VS_JSON_ERROR_TRUNCATED,
          "expected 'e' in literal 'true' at offset 3 (line 1, column 4), found end of input" },
        { "[trUe]", VS_JSON_ERROR_SYNTAX,
          "expected 'u' in literal 'true' at offset 3 (line 1, column 4), found 'U'" },
        { "fals", VS_JSON_ERROR_TRUNCATED,
          "expected 'e' in literal 'false' at offset 4 (line 1, column 5), found end of input" },
        { "nul1", VS_JSON_ERROR_SYNTAX,
          "expected 'l' in literal 'null' at offset 3 (line 1, column 4), found '1'" },
        { "nUll", VS_JSON_ERROR_SYNTAX,
          "expected 'u' in literal 'null' at offset 1 (line 1, column 2), found 'U'" },
        { "nullx", VS_JSON_ERROR_SYNTAX,
          "expected end of input after the value at offset 4 (line 1, column 5), found 'x'" },
        { "{} x", VS_JSON_ERROR_SYNTAX,
          "expected end of input after the value at offset 3 (line 1, column 4), found 'x'" },
        { "[]]", VS_JSON_ERROR_SYNTAX,
          "expected end of input after the value at offset 2 (line 1, column 3), found ']'" },
        { "1 2", VS_JSON_ERROR_SYNTAX,
          "expected end of input after the value at offset 2 (line 1, column 3), found '2'" },
        { "[1 2]", VS_JSON_ERROR_SYNTAX,
          "expected ',' or ']' after array element at offset 3 (line 1, column 4), found '2'" },
        { "[1,]", VS_JSON_ERROR_SYNTAX,
          "expected a value after ',' in array at offset 3 (line 1, column 4), found ']'" },
        { "[,1]", VS_JSON_ERROR_SYNTAX,
          "expected a value or ']' at offset 1 (line 1, column 2), found ','" },
        { "[1", VS_JSON_ERROR_TRUNCATED,
          "expected ',' or ']' after array element at offset 2 (line 1, column 3), found end of "
          "input" },
        { "[1,", VS_JSON_ERROR_TRUNCATED,
          "expected a value after ',' in array at offset 3 (line 1, column 4), found end of "
          "input" },
        { "[1}", VS_JSON_ERROR_SYNTAX,
          "expected ',' or ']' after array element at offset 2 (line 1, column 3), found '}'" },
        { "{\"a\": 1]", VS_JSON_ERROR_SYNTAX,
          "expected ',' or '}' after object member at offset 7 (line 1, column 8), found ']'" },
        { "{\"a\": 1 \"b\": 2}", VS_JSON_ERROR_SYNTAX,
          "expected ',' or '}' after object member at offset 8 (line 1, column 9), found '\"'" },
        { "{\"a\": 1,}", VS_JSON_ERROR_SYNTAX,
          "expected a string key after ',' in object at offset 8 (line 1, column 9), found '}'" },
        { "{a: 1}", VS_JSON_ERROR_SYNTAX,
          "expected a string key or '}' at offset 1 (line 1, column 2), found 'a'" },
        { "{1: 1}", VS_JSON_ERROR_SYNTAX,
          "expected a string key or '}' at offset 1 (line 1, column 2), found '1'" },
        { "{'a': 1}", VS_JSON_ERROR_SYNTAX,
          "expected a string key or '}' at offset 1 (line 1, column 2), found '''" },
        { "{\"a\" 1}", VS_JSON_ERROR_SYNTAX,
          "expected ':' after object key at offset 5 (line 1, column 6), found '1'" },
        { "{\"a\"= 1}", VS_JSON_ERROR_SYNTAX,
          "expected ':' after object key at offset 4 (line 1, column 5), found '='" },
        { "{\"a\":}", VS_JSON_ERROR_SYNTAX,
          "expected a value after ':' at offset 5 (line 1, column 6), found '}'" },
        { "{\"a\":", VS_JSON_ERROR_TRUNCATED,
          "expected a value after ':' at offset 5 (line 1, column 6), found end of input" },
        { "{", VS_JSON_ERROR_TRUNCATED,
          "expected a string key or '}' at offset 1 (line 1, column 2), found end of input" },
        { "{\"a\":1,", VS_JSON_ERROR_TRUNCATED,
          "expected a string key after ',' in object at offset 7 (line 1, column 8), found end "
          "of input" },
        { "[1] // comment", VS_JSON_ERROR_SYNTAX,
          "expected end of input after the value at offset 4 (line 1, column 5), found '/'" },
        { "/* c */ 1", VS_JSON_ERROR_SYNTAX,
          "expected a value at offset 0 (line 1, column 1), found '/'" },
        { "[\x0b]", VS_JSON_ERROR_SYNTAX,
          "expected a value or ']' at offset 1 (line 1, column 2), found byte 0x0b" },
        { "[\xc2\xa0]", VS_JSON_ERROR_SYNTAX,
          "expected a value or ']' at offset 1 (line 1, column 2), found byte 0xc2" },
        { "{\n  \"a\": 1\n  \"b\": 2\n}", VS_JSON_ERROR_SYNTAX,
          "expected ',' or '}' after object member at offset 13 (line 3, column 3), found '\"'" },
        { "[\r\n1,\r\n\r\n x]", VS_JSON_ERROR_SYNTAX,
          "expected a value after ',' in array at offset 10 (line 4, column 2), found 'x'" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        check_fail(*state, cases[i].in, cases[i].code, cases[i].message);
    }
}

/* Cut short anywhere, a document fails cleanly as TRUNCATED. */
static const char truncation_sample[] =
    "{\"page_size\": 4096, \"devices\": [{\"name\": \"timer\", \"instance_id\": 0, "
    "\"fields\": [{\"name\": \"cpu_ticks_offset\", \"type\": \"int64\", \"size\": 8}]}, "
    "{\"esc\": \"a\\\"b\\\\c\\/d\\u00e9\\uD83D\\uDE00\\n\", \"utf8\": \"\xc3\xa9\xe2\x82\xac"
    "\xf0\x9f\x98\x80\", \"num\": [-12.5e+3, 0, -0.0E-1, 1e9], \"lit\": [true, false, null],"
    "\n \"empty\": [{}, []]}]}";

static void test_json_fail_truncation(void **state)
{
    size_t n = strlen(truncation_sample);
    VsJson *whole = parse_ok(*state, truncation_sample);

    talloc_free(whole);
    for (size_t cut = 0; cut < n; cut++) {
        g_autoptr(GError) err = NULL;
        g_autofree char *copy = g_memdup2(truncation_sample, cut);
        g_autofree char *where = NULL;
        VsJson *v = vs_json_parse(*state, copy, cut, NULL, &err);

        if (v) {
            print_error("prefix of %zu bytes parsed\n", cut);
            fail();
        }
        assert_gerror(err, VS_JSON_ERROR, VS_JSON_ERROR_TRUNCATED, "");
        assert_true(g_str_has_suffix(err->message, ", found end of input"));
        where = g_strdup_printf(" at offset %zu (line ", cut);
        assert_gerror_contains(err, where);
        assert_int_equal(talloc_total_blocks(*state), 1);
    }
}

/* Writer */

static void test_json_write_compact(void **state)
{
    check_compact_round_trip(*state, "{\"a\": [1, -2.5e3, true, false, null], \"b\": {}, "
                                     "\"c\": [], \"d\": {\"e\": \"f\"}, \"\": [[[]]]}");
    check_compact_round_trip(*state, "[]");
    check_compact_round_trip(*state, "{}");
    check_compact_round_trip(*state, "\"\"");
    check_compact_round_trip(*state, "0");
    check_compact_round_trip(*state, "-0.0E+00");
}

static void test_json_write_compact_normalises(void **state)
{
    VsJson *v = parse_ok(*state, " {\n\t\"a\" :[ 1 ,2\r\n] ,\"b\":{ }}  ");
    char *out = write_to_str(*state, v, VS_JSON_STYLE_COMPACT);

    assert_string_equal(out, "{\"a\": [1, 2], \"b\": {}}");
    talloc_free(out);
    talloc_free(v);
}

static void test_json_write_indent(void **state)
{
    /* Expected text from Python 3: json.dumps(json.loads(IN), indent=4). */
    VsJson *v = parse_ok(*state, "{\"a\": [1, {\"b\": null, \"c\": []}, {}], \"d\": \"x\","
                                 " \"e\": [[true]]}");
    char *out = write_to_str(*state, v, VS_JSON_STYLE_INDENT);
    VsJson *again;

    assert_string_equal(out, "{\n"
                             "    \"a\": [\n"
                             "        1,\n"
                             "        {\n"
                             "            \"b\": null,\n"
                             "            \"c\": []\n"
                             "        },\n"
                             "        {}\n"
                             "    ],\n"
                             "    \"d\": \"x\",\n"
                             "    \"e\": [\n"
                             "        [\n"
                             "            true\n"
                             "        ]\n"
                             "    ]\n"
                             "}");
    again = parse_ok(*state, out);
    assert_true(vs_json_equal(v, again));
    talloc_free(again);
    talloc_free(out);
    talloc_free(v);
    v = parse_ok(*state, "7");
    out = write_to_str(*state, v, VS_JSON_STYLE_INDENT);
    assert_string_equal(out, "7");
    talloc_free(out);
    talloc_free(v);
}

static void test_json_write_escapes(void **state)
{
    /* Every escape class: short escapes, controls, DEL, '/', BMP, astral, U+0000. */
    VsJson *v = parse_ok(*state, "\"q\\\"b\\\\s/\\/\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f"
                                 "\xc3\xa9\xe2\x82\xac\xef\xbf\xbf\xf0\x9f\x98\x80\\u0000~\"");
    char *compact = write_to_str(*state, v, VS_JSON_STYLE_COMPACT);
    char *indent = write_to_str(*state, v, VS_JSON_STYLE_INDENT);
    VsJson *again;

    /* QEMU's quoted_str(): upper-case hex. */
    assert_string_equal(compact, "\"q\\\"b\\\\s//\\b\\f\\n\\r\\t\\u0001\\u001F\\u007F\\u00E9"
                                 "\\u20AC\\uFFFF\\uD83D\\uDE00\\u0000~\"");
    /* Python's ensure_ascii: lower-case hex. */
    assert_string_equal(indent, "\"q\\\"b\\\\s//\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f\\u00e9"
                                "\\u20ac\\uffff\\ud83d\\ude00\\u0000~\"");
    again = parse_ok(*state, compact);
    assert_true(vs_json_equal(v, again));
    talloc_free(again);
    again = parse_ok(*state, indent);
    assert_true(vs_json_equal(v, again));
    talloc_free(again);
    talloc_free(compact);
    talloc_free(indent);
    talloc_free(v);
}

static void test_json_write_keys_escaped(void **state)
{
    VsJson *v = parse_ok(*state, "{\"a\\u0000\\\"\xc3\xa9\": 1}");
    char *out = write_to_str(*state, v, VS_JSON_STYLE_COMPACT);

    assert_string_equal(out, "{\"a\\u0000\\\"\\u00E9\": 1}");
    talloc_free(out);
    talloc_free(v);
}

static void test_json_write_appends(void **state)
{
    g_autoptr(GString) out = g_string_new("prefix:");
    VsJson *v = parse_ok(*state, "[1]");

    vs_json_write(out, v, VS_JSON_STYLE_COMPACT);
    assert_string_equal(out->str, "prefix:[1]");
    talloc_free(v);
}

/* Builders */

static void test_json_build(void **state)
{
    VsJson *root = vs_json_new_object(*state);
    VsJson *devices = vs_json_new_array(*state);
    VsJson *dev = vs_json_new_object(*state);
    VsJson *fields = vs_json_new_array(*state);
    VsJson *field = vs_json_new_object(*state);
    char *out;

    /* A vmdesc trailer as QEMU would write it (see vmstate_save_state_v()). */
    vs_json_object_append(field, "name", vs_json_new_string(*state, "cpu_ticks_offset"));
    vs_json_object_append(field, "type", vs_json_new_string(*state, "int64"));
    vs_json_object_append(field, "size", vs_json_new_int64(*state, 8));
    vs_json_array_append(fields, field);
    vs_json_object_append(dev, "name", vs_json_new_string(*state, "timer"));
    vs_json_object_append(dev, "instance_id", vs_json_new_uint64(*state, 0));
    vs_json_object_append(dev, "vmsd_name", vs_json_new_string(*state, "timer"));
    vs_json_object_append(dev, "version", vs_json_new_int64(*state, 2));
    vs_json_object_append(dev, "fields", fields);
    vs_json_array_append(devices, dev);
    vs_json_object_append(root, "page_size", vs_json_new_int64(*state, 4096));
    vs_json_object_append(root, "devices", devices);
    out = write_to_str(*state, root, VS_JSON_STYLE_COMPACT);
    assert_string_equal(out, "{\"page_size\": 4096, \"devices\": [{\"name\": \"timer\", "
                             "\"instance_id\": 0, \"vmsd_name\": \"timer\", \"version\": 2, "
                             "\"fields\": [{\"name\": \"cpu_ticks_offset\", \"type\": \"int64\", "
                             "\"size\": 8}]}]}");
    talloc_free(out);
    /* Freeing the root frees everything appended to it. */
    talloc_free(root);
    assert_int_equal(talloc_total_blocks(*state), 1);
}

static void test_json_build_scalars(void **state)
{
    VsJson *root = vs_json_new_object(*state);
    VsJson *list = vs_json_new_array(*state);
    char *out;
    VsJson *again;
    int64_t i = 0;

    vs_json_object_append(root, "page_size", vs_json_new_int64(*state, 4096));
    vs_json_object_append(root, "min", vs_json_new_int64(*state, INT64_MIN));
    vs_json_object_append(root, "max", vs_json_new_uint64(*state, UINT64_MAX));
    vs_json_object_append(root, "t", vs_json_new_bool(*state, true));
    vs_json_object_append(root, "f", vs_json_new_bool(*state, false));
    vs_json_object_append(root, "z", vs_json_new_null(*state));
    vs_json_object_append(root, "s", vs_json_new_string_len(*state, "a\0b", 3));
    vs_json_object_append(root, "bad", vs_json_new_string_len(*state, "\xff\xc3", 2));
    vs_json_object_append(root, "e", vs_json_new_string_len(*state, NULL, 0));
    vs_json_array_append(list, vs_json_new_int64(*state, -1));
    vs_json_array_append(list, vs_json_new_object(*state));
    vs_json_object_append(root, "list", list);
    vs_json_object_append(root, "page_size", vs_json_new_int64(*state, 1));
    out = write_to_str(*state, root, VS_JSON_STYLE_COMPACT);
    assert_string_equal(out, "{\"page_size\": 4096, \"min\": -9223372036854775808, "
                             "\"max\": 18446744073709551615, \"t\": true, \"f\": false, "
                             "\"z\": null, \"s\": \"a\\u0000b\", \"bad\": \"\\uFFFD\\uFFFD\", "
                             "\"e\": \"\", \"list\": [-1, {}], \"page_size\": 1}");
    /* Duplicate keys from the builder behave as parsed ones: first wins. */
    assert_true(vs_json_get_int64(vs_json_object_get(root, "page_size"), &i, NULL));
    assert_int_equal(i, 4096);
    assert_false(vs_json_position(root, NULL, NULL, NULL));
    again = parse_ok(*state, out);
    /* Only the invalid UTF-8 changes on the trip (to U+FFFD, as QEMU does). */
    assert_false(vs_json_equal(root, again));
    assert_string_node(vs_json_object_get(again, "bad"), "\xef\xbf\xbd\xef\xbf\xbd", 6);
    assert_string_node(vs_json_object_get(again, "s"), "a\0b", 3);
    talloc_free(again);
    talloc_free(out);
    talloc_free(root);
}

static void test_json_equal(void **state)
{
    VsJson *a = parse_ok(*state, "{\"a\": [1, \"x\", {\"b\": null}], \"c\": true}");
    VsJson *b = parse_ok(*state, "{ \"a\" : [ 1 , \"\\u0078\" , { \"b\" : null } ] ,"
                                 " \"c\" : true }");
    static const char *const different[] = {
        "{\"a\": [1, \"x\", {\"b\": null}], \"c\": false}",
        "{\"a\": [1.0, \"x\", {\"b\": null}], \"c\": true}",
        "{\"a\": [1, \"y\", {\"b\": null}], \"c\": true}",
        "{\"a\": [1, \"x\", {\"B\": null}], \"c\": true}",
        "{\"a\": [1, \"x\", {\"b\": 0}], \"c\": true}",
        "{\"a\": [1, \"x\", {\"b\": null}, 2], \"c\": true}",
        "{\"c\": true, \"a\": [1, \"x\", {\"b\": null}]}",
        "{\"a\": [1, \"x\", {\"b\": null}]}",
        "[1]",
    };

    assert_true(vs_json_equal(a, b));
    assert_true(vs_json_equal(a, a));
    assert_true(vs_json_equal(NULL, NULL));
    assert_false(vs_json_equal(a, NULL));
    assert_false(vs_json_equal(NULL, b));
    for (size_t i = 0; i < G_N_ELEMENTS(different); i++) {
        VsJson *c = parse_ok(*state, different[i]);

        assert_false(vs_json_equal(a, c));
        assert_false(vs_json_equal(c, a));
        talloc_free(c);
    }
    talloc_free(a);
    talloc_free(b);
}

/* Ownership: a failed parse leaves nothing behind, a good one hangs off mem_ctx. */
static void test_json_ownership(void **state)
{
    TALLOC_CTX *parent = talloc_new(*state);
    g_autoptr(GError) err = NULL;
    VsJson *v;

    assert_null(vs_json_parse(parent, "[[1, 2], {\"a\": [3, 4]}, x]", 26, NULL, &err));
    assert_int_equal(talloc_total_blocks(parent), 1);
    v = parse_ok(parent, "[[1, 2], {\"a\": [3, 4]}]");
    assert_ptr_equal(talloc_parent(v), parent);
    assert_true(talloc_total_blocks(parent) > 1);
    talloc_free(parent);
}

/* The real thing: QEMU 7.2's vmdesc trailers */

static const char *corpus_dir(void)
{
    const char *dir = g_getenv("VSTATE_CORPUS_DIR");

    if (!dir || !g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        print_message("# SKIP VSTATE_CORPUS_DIR is not set to the QEMU corpus directory\n");
        return NULL;
    }
    return dir;
}

/*
 * QEMU ends a stream with QEMU_VM_EOF (0x00), then QEMU_VM_VMDESCRIPTION
 * (0x06), a be32 length and that many bytes of JSON (migration/savevm.c).
 * The JSON holds no 0x00, so the last 00 06 whose length reaches exactly
 * to the end of the file is the trailer.
 */
static bool find_trailer(const uint8_t *d, size_t len, size_t *ret_start)
{
    for (size_t p = len >= 6 ? len - 6 : 0; len >= 6; p--) {
        uint32_t n = (uint32_t)d[p + 2] << 24 | (uint32_t)d[p + 3] << 16 |
                     (uint32_t)d[p + 4] << 8 | d[p + 5];

        if (d[p] == 0x00 && d[p + 1] == 0x06 && n == len - p - 6) {
            *ret_start = p + 6;
            return true;
        }
        if (p == 0) {
            break;
        }
    }
    return false;
}

static void test_json_qemu_trailer_round_trip(void **state)
{
    const char *dir = corpus_dir();
    g_autofree char *streams = NULL;
    g_autoptr(GDir) d = NULL;
    const char *machine;
    unsigned checked = 0;

    if (!dir) {
        skip();
    }
    streams = g_build_filename(dir, "streams", NULL);
    d = g_dir_open(streams, 0, NULL);
    assert_non_null(d);
    while ((machine = g_dir_read_name(d))) {
        g_autofree char *sub = g_build_filename(streams, machine, NULL);
        g_autoptr(GDir) d2 = g_dir_open(sub, 0, NULL);
        const char *name;

        if (!d2) {
            continue;
        }
        while ((name = g_dir_read_name(d2))) {
            g_autofree char *bin_path = NULL;
            g_autofree char *desc_path = NULL;
            g_autofree char *base = NULL;
            g_autofree char *bin = NULL;
            g_autofree char *desc = NULL;
            g_autoptr(GString) out = g_string_new(NULL);
            g_autoptr(GError) err = NULL;
            gsize bin_len = 0, desc_len = 0;
            size_t start = 0;
            VsJson *v;

            if (!g_str_has_suffix(name, ".bin")) {
                continue;
            }
            bin_path = g_build_filename(sub, name, NULL);
            base = g_strndup(name, strlen(name) - 4);
            desc_path = g_strdup_printf("%s/%s.desc.json", sub, base);
            assert_true(g_file_get_contents(bin_path, &bin, &bin_len, NULL));
            assert_true(find_trailer((const uint8_t *)bin, bin_len, &start));

            v = vs_json_parse(*state, bin + start, bin_len - start, NULL, &err);
            if (!v) {
                print_error("%s: %s\n", bin_path, err->message);
                fail();
            }
            assert_true(vs_json_get_int64(vs_json_object_get(v, "page_size"), &(int64_t){ 0 },
                                          NULL));
            assert_true(vs_json_length(vs_json_object_get(v, "devices")) > 10);

            /* Byte-identical compact round trip of QEMU's own bytes. */
            vs_json_write(out, v, VS_JSON_STYLE_COMPACT);
            assert_bytes((const uint8_t *)out->str, out->len, (const uint8_t *)bin + start,
                         bin_len - start);

            /* The extracted .desc.json is Python's indent=4 plus a newline. */
            if (g_file_get_contents(desc_path, &desc, &desc_len, NULL)) {
                g_string_truncate(out, 0);
                vs_json_write(out, v, VS_JSON_STYLE_INDENT);
                g_string_append_c(out, '\n');
                assert_bytes((const uint8_t *)out->str, out->len, (const uint8_t *)desc,
                             desc_len);
            }
            talloc_free(v);
            checked++;
        }
    }
    print_message("# checked %u trailers\n", checked);
    assert_true(checked > 0);
}

/* The trailer of one stream, cut at every offset: always a clean TRUNCATED. */
static void test_json_fail_qemu_trailer_truncated(void **state)
{
    const char *dir = corpus_dir();
    g_autofree char *path = NULL;
    g_autofree char *bin = NULL;
    gsize bin_len = 0;
    size_t start = 0, len;

    if (!dir) {
        skip();
    }
    path = g_build_filename(dir, "streams", "c0-q35-bare-det", "paused.bin", NULL);
    if (!g_file_get_contents(path, &bin, &bin_len, NULL)) {
        print_message("# SKIP %s is missing\n", path);
        g_clear_pointer(&path, g_free);    /* skip() does not return */
        skip();
    }
    assert_true(find_trailer((const uint8_t *)bin, bin_len, &start));
    len = bin_len - start;
    /*
     * Every offset in the first and last 512 bytes, and every 97th in
     * between (each cut reparses the prefix: all of them would be slow).
     */
    for (size_t cut = 0; cut < len; cut += (cut < 512 || cut + 512 > len) ? 1 : 97) {
        g_autoptr(GError) err = NULL;

        assert_null(vs_json_parse(*state, bin + start, cut, NULL, &err));
        assert_gerror(err, VS_JSON_ERROR, VS_JSON_ERROR_TRUNCATED, "");
    }
    assert_int_equal(talloc_total_blocks(*state), 1);
}

/* QEMU's -dump-vmstate output (2-space indented, not ours): parses whole. */
static void test_json_qemu_dump_vmstate(void **state)
{
    const char *dir = corpus_dir();
    static const char *const files[] = { "vmstate-pc-i440fx-7.2.json", "vmstate-pc-q35-7.2.json" };

    if (!dir) {
        skip();
    }
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *path = g_build_filename(dir, "vmstate", files[i], NULL);
        g_autofree char *text = NULL;
        g_autoptr(GString) out = g_string_new(NULL);
        gsize len = 0;
        VsJson *v, *again;

        if (!g_file_get_contents(path, &text, &len, NULL)) {
            print_message("# SKIP %s is missing\n", path);
            continue;
        }
        v = parse_ok_len(*state, text, len, NULL);
        assert_non_null(vs_json_get_string(vs_json_pointer(v, "/vmschkmachine/Name", NULL),
                                           NULL, NULL));
        assert_true(vs_json_length(v) > 100);
        vs_json_write(out, v, VS_JSON_STYLE_COMPACT);
        again = parse_ok_len(*state, out->str, out->len, NULL);
        assert_true(vs_json_equal(v, again));
        talloc_free(again);
        talloc_free(v);
    }
}

#define T(name) cmocka_unit_test_setup_teardown(name, vs_test_ctx_setup, vs_test_ctx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_json_null),
        T(test_json_bool),
        T(test_json_number),
        T(test_json_string),
        T(test_json_string_empty),
        T(test_json_array),
        T(test_json_array_empty),
        T(test_json_object),
        T(test_json_object_empty),
        T(test_json_nested),
        T(test_json_whitespace),
        T(test_json_kind_names),
        T(test_json_error_quark),
        T(test_json_position),
        T(test_json_string_escapes),
        T(test_json_string_unicode_escapes),
        T(test_json_string_nul),
        T(test_json_string_surrogate_pair),
        T(test_json_string_raw_utf8),
        T(test_json_fail_surrogates),
        T(test_json_fail_invalid_utf8),
        T(test_json_fail_string_syntax),
        T(test_json_fail_nul_byte),
        T(test_json_int64_limits),
        T(test_json_fail_int_range),
        T(test_json_number_forms),
        T(test_json_fail_double_range),
        T(test_json_fail_number_syntax),
        T(test_json_member_order),
        T(test_json_duplicate_keys),
        T(test_json_pointer),
        T(test_json_fail_pointer),
        T(test_json_fail_accessor_type),
        T(test_json_depth_limit),
        T(test_json_depth_ceiling),
        T(test_json_node_limit),
        T(test_json_string_limit),
        T(test_json_default_limits),
        T(test_json_default_node_limit),
        T(test_json_fail_syntax),
        T(test_json_fail_truncation),
        T(test_json_write_compact),
        T(test_json_write_compact_normalises),
        T(test_json_write_indent),
        T(test_json_write_escapes),
        T(test_json_write_keys_escaped),
        T(test_json_write_appends),
        T(test_json_build),
        T(test_json_build_scalars),
        T(test_json_equal),
        T(test_json_ownership),
        T(test_json_qemu_trailer_round_trip),
        T(test_json_fail_qemu_trailer_truncated),
        T(test_json_qemu_dump_vmstate),
    };

    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
