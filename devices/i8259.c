/*
 * i8259.c - the PC's 8259A interrupt controller pair (see i8259.h).
 *
 * Priorities are kept as in the state QEMU migrates: priority_add is the
 * line that currently has the highest priority, so "priority p" (0 highest)
 * is line (p + priority_add) & 7.  Rotation moves priority_add to the line
 * after the one just served.
 */
#include "devices/i8259.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Priority value meaning "no line": lower than every real one. */
#define NO_PRIORITY 8
/* The master's input the slave is cascaded on. */
#define CASCADE_LINE 2

/*
 * Hooks reach the device through its state, but walkers also run over bare
 * copies (the stream loader decodes into scratch objects).  The state's
 * local `owner` holds this mark of the device's address; a state without
 * the right mark is not inside a device, and the hooks leave the device
 * part out.  Only integers are compared before the pointer is formed.
 */
#define OWNER_MARK 0x7673646576696365ull

static uint64_t owner_mark(uintptr_t device)
{
    return (uint64_t)device ^ OWNER_MARK;
}

/* The chip holding @s, or NULL for a bare state. */
static VsI8259Chip *chip_of_state(VsI8259State *s)
{
    uintptr_t chip = (uintptr_t)s - offsetof(VsI8259Chip, state);

    return s->owner == owner_mark(chip) ? (VsI8259Chip *)chip : NULL;
}

/* The priority (0 highest) of the highest-priority line set in @lines. */
static int highest_priority(const VsI8259State *s, uint8_t lines)
{
    for (int p = 0; p < 8; p++) {
        if (lines & (1u << ((p + s->priority_add) & 7))) {
            return p;
        }
    }
    return NO_PRIORITY;
}

/* The line this chip would signal on its output, or -1. */
static int chip_pending(const VsI8259Chip *c)
{
    const VsI8259State *s = &c->state;
    int request = highest_priority(s, s->irr & ~s->imr);
    uint8_t in_service = s->isr;

    if (request == NO_PRIORITY) {
        return -1;
    }
    /* Special mask mode: masked lines do not block lower priorities. */
    if (s->special_mask) {
        in_service &= ~s->imr;
    }
    /* Special fully nested mode: the slave may interrupt its own service. */
    if (s->special_fully_nested_mode && c->master) {
        in_service &= ~(1u << CASCADE_LINE);
    }
    if (request < highest_priority(s, in_service)) {
        return (request + s->priority_add) & 7;
    }
    return -1;
}

static bool line_is_level(const VsI8259State *s, uint8_t bit)
{
    return s->ltim || (s->elcr & bit);
}

/* One input line of one chip; edges are detected against last_irr. */
static void chip_set_input(VsI8259Chip *c, int line, int level)
{
    VsI8259State *s = &c->state;
    uint8_t bit = 1u << line;

    if (line_is_level(s, bit)) {
        if (level) {
            s->irr |= bit;
            s->last_irr |= bit;
        } else {
            s->irr &= ~bit;
            s->last_irr &= ~bit;
        }
        return;
    }
    if (level) {
        if (!(s->last_irr & bit)) {
            s->irr |= bit;
        }
        s->last_irr |= bit;
    } else {
        s->last_irr &= ~bit;
    }
}

/* Propagates the slave's output to the master and the master's to the CPU. */
static void pair_update(VsI8259Pair *pair)
{
    int level;

    chip_set_input(&pair->chips[0], CASCADE_LINE, chip_pending(&pair->chips[1]) >= 0);
    level = chip_pending(&pair->chips[0]) >= 0;
    pair->intr_level = level;
    vs_irq_set(&pair->intr, level);
}

/* Power-on and ICW1 reset; ELCR and LTIM survive (they are not ICW state). */
static void chip_reset(VsI8259Chip *c)
{
    VsI8259State *s = &c->state;
    uint8_t elcr = s->elcr, ltim = s->ltim, irr = s->irr & s->elcr;
    uint64_t owner = s->owner;

    memset(s, 0, sizeof(*s));
    s->owner = owner;
    s->elcr = elcr;
    s->ltim = ltim;
    /* Level-triggered requests stay asserted while their line is. */
    s->irr = irr;
}

