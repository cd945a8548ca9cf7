/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * explore.h - the scheduling points the explore build compiles into the
 * port, and the controlled scheduler's hooks that the harness's own locks
 * and waits call at run time.
 *
 * The port's units are built twice: as the timed/compare/stress cores,
 * where every MMN_XP_* macro below is empty, and once more per variant as
 * its explore core (port/build/<variant>__explore.c defines MMN_EXPLORE),
 * where each macro hands control to the scheduler (explore/sched.c). There
 * exactly one controlled thread runs at a time and the scheduler picks who
 * runs next at every point, as in CHESS, loom and shuttle.
 *
 * The harness's shared C (locks, rwsem, wait queues, the ledger) is
 * compiled once; it asks mmn_xp_active() at run time, which is one
 * thread-local load on a thread the explorer does not control.
 */
#ifndef MMN_EXPLORE_EXPLORE_H
#define MMN_EXPLORE_EXPLORE_H

#include <stdbool.h>
#include <stddef.h>

struct rcu_head;

/* What a thread is doing at a point; names are in sched.c. */
enum mmn_xp_kind {
	MMN_XP_START = 0,	/* the thread's first step */
	MMN_XP_SRCU_READ_LOCK,
	MMN_XP_SRCU_READ_UNLOCK,
	MMN_XP_HLIST_LOAD,	/* rcu_dereference of a next pointer */
	MMN_XP_HLIST_ADD,	/* hlist_add_head_rcu and friends */
	MMN_XP_HLIST_DEL,	/* hlist_del_init_rcu */
	MMN_XP_CALLBACK,	/* before an ops callback */
	MMN_XP_RETURNED,	/* after it */
	MMN_XP_SPIN_LOCK,
	MMN_XP_SPIN_UNLOCK,
	MMN_XP_WRITE_ONCE,	/* a shared store, e.g. invalidate_seq */
	MMN_XP_WAIT_EVENT,	/* wait_event: before the condition */
	MMN_XP_WAKE_UP,
	MMN_XP_SYNCHRONIZE_SRCU,
	MMN_XP_CALL_SRCU,
	MMN_XP_SRCU_BARRIER,
	MMN_XP_SRCU_CALLBACK,	/* a call_srcu callback runs */
	MMN_XP_RWSEM_DOWN_READ,
	MMN_XP_RWSEM_DOWN_WRITE,
	MMN_XP_RWSEM_TRYLOCK,
	MMN_XP_RWSEM_UP,
	MMN_XP_DRIVER,		/* a driver's own step (Swift) */
	MMN_XP_FREE,		/* an object goes to the quarantine */
	MMN_XP_BLOCK,		/* not runnable until woken */
	MMN_XP_DONE,
	MMN_XP_KIND_COUNT
};

/* Is this thread under the scheduler's control? */
extern __thread void *mmn_xp_self __attribute__((tls_model("initial-exec")));
static inline bool mmn_xp_active(void)
{
	return __builtin_expect(mmn_xp_self != NULL, 0);
}

/*
 * A scheduling point: the scheduler may run another thread here. obj names
 * what is touched (a subscription, a lock); value is shown in the trace.
 */
void mmn_xp_point(int kind, const void *obj, long value, const char *func);
/*
 * Not runnable until mmn_xp_wake(obj). Returns false, without blocking, once
 * the execution is being wound down after a deadlock: the caller then takes
 * the path its bounded wait takes when the deadline passes.
 */
bool mmn_xp_block(int kind, const void *obj, const char *what,
		  const char *func);
void mmn_xp_wake(const void *obj);
/*
 * wait_event as the kernel does it: prepare_to_wait (armed on obj) before
 * the condition is tested, so a wake-up while the condition runs (it may
 * take locks, i.e. reach points) is not lost; then wait unless woken
 * meanwhile. wait returns false when the execution is winding down.
 */
void mmn_xp_prepare_wait(const void *obj);
bool mmn_xp_wait_armed(const void *obj, const char *what, const char *func);
void mmn_xp_finish_wait(void);

/*
 * Spinlocks: ownership kept by the scheduler, never a real mutex (a real
 * one would block a thread for real while its holder waits for a turn).
 * name is lockdep's class name, for the trace.
 */
void mmn_xp_spin_lock(void **owner, const void *lock, const char *name,
		      const char *func);
void mmn_xp_spin_unlock(void **owner, const void *lock, const char *name,
			const char *func);

