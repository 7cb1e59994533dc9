/*
 * golden.c: golden streams.  Each device's state, drawn from a fixed seed,
 * saved by each released schema (schema/history/ and the current one) in
 * both forms and kept in tests/compat/golden/, with the trace of loading it
 * into the current schema next to it.  Every build loads them again: a
 * stream that stops loading, or loads into a different state, fails.
 *
 * Files: NAME.vN.FORMAT (the bytes; NAME the schema file's base name, N the
 * version it wrote) and NAME.vN.FORMAT.trace, whose first line records the
 * seed:  "# golden NAME.vN.FORMAT seed 0x... written by FILE".  The seed
 * also rebuilds what the destination holds before a load (members that are
 * never on the wire, `equal` members, the shape of pointer arrays), since a
 * stream alone does not say how the device was configured.  The rest of the
 * trace file is the load trace, or one line "refused: ERROR: message".
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "compat/compat-impl.h"

static const VsCompatDevice *device_of(const char *schema_base, const VsCompatSchema **ret_schema)
{
    for (size_t i = 0; i < vs_compat_n_devices; i++) {
        const VsCompatDevice *dev = &vs_compat_devices[i];
        g_autofree char *cur = g_strdup_printf("%s.vs", schema_base);

        if (strcmp(dev->current.file, cur) == 0) {
            *ret_schema = &dev->current;
            return dev;
        }
        for (uint32_t h = 0; h < dev->n_history; h++) {
            if (strcmp(dev->history[h].file, cur) == 0) {
                *ret_schema = &dev->history[h];
                return dev;
            }
        }
    }
    return NULL;
}

static char *golden_name(const VsCompatSchema *s, VsCompatFormat fmt)
{
    return g_strdup_printf("%.*s.v%u.%s", (int)(strlen(s->file) - 3), s->file, s->release,
                           vs_compat_format_name(fmt));
}

static uint64_t golden_seed(const char *name)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (const char *p = name; *p; p++) {
        h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
    }
    return h;
}

/* Loads @bytes into the current schema; returns the trace file's body. */
static char *load_with_current(TALLOC_CTX *mem, const VsCompatDevice *dev,
                               const VsCompatSchema *writer, VsCompatFormat fmt, uint64_t seed,
                               const uint8_t *bytes, size_t len, GError **errp)
{
    void *src = talloc_zero_size(mem, writer->type->size);
    void *dst = talloc_zero_size(mem, dev->current.type->size);
    VsCompatRng rng;
    VsCompatWalk w;
    GError *err = NULL;

    GHashTable *sent;

    vs_compat_rng_seed(&rng, seed);
    if (!vs_compat_random_state(mem, writer->type, src, &rng, errp) ||
        !vs_compat_save(mem, fmt, writer, dev->section, src, &w, errp)) {
        return NULL;
    }
    sent = vs_compat_sent_subsections(w.trace->str, writer->type);
    vs_compat_prepare_dest(mem, &dev->current, dst, writer->type, src, sent, false);
    g_hash_table_destroy(sent);
    if (!vs_compat_load(mem, fmt, &dev->current, dev->section, bytes, len, writer->release,
                        false, dst, &w, &err)) {
        char *line = talloc_asprintf(mem, "refused: %s\n", err->message);

        g_error_free(err);
        return line;
    }
    return talloc_strdup(mem, w.trace->str);
}

static bool write_one(TALLOC_CTX *mem, const char *dir, const VsCompatDevice *dev,
                      const VsCompatSchema *s, VsCompatFormat fmt, FILE *out, GError **errp)
{
    g_autofree char *name = golden_name(s, fmt);
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autofree char *trace_path = g_strconcat(path, ".trace", NULL);
    uint64_t seed = golden_seed(name);
    void *obj = talloc_zero_size(mem, s->type->size);
    VsCompatRng rng;
    VsCompatWalk w;
    char *body;
    char *text;

    if (g_file_test(path, G_FILE_TEST_EXISTS)) {
        fprintf(out, "kept    %s (released streams are never rewritten)\n", name);
        return true;
    }
    vs_compat_rng_seed(&rng, seed);
    if (!vs_compat_random_state(mem, s->type, obj, &rng, errp) ||
        !vs_compat_save(mem, fmt, s, dev->section, obj, &w, errp)) {
        return false;
    }
    body = load_with_current(mem, dev, s, fmt, seed, w.bytes, w.len, errp);
    if (!body) {
        return false;
    }
    text = talloc_asprintf(mem, "# golden %s seed 0x%016" PRIx64 " written by %s\n%s", name, seed,
                           s->file, body);
    if (!g_file_set_contents(path, (const char *)w.bytes, (gssize)w.len, errp) ||
        !g_file_set_contents(trace_path, text, -1, errp)) {
        return false;
    }
    fprintf(out, "wrote   %s (%zu bytes)%s\n", name, w.len,
            g_str_has_prefix(body, "refused:") ? ", which the current schema refuses" : "");
    return true;
}

bool vs_compat_write_golden(const char *dir, FILE *out, GError **errp)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    bool ok = true;

    if (g_mkdir_with_parents(dir, 0755) != 0) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", dir,
                    g_strerror(errno));
        talloc_free(mem);
        return false;
    }
    for (size_t i = 0; ok && i < vs_compat_n_devices; i++) {
        const VsCompatDevice *dev = &vs_compat_devices[i];

        for (int fmt = 0; ok && fmt < VS_COMPAT_N_FORMATS; fmt++) {
            for (uint32_t h = 0; ok && h < dev->n_history; h++) {
                ok = write_one(mem, dir, dev, &dev->history[h], fmt, out, errp);
            }
            ok = ok && write_one(mem, dir, dev, &dev->current, fmt, out, errp);
        }
    }
    talloc_free(mem);
    return ok;
}

