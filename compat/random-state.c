/*
 * random-state.c: random but valid device states, drawn from the type
 * descriptors alone (VsTypeInfo/VsFieldInfo), a predicate evaluator for the
 * descriptors' schema text, and the preparation of a load's destination.
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <string.h>

#include "compat/compat-impl.h"

/* Attempts at a struct whose `validate` predicates all hold. */
#define VALIDATE_ATTEMPTS 4000
/* Lists get at most this many elements (their maxima can be large). */
#define LIST_MAX 5
/* Per state, how often (out of 100) a subsection is drawn to be left out. */
static const unsigned absent_percents[] = { 0, 30, 70, 100 };

/* ---- the PRNG ------------------------------------------------------------ */

void vs_compat_rng_seed(VsCompatRng *rng, uint64_t seed)
{
    rng->state = seed;
}

uint64_t vs_compat_rng_next(VsCompatRng *rng)
{
    uint64_t z = (rng->state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t vs_compat_rng_below(VsCompatRng *rng, uint64_t bound)
{
    if (bound == UINT64_MAX) {
        return vs_compat_rng_next(rng);
    }
    return vs_compat_rng_next(rng) % (bound + 1);
}

/* ---- storage of described members -------------------------------------- */

size_t vs_compat_scalar_size(const VsFieldInfo *f)
{
    switch (f->kind) {
    case VS_FIELD_UINT:
    case VS_FIELD_INT:
        return f->width;
    case VS_FIELD_BOOL:
        return sizeof(bool);
    case VS_FIELD_F64:
        return sizeof(double);
    case VS_FIELD_TIMER:
        return sizeof(int64_t);
    case VS_FIELD_BUFFER:
        return 1;
    case VS_FIELD_BITMAP:
        return sizeof(uint64_t);
    default:
        return 0;
    }
}

/* C slots of an array member: its fixed count, or its maximum. */
uint32_t vs_compat_slots(const VsFieldInfo *f)
{
    uint32_t n;

    if (f->count_field) {
        n = f->max;
    } else {
        n = f->count ? f->count : 1;
    }
    if (f->kind == VS_FIELD_BITMAP) {
        n = (n + 63) / 64;
    }
    return n;
}

int64_t vs_compat_read_int(const void *p, unsigned width, bool is_signed)
{
    switch (width) {
    case 1:
        return is_signed ? *(const int8_t *)p : *(const uint8_t *)p;
    case 2:
        return is_signed ? *(const int16_t *)p : *(const uint16_t *)p;
    case 4:
        return is_signed ? *(const int32_t *)p : (int64_t)*(const uint32_t *)p;
    default: {
        int64_t v;

        memcpy(&v, p, sizeof(v));
        return v;
    }
    }
}

void vs_compat_write_int(void *p, unsigned width, uint64_t v)
{
    switch (width) {
    case 1:
        *(uint8_t *)p = (uint8_t)v;
        break;
    case 2:
        *(uint16_t *)p = (uint16_t)v;
        break;
    case 4:
        *(uint32_t *)p = (uint32_t)v;
        break;
    default:
        memcpy(p, &v, sizeof(v));
        break;
    }
}

/* Reads an integer-like scalar member (uint, int, bool, timer) of @base. */
bool vs_compat_read_scalar(const VsFieldInfo *f, const void *base, int64_t *ret)
{
    const uint8_t *p = (const uint8_t *)base + f->offset;

    if (f->offset == SIZE_MAX || (f->flags & (VS_FIELD_F_ARRAY | VS_FIELD_F_POINTER))) {
        return false;
    }
    switch (f->kind) {
    case VS_FIELD_UINT:
        *ret = vs_compat_read_int(p, f->width, false);
        return true;
    case VS_FIELD_INT:
        *ret = vs_compat_read_int(p, f->width, true);
        return true;
    case VS_FIELD_BOOL:
        *ret = *(const bool *)p;
        return true;
    case VS_FIELD_TIMER:
        *ret = vs_compat_read_int(p, 8, true);
        return true;
    default:
        return false;
    }
}

/* The member called @name of @type or of one of its subsections (same struct). */
const VsFieldInfo *vs_compat_find_field(const VsTypeInfo *type, const char *name)
{
    for (uint32_t i = 0; i < type->n_fields; i++) {
        const VsFieldInfo *f = &type->fields[i];

        if (f->kind == VS_FIELD_SUBSECTION) {
            const VsFieldInfo *in = vs_compat_find_field(f->type, name);

            if (in) {
                return in;
            }
        } else if (f->kind != VS_FIELD_VALIDATE && strcmp(f->name, name) == 0) {
            return f;
        }
    }
    return NULL;
}

/*
 * QEMU's wrapper sections: a section whose only member is a struct that
 * carries the section's own wire name (the ISA UART's "serial" holding the
 * UART core "serial").  The wrapper adds nothing to the legacy bytes.
 */
const VsTypeInfo *vs_compat_unwrap(const VsTypeInfo *type, const void *obj, const void **inner)
{
    const VsFieldInfo *f = type->n_fields == 1 ? &type->fields[0] : NULL;

    if (f && f->kind == VS_FIELD_STRUCT && !(f->flags & (VS_FIELD_F_ARRAY | VS_FIELD_F_POINTER)) &&
        f->type && strcmp(f->type->wire_name, type->wire_name) == 0) {
        if (inner) {
            *inner = (const uint8_t *)obj + f->offset;
        }
        return f->type;
    }
    if (inner) {
        *inner = obj;
    }
    return type;
}

/* ---- predicates ---------------------------------------------------------- */

typedef struct Eval {
    const char *p;
    const VsTypeInfo *type;
    const void *obj;
    uint32_t version;
    GError **errp;
    bool failed;
} Eval;

static int64_t eval_or(Eval *e);

static int64_t wrap64(uint64_t x)
{
    int64_t r;

    memcpy(&r, &x, sizeof(r));
    return r;
}

static void eval_skip_space(Eval *e)
{
    while (*e->p == ' ' || *e->p == '\t' || *e->p == '\n') {
        e->p++;
    }
}

static bool eval_take(Eval *e, const char *op)
{
    size_t n = strlen(op);

    eval_skip_space(e);
    if (strncmp(e->p, op, n) != 0) {
        return false;
    }
    /* A one-character operator must not be the start of a two-character one. */
    if (n == 1) {
        char c = op[0];
        char next = e->p[1];

        if (((c == '<' || c == '>') && (next == c || next == '=')) ||
            ((c == '&' || c == '|') && next == c) || (c == '!' && next == '=')) {
            return false;
        }
    }
    e->p += n;
    return true;
}

static int64_t eval_fail(Eval *e, const char *what)
{
    if (!e->failed) {
        g_set_error(e->errp, VS_VISIT_ERROR, VS_VISIT_ERROR_UNSUPPORTED,
                    "%s: predicate of %s: %s at '%.20s'", e->type->name, e->type->name, what, e->p);
    }
    e->failed = true;
    return 0;
}

static int64_t eval_primary(Eval *e)
{
    eval_skip_space(e);
    if (eval_take(e, "(")) {
        int64_t v = eval_or(e);

        if (!eval_take(e, ")")) {
            return eval_fail(e, "')' expected");
        }
        return v;
    }
    if (g_ascii_isdigit(*e->p)) {
        char *end;
        uint64_t v = g_ascii_strtoull(e->p, &end, 0);

        e->p = end;
        return wrap64(v);
    }
    if (g_ascii_isalpha(*e->p) || *e->p == '_') {
        const char *start = e->p;
        g_autofree char *name = NULL;
        const VsFieldInfo *f;
        int64_t v;

        while (g_ascii_isalnum(*e->p) || *e->p == '_') {
            e->p++;
        }
        name = g_strndup(start, (gsize)(e->p - start));
        eval_skip_space(e);
        if (*e->p == '(') {
            return eval_fail(e, "a C function cannot be evaluated");
        }
        if (strcmp(name, "version") == 0 && !vs_compat_find_field(e->type, name)) {
            return e->version;
        }
        f = vs_compat_find_field(e->type, name);
        if (!f || !vs_compat_read_scalar(f, e->obj, &v)) {
            return eval_fail(e, "not an integer member");
        }
        return v;
    }
    return eval_fail(e, "operand expected");
}

static int64_t eval_unary(Eval *e)
{
    if (eval_take(e, "!")) {
        return !eval_unary(e);
    }
    if (eval_take(e, "~")) {
        return ~eval_unary(e);
    }
    if (eval_take(e, "-")) {
        return wrap64(0 - (uint64_t)eval_unary(e));
    }
    return eval_primary(e);
}

static int64_t eval_mul(Eval *e)
{
    int64_t a = eval_unary(e);

    for (;;) {
        if (eval_take(e, "*")) {
            a = wrap64((uint64_t)a * (uint64_t)eval_unary(e));
        } else if (eval_take(e, "/")) {
            int64_t b = eval_unary(e);
            a = b == 0 || (a == INT64_MIN && b == -1) ? 0 : a / b;
        } else if (eval_take(e, "%")) {
            int64_t b = eval_unary(e);
            a = b == 0 || (a == INT64_MIN && b == -1) ? 0 : a % b;
        } else {
            return a;
        }
    }
}

static int64_t eval_add(Eval *e)
{
    int64_t a = eval_mul(e);

    for (;;) {
        if (eval_take(e, "+")) {
            a = wrap64((uint64_t)a + (uint64_t)eval_mul(e));
        } else if (eval_take(e, "-")) {
            a = wrap64((uint64_t)a - (uint64_t)eval_mul(e));
        } else {
            return a;
        }
    }
}

static int64_t eval_shift(Eval *e)
{
    int64_t a = eval_add(e);

    for (;;) {
        if (eval_take(e, "<<")) {
            int64_t b = eval_add(e);
            a = b < 0 || b > 63 ? 0 : wrap64((uint64_t)a << b);
        } else if (eval_take(e, ">>")) {
            int64_t b = eval_add(e);
            a = b < 0 || b > 63 ? (a < 0 ? -1 : 0) : a >> b;
        } else {
            return a;
        }
    }
}

static int64_t eval_rel(Eval *e)
{
    int64_t a = eval_shift(e);

    for (;;) {
        if (eval_take(e, "<=")) {
            a = a <= eval_shift(e);
        } else if (eval_take(e, ">=")) {
            a = a >= eval_shift(e);
        } else if (eval_take(e, "<")) {
            a = a < eval_shift(e);
        } else if (eval_take(e, ">")) {
            a = a > eval_shift(e);
        } else {
            return a;
        }
    }
}

static int64_t eval_eq(Eval *e)
{
    int64_t a = eval_rel(e);

    for (;;) {
        if (eval_take(e, "==")) {
            a = a == eval_rel(e);
        } else if (eval_take(e, "!=")) {
            a = a != eval_rel(e);
        } else {
            return a;
        }
    }
}

static int64_t eval_band(Eval *e)
{
    int64_t a = eval_eq(e);

    while (eval_take(e, "&")) {
        a &= eval_eq(e);
    }
    return a;
}

static int64_t eval_bxor(Eval *e)
{
    int64_t a = eval_band(e);

    while (eval_take(e, "^")) {
        a ^= eval_band(e);
    }
    return a;
}

static int64_t eval_bor(Eval *e)
{
    int64_t a = eval_bxor(e);

    while (eval_take(e, "|")) {
        a |= eval_bxor(e);
    }
    return a;
}

static int64_t eval_and(Eval *e)
{
    int64_t a = eval_bor(e);

    while (eval_take(e, "&&")) {
        int64_t b = eval_bor(e);
        a = a && b;
    }
    return a;
}

static int64_t eval_or(Eval *e)
{
    int64_t a = eval_and(e);

    while (eval_take(e, "||")) {
        int64_t b = eval_and(e);
        a = a || b;
    }
    return a;
}

bool vs_compat_eval(const char *text, const VsTypeInfo *type, const void *obj,
                    uint32_t version, int64_t *ret, GError **errp)
{
    Eval e = { .p = text, .type = type, .obj = obj, .version = version, .errp = errp };
    int64_t v = eval_or(&e);

    eval_skip_space(&e);
    if (!e.failed && *e.p) {
        eval_fail(&e, "unexpected text");
    }
    if (e.failed) {
        return false;
    }
    *ret = v;
    return true;
}

/* ---- random states ------------------------------------------------------- */

typedef struct Gen {
    TALLOC_CTX *mem;
    VsCompatRng *rng;
    unsigned absent_percent;  /* how often a subsection is drawn to be left out */
    int64_t recent[8];        /* values drawn lately, reused now and then */
    unsigned n_recent;
} Gen;

static void gen_remember(Gen *g, int64_t v)
{
    g->recent[g->n_recent++ % G_N_ELEMENTS(g->recent)] = v;
}

/*
 * An integer of @width bytes: zero, small, extreme, near a value drawn
 * lately (so relations between members come out right now and then), or
 * uniform.
 */
static uint64_t gen_int(Gen *g, unsigned width, bool is_signed)
{
    uint64_t mask = width >= 8 ? UINT64_MAX : (1ULL << (width * 8)) - 1;
    unsigned pick = (unsigned)vs_compat_rng_below(g->rng, 99);
    uint64_t v;

    if (pick < 15) {
        v = 0;
    } else if (pick < 30) {
        v = 1 + vs_compat_rng_below(g->rng, 3);
    } else if (pick < 38) {
        v = is_signed ? (pick & 1 ? mask >> 1 : ~(mask >> 1)) : mask;
    } else if (pick < 55 && g->n_recent) {
        unsigned n = MIN(g->n_recent, G_N_ELEMENTS(g->recent));
        v = (uint64_t)g->recent[vs_compat_rng_below(g->rng, n - 1)] +
            vs_compat_rng_below(g->rng, 4) - 2;
    } else if (pick < 62 && is_signed) {
        v = (uint64_t)-1;
    } else {
        v = vs_compat_rng_next(g->rng);
    }
    return v & mask;
}

/* The bound of a count member: the smallest maximum of the arrays it counts. */
static bool count_bound(const VsTypeInfo *scope, const char *name, uint64_t *bound)
{
    bool found = false;

    for (uint32_t i = 0; i < scope->n_fields; i++) {
        const VsFieldInfo *f = &scope->fields[i];

        if (f->kind == VS_FIELD_SUBSECTION) {
            uint64_t b;

            if (count_bound(f->type, name, &b)) {
                *bound = found ? MIN(*bound, b) : b;
                found = true;
            }
        } else if (f->count_field && strcmp(f->count_field, name) == 0) {
            uint64_t b = f->max / (f->multiply ? f->multiply : 1);

            *bound = found ? MIN(*bound, b) : b;
            found = true;
        }
    }
    return found;
}

static bool gen_struct(Gen *g, const VsTypeInfo *type, void *obj, GError **errp);
static bool gen_members(Gen *g, const VsTypeInfo *scope, const VsTypeInfo *type, uint8_t *base,
                        GError **errp);

/* One scalar element (uint, int, bool, f64, timer, buffer byte, bitmap word) at @p. */
static void gen_scalar(Gen *g, const VsTypeInfo *scope, const VsFieldInfo *f, uint8_t *p)
{
    uint64_t bound;

    switch (f->kind) {
    case VS_FIELD_UINT:
    case VS_FIELD_INT: {
        uint64_t v;

        if (count_bound(scope, f->name, &bound)) {
            v = vs_compat_rng_below(g->rng, 3) == 0 ? vs_compat_rng_below(g->rng, MIN(bound, 2))
                                                    : vs_compat_rng_below(g->rng, bound);
        } else {
            v = gen_int(g, f->width, f->kind == VS_FIELD_INT);
            if (f->kind == VS_FIELD_INT && (f->flags & VS_FIELD_F_LE)) {
                v &= (f->width >= 8 ? UINT64_MAX : (1ULL << (f->width * 8)) - 1) >> 1;
            }
        }
        vs_compat_write_int(p, f->width, v);
        gen_remember(g, vs_compat_read_int(p, f->width, f->kind == VS_FIELD_INT));
        break;
    }
    case VS_FIELD_BOOL:
        *(bool *)p = vs_compat_rng_below(g->rng, 1);
        break;
    case VS_FIELD_F64: {
        /* Finite values only: a NaN's payload is not something to compare. */
        double d = (double)wrap64(gen_int(g, 8, true)) / (double)(1 + vs_compat_rng_below(g->rng, 999));

        memcpy(p, &d, sizeof(d));
        break;
    }
    case VS_FIELD_TIMER: {
        uint64_t v = vs_compat_rng_below(g->rng, 3) == 0 ? UINT64_MAX : gen_int(g, 8, true);

        vs_compat_write_int(p, 8, v);
        break;
    }
    case VS_FIELD_BUFFER:
        *p = (uint8_t)vs_compat_rng_next(g->rng);
        break;
    case VS_FIELD_BITMAP:
        vs_compat_write_int(p, 8, vs_compat_rng_next(g->rng));
        break;
    default:
        break;
    }
}

/*
 * Codecs write whatever their functions do; only the ones the devices use
 * are known here, each filled with values its loader accepts.
 */
static bool gen_codec(Gen *g, const VsFieldInfo *f, uint8_t *p, GError **errp)
{
    if (strcmp(f->codec, "pci config") == 0) {
        for (size_t i = 0; i < 256; i++) {
            p[i] = (uint8_t)vs_compat_rng_next(g->rng);
        }
        return true;
    }
    if (strcmp(f->codec, "pci irq state") == 0) {
        int32_t levels[4];

        for (size_t i = 0; i < 4; i++) {
            levels[i] = (int32_t)vs_compat_rng_below(g->rng, 1);
        }
        memcpy(p, levels, sizeof(levels));
        return true;
    }
    g_set_error(errp, VS_VISIT_ERROR, VS_VISIT_ERROR_UNSUPPORTED,
                "%s: no random values for codec '%s' (compat/random-state.c)", f->name, f->codec);
    return false;
}

static bool gen_list(Gen *g, const VsFieldInfo *f, uint8_t *p, GError **errp)
{
    uint32_t n = (uint32_t)vs_compat_rng_below(g->rng, MIN(f->max, LIST_MAX));
    uint8_t *elems = NULL;

    if (n) {
        elems = talloc_zero_size(g->mem, (size_t)n * f->type->size);
        for (uint32_t i = 0; i < n; i++) {
            if (!gen_struct(g, f->type, elems + (size_t)i * f->type->size, errp)) {
                return false;
            }
        }
    }
    /* Generated lists are `Type *x; uint32_t x_count;`, next to each other. */
    memcpy(p, &elems, sizeof(elems));
    vs_compat_write_int(p + sizeof(elems), 4, n);
    return true;
}

/* Timers of a subsection left out are not armed (-1), everything else zero. */
static void idle_members(const VsTypeInfo *type, uint8_t *base)
{
    vs_compat_zero_members(type, base);
    for (uint32_t i = 0; i < type->n_fields; i++) {
        const VsFieldInfo *f = &type->fields[i];

        if (f->kind == VS_FIELD_TIMER && !(f->flags & (VS_FIELD_F_ARRAY | VS_FIELD_F_PTR_ARRAY))) {
            vs_compat_write_int(base + f->offset, 8, UINT64_MAX);
        }
    }
}

/*
 * Draws a subsection's members so that its `needed` predicate is false:
 * an expression is evaluated (members drawn again until it is false, idle
 * values as the last resort); a C function cannot be, so the members get
 * idle values, which the devices' predicates treat as nothing to send.
 */
static void gen_absent(Gen *g, const VsTypeInfo *scope, const VsTypeInfo *sub, uint8_t *base)
{
    for (int attempt = 0; sub->needed && attempt < 64; attempt++) {
        int64_t v = 1;

        idle_members(sub, base);
        if (attempt > 0 && !gen_members(g, scope, sub, base, NULL)) {
            break;
        }
        if (!vs_compat_eval(sub->needed, scope, base, scope->version, &v, NULL)) {
            break;
        }
        if (!v) {
            return;
        }
    }
    idle_members(sub, base);
}

static bool gen_field(Gen *g, const VsTypeInfo *scope, const VsFieldInfo *f, uint8_t *base,
                      GError **errp)
{
    uint8_t *p = base + f->offset;
    uint32_t slots = vs_compat_slots(f);

    switch (f->kind) {
    case VS_FIELD_UNUSED:
    case VS_FIELD_VALIDATE:
        return true;
    case VS_FIELD_SUBSECTION:
        if (!gen_members(g, scope, f->type, base, errp)) {
            return false;
        }
        if (vs_compat_rng_below(g->rng, 99) < g->absent_percent) {
            gen_absent(g, scope, f->type, base);
        }
        return true;
    case VS_FIELD_QTAILQ:
    case VS_FIELD_QLIST:
        return gen_list(g, f, p, errp);
    case VS_FIELD_CODEC:
        return gen_codec(g, f, p, errp);
    case VS_FIELD_STRUCT:
        for (uint32_t i = 0; i < slots; i++) {
            void *elem;

            if (f->flags & (VS_FIELD_F_PTR_ARRAY | VS_FIELD_F_POINTER)) {
                void **slot = (void **)(void *)(p + i * sizeof(void *));

                if ((f->flags & VS_FIELD_F_PTR_ARRAY) && vs_compat_rng_below(g->rng, 3) == 0) {
                    *slot = NULL;
                    continue;
                }
                *slot = talloc_zero_size(g->mem, f->type->size);
                elem = *slot;
            } else {
                elem = p + (size_t)i * f->type->size;
            }
            if (!gen_struct(g, f->type, elem, errp)) {
                return false;
            }
        }
        return true;
    case VS_FIELD_UINT:
    case VS_FIELD_INT:
    case VS_FIELD_BOOL:
    case VS_FIELD_F64:
    case VS_FIELD_TIMER:
    case VS_FIELD_BUFFER:
    case VS_FIELD_BITMAP:
        for (uint32_t i = 0; i < slots; i++) {
            if (f->flags & VS_FIELD_F_PTR_ARRAY) {
                void **slot = (void **)(void *)(p + i * sizeof(void *));

                if (vs_compat_rng_below(g->rng, 3) == 0) {
                    *slot = NULL;
                    continue;
                }
                *slot = talloc_zero_size(g->mem, vs_compat_scalar_size(f));
                gen_scalar(g, scope, f, *slot);
            } else {
                gen_scalar(g, scope, f, p + (size_t)i * vs_compat_scalar_size(f));
            }
        }
        return true;
    default:
        g_set_error(errp, VS_VISIT_ERROR, VS_VISIT_ERROR_UNSUPPORTED,
                    "%s.%s: the random state generator cannot fill this kind of member",
                    scope->name, f->name);
        return false;
    }
}

static bool gen_members(Gen *g, const VsTypeInfo *scope, const VsTypeInfo *type, uint8_t *base,
                        GError **errp)
{
    for (uint32_t i = 0; i < type->n_fields; i++) {
        if (!gen_field(g, scope, &type->fields[i], base, errp)) {
            return false;
        }
    }
    return true;
}

/* Whether every `validate` of @type (and of its subsections) holds for @obj. */
static bool validates_hold(const VsTypeInfo *scope, const VsTypeInfo *type, const void *obj,
                           GError **errp)
{
    for (uint32_t i = 0; i < type->n_fields; i++) {
        const VsFieldInfo *f = &type->fields[i];
        int64_t v;

        if (f->kind == VS_FIELD_SUBSECTION) {
            if (!validates_hold(scope, f->type, obj, errp)) {
                return false;
            }
        } else if (f->kind == VS_FIELD_VALIDATE && f->test) {
            if (!vs_compat_eval(f->test, scope, obj, scope->version, &v, errp)) {
                return false;
            }
            if (!v) {
                return false;
            }
        }
    }
    return true;
}

static bool gen_struct(Gen *g, const VsTypeInfo *type, void *obj, GError **errp)
{
    for (int attempt = 0; attempt < VALIDATE_ATTEMPTS; attempt++) {
        GError *err = NULL;

        memset(obj, 0, type->size);
        if (!gen_members(g, type, type, obj, errp)) {
            return false;
        }
        if (validates_hold(type, type, obj, &err)) {
            return true;
        }
        if (err) {
            g_propagate_error(errp, err);
            return false;
        }
    }
    g_set_error(errp, VS_VISIT_ERROR, VS_VISIT_ERROR_UNSUPPORTED,
                "%s: no random state satisfies its validate predicates after %d attempts",
                type->name, VALIDATE_ATTEMPTS);
    return false;
}

bool vs_compat_random_state(TALLOC_CTX *mem_ctx, const VsTypeInfo *type, void *obj,
                            VsCompatRng *rng, GError **errp)
{
    Gen g = { .mem = mem_ctx, .rng = rng };

    g.absent_percent = absent_percents[vs_compat_rng_below(rng, G_N_ELEMENTS(absent_percents) - 1)];

    return gen_struct(&g, type, obj, errp);
}

/* Zeroes the members of @type (a subsection's, in its parent's struct at @base). */
void vs_compat_zero_members(const VsTypeInfo *type, void *base)
{
    for (uint32_t i = 0; i < type->n_fields; i++) {
        const VsFieldInfo *f = &type->fields[i];
        uint8_t *p = (uint8_t *)base + f->offset;
        uint32_t slots = vs_compat_slots(f);

        switch (f->kind) {
        case VS_FIELD_SUBSECTION:
            vs_compat_zero_members(f->type, base);
            break;
        case VS_FIELD_STRUCT:
            if (f->flags & (VS_FIELD_F_PTR_ARRAY | VS_FIELD_F_POINTER)) {
                memset(p, 0, slots * sizeof(void *));
            } else {
                memset(p, 0, (size_t)slots * f->type->size);
            }
            break;
        case VS_FIELD_QTAILQ:
        case VS_FIELD_QLIST:
            memset(p, 0, sizeof(void *) + sizeof(uint32_t));
            break;
        case VS_FIELD_UINT:
        case VS_FIELD_INT:
        case VS_FIELD_BOOL:
        case VS_FIELD_F64:
        case VS_FIELD_TIMER:
        case VS_FIELD_BUFFER:
        case VS_FIELD_BITMAP:
            memset(p, 0, (size_t)slots * ((f->flags & VS_FIELD_F_PTR_ARRAY)
                                              ? sizeof(void *) : vs_compat_scalar_size(f)));
            break;
        default:
            break;
        }
    }
}

/* ---- destinations -------------------------------------------------------- */

/* How a destination is prepared. */
typedef struct Prep {
    TALLOC_CTX *mem;
    bool poison;
    GHashTable *sent;         /* subsections the stream holds */
} Prep;

static void prepare_members(Prep *pp, const VsTypeInfo *dscope, const VsTypeInfo *dtype,
                            uint8_t *dst, const VsTypeInfo *sscope, const uint8_t *src,
                            bool all);

/* Copies what a destination holds before the load: local, equal and le members. */
static void prepare_scalar(const VsFieldInfo *df, uint8_t *dst, const VsFieldInfo *sf,
                           const uint8_t *src, bool poison, bool all)
{
    bool kept = all || (df->flags & (VS_FIELD_F_LOCAL | VS_FIELD_F_EQUAL | VS_FIELD_F_LE));

    if (kept && sf && sf->kind == df->kind && vs_compat_scalar_size(sf) == vs_compat_scalar_size(df) &&
        !(df->flags & VS_FIELD_F_PTR_ARRAY) && !(sf->flags & VS_FIELD_F_PTR_ARRAY)) {
        size_t n = MIN(vs_compat_slots(df), vs_compat_slots(sf)) * vs_compat_scalar_size(df);

        memcpy(dst + df->offset, src + sf->offset, n);
    } else if (poison && (df->flags & VS_FIELD_F_DEFAULT) && !(df->flags & VS_FIELD_F_ARRAY)) {
        vs_compat_write_int(dst + df->offset, vs_compat_scalar_size(df),
                            (uint64_t)df->default_value ^ 0x5a5a5a5a5a5a5a5aULL);
    }
}

static void prepare_field(Prep *pp, const VsTypeInfo *dscope, const VsFieldInfo *df,
                          uint8_t *dst, const VsTypeInfo *sscope, const uint8_t *src, bool all)
{
    TALLOC_CTX *mem = pp->mem;
    const VsFieldInfo *sf = src ? vs_compat_find_field(sscope, df->name) : NULL;
    uint32_t slots = vs_compat_slots(df);

    switch (df->kind) {
    case VS_FIELD_SUBSECTION:
        /*
         * A subsection the stream does not hold leaves the destination as
         * it was: a real device is then in the state that made the
         * source's predicate false (its reset state, or what its pre_load
         * sets), which is the source's.  Hooks are off here, so copy it.
         */
        prepare_members(pp, dscope, df->type, dst, sscope, src,
                        all || !g_hash_table_contains(pp->sent, df->type->wire_name));
        break;
    case VS_FIELD_CODEC:
        /*
         * A codec may check the stream against what the device holds (the
         * read-only bits of PCI config space): the destination is the same
         * device model, configured alike.
         */
        if (sf && sf->kind == VS_FIELD_CODEC && strcmp(sf->codec, df->codec) == 0 &&
            df->elem_size && df->elem_size == sf->elem_size) {
            memcpy(dst + df->offset, src + sf->offset, df->elem_size);
        }
        break;
    case VS_FIELD_STRUCT:
        if (sf && sf->kind != VS_FIELD_STRUCT) {
            sf = NULL;
        }
        for (uint32_t i = 0; i < slots; i++) {
            const uint8_t *selem = NULL;
            uint8_t *delem;

            if (sf && i < vs_compat_slots(sf)) {
                if (sf->flags & (VS_FIELD_F_PTR_ARRAY | VS_FIELD_F_POINTER)) {
                    selem = ((const uint8_t *const *)(const void *)(src + sf->offset))[i];
                } else {
                    selem = src + sf->offset + (size_t)i * sf->type->size;
                }
            }
            if (df->flags & (VS_FIELD_F_PTR_ARRAY | VS_FIELD_F_POINTER)) {
                void **slot = (void **)(void *)(dst + df->offset + i * sizeof(void *));

                /* The destination's own pointers decide which elements a stream holds. */
                if ((df->flags & VS_FIELD_F_PTR_ARRAY) && sf && !selem) {
                    *slot = NULL;
                    continue;
                }
                if (!*slot) {
                    *slot = talloc_zero_size(mem, df->type->size);
                }
                delem = *slot;
            } else {
                delem = dst + df->offset + (size_t)i * df->type->size;
            }
            prepare_members(pp, df->type, df->type, delem, sf ? sf->type : NULL, selem, all);
        }
        break;
    case VS_FIELD_UINT:
    case VS_FIELD_INT:
    case VS_FIELD_BOOL:
    case VS_FIELD_F64:
    case VS_FIELD_TIMER:
    case VS_FIELD_BUFFER:
    case VS_FIELD_BITMAP:
        prepare_scalar(df, dst, sf, src, pp->poison, all);
        break;
    default:
        break;
    }
}

static void prepare_members(Prep *pp, const VsTypeInfo *dscope, const VsTypeInfo *dtype,
                            uint8_t *dst, const VsTypeInfo *sscope, const uint8_t *src,
                            bool all)
{
    for (uint32_t i = 0; i < dtype->n_fields; i++) {
        prepare_field(pp, dscope, &dtype->fields[i], dst, sscope, src, all);
    }
}

void vs_compat_prepare_dest(TALLOC_CTX *mem_ctx, const VsCompatSchema *dst_schema, void *dst,
                            const VsTypeInfo *src_type, const void *src, GHashTable *sent,
                            bool poison)
{
    Prep pp = { .mem = mem_ctx, .poison = poison, .sent = sent };
    const void *dinner;
    const void *sinner;
    const VsTypeInfo *dtype = vs_compat_unwrap(dst_schema->type, dst, &dinner);
    const VsTypeInfo *stype = vs_compat_unwrap(src_type, src, &sinner);

    dst_schema->init(mem_ctx, dst);
    prepare_members(&pp, dtype, dtype, (uint8_t *)(uintptr_t)dinner, stype, sinner, false);
}
