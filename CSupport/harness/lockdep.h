/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lockdep.h - a userspace lock-dependency validator with lockdep's core idea.
 *
 * Models (kernel/locking/lockdep.c, v5.11+):
 *  - one class per lock, every acquisition of B while A is held records the
 *    dependency A -> B, and a new dependency is checked for a cycle at once,
 *    whether or not any thread ever blocks;
 *  - read/recursive-read dependencies: an edge remembers whether the held
 *    lock was Shared or Exclusive and whether the new lock was taken as a
 *    Recursive read or Non-recursively, and only "strong" cycles (no -(*R)->
 *    followed by -(S*)->) are deadlocks (the v5.11 rule);
 *  - same-class nesting ("possible recursive locking detected");
 *  - trylocks add no dependency but are held, so later locks depend on them;
 *  - locks may stay held across function returns and be released out of
 *    order (range_start acquires, range_end releases).
 *
 * Does not model: irq-safety / usage-state checks, hardirq/softirq contexts,
 * lock chains hashing, subclasses / nesting annotations, wait-type checks.
 * Classes are identified by name string, not by a static lock_class_key.
 *
 * Layout contract: struct mmn_lockdep is opaque, but it begins with
 * struct mmn_lockdep_head, so the inline wrappers below can test
 * map->ctx->enabled with one relaxed load and stay out of line otherwise.
 *
 * Call-site strings passed to mmn_lock_acquire() are kept by pointer while
 * the lock is held (use literals or __func__); they are copied into the
 * graph when they make an edge.
 */
#ifndef MMN_HARNESS_LOCKDEP_H
#define MMN_HARNESS_LOCKDEP_H

#ifdef __cplusplus
extern "C" {
#endif

struct mmn_lockdep;

/* First member of struct mmn_lockdep; nothing else of it is public. */
struct mmn_lockdep_head {
	int enabled;		/* read relaxed by the fast path */
};

struct lockdep_map {
	const char *name;	/* class name: same string => same class */
	struct mmn_lockdep *ctx;	/* NULL: never tracked */
	void *class_cache;	/* private, set on first tracked acquire */
};

enum {
	MMN_LOCKDEP_WRITE = 0,		/* exclusive */
	MMN_LOCKDEP_READ = 1,		/* shared, queues behind a writer */
	MMN_LOCKDEP_RECURSIVE_READ = 2,	/* shared, never waits for a writer */
};

/*
 * A context holds one dependency graph, shared by all threads. It is created
 * enabled. report() gets each splat as one NUL-terminated string (NULL
 * report: the text goes to stderr); it is called without internal locks held
 * and may itself take tracked locks.
 */
struct mmn_lockdep *mmn_lockdep_create(void (*report)(void *arg,
						      const char *text),
				       void *arg);
/* Only when no thread holds (or is acquiring) one of its locks. */
void mmn_lockdep_destroy(struct mmn_lockdep *ctx);
/*
 * Locks taken while disabled are not tracked, and releasing them later is
 * ignored. Locks still held when a context is disabled are forgotten when
 * it is enabled again.
 */
void mmn_lockdep_set_enabled(struct mmn_lockdep *ctx, int enabled);
int mmn_lockdep_enabled(const struct mmn_lockdep *ctx);

void lockdep_init_map(struct lockdep_map *map, const char *name,
		      struct mmn_lockdep *ctx);

/* Out-of-line slow paths; call the inline wrappers instead. */
void __mmn_lock_acquire(struct lockdep_map *map, int read, int trylock,
			const char *site);
void __mmn_lock_release(struct lockdep_map *map, const char *site);

static inline int mmn_lockdep_map_tracked(const struct lockdep_map *map)
{
	const struct mmn_lockdep_head *head =
		(const struct mmn_lockdep_head *)map->ctx;

	return head && __atomic_load_n(&head->enabled, __ATOMIC_RELAXED);
}

/* read: MMN_LOCKDEP_WRITE / _READ / _RECURSIVE_READ; trylock: 0 or 1. */
static inline void mmn_lock_acquire(struct lockdep_map *map, int read,
				    int trylock, const char *site)
{
	if (__builtin_expect(mmn_lockdep_map_tracked(map), 0))
		__mmn_lock_acquire(map, read, trylock, site);
}

static inline void mmn_lock_release(struct lockdep_map *map, const char *site)
{
	if (__builtin_expect(mmn_lockdep_map_tracked(map), 0))
		__mmn_lock_release(map, site);
}

unsigned mmn_lockdep_cycles(const struct mmn_lockdep *ctx); /* reports so far */
unsigned mmn_lockdep_classes(const struct mmn_lockdep *ctx);
unsigned mmn_lockdep_edges(const struct mmn_lockdep *ctx);

/* Per-thread name used in reports; default "task". Copied (31 chars max). */
void mmn_lockdep_set_thread_name(const char *name);
/* This thread's held-stack depth over all contexts, for tests. */
unsigned mmn_lockdep_held_count(void);

/* lockdep_selftest.c: 0 on success, else the number of the failed check. */
int mmn_selftest_lockdep(void);

#ifdef __cplusplus
}
#endif

#endif /* MMN_HARNESS_LOCKDEP_H */
