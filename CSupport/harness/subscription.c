/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * subscription.c - the harness's wrapper around a struct mmu_notifier and
 * a struct mmu_interval_notifier: the driver's context, its ops (copied,
 * NULL entries kept, the table the core sees shared as in the kernel), the
 * ledger's interposer, and what happens on free.
 *
 * rcutorture's check, adapted: a freed subscription is poisoned and kept
 * in a quarantine instead of being returned to malloc, with its list links
 * intact, so a reader that still reaches it (a grace period that ended too
 * early) runs into the poison and is counted, rather than corrupting
 * memory. The quarantine is bounded; past it the oldest entries are
 * really freed, which AddressSanitizer then watches.
 */
#include "internal.h"

#include "../explore/explore.h"

static void mmn_subscription_release_memory(struct mmn_subscription *sub)
{
	if (sub->release_ctx && sub->ctx_kept)
		sub->release_ctx(sub->ctx_kept);
	for (int i = 0; i < MMN_KSYM_SLOTS; i++)
		free(sub->ksym[i]);
	free((void *)sub->symbol);
	if (!mmn_mm_owns(sub->owner, sub))
		free(sub);
}

static void mmn_subscription_release_void(void *p)
{
	mmn_subscription_release_memory(p);
}

/* ops->free_notifier: the core calls it after the grace period of a put. */
static void mmn_subscription_free_notifier(struct mmu_notifier *mn)
{
	mmn_subscription_free(mmn_sub_of(mn),
			      "mmu_notifier_free_rcu (->free_notifier after mmu_notifier_put's grace period)");
}

void mmn_subscription_free(struct mmn_subscription *sub, const char *freed_in)
{
	struct mm_struct *mm = sub->owner;
	struct mm_struct *prev = mmn_enter(mm);
	void *ctx = sub->ctx;

	mmn_gp_check_free(mm, sub->symbol, sub->gp_unlinked, &sub->mn.rcu,
			  freed_in);
	mmn_ledger_detach(sub);
	mmn_trace(mm, MMN_TRACE_FREED, &sub->mn);
	/* poison first, so a late reader never calls into the driver */
	__atomic_store_n(&sub->poison, MMN_POISON, __ATOMIC_RELEASE);
	__atomic_store_n(&sub->ctx, NULL, __ATOMIC_RELEASE);
	/*
	 * driver_ops stay: a walker past the poison check may still call
	 * one, and the driver is alive until the quarantine lets it go; the
	 * cleared context word makes the Swift trampolines report instead.
	 */
	/* released with the memory (mmn_subscription_release_memory) */
	sub->ctx_kept = ctx;
	__atomic_fetch_add(&mm->stats.frees, 1, __ATOMIC_RELAXED);
	mmn_kasan_quarantine(mm, sub, sizeof(*sub),
			     mmn_subscription_release_void,
			     "struct mmu_notifier", sub->symbol, freed_in);
	if (mmn_xp_active())
		mmn_xp_point(MMN_XP_FREE, &sub->mn, 0, "kfree");
	mmn_leave(prev);
}

_Static_assert(sizeof(struct mmu_notifier_ops) % sizeof(void *) == 0,
	       "mmn_ops_intern compares tables of pointers with memcmp");

/*
 * The ops table the core sees: the driver's callbacks, or the ledger's
 * trampolines where the driver has one, and always the harness's
 * free_notifier. In the kernel every subscription of a driver points at
 * that driver's one static const table (kvm_mmu_notifier_ops, gru_mmuops),
 * so a walk over many subscriptions reads one ops line, not one per node.
 * The harness keeps that: tables are interned by content and, like static
 * ones, live as long as the process. Only function pointers, so no padding
 * for memcmp to trip on; a handful of distinct tables exist in a run.
 */
struct mmn_interned_ops {
	struct mmu_notifier_ops ops;
	struct mmn_interned_ops *next;
};

static pthread_mutex_t mmn_ops_intern_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mmn_interned_ops *mmn_ops_interned;

