/*
 * Randomised self-test for interval_tree.c, the userspace model of
 * include/linux/interval_tree.h / lib/interval_tree.c (v5.11).
 *
 * A pool of nodes is inserted, removed and re-inserted with fresh intervals
 * in a seeded random order.  After every single insert or remove the whole
 * tree is checked (links, red-black shape, ordering, __subtree_last), and
 * queries spread over the run compare the full iter_first/iter_next
 * sequence with a brute-force scan of the nodes known to be in the tree.
 * Intervals are drawn so that duplicates, [x, x] and intervals touching
 * ULONG_MAX are common, and a few queries have start > last.
 *
 * Equal starts are expected in insertion order (the kernel's order), which
 * the test tracks with a sequence stamp; nothing depends on node addresses,
 * so a seed always gives the same run.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "interval_tree.h"

int mmn_selftest_interval_tree(unsigned int seed, unsigned int nodes,
			       unsigned int queries);

struct it_test_node {
	struct interval_tree_node it;
	unsigned long seq;	/* insertion stamp: order among equal starts */
	int in_tree;		/* the model's view */
};

struct it_test {
	uint64_t rng;
	unsigned int seed;
	unsigned long checks;	/* checks evaluated so far */
	int failed;		/* 1-based index of the first failed check */
	struct interval_tree_root root;
	struct it_test_node *pool;
	unsigned int n;
	unsigned long nr_in_tree;
	unsigned long next_seq;
	struct it_test_node **expect;	/* brute-force scratch, n entries */
	struct it_test_node **order;	/* drain order, n entries */
};

#define it_entry(node) \
	((struct it_test_node *)((char *)(node) - offsetof(struct it_test_node, it)))

/* Count one check; on the first failure remember its index and say where. */
static int it_check(struct it_test *t, int ok, int line)
{
	t->checks++;
	if (ok)
		return 1;
	if (!t->failed) {
		t->failed = t->checks > INT_MAX ? INT_MAX : (int)t->checks;
		fprintf(stderr,
			"interval_tree selftest: seed %u nodes %u: check %lu failed at %s:%d\n",
			t->seed, t->n, t->checks, __FILE__, line);
	}
	return 0;
}

/* In helpers returning int: bail out with -1 on a failed check. */
#define IT_CHECK(t, cond)						\
	do {								\
		if (!it_check((t), !!(cond), __LINE__))			\
			return -1;					\
	} while (0)

/* xorshift64*, seeded through splitmix64 so that seed 0 works too. */
static void it_srand(struct it_test *t, unsigned int seed)
{
	uint64_t z = (uint64_t)seed + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	t->rng = z ? z : 0x2545f4914f6cdd1dULL;
}

static uint64_t it_rand(struct it_test *t)
{
	t->rng ^= t->rng >> 12;
	t->rng ^= t->rng << 25;
	t->rng ^= t->rng >> 27;
	return t->rng * 0x2545f4914f6cdd1dULL;
}

/* Uniform-enough value in [0, n); n > 0. */
static unsigned long it_below(struct it_test *t, unsigned long n)
{
	return (unsigned long)(it_rand(t) % n);
}

/* Random value in [from, ULONG_MAX], without overflowing the span. */
static unsigned long it_from(struct it_test *t, unsigned long from)
{
	unsigned long span = ULONG_MAX - from;

	if (span == ULONG_MAX)
		return (unsigned long)it_rand(t);
	return from + it_below(t, span + 1);
}

/* Draw an interval, biased towards the awkward cases. */
static void it_rand_interval(struct it_test *t, unsigned long *start,
			     unsigned long *last)
{
	unsigned long s, l;

	switch (it_below(t, 12)) {
	case 0: case 1: case 2:		/* dense: many overlaps and repeats */
		s = it_below(t, 64);
		l = s + it_below(t, 8);
		break;
	case 3:				/* medium spread */
		s = it_below(t, 1UL << 12);
		l = s + it_below(t, 1UL << 10);
		break;
	case 4:				/* zero length [x, x] */
		s = it_below(t, 2) ? it_below(t, 64) : (unsigned long)it_rand(t);
		l = s;
		break;
	case 5: case 6:			/* near ULONG_MAX, often ending on it */
		s = ULONG_MAX - it_below(t, 64);
		l = it_below(t, 2) ? ULONG_MAX : it_from(t, s);
		break;
	case 7:				/* exact copy of some pool interval */
		if (t->n) {
			struct it_test_node *o = &t->pool[it_below(t, t->n)];

			if (o->it.start <= o->it.last) {
				s = o->it.start;
				l = o->it.last;
				break;
			}
		}
		/* fall through */
	case 8:				/* anywhere, any length */
		s = (unsigned long)it_rand(t);
		l = it_from(t, s);
		break;
	case 9:				/* long, from low to anywhere */
		s = it_below(t, 64);
		l = it_from(t, s);
		break;
	default:			/* extremes */
		switch (it_below(t, 4)) {
		case 0:
			s = 0;
			l = ULONG_MAX;
			break;
		case 1:
			s = 0;
			l = 0;
			break;
		case 2:
			s = ULONG_MAX;
			l = ULONG_MAX;
			break;
		default:
			s = it_below(t, 64);
			l = ULONG_MAX;
			break;
		}
		break;
	}
	*start = s;
	*last = l;
}

