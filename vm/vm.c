/*
 * vm.c: the demo VM (see vm.h).
 *
 * SPDX-License-Identifier: MIT
 */
#include "vm/vm.h"
#include "vm/board.h"
#include "migration/postcopy.h"
#include "visitor/qemufile/legacy-visitor.h"
#include "migration/tsan.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>

G_DEFINE_QUARK(vs-vm-error-quark, vs_vm_error)

#define VM_PAGE VS_RAM_PAGE_SIZE
/* The workload ticks the devices every 10 ms of running time. */
#define VM_TICK_US 10000
/* At most this many pages per workload step, so a stop is seen quickly. */
#define VM_MAX_BATCH 4096u

/* The PC's other RAM blocks, as QEMU 7.2's pc-i440fx with -vga std has them. */
static const struct {
    const char *name;
    uint64_t size;
} vm_rom_blocks[] = {
    { "0000:00:02.0/vga.vram", 16u << 20 },
    { "pc.bios", 256u << 10 },
    { "pc.rom", 128u << 10 },
    { "/rom@etc/acpi/tables", 128u << 10 },
    { "/rom@etc/table-loader", 4u << 10 },
    { "/rom@etc/acpi/rsdp", 4u << 10 },
};

typedef struct VmMap {
    uint8_t *mem;
    size_t len;
} VmMap;

struct VsVm {
    VsVmConfig cfg;
    VsSaveState *devices;
    VsBoard *board;
    VsRamList *ram;
    VsRamBlock *pc_ram;
    VsDirtyTracker *tracker;
    char *tracker_note;
    VsMigration *mig;
    VmMap maps[G_N_ELEMENTS(vm_rom_blocks) + 1];
    size_t n_maps;

    GMutex lock;
    GCond cond;
    VsVmRunState state;
    bool autostart;              /* run once an incoming migration is in */
    bool ran_since_incoming;     /* the guest ran after the last incoming migration */
    bool worker_parked;
    bool worker_quit;
    GThread *worker;
    uint64_t pages_written;      /* atomic */
    unsigned throttle;           /* atomic: auto-converge's percentage */
};

/* ---- run state ---------------------------------------------------------------- */

const char *vs_vm_run_state_name(VsVmRunState state)
{
    static const char *const names[] = {
        [VS_VM_RUNNING] = "running",     [VS_VM_PAUSED] = "paused",
        [VS_VM_PRELAUNCH] = "prelaunch", [VS_VM_INMIGRATE] = "inmigrate",
        [VS_VM_POSTMIGRATE] = "postmigrate",
    };
    return names[state];
}

VsVmRunState vs_vm_run_state(VsVm *vm)
{
    VsVmRunState s;

    g_mutex_lock(&vm->lock);
    s = vm->state;
    g_mutex_unlock(&vm->lock);
    return s;
}

bool vs_vm_is_running(VsVm *vm)
{
    return vs_vm_run_state(vm) == VS_VM_RUNNING;
}

/* Leaves running for @to and waits until the workload has parked. */
static void vm_stop_to(VsVm *vm, VsVmRunState to)
{
    g_mutex_lock(&vm->lock);
    vm->state = to;
    g_cond_broadcast(&vm->cond);
    while (!vm->worker_parked) {
        g_cond_wait(&vm->cond, &vm->lock);
    }
    g_mutex_unlock(&vm->lock);
}

void vs_vm_stop(VsVm *vm)
{
    if (vs_vm_run_state(vm) == VS_VM_RUNNING) {
        vm_stop_to(vm, VS_VM_PAUSED);
    }
}

static void vm_run(VsVm *vm)
{
    g_mutex_lock(&vm->lock);
    vm->state = VS_VM_RUNNING;
    vm->ran_since_incoming = true;
    g_cond_broadcast(&vm->cond);
    g_mutex_unlock(&vm->lock);
}

bool vs_vm_cont(VsVm *vm, GError **errp)
{
    g_mutex_lock(&vm->lock);
    if (vm->state == VS_VM_INMIGRATE) {
        /* As QEMU: cont while waiting for the migration starts the guest after it. */
        vm->autostart = true;
        g_mutex_unlock(&vm->lock);
        return true;
    }
    g_mutex_unlock(&vm->lock);
    vm_run(vm);
    return true;
}

/* ---- the workload ------------------------------------------------------------- */

