/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * rcu.c - thread registration and the flavour-independent RCU entry points.
 *
 * A thread registers with a flavour the first time it enters a read-side
 * section of that flavour (a TLS bit test on the fast path), and a
 * pthread key destructor unregisters it when the thread exits, so no
 * caller can forget either step.
 */
#include <dlfcn.h>
#include "../harness/internal.h"
#include "../kernel/tsan.h"

void mmn_log_printf(struct mm_struct *mm, int kind, const char *fmt, ...);

extern const struct mmn_rcu_flavor_ops mmn_rcu_memb_ops, mmn_rcu_mb_ops,
	mmn_rcu_qsbr_ops, mmn_rcu_bp_ops;

#ifdef MMN_TSAN
/*
 * TSan only: call_rcu hands the callback to liburcu's worker thread through
 * an uninstrumented queue, and the grace period before it is invisible
 * too; the caller releases (mmn_call_srcu_flavor) and the callback acquires
 * (mmn_odebug_callback) what every earlier reader released.
 */
char mmn_tsan_grace_period;
#endif

const struct mmn_rcu_flavor_ops *const mmn_rcu_flavors[MMN_FLAVOR_COUNT] = {
	[MMN_FLAVOR_MEMB] = &mmn_rcu_memb_ops,
	[MMN_FLAVOR_MB] = &mmn_rcu_mb_ops,
	[MMN_FLAVOR_QSBR] = &mmn_rcu_qsbr_ops,
	[MMN_FLAVOR_BP] = &mmn_rcu_bp_ops,
};

static pthread_key_t mmn_rcu_exit_key;
static pthread_once_t mmn_rcu_exit_once = PTHREAD_ONCE_INIT;

static void mmn_rcu_unregister_all(void)
{
	struct task_struct *t = current;

	for (int f = 0; f < MMN_FLAVOR_COUNT; f++) {
		if (!(t->rcu_registered & (1u << f)))
			continue;
		/* qsbr must be offline to leave; the others ignore this. */
		if (f == MMN_FLAVOR_QSBR)
			mmn_rcu_flavors[f]->thread_offline();
		mmn_rcu_flavors[f]->unregister_thread();
	}
	t->rcu_registered = 0;
	mmn_gp_thread_exit(t);
	t->qsbr_stay_online = 0;
}

static void mmn_rcu_thread_exit(void *unused)
{
	(void)unused;
	mmn_rcu_unregister_all();
}

static void mmn_rcu_make_key(void)
{
	pthread_key_create(&mmn_rcu_exit_key, mmn_rcu_thread_exit);
}

void mmn_rcu_register_current(int flavor)
{
	struct task_struct *t = current;

	pthread_once(&mmn_rcu_exit_once, mmn_rcu_make_key);
	/* Any non-NULL value makes the destructor run at thread exit. */
	pthread_setspecific(mmn_rcu_exit_key, t);
	mmn_rcu_flavors[flavor]->register_thread();
	t->rcu_registered |= 1u << flavor;
	/* A new qsbr reader is online; stay offline until a section starts. */
	if (flavor == MMN_FLAVOR_QSBR && !t->qsbr_stay_online)
		mmn_rcu_flavors[flavor]->thread_offline();
}

void mmn_rcu_unregister_thread(void)
{
	mmn_rcu_unregister_all();
}

static bool mmn_rcu_inside_reader(const char *what)
{
	if (likely(current->srcu_depth == 0))
		return false;
	/* One liburcu domain: this would wait for the caller's own section. */
	mmn_log_srcu_inside_reader(current->mmn_mm, what, current->srcu_depth);
	return true;
}

void mmn_synchronize_srcu_flavor(int flavor)
{
	unsigned long long began;

	if (mmn_rcu_inside_reader("synchronize_srcu"))
		return;
	began = mmn_gp_synchronize_begin();
	mmn_rcu_flavors[flavor]->synchronize();
	mmn_gp_synchronize_end(flavor, began);
	mmn_tsan_grace_period_ended();
}

