/*
 * clock.h - the virtual clock device models read.
 *
 * Models never call clock_gettime() themselves: they read a VsClock, which
 * is either the host's monotonic/realtime clocks (a running board) or a
 * manual clock that tests and the demo advance explicitly, so behaviour
 * after a load is reproducible.  Times are in nanoseconds.
 */
#ifndef VSTATE_DEVICES_CLOCK_H
#define VSTATE_DEVICES_CLOCK_H

#include <stdint.h>

typedef struct VsClock VsClock;

struct VsClock {
    /* Monotonic virtual time (QEMU_CLOCK_VIRTUAL's role). */
    int64_t (*now_ns)(const VsClock *clock);
    /* Wall-clock time in ns since the epoch (QEMU_CLOCK_HOST's role, RTC base). */
    int64_t (*wall_ns)(const VsClock *clock);
    /* Manual clocks keep their time here. */
    int64_t manual_ns;
    int64_t manual_wall_ns;
};

/* A clock driven by the host (CLOCK_MONOTONIC / CLOCK_REALTIME). */
void vs_clock_init_host(VsClock *clock);
/* A clock that only moves when vs_clock_advance() is called. */
void vs_clock_init_manual(VsClock *clock, int64_t now_ns, int64_t wall_ns);
/* Moves a manual clock forward (both its virtual and wall time). */
void vs_clock_advance(VsClock *clock, int64_t delta_ns);

static inline int64_t vs_clock_now(const VsClock *clock) { return clock->now_ns(clock); }
static inline int64_t vs_clock_wall(const VsClock *clock) { return clock->wall_ns(clock); }

#endif
