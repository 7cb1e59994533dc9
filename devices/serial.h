/*
 * serial.h - a 16550A UART, the PC's COM port.
 *
 * The migratable state is the schema's (schema/serial.vs, QEMU 7.2's
 * "serial" section): VsSerial embeds it and adds only what a board wires
 * up (interrupt line, clock, character backend).  Registers are reached
 * through vs_serial_read()/vs_serial_write() at offsets 0-7; characters
 * leave through the sink callback and arrive through vs_serial_receive()
 * (pushed) or a feed function the UART pulls from when it has room.
 * Time-driven events (character timeout, modem-status polling) fire from
 * vs_serial_run_timers() once the clock has passed their deadline.
 */
#ifndef VSTATE_DEVICES_SERIAL_H
#define VSTATE_DEVICES_SERIAL_H

#include <stddef.h>
#include <stdint.h>

#include "devices/clock.h"
#include "devices/irq.h"
#include "serial.vs.h"

/* Register offsets (DLL/DLM replace RBR/THR and IER while LCR.DLAB is set). */
enum {
    VS_UART_RBR = 0, VS_UART_THR = 0, VS_UART_DLL = 0,
    VS_UART_IER = 1, VS_UART_DLM = 1,
    VS_UART_IIR = 2, VS_UART_FCR = 2,
    VS_UART_LCR = 3, VS_UART_MCR = 4, VS_UART_LSR = 5, VS_UART_MSR = 6, VS_UART_SCR = 7,
};

/* Register bits the tests and boards use. */
enum {
    VS_UART_LCR_DLAB = 0x80,
    VS_UART_IER_RDI = 0x01, VS_UART_IER_THRI = 0x02, VS_UART_IER_RLSI = 0x04,
    VS_UART_IER_MSI = 0x08,
    VS_UART_IIR_NO_INT = 0x01, VS_UART_IIR_ID = 0x06, VS_UART_IIR_MSI = 0x00,
    VS_UART_IIR_THRI = 0x02, VS_UART_IIR_RDI = 0x04, VS_UART_IIR_RLSI = 0x06,
    VS_UART_IIR_CTI = 0x0c, VS_UART_IIR_FE = 0xc0,
    VS_UART_FCR_FE = 0x01, VS_UART_FCR_RFR = 0x02, VS_UART_FCR_XFR = 0x04,
    VS_UART_MCR_DTR = 0x01, VS_UART_MCR_RTS = 0x02, VS_UART_MCR_OUT1 = 0x04,
    VS_UART_MCR_OUT2 = 0x08, VS_UART_MCR_LOOP = 0x10,
    VS_UART_LSR_DR = 0x01, VS_UART_LSR_OE = 0x02, VS_UART_LSR_BI = 0x10,
    VS_UART_LSR_THRE = 0x20, VS_UART_LSR_TEMT = 0x40,
    VS_UART_MSR_DCTS = 0x01, VS_UART_MSR_DDSR = 0x02, VS_UART_MSR_TERI = 0x04,
    VS_UART_MSR_DDCD = 0x08, VS_UART_MSR_CTS = 0x10, VS_UART_MSR_DSR = 0x20,
    VS_UART_MSR_RI = 0x40, VS_UART_MSR_DCD = 0x80,
};

#define VS_UART_FIFO_LENGTH 16
#define VS_UART_MAX_XMIT_RETRY 4
/* The PC's 1.8432 MHz crystal divided by 16. */
#define VS_UART_PC_BAUDBASE 115200

/*
 * The character backend: takes one transmitted byte; returns false when it
 * cannot take it now (the UART then holds it in TSR and retries when
 * vs_serial_backend_ready() is called, up to VS_UART_MAX_XMIT_RETRY times).
 */
typedef bool (*VsSerialSink)(void *opaque, uint8_t byte);
/*
 * A character source the UART pulls from: fills up to @max bytes of @buf
 * and returns how many.  Called when the UART has room (vs_serial_pull(),
 * and after each RBR read, as QEMU's UART asks its backend for more).
 */
typedef size_t (*VsSerialFeed)(void *opaque, uint8_t *buf, size_t max);

typedef struct VsSerial {
    ISASerialState regs;     /* the migratable state, exactly the schema's */
    VsIrq irq;
    VsClock *clock;
    VsSerialSink sink;       /* NULL: output is discarded */
    void *sink_opaque;
    VsSerialFeed feed;       /* NULL: input arrives by vs_serial_receive() only */
    void *feed_opaque;
    bool modem_lines;        /* the backend has modem lines (a real port) */
    uint8_t modem_in;        /* its CTS/DSR/DCD/RI, as MSR bits 4-7 */
} VsSerial;

/* Wires a UART and resets it.  @modem_lines: whether MSR follows a backend. */
void vs_serial_init(VsSerial *d, VsClock *clock, VsIrq irq, VsSerialSink sink,
                    void *sink_opaque, bool modem_lines);
/* Power-on state: 9600 8N1, FIFOs off and empty, no interrupt. */
void vs_serial_reset(VsSerial *d);

uint8_t vs_serial_read(VsSerial *d, unsigned addr);
void vs_serial_write(VsSerial *d, unsigned addr, uint8_t val);

/* How many bytes the UART takes now (trigger level aware, as QEMU). */
size_t vs_serial_can_receive(const VsSerial *d);
/* Feeds received bytes; returns how many were taken (the rest overrun). */
size_t vs_serial_receive(VsSerial *d, const uint8_t *buf, size_t len);
/* Connects a character source (see VsSerialFeed); NULL disconnects. */
void vs_serial_set_feed(VsSerial *d, VsSerialFeed feed, void *opaque);
/* Pulls from the source as much as the UART takes now; returns how much. */
size_t vs_serial_pull(VsSerial *d);
/* A break condition on the line. */
void vs_serial_receive_break(VsSerial *d);
/* The backend can take output again: retries the byte held in TSR. */
void vs_serial_backend_ready(VsSerial *d);
/* The backend's modem inputs changed (MSR bits 4-7). */
void vs_serial_set_modem_lines(VsSerial *d, uint8_t msr_bits);

/* Fires the timers whose deadline the clock has reached. */
void vs_serial_run_timers(VsSerial *d);
/* The earliest armed deadline in ns, or -1. */
int64_t vs_serial_next_deadline(const VsSerial *d);

/*
 * Saves or loads the "serial" section through @v (the visitor decides the
 * direction).  After a load the interrupt line follows the loaded state.
 */
bool vs_serial_visit(VsSerial *d, VsVisitor *v, GError **errp);

#endif
