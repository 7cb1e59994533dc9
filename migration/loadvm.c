/*
 * loadvm.c: the item loop of a migration stream (QEMU's
 * qemu_loadvm_state_main): the configuration section, section headers,
 * device bodies, footers and commands, PACKAGED commands recursively.
 *
 * SPDX-License-Identifier: MIT
 *
 * Decisions a file stream forces (QEMU decides them from the destination's
 * own configuration, which a file does not have):
 *
 *   - Configuration: present when the byte after the header is 0x07.  QEMU
 *     expects it iff its own send-configuration is on, which old machine
 *     types (<= 2.3) turn off; here either is accepted.
 *   - Footers: the same compat list that drops the configuration section
 *     drops footers, so a stream with a configuration section must have a
 *     footer after every section ("Missing section footer for %s").  A
 *     stream without one may have them or not: a body followed by 0x7e is
 *     taken to have a footer, which must then carry the section's id.
 *   - Every section is "known": there is no destination VM to refuse an
 *     idstr.  What cannot be decoded (no compiled walker, no description)
 *     stops the load, because the legacy format cannot skip a body.
 *   - A PART/END whose id was never introduced is an error; QEMU's quirk of
 *     binding id 0 to its first handler has no meaning without handlers.
 *   - POSTCOPY_RUN ends a package, as in QEMU; at the top level it does not
 *     end the load (QEMU's listen thread goes on reading the same channel).
 *
 * Device bodies are decoded by a tee of the legacy LOAD visitor (over a
 * memory reader on the input, positioned at the body) and a tree builder:
 * with the compiled walker registered for the wire name when its version
 * range admits the section's version, else from the stream's description.
 */
#include "migration/stream-internal.h"

#include "visitor/pretty/pretty.h"
#include "visitor/pretty/tee-visitor.h"
#include "visitor/qemufile/legacy-visitor.h"
#include "visitor/registry.h"

#include <inttypes.h>
#include <string.h>

/* Nested PACKAGED commands allowed (QEMU sends one level). */
#define LOADVM_MAX_PACKAGE_DEPTH 4

/* 7.2's MIG_CMD_MAX: 11 and above are unknown. */
#define LOADVM_CMD_MAX 11

/* Postcopy states of the destination, in QEMU's numbering. */
enum {
    LOADVM_PC_NONE,
    LOADVM_PC_ADVISE,
    LOADVM_PC_DISCARD,
    LOADVM_PC_LISTENING,
    LOADVM_PC_RUNNING,
    LOADVM_PC_END,
};

enum {
    LOADVM_CMD_OPEN_RETURN_PATH = 1,
    LOADVM_CMD_PING = 2,
    LOADVM_CMD_POSTCOPY_ADVISE = 3,
    LOADVM_CMD_POSTCOPY_LISTEN = 4,
    LOADVM_CMD_POSTCOPY_RUN = 5,
    LOADVM_CMD_POSTCOPY_RAM_DISCARD = 6,
    LOADVM_CMD_PACKAGED = 7,
    LOADVM_CMD_ENABLE_COLO = 8,
    LOADVM_CMD_POSTCOPY_RESUME = 9,
    LOADVM_CMD_RECV_BITMAP = 10,
};

/* The command table of §1.7: name (NULL for ENABLE_COLO, as in 7.2) and fixed length. */
typedef struct LoadvmCmdInfo {
    const char *name;
    int len;            /* -1: variable */
} LoadvmCmdInfo;

static const LoadvmCmdInfo loadvm_cmds[LOADVM_CMD_MAX] = {
    [0] = { "INVALID", -1 },
    [LOADVM_CMD_OPEN_RETURN_PATH] = { "OPEN_RETURN_PATH", 0 },
    [LOADVM_CMD_PING] = { "PING", 4 },
    [LOADVM_CMD_POSTCOPY_ADVISE] = { "POSTCOPY_ADVISE", -1 },
    [LOADVM_CMD_POSTCOPY_LISTEN] = { "POSTCOPY_LISTEN", 0 },
    [LOADVM_CMD_POSTCOPY_RUN] = { "POSTCOPY_RUN", 0 },
    [LOADVM_CMD_POSTCOPY_RAM_DISCARD] = { "POSTCOPY_RAM_DISCARD", -1 },
    [LOADVM_CMD_PACKAGED] = { "PACKAGED", 4 },
    [LOADVM_CMD_ENABLE_COLO] = { NULL, 0 },
    [LOADVM_CMD_POSTCOPY_RESUME] = { "POSTCOPY_RESUME", 0 },
    [LOADVM_CMD_RECV_BITMAP] = { "RECV_BITMAP", -1 },
};

static const char *loadvm_type_name(uint8_t type)
{
    switch (type) {
    case VS_MIG_SECTION_START:
        return "START";
    case VS_MIG_SECTION_PART:
        return "PART";
    case VS_MIG_SECTION_END:
        return "END";
    default:
        return "FULL";
    }
}

