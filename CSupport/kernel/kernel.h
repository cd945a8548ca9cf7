/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kernel.h - what the port's files include in place of <linux/...>.
 * Must come after an rcu/flavor_<name>.h (the generated units do that).
 */
#ifndef MMN_KERNEL_KERNEL_H
#define MMN_KERNEL_KERNEL_H

#include "stubs.h"
#include "dup.h"
#include "custom.h"
#include "srcu.h"
#include "llist.h"	/* the mainline port's two-pass walk (v7.1) */

#endif /* MMN_KERNEL_KERNEL_H */