static const struct mmu_notifier_ops *
mmn_ops_intern(const struct mmu_notifier_ops *ops)
{
	struct mmn_interned_ops *e;

	pthread_mutex_lock(&mmn_ops_intern_lock);
	for (e = mmn_ops_interned; e; e = e->next)
		if (!memcmp(&e->ops, ops, sizeof(*ops)))
			break;
	if (!e) {
		/* 64-byte aligned: each table is one cache line */
		if (posix_memalign((void **)&e, 64, sizeof(*e)))
			abort();
		e->ops = *ops;
		e->next = mmn_ops_interned;
		mmn_ops_interned = e;
	}
	pthread_mutex_unlock(&mmn_ops_intern_lock);
	return &e->ops;
}

static void mmn_ksym_prepare(struct mmn_subscription *sub);

struct mmn_subscription *
mmn_subscription_create(struct mm_struct *mm,
			const struct mmn_subscription_config *config)
{
	struct mmn_subscription *sub;
	const struct mmu_notifier_ops *l = &mmn_ledger_ops_template;
	struct mmu_notifier_ops core_ops = { 0 };

	_Static_assert(offsetof(struct mmn_subscription, mn) == sizeof(void *),
		       "mmn_notifier_ctx() reads the word before the notifier");
	if (!mm || !config || !config->ops)
		return NULL;
	sub = mmn_mm_alloc(mm, sizeof(*sub));
	sub->ctx = config->ctx;
	sub->driver_ops = *config->ops;
	sub->symbol = strdup(config->symbol ? config->symbol : "notifier");
	sub->release_ctx = config->release_ctx;
	sub->owner = mm;
	sub->ledger = config->ledger;
	sub->id = __atomic_add_fetch(&mm->next_sub_id, 1, __ATOMIC_RELAXED);
	if (sub->ledger) {
		/* interpose only where the driver has a callback: NULL stays NULL */
		const struct mmu_notifier_ops *d = &sub->driver_ops;

		core_ops.release = d->release ? l->release : NULL;
		core_ops.invalidate_range_start =
			d->invalidate_range_start ? l->invalidate_range_start : NULL;
		core_ops.invalidate_range_end =
			d->invalidate_range_end ? l->invalidate_range_end : NULL;
		core_ops.invalidate_range =
			d->invalidate_range ? l->invalidate_range : NULL;
	} else {
		core_ops = sub->driver_ops;
	}
	/* v6.6: nothing in the harness flushes a TLB, so nothing to interpose */
	core_ops.arch_invalidate_secondary_tlbs =
		sub->driver_ops.arch_invalidate_secondary_tlbs;
	core_ops.free_notifier = mmn_subscription_free_notifier;
	/* mmn_get's constructor: the core calls it, never the ledger */
	core_ops.alloc_notifier = sub->driver_ops.alloc_notifier;
	sub->mn.ops = mmn_ops_intern(&core_ops);
	mmn_ksym_prepare(sub);
	INIT_HLIST_NODE(&sub->mn.hlist);
	return sub;
}

void mmn_subscription_destroy(struct mmn_subscription *sub)
{
	if (!sub || sub->registered)
		return;
	if (sub->release_ctx && sub->ctx)
		sub->release_ctx(sub->ctx);
	mmn_subscription_release_memory(sub);
}

const struct mmu_notifier *
mmn_subscription_notifier(const struct mmn_subscription *sub)
{
	return &sub->mn;
}

const struct mmu_notifier_ops *
mmn_notifier_ops(const struct mmu_notifier *subscription)
{
	return subscription->ops;
}

void mmn_freed_callback(const struct mmu_notifier *mn, const char *callback)
{
	mmn_ledger_poison_seen(mmn_sub_of(mn), callback);
}

unsigned long long mmn_subscription_id(const struct mmn_subscription *sub)
{
	return sub->id;
}

int mmn_register(struct mmn_subscription *sub)
{
	struct mm_struct *mm = sub->owner;
	struct mm_struct *prev = mmn_enter(mm);
	int ret;

	mmn_ledger_attach(sub);
	ret = mm->core->notifier_register(&sub->mn, mm);
	if (ret) {
		mmn_ledger_detach(sub);
	} else {
		sub->registered = true;
		__atomic_fetch_add(&mm->stats.registrations, 1,
				   __ATOMIC_RELAXED);
	}
	mmn_leave(prev);
	return ret;
}

