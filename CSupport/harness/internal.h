/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * internal.h - the harness's own C structures: the mm's extra state, the
 * subscription wrappers, the log and the core table every variant fills.
 */
#ifndef MMN_HARNESS_INTERNAL_H
#define MMN_HARNESS_INTERNAL_H

#include "../kernel/custom.h"
#include "rwsem.h"

/* ---- the core table: one per (variant, flavour) ---- */

struct mmn_core {
	const char *variant;
	int flavor;
	void (*invalidate_range_start)(struct mmu_notifier_range *range);
	int (*invalidate_range_start_nonblock)(struct mmu_notifier_range *range);
	void (*invalidate_range_end)(struct mmu_notifier_range *range);
	void (*invalidate_range_only_end)(struct mmu_notifier_range *range);
	int (*notifier_register)(struct mmu_notifier *sub, struct mm_struct *mm);
	void (*notifier_unregister)(struct mmu_notifier *sub,
				    struct mm_struct *mm);
	void (*notifier_put)(struct mmu_notifier *sub);
	struct mmu_notifier *(*notifier_get)(const struct mmu_notifier_ops *ops,
					     struct mm_struct *mm);
	void (*notifier_synchronize)(void);
	void (*notifier_barrier)(void);
	void (*notifier_release)(struct mm_struct *mm);
	void (*subscriptions_destroy)(struct mm_struct *mm);
	int (*interval_insert)(struct mmu_interval_notifier *ins,
			       struct mm_struct *mm, unsigned long start,
			       unsigned long length,
			       const struct mmu_interval_notifier_ops *ops);
	void (*interval_remove)(struct mmu_interval_notifier *ins);
	unsigned long (*interval_read_begin)(struct mmu_interval_notifier *ins);
	bool (*interval_read_retry)(struct mmu_interval_notifier *ins,
				    unsigned long seq);
	bool (*interval_check_retry)(struct mmu_interval_notifier *ins,
				     unsigned long seq);
	void (*interval_set_seq)(struct mmu_interval_notifier *ins,
				 unsigned long cur_seq);
	void (*oom_reap_task)(struct mm_struct *mm, struct mmn_oom_result *out);
	void (*munmap)(struct mm_struct *mm, unsigned long start,
		       unsigned long end);
	void (*exit_mmap)(struct mm_struct *mm);
	/* read-only peeks for metrics */
	unsigned long (*active_invalidate_ranges)(struct mm_struct *mm);
	unsigned long (*invalidate_seq)(struct mm_struct *mm);
	unsigned long (*hlist_count)(struct mm_struct *mm);
	/* MMN_BENCH_COPIES private copies of each timed loop per lane, lane-major */
	unsigned long long (*bench_core[MMN_BENCH_LANES * MMN_BENCH_COPIES])(
		struct mm_struct *mm, unsigned long iterations,
		bool retire_ranges);
	unsigned long long (*bench_floor[MMN_BENCH_LANES * MMN_BENCH_COPIES])(
		struct mm_struct *mm, unsigned long iterations);
};

struct mmn_variant {
	const char *id;
	const char *summary;
	const char *upstream;
	const char *seed;
	const char *patch;
	const char *base;	/* "v5.11" or "mainline" (the patch's Base:) */
	const struct mmn_core *cores[MMN_FLAVOR_COUNT];
	/* the explore build (scheduling points, qsbr) */
	const struct mmn_core *explore;
};

extern const struct mmn_variant mmn_variants[];
extern const unsigned int mmn_variant_count;

/* ---- the log ---- */

struct mmn_log;
struct mmn_log *mmn_log_create(size_t max_records);
void mmn_log_destroy(struct mmn_log *log);
void mmn_log_hung(struct mm_struct *mm, unsigned timeout_ms, const char *what,
		  const char *holders);
void mmn_log_lockdep_report(void *arg, const char *text);
void mmn_log_srcu_inside_reader(struct mm_struct *mm, const char *what,
				int depth);
unsigned long long mmn_now_ns(void);
void mmn_log_count_only(struct mm_struct *mm, int kind);

/* ---- the quarantine and its use-after-free reports (kasan.c) ---- */

