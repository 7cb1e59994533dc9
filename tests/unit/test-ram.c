/*
 * test-ram.c: RAM blocks, zero-page detection, dirty tracking (explicit
 * and userfaultfd) and the precopy sender/receiver pair.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "test-helpers.h"

#include <string.h>
#include <sys/mman.h>

#include "migration/ram-internal.h"
#include "migration/stream.h"

#define PAGE VS_RAM_PAGE_SIZE

static uint8_t *map_pages(size_t npages)
{
    void *p = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);

    assert_true(p != MAP_FAILED);
    return p;
}

static void test_ram_zero_detection(void **state)
{
    uint8_t *buf = map_pages(3);

    /* Every position of a single non-zero byte, at several alignments. */
    for (size_t align = 0; align < 4; align++) {
        uint8_t *p = buf + align;

        assert_true(vs_ram_buffer_is_zero(p, PAGE));
        for (size_t i = 0; i < PAGE; i++) {
            p[i] = 0x40;
            assert_false(vs_ram_buffer_is_zero(p, PAGE));
            p[i] = 0;
        }
        /* Bytes just outside the range do not count. */
        p[PAGE] = 1;
        assert_true(vs_ram_buffer_is_zero(p, PAGE));
        p[PAGE] = 0;
    }
    assert_true(vs_ram_buffer_is_zero(buf, 0));
    buf[2] = 1;
    assert_false(vs_ram_buffer_is_zero(buf, 3));
    assert_true(vs_ram_page_is_zero(buf + PAGE, PAGE));
    munmap(buf, 3 * PAGE);
}

static void test_ram_list_order(void **state)
{
    static uint8_t mem[8 * PAGE];
    GError *err = NULL;
    VsRamList *list = vs_ram_list_new(*state);

    assert_non_null(vs_ram_list_add(list, "small", mem, PAGE, &err));
    assert_non_null(vs_ram_list_add(list, "big", mem, 4 * PAGE, &err));
    assert_non_null(vs_ram_list_add(list, "small2", mem, PAGE, &err));
    assert_non_null(vs_ram_list_add(list, "mid", mem, 2 * PAGE, &err));
    /* Larger first; equal lengths in creation order (QEMU's RAM list). */
    assert_string_equal(vs_ram_list_get(list, 0)->save.name, "big");
    assert_string_equal(vs_ram_list_get(list, 1)->save.name, "mid");
    assert_string_equal(vs_ram_list_get(list, 2)->save.name, "small");
    assert_string_equal(vs_ram_list_get(list, 3)->save.name, "small2");
    assert_int_equal(vs_ram_list_total(list), 8 * PAGE);
    assert_null(vs_ram_list_add(list, "mid", mem, PAGE, &err));
    assert_gerror(err, VS_RAM_ERROR, VS_RAM_ERROR_INVALID, "RAM block 'mid' is already");
    g_clear_error(&err);
    assert_null(vs_ram_list_add(list, "odd", mem, 100, &err));
    assert_gerror(err, VS_RAM_ERROR, VS_RAM_ERROR_INVALID, "RAM block 'odd': length 0x64");
    g_clear_error(&err);
    talloc_free(list);
}

/* Writes @pages (page numbers) of @b, then collects; exactly those are set. */
static void check_tracker(VsDirtyTracker *t, VsRamBlock *b, const uint64_t *pages, size_t n)
{
    unsigned long *bm = talloc_zero_array(t, unsigned long, VS_BITS_TO_LONGS(b->npages));
    GError *err = NULL;
    uint64_t fresh = 0, count = 0;

    for (size_t i = 0; i < n; i++) {
        b->host[pages[i] * PAGE + 17] ^= 0x5a;
        vs_dirty_mark(t, b, pages[i] * PAGE + 17, 1);
    }
    assert_true(vs_dirty_tracker_collect(t, b, bm, &fresh, &err));
    assert_null(err);
    assert_int_equal(fresh, n);
    for (uint64_t p = 0; p < b->npages; p++) {
        bool want = false;

        for (size_t i = 0; i < n; i++) {
            want |= pages[i] == p;
        }
        assert_int_equal((bm[p / VS_BITS_PER_LONG] >> (p % VS_BITS_PER_LONG)) & 1, want);
        count += want;
    }
    /* A second collect with no writes in between finds nothing. */
    memset(bm, 0, VS_BITS_TO_LONGS(b->npages) * sizeof(unsigned long));
    assert_true(vs_dirty_tracker_collect(t, b, bm, &fresh, &err));
    assert_int_equal(fresh, 0);
    talloc_free(bm);
}

