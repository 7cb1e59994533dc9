/*
 * ber-stream.h: a whole migration stream in vstate's BER form.
 *
 * SPDX-License-Identifier: MIT
 *
 * Theory of operation
 * ===================
 *
 * docs/ber-format.md ("Streams") specifies the form: one indefinite-length
 * SEQUENCE holding a header and one TLV per legacy record, in stream order.
 * It keeps QEMU's record layer (section ids, types and footers, the RAM
 * records as sent with CONTINUE, XBZRLE and COMPRESS payloads, commands
 * and packages, the trailer and trailing bytes) while device states are
 * written as self-describing BER values (vs_node_walk() into the BER save
 * visitor).  So a loaded legacy stream converts to BER and back byte for
 * byte:
 *
 *     GByteArray *ber = g_byte_array_new();
 *     VsStream *copy = NULL;
 *
 *     if (vs_stream_encode_ber(s, ber, errp) &&
 *         vs_stream_load_ber(ctx, ber->data, ber->len, &copy, errp)) {
 *         ... vs_stream_encode(copy, f, errp) writes the legacy bytes ...
 *     }
 *
 * A stream loaded from BER has no legacy offsets (records' offset and
 * length, sections' body_offset and body_length are 0), its device sections
 * are marked VS_DECODED_DESCRIPTION (the BER carries their description)
 * with the root struct's wire name, and its trailer is parsed as the
 * legacy loader parses it, best effort.
 */
#ifndef VSTATE_MIGRATION_BER_STREAM_H
#define VSTATE_MIGRATION_BER_STREAM_H

#include "migration/stream.h"
#include "visitor/ber/ber-visitor.h"

G_BEGIN_DECLS

/*
 * VsBerEncodeOptions: choices of a BER stream writer.
 * @must_understand: idstrs of the sections to mark must-understand in the
 *   header (NULL-terminated; NULL for none): a reader with no schema for
 *   such a section refuses the stream instead of skipping it
 */
typedef struct VsBerEncodeOptions {
    const char *const *must_understand;
} VsBerEncodeOptions;

/* How a section's schema digest compares with this build's schema. */
typedef enum VsBerSchemaMatch {
    VS_BER_SCHEMA_SAME,       /* equal digests */
    VS_BER_SCHEMA_DIFFERS,    /* different digests: the field checks decide */
    VS_BER_SCHEMA_NO_DIGEST,  /* the writer had no schema; this build has one */
    VS_BER_SCHEMA_UNKNOWN,    /* this build has no schema for the wire name */
} VsBerSchemaMatch;

/*
 * VsBerSectionSchema: one entry of the header's schema list.
 * @idstr, @instance_id, @wire_name: the section
 * @has_digest, @digest: the SHA-256 of the writer's schema for the wire
 *   name (vs_ber_schema_digest()); absent when the writer had none
 * @must_understand: the writer's mark
 * @match: the digest against this build's registry, found on load
 */
typedef struct VsBerSectionSchema {
    char *idstr;
    uint32_t instance_id;
    char *wire_name;
    bool has_digest;
    uint8_t digest[VS_BER_DIGEST_LEN];
    bool must_understand;
    VsBerSchemaMatch match;
} VsBerSectionSchema;

/* VsBerStreamInfo: the header of a BER stream: writer identity and schemas. */
typedef struct VsBerStreamInfo {
    char *writer;             /* the writer's vstate version */
    uint32_t file_version;
    char *machine;            /* "" when none */
    uint64_t page_size;
    VsBerSectionSchema *sections;
    size_t n_sections;
} VsBerStreamInfo;

/*
 * vs_stream_encode_ber: append @s in BER form to @out.
 * @s: a stream (vs_stream_load() or vs_stream_load_ber()); borrowed
 * @out: the buffer appended to; on failure it may hold a partial stream
 * @errp: VS_MIG_ERROR_UNDECODABLE for a device section without a state,
 *   VS_MIG_ERROR_DEVICE when walking a state fails, VS_MIG_ERROR_FORMAT for
 *   a record of unknown kind; messages name the record index
 * Returns: true on success.
 */
