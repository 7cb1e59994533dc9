/*
 * mc146818rtc.vs: the Motorola MC146818 real-time clock and CMOS RAM, as
 * QEMU 7.2 migrates it: section "mc146818rtc", version 3, minimum 1.  The
 * model is devices/mc146818rtc.c.
 *
 * The guest's time is base_rtc seconds + (now - last_update) + offset ns,
 * `now` being the RTC's clock.  pre_save refreshes the time registers and
 * folds the elapsed time into base_rtc/offset; post_load ties the loaded
 * time to the loading side's clock, so the time keeps running from where
 * the stream left it.
 *
 * History: version 1 (schema/history/mc146818rtc-v1.vs) kept the time as a
 * struct tm and three second timers; version 2 added the lost-tick fields
 * (`since 2`, mc146818rtc-v2.vs); version 3 replaced the struct tm and the
 * timers by base_rtc..next_alarm_time, leaving their bytes unused
 * (mc146818rtc-v3.vs); a later QEMU added the reinjection counter as a
 * subsection sent only when it is not zero, so version 3 streams without
 * it still load everywhere.
 */
type VsRtcState "mc146818rtc" version 3 minimum 1
    pre_save mc146818rtc_pre_save post_load mc146818rtc_post_load {
    buffer cmos_data[128];      /* registers 0x00-0x0d, then CMOS RAM */
    u8     cmos_index;          /* the register port 0x70 selected */
    unused 28;                  /* version 1-2: the time as seven i32 */
    timer  periodic_timer;      /* the next periodic interrupt, -1 none */
    i64    next_periodic_time;
    unused 24;                  /* version 1-2: the second timers */
    u32    irq_coalesced since 2 default 0;   /* periodic ticks not yet delivered */
    u32    period since 2 default 0;          /* periodic rate in 32 kHz ticks */
    u64    base_rtc since 3 default 0;        /* guest time (s) at last_update */
    u64    last_update since 3 default 0;     /* RTC clock (ns) of base_rtc */
    i64    offset since 3 default 0;          /* sub-second part (ns) */
    timer  update_timer since 3;              /* the next update-ended check */
    u64    next_alarm_time since 3 default 0; /* RTC clock (ns) of the alarm */
    /* Not migrated: a mark of the device model holding this state, set
     * by the model, so hooks tell a device's state from a bare copy. */
    local u64 owner;
    subsection "mc146818rtc/irq_reinject_on_ack_count" version 1
        needed (irq_reinject_on_ack_count != 0) {
        u16 irq_reinject_on_ack_count;
    }
}
