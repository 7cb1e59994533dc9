/*
 * test-stream-input.c: opening streams as tools get them
 * (migration/stream-input.h): paths, standard input from a pipe, form
 * detection, refusals, partial loads, and RAM summaries checked against the
 * corpus's own block digests (streams/<dir>/<name>.ramblocks.txt, made by
 * QEMU's analyzer from the memory it extracted).
 *
 * SPDX-License-Identifier: MIT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <glib/gstdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "migration/ber-stream.h"
#include "migration/stream-input.h"
#include "tests/unit/corpus.h"
#include "tests/unit/stream-builder.h"

#include <malloc.h>
#if defined(__SANITIZE_ADDRESS__)
/* libasan's count of the bytes allocated (its header is not always installed). */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

/* The corpus's per-block digest of @block (leading '/' dropped there), or NULL. */
static char *corpus_block_digest(const char *base, const char *block, uint64_t *ret_size)
{
    g_autofree char *path = g_strdup_printf("%s.ramblocks.txt", base);
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    const char *want = block[0] == '/' ? block + 1 : block;

    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        return NULL;
    }
    lines = g_strsplit(text, "\n", -1);
    for (size_t i = 0; lines[i]; i++) {
        g_auto(GStrv) f = g_strsplit_set(lines[i], " \t", -1);
        g_autofree char *joined = NULL;
        GPtrArray *words = g_ptr_array_new();

        for (size_t k = 0; f[k]; k++) {
            if (*f[k]) {
                g_ptr_array_add(words, f[k]);
            }
        }
        if (words->len == 3 && lines[i][0] != '#' &&
            strcmp(g_ptr_array_index(words, 0), want) == 0) {
            char *digest = g_strdup(g_ptr_array_index(words, 2));

            *ret_size = g_ascii_strtoull(g_ptr_array_index(words, 1), NULL, 10);
            g_ptr_array_free(words, TRUE);
            return digest;
        }
        g_ptr_array_free(words, TRUE);
    }
    return NULL;
}

/* Every block's digest and size equal the corpus's; returns blocks compared. */
static size_t check_digests(const VsInput *in, const char *base)
{
    size_t n = 0;

    for (size_t i = 0; i < in->n_ram_blocks; i++) {
        const VsInputRamBlock *b = &in->ram_blocks[i];
        uint64_t size = 0;
        g_autofree char *want = corpus_block_digest(base, b->name, &size);

        if (!want) {
            continue;
        }
        assert_true(b->has_digest);
        if (strcmp(want, b->digest) != 0) {
            print_error("%s: block %s: digest %s, the corpus says %s\n", base, b->name,
                        b->digest, want);
            fail();
        }
        assert_int_equal(size, b->length);
        assert_true(b->pages_present <= b->pages_sent);
        assert_int_equal(b->pages_sent, b->data_pages + b->zero_pages + b->encoded_pages);
        n++;
    }
    return n;
}

/*
 * The same input loaded again keeping no page records: the summaries are
 * worked out as the pages go by (and in windows for blocks whose pages
 * repeat), and must equal those of the load that kept them; @repeats
 * counts blocks that took the window path.
 */
