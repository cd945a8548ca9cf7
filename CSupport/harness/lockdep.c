// SPDX-License-Identifier: GPL-2.0-only
/*
 * lockdep.c - lock-dependency validator for the mmu_notifier harness.
 *
 * Models the core of kernel/locking/lockdep.c as of v5.11+: a graph of lock
 * classes with an edge A -> B for every "B acquired while A held", checked
 * for a cycle as soon as the edge appears, with the read/recursive-read
 * dependency types (-(ER)->, -(EN)->, -(SR)->, -(SN)->) and the "strong path"
 * rule: a cycle is a deadlock unless some edge taken as a recursive read is
 * followed by an edge whose holder held its lock shared. This is exactly what
 * tells the rwsem version of KVM's mmu_notifier_slots_lock (readers that
 * queue behind a writer: reported) from Paolo's open-coded count (recursive
 * readers: not reported), see commit 52ac8b358b.
 *
 * Not modelled: irq-safe/unsafe usage states and their inversions, hardirq
 * and softirq contexts, chain-key caching, subclasses, nest_lock, wait types,
 * lock_pin, crossrelease. Classes are keyed by their name string, not by a
 * static struct lock_class_key. Unlike lockdep, a report does not switch the
 * validator off: the edge is kept and checking goes on (each distinct cycle
 * is reported once); only a held-stack overflow stops a context.
 *
 * Concurrency: the graph of a context is protected by ctx->lock (slow path).
 * The held stack is thread-local and never touched by other threads; its
 * entries name their context by a never-reused id, so an entry whose
 * context died or was disabled meanwhile is never dereferenced.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

#include "lockdep.h"

#define LD_MAX_DEPTH	48	/* lockdep's MAX_LOCK_DEPTH */
#define LD_ECACHE	128	/* per-thread cache of known edges, power of 2 */
#define LD_COMM_LEN	32

struct ld_edge;

struct ld_class {
	const char *name;		/* interned */
	unsigned int id;		/* index in ctx->classes */
	uint32_t hash;
	struct ld_class *hnext;		/* name hash chain */
	struct ld_edge *out;		/* dependencies this -> other */
};

/* prev -> next: next was acquired while prev was held */
struct ld_edge {
	struct ld_class *from, *to;
	unsigned char prev_shared;	/* S (1) or E (0) */
	unsigned char next_recursive;	/* R (1) or N (0) */
	unsigned char prev_read, next_read;	/* kinds as first seen */
	const char *prev_site, *next_site, *comm;	/* interned */
	struct ld_edge *next_out;
};

struct ld_str {
	struct ld_str *next;
	uint32_t hash;
	char s[];
};

struct ld_key {
	unsigned int len;
	uint32_t *k;
};

struct mmn_lockdep {
	struct mmn_lockdep_head head;	/* must stay first, see lockdep.h */
	uint64_t id;			/* never reused: held entries use it */
	unsigned int epoch;		/* bumped when enabled: older entries stale */
	int off;			/* held stack overflowed: stop tracking */
	int overflow_reported;
	void (*report)(void *arg, const char *text);
	void *report_arg;

	pthread_mutex_t lock;		/* everything below */
	struct ld_class **classes;
	unsigned int nr_classes, cap_classes;
	struct ld_class **chash;
	unsigned int chash_size;
	struct ld_str **shash;
	unsigned int shash_size, nr_strs;
	unsigned int nr_edges;
	unsigned int nr_cycles;
	struct ld_key *keys;		/* reported cycles, canonical rotation */
	unsigned int nr_keys, cap_keys;
	/* BFS scratch over (class, arrived-via-R) states: 2 * cap_classes */
	unsigned int *bfs_mark, bfs_gen;
	int *bfs_parent;
	struct ld_edge **bfs_edge;
	unsigned int *bfs_queue;
};

struct ld_held {
	struct lockdep_map *map;	/* compared only, never dereferenced */
	struct ld_class *cls;		/* valid while ctx_id's context lives */
	const char *site;
	uint64_t ctx_id;
	unsigned int epoch;
	unsigned char read, trylock;
};

struct ld_ecache_ent {
	uint64_t ctx_id;
	const void *a, *b;
	unsigned int flags;
};

struct ld_report {
	struct ld_report *next;
	char *text;
};

static __thread struct ld_held ld_stack[LD_MAX_DEPTH];
static __thread unsigned int ld_depth;
static __thread char ld_comm[LD_COMM_LEN];
static __thread long ld_tid;
static __thread struct ld_ecache_ent ld_ecache[LD_ECACHE];

