/*
 * ber-tlv.c: identifiers, lengths and primitives for the BER visitors (see
 * ber-tlv.h).
 *
 * SPDX-License-Identifier: MIT
 *
 * asn1c's runtime parses and serialises identifier and length octets; it is
 * compiled from Debian's skeleton directory into a separate static library
 * (visitor/ber/meson.build).  Its functions return "want more" (0) for input
 * that stops early and never look past the size they are given, so every
 * bound here is the enclosing container's end, never the buffer's.
 */
#include "visitor/ber/ber-tlv.h"
#include "visitor/visitor.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/types.h>

/* asn1c's headers declare this struct only by pointer. */
struct asn_codec_ctx_s;
#include <ber_tlv_length.h>
#include <ber_tlv_tag.h>

static bool tlv_error(GError **errp, VsVisitError code, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static bool tlv_error(GError **errp, VsVisitError code, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(errp, VS_VISIT_ERROR, code, msg);
    return false;
}

/* Finds the end-of-contents octets of an indefinite length's content at @pos. */
static bool find_eoc(const uint8_t *data, size_t pos, size_t end, unsigned depth,
                     size_t *ret_eoc, GError **errp)
{
    while (pos < end) {
        VsBerTlv child;

        if (end - pos >= 2 && data[pos] == 0 && data[pos + 1] == 0) {
            *ret_eoc = pos;
            return true;
        }
        if (!vs_ber_read_tlv(data, pos, end, depth, &child, errp)) {
            return false;
        }
        pos = child.end;
    }
    return tlv_error(errp, VS_VISIT_ERROR_TRUNCATED,
                     "indefinite length without end-of-contents before offset 0x%zx", end);
}

/*
 * Whether the long-form length at @p (@avail bytes left) has more than 7
 * significant octets among those present: asn1c's ber_fetch_length() would
 * shift such a value past its signed type (undefined behaviour) before its
 * own check.  No input is that long anyway.
 */
static bool tlv_length_too_large(const uint8_t *p, size_t avail)
{
    size_t n, i = 1;

    if (!avail || !(p[0] & 0x80)) {
        return false;
    }
    n = MIN((size_t)(p[0] & 0x7f), avail - 1);
    while (i <= n && p[i] == 0) {
        i++;
    }
    return n + 1 - i > 7;
}

static bool tlv_read(const uint8_t *data, size_t pos, size_t end, unsigned depth, bool clip,
                     VsBerTlv *tlv, GError **errp)
{
    ber_tlv_tag_t tag;
    ber_tlv_len_t len;
    ssize_t tl, ll;
    size_t avail = end - pos;

    g_assert(pos <= end);
    if (depth > VS_BER_MAX_DEPTH) {
        return tlv_error(errp, VS_VISIT_ERROR_LIMIT,
                         "nesting deeper than %d at offset 0x%zx", VS_BER_MAX_DEPTH, pos);
    }
    tl = ber_fetch_tag(data + pos, avail, &tag);
    if (tl == 0) {
        return tlv_error(errp, VS_VISIT_ERROR_TRUNCATED,
                         "identifier at offset 0x%zx runs past the end (0x%zx)", pos, end);
    }
    if (tl < 0) {
        return tlv_error(errp, VS_VISIT_ERROR_MISMATCH, "tag number too large at offset 0x%zx",
                         pos);
    }
    if (data[pos] == 0 && avail >= 2 && data[pos + 1] == 0) {
        return tlv_error(errp, VS_VISIT_ERROR_MISMATCH,
                         "end-of-contents where a value belongs at offset 0x%zx", pos);
    }
    tlv->start = pos;
    tlv->cls = (VsBerClass)BER_TAG_CLASS(tag);
    /* Not BER_TLV_CONSTRUCTED(): that macro does not parenthesise its argument. */
    tlv->constructed = (data[pos] & 0x20) != 0;
    tlv->tag = (uint32_t)BER_TAG_VALUE(tag);
    if ((size_t)tl == avail) {
        return tlv_error(errp, VS_VISIT_ERROR_TRUNCATED,
                         "length at offset 0x%zx runs past the end (0x%zx)", pos + tl, end);
    }
    if (tlv_length_too_large(data + pos + tl, avail - tl)) {
        return tlv_error(errp, VS_VISIT_ERROR_MISMATCH, "length too large at offset 0x%zx",
                         pos + tl);
    }
    if (!tlv->constructed && data[pos + tl] == 0x80) {
        return tlv_error(errp, VS_VISIT_ERROR_MISMATCH,
                         "indefinite length of a primitive value at offset 0x%zx", pos);
    }
    ll = ber_fetch_length(tlv->constructed, data + pos + tl, avail - tl, &len);
    if (ll == 0) {
        return tlv_error(errp, VS_VISIT_ERROR_TRUNCATED,
                         "length at offset 0x%zx runs past the end (0x%zx)", pos + tl, end);
    }
    if (ll < 0) {
        return tlv_error(errp, VS_VISIT_ERROR_MISMATCH, "malformed length at offset 0x%zx",
                         pos + tl);
    }
    tlv->content = pos + tl + ll;
    if (len < 0) {
        size_t eoc = 0;

        if (!find_eoc(data, tlv->content, end, depth + 1, &eoc, errp)) {
            return false;
        }
        tlv->len = eoc - tlv->content;
        tlv->content_end = eoc;
        tlv->end = eoc + 2;
        return true;
    }
    if ((uint64_t)len > end - tlv->content && clip && tlv->constructed) {
        /* @len keeps the declared length: the caller sees the cut. */
        tlv->len = (size_t)MIN((uint64_t)len, (uint64_t)SIZE_MAX);
        tlv->content_end = end;
        tlv->end = end;
        return true;
    }
    if ((uint64_t)len > end - tlv->content) {
        return tlv_error(errp, VS_VISIT_ERROR_TRUNCATED,
                         "length %" PRIu64 " at offset 0x%zx exceeds the %zu bytes that remain",
                         (uint64_t)len, pos, end - tlv->content);
    }
    tlv->len = (size_t)len;
    tlv->content_end = tlv->content + tlv->len;
    tlv->end = tlv->content_end;
    return true;
}

bool vs_ber_read_tlv(const uint8_t *data, size_t pos, size_t end, unsigned depth,
                     VsBerTlv *tlv, GError **errp)
{
    return tlv_read(data, pos, end, depth, false, tlv, errp);
}

bool vs_ber_read_tlv_clipped(const uint8_t *data, size_t pos, size_t end, unsigned depth,
                             VsBerTlv *tlv, GError **errp)
{
    return tlv_read(data, pos, end, depth, true, tlv, errp);
}

bool vs_ber_tlv_clipped(const VsBerTlv *tlv)
{
    return tlv->content_end - tlv->content != tlv->len;
}

bool vs_ber_get_integer(const uint8_t *data, const VsBerTlv *tlv, bool *ret_negative,
                        uint64_t *ret_value, GError **errp)
{
    const uint8_t *p = data + tlv->content;
    size_t n = tlv->len;
    uint64_t v = 0;

    if (n == 0) {
        return tlv_error(errp, VS_VISIT_ERROR_MISMATCH, "empty INTEGER at offset 0x%zx",
                         tlv->start);
    }
    /* X.690 8.3.2: the first nine bits are never all zeros or all ones. */
    if (n > 1 && ((p[0] == 0 && !(p[1] & 0x80)) || (p[0] == 0xff && (p[1] & 0x80)))) {
        return tlv_error(errp, VS_VISIT_ERROR_MISMATCH, "non-minimal INTEGER at offset 0x%zx",
                         tlv->start);
    }
    *ret_negative = p[0] & 0x80;
    if (n > 9 || (n == 9 && (*ret_negative || p[0] != 0))) {
        return tlv_error(errp, VS_VISIT_ERROR_RANGE,
                         "INTEGER at offset 0x%zx does not fit in 64 bits", tlv->start);
    }
    if (*ret_negative) {
        v = UINT64_MAX;
    }
    for (size_t i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    *ret_value = v;
    return true;
}

const char *vs_ber_tag_name(const VsBerTlv *tlv, char *buf, size_t size)
{
    static const char *const universal[] = {
        [VS_BER_TAG_BOOLEAN] = "BOOLEAN",
        [VS_BER_TAG_INTEGER] = "INTEGER",
        [VS_BER_TAG_OCTET_STRING] = "OCTET STRING",
        [VS_BER_TAG_NULL] = "NULL",
        [VS_BER_TAG_UTF8STRING] = "UTF8String",
        [VS_BER_TAG_SEQUENCE] = "SEQUENCE",
        [VS_BER_TAG_VISIBLESTRING] = "VisibleString",
    };
    static const char *const classes[] = { "UNIVERSAL ", "APPLICATION ", "", "PRIVATE " };

    if (tlv->cls == VS_BER_UNIVERSAL && tlv->tag < G_N_ELEMENTS(universal) &&
        universal[tlv->tag]) {
        g_strlcpy(buf, universal[tlv->tag], size);
    } else {
        g_snprintf(buf, size, "[%s%" PRIu32 "]", classes[tlv->cls], tlv->tag);
    }
    return buf;
}

/* ---- writing ---------------------------------------------------------- */

/* The identifier octets of asn1c's serialiser, with the constructed bit. */
static size_t identifier_long(uint8_t *p, uint8_t id_bits, uint32_t tag)
{
    size_t n = ber_tlv_tag_serialize(((ber_tlv_tag_t)tag << 2) | (ber_tlv_tag_t)(id_bits >> 6),
                                     p, VS_BER_MAX_HEADER / 2);

    g_assert(n > 0 && n <= VS_BER_MAX_HEADER / 2);
    p[0] |= id_bits & 0x20;
    return n;
}

size_t vs_ber_length_octets(size_t len, uint8_t *out)
{
    size_t n = der_tlv_length_serialize((ber_tlv_len_t)len, out, VS_BER_MAX_HEADER / 2);

    g_assert(n > 0 && n <= VS_BER_MAX_HEADER / 2);
    return n;
}

size_t vs_ber_header_long(uint8_t *p, uint8_t id_bits, uint32_t tag, size_t len)
{
    size_t n = identifier_long(p, id_bits, tag);
    size_t ll = der_tlv_length_serialize((ber_tlv_len_t)len, p + n, VS_BER_MAX_HEADER / 2);

    g_assert(ll > 0 && ll <= VS_BER_MAX_HEADER / 2);
    return n + ll;
}

void vs_ber_put_header(GByteArray *out, VsBerClass cls, bool constructed, uint32_t tag,
                       size_t len)
{
    uint8_t buf[VS_BER_MAX_HEADER];

    g_byte_array_append(out, buf,
                        (guint)vs_ber_write_header(buf, vs_ber_id_bits(cls, constructed), tag,
                                                   len));
}

void vs_ber_put_prim(GByteArray *out, VsBerClass cls, uint32_t tag, const void *data,
                     size_t len)
{
    vs_ber_put_header(out, cls, false, tag, len);
    if (len) {
        g_byte_array_append(out, data, (guint)len);
    }
}

/* Writes the low @n bytes of @bits, big-endian, as an INTEGER. */
size_t vs_ber_integer_content(uint64_t bits, bool is_signed, uint8_t out[9])
{
    return vs_ber_integer_octets(bits, is_signed, out);
}

void vs_ber_put_uint(GByteArray *out, uint64_t value)
{
    uint8_t buf[9];

    vs_ber_put_prim(out, VS_BER_UNIVERSAL, VS_BER_TAG_INTEGER, buf,
                    vs_ber_integer_content(value, false, buf));
}

void vs_ber_put_int(GByteArray *out, int64_t value)
{
    uint8_t buf[9];

    vs_ber_put_prim(out, VS_BER_UNIVERSAL, VS_BER_TAG_INTEGER, buf,
                    vs_ber_integer_content((uint64_t)value, true, buf));
}

size_t vs_ber_open(GByteArray *out, VsBerClass cls, uint32_t tag)
{
    size_t start = out->len;
    uint8_t buf[VS_BER_MAX_HEADER];
    size_t n = vs_ber_write_header(buf, vs_ber_id_bits(cls, true), tag, 0);

    g_byte_array_append(out, buf, (guint)n);
    return start;
}

void vs_ber_close(GByteArray *out, size_t start)
{
    size_t idlen = 1;
    size_t content, len, n;
    uint8_t buf[16];

    if ((out->data[start] & 0x1f) == 0x1f) {
        while (out->data[start + idlen] & 0x80) {
            idlen++;
        }
        idlen++;
    }
    content = start + idlen + 1;
    len = out->len - content;
    n = der_tlv_length_serialize((ber_tlv_len_t)len, buf, sizeof(buf));
    g_assert(n > 0 && n <= sizeof(buf));
    if (n > 1) {
        g_byte_array_set_size(out, out->len + (guint)(n - 1));
        memmove(out->data + content + n - 1, out->data + content, len);
    }
    memcpy(out->data + start + idlen, buf, n);
}
