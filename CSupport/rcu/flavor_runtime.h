/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * flavor_runtime.h - the slow-path operations of one flavour, as a table,
 * for code that is not compiled per flavour (registration, tests, the
 * writers' synchronize/call/barrier). The read side in the port never
 * goes through this table.
 */
#define MMN_OPS_NAME MMN_PASTE3(mmn_rcu_, MMN_FLAVOR, _ops)

static void mmn_flavor_register_thread(void)
{
#if MMN_FLAVOR_ID != 3 /* bp */
	MMN_URCU(register_thread)();
#else
	/* bp registers itself on first use and cleans up at thread exit. */
	urcu_bp_register_thread();
#endif
}

static void mmn_flavor_unregister_thread(void)
{
#if MMN_FLAVOR_ID != 3 /* bp */
	MMN_URCU(unregister_thread)();
#endif
}

static void mmn_flavor_read_lock(void)
{
	MMN_URCU(read_lock)();
}

static void mmn_flavor_read_unlock(void)
{
	MMN_URCU(read_unlock)();
}

static void mmn_flavor_synchronize(void)
{
	MMN_URCU(synchronize_rcu)();
}

static void mmn_flavor_call(struct rcu_head *head,
			    void (*func)(struct rcu_head *))
{
	MMN_URCU(call_rcu)(head, func);
}

static void mmn_flavor_barrier(void)
{
	MMN_URCU(barrier)();
}

static void mmn_flavor_thread_online(void)
{
#if MMN_FLAVOR_ID == 2 /* qsbr */
	urcu_qsbr_thread_online();
#endif
}

static void mmn_flavor_thread_offline(void)
{
#if MMN_FLAVOR_ID == 2 /* qsbr */
	urcu_qsbr_thread_offline();
#endif
}

static void mmn_flavor_quiescent_state(void)
{
#if MMN_FLAVOR_ID == 2 /* qsbr */
	urcu_qsbr_quiescent_state();
#endif
}

const struct mmn_rcu_flavor_ops MMN_OPS_NAME = {
	.name = MMN_STRINGIFY(MMN_FLAVOR),
	.register_thread = mmn_flavor_register_thread,
	.unregister_thread = mmn_flavor_unregister_thread,
	.read_lock = mmn_flavor_read_lock,
	.read_unlock = mmn_flavor_read_unlock,
	.synchronize = mmn_flavor_synchronize,
	.call = mmn_flavor_call,
	.barrier = mmn_flavor_barrier,
	.thread_online = mmn_flavor_thread_online,
	.thread_offline = mmn_flavor_thread_offline,
	.quiescent_state = mmn_flavor_quiescent_state,
};

#if MMN_FLAVOR_ID == 0 /* memb */
int mmn_sys_membarrier_works(void)
{
	/* urcu_memb_init() probes membarrier(2); the result is this flag. */
	urcu_memb_init();
	return urcu_memb_has_sys_membarrier;
}
#endif
