/*
 * serial.c - the 16550A UART model: registers, FIFOs, interrupt
 * identification, character timeout, loopback and modem status.
 *
 * Its state is SerialState from schema/serial.vs; this file holds the
 * behaviour and the hooks the schema names.  Behaviour follows QEMU 7.2's
 * UART where the migrated state depends on it (which interrupt IIR shows,
 * when THRE/TEMT change, what a FIFO reset does), so a state loaded from a
 * QEMU stream carries on as it would have there.
 */
#include "devices/serial.h"

#include <string.h>

#define NS_PER_SEC 1000000000LL
/* Modem status is sampled every 10 ms while MSI is enabled. */
#define MODEM_POLL_NS (NS_PER_SEC / 100)
#define LSR_INT_ANY 0x1e
#define MSR_ANY_DELTA 0x0f

static SerialState *core(VsSerial *d)
{
    return &d->regs.state;
}

/* ---- FIFOs ---------------------------------------------------------- */

static void fifo_reset(Fifo8 *f)
{
    f->head = 0;
    f->num = 0;
}

static bool fifo_full(const Fifo8 *f)
{
    return f->num >= f->capacity;
}

static void fifo_push(Fifo8 *f, uint8_t byte)
{
    if (f->capacity == 0 || fifo_full(f)) {
        return;
    }
    f->data[(f->head + f->num) % f->capacity] = byte;
    f->num++;
}

static uint8_t fifo_pop(Fifo8 *f)
{
    uint8_t byte;

    if (f->num == 0 || f->capacity == 0) {
        return 0;
    }
    byte = f->data[f->head];
    f->head = (f->head + 1) % f->capacity;
    f->num--;
    return byte;
}

/* ---- interrupts and parameters ------------------------------------- */

/* Picks the highest-priority pending source for IIR and drives the line. */
static void update_irq(VsSerial *d)
{
    SerialState *s = core(d);
    uint8_t id = VS_UART_IIR_NO_INT;

    if ((s->ier & VS_UART_IER_RLSI) && (s->lsr & LSR_INT_ANY)) {
        id = VS_UART_IIR_RLSI;
    } else if ((s->ier & VS_UART_IER_RDI) && s->timeout_ipending) {
        id = VS_UART_IIR_CTI;
    } else if ((s->ier & VS_UART_IER_RDI) && (s->lsr & VS_UART_LSR_DR) &&
               (!(s->fcr & VS_UART_FCR_FE) || s->recv_fifo.num >= s->recv_fifo_itl)) {
        id = VS_UART_IIR_RDI;
    } else if ((s->ier & VS_UART_IER_THRI) && s->thr_ipending) {
        id = VS_UART_IIR_THRI;
    } else if ((s->ier & VS_UART_IER_MSI) && (s->msr & MSR_ANY_DELTA)) {
        id = VS_UART_IIR_MSI;
    }
    s->iir = id | (s->iir & 0xf0);
    vs_irq_set(&d->irq, id != VS_UART_IIR_NO_INT);
}

/* Recomputes the time one character takes on the line from LCR and the divisor. */
static void update_parameters(SerialState *s)
{
    int64_t speed;
    int frame = 1; /* start bit */

    if (s->divider == 0 || s->divider > s->baudbase) {
        return;
    }
    if (s->lcr & 0x08) {
        frame++; /* parity */
    }
    frame += (s->lcr & 0x03) + 5;       /* data bits */
    frame += (s->lcr & 0x04) ? 2 : 1;   /* stop bits */
    speed = s->baudbase / s->divider;
    s->char_transmit_time = (NS_PER_SEC / speed) * frame;
}

/* The sticky FCR bits and what follows from them (IIR's FIFO bits, trigger level). */
static void write_fcr(SerialState *s, uint8_t val)
{
    static const uint8_t trigger_levels[4] = { 1, 4, 8, 14 };

    s->fcr = val;
    if (val & VS_UART_FCR_FE) {
        s->iir |= VS_UART_IIR_FE;
        s->recv_fifo_itl = trigger_levels[val >> 6];
    } else {
        s->iir &= (uint8_t)~VS_UART_IIR_FE;
    }
}

static int64_t now(const VsSerial *d)
{
    return vs_clock_now(d->clock);
}

