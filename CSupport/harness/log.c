/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * log.c - the mm's kernel log: every pr_info, WARN, BUG, hung task and
 * lockdep report, with a counter per kind. Tests assert on the counters
 * and the lines; `--log` prints them in the kernel's form.
 */
#include <sched.h>
#include <stdarg.h>
#include "internal.h"

/* Beyond this many records a run keeps counting but stops storing. */
#define MMN_LOG_MAX_RECORDS 20000

struct mmn_log_entry {
	struct mmn_log_record rec;
	char comm[16];
};

struct mmn_log {
	pthread_mutex_t lock;
	struct mmn_log_entry *entries;
	size_t count;
	size_t capacity;
	unsigned long long seq;
	unsigned long long created_ns;
	struct mmn_log_counts counts;
	size_t max_records;	/* past it, records are counted and dropped */
};

/* Messages from a thread that is not working on any mm land here. */
static struct mmn_log mmn_orphan_log = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.max_records = MMN_LOG_MAX_RECORDS,
};

struct mmn_log *mmn_log_create(size_t max_records)
{
	struct mmn_log *log = calloc(1, sizeof(*log));

	if (!log)
		abort();
	pthread_mutex_init(&log->lock, NULL);
	log->max_records = max_records && max_records < MMN_LOG_MAX_RECORDS ?
				   max_records :
				   MMN_LOG_MAX_RECORDS;
	log->created_ns = mmn_now_ns();
	return log;
}

void mmn_log_destroy(struct mmn_log *log)
{
	for (size_t i = 0; i < log->count; i++)
		free((void *)log->entries[i].rec.text);
	free(log->entries);
	pthread_mutex_destroy(&log->lock);
	free(log);
}

static struct mmn_log *mmn_log_of(const struct mm_struct *mm)
{
	return mm ? mm->log : &mmn_orphan_log;
}

static void mmn_log_count_kind(struct mmn_log_counts *c, int kind)
{
	switch (kind) {
	case MMN_LOG_INFO: c->info++; break;
	case MMN_LOG_WARN: c->warnings++; break;
	case MMN_LOG_BUG: c->bugs++; break;
	case MMN_LOG_HUNG: c->hung++; break;
	case MMN_LOG_LOCKDEP: c->lockdep++; break;
	case MMN_LOG_KASAN: c->use_after_free++; break;
	default: c->errors++; break;
	}
}

/* Under log->lock: a full log keeps no more records, only their count. */
static bool mmn_log_drop_locked(struct mmn_log *log)
{
	if (log->count < log->max_records)
		return false;
	log->counts.dropped++;
	return true;
}

static void mmn_log_add(struct mm_struct *mm, int kind, char *text)
{
	struct mmn_log *log = mmn_log_of(mm);
	struct mmn_log_entry *e;
	int cpu = sched_getcpu();

	pthread_mutex_lock(&log->lock);
	mmn_log_count_kind(&log->counts, kind);
	if (mmn_log_drop_locked(log)) {
		pthread_mutex_unlock(&log->lock);
		free(text);
		return;
	}
	if (log->count == log->capacity) {
		size_t cap = log->capacity ? log->capacity * 2 : 64;
		struct mmn_log_entry *n = realloc(log->entries, cap * sizeof(*n));

		if (!n)
			abort();
		log->entries = n;
		log->capacity = cap;
	}
	e = &log->entries[log->count++];
	memset(e, 0, sizeof(*e));
	snprintf(e->comm, sizeof(e->comm), "%s", mmn_task_comm());
	e->rec.kind = kind;
	e->rec.pid = task_pid_nr(current);
	e->rec.cpu = cpu < 0 ? 0 : cpu;
	e->rec.seq = ++log->seq;
	e->rec.time_ns = mmn_now_ns() - log->created_ns;
	e->rec.text = text;
	pthread_mutex_unlock(&log->lock);
}

static char *mmn_vformat(const char *fmt, va_list ap)
{
	char *text = NULL;
	size_t len;

	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	/* the kernel's format strings end in \n; records do not */
	len = strlen(text);
	while (len && text[len - 1] == '\n')
		text[--len] = '\0';
	return text;
}

/*
 * A full log only counts what it drops, so a record it would drop is not
 * formatted: a benchmark's millions of refused starts each pr_info, and
 * formatting them cost more than the extra walk the failure path is
 * timed for.
 */
static bool mmn_log_drop_if_full(struct mm_struct *mm, int kind)
{
	struct mmn_log *log = mmn_log_of(mm);
	bool full;

	pthread_mutex_lock(&log->lock);
	full = mmn_log_drop_locked(log);
	if (full)
		mmn_log_count_kind(&log->counts, kind);
	pthread_mutex_unlock(&log->lock);
	return full;
}

