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
	bool tainted;		/* a hung-task record was logged */
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
	case MMN_LOG_MIGHT_SLEEP: c->might_sleep++; break;
	default: c->errors++; break;
	}
}

/*
 * Under log->lock: count the record, and whether it came after the taint.
 * The hung record itself taints what follows it, not itself.
 */
static bool mmn_log_account_locked(struct mmn_log *log, int kind)
{
	bool tainted = log->tainted;

	mmn_log_count_kind(&log->counts, kind);
	if (tainted)
		log->counts.after_taint++;
	if (kind == MMN_LOG_HUNG)
		log->tainted = true;
	return tainted;
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

	bool tainted;

	pthread_mutex_lock(&log->lock);
	tainted = mmn_log_account_locked(log, kind);
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
	e->rec.tainted = tainted;
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
		(void)mmn_log_account_locked(log, kind);
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

/*
 * One conversion of a printf format, from '%' to its conversion character:
 * what the kernel's vsprintf would take for it from the arguments.
 */
static const char *mmn_printk_spec(const char *p, char *spec, size_t size,
				   FILE *out, va_list *ap,
				   const struct mmu_notifier *subscription)
{
	size_t n = 0;
	int longs = 0;
	char length = 0;

	spec[n++] = *p++;	/* '%' */
	while (*p && strchr("-+ #0", *p) && n < size - 24)
		spec[n++] = *p++;
	if (*p == '*') {
		n += snprintf(spec + n, size - n, "%d", va_arg(*ap, int));
		p++;
	}
	while (*p >= '0' && *p <= '9' && n < size - 24)
		spec[n++] = *p++;
	if (*p == '.') {
		spec[n++] = *p++;
		if (*p == '*') {
			n += snprintf(spec + n, size - n, "%d", va_arg(*ap, int));
			p++;
		}
		while (*p >= '0' && *p <= '9' && n < size - 24)
			spec[n++] = *p++;
	}
	while (*p && strchr("hlzjtL", *p) && n < size - 4) {
		if (*p == 'l')
			longs++;
		length = *p;
		spec[n++] = *p++;
	}
	if (!*p) {
		spec[n] = '\0';
		fputs(spec, out);
		return p;
	}
	spec[n++] = *p;
	spec[n] = '\0';
	switch (*p) {
	case 'p':
		if (p[1] == 'S') {
			/* %pS: the callback's symbol, "<symbol>_<callback>" */
			const void *fn = va_arg(*ap, const void *);

			if (subscription)
				fputs(mmn_ksym(subscription, fn), out);
			else
				fprintf(out, "%p", fn);
			return p + 2;
		}
		fprintf(out, spec, va_arg(*ap, void *));
		break;
	case 'd': case 'i':
		if (longs >= 2)
			fprintf(out, spec, va_arg(*ap, long long));
		else if (longs == 1)
			fprintf(out, spec, va_arg(*ap, long));
		else if (length == 'z' || length == 't')
			fprintf(out, spec, va_arg(*ap, ptrdiff_t));
		else if (length == 'j')
			fprintf(out, spec, va_arg(*ap, intmax_t));
		else
			fprintf(out, spec, va_arg(*ap, int));
		break;
	case 'u': case 'x': case 'X': case 'o':
		if (longs >= 2)
			fprintf(out, spec, va_arg(*ap, unsigned long long));
		else if (longs == 1)
			fprintf(out, spec, va_arg(*ap, unsigned long));
		else if (length == 'z' || length == 't')
			fprintf(out, spec, va_arg(*ap, size_t));
		else if (length == 'j')
			fprintf(out, spec, va_arg(*ap, uintmax_t));
		else
			fprintf(out, spec, va_arg(*ap, unsigned int));
		break;
	case 'c':
		fprintf(out, spec, va_arg(*ap, int));
		break;
	case 's':
		fprintf(out, spec, va_arg(*ap, const char *));
		break;
	case 'e': case 'E': case 'f': case 'F': case 'g': case 'G': case 'a': case 'A':
		if (length == 'L')
			fprintf(out, spec, va_arg(*ap, long double));
		else
			fprintf(out, spec, va_arg(*ap, double));
		break;
	case '%':
		fputc('%', out);
		break;
	default:
		fputs(spec, out);
		break;
	}
	return p + 1;
}

/*
 * The port's pr_info: printf, plus the kernel's %pS, which names a
 * callback through the subscription in scope (mmn_ksym). Formats without
 * %pS take vasprintf's path, as every harness message does.
 */
void mmn_log_printk(struct mm_struct *mm, int kind,
		    const struct mmu_notifier *subscription, const char *fmt, ...)
{
	va_list ap;
	char spec[64];
	char *text = NULL;
	size_t size = 0, len;
	FILE *out;
	const char *p;

	if (mmn_log_drop_if_full(mm, kind))
		return;
	va_start(ap, fmt);
	if (!strstr(fmt, "%pS")) {
		mmn_log_add(mm, kind, mmn_vformat(fmt, ap));
		va_end(ap);
		return;
	}
	out = open_memstream(&text, &size);
	if (!out)
		abort();
	for (p = fmt; *p;) {
		if (*p != '%') {
			fputc(*p++, out);
			continue;
		}
		p = mmn_printk_spec(p, spec, sizeof(spec), out, &ap,
				    subscription);
	}
	va_end(ap);
	fclose(out);
	/* the kernel's format strings end in \n; records do not */
	len = strlen(text);
	while (len && text[len - 1] == '\n')
		text[--len] = '\0';
	mmn_log_add(mm, kind, text);
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
	if (!strcmp(base, "rwsem.c"))
		return "kernel/locking/rwsem.c";
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

/*
 * kernel/sched/core.c ___might_sleep (v5.11): a splat, then the caller
 * goes on (and may really sleep); its own kind, since it is no BUG_ON.
 */
void __mmn_might_sleep(const char *file, int line, const char *func)
{
	mmn_log_add(current->mmn_mm, MMN_LOG_MIGHT_SLEEP,
		    mmn_format("BUG: sleeping function called from invalid context at %s:%d\n"
			       "  in_atomic(): 0, irqs_disabled(): 0, non_block: %d, pid: %d, name: %s (%s)",
			       mmn_kernel_path(file), line,
			       current->non_block_count, task_pid_nr(current),
			       mmn_task_comm(), func));
}

/* A repeat of a report already printed: counted, not stored again. */
void mmn_log_count_only(struct mm_struct *mm, int kind)
{
	struct mmn_log *log = mmn_log_of(mm);

	pthread_mutex_lock(&log->lock);
	mmn_log_count_kind(&log->counts, kind);
	pthread_mutex_unlock(&log->lock);
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

/*
 * v5.11 kernel/rcu/srcutree.c __synchronize_srcu: RCU_LOCKDEP_WARN
 * ("Illegal synchronize_srcu() in same-type SRCU (or in RCU) read-side
 * critical section"), a lockdep splat, and then the grace period waits
 * for the caller's own reader: the task never returns. liburcu would
 * deadlock the same way, so the harness logs the splat and the hang and
 * returns at once (the run is tainted from here on).
 */
void mmn_log_srcu_inside_reader(struct mm_struct *mm, const char *what,
				int depth)
{
	mmn_log_add(mm, MMN_LOG_LOCKDEP,
		    mmn_format("=============================\n"
			       "WARNING: suspicious RCU usage\n"
			       "-----------------------------\n"
			       "kernel/rcu/srcutree.c: Illegal %s() in same-type SRCU (or in RCU) read-side critical section!\n"
			       "\n"
			       "other info that might help us debug this:\n"
			       "%d SRCU read-side section%s held by %s/%d",
			       what, depth, depth == 1 ? "" : "s",
			       mmn_task_comm(), task_pid_nr(current)));
	mmn_log_add(mm, MMN_LOG_HUNG,
		    mmn_format("INFO: task %s:%d blocked forever in %s().\n"
			       "  waiting for: the grace period of its own SRCU read-side section (depth %d); the harness returns at once",
			       mmn_task_comm(), task_pid_nr(current), what,
			       depth));
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

bool mmn_log_tainted(const struct mm_struct *mm)
{
	struct mmn_log *log = mmn_log_of(mm);
	bool t;

	pthread_mutex_lock(&log->lock);
	t = log->tainted;
	pthread_mutex_unlock(&log->lock);
	return t;
}
