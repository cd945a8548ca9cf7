/* SPDX-License-Identifier: GPL-2.0-only */
/* The qsbr flavour's out-of-line operations (see flavor_runtime.h). */
#include "flavor_qsbr.h"
#include "flavor_runtime.h"
