/*
 * json.c: a small, strict, bounded JSON parser and writer (see json.h).
 *
 * SPDX-License-Identifier: MIT
 *
 * The parser is a loop over an explicit stack of open containers, so the
 * input's nesting never turns into C recursion.  Each value is one talloc
 * chunk that also holds its text (string bytes or number literal) and, for
 * an object member, its key; a container's element array is a second
 * chunk.  Strings are scanned twice: once to validate them and learn their
 * decoded length (checked against the limit), then to decode them into the
 * chunk allocated for exactly that length.
 */
#include "migration/json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct VsJson {
    VsJsonKind kind;
    bool boolean;
    bool parsed;        /* the position fields are meaningful */
    bool contained;     /* already an element or member of a container */
    uint32_t line;
    uint32_t column;
    size_t offset;
    char *text;         /* string bytes or number literal, NUL-terminated */
    size_t len;         /* bytes at @text, without the NUL */
    char *key;          /* the member's key when in an object, NUL-terminated */
    size_t key_len;
    VsJson **items;     /* array elements, or object member values in order */
    size_t count;
    size_t cap;
};

G_DEFINE_QUARK(vs-json-error-quark, vs_json_error)

static const char *const kind_names[VS_JSON_KIND__MAX] = {
    [VS_JSON_NULL] = "null",     [VS_JSON_BOOL] = "bool",   [VS_JSON_NUMBER] = "number",
    [VS_JSON_STRING] = "string", [VS_JSON_ARRAY] = "array", [VS_JSON_OBJECT] = "object",
};

const char *vs_json_kind_name(VsJsonKind kind)
{
    g_return_val_if_fail(kind < VS_JSON_KIND__MAX, "invalid");
    return kind_names[kind];
}

/* Nodes */

/*
 * One chunk: the node, then @text_len + 1 bytes for the text if @with_text,
 * then @key_len + 1 bytes for the key if @with_key.  The text and key are
 * left for the caller to fill; their terminating NULs are written here.
 */
static VsJson *node_alloc(TALLOC_CTX *mem_ctx, VsJsonKind kind, bool with_text, size_t text_len,
                          bool with_key, size_t key_len)
{
    size_t size = sizeof(VsJson);
    char *tail;
    VsJson *v;

    /* The parser's limits keep both lengths far from SIZE_MAX. */
    g_assert(!with_text || text_len < SIZE_MAX / 4);
    g_assert(!with_key || key_len < SIZE_MAX / 4);
    size += with_text ? text_len + 1 : 0;
    size += with_key ? key_len + 1 : 0;
    v = talloc_named_const(mem_ctx, size, "VsJson");
    g_assert(v != NULL);
    memset(v, 0, sizeof(*v));
    v->kind = kind;
    tail = (char *)(v + 1);
    if (with_text) {
        v->text = tail;
        v->len = text_len;
        tail[text_len] = '\0';
        tail += text_len + 1;
    }
    if (with_key) {
        v->key = tail;
        v->key_len = key_len;
        tail[key_len] = '\0';
    }
    return v;
}

static void items_push(VsJson *container, VsJson *value)
{
    if (container->count == container->cap) {
        size_t cap = container->cap ? container->cap * 2 : 4;

        container->items = talloc_realloc(container, container->items, VsJson *, cap);
        g_assert(container->items != NULL);
        container->cap = cap;
    }
    container->items[container->count++] = value;
    value->contained = true;
}

/* Errors */

typedef struct JsonParser {
    const uint8_t *data;
    size_t len;
    size_t pos;
    uint32_t line;          /* line of @pos, from 1 */
    size_t line_start;      /* offset of the first byte of that line */
    uint32_t max_depth;
    uint64_t max_nodes;
    size_t max_string;
    uint64_t nodes;
    GError **errp;
} JsonParser;

/* Line and column (both from 1; the column counts bytes) of offset @at. */
static void locate(const uint8_t *data, size_t len, size_t at, uint32_t *ret_line,
                   size_t *ret_column)
{
    uint32_t line = 1;
    size_t line_start = 0;

    for (size_t i = 0; i < at && i < len; i++) {
        if (data[i] == '\n') {
            line++;
            line_start = i + 1;
        }
    }
    *ret_line = line;
    *ret_column = at - line_start + 1;
}

static void describe_byte(char *buf, size_t size, const uint8_t *data, size_t len, size_t at)
{
    if (at >= len) {
        snprintf(buf, size, "end of input");
    } else if (data[at] >= 0x20 && data[at] < 0x7f) {
        snprintf(buf, size, "'%c'", data[at]);
    } else {
        snprintf(buf, size, "byte 0x%02x", data[at]);
    }
}

/*
 * Sets "<what> at offset N (line L, column C), found F" and returns NULL.
 * @found: the found text; NULL describes the byte at @at; "" leaves the
 * ", found" part out.  An error at the end of the input becomes TRUNCATED
 * whatever @code says: the input may simply have been cut short.
 */