/* Samples the backend's modem lines into MSR, setting the delta bits. */
static void update_msl(VsSerial *d)
{
    SerialState *s = core(d);
    uint8_t old = s->msr;

    s->modem_status_poll = -1;
    if (!d->modem_lines) {
        s->poll_msl = -1;
        return;
    }
    s->msr = (uint8_t)((s->msr & 0x0f) | (d->modem_in & 0xf0));
    if (s->msr != old) {
        s->msr |= (uint8_t)(((s->msr >> 4) ^ (old >> 4)) & 0x0f);
        /* TERI reports only the trailing edge of RI. */
        if ((s->msr & VS_UART_MSR_TERI) && !(old & VS_UART_MSR_RI)) {
            s->msr &= (uint8_t)~VS_UART_MSR_TERI;
        }
        update_irq(d);
    }
    if (s->poll_msl > 0) {
        s->modem_status_poll = now(d) + MODEM_POLL_NS;
    }
}

/* ---- transmit and receive ------------------------------------------ */

static void receive_bytes(VsSerial *d, const uint8_t *buf, size_t len);

/* Sends the byte in TSR; false when the backend refused it. */
static bool send_tsr(VsSerial *d)
{
    SerialState *s = core(d);

    if (s->mcr & VS_UART_MCR_LOOP) {
        receive_bytes(d, &s->tsr, 1);
        return true;
    }
    return !d->sink || d->sink(d->sink_opaque, s->tsr);
}

/* Moves bytes from THR or the transmit FIFO through TSR to the backend. */
static void transmit(VsSerial *d)
{
    SerialState *s = core(d);

    do {
        if (s->tsr_retry == 0) {
            if (s->fcr & VS_UART_FCR_FE) {
                s->tsr = fifo_pop(&s->xmit_fifo);
                if (s->xmit_fifo.num == 0) {
                    s->lsr |= VS_UART_LSR_THRE;
                }
            } else {
                s->tsr = s->thr;
                s->lsr |= VS_UART_LSR_THRE;
            }
            if ((s->lsr & VS_UART_LSR_THRE) && !s->thr_ipending) {
                s->thr_ipending = 1;
                update_irq(d);
            }
        }
        if (!send_tsr(d) && s->tsr_retry < VS_UART_MAX_XMIT_RETRY) {
            /* Hold the byte in TSR until the backend is ready again. */
            s->tsr_retry++;
            return;
        }
        s->tsr_retry = 0;
    } while (!(s->lsr & VS_UART_LSR_THRE));
    s->lsr |= VS_UART_LSR_TEMT;
}

static void recv_fifo_put(SerialState *s, uint8_t byte)
{
    /* A full receive FIFO keeps its contents: the new byte is an overrun. */
    if (fifo_full(&s->recv_fifo)) {
        s->lsr |= VS_UART_LSR_OE;
    } else {
        fifo_push(&s->recv_fifo, byte);
    }
}

static void receive_bytes(VsSerial *d, const uint8_t *buf, size_t len)
{
    SerialState *s = core(d);

    if (len == 0) {
        return;
    }
    if (s->fcr & VS_UART_FCR_FE) {
        for (size_t i = 0; i < len; i++) {
            recv_fifo_put(s, buf[i]);
        }
        s->lsr |= VS_UART_LSR_DR;
        /* The character timeout: four character times without a read. */
        s->fifo_timeout_timer = now(d) + s->char_transmit_time * 4;
    } else {
        if (s->lsr & VS_UART_LSR_DR) {
            s->lsr |= VS_UART_LSR_OE;
        }
        s->rbr = buf[len - 1];
        s->lsr |= VS_UART_LSR_DR;
    }
    update_irq(d);
}

size_t vs_serial_can_receive(const VsSerial *d)
{
    const SerialState *s = &d->regs.state;

    if (!(s->fcr & VS_UART_FCR_FE)) {
        return !(s->lsr & VS_UART_LSR_DR);
    }
    if (s->recv_fifo.num >= VS_UART_FIFO_LENGTH) {
        return 0;
    }
    /* Offer up to the trigger level, so the guest sees its interrupt in time. */
    return s->recv_fifo.num <= s->recv_fifo_itl ? s->recv_fifo_itl - s->recv_fifo.num : 1;
}

size_t vs_serial_receive(VsSerial *d, const uint8_t *buf, size_t len)
{
    size_t room = vs_serial_can_receive(d);
    size_t take = len < room ? len : room;

    receive_bytes(d, buf, take);
    return take;
}

void vs_serial_set_feed(VsSerial *d, VsSerialFeed feed, void *opaque)
{
    d->feed = feed;
    d->feed_opaque = opaque;
}

