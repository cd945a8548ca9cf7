// SPDX-License-Identifier: GPL-2.0-only
/*
 * Self-test for lockdep.c. Deterministic: threads are only used one at a
 * time (create + join), except in the last test where several threads
 * repeat a pattern whose outcome does not depend on interleaving.
 *
 * The whole run happens on a thread of its own so the caller's held stack
 * and thread name are neither seen nor changed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lockdep.h"

struct st_sink {
	pthread_mutex_t lock;
	unsigned int n;
	char *last;
};

static void st_report(void *arg, const char *text)
{
	struct st_sink *s = arg;

	pthread_mutex_lock(&s->lock);
	s->n++;
	free(s->last);
	s->last = strdup(text);
	pthread_mutex_unlock(&s->lock);
}

static void st_sink_init(struct st_sink *s)
{
	pthread_mutex_init(&s->lock, NULL);
	s->n = 0;
	s->last = NULL;
}

static void st_sink_fini(struct st_sink *s)
{
	free(s->last);
	pthread_mutex_destroy(&s->lock);
}

static int st_has(const struct st_sink *s, const char *needle)
{
	return s->last && strstr(s->last, needle);
}

#define CHECK(num, cond)			\
	do {					\
		if (!(cond)) {			\
			rc = (num);		\
			goto out;		\
		}				\
	} while (0)

/* One thread takes a then b, then drops both. */
struct st_job {
	const char *comm;
	struct lockdep_map *a, *b;
	int ka, kb;
	const char *sa, *sb;
};

static void *st_job_fn(void *arg)
{
	struct st_job *j = arg;

	mmn_lockdep_set_thread_name(j->comm);
	mmn_lock_acquire(j->a, j->ka, 0, j->sa);
	mmn_lock_acquire(j->b, j->kb, 0, j->sb);
	mmn_lock_release(j->b, j->sb);
	mmn_lock_release(j->a, j->sa);
	return NULL;
}

static int st_run(const char *comm, struct lockdep_map *a, const char *sa,
		  struct lockdep_map *b, const char *sb)
{
	struct st_job j = { comm, a, b, MMN_LOCKDEP_WRITE, MMN_LOCKDEP_WRITE,
			    sa, sb };
	pthread_t t;

	if (pthread_create(&t, NULL, st_job_fn, &j))
		return -1;
	pthread_join(t, NULL);
	return 0;
}

/* AB on one thread, BA on another: one report naming everything. */
static int st_abba(void)
{
	struct st_sink sink;
	struct mmn_lockdep *ctx;
	struct lockdep_map a, b;
	int rc = 0;

	st_sink_init(&sink);
	ctx = mmn_lockdep_create(st_report, &sink);
	lockdep_init_map(&a, "lock_A", ctx);
	lockdep_init_map(&b, "lock_B", ctx);

	CHECK(1, !st_run("t1", &a, "site_a1", &b, "site_b1"));
	CHECK(2, mmn_lockdep_edges(ctx) == 1 && mmn_lockdep_cycles(ctx) == 0);
	CHECK(3, mmn_lockdep_classes(ctx) == 2 && sink.n == 0);
	CHECK(4, !st_run("t2", &b, "site_b2", &a, "site_a2"));
	CHECK(5, mmn_lockdep_cycles(ctx) == 1 && sink.n == 1);
	CHECK(6, st_has(&sink, "possible circular locking dependency"));
	CHECK(7, st_has(&sink, "lock_A") && st_has(&sink, "lock_B"));
	CHECK(8, st_has(&sink, "site_a1") && st_has(&sink, "site_b1"));
	CHECK(9, st_has(&sink, "site_a2") && st_has(&sink, "site_b2"));
	CHECK(10, st_has(&sink, "t2/") && st_has(&sink, "*** DEADLOCK ***"));
	CHECK(11, st_has(&sink, "  lock(lock_B);\n"));

	/* again, from fresh threads and from this one: no new report */
	CHECK(12, !st_run("t3", &b, "site_b3", &a, "site_a3"));
	CHECK(13, !st_run("t4", &a, "site_a4", &b, "site_b4"));
	mmn_lock_acquire(&b, MMN_LOCKDEP_WRITE, 0, "here_b");
	mmn_lock_acquire(&a, MMN_LOCKDEP_WRITE, 0, "here_a");
	mmn_lock_release(&a, "here_a");
	mmn_lock_release(&b, "here_b");
	CHECK(14, mmn_lockdep_cycles(ctx) == 1 && sink.n == 1);
	CHECK(15, mmn_lockdep_edges(ctx) == 2);
	CHECK(16, mmn_lockdep_held_count() == 0);
out:
	mmn_lockdep_destroy(ctx);
	st_sink_fini(&sink);
	return rc;
}