static void check_streamed(const char *base, const VsInput *kept, size_t *repeats)
{
    TALLOC_CTX *ctx = talloc_new(NULL);
    VsInputOptions o = { .ram = VS_INPUT_RAM_SUMMARY, .stream_ram = true };
    VsInput *in = NULL;

    assert_true(vs_input_open_memory(ctx, base, kept->data, kept->len, &in, NULL));
    assert_true(vs_input_load(in, &o, NULL));
    assert_int_equal(check_digests(in, base), in->n_ram_blocks);
    assert_int_equal(in->n_ram_blocks, kept->n_ram_blocks);
    for (size_t i = 0; i < in->n_ram_blocks; i++) {
        const VsInputRamBlock *a = &kept->ram_blocks[i], *b = &in->ram_blocks[i];

        assert_string_equal(a->name, b->name);
        assert_int_equal(a->pages_sent, b->pages_sent);
        assert_int_equal(a->pages_present, b->pages_present);
        assert_int_equal(a->data_pages, b->data_pages);
        assert_int_equal(a->zero_pages, b->zero_pages);
        assert_int_equal(a->has_digest, b->has_digest);
        assert_string_equal(a->digest, b->digest);
        *repeats += b->pages_present < b->pages_sent;
    }
    /* No page record is kept: only MEM_SIZE and EOS records. */
    for (size_t r = 0; r < in->stream->n_records; r++) {
        const VsSection *sec = &in->stream->records[r].section;

        for (size_t k = 0; in->stream->records[r].kind == VS_REC_SECTION && k < sec->n_ram; k++) {
            assert_false(sec->ram[k].flags & (VS_RAM_PAGE | VS_RAM_ZERO));
        }
    }
    talloc_free(ctx);
}

static void test_corpus_paths(void **state)
{
    g_autofree char *dir = vs_test_corpus_dir();
    g_autoptr(GPtrArray) streams = NULL;
    size_t repeats = 0;

    (void)state;
    SKIP_WITHOUT_CORPUS(dir);
    streams = vs_test_corpus_streams(dir);
    for (guint i = 0; i < streams->len; i++) {
        const char *base = g_ptr_array_index(streams, i);
        g_autofree char *path = g_strdup_printf("%s.bin", base);
        TALLOC_CTX *ctx = talloc_new(NULL);
        VsInputOptions o = { .ram = VS_INPUT_RAM_SUMMARY };
        g_autoptr(GError) err = NULL;
        VsInput *in = NULL;

        assert_true(vs_input_open(ctx, path, &in, &err));
        assert_int_equal(in->format, VS_INPUT_LEGACY);
        assert_null(in->writer);
        if (!vs_input_load(in, &o, &err)) {
            print_error("%s: %s\n", path, err->message);
            fail();
        }
        assert_true(in->n_ram_blocks >= 1);
        /* Every corpus stream lists its blocks with their digests. */
        assert_int_equal(check_digests(in, base), in->n_ram_blocks);
        assert_int_equal(vs_input_decoded_end(in), in->len);
        check_streamed(base, in, &repeats);
        talloc_free(ctx);
    }
    /* The corpus has running guests: their pages come again, out of order. */
    assert_true(repeats > 0);
}

/* --ram=none: the same counts, no digests. */
static void test_ram_none(void **state)
{
    g_autofree char *dir = vs_test_corpus_dir();
    g_autofree char *path = NULL;
    TALLOC_CTX *ctx = talloc_new(NULL);
    VsInputOptions sum = { .ram = VS_INPUT_RAM_SUMMARY };
    VsInputOptions none = { .ram = VS_INPUT_RAM_NONE };
    VsInput *a = NULL, *b = NULL;

    (void)state;
    SKIP_WITHOUT_CORPUS(dir);
    path = g_build_filename(dir, "streams", "d-pc-pattern", "paused.bin", NULL);
    assert_true(vs_input_open(ctx, path, &a, NULL) && vs_input_load(a, &sum, NULL));
    assert_true(vs_input_open(ctx, path, &b, NULL) && vs_input_load(b, &none, NULL));
    assert_int_equal(a->n_ram_blocks, b->n_ram_blocks);
    for (size_t i = 0; i < a->n_ram_blocks; i++) {
        assert_string_equal(a->ram_blocks[i].name, b->ram_blocks[i].name);
        assert_int_equal(a->ram_blocks[i].pages_sent, b->ram_blocks[i].pages_sent);
        assert_int_equal(a->ram_blocks[i].zero_pages, b->ram_blocks[i].zero_pages);
        assert_true(a->ram_blocks[i].has_digest);
        assert_false(b->ram_blocks[i].has_digest);
    }
    talloc_free(ctx);
}

