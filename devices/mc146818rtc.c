/*
 * mc146818rtc.c - the PC's real-time clock (see mc146818rtc.h).
 *
 * Time is kept as a relation to the RTC clock (base_rtc, last_update,
 * offset), not stepped: the time registers are refreshed from it when read
 * and before a save.  Three deadlines in the state drive interrupts: the
 * periodic timer, the update timer (the next whole second of guest time)
 * and the alarm time; vs_rtc_run() handles those that fell due.
 */
#include "devices/mc146818rtc.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define NS_PER_SEC 1000000000LL
#define SECS_PER_DAY 86400
#define DIVIDER_HZ 32768
/* UIP reads as set for the last 244 us before an update (the data sheet's). */
#define UIP_HOLD_NS (8 * NS_PER_SEC / DIVIDER_HZ)
/* Seconds vs_rtc_run() replays one by one before it catches up at once. */
#define MAX_REPLAYED_SECONDS 4

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

/* The RTC holding @s, or NULL for a bare state. */
static VsRtc *rtc_of_state(VsRtcState *s)
{
    uintptr_t rtc = (uintptr_t)s - offsetof(VsRtc, state);

    return s->owner == owner_mark(rtc) ? (VsRtc *)rtc : NULL;
}

static int64_t rtc_now(const VsRtc *rtc)
{
    return vs_clock_wall(rtc->clock);
}

/* ---- calendar (proleptic Gregorian, days since 1970-01-01) ------------ */

typedef struct RtcDate {
    int year, month, day;       /* month 1-12, day 1-31 */
    int hour, minute, second;
    int wday;                   /* 0 Sunday */
} RtcDate;

static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static RtcDate date_of(int64_t secs)
{
    int64_t days = secs / SECS_PER_DAY, rem = secs % SECS_PER_DAY;
    int64_t z, era, doe, yoe, doy, mp;
    RtcDate t;

    if (rem < 0) {
        rem += SECS_PER_DAY;
        days--;
    }
    t.hour = (int)(rem / 3600);
    t.minute = (int)(rem / 60 % 60);
    t.second = (int)(rem % 60);
    t.wday = (int)(((days % 7) + 11) % 7);      /* 1970-01-01 was a Thursday */
    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    t.day = (int)(doy - (153 * mp + 2) / 5 + 1);
    t.month = (int)(mp < 10 ? mp + 3 : mp - 9);
    t.year = (int)(yoe + era * 400 + (t.month <= 2));
    return t;
}

static int64_t secs_of(const RtcDate *t)
{
    return days_from_civil(t->year, t->month, t->day) * SECS_PER_DAY +
           t->hour * 3600 + t->minute * 60 + t->second;
}

/* ---- registers ------------------------------------------------------ */

static uint8_t *reg(VsRtc *rtc, int n)
{
    return &rtc->state.cmos_data[n];
}

static bool binary_mode(const VsRtcState *s)
{
    return s->cmos_data[VS_RTC_REG_B] & VS_RTC_B_DM;
}

static uint8_t to_reg(const VsRtcState *s, int v)
{
    return binary_mode(s) ? (uint8_t)v : (uint8_t)((v / 10) << 4 | v % 10);
}

/* A register's value; -1 for the alarm's "don't care" codes 0xc0-0xff. */
static int from_reg(const VsRtcState *s, uint8_t v)
{
    if ((v & 0xc0) == 0xc0) {
        return -1;
    }
    return binary_mode(s) ? v : (v >> 4) * 10 + (v & 0x0f);
}

/* An hour register (bit 7 is PM in 12-hour mode) as 0-23. */
static int hour_from_reg(const VsRtcState *s, uint8_t v)
{
    int h = from_reg(s, v & 0x7f);

    if (h < 0 || (s->cmos_data[VS_RTC_REG_B] & VS_RTC_B_24H)) {
        return h;
    }
    return h % 12 + ((v & 0x80) ? 12 : 0);
}

static uint8_t hour_to_reg(const VsRtcState *s, int h)
{
    if (s->cmos_data[VS_RTC_REG_B] & VS_RTC_B_24H) {
        return to_reg(s, h);
    }
    return to_reg(s, h % 12 ? h % 12 : 12) | (h >= 12 ? 0x80 : 0);
}

