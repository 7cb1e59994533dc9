/*
 * vs-rewrite.c: the interop tests' tool.  Loads a QEMU migration stream,
 * optionally changes one value in one device's decoded state, and writes
 * the stream again through the record layer; or prints one value.
 *
 * SPDX-License-Identifier: MIT
 *
 *   vs-rewrite IN OUT                                 re-encode
 *   vs-rewrite IN OUT IDSTR INSTANCE PATH VALUE       re-encode with one value set
 *   vs-rewrite --get IN IDSTR INSTANCE PATH           print one value (decimal)
 *   vs-rewrite --describe IN                          one line per section: how decoded
 *
 * PATH is the field path below the section root, as errors print it
 * ("cmos_data[14]", "dev.config[4]"); a trailing [i] may index a buffer.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "examples/example-walkers.h"
#include "migration/stream.h"

static int usage(void)
{
    fprintf(stderr, "usage: vs-rewrite IN OUT [IDSTR INSTANCE PATH VALUE]\n"
                    "       vs-rewrite --get IN IDSTR INSTANCE PATH\n"
                    "       vs-rewrite --describe IN\n");
    return 2;
}

/* A leaf of @root at @path; a trailing "[i]" on a buffer selects a byte. */
static VsNode *find_leaf(VsNode *root, const char *path, long *ret_byte)
{
    g_autofree char *full = g_strdup_printf("%s.%s", root->name ? root->name : "<root>", path);
    VsNode *n = vs_node_lookup(root, full);
    char *bracket;

    *ret_byte = -1;
    if (n) {
        return n;
    }
    bracket = strrchr(full, '[');
    if (!bracket) {
        return NULL;
    }
    *ret_byte = strtol(bracket + 1, NULL, 0);
    *bracket = '\0';
    n = vs_node_lookup(root, full);
    if (!n || (n->kind != VS_NODE_BUFFER && n->kind != VS_NODE_OPAQUE) || *ret_byte < 0 ||
        (size_t)*ret_byte >= n->len) {
        return NULL;
    }
    return n;
}

static VsNode *find_state(VsStream *s, const char *idstr, const char *instance)
{
    VsSection *sec = vs_stream_find_section(s, idstr, (uint32_t)strtoul(instance, NULL, 0));

    return sec ? sec->state : NULL;
}

static bool set_leaf(VsNode *n, long byte, const char *text)
{
    long long value = strtoll(text, NULL, 0);

    if (byte >= 0) {
        n->bytes[byte] = (uint8_t)value;
    } else if (n->kind == VS_NODE_UINT) {
        n->value.u = (uint64_t)value;
    } else if (n->kind == VS_NODE_INT) {
        n->value.i = value;
    } else if (n->kind == VS_NODE_BOOL) {
        n->value.b = value != 0;
    } else {
        return false;
    }
    return true;
}

static int describe(VsStream *s)
{
    for (size_t i = 0; i < s->n_records; i++) {
        const VsRecord *r = &s->records[i];

        if (r->kind == VS_REC_SECTION &&
            (r->section.type == VS_MIG_SECTION_FULL || r->section.type == VS_MIG_SECTION_START)) {
            printf("%s %" PRIu32 " %s\n", r->section.idstr, r->section.instance_id,
                   vs_decoded_by_name(r->section.decoded_by));
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    TALLOC_CTX *ctx = talloc_new(NULL);
    g_autoptr(GError) err = NULL;
    VsStream *s = NULL;
    int status = 1;

    vs_ex_register();
    if (argc == 3 && strcmp(argv[1], "--describe") == 0) {
        if (!vs_stream_load_file(ctx, argv[2], NULL, &s, &err)) {
            goto out;
        }
        status = describe(s);
    } else if (argc == 6 && strcmp(argv[1], "--get") == 0) {
        VsNode *root, *n;
        long byte;

        if (!vs_stream_load_file(ctx, argv[2], NULL, &s, &err)) {
            goto out;
        }
        root = find_state(s, argv[3], argv[4]);
        n = root ? find_leaf(root, argv[5], &byte) : NULL;
        if (!n) {
            fprintf(stderr, "vs-rewrite: no value at %s %s %s\n", argv[3], argv[4], argv[5]);
            goto out;
        }
        printf("%" PRIu64 "\n", byte >= 0 ? (uint64_t)n->bytes[byte] : n->value.u);
        status = 0;
    } else if (argc == 3 || argc == 7) {
        VsQemuFile *out;

        if (!vs_stream_load_file(ctx, argv[1], NULL, &s, &err)) {
            goto out;
        }
        if (argc == 7) {
            VsNode *root = find_state(s, argv[3], argv[4]);
            long byte;
            VsNode *n = root ? find_leaf(root, argv[5], &byte) : NULL;

            if (!n || !set_leaf(n, byte, argv[6])) {
                fprintf(stderr, "vs-rewrite: cannot set %s %s %s\n", argv[3], argv[4], argv[5]);
                goto out;
            }
        }
        out = vs_qemufile_open_path(ctx, argv[2], VS_QEMUFILE_WRITE, &err);
        if (!out || !vs_stream_encode(s, out, &err) || !vs_qemufile_close(out, &err)) {
            goto out;
        }
        status = 0;
    } else {
        status = usage();
    }
out:
    if (err) {
        fprintf(stderr, "vs-rewrite: %s\n", err->message);
    }
    talloc_free(ctx);
    return status;
}
