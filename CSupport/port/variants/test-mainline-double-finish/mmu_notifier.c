// SPDX-License-Identifier: GPL-2.0-only
/*
 * Port of mm/mmu_notifier.c as mainline has it today, written for this
 * harness from the kernel's behaviour; function and field names are the
 * kernel's so the two can be read side by side (docs/port.md, "The mainline
 * base"). The text read: the file as of v6.15 (damonitor/linux dc29564804a7;
 * the two-pass mail's context shows the same code in blob a6cdf3674bdc),
 * plus the two-pass interval walk of v7.1 (7aba71dbc416), modelled on the
 * last posted version of the mail, v3
 * <20260303133409.11609-2-thomas.hellstrom@linux.intel.com>: the stored
 * torvalds/linux tree is v5.10 (c2818c9a0876) and predates all of it.
 *
 * Since the v5.11 port: c2655835fd8c (v5.12) pairs the hlist's ends after a
 * failed start; 319561669a59 (v5.18) reads the seq under the lock in
 * mmu_interval_notifier_remove; the walks use hlist_for_each_entry_srcu;
 * v6.6's ->arch_invalidate_secondary_tlbs replaces ->invalidate_range and
 * the only_end variant goes; ->change_pte is gone (v6.10). Left out: the
 * clear_young/test_young walks (they return bool now), which play no part
 * in start/end pairing. Lines marked "harness:" are additions the kernel
 * does not have (tracepoints and the pairing ledger's hooks).
 */
#include "mmu_notifier.h"

/*
 * harness: pr_info's %pS names a callback by its subscription (every Swift
 * driver shares one trampoline; see mmn_ksym): the subscription in scope,
 * or this file-scope NULL in a function that has none.
 */
static const struct mmu_notifier *const subscription = NULL;
#undef MMN_KSYM_SUBSCRIPTION
#define MMN_KSYM_SUBSCRIPTION subscription

/* one global SRCU domain for every mm (see kernel/srcu.h) */
DEFINE_STATIC_SRCU(srcu);

/*
 * per-mm state, installed on first registration and freed only
 * when the mm itself goes (mmdrop).
 */
struct mmu_notifier_subscriptions {
	/* the hlist subscriptions, newest first */
	struct hlist_head list;
	bool has_itree;
	/* serialises list changes and the hlist_unhashed test */
	spinlock_t lock;
	/* even: idle; odd: some interval is being invalidated */
	unsigned long invalidate_seq;
	unsigned long active_invalidate_ranges;
	struct interval_tree_root itree;
	wait_queue_head_t wq;
	/* interval inserts/removes queued while the itree is invalidating */
	struct hlist_head deferred_list;
};

/*
 * The interval tree is guarded by a collision-retry scheme much like a
 * seqcount that allows several writers at once: while any invalidation of
 * an interval is in flight the seq is odd ("fully excluded") and the tree
 * may not change; inserts and removes are queued and applied by the last
 * mn_itree_inv_end.
 */
static bool
mn_itree_is_invalidating(struct mmu_notifier_subscriptions *subscriptions)
{
	lockdep_assert_held(&subscriptions->lock);
	return subscriptions->invalidate_seq & 1;
}

/* count the range as active and find the first overlapping interval. */
static struct mmu_interval_notifier *
mn_itree_inv_start_range(struct mmu_notifier_subscriptions *subscriptions,
			 const struct mmu_notifier_range *range,
			 unsigned long *seq)
{
	struct interval_tree_node *node;
	struct mmu_interval_notifier *res = NULL;

	/* harness: the ledger opens the tree's half of this range */
	mmn_ledger_itree_begin(range);
	spin_lock(&subscriptions->lock);
	subscriptions->active_invalidate_ranges++;
	node = interval_tree_iter_first(&subscriptions->itree, range->start,
					range->end - 1);
	if (node) {
		/* something overlaps: readers of that interval must retry */
		/* harness: WRITE_ONCE (plain in the kernel): read locklessly */
		WRITE_ONCE(subscriptions->invalidate_seq,
			   subscriptions->invalidate_seq | 1);
		res = container_of(node, struct mmu_interval_notifier,
				   interval_tree);
	}
	*seq = subscriptions->invalidate_seq;
	spin_unlock(&subscriptions->lock);
	return res;
}

