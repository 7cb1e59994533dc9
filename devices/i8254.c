/*
 * i8254.c - the PC's interval timer (see i8254.h).
 *
 * A channel's counter and output are functions of the ticks elapsed since
 * count_load_time: nothing runs between port accesses, and channel 0's
 * next output change is kept in next_transition_time (QEMU's irq timer)
 * for vs_i8254_run() to act on.  Output levels follow the 8254 data sheet:
 * mode 2 pulses low for the tick before reload, modes 4 and 5 strobe low
 * for one tick, so every mode's interrupt is a rising edge.
 */
#include "devices/i8254.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define NS_PER_SEC 1000000000ull
/* Transitions vs_i8254_run() replays before it resynchronises. */
#define MAX_REPLAYED_TRANSITIONS 131072

/*
 * Hooks reach the device through its state, but walkers also run over bare
 * copies (the stream loader decodes into scratch objects).  The state's
 * local `owner` holds this mark of the device's address; a state without
 * the right mark is not inside a device, and the hooks leave the device
 * part out.  Only integers are compared before the pointer is formed.
 */
#define OWNER_MARK 0x7673646576696365ull

static uint64_t owner_mark(uintptr_t device)
{
    return (uint64_t)device ^ OWNER_MARK;
}

/* The timer holding @s, or NULL for a bare state. */
static VsI8254 *pit_of_state(VsI8254State *s)
{
    uintptr_t pit = (uintptr_t)s - offsetof(VsI8254, state);

    return s->owner == owner_mark(pit) ? (VsI8254 *)pit : NULL;
}

/* a * b / c without overflow for any a and b, c below 2^32, rounded down. */
static uint64_t muldiv(uint64_t a, uint32_t b, uint32_t c)
{
    uint64_t lo = (a & 0xffffffffu) * b;
    uint64_t hi = (a >> 32) * b + (lo >> 32);
    uint64_t q_hi = hi / c;
    uint64_t q_lo = (((hi % c) << 32) | (lo & 0xffffffffu)) / c;

    return (q_hi << 32) | q_lo;
}

/* The reload value as the counting logic uses it: 1..0x10000. */
static uint64_t period_of(const VsI8254Channel *c)
{
    return c->count >= 1 && c->count <= 0x10000 ? (uint64_t)c->count : 0x10000;
}

/* Modes 6 and 7 are 2 and 3 (the data sheet's "x10" and "x11"). */
static int mode_of(const VsI8254Channel *c)
{
    int mode = c->mode & 7;

    return mode >= 6 ? mode - 4 : mode;
}

/* Input clock ticks from count_load_time to @now (0 before it). */
static uint64_t ticks_at(const VsI8254Channel *c, int64_t now)
{
    if (now <= c->count_load_time) {
        return 0;
    }
    return muldiv((uint64_t)now - (uint64_t)c->count_load_time, VS_I8254_FREQ, NS_PER_SEC);
}

/* The first time at which at least @ticks ticks have elapsed. */
static int64_t time_of_tick(const VsI8254Channel *c, uint64_t ticks)
{
    uint64_t ns = muldiv(ticks, NS_PER_SEC, VS_I8254_FREQ);

    /* Round up: the tick must have happened by the time returned. */
    if (muldiv(ns, VS_I8254_FREQ, NS_PER_SEC) < ticks) {
        ns++;
    }
    /* Modulo 2^64, as a loaded count_load_time may be anything. */
    return (int64_t)((uint64_t)c->count_load_time + ns);
}

static uint16_t channel_count(const VsI8254Channel *c, int64_t now)
{
    uint64_t d = ticks_at(c, now), n = period_of(c);

    switch (mode_of(c)) {
    case 2:
        return (uint16_t)(n - d % n);
    case 3:
        /* Square wave counts down by two, twice per period. */
        return (uint16_t)(n - (2 * d) % n);
    default:
        return (uint16_t)((n - d) & 0xffff);
    }
}

static int channel_out(const VsI8254Channel *c, int64_t now)
{
    uint64_t d = ticks_at(c, now), n = period_of(c);

    switch (mode_of(c)) {
    case 0: /* interrupt on terminal count */
    case 1: /* one-shot: low from the trigger until the count expires */
        return d >= n;
    case 2: /* rate generator: low for the tick before reload */
        return n == 1 || d % n != n - 1;
    case 3: /* square wave: high for the first half (rounded up) */
        return d % n < (n + 1) / 2;
    default: /* 4, 5: strobe low for one tick when the count expires */
        return d != n;
    }
}

