/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dup.h - declarations duplicated from the kernel, kept in sync by hand
 * with include/linux/mmu_notifier.h and include/linux/mm_types.h (v5.11).
 *
 * These layouts are shared by every variant and by the harness, so they
 * live here rather than in the patchable port: a patch that needs a new
 * field puts it in its own mmu_notifier.c (as reject-multi does with
 * struct mmu_notifier_subscriptions, which is private to that file).
 */
#ifndef MMN_KERNEL_DUP_H
#define MMN_KERNEL_DUP_H

#include <limits.h>
#include <mmn_harness.h>
#include <urcu/call-rcu.h>	/* struct rcu_head (flavour independent) */
#include "hlist_rcu.h"
#include "interval_tree.h"

/* include/linux/mmu_notifier.h */
struct mmu_notifier {
	struct hlist_node hlist;
	const struct mmu_notifier_ops *ops;
	struct mm_struct *mm;
	struct rcu_head rcu;
	unsigned int users;
};

struct mmu_interval_notifier {
	struct interval_tree_node interval_tree;
	const struct mmu_interval_notifier_ops *ops;
	struct mm_struct *mm;
	struct hlist_node deferred_item;
	unsigned long invalidate_seq;
};

/* include/linux/mm_types.h, reduced to what the callers read */
#define VM_SHARED	0x00000008UL
#define VM_LOCKED	0x00002000UL
#define VM_PFNMAP	0x00000400UL
#define VM_HUGETLB	0x00400000UL

struct vm_area_struct {
	unsigned long vm_start;
	unsigned long vm_end;
	struct vm_area_struct *vm_next;
	struct mm_struct *vm_mm;
	unsigned long vm_flags;
	void *anon_vma;
	void *vm_file;
	bool mmn_unmapped;	/* harness: its pages are gone (counted once) */
};

/* include/linux/sched/coredump.h */
#define MMF_UNSTABLE	22
#define MMF_OOM_SKIP	21
#define MMF_OOM_VICTIM	25


#endif /* MMN_KERNEL_DUP_H */
