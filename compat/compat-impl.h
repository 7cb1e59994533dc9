/*
 * compat-impl.h: what the harness's files share: reading and writing
 * described members, saving and loading one state with traces, and the
 * comparison of traces.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VSTATE_COMPAT_IMPL_H
#define VSTATE_COMPAT_IMPL_H

#include "compat/compat.h"
#include "visitor/ber/ber-visitor.h"

size_t vs_compat_scalar_size(const VsFieldInfo *f);
uint32_t vs_compat_slots(const VsFieldInfo *f);
int64_t vs_compat_read_int(const void *p, unsigned width, bool is_signed);
void vs_compat_write_int(void *p, unsigned width, uint64_t v);
bool vs_compat_read_scalar(const VsFieldInfo *f, const void *base, int64_t *ret);
const VsFieldInfo *vs_compat_find_field(const VsTypeInfo *type, const char *name);
const VsTypeInfo *vs_compat_unwrap(const VsTypeInfo *type, const void *obj, const void **inner);
void vs_compat_zero_members(const VsTypeInfo *type, void *base);

const char *vs_compat_format_name(VsCompatFormat fmt);

/* One walk's result: its bytes (save) and its trace. */
typedef struct VsCompatWalk {
    uint8_t *bytes;           /* talloc child of the walk's context (save only) */
    size_t len;
    GString *trace;           /* freed with the context */
    uint32_t n_warnings;      /* lenient BER loads: decisions listed */
    char *first_warning;
} VsCompatWalk;

/* Saves @obj with @s (hooks off), tracing it. */
bool vs_compat_save(TALLOC_CTX *mem, VsCompatFormat fmt, const VsCompatSchema *s,
                    const char *section, void *obj, VsCompatWalk *ret, GError **errp);

/*
 * Loads @bytes into @obj with @s (hooks off), tracing what is loaded.
 * @version: the section version (legacy; BER carries it).  @lenient: BER's
 * lenient policy (the harness loads strictly: a lenient load would skip
 * what one side lacks without failing).
 */
bool vs_compat_load(TALLOC_CTX *mem, VsCompatFormat fmt, const VsCompatSchema *s,
                    const char *section, const uint8_t *bytes, size_t len, uint32_t version,
                    bool lenient, void *obj, VsCompatWalk *ret, GError **errp);

/*
 * Trace comparison.  Lines are "path = value"; paths are normalised (a
 * wrapper section's struct component removed, see vs_compat_unwrap()).
 */
typedef struct VsCompatDiff {
    uint32_t compared;        /* lines present on both sides */
    uint32_t only_a, only_b;  /* lines on one side only */
    char *first;              /* the first divergence, or NULL */
} VsCompatDiff;

/*
 * Both traces line for line, exactly (after normalisation).  @fields (may
 * be NULL) receives each compared field's path without element numbers, as
 * a new string.
 */
void vs_compat_diff_exact(TALLOC_CTX *mem, const char *a, const char *b, const char *wrap_a,
                          const char *wrap_b, VsCompatDiff *ret, GHashTable *fields);
/* The paths both traces hold: same values, same order. */
void vs_compat_diff_common(TALLOC_CTX *mem, const char *a, const char *b, const char *wrap_a,
                           const char *wrap_b, VsCompatDiff *ret, GHashTable *fields);

/* The subsections of @type that @trace (a save's) holds: a new set of wire names. */
GHashTable *vs_compat_sent_subsections(const char *trace, const VsTypeInfo *type);

/* The component a wrapper section adds to its members' paths ("state"), or NULL. */
const char *vs_compat_wrapper_name(const VsTypeInfo *type);

#endif /* VSTATE_COMPAT_IMPL_H */
