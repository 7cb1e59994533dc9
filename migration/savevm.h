/*
 * savevm.h: writing a whole QEMU 7.2 precopy stream from devices and RAM.
 *
 * SPDX-License-Identifier: MIT
 *
 * Theory of operation
 * ===================
 *
 * A VsSaveState is what QEMU keeps in its savevm handler list and RAM
 * list: the devices to save (idstr, instance, walker, object, priority)
 * and the RAM blocks.  vs_savevm_write() writes one complete stream, as
 * QEMU 7.2 writes a precopy migration to a file (`migrate "exec:cat > f"`)
 * when the VM is stopped and nothing is dirty after the first pass
 * (qemu-stream-format.md §1.9):
 *
 *     "QEVM" be32(3)                               header
 *     07 be32(len) machine-type                    configuration (no subsections)
 *     01 START(ram):  MEM_SIZE, EOS, footer        setup
 *     02 PART(ram):   every page, EOS, footer      one iteration
 *     03 END(ram):    EOS, footer                  completion: nothing dirty
 *     04 FULL(device) walker's bytes, footer       each device, by priority
 *     00                                           EOF
 *     06 be32(len) JSON                            vmdesc trailer
 *
 * Pages go out block by block in RAM-list order: a ZERO record (fill 0)
 * for an all-zero page, else a PAGE record; CONTINUE whenever the block is
 * the previous record's.  Each device section's legacy bytes and its vmdesc
 * entry come from one walk (a tee of the legacy SAVE visitor and the
 * vmdesc visitor, migration/vmdesc.h).  The trailer lists the FULL
 * sections in stream order; RAM is not described, as in QEMU.
 *
 * Section ids are assigned at registration: "ram" (registered by
 * vs_savevm_new()) has VS_SAVEVM_FIRST_SECTION_ID, devices the following
 * ids in registration order.  FULL sections are written by priority,
 * higher first (QEMU's MigrationPriority: 0 default ... 5 GICv3), then in
 * registration order, as QEMU keeps its handler list sorted.
 *
 *     VsSaveState *s = vs_savevm_new(ctx, "pc-i440fx-7.2");
 *     vs_savevm_add_ram_block(s, "pc.ram", ram, ram_size, errp);
 *     vs_savevm_add_device(s, "i8259", 0, vs_registry_lookup("i8259"), &pic0, 0, errp);
 *     vs_savevm_add_device(s, "i8259", 1, vs_registry_lookup("i8259"), &pic1, 0, errp);
 *     VsQemuFile *f = vs_qemufile_open_path(ctx, "vm.bin", VS_QEMUFILE_WRITE, errp);
 *     ok = f && vs_savevm_write(s, f, errp) && vs_qemufile_close(f, errp);
 */
#ifndef VSTATE_MIGRATION_SAVEVM_H
#define VSTATE_MIGRATION_SAVEVM_H

#include "migration/json.h"
#include "visitor/qemufile/qemufile.h"
#include "visitor/registry.h"

G_BEGIN_DECLS

#define VS_SAVEVM_ERROR (vs_savevm_error_quark())
GQuark vs_savevm_error_quark(void);

typedef enum VsSaveVmError {
    VS_SAVEVM_ERROR_INVALID,    /* a bad argument: name length, alignment, ... */
    VS_SAVEVM_ERROR_DUPLICATE,  /* a section or RAM block registered twice */
    VS_SAVEVM_ERROR_DEVICE,     /* a device's walk failed (the message has its path) */
    VS_SAVEVM_ERROR__MAX,
} VsSaveVmError;

/* Target page size of the RAM records (x86's TARGET_PAGE_SIZE). */
#define VS_SAVEVM_PAGE_SIZE 4096u
/*
 * The id QEMU's own pc machines give "ram", and vs_savevm_new()'s default
 * (devices get the ids after it).  Streams a QEMU 7.2
 * destination loads need a non-zero one: it finds the handler of a
 * PART/END section by comparing the id with each handler's last bound id,
 * which is 0 for every handler not bound yet, so PART(ram) with id 0 goes
 * to the first handler in its list ("timer") and the load fails ("timer:
 * incoming version_id 0 is too old for local minimum version_id 1").
 */
#define VS_SAVEVM_QEMU_RAM_SECTION_ID 2u
#define VS_SAVEVM_FIRST_SECTION_ID VS_SAVEVM_QEMU_RAM_SECTION_ID
/* The version of QEMU 7.2's "ram" section. */
#define VS_SAVEVM_RAM_VERSION 4u

typedef struct VsSaveState VsSaveState;

/*
 * vs_savevm_new:
 * @mem_ctx: talloc parent
 * @machine_type: written in the configuration section ("pc-q35-7.2"), copied
 *
 * Ownership: a talloc child of @mem_ctx; free with talloc_free().
 * Returns: the new state; never NULL.
 */
VsSaveState *vs_savevm_new(TALLOC_CTX *mem_ctx, const char *machine_type);

/*
 * vs_savevm_new_numbered: as vs_savevm_new(), with "ram" numbered
 * @ram_section_id and devices numbered after it (VS_SAVEVM_QEMU_RAM_SECTION_ID
 * for streams QEMU 7.2 must load).
 */
