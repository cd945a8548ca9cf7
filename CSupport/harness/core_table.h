/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * core_table.h - included last by every generated unit in port/build: it
 * turns one (variant, flavour) copy of the port into a struct mmn_core.
 * The peeks and the benchmark loops live here, in the same unit as the
 * port, so the timed loop calls the core's inline wrappers directly.
 */
#ifndef MMN_VARIANT_SYM
#error "define MMN_VARIANT_SYM before including core_table.h"
#endif

#define MMN_PASTE4_(a, b, c, d) a##b##c##d
#define MMN_PASTE4(a, b, c, d) MMN_PASTE4_(a, b, c, d)
#if defined(MMN_EXPLORE) && MMN_EXPLORE
#define MMN_CORE_NAME MMN_PASTE4(mmn_core_, MMN_VARIANT_SYM, _, explore)
#else
#define MMN_CORE_NAME MMN_PASTE4(mmn_core_, MMN_VARIANT_SYM, _, MMN_FLAVOR)
#endif

static void mmn_ct_start(struct mmu_notifier_range *range)
{
	mmu_notifier_invalidate_range_start(range);
}

static int mmn_ct_start_nonblock(struct mmu_notifier_range *range)
{
	return mmu_notifier_invalidate_range_start_nonblock(range);
}

static void mmn_ct_end(struct mmu_notifier_range *range)
{
	mmu_notifier_invalidate_range_end(range);
}

#ifdef MMN_PORT_MAINLINE
/*
 * The mainline base (port/mainline) has no only_end since v6.6, and its
 * range_init takes no vma: the table's only_end is the plain end there.
 */
static void mmn_ct_only_end(struct mmu_notifier_range *range)
{
	mmu_notifier_invalidate_range_end(range);
}

#define MMN_CT_RANGE_INIT(range, mm, start, end)			\
	mmu_notifier_range_init(range, MMU_NOTIFY_UNMAP, 0, mm, start, end)
#else
static void mmn_ct_only_end(struct mmu_notifier_range *range)
{
	mmu_notifier_invalidate_range_only_end(range);
}

#define MMN_CT_RANGE_INIT(range, mm, start, end)			\
	mmu_notifier_range_init(range, MMU_NOTIFY_UNMAP, 0, NULL, mm,	\
				start, end)
#endif

static void mmn_ct_barrier(void)
{
	srcu_barrier(&srcu);
}

static void mmn_ct_subscriptions_destroy(struct mm_struct *mm)
{
	__mmu_notifier_subscriptions_destroy(mm);
}

static bool mmn_ct_read_retry(struct mmu_interval_notifier *ins,
			      unsigned long seq)
{
	return mmu_interval_read_retry(ins, seq);
}

static bool mmn_ct_check_retry(struct mmu_interval_notifier *ins,
			       unsigned long seq)
{
	return mmu_interval_check_retry(ins, seq);
}

static void mmn_ct_set_seq(struct mmu_interval_notifier *ins,
			   unsigned long cur_seq)
{
	mmu_interval_set_seq(ins, cur_seq);
}

static unsigned long mmn_ct_active_ranges(struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *s = mm->notifier_subscriptions;
	unsigned long n;

	if (!s)
		return 0;
	spin_lock(&s->lock);
	n = s->active_invalidate_ranges;
	spin_unlock(&s->lock);
	return n;
}

static unsigned long mmn_ct_invalidate_seq(struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *s = mm->notifier_subscriptions;
	unsigned long n;

	if (!s)
		return 0;
	spin_lock(&s->lock);
	n = s->invalidate_seq;
	spin_unlock(&s->lock);
	return n;
}

static unsigned long mmn_ct_hlist_count(struct mm_struct *mm)
{
	struct mmu_notifier_subscriptions *s = mm->notifier_subscriptions;
	struct hlist_node *n;
	unsigned long count = 0;

	if (!s)
		return 0;
	spin_lock(&s->lock);
	for (n = s->list.first; n; n = n->next)
		count++;
	spin_unlock(&s->lock);
	return count;
}

