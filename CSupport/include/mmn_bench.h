/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mmn_bench.h - the benchmark's C entry points added for issue 15 (the
 * older ones are in mmn_harness.h): the reference walk, whether the C shim
 * was optimised, and callgrind's client requests for `--measure
 * instructions`.
 */
#ifndef MMN_BENCH_H
#define MMN_BENCH_H

#include <stdbool.h>
#include "mmn_harness.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * mmn_bench_core with v5.11's walk built with every harness addition
 * compiled out (port/config/original_reference.h), of mm's flavour, over
 * mm's list; ranges are not retired, so the list must not carry the ledger.
 */
unsigned long long mmn_bench_core_reference(struct mm_struct *mm,
					    unsigned long iterations,
					    unsigned lane, unsigned copy);

/* Whether the C shim was compiled with optimisation (__OPTIMIZE__). */
bool mmn_bench_c_optimized(void);

/* Whether the shim was built with <valgrind/callgrind.h>. */
bool mmn_bench_callgrind_built(void);
/* Whether this process runs under valgrind (RUNNING_ON_VALGRIND). */
bool mmn_bench_on_valgrind(void);
/* CALLGRIND_ZERO_STATS; nothing outside valgrind. */
void mmn_bench_callgrind_zero(void);
/* CALLGRIND_DUMP_STATS_AT(name): a dump file whose desc names it. */
void mmn_bench_callgrind_dump(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* MMN_BENCH_H */