static uint64_t vm_rand(uint64_t *s)
{
    /* xorshift64*: fast, and good enough to spread writes and fill RAM. */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dull;
}

static uint64_t vm_next_page(VsVmPattern pattern, uint64_t n, uint64_t *rng, uint64_t *seq)
{
    switch (pattern) {
    case VS_VM_PATTERN_SEQUENTIAL:
        *seq = (*seq + 1) % n;
        return *seq;
    case VS_VM_PATTERN_HOT: {
        /* 90 % of the writes go to a sixteenth of memory. */
        uint64_t r = vm_rand(rng);
        uint64_t hot = MAX(n / 16, 1);

        return (r % 10) ? (r >> 8) % hot : (r >> 8) % n;
    }
    case VS_VM_PATTERN_RANDOM:
    default:
        return vm_rand(rng) % n;
    }
}

/* Write number @value of the workload goes to this byte of pc.ram. */
static uint64_t vm_write_offset(uint64_t page, uint64_t value)
{
    return page * VM_PAGE + (value * 8) % VM_PAGE;
}

static uint64_t vm_workload_seed(const VsVmConfig *cfg)
{
    return cfg->seed * 0x9e3779b97f4a7c15ull + 1;
}

static void vm_write_page(VsVm *vm, uint64_t page, uint64_t value)
{
    uint64_t off = vm_write_offset(page, value);

    /* Postcopy's software fallback: wait until the page is in. */
    vs_postcopy_access(vs_migration_postcopy(vm->mig), vm->pc_ram, off);

    vs_tsan_guest_store_begin();
    memcpy(vm->pc_ram->host + off, &value, sizeof(value));
    vs_tsan_guest_store_end();
    vs_dirty_mark(vm->tracker, vm->pc_ram, off, sizeof(value));
}

void vs_vm_replay_workload(const VsVmConfig *cfg, uint64_t writes, uint8_t *pc_ram)
{
    uint64_t rng = vm_workload_seed(cfg), seq = 0, n = cfg->ram_size / VM_PAGE;

    for (uint64_t v = 1; v <= writes; v++) {
        memcpy(pc_ram + vm_write_offset(vm_next_page(cfg->pattern, n, &rng, &seq), v), &v,
               sizeof(v));
    }
}

/* Parks while the guest does not run; false when the VM goes away. */
static bool vm_worker_wait_running(VsVm *vm)
{
    bool quit;

    g_mutex_lock(&vm->lock);
    while (vm->state != VS_VM_RUNNING && !vm->worker_quit) {
        vm->worker_parked = true;
        g_cond_broadcast(&vm->cond);
        g_cond_wait(&vm->cond, &vm->lock);
    }
    vm->worker_parked = false;
    quit = vm->worker_quit;
    g_mutex_unlock(&vm->lock);
    return !quit;
}

static gpointer vm_worker(gpointer opaque)
{
    VsVm *vm = opaque;
    uint64_t rng = vm_workload_seed(&vm->cfg), seq = 0, value = 0;
    double base_per_us = (double)vm->cfg.dirty_rate / VM_PAGE / 1e6, pages_per_us = base_per_us;
    int64_t t0 = 0, next_tick = 0;
    uint64_t done = 0, ticks = 0;
    unsigned throttle = 0;

    for (;;) {
        bool was_parked;
        int64_t now;
        uint64_t due;

        g_mutex_lock(&vm->lock);
        was_parked = vm->state != VS_VM_RUNNING;
        g_mutex_unlock(&vm->lock);
        if (!vm_worker_wait_running(vm)) {
            break;
        }
        now = g_get_monotonic_time();
        if (__atomic_load_n(&vm->throttle, __ATOMIC_RELAXED) != throttle) {
            /* A throttled guest runs (100 - throttle) % of the time: its
             * writes slow down in proportion. */
            throttle = __atomic_load_n(&vm->throttle, __ATOMIC_RELAXED);
            pages_per_us = base_per_us * (100 - MIN(throttle, 100u)) / 100.0;
            t0 = 0;
        }
        if (was_parked || t0 == 0) {
            /* Time spent stopped does not count: no burst to catch up. */
            t0 = now;
            done = 0;
            next_tick = now + VM_TICK_US;
        }
        if (now >= next_tick) {
            vs_board_tick(vm->board, ++ticks);
            next_tick += VM_TICK_US;
        }
        due = (uint64_t)((double)(now - t0) * pages_per_us);
        if (due <= done) {
            g_usleep(pages_per_us > 0 ? 200 : VM_TICK_US / 2);
            continue;
        }
        for (uint64_t i = 0, n = MIN(due - done, VM_MAX_BATCH); i < n; i++) {
            vm_write_page(vm, vm_next_page(vm->cfg.pattern, vm->pc_ram->npages, &rng, &seq),
                          ++value);
        }
        __atomic_add_fetch(&vm->pages_written, MIN(due - done, VM_MAX_BATCH), __ATOMIC_RELAXED);
        done += MIN(due - done, VM_MAX_BATCH);
    }
    g_mutex_lock(&vm->lock);
    vm->worker_parked = true;
    g_cond_broadcast(&vm->cond);
    g_mutex_unlock(&vm->lock);
    return NULL;
}