void mmn_unregister(struct mmn_subscription *sub)
{
	struct mm_struct *mm = sub->owner;
	struct mm_struct *prev = mmn_enter(mm);

	/* the unregister drops the subscription's pin; keep ours until done */
	mmgrab(mm);
	mm->core->notifier_unregister(&sub->mn, mm);
	__atomic_fetch_add(&mm->stats.unregistrations, 1, __ATOMIC_RELAXED);
	/* after synchronize_srcu: no callback of sub runs or will run */
	mmn_subscription_free(sub,
			      "the driver, after mmu_notifier_unregister returned");
	mmn_leave(prev);
	mmdrop(mm);
}

void mmn_put(struct mmn_subscription *sub)
{
	struct mm_struct *mm = sub->owner;
	struct mm_struct *prev = mmn_enter(mm);

	__atomic_fetch_add(&mm->stats.puts, 1, __ATOMIC_RELAXED);
	mm->core->notifier_put(&sub->mn);
	mmn_leave(prev);
}

/* ---- interval subscriptions ---- */

/*
 * What the core calls for every interval: a freed interval (the tree or
 * the deferred list still reached it) is reported, never called into.
 */
/*
 * A freed (quarantined) interval is reported with the caller's name and
 * never called: what every interval trampoline asks first.
 */
static inline bool mmn_interval_freed(struct mmn_interval_sub *isub,
				      const char *caller)
{
	if (likely(__atomic_load_n(&isub->poison, __ATOMIC_ACQUIRE) !=
		   MMN_POISON))
		return false;
	mmn_kasan_check(isub->owner, &isub->ins, sizeof(isub->ins), false,
			caller);
	return true;
}

static bool mmn_interval_invalidate(struct mmu_interval_notifier *ins,
				    const struct mmu_notifier_range *range,
				    unsigned long cur_seq)
{
	struct mmn_interval_sub *isub =
		container_of(ins, struct mmn_interval_sub, ins);
	bool ret;

	if (mmn_interval_freed(isub, "mn_itree_invalidate (->invalidate)"))
		return true;
	if (mmn_xp_active())
		mmn_xp_point(MMN_XP_CALLBACK, ins, 4, NULL);
	ret = isub->driver_invalidate(ins, range, cur_seq);
	if (mmn_xp_active())
		mmn_xp_point(MMN_XP_RETURNED, ins, (4L << 32) | ret, NULL);
	return ret;
}

/*
 * A two-pass driver's first pass, behind the same poison check: a freed
 * interval is reported and answers "done" (no finish owed), never called.
 */
int mmn_interval_driver_start(struct mmn_interval_sub *isub,
			      const struct mmu_notifier_range *range,
			      unsigned long cur_seq, const char *caller)
{
	struct mmu_interval_notifier *ins = &isub->ins;
	int ret;

	if (mmn_interval_freed(isub, caller))
		return MMN_INTERVAL_START_DONE;
	if (mmn_xp_active())
		mmn_xp_point(MMN_XP_CALLBACK, ins, 4, NULL);
	ret = isub->two_pass.invalidate_start(ins, range, cur_seq);
	if (mmn_xp_active())
		mmn_xp_point(MMN_XP_RETURNED, ins,
			     (4L << 32) | (ret != MMN_INTERVAL_START_REFUSED),
			     NULL);
	return ret;
}

/* The second pass; a finish that reaches a freed interval is reported. */
void mmn_interval_driver_finish(struct mmn_interval_sub *isub,
				const char *caller)
{
	struct mmu_interval_notifier *ins = &isub->ins;

	if (mmn_interval_freed(isub, caller))
		return;
	if (mmn_xp_active())
		mmn_xp_point(MMN_XP_CALLBACK, ins, 4, "invalidate_finish");
	isub->two_pass.invalidate_finish(ins);
	if (mmn_xp_active())
		mmn_xp_point(MMN_XP_RETURNED, ins, (4L << 32) | 1,
			     "invalidate_finish");
}

