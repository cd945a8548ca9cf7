/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mmn_explore.h - the controlled scheduler, as Swift drives it.
 *
 * One execution at a time per process: mmn_xp_begin resets the scheduler;
 * every operation thread calls mmn_xp_attach first and mmn_xp_detach last;
 * mmn_xp_run lets the first one go and waits until all are done. Between
 * attach and detach exactly one attached thread runs; at each scheduling
 * point the scheduler decides who runs next, from the script (overrides)
 * where it has one and from the default rule elsewhere:
 *   - MMN_XP_POLICY_STAY: the current thread while it can run, else the
 *     lowest-numbered runnable one (no preemption: the DFS's base);
 *   - MMN_XP_POLICY_PCT: the runnable thread of highest priority, with
 *     priority change points (Burckhardt et al., ASPLOS 2010).
 * Only decisions with two or more runnable threads are numbered; a script
 * names (decision, thread) pairs, so a schedule is the default plus its
 * deviations, which is also what a replay token holds.
 */
#ifndef MMN_EXPLORE_H
#define MMN_EXPLORE_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { MMN_XP_MAX_THREADS = 16, MMN_XP_MAX_CHANGE_POINTS = 8 };

enum mmn_xp_policy {
	MMN_XP_POLICY_STAY = 0,
	MMN_XP_POLICY_PCT = 1,
};

struct mmn_xp_override {
	uint32_t decision;
	uint32_t thread;
};

/*
 * What one step touched (a step: what a thread runs from one scheduling
 * point to its next): up to MMN_XP_FP_MAX named objects, each read or
 * written, or `unknown` (dependent with every step). Object ids are
 * stable across the executions of one process (names are interned by
 * their text), so a footprint seen in one execution describes the same
 * step in the next. Two steps are independent when neither is unknown
 * and no object is in both with a write on either side.
 */
enum { MMN_XP_FP_MAX = 12 };

struct mmn_xp_footprint {
	uint8_t n;
	bool unknown;
	uint8_t write[MMN_XP_FP_MAX];
	uint16_t obj[MMN_XP_FP_MAX];
};

/*
 * Sleep sets (sched.c): at decision `decision`, `thread` (the thread that
 * was running there, whose own step was explored first) goes to sleep
 * with the footprint of that step. It stays asleep while the steps taken
 * are independent of it, and a sleeping thread is never picked.
 */
struct mmn_xp_sleeper {
	uint32_t decision;
	uint32_t thread;
	struct mmn_xp_footprint step;
};

struct mmn_xp_config {
	unsigned threads;		/* operation threads that will attach */
	int policy;			/* enum mmn_xp_policy */
	const struct mmn_xp_override *overrides;	/* sorted by decision */
	unsigned override_count;
	/* PCT: initial priorities (higher runs first) and change points */
	unsigned priorities[MMN_XP_MAX_THREADS];
	unsigned long change_points[MMN_XP_MAX_CHANGE_POINTS];
	unsigned change_point_count;
	bool record_trace;		/* keep every event (for a report) */
	unsigned max_steps;		/* points before the run counts as livelock */
	unsigned wall_timeout_ms;	/* harness watchdog for one execution */
	/* sleep-set pruning (exhaustive search only); sorted by decision */
	bool prune;
	const struct mmn_xp_sleeper *sleepers;
	unsigned sleeper_count;
};

enum mmn_xp_status {
	MMN_XP_COMPLETED = 0,
	MMN_XP_DEADLOCK = 1,	/* nobody runnable; some wait on a lock */
	MMN_XP_HUNG = 2,	/* nobody runnable; some wait on a condition */
	MMN_XP_DIVERGED = 3,	/* the script named a thread that could not run */
	MMN_XP_LIVELOCK = 4,	/* max_steps points without finishing */
	MMN_XP_HARNESS_TIMEOUT = 5,	/* a thread did not reach a point in time */
};

void mmn_xp_begin(const struct mmn_xp_config *config);
/* On an operation thread: become thread `id` (0-based), named `name`. */
void mmn_xp_attach(unsigned id, const char *name);
void mmn_xp_detach(void);
/* On the controller: run the execution; returns enum mmn_xp_status. */
int mmn_xp_run(void);
/* After mmn_xp_run: the execution's record. */
unsigned mmn_xp_decision_count(void);
struct mmn_xp_decision {
	uint32_t enabled;	/* bit per runnable thread */
	int current_thread;	/* the thread at the point, -1 at the start */
	unsigned pick;
	bool preemption;	/* current could run and another was picked */
	uint32_t sleep;		/* bit per runnable thread asleep here */
	/* what the picked thread's step after this decision touched */
	struct mmn_xp_footprint step;
};
/*
 * With prune: the decision index at which every runnable thread was asleep
 * (the rest of the execution is equivalent to one explored before), or
 * UINT32_MAX if that never happened.
 */
uint32_t mmn_xp_sleep_blocked_at(void);
/* 1 if the two steps are independent (commute). */
int mmn_xp_independent(const struct mmn_xp_footprint *a,
		       const struct mmn_xp_footprint *b);
void mmn_xp_get_decision(unsigned index, struct mmn_xp_decision *out);
unsigned long mmn_xp_steps(void);
unsigned mmn_xp_preemptions(void);
/* The trace, one line per event ("T1 oom_reaper: ..."), formatted. */
unsigned mmn_xp_event_count(void);
/* Writes event `index` as text; returns its thread or -1. */
int mmn_xp_format_event(unsigned index, char *buf, unsigned len);
/* Who waits on what when the run stopped (deadlock/hung), one line each. */
void mmn_xp_format_blocked(char *buf, unsigned len);
/* Thread names in this execution. */
const char *mmn_xp_thread_name(unsigned id);
unsigned mmn_xp_thread_total(void);

/* Names shown in the trace for an object's address (a subscription). */
void mmn_xp_name(const void *addr, const char *name);

/* A driver's own step, for drivers written in Swift. */
void mmn_xp_driver_point(const char *what, long value);
/*
 * A scheduling point whose following step writes the object named
 * `object` (and nothing else the scheduler must know of): steps on two
 * different names commute. For calibrating the pruned search's counts.
 */
void mmn_xp_object_point(const char *object, long value);
/* 1 if the calling thread is under the scheduler's control. */
int mmn_xp_controlled(void);

#ifdef __cplusplus
}
#endif
#endif /* MMN_EXPLORE_H */
