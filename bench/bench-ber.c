/*
 * bench-ber.c: vstate's BER visitors against asn1c's own codec and against
 * the legacy visitors, on the same device states, in one run.
 *
 * SPDX-License-Identifier: MIT
 *
 * For each state, the bytes vstate's BER save visitor writes are the input
 * of every decoder: vstate's BER load visitor, and asn1c's ber_decode()
 * generated from the ASN.1 module vstate-gen writes for the same schema
 * (examples/consumer/counter.vs; asn1c built with ASN_DEBUG defined to
 * nothing, -O2 -DNDEBUG).  asn1c's der_encode() encodes the structure its
 * decoder made from those bytes once.  The legacy visitors walk the same
 * states through the same walkers; a save visitor whose ops do nothing
 * measures what the visitor core alone costs (creating the visitor, the
 * walk's contract checks and field path, freeing it), the floor under any
 * vstate codec.  BER encode is measured twice: with the visitor in the
 * caller's frame (vs_ber_save_visitor_init, ber-enc, the figure the goal
 * uses, as is the core's floor) and as a talloc object
 * (vs_ber_save_visitor_new, ber-talloc-enc).  Each case is timed with the
 * monotonic clock: a warm-up, then the median of several runs of N
 * operations (the cases take turns, one run each per round), and the
 * ratios are printed against the baselines measured in the same run.
 *
 * usage: bench-ber [--iterations N] [--runs R] [--only NAME]...
 *   --iterations N  operations per run (default: calibrated to ~20 ms)
 *   --runs R        timed runs per case, median reported (default 7)
 *   --only NAME     run only the cases whose name contains NAME (repeatable)
 *
 * Instruction counts: every operation runs inside vs_bench_loop(), so
 *   valgrind --tool=callgrind --toggle-collect=vs_bench_loop \
 *       bench/bench-ber --iterations 1000 --runs 1 --only counter-full/ber-enc
 * counts only the operations; divide by the "ops executed" figure printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>
#include <talloc.h>

#include "asn1c-shim.h"
#include "counter.vs.h"
#include "examples/example-walkers.h"
#include "visitor/ber/ber-visitor.h"
#include "visitor/qemufile/legacy-visitor.h"
#include "visitor/visitor-impl.h"
#include "vs-version.h"

#ifndef VS_BENCH_ASN1C_VERSION
#define VS_BENCH_ASN1C_VERSION "asn1c"
#endif

#define VS_BENCH_MAX_STATES 4
#define VS_BENCH_MAX_CASES 32
#define VS_BENCH_MAX_ONLY 16
#define VS_BENCH_ENC_BUF 65536

typedef bool (*VsBenchWalk)(VsVisitor *v, void *state, GError **errp);
typedef void (*VsBenchPrepare)(void *dst, const void *src);

/* One device state and how to walk it. */
typedef struct VsBenchState {
    const char *name;
    const char *what;
    VsBenchWalk walk;
    VsBenchPrepare prepare_load; /* makes a destination for a load */
    const void *src;
    void *dst;
    uint8_t *ber;
    size_t ber_len;
    uint8_t *legacy;
    size_t legacy_len;
    void *asn1c;                 /* asn1c's structure decoded from ber, or NULL */
    long asn1c_len;              /* der_encode's size, -1 when no asn1c */
    bool asn1c_same_bytes;
} VsBenchState;

typedef enum VsBenchOp {
    VS_BENCH_BER_ENC,
    VS_BENCH_BER_DEC,
    VS_BENCH_LEGACY_ENC,
    VS_BENCH_LEGACY_DEC,
    VS_BENCH_ASN1C_ENC,
    VS_BENCH_ASN1C_DEC,
    VS_BENCH_CORE_WALK,
    VS_BENCH_BER_TALLOC_ENC,
    VS_BENCH_N_OPS
} VsBenchOp;

