/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hlist_rcu.h - the kernel's hlist with pprev, RCU-safe, on liburcu's
 * publication primitives.
 *
 * liburcu's cds_hlist has next/prev and no del_init, but
 * mmu_notifier_unregister() depends on hlist_del_init_rcu() and
 * hlist_unhashed(): a subscription deleted by __mmu_notifier_release must
 * read as unhashed so unregister does not delete it twice. The semantics
 * follow include/linux/rculist.h and include/linux/list.h (v5.11).
 */
#ifndef MMN_KERNEL_HLIST_RCU_H
#define MMN_KERNEL_HLIST_RCU_H

#include <stddef.h>
#include <urcu/pointer.h>
#include <urcu/system.h>
#include <urcu/compiler.h>
#include "tsan.h"
#include "../explore/explore.h"

struct hlist_node {
	struct hlist_node *next;
	struct hlist_node **pprev;
};

struct hlist_head {
	struct hlist_node *first;
};

#define HLIST_HEAD_INIT		{ .first = NULL }
#define INIT_HLIST_HEAD(ptr)	((ptr)->first = NULL)

#ifndef container_of
#define container_of(ptr, type, member) caa_container_of(ptr, type, member)
#endif
#define hlist_entry(ptr, type, member) container_of(ptr, type, member)
#define hlist_entry_safe(ptr, type, member)				\
	({ __typeof__(ptr) ____ptr = (ptr);				\
	   ____ptr ? hlist_entry(____ptr, type, member) : NULL; })

static inline void INIT_HLIST_NODE(struct hlist_node *h)
{
	h->next = NULL;
	h->pprev = NULL;
}

/* A node is "unhashed" when it is on no list: pprev is cleared on del_init. */
static inline int hlist_unhashed(const struct hlist_node *h)
{
	MMN_XP_NOTE_HLIST_READ();
	return !MMN_LOAD_SHARED(h->pprev);
}

static inline int hlist_empty(const struct hlist_head *h)
{
	MMN_XP_NOTE_HLIST_READ();
	return !MMN_LOAD_SHARED(h->first);
}

/* Publish n at the head: readers see either the old or the new first. */
static inline void __hlist_add_head_rcu(struct hlist_node *n,
				      struct hlist_head *h)
{
	struct hlist_node *first = h->first;

	n->next = first;
	MMN_STORE_SHARED(n->pprev, &h->first);
	rcu_assign_pointer(h->first, n);
	if (first)
		MMN_STORE_SHARED(first->pprev, &n->next);
}

/* Insert n before next (used by the sorted-hlist variant). */
static inline void __hlist_add_before_rcu(struct hlist_node *n,
					struct hlist_node *next)
{
	MMN_STORE_SHARED(n->pprev, next->pprev);
	n->next = next;
	rcu_assign_pointer(*n->pprev, n);
	MMN_STORE_SHARED(next->pprev, &n->next);
}

/* Insert n after prev (used by the sorted-hlist variant). */
static inline void __hlist_add_behind_rcu(struct hlist_node *n,
					struct hlist_node *prev)
{
	n->next = prev->next;
	MMN_STORE_SHARED(n->pprev, &prev->next);
	rcu_assign_pointer(prev->next, n);
	if (n->next)
		MMN_STORE_SHARED(n->next->pprev, &n->next);
}

/*
 * The pprev stores are WRITE_ONCE in the kernel (v5.11 rculist.h/list.h):
 * hlist_unhashed() reads pprev without the list's lock.
 *
 * Unlink n but keep n->next intact, so a reader standing on n still
 * reaches the rest of the list; pprev is cleared so n reads as unhashed.
 */
static inline void __hlist_del_init_rcu(struct hlist_node *n)
{
	if (!hlist_unhashed(n)) {
		struct hlist_node *next = n->next;
		struct hlist_node **pprev = n->pprev;

		MMN_STORE_SHARED(*pprev, next);
		if (next)
			MMN_STORE_SHARED(next->pprev, pprev);
		MMN_STORE_SHARED(n->pprev, NULL);
	}
}