/* "-" from a pipe: spooled, then the same as the file. */
static void test_stdin_pipe(void **state)
{
    g_autofree char *dir = vs_test_corpus_dir();
    g_autofree char *path = NULL;
    g_autofree uint8_t *data = NULL;
    TALLOC_CTX *ctx = talloc_new(NULL);
    VsInput *in = NULL, *ref = NULL;
    int saved = dup(STDIN_FILENO);
    int fds[2];
    size_t len;
    pid_t pid;

    (void)state;
    SKIP_WITHOUT_CORPUS(dir);
    path = g_build_filename(dir, "streams", "a-pc-bare", "paused.bin", NULL);
    data = vs_test_read_file(path, &len);
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        size_t put = 0;

        close(fds[0]);
        while (put < len) {
            ssize_t n = write(fds[1], data + put, len - put);

            if (n <= 0) {
                _exit(1);
            }
            put += (size_t)n;
        }
        _exit(0);
    }
    close(fds[1]);
    assert_true(dup2(fds[0], STDIN_FILENO) >= 0);
    close(fds[0]);
    assert_true(vs_input_open(ctx, "-", &in, NULL));
    dup2(saved, STDIN_FILENO);
    close(saved);
    waitpid(pid, NULL, 0);
    assert_string_equal(in->name, "standard input");
    assert_int_equal(in->len, len);
    assert_memory_equal(in->data, data, len);
    assert_true(vs_input_load(in, NULL, NULL));
    assert_true(vs_input_open(ctx, path, &ref, NULL) && vs_input_load(ref, NULL, NULL));
    assert_int_equal(in->stream->n_records, ref->stream->n_records);
    talloc_free(ctx);
}

/* The BER form of a corpus stream: detected, writer read, same RAM. */
static void test_ber(void **state)
{
    g_autofree char *dir = vs_test_corpus_dir();
    g_autofree char *path = NULL;
    g_autoptr(GByteArray) ber = g_byte_array_new();
    TALLOC_CTX *ctx = talloc_new(NULL);
    VsInputOptions o = { .ram = VS_INPUT_RAM_SUMMARY };
    g_autoptr(GError) err = NULL;
    VsInput *legacy = NULL, *in = NULL;

    (void)state;
    SKIP_WITHOUT_CORPUS(dir);
    path = g_build_filename(dir, "streams", "d-pc-pattern", "paused.bin", NULL);
    assert_true(vs_input_open(ctx, path, &legacy, NULL) && vs_input_load(legacy, &o, NULL));
    assert_true(vs_stream_encode_ber(legacy->stream, ber, &err));
    assert_true(vs_input_open_memory(ctx, "ber", ber->data, ber->len, &in, &err));
    assert_int_equal(in->format, VS_INPUT_BER);
    assert_non_null(in->writer);
    assert_true(g_str_has_prefix(in->writer, "vstate "));
    assert_true(vs_input_load(in, &o, &err));
    assert_int_equal(in->n_ram_blocks, legacy->n_ram_blocks);
    for (size_t i = 0; i < in->n_ram_blocks; i++) {
        assert_string_equal(in->ram_blocks[i].digest, legacy->ram_blocks[i].digest);
        assert_int_equal(in->ram_blocks[i].pages_sent, legacy->ram_blocks[i].pages_sent);
    }
    talloc_free(ctx);
}

/* ---- bounded memory ------------------------------------------------------- */

/* A 256 MiB guest: 65536 pages, every 64th a data page, the others ZERO. */
#define BIG_PAGES 65536u
#define BIG_DATA_EVERY 64u
#define BIG_PER_PART 4096u

/* Heap bytes in use now (the sanitizer's allocator has its own count). */
static size_t heap_in_use(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return __sanitizer_get_current_allocated_bytes();
#else
    return mallinfo2().uordblks;
#endif
}

static void big_page(uint8_t *page, uint32_t n)
{
    memset(page, (int)(n / BIG_DATA_EVERY) & 0xff, 4096);
    memcpy(page, &n, sizeof(n));
}

