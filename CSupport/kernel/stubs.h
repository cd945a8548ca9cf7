/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * stubs.h - kernel facilities the port names but the harness does not model.
 *
 * Each is a no-op here on purpose; the comment says what the kernel does
 * and why leaving it out does not change start/end pairing. (The split
 * stubs.h / dup.h / custom.h follows tools/testing/vma.)
 */
#ifndef MMN_KERNEL_STUBS_H
#define MMN_KERNEL_STUBS_H

#include "tsan.h"
#include "../explore/explore.h"

/* Memory reclaim ordering for lockdep; the harness has no reclaim. */
#define fs_reclaim_acquire(gfp)		do { (void)(gfp); } while (0)
#define fs_reclaim_release(gfp)		do { (void)(gfp); } while (0)
#define GFP_KERNEL			0

/* mmgrab/mmdrop pin mm_count; modelled in custom.h (mm lifetime matters). */

/* No page tables: the TLB gather/flush brackets carry no state here. */
struct mmu_gather { struct mm_struct *mm; };
#define tlb_gather_mmu(tlb, mm, start, end)	((tlb)->mm = (mm))
#define tlb_finish_mmu(tlb, start, end)		do { (void)(tlb); } while (0)

/* The reaper's "now anon-rss:..." figures: no RSS counters modelled. */
#define get_mm_counter(mm, member)	0UL
#define K(x)				((x) << 2)

/* Export markers and annotations with no userspace meaning. */
#define EXPORT_SYMBOL_GPL(sym)
#define EXPORT_SYMBOL(sym)
#define __must_check
#define __rcu
#define might_lock(lock)		do { } while (0)
#define mmap_assert_write_locked(mm)	do { (void)(mm); } while (0)
#define lockdep_assert_held(lock)	do { (void)(lock); } while (0)
#define smp_wmb()			cmm_smp_wmb()
#if defined(MMN_EXPLORE) && MMN_EXPLORE
/* explore: lockless accesses say what they touch (explore.h, sleep sets) */
#define smp_store_release(p, v)						\
	(MMN_XP_NOTE(#p, true), __atomic_store_n((p), (v), __ATOMIC_RELEASE))
#define smp_load_acquire(p)						\
	(MMN_XP_NOTE(#p, false), __atomic_load_n((p), __ATOMIC_ACQUIRE))
#define READ_ONCE(x)	(MMN_XP_NOTE(#x, false), MMN_LOAD_SHARED(x))
#else
#define smp_store_release(p, v)		__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define smp_load_acquire(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define READ_ONCE(x)			MMN_LOAD_SHARED(x)
#endif
#if defined(MMN_EXPLORE) && MMN_EXPLORE
/* explore: a point after every shared store (readers may look now) */
#define WRITE_ONCE(x, v) ({						\
	__typeof__(x) __xp_v = (v);					\
	MMN_STORE_SHARED(x, __xp_v);					\
	MMN_XP_POINT(MMN_XP_WRITE_ONCE, #x, __xp_v);			\
})
#else
#define WRITE_ONCE(x, v)		MMN_STORE_SHARED(x, v)
#endif

/* OOM reaper's sleep between tries (HZ/10): skipped, nothing else runs. */
#define schedule_timeout_idle(t)	do { (void)(t); } while (0)
#define HZ				100

#endif /* MMN_KERNEL_STUBS_H */
