/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mmn_harness.h - the one header Swift imports.
 *
 * Plain structs and prefixed functions only: no liburcu macro, no kernel
 * macro and no thread-local crosses into Swift (the swift-nio CNIOLinux
 * pattern). The kernel-shaped structs that drivers see (the range and the
 * ops tables) are declared here once and shared with the port, so a Swift
 * driver and the C core agree on one layout.
 */
#ifndef MMN_HARNESS_H
#define MMN_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Kernel-shaped types, as include/linux/mmu_notifier.h (v5.11) has them */

struct mm_struct;		/* opaque to Swift: the harness's address space */
struct vm_area_struct;		/* opaque to Swift */
struct mmu_notifier;		/* opaque to Swift: lives inside a subscription */
struct mmu_interval_notifier;	/* opaque to Swift */

enum mmu_notifier_event {
	MMU_NOTIFY_UNMAP = 0,
	MMU_NOTIFY_CLEAR,
	MMU_NOTIFY_PROTECTION_VMA,
	MMU_NOTIFY_PROTECTION_PAGE,
	MMU_NOTIFY_SOFT_DIRTY,
	MMU_NOTIFY_RELEASE,
	MMU_NOTIFY_MIGRATE,
};

#define MMU_NOTIFIER_RANGE_BLOCKABLE (1 << 0)

struct mmn_range_ledger;	/* harness: the ledger's entries for one range */

struct mmu_notifier_range {
	struct vm_area_struct *vma;
	struct mm_struct *mm;
	unsigned long start;
	unsigned long end;	/* exclusive, as in the kernel */
	unsigned flags;
	enum mmu_notifier_event event;
	void *migrate_pgmap_owner;
	/* harness only: identity of this invalidation for the pairing ledger */
	unsigned long long mmn_id;
	struct mmn_range_ledger *mmn_ledger;
};

/*
 * The callbacks the v5.11 core calls. A NULL entry means "not implemented",
 * and the core (and the fixes) test for NULL, so a driver's set of non-NULL
 * entries is part of its behaviour.
 */
struct mmu_notifier_ops {
	void (*release)(struct mmu_notifier *subscription,
			struct mm_struct *mm);
	int (*invalidate_range_start)(struct mmu_notifier *subscription,
				      const struct mmu_notifier_range *range);
	void (*invalidate_range_end)(struct mmu_notifier *subscription,
				     const struct mmu_notifier_range *range);
	void (*invalidate_range)(struct mmu_notifier *subscription,
				 struct mm_struct *mm, unsigned long start,
				 unsigned long end);
	/*
	 * v6.6 (1af5a8109904): ->invalidate_range became this, and
	 * registration refuses ops that set it together with start/end. Only
	 * the mainline port reads it; the v5.11 port reads ->invalidate_range.
	 */
	void (*arch_invalidate_secondary_tlbs)(struct mmu_notifier *subscription,
					       struct mm_struct *mm,
					       unsigned long start,
					       unsigned long end);
	/* v5.11: mmu_notifier_get's constructor, paired with free_notifier */
	struct mmu_notifier *(*alloc_notifier)(struct mm_struct *mm);
	void (*free_notifier)(struct mmu_notifier *subscription);
};

/*
 * v7.1 (7aba71dbc416, thread <20260303133409.11609-2-thomas.hellstrom@
 * linux.intel.com>): a two-pass interval notifier's first pass may hand back
 * one of these; the core links it on a local llist and calls
 * ->invalidate_finish with it after the tree walk, exactly once.
 */
struct llist_node {
	struct llist_node *next;
};

struct mmu_interval_notifier_finish {
	struct llist_node link;
	struct mmu_interval_notifier *notifier;
};

struct mmu_interval_notifier_ops {
	bool (*invalidate)(struct mmu_interval_notifier *interval_sub,
			   const struct mmu_notifier_range *range,
			   unsigned long cur_seq);
	/* v7.1: only the mainline port calls these two; *finish is NULL on entry */
	bool (*invalidate_start)(struct mmu_interval_notifier *interval_sub,
				 const struct mmu_notifier_range *range,
				 unsigned long cur_seq,
				 struct mmu_interval_notifier_finish **finish);
	void (*invalidate_finish)(struct mmu_interval_notifier_finish *finish);
};

