/*
 * asn1c-decode-driver.c: decode BER files with asn1c's generated decoder.
 *
 * SPDX-License-Identifier: MIT
 *
 * Built at test time by test-asn1c-decode.py, together with the C that
 * asn1c generates from vstate-gen's ASN.1 modules and the runtime files
 * asn1c copies next to it, and with a table (asn1c_pdus.c, written by the
 * script) of the top-level types:
 *
 *     const struct asn1c_pdu asn1c_pdus[] = { { "Counter", &asn_DEF_Counter }, ..., { 0 } };
 *
 * usage: asn1c-decode-driver TYPE FILE [TYPE FILE]...
 * For each pair, prints one line: "ok TYPE FILE" when ber_decode() takes
 * the whole file as TYPE and asn_check_constraints() passes, else
 * "fail TYPE FILE: reason".  Also checks what ASN.1 cannot say: in every
 * array ([13] SEQUENCE OF CHOICE { element-type, count, value... }; the
 * element size follows the count as a second 'count' item) the
 * element type comes first, the count second and equals the number of
 * values; in every list ([14]) the element type comes first, once.
 * Exits 0 when it could run (the caller judges each line), 2 on bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asn_application.h"
#include "constr_CHOICE.h"
#include "constr_SEQUENCE.h"
#include "constr_SEQUENCE_OF.h"
#include "asn_SEQUENCE_OF.h"
#include "INTEGER.h"
#include "NativeInteger.h"

struct asn1c_pdu {
    const char *name;
    asn_TYPE_descriptor_t *td;
};
extern const struct asn1c_pdu asn1c_pdus[];

static char problem[256];

/*
 * asn1c 0.9.28's decoder of a named constrained type replaces the type's
 * constraint check with its base type's (the generated *_inherit_TYPE_
 * descriptor()), so after the first decode asn_check_constraints() would
 * no longer check ranges.  Every reachable descriptor's check is noted
 * before any decode and put back before each check.
 */
static struct saved_check {
    asn_TYPE_descriptor_t *td;
    asn_constr_check_f *check;
} saved[8192];
static int n_saved;

static void save_checks(asn_TYPE_descriptor_t *td)
{
    for (int i = 0; i < n_saved; i++) {
        if (saved[i].td == td) {
            return;
        }
    }
    if (n_saved == (int)(sizeof(saved) / sizeof(saved[0]))) {
        fprintf(stderr, "too many ASN.1 types\n");
        exit(2);
    }
    saved[n_saved].td = td;
    saved[n_saved++].check = td->check_constraints;
    for (int i = 0; i < td->elements_count; i++) {
        save_checks(td->elements[i].type);
    }
}

static void restore_checks(void)
{
    for (int i = 0; i < n_saved; i++) {
        saved[i].td->check_constraints = saved[i].check;
    }
}

static void *member_ptr(const asn_TYPE_member_t *m, void *sptr)
{
    void *p = (char *)sptr + m->memb_offset;

    if (m->flags & ATF_POINTER) {
        p = *(void **)p;
    }
    return p;
}

/* The alternative @choice (a CHOICE value of type @td) holds, or -1. */
static int choice_present(const asn_TYPE_descriptor_t *td, const void *choice)
{
    const asn_CHOICE_specifics_t *specs = td->specifics;
    const char *p = (const char *)choice + specs->pres_offset;
    int pres;

    switch (specs->pres_size) {
    case sizeof(int): pres = *(const int *)p; break;
    case sizeof(short): pres = *(const short *)p; break;
    case sizeof(char): pres = *(const char *)p; break;
    default: return -1;
    }
    return pres - 1;    /* asn1c numbers alternatives from 1; 0 is "nothing" */
}

static int check_value(asn_TYPE_descriptor_t *td, void *sptr, int depth);