/* Walk the shape; returns the black height of @node's subtree, or -1. */
static int it_check_subtree(struct it_test *t, struct interval_tree_node *node,
			    struct interval_tree_node *parent,
			    unsigned long *count)
{
	struct interval_tree_node *l, *r;
	unsigned long max;
	int red, lh, rh;

	if (!node)
		return 1;
	(*count)++;
	IT_CHECK(t, *count <= t->nr_in_tree);	/* also stops runaway cycles */
	l = RB_LEFT(node, rb);
	r = RB_RIGHT(node, rb);
	IT_CHECK(t, RB_PARENT(node, rb) == parent);
	IT_CHECK(t, node->rb_linked && it_entry(node)->in_tree);
	IT_CHECK(t, RB_COLOR(node, rb) == RB_RED ||
		    RB_COLOR(node, rb) == RB_BLACK);
	red = RB_COLOR(node, rb) == RB_RED;
	if (red)
		IT_CHECK(t, parent &&
			    (!l || RB_COLOR(l, rb) == RB_BLACK) &&
			    (!r || RB_COLOR(r, rb) == RB_BLACK));

	/* The augmentation invariant itself. */
	max = node->last;
	if (l && l->__subtree_last > max)
		max = l->__subtree_last;
	if (r && r->__subtree_last > max)
		max = r->__subtree_last;
	IT_CHECK(t, node->__subtree_last == max);

	lh = it_check_subtree(t, l, node, count);
	if (lh < 0)
		return -1;
	rh = it_check_subtree(t, r, node, count);
	if (rh < 0)
		return -1;
	IT_CHECK(t, lh == rh);
	return lh + !red;
}

/* (start, seq) order: the order iteration must produce. */
static int it_before(const struct it_test_node *a, const struct it_test_node *b)
{
	if (a->it.start != b->it.start)
		return a->it.start < b->it.start;
	return a->seq < b->seq;
}

/* Full consistency check of tree against model; 0 or -1. */
static int it_check_tree(struct it_test *t)
{
	struct interval_tree_node *root = RB_ROOT(&t->root.rb);
	struct interval_tree_node *node, *prev = NULL;
	unsigned long count = 0;
	unsigned int i;

	IT_CHECK(t, !interval_tree_empty(&t->root) == !!t->nr_in_tree);
	IT_CHECK(t, !root || RB_COLOR(root, rb) == RB_BLACK);
	if (it_check_subtree(t, root, NULL, &count) < 0)
		return -1;
	IT_CHECK(t, count == t->nr_in_tree);

	/* In-order walk through the generated RB_MIN/RB_NEXT. */
	count = 0;
	RB_FOREACH(node, interval_tree_rb, &t->root.rb) {
		IT_CHECK(t, ++count <= t->nr_in_tree);
		if (prev)
			IT_CHECK(t, it_before(it_entry(prev), it_entry(node)));
		prev = node;
	}
	IT_CHECK(t, count == t->nr_in_tree);

	for (i = 0; i < t->n; i++)
		IT_CHECK(t, !RB_EMPTY_NODE_IT(&t->pool[i].it) ==
			    !!t->pool[i].in_tree);
	return 0;
}

static int it_cmp_expect(const void *a, const void *b)
{
	const struct it_test_node *x = *(const struct it_test_node * const *)a;
	const struct it_test_node *y = *(const struct it_test_node * const *)b;

	if (it_before(x, y))
		return -1;
	return it_before(y, x);
}

/* One query: the iterator must yield exactly the brute-force list. */
static int it_query(struct it_test *t)
{
	struct interval_tree_node *node;
	unsigned long start, last, k = 0, i;

	it_rand_interval(t, &start, &last);
	if (!it_below(t, 16)) {		/* inverted: same formula must hold */
		unsigned long tmp = start;

		start = last;
		last = tmp;
	}

	for (i = 0; i < t->n; i++) {
		struct it_test_node *e = &t->pool[i];

		if (e->in_tree && e->it.start <= last && start <= e->it.last)
			t->expect[k++] = e;
	}
	qsort(t->expect, k, sizeof(*t->expect), it_cmp_expect);

	node = interval_tree_iter_first(&t->root, start, last);
	for (i = 0; i < k; i++) {
		IT_CHECK(t, node == &t->expect[i]->it);
		node = interval_tree_iter_next(node, start, last);
	}
	IT_CHECK(t, node == NULL);
	return 0;
}