/* An idstr or name from the stream, printable in a message. */
static char *loadvm_printable(TALLOC_CTX *ctx, const uint8_t *p, size_t len)
{
    g_autofree char *raw = g_strndup((const char *)p, len);
    g_autofree char *esc = g_strescape(raw, NULL);

    return talloc_strdup(ctx, esc);
}

/* ---- configuration ----------------------------------------------------- */

/* Configuration subsections 7.2 knows (§1.4), all version 1. */
typedef enum LoadvmConfSub {
    LOADVM_CONF_PAGE_BITS,
    LOADVM_CONF_CAPS,
    LOADVM_CONF_UUID,
    LOADVM_CONF__MAX,
} LoadvmConfSub;

static const char *const loadvm_conf_names[LOADVM_CONF__MAX] = {
    [LOADVM_CONF_PAGE_BITS] = "configuration/target-page-bits",
    [LOADVM_CONF_CAPS] = "configuration/capabilities",
    [LOADVM_CONF_UUID] = "configuration/uuid",
};

/* The capabilities list: be32 count, count cstr8 names. */
static bool loadvm_conf_caps(VsLoadCtx *lc, VsCursor *c, GError **errp)
{
    uint32_t count;

    if (!vs_cursor_be32(c, &count)) {
        return vs_mig_fail_short(errp, c, 4, "configuration/capabilities: caps_count");
    }
    /* Each name takes at least its length byte: a count beyond that is a lie. */
    if (count > vs_cursor_left(c)) {
        return vs_mig_fail(errp, VS_MIG_ERROR_TRUNCATED,
                           "configuration/capabilities: %" PRIu32
                           " capabilities announced, only %zu bytes left (offset 0x%zx)",
                           count, vs_cursor_left(c), c->pos - 4);
    }
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *name;
        uint8_t n;

        if (!vs_cursor_u8(c, &n) || !vs_cursor_bytes(c, n, &name)) {
            return vs_mig_fail_short(errp, c, (size_t)n, "configuration/capabilities: name");
        }
        if (n == strlen("x-ignore-shared") && memcmp(name, "x-ignore-shared", n) == 0) {
            lc->ignore_shared = true;
        }
    }
    return true;
}

/* One subsection body, by its known layout. */
static bool loadvm_conf_sub_body(VsLoadCtx *lc, LoadvmConfSub which, VsCursor *c,
                                 GError **errp)
{
    const uint8_t *uuid;
    uint32_t bits;

    switch (which) {
    case LOADVM_CONF_PAGE_BITS:
        if (!vs_cursor_be32(c, &bits)) {
            return vs_mig_fail_short(errp, c, 4, "configuration/target-page-bits");
        }
        if (bits >= 10 && bits <= 16) {
            lc->page_size = (uint64_t)1 << bits;
            lc->page_size_from_config = true;
        }
        return true;
    case LOADVM_CONF_CAPS:
        return loadvm_conf_caps(lc, c, errp);
    default:
        if (!vs_cursor_bytes(c, 16, &uuid)) {
            return vs_mig_fail_short(errp, c, 16, "configuration/uuid");
        }
        return true;
    }
}

/*
 * One subsection after the machine name, if the next bytes are one of
 * "configuration"'s (QEMU's prefix rule).  @ret_more: whether one was read.
 */
static bool loadvm_conf_sub(VsLoadCtx *lc, VsCursor *c, bool *ret_more, GError **errp)
{
    static const char parent[] = "configuration";
    size_t at = c->pos;
    uint8_t marker, n;
    const uint8_t *name;
    uint32_t version;
    int which = -1;

    *ret_more = false;
    if (!vs_cursor_peek_u8(c, 0, &marker) || marker != VS_MIG_SUBSECTION ||
        !vs_cursor_peek_u8(c, 1, &n) || n < sizeof(parent) || vs_cursor_left(c) < 2u + n ||
        memcmp(c->data + at + 2, parent, sizeof(parent) - 1) != 0) {
        return true;
    }
    c->pos += 2;
    vs_cursor_bytes(c, n, &name);
    for (int i = 0; i < LOADVM_CONF__MAX; i++) {
        if (strlen(loadvm_conf_names[i]) == n && memcmp(loadvm_conf_names[i], name, n) == 0) {
            which = i;
        }
    }
    if (which < 0) {
        return vs_mig_fail(errp, VS_MIG_ERROR_FORMAT,
                           "Unknown subsection '%s' of configuration at offset 0x%zx (QEMU 7.2 "
                           "fails the load with -ENOENT)",
                           loadvm_printable(lc->scratch, name, n), at);
    }
    if (!vs_cursor_be32(c, &version)) {
        return vs_mig_fail_short(errp, c, 4, loadvm_conf_names[which]);
    }
    /* 7.2 keeps a subsection's version in 8 bits. */
    if ((version & 0xff) != 1) {
        return vs_mig_fail(errp, VS_MIG_ERROR_FORMAT,
                           "%s: incoming version_id %" PRIu32 " is too %s for local %sversion_id "
                           "%s1 (offset 0x%zx)",
                           loadvm_conf_names[which], version & 0xff,
                           (version & 0xff) > 1 ? "new" : "old",
                           (version & 0xff) > 1 ? "" : "minimum ",
                           (version & 0xff) > 1 ? "" : " ", c->pos - 4);
    }
    *ret_more = true;
    return loadvm_conf_sub_body(lc, (LoadvmConfSub)which, c, errp);
}

