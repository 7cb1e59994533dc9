/*
 * ring.vs: a queue device with descriptor rings (devices/ring.c), showing
 * variable-length state: rings whose element count is another field, a
 * list of pending requests, and queues held by pointer (NULL where the
 * device was built with fewer queues).  vstate's own layout.
 */

/* A buffer the driver offers: guest address, length, its own tag. */
type RingDesc "ring-desc" version 1 nested {
    u64 addr;
    u32 len;
    u16 id;
    u16 flags;
}

/* A completion the device hands back: the tag and how much it processed. */
type RingUsed "ring-used" version 1 nested {
    u16 id;
    u32 len;
}

/* A request taken from the ring and not completed yet. */
type RingRequest "ring-request" version 1 nested {
    u16   id;
    u32   len;
    timer done_at;
}

/*
 * One queue: two rings of `size` entries and free-running indices.  The
 * size is the device's configuration: a stream must carry the same.
 */
type RingQueue "ring-queue" version 1 nested {
    u16 size equal;
    RingDesc desc[size] max 64;
    RingUsed used[size] max 64;
    u16 avail_idx;      /* descriptors the driver has posted */
    u16 last_avail;     /* descriptors the device has taken */
    u16 used_idx;       /* completions the device has written */
    u16 used_seen;      /* completions the driver has taken */
    qtailq RingRequest pending max 64;
    validate indices_fit (size > 0 && (size & (size - 1)) == 0 &&
                          ((avail_idx - last_avail) & 0xffff) <= size &&
                          ((used_idx - used_seen) & 0xffff) <= size);
}

type RingDevice "ring" version 1 {
    u32 status;         /* bit 0: enabled */
    u32 isr;            /* per queue: a completion is waiting */
    u32 irq_mask;
    u32 completed;      /* requests completed since reset */
    /* Per-request cost in ns per byte of the simulated backend. */
    u32 ns_per_byte;
    RingQueue *queues[4];
}
