/*
 * ber-live.h: vstate's BER stream form as a live migration stream, written
 * by the source thread as the rounds go and read by the destination as the
 * bytes arrive.
 *
 * SPDX-License-Identifier: MIT
 *
 * Theory of operation
 * ===================
 *
 * The bytes are a stream in the BER form of docs/ber-format.md ("Streams"),
 * so a live migration captured to a file is read by every stream tool
 * (`vstate dump`, `describe`, `convert`), and written so that neither end
 * ever holds more than one device state or one RAM record:
 *
 *     30 80                            the stream, indefinite length
 *     [16] header                      writer, machine, page size, and a
 *                                      schema digest per device section
 *     [17] configuration               the machine type
 *     [18] 80 ... 00 00   START(ram)   RAM sections: indefinite lengths, so
 *     [18] 80 ... 00 00   PART(ram)    each round's records go out as the
 *     ...                              pages are read (section, its
 *     [18] 80 ... 00 00   END(ram)     SEQUENCE, [19] and its SEQUENCE open
 *                                      with 80 and close with 00 00)
 *     [18] FULL(device)                device sections, definite lengths:
 *     ...                              the BER save visitor's state
 *     [21] EOF  [22] trailer  00 00
 *
 * Every RAM record is definite (`SEQUENCE { offset, flags, block, payload }`,
 * the block named in every page record, CONTINUE set as QEMU sets it), so a
 * PAGE's 4096 bytes are read from the channel straight into guest memory.
 *
 * Both ends choose the form (the x-vstate-ber capability).  A destination
 * expecting BER that receives QEMU's "QEVM", or one expecting legacy that
 * receives `30 80`, fails at the first bytes saying which form came and
 * which was expected (vs_ber_live_mismatch()).
 *
 * The destination loads what arrives, bounded: the header before anything
 * else (a device section the header lists but this VM lacks fails the
 * migration before any RAM moved), RAM records into the blocks with the
 * receiver's checks and QEMU's words, device states through the
 * registered device's walker with the BER load visitor (strict: a
 * completed load means the device holds exactly what was sent).  Errors
 * name the record index and stream offset, and for a device the field
 * path, as the legacy loader does.
 *
 *     VsBerLiveOut *o = vs_ber_live_out_new(ctx, devices);
 *     vs_ram_sender_set_writer(rs, vs_ber_live_ram_writer(o));
 *     vs_ber_live_put_header(o, f);
 *     vs_ber_live_open_section(o, f, VS_MIG_SECTION_START, id);
 *     vs_ram_sender_setup(rs, f, errp);
 *     vs_ber_live_close_section(o, f);
 *     ... PART and END likewise ...
 *     vs_ber_live_put_devices(o, f, ctx, &legacy, &legacy_len, errp);
 */
#ifndef VSTATE_MIGRATION_BER_LIVE_H
#define VSTATE_MIGRATION_BER_LIVE_H

#include "migration/json.h"
#include "migration/ram.h"
#include "migration/savevm.h"

G_BEGIN_DECLS

/* ---- source ------------------------------------------------------------------ */

typedef struct VsBerLiveOut VsBerLiveOut;

/* vs_ber_live_out_new: a writer for @devices (borrowed). */
VsBerLiveOut *vs_ber_live_out_new(TALLOC_CTX *mem_ctx, const VsSaveState *devices);

/* The RAM record writer for vs_ram_sender_set_writer(); owned by @o. */
const VsRamRecordWriter *vs_ber_live_ram_writer(VsBerLiveOut *o);

/* `30 80`, the header listing every device section, the configuration. */
void vs_ber_live_put_header(VsBerLiveOut *o, VsQemuFile *f);

/* Opens the RAM section record of @type (START, PART or END) for "ram". */
void vs_ber_live_open_section(VsBerLiveOut *o, VsQemuFile *f, uint8_t type,
                              uint32_t section_id);
/* Closes it: the end-of-contents of its four indefinite containers. */
void vs_ber_live_close_section(VsBerLiveOut *o, VsQemuFile *f);

/*
 * vs_ber_live_put_devices: every device's FULL section, EOF, the trailer
 * and the end of the stream; flushes @f.  Each device is walked once,
 * into its BER state and its legacy bytes: *@ret_legacy (under @mem_ctx)
 * is the same sections in QEMU's form, followed by EOF and the vmdesc
 * trailer, as vs_savevm_write_devices() writes them.
 * @errp: the device's error (VS_SAVEVM_ERROR_DEVICE with the field path)
 *   or the channel's
 */
bool vs_ber_live_put_devices(VsBerLiveOut *o, VsQemuFile *f, TALLOC_CTX *mem_ctx,
                             uint8_t **ret_legacy, size_t *ret_len, GError **errp);

/* ---- destination ------------------------------------------------------------- */

/*
 * VsBerLiveSink: where the destination puts what it loads.
 * @devices: the devices sections load into, by (idstr, instance)
 * @rr: RAM records go to its blocks; its counters count them
 * @received: each device body re-encoded in QEMU's form as loaded
 * @sections: the same framed as FULL sections, for a stream of them
 * @descs: their vmdesc entries, a JSON array
 */
typedef struct VsBerLiveSink {
    VsSaveState *devices;
    VsRamReceiver *rr;
    VsQemuFile *received;
    VsQemuFile *sections;
    VsJson *descs;
} VsBerLiveSink;

/*
 * vs_ber_live_load: read a whole live BER stream from @f into @sink.
 * @errp: VS_MIGRATE_ERROR_STREAM naming the record, its offset and, for a
 *   device, the field path; or the channel's own error (the source went
 *   away: "unexpected end of stream at offset ...") within such a message
 * Returns: true once the stream's end was read.
 */
bool vs_ber_live_load(VsQemuFile *f, const VsBerLiveSink *sink, GError **errp);

/*
 * vs_ber_live_mismatch: for a destination expecting the legacy form, a
 * message when the stream's first 4 bytes @magic (big-endian) are the BER
 * form's; NULL when they are not.  g_free() it.
 */
char *vs_ber_live_mismatch(uint32_t magic);

G_END_DECLS

#endif /* VSTATE_MIGRATION_BER_LIVE_H */
