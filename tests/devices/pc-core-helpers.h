/*
 * pc-core-helpers.h: what the PIC, PIT and RTC tests share: section-io.h's
 * save and load for walkers called by name (vs_visit_<Type>), a check that
 * BER keeps every value, and every section of a device in the QEMU 7.2
 * corpus.
 *
 * SPDX-License-Identifier: MIT
 *
 * Include after <cmocka.h> (it brings tests/unit/test-helpers.h).  Every
 * helper fails the test (printing the error) when an operation that must
 * work does not.
 */
#ifndef VSTATE_TEST_PC_CORE_HELPERS_H
#define VSTATE_TEST_PC_CORE_HELPERS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <talloc.h>

#include "migration/stream.h"
#include "tests/unit/corpus.h"
#include "tests/devices/section-io.h"
#include "tests/unit/test-helpers.h"

typedef bool (*PcWalkFn)(VsVisitor *v, const char *name, void *obj, GError **errp);

#define PC_WALKER(fn, T)                                                           \
    static bool fn(VsVisitor *v, const char *name, void *obj, GError **errp)      \
    {                                                                              \
        return vs_visit_##T(v, name, (T *)obj, errp);                              \
    }

/* Two states hold the same migratable values (the owner mark is not one). */
#define assert_same_state(T, a, b)                                  \
    do {                                                            \
        T x_, y_;                                                   \
        memcpy(&x_, (a), sizeof(T));                                \
        memcpy(&y_, (b), sizeof(T));                                \
        x_.owner = y_.owner = 0;                                    \
        assert_memory_equal(&x_, &y_, sizeof(T));                   \
    } while (0)

typedef VsTestFormat PcForm;
#define PC_LEGACY VS_TEST_LEGACY
#define PC_BER VS_TEST_BER

/* A walker by name, as section-io.h's helpers call a device walk. */
typedef struct PcWalkCall {
    PcWalkFn walk;
    const char *name;
    void *obj;
} PcWalkCall;

static inline bool pc_walk_call(void *call, VsVisitor *v, GError **errp)
{
    const PcWalkCall *c = call;

    return c->walk(v, c->name, c->obj, errp);
}

/* Saves @obj; returns the bytes (a talloc child of @mem), failing the test on error. */
static inline uint8_t *pc_save(TALLOC_CTX *mem, PcForm form, PcWalkFn walk, const char *name,
                               void *obj, bool hooks, size_t *ret_len)
{
    PcWalkCall call = { walk, name, obj };

    return vs_test_save(mem, form, pc_walk_call, &call, hooks, ret_len);
}

/*
 * Loads @len bytes into @obj; @version is the section version (legacy
 * only: BER carries it).  Returns false with *@errp set on failure.
 */
static inline bool pc_load_try(TALLOC_CTX *mem, PcForm form, const uint8_t *data, size_t len,
                               PcWalkFn walk, const char *name, void *obj, uint32_t version,
                               bool hooks, GError **errp)
{
    PcWalkCall call = { walk, name, obj };

    return vs_test_load(mem, form, pc_walk_call, &call, data, len, version, hooks, mem, errp);
}

static inline void pc_load(TALLOC_CTX *mem, PcForm form, const uint8_t *data, size_t len,
                           PcWalkFn walk, const char *name, void *obj, uint32_t version,
                           bool hooks)
{
    PcWalkCall call = { walk, name, obj };

    vs_test_load_ok(mem, form, pc_walk_call, &call, data, len, version, hooks, mem);
}

/*
 * A section's state, through BER and back with hooks off, saves to the same
 * legacy bytes @want: BER keeps every value of QEMU's state.
 */
static inline void pc_assert_ber_keeps(TALLOC_CTX *mem, PcWalkFn walk, const char *name,
                                       void *obj, size_t size, const uint8_t *want,
                                       size_t want_len)
{
    void *copy = talloc_zero_size(mem, size);
    size_t ber_len, len;
    uint8_t *ber = pc_save(mem, PC_BER, walk, name, obj, false, &ber_len);
    uint8_t *again;

    pc_load(mem, PC_BER, ber, ber_len, walk, name, copy, 0, false);
    again = pc_save(mem, PC_LEGACY, walk, name, copy, false, &len);
    assert_bytes(again, len, want, want_len);
    talloc_free(again);
    talloc_free(ber);
    talloc_free(copy);
}

/* One device section of one corpus stream: its body bytes and header. */
typedef struct PcCorpusSection {
    char *stream;             /* the stream's path, without ".bin" */
    uint8_t *body;            /* talloc child of the array's context */
    size_t len;
    uint32_t version;
    uint32_t instance;
} PcCorpusSection;

/*
 * Every section @idstr of every corpus stream, found with the stream
 * loader (decoding from the streams' own descriptions, so the walker under
 * test is not involved).  Returns the number found; *@ret is a talloc
 * array under @mem.  Skips the test when there is no corpus.
 */
static inline size_t pc_corpus_sections(TALLOC_CTX *mem, const char *idstr,
                                        PcCorpusSection **ret)
{
    g_autofree char *dir = vs_test_corpus_dir();
    g_autoptr(GPtrArray) streams = NULL;
    PcCorpusSection *out = NULL;
    size_t n = 0;

    SKIP_WITHOUT_CORPUS(dir);
    streams = vs_test_corpus_streams(dir);
    for (guint i = 0; i < streams->len; i++) {
        g_autofree char *path = g_strconcat(streams->pdata[i], ".bin", NULL);
        VsLoadOptions opts = { .no_schemas = true };
        TALLOC_CTX *tmp = talloc_new(mem);
        VsStream *s = NULL;
        GError *err = NULL;
        size_t size = 0;
        g_autofree uint8_t *input = vs_test_read_file(path, &size);

        if (!vs_stream_load(tmp, input, size, &opts, &s, &err)) {
            print_error("cannot load %s: %s\n", path, err->message);
            g_error_free(err);
            fail();
        }
        for (size_t r = 0; r < s->n_records; r++) {
            const VsRecord *rec = &s->records[r];

            if (rec->kind != VS_REC_SECTION || !rec->section.idstr ||
                strcmp(rec->section.idstr, idstr) != 0) {
                continue;
            }
            out = talloc_realloc(mem, out, PcCorpusSection, n + 1);
            out[n] = (PcCorpusSection){
                .stream = talloc_strdup(out, streams->pdata[i]),
                .len = rec->section.body_length,
                .version = rec->section.version_id,
                .instance = rec->section.instance_id,
            };
            assert_true(rec->section.body_offset + rec->section.body_length <= size);
            out[n].body = talloc_memdup(out, input + rec->section.body_offset,
                                        out[n].len ? out[n].len : 1);
            n++;
        }
        talloc_free(tmp);
    }
    *ret = out;
    return n;
}

#endif /* VSTATE_TEST_PC_CORE_HELPERS_H */