void mmn_kasan_quarantine(struct mm_struct *mm, void *addr, size_t size,
			  void (*release)(void *addr), const char *type,
			  const char *name, const char *freed_in);
/* Report and return true if addr lies in a quarantined object. */
bool mmn_kasan_check(struct mm_struct *mm, const void *addr, size_t size,
		     bool write, const char *func);
void mmn_kasan_destroy(struct mm_struct *mm);

/* gp_check.c: an unlink takes an epoch; a free inside its grace period is
 * reported (0: the check is off). */
unsigned long long mmn_gp_unlinked(void);
void mmn_gp_check_free(struct mm_struct *mm, const char *symbol,
		       unsigned long long unlinked, const void *rcu_head,
		       const char *freed_in);
void mmn_gp_queued_for_callback(const void *head);
unsigned long long mmn_gp_synchronize_begin(void);
void mmn_gp_synchronize_end(int flavor, unsigned long long began);
void mmn_gp_thread_exit(struct task_struct *t);

/* Bounded waits (mm.c): the mm's deadline, absolute on CLOCK_MONOTONIC. */
unsigned mmn_timeout_ms(const struct mm_struct *mm);
void mmn_deadline(struct timespec *ts, unsigned timeout_ms);
void mmn_cond_init(pthread_cond_t *cond);

/* ---- the ledger ---- */

struct mmn_ledger;
struct mmn_ledger *mmn_ledger_create(void);
void mmn_ledger_destroy(struct mmn_ledger *ledger);
extern const struct mmu_notifier_ops mmn_ledger_ops_template;

/* ---- the mm ---- */

struct mmn_kasan;

struct mm_struct {
	struct vm_area_struct *mmap;
	struct mmu_notifier_subscriptions *notifier_subscriptions;
	int mm_users;
	int mm_count;
	struct rw_semaphore mmap_lock;
	unsigned long flags;

	/* harness only */
	const struct mmn_core *core;
	unsigned variant;
	int flavor;
	int owner_pid;
	char owner_comm[16];
	unsigned hung_timeout_ms;
	unsigned long long created_ns;
	struct mmn_log *log;
	struct mmn_ledger *ledger;
	struct mmn_lockdep *lockdep;
	struct mmn_pseudo_lock pseudo;
	struct vm_area_struct *vmas;
	unsigned long nr_vmas;
	unsigned long reaped_vmas;	/* atomic */
	mmn_trace_fn trace_fn;
	void *trace_arg;
	unsigned long long next_sub_id;	/* atomic */
	struct mmn_mm_stats stats;	/* atomic fields */
	struct mmn_kasan *kasan;	/* freed objects, see kasan.c */
	/*
	 * Explore mms allocate subscriptions from one block, in order, so
	 * that every execution of a schedule sees the same address order
	 * (sorted-undo sorts its hlist by address).
	 */
	char *arena;
	size_t arena_used, arena_size;
};

/* calloc, or the explore arena's next block (never freed alone). */
void *mmn_mm_alloc(struct mm_struct *mm, size_t size);
bool mmn_mm_owns(const struct mm_struct *mm, const void *p);

/*
 * The pseudo-lock of the mm this harness call works on (one per mm, where
 * the kernel has one global map); a thread outside any mm gets a spare.
 */
extern struct mmn_pseudo_lock mmn_orphan_pseudo;
static inline struct lockdep_map *mmn_pseudo_map(void)
{
	struct mm_struct *mm = current->mmn_mm;

	return likely(mm) ? &mm->pseudo.map : &mmn_orphan_pseudo.map;
}
#define __mmu_notifier_invalidate_range_start_map (*mmn_pseudo_map())

/* A VMA's pages were unmapped: count the VMA the first time only, since the
 * reaper's retries walk every VMA again. */
static inline void mmn_vma_unmapped(struct vm_area_struct *vma)
{
	MMN_XP_NOTE("vma->mmn_unmapped", true);
	if (!__atomic_exchange_n(&vma->mmn_unmapped, true, __ATOMIC_RELAXED))
		__atomic_fetch_add(&vma->vm_mm->reaped_vmas, 1,
				   __ATOMIC_RELAXED);
}