/* When the output changes after @now, or -1 when it never does. */
static int64_t channel_next_transition(const VsI8254Channel *c, int64_t now)
{
    uint64_t d = ticks_at(c, now), n = period_of(c), base = d - d % n, next;

    switch (mode_of(c)) {
    case 0:
    case 1:
        if (d >= n) {
            return -1;
        }
        next = n;
        break;
    case 2:
        if (n == 1) {
            return -1;
        }
        next = d % n == n - 1 ? base + n : base + n - 1;
        break;
    case 3:
        next = d - base < (n + 1) / 2 ? base + (n + 1) / 2 : base + n;
        break;
    default:
        if (d > n) {
            return -1;
        }
        next = d < n ? n : n + 1;
        break;
    }
    return time_of_tick(c, next);
}

/* Channel 0: drive its output as of @when and note its next change. */
static bool irq_update(VsI8254 *pit, int64_t when)
{
    VsI8254Channel *c = &pit->state.channels[0];
    int level, old = pit->irq_level;

    if (pit->state.irq_disabled) {
        c->next_transition_time = -1;
        return false;
    }
    level = channel_out(c, when);
    c->next_transition_time = channel_next_transition(c, when);
    pit->irq_level = level;
    vs_irq_set(&pit->irq, level);
    return level && !old;
}

static void load_count(VsI8254 *pit, int channel, unsigned val)
{
    VsI8254Channel *c = &pit->state.channels[channel];

    c->count = val ? (int32_t)val : 0x10000;
    c->count_load_time = vs_clock_now(pit->clock);
    if (channel == 0) {
        irq_update(pit, c->count_load_time);
    }
}

static void latch_count(VsI8254 *pit, VsI8254Channel *c)
{
    if (!c->count_latched) {
        c->latched_count = channel_count(c, vs_clock_now(pit->clock));
        c->count_latched = c->rw_mode;
    }
}

static void latch_status(VsI8254 *pit, VsI8254Channel *c)
{
    if (!c->status_latched) {
        c->status = (uint8_t)(channel_out(c, vs_clock_now(pit->clock)) << 7 |
                              (c->rw_mode & 3) << 4 | (c->mode & 7) << 1 | (c->bcd & 1));
        c->status_latched = 1;
    }
}

void vs_i8254_init(VsI8254 *pit, VsClock *clock, VsIrq irq)
{
    int64_t now = vs_clock_now(clock);

    memset(pit, 0, sizeof(*pit));
    pit->state.owner = owner_mark((uintptr_t)pit);
    pit->clock = clock;
    pit->irq = irq;
    for (int i = 0; i < 3; i++) {
        VsI8254Channel *c = &pit->state.channels[i];

        c->mode = 3;
        c->gate = i != 2;
        c->count = 0x10000;
        c->count_load_time = now;
        c->next_transition_time = -1;
    }
    irq_update(pit, now);
}

static void write_control(VsI8254 *pit, uint8_t val)
{
    int channel = val >> 6;
    int access = (val >> 4) & 3;
    VsI8254Channel *c;

    if (channel == 3) {
        /* Read-back: bit 5 clear latches counts, bit 4 clear latches status. */
        for (int i = 0; i < 3; i++) {
            if (!(val & (2 << i))) {
                continue;
            }
            if (!(val & 0x20)) {
                latch_count(pit, &pit->state.channels[i]);
            }
            if (!(val & 0x10)) {
                latch_status(pit, &pit->state.channels[i]);
            }
        }
        return;
    }
    c = &pit->state.channels[channel];
    if (access == 0) {
        latch_count(pit, c);
        return;
    }
    c->rw_mode = access;
    c->read_state = access;
    c->write_state = access;
    c->mode = (val >> 1) & 7;
    c->bcd = val & 1;
    if (channel == 0) {
        irq_update(pit, vs_clock_now(pit->clock));
    }
}

static void write_counter(VsI8254 *pit, int channel, uint8_t val)
{
    VsI8254Channel *c = &pit->state.channels[channel];

    switch (c->write_state) {
    case VS_I8254_RW_LSB:
        load_count(pit, channel, val);
        break;
    case VS_I8254_RW_MSB:
        load_count(pit, channel, (unsigned)val << 8);
        break;
    case VS_I8254_RW_WORD0:
        c->write_latch = val;
        c->write_state = VS_I8254_RW_WORD1;
        break;
    case VS_I8254_RW_WORD1:
        c->write_state = VS_I8254_RW_WORD0;
        load_count(pit, channel, c->write_latch | (unsigned)val << 8);
        break;
    default:
        /* Not programmed yet: the chip ignores the write. */
        break;
    }
}

void vs_i8254_write(VsI8254 *pit, uint16_t port, uint8_t val)
{
    int reg = port & 3;

    if (reg == 3) {
        write_control(pit, val);
    } else {
        write_counter(pit, reg, val);
    }
}