G_GNUC_PRINTF(5, 6)
static void *parse_fail(JsonParser *ps, size_t at, VsJsonError code, const char *found,
                        const char *fmt, ...)
{
    g_autofree char *what = NULL;
    char found_buf[32];
    uint32_t line;
    size_t column;
    va_list ap;

    va_start(ap, fmt);
    what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (!found) {
        describe_byte(found_buf, sizeof(found_buf), ps->data, ps->len, at);
        found = found_buf;
    }
    if (at >= ps->len && code != VS_JSON_ERROR_LIMIT) {
        code = VS_JSON_ERROR_TRUNCATED;
    }
    locate(ps->data, ps->len, at, &line, &column);
    g_set_error(ps->errp, VS_JSON_ERROR, code,
                "%s at offset %zu (line %" PRIu32 ", column %zu)%s%s", what, at, line, column,
                found[0] ? ", found " : "", found);
    return NULL;
}

/* Lexing */

static void skip_ws(JsonParser *ps)
{
    while (ps->pos < ps->len) {
        uint8_t c = ps->data[ps->pos];

        if (c == '\n') {
            ps->line++;
            ps->line_start = ps->pos + 1;
        } else if (c != ' ' && c != '\t' && c != '\r') {
            return;
        }
        ps->pos++;
    }
}

static bool at_byte(const JsonParser *ps, uint8_t c)
{
    return ps->pos < ps->len && ps->data[ps->pos] == c;
}

static bool is_digit(const JsonParser *ps, size_t at)
{
    return at < ps->len && ps->data[at] >= '0' && ps->data[at] <= '9';
}

