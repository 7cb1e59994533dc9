/*
 * section-io.h: saving and loading one device section in the tests of
 * devices/, in QEMU's legacy form and in BER, and finding a section's
 * bytes in a whole QEMU migration stream.
 *
 * Include after <cmocka.h>.  A device is walked through a callback, so the
 * same helpers serve every model: `bool walk(void *dev, VsVisitor *v,
 * GError **errp)`, normally the device's vs_<dev>_visit().
 */
#ifndef VSTATE_TEST_SECTION_IO_H
#define VSTATE_TEST_SECTION_IO_H

#include <glib.h>
#include <stdint.h>
#include <string.h>
#include <talloc.h>

#include "migration/stream.h"
#include "tests/unit/corpus.h"
#include "visitor/ber/ber-visitor.h"
#include "visitor/qemufile/legacy-visitor.h"

typedef bool (*VsTestWalk)(void *dev, VsVisitor *v, GError **errp);

typedef enum VsTestFormat {
    VS_TEST_LEGACY,
    VS_TEST_BER,
} VsTestFormat;

static const char *const vs_test_format_names[] = { "legacy", "ber" };

/* Saves @dev in @fmt; the bytes are a talloc child of @ctx.  Fails the test on error. */
static inline uint8_t *vs_test_save(TALLOC_CTX *ctx, VsTestFormat fmt, VsTestWalk walk,
                                    void *dev, bool hooks, size_t *len)
{
    g_autoptr(GError) err = NULL;
    VsQemuFile *f = NULL;
    VsVisitor *v;
    const uint8_t *data;
    uint8_t *out;

    if (fmt == VS_TEST_LEGACY) {
        f = vs_qemufile_new_memory_writer(ctx);
        v = vs_legacy_save_visitor_new(ctx, f);
    } else {
        v = vs_ber_save_visitor_new(ctx);
    }
    vs_visitor_set_hooks(v, hooks);
    if (!walk(dev, v, &err) || !vs_visitor_complete(v, &err)) {
        print_error("%s save failed: %s\n", vs_test_format_names[fmt], err->message);
        fail();
    }
    data = fmt == VS_TEST_LEGACY ? vs_qemufile_memory_data(f, len)
                                 : vs_ber_save_visitor_data(v, len);
    out = talloc_memdup(ctx, data, *len ? *len : 1);
    vs_visitor_free(v);
    if (f) {
        vs_qemufile_free(f);
    }
    return out;
}

/*
 * Loads @dev from @data in @fmt (@version: the section header's, legacy
 * only).  Allocations of the load go under @result_ctx.  Returns false
 * with *@errp set when the load fails.
 */
static inline bool vs_test_load(TALLOC_CTX *ctx, VsTestFormat fmt, VsTestWalk walk, void *dev,
                                const uint8_t *data, size_t len, uint32_t version, bool hooks,
                                TALLOC_CTX *result_ctx, GError **errp)
{
    VsQemuFile *f = NULL;
    VsVisitor *v;
    bool ok;

    if (fmt == VS_TEST_LEGACY) {
        f = vs_qemufile_new_memory_reader(ctx, data, len);
        v = vs_legacy_load_visitor_new(ctx, f, result_ctx);
        vs_visitor_set_root_version(v, version);
    } else {
        v = vs_ber_load_visitor_new(ctx, data, len, VS_BER_STRICT, result_ctx);
    }
    vs_visitor_set_hooks(v, hooks);
    ok = walk(dev, v, errp) && vs_visitor_complete(v, errp);
    /* A legacy load must consume the section exactly. */
    if (ok && f && !vs_qemufile_at_eof(f)) {
        g_set_error(errp, VS_VISIT_ERROR, VS_VISIT_ERROR_MISMATCH,
                    "%zu bytes left after the section", len - (size_t)vs_qemufile_pos(f));
        ok = false;
    }
    vs_visitor_free(v);
    if (f) {
        vs_qemufile_free(f);
    }
    return ok;
}

/* The same, failing the test when the load fails. */
static inline void vs_test_load_ok(TALLOC_CTX *ctx, VsTestFormat fmt, VsTestWalk walk, void *dev,
                                   const uint8_t *data, size_t len, uint32_t version,
                                   bool hooks, TALLOC_CTX *result_ctx)
{
    g_autoptr(GError) err = NULL;

    if (!vs_test_load(ctx, fmt, walk, dev, data, len, version, hooks, result_ctx, &err)) {
        print_error("%s load failed: %s\n", vs_test_format_names[fmt], err->message);
        fail();
    }
}

/* One device section found in a stream file. */
typedef struct VsTestSection {
    const uint8_t *body;       /* into the file's bytes */
    size_t len;
    uint32_t version;
    uint32_t instance;
} VsTestSection;

/*
 * The body of the section whose idstr is @idstr (or ends in "/" @idstr) in
 * the stream file @path.  @file receives the file's bytes (g_free them).
 * Returns false when the stream has no such section; fails the test when
 * the stream does not load.
 */
static inline bool vs_test_find_section(TALLOC_CTX *ctx, const char *path, const char *idstr,
                                        uint8_t **file, VsTestSection *out)
{
    g_autoptr(GError) err = NULL;
    TALLOC_CTX *tmp = talloc_new(ctx);
    VsStream *s = NULL;
    size_t file_len = 0;
    size_t n = strlen(idstr);
    bool found = false;

    *file = vs_test_read_file(path, &file_len);
    if (!vs_stream_load_file(tmp, path, NULL, &s, &err)) {
        print_error("%s: %s\n", path, err->message);
        fail();
    }
    for (size_t i = 0; !found && i < s->n_records; i++) {
        const VsSection *sec = &s->records[i].section;
        size_t l;

        if (s->records[i].kind != VS_REC_SECTION || !sec->idstr) {
            continue;
        }
        l = strlen(sec->idstr);
        if (strcmp(sec->idstr, idstr) == 0 ||
            (l > n && sec->idstr[l - n - 1] == '/' && strcmp(sec->idstr + l - n, idstr) == 0)) {
            assert_true(sec->body_offset + sec->body_length <= file_len);
            out->body = *file + sec->body_offset;
            out->len = sec->body_length;
            out->version = sec->version_id;
            out->instance = sec->instance_id;
            found = true;
        }
    }
    talloc_free(tmp);
    return found;
}

#endif /* VSTATE_TEST_SECTION_IO_H */
