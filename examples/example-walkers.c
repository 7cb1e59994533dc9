/*
 * example-walkers.c: hand-written walkers following the visitor contract
 * (see example-walkers.h).  Their shape is the shape the code generator
 * emits: an early return before the start, one `out:` label after it.
 *
 * SPDX-License-Identifier: MIT
 */
#include "examples/example-walkers.h"
#include "visitor/registry.h"

#include <string.h>

/* ---- i8259 ------------------------------------------------------------ */

const VsTypeInfo vs_ex_pic_type = {
    .name = "VsExPic",
    .wire_name = "i8259",
    .version = 1,
    .minimum_version = 1,
    .size = sizeof(VsExPic),
};

bool vs_ex_visit_pic(VsVisitor *v, const char *name, VsExPic *s, GError **errp)
{
    uint32_t version = vs_ex_pic_type.version;
    bool ok = false;

    if (!vs_visit_start_struct(v, name, &vs_ex_pic_type, &version, errp)) {
        return false;
    }
    if (!vs_visit_u8(v, "last_irr", &s->last_irr, errp) ||
        !vs_visit_u8(v, "irr", &s->irr, errp) ||
        !vs_visit_u8(v, "imr", &s->imr, errp) ||
        !vs_visit_u8(v, "isr", &s->isr, errp) ||
        !vs_visit_u8(v, "priority_add", &s->priority_add, errp) ||
        !vs_visit_u8(v, "irq_base", &s->irq_base, errp) ||
        !vs_visit_u8(v, "read_reg_select", &s->read_reg_select, errp) ||
        !vs_visit_u8(v, "poll", &s->poll, errp) ||
        !vs_visit_u8(v, "special_mask", &s->special_mask, errp) ||
        !vs_visit_u8(v, "init_state", &s->init_state, errp) ||
        !vs_visit_u8(v, "auto_eoi", &s->auto_eoi, errp) ||
        !vs_visit_u8(v, "rotate_on_auto_eoi", &s->rotate_on_auto_eoi, errp) ||
        !vs_visit_u8(v, "special_fully_nested_mode", &s->special_fully_nested_mode, errp) ||
        !vs_visit_u8(v, "init4", &s->init4, errp) ||
        !vs_visit_u8(v, "single_mode", &s->single_mode, errp) ||
        !vs_visit_u8(v, "elcr", &s->elcr, errp)) {
        goto out;
    }
    ok = vs_visit_check_struct(v, errp);
out:
    vs_visit_end_struct(v);
    return ok;
}

/* ---- the demo device -------------------------------------------------- */

const VsTypeInfo vs_ex_inner_type = {
    .name = "VsExInner",
    .wire_name = "vsdemo-inner",
    .version = 1,
    .minimum_version = 1,
    .size = sizeof(VsExInner),
};

const VsTypeInfo vs_ex_demo_type = {
    .name = "VsExDemo",
    .wire_name = "vsdemo",
    .version = 2,
    .minimum_version = 1,
    .size = sizeof(VsExDemo),
};

const VsTypeInfo vs_ex_demo_irq_type = {
    .name = "VsExDemoIrq",
    .wire_name = "vsdemo/irq",
    .version = 1,
    .minimum_version = 1,
    .size = 0,
};

bool vs_ex_visit_inner(VsVisitor *v, const char *name, VsExInner *s, GError **errp)
{
    uint32_t version = vs_ex_inner_type.version;
    bool ok = false;

    if (!vs_visit_start_struct(v, name, &vs_ex_inner_type, &version, errp)) {
        return false;
    }
    if (!vs_visit_u8(v, "mode", &s->mode, errp) ||
        !vs_visit_u32(v, "mask", &s->mask, errp)) {
        goto out;
    }
    ok = vs_visit_check_struct(v, errp);
out:
    vs_visit_end_struct(v);
    return ok;
}

static bool visit_regs(VsVisitor *v, VsExDemo *s, GError **errp)
{
    uint32_t n = G_N_ELEMENTS(s->regs);
    bool ok = true;

    if (!vs_visit_start_array(v, "regs", &n, G_N_ELEMENTS(s->regs), 2, errp)) {
        return false;
    }
    for (uint32_t i = 0; ok && i < n; i++) {
        ok = vs_visit_u16(v, NULL, &s->regs[i], errp);
    }
    vs_visit_end_array(v);
    return ok;
}

