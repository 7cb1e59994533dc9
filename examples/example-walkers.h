/*
 * example-walkers.h: hand-written walkers that show the visitor contract.
 *
 * SPDX-License-Identifier: MIT
 *
 * Two types: VsExPic, the state of an Intel 8259 PIC with the same wire
 * layout as QEMU 7.2's "i8259" section, and VsExDemo, a made-up device that
 * uses every kind of part a walker can have (nested struct, fixed and
 * variable arrays, an array of structs, an array of pointers, a
 * version-gated field, unused bytes, a buffer, a subsection).  The tests,
 * docs/visitor.md and `vstate demo` use them.  Device walkers are normally
 * generated from a schema; these are written by hand on purpose.
 */
#ifndef VSTATE_EXAMPLE_WALKERS_H
#define VSTATE_EXAMPLE_WALKERS_H

#include "visitor/visitor.h"

G_BEGIN_DECLS

typedef struct VsExPic {
    uint8_t last_irr;
    uint8_t irr;
    uint8_t imr;
    uint8_t isr;
    uint8_t priority_add;
    uint8_t irq_base;
    uint8_t read_reg_select;
    uint8_t poll;
    uint8_t special_mask;
    uint8_t init_state;
    uint8_t auto_eoi;
    uint8_t rotate_on_auto_eoi;
    uint8_t special_fully_nested_mode;
    uint8_t init4;
    uint8_t single_mode;
    uint8_t elcr;
} VsExPic;

extern const VsTypeInfo vs_ex_pic_type;
bool vs_ex_visit_pic(VsVisitor *v, const char *name, VsExPic *s, GError **errp);

#define VS_EX_FIFO_MAX 16
#define VS_EX_SLOTS 2

typedef struct VsExInner {
    uint8_t mode;
    uint32_t mask;
} VsExInner;

typedef struct VsExDemo {
    uint16_t id;
    int32_t temperature;
    bool enabled;
    uint64_t counter;
    double gain;
    VsExInner inner;
    uint16_t regs[4];
    uint8_t fifo_len;                 /* count of fifo[] on the wire */
    uint8_t fifo[VS_EX_FIFO_MAX];
    uint32_t extra;                   /* since version 2 */
    VsExInner chans[2];
    VsExInner *slots[VS_EX_SLOTS];    /* array of pointers; NULL allowed */
    uint8_t blob[8];
    /* subsection "vsdemo/irq", sent when irq_pending != 0 */
    uint8_t irq_pending;
    uint16_t irq_mask;
} VsExDemo;

extern const VsTypeInfo vs_ex_inner_type;
extern const VsTypeInfo vs_ex_demo_type;
extern const VsTypeInfo vs_ex_demo_irq_type;

bool vs_ex_visit_inner(VsVisitor *v, const char *name, VsExInner *s, GError **errp);
bool vs_ex_visit_demo(VsVisitor *v, const char *name, VsExDemo *s, GError **errp);

/*
 * vs_ex_demo_fill: give @s a recognisable state; @seed varies the values.
 * Slot pointers point at storage inside @storage (two VsExInner); slot 1 is
 * left NULL when @seed is even.
 */
void vs_ex_demo_fill(VsExDemo *s, VsExInner storage[VS_EX_SLOTS], unsigned seed);
/*
 * vs_ex_demo_prepare_load: zero @s and give it the same slot pointers as a
 * state filled with @seed, as a destination would have them.
 */
void vs_ex_demo_prepare_load(VsExDemo *s, VsExInner storage[VS_EX_SLOTS], unsigned seed);
/* Field-by-field equality (slots compared by content). */
bool vs_ex_demo_equal(const VsExDemo *a, const VsExDemo *b);

/*
 * vs_ex_register: add "i8259" and "vsdemo" to the type registry.  A demo
 * object made by the registry has both slots allocated.
 */
void vs_ex_register(void);

G_END_DECLS

#endif /* VSTATE_EXAMPLE_WALKERS_H */