static void run_tracker(void **state, VsDirtyBackend backend)
{
    const size_t npages = 300;
    uint8_t *mem = map_pages(npages);
    static const uint64_t pages[] = { 0, 1, 63, 64, 65, 200, 299 };
    static const uint64_t later[] = { 5, 64, 298 };
    GError *err = NULL;
    VsRamList *list = vs_ram_list_new(*state);
    VsRamBlock *b = vs_ram_list_add(list, "pc.ram", mem, npages * PAGE, &err);
    VsDirtyTracker *t;

    /* Half the pages were touched before tracking starts, half never. */
    memset(mem, 1, npages / 2 * PAGE);
    t = vs_dirty_tracker_new(*state, list, backend, &err);
    if (!t) {
        print_message("skipping: %s\n", err->message);
        g_clear_error(&err);
        talloc_free(list);
        munmap(mem, npages * PAGE);
        skip();
    }
    assert_true(vs_dirty_tracker_start(t, &err));
    check_tracker(t, b, pages, G_N_ELEMENTS(pages));
    check_tracker(t, b, later, G_N_ELEMENTS(later));
    vs_dirty_tracker_stop(t);
    talloc_free(t);
    talloc_free(list);
    munmap(mem, npages * PAGE);
}

static void test_ram_tracker_explicit(void **state)
{
    run_tracker(state, VS_DIRTY_EXPLICIT);
}

static void test_ram_tracker_uffd(void **state)
{
    run_tracker(state, VS_DIRTY_UFFD);
}

/*
 * Sender to receiver through a memory stream: a first pass, a round after
 * writes, the final pass after more writes; the destination ends equal.
 */
static void test_ram_send_receive(void **state)
{
    const size_t npages = 512;
    uint8_t *src = map_pages(npages + 8), *dst = map_pages(npages + 8);
    GError *err = NULL;
    VsRamList *sl = vs_ram_list_new(*state), *dl = vs_ram_list_new(*state);
    VsRamBlock *sb;
    VsDirtyTracker *t;
    VsRamSender *rs;
    VsQemuFile *f = vs_qemufile_new_memory_writer(*state);
    VsRamReceiver rr;
    VsRamSendStats st;
    VsQemuFile *in;
    const uint8_t *data;
    size_t len;

    for (size_t i = 0; i < npages * PAGE; i += 3 * PAGE + 8) {
        src[i] = (uint8_t)(i >> 12);   /* some pages non-zero, most zero */
    }
    memset(src + npages * PAGE, 0x77, 8 * PAGE);
    memset(dst, 0xee, (npages + 8) * PAGE);   /* the destination holds garbage */
    sb = vs_ram_list_add(sl, "pc.ram", src, npages * PAGE, &err);
    assert_non_null(vs_ram_list_add(sl, "pc.rom", src + npages * PAGE, 8 * PAGE, &err));
    assert_non_null(vs_ram_list_add(dl, "pc.ram", dst, npages * PAGE, &err));
    assert_non_null(vs_ram_list_add(dl, "pc.rom", dst + npages * PAGE, 8 * PAGE, &err));
    t = vs_dirty_tracker_new(*state, sl, VS_DIRTY_EXPLICIT, &err);
    rs = vs_ram_sender_new(*state, sl, t);

    assert_true(vs_ram_sender_setup(rs, f, &err));
    assert_int_equal(vs_ram_sender_pending(rs), (npages + 8) * PAGE);
    assert_int_equal(vs_ram_sender_iterate(rs, f, 0), npages + 8);
    assert_int_equal(vs_ram_sender_pending(rs), 0);
    src[7 * PAGE] = 9;
    vs_dirty_mark(t, sb, 7 * PAGE, 1);
    src[8 * PAGE + 4095] = 1;
    vs_dirty_mark(t, sb, 8 * PAGE + 4095, 1);
    assert_true(vs_ram_sender_sync(rs, &err));
    assert_int_equal(vs_ram_sender_pending(rs), 2 * PAGE);
    assert_int_equal(vs_ram_sender_iterate(rs, f, 0), 2);
    memset(src + 100 * PAGE, 0, PAGE);
    vs_dirty_mark(t, sb, 100 * PAGE, PAGE);
    assert_true(vs_ram_sender_complete(rs, f, &err));
    vs_ram_sender_stats(rs, &st);
    assert_int_equal(st.dirty_syncs, 2);
    assert_int_equal(st.zero_pages + st.normal_pages, npages + 8 + 3);
    assert_false(vs_dirty_tracker_running(t));

    data = vs_qemufile_memory_data(f, &len);
    assert_int_equal(st.bytes, len);
    in = vs_qemufile_new_memory_reader(*state, data, len);
    vs_ram_receiver_init(&rr, dl);
    for (int section = 0; section < 4; section++) {
        assert_true(vs_ram_receiver_load(&rr, in, &err));
    }
    assert_null(err);
    assert_true(vs_qemufile_at_eof(in));
    assert_memory_equal(src, dst, (npages + 8) * PAGE);
    talloc_free(in);
    talloc_free(f);
    talloc_free(rs);
    talloc_free(t);
    talloc_free(sl);
    talloc_free(dl);
    munmap(src, (npages + 8) * PAGE);
    munmap(dst, (npages + 8) * PAGE);
}

