/*
 * json.h: a small, strict, bounded JSON (RFC 8259) parser and writer.
 *
 * SPDX-License-Identifier: MIT
 *
 * The migration layer reads JSON from two places: the description trailer
 * QEMU appends to a migration stream (QEMU_VM_VMDESCRIPTION, a compact
 * document of up to a few MiB) and the output of `qemu -dump-vmstate`.
 * The trailer arrives with the stream, so the parser treats every input as
 * hostile:
 *
 *   - strict RFC 8259: no comments, no trailing commas, no single quotes,
 *     no NaN/Infinity, no leading zeros, no bytes after the value (only
 *     whitespace), no byte order mark;
 *   - the input is a pointer and a length, not a C string: a NUL byte is
 *     an error wherever it appears (in a string it is a raw control
 *     character; "\u0000" is accepted and decoded);
 *   - strings must be valid UTF-8 (no overlong forms, no encoded
 *     surrogates, nothing above U+10FFFF); escapes, including \uXXXX and
 *     surrogate pairs, are decoded to UTF-8 and a lone surrogate escape is
 *     an error;
 *   - VsJsonLimits bounds the nesting depth, the number of values and the
 *     length of every string, and each bound is checked before the memory
 *     is allocated;
 *   - the parser is iterative: deep input cannot exhaust the C stack, and
 *     neither can the writer or vs_json_equal().
 *
 * Every failure is one GError in the VS_JSON_ERROR domain whose message
 * says what was expected and what was found, and where:
 *
 *     expected ',' or '}' after object member at offset 1234 (line 1, column 1235), found 'x'
 *
 * Offsets count bytes from 0; lines and columns count from 1, and columns
 * count bytes, not characters.  Found text is a quoted printable ASCII
 * character, "byte 0xNN" for anything else, or "end of input".
 *
 * The tree.  vs_json_parse() returns a tree of VsJson nodes of six kinds.
 * Every node is a talloc child of its container, the root a child of
 * @mem_ctx, so one talloc_free() of the root frees the document.  Nodes
 * are read through the accessors below:
 *
 *   - numbers keep their literal text exactly as written ("1.50", "-0",
 *     "1E+2"); vs_json_get_int64() and vs_json_get_uint64() accept only
 *     exact integer literals (no fraction, no exponent) that fit, which is
 *     what QEMU writes; vs_json_get_double() accepts any number;
 *   - strings are decoded to UTF-8 with an explicit length (they may hold
 *     U+0000) and a terminating NUL after that length for convenience;
 *   - arrays have a length and indexed elements;
 *   - objects keep their members in input order, because re-encoding
 *     QEMU's trailer byte for byte needs QEMU's key order.  Duplicate keys
 *     are all kept, in order; the lookups (vs_json_object_get(),
 *     vs_json_pointer()) return the first member with the key.
 *
 * The writer.  vs_json_write() appends a tree to a GString in one of two
 * styles:
 *
 *   - VS_JSON_STYLE_COMPACT is QEMU's JSONWriter without `pretty`
 *     (qobject/json-writer.c), the layout of the vmdesc trailer: one line,
 *     ", " between elements and members, ": " after keys, "{}" and "[]"
 *     when empty;
 *   - VS_JSON_STYLE_INDENT is Python's json.dumps(value, indent=4): a
 *     newline and four spaces per level before every element and member,
 *     "," at line ends, ": " after keys, "{}" and "[]" when empty, no final
 *     newline.  The corpus's *.desc.json files are this plus "\n".
 *
 * Strings are escaped as each of those writers does: '"' and '\\' with a
 * backslash, \b \f \n \r \t by name, other control characters, DEL and
 * everything beyond ASCII as \uXXXX (a surrogate pair above U+FFFF), and
 * '/' never.  The compact style writes the hex digits in upper case, as
 * QEMU does; the indented style in lower case, as Python does.  Numbers are
 * written as their literal text, so parse then write reproduces QEMU's
 * trailer byte for byte.  A string built with vs_json_new_string() that is
 * not valid UTF-8 is written with one U+FFFD per bad byte (QEMU's writer
 * substitutes U+FFFD too, though not always byte for byte).
 *
 * Example:
 *
 *     g_autoptr(GError) err = NULL;
 *     VsJson *desc = vs_json_parse(ctx, bytes, len, NULL, &err);
 *     int64_t page_size;
 *     const VsJson *fields;
 *
 *     if (!desc || !vs_json_get_int64(vs_json_object_get(desc, "page_size"),
 *                                     &page_size, &err) ||
 *         !(fields = vs_json_pointer(desc, "/devices/3/fields", &err))) {
 *         g_printerr("vmdesc: %s\n", err->message);
 *         ...
 *     }
 *     for (size_t i = 0; i < vs_json_length(fields); i++) {
 *         const VsJson *name = vs_json_object_get(vs_json_array_get(fields, i), "name");
 *         ...
 *     }
 *     g_autoptr(GString) out = g_string_new(NULL);
 *     vs_json_write(out, desc, VS_JSON_STYLE_COMPACT);     (QEMU's bytes again)
 *     talloc_free(desc);
 */
