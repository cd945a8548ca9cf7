/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sched.c - the controlled scheduler: real OS threads, real liburcu, one
 * thread running at a time, a decision at every scheduling point.
 *
 * Each operation of a configuration runs on its own thread. A thread runs
 * only while run->running names it; at a point it asks xp_schedule who is
 * next and, if that is someone else, signals them and waits for its turn.
 * Blocking is "not runnable until woken": a lock that is held, a wait
 * queue, synchronize_srcu until the readers it must wait for have left.
 * A call_srcu callback becomes work for the SRCU worker thread once its
 * grace period has passed. Nobody runnable while someone waits is a
 * deadlock (a lock) or a hang (a condition nobody will make true).
 *
 * liburcu stays real: the explore cores are built on the qsbr flavour,
 * and a thread that is switched out while inside a read-side section goes
 * offline, so the grace period a running thread then starts with
 * synchronize_rcu never waits on a thread that cannot run. Who a grace
 * period must wait for is decided here, from the readers the scheduler
 * tracked; liburcu's call is then made and returns.
 *
 * Sleep sets, sound within a preemption bound. Each step (what a thread
 * runs from one point to its next) leaves a footprint: the objects it
 * touched, read or written (the point's own object, a lock, the SRCU
 * domain, the hlist, the ledger; the lockless accesses the port notes with
 * READ_ONCE and friends), or "unknown", which is dependent with every step.
 * Two steps commute when their footprints do not conflict.
 *
 * The search (Explorer.swift, BoundedSearch) explores the no-preemption
 * child of a decision first: the thread c that was running goes on. When
 * it later backtracks to that decision and preempts c for t, c goes to
 * sleep with the footprint of the step it took in the first child, and
 * stays asleep while the steps taken after are independent of that step;
 * a sleeping thread is never picked. Only c sleeps, never an earlier
 * sibling t' != c: that is the care bounded search needs (Coons,
 * Musuvathi, McKinley, OOPSLA 2013). A schedule pruned there has the form
 * P.t.w.c.r with c's step independent of t.w; it is equivalent to
 * P.c.t.w.r in c's child, and that one has no more preemptions: P.t costs
 * one, at least what c->t costs in P.c.t; after w, the pruned
 * schedule pays for last(w)->c whenever last(w) could run (c != last(w)),
 * so last(w)->first(r) costs no more; and whether last(w) can go on is
 * decided by its own steps, which read the same with c's step moved (a
 * wake-up c's step makes only lets someone else run earlier, which costs
 * nothing: a preemption is charged to the thread switched away from).
 * So everything within the bound is still reached, by induction on the
 * search order, and the first violating schedule of the
 * full search is never pruned (its representative would come first). A
 * sibling t' that is not c would not do: P.t'.t.w.r can need one more
 * preemption than P.t.w.t'.r (t' is switched away from twice), which the
 * bound may not allow. When c cannot run, no one is put to sleep.
 *
 * If every runnable thread is asleep, every way on is equivalent to a
 * schedule explored before: the execution is finished by the plain rule
 * and reported as sleep-blocked, and the search does not count it.
 */
#include "../harness/internal.h"
#include "explore.h"
#include <mmn_explore.h>
#include <ctype.h>

__thread void *mmn_xp_self __attribute__((tls_model("initial-exec")));

enum xp_state { XP_UNATTACHED, XP_RUNNABLE, XP_BLOCKED, XP_DONE };

/* an internal event kind: the scheduler switched threads */
#define XP_SWITCH MMN_XP_KIND_COUNT

struct xp_thread {
	unsigned id;
	char name[16];
	int state;
	pthread_cond_t cv;
	bool is_worker;
	/* what it waits on while XP_BLOCKED */
	const void *blocked_on;
	int block_kind;
	const char *block_what;
	const char *block_func;
	bool wake_failed;
	/* prepare_to_wait: armed on an object, and whether it was woken since */
	const void *armed_on;
	bool armed_woken;
	/* the SRCU model: nonzero epoch while inside a read-side section */
	unsigned long long reader_epoch;
	int depth;
	/* the last point it reached, for hung reports */
	int last_kind;
	const char *last_func;
	unsigned priority;
	/* sleep sets: this step's footprint, and whether it sleeps */
	struct mmn_xp_footprint fp;
	bool asleep;
	struct mmn_xp_footprint sleep_fp;
};

struct xp_event {
	unsigned char thread;
	unsigned char kind;
	const void *obj;
	long value;
	const char *func;
};

enum { XP_MAX_CALLBACKS = 64, XP_MAX_NAMES = 32 };

struct xp_callback {
	struct rcu_head *head;
	void (*fn)(struct rcu_head *);
	unsigned long long snap[MMN_XP_MAX_THREADS + 1];
	unsigned long seq;
	bool running;
	bool done;
};

struct xp_run {
	pthread_mutex_t m;
	pthread_cond_t ctrl;
	struct mmn_xp_config cfg;
	struct mmn_xp_override *overrides;
	unsigned next_override;
	unsigned nthreads;	/* operation threads + the SRCU worker */
	unsigned attached;
	unsigned ops_done;
	struct xp_thread threads[MMN_XP_MAX_THREADS + 1];
	int running;		/* thread id allowed to run, -1 before start */
	bool started;
	bool finished;
	bool aborting;
	int status;
	unsigned long steps;
	unsigned change_applied;
	/* decisions with two or more runnable threads */
	struct mmn_xp_decision *decisions;
	unsigned ndecisions, decisions_cap;
	unsigned preemptions;
	struct xp_event *events;
	unsigned nevents, events_cap;
	char blocked_text[1024];
	/* sleep sets */
	bool pruning;		/* cfg.prune, until the run is sleep-blocked */
	struct mmn_xp_sleeper *sleepers;
	unsigned next_sleeper;
	int open_decision;	/* the decision whose pick's step is running */
	uint32_t sleep_blocked_at;
	/* SRCU model */
	unsigned long long epoch_gen;
	struct xp_callback cbs[XP_MAX_CALLBACKS];
	unsigned ncbs;
	unsigned long cb_seq;
	char srcu_obj, worker_obj;	/* addresses to block on */
	pthread_t worker;
	/* names for the trace */
	struct {
		const void *addr;
		char name[24];
	} names[XP_MAX_NAMES];
	unsigned nnames;
};

static struct xp_run *xp_run_current;
/* a run whose threads did not all come back is never freed (see run()) */
static bool xp_run_leaked;

