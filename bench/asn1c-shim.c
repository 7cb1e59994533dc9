/*
 * asn1c-shim.c: see asn1c-shim.h.  Compiled by build-asn1c.py with asn1c's
 * generated files for the Counter module, with warnings off and ASN_DEBUG
 * defined as an empty macro.
 *
 * SPDX-License-Identifier: MIT
 */
#include "Counter.h"
#include "asn1c-shim.h"

int vs_bench_asn1c_decode(const uint8_t *data, size_t len, void **ret)
{
    Counter_t *s = NULL;
    asn_dec_rval_t rv = ber_decode(NULL, &asn_DEF_Counter, (void **)&s, data, len);

    if (rv.code != RC_OK || rv.consumed != len) {
        ASN_STRUCT_FREE(asn_DEF_Counter, s);
        *ret = NULL;
        return -1;
    }
    *ret = s;
    return 0;
}

long vs_bench_asn1c_encode(void *s, uint8_t *buf, size_t size)
{
    asn_enc_rval_t er = der_encode_to_buffer(&asn_DEF_Counter, s, buf, size);

    return er.encoded < 0 ? -1 : (long)er.encoded;
}

void vs_bench_asn1c_free(void *s)
{
    ASN_STRUCT_FREE(asn_DEF_Counter, s);
}
