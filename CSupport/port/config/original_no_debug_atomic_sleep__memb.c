/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * original, built without CONFIG_DEBUG_ATOMIC_SLEEP (non_block_start/end
 * and might_sleep compile to nothing, as in most production kernels).
 * Never a variant: `bench` times it on original's own list to show what
 * the accounting costs the core. Written by hand, like the wrappers in
 * port/build that `patches apply` generates.
 */
#define MMN_VARIANT_SYM original_no_debug_atomic_sleep
#define CONFIG_DEBUG_ATOMIC_SLEEP 0
#include "../../rcu/flavor_memb.h"
#pragma clang attribute push(__attribute__((always_inline)), apply_to = function)
#include "../original/mmap.c"
#include "../original/mmu_notifier.c"
#include "../original/oom_kill.c"
#pragma clang attribute pop
#include "../../harness/core_table.h"
