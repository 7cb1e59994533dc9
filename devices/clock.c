/*
 * clock.c - host and manual virtual clocks for device models.
 */
#include "devices/clock.h"

#include <time.h>

static int64_t read_clock(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t host_now(const VsClock *clock)
{
    (void)clock;
    return read_clock(CLOCK_MONOTONIC);
}

static int64_t host_wall(const VsClock *clock)
{
    (void)clock;
    return read_clock(CLOCK_REALTIME);
}

static int64_t manual_now(const VsClock *clock)
{
    return clock->manual_ns;
}

static int64_t manual_wall(const VsClock *clock)
{
    return clock->manual_wall_ns;
}

void vs_clock_init_host(VsClock *clock)
{
    *clock = (VsClock){ .now_ns = host_now, .wall_ns = host_wall };
}

void vs_clock_init_manual(VsClock *clock, int64_t now_ns, int64_t wall_ns)
{
    *clock = (VsClock){ .now_ns = manual_now, .wall_ns = manual_wall,
                        .manual_ns = now_ns, .manual_wall_ns = wall_ns };
}

void vs_clock_advance(VsClock *clock, int64_t delta_ns)
{
    clock->manual_ns += delta_ns;
    clock->manual_wall_ns += delta_ns;
}
