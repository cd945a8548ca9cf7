/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ledger.c - the pairing ledger.
 *
 * It sits between the core and a driver (its ops are what the core calls)
 * and records, per invalidation (a range id) and per subscription, whether
 * start was called and succeeded, and every end that arrived. An entry is
 * settled when the caller retires the range: a successful start still open
 * then is a missing end, unless ->release or the subscription's removal
 * closed it first (the kernel's contract: after release, or once the
 * subscription is gone, no end is owed).
 *
 * One mutex per mm guards it all. The ledger is off in the measured
 * traversal; when it is on, its cost is reported on its own.
 */
#include "internal.h"
#include "../explore/explore.h"

enum mmn_entry_state {
	MMN_ENTRY_STARTED,	/* start returned 0; an end is owed */
	MMN_ENTRY_START_FAILED,	/* start returned an error; no end owed */
	MMN_ENTRY_ENDED,	/* the owed end arrived */
	MMN_ENTRY_NO_START,	/* an end arrived with no start at all */
	MMN_ENTRY_RELEASED,	/* ->release closed it */
	MMN_ENTRY_REMOVED,	/* the subscription was unlinked with it open */
	MMN_ENTRY_NOTHING_OWED,	/* start succeeded, but the driver has no end */
};

/*
 * An interval subscription's account: its counts and open entries. It is
 * the ledger's, not the subscription's, and lives until the mm goes, so
 * freeing an interval subscription needs no ledger call.
 */
struct mmn_interval_account;

/*
 * One struct mmu_interval_notifier_finish the harness owns (v7.1): handed
 * to the mainline core by a deferred ->invalidate_start, outstanding until
 * the core's ->invalidate_finish for it. Part of the account, so the core
 * writing its link never touches a freed interval.
 */
struct mmn_finish_slot {
	struct mmu_interval_notifier_finish finish;
	struct mmn_interval_sub *isub;
	struct mmn_interval_account *acct;
	unsigned long long range_id;	/* the invalidation that deferred it */
	bool outstanding;
};

struct mmn_interval_account {
	struct mmn_ledger_counts counts;
	struct mmn_finish_slot pool[MMN_FINISH_POOL];
	struct mmn_range_ledger *open;
	bool (*driver_invalidate)(struct mmu_interval_notifier *ins,
				  const struct mmu_notifier_range *range,
				  unsigned long cur_seq);
	struct mmn_ledger *ledger;
	struct mmn_interval_account *next;	/* the ledger's list */
};

/*
 * One (range, subscription) pair; on the range's list and the sub's list.
 * For an interval subscription (acct set, sub NULL) "started" means its
 * ->invalidate ran inside the tree's half of the range, and the end owed
 * is that half's mn_itree_inv_end.
 */
struct mmn_range_ledger {
	struct mmn_interval_account *acct;	/* an interval's entry */
	struct mmn_subscription *sub;	/* NULL once the sub was freed */
	unsigned long long range_id;
	struct mmn_range_ledger *next_in_range;
	struct mmn_range_ledger *next_in_sub;
	struct mmn_range_ledger *prev_in_sub;
	int state;
	unsigned ends;
};

struct mmn_ledger {
	pthread_mutex_t lock;
	struct mmn_ledger_counts folded;	/* from freed subscriptions */
	struct mmn_subscription *live;		/* attached subscriptions */
	struct mmn_interval_account *intervals;	/* every interval account */
	struct mmn_range_ledger *free_entries;
};

struct mmn_ledger *mmn_ledger_create(void)
{
	struct mmn_ledger *l = calloc(1, sizeof(*l));

	if (!l)
		abort();
	pthread_mutex_init(&l->lock, NULL);
	return l;
}

