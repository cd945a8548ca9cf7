/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mmn_variant_meta.h - what port/build/variant_meta.c (generated from the
 * patch headers) tells the harness beyond the registry: each variant's
 * Promises: line and its Kind:, indexed like mmn_variant_id().
 */
#ifndef MMN_VARIANT_META_H
#define MMN_VARIANT_META_H

/* "variant" or "test" (Kind: test: left out of --variant all). */
const char *mmn_variant_kind(unsigned variant);
/* The Promises: value as written; "" when the header has none. */
const char *mmn_variant_promises(unsigned variant);

#endif /* MMN_VARIANT_META_H */
