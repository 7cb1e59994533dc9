/*
 * qmp.h: a QMP monitor for the demo VM on a unix socket.
 *
 * SPDX-License-Identifier: MIT
 *
 * Speaks QEMU's QMP protocol (the greeting, capabilities negotiation,
 * {"execute": ..., "arguments": ..., "id": ...} commands, {"return": ...}
 * and {"error": {"class": ..., "desc": ...}} replies, one JSON object per
 * line) for the commands the VM has, with QEMU 7.2's names, reply shapes
 * and the semantics scripts rely on:
 *
 *     qmp_capabilities, query-status, stop, cont, quit,
 *     migrate, migrate-incoming, migrate_cancel, query-migrate,
 *     migrate-set-parameters, query-migrate-parameters,
 *     migrate-set-capabilities, query-migrate-capabilities
 *
 * migrate-incoming returns once the destination listens; migrate returns
 * with the status already "setup".  One client is served at a time, as a
 * QEMU monitor chardev does.  No events are sent.
 *
 *     VsQmpServer *q = vs_qmp_server_new(ctx, vm, "unix:/tmp/vm.qmp", errp);
 *     while (!vs_qmp_server_quit_requested(q)) ...
 */
#ifndef VSTATE_VM_QMP_H
#define VSTATE_VM_QMP_H

#include "vm/vm.h"

G_BEGIN_DECLS

typedef struct VsQmpServer VsQmpServer;

/*
 * vs_qmp_server_new: listen on @spec, "unix:PATH" or QEMU's
 * "unix:PATH,server=on,wait=off" ("server", "nowait" spellings too), and
 * serve clients from a thread.
 * Ownership: a talloc child of @mem_ctx; freeing it stops the thread and
 * removes the socket.
 */
VsQmpServer *vs_qmp_server_new(TALLOC_CTX *mem_ctx, VsVm *vm, const char *spec, GError **errp);

/* A client sent "quit". */
bool vs_qmp_server_quit_requested(VsQmpServer *q);

/*
 * vs_qmp_execute: run one command line (a JSON object) and return the reply
 * line (without the line end).  Used by the server; public for tests.
 * @negotiated: in/out, the session's capabilities-negotiation state.
 * g_free() the result.
 */
char *vs_qmp_execute(VsQmpServer *q, const char *line, size_t len, bool *negotiated);

G_END_DECLS

#endif /* VSTATE_VM_QMP_H */