/*
 * A subscription's driver context sits in the word just before its
 * struct mmu_notifier (and before its struct mmu_interval_notifier), so a
 * callback finds its driver with one load and no lookup.
 */
static inline void *mmn_notifier_ctx(const struct mmu_notifier *mn)
{
	return ((void *const *)(const void *)mn)[-1];
}

static inline void *
mmn_interval_notifier_ctx(const struct mmu_interval_notifier *ins)
{
	return ((void *const *)(const void *)ins)[-1];
}

static inline bool mmn_range_blockable(const struct mmu_notifier_range *r)
{
	return r->flags & MMU_NOTIFIER_RANGE_BLOCKABLE;
}

/* ------------------------------------------------------------------ */
/* RCU flavours and threads */

enum mmn_flavor {
	MMN_FLAVOR_MEMB = 0,
	MMN_FLAVOR_MB = 1,
	MMN_FLAVOR_QSBR = 2,
	MMN_FLAVOR_BP = 3,
	MMN_FLAVOR_COUNT = 4,
};

const char *mmn_flavor_name(int flavor);
/* 1 if liburcu's memb flavour found a working sys_membarrier(2). */
int mmn_sys_membarrier_works(void);
/* Path of the loaded liburcu-memb shared object, for `info`. */
const char *mmn_urcu_library_path(void);

/*
 * Name this thread for logs and lockdep reports (the kernel's comm).
 * RCU registration needs no call: the first read-side section registers
 * the thread with that flavour, and thread exit unregisters it.
 */
void mmn_task_set_comm(const char *comm);
int mmn_task_pid(void);
/* current->non_block_count: > 0 inside a non-blocking section. */
int mmn_task_non_block_count(void);
/*
 * qsbr: by default a thread is online only inside read-side sections.
 * A thread that loops over invalidations may stay online and report a
 * quiescent state at the end of each outermost section instead, which is
 * cheaper; it must then call mmn_rcu_thread_offline before blocking.
 */
void mmn_rcu_set_stay_online(int flavor, int stay_online);
void mmn_rcu_thread_offline(int flavor);
/*
 * Report every subscription freed while a reader that entered before its
 * unlink is still inside (harness/gp_check.c). Off by default; stress
 * turns it on. Once on, it stays on for the process.
 */
void mmn_gp_check_enable(void);
/* Unregister this thread from every flavour now (also done at exit). */
void mmn_rcu_unregister_thread(void);

/* Raw SRCU on one flavour, for tests of the RCU layer itself. */
void mmn_srcu_read_lock(int flavor);
void mmn_srcu_read_unlock(int flavor);
void mmn_synchronize_srcu(int flavor);
void mmn_srcu_barrier(int flavor);
/* Depth of this thread's read-side nesting (all flavours). */
int mmn_srcu_depth(void);

/* ------------------------------------------------------------------ */
/* Variants: the original core and each patched core, from patches/ */

unsigned mmn_variants_count(void);
const char *mmn_variant_id(unsigned variant);
const char *mmn_variant_summary(unsigned variant);
const char *mmn_variant_upstream(unsigned variant);
const char *mmn_variant_seed(unsigned variant);
const char *mmn_variant_patch(unsigned variant);
/* The base port: "v5.11" (port/original) or "mainline" (port/mainline). */
const char *mmn_variant_base(unsigned variant);

/* ------------------------------------------------------------------ */
/* The kernel log: pr_info, WARN, BUG, hung tasks, lockdep splats */

enum mmn_log_kind {
	MMN_LOG_INFO = 0,	/* pr_info */
	MMN_LOG_WARN = 1,	/* WARN_ON fired */
	MMN_LOG_BUG = 2,	/* BUG_ON hit */
	MMN_LOG_HUNG = 3,	/* a bounded wait expired */
	MMN_LOG_LOCKDEP = 4,	/* lock validator report */
	MMN_LOG_ERR = 5,	/* pr_err */
	MMN_LOG_KASAN = 6,	/* BUG: KASAN: use-after-free */
	/*
	 * might_sleep's "BUG: sleeping function called from invalid context":
	 * a non-fatal splat (___might_sleep prints it and carries on), not a
	 * BUG_ON.
	 */
	MMN_LOG_MIGHT_SLEEP = 7,
};

struct mmn_log_record {
	int kind;
	int pid;
	int cpu;
	unsigned long long seq;
	unsigned long long time_ns;	/* since the mm was created */
	const char *comm;
	const char *text;		/* valid while the mm lives */
	/* logged after a bounded wait expired: the run is tainted */
	bool tainted;
};

