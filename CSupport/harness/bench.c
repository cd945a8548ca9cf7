/* SPDX-License-Identifier: GPL-2.0-only */
/* bench.c - C no-op callbacks, the C side of the benchmark's comparison. */
#include <alloca.h>
#include <malloc.h>
#include "internal.h"

static int mmn_noop_start(struct mmu_notifier *mn,
			  const struct mmu_notifier_range *range)
{
	(void)mn;
	(void)range;
	return 0;
}

static void mmn_noop_end(struct mmu_notifier *mn,
			 const struct mmu_notifier_range *range)
{
	(void)mn;
	(void)range;
}

/* Fails every non-blockable start, as nouveau's hlist notifier does. */
static int mmn_failing_start(struct mmu_notifier *mn,
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