VsSaveState *vs_savevm_new_numbered(TALLOC_CTX *mem_ctx, const char *machine_type,
                                    uint32_t ram_section_id);

/*
 * vs_savevm_add_device: register a device section.
 * @idstr: 1..255 bytes ("i8259", "0000:00:02.0/e1000"), copied
 * @instance_id: distinguishes sections with one idstr (0, 1, ... usually)
 * @entry: its type and walker (borrowed, normally static); the section
 *   version written is @entry->type->version
 * @obj: the device state; borrowed, read when vs_savevm_write() runs
 * @priority: higher is written earlier (QEMU's MigrationPriority)
 *
 * The section id is the next free one.
 * Returns: true on success; VS_SAVEVM_ERROR_INVALID for a bad idstr,
 * VS_SAVEVM_ERROR_DUPLICATE when (@idstr, @instance_id) is taken.
 */
bool vs_savevm_add_device(VsSaveState *s, const char *idstr, uint32_t instance_id,
                          const VsRegistryEntry *entry, void *obj, int priority, GError **errp);

/*
 * vs_savevm_add_ram_block: register a RAM block.
 * @name: its idstr, 1..255 bytes ("pc.ram"), copied
 * @host: @length bytes; borrowed, read when vs_savevm_write() runs
 * @length: a multiple of VS_SAVEVM_PAGE_SIZE
 *
 * Blocks are listed and sent largest first, equal sizes in registration
 * order (QEMU's RAM list).
 * Returns: true on success; VS_SAVEVM_ERROR_INVALID for a bad name or
 * length, VS_SAVEVM_ERROR_DUPLICATE for a name that is taken.
 */
bool vs_savevm_add_ram_block(VsSaveState *s, const char *name, const uint8_t *host,
                             uint64_t length, GError **errp);

/*
 * vs_savevm_write: write the whole stream to @f (see the top of this file).
 * @f: a writer; flushed at the end
 *
 * Returns: true on success; on failure @f holds a partial stream and the
 * error is the device's (VS_SAVEVM_ERROR_DEVICE, with the field path) or
 * the file's.
 */
bool vs_savevm_write(VsSaveState *s, VsQemuFile *f, GError **errp);

/*
 * The pieces of vs_savevm_write() a live migration drives itself (it owns
 * the RAM rounds, migration/ram.h):
 *
 *     vs_savevm_write_header(s, f);                  header, configuration
 *     vs_savevm_put_section_header(f, START, id, "ram", 0, 4);  RAM setup ...
 *     vs_savevm_put_footer(f, id);
 *     ... PART/END sections of RAM ...
 *     vs_savevm_write_devices(s, f, errp);           FULL sections, EOF, trailer
 */
void vs_savevm_write_header(const VsSaveState *s, VsQemuFile *f);
/* A section header: START/FULL with idstr, instance and version; PART/END with the id only. */
void vs_savevm_put_section_header(VsQemuFile *f, uint8_t type, uint32_t section_id,
                                  const char *idstr, uint32_t instance_id, uint32_t version);
void vs_savevm_put_footer(VsQemuFile *f, uint32_t section_id);
/* Every device's FULL section (by priority), EOF and the vmdesc trailer; flushes @f. */
bool vs_savevm_write_devices(const VsSaveState *s, VsQemuFile *f, GError **errp);
/*
 * EOF and the vmdesc trailer describing @devices (a JSON array of
 * vs_vmdesc_visitor_steal() entries, in stream order).
 */
void vs_savevm_put_trailer(TALLOC_CTX *ctx, VsQemuFile *f, VsJson *devices);
/* The section id of "ram". */
uint32_t vs_savevm_ram_section_id(const VsSaveState *s);
/* The machine type given to vs_savevm_new(); borrowed. */
const char *vs_savevm_machine_type(const VsSaveState *s);

/*
 * vs_savevm_find_device: the device registered as (@idstr, @instance_id),
 * for a destination loading a section into it.  Borrowed results.
 */
bool vs_savevm_find_device(const VsSaveState *s, const char *idstr, uint32_t instance_id,
                           const VsRegistryEntry **ret_entry, void **ret_obj);
/* One device as vs_savevm_write_devices() writes it; borrowed pointers. */
typedef struct VsSaveDeviceRef {
    const char *idstr;
    uint32_t instance_id;
    uint32_t section_id;
    const VsRegistryEntry *entry;
    void *obj;
} VsSaveDeviceRef;

/*
 * vs_savevm_devices_in_order: the devices in the order
 * vs_savevm_write_devices() writes them (priority, then registration), for
 * a writer of another stream form (migration/ber-live.h).
 * Returns: a talloc array under @mem_ctx of *@ret_n entries.
 */
VsSaveDeviceRef *vs_savevm_devices_in_order(const VsSaveState *s, TALLOC_CTX *mem_ctx,
                                            size_t *ret_n);
/* Registered devices, in registration order. */
size_t vs_savevm_device_count(const VsSaveState *s);
void vs_savevm_device_at(const VsSaveState *s, size_t i, const char **ret_idstr,
                         uint32_t *ret_instance_id, const VsRegistryEntry **ret_entry,
                         void **ret_obj);

G_END_DECLS

#endif /* VSTATE_MIGRATION_SAVEVM_H */
