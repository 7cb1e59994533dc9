/*
 * board.h: the demo VM's devices, registered in one place (vm/board.c).
 *
 * SPDX-License-Identifier: MIT
 *
 * The board owns the device states, registers each with the migration
 * core under its (idstr, instance) with its walker, and gives the workload
 * a way to make them change (a timer tick, an interrupt line).  Adding a
 * device is one line in board.c's table.
 */
#ifndef VSTATE_VM_BOARD_H
#define VSTATE_VM_BOARD_H

#include "migration/savevm.h"

G_BEGIN_DECLS

typedef struct VsBoard VsBoard;

/*
 * Creates the devices and registers them with @devices; those QEMU 7.2's
 * pc-i440fx does not have (the example device "vsdemo", "bootp", "ring")
 * only when @with_demo.
 */
VsBoard *vs_board_new(TALLOC_CTX *mem_ctx, VsSaveState *devices, bool with_demo,
                      GError **errp);

/*
 * vs_board_tick: advance the devices by one workload tick (@n counts
 * ticks): timers count, interrupt lines go up and down.  Called with the
 * guest running, from the workload thread only.
 */
void vs_board_tick(VsBoard *b, uint64_t n);

G_END_DECLS

#endif /* VSTATE_VM_BOARD_H */
