/* SPDX-License-Identifier: GPL-2.0-only */
/* Port of the part of include/linux/oom.h (mainline) the port declares. */
#ifndef MMN_PORT_OOM_H
#define MMN_PORT_OOM_H

static bool __oom_reap_task_mm(struct mm_struct *mm);

#endif /* MMN_PORT_OOM_H */
