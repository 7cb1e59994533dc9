/*
 * savevm.c: writing a whole QEMU 7.2 precopy stream (see savevm.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include "migration/savevm.h"
#include "migration/json.h"
#include "migration/ram-save.h"
#include "migration/stream.h"
#include "migration/vmdesc.h"
#include "visitor/pretty/tee-visitor.h"
#include "visitor/qemufile/legacy-visitor.h"

#include <inttypes.h>
#include <string.h>

G_DEFINE_QUARK(vs-savevm-error-quark, vs_savevm_error)

/* QEMU's counted strings (idstrs, block names) carry a one-byte length. */
#define SAVEVM_MAX_NAME 255

typedef struct SaveDevice {
    char *idstr;
    uint32_t instance_id;
    uint32_t section_id;
    const VsRegistryEntry *entry;
    void *obj;
    int priority;
} SaveDevice;

struct VsSaveState {
    char *machine_type;
    uint32_t ram_section_id;
    uint32_t next_section_id;
    SaveDevice *devices;        /* talloc array, registration order */
    size_t n_devices;
    VsRamSaveBlock *blocks;     /* talloc array, registration order */
    size_t n_blocks;
};

VsSaveState *vs_savevm_new_numbered(TALLOC_CTX *mem_ctx, const char *machine_type,
                                    uint32_t ram_section_id)
{
    VsSaveState *s = talloc_zero(mem_ctx, VsSaveState);

    g_assert(s != NULL && machine_type != NULL);
    s->machine_type = talloc_strdup(s, machine_type);
    g_assert(s->machine_type != NULL);
    /* QEMU registers "ram" at startup, before any device. */
    s->ram_section_id = ram_section_id;
    s->next_section_id = ram_section_id + 1;
    return s;
}

VsSaveState *vs_savevm_new(TALLOC_CTX *mem_ctx, const char *machine_type)
{
    return vs_savevm_new_numbered(mem_ctx, machine_type, VS_SAVEVM_FIRST_SECTION_ID);
}

/* ---- registration -------------------------------------------------------- */

static bool savevm_check_name(const char *what, const char *name, GError **errp)
{
    size_t len = name ? strlen(name) : 0;

    if (len == 0 || len > SAVEVM_MAX_NAME) {
        g_set_error(errp, VS_SAVEVM_ERROR, VS_SAVEVM_ERROR_INVALID,
                    "%s '%s' must be 1 to %d bytes long, not %zu", what, name ? name : "",
                    SAVEVM_MAX_NAME, len);
        return false;
    }
    return true;
}

static bool savevm_section_taken(const VsSaveState *s, const char *idstr, uint32_t instance_id)
{
    if (instance_id == 0 && strcmp(idstr, "ram") == 0) {
        return true;
    }
    for (size_t i = 0; i < s->n_devices; i++) {
        if (s->devices[i].instance_id == instance_id && strcmp(s->devices[i].idstr, idstr) == 0) {
            return true;
        }
    }
    return false;
}

bool vs_savevm_add_device(VsSaveState *s, const char *idstr, uint32_t instance_id,
                          const VsRegistryEntry *entry, void *obj, int priority, GError **errp)
{
    SaveDevice *d;

    g_assert(entry != NULL && entry->type != NULL && entry->walker != NULL && obj != NULL);
    if (!savevm_check_name("section idstr", idstr, errp)) {
        return false;
    }
    if (savevm_section_taken(s, idstr, instance_id)) {
        g_set_error(errp, VS_SAVEVM_ERROR, VS_SAVEVM_ERROR_DUPLICATE,
                    "section '%s' instance %" PRIu32 " is already registered", idstr,
                    instance_id);
        return false;
    }
    s->devices = talloc_realloc(s, s->devices, SaveDevice, s->n_devices + 1);
    g_assert(s->devices != NULL);
    d = &s->devices[s->n_devices++];
    *d = (SaveDevice){
        .idstr = talloc_strdup(s, idstr),
        .instance_id = instance_id,
        .section_id = s->next_section_id++,
        .entry = entry,
        .obj = obj,
        .priority = priority,
    };
    g_assert(d->idstr != NULL);
    return true;
}