static const char *const xp_kind_names[MMN_XP_KIND_COUNT + 1] = {
	[MMN_XP_START] = "start",
	[MMN_XP_SRCU_READ_LOCK] = "srcu_read_lock",
	[MMN_XP_SRCU_READ_UNLOCK] = "srcu_read_unlock",
	[MMN_XP_HLIST_LOAD] = "rcu_dereference",
	[MMN_XP_HLIST_ADD] = "hlist_add_head_rcu",
	[MMN_XP_HLIST_DEL] = "hlist_del_init_rcu",
	[MMN_XP_CALLBACK] = "callback",
	[MMN_XP_RETURNED] = "returned",
	[MMN_XP_SPIN_LOCK] = "spin_lock",
	[MMN_XP_SPIN_UNLOCK] = "spin_unlock",
	[MMN_XP_WRITE_ONCE] = "WRITE_ONCE",
	[MMN_XP_WAIT_EVENT] = "wait_event",
	[MMN_XP_WAKE_UP] = "wake_up_all",
	[MMN_XP_SYNCHRONIZE_SRCU] = "synchronize_srcu",
	[MMN_XP_CALL_SRCU] = "call_srcu",
	[MMN_XP_SRCU_BARRIER] = "srcu_barrier",
	[MMN_XP_SRCU_CALLBACK] = "srcu callback",
	[MMN_XP_RWSEM_DOWN_READ] = "down_read",
	[MMN_XP_RWSEM_DOWN_WRITE] = "down_write",
	[MMN_XP_RWSEM_TRYLOCK] = "down_read_trylock",
	[MMN_XP_RWSEM_UP] = "up",
	[MMN_XP_DRIVER] = "driver",
	[MMN_XP_FREE] = "free",
	[MMN_XP_BLOCK] = "blocks",
	[MMN_XP_DONE] = "done",
	[XP_SWITCH] = "switch",
};

static inline struct xp_thread *xp_me(void)
{
	return mmn_xp_self;
}

/* ---- the record ---- */

static void xp_record(struct xp_run *r, struct xp_thread *t, int kind,
		      const void *obj, long value, const char *func)
{
	/* a trampoline does not know its caller: the walk's last point does */
	if (!func && t && (kind == MMN_XP_CALLBACK || kind == MMN_XP_RETURNED))
		func = t->last_func;
	if (t) {
		t->last_kind = kind;
		t->last_func = func;
	}
	if (!r->cfg.record_trace)
		return;
	if (r->nevents == r->events_cap) {
		unsigned cap = r->events_cap ? r->events_cap * 2 : 256;
		struct xp_event *e = realloc(r->events, cap * sizeof(*e));

		if (!e)
			abort();
		r->events = e;
		r->events_cap = cap;
	}
	r->events[r->nevents++] = (struct xp_event){
		.thread = t ? (unsigned char)t->id : 0xff,
		.kind = (unsigned char)kind,
		.obj = obj,
		.value = value,
		.func = func,
	};
}

static void xp_record_decision(struct xp_run *r, uint32_t enabled, int cur,
			       unsigned pick, bool preemption)
{
	if (r->ndecisions == r->decisions_cap) {
		unsigned cap = r->decisions_cap ? r->decisions_cap * 2 : 128;
		struct mmn_xp_decision *d =
			realloc(r->decisions, cap * sizeof(*d));

		if (!d)
			abort();
		r->decisions = d;
		r->decisions_cap = cap;
	}
	r->decisions[r->ndecisions++] = (struct mmn_xp_decision){
		.enabled = enabled,
		.current_thread = cur,
		.pick = pick,
		.preemption = preemption,
	};
	/* unknown until the pick's step ends (a step cut short says nothing) */
	memset(&r->decisions[r->ndecisions - 1].step, 0,
	       sizeof(r->decisions[0].step));
	r->decisions[r->ndecisions - 1].step.unknown = true;
	r->decisions[r->ndecisions - 1].sleep = 0;
}

/* ---- footprints (sleep sets) ---- */

/*
 * Object ids: names interned by their text, for the life of the process,
 * so an id means the same object in every execution (addresses would not:
 * each execution allocates its mm afresh).
 */
enum { XP_MAX_OBJS = 1024, XP_OBJ_CACHE = 2048 };
static pthread_mutex_t xp_objs_lock = PTHREAD_MUTEX_INITIALIZER;
static char *xp_objs[XP_MAX_OBJS];
static unsigned xp_nobjs;
/* expression literal -> id (0: not a field name) */
static struct {
	const char *expr;
	int id;
} xp_obj_cache[XP_OBJ_CACHE];

/* 0 when the table is full: the caller treats the step as unknown */
static int xp_obj_id(const char *space, const char *name, size_t len)
{
	size_t sl = strlen(space);
	int id = 0;

	pthread_mutex_lock(&xp_objs_lock);
	for (unsigned i = 0; i < xp_nobjs; i++)
		if (!strncmp(xp_objs[i], space, sl) && xp_objs[i][sl] == ':' &&
		    strlen(xp_objs[i] + sl + 1) == len &&
		    !memcmp(xp_objs[i] + sl + 1, name, len)) {
			id = (int)i + 1;
			goto out;
		}
	if (xp_nobjs < XP_MAX_OBJS) {
		char *o = malloc(sl + len + 2);

		if (!o)
			abort();
		memcpy(o, space, sl);
		o[sl] = ':';
		memcpy(o + sl + 1, name, len);
		o[sl + 1 + len] = 0;
		xp_objs[xp_nobjs++] = o;
		id = (int)xp_nobjs;
	}
out:
	pthread_mutex_unlock(&xp_objs_lock);
	return id;
}

static int xp_class_id(const char *space, const char *name)
{
	return xp_obj_id(space, name, strlen(name));
}

/*
 * An expression's last field name: "subscriptions->invalidate_seq" and
 * "&mm->notifier_subscriptions" name a field; "*pprev" or "a[i]" do not.
 */
