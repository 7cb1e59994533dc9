/*
 * ber-tlv.h: the tag-length-value layer under the BER visitors.
 *
 * SPDX-License-Identifier: MIT
 *
 * Theory of operation
 * ===================
 *
 * docs/ber-format.md defines vstate's BER encoding.  This layer knows
 * nothing of visitors: it reads and writes identifiers, lengths and the few
 * universal primitives the encoding uses (INTEGER, BOOLEAN, OCTET STRING,
 * NULL, UTF8String, VisibleString).  Identifier and length octets are
 * parsed and serialised by asn1c's runtime (ber_tlv_tag.c and
 * ber_tlv_length.c from Debian's asn1c skeletons, compiled at build time);
 * everything that comes from input is checked here against the bytes that
 * remain before it is used.
 *
 * Reading.  vs_ber_read_tlv() decodes one header inside [pos, end) and
 * returns the content's bounds.  An indefinite length is resolved at once:
 * the content is scanned for its end-of-contents octets (nesting at most
 * VS_BER_MAX_DEPTH), so callers only ever see definite bounds.
 *
 * Writing.  Output goes to a GByteArray.  vs_ber_open() starts a
 * constructed TLV with one reserved length octet; vs_ber_close() patches
 * the minimal length in and moves the content when it needs more octets.
 *
 *     GByteArray *out = g_byte_array_new();
 *     size_t seq = vs_ber_open(out, VS_BER_UNIVERSAL, VS_BER_TAG_SEQUENCE);
 *
 *     vs_ber_put_uint(out, 0x1234);
 *     vs_ber_close(out, seq);              (30 04 02 02 12 34)
 */
#ifndef VSTATE_BER_TLV_H
#define VSTATE_BER_TLV_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

/* Deepest nesting of constructed TLVs a reader follows. */
#define VS_BER_MAX_DEPTH 64

/* Tag classes, as in the identifier octet's top two bits. */
typedef enum VsBerClass {
    VS_BER_UNIVERSAL = 0,
    VS_BER_APPLICATION = 1,
    VS_BER_CONTEXT = 2,
    VS_BER_PRIVATE = 3,
} VsBerClass;

/* The universal tags the encoding uses. */
enum {
    VS_BER_TAG_BOOLEAN = 1,
    VS_BER_TAG_INTEGER = 2,
    VS_BER_TAG_OCTET_STRING = 4,
    VS_BER_TAG_NULL = 5,
    VS_BER_TAG_UTF8STRING = 12,
    VS_BER_TAG_SEQUENCE = 16,
    VS_BER_TAG_VISIBLESTRING = 26,
};

/*
 * VsBerTlv: one decoded header.
 * @start: offset of the identifier octet
 * @cls, @constructed, @tag: the identifier
 * @content, @len: the content's offset and length (an indefinite length
 *   already resolved)
 * @content_end: @content + @len, the bound for the content's elements
 * @end: offset just after the TLV (after the end-of-contents octets of an
 *   indefinite length)
 */
typedef struct VsBerTlv {
    size_t start;
    VsBerClass cls;
    bool constructed;
    uint32_t tag;
    size_t content;
    size_t len;
    size_t content_end;
    size_t end;
} VsBerTlv;

/*
 * vs_ber_read_tlv: decode the TLV at @pos, which must lie within @end.
 * @data: the buffer; only [@pos, @end) is read
 * @depth: nesting of @pos (0 at the top); deeper than VS_BER_MAX_DEPTH fails
 * @tlv: filled on success
 * @errp: VS_VISIT_ERROR_TRUNCATED when the TLV runs past @end,
 *   VS_VISIT_ERROR_MISMATCH for a malformed header or an end-of-contents
 *   marker where a TLV belongs, VS_VISIT_ERROR_LIMIT for nesting too deep;
 *   messages name the offset of the problem, not a field path
 * Returns: true on success.
 */
bool vs_ber_read_tlv(const uint8_t *data, size_t pos, size_t end, unsigned depth,
                     VsBerTlv *tlv, GError **errp);

/*
 * vs_ber_read_tlv_clipped: as vs_ber_read_tlv(), except that a constructed
 * TLV of definite length running past @end is cut there (content_end and
 * end are @end; len stays the declared length, so vs_ber_tlv_clipped()
 * tells): for showing what a truncated input holds up to its end.
 */
bool vs_ber_read_tlv_clipped(const uint8_t *data, size_t pos, size_t end, unsigned depth,
                             VsBerTlv *tlv, GError **errp);

/* Whether vs_ber_read_tlv_clipped() cut @tlv at the end of the input. */
bool vs_ber_tlv_clipped(const VsBerTlv *tlv);

/*
 * vs_ber_read_tlv_quick: vs_ber_read_tlv() for the common case, inline: a
 * one-octet identifier (tag below 31) and a short definite length that
 * fits in [@pos, @end).  Anything else (and every error) goes to
 * vs_ber_read_tlv(), so the results and messages are the same.
 */
static inline bool vs_ber_read_tlv_quick(const uint8_t *data, size_t pos, size_t end,
                                         unsigned depth, VsBerTlv *tlv, GError **errp)
{
    if (G_LIKELY(end - pos >= 2 && depth <= VS_BER_MAX_DEPTH)) {
        uint8_t id = data[pos], l = data[pos + 1];

        if ((id & 0x1f) != 0x1f && l < 0x80 && (id | l) != 0 && l <= end - pos - 2) {
            tlv->start = pos;
            tlv->cls = (VsBerClass)(id >> 6);
            tlv->constructed = (id & 0x20) != 0;
            tlv->tag = id & 0x1f;
            tlv->content = pos + 2;
            tlv->len = l;
            tlv->content_end = tlv->end = pos + 2 + l;
            return true;
        }
    }
    return vs_ber_read_tlv(data, pos, end, depth, tlv, errp);
}

