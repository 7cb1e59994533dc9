/*
 * stream-internal.h: what the parts of the stream loader share (not
 * installed).
 *
 * SPDX-License-Identifier: MIT
 *
 * The loader is split by concern:
 *   stream.c        entry points, the header, locating and indexing the
 *                   description trailer, EOF and what follows it
 *   loadvm.c        the item loop: configuration, section headers and
 *                   footers, commands (PACKAGED recursively), device bodies
 *   ram-records.c   the RAM section's records, both directions
 *   desc-walk.c     decoding a device body from the stream's description
 *   stream-encode.c vs_stream_encode()
 *
 * The whole input is in memory.  A VsCursor reads it with explicit bounds:
 * every read checks the bytes left before it happens, and positions are
 * absolute offsets into the input, so error messages name real offsets
 * also inside a PACKAGED command.
 */
#ifndef VSTATE_STREAM_INTERNAL_H
#define VSTATE_STREAM_INTERNAL_H

#include "migration/stream.h"
#include "visitor/visitor.h"

G_BEGIN_DECLS

/* A bounded reader over the input: [pos, end) is what this (sub)stream may read. */
typedef struct VsCursor {
    const uint8_t *data;
    size_t pos;
    size_t end;
} VsCursor;

static inline size_t vs_cursor_left(const VsCursor *c)
{
    return c->end - c->pos;
}

/* A section id bound by START/FULL, for PART/END and footers. */
typedef struct VsSectionBinding {
    uint32_t section_id;
    char *idstr;
    uint32_t instance_id;
    uint32_t version_id;
    char *wire_name;
} VsSectionBinding;

/* Whether sections carry footers; decided as described in loadvm.c. */
typedef enum VsFooterMode {
    VS_FOOTERS_DETECT,
    VS_FOOTERS_ON,
} VsFooterMode;

/* State of one load, shared by the outer stream and its packages. */
typedef struct VsLoadCtx {
    const uint8_t *data;
    size_t len;
    VsLoadOptions opts;
    TALLOC_CTX *scratch;            /* freed when the load ends */
    VsStream *top;                  /* the outer stream (RAM block list) */
    /* The description trailer. */
    const VsJson *vmdesc;           /* NULL when absent, unusable or ignored */
    char *vmdesc_problem;           /* why it is unusable, for error messages */
    GHashTable *desc_by_key;        /* "idstr\037instance" -> device object */
    /* Sections. */
    GHashTable *sections;           /* section id -> VsSectionBinding */
    VsFooterMode footers;
    /* Configuration facts the RAM records depend on. */
    bool ignore_shared;             /* x-ignore-shared: MEM_SIZE carries mr_addr */
    bool postcopy_advised;          /* POSTCOPY_ADVISE with its 16-byte payload */
    uint64_t pagesize_summary;      /* from that payload */
    unsigned postcopy_state;        /* QEMU's PostcopyState numbering (NONE = 0) */
    bool page_size_from_config;     /* target-page-bits fixed page_size */
    /* RAM. */
    uint64_t page_size;
    GHashTable *blocks;             /* name -> VsRamBlockInfo (the last MEM_SIZE) */
    const VsRamBlockInfo *last_block; /* for CONTINUE; kept across sections */
    size_t n_pages;                 /* page records so far, for opts.max_pages */
    /* Bounds. */
    unsigned package_depth;
    uint64_t desc_budget;           /* description-walk elements left */
} VsLoadCtx;

/* Errors in the VS_MIG_ERROR domain. */
bool vs_mig_fail(GError **errp, VsMigError code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
/* A truncation at @at: "stream ends after k of n bytes" with the offset. */
bool vs_mig_fail_short(GError **errp, const VsCursor *c, size_t want, const char *what);

/* Reading with bounds; false when fewer bytes are left (nothing consumed). */
bool vs_cursor_u8(VsCursor *c, uint8_t *ret);
bool vs_cursor_be16(VsCursor *c, uint16_t *ret);
bool vs_cursor_be32(VsCursor *c, uint32_t *ret);
bool vs_cursor_be64(VsCursor *c, uint64_t *ret);
/* @len bytes: *@ret points into the input. */
bool vs_cursor_bytes(VsCursor *c, size_t len, const uint8_t **ret);
/* Peek without consuming; false when the input has no such bytes. */
bool vs_cursor_peek_u8(const VsCursor *c, size_t ahead, uint8_t *ret);
bool vs_cursor_peek_be64(const VsCursor *c, size_t ahead, uint64_t *ret);

/*
 * A copy of @len bytes with a NUL after them, so that an empty copy is not
 * NULL; a talloc child of @ctx.
 */
uint8_t *vs_mig_memdup(TALLOC_CTX *ctx, const uint8_t *p, size_t len);

/* Appends a zeroed record to @s (the array grows as needed). */
VsRecord *vs_stream_add_record(VsStream *s);
/* Gives back the slack of @s's record array once it is complete. */
void vs_stream_shrink(VsStream *s);

/*
 * vs_loadvm_items: the item loop (QEMU's qemu_loadvm_state_main) over @c
 * into @s.  A package ends at POSTCOPY_RUN or EOF; the outer stream at EOF.
 * @ret_eof: set when an EOF item ended the loop.
 */
bool vs_loadvm_items(VsLoadCtx *lc, VsStream *s, VsCursor *c, bool in_package, bool *ret_eof,
                     GError **errp);

/* The configuration section (the 0x07 byte is next). */
bool vs_loadvm_config(VsLoadCtx *lc, VsStream *s, VsCursor *c, GError **errp);

/*
 * vs_ram_load_section: the records of one RAM section body into @sec.
 * Errors are worded as QEMU's RAM loader words them, without the section
 * prefix (the caller adds "error while loading state ...").
 */
bool vs_ram_load_section(VsLoadCtx *lc, VsSection *sec, TALLOC_CTX *rec_ctx, VsCursor *c,
                         GError **errp);

/* Writes @sec's RAM records as QEMU's RAM saver does. */
void vs_ram_encode_section(const VsSection *sec, VsQemuFile *out);

/*
 * vs_desc_walk: drive @v over one device body described by @device (a
 * vmdesc device object).  @f is the reader under @v, for peeking (bools,
 * null markers) and for the bytes left.  @budget bounds the elements the
 * walk may create (decremented).  Errors are visitor errors with a path.
 */
bool vs_desc_walk(VsVisitor *v, VsQemuFile *f, uint64_t end, const VsJson *device,
                  const char *name, uint32_t version, uint64_t *budget, GError **errp);

/* The description of (idstr, instance), or NULL. */
const VsJson *vs_load_desc_lookup(VsLoadCtx *lc, const char *idstr, uint32_t instance_id);

G_END_DECLS

#endif /* VSTATE_STREAM_INTERNAL_H */