/* No name contains another's STATE/OP, so that --only STATE/OP selects one case. */
static const char *const vs_bench_op_names[VS_BENCH_N_OPS] = {
    "ber-enc", "ber-dec", "legacy-enc", "legacy-dec", "asn1c-enc", "asn1c-dec", "core-walk",
    "ber-talloc-enc",
};

static const char *const vs_bench_op_what[VS_BENCH_N_OPS] = {
    "vstate BER save visitor (in place: vs_ber_save_visitor_init)",
    "vstate BER load visitor (strict)",
    "vstate legacy save visitor",
    "vstate legacy load visitor",
    "asn1c der_encode_to_buffer",
    "asn1c ber_decode + ASN_STRUCT_FREE",
    "visitor core alone (a save visitor whose ops do nothing, in place)",
    "vstate BER save visitor (talloc: vs_ber_save_visitor_new)",
};

typedef struct VsBenchCase {
    char name[64];
    VsBenchState *state;
    VsBenchOp op;
    uint64_t n;                  /* operations per timed run */
    double per_op[63];           /* ns per operation of each run */
    double ns_median, ns_min, ns_max;
    uint64_t ops_executed;
    bool ran;
} VsBenchCase;

static TALLOC_CTX *vs_bench_mem;
static unsigned vs_bench_goals_measured;
static uint8_t vs_bench_enc_buf[VS_BENCH_ENC_BUF];

static G_NORETURN void vs_bench_die(const char *what, GError *err)
{
    fprintf(stderr, "bench-ber: %s: %s\n", what, err ? err->message : "failed");
    exit(1);
}

/* ---- the states -------------------------------------------------------- */

static bool vs_bench_walk_counter(VsVisitor *v, void *state, GError **errp)
{
    return vs_visit_Counter(v, "counter", state, errp);
}

static void vs_bench_prepare_counter(void *dst, const void *src)
{
    memset(dst, 0, sizeof(Counter));
}

static bool vs_bench_walk_demo(VsVisitor *v, void *state, GError **errp)
{
    return vs_ex_visit_demo(v, "vsdemo", state, errp);
}

static VsExInner vs_bench_demo_storage[VS_EX_SLOTS];
static VsExInner vs_bench_demo_dst_storage[VS_EX_SLOTS];
#define VS_BENCH_DEMO_SEED 1

static void vs_bench_prepare_demo(void *dst, const void *src)
{
    vs_ex_demo_prepare_load(dst, vs_bench_demo_dst_storage, VS_BENCH_DEMO_SEED);
}

static bool vs_bench_counter_equal(const Counter *a, const Counter *b)
{
    return a->ticks == b->ticks && a->delta == b->delta && a->nlog == b->nlog &&
           memcmp(a->log, b->log, a->nlog) == 0 && a->flags == b->flags &&
           a->alarm == b->alarm;
}

static bool vs_bench_state_equal(const VsBenchState *s)
{
    if (s->walk == vs_bench_walk_counter) {
        return vs_bench_counter_equal(s->src, s->dst);
    }
    return vs_ex_demo_equal(s->src, s->dst);
}

/* ---- the operations ---------------------------------------------------- */

/* A save as a caller saving one section would write it: create, walk, complete, take, free. */
static void vs_bench_ber_save(VsBenchState *s, VsVisitor *v)
{
    GError *err = NULL;
    size_t len;

    if (!s->walk(v, (void *)s->src, &err) || !vs_visitor_complete(v, &err)) {
        vs_bench_die("BER save", err);
    }
    (void)vs_ber_save_visitor_data(v, &len);
    vs_visitor_free(v);
}

/* The visitor in the caller's frame (vs_ber_save_visitor_init). */
static void vs_bench_ber_enc(VsBenchState *s)
{
    VsBerSaveStorage storage;

    vs_bench_ber_save(s, vs_ber_save_visitor_init(&storage));
}

