/*
 * fuzz-ber.c: feeds arbitrary bytes to the BER LOAD visitor through the
 * example walkers, and to the schema-less BER decoder.  Any input must end
 * in success or a clean GError with a message: no crash, no leak, no
 * unbounded allocation.
 *
 * SPDX-License-Identifier: MIT
 *
 * Built with -fsanitize=fuzzer when the `fuzzing` option is on; otherwise
 * the same function is driven by fuzz-replay.c over the stored corpus.
 * The first input byte selects: bit 0 the policy (set: VS_BER_LENIENT),
 * bit 1 the walker (set: vs_ex_visit_demo, else vs_ex_visit_pic), bit 2
 * the seed of vs_ex_demo_prepare_load(), bit 3 a whole BER stream instead
 * (vs_stream_load_ber_info(), its header checked and rendered).  The rest
 * is the encoding.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "examples/example-walkers.h"
#include "migration/ber-stream.h"
#include "visitor/ber/ber-visitor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failure must come with an error that says something. */
static void vs_fuzz_check(bool ok, GError **err)
{
    if (!ok && (!*err || !(*err)->message[0])) {
        __builtin_trap();
    }
    g_clear_error(err);
}

/* Reads every warning a lenient load listed, so a bad one shows. */
static void vs_fuzz_read_warnings(VsVisitor *v)
{
    size_t n = 0;
    const char *const *w = vs_ber_load_visitor_warnings(v, &n);
    size_t total = 0;

    for (size_t i = 0; i < n; i++) {
        total += strlen(w[i]);
    }
    if (n && !total) {
        __builtin_trap();
    }
}

static bool vs_fuzz_walk(VsVisitor *v, unsigned selector, GError **errp)
{
    if (selector & 2) {
        VsExDemo s;
        VsExInner storage[VS_EX_SLOTS];

        vs_ex_demo_prepare_load(&s, storage, (selector >> 2) & 1);
        return vs_ex_visit_demo(v, "vsdemo", &s, errp);
    } else {
        VsExPic pic = { 0 };

        return vs_ex_visit_pic(v, "i8259", &pic, errp);
    }
}

static void vs_fuzz_load(TALLOC_CTX *ctx, const uint8_t *data, size_t size, unsigned selector)
{
    VsBerPolicy policy = (selector & 1) ? VS_BER_LENIENT : VS_BER_STRICT;
    VsVisitor *v = vs_ber_load_visitor_new(ctx, data, size, policy, ctx);
    GError *err = NULL;
    bool ok = vs_fuzz_walk(v, selector, &err) && vs_visitor_complete(v, &err);

    vs_fuzz_check(ok, &err);
    vs_fuzz_read_warnings(v);
    vs_visitor_free(v);
}

static void vs_fuzz_decode(TALLOC_CTX *ctx, const uint8_t *data, size_t size)
{
    GError *err = NULL;
    VsNode *root = vs_ber_decode_tree(ctx, data, size, &err);

    vs_fuzz_check(root != NULL, &err);
}

/* A whole stream: it loads or fails cleanly; a header that loads is checked and shown. */
static void vs_fuzz_stream(TALLOC_CTX *ctx, const uint8_t *data, size_t size, unsigned selector)
{
    VsBerPolicy policy = (selector & 1) ? VS_BER_LENIENT : VS_BER_STRICT;
    GPtrArray *notes = g_ptr_array_new_with_free_func(g_free);
    GString *text = g_string_new(NULL);
    VsBerStreamInfo *info = NULL;
    VsStream *s = NULL;
    GError *err = NULL;
    bool ok = vs_stream_load_ber_info(ctx, data, size, &s, &info, &err);

    vs_fuzz_check(ok, &err);
    if (ok) {
        vs_fuzz_check(vs_ber_stream_check(info, policy, notes, &err), &err);
        vs_ber_stream_info_render(info, text);
    }
    g_string_free(text, TRUE);
    g_ptr_array_unref(notes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    TALLOC_CTX *ctx;

    if (size < 1) {
        return 0;
    }
    ctx = talloc_new(NULL);
    if (data[0] & 8) {
        vs_fuzz_stream(ctx, data + 1, size - 1, data[0]);
    } else {
        vs_fuzz_load(ctx, data + 1, size - 1, data[0]);
        vs_fuzz_decode(ctx, data + 1, size - 1);
    }
    talloc_free(ctx);
    return 0;
}