/* A variable array: the count is the earlier field fifo_len. */
static bool visit_fifo(VsVisitor *v, VsExDemo *s, GError **errp)
{
    uint32_t n = s->fifo_len;
    bool ok = true;

    if (!vs_visit_start_array(v, "fifo", &n, VS_EX_FIFO_MAX, 1, errp)) {
        return false;
    }
    for (uint32_t i = 0; ok && i < n; i++) {
        ok = vs_visit_u8(v, NULL, &s->fifo[i], errp);
    }
    vs_visit_end_array(v);
    return ok;
}

static bool visit_chans(VsVisitor *v, VsExDemo *s, GError **errp)
{
    uint32_t n = G_N_ELEMENTS(s->chans);
    bool ok = true;

    if (!vs_visit_start_array(v, "chans", &n, G_N_ELEMENTS(s->chans), 5, errp)) {
        return false;
    }
    for (uint32_t i = 0; ok && i < n; i++) {
        ok = vs_ex_visit_inner(v, NULL, &s->chans[i], errp);
    }
    vs_visit_end_array(v);
    return ok;
}

/* An array of pointers: a NULL element is QEMU's null marker alone. */
static bool visit_slots(VsVisitor *v, VsExDemo *s, GError **errp)
{
    uint32_t n = VS_EX_SLOTS;
    bool ok = true;

    if (!vs_visit_start_array(v, "slots", &n, VS_EX_SLOTS, 0, errp)) {
        return false;
    }
    for (uint32_t i = 0; ok && i < n; i++) {
        bool is_null = s->slots[i] == NULL;

        ok = vs_visit_nullptr(v, NULL, &is_null, errp);
        if (ok && !is_null) {
            ok = vs_ex_visit_inner(v, NULL, s->slots[i], errp);
        }
    }
    vs_visit_end_array(v);
    return ok;
}

static bool visit_irq_subsection(VsVisitor *v, VsExDemo *s, GError **errp)
{
    uint32_t version = vs_ex_demo_irq_type.version;
    bool present = s->irq_pending != 0;
    bool ok;

    if (!vs_visit_start_subsection(v, vs_ex_demo_irq_type.wire_name, &vs_ex_demo_irq_type,
                                   &version, &present, errp)) {
        return false;
    }
    if (!present) {
        return true;
    }
    ok = vs_visit_u8(v, "irq_pending", &s->irq_pending, errp) &&
         vs_visit_u16(v, "irq_mask", &s->irq_mask, errp) &&
         vs_visit_check_struct(v, errp);
    vs_visit_end_subsection(v);
    return ok;
}

bool vs_ex_visit_demo(VsVisitor *v, const char *name, VsExDemo *s, GError **errp)
{
    uint32_t version = vs_ex_demo_type.version;
    bool ok = false;

    if (!vs_visit_start_struct(v, name, &vs_ex_demo_type, &version, errp)) {
        return false;
    }
    if (!vs_visit_u16(v, "id", &s->id, errp) ||
        !vs_visit_i32(v, "temperature", &s->temperature, errp) ||
        !vs_visit_bool(v, "enabled", &s->enabled, errp) ||
        !vs_visit_u64(v, "counter", &s->counter, errp) ||
        !vs_visit_f64(v, "gain", &s->gain, errp) ||
        !vs_ex_visit_inner(v, "inner", &s->inner, errp) ||
        !visit_regs(v, s, errp) ||
        !vs_visit_u8(v, "fifo_len", &s->fifo_len, errp) ||
        !visit_fifo(v, s, errp)) {
        goto out;
    }
    if (version >= 2 && !vs_visit_u32(v, "extra", &s->extra, errp)) {
        goto out;
    }
    if (!vs_visit_unused(v, "unused", 3, errp) ||
        !visit_chans(v, s, errp) ||
        !visit_slots(v, s, errp) ||
        !vs_visit_buffer(v, "blob", s->blob, sizeof(s->blob), errp) ||
        !visit_irq_subsection(v, s, errp)) {
        goto out;
    }
    ok = vs_visit_check_struct(v, errp);
out:
    vs_visit_end_struct(v);
    return ok;
}