/* A->B, B->C, C->A, each on its own thread. */
static int st_three(void)
{
	struct lockdep_map a, b, c;
	struct mmn_lockdep *ctx;
	struct st_sink sink;
	int rc = 0;

	st_sink_init(&sink);
	ctx = mmn_lockdep_create(st_report, &sink);
	lockdep_init_map(&a, "A", ctx);
	lockdep_init_map(&b, "B", ctx);
	lockdep_init_map(&c, "C", ctx);

	CHECK(20, !st_run("one", &a, "one_a", &b, "one_b"));
	CHECK(21, !st_run("two", &b, "two_b", &c, "two_c"));
	CHECK(22, mmn_lockdep_cycles(ctx) == 0 && sink.n == 0);
	CHECK(23, !st_run("three", &c, "three_c", &a, "three_a"));
	CHECK(24, mmn_lockdep_cycles(ctx) == 1 && sink.n == 1);
	CHECK(25, mmn_lockdep_edges(ctx) == 3);
	CHECK(26, st_has(&sink, "Chain exists of:\n  A --> B --> C\n"));
	CHECK(27, st_has(&sink, "one_b") && st_has(&sink, "two_c") &&
		  st_has(&sink, "three_a") && st_has(&sink, "three_c"));
	CHECK(28, st_has(&sink, "-> #2 (C)") && st_has(&sink, "-> #1 (B)") &&
		  st_has(&sink, "-> #0 (A)"));
out:
	mmn_lockdep_destroy(ctx);
	st_sink_fini(&sink);
	return rc;
}

/*
 * KVM's slots lock across range_start()/range_end(): start takes S inside
 * the pseudo-lock P and keeps it; end takes P while S is still held.
 */
static void st_kvm_invalidate(struct lockdep_map *p, struct lockdep_map *s,
			      int kind)
{
	mmn_lock_acquire(p, MMN_LOCKDEP_WRITE, 0,
			 "__mmu_notifier_invalidate_range_start");
	mmn_lock_acquire(s, kind, 0, "kvm_mmu_notifier_invalidate_range_start");
	mmn_lock_release(p, "__mmu_notifier_invalidate_range_start");

	mmn_lock_acquire(p, MMN_LOCKDEP_WRITE, 0,
			 "__mmu_notifier_invalidate_range_end");
	mmn_lock_release(s, "kvm_mmu_notifier_invalidate_range_end");
	mmn_lock_release(p, "__mmu_notifier_invalidate_range_end");
}

static void *st_kvm_fn(void *arg)
{
	struct lockdep_map **m = arg;
	int i;

	mmn_lockdep_set_thread_name("qemu-vcpu");
	for (i = 0; i < 200; i++)
		st_kvm_invalidate(m[0], m[1], MMN_LOCKDEP_RECURSIVE_READ);
	return NULL;
}