static struct mmu_interval_notifier *
mn_itree_inv_next(struct mmu_interval_notifier *interval_sub,
		  const struct mmu_notifier_range *range)
{
	struct interval_tree_node *node;

	node = interval_tree_iter_next(&interval_sub->interval_tree,
				       range->start, range->end - 1);
	if (!node)
		return NULL;
	return container_of(node, struct mmu_interval_notifier, interval_tree);
}

/* the last active range to end makes the seq even and drains the
 * deferred list, then wakes mmu_interval_read_begin sleepers. */
static void mn_itree_inv_end(struct mmu_notifier_subscriptions *subscriptions)
{
	struct mmu_interval_notifier *interval_sub;
	struct hlist_node *next;

	/* harness: the ledger closes the tree's half of the range ending */
	mmn_ledger_itree_end();
	spin_lock(&subscriptions->lock);
	if (--subscriptions->active_invalidate_ranges ||
	    !mn_itree_is_invalidating(subscriptions)) {
		spin_unlock(&subscriptions->lock);
		return;
	}

	/* back to even: the tree may change again */
	/* harness: WRITE_ONCE (plain in the kernel): read locklessly */
	WRITE_ONCE(subscriptions->invalidate_seq,
		   subscriptions->invalidate_seq + 1);

	/* an empty rb link means a queued insert, a linked one a queued remove */
	hlist_for_each_entry_safe(interval_sub, next,
				  &subscriptions->deferred_list,
				  deferred_item) {
		if (RB_EMPTY_NODE_IT(&interval_sub->interval_tree))
			interval_tree_insert(&interval_sub->interval_tree,
					     &subscriptions->itree);
		else
			interval_tree_remove(&interval_sub->interval_tree,
					     &subscriptions->itree);
		hlist_del(&interval_sub->deferred_item);
	}
	spin_unlock(&subscriptions->lock);

	wake_up_all(&subscriptions->wq);
}

/*
 * begin a collision-retry read of an interval. If the interval's seq
 * equals the current odd seq, an invalidation of it is in progress right
 * now: sleep until the seq moves on. (Bounded in the harness: a seq that
 * never moves is reported as a hung task.)
 */
static unsigned long
mmu_interval_read_begin(struct mmu_interval_notifier *interval_sub)
{
	struct mmu_notifier_subscriptions *subscriptions =
		interval_sub->mm->notifier_subscriptions;
	unsigned long seq;
	bool is_invalidating;

	spin_lock(&subscriptions->lock);
	/* pairs with the WRITE_ONCE in mmu_interval_set_seq() */
	seq = READ_ONCE(interval_sub->invalidate_seq);
	is_invalidating = seq == subscriptions->invalidate_seq;
	spin_unlock(&subscriptions->lock);

	/* the sleep below can wait on any invalidation's callbacks */
	lock_map_acquire(&__mmu_notifier_invalidate_range_start_map);
	lock_map_release(&__mmu_notifier_invalidate_range_start_map);
	if (is_invalidating)
		wait_event(subscriptions->wq,
			   READ_ONCE(subscriptions->invalidate_seq) != seq);

	/* no loop: the caller's read_retry closes any remaining race */
	return seq;
}

/*
 * v7.1 (7aba71dbc416): the second pass. The finishes were pushed on a
 * local llist as the tree walk went; reversed, they run in the order
 * their starts ran, each exactly once, outside subscriptions->lock.
 */
static void mn_itree_finish_pass(struct llist_head *finish_passes)
{
	struct llist_node *first =
		llist_reverse_order(__llist_del_all(finish_passes));
	struct mmu_interval_notifier_finish *f, *next;

	llist_for_each_entry_safe(f, next, first, link) {
		f->notifier->ops->invalidate_finish(f);
		/* test-mainline-double-finish: every finish is run twice */
		f->notifier->ops->invalidate_finish(f);
	}
}

