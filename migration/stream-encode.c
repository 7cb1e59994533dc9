/*
 * stream-encode.c: vs_stream_encode(), a VsStream written back as a legacy
 * migration stream.
 *
 * SPDX-License-Identifier: MIT
 *
 * Everything is written from the records, never copied from the input:
 * section headers from their fields, device bodies by walking their state
 * tree into the legacy SAVE visitor (vs_node_walk()), RAM bodies from
 * their records, a PACKAGED command's package by encoding the embedded
 * stream (its length word is the encoded length).  Raw bytes are kept only
 * where the format has no structure vstate decodes: the configuration's
 * subsections, command payloads, the JSON trailer and bytes after it.
 */
#include "migration/stream-internal.h"

#include "visitor/pretty/tree-walk.h"
#include "visitor/qemufile/legacy-visitor.h"

#include <inttypes.h>
#include <string.h>

static bool encode_records(const VsStream *s, VsQemuFile *out, GError **errp);

static bool encode_device_body(const VsSection *sec, VsQemuFile *out, GError **errp)
{
    g_autoptr(GError) local = NULL;
    VsVisitor *save;
    bool ok;

    if (!sec->state) {
        return vs_mig_fail(errp, VS_MIG_ERROR_UNDECODABLE,
                           "section '%s' (instance %" PRIu32 ", id %" PRIu32 ") has no state to "
                           "encode",
                           sec->idstr, sec->instance_id, sec->section_id);
    }
    save = vs_legacy_save_visitor_new(NULL, out);
    ok = vs_node_walk(sec->state, save, &local) && vs_visitor_complete(save, &local);
    vs_visitor_free(save);
    if (!ok) {
        return vs_mig_fail(errp, VS_MIG_ERROR_DEVICE,
                           "cannot encode section '%s' (instance %" PRIu32 ", id %" PRIu32 "): %s",
                           sec->idstr, sec->instance_id, sec->section_id, local->message);
    }
    return true;
}

static bool encode_section(const VsSection *sec, VsQemuFile *out, GError **errp)
{
    vs_qemufile_put_byte(out, sec->type);
    vs_qemufile_put_be32(out, sec->section_id);
    if (sec->type == VS_MIG_SECTION_START || sec->type == VS_MIG_SECTION_FULL) {
        vs_qemufile_put_cstr8(out, sec->idstr);
        vs_qemufile_put_be32(out, sec->instance_id);
        vs_qemufile_put_be32(out, sec->version_id);
    }
    if (sec->decoded_by == VS_DECODED_RAM) {
        vs_ram_encode_section(sec, out);
    } else if (!encode_device_body(sec, out, errp)) {
        return false;
    }
    if (sec->has_footer) {
        vs_qemufile_put_byte(out, VS_MIG_SECTION_FOOTER);
        vs_qemufile_put_be32(out, sec->section_id);
    }
    return true;
}

/* A package is encoded first: its length goes before it. */
static bool encode_package(const VsCommand *cmd, VsQemuFile *out, GError **errp)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    VsQemuFile *mem = vs_qemufile_new_memory_writer(tmp);
    const uint8_t *bytes;
    size_t len = 0;
    bool ok;

    ok = encode_records(cmd->package, mem, errp);
    bytes = vs_qemufile_memory_data(mem, &len);
    if (ok && (!bytes || len > UINT32_MAX)) {
        ok = vs_mig_fail(errp, VS_MIG_ERROR_LIMIT,
                         "the package of a PACKAGED command does not fit in 4 GiB");
    }
    if (ok) {
        vs_qemufile_put_byte(out, VS_MIG_COMMAND);
        vs_qemufile_put_be16(out, cmd->cmd);
        vs_qemufile_put_be16(out, 4);
        vs_qemufile_put_be32(out, (uint32_t)len);
        vs_qemufile_put_buffer(out, bytes, len);
    }
    talloc_free(tmp);
    return ok;
}

static bool encode_command(const VsCommand *cmd, VsQemuFile *out, GError **errp)
{
    if (cmd->package) {
        return encode_package(cmd, out, errp);
    }
    vs_qemufile_put_byte(out, VS_MIG_COMMAND);
    vs_qemufile_put_be16(out, cmd->cmd);
    vs_qemufile_put_be16(out, cmd->len);
    vs_qemufile_put_buffer(out, cmd->payload, cmd->len);
    return true;
}

static bool encode_record(const VsStream *s, const VsRecord *r, VsQemuFile *out, GError **errp)
{
    switch (r->kind) {
    case VS_REC_CONFIG:
        vs_qemufile_put_byte(out, VS_MIG_CONFIGURATION);
        vs_qemufile_put_be32(out, (uint32_t)strlen(r->machine));
        vs_qemufile_put_buffer(out, (const uint8_t *)r->machine, strlen(r->machine));
        vs_qemufile_put_buffer(out, r->config_rest, r->config_rest_len);
        return true;
    case VS_REC_SECTION:
        return encode_section(&r->section, out, errp);
    case VS_REC_COMMAND:
        return encode_command(&r->command, out, errp);
    case VS_REC_EOF:
        vs_qemufile_put_byte(out, VS_MIG_EOF);
        return true;
    case VS_REC_VMDESC:
        vs_qemufile_put_byte(out, VS_MIG_VMDESCRIPTION);
        vs_qemufile_put_be32(out, (uint32_t)s->vmdesc_len);
        vs_qemufile_put_buffer(out, s->vmdesc_raw, s->vmdesc_len);
        return true;
    default:
        return vs_mig_fail(errp, VS_MIG_ERROR_FORMAT, "record of unknown kind %d", r->kind);
    }
}

/* The records and the trailing bytes (no header: packages have none). */
static bool encode_records(const VsStream *s, VsQemuFile *out, GError **errp)
{
    for (size_t i = 0; i < s->n_records; i++) {
        if (!encode_record(s, &s->records[i], out, errp)) {
            return false;
        }
    }
    if (s->trailing_len) {
        vs_qemufile_put_buffer(out, s->trailing, s->trailing_len);
    }
    return true;
}

bool vs_stream_encode(const VsStream *s, VsQemuFile *out, GError **errp)
{
    const GError *cause;

    if (s->version) {
        vs_qemufile_put_be32(out, VS_MIG_FILE_MAGIC);
        vs_qemufile_put_be32(out, s->version);
    }
    if (!encode_records(s, out, errp)) {
        return false;
    }
    cause = vs_qemufile_error(out);
    if (cause) {
        return vs_mig_fail(errp, VS_MIG_ERROR_IO, "writing the stream failed: %s",
                           cause->message);
    }
    return true;
}
