/*
 * stream.h: QEMU 7.2 migration streams as records and states.
 *
 * SPDX-License-Identifier: MIT
 *
 * Theory of operation
 * ===================
 *
 * vs_stream_load() reads a whole legacy migration stream (what QEMU writes
 * to a file with `migrate "exec:cat > f"`) into a VsStream: a list of
 * records in stream order — the configuration section, every section
 * (START/PART/END/FULL) with its header and footer, commands, EOF and the
 * JSON description trailer — plus, per device section, a typed state tree
 * (VsNode, visitor/pretty/state-tree.h), and per RAM section the page
 * records as they were sent.
 *
 * Device sections are decoded by the compiled walker registered for their
 * wire name (visitor/registry.h) when there is one, else from the stream's
 * own description trailer; the section records how (decoded_by).  A section
 * with neither stops the load with an error naming it, after everything
 * before it was decoded: the legacy format gives no way to skip it.
 *
 * The records keep everything needed to write the stream again:
 * vs_stream_encode() reproduces a loaded stream byte for byte (section ids
 * and order, footers, the RAM records including repeated pages and CONTINUE
 * across sections, buffers' stale bytes, the raw trailer).
 *
 * Errors are worded as QEMU 7.2 words them ("Unknown savevm section type
 * %d", "Missing section footer for %s", "Can't find block %s", ...)
 * followed by what vstate knows beyond QEMU: the field path, the stream
 * offset, what was read and what was expected.  Every error of a load is in
 * the VS_MIG_ERROR domain; a device body that fails to decode gives
 * VS_MIG_ERROR_DEVICE (VS_MIG_ERROR_TRUNCATED when it ran out of input)
 * with the visitor's message, path included, inside QEMU's "error while
 * loading state for instance 0x%x of device '%s': ..." sentence.
 * Truncated, corrupted and hostile input gives such an error; nothing read
 * from the stream is used as a size before it is checked against the bytes
 * that exist.
 *
 * What a file stream leaves open (is there a configuration section, are
 * there footers, which optional words follow a MEM_SIZE block) is decided
 * from the stream itself; docs/stream.md lists each decision.
 *
 *     VsStream *s = NULL;
 *     if (!vs_stream_load_file(ctx, "ran2s.bin", NULL, &s, errp)) {
 *         ... s may still hold the records decoded before the error ...
 *     }
 *     for (size_t i = 0; i < s->n_records; i++) {
 *         const VsRecord *r = &s->records[i];
 *         if (r->kind == VS_REC_SECTION && r->section.state) {
 *             vs_render_file(stdout, r->section.state, VS_RENDER_TRACE, NULL);
 *         }
 *     }
 */
#ifndef VSTATE_MIGRATION_STREAM_H
#define VSTATE_MIGRATION_STREAM_H

#include "migration/json.h"
#include "visitor/pretty/state-tree.h"
#include "visitor/qemufile/qemufile.h"

G_BEGIN_DECLS

#define VS_MIG_ERROR (vs_mig_error_quark())
GQuark vs_mig_error_quark(void);

typedef enum VsMigError {
    VS_MIG_ERROR_FORMAT,       /* not a stream, bad magic/version, unknown item type */
    VS_MIG_ERROR_TRUNCATED,    /* the stream ends inside an item */
    VS_MIG_ERROR_SECTION,      /* unknown section/instance, footer, version */
    VS_MIG_ERROR_UNDECODABLE,  /* a section with no schema and no description */
    VS_MIG_ERROR_DEVICE,       /* a device's state failed to load (see the message's path) */
    VS_MIG_ERROR_RAM,          /* RAM records: unknown block, size, flags, offsets */
    VS_MIG_ERROR_COMMAND,      /* a command with a bad number or length */
    VS_MIG_ERROR_LIMIT,        /* a size above what the options allow */
    VS_MIG_ERROR_IO,           /* the input cannot be read / the output cannot be written */
    VS_MIG_ERROR__MAX,
} VsMigError;

/* Item type bytes (qemu-stream-format.md §1.3). */
enum {
    VS_MIG_EOF = 0x00,
    VS_MIG_SECTION_START = 0x01,
    VS_MIG_SECTION_PART = 0x02,
    VS_MIG_SECTION_END = 0x03,
    VS_MIG_SECTION_FULL = 0x04,
    VS_MIG_SUBSECTION = 0x05,
    VS_MIG_VMDESCRIPTION = 0x06,
    VS_MIG_CONFIGURATION = 0x07,
    VS_MIG_COMMAND = 0x08,
    VS_MIG_SECTION_FOOTER = 0x7e,
};