#if !(defined(MMN_EXPLORE) && MMN_EXPLORE)	/* the explore build has no lanes */
/*
 * The OOM reaper's pattern, iterations times: a non-blockable start and,
 * if it succeeded, the end. Ranges are only retired when the ledger is on.
 */
static inline __attribute__((always_inline)) unsigned long long
mmn_ct_bench_core_body(struct mm_struct *mm, unsigned long iterations,
		       bool retire_ranges)
{
	struct mmu_notifier_range range;
	unsigned long long t0, t1;

	MMN_CT_RANGE_INIT(&range, mm, 0, 0x7fffffffffffUL);
	t0 = mmn_now_ns();
	for (unsigned long i = 0; i < iterations; i++) {
		if (retire_ranges)
			range.mmn_id = mmn_next_range_id();
		if (!mmu_notifier_invalidate_range_start_nonblock(&range))
			mmu_notifier_invalidate_range_end(&range);
		if (retire_ranges)
			mmn_range_retire(&range);
	}
	t1 = mmn_now_ns();
	return t1 - t0;
}

/*
 * The floor: walk the same nodes and make the same indirect calls (every
 * start, then every end) with no RCU, no NULL checks and no accounting.
 */
static inline __attribute__((always_inline)) unsigned long long
mmn_ct_bench_floor_body(struct mm_struct *mm, unsigned long iterations)
{
	struct mmu_notifier_subscriptions *s = mm->notifier_subscriptions;
	struct mmu_notifier_range range;
	unsigned long long t0, t1;

	if (!s)
		return 0;
	MMN_CT_RANGE_INIT(&range, mm, 0, 0x7fffffffffffUL);
	t0 = mmn_now_ns();
	for (unsigned long i = 0; i < iterations; i++) {
		struct hlist_node *n;

		for (n = s->list.first; n; n = n->next) {
			struct mmu_notifier *mn =
				hlist_entry(n, struct mmu_notifier, hlist);

			mn->ops->invalidate_range_start(mn, &range);
		}
		for (n = s->list.first; n; n = n->next) {
			struct mmu_notifier *mn =
				hlist_entry(n, struct mmu_notifier, hlist);

			mn->ops->invalidate_range_end(mn, &range);
		}
	}
	t1 = mmn_now_ns();
	return t1 - t0;
}

/*
 * Private copies of each timed loop: MMN_BENCH_COPIES per lane (enum
 * mmn_bench_lane). The generated unit compiles the port always_inline, so
 * the core's start and end are copied into every slot, and each indirect
 * call site in a copy only ever sees one kind of list's callbacks. A call
 * site that has seen a second target (a ledger or Swift trampoline, the
 * refusing callback) stays slower to predict for as long as the predictor
 * remembers it, which outlasts any warm-up: measured on a 2-vCPU EPYC, one
 * shared loop put 4.4 ns per notifier up to 6.5 for every row timed next
 * to a ledger row, and the floor (a loop of its own) did not move.
 *
 * Several copies per lane, because where a copy's code lands decides its
 * speed: on the same machine one copy of a loop ran at 280 ns per op and
 * another, identical but for its address, at 296, and with ASLR off the
 * split repeated exactly from run to run. The benchmark moves each list
 * to the next copy at every placement, so a row is an average over code
 * addresses as it is over data addresses.
 *
 * Each copy starts on a 64-byte boundary (MMN_CT_BENCH_ALIGN): Package.swift
 * carries no -falign-functions (a versioned dependency refuses unsafe
 * flags), so the alignment is the function's own.
 */
#define MMN_CT_BENCH_ALIGN __attribute__((aligned(64), noinline))
#define MMN_CT_BENCH_SLOT(slot)						\
	static MMN_CT_BENCH_ALIGN unsigned long long			\
	mmn_ct_bench_core_##slot(struct mm_struct *mm,			\
				 unsigned long iterations,		\
				 bool retire_ranges)			\
	{								\
		return mmn_ct_bench_core_body(mm, iterations,		\
					      retire_ranges);		\
	}								\
	static MMN_CT_BENCH_ALIGN unsigned long long			\
	mmn_ct_bench_floor_##slot(struct mm_struct *mm,			\
				  unsigned long iterations)		\
	{								\
		return mmn_ct_bench_floor_body(mm, iterations);		\
	}