/*
 * v7.1: one interval's first pass, written out twice in the kernel (here
 * and in mn_itree_release). A two-pass notifier's invalidate_start may
 * hand back a finish, linked for the second pass only if the start
 * succeeded; a one-pass notifier gets ->invalidate as before.
 */
static bool mn_itree_inv_one(struct mmu_interval_notifier *interval_sub,
			     const struct mmu_notifier_range *range,
			     unsigned long cur_seq,
			     struct llist_head *finish_passes)
{
	bool ret;

	if (interval_sub->ops->invalidate_start) {
		struct mmu_interval_notifier_finish *finish = NULL;

		ret = interval_sub->ops->invalidate_start(interval_sub, range,
							  cur_seq, &finish);
		if (ret && finish) {
			finish->notifier = interval_sub;
			__llist_add(&finish->link, finish_passes);
		}
	} else {
		ret = interval_sub->ops->invalidate(interval_sub, range,
						    cur_seq);
	}
	return ret;
}

/* exit_mmap tells every interval about the whole address space. */
static void mn_itree_release(struct mmu_notifier_subscriptions *subscriptions,
			     struct mm_struct *mm)
{
	struct mmu_notifier_range range = {
		.flags = MMU_NOTIFIER_RANGE_BLOCKABLE,
		.event = MMU_NOTIFY_RELEASE,
		.mm = mm,
		.start = 0,
		.end = ULONG_MAX,
		/* harness: its own invalidation for the pairing ledger */
		.mmn_id = mmn_next_range_id(),
	};
	struct mmu_interval_notifier *interval_sub;
	LLIST_HEAD(finish_passes);
	unsigned long cur_seq;
	bool ret;

	for (interval_sub =
		     mn_itree_inv_start_range(subscriptions, &range, &cur_seq);
	     interval_sub;
	     interval_sub = mn_itree_inv_next(interval_sub, &range)) {
		ret = mn_itree_inv_one(interval_sub, &range, cur_seq,
				       &finish_passes);
		WARN_ON(!ret);
	}

	/* v7.1: every finish before the tree's half ends */
	mn_itree_finish_pass(&finish_passes);
	mn_itree_inv_end(subscriptions);
	/* harness: this invalidation is over */
	mmn_range_retire(&range);
}

/*
 * ->release for every hlist subscription inside SRCU, then unhash
 * them all so a later mmu_notifier_unregister only waits, then wait for
 * any ->release that unregister may be running.
 */
static void mn_hlist_release(struct mmu_notifier_subscriptions *subscriptions,
			     struct mm_struct *mm)
{
	struct mmu_notifier *subscription;
	int id;

	id = srcu_read_lock(&srcu);
	hlist_for_each_entry_srcu(subscription, &subscriptions->list, hlist,
				  srcu_read_lock_held(&srcu))
		if (subscription->ops->release)
			subscription->ops->release(subscription, mm);

	spin_lock(&subscriptions->lock);
	while (unlikely(!hlist_empty(&subscriptions->list))) {
		subscription = hlist_entry(subscriptions->list.first,
					   struct mmu_notifier, hlist);
		/* harness: the ledger must know before a reader can miss it */
		mmn_ledger_unlinking(subscription);
		hlist_del_init_rcu(&subscription->hlist);
		mmn_trace(mm, MMN_TRACE_UNLINKED, subscription);
	}
	spin_unlock(&subscriptions->lock);
	srcu_read_unlock(&srcu, id);

	synchronize_srcu(&srcu);
}

static void __mmu_notifier_release(struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subscriptions =
		mm->notifier_subscriptions;

	if (subscriptions->has_itree)
		mn_itree_release(subscriptions, mm);

	if (!hlist_empty(&subscriptions->list))
		mn_hlist_release(subscriptions, mm);
}

/*
 * invalidate the overlapping intervals. A "would block" answer in a
 * blockable range is a driver bug (WARN, carry on); in a non-blockable one
 * the walk stops, this part undoes itself and returns -EAGAIN, so the
 * caller must not end. v7.1 (7aba71dbc416): the finishes collected so far
 * run first either way, so a start that deferred work gets its finish
 * even when a later interval refuses.
 */