/* Builds a RAM section body from words and names, for the receiver's errors. */
static void check_receive_error(void **state, const uint8_t *body, size_t len,
                                const char *prefix)
{
    static uint8_t mem[2 * PAGE];
    GError *err = NULL;
    VsRamList *list = vs_ram_list_new(*state);
    VsQemuFile *in = vs_qemufile_new_memory_reader(*state, body, len);
    VsRamReceiver rr;

    assert_non_null(vs_ram_list_add(list, "pc.ram", mem, sizeof(mem), &err));
    vs_ram_receiver_init(&rr, list);
    assert_false(vs_ram_receiver_load(&rr, in, &err));
    assert_non_null(err);
    if (!g_str_has_prefix(err->message, prefix)) {
        print_error("got: %s\n", err->message);
        fail();
    }
    g_clear_error(&err);
    talloc_free(in);
    talloc_free(list);
}

static void test_ram_fail_receive(void **state)
{
    static const uint8_t unknown_block[] = {
        0, 0, 0, 0, 0, 0, 0x20, 0x04, 6, 'p', 'c', '.', 'r', 'o', 'm', 0, 0, 0, 0, 0, 0, 0x20, 0,
    };
    static const uint8_t size_mismatch[] = {
        0, 0, 0, 0, 0, 0, 0x10, 0x04, 6, 'p', 'c', '.', 'r', 'a', 'm', 0, 0, 0, 0, 0, 0, 0x10, 0,
    };
    static const uint8_t bad_offset[] = {
        0, 0, 0, 0, 0, 0, 0x20, 0x02, 6, 'p', 'c', '.', 'r', 'a', 'm', 0,
    };
    static const uint8_t bad_continue[] = { 0, 0, 0, 0, 0, 0, 0, 0x22, 0 };
    static const uint8_t bad_flags[] = { 0, 0, 0, 0, 0, 0, 0, 0x80 };
    static const uint8_t short_page[] = {
        0, 0, 0, 0, 0, 0, 0x10, 0x08, 6, 'p', 'c', '.', 'r', 'a', 'm', 1, 2, 3,
    };

    check_receive_error(state, unknown_block, sizeof(unknown_block),
                        "Unknown ramblock \"pc.rom\", cannot accept migration");
    check_receive_error(state, size_mismatch, sizeof(size_mismatch),
                        "Size mismatch: pc.ram: 0x1000 != 0x2000: Invalid argument");
    check_receive_error(state, bad_offset, sizeof(bad_offset), "Illegal RAM offset 2000");
    check_receive_error(state, bad_continue, sizeof(bad_continue), "Ack, bad migration stream!");
    check_receive_error(state, bad_flags, sizeof(bad_flags),
                        "Unknown combination of migration flags: 0x80");
    check_receive_error(state, short_page, sizeof(short_page), "unexpected end of stream");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ram_zero_detection),
        cmocka_unit_test_setup_teardown(test_ram_list_order, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_ram_tracker_explicit, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_ram_tracker_uffd, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_ram_send_receive, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
        cmocka_unit_test_setup_teardown(test_ram_fail_receive, vs_test_ctx_setup,
                                        vs_test_ctx_teardown),
    };
    return cmocka_run_group_tests_name("ram", tests, NULL, NULL);
}