bool vs_savevm_add_ram_block(VsSaveState *s, const char *name, const uint8_t *host,
                             uint64_t length, GError **errp)
{
    if (!savevm_check_name("RAM block name", name, errp)) {
        return false;
    }
    if (length % VS_SAVEVM_PAGE_SIZE != 0 || (length && !host)) {
        g_set_error(errp, VS_SAVEVM_ERROR, VS_SAVEVM_ERROR_INVALID,
                    "RAM block '%s': length 0x%" PRIx64 " is not a multiple of the page size %u",
                    name, length, VS_SAVEVM_PAGE_SIZE);
        return false;
    }
    for (size_t i = 0; i < s->n_blocks; i++) {
        if (strcmp(s->blocks[i].name, name) == 0) {
            g_set_error(errp, VS_SAVEVM_ERROR, VS_SAVEVM_ERROR_DUPLICATE,
                        "RAM block '%s' is already registered", name);
            return false;
        }
    }
    s->blocks = talloc_realloc(s, s->blocks, VsRamSaveBlock, s->n_blocks + 1);
    g_assert(s->blocks != NULL);
    s->blocks[s->n_blocks] = (VsRamSaveBlock){ talloc_strdup(s, name), host, length };
    g_assert(s->blocks[s->n_blocks].name != NULL);
    s->n_blocks++;
    return true;
}

/* ---- framing ------------------------------------------------------------------ */

static void savevm_put_header(VsQemuFile *f)
{
    vs_qemufile_put_be32(f, VS_MIG_FILE_MAGIC);
    vs_qemufile_put_be32(f, VS_MIG_FILE_VERSION);
}

/* QEMU 7.2 on x86 sends no configuration subsections (§1.4). */
static void savevm_put_configuration(VsQemuFile *f, const char *machine_type)
{
    size_t len = strlen(machine_type);

    vs_qemufile_put_byte(f, VS_MIG_CONFIGURATION);
    vs_qemufile_put_be32(f, (uint32_t)len);
    vs_qemufile_put_buffer(f, (const uint8_t *)machine_type, len);
}

/* START and FULL carry the idstr, instance and version; PART and END only the id. */
void vs_savevm_put_section_header(VsQemuFile *f, uint8_t type, uint32_t section_id,
                                      const char *idstr, uint32_t instance_id, uint32_t version)
{
    vs_qemufile_put_byte(f, type);
    vs_qemufile_put_be32(f, section_id);
    if (type == VS_MIG_SECTION_START || type == VS_MIG_SECTION_FULL) {
        vs_qemufile_put_cstr8(f, idstr);
        vs_qemufile_put_be32(f, instance_id);
        vs_qemufile_put_be32(f, version);
    }
}

void vs_savevm_put_footer(VsQemuFile *f, uint32_t section_id)
{
    vs_qemufile_put_byte(f, VS_MIG_SECTION_FOOTER);
    vs_qemufile_put_be32(f, section_id);
}

/* ---- RAM ------------------------------------------------------------------------ */

/*
 * Setup (START: the block list), one iteration that sends every page
 * (PART), and completion with nothing left dirty (END: EOS alone).
 */
