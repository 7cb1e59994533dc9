/*
 * bound.h: a device's own state struct, written by hand; bound.vs binds the
 * schema type Bound to it with `cstruct "BoundDev" header "bound.h"`.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VSTATE_TEST_BOUND_H
#define VSTATE_TEST_BOUND_H

#include <stdbool.h>
#include <stdint.h>

#include "common.vs.h"

typedef struct BoundRegs {
    uint32_t id;
    uint16_t vals[4];
} BoundRegs;

typedef struct BoundDev {
    const char *label;      /* not migrated */
    BoundRegs regs;
    uint8_t n;
    Point *loc;
    bool enabled;
} BoundDev;

#endif /* VSTATE_TEST_BOUND_H */