bool vs_loadvm_config(VsLoadCtx *lc, VsStream *s, VsCursor *c, GError **errp)
{
    size_t at = c->pos;
    const uint8_t *name;
    size_t rest_at;
    uint32_t len;
    VsRecord *r;
    bool more = true;

    c->pos++;
    if (!vs_cursor_be32(c, &len)) {
        return vs_mig_fail_short(errp, c, 4, "configuration: length of the machine type");
    }
    if (!vs_cursor_bytes(c, len, &name)) {
        return vs_mig_fail_short(errp, c, len, "configuration: machine type");
    }
    if (memchr(name, '\0', len)) {
        return vs_mig_fail(errp, VS_MIG_ERROR_FORMAT,
                           "configuration: the machine type at offset 0x%zx holds a NUL byte",
                           at + 5);
    }
    rest_at = c->pos;
    while (more) {
        if (!loadvm_conf_sub(lc, c, &more, errp)) {
            return false;
        }
    }
    r = vs_stream_add_record(s);
    r->kind = VS_REC_CONFIG;
    r->offset = at;
    r->length = c->pos - at;
    r->machine = talloc_strndup(s, (const char *)name, len);
    r->config_rest_len = c->pos - rest_at;
    r->config_rest = vs_mig_memdup(s, c->data + rest_at, r->config_rest_len);
    g_assert(r->machine != NULL && r->config_rest != NULL);
    s->machine = r->machine;
    lc->footers = VS_FOOTERS_ON;
    return true;
}

/* ---- device bodies ------------------------------------------------------ */

/* Wraps a body failure as QEMU words it, keeping the cause's text. */
static bool loadvm_body_failed(const VsSection *sec, GError *cause, GError **errp)
{
    VsMigError code = VS_MIG_ERROR_DEVICE;

    if (cause->domain == VS_MIG_ERROR) {
        code = (VsMigError)cause->code;
    } else if (g_error_matches(cause, VS_VISIT_ERROR, VS_VISIT_ERROR_TRUNCATED)) {
        code = VS_MIG_ERROR_TRUNCATED;
    }
    if (sec->type == VS_MIG_SECTION_START || sec->type == VS_MIG_SECTION_FULL) {
        vs_mig_fail(errp, code, "error while loading state for instance 0x%" PRIx32
                                " of device '%s': %s",
                    sec->instance_id, sec->idstr, cause->message);
    } else {
        vs_mig_fail(errp, code, "error while loading state section id %" PRIu32 "(%s): %s",
                    sec->section_id, sec->idstr, cause->message);
    }
    g_error_free(cause);
    return false;
}

/* Whether @e's walker accepts the section's version. */
static bool loadvm_schema_fits(const VsRegistryEntry *e, uint32_t version)
{
    return e && e->walker && version >= e->type->minimum_version &&
           version <= e->type->version;
}

/*
 * Decodes the body at c->pos with a tee of the legacy loader and a tree
 * builder; the tree goes under @rec_ctx even when the walk fails (then it
 * is freed with the record).
 */
static bool loadvm_decode_body(VsLoadCtx *lc, VsSection *sec, TALLOC_CTX *rec_ctx,
                               VsCursor *c, const VsRegistryEntry *schema,
                               const VsJson *desc, GError **errp)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    VsQemuFile *f = vs_qemufile_new_memory_reader(tmp, c->data, c->end);
    VsVisitor *load = vs_legacy_load_visitor_new(tmp, f, tmp);
    VsVisitor *builder = vs_tree_builder_new(tmp, rec_ctx);
    VsVisitor *tee = vs_tee_visitor_new(tmp, load, builder);
    GError *local = NULL;
    bool ok;

    g_assert(tmp && f && load && builder && tee);
    vs_qemufile_skip(f, c->pos);
    vs_visitor_set_root_version(load, sec->version_id);
    if (schema) {
        void *obj = vs_registry_new_object(tmp, schema);

        /*
         * The object is a scratch copy, not a live device: decoding shows
         * the values on the wire, so the device's hooks (which may reach
         * the model or recompute fields) stay out of it.
         */
        vs_visitor_set_hooks(tee, false);
        ok = schema->walker(tee, sec->wire_name, obj, &local);
    } else {
        ok = vs_desc_walk(tee, f, c->end, desc, sec->wire_name, sec->version_id,
                          &lc->desc_budget, &local);
    }
    ok = ok && vs_visitor_complete(tee, &local);
    sec->state = vs_tree_builder_root(builder);
    c->pos = (size_t)vs_qemufile_pos(f);
    talloc_free(tmp);
    if (!ok) {
        return loadvm_body_failed(sec, local, errp);
    }
    return true;
}

