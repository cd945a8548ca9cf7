/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * srcu.h - the kernel's SRCU API mapped onto one liburcu flavour.
 *
 * Included by a translation unit after rcu/flavor_<name>.h, so the read
 * side compiles inline against that flavour (_LGPL_SOURCE) and the hot
 * loop never calls through a table. The mapping (see README):
 *   - every srcu_struct (the core's global `srcu`, KVM's kvm->srcu) maps
 *     onto the flavour's single grace-period domain;
 *   - srcu_read_lock/unlock -> rcu_read_lock/unlock (readers may block);
 *   - synchronize_srcu -> synchronize_rcu; call_srcu -> call_rcu;
 *     srcu_barrier -> rcu_barrier.
 * Because the domain is shared, a grace period waits for readers of every
 * srcu_struct, and synchronize_srcu inside any read-side section would
 * wait for itself: the harness reports that as a BUG instead of hanging.
 */
#ifndef MMN_KERNEL_SRCU_H
#define MMN_KERNEL_SRCU_H

#ifndef MMN_FLAVOR
#error "include an rcu/flavor_<name>.h first"
#endif

#include "../harness/internal.h"

_Static_assert(MMN_FLAVOR_ID == MMN_FLAVOR_MEMB ||
	       MMN_FLAVOR_ID == MMN_FLAVOR_MB ||
	       MMN_FLAVOR_ID == MMN_FLAVOR_QSBR ||
	       MMN_FLAVOR_ID == MMN_FLAVOR_BP, "flavour ids");

#define MMN_PASTE3_(a, b, c) a##b##c
#define MMN_PASTE3(a, b, c) MMN_PASTE3_(a, b, c)
/* MMN_URCU(read_lock) -> urcu_memb_read_lock, inline under _LGPL_SOURCE */
#define MMN_URCU(op) MMN_PASTE3(urcu_, MMN_FLAVOR, _##op)
#define MMN_STRINGIFY_(x) #x
#define MMN_STRINGIFY(x) MMN_STRINGIFY_(x)

struct srcu_struct {
	int unused;
};
#define DEFINE_STATIC_SRCU(name) static struct srcu_struct name

static inline int srcu_read_lock(struct srcu_struct *ssp)
{
	struct task_struct *t = current;

	(void)ssp;
	if (MMN_XP_ON())
		mmn_xp_srcu_read_lock("srcu_read_lock");
	if (unlikely(!(t->rcu_registered & (1u << MMN_FLAVOR_ID))))
		mmn_rcu_register_current(MMN_FLAVOR_ID);
#if MMN_FLAVOR_ID == 2 /* qsbr */
	if (t->srcu_depth == 0 && !t->qsbr_stay_online)
		MMN_URCU(thread_online)();
#endif
	MMN_URCU(read_lock)();
	if (t->srcu_depth++ == 0)
		mmn_gp_reader_enter(t, MMN_FLAVOR_ID);
	return 0;
}

static inline void srcu_read_unlock(struct srcu_struct *ssp, int idx)
{
	struct task_struct *t = current;

	(void)ssp;
	(void)idx;
	mmn_tsan_reader_done();
	if (t->srcu_depth == 1)
		mmn_gp_reader_exit(t, MMN_FLAVOR_ID);
	MMN_URCU(read_unlock)();
	t->srcu_depth--;
#if MMN_FLAVOR_ID == 2 /* qsbr */
	/* qsbr: grace periods end only when each online reader says so. */
	if (t->srcu_depth == 0) {
		if (t->qsbr_stay_online)
			MMN_URCU(quiescent_state)();
		else
			MMN_URCU(thread_offline)();
	}
#endif
	if (MMN_XP_ON())
		mmn_xp_srcu_read_unlock("srcu_read_unlock");
}

static inline bool srcu_read_lock_held(const struct srcu_struct *ssp)
{
	(void)ssp;
	return current->srcu_depth > 0;
}

/*
 * Explore: the scheduler decides when the grace period has passed (the
 * readers it must wait for have left); liburcu's call is then made and,
 * with every switched-out reader offline, returns (explore/sched.c).
 * call_srcu's callback is run by the scheduler's SRCU worker.
 */
static inline void synchronize_srcu(struct srcu_struct *ssp)
{
	(void)ssp;
	if (MMN_XP_ON())
		mmn_xp_synchronize_srcu("synchronize_srcu");
	mmn_synchronize_srcu_flavor(MMN_FLAVOR_ID);
}

static inline void call_srcu(struct srcu_struct *ssp, struct rcu_head *head,
			     void (*func)(struct rcu_head *head))
{
	(void)ssp;
	mmn_gp_queued_for_callback(head);
	if (MMN_XP_ON())
		mmn_xp_call_srcu(head, func, "call_srcu");
	else
		mmn_call_srcu_flavor(MMN_FLAVOR_ID, head, func);
}

static inline void srcu_barrier(struct srcu_struct *ssp)
{
	(void)ssp;
	if (MMN_XP_ON())
		mmn_xp_srcu_barrier("srcu_barrier");
	mmn_srcu_barrier_flavor(MMN_FLAVOR_ID);
}

#endif /* MMN_KERNEL_SRCU_H */