static uint64_t ld_next_id = 1;

/* Live contexts, consulted only to reclaim stack slots on overflow. */
struct ld_reg_ent {
	uint64_t id;
	struct mmn_lockdep *ctx;
};
static pthread_mutex_t ld_reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ld_reg_ent *ld_reg;
static unsigned int ld_nr_reg, ld_cap_reg;

/* ------------------------------------------------------------------ */
/* small helpers */

static void *ld_zalloc(size_t size)
{
	void *p = calloc(1, size ? size : 1);

	if (!p) {
		fputs("mmn lockdep: out of memory\n", stderr);
		abort();
	}
	return p;
}

static void *ld_realloc(void *old, size_t size)
{
	void *p = realloc(old, size ? size : 1);

	if (!p) {
		fputs("mmn lockdep: out of memory\n", stderr);
		abort();
	}
	return p;
}

static uint32_t ld_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static const char *ld_comm_name(void)
{
	return ld_comm[0] ? ld_comm : "task";
}

static long ld_gettid(void)
{
	if (!ld_tid) {
#if defined(__linux__) && defined(SYS_gettid)
		ld_tid = (long)syscall(SYS_gettid);
#else
		ld_tid = (long)(uintptr_t)pthread_self();
#endif
	}
	return ld_tid;
}

struct sbuf {
	char *s;
	size_t len, cap;
};

static void sb_printf(struct sbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap, aq;
	int n;

	va_start(ap, fmt);
	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		n = 0;
	if (sb->len + (size_t)n + 1 > sb->cap) {
		size_t cap = sb->cap ? sb->cap : 1024;

		while (sb->len + (size_t)n + 1 > cap)
			cap *= 2;
		sb->s = ld_realloc(sb->s, cap);
		sb->cap = cap;
	}
	vsnprintf(sb->s + sb->len, sb->cap - sb->len, fmt, ap);
	sb->len += (size_t)n;
	va_end(ap);
}

static const char *ld_usage(unsigned int read)
{
	return read ? ".+.+" : "+.+.";
}

static const char *ld_kind(unsigned int read)
{
	return read == 2 ? "recursive-read" : read ? "read" : "write";
}

static const char *ld_verb(unsigned int read)
{
	return read ? "rlock" : "lock";
}

/* ------------------------------------------------------------------ */
/* interning (ctx->lock held) */

static const char *ld_intern(struct mmn_lockdep *ctx, const char *s)
{
	uint32_t h = ld_hash(s);
	struct ld_str *e;
	size_t len;

	for (e = ctx->shash[h & (ctx->shash_size - 1)]; e; e = e->next)
		if (e->hash == h && !strcmp(e->s, s))
			return e->s;

	if (ctx->nr_strs >= ctx->shash_size) {
		unsigned int nsize = ctx->shash_size * 2, i;
		struct ld_str **nh = ld_zalloc(nsize * sizeof(*nh));

		for (i = 0; i < ctx->shash_size; i++) {
			while ((e = ctx->shash[i])) {
				ctx->shash[i] = e->next;
				e->next = nh[e->hash & (nsize - 1)];
				nh[e->hash & (nsize - 1)] = e;
			}
		}
		free(ctx->shash);
		ctx->shash = nh;
		ctx->shash_size = nsize;
	}

	len = strlen(s);
	e = ld_zalloc(sizeof(*e) + len + 1);
	memcpy(e->s, s, len + 1);
	e->hash = h;
	e->next = ctx->shash[h & (ctx->shash_size - 1)];
	ctx->shash[h & (ctx->shash_size - 1)] = e;
	ctx->nr_strs++;
	return e->s;
}

static struct ld_class *ld_class_get(struct mmn_lockdep *ctx, const char *name)
{
	uint32_t h = ld_hash(name);
	struct ld_class *c;
	unsigned int i;

	for (c = ctx->chash[h & (ctx->chash_size - 1)]; c; c = c->hnext)
		if (c->hash == h && !strcmp(c->name, name))
			return c;

