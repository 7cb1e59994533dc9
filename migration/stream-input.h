/*
 * stream-input.h: open any migration stream a tool is given — a path or
 * "-" — find out its form (QEMU's legacy bytes or vstate's BER), load it,
 * and summarise its RAM per block.
 *
 * SPDX-License-Identifier: MIT
 *
 * Theory of operation
 * ===================
 *
 * The input is never copied into the heap.  A regular file (also one given
 * as standard input by redirection) is mapped read-only; a pipe is spooled
 * to an unlinked temporary file, which is then mapped.  So RAM page
 * payloads, which the loaders reference rather than copy, stay in the page
 * cache, where the kernel may drop them.  A load that keeps the RAM page
 * records (needed to list or re-encode them) costs heap in proportion to
 * their number (about 64 bytes per page record), never to the bytes; with
 * stream_ram it keeps none, and its heap does not depend on the number of
 * pages at all: the summaries below are worked out as the pages go by.
 *
 * The form is told by the first bytes: "QEVM" (0x5145564d) is a legacy
 * stream, `30 80` (an indefinite-length SEQUENCE) vstate's BER form
 * (docs/ber-format.md, "Streams").  Anything else is refused with the bytes
 * that were found.
 *
 *     VsInput *in = NULL;
 *     VsInputOptions o = { .ram = VS_INPUT_RAM_SUMMARY };
 *
 *     if (!vs_input_open(ctx, "ran2s.bin", &in, errp)) ... cannot read, or not a stream
 *     ok = vs_input_load(in, &o, &err);
 *     ... in->stream holds what was decoded, also when !ok (legacy form) ...
 *     for (size_t i = 0; i < in->n_ram_blocks; i++) ... in->ram_blocks[i] ...
 *
 * RAM summaries follow the records in stream order, as a destination
 * applies them: a page sent twice counts twice in pages_sent and once in
 * pages_present; the digest is the SHA-256 of the block's whole content
 * after the last record (pages never sent count as zero bytes), the same
 * value `sha256sum` gives for the block's memory image.  It cannot be known
 * when an XBZRLE or compressed page is the last word on a page (it would
 * need the page before, or zlib); then has_digest is false.  Nor is it
 * computed for a block longer than VS_INPUT_DIGEST_MAX_BYTES (the length is
 * the stream's word, and hashing zero bytes up to a hostile length would
 * run for hours); then digest_too_large is set.
 *
 * Memory of the summaries: while a block's pages come in ascending offsets
 * (a stopped guest's precopy sends each page once, in order), counts and a
 * running SHA-256 only.  A block whose pages come out of order or more than
 * once (a running guest's later passes) is summarised after the load in
 * windows of 2^18 pages (1 GiB of 4 KiB pages), keeping the last record of
 * each page of the window (16 bytes a page: 4 MiB); each window is one more
 * pass over the page records (without stream_ram over the kept records,
 * with it by loading the input again).
 */
#ifndef VSTATE_MIGRATION_STREAM_INPUT_H
#define VSTATE_MIGRATION_STREAM_INPUT_H

#include "migration/ber-stream.h"
#include "migration/stream.h"

G_BEGIN_DECLS

typedef enum VsInputFormat {
    VS_INPUT_LEGACY,   /* QEMU's legacy byte stream */
    VS_INPUT_BER,      /* vstate's BER form */
} VsInputFormat;

/* "legacy" or "ber". */
const char *vs_input_format_name(VsInputFormat format);

/* What to work out about RAM. */
typedef enum VsInputRam {
    VS_INPUT_RAM_NONE,      /* page counts only; no digests */
    VS_INPUT_RAM_SUMMARY,   /* page counts and content digests */
} VsInputRam;

/* One RAM block as the stream leaves it. */
typedef struct VsInputRamBlock {
    char *name;                 /* as in MEM_SIZE */
    uint64_t length;            /* from MEM_SIZE */
    uint64_t pages_sent;        /* page records naming this block, repeats included */
    uint64_t pages_present;     /* distinct pages sent at least once */
    uint64_t data_pages;        /* RAM_SAVE_FLAG_PAGE records */
    uint64_t zero_pages;        /* RAM_SAVE_FLAG_ZERO records */
    uint64_t encoded_pages;     /* XBZRLE and COMPRESS_PAGE records */
    bool has_digest;
    bool digest_too_large;      /* length > VS_INPUT_DIGEST_MAX_BYTES: no digest */
    char digest[65];            /* SHA-256 of the content, lowercase hex */
} VsInputRamBlock;

