/*
 * ram-uffd.c: dirty tracking by the kernel: userfaultfd asynchronous
 * write-protect, collected with the PAGEMAP_SCAN ioctl.
 *
 * SPDX-License-Identifier: MIT
 *
 * Each block is registered with a userfaultfd in write-protect mode with
 * UFFD_FEATURE_WP_ASYNC: a write to a protected page does not stop the
 * writer, the kernel just lifts the protection of that page (about 1 us,
 * machine-limits.md §6).  PAGEMAP_SCAN over the block with
 * PM_SCAN_WP_MATCHING then lists the pages whose protection was lifted
 * ("written") and protects them again in the same call, so no write
 * between the scan and the re-arm can be lost.  WP_UNPOPULATED makes pages
 * never touched count as protected too.
 *
 * Both the feature bits and the ioctl arrived in Linux 6.7; the uapi
 * headers of this distribution (6.1) do not have them, so the few
 * constants and structures are defined here from the kernel's ABI.  The
 * kernel answering EINVAL/ENOTTY, or refusing userfaultfd to an
 * unprivileged user, gives VS_RAM_ERROR_UNSUPPORTED and the caller falls
 * back to explicit marking.
 */
#include "migration/ram-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/userfaultfd.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1ull << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1ull << 15)
#endif

#ifndef PAGEMAP_SCAN
#define PAGE_IS_WRITTEN (1ull << 1)
#define PM_SCAN_WP_MATCHING (1ull << 0)
#define PM_SCAN_CHECK_WPASYNC (1ull << 1)

struct page_region {
    uint64_t start;
    uint64_t end;
    uint64_t categories;
};

struct pm_scan_arg {
    uint64_t size;
    uint64_t flags;
    uint64_t start;
    uint64_t end;
    uint64_t walk_end;
    uint64_t vec;
    uint64_t vec_len;
    uint64_t max_pages;
    uint64_t category_inverted;
    uint64_t category_mask;
    uint64_t category_anyof_mask;
    uint64_t return_mask;
};

#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif

/* Regions per PAGEMAP_SCAN call; a region is a run of written pages. */
#define UFFD_SCAN_REGIONS 512

struct VsUffdTracker {
    VsRamList *list;
    int uffd;
    int pagemap;
    bool armed;
    struct page_region regions[UFFD_SCAN_REGIONS];
};

static int uffd_destructor(VsUffdTracker *u)
{
    if (u->uffd >= 0) {
        /* Closing the userfaultfd unregisters every range. */
        close(u->uffd);
    }
    if (u->pagemap >= 0) {
        close(u->pagemap);
    }
    return 0;
}

static bool uffd_unsupported(GError **errp, const char *step, int errsv)
{
    g_set_error(errp, VS_RAM_ERROR, VS_RAM_ERROR_UNSUPPORTED,
                "userfaultfd write-protect tracking is not available: %s: %s", step,
                g_strerror(errsv));
    return false;
}

static bool uffd_open(VsUffdTracker *u, GError **errp)
{
    struct uffdio_api api = {
        .api = UFFD_API,
        .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED,
    };

    u->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (u->uffd < 0) {
        return uffd_unsupported(errp, "userfaultfd()", errno);
    }
    if (ioctl(u->uffd, UFFDIO_API, &api) < 0) {
        return uffd_unsupported(errp, "UFFDIO_API with WP_ASYNC|WP_UNPOPULATED (Linux >= 6.7)",
                                errno);
    }
    u->pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (u->pagemap < 0) {
        return uffd_unsupported(errp, "opening /proc/self/pagemap", errno);
    }
    return true;
}

static bool uffd_register_block(VsUffdTracker *u, VsRamBlock *b, GError **errp)
{
    struct uffdio_register reg = {
        .range = { .start = (uintptr_t)b->host, .len = b->save.length },
        .mode = UFFDIO_REGISTER_MODE_WP,
    };

    if (ioctl(u->uffd, UFFDIO_REGISTER, &reg) < 0) {
        g_autofree char *step = g_strdup_printf("registering RAM block '%s'", b->save.name);

        return uffd_unsupported(errp, step, errno);
    }
    return true;
}