static int mn_itree_invalidate(struct mmu_notifier_subscriptions *subscriptions,
			       const struct mmu_notifier_range *range)
{
	struct mmu_interval_notifier *interval_sub;
	LLIST_HEAD(finish_passes);
	unsigned long cur_seq;
	int err = 0;

	for (interval_sub =
		     mn_itree_inv_start_range(subscriptions, range, &cur_seq);
	     interval_sub;
	     interval_sub = mn_itree_inv_next(interval_sub, range)) {
		bool ret;

		ret = mn_itree_inv_one(interval_sub, range, cur_seq,
				       &finish_passes);
		if (!ret) {
			if (WARN_ON(mmu_notifier_range_blockable(range)))
				continue;
			err = -EAGAIN;
			break;
		}
	}

	mn_itree_finish_pass(&finish_passes);

	/* the non-blocking caller will not call end: undo our half now */
	if (err)
		mn_itree_inv_end(subscriptions);

	return err;
}

/*
 * call every hlist subscription's start under SRCU, newest first.
 * A failure is logged and remembered, and the walk goes on: later
 * subscriptions still get their start and the last error is returned.
 * c2655835fd8c (v5.12): a start that can fail must not come with an end,
 * and after a failure every subscription that has an end gets it here,
 * inside the same SRCU section, since the caller will not call end.
 */
static int mn_hlist_invalidate_range_start(
	struct mmu_notifier_subscriptions *subscriptions,
	struct mmu_notifier_range *range)
{
	struct mmu_notifier *subscription;
	int ret = 0;
	int id;

	id = srcu_read_lock(&srcu);
	hlist_for_each_entry_srcu(subscription, &subscriptions->list, hlist,
				  srcu_read_lock_held(&srcu)) {
		const struct mmu_notifier_ops *ops = subscription->ops;

		if (ops->invalidate_range_start) {
			int _ret;

			if (!mmu_notifier_range_blockable(range))
				non_block_start();
			_ret = ops->invalidate_range_start(subscription, range);
			if (!mmu_notifier_range_blockable(range))
				non_block_end();
			if (_ret) {
				pr_info("%pS callback failed with %d in %sblockable context.\n",
					ops->invalidate_range_start, _ret,
					!mmu_notifier_range_blockable(range) ?
						"non-" :
						"");
				WARN_ON(mmu_notifier_range_blockable(range) ||
					_ret != -EAGAIN);
				/*
				 * c2655835fd8c: every start is called on any
				 * -EAGAIN and no notifier can tell whether its
				 * own start failed, so a start that can fail
				 * cannot also have an end.
				 */
				WARN_ON(ops->invalidate_range_end);
				ret = _ret;
			}
		}
	}

	if (ret) {
		/*
		 * c2655835fd8c: only a non-blocking range gets here. Whoever
		 * started expects an end and cannot be told apart from the
		 * refusers, so every subscription with an end gets one.
		 */
		hlist_for_each_entry_srcu(subscription, &subscriptions->list,
					  hlist, srcu_read_lock_held(&srcu)) {
			if (!subscription->ops->invalidate_range_end)
				continue;

			subscription->ops->invalidate_range_end(subscription,
								range);
		}
	}
	srcu_read_unlock(&srcu, id);

	return ret;
}

/* intervals first; if they refuse, the hlist is never visited (unchanged). */
static int __mmu_notifier_invalidate_range_start(struct mmu_notifier_range *range)
{
	struct mmu_notifier_subscriptions *subscriptions =
		range->mm->notifier_subscriptions;
	int ret;

	if (subscriptions->has_itree) {
		ret = mn_itree_invalidate(subscriptions, range);
		if (ret)
			return ret;
	}
	if (!hlist_empty(&subscriptions->list))
		return mn_hlist_invalidate_range_start(subscriptions, range);
	return 0;
}

/*
 * every subscription with an end gets it. v6.6 (1af5a8109904): the end
 * no longer calls ->invalidate_range (the secondary-TLB flush moved to
 * the arch TLB flush, ->arch_invalidate_secondary_tlbs) and only_end went.
 */
static void
mn_hlist_invalidate_end(struct mmu_notifier_subscriptions *subscriptions,
			struct mmu_notifier_range *range)
{
	struct mmu_notifier *subscription;
	int id;

