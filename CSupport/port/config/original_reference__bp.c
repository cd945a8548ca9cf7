/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * original (v5.11) with every harness addition compiled out: the kernel's
 * own start/end walk, the benchmark's reference (see original_reference.h).
 * Written by hand, like the wrappers in port/build that `patches apply`
 * generates.
 */
#define MMN_VARIANT_SYM original_reference
#include "../../rcu/flavor_bp.h"
#include "original_reference.h"
#pragma clang attribute push(__attribute__((always_inline)), apply_to = function)
#include "../original/mmap.c"
#include "../original/mmu_notifier.c"
#include "../original/oom_kill.c"
#pragma clang attribute pop
#include "../../harness/core_table.h"