size_t vs_serial_pull(VsSerial *d)
{
    uint8_t buf[VS_UART_FIFO_LENGTH];
    size_t room = vs_serial_can_receive(d);
    size_t got;

    if (!d->feed || room == 0) {
        return 0;
    }
    got = d->feed(d->feed_opaque, buf, MIN(room, sizeof(buf)));
    got = MIN(got, room);
    receive_bytes(d, buf, got);
    return got;
}

void vs_serial_receive_break(VsSerial *d)
{
    SerialState *s = core(d);

    s->rbr = 0;
    recv_fifo_put(s, 0);
    s->lsr |= VS_UART_LSR_BI | VS_UART_LSR_DR;
    update_irq(d);
}

void vs_serial_backend_ready(VsSerial *d)
{
    if (core(d)->tsr_retry > 0) {
        transmit(d);
    }
}

void vs_serial_set_modem_lines(VsSerial *d, uint8_t msr_bits)
{
    d->modem_in = msr_bits & 0xf0;
    if (core(d)->poll_msl >= 0) {
        update_msl(d);
    }
}

/* ---- timers --------------------------------------------------------- */

static void fifo_timeout(VsSerial *d)
{
    SerialState *s = core(d);

    s->fifo_timeout_timer = -1;
    if (s->recv_fifo.num) {
        s->timeout_ipending = 1;
        update_irq(d);
    }
}

void vs_serial_run_timers(VsSerial *d)
{
    SerialState *s = core(d);
    int64_t t = now(d);

    if (s->fifo_timeout_timer >= 0 && s->fifo_timeout_timer <= t) {
        fifo_timeout(d);
    }
    if (s->modem_status_poll >= 0 && s->modem_status_poll <= t) {
        update_msl(d);
    }
}

int64_t vs_serial_next_deadline(const VsSerial *d)
{
    const SerialState *s = &d->regs.state;
    int64_t a = s->fifo_timeout_timer, b = s->modem_status_poll;

    if (a < 0) {
        return b < 0 ? -1 : b;
    }
    return (b < 0 || a < b) ? a : b;
}

/* ---- registers ------------------------------------------------------ */

static void write_thr(VsSerial *d, uint8_t val)
{
    SerialState *s = core(d);

    s->thr = val;
    if (s->fcr & VS_UART_FCR_FE) {
        /* A transmit overrun drops the oldest byte. */
        if (fifo_full(&s->xmit_fifo)) {
            fifo_pop(&s->xmit_fifo);
        }
        fifo_push(&s->xmit_fifo, val);
    }
    s->thr_ipending = 0;
    s->lsr &= (uint8_t)~(VS_UART_LSR_THRE | VS_UART_LSR_TEMT);
    update_irq(d);
    if (s->tsr_retry == 0) {
        transmit(d);
    }
}

static void write_ier(VsSerial *d, uint8_t val)
{
    SerialState *s = core(d);
    uint8_t changed = (s->ier ^ val) & 0x0f;

    s->ier = val & 0x0f;
    if ((changed & VS_UART_IER_MSI) && s->poll_msl >= 0) {
        if (s->ier & VS_UART_IER_MSI) {
            s->poll_msl = 1;
            update_msl(d);
        } else {
            s->modem_status_poll = -1;
            s->poll_msl = 0;
        }
    }
    /* Enabling THRI while THR is empty raises it again (drivers rely on it). */
    if (changed & VS_UART_IER_THRI) {
        s->thr_ipending = (s->ier & VS_UART_IER_THRI) && (s->lsr & VS_UART_LSR_THRE);
    }
    if (changed) {
        update_irq(d);
    }
}

static void write_fcr_reg(VsSerial *d, uint8_t val)
{
    SerialState *s = core(d);

    /* Switching the FIFOs on or off flushes both. */
    if ((val ^ s->fcr) & VS_UART_FCR_FE) {
        val |= VS_UART_FCR_XFR | VS_UART_FCR_RFR;
    }
    if (val & VS_UART_FCR_RFR) {
        s->lsr &= (uint8_t)~(VS_UART_LSR_DR | VS_UART_LSR_BI);
        s->fifo_timeout_timer = -1;
        s->timeout_ipending = 0;
        fifo_reset(&s->recv_fifo);
    }
    if (val & VS_UART_FCR_XFR) {
        s->lsr |= VS_UART_LSR_THRE;
        s->thr_ipending = 1;
        fifo_reset(&s->xmit_fifo);
    }
    write_fcr(s, val & 0xc9);
    update_irq(d);
}

