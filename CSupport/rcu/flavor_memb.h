/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * flavor_memb.h - select liburcu's memb flavour for this translation unit.
 * _LGPL_SOURCE makes the read side inline; the generic rcu_* names are
 * cleared again at the end of <urcu/urcu-memb.h>, so code pastes the
 * urcu_memb_ prefix (kernel/srcu.h: MMN_URCU).
 */
#ifndef MMN_RCU_FLAVOR_H
#define MMN_RCU_FLAVOR_H
#define _LGPL_SOURCE
#define MMN_FLAVOR memb
/* numeric, so #if can test it (the enum in mmn_harness.h agrees) */
#define MMN_FLAVOR_ID 0
#include <urcu/urcu-memb.h>
#include "../kernel/kernel.h"
#endif
