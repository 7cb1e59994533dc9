/*
 * mc146818rtc-v3.vs: version 3 before the reinjection subsection.  The
 * struct tm and the second timers became unused bytes (still sent, so
 * older versions keep their layout), the time became base_rtc, last_update
 * and offset.  The current schema adds "mc146818rtc/irq_reinject_on_ack_count"
 * with a `needed` predicate: a stream without it is what this schema reads.
 */
type VsRtcState "mc146818rtc" version 3 minimum 1 {
    buffer cmos_data[128];
    u8     cmos_index;
    unused 28;
    timer  periodic_timer;
    i64    next_periodic_time;
    unused 24;
    u32    irq_coalesced since 2 default 0;
    u32    period since 2 default 0;
    u64    base_rtc since 3 default 0;
    u64    last_update since 3 default 0;
    i64    offset since 3 default 0;
    timer  update_timer since 3;
    u64    next_alarm_time since 3 default 0;
}
