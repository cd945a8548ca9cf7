/* SPDX-License-Identifier: GPL-2.0-only */
/* bench.c - C no-op callbacks, the C side of the benchmark's comparison. */
#include <alloca.h>
#include <malloc.h>
#include "internal.h"
#include "registry.h"
#include "../kernel/custom.h"
#include "../include/mmn_bench.h"

/*
 * Each callback on a cache line of its own: without -falign-functions
 * (Package.swift carries no unsafe flags) the three sat in one 64-byte
 * block, and the refusing C lists ran up to 20% slower than their Swift
 * twins, whose entry points are spread out, at equal instruction counts
 * (bench --measure instructions): the predictor, not the work.
 */
#define MMN_BENCH_CALLBACK __attribute__((aligned(64), noinline))

static MMN_BENCH_CALLBACK int mmn_noop_start(struct mmu_notifier *mn,
			  const struct mmu_notifier_range *range)
{
	(void)mn;
	(void)range;
	return 0;
}

static MMN_BENCH_CALLBACK void mmn_noop_end(struct mmu_notifier *mn,
			 const struct mmu_notifier_range *range)
{
	(void)mn;
	(void)range;
}

/* Fails every non-blockable start, as nouveau's hlist notifier does. */
static MMN_BENCH_CALLBACK int mmn_failing_start(struct mmu_notifier *mn,
			     const struct mmu_notifier_range *range)
{
	(void)mn;
	return mmn_range_blockable(range) ? 0 : -EAGAIN;
}

static const struct mmu_notifier_ops mmn_noop_ops_with_end = {
	.invalidate_range_start = mmn_noop_start,
	.invalidate_range_end = mmn_noop_end,
};

static const struct mmu_notifier_ops mmn_noop_ops_start_only = {
	.invalidate_range_start = mmn_noop_start,
};

static const struct mmu_notifier_ops mmn_failing_ops = {
	.invalidate_range_start = mmn_failing_start,
};

const struct mmu_notifier_ops *mmn_bench_noop_ops(bool with_end)
{
	return with_end ? &mmn_noop_ops_with_end : &mmn_noop_ops_start_only;
}

const struct mmu_notifier_ops *mmn_bench_failing_ops(void)
{
	return &mmn_failing_ops;
}

void mmn_bench_compact_heap(void)
{
	/* consolidates the fastbins too, so freed neighbours coalesce */
	malloc_trim(0);
}

void mmn_bench_with_stack_offset(unsigned long bytes, void (*fn)(void *arg),
				 void *arg)
{
	volatile char *pad = alloca(bytes > 65536 ? 65536 : bytes + 1);

	/* touch it, so the compiler cannot drop the allocation */
	pad[0] = 0;
	fn(arg);
	__asm__ volatile("" : : "r"(pad) : "memory");
}

/* ---- issue 15: the reference walk, the build, callgrind ---- */

/* port/config: original with every harness addition compiled out. */
MMN_DECLARE_CORES(original_reference);
static const struct mmn_core *const mmn_cores_reference[] = {
	[MMN_FLAVOR_MEMB] = &mmn_core_original_reference_memb,
	[MMN_FLAVOR_MB] = &mmn_core_original_reference_mb,
	[MMN_FLAVOR_QSBR] = &mmn_core_original_reference_qsbr,
	[MMN_FLAVOR_BP] = &mmn_core_original_reference_bp,
};

unsigned long long mmn_bench_core_reference(struct mm_struct *mm,
					    unsigned long iterations,
					    unsigned lane, unsigned copy)
{
	const struct mmn_core *core = mmn_cores_reference[mm->core->flavor];
	struct task_struct *t = current;
	struct mm_struct *prev;
	unsigned long long ns;

	/* the reference's read side has no registration test: do it here */
	if (!(t->rcu_registered & (1u << mm->core->flavor)))
		mmn_rcu_register_current(mm->core->flavor);
	if (lane >= MMN_BENCH_LANES)
		lane = MMN_BENCH_LANE_C;
	prev = mmn_enter(mm);
	ns = core->bench_core[lane * MMN_BENCH_COPIES + copy % MMN_BENCH_COPIES](
		mm, iterations, false);
	mmn_leave(prev);
	return ns;
}

bool mmn_bench_c_optimized(void)
{
#ifdef __OPTIMIZE__
	return true;
#else
	return false;
#endif
}

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define MMN_HAVE_CALLGRIND 1
#else
#define MMN_HAVE_CALLGRIND 0
#endif

bool mmn_bench_callgrind_built(void)
{
	return MMN_HAVE_CALLGRIND;
}

bool mmn_bench_on_valgrind(void)
{
#if MMN_HAVE_CALLGRIND
	return RUNNING_ON_VALGRIND != 0;
#else
	return false;
#endif
}

void mmn_bench_callgrind_zero(void)
{
#if MMN_HAVE_CALLGRIND
	CALLGRIND_ZERO_STATS;
#endif
}

void mmn_bench_callgrind_dump(const char *name)
{
#if MMN_HAVE_CALLGRIND
	CALLGRIND_DUMP_STATS_AT(name);
#else
	(void)name;
#endif
}