static bool loadvm_device_body(VsLoadCtx *lc, VsSection *sec, TALLOC_CTX *rec_ctx,
                               VsCursor *c, size_t at, GError **errp)
{
    const VsRegistryEntry *e = lc->opts.no_schemas ? NULL : vs_registry_lookup(sec->wire_name);
    const VsJson *desc = vs_load_desc_lookup(lc, sec->idstr, sec->instance_id);

    if (loadvm_schema_fits(e, sec->version_id)) {
        sec->decoded_by = VS_DECODED_SCHEMA;
        return loadvm_decode_body(lc, sec, rec_ctx, c, e, NULL, errp);
    }
    if (desc) {
        sec->decoded_by = VS_DECODED_DESCRIPTION;
        return loadvm_decode_body(lc, sec, rec_ctx, c, NULL, desc, errp);
    }
    return vs_mig_fail(errp, VS_MIG_ERROR_UNDECODABLE,
                       "section '%s' (instance %" PRIu32 ", id %" PRIu32 ") at offset 0x%zx has "
                       "no compiled schema and the stream has no description of it; the legacy "
                       "format cannot skip it (%s%s%s)",
                       sec->idstr, sec->instance_id, sec->section_id, at,
                       e ? "the compiled walker for '" : "no walker is registered for '",
                       sec->wire_name,
                       lc->vmdesc ? "'; the description trailer does not list this section"
                                  : talloc_asprintf(lc->scratch,
                                                    "'; no usable description trailer: %s",
                                                    lc->vmdesc_problem));
}

/* ---- sections ----------------------------------------------------------- */

static bool loadvm_is_ram(const VsSection *sec)
{
    return strcmp(sec->idstr, "ram") == 0 && sec->instance_id == 0;
}

/*
 * QEMU's RAM loader accepts version 4 only; a newer one is refused by the
 * section lookup before the loader runs, an older one by the loader
 * without a message of its own.
 */
static bool loadvm_ram_body(VsLoadCtx *lc, VsSection *sec, TALLOC_CTX *rec_ctx, VsCursor *c,
                            size_t at, GError **errp)
{
    GError *local = NULL;

    sec->decoded_by = VS_DECODED_RAM;
    if (sec->version_id != 4) {
        vs_mig_fail(&local, VS_MIG_ERROR_SECTION,
                    "RAM section version %" PRIu32 " at offset 0x%zx is not 4, the only version "
                    "QEMU 7.2 loads (it fails with -EINVAL)",
                    sec->version_id, at);
        return loadvm_body_failed(sec, local, errp);
    }
    if (!vs_ram_load_section(lc, sec, rec_ctx, c, &local)) {
        return loadvm_body_failed(sec, local, errp);
    }
    return true;
}

/* QEMU's check_section_footer, with what was found. */
static bool loadvm_footer(VsLoadCtx *lc, VsSection *sec, VsCursor *c, GError **errp)
{
    size_t at = c->pos;
    uint8_t mark;
    uint32_t id = 0;

    if (!vs_cursor_peek_u8(c, 0, &mark)) {
        if (lc->footers == VS_FOOTERS_DETECT) {
            return true;
        }
        return vs_mig_fail(errp, VS_MIG_ERROR_TRUNCATED,
                           "check_section_footer: Read section footer failed: -5 (stream ends "
                           "at offset 0x%zx after the body of section '%s', id %" PRIu32 ")",
                           at, sec->idstr, sec->section_id);
    }
    if (mark != VS_MIG_SECTION_FOOTER) {
        if (lc->footers == VS_FOOTERS_DETECT) {
            return true;
        }
        return vs_mig_fail(errp, VS_MIG_ERROR_SECTION,
                           "Missing section footer for %s (found 0x%02x at offset 0x%zx where the "
                           "footer 0x7e was expected; section id %" PRIu32 ", instance %" PRIu32
                           ", body of %" PRIu64 " bytes from offset 0x%" PRIx64 ")",
                           sec->idstr, mark, at, sec->section_id, sec->instance_id,
                           (uint64_t)(at - sec->body_offset), sec->body_offset);
    }
    c->pos++;
    if (!vs_cursor_be32(c, &id)) {
        return vs_mig_fail(errp, VS_MIG_ERROR_TRUNCATED,
                           "Mismatched section id in footer for %s - read 0x0 expected 0x%" PRIx32
                           " (stream ends after %zu of 4 bytes of the footer's id at offset "
                           "0x%zx)",
                           sec->idstr, sec->section_id, vs_cursor_left(c), c->pos);
    }
    if (id != sec->section_id) {
        return vs_mig_fail(errp, VS_MIG_ERROR_SECTION,
                           "Mismatched section id in footer for %s - read 0x%" PRIx32
                           " expected 0x%" PRIx32 " (footer at offset 0x%zx)",
                           sec->idstr, id, sec->section_id, at);
    }
    sec->has_footer = true;
    return true;
}