static int hex_value(uint8_t c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Four hex digits at @at (just after "\u"); false with an error if not. */
static bool read_hex4(JsonParser *ps, size_t at, uint32_t *ret)
{
    uint32_t v = 0;

    for (size_t i = at; i < at + 4; i++) {
        int h = i < ps->len ? hex_value(ps->data[i]) : -1;

        if (h < 0) {
            parse_fail(ps, i, VS_JSON_ERROR_SYNTAX, NULL, "expected 4 hex digits after \\u");
            return false;
        }
        v = v << 4 | (uint32_t)h;
    }
    *ret = v;
    return true;
}

static size_t utf8_put(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/*
 * Length of the valid UTF-8 sequence starting at @s (at most @avail bytes),
 * or 0 if it is invalid; then *@ret_bad is the offset (from @s) of the
 * first byte that makes it so, which may be @avail when the input ends
 * inside the sequence.  Unicode 15, table 3-7: no overlong forms, no
 * surrogates, nothing above U+10FFFF.
 */
static size_t utf8_valid_len(const uint8_t *s, size_t avail, uint32_t *ret_cp, size_t *ret_bad)
{
    uint8_t c = s[0];
    uint8_t lo = 0x80, hi = 0xbf;
    size_t n;
    uint32_t cp;

    if (c < 0x80) {
        *ret_cp = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else {
        *ret_bad = 0;
        return 0;
    }
    for (size_t k = 1; k < n; k++) {
        if (k >= avail || s[k] < lo || s[k] > hi) {
            *ret_bad = k;
            return 0;
        }
        cp = cp << 6 | (s[k] & 0x3f);
        lo = 0x80;
        hi = 0xbf;
    }
    *ret_cp = cp;
    return n;
}

/*
 * Scans the string whose opening quote is at @start.  With @out NULL it
 * validates, stops with an error once the decoded length passes the limit,
 * and sets *@ret_len and *@ret_end (the offset after the closing quote).
 * With @out it decodes into @out, which must hold the length found by the
 * first pass; that pass already validated everything, so it cannot fail.
 * @what: "string" or "key", for the limit message
 */
static bool scan_string(JsonParser *ps, size_t start, char *out, const char *what,
                        size_t *ret_len, size_t *ret_end)
{
    const uint8_t *d = ps->data;
    size_t n = ps->len;
    size_t i = start + 1;
    size_t len = 0;
    char buf[4];

    for (;;) {
        size_t step, produced;
        const char *src;
        uint32_t cp;

        if (len > ps->max_string) {
            parse_fail(ps, start, VS_JSON_ERROR_LIMIT, "", "%s longer than %zu bytes", what,
                       ps->max_string);
            return false;
        }
        if (i >= n) {
            parse_fail(ps, i, VS_JSON_ERROR_SYNTAX, NULL, "expected '\"' to end the %s", what);
            return false;
        }
        if (d[i] == '"') {
            break;
        }
        if (d[i] == '\\') {
            uint8_t e = i + 1 < n ? d[i + 1] : 0;
            static const char simple_in[] = "\"\\/bfnrt";
            static const char simple_out[] = "\"\\/\b\f\n\r\t";
            const char *hit = e ? strchr(simple_in, e) : NULL;

            if (hit) {
                buf[0] = simple_out[hit - simple_in];
                src = buf;
                produced = 1;
                step = 2;
            } else if (e == 'u') {
                if (!read_hex4(ps, i + 2, &cp)) {
                    return false;
                }
                step = 6;
                if (cp >= 0xdc00 && cp <= 0xdfff) {
                    parse_fail(ps, i, VS_JSON_ERROR_ENCODING, "",
                               "unpaired low surrogate \\u%04" PRIX32, cp);
                    return false;
                }
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    size_t j = i + 6;
                    uint32_t low;

                    if (j >= n || d[j] != '\\') {
                        parse_fail(ps, j, VS_JSON_ERROR_ENCODING, NULL,
                                   "expected a low surrogate escape after \\u%04" PRIX32, cp);
                        return false;
                    }
                    if (j + 1 >= n || d[j + 1] != 'u') {
                        parse_fail(ps, j + 1, VS_JSON_ERROR_ENCODING, NULL,
                                   "expected a low surrogate escape after \\u%04" PRIX32, cp);
                        return false;
                    }
                    if (!read_hex4(ps, j + 2, &low)) {
                        return false;
                    }
                    if (low < 0xdc00 || low > 0xdfff) {
                        char found[8];

                        snprintf(found, sizeof(found), "\\u%04" PRIX32, low);
                        parse_fail(ps, j, VS_JSON_ERROR_ENCODING, found,
                                   "expected a low surrogate escape after \\u%04" PRIX32, cp);
                        return false;
                    }
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                    step = 12;
                }
                produced = utf8_put(buf, cp);
                src = buf;
            } else {
                parse_fail(ps, i + 1, VS_JSON_ERROR_SYNTAX, NULL,
                           "expected one of '\"', '\\', '/', 'b', 'f', 'n', 'r', 't', 'u' after "
                           "'\\' in %s", what);
                return false;
            }
        } else if (d[i] < 0x20) {
            parse_fail(ps, i, VS_JSON_ERROR_SYNTAX, NULL,
                       "expected '\"' or a character other than a raw control character in %s",
                       what);
            return false;
        } else {
            size_t bad = 0;

            step = utf8_valid_len(d + i, n - i, &cp, &bad);
            if (!step) {
                parse_fail(ps, i + bad, VS_JSON_ERROR_ENCODING, NULL, "invalid UTF-8 in %s",
                           what);
                return false;
            }
            src = (const char *)d + i;
            produced = step;
        }
        if (out) {
            memcpy(out + len, src, produced);
        }
        len += produced;
        i += step;
    }
    *ret_len = len;
    *ret_end = i + 1;
    return true;
}

/* A key already validated by scan_string(), remembered until its value is made. */
typedef struct PendingKey {
    bool present;
    size_t start;   /* offset of the opening quote */
    size_t len;     /* decoded length */
} PendingKey;

/* Checks the node limit and allocates a node for a value that starts at ps->pos. */
static VsJson *parse_new_node(JsonParser *ps, TALLOC_CTX *parent, VsJsonKind kind,
                              bool with_text, size_t text_len, const PendingKey *key)
{
    VsJson *v;
    size_t ignored_len, ignored_end;

    if (ps->nodes >= ps->max_nodes) {
        return parse_fail(ps, ps->pos, VS_JSON_ERROR_LIMIT, "", "more than %" PRIu64 " values",
                          ps->max_nodes);
    }
    ps->nodes++;
    v = node_alloc(parent, kind, with_text, text_len, key->present, key->len);
    if (key->present) {
        scan_string(ps, key->start, v->key, "key", &ignored_len, &ignored_end);
    }
    v->parsed = true;
    v->offset = ps->pos;
    v->line = ps->line;
    v->column = (uint32_t)MIN(ps->pos - ps->line_start + 1, UINT32_MAX);
    return v;
}

static VsJson *parse_number(JsonParser *ps, TALLOC_CTX *parent, const PendingKey *key)
{
    size_t start = ps->pos;
    size_t i = start;
    VsJson *v;

    if (ps->data[i] == '-') {
        i++;
        if (!is_digit(ps, i)) {
            return parse_fail(ps, i, VS_JSON_ERROR_SYNTAX, NULL, "expected a digit after '-'");
        }
    }
    if (ps->data[i] == '0') {
        i++;
        if (is_digit(ps, i)) {
            return parse_fail(ps, i, VS_JSON_ERROR_SYNTAX, NULL,
                              "expected '.', 'e' or the end of the number after a leading 0");
        }
    } else {
        while (is_digit(ps, i)) {
            i++;
        }
    }
    if (i < ps->len && ps->data[i] == '.') {
        i++;
        if (!is_digit(ps, i)) {
            return parse_fail(ps, i, VS_JSON_ERROR_SYNTAX, NULL,
                              "expected a digit after '.' in number");
        }
        while (is_digit(ps, i)) {
            i++;
        }
    }
    if (i < ps->len && (ps->data[i] == 'e' || ps->data[i] == 'E')) {
        i++;
        if (i < ps->len && (ps->data[i] == '+' || ps->data[i] == '-')) {
            i++;
        }
        if (!is_digit(ps, i)) {
            return parse_fail(ps, i, VS_JSON_ERROR_SYNTAX, NULL,
                              "expected a digit in the exponent of number");
        }
        while (is_digit(ps, i)) {
            i++;
        }
    }
    if (i - start > ps->max_string) {
        return parse_fail(ps, start, VS_JSON_ERROR_LIMIT, "", "number longer than %zu bytes",
                          ps->max_string);
    }
    v = parse_new_node(ps, parent, VS_JSON_NUMBER, true, i - start, key);
    if (v) {
        memcpy(v->text, ps->data + start, i - start);
        ps->pos = i;
    }
    return v;
}

static VsJson *parse_literal(JsonParser *ps, TALLOC_CTX *parent, const PendingKey *key,
                             const char *word, VsJsonKind kind, bool value)
{
    size_t n = strlen(word);
    VsJson *v;

    for (size_t k = 0; k < n; k++) {
        if (ps->pos + k >= ps->len || ps->data[ps->pos + k] != (uint8_t)word[k]) {
            return parse_fail(ps, ps->pos + k, VS_JSON_ERROR_SYNTAX, NULL,
                              "expected '%c' in literal '%s'", word[k], word);
        }
    }
    v = parse_new_node(ps, parent, kind, false, 0, key);
    if (v) {
        v->boolean = value;
        ps->pos += n;
    }
    return v;
}

/*
 * One value at ps->pos (whitespace already skipped).  A container comes
 * back empty; the caller opens it.  @depth: containers already open.
 * @expected: what to say when no value starts here.
 */
static VsJson *parse_value(JsonParser *ps, TALLOC_CTX *parent, const PendingKey *key,
                           uint32_t depth, const char *expected)
{
    VsJson *v;
    size_t len, end;

    if (ps->pos >= ps->len) {
        return parse_fail(ps, ps->pos, VS_JSON_ERROR_SYNTAX, NULL, "%s", expected);
    }
    switch (ps->data[ps->pos]) {
    case '{':
    case '[':
        if (depth >= ps->max_depth) {
            return parse_fail(ps, ps->pos, VS_JSON_ERROR_LIMIT, "",
                              "nesting depth exceeds %" PRIu32, ps->max_depth);
        }
        v = parse_new_node(ps, parent,
                           ps->data[ps->pos] == '{' ? VS_JSON_OBJECT : VS_JSON_ARRAY, false, 0,
                           key);
        if (v) {
            ps->pos++;
        }
        return v;
    case '"':
        if (!scan_string(ps, ps->pos, NULL, "string", &len, &end)) {
            return NULL;
        }
        v = parse_new_node(ps, parent, VS_JSON_STRING, true, len, key);
        if (v) {
            scan_string(ps, ps->pos, v->text, "string", &len, &end);
            ps->pos = end;
        }
        return v;
    case 't':
        return parse_literal(ps, parent, key, "true", VS_JSON_BOOL, true);
    case 'f':
        return parse_literal(ps, parent, key, "false", VS_JSON_BOOL, false);
    case 'n':
        return parse_literal(ps, parent, key, "null", VS_JSON_NULL, false);
    default:
        if (ps->data[ps->pos] == '-' || is_digit(ps, ps->pos)) {
            return parse_number(ps, parent, key);
        }
        return parse_fail(ps, ps->pos, VS_JSON_ERROR_SYNTAX, NULL, "%s", expected);
    }
}

static bool is_container(const VsJson *v)
{
    return v->kind == VS_JSON_ARRAY || v->kind == VS_JSON_OBJECT;
}

/* Gives back the slack of the element array once the container is complete. */
static void container_close(VsJson *v)
{
    if (v->cap > v->count) {
        if (v->count) {
            v->items = talloc_realloc(v, v->items, VsJson *, v->count);
            g_assert(v->items != NULL);
        } else {
            TALLOC_FREE(v->items);
        }
        v->cap = v->count;
    }
}

typedef struct OpenContainer {
    VsJson *node;
    bool after_item;    /* an element or member was read: ',' or the close is next */
} OpenContainer;

VsJson *vs_json_parse(TALLOC_CTX *mem_ctx, const void *data, size_t len,
                      const VsJsonLimits *limits, GError **errp)
{
    static const VsJsonLimits no_limits;
    JsonParser ps = {
        .data = data, .len = len, .line = 1, .errp = errp,
    };
    const PendingKey no_key = { 0 };
    OpenContainer *stack = NULL;
    uint32_t depth = 0, stack_cap = 0;
    VsJson *root;

    g_return_val_if_fail(data != NULL || len == 0, NULL);
    limits = limits ? limits : &no_limits;
    ps.max_depth = limits->max_depth ? limits->max_depth : VS_JSON_DEFAULT_MAX_DEPTH;
    ps.max_depth = MIN(ps.max_depth, VS_JSON_MAX_DEPTH_CEILING);
    ps.max_nodes = limits->max_nodes ? limits->max_nodes : VS_JSON_DEFAULT_MAX_NODES;
    ps.max_string = limits->max_string ? limits->max_string : VS_JSON_DEFAULT_MAX_STRING;
    ps.max_string = MIN(ps.max_string, SIZE_MAX / 8);

    skip_ws(&ps);
    root = parse_value(&ps, mem_ctx, &no_key, 0, "expected a value");
    if (!root) {
        return NULL;
    }
    if (is_container(root)) {
        stack_cap = 8;
        stack = g_new(OpenContainer, stack_cap);
        stack[depth++] = (OpenContainer){ root, false };
    }
    while (depth > 0) {
        OpenContainer *top = &stack[depth - 1];
        bool is_object = top->node->kind == VS_JSON_OBJECT;
        uint8_t close = is_object ? '}' : ']';
        PendingKey key = { 0 };
        const char *expected;
        VsJson *child;

        skip_ws(&ps);
        if (at_byte(&ps, close)) {
            ps.pos++;
            container_close(top->node);
            depth--;
            continue;
        }
        if (top->after_item) {
            if (!at_byte(&ps, ',')) {
                parse_fail(&ps, ps.pos, VS_JSON_ERROR_SYNTAX, NULL,
                           is_object ? "expected ',' or '}' after object member"
                                     : "expected ',' or ']' after array element");
                goto fail;
            }
            ps.pos++;
            skip_ws(&ps);
            expected = is_object ? "expected a string key after ',' in object"
                                 : "expected a value after ',' in array";
        } else {
            expected = is_object ? "expected a string key or '}'" : "expected a value or ']'";
        }
        if (is_object) {
            size_t end;

            if (!at_byte(&ps, '"')) {
                parse_fail(&ps, ps.pos, VS_JSON_ERROR_SYNTAX, NULL, "%s", expected);
                goto fail;
            }
            key.present = true;
            key.start = ps.pos;
            if (!scan_string(&ps, ps.pos, NULL, "key", &key.len, &end)) {
                goto fail;
            }
            ps.pos = end;
            skip_ws(&ps);
            if (!at_byte(&ps, ':')) {
                parse_fail(&ps, ps.pos, VS_JSON_ERROR_SYNTAX, NULL,
                           "expected ':' after object key");
                goto fail;
            }
            ps.pos++;
            skip_ws(&ps);
            expected = "expected a value after ':'";
        }
        child = parse_value(&ps, top->node, &key, depth, expected);
        if (!child) {
            goto fail;
        }
        items_push(top->node, child);
        top->after_item = true;
        if (is_container(child)) {
            if (depth == stack_cap) {
                stack_cap *= 2;
                stack = g_renew(OpenContainer, stack, stack_cap);
            }
            stack[depth++] = (OpenContainer){ child, false };
        }
    }
    skip_ws(&ps);
    if (ps.pos < ps.len) {
        parse_fail(&ps, ps.pos, VS_JSON_ERROR_SYNTAX, NULL,
                   "expected end of input after the value");
        goto fail;
    }
    g_free(stack);
    return root;

fail:
    g_free(stack);
    talloc_free(root);
    return NULL;
}

/* Accessors */

VsJsonKind vs_json_kind(const VsJson *v)
{
    g_return_val_if_fail(v != NULL, VS_JSON_NULL);
    return v->kind;
}

bool vs_json_position(const VsJson *v, size_t *ret_offset, uint32_t *ret_line,
                      uint32_t *ret_column)
{
    g_return_val_if_fail(v != NULL, false);
    if (!v->parsed) {
        return false;
    }
    if (ret_offset) {
        *ret_offset = v->offset;
    }
    if (ret_line) {
        *ret_line = v->line;
    }
    if (ret_column) {
        *ret_column = v->column;
    }
    return true;
}

/* "number 1.5", "string", "true", ... for "found" in accessor errors. */
static char *describe_value(const VsJson *v)
{
    if (!v) {
        return g_strdup("nothing");
    }
    switch (v->kind) {
    case VS_JSON_BOOL:
        return g_strdup(v->boolean ? "true" : "false");
    case VS_JSON_NUMBER:
        if (v->len > 40) {
            return g_strdup_printf("number %.40s...", v->text);
        }
        return g_strdup_printf("number %s", v->text);
    default:
        return g_strdup(kind_names[v->kind]);
    }
}

/* "expected <what>[ at offset N (line L, column C)], found <v>": returns false. */
G_GNUC_PRINTF(4, 5)
static bool value_fail(const VsJson *v, GError **errp, VsJsonError code, const char *fmt, ...)
{
    g_autofree char *what = NULL;
    g_autofree char *where = NULL;
    g_autofree char *found = describe_value(v);
    va_list ap;

    va_start(ap, fmt);
    what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (v && v->parsed) {
        where = g_strdup_printf(" at offset %zu (line %" PRIu32 ", column %" PRIu32 ")",
                                v->offset, v->line, v->column);
    }
    g_set_error(errp, VS_JSON_ERROR, code, "%s%s, found %s", what, where ? where : "", found);
    return false;
}

bool vs_json_get_bool(const VsJson *v, bool *ret, GError **errp)
{
    if (!v || v->kind != VS_JSON_BOOL) {
        return value_fail(v, errp, VS_JSON_ERROR_TYPE, "expected true or false");
    }
    *ret = v->boolean;
    return true;
}

/*
 * Splits an integer literal into sign and magnitude.  False (no error) if
 * @v is not a number written as an integer; *@ret_overflow when the
 * magnitude does not fit in 64 bits.
 */
static bool integer_parts(const VsJson *v, bool *ret_negative, uint64_t *ret_magnitude,
                          bool *ret_overflow)
{
    const char *s;
    uint64_t mag = 0;
    bool overflow = false;

    if (!v || v->kind != VS_JSON_NUMBER) {
        return false;
    }
    s = v->text;
    *ret_negative = *s == '-';
    s += *ret_negative;
    if (!*s) {
        return false;
    }
    for (; *s; s++) {
        unsigned digit;

        if (*s < '0' || *s > '9') {
            return false;
        }
        digit = (unsigned)(*s - '0');
        if (mag > (UINT64_MAX - digit) / 10) {
            overflow = true;
        } else {
            mag = mag * 10 + digit;
        }
    }
    *ret_magnitude = mag;
    *ret_overflow = overflow;
    return true;
}

bool vs_json_get_int64(const VsJson *v, int64_t *ret, GError **errp)
{
    bool negative, overflow;
    uint64_t mag;

    if (!integer_parts(v, &negative, &mag, &overflow)) {
        return value_fail(v, errp, VS_JSON_ERROR_TYPE, "expected an integer");
    }
    if (overflow || mag > (negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX)) {
        return value_fail(v, errp, VS_JSON_ERROR_RANGE,
                          "expected an integer in [%" PRId64 ", %" PRId64 "]", INT64_MIN,
                          INT64_MAX);
    }
    /* -(mag - 1) - 1 reaches INT64_MIN without overflowing. */
    *ret = negative ? (mag ? -(int64_t)(mag - 1) - 1 : 0) : (int64_t)mag;
    return true;
}

bool vs_json_get_uint64(const VsJson *v, uint64_t *ret, GError **errp)
{
    bool negative, overflow;
    uint64_t mag;

    if (!integer_parts(v, &negative, &mag, &overflow)) {
        return value_fail(v, errp, VS_JSON_ERROR_TYPE, "expected an integer");
    }
    if (overflow || (negative && mag)) {
        return value_fail(v, errp, VS_JSON_ERROR_RANGE,
                          "expected an integer in [0, %" PRIu64 "]", UINT64_MAX);
    }
    *ret = mag;
    return true;
}

bool vs_json_get_double(const VsJson *v, double *ret, GError **errp)
{
    double d;

    if (!v || v->kind != VS_JSON_NUMBER) {
        return value_fail(v, errp, VS_JSON_ERROR_TYPE, "expected a number");
    }
    /* g_ascii_strtod ignores the locale, as JSON requires. */
    d = g_ascii_strtod(v->text, NULL);
    if (isinf(d)) {
        return value_fail(v, errp, VS_JSON_ERROR_RANGE, "expected a number in double range");
    }
    *ret = d;
    return true;
}

const char *vs_json_number_text(const VsJson *v, size_t *ret_len)
{
    if (!v || v->kind != VS_JSON_NUMBER) {
        return NULL;
    }
    if (ret_len) {
        *ret_len = v->len;
    }
    return v->text;
}

const char *vs_json_get_string(const VsJson *v, size_t *ret_len, GError **errp)
{
    if (!v || v->kind != VS_JSON_STRING) {
        value_fail(v, errp, VS_JSON_ERROR_TYPE, "expected a string");
        return NULL;
    }
    if (ret_len) {
        *ret_len = v->len;
    }
    return v->text;
}

size_t vs_json_length(const VsJson *v)
{
    return v && is_container(v) ? v->count : 0;
}

const VsJson *vs_json_array_get(const VsJson *array, size_t index)
{
    if (!array || array->kind != VS_JSON_ARRAY || index >= array->count) {
        return NULL;
    }
    return array->items[index];
}

const char *vs_json_object_key(const VsJson *object, size_t index, size_t *ret_len)
{
    if (!object || object->kind != VS_JSON_OBJECT || index >= object->count) {
        return NULL;
    }
    if (ret_len) {
        *ret_len = object->items[index]->key_len;
    }
    return object->items[index]->key;
}

const VsJson *vs_json_object_value(const VsJson *object, size_t index)
{
    if (!object || object->kind != VS_JSON_OBJECT || index >= object->count) {
        return NULL;
    }
    return object->items[index];
}

const VsJson *vs_json_object_get_len(const VsJson *object, const char *key, size_t key_len)
{
    if (!object || object->kind != VS_JSON_OBJECT) {
        return NULL;
    }
    for (size_t i = 0; i < object->count; i++) {
        const VsJson *m = object->items[i];

        if (m->key_len == key_len && memcmp(m->key, key, key_len) == 0) {
            return m;
        }
    }
    return NULL;
}

const VsJson *vs_json_object_get(const VsJson *object, const char *key)
{
    g_return_val_if_fail(key != NULL, NULL);
    return vs_json_object_get_len(object, key, strlen(key));
}

const VsJson *vs_json_pointer(const VsJson *root, const char *pointer, GError **errp)
{
    const VsJson *cur = root;
    const char *p = pointer;

    g_return_val_if_fail(root != NULL && pointer != NULL, NULL);
    if (*p && *p != '/') {
        g_set_error(errp, VS_JSON_ERROR, VS_JSON_ERROR_SYNTAX,
                    "JSON pointer '%s' does not start with '/'", pointer);
        return NULL;
    }
    while (*p) {
        /* The resolved prefix names where we are, for messages: "<root>" or "/devices/3". */
        g_autofree char *here = p == pointer ? g_strdup("<root>")
                                             : g_strndup(pointer, (size_t)(p - pointer));
        const char *tok = p + 1;
        size_t tok_len = strcspn(tok, "/");
        g_autofree char *name = g_malloc(tok_len + 1);
        size_t name_len = 0;

        for (size_t i = 0; i < tok_len; i++) {
            if (tok[i] != '~') {
                name[name_len++] = tok[i];
            } else if (i + 1 < tok_len && (tok[i + 1] == '0' || tok[i + 1] == '1')) {
                name[name_len++] = tok[++i] == '0' ? '~' : '/';
            } else {
                g_set_error(errp, VS_JSON_ERROR, VS_JSON_ERROR_SYNTAX,
                            "JSON pointer '%s': expected '~0' or '~1' at index %zu",
                            pointer, (size_t)(tok + i - pointer));
                return NULL;
            }
        }
        name[name_len] = '\0';
        p = tok + tok_len;

        if (cur->kind == VS_JSON_OBJECT) {
            const VsJson *next = vs_json_object_get_len(cur, name, name_len);

            if (!next) {
                g_set_error(errp, VS_JSON_ERROR, VS_JSON_ERROR_NOT_FOUND,
                            "%s: no member '%s'", here, name);
                return NULL;
            }
            cur = next;
        } else if (cur->kind == VS_JSON_ARRAY) {
            uint64_t index = 0;
            bool ok = name_len > 0 && name_len == strspn(name, "0123456789") &&
                      (name[0] != '0' || name_len == 1) && name_len <= 19;

            if (ok) {
                index = g_ascii_strtoull(name, NULL, 10);
            }
            if (!ok) {
                g_set_error(errp, VS_JSON_ERROR, VS_JSON_ERROR_NOT_FOUND,
                            "%s: expected an array index, found '%s'", here, name);
                return NULL;
            }
            if (index >= cur->count) {
                g_set_error(errp, VS_JSON_ERROR, VS_JSON_ERROR_NOT_FOUND,
                            "%s: index %" PRIu64 " out of range (array of %zu)", here, index,
                            cur->count);
                return NULL;
            }
            cur = cur->items[index];
        } else {
            g_set_error(errp, VS_JSON_ERROR, VS_JSON_ERROR_NOT_FOUND,
                        "%s: expected an array or object to find '%s' in, found %s", here, name,
                        kind_names[cur->kind]);
            return NULL;
        }
    }
    return cur;
}

static bool scalar_equal(const VsJson *a, const VsJson *b)
{
    if (a->kind != b->kind) {
        return false;
    }
    switch (a->kind) {
    case VS_JSON_BOOL:
        return a->boolean == b->boolean;
    case VS_JSON_NUMBER:
    case VS_JSON_STRING:
        return a->len == b->len && memcmp(a->text, b->text, a->len) == 0;
    case VS_JSON_ARRAY:
    case VS_JSON_OBJECT:
        return a->count == b->count;
    default:
        return true;
    }
}

typedef struct EqualFrame {
    const VsJson *a, *b;
    size_t next;
} EqualFrame;

bool vs_json_equal(const VsJson *a, const VsJson *b)
{
    g_autoptr(GArray) stack = NULL;
    bool equal = true;

    if (!a || !b) {
        return a == b;
    }
    if (!scalar_equal(a, b)) {
        return false;
    }
    if (!is_container(a)) {
        return true;
    }
    stack = g_array_new(false, false, sizeof(EqualFrame));
    g_array_append_val(stack, ((EqualFrame){ a, b, 0 }));
    while (equal && stack->len) {
        EqualFrame *top = &g_array_index(stack, EqualFrame, stack->len - 1);
        const VsJson *ca, *cb;

        if (top->next == top->a->count) {
            g_array_set_size(stack, stack->len - 1);
            continue;
        }
        ca = top->a->items[top->next];
        cb = top->b->items[top->next];
        top->next++;
        if (top->a->kind == VS_JSON_OBJECT &&
            (ca->key_len != cb->key_len || memcmp(ca->key, cb->key, ca->key_len) != 0)) {
            equal = false;
        } else if (!scalar_equal(ca, cb)) {
            equal = false;
        } else if (is_container(ca)) {
            g_array_append_val(stack, ((EqualFrame){ ca, cb, 0 }));
        }
    }
    return equal;
}

/* Writer */

/*
 * Escapes as QEMU's quoted_str() (qobject/json-writer.c) and Python's
 * ensure_ascii encoder both do; only the case of the hex digits differs.
 * Invalid UTF-8 (possible only in built strings) becomes U+FFFD per byte.
 */
static void write_u_escape(GString *out, uint32_t unit, bool upper_hex)
{
    if (upper_hex) {
        g_string_append_printf(out, "\\u%04" PRIX32, unit);
    } else {
        g_string_append_printf(out, "\\u%04" PRIx32, unit);
    }
}

static void write_string(GString *out, const char *s, size_t len, bool upper_hex)
{
    const uint8_t *d = (const uint8_t *)s;
    size_t i = 0;

    g_string_append_c(out, '"');
    while (i < len) {
        size_t bad, n;
        uint32_t cp;

        n = utf8_valid_len(d + i, len - i, &cp, &bad);
        if (!n) {
            cp = 0xfffd;
            n = 1;
        }
        i += n;
        switch (cp) {
        case '"':
            g_string_append(out, "\\\"");
            break;
        case '\\':
            g_string_append(out, "\\\\");
            break;
        case '\b':
            g_string_append(out, "\\b");
            break;
        case '\f':
            g_string_append(out, "\\f");
            break;
        case '\n':
            g_string_append(out, "\\n");
            break;
        case '\r':
            g_string_append(out, "\\r");
            break;
        case '\t':
            g_string_append(out, "\\t");
            break;
        default:
            if (cp > 0xffff) {
                write_u_escape(out, 0xd800 + ((cp - 0x10000) >> 10), upper_hex);
                write_u_escape(out, 0xdc00 + ((cp - 0x10000) & 0x3ff), upper_hex);
            } else if (cp < 0x20 || cp >= 0x7f) {
                write_u_escape(out, cp, upper_hex);
            } else {
                g_string_append_c(out, (char)cp);
            }
        }
    }
    g_string_append_c(out, '"');
}

static void write_indent(GString *out, size_t level)
{
    g_string_append_c(out, '\n');
    for (size_t i = 0; i < level; i++) {
        g_string_append(out, "    ");
    }
}

typedef struct WriteFrame {
    const VsJson *node;
    size_t next;
} WriteFrame;

/* Writes a scalar or an empty container whole; opens a non-empty container. */
static void write_open(GString *out, GArray *stack, const VsJson *v, bool upper_hex)
{
    switch (v->kind) {
    case VS_JSON_NULL:
        g_string_append(out, "null");
        break;
    case VS_JSON_BOOL:
        g_string_append(out, v->boolean ? "true" : "false");
        break;
    case VS_JSON_NUMBER:
        g_string_append_len(out, v->text, (gssize)v->len);
        break;
    case VS_JSON_STRING:
        write_string(out, v->text, v->len, upper_hex);
        break;
    case VS_JSON_ARRAY:
    case VS_JSON_OBJECT:
        g_string_append_c(out, v->kind == VS_JSON_ARRAY ? '[' : '{');
        if (!v->count) {
            g_string_append_c(out, v->kind == VS_JSON_ARRAY ? ']' : '}');
        } else {
            g_array_append_val(stack, ((WriteFrame){ v, 0 }));
        }
        break;
    default:
        g_assert_not_reached();
    }
}

void vs_json_write(GString *out, const VsJson *v, VsJsonStyle style)
{
    g_autoptr(GArray) stack = NULL;
    bool indent = style == VS_JSON_STYLE_INDENT;

    g_return_if_fail(out != NULL && v != NULL && style < VS_JSON_STYLE__MAX);
    stack = g_array_new(false, false, sizeof(WriteFrame));
    write_open(out, stack, v, !indent);
    while (stack->len) {
        WriteFrame *top = &g_array_index(stack, WriteFrame, stack->len - 1);
        const VsJson *node = top->node;
        const VsJson *child;

        if (top->next == node->count) {
            g_array_set_size(stack, stack->len - 1);
            if (indent) {
                write_indent(out, stack->len);
            }
            g_string_append_c(out, node->kind == VS_JSON_ARRAY ? ']' : '}');
            continue;
        }
        if (top->next) {
            g_string_append(out, indent ? "," : ", ");
        }
        if (indent) {
            write_indent(out, stack->len);
        }
        child = node->items[top->next++];
        if (node->kind == VS_JSON_OBJECT) {
            write_string(out, child->key, child->key_len, !indent);
            g_string_append(out, ": ");
        }
        /* May grow the stack: @top is not used after this. */
        write_open(out, stack, child, !indent);
    }
}

/* Building */

VsJson *vs_json_new_null(TALLOC_CTX *mem_ctx)
{
    return node_alloc(mem_ctx, VS_JSON_NULL, false, 0, false, 0);
}

VsJson *vs_json_new_bool(TALLOC_CTX *mem_ctx, bool value)
{
    VsJson *v = node_alloc(mem_ctx, VS_JSON_BOOL, false, 0, false, 0);

    v->boolean = value;
    return v;
}

static VsJson *new_number_text(TALLOC_CTX *mem_ctx, const char *text)
{
    size_t len = strlen(text);
    VsJson *v = node_alloc(mem_ctx, VS_JSON_NUMBER, true, len, false, 0);

    memcpy(v->text, text, len);
    return v;
}

VsJson *vs_json_new_int64(TALLOC_CTX *mem_ctx, int64_t value)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "%" PRId64, value);
    return new_number_text(mem_ctx, buf);
}

