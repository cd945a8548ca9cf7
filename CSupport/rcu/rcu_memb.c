/* SPDX-License-Identifier: GPL-2.0-only */
/* The memb flavour's out-of-line operations (see flavor_runtime.h). */
#include "flavor_memb.h"
#include "flavor_runtime.h"