/* one lane's copies: slots lane##0 .. lane##3 */
#define MMN_CT_BENCH_LANE(lane)						\
	MMN_CT_BENCH_SLOT(lane##0) MMN_CT_BENCH_SLOT(lane##1)		\
	MMN_CT_BENCH_SLOT(lane##2) MMN_CT_BENCH_SLOT(lane##3)
#define MMN_CT_LANE_FNS(kind, lane)					\
	mmn_ct_bench_##kind##_##lane##0, mmn_ct_bench_##kind##_##lane##1, \
	mmn_ct_bench_##kind##_##lane##2, mmn_ct_bench_##kind##_##lane##3
#define MMN_CT_ALL_FNS(kind)						\
	MMN_CT_LANE_FNS(kind, 1), MMN_CT_LANE_FNS(kind, 2),		\
	MMN_CT_LANE_FNS(kind, 3), MMN_CT_LANE_FNS(kind, 4),		\
	MMN_CT_LANE_FNS(kind, 5), MMN_CT_LANE_FNS(kind, 6),		\
	MMN_CT_LANE_FNS(kind, 7), MMN_CT_LANE_FNS(kind, 8)
/* MMN_CT_BENCH_LANE(L + 1) holds lane L (slots (L + 1)0 .. (L + 1)3) */
MMN_CT_BENCH_LANE(1)
MMN_CT_BENCH_LANE(2)
MMN_CT_BENCH_LANE(3)
MMN_CT_BENCH_LANE(4)
MMN_CT_BENCH_LANE(5)
MMN_CT_BENCH_LANE(6)
MMN_CT_BENCH_LANE(7)
MMN_CT_BENCH_LANE(8)
_Static_assert(MMN_BENCH_LANES == 8 && MMN_BENCH_COPIES == 4,
	       "one MMN_CT_BENCH_LANE per lane, four slots each");
#endif

const struct mmn_core MMN_CORE_NAME = {
	.variant = MMN_STRINGIFY(MMN_VARIANT_SYM),
	.flavor = MMN_FLAVOR_ID,
	.invalidate_range_start = mmn_ct_start,
	.invalidate_range_start_nonblock = mmn_ct_start_nonblock,
	.invalidate_range_end = mmn_ct_end,
	.invalidate_range_only_end = mmn_ct_only_end,
	.notifier_register = mmu_notifier_register,
	.notifier_unregister = mmu_notifier_unregister,
	.notifier_put = mmu_notifier_put,
	.notifier_get = mmu_notifier_get,
	.notifier_synchronize = mmu_notifier_synchronize,
	.notifier_barrier = mmn_ct_barrier,
	.notifier_release = mmu_notifier_release,
	.subscriptions_destroy = mmn_ct_subscriptions_destroy,
	.interval_insert = mmu_interval_notifier_insert,
	.interval_remove = mmu_interval_notifier_remove,
	.interval_read_begin = mmu_interval_read_begin,
	.interval_read_retry = mmn_ct_read_retry,
	.interval_check_retry = mmn_ct_check_retry,
	.interval_set_seq = mmn_ct_set_seq,
	.oom_reap_task = oom_reap_task,
	.munmap = mmn_port_munmap,
	.exit_mmap = mmn_port_exit_mmap,
	.active_invalidate_ranges = mmn_ct_active_ranges,
	.invalidate_seq = mmn_ct_invalidate_seq,
	.hlist_count = mmn_ct_hlist_count,
#if !(defined(MMN_EXPLORE) && MMN_EXPLORE)
	.bench_core = { MMN_CT_ALL_FNS(core) },
	.bench_floor = { MMN_CT_ALL_FNS(floor) },
#endif
};