static void write_date(VsRtc *rtc, int64_t secs)
{
    VsRtcState *s = &rtc->state;
    RtcDate t = date_of(secs);

    *reg(rtc, VS_RTC_SECONDS) = to_reg(s, t.second);
    *reg(rtc, VS_RTC_MINUTES) = to_reg(s, t.minute);
    *reg(rtc, VS_RTC_HOURS) = hour_to_reg(s, t.hour);
    *reg(rtc, VS_RTC_DAY_OF_WEEK) = to_reg(s, t.wday + 1);
    *reg(rtc, VS_RTC_DAY_OF_MONTH) = to_reg(s, t.day);
    *reg(rtc, VS_RTC_MONTH) = to_reg(s, t.month);
    *reg(rtc, VS_RTC_YEAR) = to_reg(s, t.year % 100);
    *reg(rtc, VS_RTC_CENTURY) = to_reg(s, t.year / 100 % 100);
}

int64_t vs_rtc_registers_time(const VsRtc *rtc)
{
    const VsRtcState *s = &rtc->state;
    RtcDate t = {
        .second = from_reg(s, s->cmos_data[VS_RTC_SECONDS]),
        .minute = from_reg(s, s->cmos_data[VS_RTC_MINUTES]),
        .hour = hour_from_reg(s, s->cmos_data[VS_RTC_HOURS]),
        .day = from_reg(s, s->cmos_data[VS_RTC_DAY_OF_MONTH]),
        .month = from_reg(s, s->cmos_data[VS_RTC_MONTH]),
        .year = from_reg(s, s->cmos_data[VS_RTC_CENTURY]) * 100 +
                from_reg(s, s->cmos_data[VS_RTC_YEAR]),
    };

    /* Garbage in the registers gives some time, never undefined arithmetic. */
    t.second = t.second < 0 ? 0 : t.second;
    t.minute = t.minute < 0 ? 0 : t.minute;
    t.hour = t.hour < 0 ? 0 : t.hour;
    t.day = t.day < 1 ? 1 : t.day;
    t.month = t.month < 1 || t.month > 12 ? 1 : t.month;
    return secs_of(&t);
}

/* ---- time ----------------------------------------------------------- */

/* The clock runs unless frozen by SET or its divider is held in reset. */
static bool running(const VsRtcState *s)
{
    return !(s->cmos_data[VS_RTC_REG_B] & VS_RTC_B_SET) &&
           (s->cmos_data[VS_RTC_REG_A] & 0x70) <= 0x20;
}

static bool divider_reset(const VsRtcState *s)
{
    return (s->cmos_data[VS_RTC_REG_A] & 0x60) == 0x60;
}

/*
 * Computed modulo 2^64: a loaded state may hold any values, and nonsense in
 * gives some time out, never undefined arithmetic.
 */
static int64_t guest_ns_at(const VsRtcState *s, int64_t now)
{
    return (int64_t)(s->base_rtc * (uint64_t)NS_PER_SEC + ((uint64_t)now - s->last_update) +
                     (uint64_t)s->offset);
}

/* Takes the registers' time as the guest's time from now on. */
static void set_time_from_registers(VsRtc *rtc, int64_t now)
{
    rtc->state.base_rtc = (uint64_t)vs_rtc_registers_time(rtc);
    rtc->state.last_update = (uint64_t)now;
}

/* Refreshes the time registers (unless SET freezes them). */
static void refresh_registers(VsRtc *rtc, int64_t now)
{
    int64_t ns = guest_ns_at(&rtc->state, now);

    if (!(rtc->state.cmos_data[VS_RTC_REG_B] & VS_RTC_B_SET)) {
        write_date(rtc, ns / NS_PER_SEC - (ns % NS_PER_SEC < 0));
    }
}

int64_t vs_rtc_time(VsRtc *rtc)
{
    int64_t ns;

    if (!running(&rtc->state)) {
        return vs_rtc_registers_time(rtc);
    }
    ns = guest_ns_at(&rtc->state, rtc_now(rtc));
    return ns / NS_PER_SEC - (ns % NS_PER_SEC < 0);
}

/* ---- deadlines ------------------------------------------------------ */

/* The periodic rate in 32.768 kHz ticks, 0 when off. */
static uint32_t periodic_ticks(const VsRtcState *s)
{
    int rate = s->cmos_data[VS_RTC_REG_A] & 0x0f;

    if (!(s->cmos_data[VS_RTC_REG_B] & VS_RTC_B_PIE) || rate == 0) {
        return 0;
    }
    /* Rates 1 and 2 repeat 8 and 9 (256 Hz and 128 Hz). */
    if (rate <= 2) {
        rate += 7;
    }
    return 1u << (rate - 1);
}

