/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kasan.c - freed objects stay quarantined and poisoned until their mm
 * goes, and an access that reaches one is a report, not a crash.
 *
 * The kernel's KASAN keeps freed memory in a quarantine so that a late
 * access lands on poisoned shadow and is reported with who freed it;
 * rcutorture poisons what it frees for the same reason. The harness does
 * the same for what it frees on a variant's behalf (hlist subscriptions,
 * interval subscriptions): the memory is kept, its list links intact so a
 * late walker can still move on, and every access path the harness
 * controls asks here first. Those paths are the trampolines and the ledger
 * (a poison word per subscription: one load) and, in the explore build,
 * every hlist step and list operation of the port (an address lookup).
 *
 * The quarantine is bounded per mm; past the bound the oldest objects are
 * really freed (stress makes millions) and AddressSanitizer, under
 * `--kasan` or the sanitizer runs, watches them from then on.
 */
#include "internal.h"

#define MMN_KASAN_MAX 4096

/*
 * MMN_QUARANTINE=0 in the environment (`stress --kasan` sets it for its
 * AddressSanitizer child): nothing is kept, every free is a real free, and
 * ASan's own quarantine reports what reaches freed memory.
 */
static unsigned long mmn_kasan_max(void)
{
	static unsigned long max = ~0UL;
	unsigned long m = __atomic_load_n(&max, __ATOMIC_RELAXED);

	if (m == ~0UL) {
		const char *env = getenv("MMN_QUARANTINE");

		m = env && *env ? strtoul(env, NULL, 10) : MMN_KASAN_MAX;
		__atomic_store_n(&max, m, __ATOMIC_RELAXED);
	}
	return m;
}

struct mmn_kasan_obj {
	void *addr;
	size_t size;
	void (*release)(void *addr);
	const char *type;		/* "struct mmu_notifier", ... */
	char name[32];			/* the driver's symbol */
	char freed_by_comm[16];
	const char *freed_in;		/* the freeing function */
	unsigned reports;		/* bit per access kind reported */
	struct mmn_kasan_obj *next;
};

struct mmn_kasan {
	pthread_mutex_t lock;
	struct mmn_kasan_obj *head, *tail;
	unsigned long count;
	unsigned long long hits;
};

static struct mmn_kasan *mmn_kasan_of(struct mm_struct *mm)
{
	struct mmn_kasan *k = __atomic_load_n(&mm->kasan, __ATOMIC_ACQUIRE);
	struct mmn_kasan *expected = NULL;

	if (k)
		return k;
	k = calloc(1, sizeof(*k));
	if (!k)
		abort();
	pthread_mutex_init(&k->lock, NULL);
	if (!__atomic_compare_exchange_n(&mm->kasan, &expected, k, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		pthread_mutex_destroy(&k->lock);
		free(k);
		k = expected;
	}
	return k;
}

void mmn_kasan_quarantine(struct mm_struct *mm, void *addr, size_t size,
			  void (*release)(void *addr), const char *type,
			  const char *name, const char *freed_in)
{
	struct mmn_kasan *k = mmn_kasan_of(mm);
	struct mmn_kasan_obj *o = calloc(1, sizeof(*o)), *old = NULL;

	if (!o)
		abort();
	o->addr = addr;
	o->size = size;
	o->release = release;
	o->type = type;
	snprintf(o->name, sizeof(o->name), "%s", name ? name : "?");
	snprintf(o->freed_by_comm, sizeof(o->freed_by_comm), "%s",
		 mmn_task_comm());
	o->freed_in = freed_in;
	pthread_mutex_lock(&k->lock);
	if (k->tail)
		k->tail->next = o;
	else
		k->head = o;
	k->tail = o;
	if (++k->count > mmn_kasan_max()) {
		old = k->head;
		k->head = old->next;
		if (!k->head)
			k->tail = NULL;
		k->count--;
	}
	pthread_mutex_unlock(&k->lock);
	if (old) {
		old->release(old->addr);
		free(old);
	}
}

void mmn_kasan_destroy(struct mm_struct *mm)
{
	struct mmn_kasan *k = mm->kasan;
	struct mmn_kasan_obj *o, *next;

	if (!k)
		return;
	for (o = k->head; o; o = next) {
		next = o->next;
		o->release(o->addr);
		free(o);
	}
	pthread_mutex_destroy(&k->lock);
	free(k);
	mm->kasan = NULL;
}

/* With k->lock held. */
static struct mmn_kasan_obj *mmn_kasan_find(struct mmn_kasan *k,
					    const void *addr)
{
	for (struct mmn_kasan_obj *o = k->head; o; o = o->next)
		if ((const char *)addr >= (const char *)o->addr &&
		    (const char *)addr < (const char *)o->addr + o->size)
			return o;
	return NULL;
}

/*
 * The report, in KASAN's shape. No raw address or pid: both change from
 * run to run, and the same seed must print the same bytes.
 */
static void mmn_kasan_report_locked(struct mm_struct *mm, struct mmn_kasan *k,
				    struct mmn_kasan_obj *o, const void *addr,
				    size_t size, bool write, const char *func)
{
	unsigned bit = write ? 2u : 1u;

	k->hits++;
	/* one report per object and access kind, as KASAN reports once */
	if (o->reports & bit) {
		mmn_log_count_only(mm, MMN_LOG_KASAN);
		return;
	}
	o->reports |= bit;
	mmn_log_printf(mm, MMN_LOG_KASAN,
		       "BUG: KASAN: use-after-free in %s\n"
		       "%s of size %zu at offset %zu of the object by task %s\n"
		       "Freed by task %s in %s\n"
		       "The buggy address belongs to %s %s (%zu bytes), quarantined since that free",
		       func ? func : "?", write ? "Write" : "Read", size,
		       (size_t)((const char *)addr - (const char *)o->addr),
		       mmn_task_comm(), o->freed_by_comm,
		       o->freed_in ? o->freed_in : "?", o->type, o->name,
		       o->size);
}

bool mmn_kasan_check(struct mm_struct *mm, const void *addr, size_t size,
		     bool write, const char *func)
{
	struct mmn_kasan *k;
	struct mmn_kasan_obj *o;

	if (!mm || !addr)
		return false;
	k = __atomic_load_n(&mm->kasan, __ATOMIC_ACQUIRE);
	if (!k)
		return false;
	pthread_mutex_lock(&k->lock);
	o = mmn_kasan_find(k, addr);
	if (o)
		mmn_kasan_report_locked(mm, k, o, addr, size, write, func);
	pthread_mutex_unlock(&k->lock);
	return o != NULL;
}

bool mmn_xp_check_access(const void *addr, size_t size, bool write,
			 const char *func)
{
	/* sleep sets: a check reads the quarantine; a write, a list */
	mmn_xp_note_object("class", "quarantine", false);
	if (write)
		mmn_xp_note_object("class", "hlist", true);
	return mmn_kasan_check(current->mmn_mm, addr, size, write, func);
}
