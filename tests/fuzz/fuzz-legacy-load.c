/*
 * fuzz-legacy-load.c: feeds arbitrary bytes to the legacy LOAD visitor
 * through every example walker.  Any input must end in success or a clean
 * GError: no crash, no leak, no unbounded allocation.
 *
 * SPDX-License-Identifier: MIT
 *
 * Built with -fsanitize=fuzzer when the `fuzzing` option is on; otherwise
 * the same function is driven by fuzz-replay.c over the stored corpus.
 * The first input byte picks the walker and the root version; with bit 3
 * set, a list walker defined here (QEMU's QTAILQ encoding, elements kept in
 * a fixed array as a device would) reads the rest.
 */
#include <stddef.h>
#include <stdint.h>

#include "examples/example-walkers.h"
#include "visitor/qemufile/legacy-visitor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_LIST_MAX 4

static const VsTypeInfo fuzz_list_type = {
    .name = "FuzzList", .wire_name = "fuzz-list", .version = 1, .minimum_version = 1,
};

/* Struct "l" with a list of up to FUZZ_LIST_MAX VsExInner in @items. */
static bool fuzz_visit_list(VsVisitor *v, VsExInner *items, GError **errp)
{
    uint32_t version = fuzz_list_type.version;
    bool ok = false;

    if (!vs_visit_start_struct(v, "l", &fuzz_list_type, &version, errp)) {
        return false;
    }
    if (vs_visit_start_list(v, "items", FUZZ_LIST_MAX, 5, errp)) {
        for (uint32_t i = 0;; i++) {
            bool more = false;

            if (!vs_visit_list_next(v, &more, errp) || !more ||
                !vs_ex_visit_inner(v, NULL, &items[i], errp)) {
                break;
            }
        }
        vs_visit_end_list(v);
        ok = !vs_visitor_failed(v) && vs_visit_check_struct(v, errp);
    }
    vs_visit_end_struct(v);
    return ok;
}

static void load_one(const uint8_t *data, size_t size, unsigned selector)
{
    TALLOC_CTX *ctx = talloc_new(NULL);
    VsQemuFile *f = vs_qemufile_new_memory_reader(ctx, data, size);
    VsVisitor *v = vs_legacy_load_visitor_new(ctx, f, ctx);
    GError *err = NULL;
    bool ok;

    vs_visitor_set_root_version(v, (selector & 7) >> 1);
    if (selector & 8) {
        VsExInner items[FUZZ_LIST_MAX];

        ok = fuzz_visit_list(v, items, &err);
    } else if (selector & 1) {
        VsExDemo s;
        VsExInner storage[VS_EX_SLOTS];

        vs_ex_demo_prepare_load(&s, storage, (selector & 7) >> 2);
        ok = vs_ex_visit_demo(v, "vsdemo", &s, &err);
    } else {
        VsExPic pic = { 0 };

        ok = vs_ex_visit_pic(v, "i8259", &pic, &err);
    }
    ok = ok && vs_visitor_complete(v, &err);
    /* A failure must come with an error that names a path. */
    if (!ok && (!err || !err->message[0])) {
        __builtin_trap();
    }
    g_clear_error(&err);
    talloc_free(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    load_one(data + 1, size - 1, data[0] & 15);
    return 0;
}
