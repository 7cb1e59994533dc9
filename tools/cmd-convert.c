/*
 * cmd-convert.c: `vstate convert`, re-encoding a whole stream in the legacy
 * QEMU format or in vstate's BER form.  Legacy -> BER -> legacy gives the
 * same bytes back (migration/ber-stream.h keeps the record layer).
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "migration/ber-stream.h"
#include "tools/commands.h"
#include "tools/streamtool.h"

static bool convert_parse_to(const char *name, VsToolFormat from, VsToolFormat *ret)
{
    if (!name) {
        *ret = from == VS_TOOL_FORMAT_BER ? VS_TOOL_FORMAT_LEGACY : VS_TOOL_FORMAT_BER;
        return true;
    }
    if (strcmp(name, "legacy") == 0) {
        *ret = VS_TOOL_FORMAT_LEGACY;
        return true;
    }
    if (strcmp(name, "ber") == 0) {
        *ret = VS_TOOL_FORMAT_BER;
        return true;
    }
    return false;
}

/* Encodes @s in @to into a new byte array. */
static GByteArray *convert_encode(TALLOC_CTX *ctx, const VsStream *s, VsToolFormat to,
                                  const char *const *must_understand, GError **errp)
{
    VsBerEncodeOptions ber = { .must_understand = must_understand };
    GByteArray *out = g_byte_array_new();
    VsQemuFile *f;
    const uint8_t *bytes;
    size_t len;

    if (to == VS_TOOL_FORMAT_BER) {
        if (!vs_stream_encode_ber_opts(s, out, &ber, errp)) {
            g_byte_array_unref(out);
            return NULL;
        }
        return out;
    }
    f = vs_qemufile_new_memory_writer(ctx);
    if (!vs_stream_encode(s, f, errp) || !vs_qemufile_flush(f, errp)) {
        g_byte_array_unref(out);
        return NULL;
    }
    bytes = vs_qemufile_memory_data(f, &len);
    if (len > G_MAXUINT) {
        g_set_error(errp, VS_MIG_ERROR, VS_MIG_ERROR_LIMIT,
                    "the legacy encoding of %zu bytes is too large to hold", len);
        g_byte_array_unref(out);
        return NULL;
    }
    g_byte_array_append(out, bytes, (guint)len);
    vs_qemufile_free(f);
    return out;
}

static bool convert_write_stdout(const GByteArray *bytes, GError **errp)
{
    size_t done = 0;

    while (done < bytes->len) {
        ssize_t n = write(STDOUT_FILENO, bytes->data + done, bytes->len - done);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int e = errno;

            g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(e),
                        "writing standard output failed: %s", g_strerror(e));
            return false;
        }
        done += (size_t)n;
    }
    return true;
}

static bool convert_write(const char *path, const GByteArray *bytes, GError **errp)
{
    if (strcmp(path, "-") == 0) {
        return convert_write_stdout(bytes, errp);
    }
    /* Whole or not at all: a reader never sees half a stream under OUT's name. */
    return g_file_set_contents(path, (const char *)bytes->data, bytes->len, errp);
}

static const VsToolHelp convert_help = {
    .params = "IN|- OUT|-",
    .description =
        "Re-encode a whole migration stream. IN is read in either form (the legacy QEMU\n"
        "format or vstate's BER form, detected from its first bytes); OUT is written in\n"
        "the form --to names, or in the other form when --to is not given.\n"
        "\n"
        "The record layer is kept (section ids and order, footers, RAM records as sent,\n"
        "commands, the description trailer), so a legacy stream converted to BER and back\n"
        "is byte-identical to the original, and converting a BER stream to BER gives the\n"
        "same bytes again. OUT is replaced only when the whole stream was encoded.\n"
        "\n"
        "--must-understand IDSTR marks that section must-understand in a BER header: a\n"
        "reader without a schema for it refuses the stream instead of skipping the section\n"
        "(docs/ber-format.md); `vstate describe` shows the marks.",
    .epilogue =
        "Exit status:\n"
        "  0  OUT was written\n"
        "  2  IN cannot be read or fails to load, or OUT cannot be written\n"
        "\n"
        "Examples:\n"
        "  vstate convert --to=ber saved.bin saved.ber\n"
        "  vstate convert --to=legacy saved.ber - | cmp - saved.bin\n"
        "  cat saved.bin | vstate convert - - | vstate dump -\n",
};

int vs_cmd_convert(const char *prog, int argc, char **argv)
{
    g_autofree char *to_name = NULL;
    g_auto(GStrv) must_understand = NULL;
    GOptionEntry entries[] = {
        { "to", 't', 0, G_OPTION_ARG_STRING, &to_name,
          "the form to write: legacy or ber (default: the form IN is not in)", "FORM" },
        { "must-understand", 0, 0, G_OPTION_ARG_STRING_ARRAY, &must_understand,
          "BER: mark the section of this idstr must-understand in the header; repeatable",
          "IDSTR" },
        { NULL },
    };
    TALLOC_CTX *ctx = talloc_new(NULL);
    g_autoptr(GError) err = NULL;
    GByteArray *bytes = NULL;
    VsToolStream *ts;
    VsToolFormat to = VS_TOOL_FORMAT_BER;
    int status = VS_TOOL_EXIT_ERROR;

    if (!vs_tool_parse_options(prog, &convert_help, entries, &argc, &argv, &status)) {
        goto out;
    }
    if (argc != 3) {
        status = vs_tool_fail(prog, "expected IN and OUT (- for standard input/output); "
                                    "see --help");
        goto out;
    }
    if (to_name && !convert_parse_to(to_name, VS_TOOL_FORMAT_LEGACY, &to)) {
        status = vs_tool_fail(prog, "unknown form '%s' for --to (legacy or ber)", to_name);
        goto out;
    }
    ts = vs_tool_open_stream(ctx, argv[1], NULL, true, &err);
    if (!ts) {
        status = vs_tool_fail(prog, "%s (nothing written)", err->message);
        goto out;
    }
    if (!ts->complete) {
        status = vs_tool_fail(prog, "%s: %s (nothing written)", argv[1], ts->error->message);
        goto out;
    }
    convert_parse_to(to_name, ts->format, &to);
    bytes = convert_encode(ctx, ts->stream, to, (const char *const *)must_understand, &err);
    if (!bytes) {
        status = vs_tool_fail(prog, "%s: cannot encode as %s: %s (nothing written)", argv[1],
                              vs_tool_format_name(to), err->message);
        goto out;
    }
    if (!convert_write(argv[2], bytes, &err)) {
        status = vs_tool_fail(prog, "%s", err->message);
        goto out;
    }
    status = VS_TOOL_EXIT_OK;
out:
    if (bytes) {
        g_byte_array_unref(bytes);
    }
    talloc_free(ctx);
    return status;
}
