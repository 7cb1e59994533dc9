/*
 * channel.h: migration transports named by QEMU's URIs, giving a VsQemuFile.
 *
 * SPDX-License-Identifier: MIT
 *
 * Theory of operation
 * ===================
 *
 * A migration moves one byte stream from a source to a destination.  The
 * URI says how, with QEMU 7.2's spellings (plus `file:`, which QEMU has
 * only from 8.2):
 *
 *     tcp:HOST:PORT     a TCP connection; HOST may be [v6addr]; a listener
 *                       on port 0 gets a free port (see the address)
 *     unix:PATH         a unix stream socket; the listener replaces a stale
 *                       socket file and removes it when freed
 *     exec:CMD          `/bin/sh -c CMD`: the source writes to its standard
 *                       input, the destination reads its standard output
 *     fd:N              an inherited descriptor (socket, pipe or file); the
 *                       channel takes ownership and closes it
 *     file:PATH         a file, created/truncated by the source, read by
 *                       the destination
 *
 * The destination listens, then accepts one connection (for exec/fd/file
 * "accept" hands over the one stream at once); the source connects.
 *
 *     VsChannelListener *l = vs_channel_listen(ctx, "tcp:127.0.0.1:0", errp);
 *     puts(vs_channel_listener_address(l));         tcp:127.0.0.1:40513
 *     VsChannel *in = vs_channel_accept(l, ctx, errp);
 *     ...                                          (another process:)
 *     VsChannel *out = vs_channel_connect(ctx, "tcp:127.0.0.1:40513", errp);
 *     vs_qemufile_put_be32(vs_channel_file(out), 0x5145564d);
 *     vs_channel_close(out, errp);
 *
 * vs_channel_shutdown() and vs_channel_listener_abort() may be called from
 * any thread to wake a thread blocked in the channel's I/O (cancel, a
 * destination giving up): sockets are shut down, an exec child is
 * terminated.  Everything else belongs to the thread that owns the channel.
 */
#ifndef VSTATE_MIGRATION_CHANNEL_H
#define VSTATE_MIGRATION_CHANNEL_H

#include "visitor/qemufile/qemufile.h"

#include <sys/types.h>

G_BEGIN_DECLS

#define VS_CHANNEL_ERROR (vs_channel_error_quark())
GQuark vs_channel_error_quark(void);

typedef enum VsChannelError {
    VS_CHANNEL_ERROR_URI,      /* the URI cannot be parsed or names an unknown transport */
    VS_CHANNEL_ERROR_IO,       /* a system call failed (the message has strerror) */
    VS_CHANNEL_ERROR_CHILD,    /* an exec: command failed or exited non-zero */
    VS_CHANNEL_ERROR_ABORTED,  /* the listener was aborted */
    VS_CHANNEL_ERROR__MAX,
} VsChannelError;

typedef enum VsChannelKind {
    VS_CHANNEL_TCP,
    VS_CHANNEL_UNIX,
    VS_CHANNEL_EXEC,
    VS_CHANNEL_FD,
    VS_CHANNEL_FILE,
} VsChannelKind;

typedef struct VsChannel VsChannel;
typedef struct VsChannelListener VsChannelListener;

/*
 * vs_channel_parse_uri: split @uri into its kind and the rest.
 * @ret_rest: set to what follows "kind:", borrowed from @uri
 * Returns: false with VS_CHANNEL_ERROR_URI for an unknown scheme.
 */
bool vs_channel_parse_uri(const char *uri, VsChannelKind *ret_kind, const char **ret_rest,
                          GError **errp);

/*
 * vs_channel_listen: the destination's end.
 * @mem_ctx: talloc parent
 * @uri: as above
 *
 * Sockets are bound and listening when this returns (QEMU's migrate-incoming
 * returns at this point too); an exec: command has been started; a file has
 * been opened.
 * Ownership: a talloc child of @mem_ctx; freeing it closes the socket and
 * removes a unix socket's path.
 * Returns: the listener, or NULL with VS_CHANNEL_ERROR_URI/IO/CHILD.
 */
VsChannelListener *vs_channel_listen(TALLOC_CTX *mem_ctx, const char *uri, GError **errp);

/*
 * vs_channel_listener_address: where the listener listens, as a URI
 * ("tcp:127.0.0.1:40513" with the real port), else the URI given.
 * Borrowed: valid until the listener is freed.
 */
const char *vs_channel_listener_address(const VsChannelListener *l);

/*
 * vs_channel_accept: wait for the source (sockets) or take the one stream
 * (exec, fd, file).  A reader.
 * Returns: the channel, a talloc child of @mem_ctx, or NULL with
 * VS_CHANNEL_ERROR_IO, or VS_CHANNEL_ERROR_ABORTED after
 * vs_channel_listener_abort().
 */
VsChannel *vs_channel_accept(VsChannelListener *l, TALLOC_CTX *mem_ctx, GError **errp);

/* vs_channel_listener_abort: make a blocked (or later) accept fail; any thread. */
void vs_channel_listener_abort(VsChannelListener *l);

/*
 * vs_channel_connect: the source's end.  A writer.
 * Returns: the channel, a talloc child of @mem_ctx, or NULL with an error.
 */
VsChannel *vs_channel_connect(TALLOC_CTX *mem_ctx, const char *uri, GError **errp);

/* The channel's byte stream; borrowed, valid until the channel is closed. */
VsQemuFile *vs_channel_file(VsChannel *ch);

VsChannelKind vs_channel_kind(const VsChannel *ch);

/*
 * vs_channel_fd: the descriptor under the channel, for a user that moves
 * bulk data with its own system calls instead of the VsQemuFile (multifd
 * channels); borrowed: closed with the channel.
 */
int vs_channel_fd(const VsChannel *ch);

/* vs_channel_shutdown: wake I/O blocked on @ch, and fail what follows; any thread. */
void vs_channel_shutdown(VsChannel *ch);

/*
 * vs_channel_close: flush and close the stream, then, for exec:, wait for
 * the command and report a non-zero exit (VS_CHANNEL_ERROR_CHILD).
 * The channel stays allocated (free its talloc parent or the channel).
 * Returns: the first error of the stream's life, else the command's.
 */
bool vs_channel_close(VsChannel *ch, GError **errp);

G_END_DECLS

#endif /* VSTATE_MIGRATION_CHANNEL_H */