static int st_kvm(int kind)
{
	struct lockdep_map p, s, *m[2] = { &p, &s };
	struct mmn_lockdep *ctx;
	struct st_sink sink;
	int rc = 0, base = kind == MMN_LOCKDEP_READ ? 50 : 30;
	pthread_t t;

	st_sink_init(&sink);
	ctx = mmn_lockdep_create(st_report, &sink);
	lockdep_init_map(&p, "mmu_notifier_invalidate_range_start", ctx);
	lockdep_init_map(&s, "&kvm->mmu_notifier_slots_lock", ctx);

	/* the memslot writer: S exclusive, nothing else held */
	mmn_lock_acquire(&s, MMN_LOCKDEP_WRITE, 0, "kvm_swap_active_memslots");
	mmn_lock_release(&s, "kvm_swap_active_memslots");

	st_kvm_invalidate(&p, &s, kind);
	CHECK(base + 1, mmn_lockdep_held_count() == 0);
	CHECK(base + 2, mmn_lockdep_edges(ctx) == 2);
	if (kind == MMN_LOCKDEP_RECURSIVE_READ) {
		CHECK(base + 3, mmn_lockdep_cycles(ctx) == 0 && sink.n == 0);
		m[0] = &p;
		m[1] = &s;
		CHECK(base + 4, !pthread_create(&t, NULL, st_kvm_fn, m));
		pthread_join(t, NULL);
		CHECK(base + 5, mmn_lockdep_cycles(ctx) == 0 && sink.n == 0);
		CHECK(base + 6, mmn_lockdep_edges(ctx) == 2);
	} else {
		CHECK(base + 3, mmn_lockdep_cycles(ctx) == 1 && sink.n == 1);
		CHECK(base + 4, st_has(&sink, "mmu_notifier_invalidate_range_"
				       "start){+.+.}"));
		CHECK(base + 5, st_has(&sink, "&kvm->mmu_notifier_slots_lock"));
		CHECK(base + 6, st_has(&sink, "__mmu_notifier_invalidate_range_"
				       "end"));
		CHECK(base + 7, st_has(&sink, "kvm_mmu_notifier_invalidate_"
				       "range_start"));
		CHECK(base + 8, st_has(&sink, "rlock(&kvm->mmu_notifier_slots_"
				       "lock);"));
		CHECK(base + 9, st_has(&sink, "which lock already depends on "
				       "the new lock."));
		st_kvm_invalidate(&p, &s, kind);
		CHECK(base + 10, mmn_lockdep_cycles(ctx) == 1 && sink.n == 1);
	}
out:
	mmn_lockdep_destroy(ctx);
	st_sink_fini(&sink);
	return rc;
}

/* L0 -> L1 -> ... -> L200 hand over hand, then L200 -> L0 closes it. */
#define ST_CHAIN 201
static int st_chain(void)
{
	static char names[ST_CHAIN][8];
	struct lockdep_map *l;
	struct mmn_lockdep *ctx;
	struct st_sink sink;
	int rc = 0, i;

	st_sink_init(&sink);
	ctx = mmn_lockdep_create(st_report, &sink);
	l = calloc(ST_CHAIN, sizeof(*l));
	CHECK(70, l != NULL);
	for (i = 0; i < ST_CHAIN; i++) {
		snprintf(names[i], sizeof(names[i]), "L%d", i);
		lockdep_init_map(&l[i], names[i], ctx);
	}
	mmn_lock_acquire(&l[0], MMN_LOCKDEP_WRITE, 0, "chain");
	for (i = 1; i < ST_CHAIN; i++) {
		mmn_lock_acquire(&l[i], MMN_LOCKDEP_WRITE, 0, "chain");
		mmn_lock_release(&l[i - 1], "chain");
	}
	mmn_lock_release(&l[ST_CHAIN - 1], "chain");
	CHECK(71, mmn_lockdep_held_count() == 0);
	CHECK(72, mmn_lockdep_edges(ctx) == ST_CHAIN - 1);
	CHECK(73, mmn_lockdep_classes(ctx) == ST_CHAIN);
	CHECK(74, mmn_lockdep_cycles(ctx) == 0 && sink.n == 0);

	mmn_lock_acquire(&l[ST_CHAIN - 1], MMN_LOCKDEP_WRITE, 0, "wrap_last");
	mmn_lock_acquire(&l[0], MMN_LOCKDEP_WRITE, 0, "wrap_first");
	mmn_lock_release(&l[0], "wrap_first");
	mmn_lock_release(&l[ST_CHAIN - 1], "wrap_last");
	CHECK(75, mmn_lockdep_cycles(ctx) == 1 && sink.n == 1);
	CHECK(76, st_has(&sink, "-> #200 (L200)") &&
		  st_has(&sink, "L199 --> L200\n"));
	CHECK(77, mmn_lockdep_edges(ctx) == ST_CHAIN);
out:
	mmn_lockdep_destroy(ctx);
	st_sink_fini(&sink);
	free(l);
	return rc;
}