	id = srcu_read_lock(&srcu);
	hlist_for_each_entry_srcu(subscription, &subscriptions->list, hlist,
				  srcu_read_lock_held(&srcu)) {
		if (subscription->ops->invalidate_range_end) {
			if (!mmu_notifier_range_blockable(range))
				non_block_start();
			subscription->ops->invalidate_range_end(subscription,
								range);
			if (!mmu_notifier_range_blockable(range))
				non_block_end();
		}
	}
	srcu_read_unlock(&srcu, id);
}

static void __mmu_notifier_invalidate_range_end(struct mmu_notifier_range *range)
{
	struct mmu_notifier_subscriptions *subscriptions =
		range->mm->notifier_subscriptions;

	lock_map_acquire(&__mmu_notifier_invalidate_range_start_map);
	if (subscriptions->has_itree) {
		/* harness: the tree end below is this range's */
		mmn_ledger_itree_ending(range);
		mn_itree_inv_end(subscriptions);
	}

	if (!hlist_empty(&subscriptions->list))
		mn_hlist_invalidate_end(subscriptions, range);
	lock_map_release(&__mmu_notifier_invalidate_range_start_map);
}

/*
 * v6.6 (1af5a8109904): the secondary-TLB flush, called from the arch's
 * TLB flush (the IOMMU SVA users); nothing in the harness calls it, as
 * nothing in the harness flushes a TLB.
 */
static void __attribute__((unused))
__mmu_notifier_arch_invalidate_secondary_tlbs(struct mm_struct *mm,
					      unsigned long start,
					      unsigned long end)
{
	struct mmu_notifier *subscription;
	int id;

	id = srcu_read_lock(&srcu);
	hlist_for_each_entry_srcu(subscription,
				 &mm->notifier_subscriptions->list, hlist,
				 srcu_read_lock_held(&srcu)) {
		if (subscription->ops->arch_invalidate_secondary_tlbs)
			subscription->ops->arch_invalidate_secondary_tlbs(
				subscription, mm, start, end);
	}
	srcu_read_unlock(&srcu, id);
}

/*
 * the caller holds mmap_lock for write, and mm_take_all_locks()
 * shuts out every other path that invalidates: an addition can never
 * race with a start/end window. (Removals can; they only take the
 * spinlock.) A NULL subscription only turns the interval tree on.
 */
static int __mmu_notifier_register(struct mmu_notifier *subscription,
				   struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *subscriptions = NULL;
	int ret;

	mmap_assert_write_locked(mm);
	BUG_ON(atomic_read(&mm->mm_users) <= 0);

	/*
	 * v6.6 (1af5a8109904): a subscription registers for the secondary-TLB
	 * flush or for start/end, never both.
	 */
	if (WARN_ON_ONCE(subscription &&
			 (subscription->ops->arch_invalidate_secondary_tlbs &&
			  (subscription->ops->invalidate_range_start ||
			   subscription->ops->invalidate_range_end))))
		return -EINVAL;

	/*
	 * No priming here since "mm: Track mmu notifiers in
	 * fs_reclaim_acquire/release" (v5.11,
	 * <20201120095445.1195585-2-daniel.vetter@ffwll.ch>): only the
	 * kzalloc below (the first registration on an mm) records it.
	 */
	if (!mm->notifier_subscriptions) {
		/* harness: kzalloc -> fs_reclaim_acquire's map priming */
		lock_map_acquire(&__mmu_notifier_invalidate_range_start_map);
		lock_map_release(&__mmu_notifier_invalidate_range_start_map);
		/* allocated outside mm_take_all_locks; mmap_lock keeps it ours */
		subscriptions = kzalloc(
			sizeof(struct mmu_notifier_subscriptions), GFP_KERNEL);
		if (!subscriptions)
			return -ENOMEM;

		INIT_HLIST_HEAD(&subscriptions->list);
		spin_lock_init(&subscriptions->lock);
		subscriptions->invalidate_seq = 2;
		interval_tree_root_init(&subscriptions->itree);
		init_waitqueue_head(&subscriptions->wq);
		INIT_HLIST_HEAD(&subscriptions->deferred_list);
	}

	ret = mm_take_all_locks(mm);
	if (unlikely(ret))
		goto out_clean;

	/* lockless readers (mm_has_notifiers) see a fully built struct */
	if (subscriptions)
		smp_store_release(&mm->notifier_subscriptions, subscriptions);

	if (subscription) {
		/* pairs with the mmdrop in unregister / the free after put */
		mmgrab(mm);
		subscription->mm = mm;
		subscription->users = 1;

		spin_lock(&mm->notifier_subscriptions->lock);
		hlist_add_head_rcu(&subscription->hlist,
				   &mm->notifier_subscriptions->list);
		spin_unlock(&mm->notifier_subscriptions->lock);
	} else
		/* harness: WRITE_ONCE; interval insert reads it without mmap_lock */
		WRITE_ONCE(mm->notifier_subscriptions->has_itree, true);

	mm_drop_all_locks(mm);
	BUG_ON(atomic_read(&mm->mm_users) <= 0);
	return 0;

out_clean:
	kfree(subscriptions);
	return ret;
}

