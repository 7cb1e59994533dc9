/*
 * qemufile.h: a buffered byte channel in the manner of QEMU's QEMUFile.
 *
 * SPDX-License-Identifier: MIT
 *
 * A VsQemuFile moves bytes in one direction (read or write) over a backend:
 * a file descriptor, a file path, a socket or a memory buffer.  All
 * multi-byte integers are big-endian, as in QEMU's migration stream.
 *
 * Errors are sticky: the first failure (I/O error, end of stream, rate hook
 * refusal) is kept; afterwards every put is ignored and every get returns 0,
 * so leaf code stays simple and checks vs_qemufile_failed() once.  A short
 * read sets VS_QEMUFILE_ERROR_EOF.
 *
 * Example:
 *
 *     VsQemuFile *f = vs_qemufile_new_memory_writer(ctx);
 *     vs_qemufile_put_be32(f, 0x5145564d);
 *     vs_qemufile_put_be32(f, 3);
 *     if (!vs_qemufile_flush(f, errp)) ...
 *     size_t len;
 *     const uint8_t *bytes = vs_qemufile_memory_data(f, &len);
 */
#ifndef VSTATE_QEMUFILE_H
#define VSTATE_QEMUFILE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <talloc.h>

G_BEGIN_DECLS

#define VS_QEMUFILE_ERROR (vs_qemufile_error_quark())
GQuark vs_qemufile_error_quark(void);

typedef enum VsQemuFileError {
    VS_QEMUFILE_ERROR_EOF,       /* read past the end of the stream */
    VS_QEMUFILE_ERROR_IO,        /* the backend failed (message carries strerror) */
    VS_QEMUFILE_ERROR_RATE,      /* the rate hook refused to go on */
    VS_QEMUFILE_ERROR_MODE,      /* read on a writer or write on a reader */
    VS_QEMUFILE_ERROR__MAX,
} VsQemuFileError;

typedef enum VsQemuFileMode {
    VS_QEMUFILE_READ,
    VS_QEMUFILE_WRITE,
} VsQemuFileMode;

typedef struct VsQemuFile VsQemuFile;

/* Largest lookahead vs_qemufile_peek() can give (QEMU's own buffer size). */
#define VS_QEMUFILE_BUF_SIZE 32768

/*
 * Constructors.  Each returns a talloc child of @mem_ctx; free it with
 * vs_qemufile_free() (which does not flush: call vs_qemufile_close() or
 * vs_qemufile_flush() first to see write errors).
 */

/* Over an open descriptor; it is closed on free when @close_on_free. */
VsQemuFile *vs_qemufile_new_fd(TALLOC_CTX *mem_ctx, int fd, VsQemuFileMode mode,
                               bool close_on_free);
/* Over a connected stream socket (send/recv, no SIGPIPE); closed on free when
 * @close_on_free. */
VsQemuFile *vs_qemufile_new_socket(TALLOC_CTX *mem_ctx, int sockfd, VsQemuFileMode mode,
                                   bool close_on_free);
/* Opens @path for reading, or creates/truncates it for writing.  NULL on failure. */
VsQemuFile *vs_qemufile_open_path(TALLOC_CTX *mem_ctx, const char *path,
                                  VsQemuFileMode mode, GError **errp);
/* Reads @len bytes at @data; borrowed, must outlive the file. */
VsQemuFile *vs_qemufile_new_memory_reader(TALLOC_CTX *mem_ctx, const uint8_t *data,
                                          size_t len);
/*
 * As vs_qemufile_new_memory_reader(), for @len bytes cut from a larger
 * stream at @start_pos: vs_qemufile_pos() (and so every offset in a
 * message) counts from @start_pos, as in the whole stream.
 */
VsQemuFile *vs_qemufile_new_memory_reader_at(TALLOC_CTX *mem_ctx, const uint8_t *data,
                                             size_t len, uint64_t start_pos);
/* Collects what is written in memory; see vs_qemufile_memory_data(). */
VsQemuFile *vs_qemufile_new_memory_writer(TALLOC_CTX *mem_ctx);

/*
 * vs_qemufile_memory_data: bytes written so far to a memory writer (flushes
 * its buffer first).  Borrowed: valid until the next write or free.
 * Returns NULL for other backends.
 */
const uint8_t *vs_qemufile_memory_data(VsQemuFile *f, size_t *ret_len);

