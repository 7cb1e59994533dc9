/*
 * cmd-diff.c: `vstate diff A B`, what differs between two migration
 * streams: device state field by field (grouped by section), sections and
 * RAM blocks present on one side only, then RAM pages by block and offset
 * range.
 *
 * SPDX-License-Identifier: MIT
 *
 * Device sections are matched by idstr and instance (and, for a device
 * sent more than once, by occurrence); their state trees are compared
 * node by node, struct fields by name, array and list elements by index.
 * RAM is compared through one 64-bit digest per page (the page's final
 * content after every record of the stream), so the comparison itself
 * holds no page bytes: what it keeps grows with the pages sent, not their
 * size.
 */
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "tools/commands.h"
#include "tools/page-digest.h"
#include "tools/streamtool.h"

/* Bytes of a buffer shown on each side of a difference before "...". */
#define DIFF_BYTES_SHOWN 16

typedef struct DiffColors {
    const char *head;   /* section headers */
    const char *a;      /* A's values */
    const char *b;      /* B's values */
    const char *off;
} DiffColors;

typedef struct DiffRun {
    FILE *out;
    DiffColors c;
    char **ignore;           /* --ignore patterns */
    bool quiet;              /* count differences, print nothing */
    TALLOC_CTX *tmp;         /* freed per section */
    GString *lines;          /* the current section's difference lines */
    size_t n_diffs;          /* differences found, all kinds */
    const VsStream *sa, *sb; /* the streams compared */
} DiffRun;

/* ---- ignore patterns ---------------------------------------------------- */

static bool diff_matches(const DiffRun *d, const char *what)
{
    for (char **p = d->ignore; p && *p; p++) {
        if (fnmatch(*p, what, 0) == 0) {
            return true;
        }
    }
    return false;
}

/* ---- values ------------------------------------------------------------- */

/* Integers of either signedness with one width compare by bit pattern. */
static bool diff_is_int(const VsNode *n)
{
    return n->kind == VS_NODE_UINT || n->kind == VS_NODE_INT;
}

static bool diff_is_container(const VsNode *n)
{
    return n->kind == VS_NODE_STRUCT || n->kind == VS_NODE_SUBSECTION ||
           n->kind == VS_NODE_ARRAY || n->kind == VS_NODE_LIST;
}

static bool diff_is_bytes(const VsNode *n)
{
    return n->kind == VS_NODE_BUFFER || n->kind == VS_NODE_OPAQUE;
}

static uint64_t diff_int_bits(const VsNode *n)
{
    uint64_t v = n->value.u;

    return n->width >= 8 ? v : v & ((UINT64_C(1) << (8 * n->width)) - 1);
}

static void diff_append_value(GString *s, const VsNode *n)
{
    switch (n->kind) {
    case VS_NODE_UINT:
        g_string_append_printf(s, "0x%" PRIx64, n->value.u);
        break;
    case VS_NODE_INT:
        if (n->value.i < 0) {
            g_string_append_printf(s, "-0x%" PRIx64, -(uint64_t)n->value.i);
        } else {
            g_string_append_printf(s, "0x%" PRIx64, (uint64_t)n->value.i);
        }
        break;
    case VS_NODE_BOOL:
        g_string_append(s, n->value.b ? "true" : "false");
        break;
    case VS_NODE_F64:
        g_string_append_printf(s, "%.17g", n->value.f);
        break;
    case VS_NODE_STRING: {
        g_autofree char *esc = g_strescape(n->str ? n->str : "", NULL);

        g_string_append_printf(s, "\"%s\"", esc);
        break;
    }
    case VS_NODE_BUFFER:
    case VS_NODE_OPAQUE:
    case VS_NODE_UNUSED:
        g_string_append_printf(s, "%zu bytes", n->len);
        break;
    case VS_NODE_NULL:
        g_string_append(s, "null");
        break;
    case VS_NODE_ARRAY:
        g_string_append_printf(s, "%" PRIu32 " elements", n->count);
        break;
    case VS_NODE_LIST:
        g_string_append_printf(s, "%zu elements", n->n_children);
        break;
    case VS_NODE_STRUCT:
    case VS_NODE_SUBSECTION:
        g_string_append_printf(s, "%s v%" PRIu32, n->type_name ? n->type_name : "?",
                               n->version);
        break;
    default:
        g_string_append(s, "?");
        break;
    }
}

