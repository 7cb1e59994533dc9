/*
 * legacy-visitor.h: visitors for QEMU's legacy (vmstate) byte format.
 *
 * SPDX-License-Identifier: MIT
 *
 * The SAVE visitor writes exactly the bytes QEMU 7.2's vmstate code writes
 * for the same field declarations; the LOAD visitor reads them back, checking
 * every length against the bytes that are left before using it.  Names,
 * types and struct versions are not on the wire: the walker supplies them.
 *
 * Wire forms (all integers big-endian): integers in their width; bool as one
 * byte (load: non-zero is true); f64 as its IEEE bit pattern in 8 bytes;
 * buffers and opaque payloads raw; strings as u8 length + bytes; unused
 * bytes as zeros; a NULL element of an array of pointers as the byte 0x30;
 * structs and arrays add nothing; a list (QTAILQ, QLIST, GTree) is each
 * element preceded by the byte 0x01, then the byte 0x00 (no count of its
 * own; load: any other marker byte is a mismatch); a subsection is 0x05, u8
 * name length, name, be32 version, then its members.
 *
 * Supported subset: everything in visitor.h.  Subsections are found in the
 * order the walker declares them (QEMU writes them in that order); a
 * subsection of this struct that the walker does not declare fails the load
 * in vs_visit_check_struct(), as in QEMU.
 */
#ifndef VSTATE_LEGACY_VISITOR_H
#define VSTATE_LEGACY_VISITOR_H

#include "visitor/visitor.h"
#include "visitor/qemufile/qemufile.h"

G_BEGIN_DECLS

/* QEMU's marker byte for a NULL element of an array of pointers. */
#define VS_LEGACY_NULLPTR_MARKER 0x30
/* The byte that introduces a subsection. */
#define VS_LEGACY_SUBSECTION 0x05
/* The bytes before each list element and after the last one. */
#define VS_LEGACY_LIST_MORE 0x01
#define VS_LEGACY_LIST_END 0x00

/*
 * vs_legacy_save_visitor_new:
 * @mem_ctx: talloc parent of the visitor
 * @f: the channel written to; borrowed, must outlive the visitor
 *
 * vs_visitor_complete() flushes nothing: the caller owns @f.
 * Returns: the new visitor; never NULL.
 */
VsVisitor *vs_legacy_save_visitor_new(TALLOC_CTX *mem_ctx, VsQemuFile *f);

/*
 * vs_legacy_load_visitor_new:
 * @mem_ctx: talloc parent of the visitor
 * @f: the channel read from; borrowed, must outlive the visitor
 * @result_ctx: parent of strings and opaque payloads the load allocates;
 *   NULL means the visitor
 *
 * Returns: the new visitor; never NULL.
 */
VsVisitor *vs_legacy_load_visitor_new(TALLOC_CTX *mem_ctx, VsQemuFile *f,
                                      TALLOC_CTX *result_ctx);

G_END_DECLS

#endif /* VSTATE_LEGACY_VISITOR_H */
