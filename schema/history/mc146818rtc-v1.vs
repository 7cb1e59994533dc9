/*
 * mc146818rtc-v1.vs: the "mc146818rtc" section in its first vmstate form:
 * the CMOS bytes, the time as a struct tm of seven i32, the periodic timer
 * and the three timers that drove the once-a-second update.
 */
type VsRtcState "mc146818rtc" version 1 {
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
}