static int xp_field_id(const char *expr)
{
	size_t h = ((uintptr_t)expr >> 3) % XP_OBJ_CACHE;
	const char *end, *p;
	int id;

	for (unsigned i = 0; i < 8; i++) {
		size_t k = (h + i) % XP_OBJ_CACHE;

		if (xp_obj_cache[k].expr == expr)
			return xp_obj_cache[k].id;
		if (!xp_obj_cache[k].expr)
			break;
	}
	end = expr + strlen(expr);
	while (end > expr && end[-1] == ' ')
		end--;
	p = end;
	while (p > expr && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
		p--;
	id = 0;
	if (p < end && !isdigit((unsigned char)*p)) {
		const char *q = p;

		while (q > expr && q[-1] == ' ')
			q--;
		/* a field, or a whole expression that is one identifier */
		if (q == expr || q[-1] == '.' || (q - expr >= 2 && q[-1] == '>' &&
						   q[-2] == '-') ||
		    (q - expr == 1 && q[-1] == '&'))
			id = xp_obj_id("field", p, (size_t)(end - p));
	}
	for (unsigned i = 0; i < 8; i++) {
		size_t k = (h + i) % XP_OBJ_CACHE;

		if (!xp_obj_cache[k].expr) {
			xp_obj_cache[k].expr = expr;
			xp_obj_cache[k].id = id;
			break;
		}
	}
	return id;
}

static void xp_fp_add(struct mmn_xp_footprint *fp, int id, bool write)
{
	if (fp->unknown)
		return;
	if (id <= 0) {
		fp->unknown = true;
		return;
	}
	for (unsigned i = 0; i < fp->n; i++)
		if (fp->obj[i] == id) {
			fp->write[i] |= write;
			return;
		}
	if (fp->n == MMN_XP_FP_MAX) {
		fp->unknown = true;
		return;
	}
	fp->obj[fp->n] = (uint16_t)id;
	fp->write[fp->n] = write;
	fp->n++;
}

static void xp_fp_unknown(struct mmn_xp_footprint *fp)
{
	fp->unknown = true;
}

int mmn_xp_independent(const struct mmn_xp_footprint *a,
		       const struct mmn_xp_footprint *b)
{
	if (a->unknown || b->unknown)
		return 0;
	for (unsigned i = 0; i < a->n; i++)
		for (unsigned j = 0; j < b->n; j++)
			if (a->obj[i] == b->obj[j] &&
			    (a->write[i] || b->write[j]))
				return 0;
	return 1;
}

static int xp_id_srcu, xp_id_hlist, xp_id_quarantine, xp_id_ledger, xp_id_wq;

static void xp_ids_init(void)
{
	if (xp_id_wq)
		return;
	xp_id_srcu = xp_class_id("class", "srcu");
	xp_id_hlist = xp_class_id("class", "hlist");
	xp_id_quarantine = xp_class_id("class", "quarantine");
	xp_id_ledger = xp_class_id("class", "ledger");
	xp_id_wq = xp_class_id("class", "wait queues");
}

void mmn_xp_note(const char *expr, bool write)
{
	struct xp_thread *t = xp_me();

	if (t)
		xp_fp_add(&t->fp, xp_field_id(expr), write);
}

void mmn_xp_note_hlist_read(void)
{
	struct xp_thread *t = xp_me();

	if (t)
		xp_fp_add(&t->fp, xp_id_hlist, false);
}

void mmn_xp_note_object(const char *space, const char *name, bool write)
{
	struct xp_thread *t = xp_me();

	if (!t)
		return;
	if (!name)
		xp_fp_unknown(&t->fp);
	else
		xp_fp_add(&t->fp, xp_class_id(space, name), write);
}

/*
 * What the step ending at a point of this kind did after its last note:
 * the points that come after their action (a store, an unlock, ...).
 */
static void xp_fp_ending(struct xp_thread *t, int kind, const void *obj)
{
	switch (kind) {
	case MMN_XP_WRITE_ONCE:
		xp_fp_add(&t->fp, xp_field_id(obj), true);
		break;
	case MMN_XP_SPIN_UNLOCK:
		xp_fp_add(&t->fp, xp_class_id("lock", obj ? obj : "?"), true);
		break;
	case MMN_XP_SRCU_READ_UNLOCK:
		xp_fp_add(&t->fp, xp_id_srcu, false);
		break;
	case MMN_XP_RWSEM_TRYLOCK:
	case MMN_XP_RWSEM_UP:
		xp_fp_add(&t->fp, xp_class_id("rwsem", obj ? obj : "?"), true);
		break;
	case MMN_XP_WAKE_UP:
		xp_fp_add(&t->fp, xp_id_wq, true);
		break;
	case MMN_XP_CALLBACK:
	case MMN_XP_RETURNED:
	case MMN_XP_HLIST_LOAD:
	case MMN_XP_HLIST_ADD:
	case MMN_XP_HLIST_DEL:
	case MMN_XP_SPIN_LOCK:
	case MMN_XP_SRCU_READ_LOCK:
	case MMN_XP_SYNCHRONIZE_SRCU:
	case MMN_XP_CALL_SRCU:
	case MMN_XP_SRCU_BARRIER:
	case MMN_XP_RWSEM_DOWN_READ:
	case MMN_XP_RWSEM_DOWN_WRITE:
	case MMN_XP_WAIT_EVENT:
		break;	/* these points come before their action */
	default:
		/* a free, a driver's own step, the SRCU worker: not described */
		xp_fp_unknown(&t->fp);
		break;
	}
}

/*
 * What the step beginning at a point of this kind does first: the points
 * that come before their action. Anything else it touches before its next
 * point is noted as it happens (READ_ONCE, a lock, ...), or is protected by
 * a lock the scheduler sees (the kernel's discipline: two such accesses on
 * two threads are ordered by that lock's steps, which conflict).
 */
static void xp_fp_beginning(struct xp_thread *t, int kind, const void *obj)
{
	switch (kind) {
	case MMN_XP_SRCU_READ_LOCK:
		xp_fp_add(&t->fp, xp_id_srcu, false);
		break;
	case MMN_XP_HLIST_LOAD:
		xp_fp_add(&t->fp, xp_id_hlist, false);
		xp_fp_add(&t->fp, xp_id_quarantine, false);
		break;
	case MMN_XP_HLIST_ADD:
	case MMN_XP_HLIST_DEL:
		xp_fp_add(&t->fp, xp_id_hlist, true);
		xp_fp_add(&t->fp, xp_id_quarantine, false);
		break;
	case MMN_XP_CALLBACK:
		/*
		 * A driver's callback and the ledger's record of it: every
		 * callback on any subscription conflicts with every other, so
		 * state a driver shares between its callbacks needs no more.
		 * State it shares with an operation's own steps must be under
		 * a lock the scheduler sees, or at a driver point (unknown).
		 */
		xp_fp_add(&t->fp, xp_id_ledger, true);
		break;
	case MMN_XP_SPIN_LOCK:
		xp_fp_add(&t->fp, xp_class_id("lock", obj ? obj : "?"), true);
		break;
	case MMN_XP_SYNCHRONIZE_SRCU:
	case MMN_XP_CALL_SRCU:
	case MMN_XP_SRCU_BARRIER:
		xp_fp_add(&t->fp, xp_id_srcu, true);
		break;
	case MMN_XP_RWSEM_DOWN_READ:
	case MMN_XP_RWSEM_DOWN_WRITE:
		xp_fp_add(&t->fp, xp_class_id("rwsem", obj ? obj : "?"), true);
		break;
	case MMN_XP_RETURNED:
	case MMN_XP_SPIN_UNLOCK:
	case MMN_XP_WRITE_ONCE:
	case MMN_XP_SRCU_READ_UNLOCK:
	case MMN_XP_RWSEM_TRYLOCK:
	case MMN_XP_RWSEM_UP:
	case MMN_XP_WAKE_UP:
		break;	/* these points come after their action */
	default:
		/*
		 * wait_event's condition (any expression), a thread's first
		 * step (the operation's own code), a free, a driver's step,
		 * the SRCU worker: dependent with everything.
		 */
		xp_fp_unknown(&t->fp);
		break;
	}
}

/* A step of t begins (it was picked): nothing touched yet. */
static void xp_step_begin(struct xp_thread *t)
{
	memset(&t->fp, 0, sizeof(t->fp));
	if (t->is_worker)
		xp_fp_unknown(&t->fp);
}

/*
 * cur's step has ended (it reached a point, blocked or finished): keep its
 * footprint for the decision that picked it, and wake every sleeper whose
 * step does not commute with it.
 */
static void xp_step_end(struct xp_run *r, struct xp_thread *cur)
{
	if (r->open_decision >= 0) {
		r->decisions[r->open_decision].step = cur->fp;
		r->open_decision = -1;
	}
	if (!r->pruning)
		return;
	for (unsigned i = 0; i < r->nthreads; i++) {
		struct xp_thread *z = &r->threads[i];

		if (z->asleep && !mmn_xp_independent(&z->sleep_fp, &cur->fp))
			z->asleep = false;
	}
}

static uint32_t xp_asleep(struct xp_run *r)
{
	uint32_t mask = 0;

	if (!r->pruning)
		return 0;
	for (unsigned i = 0; i < r->nthreads; i++)
		if (r->threads[i].asleep)
			mask |= 1u << i;
	return mask;
}

/* Every runnable thread sleeps: the rest is equivalent to an explored one. */
static void xp_sleep_blocked(struct xp_run *r)
{
	if (r->sleep_blocked_at == UINT32_MAX)
		r->sleep_blocked_at = r->ndecisions;
	r->pruning = false;
	for (unsigned i = 0; i < r->nthreads; i++)
		r->threads[i].asleep = false;
}

/* ---- deciding ---- */

static uint32_t xp_enabled(struct xp_run *r)
{
	uint32_t mask = 0;

	for (unsigned i = 0; i < r->nthreads; i++)
		if (r->threads[i].state == XP_RUNNABLE)
			mask |= 1u << i;
	return mask;
}

static unsigned xp_default_pick(struct xp_run *r, int cur, uint32_t enabled)
{
	if (r->cfg.policy == MMN_XP_POLICY_PCT) {
		unsigned best = (unsigned)__builtin_ctz(enabled);

		for (unsigned i = 0; i < r->nthreads; i++)
			if ((enabled & (1u << i)) &&
			    r->threads[i].priority > r->threads[best].priority)
				best = i;
		return best;
	}
	if (cur >= 0 && (enabled & (1u << cur)))
		return (unsigned)cur;
	return (unsigned)__builtin_ctz(enabled);
}

static bool xp_is_lock_kind(int kind)
{
	return kind == MMN_XP_SPIN_LOCK || kind == MMN_XP_RWSEM_DOWN_READ ||
	       kind == MMN_XP_RWSEM_DOWN_WRITE;
}

/* Nobody can run: say who waits on what, then wind the execution down. */
static void xp_stuck(struct xp_run *r)
{
	size_t off = 0;
	bool lock = false;

	for (unsigned i = 0; i < r->nthreads; i++) {
		struct xp_thread *t = &r->threads[i];

		if (t->state != XP_BLOCKED)
			continue;
		/* the SRCU worker idles blocked: not a waiter */
		if (t->is_worker && t->blocked_on == &r->worker_obj)
			continue;
		if (xp_is_lock_kind(t->block_kind))
			lock = true;
		if (off < sizeof(r->blocked_text))
			off += snprintf(r->blocked_text + off,
					sizeof(r->blocked_text) - off,
					"INFO: task %s blocked in %s: waits for %s\n",
					t->name,
					t->block_func ? t->block_func : "?",
					t->block_what ? t->block_what : "?");
	}
	if (!r->status)
		r->status = lock ? MMN_XP_DEADLOCK : MMN_XP_HUNG;
	r->aborting = true;
	/* winding down: nothing is pruned from here on */
	r->pruning = false;
	for (unsigned i = 0; i < r->nthreads; i++) {
		struct xp_thread *t = &r->threads[i];

		if (t->state == XP_BLOCKED) {
			t->state = XP_RUNNABLE;
			t->wake_failed = true;
		}
	}
}

/*
 * Pick who runs next and hand over. Called with r->m held by the thread at
 * the point (cur, or NULL at the start); does not wait.
 */
static void xp_schedule(struct xp_run *r, struct xp_thread *cur)
{
	int cid = cur ? (int)cur->id : -1;
	uint32_t enabled, asleep;
	unsigned pick;

	if (cur)
		xp_step_end(r, cur);
	enabled = xp_enabled(r);
	if (!enabled) {
		bool all_done = true;

		for (unsigned i = 0; i < r->nthreads; i++)
			if (r->threads[i].state != XP_DONE)
				all_done = false;
		if (all_done) {
			r->finished = true;
			r->running = -1;
			pthread_cond_broadcast(&r->ctrl);
			return;
		}
		xp_stuck(r);
		enabled = xp_enabled(r);
	}
	asleep = xp_asleep(r) & enabled;
	if (__builtin_popcount(enabled) == 1) {
		pick = (unsigned)__builtin_ctz(enabled);
		if (asleep)
			xp_sleep_blocked(r);
	} else {
		unsigned d = r->ndecisions;
		unsigned want = xp_default_pick(r, cid, enabled);
		bool preempt;

		/*
		 * The running thread is never asleep (it just took a step);
		 * when it cannot run, the plain rule's next choice that is
		 * awake, which is the full search's next child in its order.
		 */
		if (asleep & (1u << want)) {
			if (enabled & ~asleep)
				want = (unsigned)__builtin_ctz(enabled & ~asleep);
			else
				xp_sleep_blocked(r);
		}
		if (r->next_override < r->cfg.override_count &&
		    r->overrides[r->next_override].decision == d) {
			unsigned o = r->overrides[r->next_override++].thread;

			if (o < r->nthreads && (enabled & (1u << o)))
				want = o;
			else if (!r->status)
				r->status = MMN_XP_DIVERGED;
			if (r->pruning && (asleep & (1u << want)))
				xp_sleep_blocked(r);
		}
		pick = want;
		preempt = cid >= 0 && (enabled & (1u << cid)) &&
			  pick != (unsigned)cid;
		if (preempt)
			r->preemptions++;
		xp_record_decision(r, enabled, cid, pick, preempt);
		r->decisions[d].sleep = asleep;
		r->open_decision = (int)d;
		/* the search explored cur's own step here first: it sleeps */
		while (r->next_sleeper < r->cfg.sleeper_count &&
		       r->sleepers[r->next_sleeper].decision <= d) {
			const struct mmn_xp_sleeper *z =
				&r->sleepers[r->next_sleeper++];

			if (r->pruning && z->decision == d && preempt &&
			    z->thread == (unsigned)cid) {
				r->threads[cid].asleep = true;
				r->threads[cid].sleep_fp = z->step;
			}
		}
		if (cid >= 0 && pick != (unsigned)cid)
			xp_record(r, &r->threads[pick], XP_SWITCH, NULL,
				  preempt, NULL);
	}
	r->running = (int)pick;
	if (!cur || pick != cur->id)
		pthread_cond_signal(&r->threads[pick].cv);
}

/*
 * Wait, with r->m held, until it is t's turn. A thread switched out inside
 * a read-side section goes offline (qsbr), so no real grace period waits
 * on it while it cannot run.
 */
static void xp_wait_turn(struct xp_run *r, struct xp_thread *t)
{
	bool offline = false;

	if (r->running == (int)t->id)
		return;
	if (current->srcu_depth > 0 &&
	    (current->rcu_registered & (1u << MMN_FLAVOR_QSBR))) {
		mmn_rcu_flavors[MMN_FLAVOR_QSBR]->thread_offline();
		offline = true;
	}
	while (r->running != (int)t->id)
		pthread_cond_wait(&t->cv, &r->m);
	if (offline)
		mmn_rcu_flavors[MMN_FLAVOR_QSBR]->thread_online();
}

/* t's turn, and its next step begins. */
static void xp_wait_step(struct xp_run *r, struct xp_thread *t)
{
	xp_wait_turn(r, t);
	xp_step_begin(t);
}

static void xp_step(struct xp_run *r, struct xp_thread *t)
{
	r->steps++;
	if (r->cfg.policy == MMN_XP_POLICY_PCT) {
		for (unsigned j = 0; j < r->cfg.change_point_count; j++)
			if (r->cfg.change_points[j] == r->steps) {
				/* below every initial priority */
				t->priority = j;
				r->change_applied++;
			}
	}
	if (r->cfg.max_steps && r->steps > r->cfg.max_steps &&
	    !r->aborting) {
		if (!r->status)
			r->status = MMN_XP_LIVELOCK;
		r->aborting = true;
		snprintf(r->blocked_text, sizeof(r->blocked_text),
			 "no progress: %lu scheduling points without finishing\n",
			 r->steps);
	}
}

void mmn_xp_point(int kind, const void *obj, long value, const char *func)
{
	struct xp_thread *t = xp_me();
	struct xp_run *r = xp_run_current;

	if (!t)
		return;
	pthread_mutex_lock(&r->m);
	xp_record(r, t, kind, obj, value, func);
	xp_step(r, t);
	xp_fp_ending(t, kind, obj);
	xp_schedule(r, t);
	xp_wait_step(r, t);
	xp_fp_beginning(t, kind, obj);
	pthread_mutex_unlock(&r->m);
}

/* With r->m held. */
static bool xp_block_locked(struct xp_run *r, struct xp_thread *t, int kind,
			    const void *obj, const char *what,
			    const char *func)
{
	if (r->aborting)
		return false;
	t->state = XP_BLOCKED;
	t->blocked_on = obj;
	t->block_kind = kind;
	t->block_what = what;
	t->block_func = func;
	t->wake_failed = false;
	xp_record(r, t, MMN_XP_BLOCK, what, kind, func);
	xp_schedule(r, t);
	xp_wait_step(r, t);
	/* woken: it re-tests what it waited for, which may be anything */
	xp_fp_unknown(&t->fp);
	t->blocked_on = NULL;
	return !t->wake_failed;
}

bool mmn_xp_block(int kind, const void *obj, const char *what,
		  const char *func)
{
	struct xp_thread *t = xp_me();
	struct xp_run *r = xp_run_current;
	bool ok;

	if (!t)
		return false;
	pthread_mutex_lock(&r->m);
	ok = xp_block_locked(r, t, kind, obj, what, func);
	pthread_mutex_unlock(&r->m);
	return ok;
}

static void xp_wake_locked(struct xp_run *r, const void *obj)
{
	for (unsigned i = 0; i < r->nthreads; i++) {
		struct xp_thread *t = &r->threads[i];

		if (t->armed_on == obj)
			t->armed_woken = true;
		if (t->state == XP_BLOCKED && t->blocked_on == obj)
			t->state = XP_RUNNABLE;
	}
}

void mmn_xp_prepare_wait(const void *obj)
{
	struct xp_thread *t = xp_me();
	struct xp_run *r = xp_run_current;

	if (!t)
		return;
	pthread_mutex_lock(&r->m);
	xp_fp_add(&t->fp, xp_id_wq, true);
	t->armed_on = obj;
	t->armed_woken = false;
	pthread_mutex_unlock(&r->m);
}

bool mmn_xp_wait_armed(const void *obj, const char *what, const char *func)
{
	struct xp_thread *t = xp_me();
	struct xp_run *r = xp_run_current;
	bool ok = true;

	if (!t)
		return false;
	pthread_mutex_lock(&r->m);
	xp_fp_add(&t->fp, xp_id_wq, false);
	if (!t->armed_woken)
		ok = xp_block_locked(r, t, MMN_XP_WAIT_EVENT, obj, what, func);
	else if (r->aborting)
		ok = false;
	pthread_mutex_unlock(&r->m);
	return ok;
}

void mmn_xp_finish_wait(void)
{
	struct xp_thread *t = xp_me();
	struct xp_run *r = xp_run_current;

	if (!t)
		return;
	pthread_mutex_lock(&r->m);
	t->armed_on = NULL;
	pthread_mutex_unlock(&r->m);
}

void mmn_xp_wake(const void *obj)
{
	struct xp_run *r = xp_run_current;

	if (!xp_me())
		return;
	pthread_mutex_lock(&r->m);
	/* who it wakes is in the footprint of the step that called it */
	xp_wake_locked(r, obj);
	pthread_mutex_unlock(&r->m);
}

/* ---- spinlocks ---- */

void mmn_xp_spin_lock(void **owner, const void *lock, const char *name,
		      const char *func)
{
	struct xp_thread *t = xp_me();
	struct xp_run *r = xp_run_current;

	mmn_xp_point(MMN_XP_SPIN_LOCK, name, 0, func);
	pthread_mutex_lock(&r->m);
	/* a spinlock its holder takes again spins forever (AA deadlock) */
	while (*owner)
		if (!xp_block_locked(r, t, MMN_XP_SPIN_LOCK, lock,
				     *owner == t ? "a spinlock it already holds" :
						   name,
				     func))
			break;	/* winding down: take it over */
	*owner = t;
	pthread_mutex_unlock(&r->m);
}

void mmn_xp_spin_unlock(void **owner, const void *lock, const char *name,
			const char *func)
{
	struct xp_run *r = xp_run_current;

	pthread_mutex_lock(&r->m);
	*owner = NULL;
	xp_wake_locked(r, lock);
	pthread_mutex_unlock(&r->m);
	mmn_xp_point(MMN_XP_SPIN_UNLOCK, name, 0, func);
}

/* ---- SRCU ---- */

static bool xp_cb_ready(struct xp_run *r, const struct xp_callback *cb)
{
	for (unsigned i = 0; i < r->nthreads; i++)
		if (cb->snap[i] && r->threads[i].reader_epoch == cb->snap[i])
			return false;
	return true;
}

static struct xp_callback *xp_ready_cb(struct xp_run *r)
{
	for (unsigned i = 0; i < r->ncbs; i++) {
		struct xp_callback *cb = &r->cbs[i];

		if (!cb->done && !cb->running && xp_cb_ready(r, cb))
			return cb;
	}
	return NULL;
}

static bool xp_cbs_pending(struct xp_run *r)
{
	for (unsigned i = 0; i < r->ncbs; i++)
		if (!r->cbs[i].done)
			return true;
	return false;
}

/* The worker is woken only when it has something to do. */
static void xp_poke_worker(struct xp_run *r)
{
	if (xp_ready_cb(r) ||
	    (r->ops_done == r->cfg.threads && !xp_cbs_pending(r)))
		xp_wake_locked(r, &r->worker_obj);
}

void mmn_xp_srcu_read_lock(const char *func)
{
	struct xp_thread *t = xp_me();
	struct xp_run *r = xp_run_current;

	if (!t)
		return;
	mmn_xp_point(MMN_XP_SRCU_READ_LOCK, NULL, 0, func);
	pthread_mutex_lock(&r->m);
	if (t->depth++ == 0)
		t->reader_epoch = ++r->epoch_gen;
	pthread_mutex_unlock(&r->m);
}

void mmn_xp_srcu_read_unlock(const char *func)
{
	struct xp_thread *t = xp_me();
	struct xp_run *r = xp_run_current;

	if (!t)
		return;
	pthread_mutex_lock(&r->m);
	if (t->depth > 0 && --t->depth == 0) {
		t->reader_epoch = 0;
		xp_wake_locked(r, &r->srcu_obj);
		xp_poke_worker(r);
	}
	pthread_mutex_unlock(&r->m);
	mmn_xp_point(MMN_XP_SRCU_READ_UNLOCK, NULL, 0, func);
}

void mmn_xp_synchronize_srcu(const char *func)
{
	struct xp_thread *t = xp_me();
	struct xp_run *r = xp_run_current;
	unsigned long long snap[MMN_XP_MAX_THREADS + 1];

	if (!t)
		return;
	mmn_xp_point(MMN_XP_SYNCHRONIZE_SRCU, NULL, 0, func);
	pthread_mutex_lock(&r->m);
	for (unsigned i = 0; i < r->nthreads; i++)
		snap[i] = i == t->id ? 0 : r->threads[i].reader_epoch;
	for (;;) {
		bool wait = false;

		for (unsigned i = 0; i < r->nthreads; i++)
			if (snap[i] && r->threads[i].reader_epoch == snap[i])
				wait = true;
		if (!wait)
			break;
		if (!xp_block_locked(r, t, MMN_XP_SYNCHRONIZE_SRCU,
				     &r->srcu_obj,
				     "an SRCU grace period (readers still inside)",
				     func))
			break;
	}
	pthread_mutex_unlock(&r->m);
}

void mmn_xp_call_srcu(struct rcu_head *head, void (*fn)(struct rcu_head *),
		      const char *func)
{
	struct xp_thread *t = xp_me();
	struct xp_run *r = xp_run_current;
	struct xp_callback *cb;

	mmn_xp_point(MMN_XP_CALL_SRCU, head, 0, func);
	pthread_mutex_lock(&r->m);
	if (r->ncbs == XP_MAX_CALLBACKS)
		abort();
	cb = &r->cbs[r->ncbs++];
	memset(cb, 0, sizeof(*cb));
	cb->head = head;
	cb->fn = fn;
	cb->seq = ++r->cb_seq;
	for (unsigned i = 0; i < r->nthreads; i++)
		cb->snap[i] = i == t->id ? 0 : r->threads[i].reader_epoch;
	xp_poke_worker(r);
	pthread_mutex_unlock(&r->m);
}

void mmn_xp_srcu_barrier(const char *func)
{
	struct xp_thread *t = xp_me();
	struct xp_run *r = xp_run_current;
	unsigned long upto;

	if (!t)
		return;
	mmn_xp_point(MMN_XP_SRCU_BARRIER, NULL, 0, func);
	pthread_mutex_lock(&r->m);
	upto = r->cb_seq;
	for (;;) {
		bool wait = false;

		for (unsigned i = 0; i < r->ncbs; i++)
			if (!r->cbs[i].done && r->cbs[i].seq <= upto)
				wait = true;
		if (!wait)
			break;
		if (!xp_block_locked(r, t, MMN_XP_SRCU_BARRIER, &r->srcu_obj,
				     "srcu_barrier (callbacks not yet run)",
				     func))
			break;
	}
	pthread_mutex_unlock(&r->m);
}

/* The SRCU callback worker (the kernel runs them from a workqueue). */
static void *xp_worker_main(void *arg)
{
	struct xp_run *r = arg;
	struct xp_thread *t = &r->threads[r->cfg.threads];

	mmn_task_set_comm("srcu_cb");
	pthread_mutex_lock(&r->m);
	snprintf(t->name, sizeof(t->name), "srcu_cb");
	mmn_xp_self = t;
	t->is_worker = true;
	/* idle until there is work: no branching on an idle worker */
	t->state = XP_BLOCKED;
	t->blocked_on = &r->worker_obj;
	t->block_kind = MMN_XP_BLOCK;
	t->block_what = "SRCU callbacks";
	t->block_func = "srcu_invoke_callbacks";
	r->attached++;
	pthread_cond_broadcast(&r->ctrl);
	xp_wait_step(r, t);
	for (;;) {
		struct xp_callback *cb = xp_ready_cb(r);

		if (cb) {
			cb->running = true;
			pthread_mutex_unlock(&r->m);
			mmn_xp_point(MMN_XP_SRCU_CALLBACK, cb->head, 0,
				     "srcu_invoke_callbacks");
			cb->fn(cb->head);
			pthread_mutex_lock(&r->m);
			cb->done = true;
			xp_wake_locked(r, &r->srcu_obj);
			continue;
		}
		if (r->ops_done == r->cfg.threads && !xp_cbs_pending(r))
			break;
		if (r->aborting && !xp_cbs_pending(r))
			break;
		if (!xp_block_locked(r, t, MMN_XP_BLOCK, &r->worker_obj,
				     "SRCU callbacks", "srcu_invoke_callbacks")) {
			/* winding down: what is left never becomes ready */
			if (!xp_ready_cb(r))
				break;
		}
	}
	t->state = XP_DONE;
	xp_record(r, t, MMN_XP_DONE, NULL, 0, NULL);
	xp_schedule(r, t);
	pthread_mutex_unlock(&r->m);
	mmn_xp_self = NULL;
	return NULL;
}

/* ---- one execution ---- */

static void xp_run_free(struct xp_run *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i <= MMN_XP_MAX_THREADS; i++)
		pthread_cond_destroy(&r->threads[i].cv);
	pthread_cond_destroy(&r->ctrl);
	pthread_mutex_destroy(&r->m);
	free(r->overrides);
	free(r->sleepers);
	free(r->decisions);
	free(r->events);
	free(r);
}