/* Body and footer of a section whose header was read into @sec. */
static bool loadvm_section_rest(VsLoadCtx *lc, VsStream *s, VsSection *sec,
                                TALLOC_CTX *rec_ctx, VsCursor *c, size_t at, GError **errp)
{
    VsRecord *r;

    sec->body_offset = c->pos;
    if (loadvm_is_ram(sec)) {
        if (!loadvm_ram_body(lc, sec, rec_ctx, c, at, errp)) {
            return false;
        }
    } else if (!loadvm_device_body(lc, sec, rec_ctx, c, at, errp)) {
        return false;
    }
    sec->body_length = c->pos - sec->body_offset;
    if (!loadvm_footer(lc, sec, c, errp)) {
        return false;
    }
    r = vs_stream_add_record(s);
    r->kind = VS_REC_SECTION;
    r->offset = at;
    r->length = c->pos - at;
    r->section = *sec;
    return true;
}

/* The binding of a START/FULL's id, replacing an earlier one. */
static void loadvm_bind(VsLoadCtx *lc, const VsSection *sec)
{
    VsSectionBinding *b = talloc_zero(lc->scratch, VsSectionBinding);

    g_assert(b != NULL);
    b->section_id = sec->section_id;
    b->idstr = talloc_strdup(b, sec->idstr);
    b->instance_id = sec->instance_id;
    b->version_id = sec->version_id;
    b->wire_name = talloc_strdup(b, sec->wire_name);
    g_hash_table_insert(lc->sections, GUINT_TO_POINTER(sec->section_id), b);
}

/* The wire name: the description's vmsd_name, else the idstr after its last '/'. */
static char *loadvm_wire_name(VsLoadCtx *lc, TALLOC_CTX *ctx, const char *idstr,
                              uint32_t instance_id)
{
    const VsJson *dev = vs_load_desc_lookup(lc, idstr, instance_id);
    size_t vlen = 0;
    const char *vmsd = vs_json_get_string(vs_json_object_get(dev, "vmsd_name"), &vlen, NULL);
    const char *slash = strrchr(idstr, '/');

    /* A name with a NUL byte could not be looked up or printed: not used. */
    if (vmsd && vlen && strlen(vmsd) == vlen) {
        return talloc_strdup(ctx, vmsd);
    }
    return talloc_strdup(ctx, slash ? slash + 1 : idstr);
}

static bool loadvm_start_full(VsLoadCtx *lc, VsStream *s, VsCursor *c, uint8_t type,
                              size_t at, GError **errp)
{
    TALLOC_CTX *rec_ctx = talloc_new(s);
    VsSection sec = { .type = type };
    const uint8_t *id;
    uint8_t n = 0;

    g_assert(rec_ctx != NULL);
    if (!vs_cursor_be32(c, &sec.section_id) || !vs_cursor_u8(c, &n)) {
        talloc_free(rec_ctx);
        return vs_mig_fail(errp, VS_MIG_ERROR_TRUNCATED,
                           "Unable to read ID string for section %" PRIu32 " (stream ends inside "
                           "the %s header at offset 0x%zx)",
                           sec.section_id, loadvm_type_name(type), at);
    }
    if (n == 0) {
        talloc_free(rec_ctx);
        return vs_mig_fail(errp, VS_MIG_ERROR_FORMAT,
                           "Unable to read ID string for section %" PRIu32 " (empty ID string in "
                           "the %s header at offset 0x%zx)",
                           sec.section_id, loadvm_type_name(type), at);
    }
    if (!vs_cursor_bytes(c, n, &id)) {
        talloc_free(rec_ctx);
        return vs_mig_fail(errp, VS_MIG_ERROR_TRUNCATED,
                           "Unable to read ID string for section %" PRIu32 " (stream ends after "
                           "%zu of %u bytes of the ID string at offset 0x%zx)",
                           sec.section_id, vs_cursor_left(c), n, c->pos);
    }
    if (memchr(id, '\0', n)) {
        talloc_free(rec_ctx);
        return vs_mig_fail(errp, VS_MIG_ERROR_FORMAT,
                           "Unable to read ID string for section %" PRIu32
                           " (the ID string at offset 0x%zx holds a NUL byte)",
                           sec.section_id, at + 6);
    }
    sec.idstr = talloc_strndup(rec_ctx, (const char *)id, n);
    if (!vs_cursor_be32(c, &sec.instance_id) || !vs_cursor_be32(c, &sec.version_id)) {
        talloc_free(rec_ctx);
        return vs_mig_fail(errp, VS_MIG_ERROR_TRUNCATED,
                           "qemu_loadvm_section_start_full: Failed to read instance/version ID: "
                           "-5 (section '%s', id %" PRIu32 ", stream ends at offset 0x%zx)",
                           sec.idstr, sec.section_id, c->end);
    }
    if (strcmp(sec.idstr, "ram") == 0 && sec.instance_id == 0 && sec.version_id > 4) {
        talloc_free(rec_ctx);
        return vs_mig_fail(errp, VS_MIG_ERROR_SECTION,
                           "savevm: unsupported version %" PRIu32 " for 'ram' v4 (section id %" PRIu32
                           " at offset 0x%zx)",
                           sec.version_id, sec.section_id, at);
    }
    sec.wire_name = loadvm_wire_name(lc, rec_ctx, sec.idstr, sec.instance_id);
    loadvm_bind(lc, &sec);
    if (!loadvm_section_rest(lc, s, &sec, rec_ctx, c, at, errp)) {
        talloc_free(rec_ctx);
        return false;
    }
    return true;
}

