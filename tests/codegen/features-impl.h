/*
 * features-impl.h: what the device side of features.vs (features-impl.c)
 * records, so tests can see that hooks, predicates and codecs ran.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VSTATE_TEST_FEATURES_IMPL_H
#define VSTATE_TEST_FEATURES_IMPL_H

#include <stdint.h>

#include "features.vs.h"

typedef struct FeaturesProbe {
    /* Hook calls in order, space-separated; post_load hooks add "(version)". */
    char log[512];
    /* The hook or predicate function that fails next (by name), or NULL. */
    const char *fail;
    unsigned by_fn_calls;       /* versioned_by_fn_exists() */
    unsigned b_needed_calls;    /* hooked_b_needed() */
    unsigned codec_saves;       /* pci_config() on save */
    unsigned codec_loads;       /* pci_config() on load */
} FeaturesProbe;

extern FeaturesProbe features_probe;

/* Forget what was recorded; nothing fails. */
void features_probe_reset(void);

#endif /* VSTATE_TEST_FEATURES_IMPL_H */
