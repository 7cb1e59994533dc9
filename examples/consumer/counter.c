/*
 * counter.c: a device author's program built outside the vstate tree
 * against the installed library (pkg-config name `vstate`).  The state is
 * declared in counter.vs and compiled by the installed vstate-gen; the
 * program saves it in QEMU's legacy format, loads it back while tracing
 * what was loaded, and checks that nothing changed.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <string.h>

#include <visitor/pretty/pretty.h>
#include <visitor/pretty/tee-visitor.h>
#include <visitor/qemufile/legacy-visitor.h>

#include "counter.vs.h"

int main(void)
{
    TALLOC_CTX *ctx = talloc_new(NULL);
    Counter out = {
        .ticks = 0x01020304, .delta = -2, .nlog = 3, .log = { 7, 8, 9 }, .flags = 1,
        .alarm = 0x500,
    };
    Counter in = { 0 };
    VsQemuFile *wf = vs_qemufile_new_memory_writer(ctx);
    VsVisitor *save = vs_legacy_save_visitor_new(ctx, wf);
    GString *trace = g_string_new(NULL);
    const uint8_t *bytes;
    size_t len;
    GError *err = NULL;
    int status = 1;

    if (!vs_visit_Counter(save, "counter", &out, &err) || !vs_visitor_complete(save, &err)) {
        goto out;
    }
    bytes = vs_qemufile_memory_data(wf, &len);

    VsQemuFile *rf = vs_qemufile_new_memory_reader(ctx, bytes, len);
    VsVisitor *load = vs_legacy_load_visitor_new(ctx, rf, ctx);
    VsVisitor *tee = vs_tee_visitor_new(ctx, load, vs_trace_visitor_new(ctx, trace));

    vs_visitor_set_root_version(load, vs_type_Counter.version);
    if (!vs_visit_Counter(tee, "counter", &in, &err) || !vs_visitor_complete(tee, &err)) {
        goto out;
    }
    printf("%zu bytes\n%s", len, trace->str);
    status = memcmp(&in, &out, sizeof(in)) == 0 ? 0 : 1;
out:
    if (err) {
        fprintf(stderr, "counter: %s\n", err->message);
        g_error_free(err);
    }
    g_string_free(trace, TRUE);
    talloc_free(ctx);
    return status;
}