struct mmn_log_counts {
	unsigned long long info;
	unsigned long long warnings;
	unsigned long long bugs;
	unsigned long long hung;
	unsigned long long lockdep;
	unsigned long long errors;
	unsigned long long dropped;	/* records not kept (counted only) */
	unsigned long long use_after_free;	/* KASAN reports and repeats */
	unsigned long long might_sleep;	/* MMN_LOG_MIGHT_SLEEP splats */
	/* records of any kind logged after the run was tainted */
	unsigned long long after_taint;
};

unsigned long long mmn_log_count(const struct mm_struct *mm);
bool mmn_log_get(const struct mm_struct *mm, unsigned long long index,
		 struct mmn_log_record *out);
void mmn_log_get_counts(const struct mm_struct *mm, struct mmn_log_counts *out);
/*
 * Tainted: a bounded wait expired (a hung-task record), so what the run
 * did afterwards happened in a state the kernel, still waiting, never
 * reaches; like the kernel's taint flags, it stays set.
 */
bool mmn_log_tainted(const struct mm_struct *mm);
/* Drivers written in Swift report through the same log. */
void mmn_pr_info(struct mm_struct *mm, const char *text);
void mmn_warn(struct mm_struct *mm, const char *file, int line,
	      const char *func, const char *cond);
void mmn_bug(struct mm_struct *mm, const char *file, int line,
	     const char *func, const char *cond);

/* ------------------------------------------------------------------ */
/* The address space */

struct mmn_mm_config {
	unsigned variant;	/* index into the variant table */
	int flavor;		/* enum mmn_flavor */
	int pid;		/* the owner task, for OOM messages */
	const char *comm;
	unsigned hung_timeout_ms;	/* every bounded wait's deadline */
	bool lockdep;		/* run the lock validator */
	bool pseudo_lock_is_real;	/* the invalidate_range_start map excludes */
	unsigned long nr_vmas;	/* VMAs to create, for the OOM reaper */
	unsigned long vma_size;
	unsigned log_records;	/* records the log keeps (0: 20000, the most) */
	/* the variant's explore build (qsbr; only under the explorer) */
	bool explore;
};

struct mm_struct *mmn_mm_create(const struct mmn_mm_config *config);
/* Drop the creator's reference (mmdrop); frees once subscriptions are gone. */
void mmn_mm_drop(struct mm_struct *mm);
unsigned mmn_mm_variant(const struct mm_struct *mm);
int mmn_mm_flavor(const struct mm_struct *mm);
unsigned long mmn_mm_nr_vmas(const struct mm_struct *mm);
/* Where the VMA [vm_start, vm_end) of index i lies. */
unsigned long mmn_mm_vma_start(const struct mm_struct *mm, unsigned long i);
unsigned long mmn_mm_vma_end(const struct mm_struct *mm, unsigned long i);
/* VMAs whose pages the OOM reaper or munmap unmapped (unmap_page_range). */
unsigned long mmn_mm_reaped_vmas(const struct mm_struct *mm);
/* subscriptions->active_invalidate_ranges and ->invalidate_seq, read locked. */
unsigned long mmn_mm_active_invalidate_ranges(struct mm_struct *mm);
unsigned long mmn_mm_invalidate_seq(struct mm_struct *mm);
/* Number of subscriptions on the hlist right now. */
unsigned long mmn_mm_hlist_count(struct mm_struct *mm);

/*
 * Tracepoints the port emits, for tests and scenarios that force an
 * interleaving. Called synchronously on the thread that hit them.
 */
enum mmn_trace_event {
	MMN_TRACE_UNLINKED = 1,	/* hlist_del_init_rcu of a subscription */
	MMN_TRACE_FREED = 2,	/* a subscription was freed */
};
typedef void (*mmn_trace_fn)(void *arg, int event, const void *subscription);
void mmn_mm_set_trace(struct mm_struct *mm, mmn_trace_fn fn, void *arg);

/* ------------------------------------------------------------------ */
/* hlist subscriptions (struct mmu_notifier) */

struct mmn_subscription;