void mmn_ledger_destroy(struct mmn_ledger *l)
{
	struct mmn_range_ledger *e, *next;

	for (e = l->free_entries; e; e = next) {
		next = e->next_in_range;
		free(e);
	}
	while (l->intervals) {
		struct mmn_interval_account *a = l->intervals;

		l->intervals = a->next;
		free(a);
	}
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static struct mmn_ledger *mmn_ledger_of(struct mmn_subscription *sub)
{
	return sub->owner->ledger;
}

static struct mmn_range_ledger *mmn_entry_alloc(struct mmn_ledger *l)
{
	struct mmn_range_ledger *e = l->free_entries;

	if (e)
		l->free_entries = e->next_in_range;
	else if (!(e = malloc(sizeof(*e))))
		abort();
	memset(e, 0, sizeof(*e));
	return e;
}

static void mmn_entry_unlink_acct(struct mmn_range_ledger *e)
{
	struct mmn_interval_account *a = e->acct;

	if (e->prev_in_sub)
		e->prev_in_sub->next_in_sub = e->next_in_sub;
	else
		a->open = e->next_in_sub;
	if (e->next_in_sub)
		e->next_in_sub->prev_in_sub = e->prev_in_sub;
	e->next_in_sub = e->prev_in_sub = NULL;
	e->acct = NULL;
}

static void mmn_entry_unlink_sub(struct mmn_range_ledger *e)
{
	struct mmn_subscription *sub = e->sub;

	if (e->acct) {
		mmn_entry_unlink_acct(e);
		return;
	}
	if (!sub)
		return;
	if (e->prev_in_sub)
		e->prev_in_sub->next_in_sub = e->next_in_sub;
	else
		sub->open = e->next_in_sub;
	if (e->next_in_sub)
		e->next_in_sub->prev_in_sub = e->prev_in_sub;
	e->next_in_sub = e->prev_in_sub = NULL;
	e->sub = NULL;
}

/* The entry for (sub, range), made on first sight. */
static struct mmn_range_ledger *
mmn_entry_get(struct mmn_ledger *l, struct mmn_subscription *sub,
	      const struct mmu_notifier_range *crange, bool *created)
{
	struct mmu_notifier_range *range = (struct mmu_notifier_range *)crange;
	struct mmn_range_ledger *e;

	for (e = sub->open; e; e = e->next_in_sub)
		if (e->range_id == range->mmn_id)
			return e;
	e = mmn_entry_alloc(l);
	e->sub = sub;
	e->range_id = range->mmn_id;
	e->next_in_sub = sub->open;
	if (sub->open)
		sub->open->prev_in_sub = e;
	sub->open = e;
	/* only the range's own thread touches its list head */
	e->next_in_range = range->mmn_ledger;
	range->mmn_ledger = e;
	*created = true;
	return e;
}

static void mmn_counts_add(struct mmn_ledger_counts *to,
			   const struct mmn_ledger_counts *from)
{
	to->starts += from->starts;
	to->starts_failed += from->starts_failed;
	to->ends += from->ends;
	to->missing_ends += from->missing_ends;
	to->ends_without_start += from->ends_without_start;
	to->duplicate_ends += from->duplicate_ends;
	to->closed_by_release += from->closed_by_release;
	to->closed_by_removal += from->closed_by_removal;
	to->releases += from->releases;
	to->poison_seen += from->poison_seen;
	to->deferred_starts += from->deferred_starts;
	to->finishes += from->finishes;
	to->duplicate_finishes += from->duplicate_finishes;
	to->missing_finishes += from->missing_finishes;
}

/*
 * Finish objects of this account still outstanding: for one invalidation
 * (range_id), or all of them (range_id 0). They will never be finished
 * now: each is a missing finish, and its object is free again. Lock held.
 */
static void mmn_finish_settle(struct mmn_interval_account *a,
			      unsigned long long range_id)
{
	for (int i = 0; i < MMN_FINISH_POOL; i++) {
		struct mmn_finish_slot *slot = &a->pool[i];

		if (!slot->outstanding ||
		    (range_id && slot->range_id != range_id))
			continue;
		slot->outstanding = false;
		a->counts.missing_finishes++;
	}
}

static void mmn_ledger_start(struct mmn_subscription *sub,
			     const struct mmu_notifier_range *range, int ret)
{
	struct mmn_ledger *l = mmn_ledger_of(sub);
	struct mmn_range_ledger *e;
	bool created = false;

	pthread_mutex_lock(&l->lock);
	e = mmn_entry_get(l, sub, range, &created);
	sub->counts.starts++;
	if (ret)
		sub->counts.starts_failed++;
	/* a start-only notifier is owed nothing: it has no end to receive */
	if (ret) {
		e->state = MMN_ENTRY_START_FAILED;
	} else if (!sub->driver_ops.invalidate_range_end) {
		e->state = MMN_ENTRY_NOTHING_OWED;
	} else if (sub->removed) {
		/*
		 * A reader still standing on the unlinked node may start it;
		 * the end walk will not find it, and after removal nothing is
		 * owed (the driver is tearing down).
		 */
		e->state = MMN_ENTRY_REMOVED;
		sub->counts.closed_by_removal++;
	} else {
		e->state = MMN_ENTRY_STARTED;
	}
	pthread_mutex_unlock(&l->lock);
}

static void mmn_ledger_end(struct mmn_subscription *sub,
			   const struct mmu_notifier_range *range)
{
	struct mmn_ledger *l = mmn_ledger_of(sub);
	struct mmn_range_ledger *e;
	bool created = false;

	pthread_mutex_lock(&l->lock);
	e = mmn_entry_get(l, sub, range, &created);
	sub->counts.ends++;
	e->ends++;
	if (created) {
		e->state = MMN_ENTRY_NO_START;
		sub->counts.ends_without_start++;
	} else {
		switch (e->state) {
		case MMN_ENTRY_STARTED:
		case MMN_ENTRY_REMOVED:
			/* a reader still on the unlinked node may end it */
			e->state = MMN_ENTRY_ENDED;
			break;
		case MMN_ENTRY_ENDED:
		case MMN_ENTRY_NOTHING_OWED:
			sub->counts.duplicate_ends++;
			break;
		case MMN_ENTRY_START_FAILED:
		case MMN_ENTRY_NO_START:
			sub->counts.ends_without_start++;
			break;
		case MMN_ENTRY_RELEASED:
			/* after ->release nothing is owed; a late end is harmless */
			break;
		}
	}
	pthread_mutex_unlock(&l->lock);
}

static void mmn_ledger_release(struct mmn_subscription *sub)
{
	struct mmn_ledger *l = mmn_ledger_of(sub);
	struct mmn_range_ledger *e;

	pthread_mutex_lock(&l->lock);
	sub->counts.releases++;
	for (e = sub->open; e; e = e->next_in_sub)
		if (e->state == MMN_ENTRY_STARTED) {
			e->state = MMN_ENTRY_RELEASED;
			sub->counts.closed_by_release++;
		}
	pthread_mutex_unlock(&l->lock);
}

/*
 * The core called into a freed subscription: a grace period ended before
 * one of its readers. Counted as poison_seen and reported as KASAN would
 * (the quarantine knows who freed it); a subscription poisoned by
 * mmn_debug_poison but never freed gets the same report class.
 */
void mmn_ledger_poison_seen(struct mmn_subscription *sub, const char *callback)
{
	struct mmn_ledger *l = mmn_ledger_of(sub);
	char func[96];

	pthread_mutex_lock(&l->lock);
	l->folded.poison_seen++;
	pthread_mutex_unlock(&l->lock);
	snprintf(func, sizeof(func), "the core's call of ->%s", callback);
	if (!mmn_kasan_check(sub->owner, &sub->mn, sizeof(sub->mn), false,
			     func))
		mmn_log_printf(sub->owner, MMN_LOG_KASAN,
			       "BUG: KASAN: use-after-free in %s\n"
			       "Read of the poisoned subscription %s by task %s (poisoned in place, not freed)",
			       func, sub->symbol, mmn_task_comm());
}

void mmn_ledger_attach(struct mmn_subscription *sub)
{
	struct mmn_ledger *l = mmn_ledger_of(sub);

	if (!sub->ledger)
		return;
	pthread_mutex_lock(&l->lock);
	sub->live_prev = NULL;
	sub->live_next = l->live;
	if (l->live)
		l->live->live_prev = sub;
	l->live = sub;
	pthread_mutex_unlock(&l->lock);
}

/* Unlinked from the hlist: open starts are closed, but late ends are fine. */
void mmn_ledger_removed(struct mmn_subscription *sub)
{
	struct mmn_ledger *l = mmn_ledger_of(sub);
	struct mmn_range_ledger *e;

	if (!sub->ledger)
		return;
	pthread_mutex_lock(&l->lock);
	sub->removed = true;
	for (e = sub->open; e; e = e->next_in_sub)
		if (e->state == MMN_ENTRY_STARTED) {
			e->state = MMN_ENTRY_REMOVED;
			sub->counts.closed_by_removal++;
		}
	pthread_mutex_unlock(&l->lock);
}

void mmn_ledger_unlinking(const struct mmu_notifier *subscription)
{
	struct mmn_subscription *sub = mmn_sub_of(subscription);

	sub->gp_unlinked = mmn_gp_unlinked();
	mmn_ledger_removed(sub);
}

/* Freed: no callback can run any more. Keep the counts, drop the links. */
void mmn_ledger_detach(struct mmn_subscription *sub)
{
	struct mmn_ledger *l = mmn_ledger_of(sub);

	if (!sub->ledger)
		return;
	pthread_mutex_lock(&l->lock);
	while (sub->open)
		mmn_entry_unlink_sub(sub->open);
	mmn_counts_add(&l->folded, &sub->counts);
	memset(&sub->counts, 0, sizeof(sub->counts));
	if (sub->live_prev)
		sub->live_prev->live_next = sub->live_next;
	else if (l->live == sub)
		l->live = sub->live_next;
	if (sub->live_next)
		sub->live_next->live_prev = sub->live_prev;
	sub->live_prev = sub->live_next = NULL;
	sub->ledger = false;
	pthread_mutex_unlock(&l->lock);
}

/* The caller is done with this range: whatever is still owed is missing. */
void mmn_ledger_retire(struct mmu_notifier_range *range)
{
	struct mmn_ledger *l = range->mm->ledger;
	struct mmn_range_ledger *e, *next;

	pthread_mutex_lock(&l->lock);
	for (e = range->mmn_ledger; e; e = next) {
		next = e->next_in_range;
		if (e->sub && e->state == MMN_ENTRY_STARTED)
			e->sub->counts.missing_ends++;
		/* the tree's half of this range was never ended */
		if (e->acct && e->state == MMN_ENTRY_STARTED)
			e->acct->counts.missing_ends++;
		/* a deferred start of this range never finished */
		if (e->acct)
			mmn_finish_settle(e->acct, range->mmn_id);
		mmn_entry_unlink_sub(e);
		e->next_in_range = l->free_entries;
		l->free_entries = e;
	}
	range->mmn_ledger = NULL;
	pthread_mutex_unlock(&l->lock);
}

void mmn_ledger_totals(struct mm_struct *mm, struct mmn_ledger_counts *out)
{
	struct mmn_ledger *l = mm->ledger;
	struct mmn_subscription *sub;

	pthread_mutex_lock(&l->lock);
	*out = l->folded;
	for (sub = l->live; sub; sub = sub->live_next)
		mmn_counts_add(out, &sub->counts);
	for (struct mmn_interval_account *a = l->intervals; a; a = a->next)
		mmn_counts_add(out, &a->counts);
	pthread_mutex_unlock(&l->lock);
}

void mmn_ledger_subscription(struct mmn_subscription *sub,
			     struct mmn_ledger_counts *out)
{
	struct mmn_ledger *l = mmn_ledger_of(sub);

	pthread_mutex_lock(&l->lock);
	*out = sub->counts;
	pthread_mutex_unlock(&l->lock);
}

/* ---- the interposer: what the core calls when the ledger is on ---- */

static bool mmn_poisoned(struct mmn_subscription *sub, const char *callback)
{
	if (likely(__atomic_load_n(&sub->poison, __ATOMIC_ACQUIRE) !=
		   MMN_POISON))
		return false;
	mmn_ledger_poison_seen(sub, callback);
	return true;
}

/* Explore: a scheduling point on each side of a driver's callback. */
enum { MMN_SLOT_START, MMN_SLOT_END, MMN_SLOT_RANGE, MMN_SLOT_RELEASE };

static inline void mmn_cb_before(struct mmu_notifier *mn, int slot,
				 const char *caller)
{
	if (mmn_xp_active())
		mmn_xp_point(MMN_XP_CALLBACK, mn, slot, caller);
}

static inline void mmn_cb_after(struct mmu_notifier *mn, int slot, int ret,
				const char *caller)
{
	if (mmn_xp_active())
		mmn_xp_point(MMN_XP_RETURNED, mn,
			     ((long)slot << 32) | (unsigned)ret, caller);
}

static int mmn_ledger_invalidate_range_start(struct mmu_notifier *mn,
					     const struct mmu_notifier_range *r)
{
	struct mmn_subscription *sub = mmn_sub_of(mn);
	int ret;

	if (mmn_poisoned(sub, "invalidate_range_start"))
		return 0;
	mmn_cb_before(mn, MMN_SLOT_START, NULL);
	ret = sub->driver_ops.invalidate_range_start(mn, r);
	mmn_ledger_start(sub, r, ret);
	mmn_cb_after(mn, MMN_SLOT_START, ret, NULL);
	return ret;
}

static void mmn_ledger_invalidate_range_end(struct mmu_notifier *mn,
					    const struct mmu_notifier_range *r)
{
	struct mmn_subscription *sub = mmn_sub_of(mn);

	if (mmn_poisoned(sub, "invalidate_range_end"))
		return;
	mmn_cb_before(mn, MMN_SLOT_END, NULL);
	/* record first: a driver that BUGs in end still counts as ended */
	mmn_ledger_end(sub, r);
	sub->driver_ops.invalidate_range_end(mn, r);
	mmn_cb_after(mn, MMN_SLOT_END, 0, NULL);
}

static void mmn_ledger_invalidate_range(struct mmu_notifier *mn,
					struct mm_struct *mm,
					unsigned long start, unsigned long end)
{
	struct mmn_subscription *sub = mmn_sub_of(mn);

	if (mmn_poisoned(sub, "invalidate_range"))
		return;
	mmn_cb_before(mn, MMN_SLOT_RANGE, NULL);
	sub->driver_ops.invalidate_range(mn, mm, start, end);
}

static void mmn_ledger_release_cb(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct mmn_subscription *sub = mmn_sub_of(mn);

	if (mmn_poisoned(sub, "release"))
		return;
	mmn_cb_before(mn, MMN_SLOT_RELEASE, NULL);
	sub->driver_ops.release(mn, mm);
	mmn_ledger_release(sub);
}

const struct mmu_notifier_ops mmn_ledger_ops_template = {
	.release = mmn_ledger_release_cb,
	.invalidate_range_start = mmn_ledger_invalidate_range_start,
	.invalidate_range_end = mmn_ledger_invalidate_range_end,
	.invalidate_range = mmn_ledger_invalidate_range,
};

/* ---- interval subscriptions ---- */

/*
 * The tree's half of a range begins in mn_itree_inv_start_range and ends
 * in mn_itree_inv_end, which is not told the range. Both run on the
 * range's own thread (the range lives on its caller's stack), so each
 * thread keeps the ranges whose tree half is open, innermost last: an end
 * belongs to the range __mmu_notifier_invalidate_range_end named
 * (mmn_ledger_itree_ending), else to the innermost open one (the core's
 * own undo, or a variant's).
 */
#define MMN_ITREE_OPEN_MAX 32
static __thread const struct mmu_notifier_range
	*mmn_itree_open[MMN_ITREE_OPEN_MAX];
static __thread unsigned mmn_itree_open_count;
static __thread const struct mmu_notifier_range *mmn_itree_ending_range;

static void mmn_itree_forget(const struct mmu_notifier_range *range)
{
	for (unsigned i = mmn_itree_open_count; i-- > 0;)
		if (mmn_itree_open[i] == range) {
			memmove(&mmn_itree_open[i], &mmn_itree_open[i + 1],
				(mmn_itree_open_count - i - 1) *
					sizeof(mmn_itree_open[0]));
			mmn_itree_open_count--;
			return;
		}
}

void mmn_ledger_itree_begin(const struct mmu_notifier_range *range)
{
	mmn_itree_ending_range = NULL;
	mmn_itree_forget(range);
	if (mmn_itree_open_count < MMN_ITREE_OPEN_MAX)
		mmn_itree_open[mmn_itree_open_count++] = range;
}

void mmn_ledger_itree_ending(const struct mmu_notifier_range *range)
{
	mmn_itree_ending_range = range;
}

void mmn_ledger_itree_end(void)
{
	const struct mmu_notifier_range *range = mmn_itree_ending_range;
	struct mmn_ledger *l;
	struct mmn_range_ledger *e;

	mmn_itree_ending_range = NULL;
	if (!range && mmn_itree_open_count)
		range = mmn_itree_open[mmn_itree_open_count - 1];
	if (!range)
		return;
	mmn_itree_forget(range);
	if (!range->mmn_ledger)
		return;
	l = range->mm->ledger;
	pthread_mutex_lock(&l->lock);
	for (e = range->mmn_ledger; e; e = e->next_in_range) {
		if (!e->acct)
			continue;
		e->acct->counts.ends++;
		e->ends++;
		if (e->state == MMN_ENTRY_STARTED)
			e->state = MMN_ENTRY_ENDED;
		else
			e->acct->counts.duplicate_ends++;
	}
	pthread_mutex_unlock(&l->lock);
}

void mmn_ledger_itree_retire(const struct mmu_notifier_range *range)
{
	mmn_itree_forget(range);
	if (mmn_itree_ending_range == range)
		mmn_itree_ending_range = NULL;
}

/*
 * An interval's first pass (->invalidate or ->invalidate_start) ran in
 * this range: its tree half is open and owed its end. Lock held.
 */
static void mmn_ledger_interval_started(struct mmn_interval_account *a,
					struct mmu_notifier_range *range,
					bool ret)
{
	struct mmn_ledger *l = a->ledger;
	struct mmn_range_ledger *e;

	for (e = a->open; e; e = e->next_in_sub)
		if (e->range_id == range->mmn_id)
			break;
	if (!e) {
		e = mmn_entry_alloc(l);
		e->acct = a;
		e->range_id = range->mmn_id;
		e->next_in_sub = a->open;
		if (a->open)
			a->open->prev_in_sub = e;
		a->open = e;
		/* only the range's own thread touches its list head */
		e->next_in_range = range->mmn_ledger;
		range->mmn_ledger = e;
	}
	a->counts.starts++;
	if (!ret)
		a->counts.starts_failed++;
	/* refused or not, the tree's half is now open and owed its end */
	if (e->state != MMN_ENTRY_ENDED)
		e->state = MMN_ENTRY_STARTED;
}

/* The interposer the interval's ops carry: the driver, then the ledger. */
static bool mmn_ledger_interval_invalidate(struct mmu_interval_notifier *ins,
					   const struct mmu_notifier_range *crange,
					   unsigned long cur_seq)
{
	struct mmn_interval_sub *isub =
		container_of(ins, struct mmn_interval_sub, ins);
	struct mmn_interval_account *a = isub->account;
	struct mmn_ledger *l = a->ledger;
	bool ret = a->driver_invalidate(ins, crange, cur_seq);

	pthread_mutex_lock(&l->lock);
	mmn_ledger_interval_started(a, (struct mmu_notifier_range *)crange,
				    ret);
	pthread_mutex_unlock(&l->lock);
	return ret;
}

/*
 * A two-pass driver on the v5.11 core, which only calls ->invalidate:
 * both passes back to back (behind mmn_interval_invalidate's poison check
 * and inside the interposer above, which counts the invalidation).
 */
bool mmn_ledger_two_pass_invalidate(struct mmu_interval_notifier *ins,
				    const struct mmu_notifier_range *range,
				    unsigned long cur_seq)
{
	struct mmn_interval_sub *isub =
		container_of(ins, struct mmn_interval_sub, ins);
	struct mmn_interval_account *a = isub->account;
	int r = mmn_interval_driver_start(isub, range, cur_seq,
					  "mn_itree_invalidate (->invalidate)");

	if (r == MMN_INTERVAL_START_DEFERRED) {
		pthread_mutex_lock(&a->ledger->lock);
		a->counts.deferred_starts++;
		a->counts.finishes++;
		pthread_mutex_unlock(&a->ledger->lock);
		mmn_interval_driver_finish(isub,
					   "mn_itree_invalidate (->invalidate)");
	}
	return r != MMN_INTERVAL_START_REFUSED;
}

/*
 * The mainline core's first pass (v7.1 ->invalidate_start). A deferred
 * start gets one of the account's finish objects; with none free the
 * harness WARNs and finishes at once (xe falls back the same way when its
 * embedded finish is in use), so nothing is owed.
 */
static bool
mmn_ledger_interval_invalidate_start(struct mmu_interval_notifier *ins,
				     const struct mmu_notifier_range *crange,
				     unsigned long cur_seq,
				     struct mmu_interval_notifier_finish **finish)
{
	struct mmn_interval_sub *isub =
		container_of(ins, struct mmn_interval_sub, ins);
	struct mmn_interval_account *a = isub->account;
	struct mmu_notifier_range *range = (struct mmu_notifier_range *)crange;
	struct mmn_ledger *l = a->ledger;
	struct mmn_finish_slot *slot = NULL;
	int r = mmn_interval_driver_start(isub, crange, cur_seq,
					  "mn_itree_invalidate (->invalidate_start)");
	bool ret = r != MMN_INTERVAL_START_REFUSED;

	pthread_mutex_lock(&l->lock);
	mmn_ledger_interval_started(a, range, ret);
	if (r == MMN_INTERVAL_START_DEFERRED) {
		a->counts.deferred_starts++;
		for (int i = 0; i < MMN_FINISH_POOL && !slot; i++)
			if (!a->pool[i].outstanding)
				slot = &a->pool[i];
		if (slot) {
			slot->outstanding = true;
			slot->range_id = range->mmn_id;
			slot->finish.link.next = NULL;
			slot->finish.notifier = NULL;	/* the core sets it */
		}
	}
	pthread_mutex_unlock(&l->lock);

	if (slot) {
		*finish = &slot->finish;
	} else if (r == MMN_INTERVAL_START_DEFERRED) {
		WARN_ON(!slot);
		pthread_mutex_lock(&l->lock);
		a->counts.finishes++;
		pthread_mutex_unlock(&l->lock);
		mmn_interval_driver_finish(isub,
					   "mn_itree_invalidate (->invalidate_start)");
	}
	return ret;
}

/*
 * The second pass (v7.1 ->invalidate_finish). Only an outstanding object
 * is finished: a second finish for one is counted (duplicate_finishes) and
 * not passed on to the driver, whose state for it is gone.
 */
static void
mmn_ledger_interval_invalidate_finish(struct mmu_interval_notifier_finish *f)
{
	struct mmn_finish_slot *slot =
		container_of(f, struct mmn_finish_slot, finish);
	struct mmn_interval_account *a = slot->acct;
	bool owed;

	pthread_mutex_lock(&a->ledger->lock);
	owed = slot->outstanding;
	if (owed) {
		slot->outstanding = false;
		a->counts.finishes++;
	} else {
		a->counts.duplicate_finishes++;
	}
	pthread_mutex_unlock(&a->ledger->lock);
	if (owed)
		mmn_interval_driver_finish(slot->isub,
					   "mn_itree_finish_pass (->invalidate_finish)");
}

/* Removed: no callback of it runs any more, so nothing it deferred will. */
void mmn_ledger_interval_removed(struct mmn_interval_sub *isub)
{
	struct mmn_interval_account *a = isub->account;

	if (!a)
		return;
	pthread_mutex_lock(&a->ledger->lock);
	mmn_finish_settle(a, 0);
	pthread_mutex_unlock(&a->ledger->lock);
}

bool mmn_ledger_interval_attach(struct mmn_interval_sub *isub)
{
	struct mmn_ledger *l = isub->owner->ledger;
	struct mmn_interval_account *a;

	/* a two-pass driver, attached again once its passes are known */
	if (isub->account) {
		if (!isub->two_pass.invalidate_start)
			return true;
		for (int i = 0; i < MMN_FINISH_POOL; i++) {
			isub->account->pool[i].isub = isub;
			isub->account->pool[i].acct = isub->account;
		}
		isub->ops.invalidate_start =
			mmn_ledger_interval_invalidate_start;
		isub->ops.invalidate_finish =
			mmn_ledger_interval_invalidate_finish;
		return true;
	}
	if (!isub->ops.invalidate)
		return false;
	a = calloc(1, sizeof(*a));
	if (!a)
		abort();
	a->driver_invalidate = isub->ops.invalidate;
	a->ledger = l;
	pthread_mutex_lock(&l->lock);
	a->next = l->intervals;
	l->intervals = a;
	pthread_mutex_unlock(&l->lock);
	isub->account = a;
	isub->ops.invalidate = mmn_ledger_interval_invalidate;
	return true;
}

void mmn_ledger_interval(struct mmn_interval_sub *isub,
			 struct mmn_ledger_counts *out)
{
	struct mmn_interval_account *a = isub->account;

	memset(out, 0, sizeof(*out));
	if (!a)
		return;
	pthread_mutex_lock(&a->ledger->lock);
	*out = a->counts;
	pthread_mutex_unlock(&a->ledger->lock);
}
