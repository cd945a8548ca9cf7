/* SPDX-License-Identifier: GPL-2.0-only */
/* The mb flavour's out-of-line operations (see flavor_runtime.h). */
#include "flavor_mb.h"
#include "flavor_runtime.h"
