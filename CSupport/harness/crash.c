/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * crash.c - the isolated child's last words. A variant that frees early can
 * make the harness fault anywhere (its own walk, a driver, the ledger); the
 * handler writes what the parent needs for a `crash: SIGSEGV in <function>`
 * verdict to a pipe, then lets the signal kill the process as it would
 * have. Everything is formatted into a static buffer and written with
 * write(2); the only calls beyond async-signal-safe ones are backtrace()
 * (preloaded at install, so it does not dlopen in the handler), dladdr()
 * and mmn_log_get() (which takes the log's mutex: if the crashing thread
 * held it, the parent's grace period ends the wait).
 *
 * Message: "crash <len>\n" then <len> bytes of lines:
 *   signal <n> <name>          the signal
 *   task <comm> <tid>          the thread that took it
 *   addr 0x<si_addr>           the faulting address
 *   pc 0x<addr> 0x<base> <object>|<dynamic symbol or ->
 *   caller ...                 the return address, when the PC is in no object
 *   frame ... (same shape)     the call trace, innermost first
 *   log <line>                 last kernel-log lines of the watched mms
 */
#include <dlfcn.h>
#include <execinfo.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>
#include "internal.h"
#include "../include/mmn_crash.h"

#define MMN_CRASH_MMS 16
#define MMN_CRASH_FRAMES 48
#define MMN_CRASH_LOG_LINES 6

static int mmn_crash_fd = -1;
static struct mm_struct *mmn_crash_mms[MMN_CRASH_MMS];
static char mmn_crash_buf[64 * 1024];
static size_t mmn_crash_len;
static volatile sig_atomic_t mmn_crash_entered;

static void put_bytes(const char *s, size_t n)
{
	if (mmn_crash_len + n > sizeof(mmn_crash_buf))
		n = sizeof(mmn_crash_buf) - mmn_crash_len;
	memcpy(mmn_crash_buf + mmn_crash_len, s, n);
	mmn_crash_len += n;
}

static void put_str(const char *s)
{
	put_bytes(s, strlen(s));
}

static void put_uint(unsigned long long v, unsigned base, int width, char pad)
{
	char tmp[32];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v && n < (int)sizeof(tmp));
	while (n < width && n < (int)sizeof(tmp))
		tmp[n++] = pad;
	while (n)
		put_bytes(&tmp[--n], 1);
}

static void put_hex(unsigned long long v)
{
	put_str("0x");
	put_uint(v, 16, 1, '0');
}

static void put_frame(const char *tag, void *addr)
{
	Dl_info info;

	put_str(tag);
	put_str(" ");
	put_hex((unsigned long)addr);
	memset(&info, 0, sizeof(info));
	if (dladdr(addr, &info)) {
		put_str(" ");
		put_hex((unsigned long)info.dli_fbase);
		put_str(" ");
		put_str(info.dli_fname ? info.dli_fname : "?");
		put_str("|");
		put_str(info.dli_sname ? info.dli_sname : "-");
	} else {
		put_str(" 0x0 ?|-");
	}
	put_str("\n");
}

static const char *signal_name(int sig)
{
	switch (sig) {
	case SIGSEGV: return "SIGSEGV";
	case SIGBUS: return "SIGBUS";
	case SIGILL: return "SIGILL";
	case SIGFPE: return "SIGFPE";
	case SIGABRT: return "SIGABRT";
	case SIGTRAP: return "SIGTRAP";
	default: return "SIG?";
	}
}

/* The return address on top of the stack: where a call through a bad
 * function pointer came from (the PC itself then names nothing). */
static void *caller_of_fault(void *uc_raw)
{
	ucontext_t *uc = uc_raw;

	if (!uc)
		return NULL;
#if defined(__x86_64__)
	return *(void **)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
	return (void *)uc->uc_mcontext.regs[30];
#else
	return NULL;
#endif
}

static void *fault_pc(void *uc_raw)
{
	ucontext_t *uc = uc_raw;

	if (!uc)
		return NULL;
#if defined(__x86_64__)
	return (void *)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
	return (void *)uc->uc_mcontext.pc;
#else
	return NULL;
#endif
}