/*
 * call_rcu and rcu_barrier use the read side internally, so the caller must
 * be registered and, under qsbr, online: a thread kept offline between
 * read-side sections comes online for the call. Returns whether it did.
 */
static bool mmn_rcu_online_for_update(int flavor)
{
	struct task_struct *t = current;

	if (unlikely(!(t->rcu_registered & (1u << flavor))))
		mmn_rcu_register_current(flavor);
	if (flavor != MMN_FLAVOR_QSBR || t->srcu_depth || t->qsbr_stay_online)
		return false;
	mmn_rcu_flavors[flavor]->thread_online();
	return true;
}

static void mmn_rcu_offline_after_update(int flavor, bool went_online)
{
	if (went_online)
		mmn_rcu_flavors[flavor]->thread_offline();
}

/*
 * The kernel's CONFIG_DEBUG_OBJECTS_RCU_HEAD: an rcu_head handed to
 * call_srcu while it is still queued is reported ("ODEBUG: activate active")
 * and not queued again. liburcu's callback queue is a wait-free list linked
 * through the heads themselves, so a second enqueue of a queued head (a
 * variant that puts twice) would cut the list, and every later rcu_barrier
 * of that flavour would wait for a callback its worker can never reach.
 * Each queued head is kept in a hash set, with its callback, until the
 * callback starts (liburcu hands back only the head).
 */
#define MMN_ODEBUG_BUCKETS 4096
struct mmn_odebug_obj {
	struct rcu_head *head;
	void (*func)(struct rcu_head *);
	struct mmn_odebug_obj *next;
};
static pthread_mutex_t mmn_odebug_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mmn_odebug_obj *mmn_odebug_active[MMN_ODEBUG_BUCKETS];

static struct mmn_odebug_obj **mmn_odebug_bucket(const struct rcu_head *head)
{
	return &mmn_odebug_active[((uintptr_t)head >> 4) * 2654435761u %
				  MMN_ODEBUG_BUCKETS];
}

/* The callback liburcu runs: deactivate the head, then call the real one. */
static void mmn_odebug_callback(struct rcu_head *head)
{
	struct mmn_odebug_obj **link, *o = NULL;

	pthread_mutex_lock(&mmn_odebug_lock);
	for (link = mmn_odebug_bucket(head); *link; link = &(*link)->next)
		if ((*link)->head == head) {
			o = *link;
			*link = o->next;
			break;
		}
	pthread_mutex_unlock(&mmn_odebug_lock);
	if (!o)
		abort();	/* liburcu ran a head it was never given */
	mmn_tsan_grace_period_ended();
	o->func(head);
	free(o);
}

/* Returns false (and reports) if head is queued already. */
static bool mmn_odebug_activate(struct rcu_head *head,
				void (*func)(struct rcu_head *))
{
	struct mmn_odebug_obj **bucket = mmn_odebug_bucket(head), *o;
	void (*queued)(struct rcu_head *) = NULL;
	Dl_info info;

	pthread_mutex_lock(&mmn_odebug_lock);
	for (o = *bucket; o; o = o->next)
		if (o->head == head) {
			queued = o->func;
			break;
		}
	if (!o) {
		o = malloc(sizeof(*o));
		if (!o)
			abort();
		o->head = head;
		o->func = func;
		o->next = *bucket;
		*bucket = o;
	}
	pthread_mutex_unlock(&mmn_odebug_lock);
	if (!queued)
		return true;
	if (!dladdr((const void *)queued, &info) || !info.dli_sname)
		info.dli_sname = "?";
	mmn_log_printf(current->mmn_mm, MMN_LOG_WARN,
		       "ODEBUG: activate active (active state 1) object: %p object type: rcu_head hint: %s\n"
		       "WARNING: call_srcu of an rcu_head whose callback has not run yet: not queued again (the second call is dropped, as debug-objects fixes it up)",
		       (void *)head, info.dli_sname);
	return false;
}

