/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * flavor_qsbr.h - select liburcu's qsbr flavour for this translation unit.
 * _LGPL_SOURCE makes the read side inline; the generic rcu_* names are
 * cleared again at the end of <urcu/urcu-qsbr.h>, so code pastes the
 * urcu_qsbr_ prefix (kernel/srcu.h: MMN_URCU).
 */
#ifndef MMN_RCU_FLAVOR_H
#define MMN_RCU_FLAVOR_H
#define _LGPL_SOURCE
#define MMN_FLAVOR qsbr
/* numeric, so #if can test it (the enum in mmn_harness.h agrees) */
#define MMN_FLAVOR_ID 2
#include <urcu/urcu-qsbr.h>
#include "../kernel/kernel.h"
#endif
