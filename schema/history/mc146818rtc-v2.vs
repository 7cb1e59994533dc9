/*
 * mc146818rtc-v2.vs: version 2 added the lost-tick compensation state,
 * `since 2`, so version 1 streams still load (minimum 1).
 */
type VsRtcState "mc146818rtc" version 2 minimum 1 {
    buffer cmos_data[128];
    u8     cmos_index;
    i32    tm_sec;
    i32    tm_min;
    i32    tm_hour;
    i32    tm_wday;
    i32    tm_mday;
    i32    tm_mon;
    i32    tm_year;
    timer  periodic_timer;
    i64    next_periodic_time;
    i64    next_second_time;
    timer  second_timer;
    timer  second_timer2;
    u32    irq_coalesced since 2 default 0;
    u32    period since 2 default 0;
}