	if (ctx->nr_classes == ctx->cap_classes) {
		unsigned int ncap = ctx->cap_classes * 2;
		size_t states = 2 * (size_t)ncap;

		ctx->classes = ld_realloc(ctx->classes,
					  ncap * sizeof(*ctx->classes));
		ctx->bfs_mark = ld_realloc(ctx->bfs_mark,
					   states * sizeof(*ctx->bfs_mark));
		/* 0 never equals a live generation, so new states are unseen */
		memset(ctx->bfs_mark + 2 * ctx->cap_classes, 0,
		       2 * (size_t)ctx->cap_classes * sizeof(*ctx->bfs_mark));
		ctx->bfs_parent = ld_realloc(ctx->bfs_parent,
					     states * sizeof(*ctx->bfs_parent));
		ctx->bfs_edge = ld_realloc(ctx->bfs_edge,
					   states * sizeof(*ctx->bfs_edge));
		ctx->bfs_queue = ld_realloc(ctx->bfs_queue,
					    states * sizeof(*ctx->bfs_queue));
		ctx->cap_classes = ncap;
	}
	if (ctx->nr_classes >= ctx->chash_size) {
		unsigned int nsize = ctx->chash_size * 2;
		struct ld_class **nh = ld_zalloc(nsize * sizeof(*nh));

		for (i = 0; i < ctx->nr_classes; i++) {
			c = ctx->classes[i];
			c->hnext = nh[c->hash & (nsize - 1)];
			nh[c->hash & (nsize - 1)] = c;
		}
		free(ctx->chash);
		ctx->chash = nh;
		ctx->chash_size = nsize;
	}

	c = ld_zalloc(sizeof(*c));
	c->name = ld_intern(ctx, name);
	c->hash = h;
	c->id = ctx->nr_classes;
	c->hnext = ctx->chash[h & (ctx->chash_size - 1)];
	ctx->chash[h & (ctx->chash_size - 1)] = c;
	ctx->classes[c->id] = c;
	__atomic_store_n(&ctx->nr_classes, ctx->nr_classes + 1,
			 __ATOMIC_RELAXED);
	return c;
}

/* ------------------------------------------------------------------ */
/* per-thread state */

static void ld_stack_remove(unsigned int i)
{
	memmove(&ld_stack[i], &ld_stack[i + 1],
		(ld_depth - i - 1) * sizeof(ld_stack[0]));
	ld_depth--;
}

/* Entries left behind by a disable/enable cycle of this context. */
static void ld_drop_stale(uint64_t id, unsigned int epoch)
{
	unsigned int i = ld_depth;

	while (i--)
		if (ld_stack[i].ctx_id == id && ld_stack[i].epoch != epoch)
			ld_stack_remove(i);
}

/* Full stack: reclaim entries of dead contexts and stale epochs. */
static void ld_compact(void)
{
	unsigned int i = ld_depth, j;

	pthread_mutex_lock(&ld_reg_lock);
	while (i--) {
		int live = 0;

		for (j = 0; j < ld_nr_reg; j++) {
			if (ld_reg[j].id != ld_stack[i].ctx_id)
				continue;
			live = __atomic_load_n(&ld_reg[j].ctx->epoch,
					       __ATOMIC_RELAXED) ==
			       ld_stack[i].epoch;
			break;
		}
		if (!live)
			ld_stack_remove(i);
	}
	pthread_mutex_unlock(&ld_reg_lock);
}

static unsigned int ld_flags(unsigned int held_read, unsigned int read)
{
	return (held_read ? 2u : 0u) | (read == 2 ? 1u : 0u);
}

static struct ld_ecache_ent *ld_ecache_slot(uint64_t id, const void *a,
					    const void *b, unsigned int flags)
{
	uint64_t h = id * 0x9e3779b97f4a7c15ull;

	h ^= (uint64_t)(uintptr_t)a * 0xc2b2ae3d27d4eb4full;
	h ^= (uint64_t)(uintptr_t)b * 0x165667b19e3779f9ull;
	h ^= flags;
	h ^= h >> 29;
	return &ld_ecache[(h * 0xbf58476d1ce4e5b9ull >> 40) & (LD_ECACHE - 1)];
}

static int ld_ecache_hit(uint64_t id, const void *a, const void *b,
			 unsigned int flags)
{
	struct ld_ecache_ent *e = ld_ecache_slot(id, a, b, flags);

	return e->ctx_id == id && e->a == a && e->b == b && e->flags == flags;
}

static void ld_ecache_set(uint64_t id, const void *a, const void *b,
			  unsigned int flags)
{
	struct ld_ecache_ent *e = ld_ecache_slot(id, a, b, flags);

	e->ctx_id = id;
	e->a = a;
	e->b = b;
	e->flags = flags;
}

/* ------------------------------------------------------------------ */
/* reports (ctx->lock held while building) */

