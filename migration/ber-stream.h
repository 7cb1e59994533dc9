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

G_BEGIN_DECLS

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

G_END_DECLS

#endif /* VSTATE_MIGRATION_BER_STREAM_H */