/* The visitor as a talloc object (vs_ber_save_visitor_new). */
static void vs_bench_ber_talloc_enc(VsBenchState *s)
{
    vs_bench_ber_save(s, vs_ber_save_visitor_new(vs_bench_mem));
}

static void vs_bench_ber_dec(VsBenchState *s)
{
    VsVisitor *v;
    GError *err = NULL;

    s->prepare_load(s->dst, s->src);
    v = vs_ber_load_visitor_new(vs_bench_mem, s->ber, s->ber_len, VS_BER_STRICT, NULL);
    if (!s->walk(v, s->dst, &err) || !vs_visitor_complete(v, &err)) {
        vs_bench_die("BER load", err);
    }
    vs_visitor_free(v);
}

static void vs_bench_legacy_enc(VsBenchState *s)
{
    VsQemuFile *f = vs_qemufile_new_memory_writer(vs_bench_mem);
    VsVisitor *v = vs_legacy_save_visitor_new(vs_bench_mem, f);
    GError *err = NULL;
    size_t len;

    if (!s->walk(v, (void *)s->src, &err) || !vs_visitor_complete(v, &err)) {
        vs_bench_die("legacy save", err);
    }
    (void)vs_qemufile_memory_data(f, &len);
    vs_visitor_free(v);
    vs_qemufile_free(f);
}

static void vs_bench_legacy_dec(VsBenchState *s)
{
    VsQemuFile *f;
    VsVisitor *v;
    GError *err = NULL;

    s->prepare_load(s->dst, s->src);
    f = vs_qemufile_new_memory_reader(vs_bench_mem, s->legacy, s->legacy_len);
    v = vs_legacy_load_visitor_new(vs_bench_mem, f, NULL);
    if (!s->walk(v, s->dst, &err) || !vs_visitor_complete(v, &err)) {
        vs_bench_die("legacy load", err);
    }
    vs_visitor_free(v);
    vs_qemufile_free(f);
}

static void vs_bench_asn1c_enc(VsBenchState *s)
{
    if (vs_bench_asn1c_encode(s->asn1c, vs_bench_enc_buf, sizeof(vs_bench_enc_buf)) < 0) {
        vs_bench_die("asn1c der_encode", NULL);
    }
}

static void vs_bench_asn1c_dec(VsBenchState *s)
{
    void *out;

    if (vs_bench_asn1c_decode(s->ber, s->ber_len, &out) < 0) {
        vs_bench_die("asn1c ber_decode", NULL);
    }
    vs_bench_asn1c_free(out);
}

/*
 * The floor every vstate codec stands on: creating a visitor, the walk
 * through the visitor core (contract checks, field path, narrowing) and
 * freeing it, with ops that do nothing.
 */
static bool vs_bench_null_struct(VsVisitor *v, const char *name, const VsTypeInfo *type,
                                 uint32_t *version, GError **errp)
{
    return true;
}

static bool vs_bench_null_array(VsVisitor *v, const char *name, uint32_t *count, uint32_t max,
                                size_t elem_size, GError **errp)
{
    return true;
}

static bool vs_bench_null_subsection(VsVisitor *v, const char *name, const VsTypeInfo *type,
                                     uint32_t *version, bool *present, GError **errp)
{
    return true;
}

static bool vs_bench_null_list(VsVisitor *v, const char *name, uint32_t max, size_t elem_size,
                               GError **errp)
{
    return true;
}

static bool vs_bench_null_list_next(VsVisitor *v, bool *more, GError **errp)
{
    return true;
}

static bool vs_bench_null_uint(VsVisitor *v, const char *name, uint64_t *val, unsigned width,
                               GError **errp)
{
    return true;
}

static bool vs_bench_null_int(VsVisitor *v, const char *name, int64_t *val, unsigned width,
                              GError **errp)
{
    return true;
}

static bool vs_bench_null_bool(VsVisitor *v, const char *name, bool *val, GError **errp)
{
    return true;
}

