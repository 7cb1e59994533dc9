/*
 * features-impl.c: the device author's side of features.vs: the hooks,
 * predicates and codec the generated header declares.  Each records its
 * call in features_probe; a hook named in features_probe.fail fails.
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "features-impl.h"

FeaturesProbe features_probe;

void features_probe_reset(void)
{
    memset(&features_probe, 0, sizeof(features_probe));
}

static void note(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static void note(const char *fmt, ...)
{
    size_t used = strlen(features_probe.log);
    va_list ap;

    if (used) {
        g_strlcat(features_probe.log, " ", sizeof(features_probe.log));
        used++;
    }
    if (used >= sizeof(features_probe.log)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(features_probe.log + used, sizeof(features_probe.log) - used, fmt, ap);
    va_end(ap);
}

/* Fails with "injected failure" when the probe names @fn. */
static bool may_pass(const char *fn, GError **errp)
{
    if (features_probe.fail && strcmp(features_probe.fail, fn) == 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED, "injected failure");
        return false;
    }
    return true;
}

/* Records @fn, then fails when the probe says so. */
static bool hook(const char *fn, GError **errp)
{
    note("%s", fn);
    return may_pass(fn, errp);
}

/* The same for post_load hooks, with the version they were given. */
static bool hook_v(const char *fn, uint32_t version, GError **errp)
{
    note("%s(%" PRIu32 ")", fn, version);
    return may_pass(fn, errp);
}

/* ---- Versioned ---------------------------------------------------------- */

/* by_fn is on the wire when mode is odd (mode precedes it, so loads can tell). */
bool versioned_by_fn_exists(const Versioned *s, uint32_t version)
{
    features_probe.by_fn_calls++;
    return version >= 2 && (s->mode & 1) != 0;
}

/* ---- Hooked ------------------------------------------------------------- */

bool hooked_pre_save(Hooked *s, GError **errp)
{
    return hook("hooked_pre_save", errp);
}

bool hooked_post_save(Hooked *s, GError **errp)
{
    return hook("hooked_post_save", errp);
}

bool hooked_pre_load(Hooked *s, GError **errp)
{
    return hook("hooked_pre_load", errp);
}

/* Version 1 streams lack `late`: a device would derive it; this one sets 0xee. */
bool hooked_post_load(Hooked *s, uint32_t version, GError **errp)
{
    if (version < 2) {
        s->late = 0xee;
    }
    return hook_v("hooked_post_load", version, errp);
}

bool hooked_b_needed(const Hooked *s, uint32_t version)
{
    features_probe.b_needed_calls++;
    return s->b != 0;
}

bool hooked_b_pre_save(Hooked *s, GError **errp)
{
    return hook("hooked_b_pre_save", errp);
}

bool hooked_b_post_save(Hooked *s, GError **errp)
{
    return hook("hooked_b_post_save", errp);
}

bool hooked_b_pre_load(Hooked *s, GError **errp)
{
    return hook("hooked_b_pre_load", errp);
}

bool hooked_b_post_load(Hooked *s, uint32_t version, GError **errp)
{
    return hook_v("hooked_b_post_load", version, errp);
}

/* The temporary carries value * 2 (QEMU's VMSTATE_WITH_TMP pattern). */
bool hooked_tmp_pre_save(HookedTmp *s, GError **errp)
{
    s->doubled = s->parent->value * 2;
    return hook("hooked_tmp_pre_save", errp);
}

bool hooked_tmp_post_load(HookedTmp *s, uint32_t version, GError **errp)
{
    if (!hook_v("hooked_tmp_post_load", version, errp)) {
        return false;
    }
    if (s->doubled % 2) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "doubled value %" PRIu32 " is odd",
                    s->doubled);
        return false;
    }
    s->parent->value = s->doubled / 2;
    return true;
}

/* ---- the "pci config" codec --------------------------------------------- */

/*
 * 256 bytes of config space.  On load, bits the device does not let the
 * guest write (wmask clear) must match what the device holds, as QEMU's
 * PCI code checks its read-only bits.
 */
bool pci_config(VsVisitor *v, const char *name, uint8_t *val, void *parent, GError **errp)
{
    const PciLike *s = parent;
    uint8_t incoming[256];

    if (!vs_visit_is_load(v)) {
        features_probe.codec_saves++;
        return vs_visit_buffer(v, name, val, sizeof(incoming), errp);
    }
    features_probe.codec_loads++;
    if (!vs_visit_buffer(v, name, incoming, sizeof(incoming), errp)) {
        return false;
    }
    for (size_t i = 0; i < sizeof(incoming); i++) {
        if ((incoming[i] ^ val[i]) & ~s->wmask[i]) {
            return vs_visit_report(v, name, errp, VS_VISIT_ERROR_MISMATCH,
                                   "read-only bits of byte 0x%zx differ (stream 0x%02x, "
                                   "device 0x%02x)", i, incoming[i], val[i]);
        }
    }
    memcpy(val, incoming, sizeof(incoming));
    return true;
}
