/*
 * i8254-v2.vs: the "i8254" section in its version 2 form (QEMU 0.13 to 1.2):
 * the channel array and the channel-0 interrupt timer (an armed timer's
 * expiry, -1 when stopped), no irq_disabled.  Version 3 added irq_disabled
 * in front, `since 3` with default 0, so these streams still load.
 */
type VsI8254Channel "pit channel" version 2 minimum 2 nested {
    i32 count;
    u16 latched_count;
    u8  count_latched;
    u8  status_latched;
    u8  status;
    u8  read_state;
    u8  write_state;
    u8  write_latch;
    u8  rw_mode;
    u8  mode;
    u8  bcd;
    u8  gate;
    i64 count_load_time;
    i64 next_transition_time;
}

type VsI8254State "i8254" version 2 minimum 2 {
    VsI8254Channel channels[3] since 2;
    timer irq_timer;
}
