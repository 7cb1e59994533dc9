/*
 * serial.vs: the 16550A UART (devices/serial.c), with the wire layout of
 * QEMU 7.2's "serial" section.
 *
 * QEMU registers the ISA UART's section as "serial" version 3 holding one
 * member, the UART core, which is itself a struct also called "serial"
 * (VMSTATE_STRUCT of vmstate_serial): the core's members and subsections
 * sit inside the section.  A nested struct is always walked at its own
 * current version, so `divider` and `fcr_vmstate` are on the wire even in a
 * version 2 section; only the section's own header carries 2 or 3.
 */

/*
 * QEMU's Fifo8: a ring of `capacity` bytes.  The capacity is the device's
 * (16 for a 16550A), never on the wire: the data array's count is that
 * local member.  head and num come from the stream, so they are checked
 * before the model indexes with them.
 */
type Fifo8 "Fifo8" version 1 nested {
    local u32 capacity;
    buffer data[capacity] max 16;
    u32 head;
    u32 num;
    validate in_bounds (num <= capacity && (head < capacity || (head == 0 && capacity == 0)));
}

/* The UART core: registers, FIFOs, timers. */
type SerialState "serial" version 3 minimum 2 nested
    pre_save serial_pre_save pre_load serial_pre_load post_load serial_post_load {
    u16 divider since 2;
    u8  rbr;
    u8  ier;
    u8  iir;
    u8  lcr;
    u8  mcr;
    u8  lsr;
    u8  msr;
    u8  scr;
    /* The FIFO control register as last written; fcr below is the live one. */
    u8  fcr_vmstate since 3;

    /* Device-side state that QEMU does not migrate (rebuilt by post_load). */
    local u8  fcr;
    local u32 baudbase;
    local u8  recv_fifo_itl;
    local u8  last_break_enable;
    local i64 char_transmit_time;

    /* An interrupt for "transmitter empty" pending other than IIR says. */
    subsection "serial/thr_ipending" version 1 needed serial_thr_ipending_needed {
        i32 thr_ipending;
    }
    /* A character in the transmit shift register waiting for the backend. */
    subsection "serial/tsr" version 1 needed (tsr_retry != 0) {
        u32 tsr_retry;
        u8  thr;
        u8  tsr;
    }
    subsection "serial/recv_fifo" version 1 needed serial_recv_fifo_needed {
        Fifo8 recv_fifo;
    }
    subsection "serial/xmit_fifo" version 1 needed serial_xmit_fifo_needed {
        Fifo8 xmit_fifo;
    }
    /* The character timeout (four character times without a read). */
    subsection "serial/fifo_timeout_timer" version 1 needed serial_fifo_timeout_timer_needed {
        timer fifo_timeout_timer;
    }
    subsection "serial/timeout_ipending" version 1 needed (timeout_ipending != 0) {
        i32 timeout_ipending;
    }
    /* Modem-status polling, present when the backend has modem lines. */
    subsection "serial/poll" version 1 needed (poll_msl >= 0) {
        i32   poll_msl;
        timer modem_status_poll;
    }
}

/* The ISA UART: QEMU's "serial" section of an isa-serial device. */
type ISASerialState "serial" version 3 minimum 2 {
    SerialState state;
}
