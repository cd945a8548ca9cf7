/* SPDX-License-Identifier: GPL-2.0-only */
/* task.c - `current`: one task_struct per OS thread. */
#include <sched.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "internal.h"

__thread struct task_struct mmn_current_task
	__attribute__((tls_model("initial-exec")));

static unsigned mmn_next_thread_index;

int mmn_task_pid_slow(void)
{
	struct task_struct *t = current;

	t->pid = (int)syscall(SYS_gettid);
	return t->pid;
}

int mmn_task_pid(void)
{
	return task_pid_nr(current);
}

int mmn_task_non_block_count(void)
{
	return current->non_block_count;
}

const char *mmn_task_comm(void)
{
	struct task_struct *t = current;

	if (!t->comm[0])
		snprintf(t->comm, sizeof(t->comm), "task-%d", task_pid_nr(t));
	return t->comm;
}

void mmn_task_set_comm(const char *comm)
{
	snprintf(current->comm, sizeof(current->comm), "%s",
		 comm ? comm : "");
	/* lockdep's reports name the task the same way */
	mmn_lockdep_set_thread_name(current->comm);
}

void mmn_assign_thread_index(void)
{
	current->thread_index =
		__atomic_add_fetch(&mmn_next_thread_index, 1, __ATOMIC_RELAXED);
}

unsigned long long mmn_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL +
	       (unsigned long long)ts.tv_nsec;
}

int mmn_sanitized_build(void)
{
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
	return 1;
#endif
#endif
	return 0;
}

int mmn_pin_thread(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}
