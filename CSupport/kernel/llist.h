/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * llist.h - the part of include/linux/llist.h the mainline port's two-pass
 * walk uses (v7.1, 7aba71dbc416): a singly linked list the walk builds on
 * its own stack, so only the non-atomic __llist_* forms are needed. Written
 * for this harness from the kernel's behaviour. struct llist_node itself is
 * in mmn_harness.h, because struct mmu_interval_notifier_finish embeds it.
 */
#ifndef MMN_KERNEL_LLIST_H
#define MMN_KERNEL_LLIST_H

#include <stddef.h>
#include <mmn_harness.h>

struct llist_head {
	struct llist_node *first;
};

#define LLIST_HEAD_INIT(name)	{ NULL }
#define LLIST_HEAD(name)	struct llist_head name = LLIST_HEAD_INIT(name)

#define llist_entry(ptr, type, member) container_of(ptr, type, member)

/* push onto the head; returns true if the list was empty before */
static inline bool __llist_add(struct llist_node *new, struct llist_head *head)
{
	new->next = head->first;
	head->first = new;
	return new->next == NULL;
}

/* take the whole chain, newest first, and leave the list empty */
static inline struct llist_node *__llist_del_all(struct llist_head *head)
{
	struct llist_node *first = head->first;

	head->first = NULL;
	return first;
}

/* the chain in the order it was added */
static inline struct llist_node *llist_reverse_order(struct llist_node *head)
{
	struct llist_node *new_head = NULL;

	while (head) {
		struct llist_node *tmp = head;

		head = head->next;
		tmp->next = new_head;
		new_head = tmp;
	}
	return new_head;
}

/* the next pointer is read before the body runs: the body may free pos */
#define llist_for_each_entry_safe(pos, n, node, member)			\
	for (pos = ((node) ? llist_entry((node), __typeof__(*pos), member) \
			   : NULL);					\
	     pos && (n = (pos->member.next ?				\
			  llist_entry(pos->member.next,			\
				      __typeof__(*pos), member) : NULL), 1); \
	     pos = n)

#endif /* MMN_KERNEL_LLIST_H */