static int st_trylock(void)
{
	struct lockdep_map a, b, c;
	struct mmn_lockdep *ctx;
	struct st_sink sink;
	int rc = 0;

	st_sink_init(&sink);
	ctx = mmn_lockdep_create(st_report, &sink);
	lockdep_init_map(&a, "try_A", ctx);
	lockdep_init_map(&b, "try_B", ctx);
	lockdep_init_map(&c, "try_C", ctx);

	mmn_lock_acquire(&a, MMN_LOCKDEP_WRITE, 0, "t_a");
	mmn_lock_acquire(&b, MMN_LOCKDEP_WRITE, 1, "t_b_try");
	CHECK(80, mmn_lockdep_edges(ctx) == 0);
	CHECK(81, mmn_lockdep_held_count() == 2);
	/* held trylocks still precede what comes next */
	mmn_lock_acquire(&c, MMN_LOCKDEP_WRITE, 0, "t_c");
	CHECK(82, mmn_lockdep_edges(ctx) == 2);
	mmn_lock_release(&b, "t_b_try");
	mmn_lock_release(&c, "t_c");
	mmn_lock_release(&a, "t_a");
	CHECK(83, mmn_lockdep_held_count() == 0);

	/* B -> A is no cycle: A -> B was a trylock */
	mmn_lock_acquire(&b, MMN_LOCKDEP_WRITE, 0, "t_b");
	mmn_lock_acquire(&a, MMN_LOCKDEP_WRITE, 0, "t_a2");
	mmn_lock_release(&a, "t_a2");
	mmn_lock_release(&b, "t_b");
	CHECK(84, mmn_lockdep_edges(ctx) == 3);
	CHECK(85, mmn_lockdep_cycles(ctx) == 0 && sink.n == 0);

	/* but B -> C (from the held trylock) closes with C -> B */
	mmn_lock_acquire(&c, MMN_LOCKDEP_WRITE, 0, "t_c2");
	mmn_lock_acquire(&b, MMN_LOCKDEP_WRITE, 0, "t_b2");
	mmn_lock_release(&b, "t_b2");
	mmn_lock_release(&c, "t_c2");
	CHECK(86, mmn_lockdep_cycles(ctx) == 1 && sink.n == 1);
	CHECK(87, st_has(&sink, "t_b_try") && st_has(&sink, "t_b2"));
out:
	mmn_lockdep_destroy(ctx);
	st_sink_fini(&sink);
	return rc;
}