static void savevm_put_ram(const VsSaveState *s, VsQemuFile *f, const VsRamSaveBlock *blocks)
{
    VsRamSaver rs;
    uint32_t id = s->ram_section_id;

    vs_ram_saver_init(&rs, VS_SAVEVM_PAGE_SIZE);
    vs_savevm_put_section_header(f, VS_MIG_SECTION_START, id, "ram", 0, VS_SAVEVM_RAM_VERSION);
    vs_ram_save_mem_size(f, blocks, s->n_blocks);
    vs_ram_save_eos(f);
    vs_savevm_put_footer(f, id);

    vs_savevm_put_section_header(f, VS_MIG_SECTION_PART, id, NULL, 0, 0);
    for (size_t i = 0; i < s->n_blocks; i++) {
        vs_ram_save_block(&rs, f, &blocks[i]);
    }
    vs_ram_save_eos(f);
    vs_savevm_put_footer(f, id);

    vs_savevm_put_section_header(f, VS_MIG_SECTION_END, id, NULL, 0, 0);
    vs_ram_save_eos(f);
    vs_savevm_put_footer(f, id);
}

/* ---- devices ---------------------------------------------------------------------- */

/* One walk through a tee: the legacy bytes to @f, the description to @devices. */
static bool savevm_walk_device(const SaveDevice *d, VsQemuFile *f, VsJson *devices,
                               GError **errp)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    VsVisitor *bytes, *desc, *tee;
    bool ok;

    g_assert(tmp != NULL);
    bytes = vs_legacy_save_visitor_new(tmp, f);
    desc = vs_vmdesc_visitor_new(tmp, d->idstr, d->instance_id);
    tee = vs_tee_visitor_new(tmp, bytes, desc);
    ok = d->entry->walker(tee, d->idstr, d->obj, errp) && vs_visitor_complete(tee, errp);
    if (ok) {
        vs_json_array_append(devices, vs_vmdesc_visitor_steal(desc, devices));
    }
    vs_visitor_free(tee);
    vs_visitor_free(desc);
    vs_visitor_free(bytes);
    talloc_free(tmp);
    return ok;
}

static bool savevm_put_device(const SaveDevice *d, VsQemuFile *f, VsJson *devices,
                              GError **errp)
{
    GError *local = NULL;

    vs_savevm_put_section_header(f, VS_MIG_SECTION_FULL, d->section_id, d->idstr, d->instance_id,
                              d->entry->type->version);
    if (!savevm_walk_device(d, f, devices, &local)) {
        g_set_error(errp, VS_SAVEVM_ERROR, VS_SAVEVM_ERROR_DEVICE,
                    "saving section '%s' instance %" PRIu32 " failed: %s", d->idstr,
                    d->instance_id, local->message);
        g_error_free(local);
        return false;
    }
    vs_savevm_put_footer(f, d->section_id);
    return true;
}

/* Higher priority first; equal priorities in registration (section id) order. */
static int savevm_device_order(const void *a, const void *b)
{
    const SaveDevice *const *da = a, *const *db = b;

    if ((*da)->priority != (*db)->priority) {
        return (*da)->priority > (*db)->priority ? -1 : 1;
    }
    return (*da)->section_id < (*db)->section_id ? -1 : (*da)->section_id > (*db)->section_id;
}

/* ---- the stream ----------------------------------------------------------------------- */

/* EOF, then 0x06, the JSON's length and the JSON in QEMU's compact layout. */
void vs_savevm_put_trailer(TALLOC_CTX *ctx, VsQemuFile *f, VsJson *devices)
{
    VsJson *trailer = vs_vmdesc_trailer_new(ctx, VS_SAVEVM_PAGE_SIZE, devices);
    g_autoptr(GString) json = g_string_new(NULL);

    vs_json_write(json, trailer, VS_JSON_STYLE_COMPACT);
    vs_qemufile_put_byte(f, VS_MIG_EOF);
    vs_qemufile_put_byte(f, VS_MIG_VMDESCRIPTION);
    vs_qemufile_put_be32(f, (uint32_t)json->len);
    vs_qemufile_put_buffer(f, (const uint8_t *)json->str, json->len);
}

void vs_savevm_write_header(const VsSaveState *s, VsQemuFile *f)
{
    savevm_put_header(f);
    savevm_put_configuration(f, s->machine_type);
}

uint32_t vs_savevm_ram_section_id(const VsSaveState *s)
{
    return s->ram_section_id;
}

