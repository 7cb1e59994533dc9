/*
 * tsan.h: ThreadSanitizer annotations for guest memory.
 *
 * SPDX-License-Identifier: MIT
 *
 * Guest RAM is written by the guest (the demo VM's workload stands in for
 * its CPUs) while the migration thread reads and sends it, with no lock:
 * as in QEMU, the dirty bitmap, not mutual exclusion, makes a live
 * migration correct (a page written after it was sent is sent again).
 * These stores are outside the C memory model by design, so a TSan build
 * does not track them; everything around them (the dirty bitmap, the
 * trackers, the device models) stays checked.  In other builds the calls
 * compile to nothing.
 */
#ifndef VSTATE_MIGRATION_TSAN_H
#define VSTATE_MIGRATION_TSAN_H

#if defined(__SANITIZE_THREAD__)
#define VS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VS_TSAN 1
#endif
#endif

#ifdef VS_TSAN
/* The TSan runtime's own entry points (no header declares them). */
void __tsan_ignore_thread_begin(void);
void __tsan_ignore_thread_end(void);

/* Brackets a guest CPU's store to guest RAM. */
static inline void vs_tsan_guest_store_begin(void)
{
    __tsan_ignore_thread_begin();
}

static inline void vs_tsan_guest_store_end(void)
{
    __tsan_ignore_thread_end();
}
#else
static inline void vs_tsan_guest_store_begin(void)
{
}

static inline void vs_tsan_guest_store_end(void)
{
}
#endif

#endif /* VSTATE_MIGRATION_TSAN_H */