#define VS_MIG_FILE_MAGIC 0x5145564du   /* "QEVM" */
#define VS_MIG_FILE_VERSION 3u

/* How a section's content was decoded (the names `vstate describe` prints). */
typedef enum VsDecodedBy {
    VS_DECODED_SCHEMA,       /* a compiled walker */
    VS_DECODED_DESCRIPTION,  /* the stream's own JSON description */
    VS_DECODED_RAM,          /* the RAM reader */
    VS_DECODED_OPAQUE,       /* kept as bytes */
    VS_DECODED__MAX,
} VsDecodedBy;

const char *vs_decoded_by_name(VsDecodedBy how);

/* RAM record flags (§3.1). */
enum {
    VS_RAM_FULL = 0x001,
    VS_RAM_ZERO = 0x002,
    VS_RAM_MEM_SIZE = 0x004,
    VS_RAM_PAGE = 0x008,
    VS_RAM_EOS = 0x010,
    VS_RAM_CONTINUE = 0x020,
    VS_RAM_XBZRLE = 0x040,
    VS_RAM_HOOK = 0x080,
    VS_RAM_COMPRESS_PAGE = 0x100,
};

/* One block of the MEM_SIZE record. */
typedef struct VsRamBlockInfo {
    char *name;               /* "pc.ram", "/rom@etc/acpi/tables", ... */
    uint64_t length;          /* used length in bytes */
    bool has_page_size;       /* postcopy hugepage blocks */
    uint64_t page_size;
    bool has_mr_addr;         /* x-ignore-shared */
    uint64_t mr_addr;
} VsRamBlockInfo;

/* One RAM record as sent. */
typedef struct VsRamRecord {
    uint64_t offset;          /* byte offset in the block (or MEM_SIZE's total) */
    uint32_t flags;           /* VS_RAM_* including CONTINUE */
    const char *block;        /* the block this record applies to (resolved even
                               * when CONTINUE left the name out) */
    uint8_t fill;             /* ZERO */
    const uint8_t *data;      /* PAGE: page_size bytes; XBZRLE/COMPRESS: payload */
    size_t len;               /* bytes at @data */
    uint8_t xbzrle_flag;      /* XBZRLE's encoding byte */
    VsRamBlockInfo *blocks;   /* MEM_SIZE: the block list */
    size_t n_blocks;
} VsRamRecord;

typedef struct VsSection {
    uint8_t type;             /* VS_MIG_SECTION_START/PART/END/FULL */
    uint32_t section_id;
    char *idstr;              /* for PART/END: the START's */
    uint32_t instance_id;
    uint32_t version_id;
    char *wire_name;          /* vmsd name: from the trailer, else idstr after the last '/' */
    bool has_footer;
    VsDecodedBy decoded_by;
    VsNode *state;            /* device sections: the decoded state */
    VsRamRecord *ram;         /* RAM sections: the records, EOS included */
    size_t n_ram;
    uint64_t body_offset;     /* where the section's body starts in the stream */
    uint64_t body_length;
} VsSection;

typedef struct VsCommand {
    uint16_t cmd;
    uint16_t len;
    uint8_t *payload;         /* @len bytes */
    struct VsStream *package; /* PACKAGED: the embedded stream's records */
    uint32_t package_len;
} VsCommand;

typedef enum VsRecordKind {
    VS_REC_CONFIG,
    VS_REC_SECTION,
    VS_REC_COMMAND,
    VS_REC_EOF,
    VS_REC_VMDESC,
    VS_REC__MAX,
} VsRecordKind;

typedef struct VsRecord {
    VsRecordKind kind;
    uint64_t offset;          /* first byte of the record in the stream */
    uint64_t length;          /* bytes, header and footer included */
    VsSection section;        /* VS_REC_SECTION */
    VsCommand command;        /* VS_REC_COMMAND */
    /* VS_REC_CONFIG: the machine type and the subsections' raw bytes */
    char *machine;
    uint8_t *config_rest;
    size_t config_rest_len;
} VsRecord;