/* "path: A -> B", with both types when they differ. */
static void diff_line(DiffRun *d, const char *path, const VsNode *a, const VsNode *b,
                      bool show_types)
{
    g_string_append_printf(d->lines, "  %s: %s", path, d->c.a);
    if (show_types) {
        g_string_append_printf(d->lines, "(%s) ", vs_node_type_name(a));
    }
    diff_append_value(d->lines, a);
    g_string_append_printf(d->lines, "%s -> %s", d->c.off, d->c.b);
    if (show_types) {
        g_string_append_printf(d->lines, "(%s) ", vs_node_type_name(b));
    }
    diff_append_value(d->lines, b);
    g_string_append_printf(d->lines, "%s\n", d->c.off);
    d->n_diffs++;
}

/* "path: only in A (type value)". */
static void diff_only(DiffRun *d, const char *path, const VsNode *n, char side)
{
    g_string_append_printf(d->lines, "  %s: only in %c %s(%s", path, side,
                           side == 'A' ? d->c.a : d->c.b, vs_node_type_name(n));
    if (n->kind != VS_NODE_NULL) {
        g_string_append_c(d->lines, ' ');
        diff_append_value(d->lines, n);
    }
    g_string_append_printf(d->lines, ")%s\n", d->c.off);
    d->n_diffs++;
}

static void diff_hex(GString *s, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n && i < DIFF_BYTES_SHOWN; i++) {
        g_string_append_printf(s, i ? " %02x" : "%02x", p[i]);
    }
    if (n > DIFF_BYTES_SHOWN) {
        g_string_append(s, " ...");
    }
}

/* Buffers: one line per run of differing bytes, "path[a..b]: .. -> ..". */
static void diff_bytes(DiffRun *d, const char *path, const VsNode *a, const VsNode *b)
{
    size_t common = MIN(a->len, b->len);

    if (a->len != b->len) {
        diff_line(d, path, a, b, a->kind != b->kind);
    }
    for (size_t i = 0; i < common;) {
        size_t end = i;

        if (a->bytes[i] == b->bytes[i]) {
            i++;
            continue;
        }
        while (end < common && a->bytes[end] != b->bytes[end]) {
            end++;
        }
        if (end - i == 1) {
            g_string_append_printf(d->lines, "  %s[%zu]: %s", path, i, d->c.a);
        } else {
            g_string_append_printf(d->lines, "  %s[%zu..%zu]: %s", path, i, end - 1, d->c.a);
        }
        diff_hex(d->lines, a->bytes + i, end - i);
        g_string_append_printf(d->lines, "%s -> %s", d->c.off, d->c.b);
        diff_hex(d->lines, b->bytes + i, end - i);
        g_string_append_printf(d->lines, "%s\n", d->c.off);
        d->n_diffs++;
        i = end;
    }
}

static bool diff_leaves_equal(const VsNode *a, const VsNode *b)
{
    if (diff_is_int(a) && diff_is_int(b)) {
        return a->width == b->width && diff_int_bits(a) == diff_int_bits(b);
    }
    if (a->kind != b->kind) {
        return false;
    }
    switch (a->kind) {
    case VS_NODE_BOOL:
        return a->value.b == b->value.b;
    case VS_NODE_F64:
        return memcmp(&a->value.f, &b->value.f, sizeof(double)) == 0;
    case VS_NODE_STRING:
        return g_strcmp0(a->str, b->str) == 0;
    case VS_NODE_UNUSED:
        return a->len == b->len;
    default:
        return true;
    }
}

/* ---- trees -------------------------------------------------------------- */

static void diff_nodes(DiffRun *d, const char *path, const VsNode *a, const VsNode *b);

static char *diff_child_path(TALLOC_CTX *ctx, const char *parent, const VsNode *child,
                             size_t index)
{
    if (child->name) {
        return talloc_asprintf(ctx, "%s.%s", parent, child->name);
    }
    return talloc_asprintf(ctx, "%s[%zu]", parent, index);
}

