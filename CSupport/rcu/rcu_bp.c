/* SPDX-License-Identifier: GPL-2.0-only */
/* The bp flavour's out-of-line operations (see flavor_runtime.h). */
#include "flavor_bp.h"
#include "flavor_runtime.h"