static bool loadvm_part_end(VsLoadCtx *lc, VsStream *s, VsCursor *c, uint8_t type, size_t at,
                            GError **errp)
{
    TALLOC_CTX *rec_ctx;
    VsSection sec = { .type = type };
    const VsSectionBinding *b;

    if (!vs_cursor_be32(c, &sec.section_id)) {
        return vs_mig_fail(errp, VS_MIG_ERROR_TRUNCATED,
                           "qemu_loadvm_section_part_end: Failed to read section ID: -5 (%s at "
                           "offset 0x%zx: stream ends after %zu of 4 bytes)",
                           loadvm_type_name(type), at, vs_cursor_left(c));
    }
    b = g_hash_table_lookup(lc->sections, GUINT_TO_POINTER(sec.section_id));
    if (!b) {
        return vs_mig_fail(errp, VS_MIG_ERROR_SECTION,
                           "Unknown savevm section %" PRIu32 " (%s at offset 0x%zx; no START or "
                           "FULL introduced this id)",
                           sec.section_id, loadvm_type_name(type), at);
    }
    rec_ctx = talloc_new(s);
    g_assert(rec_ctx != NULL);
    sec.idstr = talloc_strdup(rec_ctx, b->idstr);
    sec.instance_id = b->instance_id;
    sec.version_id = b->version_id;
    sec.wire_name = talloc_strdup(rec_ctx, b->wire_name);
    if (!loadvm_section_rest(lc, s, &sec, rec_ctx, c, at, errp)) {
        talloc_free(rec_ctx);
        return false;
    }
    return true;
}

/* ---- commands ------------------------------------------------------------ */

static bool loadvm_pc_state(VsLoadCtx *lc, unsigned *state, const char *cmd, unsigned ok1,
                            unsigned ok2, unsigned next, size_t at, GError **errp)
{
    if (*state != ok1 && *state != ok2) {
        return vs_mig_fail(errp, VS_MIG_ERROR_COMMAND,
                           "CMD_%s in wrong postcopy state (%u) (command at offset 0x%zx)", cmd,
                           *state, at);
    }
    *state = next;
    return true;
}

/* POSTCOPY_RAM_DISCARD's payload (§4.3). */
static bool loadvm_discard(VsLoadCtx *lc, const uint8_t *p, uint16_t len, size_t at,
                           GError **errp)
{
    char *name;
    size_t n;

    if (len < 20) {
        return vs_mig_fail(errp, VS_MIG_ERROR_COMMAND,
                           "CMD_POSTCOPY_RAM_DISCARD invalid length (%u) (command at offset "
                           "0x%zx)",
                           len, at);
    }
    if (p[0] != 0) {
        return vs_mig_fail(errp, VS_MIG_ERROR_COMMAND,
                           "CMD_POSTCOPY_RAM_DISCARD invalid version (%u) (command at offset "
                           "0x%zx)",
                           p[0], at);
    }
    n = p[1];
    if (n == 0 || 2 + n + 1 > len) {
        return vs_mig_fail(errp, VS_MIG_ERROR_COMMAND,
                           "CMD_POSTCOPY_RAM_DISCARD Failed to read RAMBlock ID (command at offset "
                           "0x%zx)",
                           at);
    }
    if (p[2 + n] != 0) {
        return vs_mig_fail(errp, VS_MIG_ERROR_COMMAND,
                           "CMD_POSTCOPY_RAM_DISCARD missing nil (%u) (command at offset 0x%zx)",
                           p[2 + n], at);
    }
    if ((len - 3 - n) % 16) {
        return vs_mig_fail(errp, VS_MIG_ERROR_COMMAND,
                           "CMD_POSTCOPY_RAM_DISCARD invalid length (%zu) (command at offset "
                           "0x%zx)",
                           len - 3 - n, at);
    }
    name = g_strndup((const char *)p + 2, n);
    if (!g_hash_table_contains(lc->blocks, name)) {
        vs_mig_fail(errp, VS_MIG_ERROR_RAM,
                    "ram_discard_range: Failed to find block '%s' (command at offset 0x%zx)",
                    loadvm_printable(lc->scratch, p + 2, n), at);
        g_free(name);
        return false;
    }
    g_free(name);
    return true;
}