VsJson *vs_json_new_uint64(TALLOC_CTX *mem_ctx, uint64_t value)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "%" PRIu64, value);
    return new_number_text(mem_ctx, buf);
}

VsJson *vs_json_new_string_len(TALLOC_CTX *mem_ctx, const char *str, size_t len)
{
    VsJson *v;

    g_return_val_if_fail(str != NULL || len == 0, NULL);
    v = node_alloc(mem_ctx, VS_JSON_STRING, true, len, false, 0);
    if (len) {
        memcpy(v->text, str, len);
    }
    return v;
}

VsJson *vs_json_new_string(TALLOC_CTX *mem_ctx, const char *str)
{
    g_return_val_if_fail(str != NULL, NULL);
    return vs_json_new_string_len(mem_ctx, str, strlen(str));
}

VsJson *vs_json_new_array(TALLOC_CTX *mem_ctx)
{
    return node_alloc(mem_ctx, VS_JSON_ARRAY, false, 0, false, 0);
}

VsJson *vs_json_new_object(TALLOC_CTX *mem_ctx)
{
    return node_alloc(mem_ctx, VS_JSON_OBJECT, false, 0, false, 0);
}

void vs_json_array_append(VsJson *array, VsJson *value)
{
    g_return_if_fail(array != NULL && array->kind == VS_JSON_ARRAY);
    g_return_if_fail(value != NULL && !value->contained && value != array);
    /* @value must not hold @array: the tree would become a cycle. */
    g_return_if_fail(!talloc_is_parent(array, value));
    talloc_steal(array, value);
    items_push(array, value);
}

void vs_json_object_append(VsJson *object, const char *key, VsJson *value)
{
    size_t key_len;

    g_return_if_fail(object != NULL && object->kind == VS_JSON_OBJECT && key != NULL);
    g_return_if_fail(value != NULL && !value->contained && value != object);
    /* @value must not hold @object: the tree would become a cycle. */
    g_return_if_fail(!talloc_is_parent(object, value));
    key_len = strlen(key);
    value->key = talloc_memdup(value, key, key_len + 1);
    g_assert(value->key != NULL);
    value->key_len = key_len;
    talloc_steal(object, value);
    items_push(object, value);
}
