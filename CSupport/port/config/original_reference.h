/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * original_reference.h - included by the original_reference__<flavour>.c
 * units after the kernel headers and before the port: it compiles out
 * everything the harness adds to v5.11's start/end walk, so `bench` can
 * time (and count the instructions of) the kernel's own loop over the same
 * nodes and report what the harness costs on top (core/reference).
 *
 * Compiled out, and why each is the harness's and not the kernel's:
 *   - lock_map_acquire/release: the harness's lock validator and the
 *     pseudo-lock it can make real (a production kernel has no lockdep);
 *   - srcu_read_lock/unlock bookkeeping: the registration test, nesting
 *     depth and TSan annotation the harness keeps per task; what is left
 *     is liburcu's read side itself (and, for qsbr, going online/offline
 *     or the quiescent state, without which qsbr has no grace periods);
 *   - the tracepoints and ledger hooks (mmn_trace, mmn_ledger_unlinking)
 *     and the range ids the pairing ledger retires (mmn_next_range_id).
 * Kept: CONFIG_DEBUG_ATOMIC_SLEEP (non_block_start/end around every
 * callback), which is the kernel's own option, built on as in the port;
 * the port/config/original_no_debug_atomic_sleep units measure it.
 * Never a variant: no `patches apply` output, no registry entry. The
 * thread must be registered with the flavour before the walk
 * (mmn_bench_core_reference does that outside the timed loop).
 */
#ifndef MMN_PORT_CONFIG_ORIGINAL_REFERENCE_H
#define MMN_PORT_CONFIG_ORIGINAL_REFERENCE_H

#undef lock_map_acquire
#undef lock_map_release
#define lock_map_acquire(map) ((void)(map))
#define lock_map_release(map) ((void)(map))

static inline __attribute__((always_inline)) int
mmn_reference_srcu_read_lock(void)
{
#if MMN_FLAVOR_ID == 2 /* qsbr */
	if (!current->qsbr_stay_online)
		MMN_URCU(thread_online)();
#endif
	MMN_URCU(read_lock)();
	return 0;
}

static inline __attribute__((always_inline)) void
mmn_reference_srcu_read_unlock(void)
{
	MMN_URCU(read_unlock)();
#if MMN_FLAVOR_ID == 2 /* qsbr */
	if (current->qsbr_stay_online)
		MMN_URCU(quiescent_state)();
	else
		MMN_URCU(thread_offline)();
#endif
}

#define srcu_read_lock(ssp) ((void)(ssp), mmn_reference_srcu_read_lock())
#define srcu_read_unlock(ssp, idx)					\
	((void)(ssp), (void)(idx), mmn_reference_srcu_read_unlock())

#define mmn_trace(mm, event, subscription)				\
	((void)(mm), (void)(event), (void)(subscription))
#define mmn_ledger_unlinking(subscription) ((void)(subscription))
#define mmn_next_range_id() 0ULL

#endif /* MMN_PORT_CONFIG_ORIGINAL_REFERENCE_H */
