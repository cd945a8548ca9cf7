/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * locks.c - the locks and waits Swift drivers build on (KVM's mmu_lock and
 * mn_invalidate_lock, the rwsem of the first memslot-blocking attempt,
 * GRU's wait queue, KVM's rcuwait), all validated and all bounded.
 */
#include "internal.h"

struct mmn_lock {
	spinlock_t lock;
	struct mm_struct *mm;
	char name[64];
};

struct mmn_lock *mmn_spinlock_create(struct mm_struct *mm, const char *name)
{
	struct mmn_lock *l = calloc(1, sizeof(*l));

	if (!l)
		abort();
	l->mm = mm;
	snprintf(l->name, sizeof(l->name), "%s", name ? name : "spinlock");
	pthread_mutex_init(&l->lock.m, NULL);
	lockdep_init_map(&l->lock.dep_map, l->name, mm->lockdep);
	return l;
}

void mmn_spinlock_destroy(struct mmn_lock *l)
{
	pthread_mutex_destroy(&l->lock.m);
	free(l);
}

void mmn_spin_lock(struct mmn_lock *l, const char *site)
{
	mmn_spin_lock_site(&l->lock, site);
}

void mmn_spin_unlock(struct mmn_lock *l, const char *site)
{
	mmn_spin_unlock_site(&l->lock, site);
}

struct mmn_rwsem {
	struct rw_semaphore sem;
	char name[64];
};

struct mmn_rwsem *mmn_rwsem_create(struct mm_struct *mm, const char *name,
				   bool fair)
{
	struct mmn_rwsem *s = calloc(1, sizeof(*s));

	if (!s)
		abort();
	snprintf(s->name, sizeof(s->name), "%s", name ? name : "rwsem");
	mmn_init_rwsem(&s->sem, s->name, fair, mm, mm->lockdep);
	return s;
}

void mmn_rwsem_destroy(struct mmn_rwsem *s)
{
	mmn_rwsem_fini(&s->sem);
	free(s);
}

/* The rwsem's log entries belong to its mm whichever thread waits. */
#define MMN_WITH_MM(s, expr) ({						\
	struct mm_struct *__prev = mmn_enter((s)->sem.mm);		\
	__typeof__(expr) __r = (expr);					\
	mmn_leave(__prev);						\
	__r;								\
})

bool mmn_down_read(struct mmn_rwsem *s, const char *site)
{
	return MMN_WITH_MM(s, mmn_rwsem_down_read(&s->sem, site));
}

void mmn_up_read(struct mmn_rwsem *s, const char *site)
{
	mmn_rwsem_up_read(&s->sem, site);
}

bool mmn_down_write(struct mmn_rwsem *s, const char *site)
{
	return MMN_WITH_MM(s, mmn_rwsem_down_write(&s->sem, site));
}

void mmn_up_write(struct mmn_rwsem *s, const char *site)
{
	mmn_rwsem_up_write(&s->sem, site);
}

unsigned mmn_rwsem_waiting_writers(struct mmn_rwsem *s)
{
	unsigned n;

	if (mmn_xp_active())
		mmn_xp_note_object("rwsem", s->sem.name, false);
	pthread_mutex_lock(&s->sem.lock);
	n = s->sem.waiting_writers;
	pthread_mutex_unlock(&s->sem.lock);
	return n;
}

unsigned mmn_rwsem_waiting_readers(struct mmn_rwsem *s)
{
	unsigned n;

	if (mmn_xp_active())
		mmn_xp_note_object("rwsem", s->sem.name, false);
	pthread_mutex_lock(&s->sem.lock);
	n = s->sem.waiting_readers;
	pthread_mutex_unlock(&s->sem.lock);
	return n;
}

struct mmn_lockdep_map {
	struct lockdep_map map;
	char name[64];
};

struct mmn_lockdep_map *mmn_lockdep_map_create(struct mm_struct *mm,
					       const char *name)
{
	struct mmn_lockdep_map *m = calloc(1, sizeof(*m));

	if (!m)
		abort();
	snprintf(m->name, sizeof(m->name), "%s", name ? name : "map");
	lockdep_init_map(&m->map, m->name, mm->lockdep);
	return m;
}

void mmn_lockdep_map_destroy(struct mmn_lockdep_map *m)
{
	free(m);
}

void mmn_lockdep_map_acquire(struct mmn_lockdep_map *m, int read,
			     const char *site)
{
	mmn_lock_acquire(&m->map, read, 0, site);
}

void mmn_lockdep_map_release(struct mmn_lockdep_map *m, const char *site)
{
	mmn_lock_release(&m->map, site);
}

struct mmn_waitqueue {
	wait_queue_head_t wq;
	struct mm_struct *mm;
};

struct mmn_waitqueue *mmn_waitqueue_create(struct mm_struct *mm)
{
	struct mmn_waitqueue *w = calloc(1, sizeof(*w));

	if (!w)
		abort();
	w->mm = mm;
	init_waitqueue_head(&w->wq);
	return w;
}

void mmn_waitqueue_destroy(struct mmn_waitqueue *w)
{
	pthread_mutex_destroy(&w->wq.lock);
	pthread_cond_destroy(&w->wq.cond);
	free(w);
}

bool mmn_wait_event(struct mmn_waitqueue *w, bool (*cond)(void *arg),
		    void *arg, const char *what)
{
	struct mm_struct *prev = mmn_enter(w->mm);
	struct mmn_wait wait = { 0 };

	might_sleep();
	if (mmn_xp_active()) {
		/* explore: armed before each test (see wait_event) */
		bool ok = true;

		mmn_xp_point(MMN_XP_WAIT_EVENT, what, 0, "wait_event");
		for (;;) {
			mmn_xp_prepare_wait(&w->wq);
			if (cond(arg))
				break;
			if (!mmn_xp_wait_armed(&w->wq, what, "wait_event")) {
				ok = false;
				break;
			}
		}
		mmn_xp_finish_wait();
		if (!ok)
			mmn_log_hung(w->mm, 0, what, NULL);
		mmn_leave(prev);
		return ok;
	}
	if (!cond(arg)) {
		mmn_wait_begin(&w->wq, &wait);
		while (!cond(arg))
			if (!mmn_wait_step(&w->wq, &wait, NULL, what))
				break;
		mmn_wait_end(&w->wq, &wait);
	}
	mmn_leave(prev);
	return !wait.timed_out;
}

void mmn_wake_up_all(struct mmn_waitqueue *w)
{
	wake_up_all(&w->wq);
}

unsigned mmn_waitqueue_sleepers(struct mmn_waitqueue *w)
{
	unsigned n;

	if (mmn_xp_active())	/* read outside any point: conservative */
		mmn_xp_note_object("wq", NULL, false);
	pthread_mutex_lock(&w->wq.lock);
	n = w->wq.sleepers;
	pthread_mutex_unlock(&w->wq.lock);
	return n;
}