/* Non-RCU unlink for lists only the lock holder walks (the deferred list). */
static inline void __hlist_del(struct hlist_node *n)
{
	struct hlist_node *next = n->next;
	struct hlist_node **pprev = n->pprev;

	*pprev = next;
	if (next)
		next->pprev = pprev;
	n->next = NULL;
	n->pprev = NULL;
}

static inline void __hlist_add_head(struct hlist_node *n, struct hlist_head *h)
{
	struct hlist_node *first = h->first;

	n->next = first;
	if (first)
		first->pprev = &n->next;
	h->first = n;
	n->pprev = &h->first;
}

/*
 * Explore: every list change is a scheduling point, and every node the
 * harness's lists touch is checked against the quarantine (KASAN): a
 * freed node that is still linked or still walked is reported.
 */
#define hlist_add_head_rcu(n, h)					\
	(MMN_XP_POINT(MMN_XP_HLIST_ADD, (n), 0),			\
	 MMN_XP_CHECK((n), sizeof(struct hlist_node), true),		\
	 __hlist_add_head_rcu((n), (h)))
#define hlist_add_before_rcu(n, next)					\
	(MMN_XP_POINT(MMN_XP_HLIST_ADD, (n), 0),			\
	 MMN_XP_CHECK((next), sizeof(struct hlist_node), true),		\
	 __hlist_add_before_rcu((n), (next)))
#define hlist_add_behind_rcu(n, prev)					\
	(MMN_XP_POINT(MMN_XP_HLIST_ADD, (n), 0),			\
	 MMN_XP_CHECK((prev), sizeof(struct hlist_node), true),		\
	 __hlist_add_behind_rcu((n), (prev)))
#define hlist_del_init_rcu(n)						\
	(MMN_XP_POINT(MMN_XP_HLIST_DEL, (n), 0),			\
	 MMN_XP_CHECK((n), sizeof(struct hlist_node), true),		\
	 __hlist_del_init_rcu(n))
/* Under a spinlock: checked, but no point (nobody else can look). */
#define hlist_del(n)							\
	(MMN_XP_CHECK((n), sizeof(struct hlist_node), true), __hlist_del(n))
#define hlist_add_head(n, h)						\
	(MMN_XP_CHECK((n), sizeof(struct hlist_node), true),		\
	 __hlist_add_head((n), (h)))

/*
 * Explore: a point before each load of a next pointer (another thread may
 * unlink or free the next node first), and a check that the node the load
 * reads from is not freed.
 */
#define MMN_XP_HLIST_STEP(from)						\
	(MMN_XP_POINT(MMN_XP_HLIST_LOAD, (from), 0),			\
	 MMN_XP_CHECK((from), sizeof(struct hlist_node), false))

/* The reader's walk: every load of a next pointer is an rcu_dereference. */
#define hlist_for_each_entry_rcu(pos, head, member, ...)			\
	for (pos = (MMN_XP_HLIST_STEP(NULL),				\
		    hlist_entry_safe(rcu_dereference((head)->first),	\
				     __typeof__(*(pos)), member));	\
	     pos;							\
	     pos = (MMN_XP_HLIST_STEP(&(pos)->member),			\
		    hlist_entry_safe(rcu_dereference((pos)->member.next), \
				     __typeof__(*(pos)), member)))

/*
 * include/linux/rculist.h (after v5.11): the SRCU reader's walk, the same as
 * hlist_for_each_entry_rcu with the lockdep condition an SRCU one; the
 * mainline port's walks are written with it.
 */
#define hlist_for_each_entry_srcu(pos, head, member, cond)		\
	hlist_for_each_entry_rcu(pos, head, member, cond)

#define hlist_for_each_entry_safe(pos, n, head, member)			\
	for (pos = hlist_entry_safe((head)->first, __typeof__(*pos), member);\
	     pos && ({ n = pos->member.next; 1; });			\
	     pos = hlist_entry_safe(n, __typeof__(*pos), member))

#endif /* MMN_KERNEL_HLIST_RCU_H */