static int st_disabled(void)
{
	struct lockdep_map a, b;
	struct mmn_lockdep *ctx;
	struct st_sink sink;
	int rc = 0;

	st_sink_init(&sink);
	ctx = mmn_lockdep_create(st_report, &sink);
	lockdep_init_map(&a, "dis_A", ctx);
	lockdep_init_map(&b, "dis_B", ctx);
	CHECK(90, mmn_lockdep_enabled(ctx));
	mmn_lockdep_set_enabled(ctx, 0);
	CHECK(91, !mmn_lockdep_enabled(ctx));

	mmn_lock_acquire(&a, MMN_LOCKDEP_WRITE, 0, "d_a");
	mmn_lock_acquire(&b, MMN_LOCKDEP_WRITE, 0, "d_b");
	CHECK(92, mmn_lockdep_held_count() == 0);
	mmn_lock_release(&b, "d_b");
	mmn_lock_release(&a, "d_a");
	mmn_lock_acquire(&b, MMN_LOCKDEP_WRITE, 0, "d_b");
	mmn_lock_acquire(&a, MMN_LOCKDEP_WRITE, 0, "d_a");
	mmn_lock_release(&a, "d_a");
	mmn_lock_release(&b, "d_b");
	CHECK(93, mmn_lockdep_classes(ctx) == 0 && mmn_lockdep_edges(ctx) == 0);
	CHECK(94, mmn_lockdep_cycles(ctx) == 0 && sink.n == 0);

	/* enabled while A is held: A's release is ignored, no A -> B */
	mmn_lock_acquire(&a, MMN_LOCKDEP_WRITE, 0, "d_a");
	mmn_lockdep_set_enabled(ctx, 1);
	mmn_lock_acquire(&b, MMN_LOCKDEP_WRITE, 0, "d_b");
	mmn_lock_release(&a, "d_a");
	CHECK(95, mmn_lockdep_held_count() == 1);
	mmn_lock_release(&b, "d_b");
	CHECK(96, mmn_lockdep_held_count() == 0 && mmn_lockdep_edges(ctx) == 0);

	/* disabled while A is held: the missed release is forgotten */
	mmn_lock_acquire(&a, MMN_LOCKDEP_WRITE, 0, "d_a");
	mmn_lockdep_set_enabled(ctx, 0);
	mmn_lock_release(&a, "d_a");
	mmn_lockdep_set_enabled(ctx, 1);
	mmn_lock_acquire(&b, MMN_LOCKDEP_WRITE, 0, "d_b");
	CHECK(97, mmn_lockdep_held_count() == 1 && mmn_lockdep_edges(ctx) == 0);
	mmn_lock_release(&b, "d_b");
	CHECK(98, mmn_lockdep_held_count() == 0);

	/* a map with no context is never tracked */
	lockdep_init_map(&a, "dis_A", NULL);
	mmn_lock_acquire(&a, MMN_LOCKDEP_WRITE, 0, "d_a");
	CHECK(99, mmn_lockdep_held_count() == 0);
	mmn_lock_release(&a, "d_a");
out:
	mmn_lockdep_destroy(ctx);
	st_sink_fini(&sink);
	return rc;
}

static int st_two_contexts(void)
{
	struct lockdep_map a1, b1, a2, b2;
	struct mmn_lockdep *c1, *c2;
	struct st_sink s1, s2;
	int rc = 0;

	st_sink_init(&s1);
	st_sink_init(&s2);
	c1 = mmn_lockdep_create(st_report, &s1);
	c2 = mmn_lockdep_create(st_report, &s2);
	lockdep_init_map(&a1, "shared_A", c1);
	lockdep_init_map(&b1, "shared_B", c1);
	lockdep_init_map(&a2, "shared_A", c2);
	lockdep_init_map(&b2, "shared_B", c2);

	CHECK(100, !st_run("c1", &a1, "c1_a", &b1, "c1_b"));
	CHECK(101, !st_run("c2", &b2, "c2_b", &a2, "c2_a"));
	CHECK(102, mmn_lockdep_edges(c1) == 1 && mmn_lockdep_edges(c2) == 1);
	CHECK(103, mmn_lockdep_cycles(c1) == 0 && mmn_lockdep_cycles(c2) == 0);
	CHECK(104, s1.n == 0 && s2.n == 0);
	/* across contexts: no dependency at all */
	CHECK(105, !st_run("x", &b1, "x_b1", &a2, "x_a2"));
	CHECK(106, !st_run("y", &a2, "y_a2", &b1, "y_b1"));
	CHECK(107, mmn_lockdep_edges(c1) == 1 && mmn_lockdep_edges(c2) == 1);
	CHECK(108, mmn_lockdep_classes(c1) == 2 &&
		   mmn_lockdep_classes(c2) == 2);
	CHECK(109, s1.n == 0 && s2.n == 0);
out:
	mmn_lockdep_destroy(c1);
	mmn_lockdep_destroy(c2);
	st_sink_fini(&s1);
	st_sink_fini(&s2);
	return rc;
}

