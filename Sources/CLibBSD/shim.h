/* libbsd: <bsd/sys/tree.h>, for the interval tree's red-black tree. */
#include <bsd/sys/tree.h>