void mmn_xp_begin(const struct mmn_xp_config *config)
{
	struct xp_run *r;

	if (!xp_run_leaked)
		xp_run_free(xp_run_current);
	xp_run_leaked = false;
	r = calloc(1, sizeof(*r));
	if (!r)
		abort();
	pthread_mutex_init(&r->m, NULL);
	mmn_cond_init(&r->ctrl);
	for (unsigned i = 0; i <= MMN_XP_MAX_THREADS; i++) {
		pthread_cond_init(&r->threads[i].cv, NULL);
		r->threads[i].id = i;
	}
	r->cfg = *config;
	if (r->cfg.threads > MMN_XP_MAX_THREADS)
		r->cfg.threads = MMN_XP_MAX_THREADS;
	r->nthreads = r->cfg.threads + 1;	/* + the SRCU worker */
	if (config->override_count) {
		size_t n = config->override_count * sizeof(*r->overrides);

		r->overrides = malloc(n);
		if (!r->overrides)
			abort();
		memcpy(r->overrides, config->overrides, n);
	}
	r->cfg.overrides = r->overrides;
	if (config->sleeper_count) {
		size_t n = config->sleeper_count * sizeof(*r->sleepers);

		r->sleepers = malloc(n);
		if (!r->sleepers)
			abort();
		memcpy(r->sleepers, config->sleepers, n);
	}
	r->cfg.sleepers = r->sleepers;
	/* sleep sets belong to the bounded search's no-preemption rule */
	r->pruning = config->prune && config->policy == MMN_XP_POLICY_STAY;
	r->open_decision = -1;
	r->sleep_blocked_at = UINT32_MAX;
	xp_ids_init();
	for (unsigned i = 0; i < r->cfg.threads; i++)
		/* initial PCT priorities sit above every change point */
		r->threads[i].priority =
			MMN_XP_MAX_CHANGE_POINTS + config->priorities[i];
	r->threads[r->cfg.threads].priority = MMN_XP_MAX_CHANGE_POINTS;
	r->running = -1;
	xp_run_current = r;
}