/* Arms the periodic interrupt for the first period boundary after @now. */
static void arm_periodic(VsRtc *rtc, int64_t now)
{
    VsRtcState *s = &rtc->state;
    uint32_t period = periodic_ticks(s);
    int64_t ticks;

    s->period = period;
    if (!period) {
        s->periodic_timer = -1;
        s->irq_coalesced = 0;
        return;
    }
    ticks = now / NS_PER_SEC * DIVIDER_HZ + now % NS_PER_SEC * DIVIDER_HZ / NS_PER_SEC;
    ticks = ticks - ticks % period + period;
    s->next_periodic_time = ticks / DIVIDER_HZ * NS_PER_SEC +
                            (ticks % DIVIDER_HZ) * NS_PER_SEC / DIVIDER_HZ + 1;
    s->periodic_timer = s->next_periodic_time;
}

/*
 * Seconds from @secs to the next second at which the time matches the
 * alarm registers (0xc0-0xff match anything), within a day; 0 for never.
 * Skips whole hours and minutes that cannot match, so it takes at most a
 * few hundred steps.
 */
static int64_t seconds_to_alarm(const VsRtcState *s, int64_t secs)
{
    int as = from_reg(s, s->cmos_data[VS_RTC_SECONDS_ALARM]);
    int am = from_reg(s, s->cmos_data[VS_RTC_MINUTES_ALARM]);
    int ah = (s->cmos_data[VS_RTC_HOURS_ALARM] & 0xc0) == 0xc0 ? -1 :
             hour_from_reg(s, s->cmos_data[VS_RTC_HOURS_ALARM]);
    int64_t t = secs + 1;

    while (t <= secs + SECS_PER_DAY) {
        int64_t sod = ((t % SECS_PER_DAY) + SECS_PER_DAY) % SECS_PER_DAY;

        if (ah >= 0 && sod / 3600 != ah) {
            t += 3600 - sod % 3600;
        } else if (am >= 0 && sod / 60 % 60 != am) {
            t += 60 - sod % 60;
        } else if (as >= 0 && sod % 60 != as) {
            t++;
        } else {
            return t - secs;
        }
    }
    return 0;
}

/*
 * Arms the update timer for the next whole second of guest time, and works
 * out when the alarm next matches (within a day; it repeats daily).
 */
static void arm_update(VsRtc *rtc, int64_t now)
{
    VsRtcState *s = &rtc->state;
    int64_t ns, next, secs, i;

    if (divider_reset(s)) {
        s->update_timer = -1;
        return;
    }
    ns = guest_ns_at(s, now);
    next = now + NS_PER_SEC - ((ns % NS_PER_SEC) + NS_PER_SEC) % NS_PER_SEC;
    s->update_timer = next;
    secs = (ns - ((ns % NS_PER_SEC) + NS_PER_SEC) % NS_PER_SEC) / NS_PER_SEC;
    i = seconds_to_alarm(s, secs);
    s->next_alarm_time = i ? (uint64_t)(next + (i - 1) * NS_PER_SEC) : (uint64_t)-1;
}

/* Sets flags in register C; returns whether an enabled one is new. */
static bool raise_flags(VsRtc *rtc, uint8_t flags)
{
    uint8_t *c = reg(rtc, VS_RTC_REG_C);
    uint8_t fresh = flags & ~*c;

    *c |= flags;
    if (fresh & *reg(rtc, VS_RTC_REG_B) & (VS_RTC_C_PF | VS_RTC_C_AF | VS_RTC_C_UF)) {
        *c |= VS_RTC_C_IRQF;
        vs_irq_raise(&rtc->irq);
        return true;
    }
    return false;
}

/* The update cycle at @when: the time registers move, UF and maybe AF. */
static bool update_cycle(VsRtc *rtc, int64_t when)
{
    VsRtcState *s = &rtc->state;
    uint8_t flags = VS_RTC_C_UF;

    refresh_registers(rtc, when);
    s->cmos_data[VS_RTC_REG_A] &= ~VS_RTC_A_UIP;
    if ((int64_t)s->next_alarm_time >= 0 && when >= (int64_t)s->next_alarm_time) {
        flags |= VS_RTC_C_AF;
    }
    return raise_flags(rtc, flags);
}