static inline bool mmap_read_trylock(struct mm_struct *mm)
{
	return mmn_rwsem_down_read_trylock(&mm->mmap_lock, __func__);
}
static inline bool mmap_read_lock(struct mm_struct *mm)
{
	return mmn_rwsem_down_read(&mm->mmap_lock, __func__);
}
static inline void mmap_read_unlock(struct mm_struct *mm)
{
	mmn_rwsem_up_read(&mm->mmap_lock, __func__);
}
static inline bool mmap_write_lock(struct mm_struct *mm)
{
	return mmn_rwsem_down_write(&mm->mmap_lock, __func__);
}
static inline void mmap_write_unlock(struct mm_struct *mm)
{
	mmn_rwsem_up_write(&mm->mmap_lock, __func__);
}

static inline void mmap_write_downgrade(struct mm_struct *mm)
{
	/* explore: no point of its own, so the step says what it changes */
	MMN_XP_NOTE_OBJECT("rwsem", mm->mmap_lock.name, true);
	mmn_rwsem_downgrade_write(&mm->mmap_lock, __func__);
}

/* mm_take_all_locks: the write side of mmap_lock already excludes every
 * invalidation the harness runs, so there is nothing more to take. */
static inline int mm_take_all_locks(struct mm_struct *mm)
{
	(void)mm;
	return 0;
}
static inline void mm_drop_all_locks(struct mm_struct *mm)
{
	(void)mm;
}

/* include/linux/atomic.h and err.h, as the port uses them */
/* explore: lockless reads say what they read (explore.h, sleep sets) */
#define atomic_read(v) (MMN_XP_NOTE(#v, false), __atomic_load_n((v), __ATOMIC_RELAXED))
#define MAX_ERRNO 4095
static inline void *ERR_PTR(long error)
{
	return (void *)error;
}
static inline long PTR_ERR(const void *ptr)
{
	return (long)ptr;
}
static inline bool IS_ERR(const void *ptr)
{
	return (unsigned long)ptr >= (unsigned long)-MAX_ERRNO;
}

static inline void set_bit(int nr, unsigned long *addr)
{
	MMN_XP_NOTE("mm->flags", true);	/* every bit word is mm->flags */
	__atomic_fetch_or(addr, 1UL << nr, __ATOMIC_SEQ_CST);
}
static inline bool test_bit(int nr, const unsigned long *addr)
{
	MMN_XP_NOTE("mm->flags", false);
	return __atomic_load_n(addr, __ATOMIC_RELAXED) & (1UL << nr);
}

/* ---- subscriptions: the harness's wrapper around a struct mmu_notifier ---- */

#define MMN_POISON 0x6b6b6b6b6b6b6b6bULL

enum { MMN_KSYM_SLOTS = 4 };

struct mmn_subscription {
	void *ctx;			/* must stay first: mmn_notifier_ctx */
	struct mmu_notifier mn;
	/* mn.ops is what the core sees: interned, see mmn_ops_intern */
	struct mmu_notifier_ops driver_ops;	/* what the driver gave */
	const char *symbol;
	/* %pS of each ops slot, formatted once (see mmn_ksym) */
	char *ksym[MMN_KSYM_SLOTS];
	void (*release_ctx)(void *ctx);
	/*
	 * After the free: the driver, kept until the quarantine lets the
	 * memory go, so a walker that loaded the context just before the
	 * free still finds a live driver (ctx itself reads NULL from then on).
	 */
	void *ctx_kept;
	unsigned long long id;
	unsigned long long poison;	/* MMN_POISON once freed */
	struct mm_struct *owner;
	bool ledger;
	bool registered;
	/* ledger state, under the ledger's lock */
	struct mmn_range_ledger *open;	/* this subscription's live entries */
	struct mmn_ledger_counts counts;
	bool removed;			/* unlinked; callbacks may still run */
	unsigned long long gp_unlinked;	/* gp_check.c's epoch at the unlink */
	struct mmn_subscription *live_prev, *live_next;	/* ledger's list */
};