static void ld_print_held(struct sbuf *sb, struct mmn_lockdep *ctx)
{
	unsigned int i, n = 0;

	for (i = 0; i < ld_depth; i++)
		if (ld_stack[i].ctx_id == ctx->id)
			n++;
	if (!n) {
		sb_printf(sb, "no locks held by %s/%ld.\n", ld_comm_name(),
			  ld_gettid());
		return;
	}
	sb_printf(sb, "%u lock%s held by %s/%ld:\n", n, n > 1 ? "s" : "",
		  ld_comm_name(), ld_gettid());
	for (i = 0, n = 0; i < ld_depth; i++) {
		struct ld_held *h = &ld_stack[i];

		if (h->ctx_id != ctx->id)
			continue;
		sb_printf(sb, " #%u: (%s){%s}-{%s%s}, at: %s\n", n++,
			  h->cls->name, ld_usage(h->read), ld_kind(h->read),
			  h->trylock ? ",trylock" : "", h->site);
	}
}

static void ld_queue(struct ld_report **list, char *text)
{
	struct ld_report *r = ld_zalloc(sizeof(*r)), **p = list;

	r->text = text;
	while (*p)		/* keep discovery order */
		p = &(*p)->next;
	*p = r;
}

static void ld_deliver(struct mmn_lockdep *ctx, struct ld_report *list)
{
	while (list) {
		struct ld_report *next = list->next;

		if (ctx->report)
			ctx->report(ctx->report_arg, list->text);
		else
			fputs(list->text, stderr);
		free(list->text);
		free(list);
		list = next;
	}
}

/* Returns 1 if this cycle (as a rotation-normalised edge sequence) is new. */
static int ld_key_new(struct mmn_lockdep *ctx, const uint32_t *seq,
		      unsigned int n)
{
	unsigned int best = 0, r, i;
	uint32_t *k;

	for (r = 1; r < n; r++) {
		for (i = 0; i < n; i++) {
			uint32_t x = seq[(r + i) % n], y = seq[(best + i) % n];

			if (x != y) {
				if (x < y)
					best = r;
				break;
			}
		}
	}
	k = ld_zalloc(n * sizeof(*k));
	for (i = 0; i < n; i++)
		k[i] = seq[(best + i) % n];

	for (r = 0; r < ctx->nr_keys; r++) {
		if (ctx->keys[r].len == n &&
		    !memcmp(ctx->keys[r].k, k, n * sizeof(*k))) {
			free(k);
			return 0;
		}
	}
	if (ctx->nr_keys == ctx->cap_keys) {
		ctx->cap_keys = ctx->cap_keys ? 2 * ctx->cap_keys : 8;
		ctx->keys = ld_realloc(ctx->keys,
				       ctx->cap_keys * sizeof(*ctx->keys));
	}
	ctx->keys[ctx->nr_keys].len = n;
	ctx->keys[ctx->nr_keys].k = k;
	ctx->nr_keys++;
	__atomic_store_n(&ctx->nr_cycles, ctx->nr_cycles + 1, __ATOMIC_RELAXED);
	return 1;
}

static uint32_t ld_edge_word(const struct ld_class *from, unsigned int s,
			     unsigned int r)
{
	return (uint32_t)from->id << 2 | s << 1 | r;
}

static char *ld_report_recursive(struct mmn_lockdep *ctx,
				 const struct ld_held *h, unsigned int read,
				 const char *site)
{
	struct sbuf sb = { 0 };

	sb_printf(&sb, "============================================\n"
		  "WARNING: possible recursive locking detected\n"
		  "--------------------------------------------\n");
	sb_printf(&sb, "%s/%ld is trying to acquire lock:\n", ld_comm_name(),
		  ld_gettid());
	sb_printf(&sb, "(%s){%s}-{%s}, at: %s\n\n", h->cls->name,
		  ld_usage(read), ld_kind(read), site);
	sb_printf(&sb, "but task is already holding lock:\n");
	sb_printf(&sb, "(%s){%s}-{%s}, at: %s\n\n", h->cls->name,
		  ld_usage(h->read), ld_kind(h->read), h->site);
	sb_printf(&sb, "other info that might help us debug this:\n");
	sb_printf(&sb, " Possible unsafe locking scenario:\n\n"
		  "       CPU0\n"
		  "       ----\n");
	sb_printf(&sb, "  %s(%s);\n", ld_verb(h->read), h->cls->name);
	sb_printf(&sb, "  %s(%s);\n", ld_verb(read), h->cls->name);
	sb_printf(&sb, "\n *** DEADLOCK ***\n\n");
	if (h->read && read == 1)
		sb_printf(&sb, " A writer queued between the two read "
			  "acquisitions blocks the second one.\n\n");
	else
		sb_printf(&sb, " May be due to missing lock nesting "
			  "notation\n\n");
	ld_print_held(&sb, ctx);
	return sb.s;
}