struct mmn_interval_sub *
mmn_interval_sub_create(struct mm_struct *mm,
			const struct mmu_interval_notifier_ops *ops, void *ctx,
			const char *symbol, void (*release_ctx)(void *ctx))
{
	struct mmn_interval_sub *isub;

	_Static_assert(offsetof(struct mmn_interval_sub, ins) == sizeof(void *),
		       "mmn_interval_notifier_ctx() reads the word before");
	if (!mm || !ops)
		return NULL;
	isub = mmn_mm_alloc(mm, sizeof(*isub));
	isub->ctx = ctx;
	isub->driver_invalidate = ops->invalidate;
	isub->ops.invalidate = mmn_interval_invalidate;
	isub->symbol = strdup(symbol ? symbol : "interval_notifier");
	isub->release_ctx = release_ctx;
	isub->owner = mm;
	/* the pairing ledger counts every interval's invalidations */
	mmn_ledger_interval_attach(isub);
	return isub;
}

/*
 * A two-pass driver (v7.1): the core sees ->invalidate_start and
 * ->invalidate_finish (the mainline core calls them; ledger.c's, which
 * hand out the finish objects) and an ->invalidate that runs both passes
 * back to back (what the v5.11 core calls).
 */
struct mmn_interval_sub *
mmn_interval_sub_create_two_pass(struct mm_struct *mm,
				 const struct mmn_interval_two_pass_ops *ops,
				 void *ctx, const char *symbol,
				 void (*release_ctx)(void *ctx))
{
	struct mmu_interval_notifier_ops one_pass = {
		.invalidate = mmn_ledger_two_pass_invalidate,
	};
	struct mmn_interval_sub *isub;

	if (!ops || !ops->invalidate_start || !ops->invalidate_finish)
		return NULL;
	isub = mmn_interval_sub_create(mm, &one_pass, ctx, symbol, release_ctx);
	if (isub) {
		isub->two_pass = *ops;
		/* now that the passes are known: the core's two-pass ops */
		mmn_ledger_interval_attach(isub);
	}
	return isub;
}

static void mmn_interval_sub_release_memory(void *p)
{
	struct mmn_interval_sub *isub = p;

	free((void *)isub->symbol);
	if (!mmn_mm_owns(isub->owner, isub))
		free(isub);
}

/* Never inserted: nothing can reach it. */
static void mmn_interval_sub_free(struct mmn_interval_sub *isub)
{
	if (isub->release_ctx && isub->ctx)
		isub->release_ctx(isub->ctx);
	mmn_interval_sub_release_memory(isub);
}

/*
 * Removed: the driver may free it now, and does. The memory is kept
 * poisoned in the quarantine, so if the core still reaches it (v5.11's
 * mmu_interval_notifier_remove can return while mn_itree_inv_end is
 * still unlinking its deferred entry, fixed upstream by 319561669a59 in
 * v5.18), that access is reported as a use after free.
 */
static void mmn_interval_sub_retire(struct mmn_interval_sub *isub)
{
	struct mm_struct *mm = isub->owner;
	void *ctx = isub->ctx;

	__atomic_store_n(&isub->poison, MMN_POISON, __ATOMIC_RELEASE);
	isub->ctx = NULL;
	if (isub->release_ctx && ctx)
		isub->release_ctx(ctx);
	mmn_kasan_quarantine(mm, isub, sizeof(*isub),
			     mmn_interval_sub_release_memory,
			     "struct mmu_interval_notifier", isub->symbol,
			     "the driver, after mmu_interval_notifier_remove returned");
	if (mmn_xp_active())
		mmn_xp_point(MMN_XP_FREE, &isub->ins, 0, "kfree");
}

