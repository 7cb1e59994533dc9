/*
 * qemu-json.h: a loaded stream printed exactly as QEMU 7.2's
 * scripts/analyze-migration.py prints it with `-d state`, so that scripts
 * written for that output keep working on what vstate reads.
 *
 * SPDX-License-Identifier: MIT
 *
 * The output is an object with one key per section id, "IDSTR (ID)", in
 * the order the ids first appear; a later START/FULL with the same id
 * replaces the value in place.  RAM gives {"section sizes": {block:
 * "0x%016x"}}; a device section gives its fields by name (fields sent
 * several times under one name, such as array elements, become a list;
 * a single element stays a scalar), then its subsections by wire name.
 * Unsigned integers are "0x" and twice their width in hex digits; a
 * negative signed one is followed by its decimal value ("0xffffffff (-1)");
 * bools are JSON booleans; everything else is its bytes in hex, separated
 * by spaces.  "uint8 equal", "uint16 equal" and "int64 equal" fields are
 * signed there, and a "bool" field is true for any non-zero byte: when the
 * stream's description is at hand its field types decide this, as they do
 * for the script.  JSON is written as Python's json module writes it with
 * indent=4 and separators (',', ': '), non-ASCII escaped, with a final
 * newline.
 *
 * Where the script stops, this goes on: sections decoded by compiled
 * schemas (no description trailer), streams with commands (the sections of
 * a PACKAGED command come in stream order), BER input.
 */
#ifndef VSTATE_TOOLS_QEMU_JSON_H
#define VSTATE_TOOLS_QEMU_JSON_H

#include <glib.h>

#include "migration/stream.h"

G_BEGIN_DECLS

/*
 * vs_qemu_json_render: append the analyze-migration.py rendering of @s to
 * @out.
 * @section_globs: only sections whose idstr matches one of these shell
 *   globs (a NULL-terminated list), or NULL for all
 */
void vs_qemu_json_render(GString *out, const VsStream *s, const char *const *section_globs);

/* Whether @idstr matches one of @globs (NULL-terminated; NULL matches all). */
bool vs_qemu_json_glob_match(const char *const *globs, const char *idstr);

G_END_DECLS

#endif /* VSTATE_TOOLS_QEMU_JSON_H */
