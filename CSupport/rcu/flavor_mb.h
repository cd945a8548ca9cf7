/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * flavor_mb.h - select liburcu's mb flavour for this translation unit.
 * _LGPL_SOURCE makes the read side inline; the generic rcu_* names are
 * cleared again at the end of <urcu/urcu-mb.h>, so code pastes the
 * urcu_mb_ prefix (kernel/srcu.h: MMN_URCU).
 */
#ifndef MMN_RCU_FLAVOR_H
#define MMN_RCU_FLAVOR_H
#define _LGPL_SOURCE
#define MMN_FLAVOR mb
/* numeric, so #if can test it (the enum in mmn_harness.h agrees) */
#define MMN_FLAVOR_ID 1
#include <urcu/urcu-mb.h>
#include "../kernel/kernel.h"
#endif
