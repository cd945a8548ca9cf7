/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * custom.h - kernel facilities reimplemented with effects tests can see.
 *
 * WARN_ON, BUG_ON and pr_info go to the mm's log; non_block_start/end keep
 * the per-task counter; spinlocks and the pseudo-lock report to the lock
 * validator; every wait that can hang in the kernel is bounded and, when
 * its deadline passes, logs a hung task and returns instead of sleeping
 * forever.
 */
#ifndef MMN_KERNEL_CUSTOM_H
#define MMN_KERNEL_CUSTOM_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/arch.h>
#include <urcu/system.h>
#include "dup.h"
#include "../harness/lockdep.h"
#include "../explore/explore.h"

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

/* ---- current: one task per OS thread ---- */

struct task_struct {
	int pid;
	int non_block_count;	/* CONFIG_DEBUG_ATOMIC_SLEEP's counter */
	int srcu_depth;		/* read-side nesting, all flavours */
	unsigned rcu_registered;	/* one bit per flavour */
	unsigned qsbr_stay_online;
	unsigned thread_index;
	unsigned long long range_seq;
	struct mm_struct *mmn_mm;	/* the mm this harness call works on */
	struct mmn_gp_slot *gp_slot;	/* the grace-period check's (gp_check.c) */
	char comm[16];
};

extern __thread struct task_struct mmn_current_task
	__attribute__((tls_model("initial-exec")));

static inline struct task_struct *get_current(void)
{
	return &mmn_current_task;
}
#define current get_current()

int mmn_task_pid_slow(void);
static inline int task_pid_nr(struct task_struct *t)
{
	return t->pid ? t->pid : mmn_task_pid_slow();
}
const char *mmn_task_comm(void);

/*
 * Entry points set current->mmn_mm so that a WARN deep in the port lands
 * in the log of the mm being worked on; they restore it on the way out,
 * since a callback may re-enter the harness for another mm.
 */
static inline struct mm_struct *mmn_enter(struct mm_struct *mm)
{
	struct mm_struct *prev = current->mmn_mm;

	current->mmn_mm = mm;
	return prev;
}

static inline void mmn_leave(struct mm_struct *prev)
{
	current->mmn_mm = prev;
}

/* ---- the grace-period check (harness/gp_check.c) ---- */

extern bool mmn_gp_check_on;
void mmn_gp_reader_enter_slow(struct task_struct *t, int flavor);
void mmn_gp_reader_exit_slow(struct task_struct *t, int flavor);
static inline void mmn_gp_reader_enter(struct task_struct *t, int flavor)
{
	if (unlikely(__atomic_load_n(&mmn_gp_check_on, __ATOMIC_RELAXED)))
		mmn_gp_reader_enter_slow(t, flavor);
}
static inline void mmn_gp_reader_exit(struct task_struct *t, int flavor)
{
	if (unlikely(t->gp_slot != NULL))
		mmn_gp_reader_exit_slow(t, flavor);
}

/* ---- the log ---- */