struct mmn_subscription_config {
	const struct mmu_notifier_ops *ops;	/* copied; NULL entries kept */
	void *ctx;				/* the driver */
	const char *symbol;	/* "kvm_mmu_notifier": %pS names its callbacks */
	bool ledger;		/* interpose the pairing ledger */
	/* Called once, after the last callback can run, to drop ctx. */
	void (*release_ctx)(void *ctx);
};

struct mmn_subscription *
mmn_subscription_create(struct mm_struct *mm,
			const struct mmn_subscription_config *config);
/* Only for a subscription that was never registered. */
void mmn_subscription_destroy(struct mmn_subscription *sub);
const struct mmu_notifier *
mmn_subscription_notifier(const struct mmn_subscription *sub);
/* The table the core calls through: one per distinct set of callbacks. */
const struct mmu_notifier_ops *
mmn_notifier_ops(const struct mmu_notifier *subscription);
unsigned long long mmn_subscription_id(const struct mmn_subscription *sub);
/*
 * A trampoline found its subscription freed (its context word is NULL):
 * counted and reported as a use after free; the driver is not called.
 */
void mmn_freed_callback(const struct mmu_notifier *mn, const char *callback);

/* mmu_notifier_register: takes mmap_lock for write, like the kernel. */
int mmn_register(struct mmn_subscription *sub);
/* mmu_notifier_unregister, then frees the subscription (poisoned). */
void mmn_unregister(struct mmn_subscription *sub);
/* mmu_notifier_put: the free happens after a grace period (call_srcu). */
void mmn_put(struct mmn_subscription *sub);
/*
 * mmu_notifier_get (v5.11): the mm's subscription with this driver's ops
 * (same callbacks, same ledger setting) gains a user, or config's becomes
 * a new one and is registered. Each get is paired with an mmn_put. On
 * error returns NULL with *err set (config's ctx is then released).
 * When an existing one is returned, config's ctx is released and the
 * driver to use is mmn_subscription_context() of the result.
 */
struct mmn_subscription *mmn_get(struct mm_struct *mm,
				 const struct mmn_subscription_config *config,
				 int *err);
void *mmn_subscription_context(const struct mmn_subscription *sub);
/* subscription->users: gets not yet put. */
unsigned mmn_subscription_users(const struct mmn_subscription *sub);
/* mmu_notifier_synchronize and srcu_barrier: wait for every deferred free. */
void mmn_notifier_synchronize(struct mm_struct *mm);
void mmn_notifier_barrier(struct mm_struct *mm);

/* ------------------------------------------------------------------ */
/* Interval subscriptions (struct mmu_interval_notifier) */

struct mmn_interval_sub;

struct mmn_interval_sub *
mmn_interval_sub_create(struct mm_struct *mm,
			const struct mmu_interval_notifier_ops *ops, void *ctx,
			const char *symbol, void (*release_ctx)(void *ctx));
/*
 * A v7.1 two-pass interval driver's passes, as the harness calls them. The
 * harness owns the struct mmu_interval_notifier_finish objects (a small
 * pool per interval subscription): the mainline core is handed one per
 * deferred start and calls ->invalidate_finish with it; the v5.11 core only
 * calls ->invalidate, which runs start and then finish back to back.
 */
enum mmn_interval_start_result {
	MMN_INTERVAL_START_REFUSED = 0,	/* would block: false */
	MMN_INTERVAL_START_DONE = 1,	/* true, *finish stays NULL */
	MMN_INTERVAL_START_DEFERRED = 2,	/* true, and a finish is owed */
};

struct mmn_interval_two_pass_ops {
	int (*invalidate_start)(struct mmu_interval_notifier *ins,
				const struct mmu_notifier_range *range,
				unsigned long cur_seq);
	void (*invalidate_finish)(struct mmu_interval_notifier *ins);
};

/* Finish objects per interval subscription; past them: WARN, finish now. */
#define MMN_FINISH_POOL 4

struct mmn_interval_sub *
mmn_interval_sub_create_two_pass(struct mm_struct *mm,
				 const struct mmn_interval_two_pass_ops *ops,
				 void *ctx, const char *symbol,
				 void (*release_ctx)(void *ctx));
int mmn_interval_insert(struct mmn_interval_sub *isub, unsigned long start,
			unsigned long length);
