/*
 * features.vs: every feature of the schema language (docs/schema.md) once,
 * so tests/codegen/test-codegen-walkers.c can check the generated walkers
 * byte by byte.  The device side lives in features-impl.c.
 */
include "common.vs";

codec pci_config "pci config" ctype "uint8_t[256]" size 256;

/* Every scalar kind, and padding. */
type Scalars "scalars" version 1 {
    u8     a;
    u16    b;
    u32    c;
    u64    d;
    i8     e;
    i16    f;
    i32    g;
    i64    h;
    bool   flag;
    f64    ratio;
    timer  deadline;
    unused 3;
}

/* QEMU's Fifo8: the capacity is the device's, never on the wire. */
type Fifo "fifo8" version 1 {
    local u32 capacity;
    buffer data[capacity] max 16;
    u32    head;
    u32    num;
}

/* Fixed, counted (u8/u16/u32/i32/local) and multiplied arrays, buffers, bitmap. */
type Arrays "arrays" version 1 {
    u16    fixed16[3];
    u8     n8;
    u8     by_u8[n8] max 4;
    u16    n16;
    u16    by_u16[n16] max 3;
    u32    n32;
    u32    by_u32[n32] max 2;
    i32    ni;
    i8     by_i32[ni] max 3;
    local u8 nlocal;
    u16    by_local[nlocal] max 4;
    u8     rows;
    u16    grid[rows * 2] max 8;
    buffer raw[4];
    buffer vbuf[n8] max 4;
    buffer mbuf[rows * 3] max 12;
    u16    nbits;
    bitmap bits[nbits] max 130;
    local u8 scratch[2];
}

/* Structs by value, through pointers, in arrays; arrays of pointers. */
type Nested "nested" version 1 {
    Point  at;
    Point  *heap;
    Point  pts[2];
    u8     npts;
    Point  vpts[npts] max 3;
    Point  *slots[3];
    timer  *timers[3];
    Fifo   fifo;
}

/* Lists and trees of structs. */
type Lists "lists" version 1 {
    qtailq Point q max 3;
    qlist  Point l max 3;
    gtree  u64 Point t max 3;
    gtree  Key Point kt max 2;
}

/* Versions, defaults, conditions, equal, le, validate. */
type Versioned "versioned" version 3 minimum 2 {
    u32  base;
    u16  added since 3 default 0x55;
    bool on since 3 default 1;
    i8   neg since 3 default -2;
    u8   plain since 3;
    u8   mode;
    u32  extra if (mode == 2 && version >= 3);
    u16  by_fn if versioned_by_fn_exists;
    /* Every operator once; true for mode 3 only. */
    u8   arith if (((mode + 1) * 2 - 1) / 3 % 4 == 2 && ((1 << mode) >> 1) != ~0 &&
                   !(mode < -1) && ((mode ^ 1) | 8) == 10 && ((mode & 2) != 0 || 0));
    u32  magic equal;
    i32  limit le;
    validate mode_ok (mode < 4);
}

/* All four type hooks, a temporary struct, subsections (nested, with hooks). */
type Hooked "hooked" version 2 minimum 1
    pre_save hooked_pre_save post_save hooked_post_save
    pre_load hooked_pre_load post_load hooked_post_load {
    u32  value;
    tmp  HookedTmp;
    u8   n;
    u8   arr[n] max 2;
    u8   late since 2;
    u8   flags;
    subsection "hooked/a" version 1 needed ((flags & 1) != 0) {
        u16 a;
    }
    subsection "hooked/b" version 3 minimum 2 needed hooked_b_needed
        pre_save hooked_b_pre_save post_save hooked_b_post_save
        pre_load hooked_b_pre_load post_load hooked_b_post_load {
        u32 b;
        u32 b3 since 3 default 7;
        subsection "hooked/b/inner" version 1 needed (flags & 4) {
            u8 inner;
        }
    }
}

/* QEMU's VMSTATE_WITH_TMP: the wire holds value * 2. */
type HookedTmp "hooked-tmp" version 1 tmp_for Hooked
    pre_save hooked_tmp_pre_save post_load hooked_tmp_post_load {
    u32 doubled;
}

/* A custom codec: PCI config space, whose read-only bytes must match on load. */
type PciLike "pcilike" version 2 {
    i32        version_id le;
    pci_config config;
    local u8   wmask[256];
}
