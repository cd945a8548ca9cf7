/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * rwsem.h - a kernel rw_semaphore with bounded waits.
 *
 * Fair as the kernel's is (a reader queues behind a waiting writer) unless
 * created unfair. Every sleeping acquisition has a deadline: past it, the
 * waiter logs a hung task naming the lock and its holders, and returns
 * false without the lock, so no thread is ever left blocked.
 */
#ifndef MMN_HARNESS_RWSEM_H
#define MMN_HARNESS_RWSEM_H

#include <pthread.h>
#include <stdbool.h>
#include "lockdep.h"

struct mm_struct;

#define MMN_RWSEM_MAX_HOLDERS 8

struct rw_semaphore {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int readers;
	int writer_pid;		/* 0 when no writer holds it */
	unsigned waiting_writers;
	unsigned waiting_readers;
	bool fair;
	const char *name;
	struct mm_struct *mm;	/* whose log and deadline it uses */
	int reader_pids[MMN_RWSEM_MAX_HOLDERS];
	struct lockdep_map dep_map;
};

void mmn_init_rwsem(struct rw_semaphore *sem, const char *name, bool fair,
		    struct mm_struct *mm, struct mmn_lockdep *lockdep);
void mmn_rwsem_fini(struct rw_semaphore *sem);
bool mmn_rwsem_down_read(struct rw_semaphore *sem, const char *site);
bool mmn_rwsem_down_read_trylock(struct rw_semaphore *sem, const char *site);
void mmn_rwsem_up_read(struct rw_semaphore *sem, const char *site);
bool mmn_rwsem_down_write(struct rw_semaphore *sem, const char *site);
void mmn_rwsem_up_write(struct rw_semaphore *sem, const char *site);
/* downgrade_write: the writer becomes a reader without letting a writer in */
void mmn_rwsem_downgrade_write(struct rw_semaphore *sem, const char *site);

#endif /* MMN_HARNESS_RWSEM_H */