/* mmu_interval_notifier_remove (bounded wait), then frees. */
void mmn_interval_remove(struct mmn_interval_sub *isub);
struct mmu_interval_notifier *
mmn_interval_sub_notifier(struct mmn_interval_sub *isub);
/* mmu_interval_read_begin: returns the seq; a wait that expires is "hung". */
unsigned long mmn_interval_read_begin(struct mmu_interval_notifier *ins);
bool mmn_interval_read_retry(struct mmu_interval_notifier *ins,
			     unsigned long seq);
bool mmn_interval_check_retry(struct mmu_interval_notifier *ins,
			      unsigned long seq);
void mmn_interval_set_seq(struct mmu_interval_notifier *ins,
			  unsigned long cur_seq);

/* ------------------------------------------------------------------ */
/* Invalidations: the core's entry points, through the mm's variant */

void mmn_range_init(struct mmu_notifier_range *range, struct mm_struct *mm,
		    enum mmu_notifier_event event, unsigned long start,
		    unsigned long end);
/*
 * A caller's hold on mmap_lock for read (bounded; false if it timed out).
 * Kernel invalidations run under mmap_lock or the rmap locks that
 * mm_take_all_locks() takes, so a registration (write side) never lands
 * inside a start/end window; callers written outside the port take this.
 */
bool mmn_mmap_read_lock(struct mm_struct *mm);
void mmn_mmap_read_unlock(struct mm_struct *mm);

/* The range's invalidation is over: settle its ledger entries. */
void mmn_range_retire(struct mmu_notifier_range *range);

/* mmu_notifier_invalidate_range_start: void in the kernel; result dropped. */
void mmn_invalidate_range_start(struct mmu_notifier_range *range);
int mmn_invalidate_range_start_nonblock(struct mmu_notifier_range *range);
void mmn_invalidate_range_end(struct mmu_notifier_range *range);
void mmn_invalidate_range_only_end(struct mmu_notifier_range *range);
/* mmu_notifier_release: exit_mmap's teardown of every subscription. */
void mmn_notifier_release(struct mm_struct *mm);

/* ------------------------------------------------------------------ */
/* Callers, from mm/oom_kill.c and mm/mmap.c */

struct mmn_oom_result {
	bool reaped;			/* oom_reap_task() succeeded */
	unsigned attempts;		/* oom_reap_task_mm() calls */
};
/* oom_reap_task: up to MAX_OOM_REAP_RETRIES tries of the reaper. */
void mmn_oom_reap_task(struct mm_struct *mm, struct mmn_oom_result *out);
/* munmap of [start, end): blockable start, unmap, end, under mmap_lock. */
void mmn_munmap(struct mm_struct *mm, unsigned long start, unsigned long end);
/* exit_mmap: mmu_notifier_release, then the OOM victim's last reap. */
void mmn_exit_mmap(struct mm_struct *mm);

/* ------------------------------------------------------------------ */
/* The pairing ledger */

struct mmn_ledger_counts {
	unsigned long long starts;		/* start called */
	unsigned long long starts_failed;	/* start returned an error */
	unsigned long long ends;		/* end called */
	unsigned long long missing_ends;	/* ok start, no end nor release */
	unsigned long long ends_without_start;	/* end, no ok start */
	unsigned long long duplicate_ends;	/* second end for one start */
	unsigned long long closed_by_release;	/* open start closed by release */
	unsigned long long closed_by_removal;	/* open start, notifier removed */
	unsigned long long releases;		/* ->release calls */
	unsigned long long poison_seen;		/* callback on a freed notifier */
	/*
	 * Two-pass interval notifiers (v7.1): starts that deferred work (a
	 * finish object handed to the core, or run at once on the v5.11 base),
	 * finishes run, a finish for an object not outstanding, and objects
	 * still outstanding once their invalidation was over (or at removal).
	 */
	unsigned long long deferred_starts;
	unsigned long long finishes;
	unsigned long long duplicate_finishes;
	unsigned long long missing_finishes;
};

/* Totals over every subscription the mm ever had (settled ranges only). */
void mmn_ledger_totals(struct mm_struct *mm, struct mmn_ledger_counts *out);
/*
 * One interval subscription's counts, kept (and in the totals) after it is
 * removed: starts = ->invalidate calls, starts_failed = invalidates that
 * refused, ends = mn_itree_inv_end of the tree's half of those ranges,
 * missing_ends = ranges retired with that half never ended.
 */
void mmn_ledger_interval(struct mmn_interval_sub *isub,
			 struct mmn_ledger_counts *out);