/*
 * Kinds whose obj is a C string to print (a lock's name, an expression),
 * not an object's address to look up.
 */
static inline bool mmn_xp_kind_names_obj(int kind)
{
	switch (kind) {
	case MMN_XP_SPIN_LOCK:
	case MMN_XP_SPIN_UNLOCK:
	case MMN_XP_WRITE_ONCE:
	case MMN_XP_WAIT_EVENT:
	case MMN_XP_WAKE_UP:
	case MMN_XP_RWSEM_DOWN_READ:
	case MMN_XP_RWSEM_DOWN_WRITE:
	case MMN_XP_RWSEM_TRYLOCK:
	case MMN_XP_RWSEM_UP:
	case MMN_XP_DRIVER:
	case MMN_XP_BLOCK:
		return true;
	default:
		return false;
	}
}

/* SRCU as the scheduler models it (readers tracked per thread). */
void mmn_xp_srcu_read_lock(const char *func);
void mmn_xp_srcu_read_unlock(const char *func);
/* Blocks until every reader that began before it has left. */
void mmn_xp_synchronize_srcu(const char *func);
/* The callback becomes schedulable work once its grace period passed. */
void mmn_xp_call_srcu(struct rcu_head *head, void (*fn)(struct rcu_head *),
		      const char *func);
void mmn_xp_srcu_barrier(const char *func);

/*
 * KASAN-style check of an access the harness controls: if addr lies in a
 * quarantined (freed) object, report a use after free. True if it did.
 */
bool mmn_xp_check_access(const void *addr, size_t size, bool write,
			 const char *func);

/*
 * Partial-order reduction (sched.c, "sleep sets"): what the running
 * thread's current step touches, by name. A step is everything a thread
 * runs between two scheduling points; the scheduler already knows what
 * the points themselves do (a lock, the SRCU domain, the hlist), and the
 * port's lockless accesses say it here: READ_ONCE, smp_load_acquire and
 * smp_store_release note their expression (WRITE_ONCE is a point, which
 * says the same). The object is the expression's last field name
 * ("subscriptions->invalidate_seq" is "invalidate_seq"): two accesses
 * with the same field name in different structs are taken to conflict,
 * which is only conservative. An expression that does not end in a field
 * name ("*pprev", "a[i]") makes the step dependent with every step.
 */
void mmn_xp_note(const char *expr, bool write);
/* hlist_unhashed / hlist_empty: a lockless read of the list. */
void mmn_xp_note_hlist_read(void);
/*
 * The harness's own shared state outside a point (an rwsem's downgrade,
 * a waiter count): object `name` in namespace `space` ("rwsem", ...).
 * NULL name: the step is dependent with every step.
 */
void mmn_xp_note_object(const char *space, const char *name, bool write);

/* ---- the macros the port's headers use ---- */

/* Expressions, so they can stand inside the list macros' for clauses. */
#if defined(MMN_EXPLORE) && MMN_EXPLORE
#define MMN_XP_ON() mmn_xp_active()
#define MMN_XP_POINT(kind, obj, value)					\
	(mmn_xp_active() ?						\
		 mmn_xp_point((kind), (obj), (long)(value), __func__) :	\
		 (void)0)
#define MMN_XP_CHECK(addr, size, write)					\
	(mmn_xp_active() ?						\
		 (void)mmn_xp_check_access((addr), (size), (write),	\
					   __func__) :			\
		 (void)0)
#define MMN_XP_NOTE(expr, write)					\
	(mmn_xp_active() ? mmn_xp_note((expr), (write)) : (void)0)
#define MMN_XP_NOTE_HLIST_READ()					\
	(mmn_xp_active() ? mmn_xp_note_hlist_read() : (void)0)
#define MMN_XP_NOTE_OBJECT(space, name, write)				\
	(mmn_xp_active() ? mmn_xp_note_object((space), (name), (write)) :	\
			   (void)0)
#else
#define MMN_XP_ON() 0
#define MMN_XP_POINT(kind, obj, value) ((void)0)
#define MMN_XP_CHECK(addr, size, write) ((void)0)
#define MMN_XP_NOTE(expr, write) ((void)0)
#define MMN_XP_NOTE_HLIST_READ() ((void)0)
#define MMN_XP_NOTE_OBJECT(space, name, write) ((void)0)
#endif

#endif /* MMN_EXPLORE_EXPLORE_H */