/*
 * path[0..k-1] is the existing chain new -> ... -> held; ne is the new edge
 * held -> new. Printed like print_circular_bug(): #k..#1 are the chain's
 * edges (each with the site that created it), #0 is this acquisition.
 */
static char *ld_report_cycle(struct mmn_lockdep *ctx, const struct ld_held *h,
			     const struct ld_edge *ne, struct ld_edge **path,
			     unsigned int k)
{
	const struct ld_class *a = h->cls, *b = ne->to, *parent;
	const struct ld_edge *last = path[k - 1];
	struct sbuf sb = { 0 };
	unsigned int j;

	sb_printf(&sb, "======================================================\n"
		  "WARNING: possible circular locking dependency detected\n"
		  "------------------------------------------------------\n");
	sb_printf(&sb, "%s/%ld is trying to acquire lock:\n", ld_comm_name(),
		  ld_gettid());
	sb_printf(&sb, "(%s){%s}-{%s}, at: %s\n\n", b->name,
		  ld_usage(ne->next_read), ld_kind(ne->next_read),
		  ne->next_site);
	sb_printf(&sb, "but task is already holding lock:\n");
	sb_printf(&sb, "(%s){%s}-{%s}, at: %s\n\n", a->name,
		  ld_usage(h->read), ld_kind(h->read), h->site);
	sb_printf(&sb, "which lock already depends on the new lock.\n\n");
	sb_printf(&sb, "the existing dependency chain (in reverse order) "
		  "is:\n\n");
	for (j = k; j >= 1; j--) {
		const struct ld_edge *e = path[j - 1];

		sb_printf(&sb, "-> #%u (%s){%s}-{%s}:\n", j, e->to->name,
			  ld_usage(e->next_read), ld_kind(e->next_read));
		sb_printf(&sb, "       %s\n", e->next_site);
		sb_printf(&sb, "       while holding (%s){%s}-{%s}, at: %s\n",
			  e->from->name, ld_usage(e->prev_read),
			  ld_kind(e->prev_read), e->prev_site);
		sb_printf(&sb, "       [%s]\n\n", e->comm);
	}
	sb_printf(&sb, "-> #0 (%s){%s}-{%s}:\n", b->name,
		  ld_usage(ne->next_read), ld_kind(ne->next_read));
	sb_printf(&sb, "       %s\n", ne->next_site);
	sb_printf(&sb, "       while holding (%s){%s}-{%s}, at: %s\n",
		  a->name, ld_usage(h->read), ld_kind(h->read), h->site);
	sb_printf(&sb, "       [%s]\n\n", ne->comm);

	sb_printf(&sb, "other info that might help us debug this:\n\n");
	parent = last->from;
	if (k > 1) {
		sb_printf(&sb, "Chain exists of:\n  %s", b->name);
		for (j = 0; j < k; j++)
			sb_printf(&sb, " --> %s", path[j]->to->name);
		sb_printf(&sb, "\n\n");
	}
	sb_printf(&sb, " Possible unsafe locking scenario:\n\n"
		  "       CPU0                    CPU1\n"
		  "       ----                    ----\n");
	sb_printf(&sb, "  %s(%s);\n", ld_verb(h->read), a->name);
	sb_printf(&sb, "                               %s(%s);\n",
		  ld_verb(last->prev_read), parent->name);
	sb_printf(&sb, "                               %s(%s);\n",
		  ld_verb(last->next_read), a->name);
	sb_printf(&sb, "  %s(%s);\n", ld_verb(ne->next_read), b->name);
	sb_printf(&sb, "\n *** DEADLOCK ***\n\n");
	ld_print_held(&sb, ctx);
	return sb.s;
}

/* ------------------------------------------------------------------ */
/* the graph (ctx->lock held) */

/*
 * Is there a path b -> ... -> a that makes a strong cycle with the new edge
 * a -> b of type (s, r)? BFS over (class, arrived-via-R) states: an edge
 * -(S*)-> may not follow an -(*R)-> arrival, the first edge out of b follows
 * the new edge and the new edge follows the arrival at a. Returns the path
 * length and fills *pathp (malloc'ed), or 0.
 */