void mmn_xp_attach(unsigned id, const char *name)
{
	struct xp_run *r = xp_run_current;
	struct xp_thread *t;

	if (id >= r->cfg.threads)
		abort();
	t = &r->threads[id];
	mmn_task_set_comm(name);
	pthread_mutex_lock(&r->m);
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->state = XP_RUNNABLE;
	t->last_kind = MMN_XP_START;
	mmn_xp_self = t;
	r->attached++;
	pthread_cond_broadcast(&r->ctrl);
	/*
	 * The operation's own code up to its first point is a step like any
	 * other: what it shares it reaches through the port (noted) or under
	 * a lock the scheduler sees (docs/explore.md, "what a step may touch").
	 */
	xp_wait_step(r, t);
	xp_record(r, t, MMN_XP_START, NULL, 0, NULL);
	pthread_mutex_unlock(&r->m);
}

void mmn_xp_detach(void)
{
	struct xp_run *r = xp_run_current;
	struct xp_thread *t = xp_me();

	if (!t)
		return;
	pthread_mutex_lock(&r->m);
	t->state = XP_DONE;
	xp_record(r, t, MMN_XP_DONE, NULL, 0, NULL);
	r->ops_done++;
	xp_poke_worker(r);
	xp_schedule(r, t);
	pthread_mutex_unlock(&r->m);
	mmn_xp_self = NULL;
}

