/*
 * asn1c-shim.h: asn1c's generated codec for examples/consumer/counter.vs,
 * behind three plain functions, so bench-ber.c needs none of asn1c's
 * headers (nor its warnings).
 *
 * SPDX-License-Identifier: MIT
 *
 * The implementation, asn1c-shim.c, is compiled by build-asn1c.py together
 * with asn1c's output for the Counter module (docs/bench.md).
 */
#ifndef VSTATE_BENCH_ASN1C_SHIM_H
#define VSTATE_BENCH_ASN1C_SHIM_H

#include <stddef.h>
#include <stdint.h>

/*
 * vs_bench_asn1c_decode: ber_decode() of one Counter.
 * @data, @len: the bytes; all of them must be consumed
 * @ret: set to the decoded structure (free with vs_bench_asn1c_free()),
 *   or NULL on failure
 *
 * Returns: 0 on success, -1 when asn1c refuses the bytes.
 */
int vs_bench_asn1c_decode(const uint8_t *data, size_t len, void **ret);

/*
 * vs_bench_asn1c_encode: der_encode_to_buffer() of a decoded Counter.
 * Returns: the number of bytes written, or -1 (also when @size is too small).
 */
long vs_bench_asn1c_encode(void *s, uint8_t *buf, size_t size);

/* vs_bench_asn1c_free: ASN_STRUCT_FREE() of what vs_bench_asn1c_decode() made. */
void vs_bench_asn1c_free(void *s);

#endif /* VSTATE_BENCH_ASN1C_SHIM_H */