int mmn_interval_insert(struct mmn_interval_sub *isub, unsigned long start,
			unsigned long length)
{
	struct mm_struct *mm = isub->owner;
	struct mm_struct *prev = mmn_enter(mm);
	int ret = mm->core->interval_insert(&isub->ins, mm, start, length,
					    &isub->ops);

	if (!ret) {
		isub->inserted = true;
		__atomic_fetch_add(&mm->stats.interval_inserts, 1,
				   __ATOMIC_RELAXED);
	}
	mmn_leave(prev);
	return ret;
}

/*
 * Interval subscriptions whose removal hung: their memory is kept (the
 * core may still call them) and stays reachable from here, so that
 * LeakSanitizer does not report a deliberate keep as a lost block.
 */
static struct mmn_interval_sub *mmn_kept_intervals;
static pthread_mutex_t mmn_kept_intervals_lock = PTHREAD_MUTEX_INITIALIZER;

static void mmn_interval_keep(struct mmn_interval_sub *isub)
{
	pthread_mutex_lock(&mmn_kept_intervals_lock);
	isub->kept_next = mmn_kept_intervals;
	mmn_kept_intervals = isub;
	pthread_mutex_unlock(&mmn_kept_intervals_lock);
}

void mmn_interval_remove(struct mmn_interval_sub *isub)
{
	struct mm_struct *mm = isub->owner;
	struct mm_struct *prev = mmn_enter(mm);
	struct mmn_log_counts before, after;

	if (!isub->inserted) {
		mmn_leave(prev);
		mmn_interval_sub_free(isub);
		return;
	}
	mmgrab(mm);
	mmn_log_get_counts(mm, &before);
	mm->core->interval_remove(&isub->ins);
	mmn_log_get_counts(mm, &after);
	/* no callback runs after the remove: an unfinished deferral is lost */
	mmn_ledger_interval_removed(isub);
	__atomic_fetch_add(&mm->stats.interval_removes, 1, __ATOMIC_RELAXED);
	/*
	 * A wait that expired (hung) leaves the removal queued behind an
	 * invalidation that never ends; its callbacks could still run, so the
	 * memory is kept rather than freed under a possible reader.
	 */
	/* an explore mm's arena outlives every reader: quarantine it too */
	if (after.hung == before.hung || mmn_mm_owns(mm, isub)) {
		/* as a driver does: the remove returned, so free it */
		mmn_interval_sub_retire(isub);
	} else {
		mmn_interval_keep(isub);
	}
	mmn_leave(prev);
	mmdrop(mm);
}

struct mmu_interval_notifier *
mmn_interval_sub_notifier(struct mmn_interval_sub *isub)
{
	return &isub->ins;
}

unsigned long mmn_interval_read_begin(struct mmu_interval_notifier *ins)
{
	struct mm_struct *mm = ins->mm;
	struct mm_struct *prev = mmn_enter(mm);
	unsigned long seq = mm->core->interval_read_begin(ins);

	mmn_leave(prev);
	return seq;
}

bool mmn_interval_read_retry(struct mmu_interval_notifier *ins,
			     unsigned long seq)
{
	return ins->mm->core->interval_read_retry(ins, seq);
}

bool mmn_interval_check_retry(struct mmu_interval_notifier *ins,
			      unsigned long seq)
{
	return ins->mm->core->interval_check_retry(ins, seq);
}

void mmn_interval_set_seq(struct mmu_interval_notifier *ins,
			  unsigned long cur_seq)
{
	ins->mm->core->interval_set_seq(ins, cur_seq);
}

static const char *const mmn_ksym_slot_names[MMN_KSYM_SLOTS] = {
	"invalidate_range_start", "invalidate_range_end", "invalidate_range",
	"release",
};

static int mmn_ksym_slot(const struct mmn_subscription *sub, const void *fn)
{
	const struct mmu_notifier_ops *o = sub->mn.ops;

	if (fn == (const void *)o->invalidate_range_start)
		return 0;
	if (fn == (const void *)o->invalidate_range_end)
		return 1;
	if (fn == (const void *)o->invalidate_range)
		return 2;
	if (fn == (const void *)o->release)
		return 3;
	return -1;
}

/*
 * Formatted when the subscription is made: a driver that refuses in a
 * loop (the benchmark's failure path) would otherwise pay a snprintf per
 * pr_info, which the kernel's %pS does not cost its caller.
 */