static bool xp_timed_wait(struct xp_run *r, bool (*done)(struct xp_run *),
			  unsigned timeout_ms)
{
	struct timespec ts;

	mmn_deadline(&ts, timeout_ms);
	while (!done(r))
		if (pthread_cond_timedwait(&r->ctrl, &r->m, &ts) == ETIMEDOUT)
			return done(r);
	return true;
}

static bool xp_all_attached(struct xp_run *r)
{
	return r->attached == r->nthreads;
}

static bool xp_is_finished(struct xp_run *r)
{
	return r->finished;
}

int mmn_xp_run(void)
{
	struct xp_run *r = xp_run_current;
	unsigned timeout = r->cfg.wall_timeout_ms ? r->cfg.wall_timeout_ms :
						    20000;
	int status;

	if (pthread_create(&r->worker, NULL, xp_worker_main, r))
		abort();
	pthread_mutex_lock(&r->m);
	if (!xp_timed_wait(r, xp_all_attached, timeout)) {
		pthread_mutex_unlock(&r->m);
		xp_run_leaked = true;
		return MMN_XP_HARNESS_TIMEOUT;
	}
	r->started = true;
	xp_schedule(r, NULL);
	if (!xp_timed_wait(r, xp_is_finished, timeout)) {
		/*
		 * A thread ran for the whole watchdog without reaching a
		 * point: real blocking outside the scheduler's sight. Its
		 * threads may still wake, so this run's state is never freed.
		 */
		snprintf(r->blocked_text, sizeof(r->blocked_text),
			 "INFO: task %s did not reach a scheduling point within %u ms (last: %s in %s)\n",
			 r->running >= 0 ? r->threads[r->running].name : "?",
			 timeout,
			 r->running >= 0 ?
				 xp_kind_names[r->threads[r->running].last_kind] :
				 "?",
			 r->running >= 0 && r->threads[r->running].last_func ?
				 r->threads[r->running].last_func :
				 "?");
		pthread_mutex_unlock(&r->m);
		xp_run_leaked = true;
		return MMN_XP_HARNESS_TIMEOUT;
	}
	status = r->status;
	pthread_mutex_unlock(&r->m);
	pthread_join(r->worker, NULL);
	return status;
}

