/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * flavor_bp.h - select liburcu's bp flavour for this translation unit.
 * _LGPL_SOURCE makes the read side inline; the generic rcu_* names are
 * cleared again at the end of <urcu/urcu-bp.h>, so code pastes the
 * urcu_bp_ prefix (kernel/srcu.h: MMN_URCU).
 */
#ifndef MMN_RCU_FLAVOR_H
#define MMN_RCU_FLAVOR_H
#define _LGPL_SOURCE
#define MMN_FLAVOR bp
/* numeric, so #if can test it (the enum in mmn_harness.h agrees) */
#define MMN_FLAVOR_ID 3
#include <urcu/urcu-bp.h>
#include "../kernel/kernel.h"
#endif