/* Whether @tlv has this identifier. */
static inline bool vs_ber_is(const VsBerTlv *tlv, VsBerClass cls, bool constructed, uint32_t tag)
{
    return tlv->cls == cls && tlv->constructed == constructed && tlv->tag == tag;
}

/*
 * vs_ber_get_integer: the value of an INTEGER's content.
 * @data, @tlv: a primitive INTEGER (the caller checked the identifier)
 * @ret_negative: set to whether the value is below 0
 * @ret_value: the value: as uint64_t when not negative, as the bits of an
 *   int64_t when negative
 * @errp: VS_VISIT_ERROR_MISMATCH for empty or non-minimal content,
 *   VS_VISIT_ERROR_RANGE for values outside [INT64_MIN, UINT64_MAX]
 */
bool vs_ber_get_integer(const uint8_t *data, const VsBerTlv *tlv, bool *ret_negative,
                        uint64_t *ret_value, GError **errp);

/*
 * vs_ber_tag_name: "[3]", "INTEGER", "SEQUENCE", ... for messages.
 * Returns: a string in @buf (at least 32 bytes).
 */
const char *vs_ber_tag_name(const VsBerTlv *tlv, char *buf, size_t size);

/* ---- writing ---------------------------------------------------------- */

/* The longest identifier and length octets the writers produce. */
#define VS_BER_MAX_HEADER 16

/* The identifier octet's class and constructed bits. */
static inline uint8_t vs_ber_id_bits(VsBerClass cls, bool constructed)
{
    return (uint8_t)(((unsigned)cls << 6) | (constructed ? 0x20 : 0));
}

/*
 * vs_ber_header_long: identifier and minimal length octets in the general
 * form (asn1c's serialisers), written at @p (room for VS_BER_MAX_HEADER).
 * Returns: how many.
 */
size_t vs_ber_header_long(uint8_t *p, uint8_t id_bits, uint32_t tag, size_t len);

/*
 * vs_ber_length_octets: the minimal definite length octets of @len
 * (asn1c's serialiser) at @out (room for VS_BER_MAX_HEADER).
 * Returns: how many.
 */
size_t vs_ber_length_octets(size_t len, uint8_t *out);

/*
 * vs_ber_header_size: how many octets vs_ber_write_header() writes for
 * @tag and @len.
 */
static inline size_t vs_ber_header_size(uint32_t tag, size_t len)
{
    size_t n = 2;

    if (G_UNLIKELY(tag >= 31)) {
        for (uint32_t t = tag; t; t >>= 7) {
            n++;
        }
    }
    if (G_UNLIKELY(len >= 128)) {
        for (size_t l = len; l; l >>= 8) {
            n++;
        }
    }
    return n;
}

/*
 * vs_ber_write_header: identifier and minimal definite length at @p (room
 * for VS_BER_MAX_HEADER octets); @id_bits from vs_ber_id_bits().  The short
 * forms are written here, the others by vs_ber_header_long().
 * Returns: how many octets.
 */
static inline size_t vs_ber_write_header(uint8_t *p, uint8_t id_bits, uint32_t tag, size_t len)
{
    if (G_LIKELY(tag < 31 && len < 128)) {
        p[0] = (uint8_t)(id_bits | tag);
        p[1] = (uint8_t)len;
        return 2;
    }
    return vs_ber_header_long(p, id_bits, tag, len);
}

/* Append an identifier and a minimal definite length. */
void vs_ber_put_header(GByteArray *out, VsBerClass cls, bool constructed, uint32_t tag,
                       size_t len);
/* Append a primitive TLV with @len content bytes from @data (NULL when 0). */
void vs_ber_put_prim(GByteArray *out, VsBerClass cls, uint32_t tag, const void *data,
                     size_t len);
/* Append a minimal INTEGER of an unsigned / a signed value. */
/*
 * vs_ber_integer_content: the minimal INTEGER content octets of @bits read
 * as signed or unsigned (unsigned values with the top bit set get a leading
 * 00).  Writes at most 9 octets to @out and returns how many.
 */
size_t vs_ber_integer_content(uint64_t bits, bool is_signed, uint8_t out[9]);

/* vs_ber_integer_content(), inline for the writers' hot paths. */
static inline size_t vs_ber_integer_octets(uint64_t bits, bool is_signed, uint8_t out[9])
{
    /* A negative value needs the bits of its complement, plus the sign bit. */
    uint64_t mag = is_signed && (int64_t)bits < 0 ? ~bits : bits;
    unsigned bitlen = mag ? 64 - (unsigned)__builtin_clzll(mag) : 0;
    /* One more bit than the magnitude: the sign (a leading 00 when it is set). */
    size_t k = bitlen / 8 + 1, i = 0;

    if (k == 9) {
        out[i++] = 0;
    }
    for (size_t shift = 8 * (k - i); shift > 0; shift -= 8) {
        out[i++] = (uint8_t)(bits >> (shift - 8));
    }
    return k;
}
void vs_ber_put_uint(GByteArray *out, uint64_t value);
void vs_ber_put_int(GByteArray *out, int64_t value);

/*
 * vs_ber_open: start a constructed TLV, reserving one length octet.
 * Returns: its start offset, to give to vs_ber_close().
 */
size_t vs_ber_open(GByteArray *out, VsBerClass cls, uint32_t tag);
/*
 * vs_ber_close: write the minimal length of the TLV opened at @start,
 * whose content is everything appended since.
 */
void vs_ber_close(GByteArray *out, size_t start);

G_END_DECLS

#endif /* VSTATE_BER_TLV_H */
