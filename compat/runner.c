/*
 * runner.c: the cases of `vstate compat` (device x schema pair x direction x
 * format), many random states through each, and the coverage table that
 * makes a case which tested nothing fail the run.
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "compat/compat-impl.h"

typedef enum Direction { DIR_NEW_NEW, DIR_OLD_NEW, DIR_NEW_OLD, DIR_N } Direction;

static const char *const direction_names[DIR_N] = { "new->new", "old->new", "new->old" };

/* What a case must do with every state. */
typedef enum Expect {
    EXPECT_LOAD,              /* load, and compare */
    EXPECT_VERSION_REFUSED,   /* the destination does not accept the source's version */
    EXPECT_DECLARED_BREAK,    /* tests/compat/known-breaks: refused with a given error */
} Expect;

typedef struct Case {
    const VsCompatDevice *dev;
    const VsCompatSchema *src;
    const VsCompatSchema *dst;
    Direction dir;
    VsCompatFormat fmt;
    Expect expect;
    int break_code;           /* EXPECT_DECLARED_BREAK: the VS_VISIT_ERROR code */
    const char *break_reason;
    /* results */
    uint32_t states, passed, refused, failed;
    uint32_t compared, defaults;
    GHashTable *fields;       /* distinct field paths compared */
    GHashTable *subsections;  /* subsections seen in saved streams */
    char *first_failure;
} Case;

static const char *const error_names[] = {
    [VS_VISIT_ERROR_TRUNCATED] = "truncated", [VS_VISIT_ERROR_RANGE] = "range",
    [VS_VISIT_ERROR_MISMATCH] = "mismatch", [VS_VISIT_ERROR_LIMIT] = "limit",
    [VS_VISIT_ERROR_VERSION] = "version", [VS_VISIT_ERROR_SUBSECTION] = "subsection",
    [VS_VISIT_ERROR_UNSUPPORTED] = "unsupported", [VS_VISIT_ERROR_CONTRACT] = "contract",
    [VS_VISIT_ERROR_IO] = "io", [VS_VISIT_ERROR_HOOK] = "hook",
};