static void mmn_ksym_prepare(struct mmn_subscription *sub)
{
	for (int i = 0; i < MMN_KSYM_SLOTS; i++)
		if (asprintf(&sub->ksym[i], "%s_%s", sub->symbol,
			     mmn_ksym_slot_names[i]) < 0)
			abort();
}

/* %pS for the port's pr_info: "<symbol>_<callback>" */
const char *mmn_ksym(const struct mmu_notifier *subscription, const void *fn)
{
	static __thread char buf[160];
	const struct mmn_subscription *sub = mmn_sub_of(subscription);
	int slot = mmn_ksym_slot(sub, fn);

	if (slot >= 0 && sub->ksym[slot])
		return sub->ksym[slot];
	snprintf(buf, sizeof(buf), "%s_%s", sub->symbol,
		 slot >= 0 ? mmn_ksym_slot_names[slot] : "callback");
	return buf;
}

void mmn_debug_poison(struct mmn_subscription *sub)
{
	__atomic_store_n(&sub->poison, MMN_POISON, __ATOMIC_RELEASE);
}

/*
 * Which order does this variant keep its hlist in? Three probes carved from
 * one block have known ascending addresses; registered as 0, 2, 1, a
 * newest-first list is walked 1, 2, 0 and an address-sorted one 0, 1, 2.
 * Malloc's placement cannot make the two rules agree, as it can when probes
 * are allocated one by one.
 */
static __thread struct mmn_subscription *mmn_probe_block;
static __thread int mmn_probe_seen[3];
static __thread int mmn_probe_count;

static int mmn_probe_start(struct mmu_notifier *mn,
			   const struct mmu_notifier_range *range)
{
	(void)range;
	if (mmn_probe_count < 3)
		mmn_probe_seen[mmn_probe_count++] =
			(int)(mmn_sub_of(mn) - mmn_probe_block);
	return 0;
}

static const struct mmu_notifier_ops mmn_probe_ops = {
	.invalidate_range_start = mmn_probe_start,
};

int mmn_hlist_rule(unsigned variant, int flavor)
{
	struct mmn_mm_config config = { .variant = variant, .flavor = flavor };
	struct mm_struct *mm = mmn_mm_create(&config);
	struct mmn_subscription *block;
	struct mmu_notifier_range range;
	struct mm_struct *prev;
	static const int register_order[3] = { 0, 2, 1 };
	int rule = MMN_HLIST_RULE_UNKNOWN;

	if (!mm)
		return rule;
	block = calloc(3, sizeof(*block));
	if (!block)
		abort();
	prev = mmn_enter(mm);
	mmn_probe_block = block;
	mmn_probe_count = 0;
	for (int i = 0; i < 3; i++) {
		struct mmn_subscription *sub = &block[i];

		sub->owner = mm;
		sub->symbol = "order_probe";
		sub->mn.ops = &mmn_probe_ops;
		INIT_HLIST_NODE(&sub->mn.hlist);
	}
	for (int i = 0; i < 3; i++)
		mm->core->notifier_register(&block[register_order[i]].mn, mm);
	mmn_range_init(&range, mm, MMU_NOTIFY_UNMAP, 0, 0x1000);
	mm->core->invalidate_range_start(&range);
	mm->core->invalidate_range_end(&range);
	if (mmn_probe_count == 3) {
		if (mmn_probe_seen[0] == 1 && mmn_probe_seen[1] == 2 &&
		    mmn_probe_seen[2] == 0)
			rule = MMN_HLIST_RULE_NEWEST_FIRST;
		else if (mmn_probe_seen[0] == 0 && mmn_probe_seen[1] == 1 &&
			 mmn_probe_seen[2] == 2)
			rule = MMN_HLIST_RULE_ASCENDING_ADDRESS;
	}
	for (int i = 0; i < 3; i++)
		mm->core->notifier_unregister(&block[i].mn, mm);
	mmn_probe_block = NULL;
	mmn_leave(prev);
	free(block);
	mmn_mm_drop(mm);
	return rule;
}