uint64_t vs_vm_pages_written(VsVm *vm)
{
    return __atomic_load_n(&vm->pages_written, __ATOMIC_RELAXED);
}

/* ---- migration hooks ------------------------------------------------------------ */

static void vm_mig_stop(void *opaque)
{
    /* QEMU keeps a migrated-out guest stopped in "postmigrate"; if the
     * migration fails it runs again (vm_mig_start). */
    vm_stop_to(opaque, VS_VM_POSTMIGRATE);
}

static void vm_mig_start(void *opaque)
{
    vm_run(opaque);
}

static bool vm_mig_is_running(void *opaque)
{
    return vs_vm_is_running(opaque);
}

static void vm_mig_incoming_done(void *opaque, bool ok)
{
    VsVm *vm = opaque;
    bool start;

    g_mutex_lock(&vm->lock);
    vm->ran_since_incoming = false;
    start = ok && vm->autostart;
    if (!start) {
        vm->state = VS_VM_PAUSED;
    }
    g_mutex_unlock(&vm->lock);
    if (start) {
        vm_run(vm);
    }
}

/* Postcopy: the devices are in, RAM follows on demand: run now unless -S. */
static void vm_mig_postcopy_run(void *opaque)
{
    VsVm *vm = opaque;
    bool start;

    g_mutex_lock(&vm->lock);
    start = vm->autostart;
    if (!start) {
        vm->state = VS_VM_PAUSED;
    }
    g_mutex_unlock(&vm->lock);
    if (start) {
        vm_run(vm);
    }
}

static void vm_mig_set_throttle(void *opaque, unsigned percent)
{
    VsVm *vm = opaque;

    __atomic_store_n(&vm->throttle, percent, __ATOMIC_RELAXED);
}

static const VsMigVmOps vm_mig_ops = {
    .set_throttle = vm_mig_set_throttle,
    .stop = vm_mig_stop,
    .start = vm_mig_start,
    .is_running = vm_mig_is_running,
    .incoming_done = vm_mig_incoming_done,
    .postcopy_run = vm_mig_postcopy_run,
};

bool vs_vm_incoming(VsVm *vm, const char *uri, GError **errp)
{
    if (vs_vm_run_state(vm) != VS_VM_INMIGRATE) {
        /* QEMU 7.2's words. */
        g_set_error(errp, VS_VM_ERROR, VS_VM_ERROR_STATE,
                    "'-incoming' was not specified on the command line");
        return false;
    }
    return vs_migration_incoming(vm->mig, uri, errp);
}

/* ---- construction ------------------------------------------------------------------ */

static int vm_destructor(VsVm *vm)
{
    /* Postcopy may hold the guest's writer in a page wait: let it go, and
     * stop it before the migration (its accessor) is freed. */
    if (vm->worker) {
        g_mutex_lock(&vm->lock);
        vm->worker_quit = true;
        g_cond_broadcast(&vm->cond);
        g_mutex_unlock(&vm->lock);
        vs_postcopy_release(vs_migration_postcopy(vm->mig));
        g_thread_join(vm->worker);
        vm->worker = NULL;
    }
    /* Then the migration: its thread may call back into the VM. */
    talloc_free(vm->mig);
    vm->mig = NULL;
    if (vm->worker) {
        g_mutex_lock(&vm->lock);
        vm->worker_quit = true;
        g_cond_broadcast(&vm->cond);
        g_mutex_unlock(&vm->lock);
        g_thread_join(vm->worker);
    }
    talloc_free(vm->tracker);
    vm->tracker = NULL;
    for (size_t i = 0; i < vm->n_maps; i++) {
        munmap(vm->maps[i].mem, vm->maps[i].len);
    }
    g_mutex_clear(&vm->lock);
    g_cond_clear(&vm->cond);
    return 0;
}