/* Checks one golden stream; false with a line on @out when it fails. */
static bool check_one(TALLOC_CTX *mem, const char *dir, const char *name, FILE *out)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autofree char *trace_path = g_strconcat(path, ".trace", NULL);
    g_autofree char *bytes = NULL;
    g_autofree char *expected = NULL;
    g_autofree char *schema_base = g_strndup(name, (gsize)(strstr(name, ".v") - name));
    const VsCompatSchema *writer = NULL;
    const VsCompatDevice *dev = device_of(schema_base, &writer);
    VsCompatFormat fmt = g_str_has_suffix(name, ".legacy") ? VS_COMPAT_LEGACY : VS_COMPAT_BER;
    gsize len;
    uint64_t seed;
    char *body;
    const char *nl;
    GError *err = NULL;

    if (!dev) {
        fprintf(out, "FAIL golden %s: no schema %s.vs in this build (a released schema was removed?)\n",
                name, schema_base);
        return false;
    }
    if (!g_file_get_contents(path, &bytes, &len, &err) ||
        !g_file_get_contents(trace_path, &expected, NULL, &err)) {
        fprintf(out, "FAIL golden %s: %s\n", name, err->message);
        g_error_free(err);
        return false;
    }
    nl = strchr(expected, '\n');
    if (!nl || sscanf(expected, "# golden %*s seed 0x%" SCNx64, &seed) != 1) {
        fprintf(out, "FAIL golden %s: %s.trace lacks its '# golden NAME seed 0x...' line\n", name,
                name);
        return false;
    }
    body = load_with_current(mem, dev, writer, fmt, seed, (const uint8_t *)bytes, len, &err);
    if (!body) {
        fprintf(out, "FAIL golden %s: %s\n", name, err->message);
        g_error_free(err);
        return false;
    }
    if (strcmp(body, nl + 1) != 0) {
        VsCompatDiff d;

        if (g_str_has_prefix(body, "refused:") != g_str_has_prefix(nl + 1, "refused:")) {
            fprintf(out, "FAIL golden %s: expected %s, now %s", name,
                    g_str_has_prefix(nl + 1, "refused:") ? "a refusal" : "a load", body);
            return false;
        }
        vs_compat_diff_exact(mem, nl + 1, body, NULL, NULL, &d, NULL);
        fprintf(out, "FAIL golden %s: the loaded state changed: %s\n", name,
                d.first ? d.first : body);
        return false;
    }
    fprintf(out, "ok      golden %s (%zu bytes, %s)\n", name, (size_t)len,
            g_str_has_prefix(body, "refused:") ? "refused as recorded" : "loads as recorded");
    return true;
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

bool vs_compat_check_golden(const char *dir, const char *device, FILE *out,
                            uint32_t *ret_checked)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    GError *err = NULL;
    GDir *d = g_dir_open(dir, 0, &err);
    GHashTable *present = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    const char *entry;
    bool ok = true;

    *ret_checked = 0;
    if (!d) {
        fprintf(out, "FAIL golden: %s\n", err->message);
        g_error_free(err);
        ok = false;
        goto out;
    }
    while ((entry = g_dir_read_name(d))) {
        if ((g_str_has_suffix(entry, ".legacy") || g_str_has_suffix(entry, ".ber")) &&
            strstr(entry, ".v")) {
            g_ptr_array_add(names, g_strdup(entry));
        }
    }
    g_dir_close(d);
    g_ptr_array_sort(names, compare_names);
    for (guint i = 0; i < names->len; i++) {
        const char *name = names->pdata[i];
        const VsCompatSchema *writer = NULL;
        g_autofree char *base = g_strndup(name, (gsize)(strstr(name, ".v") - name));
        const VsCompatDevice *dev = device_of(base, &writer);

        if (device && dev && strcmp(device, dev->device) != 0 && strcmp(device, dev->section) != 0) {
            continue;
        }
        g_hash_table_add(present, g_strdup(name));
        ok &= check_one(mem, dir, name, out);
        (*ret_checked)++;
    }
    /* Every released schema has its golden streams: none may silently go missing. */
    for (size_t i = 0; i < vs_compat_n_devices; i++) {
        const VsCompatDevice *dev = &vs_compat_devices[i];

        if (device && strcmp(device, dev->device) != 0 && strcmp(device, dev->section) != 0) {
            continue;
        }
        for (int fmt = 0; fmt < VS_COMPAT_N_FORMATS; fmt++) {
            for (uint32_t h = 0; h <= dev->n_history; h++) {
                const VsCompatSchema *s = h < dev->n_history ? &dev->history[h] : &dev->current;
                g_autofree char *name = golden_name(s, fmt);

                if (!g_hash_table_contains(present, name)) {
                    fprintf(out, "FAIL golden %s: missing for released schema %s (see "
                            "tests/compat/make-golden.sh)\n", name, s->file);
                    ok = false;
                }
            }
        }
    }
    if (*ret_checked == 0) {
        fprintf(out, "FAIL golden: no golden stream in %s\n", dir);
        ok = false;
    }
    fprintf(out, "golden: %u streams checked\n", *ret_checked);
out:
    g_ptr_array_free(names, TRUE);
    g_hash_table_destroy(present);
    talloc_free(mem);
    return ok;
}