typedef struct VsStream {
    uint32_t version;         /* file version (3); 0 for the package of a
                               * PACKAGED command, which has no header */
    VsRecord *records;        /* talloc array */
    size_t n_records;
    const char *machine;      /* from the configuration section, or NULL */
    uint8_t *vmdesc_raw;      /* the trailer's JSON bytes exactly, or NULL */
    size_t vmdesc_len;
    VsJson *vmdesc;           /* parsed trailer, or NULL */
    uint64_t page_size;       /* target page size (vmdesc page_size, else 4096) */
    VsRamBlockInfo *blocks;   /* from the MEM_SIZE record */
    size_t n_blocks;
    uint64_t trailing_len;    /* bytes after the trailer, or after a package's
                               * POSTCOPY_RUN (kept for re-encoding) */
    uint8_t *trailing;
} VsStream;

/*
 * VsRamPage: one RAM page record (ZERO, PAGE, XBZRLE or COMPRESS_PAGE) as
 * it is read, for a load that does not keep them (VsLoadOptions'
 * ram_page).  It and what it points to are valid during the call only.
 * @rec: the record; @rec->block is the resolved block name
 * @block: the block's MEM_SIZE entry (NULL when a BER stream names a
 *   block MEM_SIZE did not list)
 * @page_size: the stream's target page size
 * @input_offset: where the record starts in the input
 */
typedef struct VsRamPage {
    const VsRamRecord *rec;
    const VsRamBlockInfo *block;
    uint64_t page_size;
    uint64_t input_offset;
} VsRamPage;

typedef void (*VsRamPageFn)(void *opaque, const VsRamPage *page);

typedef struct VsLoadOptions {
    bool no_schemas;          /* decode device sections from the description only */
    bool no_description;      /* ignore the trailer (as old machine types send none) */
    size_t max_input;         /* largest input read (default 4 GiB) */
    size_t max_pages;         /* most RAM page records read (default: unlimited
                               * within the input) */
    /*
     * Streaming RAM: when set, page records are handed to @ram_page in
     * stream order and not kept, so a RAM section's records are only its
     * MEM_SIZE and EOS records and the load's heap does not grow with the
     * number of pages.  Such a stream cannot be re-encoded
     * (vs_stream_encode() would leave the pages out).
     */
    VsRamPageFn ram_page;
    void *ram_page_opaque;
} VsLoadOptions;

/*
 * vs_stream_load: parse @len bytes at @data.
 * @mem_ctx: talloc parent of the stream
 * @data: the stream; borrowed and referenced by RAM records: must outlive
 *   the VsStream
 * @opts: NULL for defaults
 * @ret_stream: set to the stream, also on failure (what was decoded before
 *   the error), unless the input is not a stream at all (then NULL)
 *
 * Returns: true when the whole stream was read.
 */
bool vs_stream_load(TALLOC_CTX *mem_ctx, const uint8_t *data, size_t len,
                    const VsLoadOptions *opts, VsStream **ret_stream, GError **errp);

/*
 * As vs_stream_load(), reading @path ("-" for standard input) into memory
 * first: at most @opts->max_input bytes (VS_MIG_ERROR_LIMIT beyond), the
 * buffer a talloc child of the stream.  VS_MIG_ERROR_IO when the input
 * cannot be read.
 */
bool vs_stream_load_file(TALLOC_CTX *mem_ctx, const char *path, const VsLoadOptions *opts,
                         VsStream **ret_stream, GError **errp);

/*
 * vs_stream_encode: write @s as a legacy stream: header, then every record
 * in order.  Device bodies are written by walking their state tree into the
 * legacy SAVE visitor (vs_node_walk()), RAM bodies from their records, a
 * package by encoding it.  For a loaded stream the bytes equal the input
 * (for sections decoded by a compiled walker: when the walker's load kept
 * every value as it was sent).
 * @errp: VS_MIG_ERROR_UNDECODABLE for a device section without a state,
 *   VS_MIG_ERROR_DEVICE when walking a state fails, VS_MIG_ERROR_IO when
 *   @out fails
 */
bool vs_stream_encode(const VsStream *s, VsQemuFile *out, GError **errp);

/* The first section record with this idstr and instance, or NULL. */
VsSection *vs_stream_find_section(VsStream *s, const char *idstr, uint32_t instance_id);

G_END_DECLS

#endif /* VSTATE_MIGRATION_STREAM_H */