/* Checks of a command's payload that do not depend on a destination VM. */
static bool loadvm_command_payload(VsLoadCtx *lc, VsCommand *cmd, size_t at, GError **errp)
{
    const uint8_t *p = cmd->payload;

    switch (cmd->cmd) {
    case LOADVM_CMD_POSTCOPY_ADVISE:
        if (cmd->len != 0 && cmd->len != 16) {
            return vs_mig_fail(errp, VS_MIG_ERROR_COMMAND,
                               "CMD_POSTCOPY_ADVISE invalid length (%u) (command at offset 0x%zx)",
                               cmd->len, at);
        }
        if (cmd->len == 16) {
            lc->postcopy_advised = true;
            lc->pagesize_summary = 0;
            for (int i = 0; i < 8; i++) {
                lc->pagesize_summary = lc->pagesize_summary << 8 | p[i];
            }
        }
        return true;
    case LOADVM_CMD_POSTCOPY_RAM_DISCARD:
        return loadvm_discard(lc, p, cmd->len, at, errp);
    case LOADVM_CMD_RECV_BITMAP:
        if (cmd->len < 1 || p[0] == 0) {
            return vs_mig_fail(errp, VS_MIG_ERROR_COMMAND,
                               "loadvm_handle_recv_bitmap: failed to read block name (command at "
                               "offset 0x%zx)",
                               at);
        }
        if (cmd->len != p[0] + 1) {
            return vs_mig_fail(errp, VS_MIG_ERROR_COMMAND,
                               "loadvm_handle_recv_bitmap: invalid payload length (%u) (command "
                               "at offset 0x%zx)",
                               cmd->len, at);
        }
        return true;
    default:
        return true;
    }
}

/* The postcopy state machine of §4 (ADVISE -> DISCARD -> LISTEN -> RUN). */
static bool loadvm_postcopy_order(VsLoadCtx *lc, unsigned *state, uint16_t cmd, size_t at,
                                  GError **errp)
{
    switch (cmd) {
    case LOADVM_CMD_POSTCOPY_ADVISE:
        return loadvm_pc_state(lc, state, "POSTCOPY_ADVISE", LOADVM_PC_NONE, LOADVM_PC_NONE,
                               LOADVM_PC_ADVISE, at, errp);
    case LOADVM_CMD_POSTCOPY_RAM_DISCARD:
        return loadvm_pc_state(lc, state, "POSTCOPY_RAM_DISCARD", LOADVM_PC_ADVISE,
                               LOADVM_PC_DISCARD, LOADVM_PC_DISCARD, at, errp);
    case LOADVM_CMD_POSTCOPY_LISTEN:
        return loadvm_pc_state(lc, state, "POSTCOPY_LISTEN", LOADVM_PC_ADVISE,
                               LOADVM_PC_DISCARD, LOADVM_PC_LISTENING, at, errp);
    case LOADVM_CMD_POSTCOPY_RUN:
        return loadvm_pc_state(lc, state, "POSTCOPY_RUN", LOADVM_PC_LISTENING,
                               LOADVM_PC_LISTENING, LOADVM_PC_RUNNING, at, errp);
    default:
        return true;
    }
}

static bool loadvm_packaged(VsLoadCtx *lc, VsCommand *cmd, TALLOC_CTX *rec_ctx, VsCursor *c,
                            size_t at, GError **errp)
{
    VsCursor sub;
    VsStream *pkg;
    bool eof = false;
    bool ok;

    cmd->package_len = (uint32_t)cmd->payload[0] << 24 | (uint32_t)cmd->payload[1] << 16 |
                       (uint32_t)cmd->payload[2] << 8 | cmd->payload[3];
    if (cmd->package_len > vs_cursor_left(c)) {
        return vs_mig_fail(errp, VS_MIG_ERROR_TRUNCATED,
                           "CMD_PACKAGED: Buffer receive fail ret=%zu length=%" PRIu32
                           " (command at offset 0x%zx)",
                           vs_cursor_left(c), cmd->package_len, at);
    }
    if (lc->package_depth >= LOADVM_MAX_PACKAGE_DEPTH) {
        return vs_mig_fail(errp, VS_MIG_ERROR_LIMIT,
                           "CMD_PACKAGED at offset 0x%zx nests deeper than %d packages", at,
                           LOADVM_MAX_PACKAGE_DEPTH);
    }
    sub = (VsCursor){ .data = c->data, .pos = c->pos, .end = c->pos + cmd->package_len };
    pkg = talloc_zero(rec_ctx, VsStream);
    g_assert(pkg != NULL);
    pkg->page_size = lc->page_size;
    cmd->package = pkg;
    lc->package_depth++;
    ok = vs_loadvm_items(lc, pkg, &sub, true, &eof, errp);
    lc->package_depth--;
    vs_stream_shrink(pkg);
    if (!ok) {
        return false;
    }
    /* QEMU drops what follows POSTCOPY_RUN in the package; it is kept for encoding. */
    if (vs_cursor_left(&sub)) {
        pkg->trailing_len = vs_cursor_left(&sub);
        pkg->trailing = vs_mig_memdup(pkg, sub.data + sub.pos, pkg->trailing_len);
    }
    c->pos = sub.end;
    return true;
}