static int mmu_notifier_register(struct mmu_notifier *subscription,
				 struct mm_struct *mm)
{
	int ret;

	if (!mmap_write_lock(mm))
		return -EINTR;	/* harness: the bounded wait expired */
	ret = __mmu_notifier_register(subscription, mm);
	mmap_write_unlock(mm);
	return ret;
}

/* the subscription with these ops, one more user, under the lock. */
static struct mmu_notifier *
find_get_mmu_notifier(struct mm_struct *mm, const struct mmu_notifier_ops *ops)
{
	struct mmu_notifier *subscription;

	spin_lock(&mm->notifier_subscriptions->lock);
	hlist_for_each_entry_srcu(subscription,
				 &mm->notifier_subscriptions->list, hlist,
				 lockdep_is_held(&mm->notifier_subscriptions->lock)) {
		if (subscription->ops != ops)
			continue;

		if (likely(subscription->users != UINT_MAX))
			subscription->users++;
		else
			subscription = ERR_PTR(-EOVERFLOW);
		spin_unlock(&mm->notifier_subscriptions->lock);
		return subscription;
	}
	spin_unlock(&mm->notifier_subscriptions->lock);
	return NULL;
}

/*
 * one subscription per (mm, ops): an existing one gains a user,
 * else ops->alloc_notifier makes one and it is registered. Paired with
 * mmu_notifier_put. The caller holds mmap_lock for write.
 */
static struct mmu_notifier *
mmu_notifier_get_locked(const struct mmu_notifier_ops *ops,
			struct mm_struct *mm)
{
	struct mmu_notifier *subscription;
	int ret;

	mmap_assert_write_locked(mm);

	if (mm->notifier_subscriptions) {
		subscription = find_get_mmu_notifier(mm, ops);
		if (subscription)
			return subscription;
	}

	subscription = ops->alloc_notifier(mm);
	if (IS_ERR(subscription))
		return subscription;
	subscription->ops = ops;
	ret = __mmu_notifier_register(subscription, mm);
	if (ret)
		goto out_free;
	return subscription;
out_free:
	subscription->ops->free_notifier(subscription);
	return ERR_PTR(ret);
}

/* include/linux/mmu_notifier.h: mmu_notifier_get takes mmap_lock. */
static struct mmu_notifier *
mmu_notifier_get(const struct mmu_notifier_ops *ops, struct mm_struct *mm)
{
	struct mmu_notifier *ret;

	if (!mmap_write_lock(mm))
		return ERR_PTR(-EINTR);	/* harness: the bounded wait expired */
	ret = mmu_notifier_get_locked(ops, mm);
	mmap_write_unlock(mm);
	return ret;
}

static void __mmu_notifier_subscriptions_destroy(struct mm_struct *mm)
{
	BUG_ON(!hlist_empty(&mm->notifier_subscriptions->list));
	kfree(mm->notifier_subscriptions);
	mm->notifier_subscriptions = NULL;
}

