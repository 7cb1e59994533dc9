/* counter.vs: the state of a small timer device, declared once. */
type Counter "counter" version 2 minimum 1 {
    u32 ticks;
    i16 delta;
    u8  nlog;
    u8  log[nlog] max 16;          /* the last events, newest first */
    u32 flags since 2 default 0;   /* version 1 streams lack it */
    subsection "counter/alarm" version 1 needed (alarm != 0) {
        u64 alarm;
    }
}