static unsigned int ld_find_path(struct mmn_lockdep *ctx, struct ld_class *a,
				 struct ld_class *b, unsigned int s,
				 unsigned int r, struct ld_edge ***pathp)
{
	unsigned int head = 0, tail = 0, st, gen, k;
	struct ld_edge **path;
	int found = -1, i;

	gen = ++ctx->bfs_gen;
	if (!gen) {
		memset(ctx->bfs_mark, 0,
		       2 * (size_t)ctx->cap_classes * sizeof(*ctx->bfs_mark));
		gen = ctx->bfs_gen = 1;
	}

	st = b->id * 2 + r;
	ctx->bfs_mark[st] = gen;
	ctx->bfs_parent[st] = -1;
	ctx->bfs_edge[st] = NULL;
	ctx->bfs_queue[tail++] = st;

	while (head < tail) {
		struct ld_class *c;
		unsigned int via_r;
		struct ld_edge *e;

		st = ctx->bfs_queue[head++];
		c = ctx->classes[st / 2];
		via_r = st & 1;
		if (c == a && !(via_r && s)) {
			found = (int)st;
			break;
		}
		for (e = c->out; e; e = e->next_out) {
			unsigned int ns;

			if (via_r && e->prev_shared)
				continue;
			ns = e->to->id * 2 + e->next_recursive;
			if (ctx->bfs_mark[ns] == gen)
				continue;
			ctx->bfs_mark[ns] = gen;
			ctx->bfs_parent[ns] = (int)st;
			ctx->bfs_edge[ns] = e;
			ctx->bfs_queue[tail++] = ns;
		}
	}
	if (found < 0)
		return 0;

	k = 0;
	for (i = found; ctx->bfs_parent[i] >= 0; i = ctx->bfs_parent[i])
		k++;
	path = ld_zalloc(k * sizeof(*path));
	st = k;
	for (i = found; ctx->bfs_parent[i] >= 0; i = ctx->bfs_parent[i])
		path[--st] = ctx->bfs_edge[i];
	*pathp = path;
	return k;
}

static struct ld_edge *ld_edge_find(struct ld_class *a, struct ld_class *b,
				    unsigned int s, unsigned int r)
{
	struct ld_edge *e;

	for (e = a->out; e; e = e->next_out)
		if (e->to == b && e->prev_shared == s && e->next_recursive == r)
			return e;
	return NULL;
}

/* Held lock h, acquiring class b: record h -> b and check it. */
static void ld_check_pair(struct mmn_lockdep *ctx, const struct ld_held *h,
			  struct ld_class *b, unsigned int read,
			  const char *site, struct ld_report **reports)
{
	unsigned int s = h->read != 0, r = read == 2, k;
	struct ld_class *a = h->cls;
	struct ld_edge **path = NULL, *e;

	if (a == b) {
		uint32_t w = ld_edge_word(a, s, r);

		/* only a recursive read inside a read hold is fine */
		if (!(s && r) && ld_key_new(ctx, &w, 1))
			ld_queue(reports, ld_report_recursive(ctx, h, read,
							      site));
		return;
	}
	if (ld_edge_find(a, b, s, r))
		return;

	k = ld_find_path(ctx, a, b, s, r, &path);

	e = ld_zalloc(sizeof(*e));
	e->from = a;
	e->to = b;
	e->prev_shared = (unsigned char)s;
	e->next_recursive = (unsigned char)r;
	e->prev_read = h->read;
	e->next_read = (unsigned char)read;
	e->prev_site = ld_intern(ctx, h->site);
	e->next_site = ld_intern(ctx, site);
	e->comm = ld_intern(ctx, ld_comm_name());
	e->next_out = a->out;
	a->out = e;
	__atomic_store_n(&ctx->nr_edges, ctx->nr_edges + 1, __ATOMIC_RELAXED);

	if (k) {
		uint32_t *seq = ld_zalloc((k + 1) * sizeof(*seq));
		unsigned int j;

		seq[0] = ld_edge_word(a, s, r);
		for (j = 0; j < k; j++)
			seq[j + 1] = ld_edge_word(path[j]->from,
						  path[j]->prev_shared,
						  path[j]->next_recursive);
		if (ld_key_new(ctx, seq, k + 1))
			ld_queue(reports, ld_report_cycle(ctx, h, e, path, k));
		free(seq);
		free(path);
	}
}