void mmn_log_printf(struct mm_struct *mm, int kind, const char *fmt, ...)
{
	va_list ap;

	if (mmn_log_drop_if_full(mm, kind))
		return;
	va_start(ap, fmt);
	mmn_log_add(mm, kind, mmn_vformat(fmt, ap));
	va_end(ap);
}

static char *mmn_format(const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = mmn_vformat(fmt, ap);
	va_end(ap);
	return text;
}

/* Port files print as the kernel path they model. */
static const char *mmn_kernel_path(const char *file)
{
	const char *base = strrchr(file, '/');

	base = base ? base + 1 : file;
	if (!strcmp(base, "mmu_notifier.c"))
		return "mm/mmu_notifier.c";
	if (!strcmp(base, "oom_kill.c"))
		return "mm/oom_kill.c";
	if (!strcmp(base, "mmap.c"))
		return "mm/mmap.c";
	if (!strcmp(base, "mmu_notifier.h"))
		return "include/linux/mmu_notifier.h";
	return file;
}

void mmn_warn(struct mm_struct *mm, const char *file, int line,
	      const char *func, const char *cond)
{
	int cpu = sched_getcpu();

	mmn_log_add(mm, MMN_LOG_WARN,
		    mmn_format("WARNING: CPU: %d PID: %d at %s:%d %s\n"
			       "  WARN_ON(%s)",
			       cpu < 0 ? 0 : cpu, task_pid_nr(current),
			       mmn_kernel_path(file), line, func, cond));
}

void mmn_bug(struct mm_struct *mm, const char *file, int line,
	     const char *func, const char *cond)
{
	mmn_log_add(mm, MMN_LOG_BUG,
		    mmn_format("kernel BUG at %s:%d!\n  %s: BUG_ON(%s)",
			       mmn_kernel_path(file), line, func, cond));
}

void __mmn_warn(const char *file, int line, const char *func,
		const char *cond)
{
	mmn_warn(current->mmn_mm, file, line, func, cond);
}

void __mmn_bug(const char *file, int line, const char *func,
	       const char *cond)
{
	mmn_bug(current->mmn_mm, file, line, func, cond);
}

void __mmn_might_sleep(const char *file, int line, const char *func)
{
	mmn_log_add(current->mmn_mm, MMN_LOG_BUG,
		    mmn_format("BUG: sleeping function called from invalid context at %s:%d\n"
			       "  in_atomic(): 0, irqs_disabled(): 0, non_block: %d, pid: %d, name: %s (%s)",
			       mmn_kernel_path(file), line,
			       current->non_block_count, task_pid_nr(current),
			       mmn_task_comm(), func));
}

void mmn_pr_info(struct mm_struct *mm, const char *text)
{
	mmn_log_printf(mm, MMN_LOG_INFO, "%s", text);
}

void mmn_log_hung(struct mm_struct *mm, unsigned timeout_ms, const char *what,
		  const char *holders)
{
	mmn_log_add(mm, MMN_LOG_HUNG,
		    mmn_format("INFO: task %s:%d blocked for more than %u ms.\n"
			       "  waiting for: %s%s%s",
			       mmn_task_comm(), task_pid_nr(current),
			       timeout_ms, what, holders ? "\n  " : "",
			       holders ? holders : ""));
}

void mmn_log_lockdep_report(void *arg, const char *text)
{
	mmn_log_add(arg, MMN_LOG_LOCKDEP, mmn_format("%s", text));
}

unsigned long long mmn_log_count(const struct mm_struct *mm)
{
	struct mmn_log *log = mmn_log_of(mm);
	unsigned long long n;

	pthread_mutex_lock(&log->lock);
	n = log->count;
	pthread_mutex_unlock(&log->lock);
	return n;
}

bool mmn_log_get(const struct mm_struct *mm, unsigned long long index,
		 struct mmn_log_record *out)
{
	struct mmn_log *log = mmn_log_of(mm);
	bool ok = false;

	pthread_mutex_lock(&log->lock);
	if (index < log->count) {
		*out = log->entries[index].rec;
		out->comm = log->entries[index].comm;
		ok = true;
	}
	pthread_mutex_unlock(&log->lock);
	return ok;
}

void mmn_log_get_counts(const struct mm_struct *mm, struct mmn_log_counts *out)
{
	struct mmn_log *log = mmn_log_of(mm);

	pthread_mutex_lock(&log->lock);
	*out = log->counts;
	pthread_mutex_unlock(&log->lock);
}
