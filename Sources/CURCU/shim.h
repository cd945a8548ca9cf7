/* liburcu, every flavour: the CSupport target includes their headers. */
#include <urcu/urcu-memb.h>