static void vm_fill(uint8_t *mem, size_t len, VsVmFill fill, uint64_t seed)
{
    uint64_t rng = seed * 0x9e3779b97f4a7c15ull + 7;

    switch (fill) {
    case VS_VM_FILL_ZERO:
        break;
    case VS_VM_FILL_RANDOM:
        for (size_t i = 0; i + 8 <= len; i += 8) {
            uint64_t v = vm_rand(&rng);

            memcpy(mem + i, &v, 8);
        }
        break;
    case VS_VM_FILL_PATTERN:
        /* Every page different and recognisable: its offset and the seed. */
        for (size_t i = 0; i + 8 <= len; i += 8) {
            uint64_t v = ((uint64_t)i << 8) ^ seed;

            memcpy(mem + i, &v, 8);
        }
        break;
    }
}

static VsRamBlock *vm_add_block(VsVm *vm, const char *name, uint64_t size, VsVmFill fill,
                                GError **errp)
{
    void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
                     MAP_NORESERVE, -1, 0);

    if (mem == MAP_FAILED) {
        g_set_error(errp, VS_VM_ERROR, VS_VM_ERROR_RESOURCE,
                    "cannot map %" PRIu64 " bytes for RAM block '%s': %s", size, name,
                    g_strerror(errno));
        return NULL;
    }
    vm->maps[vm->n_maps++] = (VmMap){ mem, size };
    vm_fill(mem, size, fill, vm->cfg.seed + vm->n_maps);
    return vs_ram_list_add(vm->ram, name, mem, size, errp);
}

static bool vm_add_ram(VsVm *vm, GError **errp)
{
    vm->pc_ram = vm_add_block(vm, "pc.ram", vm->cfg.ram_size, vm->cfg.fill, errp);
    if (!vm->pc_ram) {
        return false;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(vm_rom_blocks); i++) {
        /* ROMs hold fixed content, the frame buffer starts blank. */
        VsVmFill fill = i == 0 ? VS_VM_FILL_ZERO : VS_VM_FILL_PATTERN;

        if (!vm_add_block(vm, vm_rom_blocks[i].name, vm_rom_blocks[i].size, fill, errp)) {
            return false;
        }
    }
    return true;
}

static bool vm_make_tracker(VsVm *vm, GError **errp)
{
    GError *local = NULL;

    if (vm->cfg.dirty != VS_VM_DIRTY_EXPLICIT) {
        vm->tracker = vs_dirty_tracker_new(vm, vm->ram, VS_DIRTY_UFFD, &local);
        if (vm->tracker) {
            return true;
        }
        if (vm->cfg.dirty == VS_VM_DIRTY_UFFD) {
            g_propagate_error(errp, local);
            return false;
        }
        vm->tracker_note = talloc_strdup(vm, local->message);
        g_error_free(local);
    }
    vm->tracker = vs_dirty_tracker_new(vm, vm->ram, VS_DIRTY_EXPLICIT, errp);
    return vm->tracker != NULL;
}

VsVm *vs_vm_new(TALLOC_CTX *mem_ctx, const VsVmConfig *cfg, GError **errp)
{
    VsVm *vm;

    if (cfg->ram_size == 0 || cfg->ram_size % VM_PAGE != 0) {
        g_set_error(errp, VS_VM_ERROR, VS_VM_ERROR_CONFIG,
                    "RAM size %" PRIu64 " is not a non-zero multiple of %u", cfg->ram_size,
                    VM_PAGE);
        return NULL;
    }
    vm = talloc_zero(mem_ctx, VsVm);
    g_assert(vm != NULL);
    vm->cfg = *cfg;
    g_mutex_init(&vm->lock);
    g_cond_init(&vm->cond);
    vm->state = cfg->incoming ? VS_VM_INMIGRATE : cfg->paused ? VS_VM_PRELAUNCH : VS_VM_PAUSED;
    vm->autostart = !cfg->paused;
    vm->worker_parked = true;
    talloc_set_destructor(vm, vm_destructor);
    /* Numbered as QEMU numbers them, so a QEMU 7.2 destination can load it. */
    vm->devices = vs_savevm_new_numbered(vm, "pc-i440fx-7.2", VS_SAVEVM_QEMU_RAM_SECTION_ID);
    vm->ram = vs_ram_list_new(vm);
    vm->board = vs_board_new(vm, vm->devices, !cfg->no_demo_device, errp);
    if (!vm->board || !vm_add_ram(vm, errp) || !vm_make_tracker(vm, errp)) {
        talloc_free(vm);
        return NULL;
    }
    vm->mig = vs_migration_new(vm, vm->devices, vm->ram, vm->tracker, &vm_mig_ops, vm);
    vm->worker = g_thread_new("vs-vm-workload", vm_worker, vm);
    return vm;
}