#ifndef VSTATE_JSON_H
#define VSTATE_JSON_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <talloc.h>

G_BEGIN_DECLS

#define VS_JSON_ERROR (vs_json_error_quark())
GQuark vs_json_error_quark(void);

typedef enum VsJsonError {
    VS_JSON_ERROR_SYNTAX,      /* not JSON: unexpected character, bad escape, ... */
    VS_JSON_ERROR_TRUNCATED,   /* the input ended inside the value */
    VS_JSON_ERROR_ENCODING,    /* invalid UTF-8 or an unpaired surrogate escape */
    VS_JSON_ERROR_LIMIT,       /* a VsJsonLimits bound was exceeded */
    VS_JSON_ERROR_TYPE,        /* accessor: the value is of another kind */
    VS_JSON_ERROR_RANGE,       /* accessor: the number does not fit */
    VS_JSON_ERROR_NOT_FOUND,   /* vs_json_pointer(): no such member or element */
    VS_JSON_ERROR__MAX,
} VsJsonError;

typedef enum VsJsonKind {
    VS_JSON_NULL,
    VS_JSON_BOOL,
    VS_JSON_NUMBER,
    VS_JSON_STRING,
    VS_JSON_ARRAY,
    VS_JSON_OBJECT,
    VS_JSON_KIND__MAX,
} VsJsonKind;

typedef enum VsJsonStyle {
    VS_JSON_STYLE_COMPACT,     /* QEMU's JSONWriter, pretty=false (the vmdesc trailer) */
    VS_JSON_STYLE_INDENT,      /* Python's json.dumps(indent=4) */
    VS_JSON_STYLE__MAX,
} VsJsonStyle;

typedef struct VsJson VsJson;

/* Defaults used for a zero field of VsJsonLimits (or NULL limits). */
#define VS_JSON_DEFAULT_MAX_DEPTH 64
#define VS_JSON_DEFAULT_MAX_NODES (1u << 19)
#define VS_JSON_DEFAULT_MAX_STRING (1u << 20)
/*
 * Hard ceiling on max_depth: larger requests are lowered to it, because
 * talloc_free() walks the tree recursively.
 */
#define VS_JSON_MAX_DEPTH_CEILING 1024

/*
 * VsJsonLimits: bounds for untrusted input.  A zero field means its
 * default, so `VsJsonLimits l = { .max_depth = 8 };` changes one bound.
 */
typedef struct VsJsonLimits {
    /* Nesting of arrays and objects; a lone scalar has depth 0, "[]" 1. */
    uint32_t max_depth;
    /*
     * Values in the document (scalars, arrays and objects; keys are not
     * values).  This is also the memory bound: a value costs about 200
     * bytes (node, talloc header, element pointer) plus its text, so the
     * default caps a tree near 100 MiB.  QEMU 7.2's trailer averages 15
     * bytes of JSON per value: the default admits trailers of ~7 MiB.
     */
    uint64_t max_nodes;
    /* Bytes of one decoded string or key, and of one number's literal text. */
    size_t max_string;
} VsJsonLimits;