/* Writing.  Ignored once the file has failed. */
void vs_qemufile_put_byte(VsQemuFile *f, uint8_t v);
void vs_qemufile_put_be16(VsQemuFile *f, uint16_t v);
void vs_qemufile_put_be32(VsQemuFile *f, uint32_t v);
void vs_qemufile_put_be64(VsQemuFile *f, uint64_t v);
void vs_qemufile_put_buffer(VsQemuFile *f, const uint8_t *buf, size_t len);
/*
 * vs_qemufile_put_borrowed: writes @len bytes at @buf without copying them
 * (QEMU's qemu_put_buffer_async): they go out by reference in the next
 * gathered write, at the latest on the next flush or close.  @buf must stay
 * valid until then; a change made to it in the meantime may or may not be
 * sent, so use it for data whose later changes are sent again anyway (RAM
 * pages under dirty tracking).  Short ranges are copied.
 */
void vs_qemufile_put_borrowed(VsQemuFile *f, const uint8_t *buf, size_t len);
/* Writes @len copies of @byte. */
void vs_qemufile_put_fill(VsQemuFile *f, uint8_t byte, size_t len);
/* Writes a counted string: u8 length then the bytes; fails if longer than 255. */
void vs_qemufile_put_cstr8(VsQemuFile *f, const char *s);

/* Reading.  Return 0 (and set EOF) when the stream ends early. */
uint8_t vs_qemufile_get_byte(VsQemuFile *f);
uint16_t vs_qemufile_get_be16(VsQemuFile *f);
uint32_t vs_qemufile_get_be32(VsQemuFile *f);
uint64_t vs_qemufile_get_be64(VsQemuFile *f);
/*
 * vs_qemufile_get_buffer: reads up to @len bytes into @buf.
 * Returns: the number read; less than @len means the stream ended (EOF set).
 */
size_t vs_qemufile_get_buffer(VsQemuFile *f, uint8_t *buf, size_t len);
/* Skips @len bytes; returns the number skipped (less at end of stream, EOF set). */
size_t vs_qemufile_skip(VsQemuFile *f, size_t len);

/*
 * vs_qemufile_peek: look at bytes without consuming them.
 * @offset: bytes to look past first
 * @len: wanted; @offset + @len must not exceed VS_QEMUFILE_BUF_SIZE
 * @ret_ptr: set to the bytes (borrowed until the next call on @f)
 *
 * Returns: how many of the @len bytes exist (fewer near the end of the
 * stream).  Running out while peeking is not an error.
 */
size_t vs_qemufile_peek(VsQemuFile *f, size_t offset, size_t len, const uint8_t **ret_ptr);
/* Peeks one byte; false when the stream has no byte at @offset. */
bool vs_qemufile_peek_byte(VsQemuFile *f, size_t offset, uint8_t *ret_byte);
/* True when a reader has no more bytes (reads ahead to find out). */
bool vs_qemufile_at_eof(VsQemuFile *f);

/* Logical position: bytes consumed by gets/skips, or produced by puts. */
uint64_t vs_qemufile_pos(const VsQemuFile *f);
/* Bytes actually moved through the backend so far. */
uint64_t vs_qemufile_transferred(const VsQemuFile *f);

/* Sends buffered bytes to the backend (writers; a no-op for readers). */
bool vs_qemufile_flush(VsQemuFile *f, GError **errp);
/* Flushes, then closes the backend.  Reports the first error of the file's life. */
bool vs_qemufile_close(VsQemuFile *f, GError **errp);
/* Frees @f (closing an owned descriptor); NULL is accepted. */
void vs_qemufile_free(VsQemuFile *f);

/* Sticky error state. */
bool vs_qemufile_failed(const VsQemuFile *f);
/* The first error, borrowed (valid until free), or NULL. */
const GError *vs_qemufile_error(const VsQemuFile *f);
/* Records @err (taking ownership) unless an error is already recorded. */
void vs_qemufile_set_error(VsQemuFile *f, GError *err);

/*
 * Rate limiting, as the migration core uses it:
 *   - a byte budget per period: vs_qemufile_rate_limited() turns true once
 *     the bytes written since vs_qemufile_rate_reset() reach the budget;
 *     the sender then stops queueing and waits for the next period.
 *     A budget of 0 means unlimited.
 *   - a hook called before every backend write with the byte count, which
 *     may sleep to pace the stream, or return false to fail the file with
 *     VS_QEMUFILE_ERROR_RATE (e.g. when a migration is cancelled).
 */
typedef bool (*VsQemuFileRateHook)(VsQemuFile *f, size_t bytes, void *opaque);

void vs_qemufile_set_rate_limit(VsQemuFile *f, uint64_t budget_bytes);
uint64_t vs_qemufile_rate_limit(const VsQemuFile *f);
void vs_qemufile_rate_reset(VsQemuFile *f);
bool vs_qemufile_rate_limited(const VsQemuFile *f);
void vs_qemufile_set_rate_hook(VsQemuFile *f, VsQemuFileRateHook hook, void *opaque);

G_END_DECLS

#endif /* VSTATE_QEMUFILE_H */