unsigned vs_rtc_run(VsRtc *rtc)
{
    VsRtcState *s = &rtc->state;
    int64_t now = rtc_now(rtc);
    unsigned raised = 0;

    while (s->periodic_timer >= 0 && s->periodic_timer <= now) {
        int64_t when = s->periodic_timer;

        /* Lost ticks are dropped ("discard"): the next one is after now. */
        arm_periodic(rtc, now > when ? now : when);
        raised += raise_flags(rtc, VS_RTC_C_PF);
    }
    for (int i = 0; s->update_timer >= 0 && s->update_timer <= now; i++) {
        int64_t when = s->update_timer;

        if (i >= MAX_REPLAYED_SECONDS) {
            /* Far behind: one update now, the alarm if it fell in between. */
            when = now;
        }
        raised += update_cycle(rtc, when);
        arm_update(rtc, when);
    }
    return raised;
}

/* ---- ports ---------------------------------------------------------- */

static bool is_time_register(int n)
{
    return n == VS_RTC_SECONDS || n == VS_RTC_MINUTES || n == VS_RTC_HOURS ||
           (n >= VS_RTC_DAY_OF_WEEK && n <= VS_RTC_YEAR) || n == VS_RTC_CENTURY;
}

static void write_reg_a(VsRtc *rtc, uint8_t val, int64_t now)
{
    VsRtcState *s = &rtc->state;
    bool rate_changed = (s->cmos_data[VS_RTC_REG_A] ^ val) & 0x0f;

    if ((val & 0x60) == 0x60) {
        if (running(s)) {
            refresh_registers(rtc, now);
        }
    } else if (divider_reset(s) && (val & 0x70) <= 0x20 &&
               !(s->cmos_data[VS_RTC_REG_B] & VS_RTC_B_SET)) {
        /* Leaving divider reset: the first update comes half a second later. */
        set_time_from_registers(rtc, now);
        s->offset = NS_PER_SEC / 2;
    }
    s->cmos_data[VS_RTC_REG_A] = val & ~VS_RTC_A_UIP;
    if (rate_changed) {
        arm_periodic(rtc, now);
    }
    arm_update(rtc, now);
}

static void write_reg_b(VsRtc *rtc, uint8_t val, int64_t now)
{
    VsRtcState *s = &rtc->state;
    uint8_t old = s->cmos_data[VS_RTC_REG_B];

    if (val & VS_RTC_B_SET) {
        if (running(s)) {
            refresh_registers(rtc, now);
        }
        val &= ~VS_RTC_B_UIE;
    } else if ((old & VS_RTC_B_SET) && (s->cmos_data[VS_RTC_REG_A] & 0x70) <= 0x20) {
        /* Leaving SET: the time set in the registers starts running. */
        int64_t ns = guest_ns_at(s, now);

        s->cmos_data[VS_RTC_REG_B] = val;
        set_time_from_registers(rtc, now);
        s->offset = (ns % NS_PER_SEC + NS_PER_SEC) % NS_PER_SEC;
    }
    s->cmos_data[VS_RTC_REG_B] = val;
    /* A flag already set raises the line as soon as it is enabled. */
    if (val & s->cmos_data[VS_RTC_REG_C] & (VS_RTC_C_PF | VS_RTC_C_AF | VS_RTC_C_UF)) {
        s->cmos_data[VS_RTC_REG_C] |= VS_RTC_C_IRQF;
        vs_irq_raise(&rtc->irq);
    } else {
        s->cmos_data[VS_RTC_REG_C] &= ~VS_RTC_C_IRQF;
        vs_irq_lower(&rtc->irq);
    }
    if ((old ^ val) & VS_RTC_B_PIE) {
        arm_periodic(rtc, now);
    }
    arm_update(rtc, now);
}

void vs_rtc_write(VsRtc *rtc, uint16_t port, uint8_t val)
{
    VsRtcState *s = &rtc->state;
    int n = s->cmos_index & 0x7f;
    int64_t now = rtc_now(rtc);

    if (!(port & 1)) {
        s->cmos_index = val & 0x7f;
        return;
    }
    if (is_time_register(n)) {
        s->cmos_data[n] = val;
        if (running(s)) {
            set_time_from_registers(rtc, now);
            s->offset = 0;
            arm_update(rtc, now);
        }
    } else if (n == VS_RTC_SECONDS_ALARM || n == VS_RTC_MINUTES_ALARM ||
               n == VS_RTC_HOURS_ALARM) {
        s->cmos_data[n] = val;
        arm_update(rtc, now);
    } else if (n == VS_RTC_REG_A) {
        write_reg_a(rtc, val, now);
    } else if (n == VS_RTC_REG_B) {
        write_reg_b(rtc, val, now);
    } else if (n != VS_RTC_REG_C && n != VS_RTC_REG_D) {
        s->cmos_data[n] = val;
    }
}