/* The CPU (or a poll) takes @line: it goes in service unless in auto-EOI. */
static void chip_take(VsI8259Chip *c, int line)
{
    VsI8259State *s = &c->state;
    uint8_t bit = 1u << line;

    if (s->auto_eoi) {
        if (s->rotate_on_auto_eoi) {
            s->priority_add = (line + 1) & 7;
        }
    } else {
        s->isr |= bit;
    }
    if (!line_is_level(s, bit)) {
        s->irr &= ~bit;
    }
}

void vs_i8259_init(VsI8259Pair *pair, VsIrq intr)
{
    memset(pair, 0, sizeof(*pair));
    pair->intr = intr;
    for (int i = 0; i < 2; i++) {
        pair->chips[i].pair = pair;
        pair->chips[i].master = i == 0;
        pair->chips[i].state.owner = owner_mark((uintptr_t)&pair->chips[i]);
        chip_reset(&pair->chips[i]);
    }
    /* The PIIX's ELCR: lines 0-2 of the master and 8 and 13 are edge only. */
    pair->chips[0].elcr_mask = 0xf8;
    pair->chips[1].elcr_mask = 0xde;
    vs_irq_lower(&pair->intr);
}

void vs_i8259_set_irq(VsI8259Pair *pair, int irq, int level)
{
    if (irq < 0 || irq > 15) {
        return;
    }
    chip_set_input(&pair->chips[irq >> 3], irq & 7, level);
    pair_update(pair);
}

static void input_handler(void *opaque, int line, int level)
{
    vs_i8259_set_irq(opaque, line, level);
}

VsIrq vs_i8259_input(VsI8259Pair *pair, int irq)
{
    return vs_irq_make(input_handler, pair, irq);
}

int vs_i8259_pending(const VsI8259Pair *pair)
{
    int line = chip_pending(&pair->chips[0]);
    int slave_line;

    if (line < 0) {
        return -1;
    }
    if (line == CASCADE_LINE && !pair->chips[0].state.single_mode) {
        slave_line = chip_pending(&pair->chips[1]);
        return slave_line < 0 ? -1 : 8 + slave_line;
    }
    return line;
}

uint8_t vs_i8259_acknowledge(VsI8259Pair *pair)
{
    VsI8259Chip *master = &pair->chips[0], *slave = &pair->chips[1];
    int line = chip_pending(master);
    uint8_t vector;

    if (line < 0) {
        /* The request went away before INTA: spurious IRQ 7. */
        vector = master->state.irq_base + 7;
    } else if (line == CASCADE_LINE && !master->state.single_mode) {
        int slave_line = chip_pending(slave);

        chip_take(master, line);
        if (slave_line < 0) {
            vector = slave->state.irq_base + 7;
        } else {
            chip_take(slave, slave_line);
            vector = slave->state.irq_base + slave_line;
        }
    } else {
        chip_take(master, line);
        vector = master->state.irq_base + line;
    }
    pair_update(pair);
    return vector;
}

/* The poll command's answer: 0x80 | line when one is pending (it is taken). */
static uint8_t chip_poll(VsI8259Chip *c)
{
    int line = chip_pending(c);

    c->state.poll = 0;
    if (line < 0) {
        return 0;
    }
    chip_take(c, line);
    pair_update(c->pair);
    return 0x80 | line;
}

static void write_icw1(VsI8259Chip *c, uint8_t val)
{
    VsI8259State *s = &c->state;

    chip_reset(c);
    s->init_state = 1;
    s->init4 = val & 0x01;
    s->single_mode = (val & 0x02) != 0;
    s->ltim = (val & 0x08) != 0;
}

static void write_ocw3(VsI8259State *s, uint8_t val)
{
    if (val & 0x04) {
        s->poll = 1;
    }
    if (val & 0x02) {
        s->read_reg_select = val & 0x01;
    }
    if (val & 0x40) {
        s->special_mask = (val >> 5) & 1;
    }
}