VsMigration *vs_vm_migration(VsVm *vm)
{
    return vm->mig;
}

VsRamList *vs_vm_ram(VsVm *vm)
{
    return vm->ram;
}

VsSaveState *vs_vm_devices(VsVm *vm)
{
    return vm->devices;
}

const char *vs_vm_tracker_name(VsVm *vm)
{
    return vs_dirty_tracker_name(vm->tracker);
}

const char *vs_vm_tracker_note(VsVm *vm)
{
    return vm->tracker_note;
}

/* ---- digests -------------------------------------------------------------------------- */

uint64_t vs_vm_block_digest(VsVm *vm, size_t block)
{
    VsRamBlock *b = vs_ram_list_get(vm->ram, block);

    return vs_ram_digest(b->host, b->save.length);
}

uint64_t vs_vm_device_digest(VsVm *vm)
{
    TALLOC_CTX *tmp;
    VsQemuFile *f;
    const uint8_t *data;
    size_t len = 0;
    uint64_t h;
    bool fresh;

    g_mutex_lock(&vm->lock);
    fresh = !vm->ran_since_incoming;
    g_mutex_unlock(&vm->lock);
    if (fresh && vs_migration_received_digest(vm->mig, &h)) {
        return h;
    }
    tmp = talloc_new(NULL);
    f = vs_qemufile_new_memory_writer(tmp);
    /* All board devices have priority 0: registration order is stream order. */
    for (size_t i = 0; i < vs_savevm_device_count(vm->devices); i++) {
        const VsRegistryEntry *e;
        const char *idstr;
        uint32_t inst;
        void *obj;
        VsVisitor *v = vs_legacy_save_visitor_new(tmp, f);
        bool ok;

        /* As the fields are: a pre_save hook must not move the clock-based
         * ones (a migration ran it when it sent them). */
        vs_visitor_set_hooks(v, false);
        vs_savevm_device_at(vm->devices, i, &idstr, &inst, &e, &obj);
        /* Saving a registered device cannot fail: its state is ours. */
        ok = e->walker(v, idstr, obj, NULL);
        g_assert(ok);
        vs_visitor_free(v);
    }
    data = vs_qemufile_memory_data(f, &len);
    h = vs_ram_digest(data, len);
    talloc_free(tmp);
    return h;
}

bool vs_vm_save_devices(VsVm *vm, const char *path, GError **errp)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    uint8_t *data = NULL;
    size_t len = 0;
    bool ok;

    g_assert(tmp != NULL);
    if (!vs_migration_device_sections(vm->mig, tmp, &data, &len)) {
        g_set_error(errp, VS_VM_ERROR, VS_VM_ERROR_STATE,
                    "no migration sent or loaded the device state: nothing to save to '%s'",
                    path);
        talloc_free(tmp);
        return false;
    }
    ok = g_file_set_contents(path, (const char *)data, (gssize)len, errp);
    talloc_free(tmp);
    return ok;
}

char *vs_vm_describe(VsVm *vm)
{
    GString *out = g_string_new(NULL);

    for (size_t i = 0; i < vs_ram_list_count(vm->ram); i++) {
        VsRamBlock *b = vs_ram_list_get(vm->ram, i);

        g_string_append_printf(out, "ram %s %" PRIu64 " %016" PRIx64 "\n", b->save.name,
                               b->save.length, vs_vm_block_digest(vm, i));
    }
    g_string_append_printf(out, "devices %zu %016" PRIx64 "\n",
                           vs_savevm_device_count(vm->devices), vs_vm_device_digest(vm));
    return g_string_free(out, FALSE);
}
