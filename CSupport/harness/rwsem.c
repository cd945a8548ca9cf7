/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * rwsem.c - a fair rw_semaphore with bounded waits and named holders, so a
 * wait that would hang reports which task waits for what and who holds it.
 */
#include "internal.h"

/*
 * Under the explorer the semaphore's own mutex is only ever held between
 * scheduling points, and a waiter blocks in the scheduler instead of on
 * the condition variable: the scheduler wakes it when the state changes.
 */
static void mmn_rwsem_wake(struct rw_semaphore *sem)
{
	pthread_cond_broadcast(&sem->cond);
	if (mmn_xp_active())
		mmn_xp_wake(sem);
}

void mmn_init_rwsem(struct rw_semaphore *sem, const char *name, bool fair,
		    struct mm_struct *mm, struct mmn_lockdep *lockdep)
{
	memset(sem, 0, sizeof(*sem));
	pthread_mutex_init(&sem->lock, NULL);
	mmn_cond_init(&sem->cond);
	sem->fair = fair;
	sem->name = name;
	sem->mm = mm;
	lockdep_init_map(&sem->dep_map, name, lockdep);
}

void mmn_rwsem_fini(struct rw_semaphore *sem)
{
	pthread_mutex_destroy(&sem->lock);
	pthread_cond_destroy(&sem->cond);
}

static void mmn_rwsem_add_reader(struct rw_semaphore *sem, int pid)
{
	sem->readers++;
	for (int i = 0; i < MMN_RWSEM_MAX_HOLDERS; i++)
		if (!sem->reader_pids[i]) {
			sem->reader_pids[i] = pid;
			return;
		}
}

static void mmn_rwsem_drop_reader(struct rw_semaphore *sem, int pid)
{
	sem->readers--;
	for (int i = 0; i < MMN_RWSEM_MAX_HOLDERS; i++)
		if (sem->reader_pids[i] == pid) {
			sem->reader_pids[i] = 0;
			return;
		}
}

/* "held by: 1234 (read) 1240 (read); writers waiting: 1" */
static void mmn_rwsem_describe(struct rw_semaphore *sem, char *buf, size_t len)
{
	size_t off = 0;

	off += snprintf(buf + off, len - off, "held by:");
	if (sem->writer_pid)
		off += snprintf(buf + off, len - off, " pid %d (write)",
				sem->writer_pid);
	for (int i = 0; i < MMN_RWSEM_MAX_HOLDERS && off < len; i++)
		if (sem->reader_pids[i])
			off += snprintf(buf + off, len - off, " pid %d (read)",
					sem->reader_pids[i]);
	if (!sem->writer_pid && !sem->readers && off < len)
		off += snprintf(buf + off, len - off, " nobody");
	if (off < len)
		snprintf(buf + off, len - off,
			 "; writers waiting: %u, readers waiting: %u",
			 sem->waiting_writers, sem->waiting_readers);
}

static bool mmn_rwsem_wait(struct rw_semaphore *sem, bool write,
			   const char *site)
{
	struct timespec ts;
	unsigned timeout = mmn_timeout_ms(sem->mm);
	int rc = 0;

	mmn_deadline(&ts, timeout);
	for (;;) {
		bool blocked = write ? (sem->writer_pid || sem->readers) :
				       (sem->writer_pid ||
					(sem->fair && sem->waiting_writers));
		if (!blocked)
			return true;
		if (rc == ETIMEDOUT)
			break;
		if (mmn_xp_active()) {
			bool woken;

			pthread_mutex_unlock(&sem->lock);
			woken = mmn_xp_block(write ? MMN_XP_RWSEM_DOWN_WRITE :
						     MMN_XP_RWSEM_DOWN_READ,
					     sem, sem->name, site);
			pthread_mutex_lock(&sem->lock);
			rc = woken ? 0 : ETIMEDOUT;
			continue;
		}
		rc = pthread_cond_timedwait(&sem->cond, &sem->lock, &ts);
	}
	{
		char what[160], holders[256];

		snprintf(what, sizeof(what), "%s (%s) in %s", sem->name,
			 write ? "write" : "read", site);
		mmn_rwsem_describe(sem, holders, sizeof(holders));
		pthread_mutex_unlock(&sem->lock);
		mmn_log_hung(sem->mm, timeout, what, holders);
		pthread_mutex_lock(&sem->lock);
	}
	return false;
}