/* The @nth child of @n named @name (counting from 0), or NULL. */
static const VsNode *diff_named(const VsNode *n, const char *name, size_t nth)
{
    for (size_t i = 0; i < n->n_children; i++) {
        if (g_strcmp0(n->children[i]->name, name) == 0 && nth-- == 0) {
            return n->children[i];
        }
    }
    return NULL;
}

/* Which occurrence of its name the child at @index of @n is. */
static size_t diff_occurrence(const VsNode *n, size_t index)
{
    size_t nth = 0;

    for (size_t i = 0; i < index; i++) {
        nth += g_strcmp0(n->children[i]->name, n->children[index]->name) == 0;
    }
    return nth;
}

/* Struct fields and subsections match by name; A's order first, then B's extras. */
static void diff_fields(DiffRun *d, const char *path, const VsNode *a, const VsNode *b)
{
    for (size_t i = 0; i < a->n_children; i++) {
        const VsNode *ca = a->children[i];
        const VsNode *cb = diff_named(b, ca->name, diff_occurrence(a, i));
        char *cpath = diff_child_path(d->tmp, path, ca, i);

        if (diff_matches(d, cpath)) {
            continue;
        }
        if (cb) {
            diff_nodes(d, cpath, ca, cb);
        } else {
            diff_only(d, cpath, ca, 'A');
        }
    }
    for (size_t i = 0; i < b->n_children; i++) {
        const VsNode *cb = b->children[i];
        char *cpath = diff_child_path(d->tmp, path, cb, i);

        if (!diff_named(a, cb->name, diff_occurrence(b, i)) && !diff_matches(d, cpath)) {
            diff_only(d, cpath, cb, 'B');
        }
    }
}

/* Array and list elements match by index. */
static void diff_elements(DiffRun *d, const char *path, const VsNode *a, const VsNode *b)
{
    size_t n = MAX(a->n_children, b->n_children);

    if (a->n_children != b->n_children) {
        diff_line(d, path, a, b, false);
    }
    for (size_t i = 0; i < n; i++) {
        char *cpath = talloc_asprintf(d->tmp, "%s[%zu]", path, i);

        if (diff_matches(d, cpath)) {
            continue;
        }
        if (i >= b->n_children) {
            diff_only(d, cpath, a->children[i], 'A');
        } else if (i >= a->n_children) {
            diff_only(d, cpath, b->children[i], 'B');
        } else {
            diff_nodes(d, cpath, a->children[i], b->children[i]);
        }
    }
}

static void diff_nodes(DiffRun *d, const char *path, const VsNode *a, const VsNode *b)
{
    bool ca = diff_is_container(a), cb = diff_is_container(b);

    if (ca != cb || (ca && (a->kind == VS_NODE_ARRAY || a->kind == VS_NODE_LIST) !=
                               (b->kind == VS_NODE_ARRAY || b->kind == VS_NODE_LIST))) {
        diff_line(d, path, a, b, true);
        return;
    }
    if (a->kind == VS_NODE_STRUCT || a->kind == VS_NODE_SUBSECTION) {
        if (a->version != b->version) {
            diff_line(d, path, a, b, false);
        }
        diff_fields(d, path, a, b);
    } else if (ca) {
        diff_elements(d, path, a, b);
    } else if (diff_is_bytes(a) && diff_is_bytes(b)) {
        diff_bytes(d, path, a, b);
    } else if (!diff_leaves_equal(a, b)) {
        diff_line(d, path, a, b,
                  !(a->kind == b->kind && a->width == b->width) &&
                      !(diff_is_int(a) && diff_is_int(b) && a->width == b->width));
    }
}

/* ---- sections ----------------------------------------------------------- */

/* A device section as the comparison sees it. */
typedef struct DiffSection {
    const VsSection *sec;
    char *key;               /* "idstr instance occurrence" */
    bool matched;
} DiffSection;