/* Same-class nesting; names built at run time: interned by content. */
static int st_recursive(void)
{
	char n1[8], n2[8];
	struct lockdep_map x1, x2;
	struct mmn_lockdep *ctx;
	struct st_sink sink;
	int rc = 0;

	snprintf(n1, sizeof(n1), "X%d", 1);
	snprintf(n2, sizeof(n2), "X%d", 1);
	st_sink_init(&sink);
	ctx = mmn_lockdep_create(st_report, &sink);
	lockdep_init_map(&x1, n1, ctx);
	lockdep_init_map(&x2, n2, ctx);

#define ST_NEST(k1, k2)						\
	do {							\
		mmn_lock_acquire(&x1, (k1), 0, "nest_outer");	\
		mmn_lock_acquire(&x2, (k2), 0, "nest_inner");	\
		mmn_lock_release(&x1, "nest_outer");		\
		mmn_lock_release(&x2, "nest_inner");		\
	} while (0)

	ST_NEST(MMN_LOCKDEP_RECURSIVE_READ, MMN_LOCKDEP_RECURSIVE_READ);
	ST_NEST(MMN_LOCKDEP_READ, MMN_LOCKDEP_RECURSIVE_READ);
	CHECK(110, mmn_lockdep_classes(ctx) == 1);
	CHECK(111, mmn_lockdep_cycles(ctx) == 0 && sink.n == 0);
	ST_NEST(MMN_LOCKDEP_READ, MMN_LOCKDEP_READ);
	CHECK(112, mmn_lockdep_cycles(ctx) == 1 && sink.n == 1);
	CHECK(113, st_has(&sink, "possible recursive locking detected"));
	CHECK(114, st_has(&sink, "nest_outer") && st_has(&sink, "nest_inner"));
	CHECK(115, st_has(&sink, "  rlock(X1);\n  rlock(X1);\n"));
	/* same -(SN)-> self edge as READ/READ: already reported */
	ST_NEST(MMN_LOCKDEP_RECURSIVE_READ, MMN_LOCKDEP_READ);
	CHECK(116, mmn_lockdep_cycles(ctx) == 1 && sink.n == 1);
	ST_NEST(MMN_LOCKDEP_WRITE, MMN_LOCKDEP_WRITE);
	CHECK(117, mmn_lockdep_cycles(ctx) == 2 && sink.n == 2);
	ST_NEST(MMN_LOCKDEP_WRITE, MMN_LOCKDEP_RECURSIVE_READ);
	CHECK(118, mmn_lockdep_cycles(ctx) == 3 && sink.n == 3);
	ST_NEST(MMN_LOCKDEP_WRITE, MMN_LOCKDEP_WRITE);
	ST_NEST(MMN_LOCKDEP_READ, MMN_LOCKDEP_READ);
	CHECK(119, mmn_lockdep_cycles(ctx) == 3 && sink.n == 3);
	CHECK(120, mmn_lockdep_edges(ctx) == 0 &&
		   mmn_lockdep_held_count() == 0);
#undef ST_NEST
out:
	mmn_lockdep_destroy(ctx);
	st_sink_fini(&sink);
	return rc;
}