static int it_insert(struct it_test *t, struct it_test_node *e)
{
	it_rand_interval(t, &e->it.start, &e->it.last);
	IT_CHECK(t, RB_EMPTY_NODE_IT(&e->it));
	interval_tree_insert(&e->it, &t->root);
	e->seq = t->next_seq++;
	e->in_tree = 1;
	t->nr_in_tree++;
	IT_CHECK(t, !RB_EMPTY_NODE_IT(&e->it));
	return it_check_tree(t);
}

static int it_remove(struct it_test *t, struct it_test_node *e)
{
	IT_CHECK(t, !RB_EMPTY_NODE_IT(&e->it));
	interval_tree_remove(&e->it, &t->root);
	e->in_tree = 0;
	t->nr_in_tree--;
	IT_CHECK(t, RB_EMPTY_NODE_IT(&e->it));
	return it_check_tree(t);
}

/* Run queries so that by step @step of @steps, @step/@steps of them ran. */
static int it_queries_upto(struct it_test *t, unsigned long long step,
			   unsigned long long steps, unsigned int queries,
			   unsigned int *done)
{
	unsigned long long want = steps ? queries * step / steps : queries;

	while (*done < want) {
		(*done)++;
		if (it_query(t) < 0)
			return -1;
	}
	return 0;
}

static int it_run(struct it_test *t, unsigned int queries)
{
	struct interval_tree_root fresh = INTERVAL_TREE_ROOT_INIT;
	unsigned long long step = 0, steps;
	unsigned long ops, i;
	unsigned int done = 0;

	t->root = fresh;
	IT_CHECK(t, interval_tree_empty(&t->root));
	interval_tree_root_init(&t->root);
	IT_CHECK(t, interval_tree_empty(&t->root));
	IT_CHECK(t, interval_tree_iter_first(&t->root, 0, ULONG_MAX) == NULL);

	for (i = 0; i < t->n; i++) {
		RB_CLEAR_NODE_IT(&t->pool[i].it);
		IT_CHECK(t, RB_EMPTY_NODE_IT(&t->pool[i].it));
	}

	/*
	 * Churn: a picked node that is out goes in; one that is in is
	 * removed (1 in 4) or moved to a fresh interval, which re-stamps it
	 * as the newest among equal starts.  About 80% of the pool stays in.
	 */
	ops = 3UL * t->n;
	/* Queries are spread over all steps; the drain length is a guess. */
	steps = (unsigned long long)ops + t->n;
	for (i = 0; i < ops; i++) {
		struct it_test_node *e = &t->pool[it_below(t, t->n)];

		if (!e->in_tree) {
			if (it_insert(t, e) < 0)
				return -1;
		} else {
			if (it_remove(t, e) < 0)
				return -1;
			if (it_below(t, 4) && it_insert(t, e) < 0)
				return -1;
		}
		if (it_queries_upto(t, ++step, steps, queries, &done) < 0)
			return -1;
	}

	/* Drain in random (Fisher-Yates) order, down to an empty tree. */
	for (i = 0; i < t->n; i++)
		t->order[i] = &t->pool[i];
	for (i = t->n; i > 1; i--) {
		unsigned long j = it_below(t, i);
		struct it_test_node *tmp = t->order[i - 1];

		t->order[i - 1] = t->order[j];
		t->order[j] = tmp;
	}
	/* Now the number of remaining steps is known exactly. */
	steps = (unsigned long long)ops + t->nr_in_tree;
	for (i = 0; i < t->n; i++) {
		struct it_test_node *e = t->order[i];

		if (!e->in_tree)
			continue;
		if (it_remove(t, e) < 0)
			return -1;
		if (it_queries_upto(t, ++step, steps, queries, &done) < 0)
			return -1;
	}
	IT_CHECK(t, t->nr_in_tree == 0);
	IT_CHECK(t, interval_tree_empty(&t->root));
	return it_queries_upto(t, 1, 1, queries, &done);
}

int mmn_selftest_interval_tree(unsigned int seed, unsigned int nodes,
			       unsigned int queries)
{
	struct it_test t = { 0 };

	t.seed = seed;
	t.n = nodes;
	it_srand(&t, seed);
	/* One spare slot so that nodes == 0 still gets real allocations. */
	t.pool = calloc((size_t)nodes + 1, sizeof(*t.pool));
	t.expect = calloc((size_t)nodes + 1, sizeof(*t.expect));
	t.order = calloc((size_t)nodes + 1, sizeof(*t.order));
	if (it_check(&t, t.pool && t.expect && t.order, __LINE__))
		it_run(&t, queries);
	free(t.order);
	free(t.expect);
	free(t.pool);
	return t.failed;
}