/* The stream, and in @ret_digest the SHA-256 of the guest's memory. */
static GByteArray *big_stream(char **ret_digest)
{
    GByteArray *b = g_byte_array_new();
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
    static const uint8_t zeros[4096];
    uint8_t page[4096];

    put32(b, VS_MIG_FILE_MAGIC);
    put32(b, VS_MIG_FILE_VERSION);
    put_section(b, VS_MIG_SECTION_START, 2, "ram", 0, 4);
    put64(b, (uint64_t)BIG_PAGES * 4096 | VS_RAM_MEM_SIZE);
    putstr(b, "pc.ram");
    put64(b, (uint64_t)BIG_PAGES * 4096);
    put64(b, VS_RAM_EOS);
    put_footer(b, 2);
    for (uint32_t n = 0; n < BIG_PAGES; n++) {
        uint64_t flags = n ? VS_RAM_CONTINUE : 0;

        if (n % BIG_PER_PART == 0) {
            put_section(b, VS_MIG_SECTION_PART, 2, NULL, 0, 0);
        }
        if (n % BIG_DATA_EVERY == 0) {
            put64(b, (uint64_t)n * 4096 | VS_RAM_PAGE | flags);
            if (!flags) {
                putstr(b, "pc.ram");
            }
            big_page(page, n);
            g_byte_array_append(b, page, sizeof(page));
            g_checksum_update(sum, page, sizeof(page));
        } else {
            put64(b, (uint64_t)n * 4096 | VS_RAM_ZERO | flags);
            put8(b, 0);
            g_checksum_update(sum, zeros, sizeof(zeros));
        }
        if (n % BIG_PER_PART == BIG_PER_PART - 1) {
            put64(b, VS_RAM_EOS);
            put_footer(b, 2);
        }
    }
    put_section(b, VS_MIG_SECTION_END, 2, NULL, 0, 0);
    put64(b, VS_RAM_EOS);
    put_footer(b, 2);
    put8(b, VS_MIG_EOF);
    put_trailer(b, "{\"page_size\": 4096, \"devices\": []}");
    *ret_digest = g_strdup(g_checksum_get_string(sum));
    return b;
}

typedef struct HeapPeak {
    size_t peak;
    uint64_t pages;
} HeapPeak;

static void heap_sample(void *opaque, const VsRamPage *p)
{
    HeapPeak *h = opaque;
    size_t now = heap_in_use();

    (void)p;
    h->peak = MAX(h->peak, now);
    h->pages++;
}

/*
 * A load that keeps no page records needs heap independent of the number
 * of pages: sampled at every page, the heap in use stays below 8 bytes a
 * page above what it was before the load (a kept record costs 64), while
 * the summaries are those of the guest's memory.  The load that keeps
 * records shows the per-page cost the sampling would catch.
 */
static void test_bounded_memory(void **state)
{
    g_autofree char *want = NULL;
    g_autoptr(GByteArray) bytes = big_stream(&want);
    TALLOC_CTX *ctx = talloc_new(NULL);
    HeapPeak h = { 0 };
    VsInputOptions o = { .ram = VS_INPUT_RAM_SUMMARY, .load.ram_page = heap_sample,
                         .load.ram_page_opaque = &h };
    VsInputOptions keep = { .ram = VS_INPUT_RAM_SUMMARY };
    VsInput *in = NULL, *kept = NULL;
    size_t before;

    (void)state;
    assert_true(vs_input_open_memory(ctx, "big", bytes->data, bytes->len, &in, NULL));
    assert_true(vs_input_open_memory(ctx, "big", bytes->data, bytes->len, &kept, NULL));
    before = heap_in_use();
    h.peak = before;
    assert_true(vs_input_load(in, &o, NULL));
    assert_int_equal(h.pages, BIG_PAGES);
    assert_int_equal(in->n_ram_blocks, 1);
    assert_int_equal(in->ram_blocks[0].pages_sent, BIG_PAGES);
    assert_int_equal(in->ram_blocks[0].pages_present, BIG_PAGES);
    assert_int_equal(in->ram_blocks[0].data_pages, BIG_PAGES / BIG_DATA_EVERY);
    assert_true(in->ram_blocks[0].has_digest);
    assert_string_equal(in->ram_blocks[0].digest, want);
    print_message("# heap during a streamed load of %u pages: %zu bytes above the start\n",
                  BIG_PAGES, h.peak - before);
    assert_true(h.peak - before < (size_t)BIG_PAGES * 8);

    before = heap_in_use();
    assert_true(vs_input_load(kept, &keep, NULL));
    print_message("# heap kept by a load keeping the records: %zu bytes\n",
                  heap_in_use() - before);
    assert_true(heap_in_use() - before >= (size_t)BIG_PAGES * 32);
    assert_string_equal(kept->ram_blocks[0].digest, want);
    talloc_free(ctx);
}

