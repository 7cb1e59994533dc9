/*
 * asn1c-ber-vectors.c: BER test vectors for the asn1c cross-check.
 *
 * SPDX-License-Identifier: MIT
 *
 * Saves a filled state of every type of features.vs (and of common.vs and
 * bound.vs) with the BER save visitor, one file per state in OUTDIR, and
 * prints "ASN1-TYPE FILE" per file for test-asn1c-decode.py, which has
 * asn1c's generated decoder take them.  A variant with the optional parts
 * left out is saved too where a type has some.
 *
 * usage: asn1c-ber-vectors OUTDIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bound.vs.h"
#include "common.vs.h"
#include "features-impl.h"
#include "features.vs.h"
#include "visitor/ber/ber-visitor.h"

static const char *outdir;
static int failures;
/* Paths the next save marks must-understand (NULL-terminated), or NULL. */
static const char *const *marks;

typedef bool (*Walker)(VsVisitor *v, const char *name, void *s, GError **errp);

static void save(TALLOC_CTX *mem, const char *asn1_type, const char *file, Walker walk,
                 const char *name, void *state)
{
    VsVisitor *v = vs_ber_save_visitor_new(mem);
    GError *err = NULL;
    const uint8_t *data;
    size_t len;
    char *path;
    FILE *f;

    for (size_t i = 0; marks && marks[i]; i++) {
        vs_ber_save_visitor_mark(v, marks[i]);
    }

    if (!walk(v, name, state, &err) || !vs_visitor_complete(v, &err)) {
        fprintf(stderr, "%s: cannot save: %s\n", file, err->message);
        g_error_free(err);
        failures++;
        return;
    }
    data = vs_ber_save_visitor_data(v, &len);
    path = g_strdup_printf("%s/%s.ber", outdir, file);
    f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "%s: cannot write\n", path);
        failures++;
    } else {
        printf("%s %s\n", asn1_type, path);
    }
    g_free(path);
    vs_visitor_free(v);
}