/*
 * if the subscription is still hashed (exit_mmap has not got to it),
 * run ->release inside SRCU so exit_mmap waits for it, then unhash it.
 * Either way wait a grace period: once this returns no callback of this
 * subscription is running or will run.
 */
static void mmu_notifier_unregister(struct mmu_notifier *subscription,
				    struct mm_struct *mm)
{
	BUG_ON(atomic_read(&mm->mm_count) <= 0);

	if (!hlist_unhashed(&subscription->hlist)) {
		int id;

		id = srcu_read_lock(&srcu);
		if (subscription->ops->release)
			subscription->ops->release(subscription, mm);
		srcu_read_unlock(&srcu, id);

		spin_lock(&mm->notifier_subscriptions->lock);
		/* del_init, because __mmu_notifier_release may have got here first */
		/* harness: the ledger must know before a reader can miss it */
		mmn_ledger_unlinking(subscription);
		hlist_del_init_rcu(&subscription->hlist);
		spin_unlock(&mm->notifier_subscriptions->lock);
		/* harness: tests observe the unlink */
		mmn_trace(mm, MMN_TRACE_UNLINKED, subscription);
	}

	synchronize_srcu(&srcu);

	BUG_ON(atomic_read(&mm->mm_count) <= 0);

	mmdrop(mm);
}

static void mmu_notifier_free_rcu(struct rcu_head *rcu)
{
	struct mmu_notifier *subscription =
		container_of(rcu, struct mmu_notifier, rcu);
	struct mm_struct *mm = subscription->mm;

	subscription->ops->free_notifier(subscription);
	/* pairs with the mmgrab in __mmu_notifier_register() */
	mmdrop(mm);
}

/*
 * drop a reference; the last one unhashes the subscription and frees
 * it after a grace period. No ->release: the driver must already have
 * stopped using the mm.
 */
static void mmu_notifier_put(struct mmu_notifier *subscription)
{
	struct mm_struct *mm = subscription->mm;

	spin_lock(&mm->notifier_subscriptions->lock);
	if (WARN_ON(!subscription->users) || --subscription->users)
		goto out_unlock;
	/* harness: the ledger must know before a reader can miss it */
	mmn_ledger_unlinking(subscription);
	hlist_del_init_rcu(&subscription->hlist);
	spin_unlock(&mm->notifier_subscriptions->lock);
	/* harness: tests observe the unlink */
	mmn_trace(mm, MMN_TRACE_UNLINKED, subscription);

	call_srcu(&srcu, &subscription->rcu, mmu_notifier_free_rcu);
	return;

out_unlock:
	spin_unlock(&mm->notifier_subscriptions->lock);
}

/*
 * while an invalidation is in flight the new interval must be
 * treated as already overlapping it: it starts with the current odd seq
 * (so read_begin waits), and if the tree is locked (odd) the insert is
 * queued for mn_itree_inv_end.
 */
static int __mmu_interval_notifier_insert(
	struct mmu_interval_notifier *interval_sub, struct mm_struct *mm,
	struct mmu_notifier_subscriptions *subscriptions, unsigned long start,
	unsigned long length, const struct mmu_interval_notifier_ops *ops)
{
	interval_sub->mm = mm;
	interval_sub->ops = ops;
	RB_CLEAR_NODE_IT(&interval_sub->interval_tree);
	interval_sub->interval_tree.start = start;
	/* the tree stores inclusive ends */
	if (length == 0 ||
	    __builtin_add_overflow(start, length - 1,
				   &interval_sub->interval_tree.last))
		return -EOVERFLOW;

	/* the caller must hold an mmget(): exit_mmap may be under way */
	if (WARN_ON(atomic_read(&mm->mm_users) <= 0))
		return -EINVAL;

	/* pairs with the mmdrop in mmu_interval_notifier_remove() */
	mmgrab(mm);

	spin_lock(&subscriptions->lock);
	if (subscriptions->active_invalidate_ranges) {
		if (mn_itree_is_invalidating(subscriptions))
			hlist_add_head(&interval_sub->deferred_item,
				       &subscriptions->deferred_list);
		else {
			/* harness: WRITE_ONCE (plain in the kernel) */
			WRITE_ONCE(subscriptions->invalidate_seq,
				   subscriptions->invalidate_seq | 1);
			interval_tree_insert(&interval_sub->interval_tree,
					     &subscriptions->itree);
		}
		interval_sub->invalidate_seq = subscriptions->invalidate_seq;
	} else {
		WARN_ON(mn_itree_is_invalidating(subscriptions));
		/* odd, and not the current seq: read_begin will not wait */
		interval_sub->invalidate_seq =
			subscriptions->invalidate_seq - 1;
		interval_tree_insert(&interval_sub->interval_tree,
				     &subscriptions->itree);
	}
	spin_unlock(&subscriptions->lock);
	return 0;
}

