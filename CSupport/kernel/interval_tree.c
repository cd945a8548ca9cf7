/*
 * Augmented interval tree on libbsd's red-black tree.
 *
 * Models the behaviour of lib/interval_tree.c (the INTERVAL_TREE_DEFINE()
 * instance for struct interval_tree_node) as of Linux v5.11.  Independent
 * implementation; see interval_tree.h for the API and the differences.
 *
 * Every node caches __subtree_last, the largest 'last' in its subtree.
 * Queries use it to prune: a subtree whose __subtree_last is below the
 * query start cannot hold an overlapping interval, and because the tree is
 * ordered by start, nothing at or right of a node whose start is above
 * the query last can overlap either.  iter_first is O(log n) and each
 * iter_next is O(log n) at worst, as in the kernel; subtrees holding no
 * result are never entered, so a query never degrades to a full scan.
 */
#include <assert.h>

#include "interval_tree.h"

/*
 * Recompute __subtree_last from @node up to the root.
 *
 * libbsd's tree.h calls RB_AUGMENT() after rotations and on some of the
 * nodes an insert or remove touches, but not on every ancestor whose
 * subtree changed.  Walking to the root each time keeps every cached value
 * right whatever subset of nodes the header chooses to hand us; once the
 * header's last call for a structural change has returned, the path above
 * that change has been refreshed bottom-up from correct children.
 */
static void interval_tree_augment_up(struct interval_tree_node *node)
{
	for (; node; node = RB_PARENT(node, rb)) {
		struct interval_tree_node *child;
		unsigned long max = node->last;

		child = RB_LEFT(node, rb);
		if (child && child->__subtree_last > max)
			max = child->__subtree_last;
		child = RB_RIGHT(node, rb);
		if (child && child->__subtree_last > max)
			max = child->__subtree_last;
		node->__subtree_last = max;
	}
}

/*
 * Order by start.  Equal starts never compare equal (RB_INSERT would then
 * refuse the node): the node being inserted sorts after every existing one,
 * so duplicates sit in insertion order, as the kernel's "go right on ties"
 * insert does.  Only a node compared with itself yields 0, which makes
 * RB_INSERT of an already-linked node a no-op instead of a corruption.
 * This is not a total order, hence no RB_FIND/RB_NFIND on this tree.
 */
static int interval_tree_cmp(const struct interval_tree_node *a,
			     const struct interval_tree_node *b)
{
	if (a == b)
		return 0;
	return a->start < b->start ? -1 : 1;
}

/* tree.h expands RB_AUGMENT lazily, so redefining it here is enough. */
#undef RB_AUGMENT
#define RB_AUGMENT(x)	interval_tree_augment_up(x)

RB_GENERATE(interval_tree_rb, interval_tree_node, rb, interval_tree_cmp)

void interval_tree_root_init(struct interval_tree_root *root)
{
	RB_INIT(&root->rb);
}

int interval_tree_empty(const struct interval_tree_root *root)
{
	return RB_EMPTY(&root->rb);
}

void interval_tree_insert(struct interval_tree_node *node,
			  struct interval_tree_root *root)
{
	struct interval_tree_node *clash;

	/* Already linked: a caller bug.  Under NDEBUG, leave the tree alone. */
	assert(!node->rb_linked);
	if (node->rb_linked)
		return;
	/* A new leaf; if it becomes the root no RB_AUGMENT call covers it. */
	node->__subtree_last = node->last;
	clash = RB_INSERT(interval_tree_rb, &root->rb, node);
	assert(clash == NULL);
	(void)clash;
	node->rb_linked = 1;
}

void interval_tree_remove(struct interval_tree_node *node,
			  struct interval_tree_root *root)
{
	/* Unlinked (cleared) pointers would make RB_REMOVE empty the root. */
	assert(node->rb_linked);
	if (!node->rb_linked)
		return;
	RB_REMOVE(interval_tree_rb, &root->rb, node);
	RB_CLEAR_NODE_IT(node);
}

/*
 * Leftmost node in @node's subtree overlapping [start, last], or NULL.
 * Caller guarantees node->__subtree_last >= start.
 */
static struct interval_tree_node *
interval_tree_subtree_first(struct interval_tree_node *node,
			    unsigned long start, unsigned long last)
{
	for (;;) {
		struct interval_tree_node *left = RB_LEFT(node, rb);

		/*
		 * Some interval on the left ends at or after start.  Either it
		 * also starts by last, so it overlaps and precedes @node; or it
		 * starts after last, and then so do @node and everything right
		 * of it.  Either way the answer, if any, is on the left: there
		 * is no need to come back up.
		 */
		if (left && left->__subtree_last >= start) {
			node = left;
			continue;
		}
		/* Nothing on the left; @node and its right side start here or later. */
		if (node->start > last)
			return NULL;
		if (node->last >= start)
			return node;
		node = RB_RIGHT(node, rb);
		if (!node || node->__subtree_last < start)
			return NULL;
	}
}

struct interval_tree_node *
interval_tree_iter_first(struct interval_tree_root *root,
			 unsigned long start, unsigned long last)
{
	struct interval_tree_node *node = RB_ROOT(&root->rb);

	if (!node || node->__subtree_last < start)
		return NULL;
	return interval_tree_subtree_first(node, start, last);
}

struct interval_tree_node *
interval_tree_iter_next(struct interval_tree_node *node,
			unsigned long start, unsigned long last)
{
	for (;;) {
		struct interval_tree_node *right = RB_RIGHT(node, rb);
		struct interval_tree_node *child;

		/*
		 * Successors inside the right subtree come first.  If one of
		 * them reaches start but none overlaps, they all start after
		 * last, and so does every later node: NULL is final.
		 */
		if (right && right->__subtree_last >= start)
			return interval_tree_subtree_first(right, start, last);

		/* Climb to the first ancestor we reach from its left side. */
		do {
			child = node;
			node = RB_PARENT(node, rb);
			if (!node)
				return NULL;
		} while (RB_RIGHT(node, rb) == child);

		/* Ordered by start: once past last, nothing later overlaps. */
		if (node->start > last)
			return NULL;
		if (node->last >= start)
			return node;
		/* No overlap here; its right subtree is next in order. */
	}
}