/* One subscription's counts (while it is alive). */
void mmn_ledger_subscription(struct mmn_subscription *sub,
			     struct mmn_ledger_counts *out);

struct mmn_mm_stats {
	unsigned long long registrations;
	unsigned long long unregistrations;
	unsigned long long puts;
	unsigned long long frees;
	unsigned long long interval_inserts;
	unsigned long long interval_removes;
};
void mmn_mm_get_stats(struct mm_struct *mm, struct mmn_mm_stats *out);

/* ------------------------------------------------------------------ */
/* Locks and bounded waits that drivers (KVM, GRU) build on */

struct mmn_lock;	/* a spinlock, validated by lockdep when it is on */
struct mmn_lock *mmn_spinlock_create(struct mm_struct *mm, const char *name);
void mmn_spinlock_destroy(struct mmn_lock *lock);
void mmn_spin_lock(struct mmn_lock *lock, const char *site);
void mmn_spin_unlock(struct mmn_lock *lock, const char *site);

/*
 * A kernel rw_semaphore. fair: a reader queues behind a waiting writer,
 * as the kernel's does. Every acquisition is bounded: it returns false
 * (and logs a hung task with what it waits on) when the deadline passes.
 */
struct mmn_rwsem;
struct mmn_rwsem *mmn_rwsem_create(struct mm_struct *mm, const char *name,
				   bool fair);
void mmn_rwsem_destroy(struct mmn_rwsem *sem);
bool mmn_down_read(struct mmn_rwsem *sem, const char *site);
void mmn_up_read(struct mmn_rwsem *sem, const char *site);
bool mmn_down_write(struct mmn_rwsem *sem, const char *site);
void mmn_up_write(struct mmn_rwsem *sem, const char *site);
/* Writers queued right now (a forced interleaving waits for this). */
unsigned mmn_rwsem_waiting_writers(struct mmn_rwsem *sem);
unsigned mmn_rwsem_waiting_readers(struct mmn_rwsem *sem);

/* Lockdep maps a driver acquires by hand (e.g. a recursive-read count). */
struct mmn_lockdep_map;
struct mmn_lockdep_map *mmn_lockdep_map_create(struct mm_struct *mm,
					       const char *name);
void mmn_lockdep_map_destroy(struct mmn_lockdep_map *map);
/* read: 0 exclusive, 1 shared, 2 shared recursive (lockdep's kinds) */
void mmn_lockdep_map_acquire(struct mmn_lockdep_map *map, int read,
			     const char *site);
void mmn_lockdep_map_release(struct mmn_lockdep_map *map, const char *site);
/* Distinct cycles the validator reported in this mm. */
unsigned mmn_mm_lock_cycles(struct mm_struct *mm);
/* Distinct dependencies (A held while B taken) the validator recorded. */
unsigned mmn_mm_lock_edges(struct mm_struct *mm);

/* A wait queue with bounded waits (wait_event, rcuwait). */
struct mmn_waitqueue;
struct mmn_waitqueue *mmn_waitqueue_create(struct mm_struct *mm);
void mmn_waitqueue_destroy(struct mmn_waitqueue *wq);
/*
 * Sleep until cond(arg) is true. The condition is evaluated with the
 * queue's internal lock held, so a waker that changes the state and then
 * calls mmn_wake_up_all cannot be missed. Returns false, having logged
 * "INFO: task ... blocked", when the mm's hung timeout passes first.
 */
bool mmn_wait_event(struct mmn_waitqueue *wq, bool (*cond)(void *arg),
		    void *arg, const char *what);
void mmn_wake_up_all(struct mmn_waitqueue *wq);
/* Threads sleeping in mmn_wait_event on this queue right now. */
unsigned mmn_waitqueue_sleepers(struct mmn_waitqueue *wq);

/* ------------------------------------------------------------------ */
/* Benchmark loops, compiled per variant and flavour (no harness code in
 * the timed loop). All times from CLOCK_MONOTONIC. */

/* C no-op callbacks, for the C side of the comparison. */
const struct mmu_notifier_ops *mmn_bench_noop_ops(bool with_end);
const struct mmu_notifier_ops *mmn_bench_failing_ops(void);
/*
 * Lanes: every variant and flavour has one private copy of each timed loop
 * per lane. A list is timed in the lane of its kind, so that no indirect
 * call site is shared by lists whose callbacks differ (see core_table.h).
 */