/* The last lines of each watched mm's log, in dmesg's form. */
static void put_logs(void)
{
	for (int m = 0; m < MMN_CRASH_MMS; m++) {
		struct mm_struct *mm = __atomic_load_n(&mmn_crash_mms[m], __ATOMIC_ACQUIRE);
		unsigned long long n, first;
		struct mmn_log_record r;

		if (!mm)
			continue;
		n = mmn_log_count(mm);
		first = n > MMN_CRASH_LOG_LINES ? n - MMN_CRASH_LOG_LINES : 0;
		for (unsigned long long i = first; i < n; i++) {
			const char *p;

			if (!mmn_log_get(mm, i, &r))
				break;
			p = r.text;
			while (p) {
				const char *nl = strchr(p, '\n');

				put_str("log [");
				put_uint(r.time_ns / 1000000000ull, 10, 5, ' ');
				put_str(".");
				put_uint((r.time_ns / 1000) % 1000000, 10, 6, '0');
				put_str("] ");
				put_bytes(p, nl ? (size_t)(nl - p) : strlen(p));
				put_str("\n");
				p = nl ? nl + 1 : NULL;
			}
		}
	}
}

static void write_all(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(mmn_crash_fd, p, n);

		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* "<tag><length>\n" then the buffer: async-signal-safe, no stdio. */
static void put_section(const char *tag)
{
	char header[48];
	size_t hlen = 0;
	char tmp[24];
	int k = 0;
	size_t v = mmn_crash_len;

	while (tag[hlen] && hlen < 24) {
		header[hlen] = tag[hlen];
		hlen++;
	}
	do {
		tmp[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (k)
		header[hlen++] = tmp[--k];
	header[hlen++] = '\n';
	write_all(header, hlen);
	write_all(mmn_crash_buf, mmn_crash_len);
}

static void mmn_crash_handler(int sig, siginfo_t *info, void *uc)
{
	void *frames[MMN_CRASH_FRAMES];
	int n;

	/*
	 * Another thread is already reporting (a use after free often faults
	 * two readers at once): wait for it to end the process, so its report
	 * is not cut short. A fault inside this handler, on this thread, is
	 * taken with the signal blocked and kills the process at once.
	 */
	if (__atomic_exchange_n(&mmn_crash_entered, 1, __ATOMIC_ACQ_REL)) {
		for (;;)
			pause();
	}
	mmn_crash_len = 0;
	put_str("signal ");
	put_uint((unsigned)sig, 10, 1, ' ');
	put_str(" ");
	put_str(signal_name(sig));
	put_str("\ntask ");
	put_str(mmn_task_comm());
	put_str(" ");
	put_uint((unsigned)mmn_task_pid(), 10, 1, ' ');
	put_str("\naddr ");
	put_hex((unsigned long)(info ? info->si_addr : NULL));
	put_str("\n");
	{
		Dl_info where;
		void *pc = fault_pc(uc);

		if (pc)
			put_frame("pc", pc);
		if (!pc || !dladdr(pc, &where))
			put_frame("caller", caller_of_fault(uc));
	}
	n = backtrace(frames, MMN_CRASH_FRAMES);
	for (int i = 0; i < n; i++)
		put_frame("frame", frames[i]);

	/* what the parent gets even if the log's lock is never free */
	put_section("crash ");

	mmn_crash_len = 0;
	put_logs();
	if (mmn_crash_len)
		put_section("crashlog ");
	/*
	 * Die by the signal: blocked while this handler runs, it is delivered
	 * with the default action as the handler returns (a fault would also
	 * simply recur).
	 */
	signal(sig, SIG_DFL);
	raise(sig);
}

void mmn_crash_install(int fd)
{
	static const int signals[] = { SIGSEGV, SIGBUS, SIGILL,
				       SIGFPE, SIGABRT, SIGTRAP };
	static char altstack[64 * 1024];
	void *warm[2];
	struct sigaction sa;
	stack_t ss;

	mmn_crash_fd = fd;
	/* backtrace() loads libgcc_s on first use: not inside the handler */
	backtrace(warm, 2);
	ss.ss_sp = altstack;
	ss.ss_size = sizeof(altstack);
	ss.ss_flags = 0;
	sigaltstack(&ss, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = mmn_crash_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		sigaction(signals[i], &sa, NULL);
}

void mmn_crash_watch_mm(struct mm_struct *mm)
{
	for (int i = 0; i < MMN_CRASH_MMS; i++) {
		struct mm_struct *expected = NULL;

		if (__atomic_compare_exchange_n(&mmn_crash_mms[i], &expected, mm,
						false, __ATOMIC_RELEASE,
						__ATOMIC_RELAXED))
			return;
	}
}

void mmn_crash_forget_mms(void)
{
	for (int i = 0; i < MMN_CRASH_MMS; i++)
		__atomic_store_n(&mmn_crash_mms[i], NULL, __ATOMIC_RELEASE);
}