static void test_refusals(void **state)
{
    TALLOC_CTX *ctx = talloc_new(NULL);
    g_autofree char *tmpdir = g_dir_make_tmp("vstate-input-XXXXXX", NULL);
    g_autofree char *empty = g_build_filename(tmpdir, "empty", NULL);
    g_autofree char *text = g_build_filename(tmpdir, "text", NULL);
    VsInput *in = NULL;
    GError *err = NULL;

    (void)state;
    assert_true(g_file_set_contents(empty, "", 0, NULL));
    assert_true(g_file_set_contents(text, "hello, world\n", -1, NULL));

    assert_false(vs_input_open(ctx, "/nonexistent/x.bin", &in, &err));
    assert_true(g_error_matches(err, VS_MIG_ERROR, VS_MIG_ERROR_IO));
    assert_non_null(strstr(err->message, "/nonexistent/x.bin"));
    g_clear_error(&err);

    assert_false(vs_input_open(ctx, tmpdir, &in, &err));
    assert_true(g_error_matches(err, VS_MIG_ERROR, VS_MIG_ERROR_IO));
    g_clear_error(&err);

    assert_false(vs_input_open(ctx, empty, &in, &err));
    assert_true(g_error_matches(err, VS_MIG_ERROR, VS_MIG_ERROR_FORMAT));
    assert_non_null(strstr(err->message, "empty"));
    g_clear_error(&err);

    assert_false(vs_input_open(ctx, text, &in, &err));
    assert_true(g_error_matches(err, VS_MIG_ERROR, VS_MIG_ERROR_FORMAT));
    assert_non_null(strstr(err->message, "68 65 6c 6c 6f"));
    g_clear_error(&err);
    assert_null(in);
    /* Nothing is left behind by a refusal. */
    assert_int_equal(talloc_total_blocks(ctx), 1);

    g_unlink(empty);
    g_unlink(text);
    g_rmdir(tmpdir);
    talloc_free(ctx);
}

/* A cut stream: what came before the cut is kept, and where it stopped. */
static void test_truncated(void **state)
{
    g_autofree char *dir = vs_test_corpus_dir();
    g_autofree char *path = NULL;
    g_autofree uint8_t *data = NULL;
    TALLOC_CTX *ctx = talloc_new(NULL);
    g_autoptr(GError) err = NULL;
    VsInput *in = NULL;
    size_t len;

    (void)state;
    SKIP_WITHOUT_CORPUS(dir);
    path = g_build_filename(dir, "streams", "a-pc-bare", "paused.bin", NULL);
    data = vs_test_read_file(path, &len);
    assert_true(vs_input_open_memory(ctx, "cut", data, len - 40000, &in, &err));
    assert_false(vs_input_load(in, NULL, &err));
    assert_true(err->domain == VS_MIG_ERROR);
    assert_non_null(in->stream);
    assert_true(in->stream->n_records >= 2);
    assert_true(vs_input_decoded_end(in) > 8 && vs_input_decoded_end(in) <= len - 40000);
    talloc_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_paths),
        cmocka_unit_test(test_ram_none),
        cmocka_unit_test(test_stdin_pipe),
        cmocka_unit_test(test_ber),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_bounded_memory),
        cmocka_unit_test(test_truncated),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