static bool vs_bench_null_f64(VsVisitor *v, const char *name, double *val, GError **errp)
{
    return true;
}

static bool vs_bench_null_buffer(VsVisitor *v, const char *name, uint8_t *buf, size_t len,
                                 GError **errp)
{
    return true;
}

static bool vs_bench_null_string(VsVisitor *v, const char *name, char **str, size_t max_len,
                                 GError **errp)
{
    return true;
}

static bool vs_bench_null_unused(VsVisitor *v, const char *name, size_t len, GError **errp)
{
    return true;
}

static bool vs_bench_null_nullptr(VsVisitor *v, const char *name, bool *is_null, GError **errp)
{
    return true;
}

static bool vs_bench_null_opaque(VsVisitor *v, const char *name, uint8_t **data, size_t *len,
                                 size_t max_len, GError **errp)
{
    return true;
}

static const VsVisitorOps vs_bench_null_ops = {
    .kind = VS_VISITOR_SAVE,
    .impl_name = "bench-null",
    .start_struct = vs_bench_null_struct,
    .start_array = vs_bench_null_array,
    .start_subsection = vs_bench_null_subsection,
    .start_list = vs_bench_null_list,
    .list_next = vs_bench_null_list_next,
    .type_uint = vs_bench_null_uint,
    .type_int = vs_bench_null_int,
    .type_bool = vs_bench_null_bool,
    .type_f64 = vs_bench_null_f64,
    .buffer = vs_bench_null_buffer,
    .string = vs_bench_null_string,
    .unused = vs_bench_null_unused,
    .nullptr_marker = vs_bench_null_nullptr,
    .opaque = vs_bench_null_opaque,
};

/* Created in place, as the BER save visitor of ber-enc is. */
static void vs_bench_core_walk(VsBenchState *s)
{
    VsVisitor storage;
    VsVisitor *v = vs_visitor_init_in_place(&storage, &vs_bench_null_ops, sizeof(storage), 0,
                                            NULL);
    GError *err = NULL;

    if (!s->walk(v, (void *)s->src, &err) || !vs_visitor_complete(v, &err)) {
        vs_bench_die("core walk", err);
    }
    vs_visitor_free(v);
}

static void (*const vs_bench_ops[VS_BENCH_N_OPS])(VsBenchState *s) = {
    vs_bench_ber_enc, vs_bench_ber_dec, vs_bench_legacy_enc, vs_bench_legacy_dec,
    vs_bench_asn1c_enc, vs_bench_asn1c_dec, vs_bench_core_walk, vs_bench_ber_talloc_enc,
};

/*
 * vs_bench_loop: the only place operations run, so that callgrind's
 * --toggle-collect=vs_bench_loop counts them and nothing else.
 */
static __attribute__((noinline)) void vs_bench_loop(VsBenchCase *c, uint64_t n)
{
    void (*op)(VsBenchState *s) = vs_bench_ops[c->op];

    for (uint64_t i = 0; i < n; i++) {
        op(c->state);
    }
    c->ops_executed += n;
}

/* ---- setup: bytes, checks ---------------------------------------------- */