static bool update_in_progress(const VsRtc *rtc, int64_t now)
{
    int64_t ns;

    if (!running(&rtc->state)) {
        return false;
    }
    ns = guest_ns_at(&rtc->state, now);
    return (ns % NS_PER_SEC + NS_PER_SEC) % NS_PER_SEC >= NS_PER_SEC - UIP_HOLD_NS;
}

uint8_t vs_rtc_read(VsRtc *rtc, uint16_t port)
{
    VsRtcState *s = &rtc->state;
    int n = s->cmos_index & 0x7f;
    int64_t now = rtc_now(rtc);
    uint8_t ret;

    if (!(port & 1)) {
        return 0xff;
    }
    if (is_time_register(n)) {
        if (running(s)) {
            refresh_registers(rtc, now);
        }
        return s->cmos_data[n];
    }
    ret = s->cmos_data[n];
    if (n == VS_RTC_REG_A && update_in_progress(rtc, now)) {
        ret |= VS_RTC_A_UIP;
    } else if (n == VS_RTC_REG_C) {
        /* Reading C acknowledges: every flag clears and the line drops. */
        s->cmos_data[VS_RTC_REG_C] = 0;
        vs_irq_lower(&rtc->irq);
    }
    return ret;
}

void vs_rtc_init(VsRtc *rtc, VsClock *clock, VsIrq irq)
{
    int64_t now, wall;

    memset(rtc, 0, sizeof(*rtc));
    rtc->state.owner = owner_mark((uintptr_t)rtc);
    rtc->clock = clock;
    rtc->irq = irq;
    now = rtc_now(rtc);
    wall = now / NS_PER_SEC;
    rtc->state.cmos_data[VS_RTC_REG_A] = 0x26;
    rtc->state.cmos_data[VS_RTC_REG_B] = VS_RTC_B_24H;
    rtc->state.cmos_data[VS_RTC_REG_D] = 0x80;     /* VRT: the battery is fine */
    rtc->state.base_rtc = (uint64_t)wall;
    rtc->state.last_update = (uint64_t)now;
    rtc->state.offset = now % NS_PER_SEC;
    rtc->state.periodic_timer = -1;
    write_date(rtc, wall);
    arm_update(rtc, now);
}

/* ---- hooks ---------------------------------------------------------- */

/*
 * Before a save: the registers show the current time (QEMU does the same),
 * and the time relation is folded so that last_update is now, base_rtc the
 * current second and offset the part of it already gone.  The loading side
 * needs nothing else to continue the time exactly.
 */
bool mc146818rtc_pre_save(VsRtcState *s, GError **errp)
{
    VsRtc *rtc = rtc_of_state(s);
    int64_t now, ns;

    (void)errp;
    if (!rtc || !running(s)) {
        return true;    /* a bare state has no clock; a stopped one no time to fold */
    }
    now = rtc_now(rtc);
    refresh_registers(rtc, now);
    ns = guest_ns_at(s, now);
    s->offset = (ns % NS_PER_SEC + NS_PER_SEC) % NS_PER_SEC;
    s->base_rtc = (uint64_t)((ns - s->offset) / NS_PER_SEC);
    s->last_update = (uint64_t)now;
    return true;
}

/*
 * After a load: the time the registers held at the save is the guest's
 * time now, and it runs on this side's clock from here.  When the stored
 * relation was folded at that same second (a stream saved by this model),
 * its sub-second part is kept; otherwise (QEMU's streams keep the time of
 * the last setting in base_rtc, and versions 1-2 have no relation at all)
 * the time starts at the whole second, as QEMU's own load from the
 * registers does.  The deadlines are re-armed on this side's clock.
 */
bool mc146818rtc_post_load(VsRtcState *s, uint32_t version, GError **errp)
{
    VsRtc *rtc = rtc_of_state(s);
    int64_t now, secs;
    bool folded;

    (void)errp;
    if (!rtc) {
        return true;    /* a bare state: no clock to tie it to */
    }
    now = rtc_now(rtc);
    secs = vs_rtc_registers_time(rtc);
    folded = version >= 3 && (int64_t)s->base_rtc == secs && s->offset >= 0 &&
             s->offset < NS_PER_SEC;
    if (!folded) {
        s->offset = 0;
    }
    s->base_rtc = (uint64_t)secs;
    s->last_update = (uint64_t)now;
    arm_periodic(rtc, now);
    arm_update(rtc, now);
    return true;
}
