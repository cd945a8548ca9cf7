/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tsan.h - what ThreadSanitizer needs to see the port's RCU as RCU.
 *
 * liburcu 0.13 publishes with volatile accesses (CMM_LOAD_SHARED,
 * CMM_STORE_SHARED, rcu_dereference, rcu_assign_pointer) and ends grace
 * periods with sys_membarrier and futexes inside an uninstrumented library,
 * so TSan sees neither the accesses as atomic nor the grace period as a
 * happens-before edge. Under TSan only:
 *   - the shared loads/stores become relaxed atomics, and rcu_dereference /
 *     rcu_assign_pointer acquire/release atomics (what they mean);
 *   - every read-side unlock releases, and every grace-period wait
 *     (synchronize, barrier, a call_srcu callback) acquires, one sync
 *     object. That orders each reader before every later grace period's
 *     end: it over-approximates (TSan will not see a grace period that ends
 *     early; the poison check and ASan do), and it adds no false edge
 *     between readers and the updates they race with.
 * Without TSan everything here is the plain liburcu primitive.
 */
#ifndef MMN_KERNEL_TSAN_H
#define MMN_KERNEL_TSAN_H

#include <urcu/pointer.h>
#include <urcu/system.h>

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MMN_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define MMN_TSAN 1
#endif

#ifdef MMN_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
extern char mmn_tsan_grace_period;
#define mmn_tsan_reader_done()	__tsan_release(&mmn_tsan_grace_period)
#define mmn_tsan_grace_period_ended() __tsan_acquire(&mmn_tsan_grace_period)
#define MMN_LOAD_SHARED(x)	__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define MMN_STORE_SHARED(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#undef rcu_dereference
#define rcu_dereference(p)	__atomic_load_n(&(p), __ATOMIC_ACQUIRE)
#undef rcu_assign_pointer
#define rcu_assign_pointer(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)
#else
#define mmn_tsan_reader_done()		do { } while (0)
#define mmn_tsan_grace_period_ended()	do { } while (0)
#define MMN_LOAD_SHARED(x)		CMM_LOAD_SHARED(x)
#define MMN_STORE_SHARED(x, v)		CMM_STORE_SHARED(x, v)
#endif

#endif /* MMN_KERNEL_TSAN_H */