static void vs_bench_state_setup(VsBenchState *s, bool with_asn1c)
{
    VsBerSaveStorage storage;
    VsVisitor *v = vs_ber_save_visitor_init(&storage);
    VsQemuFile *f;
    GError *err = NULL;
    const uint8_t *data;
    size_t len;

    if (!s->walk(v, (void *)s->src, &err) || !vs_visitor_complete(v, &err)) {
        vs_bench_die("BER save", err);
    }
    data = vs_ber_save_visitor_data(v, &len);
    s->ber = talloc_memdup(vs_bench_mem, data, len);
    s->ber_len = len;
    vs_visitor_free(v);

    /* The talloc visitor must write the same bytes. */
    v = vs_ber_save_visitor_new(vs_bench_mem);
    if (!s->walk(v, (void *)s->src, &err) || !vs_visitor_complete(v, &err)) {
        vs_bench_die("BER save", err);
    }
    data = vs_ber_save_visitor_data(v, &len);
    if (len != s->ber_len || memcmp(data, s->ber, len) != 0) {
        vs_bench_die("BER save: the in-place and talloc visitors differ", NULL);
    }
    vs_visitor_free(v);

    f = vs_qemufile_new_memory_writer(vs_bench_mem);
    v = vs_legacy_save_visitor_new(vs_bench_mem, f);
    if (!s->walk(v, (void *)s->src, &err) || !vs_visitor_complete(v, &err)) {
        vs_bench_die("legacy save", err);
    }
    data = vs_qemufile_memory_data(f, &len);
    s->legacy = talloc_memdup(vs_bench_mem, len ? data : (const uint8_t *)"", len ? len : 1);
    s->legacy_len = len;
    vs_visitor_free(v);
    vs_qemufile_free(f);

    /* Both loads must give the state back. */
    vs_bench_ber_dec(s);
    if (!vs_bench_state_equal(s)) {
        vs_bench_die(s->name, NULL);
    }
    vs_bench_legacy_dec(s);
    if (!vs_bench_state_equal(s)) {
        vs_bench_die(s->name, NULL);
    }

    s->asn1c = NULL;
    s->asn1c_len = -1;
    s->asn1c_same_bytes = false;
    if (with_asn1c) {
        if (vs_bench_asn1c_decode(s->ber, s->ber_len, &s->asn1c) < 0) {
            fprintf(stderr, "bench-ber: asn1c refuses vstate's BER of %s\n", s->name);
            exit(1);
        }
        s->asn1c_len = vs_bench_asn1c_encode(s->asn1c, vs_bench_enc_buf,
                                             sizeof(vs_bench_enc_buf));
        if (s->asn1c_len < 0) {
            vs_bench_die("asn1c der_encode", NULL);
        }
        s->asn1c_same_bytes = (size_t)s->asn1c_len == s->ber_len &&
                              memcmp(vs_bench_enc_buf, s->ber, s->ber_len) == 0;
    }
}

/* ---- timing ------------------------------------------------------------ */

static double vs_bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double vs_bench_time_run(VsBenchCase *c, uint64_t n)
{
    double t0 = vs_bench_now_ns();

    vs_bench_loop(c, n);
    return vs_bench_now_ns() - t0;
}

static int vs_bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Calibrates N (unless given) to about 20 ms a run, which warms up too, or warms up. */
static void vs_bench_calibrate(VsBenchCase *c, uint64_t iterations)
{
    uint64_t n = iterations;

    if (n == 0) {
        n = 16;
        for (;;) {
            double t = vs_bench_time_run(c, n);
            if (t >= 5e6 || n >= (UINT64_C(1) << 30)) {
                n = (uint64_t)((double)n * 20e6 / (t > 1 ? t : 1)) + 1;
                break;
            }
            n *= 4;
        }
    } else {
        vs_bench_loop(c, n / 10 + 1); /* warm-up */
    }
    c->n = n;
}

/*
 * Times @runs runs of every case, the cases taking turns within each round:
 * on a machine shared with other work, a burst of load then slows a run of
 * every case rather than all the runs of one, so ratios of medians hold up.
 */
static void vs_bench_measure(VsBenchCase *cases, size_t n_cases, uint64_t iterations,
                             unsigned runs)
{
    for (size_t i = 0; i < n_cases; i++) {
        vs_bench_calibrate(&cases[i], iterations);
    }
    for (unsigned r = 0; r < runs; r++) {
        for (size_t i = 0; i < n_cases; i++) {
            cases[i].per_op[r] = vs_bench_time_run(&cases[i], cases[i].n) / (double)cases[i].n;
        }
    }
    for (size_t i = 0; i < n_cases; i++) {
        VsBenchCase *c = &cases[i];
        double *per_op = c->per_op;

        qsort(per_op, runs, sizeof(per_op[0]), vs_bench_cmp_double);
        c->ns_median = runs % 2 ? per_op[runs / 2]
                                : (per_op[runs / 2 - 1] + per_op[runs / 2]) / 2;
        c->ns_min = per_op[0];
        c->ns_max = per_op[runs - 1];
        c->ran = true;
    }
}