/* ---- reading the record ---- */

unsigned mmn_xp_decision_count(void)
{
	return xp_run_current ? xp_run_current->ndecisions : 0;
}

void mmn_xp_get_decision(unsigned index, struct mmn_xp_decision *out)
{
	struct xp_run *r = xp_run_current;

	if (r && index < r->ndecisions)
		*out = r->decisions[index];
	else
		memset(out, 0, sizeof(*out));
}

uint32_t mmn_xp_sleep_blocked_at(void)
{
	return xp_run_current ? xp_run_current->sleep_blocked_at : UINT32_MAX;
}

unsigned long mmn_xp_steps(void)
{
	return xp_run_current ? xp_run_current->steps : 0;
}

unsigned mmn_xp_preemptions(void)
{
	return xp_run_current ? xp_run_current->preemptions : 0;
}

unsigned mmn_xp_event_count(void)
{
	return xp_run_current ? xp_run_current->nevents : 0;
}

const char *mmn_xp_thread_name(unsigned id)
{
	struct xp_run *r = xp_run_current;

	return r && id < r->nthreads ? r->threads[id].name : "";
}

unsigned mmn_xp_thread_total(void)
{
	return xp_run_current ? xp_run_current->nthreads : 0;
}

void mmn_xp_name(const void *addr, const char *name)
{
	struct xp_run *r = xp_run_current;

	if (!r || r->nnames == XP_MAX_NAMES)
		return;
	r->names[r->nnames].addr = addr;
	snprintf(r->names[r->nnames].name, sizeof(r->names[0].name), "%s",
		 name);
	r->nnames++;
}

