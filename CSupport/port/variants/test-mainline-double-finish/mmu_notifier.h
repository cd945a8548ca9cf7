/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Port of include/linux/mmu_notifier.h as mainline has it (v6.15, plus the
 * v7.1 two-pass ops of 7aba71dbc416): the inline wrappers callers use,
 * written for this harness from the kernel's behaviour. The structs live in
 * kernel/dup.h and mmn_harness.h (shared by every variant and both bases);
 * everything here is static because each generated unit (one per variant
 * and RCU flavour) holds its own copy of the core.
 */
#ifndef MMN_PORT_MMU_NOTIFIER_H
#define MMN_PORT_MMU_NOTIFIER_H

/* harness: core_table.h builds this base's range_init and end */
#define MMN_PORT_MAINLINE 1

/*
 * harness: WARN_ON_ONCE warns once per call site per boot in the kernel;
 * here every time, so each run (one process holds many) sees its own.
 */
#ifndef WARN_ON_ONCE
#define WARN_ON_ONCE(condition) WARN_ON(condition)
#endif

static int __mmu_notifier_register(struct mmu_notifier *subscription,
				   struct mm_struct *mm);
static int mmu_notifier_register(struct mmu_notifier *subscription,
				 struct mm_struct *mm);
static void mmu_notifier_unregister(struct mmu_notifier *subscription,
				    struct mm_struct *mm);
static void mmu_notifier_put(struct mmu_notifier *subscription);
static struct mmu_notifier *
mmu_notifier_get(const struct mmu_notifier_ops *ops, struct mm_struct *mm);
static void mmu_notifier_synchronize(void);
static void __mmu_notifier_subscriptions_destroy(struct mm_struct *mm);
static void __mmu_notifier_release(struct mm_struct *mm);
static int __mmu_notifier_invalidate_range_start(struct mmu_notifier_range *r);
static void __mmu_notifier_invalidate_range_end(struct mmu_notifier_range *r);
static int
mmu_interval_notifier_insert(struct mmu_interval_notifier *interval_sub,
			     struct mm_struct *mm, unsigned long start,
			     unsigned long length,
			     const struct mmu_interval_notifier_ops *ops);
static void
mmu_interval_notifier_remove(struct mmu_interval_notifier *interval_sub);
static unsigned long
mmu_interval_read_begin(struct mmu_interval_notifier *interval_sub);

static inline int mm_has_notifiers(struct mm_struct *mm)
{
	return unlikely(__atomic_load_n(&mm->notifier_subscriptions,
					__ATOMIC_ACQUIRE) != NULL);
}

static inline bool
mmu_notifier_range_blockable(const struct mmu_notifier_range *range)
{
	return range->flags & MMU_NOTIFIER_RANGE_BLOCKABLE;
}

/* Called by drivers inside ->invalidate(_start), under their own lock. */
static inline void
mmu_interval_set_seq(struct mmu_interval_notifier *interval_sub,
		     unsigned long cur_seq)
{
	WRITE_ONCE(interval_sub->invalidate_seq, cur_seq);
}

/* Under the driver's lock: did an invalidation collide since read_begin? */
static inline bool
mmu_interval_read_retry(struct mmu_interval_notifier *interval_sub,
			unsigned long seq)
{
	return interval_sub->invalidate_seq != seq;
}

/* The lockless, racy early check. */
static inline bool
mmu_interval_check_retry(struct mmu_interval_notifier *interval_sub,
			 unsigned long seq)
{
	return READ_ONCE(interval_sub->invalidate_seq) != seq;
}

static inline void mmu_notifier_release(struct mm_struct *mm)
{
	if (mm_has_notifiers(mm))
		__mmu_notifier_release(mm);
}

/* Blockable start: void, so a failure (illegal here) is dropped. */
static inline void
mmu_notifier_invalidate_range_start(struct mmu_notifier_range *range)
{
	might_sleep();

	lock_map_acquire(&__mmu_notifier_invalidate_range_start_map);
	if (mm_has_notifiers(range->mm)) {
		range->flags |= MMU_NOTIFIER_RANGE_BLOCKABLE;
		__mmu_notifier_invalidate_range_start(range);
	}
	lock_map_release(&__mmu_notifier_invalidate_range_start_map);
}

static inline int
mmu_notifier_invalidate_range_start_nonblock(struct mmu_notifier_range *range)
{
	int ret = 0;

	lock_map_acquire(&__mmu_notifier_invalidate_range_start_map);
	if (mm_has_notifiers(range->mm)) {
		range->flags &= ~MMU_NOTIFIER_RANGE_BLOCKABLE;
		ret = __mmu_notifier_invalidate_range_start(range);
	}
	lock_map_release(&__mmu_notifier_invalidate_range_start_map);
	return ret;
}

static inline void
mmu_notifier_invalidate_range_end(struct mmu_notifier_range *range)
{
	if (mmu_notifier_range_blockable(range))
		might_sleep();

	if (mm_has_notifiers(range->mm))
		__mmu_notifier_invalidate_range_end(range);
}

/*
 * v6.6 (1af5a8109904): mmu_notifier_invalidate_range_only_end is gone with
 * ->invalidate_range; every caller ends with mmu_notifier_invalidate_range_end.
 *
 * The range no longer carries a vma (mainline as read), so range_init
 * takes none.
 */
static inline void mmu_notifier_range_init(struct mmu_notifier_range *range,
					   enum mmu_notifier_event event,
					   unsigned flags,
					   struct mm_struct *mm,
					   unsigned long start,
					   unsigned long end)
{
	/* harness: the shared struct still has the v5.11 field */
	range->vma = NULL;
	range->event = event;
	range->mm = mm;
	range->start = start;
	range->end = end;
	range->flags = flags;
	range->migrate_pgmap_owner = NULL;
	/* harness: a fresh invalidation for the pairing ledger */
	range->mmn_id = mmn_next_range_id();
	range->mmn_ledger = NULL;
}

#endif /* MMN_PORT_MMU_NOTIFIER_H */