void mmn_call_srcu_flavor(int flavor, struct rcu_head *head,
			  void (*func)(struct rcu_head *))
{
	bool online;

	if (!mmn_odebug_activate(head, func))
		return;
	mmn_tsan_reader_done();
	online = mmn_rcu_online_for_update(flavor);
	mmn_rcu_flavors[flavor]->call(head, mmn_odebug_callback);
	mmn_rcu_offline_after_update(flavor, online);
}

void mmn_srcu_barrier_flavor(int flavor)
{
	bool online;

	if (mmn_rcu_inside_reader("srcu_barrier"))
		return;
	online = mmn_rcu_online_for_update(flavor);
	mmn_rcu_flavors[flavor]->barrier();
	mmn_tsan_grace_period_ended();
	mmn_rcu_offline_after_update(flavor, online);
}

/* ---- public entry points (mmn_harness.h) ---- */

static bool mmn_flavor_valid(int flavor)
{
	return flavor >= 0 && flavor < MMN_FLAVOR_COUNT;
}

const char *mmn_flavor_name(int flavor)
{
	return mmn_flavor_valid(flavor) ? mmn_rcu_flavors[flavor]->name : NULL;
}

void mmn_srcu_read_lock(int flavor)
{
	struct task_struct *t = current;

	if (!(t->rcu_registered & (1u << flavor)))
		mmn_rcu_register_current(flavor);
	if (flavor == MMN_FLAVOR_QSBR && t->srcu_depth == 0 &&
	    !t->qsbr_stay_online)
		mmn_rcu_flavors[flavor]->thread_online();
	mmn_rcu_flavors[flavor]->read_lock();
	/* the same outermost-section bookkeeping as kernel/srcu.h's */
	if (t->srcu_depth++ == 0)
		mmn_gp_reader_enter(t, flavor);
}

void mmn_srcu_read_unlock(int flavor)
{
	struct task_struct *t = current;

	if (t->srcu_depth == 1)
		mmn_gp_reader_exit(t, flavor);
	mmn_rcu_flavors[flavor]->read_unlock();
	if (--t->srcu_depth == 0 && flavor == MMN_FLAVOR_QSBR) {
		if (t->qsbr_stay_online)
			mmn_rcu_flavors[flavor]->quiescent_state();
		else
			mmn_rcu_flavors[flavor]->thread_offline();
	}
}

void mmn_synchronize_srcu(int flavor)
{
	mmn_synchronize_srcu_flavor(flavor);
}

void mmn_srcu_barrier(int flavor)
{
	mmn_srcu_barrier_flavor(flavor);
}

int mmn_srcu_depth(void)
{
	return current->srcu_depth;
}

void mmn_rcu_set_stay_online(int flavor, int stay_online)
{
	struct task_struct *t = current;

	if (flavor != MMN_FLAVOR_QSBR)
		return;
	if (!(t->rcu_registered & (1u << flavor)))
		mmn_rcu_register_current(flavor);
	if (stay_online && !t->qsbr_stay_online) {
		t->qsbr_stay_online = 1;
		if (t->srcu_depth == 0)
			mmn_rcu_flavors[flavor]->thread_online();
	} else if (!stay_online && t->qsbr_stay_online) {
		t->qsbr_stay_online = 0;
		if (t->srcu_depth == 0)
			mmn_rcu_flavors[flavor]->thread_offline();
	}
}

void mmn_rcu_thread_offline(int flavor)
{
	mmn_rcu_set_stay_online(flavor, 0);
}

const char *mmn_urcu_library_path(void)
{
	static char path[512];
	Dl_info info;
	void *sym = dlsym(RTLD_DEFAULT, "urcu_memb_synchronize_rcu");

	if (!sym || !dladdr(sym, &info) || !info.dli_fname)
		return "unknown";
	snprintf(path, sizeof(path), "%s", info.dli_fname);
	return path;
}