/* A SEQUENCE OF CHOICE whose first alternatives are element-type (and count). */
static int check_items(asn_TYPE_descriptor_t *td, void *sptr, int depth)
{
    asn_anonymous_sequence_ *seq = _A_SEQUENCE_FROM_VOID(sptr);
    asn_TYPE_descriptor_t *item = td->elements[0].type;
    /* Arrays: element-type, count, element-size (both INTEGERs are the 'count'
     * alternative); lists: element-type, element-size. */
    int counted = item->elements_count >= 3 && !strcmp(item->elements[1].name, "count");
    int sized = item->elements_count >= 3 && !strcmp(item->elements[1].name, "element-size");
    int header = counted ? 3 : sized ? 2 : 1;

    if (item->elements_count < 2 || strcmp(item->elements[0].name, "element-type") != 0) {
        goto inner;     /* not an array or a list: just look inside */
    }
    if (seq->count < header) {
        snprintf(problem, sizeof(problem), "%s: %d items, the header needs %d",
                 td->name, seq->count, header);
        return -1;
    }
    for (int i = 0; i < seq->count; i++) {
        int alt = choice_present(item, seq->array[i]);
        int want_header = i == 0 ? 0 : i < header ? 1 : -1;

        if ((i < header && alt != want_header) ||
            (i >= header && alt < ((counted || sized) ? 2 : 1))) {
            snprintf(problem, sizeof(problem), "%s: item %d is '%s', expected %s", td->name,
                     i, alt >= 0 && alt < item->elements_count ? item->elements[alt].name : "?",
                     i == 0 ? "element-type" : i < header ? item->elements[1].name : "a value");
            return -1;
        }
    }
    if (counted) {
        const asn_TYPE_member_t *cm = &item->elements[1];
        void *cp = member_ptr(cm, seq->array[1]);
        long count = -1;

        if (cm->type->ber_decoder == NativeInteger_decode_ber) {
            count = *(const long *)cp;      /* asn1c's native INTEGER (long) */
        } else if (asn_INTEGER2long(cp, &count) != 0) {
            count = -1;
        }
        if (count != seq->count - header) {
            snprintf(problem, sizeof(problem), "%s: count says %ld, %d values follow", td->name,
                     count, seq->count - header);
            return -1;
        }
    }
inner:
    for (int i = 0; i < seq->count; i++) {
        if (check_value(item, seq->array[i], depth + 1) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Walk a decoded value by its descriptor; constructed types only. */
static int check_value(asn_TYPE_descriptor_t *td, void *sptr, int depth)
{
    if (!sptr || depth > 200) {
        return 0;
    }
    if (td->ber_decoder == SEQUENCE_decode_ber) {
        for (int i = 0; i < td->elements_count; i++) {
            void *p = member_ptr(&td->elements[i], sptr);

            if (p && check_value(td->elements[i].type, p, depth + 1) < 0) {
                return -1;
            }
        }
    } else if (td->ber_decoder == CHOICE_decode_ber) {
        int alt = choice_present(td, sptr);

        if (alt >= 0 && alt < td->elements_count) {
            return check_value(td->elements[alt].type, member_ptr(&td->elements[alt], sptr),
                               depth + 1);
        }
    } else if (td->ber_decoder == SEQUENCE_OF_decode_ber) {
        return check_items(td, sptr, depth);
    }
    return 0;
}

static int check_file(const char *type, const char *path)
{
    const struct asn1c_pdu *pdu;
    static unsigned char buf[1 << 20];
    FILE *f;
    size_t len;
    void *value = NULL;
    asn_codec_ctx_t ctx = { .max_stack_size = 100000 };
    asn_dec_rval_t rv;
    size_t errlen = sizeof(problem);
    int ok = 0;

    for (pdu = asn1c_pdus; pdu->name && strcmp(pdu->name, type) != 0; pdu++) {
    }
    if (!pdu->name) {
        printf("fail %s %s: no such type in the modules\n", type, path);
        return 0;
    }
    f = fopen(path, "rb");
    if (!f) {
        printf("fail %s %s: %s\n", type, path, strerror(errno));
        return 0;
    }
    len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    rv = ber_decode(&ctx, pdu->td, &value, buf, len);
    problem[0] = 0;
    if (rv.code != RC_OK) {
        printf("fail %s %s: ber_decode failed (code %d) after %zu of %zu bytes\n", type, path,
               (int)rv.code, rv.consumed, len);
    } else if (rv.consumed != len) {
        printf("fail %s %s: ber_decode took %zu of %zu bytes\n", type, path, rv.consumed, len);
    } else if ((restore_checks(), asn_check_constraints(pdu->td, value, problem, &errlen)) != 0) {
        printf("fail %s %s: constraints: %s\n", type, path, problem);
    } else if (check_value(pdu->td, value, 0) < 0) {
        printf("fail %s %s: %s\n", type, path, problem);
    } else {
        printf("ok %s %s\n", type, path);
        ok = 1;
    }
    ASN_STRUCT_FREE(*pdu->td, value);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc % 2 != 1) {
        fprintf(stderr, "usage: %s TYPE FILE [TYPE FILE]...\n", argv[0]);
        return 2;
    }
    for (const struct asn1c_pdu *pdu = asn1c_pdus; pdu->name; pdu++) {
        save_checks(pdu->td);
    }
    for (int i = 1; i + 1 < argc; i += 2) {
        check_file(argv[i], argv[i + 1]);
    }
    return 0;
}
