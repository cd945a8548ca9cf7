/* SPDX-License-Identifier: GPL-2.0-only */
/* registry.h - what port/build/registry.c (generated) is written in. */
#ifndef MMN_HARNESS_REGISTRY_H
#define MMN_HARNESS_REGISTRY_H

#include "internal.h"

#define MMN_DECLARE_CORES(sym)						\
	extern const struct mmn_core mmn_core_##sym##_memb,		\
		mmn_core_##sym##_mb, mmn_core_##sym##_qsbr,		\
		mmn_core_##sym##_bp, mmn_core_##sym##_explore

/* base: the port the variant is built from, "v5.11" or "mainline" */
#define MMN_VARIANT(id, sym, summary, upstream, seed, patch, base)	\
	{ id, summary, upstream, seed, patch, base,			\
	  { &mmn_core_##sym##_memb, &mmn_core_##sym##_mb,		\
	    &mmn_core_##sym##_qsbr, &mmn_core_##sym##_bp },		\
	  &mmn_core_##sym##_explore }

#endif /* MMN_HARNESS_REGISTRY_H */