#define SAVE(mem, T, file, name, state) \
    save((mem), #T, (file), (Walker)vs_visit_##T, (name), (state))

int main(int argc, char **argv)
{
    TALLOC_CTX *mem = talloc_new(NULL);

    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    outdir = argv[1];

    Point point = { .x = -7, .y = 0x7fff };
    SAVE(mem, Point, "point", "point", &point);
    Key key = { .id = 0xffffffff, .kind = 0xff };
    SAVE(mem, Key, "key", "key", &key);

    Scalars sc = {
        .a = 0xff, .b = 0x8000, .c = 0xffffffff, .d = UINT64_MAX, .e = INT8_MIN,
        .f = INT16_MIN, .g = INT32_MIN, .h = INT64_MIN, .flag = true, .ratio = -0.25,
        .deadline = -1,
    };
    SAVE(mem, Scalars, "scalars", "scalars", &sc);
    {
        /* The marker after a BOOLEAN value and after an INTEGER's [k]. */
        static const char *const scalar_marks[] = { "scalars.flag", "scalars.a", NULL };

        marks = scalar_marks;
        SAVE(mem, Scalars, "scalars-marked", "scalars", &sc);
        marks = NULL;
    }

    Fifo fifo = { .capacity = 16, .head = 2, .num = 5 };
    memcpy(fifo.data, "0123456789abcdef", 16);
    SAVE(mem, Fifo, "fifo", "fifo8", &fifo);

    Arrays ar;
    memset(&ar, 0, sizeof(ar));
    ar.fixed16[0] = 1;
    ar.fixed16[2] = 0xffff;
    ar.n8 = 4;
    ar.by_u8[3] = 200;
    ar.n16 = 3;
    ar.n32 = 2;
    ar.by_u32[1] = 0x80000000u;
    ar.ni = 3;
    ar.by_i32[0] = -128;
    ar.nlocal = 4;
    ar.rows = 4;
    ar.grid[7] = 0xabcd;
    memcpy(ar.raw, "\x00\xff\x01\xfe", 4);
    ar.nbits = 130;
    ar.bits[0] = UINT64_MAX;
    ar.bits[2] = 3;
    SAVE(mem, Arrays, "arrays", "arrays", &ar);
    memset(&ar, 0, sizeof(ar));     /* empty variable arrays and buffers */
    SAVE(mem, Arrays, "arrays-empty", "arrays", &ar);

    Nested ne;
    vs_init_Nested(mem, &ne);
    memset(&ne, 0, sizeof(ne));
    ne.heap = talloc_zero(mem, Point);
    ne.heap->x = 5;
    ne.npts = 3;
    ne.vpts[2].y = -1;
    ne.slots[1] = talloc_zero(mem, Point);
    ne.slots[1]->x = 9;
    ne.timers[0] = talloc_zero(mem, int64_t);
    *ne.timers[0] = 1000000000;
    ne.fifo.capacity = 16;
    ne.fifo.num = 1;
    SAVE(mem, Nested, "nested", "nested", &ne);

    Lists li;
    memset(&li, 0, sizeof(li));
    SAVE(mem, Lists, "lists-empty", "lists", &li);
    li.q_count = 3;
    li.q = talloc_zero_array(mem, Point, 3);
    li.q[2].x = 3;
    li.l_count = 1;
    li.l = talloc_zero_array(mem, Point, 1);
    li.t_count = 3;
    li.t = talloc_zero_array(mem, Lists_t_node, 3);
    li.t[1].key = UINT64_MAX;
    li.kt_count = 2;
    li.kt = talloc_zero_array(mem, Lists_kt_node, 2);
    li.kt[1].key.id = 7;
    SAVE(mem, Lists, "lists", "lists", &li);

    Versioned ve = { .base = 1, .added = 2, .on = true, .neg = -1, .plain = 4, .mode = 2,
                     .extra = 0xffffffff, .magic = 0x56, .limit = 7 };
    SAVE(mem, Versioned, "versioned-mode2", "versioned", &ve);
    ve.mode = 3;    /* extra absent; by_fn and arith present */
    SAVE(mem, Versioned, "versioned-mode3", "versioned", &ve);

    Hooked ho;
    memset(&ho, 0, sizeof(ho));
    ho.value = 21;
    ho.n = 2;
    ho.late = 1;
    ho.flags = 0x05;
    ho.a = 0xa0b;
    ho.b = 0xbbb;
    ho.b3 = 0x33;
    ho.inner = 0x77;
    SAVE(mem, Hooked, "hooked", "hooked", &ho);
    {
        /* Marked subsections, one nested in another, and a field inside one. */
        static const char *const hooked_marks[] = {
            "hooked.hooked/a", "hooked.hooked/b", "hooked.hooked/b.hooked/b/inner",
            "hooked.hooked/a.a", NULL,
        };

        marks = hooked_marks;
        SAVE(mem, Hooked, "hooked-marked", "hooked", &ho);
        marks = NULL;
    }
    ho.flags = 0;
    ho.b = 0;       /* no subsection at all */
    SAVE(mem, Hooked, "hooked-no-subsections", "hooked", &ho);

    PciLike pci;
    memset(&pci, 0, sizeof(pci));
    pci.version_id = 2;
    for (int i = 0; i < 256; i++) {
        pci.config[i] = (uint8_t)i;
    }
    SAVE(mem, PciLike, "pcilike", "pcilike", &pci);

    BoundDev bd;
    memset(&bd, 0, sizeof(bd));
    bd.regs.id = 0x1234;
    bd.n = 4;
    bd.regs.vals[3] = 0xffff;
    bd.loc = talloc_zero(mem, Point);
    bd.enabled = true;
    SAVE(mem, Bound, "bound", "bound", &bd);

    talloc_free(mem);
    return failures ? 1 : 0;
}