bool vs_stream_encode_ber(const VsStream *s, GByteArray *out, GError **errp);

/*
 * vs_stream_load_ber: read a stream in BER form.
 * @mem_ctx: talloc parent of the stream
 * @data, @len: the BER bytes; borrowed and referenced by RAM records: must
 *   outlive the VsStream
 * @ret_stream: set to the stream on success, to NULL on failure (nothing
 *   is left allocated)
 * @errp: VS_MIG_ERROR_TRUNCATED when the input ends inside an element,
 *   VS_MIG_ERROR_FORMAT for a malformed or unexpected element or a value
 *   beyond its legacy field, VS_MIG_ERROR_DEVICE for a state that does not
 *   decode, VS_MIG_ERROR_LIMIT for packages nested too deep; messages name
 *   the record index and the byte offset
 * Returns: true when the whole input was one stream.
 */
bool vs_stream_load_ber(TALLOC_CTX *mem_ctx, const uint8_t *data, size_t len,
                        VsStream **ret_stream, GError **errp);

/*
 * vs_stream_encode_ber_opts: vs_stream_encode_ber() with @opts (NULL for
 * the defaults, which vs_stream_encode_ber() uses).
 */
bool vs_stream_encode_ber_opts(const VsStream *s, GByteArray *out,
                               const VsBerEncodeOptions *opts, GError **errp);

/*
 * vs_stream_load_ber_info: vs_stream_load_ber(), also returning the
 * header in *@ret_info (a talloc child of @mem_ctx; NULL on failure), each
 * section's schema digest compared with this build's registry.  A digest
 * that differs does not fail the load: device states are self-describing,
 * and whatever loads them checks every field (vs_ber_stream_check() lists
 * the differences).
 */
bool vs_stream_load_ber_info(TALLOC_CTX *mem_ctx, const uint8_t *data, size_t len,
                             VsStream **ret_stream, VsBerStreamInfo **ret_info,
                             GError **errp);

/*
 * vs_stream_load_ber_opts: vs_stream_load_ber_info() with the options of
 * vs_stream_load() that apply to BER (@opts->ram_page streams the RAM page
 * records instead of keeping them; NULL @opts: keep them), and partial
 * results, as the legacy loader gives them, when the load fails:
 * @ret_stream: the stream, also on failure once the header was read: the
 *   records before the one that failed
 * @ret_info: the header (may be NULL)
 * @ret_failed: when the load failed in a section record of the outer
 *   stream, that section read again as far as it goes (a talloc child of
 *   the stream): its header and, for a device, the fields decoded before
 *   the failure in @state (NULL when none); else NULL.  May be NULL.
 * @errp: as vs_stream_load_ber(), the message then also naming the
 *   section and the field path where they are known
 */
bool vs_stream_load_ber_opts(TALLOC_CTX *mem_ctx, const uint8_t *data, size_t len,
                             const VsLoadOptions *opts, VsStream **ret_stream,
                             VsBerStreamInfo **ret_info, VsSection **ret_failed,
                             GError **errp);

/*
 * vs_ber_stream_check: what a loader that restores sections into this
 * build's devices makes of @info's schema list.  Sections whose digests
 * differ, or come without one, are noted (the field-level checks of the
 * BER load visitor decide); a section with no schema here fails a strict
 * check (VS_MIG_ERROR_SECTION), and a lenient one notes it as skipped
 * unless the writer marked it must-understand (then it fails too).
 * @notes: receives one g_malloc()ed line per note; may be NULL
 * Returns: true when the stream may be loaded under @policy.
 */
bool vs_ber_stream_check(const VsBerStreamInfo *info, VsBerPolicy policy, GPtrArray *notes,
                         GError **errp);

/*
 * vs_ber_stream_info_render: @info as text, one line per item: the writer
 * identity, then per section its digest in hex (`sha256:...`), how it
 * compares with this build's, and its must-understand mark.
 */
void vs_ber_stream_info_render(const VsBerStreamInfo *info, GString *out);

G_END_DECLS

#endif /* VSTATE_MIGRATION_BER_STREAM_H */
