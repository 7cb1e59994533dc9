/*
 * mc146818rtc.h - the PC's real-time clock and CMOS RAM (Motorola MC146818).
 *
 * Port 0x70 selects a register (bits 0-6), port 0x71 reads or writes it.
 * Registers 0-9 hold the time, date and alarm (BCD or binary, 12 or 24
 * hours, by register B), 0x0a-0x0d are the control registers A-D, 0x32 the
 * century; the rest is battery-backed RAM the firmware uses.
 *
 * The migratable state is the schema's (schema/mc146818rtc.vs, QEMU 7.2's
 * "mc146818rtc" section): VsRtc embeds it.  The RTC's clock is the VsClock's
 * wall clock (QEMU_CLOCK_HOST's role, QEMU's default for the PC RTC): the
 * guest's time is base_rtc seconds plus the wall time elapsed since
 * last_update plus offset.  Interrupts (periodic, alarm, update-ended) fall
 * due as that clock moves and are raised by vs_rtc_run().
 *
 * After a load the time keeps running from what the stream held: the
 * post_load hook takes the time the registers held when the state was
 * saved (the saving side refreshes them first, as QEMU does) and ties it to
 * the loading side's clock, so a guest reads the saved time advanced by
 * the time elapsed since the load, whatever the two machines' clocks said.
 *
 * Not modelled: the lost-tick "slew" policy (irq_coalesced stays 0, as with
 * QEMU's default "discard"), the square-wave output, daylight saving.
 */
#ifndef VSTATE_DEVICES_MC146818RTC_H
#define VSTATE_DEVICES_MC146818RTC_H

#include <stdint.h>

#include "devices/clock.h"
#include "devices/irq.h"
#include "mc146818rtc.vs.h"

/* Register numbers. */
enum {
    VS_RTC_SECONDS = 0x00,
    VS_RTC_SECONDS_ALARM = 0x01,
    VS_RTC_MINUTES = 0x02,
    VS_RTC_MINUTES_ALARM = 0x03,
    VS_RTC_HOURS = 0x04,
    VS_RTC_HOURS_ALARM = 0x05,
    VS_RTC_DAY_OF_WEEK = 0x06,
    VS_RTC_DAY_OF_MONTH = 0x07,
    VS_RTC_MONTH = 0x08,
    VS_RTC_YEAR = 0x09,
    VS_RTC_REG_A = 0x0a,
    VS_RTC_REG_B = 0x0b,
    VS_RTC_REG_C = 0x0c,
    VS_RTC_REG_D = 0x0d,
    VS_RTC_CENTURY = 0x32,
};

/* Register bits. */
enum {
    VS_RTC_A_UIP = 0x80,        /* update in progress */
    VS_RTC_B_SET = 0x80,        /* time frozen for setting */
    VS_RTC_B_PIE = 0x40,        /* periodic interrupt enable */
    VS_RTC_B_AIE = 0x20,        /* alarm interrupt enable */
    VS_RTC_B_UIE = 0x10,        /* update-ended interrupt enable */
    VS_RTC_B_DM = 0x04,         /* binary (not BCD) */
    VS_RTC_B_24H = 0x02,
    VS_RTC_C_IRQF = 0x80,
    VS_RTC_C_PF = 0x40,
    VS_RTC_C_AF = 0x20,
    VS_RTC_C_UF = 0x10,
};

#define VS_RTC_PORT 0x70

typedef struct VsRtc {
    VsRtcState state;        /* the migratable state, exactly the schema's */
    VsClock *clock;
    VsIrq irq;               /* IRQ 8 */
} VsRtc;

/*
 * Wires the RTC and powers it on: 24-hour BCD mode, 32.768 kHz divider,
 * periodic rate 1024 Hz (disabled), time and date from the clock's wall time.
 */
void vs_rtc_init(VsRtc *rtc, VsClock *clock, VsIrq irq);

/* Port I/O at 0x70 (index) and 0x71 (data). */
uint8_t vs_rtc_read(VsRtc *rtc, uint16_t port);
void vs_rtc_write(VsRtc *rtc, uint16_t port, uint8_t val);

/* Raises the interrupts that fell due by the clock's now; returns how many. */
unsigned vs_rtc_run(VsRtc *rtc);

/* The guest's time now, in seconds since 1970 (UTC as the guest keeps it). */
int64_t vs_rtc_time(VsRtc *rtc);

/* The guest's time in the registers as a count of seconds since 1970. */
int64_t vs_rtc_registers_time(const VsRtc *rtc);

#endif
