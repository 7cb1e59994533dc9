/*
 * fuzz-stream.c: feeds arbitrary bytes to vs_stream_load().  Any input must
 * end in success or a clean VS_MIG_ERROR: no crash, no leak, memory
 * proportional to the input; and a stream that loads must encode back to
 * exactly the input.
 *
 * SPDX-License-Identifier: MIT
 *
 * Built with -fsanitize=fuzzer when the `fuzzing` option is on; otherwise
 * fuzz-replay.c drives the same function over the stored corpus
 * (tests/fuzz/corpus/stream/, small synthetic streams named by SHA-256).
 * No compiled walkers are registered: device sections are decoded from the
 * stream's own description, which keeps every byte.  (A compiled walker may
 * normalise what it loads, e.g. a bool byte of 2, so the round trip is only
 * promised for description-decoded sections.)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migration/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What a load may keep per input byte (records, trees, the parsed trailer). */
#define FUZZ_MEM_FACTOR 24
#define FUZZ_MEM_SLACK (256 * 1024)

static void check_roundtrip(const VsStream *s, const uint8_t *data, size_t size)
{
    TALLOC_CTX *ctx = talloc_new(NULL);
    VsQemuFile *out = vs_qemufile_new_memory_writer(ctx);
    GError *err = NULL;
    const uint8_t *got;
    size_t len = 0;

    if (!vs_stream_encode(s, out, &err)) {
        fprintf(stderr, "fuzz-stream: a loaded stream does not encode: %s\n", err->message);
        abort();
    }
    got = vs_qemufile_memory_data(out, &len);
    if (len != size || (size && memcmp(got, data, size) != 0)) {
        fprintf(stderr, "fuzz-stream: re-encoding gives %zu bytes for %zu different ones\n", len,
                size);
        abort();
    }
    talloc_free(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    TALLOC_CTX *ctx = talloc_new(NULL);
    VsStream *s = NULL;
    GError *err = NULL;
    bool ok = vs_stream_load(ctx, data, size, NULL, &s, &err);

    if (talloc_total_size(ctx) > size * FUZZ_MEM_FACTOR + FUZZ_MEM_SLACK) {
        fprintf(stderr, "fuzz-stream: %zu bytes kept for %zu bytes of input\n",
                talloc_total_size(ctx), size);
        abort();
    }
    if (ok) {
        check_roundtrip(s, data, size);
    } else if (!err || err->domain != VS_MIG_ERROR || !err->message[0]) {
        fprintf(stderr, "fuzz-stream: failure without a VS_MIG_ERROR\n");
        abort();
    }
    g_clear_error(&err);
    talloc_free(ctx);
    return 0;
}