/* OCW2: end of interrupt and priority rotation commands. */
static void write_ocw2(VsI8259State *s, uint8_t val)
{
    int line = val & 7;
    int p;

    switch (val >> 5) {
    case 0: /* clear rotate in automatic EOI mode */
    case 4: /* set it */
        s->rotate_on_auto_eoi = (val >> 5) == 4;
        break;
    case 1: /* non-specific EOI */
    case 5: /* non-specific EOI, rotate */
        p = highest_priority(s, s->isr);
        if (p != NO_PRIORITY) {
            line = (p + s->priority_add) & 7;
            s->isr &= ~(1u << line);
            if ((val >> 5) == 5) {
                s->priority_add = (line + 1) & 7;
            }
        }
        break;
    case 3: /* specific EOI */
        s->isr &= ~(1u << line);
        break;
    case 6: /* set priority: @line becomes the lowest */
        s->priority_add = (line + 1) & 7;
        break;
    case 7: /* specific EOI, rotate */
        s->isr &= ~(1u << line);
        s->priority_add = (line + 1) & 7;
        break;
    default: /* 2: no operation */
        break;
    }
}

static void write_data(VsI8259State *s, uint8_t val)
{
    switch (s->init_state) {
    case 0: /* OCW1 */
        s->imr = val;
        break;
    case 1: /* ICW2: the vector base (its low 3 bits are the line) */
        s->irq_base = val & 0xf8;
        s->init_state = s->single_mode ? (s->init4 ? 3 : 0) : 2;
        break;
    case 2: /* ICW3: cascade wiring, fixed on a PC */
        s->init_state = s->init4 ? 3 : 0;
        break;
    default: /* ICW4 */
        s->special_fully_nested_mode = (val >> 4) & 1;
        s->auto_eoi = (val >> 1) & 1;
        s->init_state = 0;
        break;
    }
}

static VsI8259Chip *chip_at(VsI8259Pair *pair, uint16_t port)
{
    switch (port & ~1u) {
    case VS_I8259_MASTER_PORT:
        return &pair->chips[0];
    case VS_I8259_SLAVE_PORT:
        return &pair->chips[1];
    default:
        return NULL;
    }
}

void vs_i8259_write(VsI8259Pair *pair, uint16_t port, uint8_t val)
{
    VsI8259Chip *c = chip_at(pair, port);

    if (port == VS_I8259_MASTER_ELCR || port == VS_I8259_SLAVE_ELCR) {
        c = &pair->chips[port - VS_I8259_MASTER_ELCR];
        c->state.elcr = val & c->elcr_mask;
    } else if (!c) {
        return;
    } else if (port & 1) {
        write_data(&c->state, val);
    } else if (val & 0x10) {
        write_icw1(c, val);
    } else if (val & 0x08) {
        write_ocw3(&c->state, val);
    } else {
        write_ocw2(&c->state, val);
    }
    pair_update(pair);
}

uint8_t vs_i8259_read(VsI8259Pair *pair, uint16_t port)
{
    VsI8259Chip *c = chip_at(pair, port);

    if (port == VS_I8259_MASTER_ELCR || port == VS_I8259_SLAVE_ELCR) {
        return pair->chips[port - VS_I8259_MASTER_ELCR].state.elcr;
    }
    if (!c) {
        return 0xff;
    }
    if (c->state.poll) {
        return chip_poll(c);
    }
    if (port & 1) {
        return c->state.imr;
    }
    return c->state.read_reg_select ? c->state.isr : c->state.irr;
}

/*
 * After a load the CPU's INT line follows the loaded state.  Nothing else
 * changes: the cascade input's level is part of the master's state
 * (last_irr), and the slave's section is loaded after the master's, so the
 * last of the two hooks sees both.
 */
bool i8259_post_load(VsI8259State *s, uint32_t version, GError **errp)
{
    VsI8259Chip *chip = chip_of_state(s);
    VsI8259Pair *pair;
    int level;

    (void)version;
    (void)errp;
    if (!chip) {
        return true;    /* a bare state: no line to drive */
    }
    pair = chip->pair;
    level = chip_pending(&pair->chips[0]) >= 0;
    pair->intr_level = level;
    vs_irq_set(&pair->intr, level);
    return true;
}
