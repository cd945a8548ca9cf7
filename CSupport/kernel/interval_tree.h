/*
 * Userspace stand-in for <linux/interval_tree.h>.
 *
 * Models the behaviour of include/linux/interval_tree.h and
 * lib/interval_tree.c as of Linux v5.11: a red-black tree of closed
 * intervals [start, last], ordered by start, where every node also caches
 * the largest 'last' found in its subtree (__subtree_last) so that overlap
 * queries can skip whole subtrees.  This is an independent implementation
 * on top of libbsd's <bsd/sys/tree.h>; no kernel code is reused.
 *
 * Differences from the kernel worth knowing:
 *  - struct rb_root_cached becomes struct interval_tree_root.  There is no
 *    cached leftmost node; iter_first() does not need one to stay O(log n).
 *  - RB_EMPTY_NODE()/RB_CLEAR_NODE() on the embedded rb_node become
 *    RB_EMPTY_NODE_IT()/RB_CLEAR_NODE_IT() on the interval_tree_node,
 *    backed by the rb_linked flag.  interval_tree_insert() sets it and
 *    interval_tree_remove() clears it (the kernel's rb_erase() leaves the
 *    node looking linked; nothing in mm/mmu_notifier.c relies on that).
 *  - Inserting a linked node or removing an unlinked one trips an assert()
 *    and, under NDEBUG, does nothing (the kernel would corrupt the tree).
 *
 * Like the kernel, intervals may repeat, and nodes with equal start keep
 * insertion order (a new node goes after the existing ones), so iteration
 * order never depends on where malloc() put the nodes.
 *
 * No locking and no global state: the caller serialises every call on a
 * given root, as mm/mmu_notifier.c does with subscriptions->lock.
 */
#ifndef MMN_KERNEL_INTERVAL_TREE_H
#define MMN_KERNEL_INTERVAL_TREE_H

#include <stddef.h>
#include <bsd/sys/tree.h>

struct interval_tree_node {
	RB_ENTRY(interval_tree_node) rb;
	unsigned long start;	/* first address covered, inclusive */
	unsigned long last;	/* last address covered, inclusive */
	unsigned long __subtree_last;	/* max 'last' in this subtree */
	int rb_linked;		/* 0 when not in any tree: RB_EMPTY_NODE */
};

struct interval_tree_root {
	RB_HEAD(interval_tree_rb, interval_tree_node) rb;
};

/* The kernel's RB_ROOT_CACHED. */
#define INTERVAL_TREE_ROOT_INIT	{ { NULL } }

/*
 * The red-black tree functions themselves are generated once, in
 * interval_tree.c.  Declared here so RB_MIN/RB_NEXT/RB_FOREACH work on
 * root->rb from other files; use them read-only.  RB_FIND/RB_NFIND are
 * not meaningful here (duplicates are allowed), and RB_INSERT/RB_REMOVE
 * must not be called directly: they would bypass the augmentation
 * bookkeeping in interval_tree_insert()/interval_tree_remove().
 */
RB_PROTOTYPE(interval_tree_rb, interval_tree_node, rb, interval_tree_cmp)

void interval_tree_root_init(struct interval_tree_root *root);
int interval_tree_empty(const struct interval_tree_root *root);

void interval_tree_insert(struct interval_tree_node *node,
			  struct interval_tree_root *root);
void interval_tree_remove(struct interval_tree_node *node,
			  struct interval_tree_root *root);

/*
 * First node overlapping [start, last] (node->start <= last &&
 * start <= node->last) in tree order, i.e. lowest start; NULL if none.
 */
struct interval_tree_node *
interval_tree_iter_first(struct interval_tree_root *root,
			 unsigned long start, unsigned long last);

/*
 * Next node after @node, in tree order, that overlaps [start, last];
 * NULL if none.  @node must be linked in the tree.
 */
struct interval_tree_node *
interval_tree_iter_next(struct interval_tree_node *node,
			unsigned long start, unsigned long last);

/* RB_EMPTY_NODE(&node->rb): true if the node is in no tree. */
static inline int RB_EMPTY_NODE_IT(const struct interval_tree_node *n)
{
	return !n->rb_linked;
}

/* RB_CLEAR_NODE(&node->rb): mark the node as in no tree. */
static inline void RB_CLEAR_NODE_IT(struct interval_tree_node *n)
{
	n->rb.rbe_left = NULL;
	n->rb.rbe_right = NULL;
	n->rb.rbe_parent = NULL;
	n->rb_linked = 0;
}

#endif /* MMN_KERNEL_INTERVAL_TREE_H */