enum mmn_bench_lane {
	MMN_BENCH_LANE_C = 0,
	MMN_BENCH_LANE_C_LEDGER = 1,
	MMN_BENCH_LANE_C_REFUSING = 2,
	MMN_BENCH_LANE_C_REFUSING_LEDGER = 3,
	MMN_BENCH_LANE_SWIFT = 4,
	MMN_BENCH_LANE_SWIFT_LEDGER = 5,
	MMN_BENCH_LANE_SWIFT_REFUSING = 6,
	MMN_BENCH_LANE_SWIFT_REFUSING_LEDGER = 7,
	MMN_BENCH_LANES = 8
};
/* Copies of each lane's loops, at different code addresses. */
enum mmn_bench_copies { MMN_BENCH_COPIES = 4 };
/* iterations x (start_nonblock + end, or start_nonblock and no end when the
 * start fails, as the OOM reaper does); returns elapsed nanoseconds. The
 * loop runs in copy (copy % MMN_BENCH_COPIES) of the lane; an out-of-range
 * lane is treated as MMN_BENCH_LANE_C. */
unsigned long long mmn_bench_core(struct mm_struct *mm, unsigned long iterations,
				  bool retire_ranges, unsigned lane, unsigned copy);
/* The floor: the same nodes, the same indirect calls, no RCU, no checks. */
unsigned long long mmn_bench_floor(struct mm_struct *mm, unsigned long iterations,
				   unsigned lane, unsigned copy);
/*
 * mmn_bench_core with original's core built without CONFIG_DEBUG_ATOMIC_SLEEP
 * (no non_block_start/end), of mm's flavour, over mm's list; ranges are not
 * retired, so the list must not carry the ledger.
 */
unsigned long long mmn_bench_core_no_debug_atomic_sleep(struct mm_struct *mm,
							unsigned long iterations,
							unsigned lane,
							unsigned copy);
/* 1 in an AddressSanitizer or ThreadSanitizer build (valgrind runs neither). */
int mmn_sanitized_build(void);
/* Pin this thread to one CPU; returns 0 or an errno. */
int mmn_pin_thread(int cpu);
unsigned long long mmn_now_ns(void);
/*
 * Return freed memory to one contiguous free region (malloc_trim), so the
 * next lists are carved from fresh, contiguous memory: without it, a list
 * built from the bins' leftovers is scattered and slower than its twins.
 */
void mmn_bench_compact_heap(void);
/*
 * Call fn(arg) with the stack moved down by `bytes` (up to 64 KiB): a
 * placement of the timed loop's stack frames, so that 4 KiB aliasing
 * between their stores (return addresses, counters) and the nodes' loads
 * is a random draw per placement, not one fixed for the whole process.
 */
void mmn_bench_with_stack_offset(unsigned long bytes, void (*fn)(void *arg),
				 void *arg);

/* ------------------------------------------------------------------ */
/* Test hooks */

enum {
	MMN_HLIST_RULE_UNKNOWN = 0,
	MMN_HLIST_RULE_NEWEST_FIRST = 1,	/* hlist_add_head_rcu (v5.11) */
	MMN_HLIST_RULE_ASCENDING_ADDRESS = 2,	/* sorted by notifier address */
};
/* Run the variant's own registration and traversal on three probes whose
 * address order is known, and say which rule its hlist follows. */
int mmn_hlist_rule(unsigned variant, int flavor);

/*
 * Poison a live subscription as a free would, without freeing it: the
 * positive control for the poison check (a reader that reaches it must be
 * counted in poison_seen). Only for subscriptions registered with the ledger.
 */
void mmn_debug_poison(struct mmn_subscription *sub);
/*
 * Move mm_count by delta without the free an mmdrop to 0 does: the
 * positive control for mmu_notifier_unregister's BUG_ON(mm_count <= 0).
 * The caller must restore it before the mm is dropped.
 */
void mmn_debug_mm_count_add(struct mm_struct *mm, int delta);

/* ------------------------------------------------------------------ */
/* Self tests of C components (return 0 on success) */
int mmn_selftest_interval_tree(unsigned int seed, unsigned int nodes,
			       unsigned int queries);
int mmn_selftest_lockdep(void);

#ifdef __cplusplus
}
#endif
#endif /* MMN_HARNESS_H */