static void ld_overflow(struct mmn_lockdep *ctx, struct lockdep_map *map,
			const char *site)
{
	struct ld_report *reports = NULL;

	pthread_mutex_lock(&ctx->lock);
	if (!ctx->overflow_reported) {
		struct sbuf sb = { 0 };

		ctx->overflow_reported = 1;
		sb_printf(&sb, "BUG: MAX_LOCK_DEPTH too low!\n"
			  "turning off the locking correctness validator "
			  "for this context.\n");
		sb_printf(&sb, "depth: %u  max: %u!\n", ld_depth,
			  LD_MAX_DEPTH);
		sb_printf(&sb, "%s/%ld was acquiring (%s) at: %s\n",
			  ld_comm_name(), ld_gettid(),
			  map->name ? map->name : "(null)", site);
		ld_print_held(&sb, ctx);
		ld_queue(&reports, sb.s);
	}
	__atomic_store_n(&ctx->off, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&ctx->lock);
	ld_deliver(ctx, reports);
}

/* ------------------------------------------------------------------ */
/* public */

void __mmn_lock_acquire(struct lockdep_map *map, int read, int trylock,
			const char *site)
{
	struct mmn_lockdep *ctx = map->ctx;
	struct ld_report *reports = NULL;
	struct ld_class *cls;
	unsigned int epoch, i, kind;
	struct ld_held *h;
	int need_lock;

	if (__atomic_load_n(&ctx->off, __ATOMIC_RELAXED))
		return;
	kind = read == 2 ? 2 : read ? 1 : 0;
	if (!site)
		site = "?";
	epoch = __atomic_load_n(&ctx->epoch, __ATOMIC_RELAXED);
	ld_drop_stale(ctx->id, epoch);
	if (ld_depth >= LD_MAX_DEPTH) {
		ld_compact();
		if (ld_depth >= LD_MAX_DEPTH) {
			ld_overflow(ctx, map, site);
			return;
		}
	}

	/* Skip the mutex when every pair was already seen by this thread. */
	cls = __atomic_load_n(&map->class_cache, __ATOMIC_ACQUIRE);
	need_lock = !cls;
	for (i = 0; !need_lock && !trylock && i < ld_depth; i++) {
		h = &ld_stack[i];
		if (h->ctx_id == ctx->id &&
		    !ld_ecache_hit(ctx->id, h->cls, cls,
				   ld_flags(h->read, kind)))
			need_lock = 1;
	}

	if (need_lock) {
		pthread_mutex_lock(&ctx->lock);
		if (!cls) {
			cls = ld_class_get(ctx, map->name ? map->name
							  : "(null)");
			__atomic_store_n(&map->class_cache, cls,
					 __ATOMIC_RELEASE);
		}
		/* a trylock cannot deadlock: no dependency for it */
		for (i = 0; !trylock && i < ld_depth; i++) {
			h = &ld_stack[i];
			if (h->ctx_id != ctx->id)
				continue;
			ld_check_pair(ctx, h, cls, kind, site, &reports);
			ld_ecache_set(ctx->id, h->cls, cls,
				      ld_flags(h->read, kind));
		}
		pthread_mutex_unlock(&ctx->lock);
		ld_deliver(ctx, reports);
	}

	/* The report callback may have taken and dropped locks: push now. */
	if (ld_depth >= LD_MAX_DEPTH)
		return;
	h = &ld_stack[ld_depth++];
	h->map = map;
	h->cls = cls;
	h->site = site;
	h->ctx_id = ctx->id;
	h->epoch = epoch;
	h->read = (unsigned char)kind;
	h->trylock = trylock ? 1 : 0;
}

void __mmn_lock_release(struct lockdep_map *map, const char *site)
{
	uint64_t id = map->ctx->id;
	unsigned int i = ld_depth;

	(void)site;
	/* topmost match; a lock we never saw being taken is ignored */
	while (i--) {
		if (ld_stack[i].map == map && ld_stack[i].ctx_id == id) {
			ld_stack_remove(i);
			return;
		}
	}
}

