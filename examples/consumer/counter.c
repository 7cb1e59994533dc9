/*
 * counter.c: a device author's program built outside the vstate tree
 * against the installed library (pkg-config name `vstate`).  It declares a
 * tiny state, saves it in QEMU's legacy format, loads it back and prints
 * the trace of the loaded state.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <string.h>

#include <visitor/pretty/pretty.h>
#include <visitor/pretty/tee-visitor.h>
#include <visitor/qemufile/legacy-visitor.h>
#include <visitor/visitor.h>

typedef struct Counter {
    uint32_t ticks;
    int16_t delta;
    uint8_t history[3];
} Counter;

static const VsTypeInfo counter_type = {
    .name = "Counter", .wire_name = "counter", .version = 1, .minimum_version = 1,
    .size = sizeof(Counter),
};

static bool visit_counter(VsVisitor *v, const char *name, Counter *c, GError **errp)
{
    uint32_t version = counter_type.version;
    bool ok = false;

    if (!vs_visit_start_struct(v, name, &counter_type, &version, errp)) {
        return false;
    }
    ok = vs_visit_u32(v, "ticks", &c->ticks, errp) &&
         vs_visit_i16(v, "delta", &c->delta, errp) &&
         vs_visit_u8_array(v, "history", c->history, 3, errp) &&
         vs_visit_check_struct(v, errp);
    vs_visit_end_struct(v);
    return ok;
}

int main(void)
{
    TALLOC_CTX *ctx = talloc_new(NULL);
    Counter out = { .ticks = 0x01020304, .delta = -2, .history = { 7, 8, 9 } };
    Counter in = { 0 };
    VsQemuFile *wf = vs_qemufile_new_memory_writer(ctx);
    VsVisitor *save = vs_legacy_save_visitor_new(ctx, wf);
    const uint8_t *bytes;
    size_t len;
    GError *err = NULL;
    int status = 1;

    if (!visit_counter(save, "counter", &out, &err) || !vs_visitor_complete(save, &err)) {
        goto out;
    }
    bytes = vs_qemufile_memory_data(wf, &len);
    VsQemuFile *rf = vs_qemufile_new_memory_reader(ctx, bytes, len);
    VsVisitor *load = vs_legacy_load_visitor_new(ctx, rf, ctx);
    GString *trace = g_string_new(NULL);
    VsVisitor *tracer = vs_trace_visitor_new(ctx, trace);
    VsVisitor *tee = vs_tee_visitor_new(ctx, load, tracer);

    if (!visit_counter(tee, "counter", &in, &err) || !vs_visitor_complete(tee, &err)) {
        g_string_free(trace, TRUE);
        goto out;
    }
    printf("%zu bytes\n%s", len, trace->str);
    g_string_free(trace, TRUE);
    status = memcmp(&in, &out, sizeof(in)) == 0 ? 0 : 1;
out:
    if (err) {
        fprintf(stderr, "counter: %s\n", err->message);
        g_error_free(err);
    }
    talloc_free(ctx);
    return status;
}