void mmn_log_printf(struct mm_struct *mm, int kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void __mmn_warn(const char *file, int line, const char *func,
		const char *cond);
void __mmn_bug(const char *file, int line, const char *func,
	       const char *cond);

/*
 * The port's printk: printf plus the kernel's %pS (see mmn_ksym below),
 * which needs the subscription whose callback the pointer is:
 * MMN_KSYM_SUBSCRIPTION names it where a port file says so, else NULL.
 */
void mmn_log_printk(struct mm_struct *mm, int kind,
		    const struct mmu_notifier *subscription, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define MMN_KSYM_SUBSCRIPTION NULL
#define pr_info(fmt, ...)						\
	mmn_log_printk(current->mmn_mm, MMN_LOG_INFO,			\
		       MMN_KSYM_SUBSCRIPTION, fmt, ##__VA_ARGS__)
#define pr_err(fmt, ...)						\
	mmn_log_printk(current->mmn_mm, MMN_LOG_ERR,			\
		       MMN_KSYM_SUBSCRIPTION, fmt, ##__VA_ARGS__)

#define WARN_ON(condition) ({						\
	int __ret_warn_on = !!(condition);				\
	if (unlikely(__ret_warn_on))					\
		__mmn_warn(__FILE__, __LINE__, __func__, #condition);	\
	unlikely(__ret_warn_on);					\
})

#define BUG_ON(condition) do {						\
	if (unlikely(condition))					\
		__mmn_bug(__FILE__, __LINE__, __func__, #condition);	\
} while (0)

/*
 * %pS: the kernel prints the callback's symbol. Every Swift driver shares
 * one trampoline, so the harness names the callback from the
 * subscription's symbol and the ops slot the pointer came from; the port's
 * pr_info hands it the subscription in scope (MMN_KSYM_SUBSCRIPTION).
 */
const char *mmn_ksym(const struct mmu_notifier *subscription, const void *fn);

/* ---- non_block_start/end and might_sleep (include/linux/kernel.h) ---- */

/*
 * On, as in every unit but the benchmark's reference copy of original
 * (port/config), which is built the way production kernels usually are:
 * without the counter, so a run can measure what the accounting costs.
 * The kernel has gated both on this option since "kernel.h: Add
 * non_block_start/end()" (v5.4).
 */
#ifndef CONFIG_DEBUG_ATOMIC_SLEEP
#define CONFIG_DEBUG_ATOMIC_SLEEP 1
#endif

void __mmn_might_sleep(const char *file, int line, const char *func);

#if CONFIG_DEBUG_ATOMIC_SLEEP
static inline void non_block_start(void)
{
	current->non_block_count++;
}

#define non_block_end() WARN_ON(current->non_block_count-- == 0)

#define might_sleep() do {						\
	if (unlikely(current->non_block_count))				\
		__mmn_might_sleep(__FILE__, __LINE__, __func__);	\
} while (0)
#else
#define non_block_start() do { } while (0)
#define non_block_end() do { } while (0)
#define might_sleep() do { } while (0)
#endif

/* ---- spinlocks: a mutex, validated by lockdep ---- */

typedef struct spinlock {
	pthread_mutex_t m;
	struct lockdep_map dep_map;
	void *xp_owner;		/* explore: the scheduler's owner, not m */
} spinlock_t;

struct mmn_lockdep *mmn_current_lockdep(void);

/* Lockdep names the class after the init expression, as the kernel does. */
#define spin_lock_init(lock) mmn_spin_lock_init((lock), #lock)
static inline void mmn_spin_lock_init(spinlock_t *lock, const char *name)
{
	pthread_mutex_init(&lock->m, NULL);
	lockdep_init_map(&lock->dep_map, name, mmn_current_lockdep());
}

#define spin_lock(lock) mmn_spin_lock_site((lock), __func__)
#define spin_unlock(lock) mmn_spin_unlock_site((lock), __func__)
/* Under the explorer a spinlock is the scheduler's (explore/explore.h). */
static inline void mmn_spin_lock_site(spinlock_t *lock, const char *site)
{
	mmn_lock_acquire(&lock->dep_map, MMN_LOCKDEP_WRITE, 0, site);
	if (mmn_xp_active())
		mmn_xp_spin_lock(&lock->xp_owner, lock, lock->dep_map.name,
				 site);
	else
		pthread_mutex_lock(&lock->m);
}

static inline void mmn_spin_unlock_site(spinlock_t *lock, const char *site)
{
	if (mmn_xp_active())
		mmn_xp_spin_unlock(&lock->xp_owner, lock, lock->dep_map.name,
				   site);
	else
		pthread_mutex_unlock(&lock->m);
	mmn_lock_release(&lock->dep_map, site);
}

/* ---- the pseudo-lock "mmu_notifier_invalidate_range_start" ---- */

/*
 * In the kernel a lockdep_map only (one global map). The harness keeps one
 * per mm, so parallel runs keep separate graphs, and can make it a real
 * exclusive lock to show the deadlock lockdep predicts.
 */
struct mmn_pseudo_lock {
	struct lockdep_map map;
	bool real;
	pthread_mutex_t m;
	pthread_cond_t cond;
	int owner_pid;		/* 0 when free */
	char owner_comm[16];
};

/* __mmu_notifier_invalidate_range_start_map: see harness/internal.h */

void mmn_pseudo_lock_acquire_slow(struct mmn_pseudo_lock *p, const char *site);
void mmn_pseudo_lock_release_slow(struct mmn_pseudo_lock *p);

#define lock_map_acquire(map) mmn_lock_map_acquire((map), __func__)
#define lock_map_release(map) mmn_lock_map_release((map), __func__)
static inline void mmn_lock_map_acquire(struct lockdep_map *map,
					const char *site)
{
	struct mmn_pseudo_lock *p =
		container_of(map, struct mmn_pseudo_lock, map);

	mmn_lock_acquire(map, MMN_LOCKDEP_WRITE, 0, site);
	if (unlikely(p->real))
		mmn_pseudo_lock_acquire_slow(p, site);
}

static inline void mmn_lock_map_release(struct lockdep_map *map,
					const char *site)
{
	struct mmn_pseudo_lock *p =
		container_of(map, struct mmn_pseudo_lock, map);

	if (unlikely(p->real))
		mmn_pseudo_lock_release_slow(p);
	mmn_lock_release(map, site);
}

/* ---- wait queues with bounded waits ---- */

typedef struct wait_queue_head {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned sleepers;
} wait_queue_head_t;

void init_waitqueue_head(wait_queue_head_t *wq);
void wake_up_all(wait_queue_head_t *wq);

struct mmn_wait {
	unsigned long long deadline_ns;
	bool timed_out;
};
void mmn_wait_begin(wait_queue_head_t *wq, struct mmn_wait *w);
bool mmn_wait_step(wait_queue_head_t *wq, struct mmn_wait *w,
		   const char *func, const char *what);
void mmn_wait_end(wait_queue_head_t *wq, struct mmn_wait *w);

/*
 * The condition is tested with the queue's lock held and the waker takes
 * that lock to wake, so no wake-up is lost; the wait gives up (and logs a
 * hung task) at the mm's deadline instead of sleeping forever.
 */
#define wait_event(wq_head, condition) do {				\
	struct mmn_wait __w;						\
	might_sleep();							\
	if (MMN_XP_ON()) {						\
		/* explore: armed before the test, as prepare_to_wait is */	\
		bool __ok = true;					\
		MMN_XP_POINT(MMN_XP_WAIT_EVENT, #wq_head, 0);		\
		for (;;) {						\
			mmn_xp_prepare_wait(&(wq_head));		\
			if (condition)					\
				break;					\
			if (!mmn_xp_wait_armed(&(wq_head), #condition,	\
					       __func__)) {		\
				__ok = false;				\
				break;					\
			}						\
		}							\
		mmn_xp_finish_wait();					\
		if (!__ok)						\
			mmn_log_hung(current->mmn_mm, 0,		\
				     "wait_event(" #condition ")", NULL);	\
		break;							\
	}								\
	if (condition)							\
		break;							\
	mmn_wait_begin(&(wq_head), &__w);				\
	while (!(condition))						\
		if (!mmn_wait_step(&(wq_head), &__w, __func__,		\
				   #condition))				\
			break;						\
	mmn_wait_end(&(wq_head), &__w);					\
} while (0)

/* ---- mm lifetime (kernel/fork.c) ---- */

void mmgrab(struct mm_struct *mm);
void mmdrop(struct mm_struct *mm);
/* explore: the count is shared; the last drop frees (dependent with all) */
#define mmgrab(mm) (MMN_XP_NOTE("mm->mm_count", true), (mmgrab)(mm))
#define mmdrop(mm) (MMN_XP_NOTE_OBJECT("mm", NULL, true), (mmdrop)(mm))

/* ---- allocation: kzalloc/kfree on calloc/free ---- */

#define kzalloc(size, gfp) calloc(1, (size))
#define kfree(p) free(p)

/* ---- tracepoints the harness adds (not in the kernel) ---- */

void mmn_trace(struct mm_struct *mm, int event, const void *subscription);
/*
 * Called under the subscriptions lock just before hlist_del_init_rcu: the
 * ledger must know a subscription is going before any reader can walk past
 * the unlinked node, or a range that started it and then missed it in its
 * end walk is settled as a missing end in between.
 */
void mmn_ledger_unlinking(const struct mmu_notifier *subscription);

#endif /* MMN_KERNEL_CUSTOM_H */