/*
 * One command.  @ret_quit: POSTCOPY_RUN inside a package ends the
 * package's item loop, as in QEMU.
 */
static bool loadvm_command(VsLoadCtx *lc, VsStream *s, VsCursor *c, size_t at,
                           bool in_package, bool *ret_quit, GError **errp)
{
    TALLOC_CTX *rec_ctx;
    VsCommand cmd = { 0 };
    const uint8_t *payload;
    VsRecord *r;

    *ret_quit = false;
    if (!vs_cursor_be16(c, &cmd.cmd) || !vs_cursor_be16(c, &cmd.len)) {
        return vs_mig_fail(errp, VS_MIG_ERROR_TRUNCATED,
                           "stream ends inside the command header at offset 0x%zx (%zu of 4 "
                           "bytes after the type byte)",
                           at, c->end - at - 1);
    }
    if (cmd.cmd == 0 || cmd.cmd >= LOADVM_CMD_MAX) {
        return vs_mig_fail(errp, VS_MIG_ERROR_COMMAND,
                           "MIG_CMD 0x%x unknown (len 0x%x) (command at offset 0x%zx)", cmd.cmd,
                           cmd.len, at);
    }
    if (loadvm_cmds[cmd.cmd].len >= 0 && loadvm_cmds[cmd.cmd].len != cmd.len) {
        return vs_mig_fail(errp, VS_MIG_ERROR_COMMAND,
                           "%s received with bad length - expecting %d, got %u (command at "
                           "offset 0x%zx)",
                           loadvm_cmds[cmd.cmd].name ? loadvm_cmds[cmd.cmd].name : "(null)",
                           loadvm_cmds[cmd.cmd].len, cmd.len, at);
    }
    if (!vs_cursor_bytes(c, cmd.len, &payload)) {
        return vs_mig_fail(errp, VS_MIG_ERROR_TRUNCATED,
                           "%s: stream ends after %zu of %u payload bytes (command at offset "
                           "0x%zx)",
                           loadvm_cmds[cmd.cmd].name ? loadvm_cmds[cmd.cmd].name : "(null)",
                           vs_cursor_left(c), cmd.len, at);
    }
    rec_ctx = talloc_new(s);
    g_assert(rec_ctx != NULL);
    cmd.payload = vs_mig_memdup(rec_ctx, payload, cmd.len);
    if (!loadvm_postcopy_order(lc, &lc->postcopy_state, cmd.cmd, at, errp) ||
        !loadvm_command_payload(lc, &cmd, at, errp) ||
        (cmd.cmd == LOADVM_CMD_PACKAGED && !loadvm_packaged(lc, &cmd, rec_ctx, c, at, errp))) {
        talloc_free(rec_ctx);
        return false;
    }
    r = vs_stream_add_record(s);
    r->kind = VS_REC_COMMAND;
    r->offset = at;
    r->length = c->pos - at;
    r->command = cmd;
    *ret_quit = in_package && cmd.cmd == LOADVM_CMD_POSTCOPY_RUN;
    return true;
}

/* ---- the item loop -------------------------------------------------------- */

bool vs_loadvm_items(VsLoadCtx *lc, VsStream *s, VsCursor *c, bool in_package, bool *ret_eof,
                     GError **errp)
{
    *ret_eof = false;
    for (;;) {
        size_t at = c->pos;
        bool quit = false;
        VsRecord *r;
        uint8_t type;

        if (!vs_cursor_u8(c, &type)) {
            if (in_package) {
                return vs_mig_fail(errp, VS_MIG_ERROR_TRUNCATED,
                                   "CMD_PACKAGED: the package ends at offset 0x%zx without "
                                   "POSTCOPY_RUN or EOF",
                                   at);
            }
            return vs_mig_fail(errp, VS_MIG_ERROR_TRUNCATED,
                               "stream ends at offset 0x%zx before the EOF item", at);
        }
        switch (type) {
        case VS_MIG_SECTION_START:
        case VS_MIG_SECTION_FULL:
            if (!loadvm_start_full(lc, s, c, type, at, errp)) {
                return false;
            }
            break;
        case VS_MIG_SECTION_PART:
        case VS_MIG_SECTION_END:
            if (!loadvm_part_end(lc, s, c, type, at, errp)) {
                return false;
            }
            break;
        case VS_MIG_COMMAND:
            if (!loadvm_command(lc, s, c, at, in_package, &quit, errp)) {
                return false;
            }
            if (quit) {
                return true;
            }
            break;
        case VS_MIG_EOF:
            r = vs_stream_add_record(s);
            r->kind = VS_REC_EOF;
            r->offset = at;
            r->length = 1;
            *ret_eof = true;
            return true;
        default:
            return vs_mig_fail(errp, VS_MIG_ERROR_FORMAT,
                               "Unknown savevm section type %u (byte 0x%02x at offset 0x%zx)", type,
                               type, at);
        }
    }
}