static int error_code_of(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(error_names); i++) {
        if (error_names[i] && strcmp(error_names[i], name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static const char *error_name(const GError *err)
{
    if (err->domain == VS_VISIT_ERROR && err->code >= 0 &&
        (size_t)err->code < G_N_ELEMENTS(error_names) && error_names[err->code]) {
        return error_names[err->code];
    }
    return "other";
}

/* A stable 64-bit hash of a text (FNV-1a), to derive per-case seeds. */
static uint64_t text_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (; *s; s++) {
        h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
    }
    return h;
}

static char *case_label(TALLOC_CTX *mem, const Case *c)
{
    return talloc_asprintf(mem, "%s %s -> %s %s %s", c->dev->section, c->src->file, c->dst->file,
                           direction_names[c->dir], vs_compat_format_name(c->fmt));
}

/* ---- subsections ---------------------------------------------------------- */

static void collect_subsections(const VsTypeInfo *type, GHashTable *out, int depth)
{
    if (depth > 64) {
        return;
    }
    for (uint32_t i = 0; i < type->n_fields; i++) {
        const VsFieldInfo *f = &type->fields[i];

        if (f->kind == VS_FIELD_SUBSECTION) {
            g_hash_table_add(out, (gpointer)f->type->wire_name);
            collect_subsections(f->type, out, depth + 1);
        } else if (f->type) {
            collect_subsections(f->type, out, depth + 1);
        }
    }
}

/*
 * The first subsection in @trace that @known lacks, or NULL; notes every
 * one seen in @seen and in @sent.
 */
static char *unknown_subsection(TALLOC_CTX *mem, const char *trace, GHashTable *known,
                                GHashTable *all, GHashTable *seen, GHashTable *sent)
{
    char **lines = g_strsplit(trace, "\n", -1);
    char *found = NULL;

    for (char **l = lines; *l; l++) {
        char **parts = g_strsplit(*l, ".", -1);

        for (char **p = parts; *p && !strstr(*p, " = "); p++) {
            if (g_hash_table_contains(all, *p)) {
                g_hash_table_add(seen, g_strdup(*p));
                g_hash_table_add(sent, g_strdup(*p));
                if (known && !found && !g_hash_table_contains(known, *p)) {
                    found = talloc_strdup(mem, *p);
                }
            }
        }
        g_strfreev(parts);
    }
    g_strfreev(lines);
    return found;
}

/* ---- one state --------------------------------------------------------------- */

static bool fail_state(Case *c, uint64_t seed, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static bool fail_state(Case *c, uint64_t seed, const char *fmt, ...)
{
    va_list ap;

    c->failed++;
    if (!c->first_failure) {
        char *what;

        va_start(ap, fmt);
        what = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        c->first_failure = g_strdup_printf("%s (state seed 0x%016" PRIx64 ")", what, seed);
        g_free(what);
    }
    return false;
}

/* Members the source's version lacks: each must hold its declared default. */
static bool check_defaults(Case *c, uint64_t seed, const void *dst)
{
    const void *inner;
    const VsTypeInfo *type = vs_compat_unwrap(c->dst->type, dst, &inner);

    for (uint32_t i = 0; i < type->n_fields; i++) {
        const VsFieldInfo *f = &type->fields[i];
        int64_t v;

        if (!(f->flags & VS_FIELD_F_DEFAULT) || f->since <= c->src->release ||
            !vs_compat_read_scalar(f, inner, &v)) {
            continue;
        }
        c->defaults++;
        if (v != f->default_value) {
            return fail_state(c, seed, "%s.%s: a version %u stream leaves it 0x%" PRIx64
                              ", its declared default is 0x%" PRIx64, c->dev->section, f->name,
                              c->src->release, (uint64_t)v, (uint64_t)f->default_value);
        }
    }
    return true;
}

static bool check_refusal(Case *c, uint64_t seed, bool loaded, const GError *err, int code,
                          const char *why)
{
    if (loaded) {
        return fail_state(c, seed, "loaded although %s", why);
    }
    if (err->domain != VS_VISIT_ERROR || err->code != code) {
        return fail_state(c, seed, "refused with %s error '%s', expected a %s error (%s)",
                          error_name(err), err->message, error_names[code], why);
    }
    c->refused++;
    return true;
}

static bool run_state(Case *c, uint64_t seed)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *wrap_src = vs_compat_wrapper_name(c->src->type);
    const char *wrap_dst = vs_compat_wrapper_name(c->dst->type);
    GHashTable *known = NULL;
    GHashTable *all = g_hash_table_new(g_str_hash, g_str_equal);
    GHashTable *sent = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    VsCompatRng rng;
    VsCompatWalk w1;
    VsCompatWalk w2;
    VsCompatWalk w3;
    VsCompatDiff d;
    GError *err = NULL;
    char *needs = NULL;
    void *src = talloc_zero_size(mem, c->src->type->size);
    void *dst = talloc_zero_size(mem, c->dst->type->size);
    bool loaded;
    bool ok = false;

    c->states++;
    vs_compat_rng_seed(&rng, seed);
    if (!vs_compat_random_state(mem, c->src->type, src, &rng, &err)) {
        fail_state(c, seed, "no random state: %s", err->message);
        goto out;
    }
    if (!vs_compat_save(mem, c->fmt, c->src, c->dev->section, src, &w1, &err)) {
        fail_state(c, seed, "save with %s failed: %s", c->src->file, err->message);
        goto out;
    }
    collect_subsections(c->src->type, all, 0);
    if (c->dir != DIR_NEW_NEW) {
        known = g_hash_table_new(g_str_hash, g_str_equal);
        collect_subsections(c->dst->type, known, 0);
    }
    needs = unknown_subsection(mem, w1.trace->str, known, all, c->subsections, sent);

    vs_compat_prepare_dest(mem, c->dst, dst, c->src->type, src, sent, c->dir != DIR_NEW_NEW);
    /* Strict BER: a load across versions must not drop what it does not know silently. */
    loaded = vs_compat_load(mem, c->fmt, c->dst, c->dev->section, w1.bytes, w1.len,
                            c->src->release, false, dst, &w2, &err);
    switch (c->expect) {
    case EXPECT_VERSION_REFUSED:
        ok = check_refusal(c, seed, loaded, err, VS_VISIT_ERROR_VERSION,
                           "the destination's versions exclude the source's");
        goto out;
    case EXPECT_DECLARED_BREAK:
        ok = check_refusal(c, seed, loaded, err, c->break_code, c->break_reason);
        goto out;
    case EXPECT_LOAD:
        break;
    }
    if (needs) {
        /* Neither QEMU's byte stream nor strict BER skips a subsection: the older destination refuses it. */
        ok = check_refusal(c, seed, loaded, err, VS_VISIT_ERROR_SUBSECTION,
                           talloc_asprintf(mem, "the state needs subsection %s", needs));
        goto out;
    }
    if (!loaded) {
        fail_state(c, seed, "load with %s failed: %s", c->dst->file, err->message);
        goto out;
    }
    if (c->dir == DIR_NEW_NEW) {
        vs_compat_diff_exact(mem, w1.trace->str, w2.trace->str, wrap_src, wrap_dst, &d, NULL);
    } else {
        vs_compat_diff_common(mem, w1.trace->str, w2.trace->str, wrap_src, wrap_dst, &d, NULL);
    }
    if (d.first) {
        fail_state(c, seed, "save and load traces differ: %s", d.first);
        goto out;
    }
    if (!vs_compat_save(mem, c->fmt, c->dst, c->dev->section, dst, &w3, &err)) {
        fail_state(c, seed, "re-save with %s failed: %s", c->dst->file, err->message);
        goto out;
    }
    if (c->dir == DIR_NEW_NEW) {
        if (w1.len != w3.len || memcmp(w1.bytes, w3.bytes, w1.len) != 0) {
            size_t i = 0;

            while (i < MIN(w1.len, w3.len) && w1.bytes[i] == w3.bytes[i]) {
                i++;
            }
            fail_state(c, seed, "re-saved bytes differ from the first save at offset 0x%zx "
                       "(%zu and %zu bytes)", i, w1.len, w3.len);
            goto out;
        }
        vs_compat_diff_exact(mem, w1.trace->str, w3.trace->str, wrap_src, wrap_dst, &d, c->fields);
    } else {
        vs_compat_diff_common(mem, w1.trace->str, w3.trace->str, wrap_src, wrap_dst, &d,
                              c->fields);
    }
    if (d.first) {
        fail_state(c, seed, "the loaded state re-saved differs: %s", d.first);
        goto out;
    }
    if (c->dir != DIR_NEW_NEW && !check_defaults(c, seed, dst)) {
        goto out;
    }
    c->compared += d.compared;
    c->passed++;
    ok = true;
out:
    g_clear_error(&err);
    if (known) {
        g_hash_table_destroy(known);
    }
    g_hash_table_destroy(all);
    g_hash_table_destroy(sent);
    talloc_free(mem);
    return ok;
}

/* ---- declared breaks ---------------------------------------------------------- */

typedef struct Break {
    char *device;
    char *file;
    Direction dir;
    VsCompatFormat fmt;
    int code;
    char *reason;
    bool used;
} Break;

/*
 * tests/compat/known-breaks: one line per case that is expected to refuse
 * every state: DEVICE SCHEMA-FILE DIRECTION FORMAT ERROR  # reason
 */
static bool read_breaks(const char *path, GPtrArray *out, GError **errp)
{
    g_autofree char *text = NULL;
    char **lines;
    bool ok = true;

    if (!g_file_get_contents(path, &text, NULL, errp)) {
        return false;
    }
    lines = g_strsplit(text, "\n", -1);
    for (size_t i = 0; ok && lines[i]; i++) {
        char *hash = strchr(lines[i], '#');
        char **w;
        Break *b;
        int dir = -1;

        if (hash) {
            *hash = '\0';
        }
        w = g_strsplit_set(g_strstrip(lines[i]), " \t", -1);
        if (!w[0] || !*w[0]) {
            g_strfreev(w);
            continue;
        }
        for (int d = 0; d < DIR_N && g_strv_length(w) == 5; d++) {
            if (strcmp(w[2], direction_names[d]) == 0) {
                dir = d;
            }
        }
        if (dir < 0 || (strcmp(w[3], "legacy") != 0 && strcmp(w[3], "ber") != 0) ||
            error_code_of(w[4]) < 0) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s:%zu: expected DEVICE SCHEMA DIRECTION legacy|ber ERROR", path, i + 1);
            ok = false;
        } else {
            b = g_new0(Break, 1);
            b->device = g_strdup(w[0]);
            b->file = g_strdup(w[1]);
            b->dir = dir;
            b->fmt = strcmp(w[3], "legacy") == 0 ? VS_COMPAT_LEGACY : VS_COMPAT_BER;
            b->code = error_code_of(w[4]);
            b->reason = g_strdup(hash ? g_strstrip(hash + 1) : "declared in known-breaks");
            g_ptr_array_add(out, b);
        }
        g_strfreev(w);
    }
    g_strfreev(lines);
    return ok;
}

static void free_break(gpointer p)
{
    Break *b = p;

    g_free(b->device);
    g_free(b->file);
    g_free(b->reason);
    g_free(b);
}

/* ---- cases -------------------------------------------------------------------- */

static Case *new_case(GPtrArray *cases, const VsCompatDevice *dev, const VsCompatSchema *src,
                      const VsCompatSchema *dst, Direction dir, VsCompatFormat fmt,
                      GPtrArray *breaks)
{
    Case *c = g_new0(Case, 1);
    const VsCompatSchema *older = dir == DIR_NEW_OLD ? dst : src;

    c->dev = dev;
    c->src = src;
    c->dst = dst;
    c->dir = dir;
    c->fmt = fmt;
    c->fields = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    c->subsections = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    if (src->release < dst->type->minimum_version || src->release > dst->type->version) {
        c->expect = EXPECT_VERSION_REFUSED;
    }
    for (guint i = 0; breaks && i < breaks->len; i++) {
        Break *b = breaks->pdata[i];

        if (dir != DIR_NEW_NEW && strcmp(b->device, dev->device) == 0 &&
            strcmp(b->file, older->file) == 0 && b->dir == dir && b->fmt == fmt) {
            c->expect = EXPECT_DECLARED_BREAK;
            c->break_code = b->code;
            c->break_reason = b->reason;
            b->used = true;
        }
    }
    g_ptr_array_add(cases, c);
    return c;
}

static void free_case(gpointer p)
{
    Case *c = p;

    g_hash_table_destroy(c->fields);
    g_hash_table_destroy(c->subsections);
    g_free(c->first_failure);
    g_free(c);
}

static void build_cases(const VsCompatOptions *opts, GPtrArray *cases, GPtrArray *breaks)
{
    for (size_t i = 0; i < vs_compat_n_devices; i++) {
        const VsCompatDevice *dev = &vs_compat_devices[i];

        if (opts->device && strcmp(opts->device, dev->device) != 0 &&
            strcmp(opts->device, dev->section) != 0) {
            continue;
        }
        for (int fmt = 0; fmt < VS_COMPAT_N_FORMATS; fmt++) {
            new_case(cases, dev, &dev->current, &dev->current, DIR_NEW_NEW, fmt, breaks);
            for (uint32_t h = 0; h < dev->n_history; h++) {
                new_case(cases, dev, &dev->history[h], &dev->current, DIR_OLD_NEW, fmt, breaks);
                new_case(cases, dev, &dev->current, &dev->history[h], DIR_NEW_OLD, fmt, breaks);
            }
        }
    }
}

/* ---- the report ------------------------------------------------------------------ */

static const char *expect_name(const Case *c)
{
    switch (c->expect) {
    case EXPECT_VERSION_REFUSED:
        return "refused:version";
    case EXPECT_DECLARED_BREAK:
        return "refused:declared";
    default:
        return "load";
    }
}

/*
 * Whether a case found something to test.  A case that loads must have
 * passed states and compared fields; a cross-version pair must have fields
 * in common; a refusal case must have refused every state.
 */
static const char *vacuous_reason(const Case *c)
{
    if (c->states == 0) {
        return "no state generated";
    }
    if (c->expect != EXPECT_LOAD) {
        return c->refused == 0 ? "nothing refused" : NULL;
    }
    if (c->passed == 0) {
        return "no state got through";
    }
    if (c->compared == 0 || g_hash_table_size(c->fields) == 0) {
        return "no field compared";
    }
    if (c->dir == DIR_OLD_NEW && c->src->type->version < c->dst->type->version && c->defaults == 0) {
        bool any_default = false;
        const VsTypeInfo *t = vs_compat_unwrap(c->dst->type, NULL, NULL);

        for (uint32_t i = 0; i < t->n_fields; i++) {
            any_default |= (t->fields[i].flags & VS_FIELD_F_DEFAULT) && t->fields[i].since > c->src->release;
        }
        if (any_default) {
            return "no default checked";
        }
    }
    return NULL;
}

static bool print_coverage(FILE *out, GPtrArray *cases)
{
    bool ok = true;
    uint32_t states = 0;
    uint32_t ran = 0;

    fprintf(out, "\ncoverage: device x schema pair x direction x format\n");
    fprintf(out, "%-12s %-34s %-9s %-6s %-16s %6s %6s %6s %6s %7s %6s %4s %s\n", "section",
            "source -> destination", "direction", "format", "expect", "states", "passed",
            "refused", "failed", "compared", "fields", "subs", "verdict");
    for (guint i = 0; i < cases->len; i++) {
        Case *c = cases->pdata[i];
        const char *vacuous = vacuous_reason(c);
        g_autofree char *pair = g_strdup_printf("%s->%s", c->src->file, c->dst->file);
        const char *verdict = c->failed ? "FAIL" : vacuous ? "FAIL (vacuous)" : "ok";

        fprintf(out, "%-12s %-34s %-9s %-6s %-16s %6u %6u %6u %6u %7u %6u %4u %s%s%s\n",
                c->dev->section, pair, direction_names[c->dir], vs_compat_format_name(c->fmt),
                expect_name(c), c->states, c->passed, c->refused, c->failed, c->compared,
                g_hash_table_size(c->fields), g_hash_table_size(c->subsections), verdict,
                vacuous && !c->failed ? ": " : "", vacuous && !c->failed ? vacuous : "");
        ok &= !c->failed && !vacuous;
        states += c->states;
        ran += c->passed > 0 || c->refused > 0;
    }
    fprintf(out, "%u cases (%u exercised), %u states\n", cases->len, ran, states);
    return ok;
}

static bool schema_known(const char *file, bool history)
{
    for (size_t i = 0; i < vs_compat_n_devices; i++) {
        const VsCompatDevice *dev = &vs_compat_devices[i];

        if (!history && strcmp(dev->current.file, file) == 0) {
            return true;
        }
        for (uint32_t h = 0; history && h < dev->n_history; h++) {
            if (strcmp(dev->history[h].file, file) == 0) {
                return true;
            }
        }
    }
    return false;
}

/*
 * Every schema of @dir and @dir/history is in the build's table: a version
 * added without reconfiguring would otherwise be skipped without a word.
 */
static bool check_schema_dir(const char *dir, FILE *out)
{
    bool ok = true;

    for (int history = 0; history < 2; history++) {
        g_autofree char *path = history ? g_build_filename(dir, "history", NULL) : g_strdup(dir);
        GDir *d = g_dir_open(path, 0, NULL);
        const char *name;

        if (!d) {
            fprintf(out, "FAIL schemas: cannot read %s\n", path);
            return false;
        }
        while ((name = g_dir_read_name(d))) {
            if (g_str_has_suffix(name, ".vs") && !schema_known(name, history)) {
                fprintf(out, "FAIL schemas: %s/%s is not in this build's harness "
                        "(reconfigure: meson setup --reconfigure)\n", path, name);
                ok = false;
            }
        }
        g_dir_close(d);
    }
    return ok;
}

bool vs_compat_run(const VsCompatOptions *opts)
{
    GPtrArray *cases = g_ptr_array_new_with_free_func(free_case);
    GPtrArray *breaks = g_ptr_array_new_with_free_func(free_break);
    GError *err = NULL;
    FILE *out = opts->out ? opts->out : stdout;
    bool ok = true;

    if (opts->known_breaks && !read_breaks(opts->known_breaks, breaks, &err)) {
        fprintf(out, "compat: %s\n", err->message);
        g_error_free(err);
        ok = false;
        goto done;
    }
    if (opts->schema_dir && !check_schema_dir(opts->schema_dir, out)) {
        ok = false;
        goto done;
    }
    build_cases(opts, cases, breaks);
    if (cases->len == 0) {
        fprintf(out, "compat: no device matches '%s'\n", opts->device ? opts->device : "");
        ok = false;
        goto done;
    }
    fprintf(out, "compat: seed %" PRIu64 ", %u states per case\n", opts->seed, opts->states);
    for (guint i = 0; i < cases->len; i++) {
        Case *c = cases->pdata[i];
        TALLOC_CTX *mem = talloc_new(NULL);
        uint64_t base = text_hash(case_label(mem, c)) ^ opts->seed;

        for (uint32_t s = 0; s < opts->states; s++) {
            VsCompatRng r;

            /* Each state's seed depends on the run's seed, the case and its number only. */
            vs_compat_rng_seed(&r, base + s);
            run_state(c, vs_compat_rng_next(&r));
        }
        if (c->first_failure) {
            fprintf(out, "FAIL %s: %u of %u states: %s\n  reproduce: vstate compat --device %s "
                    "--seed %" PRIu64 " --states %u\n", case_label(mem, c), c->failed, c->states,
                    c->first_failure, c->dev->device, opts->seed, opts->states);
        }
        talloc_free(mem);
    }
    for (guint i = 0; i < breaks->len; i++) {
        Break *b = breaks->pdata[i];

        if (!b->used && (!opts->device || strcmp(opts->device, b->device) == 0)) {
            fprintf(out, "FAIL known break %s %s %s %s matches no case\n", b->device, b->file,
                    direction_names[b->dir], vs_compat_format_name(b->fmt));
            ok = false;
        }
    }
    ok &= print_coverage(out, cases);
done:
    if (ok && opts->golden_dir) {
        uint32_t checked = 0;

        ok = vs_compat_check_golden(opts->golden_dir, opts->device, out, &checked);
    }
    fprintf(out, "compat: %s\n", ok ? "ok" : "FAILED");
    g_ptr_array_free(cases, TRUE);
    g_ptr_array_free(breaks, TRUE);
    return ok;
}
