/*
 * walk.c: one save or load of a device state in either form, traced, and
 * the comparison of two traces that names the first diverging field.
 *
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "compat/compat-impl.h"
#include "visitor/pretty/pretty.h"
#include "visitor/pretty/tee-visitor.h"
#include "visitor/qemufile/legacy-visitor.h"
#include "visitor/qemufile/qemufile.h"

const char *vs_compat_format_name(VsCompatFormat fmt)
{
    return fmt == VS_COMPAT_LEGACY ? "legacy" : "ber";
}

static int free_gstring(GString **s)
{
    g_string_free(*s, TRUE);
    return 0;
}

/* A GString that lives as long as @mem. */
static GString *scoped_gstring(TALLOC_CTX *mem)
{
    GString **holder = talloc(mem, GString *);

    *holder = g_string_new(NULL);
    talloc_set_destructor(holder, free_gstring);
    return *holder;
}

bool vs_compat_save(TALLOC_CTX *mem, VsCompatFormat fmt, const VsCompatSchema *s,
                    const char *section, void *obj, VsCompatWalk *ret, GError **errp)
{
    TALLOC_CTX *tmp = talloc_new(mem);
    VsQemuFile *f = NULL;
    VsVisitor *save;
    VsVisitor *trace;
    VsVisitor *tee;
    const uint8_t *data;
    bool ok;

    memset(ret, 0, sizeof(*ret));
    ret->trace = scoped_gstring(mem);
    if (fmt == VS_COMPAT_LEGACY) {
        f = vs_qemufile_new_memory_writer(tmp);
        save = vs_legacy_save_visitor_new(tmp, f);
    } else {
        save = vs_ber_save_visitor_new(tmp);
    }
    trace = vs_trace_visitor_new(tmp, ret->trace);
    tee = vs_tee_visitor_new(tmp, save, trace);
    vs_visitor_set_hooks(save, false);
    vs_visitor_set_hooks(tee, false);
    ok = s->walk(tee, section, obj, errp) && vs_visitor_complete(tee, errp);
    if (ok) {
        data = fmt == VS_COMPAT_LEGACY ? vs_qemufile_memory_data(f, &ret->len)
                                       : vs_ber_save_visitor_data(save, &ret->len);
        ret->bytes = talloc_memdup(mem, ret->len ? data : (const uint8_t *)"", ret->len + !ret->len);
    }
    vs_visitor_free(tee);
    vs_visitor_free(trace);
    vs_visitor_free(save);
    if (f) {
        vs_qemufile_free(f);
    }
    talloc_free(tmp);
    return ok;
}

bool vs_compat_load(TALLOC_CTX *mem, VsCompatFormat fmt, const VsCompatSchema *s,
                    const char *section, const uint8_t *bytes, size_t len, uint32_t version,
                    bool lenient, void *obj, VsCompatWalk *ret, GError **errp)
{
    TALLOC_CTX *tmp = talloc_new(mem);
    VsQemuFile *f = NULL;
    VsVisitor *load;
    VsVisitor *trace;
    VsVisitor *tee;
    bool ok;

    memset(ret, 0, sizeof(*ret));
    ret->trace = scoped_gstring(mem);
    if (fmt == VS_COMPAT_LEGACY) {
        f = vs_qemufile_new_memory_reader(tmp, bytes, len);
        load = vs_legacy_load_visitor_new(tmp, f, mem);
        vs_visitor_set_root_version(load, version);
    } else {
        load = vs_ber_load_visitor_new(tmp, bytes, len, lenient ? VS_BER_LENIENT : VS_BER_STRICT,
                                       mem);
    }
    trace = vs_trace_visitor_new(tmp, ret->trace);
    tee = vs_tee_visitor_new(tmp, load, trace);
    if (fmt == VS_COMPAT_LEGACY) {
        vs_visitor_set_root_version(tee, version);
    }
    vs_visitor_set_hooks(load, false);
    vs_visitor_set_hooks(tee, false);
    ok = s->walk(tee, section, obj, errp) && vs_visitor_complete(tee, errp);
    if (fmt == VS_COMPAT_BER) {
        size_t n = 0;
        const char *const *w = vs_ber_load_visitor_warnings(load, &n);

        ret->n_warnings = (uint32_t)n;
        if (n) {
            ret->first_warning = talloc_strdup(mem, w[0]);
        }
    }
    vs_visitor_free(tee);
    vs_visitor_free(trace);
    vs_visitor_free(load);
    if (f) {
        vs_qemufile_free(f);
    }
    talloc_free(tmp);
    return ok;
}

const char *vs_compat_wrapper_name(const VsTypeInfo *type)
{
    return vs_compat_unwrap(type, NULL, NULL) != type ? type->fields[0].name : NULL;
}

/* One trace line: its normalised path (with an occurrence number when repeated) and value. */
typedef struct Line {
    char *key;
    const char *value;
} Line;

/* "root.WRAP.rest" -> "root.rest" */
static char *normalise(TALLOC_CTX *mem, const char *path, const char *wrap)
{
    const char *dot = strchr(path, '.');
    size_t n = wrap ? strlen(wrap) : 0;

    if (wrap && dot && strncmp(dot + 1, wrap, n) == 0 && (dot[1 + n] == '.' || dot[1 + n] == '\0')) {
        return talloc_asprintf(mem, "%.*s%s", (int)(dot - path), path, dot + 1 + n);
    }
    return talloc_strdup(mem, path);
}