typedef struct DiffSide {
    const char *name;        /* "A" or "B" */
    TALLOC_CTX *ctx;         /* holds the DiffSections */
    VsToolStream *ts;
    GPtrArray *devices;      /* DiffSection *, stream order */
    GHashTable *by_key;      /* key -> DiffSection * */
    GHashTable *seen;        /* "idstr instance" -> occurrences so far */
    VsPageDigests *ram;
    bool progress;           /* show a progress line on stderr (a terminal) */
    uint64_t n_ram_records;
} DiffSide;

/* RAM records between two progress reports. */
#define DIFF_PROGRESS_STEP (1u << 16)

/* One line on stderr, rewritten in place; NULL clears it. */
static void diff_progress(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static void diff_progress(const char *fmt, ...)
{
    va_list ap;

    fputs("\r\033[K", stderr);
    if (fmt) {
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fflush(stderr);
}

static void diff_digest_section(DiffSide *side, const VsSection *sec)
{
    for (size_t i = 0; i < sec->n_ram; i++) {
        vs_page_digests_add_record(side->ram, &sec->ram[i]);
        if (side->progress && ++side->n_ram_records % DIFF_PROGRESS_STEP == 0) {
            diff_progress("%s: page digests of %s: %" PRIu64 " RAM records", side->name,
                          side->ts->path, side->n_ram_records);
        }
    }
}

/* A page as the loader reads it (VsLoadOptions' ram_page). */
static void diff_page(void *opaque, const VsRamPage *p)
{
    vs_page_digests_add_page(opaque, p);
}

static void diff_collect(const VsSection *sec, void *opaque)
{
    DiffSide *side = opaque;
    DiffSection *ds;
    char *base;
    guint nth;

    if (sec->decoded_by == VS_DECODED_RAM) {
        diff_digest_section(side, sec);
        return;
    }
    if (!sec->state) {
        return;
    }
    ds = talloc_zero(side->ctx, DiffSection);
    g_assert(ds != NULL);
    base = talloc_asprintf(ds, "%s instance %" PRIu32, sec->idstr, sec->instance_id);
    nth = GPOINTER_TO_UINT(g_hash_table_lookup(side->seen, base));
    g_hash_table_insert(side->seen, g_strdup(base), GUINT_TO_POINTER(nth + 1));
    ds->sec = sec;
    ds->key = nth ? talloc_asprintf(ds, "%s (occurrence %u)", base, nth + 1) : base;
    g_ptr_array_add(side->devices, ds);
    g_hash_table_insert(side->by_key, ds->key, ds);
}

static void diff_side_init(DiffSide *side, TALLOC_CTX *ctx, const char *name, VsToolStream *ts,
                           VsPageDigests *pages, bool progress)
{
    side->name = name;
    side->progress = progress;
    side->ctx = ctx;
    side->ts = ts;
    side->devices = g_ptr_array_new();
    side->by_key = g_hash_table_new(g_str_hash, g_str_equal);
    side->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    side->ram = pages;
    vs_tool_foreach_section(ts->stream, diff_collect, side);
    if (side->n_ram_records >= DIFF_PROGRESS_STEP) {
        diff_progress(NULL);
    }
}

static void diff_side_clear(DiffSide *side)
{
    g_ptr_array_unref(side->devices);
    g_hash_table_unref(side->by_key);
    g_hash_table_unref(side->seen);
}

static void diff_flush_section(DiffRun *d, const char *header)
{
    if (d->lines->len && !d->quiet) {
        fprintf(d->out, "%s%s%s\n%s", d->c.head, header, d->c.off, d->lines->str);
    }
    g_string_truncate(d->lines, 0);
}

static void diff_section_pair(DiffRun *d, const DiffSection *a, const DiffSection *b)
{
    const VsSection *sa = a->sec, *sb = b->sec;
    char *header = talloc_asprintf(d->tmp, "section %s", a->key);
    char *root = sa->state->name ? sa->state->name : sa->wire_name;

    if (sa->version_id != sb->version_id) {
        g_string_append_printf(d->lines, "  (section version) %s%" PRIu32 "%s -> %s%" PRIu32
                               "%s\n", d->c.a, sa->version_id, d->c.off, d->c.b,
                               sb->version_id, d->c.off);
        d->n_diffs++;
    }
    if (!diff_matches(d, root)) {
        diff_nodes(d, root, sa->state, sb->state);
    }
    diff_flush_section(d, header);
}

/* Device sections in A's order, then what is on one side only. */
static void diff_sections(DiffRun *d, DiffSide *a, DiffSide *b)
{
    GString *only = g_string_new(NULL);

    for (guint i = 0; i < a->devices->len; i++) {
        DiffSection *da = g_ptr_array_index(a->devices, i);
        DiffSection *db = g_hash_table_lookup(b->by_key, da->key);

        if (diff_matches(d, da->sec->idstr)) {
            da->matched = true;
            if (db) {
                db->matched = true;
            }
            continue;
        }
        if (db) {
            da->matched = db->matched = true;
            d->tmp = talloc_new(NULL);
            diff_section_pair(d, da, db);
            talloc_free(d->tmp);
            d->tmp = NULL;
        }
    }
    for (int side = 0; side < 2; side++) {
        DiffSide *s = side ? b : a;
        DiffSide *other = side ? a : b;

        /* A stream that failed to load says nothing about what it lacks. */
        if (!other->ts->complete) {
            continue;
        }
        for (guint i = 0; i < s->devices->len; i++) {
            DiffSection *ds = g_ptr_array_index(s->devices, i);

            if (!ds->matched && !diff_matches(d, ds->sec->idstr)) {
                g_string_append_printf(only, "  section %s (version %" PRIu32 ", %s): only in %s\n",
                                       ds->key, ds->sec->version_id,
                                       vs_decoded_by_name(ds->sec->decoded_by), s->name);
                d->n_diffs++;
            }
        }
    }
    g_string_append(d->lines, only->str);
    g_string_free(only, TRUE);
}

/* The machine type of the configuration section. */
static void diff_config(DiffRun *d, const VsStream *a, const VsStream *b)
{
    const char *ma = a && a->machine ? a->machine : "(none)";
    const char *mb = b && b->machine ? b->machine : "(none)";

    if (strcmp(ma, mb) != 0 && !diff_matches(d, "configuration")) {
        g_string_append_printf(d->lines, "  machine: %s%s%s -> %s%s%s\n", d->c.a, ma, d->c.off,
                               d->c.b, mb, d->c.off);
        d->n_diffs++;
    }
    diff_flush_section(d, "configuration");
}

/* ---- RAM ---------------------------------------------------------------- */

static const VsRamBlockInfo *diff_find_block(const VsStream *s, const char *name)
{
    for (size_t i = 0; s && i < s->n_blocks; i++) {
        if (strcmp(s->blocks[i].name, name) == 0) {
            return &s->blocks[i];
        }
    }
    return NULL;
}

static void diff_ram_blocks(DiffRun *d, const DiffSide *a, const DiffSide *b)
{
    const VsStream *sa = a->ts->stream, *sb = b->ts->stream;

    for (size_t i = 0; sa && i < sa->n_blocks; i++) {
        const VsRamBlockInfo *ba = &sa->blocks[i];
        const VsRamBlockInfo *bb = diff_find_block(sb, ba->name);

        if (diff_matches(d, ba->name)) {
            continue;
        }
        if (!bb && b->ts->complete) {
            g_string_append_printf(d->lines, "  RAM block %s (0x%" PRIx64 " bytes): only in A\n",
                                   ba->name, ba->length);
            d->n_diffs++;
        } else if (bb && bb->length != ba->length) {
            g_string_append_printf(d->lines, "  RAM block %s: length %s0x%" PRIx64 "%s -> %s0x%"
                                   PRIx64 "%s\n", ba->name, d->c.a, ba->length, d->c.off,
                                   d->c.b, bb->length, d->c.off);
            d->n_diffs++;
        }
    }
    for (size_t i = 0; sb && i < sb->n_blocks; i++) {
        const VsRamBlockInfo *bb = &sb->blocks[i];

        if (!diff_find_block(sa, bb->name) && a->ts->complete && !diff_matches(d, bb->name)) {
            g_string_append_printf(d->lines, "  RAM block %s (0x%" PRIx64 " bytes): only in B\n",
                                   bb->name, bb->length);
            d->n_diffs++;
        }
    }
}

static const char *diff_page_kind(VsPageDiffKind kind)
{
    switch (kind) {
    case VS_PAGE_DIFF_CONTENT:
        return "content differs";
    case VS_PAGE_DIFF_ONLY_A:
        return "sent only in A";
    default:
        return "sent only in B";
    }
}

static void diff_ram_range(const VsPageDiffRange *r, void *opaque)
{
    DiffRun *d = opaque;

    /* A block listed by one stream only was reported as a whole. */
    if (diff_matches(d, r->block) ||
        !diff_find_block(d->sa, r->block) != !diff_find_block(d->sb, r->block)) {
        return;
    }
    g_string_append_printf(d->lines, "  %s 0x%08" PRIx64 "-0x%08" PRIx64 " (%" PRIu64
                           " page%s): %s\n", r->block, r->start, r->end - 1, r->n_pages,
                           r->n_pages == 1 ? "" : "s", diff_page_kind(r->kind));
    d->n_diffs++;
}

static void diff_ram(DiffRun *d, const DiffSide *a, const DiffSide *b)
{
    if (a->ts->stream && b->ts->stream && a->ts->stream->page_size != b->ts->stream->page_size) {
        g_string_append_printf(d->lines, "  page size: %" PRIu64 " -> %" PRIu64
                               " (pages not compared)\n", a->ts->stream->page_size,
                               b->ts->stream->page_size);
        d->n_diffs++;
        return;
    }
    vs_page_digests_compare(a->ram, b->ram, diff_ram_range, d);
}

/* ---- the command -------------------------------------------------------- */

static const VsToolHelp diff_help = {
    .params = "A|- B|-",
    .description =
        "Compare two migration streams and print what differs. Each of A and B is a file or\n"
        "- (standard input, for one of them), in the legacy QEMU format or in vstate's BER\n"
        "form (detected from the first bytes); the two need not be in the same form.\n"
        "\n"
        "The output comes in this order, every line naming what it is about:\n"
        "  configuration   the machine type, when it differs\n"
        "  section IDSTR instance N\n"
        "                  one line per differing field: its full path and both values,\n"
        "                  `path: A -> B`, with the types when they differ; runs of differing\n"
        "                  bytes of a buffer as `path[i..j]: bytes -> bytes`; fields,\n"
        "                  subsections and elements present on one side as `only in A|B`\n"
        "  sections        device sections present in one stream only\n"
        "  RAM             RAM blocks present in one stream only or of different length,\n"
        "                  then the pages that differ, as offset ranges per block: the\n"
        "                  content differs, or the page was sent by one stream only\n"
        "Pages are compared by a digest of their final content (after every record), so\n"
        "memory stays bounded by the number of pages, not their bytes. Pages sent as XBZRLE\n"
        "or compressed records compare equal only when sent the same way.\n"
        "\n"
        "Output is stable and free of colour unless standard output is a terminal. When a\n"
        "stream fails to load, what was decoded before the failure is compared (sections it\n"
        "did not reach are not reported as missing), then the error is printed.",
    .epilogue =
        "PATTERN is a shell glob (fnmatch(3), `*` also crosses `.`) matched against every\n"
        "field path (`mc146818rtc.*`, `*.cpu_ticks_offset`), every section idstr\n"
        "(`globalstate`), every RAM block name (`pc.ram`) and `configuration`; what matches\n"
        "is left out of the comparison.\n"
        "\n"
        "Exit status:\n"
        "  0  the streams hold the same state\n"
        "  1  they differ\n"
        "  2  an input cannot be read or fails to load (after printing what was compared)\n"
        "\n"
        "Examples:\n"
        "  vstate diff src.bin dst.bin\n"
        "  vstate diff --ignore 'timer' --ignore 'mc146818rtc.*' before.bin after.ber\n"
        "  ssh dst cat /var/tmp/resaved.bin | vstate diff sent.bin -\n"
        "  vstate diff -q a.bin b.bin && echo same\n",
};

static int diff_streams(DiffRun *d, VsToolStream *ta, VsToolStream *tb,
                        VsPageDigests *const pages[2], bool quiet)
{
    TALLOC_CTX *ctx = talloc_new(NULL);
    DiffSide a = { 0 }, b = { 0 };
    bool progress = isatty(STDERR_FILENO);

    diff_side_init(&a, ctx, "A", ta, pages[0], progress);
    diff_side_init(&b, ctx, "B", tb, pages[1], progress);
    d->lines = g_string_new(NULL);
    d->sa = ta->stream;
    d->sb = tb->stream;
    d->quiet = quiet;
    diff_config(d, ta->stream, tb->stream);
    diff_sections(d, &a, &b);
    diff_flush_section(d, "sections");
    diff_ram_blocks(d, &a, &b);
    diff_ram(d, &a, &b);
    diff_flush_section(d, "RAM");
    g_string_free(d->lines, TRUE);
    diff_side_clear(&a);
    diff_side_clear(&b);
    talloc_free(ctx);
    return d->n_diffs ? VS_TOOL_EXIT_DIFFERENT : VS_TOOL_EXIT_OK;
}

int vs_cmd_diff(const char *prog, int argc, char **argv)
{
    g_auto(GStrv) ignore = NULL;
    g_autofree char *color = NULL;
    gboolean quiet = FALSE, no_schemas = FALSE;
    GOptionEntry entries[] = {
        { "ignore", 'i', 0, G_OPTION_ARG_STRING_ARRAY, &ignore,
          "leave out fields, sections or RAM blocks matching this shell glob (repeatable)",
          "PATTERN" },
        { "color", 0, 0, G_OPTION_ARG_STRING, &color,
          "colour the output: auto (on a terminal; the default), always or never", "WHEN" },
        { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet,
          "print nothing; only the exit status tells", NULL },
        { "no-schemas", 0, 0, G_OPTION_ARG_NONE, &no_schemas,
          "decode device sections from each stream's own description only", NULL },
        { NULL },
    };
    TALLOC_CTX *ctx = talloc_new(NULL);
    g_autoptr(GError) err = NULL;
    VsToolStream *ts[2];
    VsPageDigests *pages[2];
    VsLoadOptions opts = { 0 };
    DiffRun d = { .out = stdout };
    bool bad_color;
    int status = VS_TOOL_EXIT_ERROR;

    if (!vs_tool_parse_options(prog, &diff_help, entries, &argc, &argv, &status)) {
        goto out;
    }
    if (argc != 3) {
        status = vs_tool_fail(prog, "expected two streams A and B; see --help");
        goto out;
    }
    if (strcmp(argv[1], "-") == 0 && strcmp(argv[2], "-") == 0) {
        status = vs_tool_fail(prog, "only one of A and B can be standard input");
        goto out;
    }
    if (vs_tool_use_color(color, stdout, &bad_color)) {
        d.c = (DiffColors){ "\033[1m", "\033[31m", "\033[32m", "\033[m" };
    } else {
        d.c = (DiffColors){ "", "", "", "" };
    }
    if (bad_color) {
        status = vs_tool_fail(prog, "unknown --color '%s' (auto, always or never)", color);
        goto out;
    }
    d.ignore = ignore;
    opts.no_schemas = no_schemas;
    opts.ram_page = diff_page;
    for (int i = 0; i < 2; i++) {
        /* The loader keeps no page: each goes into the side's digest table. */
        pages[i] = vs_page_digests_new(ctx, 0);
        opts.ram_page_opaque = pages[i];
        ts[i] = vs_tool_open_stream(ctx, argv[1 + i], &opts, false, &err);
        if (!ts[i]) {
            status = vs_tool_fail(prog, "%s: %s", i ? "B" : "A", err->message);
            goto out;
        }
    }
    status = diff_streams(&d, ts[0], ts[1], pages, quiet);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        status = vs_tool_fail(prog, "writing standard output failed");
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        if (!ts[i]->complete) {
            status = vs_tool_fail(prog, "%s (%s): %s", i ? "B" : "A", argv[1 + i],
                                  ts[i]->error->message);
        }
    }
out:
    talloc_free(ctx);
    return status;
}
