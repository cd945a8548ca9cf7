// SPDX-License-Identifier: GPL-2.0-only
/*
 * The other callers of the invalidation pair, reduced from mm/mmap.c and
 * mm/memory.c at v5.11: munmap (unmap_region's blockable start/end, under
 * mmap_lock held for write) and exit_mmap (mmu_notifier_release, then the
 * OOM victim's last reap). Written for this harness from the kernel's
 * behaviour.
 */
#include "mmu_notifier.h"
#include "oom.h"

/* v5.11 unmap_vmas(): one blockable start/end around the whole unmap. */
static void mmn_port_munmap(struct mm_struct *mm, unsigned long start,
			    unsigned long end)
{
	struct mmu_notifier_range range;
	struct vm_area_struct *vma;

	if (!mmap_write_lock(mm))
		return;	/* harness: bounded wait expired, logged as hung */
	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, NULL, mm, start,
				end);
	mmu_notifier_invalidate_range_start(&range);
	for (vma = mm->mmap; vma; vma = vma->vm_next)
		if (vma->vm_start < end && start < vma->vm_end)
			mmn_vma_unmapped(vma);
	mmu_notifier_invalidate_range_end(&range);
	/* harness: this invalidation is over */
	mmn_range_retire(&range);
	mmap_write_unlock(mm);
}

/*
 * v5.11 exit_mmap(): notifiers are released first; an OOM victim is then
 * reaped once more without the retry loop, its result ignored, and the
 * reaper is told to skip this mm from now on.
 */
static void mmn_port_exit_mmap(struct mm_struct *mm)
{
	mmu_notifier_release(mm);

	if (unlikely(test_bit(MMF_OOM_VICTIM, &mm->flags))) {
		(void)__oom_reap_task_mm(mm);
		set_bit(MMF_OOM_SKIP, &mm->flags);
		/* wait out a reaper that still holds mmap_lock for read */
		if (mmap_write_lock(mm))
			mmap_write_unlock(mm);
	}
}