struct mmn_lockdep *mmn_lockdep_create(void (*report)(void *arg,
						      const char *text),
				       void *arg)
{
	struct mmn_lockdep *ctx = ld_zalloc(sizeof(*ctx));
	unsigned int cap = 16;

	ctx->id = __atomic_fetch_add(&ld_next_id, 1, __ATOMIC_RELAXED);
	ctx->epoch = 1;
	ctx->report = report;
	ctx->report_arg = arg;
	pthread_mutex_init(&ctx->lock, NULL);
	ctx->cap_classes = cap;
	ctx->classes = ld_zalloc(cap * sizeof(*ctx->classes));
	ctx->bfs_mark = ld_zalloc(2 * cap * sizeof(*ctx->bfs_mark));
	ctx->bfs_parent = ld_zalloc(2 * cap * sizeof(*ctx->bfs_parent));
	ctx->bfs_edge = ld_zalloc(2 * cap * sizeof(*ctx->bfs_edge));
	ctx->bfs_queue = ld_zalloc(2 * cap * sizeof(*ctx->bfs_queue));
	ctx->chash_size = 64;
	ctx->chash = ld_zalloc(ctx->chash_size * sizeof(*ctx->chash));
	ctx->shash_size = 64;
	ctx->shash = ld_zalloc(ctx->shash_size * sizeof(*ctx->shash));

	pthread_mutex_lock(&ld_reg_lock);
	if (ld_nr_reg == ld_cap_reg) {
		ld_cap_reg = ld_cap_reg ? 2 * ld_cap_reg : 8;
		ld_reg = ld_realloc(ld_reg, ld_cap_reg * sizeof(*ld_reg));
	}
	ld_reg[ld_nr_reg].id = ctx->id;
	ld_reg[ld_nr_reg].ctx = ctx;
	ld_nr_reg++;
	pthread_mutex_unlock(&ld_reg_lock);

	__atomic_store_n(&ctx->head.enabled, 1, __ATOMIC_RELEASE);
	return ctx;
}

void mmn_lockdep_destroy(struct mmn_lockdep *ctx)
{
	unsigned int i;

	if (!ctx)
		return;

	pthread_mutex_lock(&ld_reg_lock);
	for (i = 0; i < ld_nr_reg; i++) {
		if (ld_reg[i].ctx == ctx) {
			ld_reg[i] = ld_reg[--ld_nr_reg];
			break;
		}
	}
	if (!ld_nr_reg) {
		free(ld_reg);
		ld_reg = NULL;
		ld_cap_reg = 0;
	}
	pthread_mutex_unlock(&ld_reg_lock);

	for (i = 0; i < ctx->nr_classes; i++) {
		struct ld_class *c = ctx->classes[i];

		while (c->out) {
			struct ld_edge *e = c->out;

			c->out = e->next_out;
			free(e);
		}
		free(c);
	}
	for (i = 0; i < ctx->shash_size; i++) {
		while (ctx->shash[i]) {
			struct ld_str *s = ctx->shash[i];

			ctx->shash[i] = s->next;
			free(s);
		}
	}
	for (i = 0; i < ctx->nr_keys; i++)
		free(ctx->keys[i].k);
	free(ctx->keys);
	free(ctx->shash);
	free(ctx->chash);
	free(ctx->classes);
	free(ctx->bfs_mark);
	free(ctx->bfs_parent);
	free(ctx->bfs_edge);
	free(ctx->bfs_queue);
	pthread_mutex_destroy(&ctx->lock);
	free(ctx);
}

void mmn_lockdep_set_enabled(struct mmn_lockdep *ctx, int enabled)
{
	if (enabled) {
		/* entries pushed before a disable may have missed releases */
		if (!__atomic_load_n(&ctx->head.enabled, __ATOMIC_RELAXED))
			__atomic_fetch_add(&ctx->epoch, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&ctx->head.enabled, 1, __ATOMIC_RELEASE);
	} else {
		__atomic_store_n(&ctx->head.enabled, 0, __ATOMIC_RELEASE);
	}
}

int mmn_lockdep_enabled(const struct mmn_lockdep *ctx)
{
	return ctx && __atomic_load_n(&ctx->head.enabled, __ATOMIC_RELAXED);
}

void lockdep_init_map(struct lockdep_map *map, const char *name,
		      struct mmn_lockdep *ctx)
{
	map->name = name;
	map->ctx = ctx;
	__atomic_store_n(&map->class_cache, NULL, __ATOMIC_RELAXED);
}

unsigned mmn_lockdep_cycles(const struct mmn_lockdep *ctx)
{
	return __atomic_load_n(&ctx->nr_cycles, __ATOMIC_RELAXED);
}

unsigned mmn_lockdep_classes(const struct mmn_lockdep *ctx)
{
	return __atomic_load_n(&ctx->nr_classes, __ATOMIC_RELAXED);
}

unsigned mmn_lockdep_edges(const struct mmn_lockdep *ctx)
{
	return __atomic_load_n(&ctx->nr_edges, __ATOMIC_RELAXED);
}

void mmn_lockdep_set_thread_name(const char *name)
{
	if (!name)
		name = "";
	strncpy(ld_comm, name, LD_COMM_LEN - 1);
	ld_comm[LD_COMM_LEN - 1] = '\0';
}

unsigned mmn_lockdep_held_count(void)
{
	return ld_depth;
}