void vs_ex_demo_prepare_load(VsExDemo *s, VsExInner storage[VS_EX_SLOTS], unsigned seed)
{
    memset(s, 0, sizeof(*s));
    memset(storage, 0, sizeof(VsExInner) * VS_EX_SLOTS);
    s->slots[0] = &storage[0];
    s->slots[1] = (seed & 1) ? &storage[1] : NULL;
}

void vs_ex_demo_fill(VsExDemo *s, VsExInner storage[VS_EX_SLOTS], unsigned seed)
{
    vs_ex_demo_prepare_load(s, storage, seed);
    s->id = (uint16_t)(0x1234 + seed);
    s->temperature = -40 - (int32_t)seed;
    s->enabled = true;
    s->counter = UINT64_C(0x0102030405060708) + seed;
    s->gain = 1.5 + seed;
    s->inner = (VsExInner){ .mode = 3, .mask = 0xdeadbeef };
    for (unsigned i = 0; i < G_N_ELEMENTS(s->regs); i++) {
        s->regs[i] = (uint16_t)(0x100 * (i + 1) + seed);
    }
    s->fifo_len = (uint8_t)(3 + seed % 4);
    for (unsigned i = 0; i < s->fifo_len; i++) {
        s->fifo[i] = (uint8_t)(0xa0 + i);
    }
    s->extra = 0xcafe0000u + seed;
    s->chans[0] = (VsExInner){ .mode = 1, .mask = 0x11 };
    s->chans[1] = (VsExInner){ .mode = 2, .mask = 0x22 };
    storage[0] = (VsExInner){ .mode = 7, .mask = 0x77 };
    storage[1] = (VsExInner){ .mode = 8, .mask = 0x88 };
    memcpy(s->blob, "vstate!", 8);
    s->irq_pending = (uint8_t)(seed % 3);
    s->irq_mask = s->irq_pending ? 0xfffe : 0;
}

static bool inner_equal(const VsExInner *a, const VsExInner *b)
{
    if (!a || !b) {
        return a == b;
    }
    return a->mode == b->mode && a->mask == b->mask;
}

bool vs_ex_demo_equal(const VsExDemo *a, const VsExDemo *b)
{
    for (unsigned i = 0; i < VS_EX_SLOTS; i++) {
        if (!inner_equal(a->slots[i], b->slots[i])) {
            return false;
        }
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(a->chans); i++) {
        if (!inner_equal(&a->chans[i], &b->chans[i])) {
            return false;
        }
    }
    return a->id == b->id && a->temperature == b->temperature && a->enabled == b->enabled &&
           a->counter == b->counter && a->gain == b->gain &&
           inner_equal(&a->inner, &b->inner) &&
           memcmp(a->regs, b->regs, sizeof(a->regs)) == 0 && a->fifo_len == b->fifo_len &&
           memcmp(a->fifo, b->fifo, a->fifo_len) == 0 && a->extra == b->extra &&
           memcmp(a->blob, b->blob, sizeof(a->blob)) == 0 &&
           a->irq_pending == b->irq_pending && a->irq_mask == b->irq_mask;
}

/* ---- registry --------------------------------------------------------- */

static bool walk_pic(VsVisitor *v, const char *name, void *obj, GError **errp)
{
    return vs_ex_visit_pic(v, name, obj, errp);
}

static bool walk_demo(VsVisitor *v, const char *name, void *obj, GError **errp)
{
    return vs_ex_visit_demo(v, name, obj, errp);
}

static void init_demo(TALLOC_CTX *mem_ctx, void *obj)
{
    VsExDemo *s = obj;
    VsExInner *storage = talloc_zero_array(mem_ctx, VsExInner, VS_EX_SLOTS);

    g_assert(storage != NULL);
    for (unsigned i = 0; i < VS_EX_SLOTS; i++) {
        s->slots[i] = &storage[i];
    }
}

static const VsRegistryEntry pic_entry = { &vs_ex_pic_type, walk_pic, NULL };
static const VsRegistryEntry demo_entry = { &vs_ex_demo_type, walk_demo, init_demo };

void vs_ex_register(void)
{
    vs_registry_add(&pic_entry);
    vs_registry_add(&demo_entry);
}
