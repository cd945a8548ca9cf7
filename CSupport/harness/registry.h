/* SPDX-License-Identifier: GPL-2.0-only */
/* registry.h - what port/build/registry.c (generated) is written in. */
#ifndef MMN_HARNESS_REGISTRY_H
#define MMN_HARNESS_REGISTRY_H

#include "internal.h"

#define MMN_DECLARE_CORES(sym)						\
	extern const struct mmn_core mmn_core_##sym##_memb,		\
		mmn_core_##sym##_mb, mmn_core_##sym##_qsbr,		\
		mmn_core_##sym##_bp, mmn_core_##sym##_explore

#define MMN_VARIANT(id, sym, summary, upstream, seed, patch)		\
	{ id, summary, upstream, seed, patch,				\
	  { &mmn_core_##sym##_memb, &mmn_core_##sym##_mb,		\
	    &mmn_core_##sym##_qsbr, &mmn_core_##sym##_bp },		\
	  &mmn_core_##sym##_explore }

#endif /* MMN_HARNESS_REGISTRY_H */