const char *vs_savevm_machine_type(const VsSaveState *s)
{
    return s->machine_type;
}

bool vs_savevm_find_device(const VsSaveState *s, const char *idstr, uint32_t instance_id,
                           const VsRegistryEntry **ret_entry, void **ret_obj)
{
    for (size_t i = 0; i < s->n_devices; i++) {
        if (s->devices[i].instance_id == instance_id && strcmp(s->devices[i].idstr, idstr) == 0) {
            *ret_entry = s->devices[i].entry;
            *ret_obj = s->devices[i].obj;
            return true;
        }
    }
    return false;
}

size_t vs_savevm_device_count(const VsSaveState *s)
{
    return s->n_devices;
}

void vs_savevm_device_at(const VsSaveState *s, size_t i, const char **ret_idstr,
                         uint32_t *ret_instance_id, const VsRegistryEntry **ret_entry,
                         void **ret_obj)
{
    g_assert(i < s->n_devices);
    *ret_idstr = s->devices[i].idstr;
    *ret_instance_id = s->devices[i].instance_id;
    *ret_entry = s->devices[i].entry;
    *ret_obj = s->devices[i].obj;
}

VsSaveDeviceRef *vs_savevm_devices_in_order(const VsSaveState *s, TALLOC_CTX *mem_ctx,
                                            size_t *ret_n)
{
    const SaveDevice **order = talloc_array(NULL, const SaveDevice *, s->n_devices + 1);
    VsSaveDeviceRef *refs = talloc_array(mem_ctx, VsSaveDeviceRef, s->n_devices + 1);

    g_assert(order != NULL && refs != NULL);
    for (size_t i = 0; i < s->n_devices; i++) {
        order[i] = &s->devices[i];
    }
    qsort(order, s->n_devices, sizeof(*order), savevm_device_order);
    for (size_t i = 0; i < s->n_devices; i++) {
        refs[i] = (VsSaveDeviceRef){ .idstr = order[i]->idstr,
                                     .instance_id = order[i]->instance_id,
                                     .section_id = order[i]->section_id,
                                     .entry = order[i]->entry,
                                     .obj = order[i]->obj };
    }
    talloc_free(order);
    *ret_n = s->n_devices;
    return refs;
}

bool vs_savevm_write_devices(const VsSaveState *s, VsQemuFile *f, GError **errp)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    const SaveDevice **order;
    VsJson *devices;
    bool ok = true;

    g_assert(tmp != NULL);
    order = talloc_array(tmp, const SaveDevice *, s->n_devices + 1);
    devices = vs_json_new_array(tmp);
    g_assert(order != NULL);
    for (size_t i = 0; i < s->n_devices; i++) {
        order[i] = &s->devices[i];
    }
    qsort(order, s->n_devices, sizeof(*order), savevm_device_order);
    for (size_t i = 0; ok && i < s->n_devices && !vs_qemufile_failed(f); i++) {
        ok = savevm_put_device(order[i], f, devices, errp);
    }
    if (ok) {
        vs_savevm_put_trailer(tmp, f, devices);
        ok = vs_qemufile_flush(f, errp);
    }
    talloc_free(tmp);
    return ok;
}

bool vs_savevm_write(VsSaveState *s, VsQemuFile *f, GError **errp)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    VsRamSaveBlock *blocks;

    g_assert(tmp != NULL);
    /* One spare slot, so that an empty list is still an allocation. */
    blocks = talloc_array(tmp, VsRamSaveBlock, s->n_blocks + 1);
    g_assert(blocks != NULL);
    if (s->n_blocks) {
        memcpy(blocks, s->blocks, sizeof(*blocks) * s->n_blocks);
    }
    vs_ram_sort_blocks(blocks, s->n_blocks);
    vs_savevm_write_header(s, f);
    savevm_put_ram(s, f, blocks);
    talloc_free(tmp);
    return vs_savevm_write_devices(s, f, errp);
}