/* Out-of-order release, unknown release, and the strong-path rule. */
static int st_order(void)
{
	struct lockdep_map a, b, c, d;
	struct mmn_lockdep *ctx;
	struct st_sink sink;
	int rc = 0;

	st_sink_init(&sink);
	ctx = mmn_lockdep_create(st_report, &sink);
	lockdep_init_map(&a, "o_A", ctx);
	lockdep_init_map(&b, "o_B", ctx);
	lockdep_init_map(&c, "o_C", ctx);
	lockdep_init_map(&d, "o_D", ctx);

	mmn_lock_acquire(&a, MMN_LOCKDEP_WRITE, 0, "o_a");
	mmn_lock_acquire(&b, MMN_LOCKDEP_WRITE, 0, "o_b");
	mmn_lock_acquire(&c, MMN_LOCKDEP_WRITE, 0, "o_c");
	mmn_lock_release(&b, "o_b");
	CHECK(130, mmn_lockdep_held_count() == 2);
	mmn_lock_release(&d, "o_d");	/* never taken: ignored */
	mmn_lock_release(&b, "o_b");	/* already released: ignored */
	CHECK(131, mmn_lockdep_held_count() == 2);
	mmn_lock_release(&a, "o_a");
	mmn_lock_release(&c, "o_c");
	CHECK(132, mmn_lockdep_held_count() == 0);
	CHECK(133, mmn_lockdep_edges(ctx) == 3);	/* AB AC BC */

	/*
	 * D -(ER)-> A, then A held shared -> D: A -(SN)-> D after an R
	 * arrival is not strong, so no report; A held exclusive -> D is.
	 */
	mmn_lock_acquire(&d, MMN_LOCKDEP_WRITE, 0, "o_d");
	mmn_lock_acquire(&a, MMN_LOCKDEP_RECURSIVE_READ, 0, "o_a_rr");
	mmn_lock_release(&a, "o_a_rr");
	mmn_lock_release(&d, "o_d");
	mmn_lock_acquire(&a, MMN_LOCKDEP_READ, 0, "o_a_r");
	mmn_lock_acquire(&d, MMN_LOCKDEP_WRITE, 0, "o_d2");
	mmn_lock_release(&d, "o_d2");
	mmn_lock_release(&a, "o_a_r");
	CHECK(134, mmn_lockdep_cycles(ctx) == 0 && sink.n == 0);
	mmn_lock_acquire(&a, MMN_LOCKDEP_WRITE, 0, "o_a_w");
	mmn_lock_acquire(&d, MMN_LOCKDEP_WRITE, 0, "o_d3");
	mmn_lock_release(&d, "o_d3");
	mmn_lock_release(&a, "o_a_w");
	CHECK(135, mmn_lockdep_cycles(ctx) == 1 && sink.n == 1);
	CHECK(136, st_has(&sink, "o_a_w") && st_has(&sink, "o_a_rr"));
out:
	mmn_lockdep_destroy(ctx);
	st_sink_fini(&sink);
	return rc;
}

/*
 * X -(ER)-> Y -(SN)-> Z -(EN)-> X: the -(ER)-> into Y followed by Y held
 * shared breaks the cycle, whichever edge comes last. Y held exclusive
 * (-(EN)->) makes it a deadlock.
 */
static void st_pair(struct lockdep_map *a, int ka, struct lockdep_map *b,
		    int kb, const char *site)
{
	mmn_lock_acquire(a, ka, 0, site);
	mmn_lock_acquire(b, kb, 0, site);
	mmn_lock_release(b, site);
	mmn_lock_release(a, site);
}

static int st_strong(void)
{
	struct lockdep_map x, y, z;
	struct mmn_lockdep *ctx;
	struct st_sink sink;
	int rc = 0, order;

	st_sink_init(&sink);
	for (order = 0; order < 3; order++) {
		ctx = mmn_lockdep_create(st_report, &sink);
		lockdep_init_map(&x, "s_X", ctx);
		lockdep_init_map(&y, "s_Y", ctx);
		lockdep_init_map(&z, "s_Z", ctx);
		if (order == 0) {
			st_pair(&x, 0, &y, MMN_LOCKDEP_RECURSIVE_READ, "xy");
			st_pair(&y, MMN_LOCKDEP_READ, &z, 0, "yz");
			st_pair(&z, 0, &x, 0, "zx");
		} else if (order == 1) {
			st_pair(&y, MMN_LOCKDEP_READ, &z, 0, "yz");
			st_pair(&z, 0, &x, 0, "zx");
			st_pair(&x, 0, &y, MMN_LOCKDEP_RECURSIVE_READ, "xy");
		} else {
			st_pair(&z, 0, &x, 0, "zx");
			st_pair(&x, 0, &y, MMN_LOCKDEP_RECURSIVE_READ, "xy");
			st_pair(&y, MMN_LOCKDEP_READ, &z, 0, "yz");
		}
		CHECK(170 + order, mmn_lockdep_edges(ctx) == 3);
		CHECK(173 + order, mmn_lockdep_cycles(ctx) == 0 && sink.n == 0);
		/* Y exclusive -> Z: strong */
		st_pair(&y, MMN_LOCKDEP_WRITE, &z, 0, "yz_w");
		CHECK(176 + order, mmn_lockdep_cycles(ctx) == 1 &&
				   sink.n == 1);
		CHECK(179 + order, st_has(&sink, "yz_w") && st_has(&sink, "xy") &&
				   st_has(&sink, "zx"));
		mmn_lockdep_destroy(ctx);
		ctx = NULL;
		sink.n = 0;
	}
out:
	mmn_lockdep_destroy(ctx);
	st_sink_fini(&sink);
	return rc;
}