/* An empty scan proves the ioctl exists before anything relies on it. */
static bool uffd_probe_scan(VsUffdTracker *u, VsRamBlock *b, GError **errp)
{
    struct pm_scan_arg arg = {
        .size = sizeof(arg),
        .start = (uintptr_t)b->host,
        .end = (uintptr_t)b->host + VS_RAM_PAGE_SIZE,
        .vec = (uintptr_t)u->regions,
        .vec_len = UFFD_SCAN_REGIONS,
        .category_mask = PAGE_IS_WRITTEN,
        .return_mask = PAGE_IS_WRITTEN,
    };

    if (ioctl(u->pagemap, PAGEMAP_SCAN, &arg) < 0) {
        return uffd_unsupported(errp, "the PAGEMAP_SCAN ioctl (Linux >= 6.7)", errno);
    }
    return true;
}

VsUffdTracker *vs_uffd_tracker_new(TALLOC_CTX *mem_ctx, VsRamList *list, GError **errp)
{
    VsUffdTracker *u = talloc_zero(mem_ctx, VsUffdTracker);
    bool ok;

    g_assert(u != NULL);
    u->list = list;
    u->uffd = -1;
    u->pagemap = -1;
    talloc_set_destructor(u, uffd_destructor);
    ok = uffd_open(u, errp);
    for (size_t i = 0; ok && i < vs_ram_list_count(list); i++) {
        ok = uffd_register_block(u, vs_ram_list_get(list, i), errp);
    }
    if (ok && vs_ram_list_count(list) > 0) {
        ok = uffd_probe_scan(u, vs_ram_list_get(list, 0), errp);
    }
    if (!ok) {
        talloc_free(u);
        return NULL;
    }
    return u;
}

static bool uffd_protect(VsUffdTracker *u, VsRamBlock *b, bool on, GError **errp)
{
    struct uffdio_writeprotect wp = {
        .range = { .start = (uintptr_t)b->host, .len = b->save.length },
        .mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
    };

    if (ioctl(u->uffd, UFFDIO_WRITEPROTECT, &wp) < 0) {
        g_set_error(errp, VS_RAM_ERROR, VS_RAM_ERROR_TRACKER,
                    "UFFDIO_WRITEPROTECT of RAM block '%s' failed: %s", b->save.name,
                    g_strerror(errno));
        return false;
    }
    return true;
}

bool vs_uffd_tracker_arm(VsUffdTracker *u, GError **errp)
{
    for (size_t i = 0; i < vs_ram_list_count(u->list); i++) {
        if (!uffd_protect(u, vs_ram_list_get(u->list, i), true, errp)) {
            return false;
        }
    }
    u->armed = true;
    return true;
}

void vs_uffd_tracker_disarm(VsUffdTracker *u)
{
    if (!u->armed) {
        return;
    }
    u->armed = false;
    for (size_t i = 0; i < vs_ram_list_count(u->list); i++) {
        (void)uffd_protect(u, vs_ram_list_get(u->list, i), false, NULL);
    }
}

static uint64_t uffd_set_range(unsigned long *bitmap, uint64_t first, uint64_t end)
{
    uint64_t fresh = 0;

    for (uint64_t p = first; p < end; p++) {
        fresh += !vs_bit_test_and_set(bitmap, p);
    }
    return fresh;
}

bool vs_uffd_tracker_collect(VsUffdTracker *u, VsRamBlock *b, unsigned long *bitmap,
                             uint64_t *ret_new, GError **errp)
{
    uint64_t base = (uintptr_t)b->host;
    uint64_t end = base + b->save.length;
    uint64_t start = base;
    uint64_t fresh = 0;

    while (start < end) {
        struct pm_scan_arg arg = {
            .size = sizeof(arg),
            .flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
            .start = start,
            .end = end,
            .vec = (uintptr_t)u->regions,
            .vec_len = UFFD_SCAN_REGIONS,
            .category_mask = PAGE_IS_WRITTEN,
            .return_mask = PAGE_IS_WRITTEN,
        };
        int n = ioctl(u->pagemap, PAGEMAP_SCAN, &arg);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            g_set_error(errp, VS_RAM_ERROR, VS_RAM_ERROR_TRACKER,
                        "PAGEMAP_SCAN of RAM block '%s' failed: %s", b->save.name,
                        g_strerror(errno));
            return false;
        }
        for (int i = 0; i < n; i++) {
            fresh += uffd_set_range(bitmap, (u->regions[i].start - base) / VS_RAM_PAGE_SIZE,
                                    (u->regions[i].end - base) / VS_RAM_PAGE_SIZE);
        }
        /* A full vector stops the walk early; go on where it stopped. */
        if (arg.walk_end <= start) {
            break;
        }
        start = arg.walk_end;
    }
    *ret_new = fresh;
    return true;
}