/* ---- output ------------------------------------------------------------ */

static const VsBenchCase *vs_bench_find(const VsBenchCase *cases, size_t n_cases,
                                        const VsBenchState *s, VsBenchOp op)
{
    for (size_t i = 0; i < n_cases; i++) {
        if (cases[i].state == s && cases[i].op == op && cases[i].ran) {
            return &cases[i];
        }
    }
    return NULL;
}

/* Prints num/den with a goal: at least @min (when > 0) or at most @max. */
static void vs_bench_ratio(const char *label, const VsBenchCase *num, const VsBenchCase *den,
                           double min, double max, bool *all_met)
{
    double r;
    bool met;

    if (!num || !den) {
        return;
    }
    r = num->ns_median / den->ns_median;
    met = min > 0 ? r >= min : r <= max;
    *all_met = *all_met && met;
    vs_bench_goals_measured++;
    if (min > 0) {
        printf("  %-44s %7.2fx   goal >= %.0fx: %s\n", label, r, min, met ? "met" : "NOT met");
    } else {
        printf("  %-44s %7.2fx   goal <= %.0fx: %s\n", label, r, max, met ? "met" : "NOT met");
    }
}

static G_NORETURN void vs_bench_usage(int code)
{
    fprintf(code ? stderr : stdout,
            "usage: bench-ber [--iterations N] [--runs R] [--only NAME]...\n"
            "  --iterations N  operations per timed run (default: calibrated to ~20 ms)\n"
            "  --runs R        timed runs per case; the median is reported (default 7, max 63)\n"
            "  --only NAME     only the cases whose name contains NAME (repeatable),\n"
            "                  e.g. counter-full/ber-enc, asn1c, vsdemo\n");
    exit(code);
}

