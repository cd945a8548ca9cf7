/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * gp_check.c - a subscription freed inside a grace period is a use after
 * free by construction, whether or not a reader happens to touch it.
 *
 * SRCU's contract: after hlist_del_init_rcu, the subscription may be freed
 * only once every reader that entered its read-side section before the
 * unlink has left it (synchronize_srcu, or call_srcu's callback). The
 * check keeps, per thread, the epoch at which its outermost section began;
 * an unlink takes the next epoch; a free scans the threads and reports any
 * that is still inside a section begun at or before that epoch. A correct
 * variant cannot trip it (its free follows a grace period, which waited
 * for exactly those readers); one that frees early trips it on any free
 * that overlaps a walk, not only when a walk then reaches the freed node,
 * which is what makes stress catch an early free in every run.
 *
 * A second, stronger test needs no reader at all: a subscription whose
 * free follows no grace period since its unlink (no synchronize_srcu that
 * began after it has returned, and the free is not the callback of a
 * call_srcu) is freed too early whatever the readers happen to be doing.
 *
 * Per flavour: each liburcu flavour is its own grace-period domain, and
 * a grace period of one waits for no reader of another. Threads under the
 * explorer are left out (its scheduler models their grace periods).
 *
 * Off unless mmn_gp_check_enable() was called (stress turns it on): the
 * read side then pays one predictable branch on a global.
 */
#include "internal.h"

#define MMN_GP_SLOTS 1024

struct mmn_gp_slot {
	/* per flavour; 0: outside any section (first: srcu's exit stores it) */
	unsigned long long since[MMN_FLAVOR_COUNT];
	const char *comm;		/* its task's comm (TLS, lives as long) */
	bool used;
};

bool mmn_gp_check_on;
static unsigned long long mmn_gp_epoch = 1;
static struct mmn_gp_slot mmn_gp_slots[MMN_GP_SLOTS];

void mmn_gp_check_enable(void)
{
	__atomic_store_n(&mmn_gp_check_on, true, __ATOMIC_SEQ_CST);
}

static struct mmn_gp_slot *mmn_gp_slot_get(struct task_struct *t)
{
	if (t->gp_slot)
		return t->gp_slot;
	for (unsigned i = 0; i < MMN_GP_SLOTS; i++) {
		bool expected = false;

		if (__atomic_compare_exchange_n(&mmn_gp_slots[i].used, &expected,
						true, false, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED)) {
			mmn_gp_slots[i].comm = mmn_task_comm();
			t->gp_slot = &mmn_gp_slots[i];
			return t->gp_slot;
		}
	}
	return NULL;	/* more threads than slots: this one goes unchecked */
}

/* After the read lock: a grace period that started later may skip it. */
void mmn_gp_reader_enter_slow(struct task_struct *t, int flavor)
{
	struct mmn_gp_slot *s;

	if (mmn_xp_active())
		return;
	s = mmn_gp_slot_get(t);
	if (s)
		__atomic_store_n(&s->since[flavor],
				 __atomic_load_n(&mmn_gp_epoch, __ATOMIC_SEQ_CST),
				 __ATOMIC_SEQ_CST);
}

void mmn_gp_thread_exit(struct task_struct *t)
{
	if (!t->gp_slot)
		return;
	for (int f = 0; f < MMN_FLAVOR_COUNT; f++)
		__atomic_store_n(&t->gp_slot->since[f], 0, __ATOMIC_RELEASE);
	__atomic_store_n(&t->gp_slot->used, false, __ATOMIC_RELEASE);
	t->gp_slot = NULL;
}

unsigned long long mmn_gp_unlinked(void)
{
	if (!__atomic_load_n(&mmn_gp_check_on, __ATOMIC_RELAXED))
		return 0;
	return __atomic_fetch_add(&mmn_gp_epoch, 1, __ATOMIC_SEQ_CST);
}

/* ---- grace periods completed, and frees queued through call_srcu ---- */

/* the highest unlink epoch every later grace period has covered */
static unsigned long long mmn_gp_done[MMN_FLAVOR_COUNT];

unsigned long long mmn_gp_synchronize_begin(void)
{
	if (!__atomic_load_n(&mmn_gp_check_on, __ATOMIC_RELAXED))
		return 0;
	return __atomic_load_n(&mmn_gp_epoch, __ATOMIC_SEQ_CST);
}

void mmn_gp_synchronize_end(int flavor, unsigned long long began)
{
	unsigned long long done;

	if (!began)
		return;
	done = __atomic_load_n(&mmn_gp_done[flavor], __ATOMIC_RELAXED);
	while (done < began &&
	       !__atomic_compare_exchange_n(&mmn_gp_done[flavor], &done, began,
					    false, __ATOMIC_SEQ_CST,
					    __ATOMIC_RELAXED))
		;
}

/* rcu_heads handed to call_srcu and not yet freed: an open-addressed set */
#define MMN_GP_QUEUED 16384
static pthread_mutex_t mmn_gp_queued_lock = PTHREAD_MUTEX_INITIALIZER;
static const void *mmn_gp_queued[MMN_GP_QUEUED];

static unsigned mmn_gp_hash(const void *p)
{
	return (unsigned)(((uintptr_t)p >> 4) * 2654435761u) % MMN_GP_QUEUED;
}

void mmn_gp_queued_for_callback(const void *head)
{
	if (!__atomic_load_n(&mmn_gp_check_on, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&mmn_gp_queued_lock);
	for (unsigned i = mmn_gp_hash(head), n = 0; n < MMN_GP_QUEUED;
	     i = (i + 1) % MMN_GP_QUEUED, n++)
		if (!mmn_gp_queued[i] || mmn_gp_queued[i] == head) {
			mmn_gp_queued[i] = head;
			break;
		}
	pthread_mutex_unlock(&mmn_gp_queued_lock);
}

/* Removes head if it was queued (linear probing: re-place the run). */
static bool mmn_gp_take_queued(const void *head)
{
	bool found = false;
	unsigned i = mmn_gp_hash(head);

	pthread_mutex_lock(&mmn_gp_queued_lock);
	for (unsigned n = 0; n < MMN_GP_QUEUED && mmn_gp_queued[i];
	     i = (i + 1) % MMN_GP_QUEUED, n++)
		if (mmn_gp_queued[i] == head) {
			found = true;
			break;
		}
	if (found) {
		mmn_gp_queued[i] = NULL;
		for (unsigned j = (i + 1) % MMN_GP_QUEUED; mmn_gp_queued[j];
		     j = (j + 1) % MMN_GP_QUEUED) {
			const void *p = mmn_gp_queued[j];

			mmn_gp_queued[j] = NULL;
			for (unsigned k = mmn_gp_hash(p);; k = (k + 1) % MMN_GP_QUEUED)
				if (!mmn_gp_queued[k]) {
					mmn_gp_queued[k] = p;
					break;
				}
		}
	}
	pthread_mutex_unlock(&mmn_gp_queued_lock);
	return found;
}

void mmn_gp_reader_exit_slow(struct task_struct *t, int flavor)
{
	__atomic_store_n(&t->gp_slot->since[flavor], 0, __ATOMIC_RELEASE);
}

void mmn_gp_check_free(struct mm_struct *mm, const char *symbol,
		       unsigned long long unlinked, const void *rcu_head,
		       const char *freed_in)
{
	int flavor = mm->flavor;

	if (!unlinked || flavor < 0 || flavor >= MMN_FLAVOR_COUNT)
		return;
	if (!mmn_gp_take_queued(rcu_head) &&
	    __atomic_load_n(&mmn_gp_done[flavor], __ATOMIC_SEQ_CST) <= unlinked) {
		mmn_log_printf(mm, MMN_LOG_KASAN,
			       "BUG: KASAN: use-after-free (freed inside a grace period) in %s\n"
			       "subscription %s freed by task %s with no grace period since its unlink (no synchronize_srcu begun after it returned, not a call_srcu callback): any reader that saw it may still reach it",
			       freed_in, symbol, mmn_task_comm());
		return;
	}
	for (unsigned i = 0; i < MMN_GP_SLOTS; i++) {
		struct mmn_gp_slot *s = &mmn_gp_slots[i];
		unsigned long long since =
			__atomic_load_n(&s->since[flavor], __ATOMIC_SEQ_CST);

		if (!since || since > unlinked ||
		    !__atomic_load_n(&s->used, __ATOMIC_ACQUIRE))
			continue;
		mmn_log_printf(mm, MMN_LOG_KASAN,
			       "BUG: KASAN: use-after-free (freed inside a grace period) in %s\n"
			       "subscription %s freed by task %s while task %s is still inside the SRCU read-side section it entered before the unlink: it may still reach the subscription",
			       freed_in, symbol, mmn_task_comm(),
			       s->comm ? s->comm : "?");
		return;
	}
}