bool mmn_rwsem_down_read(struct rw_semaphore *sem, const char *site)
{
	int me = task_pid_nr(current);
	bool ok;

	if (mmn_xp_active())
		mmn_xp_point(MMN_XP_RWSEM_DOWN_READ, sem->name, 0, site);
	/* kernel/locking/rwsem.c down_read: a sleeping lock */
	might_sleep();
	/* lockdep checks the dependency before the task can block */
	mmn_lock_acquire(&sem->dep_map, MMN_LOCKDEP_READ, 0, site);
	pthread_mutex_lock(&sem->lock);
	sem->waiting_readers++;
	ok = mmn_rwsem_wait(sem, false, site);
	sem->waiting_readers--;
	if (ok)
		mmn_rwsem_add_reader(sem, me);
	pthread_mutex_unlock(&sem->lock);
	if (!ok)
		mmn_lock_release(&sem->dep_map, site);
	return ok;
}

bool mmn_rwsem_down_read_trylock(struct rw_semaphore *sem, const char *site)
{
	bool ok;

	pthread_mutex_lock(&sem->lock);
	/* like the kernel's: fails with a writer holding it or queued */
	ok = !sem->writer_pid && !sem->waiting_writers;
	if (ok)
		mmn_rwsem_add_reader(sem, task_pid_nr(current));
	pthread_mutex_unlock(&sem->lock);
	if (ok)
		mmn_lock_acquire(&sem->dep_map, MMN_LOCKDEP_READ, 1, site);
	if (mmn_xp_active())
		mmn_xp_point(MMN_XP_RWSEM_TRYLOCK, sem->name, ok, site);
	return ok;
}

void mmn_rwsem_up_read(struct rw_semaphore *sem, const char *site)
{
	pthread_mutex_lock(&sem->lock);
	mmn_rwsem_drop_reader(sem, task_pid_nr(current));
	mmn_rwsem_wake(sem);
	pthread_mutex_unlock(&sem->lock);
	mmn_lock_release(&sem->dep_map, site);
	if (mmn_xp_active())
		mmn_xp_point(MMN_XP_RWSEM_UP, sem->name, 0, site);
}

bool mmn_rwsem_down_write(struct rw_semaphore *sem, const char *site)
{
	bool ok;

	if (mmn_xp_active())
		mmn_xp_point(MMN_XP_RWSEM_DOWN_WRITE, sem->name, 0, site);
	might_sleep();	/* down_write, likewise */
	mmn_lock_acquire(&sem->dep_map, MMN_LOCKDEP_WRITE, 0, site);
	pthread_mutex_lock(&sem->lock);
	sem->waiting_writers++;
	/* waiting writers hold back new fair readers: tell them */
	mmn_rwsem_wake(sem);
	ok = mmn_rwsem_wait(sem, true, site);
	sem->waiting_writers--;
	if (ok)
		sem->writer_pid = task_pid_nr(current);
	else
		mmn_rwsem_wake(sem);	/* readers behind us */
	pthread_mutex_unlock(&sem->lock);
	if (!ok)
		mmn_lock_release(&sem->dep_map, site);
	return ok;
}

void mmn_rwsem_up_write(struct rw_semaphore *sem, const char *site)
{
	pthread_mutex_lock(&sem->lock);
	sem->writer_pid = 0;
	mmn_rwsem_wake(sem);
	pthread_mutex_unlock(&sem->lock);
	mmn_lock_release(&sem->dep_map, site);
	if (mmn_xp_active())
		mmn_xp_point(MMN_XP_RWSEM_UP, sem->name, 0, site);
}

/*
 * kernel/locking/rwsem.c downgrade_write (v5.11): the write hold turns into
 * a read hold in one step, so no writer can get in between, and readers
 * queued behind it are woken to share the lock. A reader's trylock, which
 * fails while any writer holds the lock, can then succeed (mm/mmap.c
 * __do_munmap downgrades before unmap_region). Lockdep sees the write
 * acquisition become a read one, as lock_downgrade() records.
 */
void mmn_rwsem_downgrade_write(struct rw_semaphore *sem, const char *site)
{
	pthread_mutex_lock(&sem->lock);
	sem->writer_pid = 0;
	mmn_rwsem_add_reader(sem, task_pid_nr(current));
	pthread_cond_broadcast(&sem->cond);
	pthread_mutex_unlock(&sem->lock);
	mmn_lock_release(&sem->dep_map, site);
	mmn_lock_acquire(&sem->dep_map, MMN_LOCKDEP_READ, 1, site);
}