#define ST_DEEP 49
static int st_overflow(void)
{
	static char names[ST_DEEP][8];
	struct lockdep_map m[ST_DEEP], a, b;
	struct mmn_lockdep *ctx;
	struct st_sink sink;
	int rc = 0, i;

	st_sink_init(&sink);
	ctx = mmn_lockdep_create(st_report, &sink);
	for (i = 0; i < ST_DEEP; i++) {
		snprintf(names[i], sizeof(names[i]), "D%d", i);
		lockdep_init_map(&m[i], names[i], ctx);
	}
	lockdep_init_map(&a, "ov_A", ctx);
	lockdep_init_map(&b, "ov_B", ctx);

	for (i = 0; i < ST_DEEP; i++)
		mmn_lock_acquire(&m[i], MMN_LOCKDEP_WRITE, 0, "deep");
	CHECK(140, sink.n == 1 && st_has(&sink, "MAX_LOCK_DEPTH too low"));
	CHECK(141, mmn_lockdep_held_count() == ST_DEEP - 1);
	CHECK(142, mmn_lockdep_cycles(ctx) == 0);
	for (i = ST_DEEP - 1; i >= 0; i--)
		mmn_lock_release(&m[i], "deep");
	CHECK(143, mmn_lockdep_held_count() == 0);
	/* the context stopped tracking: nothing more is recorded */
	CHECK(144, !st_run("ov1", &a, "ov_a", &b, "ov_b"));
	CHECK(145, !st_run("ov2", &b, "ov_b", &a, "ov_a"));
	CHECK(146, sink.n == 1 && mmn_lockdep_cycles(ctx) == 0);
out:
	mmn_lockdep_destroy(ctx);
	st_sink_fini(&sink);
	return rc;
}

/* Several threads at once; the outcome does not depend on interleaving. */
static int st_parallel(void)
{
	struct lockdep_map p, s, *m[2] = { &p, &s };
	struct mmn_lockdep *ctx;
	struct st_sink sink;
	pthread_t t[4];
	int rc = 0, i, n = 0;

	st_sink_init(&sink);
	ctx = mmn_lockdep_create(st_report, &sink);
	lockdep_init_map(&p, "mmu_notifier_invalidate_range_start", ctx);
	lockdep_init_map(&s, "&kvm->mmu_notifier_slots_lock", ctx);
	for (i = 0; i < 4; i++)
		if (!pthread_create(&t[i], NULL, st_kvm_fn, m))
			n++;
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	CHECK(150, n == 4);
	CHECK(151, mmn_lockdep_edges(ctx) == 2 && mmn_lockdep_classes(ctx) == 2);
	CHECK(152, mmn_lockdep_cycles(ctx) == 0 && sink.n == 0);
out:
	mmn_lockdep_destroy(ctx);
	st_sink_fini(&sink);
	return rc;
}

static void *st_main(void *arg)
{
	int *rc = arg;

	mmn_lockdep_set_thread_name("selftest");
	if ((*rc = st_abba()) || (*rc = st_three()) ||
	    (*rc = st_kvm(MMN_LOCKDEP_RECURSIVE_READ)) ||
	    (*rc = st_kvm(MMN_LOCKDEP_READ)) || (*rc = st_chain()) ||
	    (*rc = st_trylock()) || (*rc = st_disabled()) ||
	    (*rc = st_two_contexts()) || (*rc = st_recursive()) ||
	    (*rc = st_order()) || (*rc = st_strong()) ||
	    (*rc = st_overflow()) || (*rc = st_parallel()))
		return NULL;
	if (mmn_lockdep_held_count())
		*rc = 160;
	return NULL;
}

int mmn_selftest_lockdep(void)
{
	pthread_t t;
	int rc = 0;

	if (pthread_create(&t, NULL, st_main, &rc))
		return 161;
	pthread_join(t, NULL);
	return rc;
}
