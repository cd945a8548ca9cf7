/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mm.c - the harness's address space and the entry points Swift calls.
 *
 * Every entry point sets current->mmn_mm for the duration of the call, so
 * that a WARN or pr_info deep inside the port lands in this mm's log, and
 * then dispatches through the mm's core table (its variant and flavour):
 * one indirect call per operation, none per notifier.
 */
#include "internal.h"
#include "registry.h"

struct mmn_pseudo_lock mmn_orphan_pseudo = {
	.map = { .name = "mmu_notifier_invalidate_range_start" },
};

struct mmn_lockdep *mmn_current_lockdep(void)
{
	struct mm_struct *mm = current->mmn_mm;

	return mm ? mm->lockdep : NULL;
}

void mmn_deadline(struct timespec *ts, unsigned timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += timeout_ms / 1000;
	ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

void mmn_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

unsigned mmn_timeout_ms(const struct mm_struct *mm)
{
	return mm && mm->hung_timeout_ms ? mm->hung_timeout_ms : 1000;
}

/*
 * A qsbr thread that stays online would hold up every grace period while
 * it sleeps; a sleeping reader is quiescent, so say so.
 */
static bool mmn_block_begin(void)
{
	struct task_struct *t = current;

	if (t->qsbr_stay_online && t->srcu_depth == 0 &&
	    (t->rcu_registered & (1u << MMN_FLAVOR_QSBR))) {
		mmn_rcu_flavors[MMN_FLAVOR_QSBR]->thread_offline();
		return true;
	}
	return false;
}

static void mmn_block_end(bool was_online)
{
	if (was_online)
		mmn_rcu_flavors[MMN_FLAVOR_QSBR]->thread_online();
}

/* ---- the pseudo-lock as a real lock (seed 004's thought experiment) ---- */

void mmn_pseudo_lock_acquire_slow(struct mmn_pseudo_lock *p, const char *site)
{
	struct mm_struct *mm = current->mmn_mm;
	int me = task_pid_nr(current);
	struct timespec ts;
	bool online;
	int rc = 0;

	(void)site;
	pthread_mutex_lock(&p->m);
	if (p->owner_pid == me) {
		/* re-entry from a callback: lockdep would have said so */
		pthread_mutex_unlock(&p->m);
		return;
	}
	mmn_deadline(&ts, mmn_timeout_ms(mm));
	online = mmn_block_begin();
	while (p->owner_pid && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&p->cond, &p->m, &ts);
	mmn_block_end(online);
	if (p->owner_pid) {
		char holder[96];

		snprintf(holder, sizeof(holder), "held by %s:%d",
			 p->owner_comm, p->owner_pid);
		pthread_mutex_unlock(&p->m);
		mmn_log_hung(mm, mmn_timeout_ms(mm),
			     "mmu_notifier_invalidate_range_start (pseudo-lock made real)",
			     holder);
		return;	/* not taken: the release will see it is not ours */
	}
	p->owner_pid = me;
	snprintf(p->owner_comm, sizeof(p->owner_comm), "%s", mmn_task_comm());
	pthread_mutex_unlock(&p->m);
}

void mmn_pseudo_lock_release_slow(struct mmn_pseudo_lock *p)
{
	pthread_mutex_lock(&p->m);
	if (p->owner_pid == task_pid_nr(current)) {
		p->owner_pid = 0;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->m);
}

/* ---- wait queues ---- */

void init_waitqueue_head(wait_queue_head_t *wq)
{
	pthread_mutex_init(&wq->lock, NULL);
	mmn_cond_init(&wq->cond);
	wq->sleepers = 0;
}

void wake_up_all(wait_queue_head_t *wq)
{
	pthread_mutex_lock(&wq->lock);
	pthread_cond_broadcast(&wq->cond);
	pthread_mutex_unlock(&wq->lock);
	if (mmn_xp_active()) {
		mmn_xp_wake(wq);
		mmn_xp_point(MMN_XP_WAKE_UP, "wq", 0, "wake_up_all");
	}
}

void mmn_wait_begin(wait_queue_head_t *wq, struct mmn_wait *w)
{
	w->deadline_ns = mmn_now_ns() +
			 (unsigned long long)mmn_timeout_ms(current->mmn_mm) *
				 1000000ULL;
	w->timed_out = false;
	pthread_mutex_lock(&wq->lock);
	wq->sleepers++;
}

bool mmn_wait_step(wait_queue_head_t *wq, struct mmn_wait *w,
		   const char *func, const char *what)
{
	struct mm_struct *mm = current->mmn_mm;
	struct timespec ts;
	bool online;
	int rc;

	ts.tv_sec = (time_t)(w->deadline_ns / 1000000000ULL);
	ts.tv_nsec = (long)(w->deadline_ns % 1000000000ULL);
	if (mmn_xp_active()) {
		/* the scheduler's wait: runnable again at wake_up_all */
		bool woken;

		pthread_mutex_unlock(&wq->lock);
		woken = mmn_xp_block(MMN_XP_WAIT_EVENT, wq,
				     what ? what : "a wait queue",
				     func ? func : "wait_event");
		pthread_mutex_lock(&wq->lock);
		rc = woken ? 0 : ETIMEDOUT;
	} else {
		online = mmn_block_begin();
		rc = pthread_cond_timedwait(&wq->cond, &wq->lock, &ts);
		mmn_block_end(online);
	}
	if (rc != ETIMEDOUT)
		return true;
	w->timed_out = true;
	{
		char buf[256];

		/* the port's wait_event names its caller; a driver's names itself */
		if (func)
			snprintf(buf, sizeof(buf), "%s() in wait_event(%s)", func,
				 what);
		else
			snprintf(buf, sizeof(buf), "%s", what);
		mmn_log_hung(mm, mmn_timeout_ms(mm), buf, NULL);
	}
	return false;
}

void mmn_wait_end(wait_queue_head_t *wq, struct mmn_wait *w)
{
	(void)w;
	wq->sleepers--;
	pthread_mutex_unlock(&wq->lock);
}

/* ---- mm lifetime ---- */

static void mmn_vmas_create(struct mm_struct *mm, unsigned long nr,
			    unsigned long size)
{
	unsigned long base = 0x7f0000000000UL;

	if (!nr)
		return;
	mm->vmas = calloc(nr, sizeof(*mm->vmas));
	if (!mm->vmas)
		abort();
	for (unsigned long i = 0; i < nr; i++) {
		struct vm_area_struct *vma = &mm->vmas[i];

		/* a guard page between VMAs, as mmap leaves none but it reads well */
		vma->vm_start = base + i * (size + 0x1000UL);
		vma->vm_end = vma->vm_start + size;
		vma->vm_mm = mm;
		vma->vm_next = i + 1 < nr ? &mm->vmas[i + 1] : NULL;
	}
	mm->mmap = &mm->vmas[0];
	mm->nr_vmas = nr;
}


struct mm_struct *mmn_mm_create(const struct mmn_mm_config *config)
{
	struct mm_struct *mm;

	if (!config || config->variant >= mmn_variant_count ||
	    config->flavor < 0 || config->flavor >= MMN_FLAVOR_COUNT)
		return NULL;
	mm = calloc(1, sizeof(*mm));
	if (!mm)
		abort();
	mm->mm_users = 1;
	mm->mm_count = 1;
	mm->variant = config->variant;
	mm->flavor = config->flavor;
	mm->core = config->explore ? mmn_variants[config->variant].explore :
				     mmn_variants[config->variant].cores[config->flavor];
	if (config->explore) {
		mm->flavor = MMN_FLAVOR_QSBR;
		mm->arena_size = 256 * 1024;
		mm->arena = calloc(1, mm->arena_size);
		if (!mm->arena)
			abort();
	}
	mm->owner_pid = config->pid ? config->pid : 4242;
	snprintf(mm->owner_comm, sizeof(mm->owner_comm), "%s",
		 config->comm ? config->comm : "victim");
	mm->hung_timeout_ms = config->hung_timeout_ms ? config->hung_timeout_ms :
							 1000;
	mm->created_ns = mmn_now_ns();
	mm->log = mmn_log_create(config->log_records);
	mm->ledger = mmn_ledger_create();
	mm->lockdep = mmn_lockdep_create(mmn_log_lockdep_report, mm);
	mmn_lockdep_set_enabled(mm->lockdep, config->lockdep);
	lockdep_init_map(&mm->pseudo.map, "mmu_notifier_invalidate_range_start",
			 mm->lockdep);
	mm->pseudo.real = config->pseudo_lock_is_real;
	pthread_mutex_init(&mm->pseudo.m, NULL);
	mmn_cond_init(&mm->pseudo.cond);
	mmn_init_rwsem(&mm->mmap_lock, "&mm->mmap_lock", true, mm, mm->lockdep);
	mmn_vmas_create(mm, config->nr_vmas,
			config->vma_size ? config->vma_size : 0x200000UL);
	return mm;
}

void *mmn_mm_alloc(struct mm_struct *mm, size_t size)
{
	size_t at = (mm->arena_used + 63) & ~(size_t)63;
	void *p;

	if (!mm->arena || at + size > mm->arena_size) {
		p = calloc(1, size);
		if (!p)
			abort();
		return p;
	}
	mm->arena_used = at + size;
	return mm->arena + at;
}

bool mmn_mm_owns(const struct mm_struct *mm, const void *p)
{
	return mm->arena && (const char *)p >= mm->arena &&
	       (const char *)p < mm->arena + mm->arena_size;
}

void (mmgrab)(struct mm_struct *mm)
{
	__atomic_fetch_add(&mm->mm_count, 1, __ATOMIC_RELAXED);
}

/* __mmdrop: the last reference frees the subscriptions and the harness state. */
void (mmdrop)(struct mm_struct *mm)
{
	struct mm_struct *prev;

	if (__atomic_sub_fetch(&mm->mm_count, 1, __ATOMIC_ACQ_REL))
		return;
	prev = mmn_enter(mm);
	if (mm->notifier_subscriptions)
		mm->core->subscriptions_destroy(mm);
	mmn_leave(prev);
	mmn_kasan_destroy(mm);
	free(mm->arena);
	mmn_rwsem_fini(&mm->mmap_lock);
	pthread_mutex_destroy(&mm->pseudo.m);
	pthread_cond_destroy(&mm->pseudo.cond);
	mmn_ledger_destroy(mm->ledger);
	mmn_lockdep_destroy(mm->lockdep);
	mmn_log_destroy(mm->log);
	free(mm->vmas);
	free(mm);
}

void mmn_mm_drop(struct mm_struct *mm)
{
	mmdrop(mm);
}

unsigned mmn_mm_variant(const struct mm_struct *mm)
{
	return mm->variant;
}

int mmn_mm_flavor(const struct mm_struct *mm)
{
	return mm->flavor;
}

unsigned long mmn_mm_nr_vmas(const struct mm_struct *mm)
{
	return mm->nr_vmas;
}

unsigned long mmn_mm_vma_start(const struct mm_struct *mm, unsigned long i)
{
	return i < mm->nr_vmas ? mm->vmas[i].vm_start : 0;
}

unsigned long mmn_mm_vma_end(const struct mm_struct *mm, unsigned long i)
{
	return i < mm->nr_vmas ? mm->vmas[i].vm_end : 0;
}

unsigned long mmn_mm_reaped_vmas(const struct mm_struct *mm)
{
	return __atomic_load_n(&mm->reaped_vmas, __ATOMIC_RELAXED);
}

unsigned long mmn_mm_active_invalidate_ranges(struct mm_struct *mm)
{
	return mm->core->active_invalidate_ranges(mm);
}

unsigned long mmn_mm_invalidate_seq(struct mm_struct *mm)
{
	return mm->core->invalidate_seq(mm);
}

unsigned long mmn_mm_hlist_count(struct mm_struct *mm)
{
	return mm->core->hlist_count(mm);
}

void mmn_mm_set_trace(struct mm_struct *mm, mmn_trace_fn fn, void *arg)
{
	mm->trace_arg = arg;
	__atomic_store_n(&mm->trace_fn, fn, __ATOMIC_RELEASE);
}

void mmn_trace(struct mm_struct *mm, int event, const void *subscription)
{
	/* the ledger already heard of an unlink, before it (mmn_ledger_unlinking) */
	mmn_trace_fn fn = __atomic_load_n(&mm->trace_fn, __ATOMIC_ACQUIRE);

	if (fn)
		fn(mm->trace_arg, event, subscription);
}

void mmn_mm_get_stats(struct mm_struct *mm, struct mmn_mm_stats *out)
{
	out->registrations = __atomic_load_n(&mm->stats.registrations, __ATOMIC_RELAXED);
	out->unregistrations = __atomic_load_n(&mm->stats.unregistrations, __ATOMIC_RELAXED);
	out->puts = __atomic_load_n(&mm->stats.puts, __ATOMIC_RELAXED);
	out->frees = __atomic_load_n(&mm->stats.frees, __ATOMIC_RELAXED);
	out->interval_inserts = __atomic_load_n(&mm->stats.interval_inserts, __ATOMIC_RELAXED);
	out->interval_removes = __atomic_load_n(&mm->stats.interval_removes, __ATOMIC_RELAXED);
}

unsigned mmn_mm_lock_cycles(struct mm_struct *mm)
{
	return mmn_lockdep_cycles(mm->lockdep);
}

unsigned mmn_mm_lock_edges(struct mm_struct *mm)
{
	return mmn_lockdep_edges(mm->lockdep);
}

/* ---- invalidations ---- */

void mmn_range_init(struct mmu_notifier_range *range, struct mm_struct *mm,
		    enum mmu_notifier_event event, unsigned long start,
		    unsigned long end)
{
	memset(range, 0, sizeof(*range));
	range->mm = mm;
	range->event = event;
	range->start = start;
	range->end = end;
	range->mmn_id = mmn_next_range_id();
}

bool mmn_mmap_read_lock(struct mm_struct *mm)
{
	struct mm_struct *prev = mmn_enter(mm);
	bool ok = mmap_read_lock(mm);

	mmn_leave(prev);
	return ok;
}

void mmn_mmap_read_unlock(struct mm_struct *mm)
{
	mmap_read_unlock(mm);
}

void (mmn_range_retire)(struct mmu_notifier_range *range)
{
	/* a tree half never ended must not be taken for a later range's */
	mmn_ledger_itree_retire(range);
	if (range->mmn_ledger)
		mmn_ledger_retire(range);
}

void mmn_invalidate_range_start(struct mmu_notifier_range *range)
{
	struct mm_struct *prev = mmn_enter(range->mm);

	range->mm->core->invalidate_range_start(range);
	mmn_leave(prev);
}

int mmn_invalidate_range_start_nonblock(struct mmu_notifier_range *range)
{
	struct mm_struct *prev = mmn_enter(range->mm);
	int ret = range->mm->core->invalidate_range_start_nonblock(range);

	mmn_leave(prev);
	return ret;
}

void mmn_invalidate_range_end(struct mmu_notifier_range *range)
{
	struct mm_struct *prev = mmn_enter(range->mm);

	range->mm->core->invalidate_range_end(range);
	mmn_leave(prev);
}

void mmn_invalidate_range_only_end(struct mmu_notifier_range *range)
{
	struct mm_struct *prev = mmn_enter(range->mm);

	range->mm->core->invalidate_range_only_end(range);
	mmn_leave(prev);
}

void mmn_notifier_release(struct mm_struct *mm)
{
	struct mm_struct *prev = mmn_enter(mm);

	mm->core->notifier_release(mm);
	mmn_leave(prev);
}

void mmn_oom_reap_task(struct mm_struct *mm, struct mmn_oom_result *out)
{
	struct mm_struct *prev = mmn_enter(mm);

	memset(out, 0, sizeof(*out));
	/* mark_oom_victim: exit_mmap will reap once more */
	set_bit(MMF_OOM_VICTIM, &mm->flags);
	mm->core->oom_reap_task(mm, out);
	mmn_leave(prev);
}

void mmn_munmap(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct mm_struct *prev = mmn_enter(mm);

	mm->core->munmap(mm, start, end);
	mmn_leave(prev);
}

void mmn_exit_mmap(struct mm_struct *mm)
{
	struct mm_struct *prev = mmn_enter(mm);

	/* mmput: the last user is gone before exit_mmap (kernel/fork.c) */
	__atomic_store_n(&mm->mm_users, 0, __ATOMIC_RELEASE);
	mm->core->exit_mmap(mm);
	mmn_leave(prev);
}

void mmn_notifier_synchronize(struct mm_struct *mm)
{
	struct mm_struct *prev = mmn_enter(mm);

	mm->core->notifier_synchronize();
	mmn_leave(prev);
}

void mmn_notifier_barrier(struct mm_struct *mm)
{
	struct mm_struct *prev = mmn_enter(mm);

	mm->core->notifier_barrier();
	mmn_leave(prev);
}

/* Where (lane, copy) sits in a core's bench tables. */
static unsigned mmn_bench_slot(unsigned lane, unsigned copy)
{
	if (lane >= MMN_BENCH_LANES)
		lane = MMN_BENCH_LANE_C;
	return lane * MMN_BENCH_COPIES + copy % MMN_BENCH_COPIES;
}

/* core's timed loop over mm's list, with current->mmn_mm set to mm. */
static unsigned long long mmn_bench_run(const struct mmn_core *core,
					struct mm_struct *mm,
					unsigned long iterations,
					bool retire_ranges, unsigned lane,
					unsigned copy)
{
	struct mm_struct *prev = mmn_enter(mm);
	unsigned long long ns = core->bench_core[mmn_bench_slot(lane, copy)](
		mm, iterations, retire_ranges);

	mmn_leave(prev);
	return ns;
}

unsigned long long mmn_bench_core(struct mm_struct *mm, unsigned long iterations,
				  bool retire_ranges, unsigned lane, unsigned copy)
{
	return mmn_bench_run(mm->core, mm, iterations, retire_ranges, lane,
			     copy);
}

unsigned long long mmn_bench_floor(struct mm_struct *mm,
				   unsigned long iterations, unsigned lane,
				   unsigned copy)
{
	return mm->core->bench_floor[mmn_bench_slot(lane, copy)](mm,
								  iterations);
}

/* port/config: original without CONFIG_DEBUG_ATOMIC_SLEEP, per flavour. */
MMN_DECLARE_CORES(original_no_debug_atomic_sleep);
static const struct mmn_core *const mmn_cores_no_debug_atomic_sleep[] = {
	[MMN_FLAVOR_MEMB] = &mmn_core_original_no_debug_atomic_sleep_memb,
	[MMN_FLAVOR_MB] = &mmn_core_original_no_debug_atomic_sleep_mb,
	[MMN_FLAVOR_QSBR] = &mmn_core_original_no_debug_atomic_sleep_qsbr,
	[MMN_FLAVOR_BP] = &mmn_core_original_no_debug_atomic_sleep_bp,
};

unsigned long long
mmn_bench_core_no_debug_atomic_sleep(struct mm_struct *mm,
				     unsigned long iterations, unsigned lane,
				     unsigned copy)
{
	return mmn_bench_run(mmn_cores_no_debug_atomic_sleep[mm->core->flavor],
			     mm, iterations, false, lane, copy);
}

/* ---- variants ---- */

unsigned mmn_variants_count(void)
{
	return mmn_variant_count;
}

#define MMN_VARIANT_FIELD(field)					\
	const char *mmn_variant_##field(unsigned variant)		\
	{								\
		return variant < mmn_variant_count ?			\
			       mmn_variants[variant].field : NULL;	\
	}
MMN_VARIANT_FIELD(id)
MMN_VARIANT_FIELD(summary)
MMN_VARIANT_FIELD(upstream)
MMN_VARIANT_FIELD(seed)
MMN_VARIANT_FIELD(patch)
MMN_VARIANT_FIELD(base)

/* ---- mmu_notifier_get ---- */

/* The candidate mmn_get offers; ops->alloc_notifier hands it to the core. */
static __thread struct mmn_subscription *mmn_get_candidate;
static __thread bool mmn_get_allocated;

static struct mmu_notifier *mmn_get_alloc_notifier(struct mm_struct *mm)
{
	(void)mm;
	mmn_get_allocated = true;
	return &mmn_get_candidate->mn;
}

struct mmn_subscription *mmn_get(struct mm_struct *mm,
				 const struct mmn_subscription_config *config,
				 int *err)
{
	struct mmn_subscription_config c;
	struct mmu_notifier_ops ops;
	struct mmn_subscription *cand, *got;
	struct mmu_notifier *mn;
	struct mm_struct *prev;

	*err = 0;
	if (!mm || !config || !config->ops) {
		*err = -EINVAL;
		return NULL;
	}
	/* the same driver's candidates intern to one table: find_get matches it */
	ops = *config->ops;
	ops.alloc_notifier = mmn_get_alloc_notifier;
	c = *config;
	c.ops = &ops;
	cand = mmn_subscription_create(mm, &c);
	if (!cand) {
		if (config->release_ctx && config->ctx)
			config->release_ctx(config->ctx);
		*err = -EINVAL;
		return NULL;
	}
	prev = mmn_enter(mm);
	mmn_ledger_attach(cand);
	mmn_get_candidate = cand;
	mmn_get_allocated = false;
	mn = mm->core->notifier_get(cand->mn.ops, mm);
	mmn_get_candidate = NULL;
	if (IS_ERR(mn)) {
		*err = (int)PTR_ERR(mn);
		/* a failed register already freed it through free_notifier */
		if (!mmn_get_allocated) {
			mmn_ledger_detach(cand);
			mmn_subscription_destroy(cand);
		}
		got = NULL;
	} else if (mn == &cand->mn) {
		cand->registered = true;
		__atomic_fetch_add(&mm->stats.registrations, 1,
				   __ATOMIC_RELAXED);
		got = cand;
	} else {
		/* an existing subscription gained a user; the candidate goes */
		mmn_ledger_detach(cand);
		mmn_subscription_destroy(cand);
		got = mmn_sub_of(mn);
	}
	mmn_leave(prev);
	return got;
}

void *mmn_subscription_context(const struct mmn_subscription *sub)
{
	return sub->ctx;
}

unsigned mmn_subscription_users(const struct mmn_subscription *sub)
{
	return __atomic_load_n(&sub->mn.users, __ATOMIC_RELAXED);
}

void mmn_debug_mm_count_add(struct mm_struct *mm, int delta)
{
	__atomic_fetch_add(&mm->mm_count, delta, __ATOMIC_ACQ_REL);
}
