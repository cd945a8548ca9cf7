/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mmn_crash.h - what an isolated child (a stress run re-executed by the
 * command) leaves behind when it dies by a signal: the signal, the faulting
 * PC, the call trace as raw frames, and the last kernel-log lines of the mms
 * it watches, written to a pipe the parent reads. The parent symbolizes.
 */
#ifndef MMN_CRASH_H
#define MMN_CRASH_H

struct mm_struct;

/*
 * Handlers for SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT and SIGTRAP that
 * write one framed "crash" message to fd, then die by the same signal.
 */
void mmn_crash_install(int fd);
/* The crash report also carries the last records of these mms' logs. */
void mmn_crash_watch_mm(struct mm_struct *mm);
void mmn_crash_forget_mms(void);

#endif /* MMN_CRASH_H */