/* Known objects by name; others numbered by first appearance in the trace. */
static const char *xp_obj_name(struct xp_run *r, const void *obj,
			       const void **seen, unsigned *nseen,
			       char *buf, size_t len)
{
	if (!obj)
		return "-";
	for (unsigned i = 0; i < r->nnames; i++)
		if (r->names[i].addr == obj)
			return r->names[i].name;
	for (unsigned i = 0; i < *nseen; i++)
		if (seen[i] == obj) {
			snprintf(buf, len, "#%u", i + 1);
			return buf;
		}
	if (*nseen < 256)
		seen[(*nseen)++] = obj;
	snprintf(buf, len, "#%u", *nseen);
	return buf;
}

static const char *const xp_slot_names[] = {
	"invalidate_range_start", "invalidate_range_end", "invalidate_range",
	"release", "invalidate",
};

int mmn_xp_format_event(unsigned index, char *buf, unsigned len)
{
	static __thread const void *seen[256];
	static __thread unsigned nseen;
	struct xp_run *r = xp_run_current;
	const struct xp_event *e;
	const char *who;
	char nb[24];
	const char *n;

	if (!r || index >= r->nevents) {
		if (len)
			buf[0] = 0;
		return -1;
	}
	if (index == 0)
		nseen = 0;
	e = &r->events[index];
	who = e->thread < r->nthreads ? r->threads[e->thread].name : "?";
	if (e->kind < MMN_XP_KIND_COUNT && mmn_xp_kind_names_obj(e->kind))
		n = e->obj ? (const char *)e->obj : "?";
	else if (e->kind == MMN_XP_HLIST_LOAD && !e->obj)
		n = "head";
	else
		n = xp_obj_name(r, e->obj, seen, &nseen, nb, sizeof(nb));
	switch (e->kind) {
	case XP_SWITCH:
		snprintf(buf, len, "%s: -- %s: %s runs --", who,
			 e->value ? "preempted" : "switch", who);
		break;
	case MMN_XP_CALLBACK:
		snprintf(buf, len, "%s: %s: %s->%s", who, e->func, n,
			 xp_slot_names[e->value % 5]);
		break;
	case MMN_XP_RETURNED:
		snprintf(buf, len, "%s: %s: %s->%s returned %d", who, e->func,
			 n, xp_slot_names[(e->value >> 32) % 5],
			 (int)(e->value & 0xffffffff));
		break;
	case MMN_XP_HLIST_LOAD:
		snprintf(buf, len, "%s: %s: rcu_dereference(%s%s)", who,
			 e->func, n, e->obj ? "->next" : "->first");
		break;
	case MMN_XP_HLIST_ADD:
	case MMN_XP_HLIST_DEL:
	case MMN_XP_SPIN_LOCK:
	case MMN_XP_SPIN_UNLOCK:
	case MMN_XP_WAIT_EVENT:
	case MMN_XP_WAKE_UP:
	case MMN_XP_RWSEM_DOWN_READ:
	case MMN_XP_RWSEM_DOWN_WRITE:
	case MMN_XP_RWSEM_UP:
	case MMN_XP_CALL_SRCU:
		snprintf(buf, len, "%s: %s: %s(%s)", who, e->func,
			 xp_kind_names[e->kind], n);
		break;
	case MMN_XP_RWSEM_TRYLOCK:
		snprintf(buf, len, "%s: %s: down_read_trylock(%s) = %ld", who,
			 e->func, n, e->value);
		break;
	case MMN_XP_WRITE_ONCE:
		snprintf(buf, len, "%s: %s: WRITE_ONCE(%s, %ld)", who, e->func,
			 n, e->value);
		break;
	case MMN_XP_DRIVER:
		snprintf(buf, len, "%s: driver: %s (%ld)", who, n, e->value);
		break;
	case MMN_XP_FREE:
		snprintf(buf, len, "%s: %s: frees %s", who, e->func, n);
		break;
	case MMN_XP_BLOCK:
		snprintf(buf, len, "%s: %s: blocks in %s, waiting for %s", who,
			 e->func ? e->func : "?",
			 xp_kind_names[e->value % MMN_XP_KIND_COUNT], n);
		break;
	case MMN_XP_SRCU_READ_LOCK:
	case MMN_XP_SRCU_READ_UNLOCK:
	case MMN_XP_SYNCHRONIZE_SRCU:
	case MMN_XP_SRCU_BARRIER:
		snprintf(buf, len, "%s: %s(&srcu)", who, xp_kind_names[e->kind]);
		break;
	case MMN_XP_SRCU_CALLBACK:
		snprintf(buf, len, "%s: srcu_invoke_callbacks: callback for %s",
			 who, n);
		break;
	case MMN_XP_START:
	case MMN_XP_DONE:
		snprintf(buf, len, "%s: %s", who, xp_kind_names[e->kind]);
		break;
	default:
		snprintf(buf, len, "%s: %s: %s", who, e->func ? e->func : "?",
			 xp_kind_names[e->kind]);
		break;
	}
	return e->thread < r->nthreads ? e->thread : -1;
}

void mmn_xp_format_blocked(char *buf, unsigned len)
{
	struct xp_run *r = xp_run_current;

	snprintf(buf, len, "%s", r ? r->blocked_text : "");
}

/* Swift drivers' own steps: their text is kept for the trace. */
static pthread_mutex_t xp_strings_lock = PTHREAD_MUTEX_INITIALIZER;
static char *xp_strings[64];

static const char *xp_intern(const char *s)
{
	const char *out = "driver";

	pthread_mutex_lock(&xp_strings_lock);
	for (unsigned i = 0; i < 64; i++) {
		if (!xp_strings[i]) {
			xp_strings[i] = strdup(s);
			out = xp_strings[i];
			break;
		}
		if (!strcmp(xp_strings[i], s)) {
			out = xp_strings[i];
			break;
		}
	}
	pthread_mutex_unlock(&xp_strings_lock);
	return out;
}

void mmn_xp_driver_point(const char *what, long value)
{
	if (!xp_me())
		return;
	mmn_xp_point(MMN_XP_DRIVER, xp_intern(what), value, "driver");
}

void mmn_xp_object_point(const char *object, long value)
{
	struct xp_thread *t = xp_me();
	struct xp_run *r = xp_run_current;
	const char *name;

	if (!t)
		return;
	name = xp_intern(object);
	pthread_mutex_lock(&r->m);
	xp_record(r, t, MMN_XP_DRIVER, name, value, "driver");
	xp_step(r, t);
	xp_schedule(r, t);
	xp_wait_step(r, t);
	xp_fp_add(&t->fp, xp_class_id("object", name), true);
	pthread_mutex_unlock(&r->m);
}

int mmn_xp_controlled(void)
{
	return xp_me() != NULL;
}
