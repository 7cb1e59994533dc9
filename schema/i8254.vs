/*
 * i8254.vs: the Intel 8254 programmable interval timer (three channels), as
 * QEMU 7.2 migrates it: section "i8254", version 3, minimum 2, 108 bytes.
 * The model is devices/i8254.c.  Times are nanoseconds of the virtual clock.
 *
 * History:
 *   version 1  (QEMU <= 0.12) a hand-written format that QEMU kept loading
 *              through a separate loader for years; when that loader was
 *              removed, the oldest accepted version became 2 for good
 *              (docs/device-guide.md, "Raising the minimum");
 *   version 2  the vmstate form: the channel array and the channel-0 timer
 *              (schema/history/i8254-v2.vs);
 *   version 3  irq_disabled (HPET legacy replacement mode), `since 3`.
 */
type VsI8254Channel "pit channel" version 2 minimum 2 nested {
    i32 count;                  /* the reload value; 0 is written as 0x10000 */
    u16 latched_count;          /* a latched counter value (counter latch) */
    u8  count_latched;          /* which bytes of it remain: RW_STATE_* or 0 */
    u8  status_latched;         /* a read-back status is latched */
    u8  status;                 /* the latched status byte */
    u8  read_state;             /* next byte read: RW_STATE_* */
    u8  write_state;            /* next byte written: RW_STATE_* */
    u8  write_latch;            /* the low byte of a word write */
    u8  rw_mode;                /* access mode of the control word (1..3) */
    u8  mode;                   /* counting mode 0..5 */
    u8  bcd;                    /* BCD counting (kept, not emulated) */
    u8  gate;                   /* gate input level */
    i64 count_load_time;        /* when count was loaded */
    i64 next_transition_time;   /* the next output change of channel 0, -1 none */
}

type VsI8254State "i8254" version 3 minimum 2 pre_save i8254_pre_save
    post_load i8254_post_load {
    /* QEMU's channels[0].irq_disabled: channel 0 drives no interrupt. */
    u32 irq_disabled since 3 default 0;
    VsI8254Channel channels[3] since 2;
    /* QEMU's channels[0].next_transition_time again (the slot of the
     * channel-0 timer before version 3); the hooks keep the two equal. */
    i64 irq_timer;
    /* Not migrated: a mark of the device model holding this state, set
     * by the model, so hooks tell a device's state from a bare copy. */
    local u64 owner;
}