/* Blocks up to this length get a digest (64 GiB: minutes of SHA-256). */
#define VS_INPUT_DIGEST_MAX_BYTES (UINT64_C(64) << 30)

/*
 * Progress of long work: @what names it ("reading standard input",
 * "digest of pc.ram"), @done of @total units (bytes).  Called at most a
 * few times a second's worth of work.
 */
typedef void (*VsInputProgress)(void *opaque, const char *what, uint64_t done,
                                uint64_t total);

typedef struct VsInputOptions {
    VsLoadOptions load;         /* passed to the loaders (max_input is ignored); a
                                 * load.ram_page callback sees every page record
                                 * and implies stream_ram */
    VsInputRam ram;
    bool stream_ram;            /* keep no RAM page records (bounded memory; see above) */
    VsInputProgress progress;   /* NULL: none */
    void *progress_opaque;
} VsInputOptions;

typedef struct VsInput {
    char *name;                 /* the path, or "standard input" */
    VsInputFormat format;
    const uint8_t *data;        /* the whole input (mapped); valid while the VsInput lives */
    size_t len;
    /* BER: the header's writer identity ("vstate 0.1.0"), else NULL. */
    char *writer;
    /* After vs_input_load(): */
    VsStream *stream;           /* NULL when nothing could be decoded */
    VsInputRamBlock *ram_blocks;
    size_t n_ram_blocks;
    /* BER: the header (writer, per-section schema digests compared with this
     * build's, must-understand marks); NULL for legacy input or when the
     * header did not load. */
    VsBerStreamInfo *ber_info;
    /* BER: the section a failed load stopped in (vs_input_failed_section()). */
    VsSection *ber_failed;
    /* Private. */
    VsLoadOptions load;         /* what the last load used */
    bool streamed;              /* it kept no RAM page records */
    void *map;
    size_t map_len;
} VsInput;

/*
 * vs_input_open: open @path ("-" for standard input), map it and tell its
 * form.
 * @mem_ctx: talloc parent; freeing the VsInput unmaps the input
 * @errp: VS_MIG_ERROR_IO when it cannot be opened or read,
 *   VS_MIG_ERROR_FORMAT when it is empty or neither form
 */
bool vs_input_open(TALLOC_CTX *mem_ctx, const char *path, VsInput **ret_input, GError **errp);

/* As vs_input_open(), reporting the spooling of a pipe to @opts->progress. */
bool vs_input_open_opts(TALLOC_CTX *mem_ctx, const char *path, const VsInputOptions *opts,
                        VsInput **ret_input, GError **errp);

/*
 * As vs_input_open() for bytes already in memory (borrowed: they must
 * outlive the VsInput); @name is used in messages.
 */
bool vs_input_open_memory(TALLOC_CTX *mem_ctx, const char *name, const uint8_t *data,
                          size_t len, VsInput **ret_input, GError **errp);

/*
 * vs_input_load: decode the stream into @in->stream (a talloc child of @in)
 * and summarise its RAM into @in->ram_blocks.
 * A stream that fails part-way leaves in @in->stream everything decoded
 * before the error (and the summaries of the RAM read so far); for BER
 * once its header was read.
 * Returns: true when the whole stream was decoded.
 */
bool vs_input_load(VsInput *in, const VsInputOptions *opts, GError **errp);

/*
 * The first bytes of the input after the last record that was decoded:
 * where a failed legacy load stopped, for messages.  0 when unknown.
 */
uint64_t vs_input_decoded_end(const VsInput *in);

/*
 * vs_input_failed_section: after a load that failed, the section record
 * it failed in (legacy: the one at vs_input_decoded_end()) read again as
 * far as it goes, for
 * showing what was decoded before the failure: its header in @ret_sec
 * (type, ids, idstr, version, wire name, decoded_by, body_offset), and the
 * fields decoded before the error in @ret_sec->state (NULL when there are
 * none, or for RAM and sections nothing can decode), a talloc child of
 * @mem_ctx.  The trailer, when the input still ends with one, supplies
 * descriptions as it did for the load.
 * Returns: false when the load did not stop at a section header of the
 * outer stream (a bad header, a command, a package).
 */
bool vs_input_failed_section(const VsInput *in, TALLOC_CTX *mem_ctx, VsSection *ret_sec);

G_END_DECLS

#endif /* VSTATE_MIGRATION_STREAM_INPUT_H */
