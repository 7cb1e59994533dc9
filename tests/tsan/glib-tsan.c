/*
 * glib-tsan.c: ThreadSanitizer builds only: tells TSan about GLib's locks.
 *
 * SPDX-License-Identifier: MIT
 *
 * GLib's GMutex and GCond lock and wait inside libglib, which is not
 * built with -fsanitize=thread.  They are futexes there, so TSan sees
 * neither an acquire nor a release and reports every access guarded by
 * them as a race.  The test programs of a TSan build are linked with
 * `-Wl,--wrap=g_mutex_lock` and friends (see tests/meson.build): each call
 * from the project's own code lands here, runs GLib's function, and
 * reports the lock operation through TSan's public mutex annotations, so
 * TSan models these locks as it models pthread mutexes (happens-before,
 * lock-order inversions, "mutexes held" in reports).  Nothing is
 * suppressed: an access not under the lock is still reported.
 *
 * Condition variables need no edges of their own: a waiter returns with
 * the mutex held, and whatever it waited for was published under it.
 * Threads are created and joined through pthread_create/pthread_join
 * inside GLib, which TSan intercepts by itself.  GRecMutex and GRWLock are
 * pthread locks inside GLib, which TSan also intercepts; the project does
 * not use them (see tests/tsan/suppressions.txt for GLib's own use).
 */
#include <glib.h>
#include <sanitizer/tsan_interface.h>

/* Each wrapped function's declaration: -Wmissing-prototypes wants one. */
#define WRAP(ret, name, args) ret __real_##name args; ret __wrap_##name args

WRAP(void, g_mutex_init, (GMutex *m));
WRAP(void, g_mutex_clear, (GMutex *m));
WRAP(void, g_mutex_lock, (GMutex *m));
WRAP(gboolean, g_mutex_trylock, (GMutex *m));
WRAP(void, g_mutex_unlock, (GMutex *m));
WRAP(void, g_cond_wait, (GCond *c, GMutex *m));
WRAP(gboolean, g_cond_wait_until, (GCond *c, GMutex *m, gint64 end_time));

/* ---- GMutex ---------------------------------------------------------------------------- */

/*
 * A GMutex may also be static and zero-filled without g_mutex_init();
 * TSan then creates its model on the first lock.
 */
void __wrap_g_mutex_init(GMutex *m)
{
    __real_g_mutex_init(m);
    __tsan_mutex_create(m, __tsan_mutex_not_static);
}

void __wrap_g_mutex_clear(GMutex *m)
{
    __tsan_mutex_destroy(m, __tsan_mutex_not_static);
    __real_g_mutex_clear(m);
}

void __wrap_g_mutex_lock(GMutex *m)
{
    __tsan_mutex_pre_lock(m, 0);
    __real_g_mutex_lock(m);
    __tsan_mutex_post_lock(m, 0, 0);
}

gboolean __wrap_g_mutex_trylock(GMutex *m)
{
    gboolean ok;

    __tsan_mutex_pre_lock(m, __tsan_mutex_try_lock);
    ok = __real_g_mutex_trylock(m);
    __tsan_mutex_post_lock(m, __tsan_mutex_try_lock | (ok ? 0 : __tsan_mutex_try_lock_failed),
                           0);
    return ok;
}

void __wrap_g_mutex_unlock(GMutex *m)
{
    __tsan_mutex_pre_unlock(m, 0);
    __real_g_mutex_unlock(m);
    __tsan_mutex_post_unlock(m, 0);
}

/* ---- GCond: the wait gives the mutex up and takes it back ------------------------------- */

void __wrap_g_cond_wait(GCond *c, GMutex *m)
{
    __tsan_mutex_pre_unlock(m, 0);
    __tsan_mutex_post_unlock(m, 0);
    __real_g_cond_wait(c, m);
    __tsan_mutex_pre_lock(m, 0);
    __tsan_mutex_post_lock(m, 0, 0);
}

gboolean __wrap_g_cond_wait_until(GCond *c, GMutex *m, gint64 end_time)
{
    gboolean signalled;

    __tsan_mutex_pre_unlock(m, 0);
    __tsan_mutex_post_unlock(m, 0);
    signalled = __real_g_cond_wait_until(c, m, end_time);
    __tsan_mutex_pre_lock(m, 0);
    __tsan_mutex_post_lock(m, 0, 0);
    return signalled;
}