void vs_serial_write(VsSerial *d, unsigned addr, uint8_t val)
{
    SerialState *s = core(d);

    switch (addr & 7) {
    case 0:
        if (s->lcr & VS_UART_LCR_DLAB) {
            s->divider = (uint16_t)((s->divider & 0xff00) | val);
            update_parameters(s);
        } else {
            write_thr(d, val);
        }
        break;
    case 1:
        if (s->lcr & VS_UART_LCR_DLAB) {
            s->divider = (uint16_t)((s->divider & 0x00ff) | (val << 8));
            update_parameters(s);
        } else {
            write_ier(d, val);
        }
        break;
    case 2:
        write_fcr_reg(d, val);
        break;
    case 3:
        s->lcr = val;
        update_parameters(s);
        s->last_break_enable = (val >> 6) & 1;
        break;
    case 4: {
        uint8_t old = s->mcr;

        s->mcr = val & 0x1f;
        /* New RTS/DTR: sample the lines again after one character time. */
        if (!(val & VS_UART_MCR_LOOP) && s->poll_msl >= 0 && old != s->mcr) {
            s->modem_status_poll = now(d) + s->char_transmit_time;
        }
        break;
    }
    case 7:
        s->scr = val;
        break;
    default: /* LSR and MSR are read-only */
        break;
    }
}

static uint8_t read_rbr(VsSerial *d)
{
    SerialState *s = core(d);
    uint8_t ret;

    if (s->fcr & VS_UART_FCR_FE) {
        ret = fifo_pop(&s->recv_fifo);
        if (s->recv_fifo.num == 0) {
            s->lsr &= (uint8_t)~(VS_UART_LSR_DR | VS_UART_LSR_BI);
        } else {
            s->fifo_timeout_timer = now(d) + s->char_transmit_time * 4;
        }
        s->timeout_ipending = 0;
    } else {
        ret = s->rbr;
        s->lsr &= (uint8_t)~(VS_UART_LSR_DR | VS_UART_LSR_BI);
    }
    update_irq(d);
    /* Room was made: ask the source for more (not in loopback, which receives nothing). */
    if (!(s->mcr & VS_UART_MCR_LOOP)) {
        vs_serial_pull(d);
    }
    return ret;
}

static uint8_t read_msr(VsSerial *d)
{
    SerialState *s = core(d);
    uint8_t ret;

    if (s->mcr & VS_UART_MCR_LOOP) {
        /* Loopback: OUT2/OUT1 -> DCD/RI, RTS -> CTS, DTR -> DSR. */
        return (uint8_t)(((s->mcr & 0x0c) << 4) | ((s->mcr & 0x02) << 3) |
                         ((s->mcr & 0x01) << 5));
    }
    if (s->poll_msl >= 0) {
        update_msl(d);
    }
    ret = s->msr;
    if (s->msr & MSR_ANY_DELTA) {
        s->msr &= 0xf0;
        update_irq(d);
    }
    return ret;
}

uint8_t vs_serial_read(VsSerial *d, unsigned addr)
{
    SerialState *s = core(d);
    uint8_t ret = 0;

    switch (addr & 7) {
    case 0:
        ret = (s->lcr & VS_UART_LCR_DLAB) ? (uint8_t)s->divider : read_rbr(d);
        break;
    case 1:
        ret = (s->lcr & VS_UART_LCR_DLAB) ? (uint8_t)(s->divider >> 8) : s->ier;
        break;
    case 2:
        ret = s->iir;
        /* Reading IIR acknowledges a THRE interrupt. */
        if ((ret & VS_UART_IIR_ID) == VS_UART_IIR_THRI) {
            s->thr_ipending = 0;
            update_irq(d);
        }
        break;
    case 3:
        ret = s->lcr;
        break;
    case 4:
        ret = s->mcr;
        break;
    case 5:
        ret = s->lsr;
        /* Reading LSR clears the break and overrun indications. */
        if (s->lsr & (VS_UART_LSR_BI | VS_UART_LSR_OE)) {
            s->lsr &= (uint8_t)~(VS_UART_LSR_BI | VS_UART_LSR_OE);
            update_irq(d);
        }
        break;
    case 6:
        ret = read_msr(d);
        break;
    default:
        ret = s->scr;
        break;
    }
    return ret;
}

/* ---- life cycle ----------------------------------------------------- */