struct mmn_interval_sub {
	void *ctx;			/* must stay first */
	struct mmu_interval_notifier ins;
	/* what the core calls: the harness's trampoline (see subscription.c) */
	struct mmu_interval_notifier_ops ops;
	bool (*driver_invalidate)(struct mmu_interval_notifier *ins,
				  const struct mmu_notifier_range *range,
				  unsigned long cur_seq);
	unsigned long long poison;	/* MMN_POISON once freed */
	const char *symbol;
	void (*release_ctx)(void *ctx);
	struct mm_struct *owner;
	bool inserted;
	struct mmn_interval_sub *kept_next;	/* on mmn_kept_intervals */
	/* the pairing ledger's account of it (ledger.c); outlives it */
	struct mmn_interval_account *account;
	/* a two-pass driver's passes (v7.1), or NULLs */
	struct mmn_interval_two_pass_ops two_pass;
};

static inline struct mmn_subscription *
mmn_sub_of(const struct mmu_notifier *mn)
{
	return container_of(mn, struct mmn_subscription, mn);
}

void mmn_subscription_free(struct mmn_subscription *sub, const char *freed_in);

/* ledger.c */
void mmn_ledger_attach(struct mmn_subscription *sub);
void mmn_ledger_removed(struct mmn_subscription *sub);
void mmn_ledger_detach(struct mmn_subscription *sub);
void mmn_ledger_poison_seen(struct mmn_subscription *sub, const char *callback);
/* subscription.c: a two-pass driver's passes behind the poison check */
int mmn_interval_driver_start(struct mmn_interval_sub *isub,
			      const struct mmu_notifier_range *range,
			      unsigned long cur_seq, const char *caller);
void mmn_interval_driver_finish(struct mmn_interval_sub *isub,
				const char *caller);
/* ledger.c: the v5.11 core's ->invalidate for a two-pass driver */
bool mmn_ledger_two_pass_invalidate(struct mmu_interval_notifier *ins,
				    const struct mmu_notifier_range *range,
				    unsigned long cur_seq);
/* ledger.c: finish objects still outstanding once the interval is removed */
void mmn_ledger_interval_removed(struct mmn_interval_sub *isub);
void mmn_ledger_retire(struct mmu_notifier_range *range);
/* Interval subscriptions: interpose the ledger on ops.invalidate. */
bool mmn_ledger_interval_attach(struct mmn_interval_sub *isub);
/*
 * The tree's half of a range, for the ledger: begun in
 * mn_itree_inv_start_range, ended in mn_itree_inv_end (which the range's
 * end names first with _ending), forgotten when the range retires.
 */
void mmn_ledger_itree_begin(const struct mmu_notifier_range *range);
void mmn_ledger_itree_ending(const struct mmu_notifier_range *range);
void mmn_ledger_itree_end(void);
void mmn_ledger_itree_retire(const struct mmu_notifier_range *range);

/* Range ids: per-thread counters, so taking one writes nothing shared. */
void mmn_assign_thread_index(void);
static inline unsigned long long mmn_next_range_id(void)
{
	struct task_struct *t = current;

	if (unlikely(!t->thread_index))
		mmn_assign_thread_index();
	return ((unsigned long long)t->thread_index << 40) | ++t->range_seq;
}

/* The per-flavour RCU runtime (rcu/). */
struct mmn_rcu_flavor_ops {
	const char *name;
	void (*register_thread)(void);
	void (*unregister_thread)(void);
	void (*read_lock)(void);
	void (*read_unlock)(void);
	void (*synchronize)(void);
	void (*call)(struct rcu_head *head, void (*func)(struct rcu_head *));
	void (*barrier)(void);
	void (*thread_online)(void);
	void (*thread_offline)(void);
	void (*quiescent_state)(void);
};
extern const struct mmn_rcu_flavor_ops *const mmn_rcu_flavors[MMN_FLAVOR_COUNT];
void mmn_rcu_register_current(int flavor);
void mmn_synchronize_srcu_flavor(int flavor);
void mmn_call_srcu_flavor(int flavor, struct rcu_head *head,
			  void (*func)(struct rcu_head *));
void mmn_srcu_barrier_flavor(int flavor);

/*
 * explore: retiring a range's record writes the ledger (sleep sets); a
 * macro, so only the explore cores pay for saying so.
 */
#include <mmn_harness.h>
#define mmn_range_retire(range)						\
	(MMN_XP_NOTE_OBJECT("class", "ledger", true), (mmn_range_retire)(range))

#endif /* MMN_HARNESS_INTERNAL_H */
