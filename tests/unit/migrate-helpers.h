/*
 * migrate-helpers.h: what the live-migration tests share: a scratch
 * directory per test group, waiting for a migration, and the check that
 * two demo VMs hold the same RAM and devices.
 *
 * SPDX-License-Identifier: MIT
 *
 * Include after <cmocka.h>.  WAIT_US (how long a migration may take) may
 * be defined before including; it defaults to 60 s.
 */
#ifndef VSTATE_TEST_MIGRATE_HELPERS_H
#define VSTATE_TEST_MIGRATE_HELPERS_H

#include <glib.h>
#include <stdlib.h>

#include "migration/migrate.h"
#include "vm/vm.h"

#ifndef WAIT_US
#define WAIT_US (60ll * 1000 * 1000)
#endif

/* The group's scratch directory (sockets, files), removed at the end. */
static char *tmpdir;

static inline int group_setup(void **state)
{
    tmpdir = g_dir_make_tmp("vs-migrate-XXXXXX", NULL);
    return tmpdir ? 0 : -1;
}

static inline int group_teardown(void **state)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
    int rc = system(cmd);

    g_free(tmpdir);
    return rc == 0 ? 0 : -1;
}

/* RAM blocks and devices of @a and @b are the same. */
static inline void assert_vms_equal(VsVm *a, VsVm *b)
{
    VsRamList *la = vs_vm_ram(a);

    assert_int_equal(vs_ram_list_count(la), vs_ram_list_count(vs_vm_ram(b)));
    for (size_t i = 0; i < vs_ram_list_count(la); i++) {
        if (vs_vm_block_digest(a, i) != vs_vm_block_digest(b, i)) {
            print_error("RAM block %s differs\n", vs_ram_list_get(la, i)->save.name);
            fail();
        }
    }
    assert_true(vs_vm_device_digest(a) == vs_vm_device_digest(b));
}

/* Waits (at most WAIT_US) until no migration runs; the state then. */
static inline VsMigInfo wait_done(VsVm *vm)
{
    VsMigInfo info;

    vs_migration_wait(vs_vm_migration(vm), WAIT_US);
    vs_migration_query(vs_vm_migration(vm), &info);
    return info;
}

/* Polls for @want for at most 6 s. */
static inline bool wait_status(VsVm *vm, VsMigStatus want)
{
    for (int i = 0; i < 3000; i++) {
        VsMigInfo info;

        vs_migration_query(vs_vm_migration(vm), &info);
        if (info.status == want) {
            return true;
        }
        g_usleep(2000);
    }
    return false;
}

#endif /* VSTATE_TEST_MIGRATE_HELPERS_H */