static int
mmu_interval_notifier_insert(struct mmu_interval_notifier *interval_sub,
			     struct mm_struct *mm, unsigned long start,
			     unsigned long length,
			     const struct mmu_interval_notifier_ops *ops)
{
	struct mmu_notifier_subscriptions *subscriptions;
	int ret;

	/* v7.1: a two-pass notifier must have its second pass */
	WARN_ON_ONCE(ops->invalidate_start && !ops->invalidate_finish);
	might_lock(&mm->mmap_lock);

	subscriptions = smp_load_acquire(&mm->notifier_subscriptions);
	/*
	 * harness: READ_ONCE. Read before mmap_lock is taken, racing a
	 * registration that sets it (benign in the kernel: a stale false only
	 * registers the interval tree again).
	 */
	if (!subscriptions || !READ_ONCE(subscriptions->has_itree)) {
		ret = mmu_notifier_register(NULL, mm);
		if (ret)
			return ret;
		subscriptions = mm->notifier_subscriptions;
	}
	return __mmu_interval_notifier_insert(interval_sub, mm, subscriptions,
					      start, length, ops);
}

/*
 * 319561669a59 (v5.18): the waiter reads invalidate_seq under the lock
 * mn_itree_inv_end holds while it moves the seq on and drains the deferred
 * list, so it can no longer return (and its caller free the notifier)
 * before its entry is unlinked.
 */
static bool
mmu_interval_seq_released(struct mmu_notifier_subscriptions *subscriptions,
			  unsigned long seq)
{
	bool ret;

	spin_lock(&subscriptions->lock);
	ret = subscriptions->invalidate_seq != seq;
	spin_unlock(&subscriptions->lock);
	return ret;
}

/*
 * remove now if the tree is not locked; otherwise queue the removal
 * (or cancel a queued insert) and wait until the invalidation that locked
 * the tree has ended, so no callback runs after this returns.
 */
static void
mmu_interval_notifier_remove(struct mmu_interval_notifier *interval_sub)
{
	struct mm_struct *mm = interval_sub->mm;
	struct mmu_notifier_subscriptions *subscriptions =
		mm->notifier_subscriptions;
	unsigned long seq = 0;

	might_sleep();

	spin_lock(&subscriptions->lock);
	if (mn_itree_is_invalidating(subscriptions)) {
		if (RB_EMPTY_NODE_IT(&interval_sub->interval_tree)) {
			/* inserted while locked and never applied */
			hlist_del(&interval_sub->deferred_item);
		} else {
			hlist_add_head(&interval_sub->deferred_item,
				       &subscriptions->deferred_list);
			seq = subscriptions->invalidate_seq;
		}
	} else {
		WARN_ON(RB_EMPTY_NODE_IT(&interval_sub->interval_tree));
		interval_tree_remove(&interval_sub->interval_tree,
				     &subscriptions->itree);
	}
	spin_unlock(&subscriptions->lock);

	/* the wait below may depend on any invalidation callback */
	lock_map_acquire(&__mmu_notifier_invalidate_range_start_map);
	lock_map_release(&__mmu_notifier_invalidate_range_start_map);
	if (seq)
		wait_event(subscriptions->wq,
			   mmu_interval_seq_released(subscriptions, seq));

	/* pairs with the mmgrab in mmu_interval_notifier_insert() */
	mmdrop(mm);
}

/* wait for every put's deferred free to have run. */
static void mmu_notifier_synchronize(void)
{
	synchronize_srcu(&srcu);
}