/*
 * vs_json_parse:
 * @mem_ctx: talloc parent of the new tree
 * @data: the JSON text; borrowed, only for the duration of the call
 * @len: number of bytes at @data (no terminating NUL is needed or allowed)
 * @limits: bounds, or NULL for the defaults
 * @errp: on failure, a VS_JSON_ERROR (SYNTAX, TRUNCATED, ENCODING, LIMIT)
 *
 * Parse exactly one JSON value, optionally surrounded by whitespace.
 *
 * Ownership: the root is a child of @mem_ctx and owns the whole tree;
 * nothing is left allocated on failure.
 * Returns: the root, or NULL with @errp set.
 */
VsJson *vs_json_parse(TALLOC_CTX *mem_ctx, const void *data, size_t len,
                      const VsJsonLimits *limits, GError **errp);

/* vs_json_kind: the kind of @v. */
VsJsonKind vs_json_kind(const VsJson *v);

/* vs_json_kind_name: "null", "bool", "number", "string", "array" or "object". */
const char *vs_json_kind_name(VsJsonKind kind);

/*
 * vs_json_position:
 * @v: a node
 * @ret_offset, @ret_line, @ret_column: where @v's first byte was in the
 *     parsed text (each may be NULL); written only when true is returned
 *
 * Returns: true for a parsed node, false for one built with vs_json_new_*().
 */
bool vs_json_position(const VsJson *v, size_t *ret_offset, uint32_t *ret_line,
                      uint32_t *ret_column);

/*
 * vs_json_get_bool:
 * @v: a node, or NULL (an error of kind TYPE, so that a missing member
 *     looked up with vs_json_object_get() can be passed straight in)
 * @ret: set to the value; untouched on failure
 * @errp: VS_JSON_ERROR_TYPE if @v is not true or false
 */
bool vs_json_get_bool(const VsJson *v, bool *ret, GError **errp);

/*
 * vs_json_get_int64:
 * @v: a node, or NULL (a TYPE error)
 * @ret: set to the value; untouched on failure
 * @errp: VS_JSON_ERROR_TYPE unless @v is a number written as an integer
 *     (no fraction, no exponent: "1.0" and "1e3" are refused);
 *     VS_JSON_ERROR_RANGE if it is outside [INT64_MIN, INT64_MAX]
 *
 * "-0" is read as 0.
 */
bool vs_json_get_int64(const VsJson *v, int64_t *ret, GError **errp);

/*
 * vs_json_get_uint64: as vs_json_get_int64(), for [0, UINT64_MAX]; a
 * negative integer is a RANGE error ("-0" is read as 0).
 */
bool vs_json_get_uint64(const VsJson *v, uint64_t *ret, GError **errp);

/*
 * vs_json_get_double:
 * @v: a node, or NULL (a TYPE error)
 * @ret: set to the nearest double; untouched on failure
 * @errp: VS_JSON_ERROR_TYPE unless @v is a number; VS_JSON_ERROR_RANGE if
 *     its magnitude is too large for a double (underflow rounds to 0)
 */
bool vs_json_get_double(const VsJson *v, double *ret, GError **errp);

/*
 * vs_json_number_text:
 * @v: a node, or NULL
 * @ret_len: set to the literal's length (may be NULL)
 *
 * Returns: the number's literal text as written (NUL-terminated; borrowed,
 * valid as long as @v), or NULL if @v is not a number.
 */
const char *vs_json_number_text(const VsJson *v, size_t *ret_len);

/*
 * vs_json_get_string:
 * @v: a node, or NULL (a TYPE error)
 * @ret_len: set to the decoded length in bytes (may be NULL); a string may
 *     hold NUL bytes, so use this rather than strlen() when it matters
 * @errp: VS_JSON_ERROR_TYPE if @v is not a string
 *
 * Returns: the UTF-8 bytes followed by a NUL (borrowed, valid as long as
 * @v), or NULL with @errp set.
 */
const char *vs_json_get_string(const VsJson *v, size_t *ret_len, GError **errp);

/* vs_json_length: elements of an array, members of an object, else 0. */
size_t vs_json_length(const VsJson *v);

/*
 * vs_json_array_get: element @index of @array (borrowed), or NULL if
 * @array is NULL, not an array, or too short.
 */
const VsJson *vs_json_array_get(const VsJson *array, size_t index);

