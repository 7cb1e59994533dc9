/*
 * stream-builder.h: small helpers the stream tests use to write synthetic
 * QEMU migration streams byte by byte (big-endian, as the format is).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VSTATE_TEST_STREAM_BUILDER_H
#define VSTATE_TEST_STREAM_BUILDER_H

#include <glib.h>
#include <string.h>

#include "migration/stream.h"

typedef GByteArray Buf;

static inline void put8(Buf *b, uint8_t v)
{
    g_byte_array_append(b, &v, 1);
}

static inline void put16(Buf *b, uint16_t v)
{
    put8(b, (uint8_t)(v >> 8));
    put8(b, (uint8_t)v);
}

static inline void put32(Buf *b, uint32_t v)
{
    put16(b, (uint16_t)(v >> 16));
    put16(b, (uint16_t)v);
}

static inline void put64(Buf *b, uint64_t v)
{
    put32(b, (uint32_t)(v >> 32));
    put32(b, (uint32_t)v);
}

/* A counted string: u8 length, then the bytes. */
static inline void putstr(Buf *b, const char *s)
{
    put8(b, (uint8_t)strlen(s));
    g_byte_array_append(b, (const uint8_t *)s, (guint)strlen(s));
}

/* A section header; PART/END (idstr NULL) carry only the id. */
static inline void put_section(Buf *b, uint8_t type, uint32_t id, const char *idstr,
                               uint32_t inst, uint32_t ver)
{
    put8(b, type);
    put32(b, id);
    if (idstr) {
        putstr(b, idstr);
        put32(b, inst);
        put32(b, ver);
    }
}

static inline void put_footer(Buf *b, uint32_t id)
{
    put8(b, VS_MIG_SECTION_FOOTER);
    put32(b, id);
}

static inline void put_trailer(Buf *b, const char *json)
{
    put8(b, VS_MIG_VMDESCRIPTION);
    put32(b, (uint32_t)strlen(json));
    g_byte_array_append(b, (const uint8_t *)json, (guint)strlen(json));
}

#endif /* VSTATE_TEST_STREAM_BUILDER_H */