void vs_serial_reset(VsSerial *d)
{
    SerialState *s = core(d);
    uint32_t baudbase = s->baudbase ? s->baudbase : VS_UART_PC_BAUDBASE;

    memset(s, 0, sizeof(*s));
    s->baudbase = baudbase;
    s->recv_fifo.capacity = VS_UART_FIFO_LENGTH;
    s->xmit_fifo.capacity = VS_UART_FIFO_LENGTH;
    s->iir = VS_UART_IIR_NO_INT;
    s->lsr = VS_UART_LSR_TEMT | VS_UART_LSR_THRE;
    s->msr = VS_UART_MSR_DCD | VS_UART_MSR_DSR | VS_UART_MSR_CTS;
    s->divider = 0x0c; /* 9600 baud */
    s->mcr = VS_UART_MCR_OUT2;
    s->recv_fifo_itl = 1;
    s->char_transmit_time = (NS_PER_SEC / 9600) * 10;
    s->fifo_timeout_timer = -1;
    s->modem_status_poll = -1;
    vs_irq_lower(&d->irq);
    update_msl(d);
    s->msr &= (uint8_t)~MSR_ANY_DELTA;
}

void vs_serial_init(VsSerial *d, VsClock *clock, VsIrq irq, VsSerialSink sink,
                    void *sink_opaque, bool modem_lines)
{
    memset(d, 0, sizeof(*d));
    d->clock = clock;
    d->irq = irq;
    d->sink = sink;
    d->sink_opaque = sink_opaque;
    d->modem_lines = modem_lines;
    /* Lines a backend without modem control would report: carrier, ready, clear. */
    d->modem_in = VS_UART_MSR_DCD | VS_UART_MSR_DSR | VS_UART_MSR_CTS;
    vs_serial_reset(d);
}

bool vs_serial_visit(VsSerial *d, VsVisitor *v, GError **errp)
{
    if (!vs_visit_ISASerialState(v, "serial", &d->regs, errp)) {
        return false;
    }
    if (vs_visit_is_load(v)) {
        update_irq(d);
    }
    return true;
}

/* ---- schema hooks and predicates ------------------------------------ */

bool serial_pre_save(SerialState *s, GError **errp)
{
    (void)errp;
    s->fcr_vmstate = s->fcr;
    return true;
}

/* Markers for "the stream did not say": post_load derives these then. */
bool serial_pre_load(SerialState *s, GError **errp)
{
    (void)errp;
    s->thr_ipending = -1;
    s->poll_msl = -1;
    return true;
}

bool serial_post_load(SerialState *s, uint32_t version, GError **errp)
{
    if (version < 3) {
        s->fcr_vmstate = 0;
    }
    if (s->thr_ipending == -1) {
        s->thr_ipending = (s->iir & VS_UART_IIR_ID) == VS_UART_IIR_THRI;
    }
    /* A byte waits in TSR exactly when the transmitter is not empty. */
    if (s->tsr_retry > 0) {
        if (s->lsr & VS_UART_LSR_TEMT) {
            g_set_error(errp, VS_VISIT_ERROR, VS_VISIT_ERROR_MISMATCH,
                        "inconsistent state: transmitter empty with tsr_retry=%u",
                        s->tsr_retry);
            return false;
        }
        if (s->tsr_retry > VS_UART_MAX_XMIT_RETRY) {
            s->tsr_retry = VS_UART_MAX_XMIT_RETRY;
        }
    } else if (!(s->lsr & VS_UART_LSR_TEMT)) {
        g_set_error(errp, VS_VISIT_ERROR, VS_VISIT_ERROR_MISMATCH,
                    "inconsistent state: transmitter not empty with tsr_retry=0");
        return false;
    }
    s->last_break_enable = (s->lcr >> 6) & 1;
    write_fcr(s, s->fcr_vmstate);
    update_parameters(s);
    return true;
}

bool serial_thr_ipending_needed(const SerialState *s, uint32_t version)
{
    (void)version;
    /* Without THRI enabled THRE is sampled again when it is: nothing to send. */
    if (!(s->ier & VS_UART_IER_THRI)) {
        return false;
    }
    return s->thr_ipending != ((s->iir & VS_UART_IIR_ID) == VS_UART_IIR_THRI);
}

bool serial_recv_fifo_needed(const SerialState *s, uint32_t version)
{
    (void)version;
    return s->recv_fifo.num != 0;
}

bool serial_xmit_fifo_needed(const SerialState *s, uint32_t version)
{
    (void)version;
    return s->xmit_fifo.num != 0;
}

bool serial_fifo_timeout_timer_needed(const SerialState *s, uint32_t version)
{
    (void)version;
    return s->fifo_timeout_timer != -1;
}