/*
 * vs_json_object_key:
 * @object: an object node
 * @index: member number, in input order
 * @ret_len: set to the key's decoded length (may be NULL)
 *
 * Returns: the key of member @index (UTF-8, NUL-terminated, borrowed), or
 * NULL if @object is not an object or @index is out of range.
 */
const char *vs_json_object_key(const VsJson *object, size_t index, size_t *ret_len);

/* vs_json_object_value: the value of member @index (borrowed), or NULL. */
const VsJson *vs_json_object_value(const VsJson *object, size_t index);

/*
 * vs_json_object_get:
 * @object: an object node, or NULL
 * @key: a NUL-terminated key
 *
 * Lookup is linear.  With duplicate keys the first member wins.
 * Returns: the member's value (borrowed), or NULL if there is none or
 * @object is not an object.
 */
const VsJson *vs_json_object_get(const VsJson *object, const char *key);

/* vs_json_object_get_len: as vs_json_object_get(), for a key of @key_len bytes. */
const VsJson *vs_json_object_get_len(const VsJson *object, const char *key, size_t key_len);

/*
 * vs_json_pointer:
 * @root: where the lookup starts
 * @pointer: an RFC 6901 JSON Pointer: "" is @root, "/devices/3/fields" is
 *     member "devices", its element 3, that element's member "fields";
 *     in a key "~1" stands for '/' and "~0" for '~'.  An array index is
 *     decimal without leading zeros.
 * @errp: VS_JSON_ERROR_NOT_FOUND naming the prefix that resolved and what
 *     was missing; VS_JSON_ERROR_SYNTAX for a malformed @pointer
 *
 * With duplicate keys the first member wins.
 * Returns: the node (borrowed from @root's tree), or NULL with @errp set.
 */
const VsJson *vs_json_pointer(const VsJson *root, const char *pointer, GError **errp);

/*
 * vs_json_equal: true when @a and @b have the same kinds, the same number
 * literals (text, so "1.0" differs from "1"), the same string bytes, and
 * the same members with the same keys in the same order.  NULL equals only
 * NULL.
 */
bool vs_json_equal(const VsJson *a, const VsJson *b);

/*
 * vs_json_write:
 * @out: the text is appended here
 * @v: the tree to write
 * @style: VS_JSON_STYLE_COMPACT or VS_JSON_STYLE_INDENT (see above)
 *
 * Writing cannot fail.
 */
void vs_json_write(GString *out, const VsJson *v, VsJsonStyle style);

/*
 * Building trees, e.g. to write a vmdesc trailer.  Each constructor
 * returns a new node, a talloc child of @mem_ctx; never NULL.
 */
VsJson *vs_json_new_null(TALLOC_CTX *mem_ctx);
VsJson *vs_json_new_bool(TALLOC_CTX *mem_ctx, bool value);
/* Numbers as QEMU writes them ("%" PRId64 / "%" PRIu64). */
VsJson *vs_json_new_int64(TALLOC_CTX *mem_ctx, int64_t value);
VsJson *vs_json_new_uint64(TALLOC_CTX *mem_ctx, uint64_t value);
/* A copy of the NUL-terminated @str. */
VsJson *vs_json_new_string(TALLOC_CTX *mem_ctx, const char *str);
/* A copy of @len bytes at @str (may hold NUL bytes). */
VsJson *vs_json_new_string_len(TALLOC_CTX *mem_ctx, const char *str, size_t len);
VsJson *vs_json_new_array(TALLOC_CTX *mem_ctx);
VsJson *vs_json_new_object(TALLOC_CTX *mem_ctx);

/*
 * vs_json_array_append:
 * @array: an array node
 * @value: a node that is not yet in any container
 *
 * Append @value to @array.
 * Ownership: @value is moved under @array with talloc_steal().
 */
void vs_json_array_append(VsJson *array, VsJson *value);

/*
 * vs_json_object_append:
 * @object: an object node
 * @key: the NUL-terminated key, copied
 * @value: a node that is not yet in any container
 *
 * Append a member, after the existing ones, even if @key is already there.
 * Ownership: @value is moved under @object with talloc_steal().
 */
void vs_json_object_append(VsJson *object, const char *key, VsJson *value);

G_END_DECLS

#endif /* VSTATE_JSON_H */