/* A latched count is read out byte by byte in the latching access mode. */
static uint8_t read_latched(VsI8254Channel *c)
{
    uint8_t ret;

    switch (c->count_latched) {
    case VS_I8254_RW_MSB:
        ret = c->latched_count >> 8;
        c->count_latched = 0;
        break;
    case VS_I8254_RW_WORD0:
        ret = c->latched_count & 0xff;
        c->count_latched = VS_I8254_RW_MSB;
        break;
    default:
        ret = c->latched_count & 0xff;
        c->count_latched = 0;
        break;
    }
    return ret;
}

uint8_t vs_i8254_read(VsI8254 *pit, uint16_t port)
{
    int reg = port & 3;
    VsI8254Channel *c;
    uint16_t count;

    if (reg == 3) {
        return 0xff;    /* the control word is write-only */
    }
    c = &pit->state.channels[reg];
    if (c->status_latched) {
        c->status_latched = 0;
        return c->status;
    }
    if (c->count_latched) {
        return read_latched(c);
    }
    count = channel_count(c, vs_clock_now(pit->clock));
    switch (c->read_state) {
    case VS_I8254_RW_MSB:
        return count >> 8;
    case VS_I8254_RW_WORD0:
        c->read_state = VS_I8254_RW_WORD1;
        return count & 0xff;
    case VS_I8254_RW_WORD1:
        c->read_state = VS_I8254_RW_WORD0;
        return count >> 8;
    default:
        return count & 0xff;
    }
}

void vs_i8254_set_gate(VsI8254 *pit, int channel, int level)
{
    VsI8254Channel *c;

    if (channel < 0 || channel > 2) {
        return;
    }
    c = &pit->state.channels[channel];
    level = level != 0;
    switch (mode_of(c)) {
    case 1:
    case 2:
    case 3:
    case 5:
        /* A rising gate (re)starts the count. */
        if (!c->gate && level) {
            c->count_load_time = vs_clock_now(pit->clock);
            if (channel == 0) {
                irq_update(pit, c->count_load_time);
            }
        }
        break;
    default:
        break;
    }
    c->gate = level;
}

/* Channel @n, or channel 0 for a number that names none. */
static VsI8254Channel *channel_at(VsI8254 *pit, int n)
{
    return &pit->state.channels[n >= 0 && n < 3 ? n : 0];
}

int vs_i8254_out(VsI8254 *pit, int channel)
{
    return channel_out(channel_at(pit, channel), vs_clock_now(pit->clock));
}

uint16_t vs_i8254_count(VsI8254 *pit, int channel)
{
    return channel_count(channel_at(pit, channel), vs_clock_now(pit->clock));
}

unsigned vs_i8254_run(VsI8254 *pit)
{
    VsI8254Channel *c = &pit->state.channels[0];
    int64_t now = vs_clock_now(pit->clock);
    unsigned rising = 0, replayed = 0;

    while (c->next_transition_time >= 0 && c->next_transition_time <= now) {
        if (++replayed > MAX_REPLAYED_TRANSITIONS) {
            rising += irq_update(pit, now);
            break;
        }
        rising += irq_update(pit, c->next_transition_time);
    }
    return rising;
}

int64_t vs_i8254_next_event(const VsI8254 *pit)
{
    return pit->state.irq_disabled ? -1 : pit->state.channels[0].next_transition_time;
}

/* QEMU sends channel 0's next transition twice; the second copy is irq_timer. */
bool i8254_pre_save(VsI8254State *s, GError **errp)
{
    (void)errp;
    s->irq_timer = s->channels[0].next_transition_time;
    return true;
}

/*
 * A loaded state takes over the clock it finds: counters keep counting from
 * their load times (the board restores the virtual clock, as QEMU's own
 * "timer" section does).  The interrupt line is not driven here, so loading
 * does not inject an edge into a PIC loaded before; vs_i8254_run() drives
 * the next transition.  Counts outside the chip's range are refused.
 */
bool i8254_post_load(VsI8254State *s, uint32_t version, GError **errp)
{
    VsI8254 *pit = pit_of_state(s);

    (void)version;
    for (int i = 0; i < 3; i++) {
        if (s->channels[i].count < 1 || s->channels[i].count > 0x10000) {
            g_set_error(errp, VS_VISIT_ERROR, VS_VISIT_ERROR_RANGE,
                        "channel %d count %d is outside 1..65536", i, s->channels[i].count);
            return false;
        }
    }
    s->channels[0].next_transition_time = s->irq_timer;
    if (pit) {
        pit->irq_level = s->irq_disabled ? 0 : channel_out(&s->channels[0],
                                                           vs_clock_now(pit->clock));
    }
    return true;
}