static Line *split_lines(TALLOC_CTX *mem, const char *trace, const char *wrap, size_t *ret_n)
{
    char **lines = g_strsplit(trace, "\n", -1);
    size_t count = g_strv_length(lines);
    Line *out = talloc_zero_array(mem, Line, count + 1);
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    size_t n = 0;

    for (size_t i = 0; i < count; i++) {
        char *eq = strstr(lines[i], " = ");
        char *path;
        gpointer times;

        if (!eq) {
            continue;
        }
        path = normalise(mem, talloc_strndup(mem, lines[i], (size_t)(eq - lines[i])), wrap);
        times = g_hash_table_lookup(seen, path);
        g_hash_table_insert(seen, g_strdup(path), GUINT_TO_POINTER(GPOINTER_TO_UINT(times) + 1));
        out[n].key = times ? talloc_asprintf(mem, "%s#%u", path, GPOINTER_TO_UINT(times)) : path;
        out[n].value = talloc_strdup(mem, eq + 3);
        n++;
    }
    g_hash_table_destroy(seen);
    g_strfreev(lines);
    *ret_n = n;
    return out;
}

/* A path without element numbers and occurrence marks: "a.b(4)(2).[3]#1" -> "a.b(4)(2).[]". */
static char *field_key(const char *path)
{
    GString *key = g_string_new(NULL);

    for (const char *p = path; *p && *p != '#'; p++) {
        g_string_append_c(key, *p);
        if (*p == '[') {
            while (g_ascii_isdigit(p[1])) {
                p++;
            }
        }
    }
    return g_string_free(key, FALSE);
}

void vs_compat_diff_exact(TALLOC_CTX *mem, const char *a, const char *b, const char *wrap_a,
                          const char *wrap_b, VsCompatDiff *ret, GHashTable *fields)
{
    size_t na;
    size_t nb;
    Line *la = split_lines(mem, a, wrap_a, &na);
    Line *lb = split_lines(mem, b, wrap_b, &nb);
    size_t i;

    memset(ret, 0, sizeof(*ret));
    for (i = 0; i < MIN(na, nb); i++) {
        if (strcmp(la[i].key, lb[i].key) != 0 || strcmp(la[i].value, lb[i].value) != 0) {
            ret->first = talloc_asprintf(mem, "line %zu: %s = %s <-> %s = %s", i + 1, la[i].key,
                                         la[i].value, lb[i].key, lb[i].value);
            return;
        }
        ret->compared++;
        if (fields) {
            g_hash_table_add(fields, field_key(la[i].key));
        }
    }
    if (na != nb) {
        ret->first = talloc_asprintf(mem, "line %zu: %s on one side only", i + 1,
                                     na > nb ? la[i].key : lb[i].key);
        ret->only_a = (uint32_t)(na - i);
        ret->only_b = (uint32_t)(nb - i);
    }
}

void vs_compat_diff_common(TALLOC_CTX *mem, const char *a, const char *b, const char *wrap_a,
                           const char *wrap_b, VsCompatDiff *ret, GHashTable *fields)
{
    size_t na;
    size_t nb;
    Line *la = split_lines(mem, a, wrap_a, &na);
    Line *lb = split_lines(mem, b, wrap_b, &nb);
    GHashTable *index = g_hash_table_new(g_str_hash, g_str_equal);
    size_t last = 0;
    bool any = false;

    memset(ret, 0, sizeof(*ret));
    for (size_t j = 0; j < nb; j++) {
        g_hash_table_insert(index, lb[j].key, GSIZE_TO_POINTER(j + 1));
    }
    for (size_t i = 0; i < na; i++) {
        gsize j1 = GPOINTER_TO_SIZE(g_hash_table_lookup(index, la[i].key));

        if (!j1) {
            ret->only_a++;
            continue;
        }
        if (!ret->first && strcmp(la[i].value, lb[j1 - 1].value) != 0) {
            ret->first = talloc_asprintf(mem, "%s: saved %s, loaded %s", la[i].key, la[i].value,
                                         lb[j1 - 1].value);
        }
        if (!ret->first && any && j1 - 1 < last) {
            ret->first = talloc_asprintf(mem, "%s: out of order (after %s)", la[i].key,
                                         lb[last].key);
        }
        last = j1 - 1;
        any = true;
        ret->compared++;
        if (fields) {
            g_hash_table_add(fields, field_key(la[i].key));
        }
    }
    ret->only_b = (uint32_t)(nb - ret->compared);
    g_hash_table_destroy(index);
}

static void add_subsections(const VsTypeInfo *type, GHashTable *out, int depth)
{
    for (uint32_t i = 0; depth < 64 && i < type->n_fields; i++) {
        const VsFieldInfo *f = &type->fields[i];

        if (f->kind == VS_FIELD_SUBSECTION) {
            g_hash_table_add(out, (gpointer)f->type->wire_name);
        }
        if (f->type) {
            add_subsections(f->type, out, depth + 1);
        }
    }
}

GHashTable *vs_compat_sent_subsections(const char *trace, const VsTypeInfo *type)
{
    GHashTable *all = g_hash_table_new(g_str_hash, g_str_equal);
    GHashTable *sent = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    char **lines = g_strsplit(trace, "\n", -1);

    add_subsections(type, all, 0);
    for (char **l = lines; *l; l++) {
        char *eq = strstr(*l, " = ");
        char **parts;

        if (!eq) {
            continue;
        }
        *eq = '\0';
        parts = g_strsplit(*l, ".", -1);
        for (char **p = parts; *p; p++) {
            if (g_hash_table_contains(all, *p)) {
                g_hash_table_add(sent, g_strdup(*p));
            }
        }
        g_strfreev(parts);
    }
    g_strfreev(lines);
    g_hash_table_destroy(all);
    return sent;
}