int main(int argc, char **argv)
{
    uint64_t iterations = 0;
    unsigned runs = 7;
    const char *only[VS_BENCH_MAX_ONLY];
    size_t n_only = 0;
    VsBenchState states[VS_BENCH_MAX_STATES];
    size_t n_states = 0;
    VsBenchCase cases[VS_BENCH_MAX_CASES];
    size_t n_cases = 0;
    bool all_met = true;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            vs_bench_usage(0);
        } else if (i + 1 < argc && !strcmp(a, "--iterations")) {
            char *end;
            iterations = g_ascii_strtoull(argv[++i], &end, 10);
            if (*end || iterations == 0) {
                vs_bench_usage(2);
            }
        } else if (i + 1 < argc && !strcmp(a, "--runs")) {
            char *end;
            uint64_t r = g_ascii_strtoull(argv[++i], &end, 10);
            if (*end || r == 0 || r > 63) {
                vs_bench_usage(2);
            }
            runs = (unsigned)r;
        } else if (i + 1 < argc && !strcmp(a, "--only") && n_only < VS_BENCH_MAX_ONLY) {
            only[n_only++] = argv[++i];
        } else {
            vs_bench_usage(2);
        }
    }

    vs_bench_mem = talloc_new(NULL);

    /* The states. */
    Counter small = { .ticks = 7, .delta = -3, .nlog = 2, .log = { 1, 2 }, .flags = 5 };
    Counter full = { .ticks = 0xdeadbeef, .delta = -32768, .nlog = 16,
                     .flags = 0x80000000u, .alarm = UINT64_MAX };
    Counter small_dst, full_dst;
    VsExDemo demo, demo_dst;

    for (unsigned i = 0; i < 16; i++) {
        full.log[i] = (uint8_t)(250 + i * 37);
    }
    vs_ex_demo_fill(&demo, vs_bench_demo_storage, VS_BENCH_DEMO_SEED);

    states[n_states++] = (VsBenchState){
        .name = "counter-small", .what = "counter.vs Counter v2, 2 log entries, no alarm",
        .walk = vs_bench_walk_counter, .prepare_load = vs_bench_prepare_counter,
        .src = &small, .dst = &small_dst };
    states[n_states++] = (VsBenchState){
        .name = "counter-full", .what = "counter.vs Counter v2, 16 log entries, alarm subsection",
        .walk = vs_bench_walk_counter, .prepare_load = vs_bench_prepare_counter,
        .src = &full, .dst = &full_dst };
    states[n_states++] = (VsBenchState){
        .name = "vsdemo", .what = "examples/example-walkers.h VsExDemo (seed 1, every part kind)",
        .walk = vs_bench_walk_demo, .prepare_load = vs_bench_prepare_demo,
        .src = &demo, .dst = &demo_dst };

    for (size_t i = 0; i < n_states; i++) {
        bool asn1c = states[i].walk == vs_bench_walk_counter;
        vs_bench_state_setup(&states[i], asn1c);
        for (int op = 0; op < VS_BENCH_N_OPS; op++) {
            VsBenchCase *c;
            bool wanted = n_only == 0;
            if (!asn1c && (op == VS_BENCH_ASN1C_ENC || op == VS_BENCH_ASN1C_DEC)) {
                continue;
            }
            c = &cases[n_cases++];
            memset(c, 0, sizeof(*c));
            g_snprintf(c->name, sizeof(c->name), "%s/%s", states[i].name,
                       vs_bench_op_names[op]);
            c->state = &states[i];
            c->op = (VsBenchOp)op;
            for (size_t k = 0; k < n_only; k++) {
                wanted = wanted || strstr(c->name, only[k]) != NULL;
            }
            if (!wanted) {
                n_cases--;
            }
        }
    }
    if (n_cases == 0) {
        fprintf(stderr, "bench-ber: no case matches --only\n");
        return 2;
    }

    printf("bench-ber: vstate %s BER vs legacy vs %s\n", VS_VERSION_STRING,
           VS_BENCH_ASN1C_VERSION);
    printf("asn1c: code generated from vstate-gen's ASN.1 module of counter.vs "
           "(asn1c -fwide-types -fcompound-names),\n"
           "       built at its best: -O2 -DNDEBUG, ASN_DEBUG defined to nothing "
           "('-DASN_DEBUG(...)=((void)0)')\n");
    printf("timing: CLOCK_MONOTONIC, warm-up, median of %u runs of %s operations,\n"
           "        the cases taking turns in each round of runs\n\n", runs,
           iterations ? "N (--iterations)" : "N (calibrated to ~20 ms)");

    printf("%-14s %8s %8s %11s %10s  %s\n", "state", "BER B", "legacy B", "BER/legacy",
           "asn1c DER", "description");
    for (size_t i = 0; i < n_states; i++) {
        const VsBenchState *s = &states[i];
        char der[32];
        if (s->asn1c_len >= 0) {
            g_snprintf(der, sizeof(der), "%ld%s", s->asn1c_len, s->asn1c_same_bytes ? " (=)" : " (!=)");
        } else {
            g_snprintf(der, sizeof(der), "-");
        }
        printf("%-14s %8zu %8zu %10.2fx %10s  %s\n", s->name, s->ber_len, s->legacy_len,
               (double)s->ber_len / (double)s->legacy_len, der, s->what);
    }
    printf("  (asn1c DER: size of der_encode's output; (=) means byte-identical to vstate's BER)\n\n");

    printf("%-28s %10s %10s %10s %12s  %s\n", "case", "N", "ns/op", "min", "max", "what");
    fflush(stdout);
    vs_bench_measure(cases, n_cases, iterations, runs);
    for (size_t i = 0; i < n_cases; i++) {
        const VsBenchCase *c = &cases[i];
        printf("%-28s %10" G_GUINT64_FORMAT " %10.1f %10.1f %12.1f  %s\n", c->name, c->n,
               c->ns_median, c->ns_min, c->ns_max, vs_bench_op_what[c->op]);
    }

    printf("\nratios (median ns/op, same run):\n");
    for (size_t i = 0; i < n_states; i++) {
        const VsBenchState *s = &states[i];
        const VsBenchCase *be = vs_bench_find(cases, n_cases, s, VS_BENCH_BER_ENC);
        const VsBenchCase *bd = vs_bench_find(cases, n_cases, s, VS_BENCH_BER_DEC);
        const VsBenchCase *le = vs_bench_find(cases, n_cases, s, VS_BENCH_LEGACY_ENC);
        const VsBenchCase *ld = vs_bench_find(cases, n_cases, s, VS_BENCH_LEGACY_DEC);
        const VsBenchCase *ae = vs_bench_find(cases, n_cases, s, VS_BENCH_ASN1C_ENC);
        const VsBenchCase *ad = vs_bench_find(cases, n_cases, s, VS_BENCH_ASN1C_DEC);
        const VsBenchCase *cw = vs_bench_find(cases, n_cases, s, VS_BENCH_CORE_WALK);
        const VsBenchCase *bt = vs_bench_find(cases, n_cases, s, VS_BENCH_BER_TALLOC_ENC);

        if (!((ae && be) || (ad && bd) || (be && le) || (bd && ld))) {
            continue;
        }
        printf(" %s:\n", s->name);
        vs_bench_ratio("asn1c der_encode / vstate BER encode", ae, be, 10, 0, &all_met);
        vs_bench_ratio("asn1c ber_decode / vstate BER decode", ad, bd, 3, 0, &all_met);
        vs_bench_ratio("vstate BER encode / legacy encode", be, le, 0, 3, &all_met);
        vs_bench_ratio("vstate BER decode / legacy decode", bd, ld, 0, 3, &all_met);
        if (ae && bt) {
            printf("  %-44s %7.2fx   (no goal: vs_ber_save_visitor_new)\n",
                   "asn1c der_encode / BER encode, talloc", ae->ns_median / bt->ns_median);
        }
        if (bt && le) {
            printf("  %-44s %7.2fx   (no goal: both visitors talloc objects)\n",
                   "BER encode, talloc / legacy encode", bt->ns_median / le->ns_median);
        }
        if (ae && cw) {
            printf("  %-44s %7.2fx   (the most any vstate encoder can reach)\n",
                   "asn1c der_encode / visitor core alone", ae->ns_median / cw->ns_median);
        }
    }
    if (vs_bench_goals_measured) {
        printf("all goals measured here: %s\n", all_met ? "met" : "NOT all met");
    } else {
        printf("no goal measured: a ratio needs both of its cases\n");
    }

    if (n_only) {
        printf("\nops executed inside vs_bench_loop (divide callgrind's Ir by this):\n");
        for (size_t i = 0; i < n_cases; i++) {
            printf("  %-28s %" G_GUINT64_FORMAT "\n", cases[i].name, cases[i].ops_executed);
        }
    }
    {
        gchar *vg = g_find_program_in_path("valgrind");
        if (vg) {
            printf("\ninstruction counts: valgrind --tool=callgrind --toggle-collect=vs_bench_loop "
                   "%s --iterations 1000 --runs 1 --only NAME\n"
                   "  then Ir per op = callgrind's Collected Ir / the ops executed (printed with --only)\n",
                   argv[0]);
            g_free(vg);
        }
    }

    for (size_t i = 0; i < n_states; i++) {
        if (states[i].asn1c) {
            vs_bench_asn1c_free(states[i].asn1c);
        }
    }
    talloc_free(vs_bench_mem);
    return 0;
}