/* ---- write-protect for background snapshots ---------------------------------- */

/*
 * A background snapshot saves every page as it was when the snapshot
 * began while the guest runs on: each block is write-protected with a
 * *synchronous* userfaultfd (no WP_ASYNC), so a guest write to a page not
 * yet saved blocks in the kernel and is reported here; the saver sends
 * that page first and then lifts its protection, which wakes the writer.
 * Pages already saved are unprotected in batches, so later writes to them
 * cost nothing.
 */
struct VsRamWp {
    VsRamList *list;
    int uffd;
};

static int wp_destructor(VsRamWp *wp)
{
    if (wp->uffd >= 0) {
        /* Closing unregisters every range and wakes any blocked writer. */
        close(wp->uffd);
    }
    return 0;
}

VsRamWp *vs_ram_wp_new(TALLOC_CTX *mem_ctx, VsRamList *list, GError **errp)
{
    VsRamWp *wp = talloc_zero(mem_ctx, VsRamWp);
    struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_WP_UNPOPULATED };
    bool ok = true;

    g_assert(wp != NULL);
    wp->list = list;
    talloc_set_destructor(wp, wp_destructor);
    wp->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (wp->uffd < 0) {
        ok = uffd_unsupported(errp, "userfaultfd()", errno);
    } else if (ioctl(wp->uffd, UFFDIO_API, &api) < 0) {
        ok = uffd_unsupported(errp, "UFFDIO_API with WP_UNPOPULATED", errno);
    }
    for (size_t i = 0; ok && i < vs_ram_list_count(list); i++) {
        VsRamBlock *b = vs_ram_list_get(list, i);
        struct uffdio_register reg = {
            .range = { .start = (uintptr_t)b->host, .len = b->save.length },
            .mode = UFFDIO_REGISTER_MODE_WP,
        };
        struct uffdio_writeprotect prot = {
            .range = reg.range,
            .mode = UFFDIO_WRITEPROTECT_MODE_WP,
        };

        if (ioctl(wp->uffd, UFFDIO_REGISTER, &reg) < 0) {
            g_autofree char *step = g_strdup_printf("registering RAM block '%s'", b->save.name);

            ok = uffd_unsupported(errp, step, errno);
        } else if (ioctl(wp->uffd, UFFDIO_WRITEPROTECT, &prot) < 0) {
            g_autofree char *step = g_strdup_printf("write-protecting RAM block '%s'",
                                                    b->save.name);

            ok = uffd_unsupported(errp, step, errno);
        }
    }
    if (!ok) {
        talloc_free(wp);
        return NULL;
    }
    return wp;
}

bool vs_ram_wp_next_fault(VsRamWp *wp, VsRamBlock **ret_block, uint64_t *ret_page)
{
    for (;;) {
        struct uffd_msg msg;
        ssize_t n = read(wp->uffd, &msg, sizeof(msg));

        if (n != (ssize_t)sizeof(msg)) {
            return false;   /* EAGAIN: nobody waits */
        }
        if (msg.event != UFFD_EVENT_PAGEFAULT || !(msg.arg.pagefault.flags &
                                                    UFFD_PAGEFAULT_FLAG_WP)) {
            continue;
        }
        for (size_t i = 0; i < vs_ram_list_count(wp->list); i++) {
            VsRamBlock *b = vs_ram_list_get(wp->list, i);
            uint64_t a = msg.arg.pagefault.address, base = (uintptr_t)b->host;

            if (a >= base && a < base + b->save.length) {
                *ret_block = b;
                *ret_page = (a - base) / VS_RAM_PAGE_SIZE;
                return true;
            }
        }
    }
}

void vs_ram_wp_release(VsRamWp *wp, VsRamBlock *b, uint64_t first_page, uint64_t npages)
{
    struct uffdio_writeprotect prot = {
        .range = { .start = (uintptr_t)b->host + first_page * VS_RAM_PAGE_SIZE,
                   .len = npages * VS_RAM_PAGE_SIZE },
        .mode = 0,
    };

    /* Failing leaves a page protected: its writer stays blocked until the
     * userfaultfd is closed at the end, so the snapshot is still right. */
    (void)ioctl(wp->uffd, UFFDIO_WRITEPROTECT, &prot);
}
