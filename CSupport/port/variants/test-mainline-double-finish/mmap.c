// SPDX-License-Identifier: GPL-2.0-only
/*
 * The other callers of the invalidation pair, reduced from mm/mmap.c,
 * mm/vma.c and mm/memory.c as mainline has them (v6.15): munmap(2)
 * (__vm_munmap -> do_vmi_munmap with unlock, which downgrades before the
 * page tables are cleared) and exit_mmap (mmu_notifier_release, then the
 * final unmap_vmas of everything under mmap_read_lock; the OOM victim's
 * last reap is gone). Written for this harness from the kernel's behaviour.
 */
#include "mmu_notifier.h"
#include "oom.h"

/*
 * mm/memory.c unmap_vmas(): one blockable start/end around every VMA of
 * [start_addr, end_addr) from vma on; the range has no vma.
 */
static void unmap_vmas(struct vm_area_struct *vma, struct mm_struct *mm,
		       unsigned long start_addr, unsigned long end_addr)
{
	struct mmu_notifier_range range;

	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, mm,
				start_addr, end_addr);
	mmu_notifier_invalidate_range_start(&range);
	for (; vma && vma->vm_start < end_addr; vma = vma->vm_next)
		if (start_addr < vma->vm_end)
			mmn_vma_unmapped(vma);
	mmu_notifier_invalidate_range_end(&range);
	/* harness: this invalidation is over */
	mmn_range_retire(&range);
}

/*
 * munmap(2) is __vm_munmap(start, len, true): mmap_lock for write while
 * do_vmi_align_munmap detaches the VMAs, then vms_complete_munmap_vmas()
 * downgrades (mmap_write_downgrade) and clears the page tables under the
 * read side only, as v5.11 did, so the OOM reaper's mmap_read_trylock can
 * overlap the unmap. The harness does not remove the VMAs, so the reaper
 * still walks them.
 */
static void mmn_port_munmap(struct mm_struct *mm, unsigned long start,
			    unsigned long end)
{
	struct vm_area_struct *vma;

	if (!mmap_write_lock(mm))
		return;	/* harness: bounded wait expired, logged as hung */
	for (vma = mm->mmap; vma && vma->vm_end <= start; vma = vma->vm_next)
		;
	mmap_write_downgrade(mm);
	unmap_vmas(vma, mm, start, end);
	mmap_read_unlock(mm);
}

/*
 * exit_mmap(): runs once mmput dropped mm_users to 0. Notifiers are
 * released first; then, since "mm: drop oom code from exit_mmap" (v6.0),
 * there is no last reap of an OOM victim: exit_mmap unmaps everything
 * under mmap_read_lock (so the reaper, also a reader, can run beside it),
 * with one more start/end that the interval tree still receives
 * (mn_itree_release does not empty it), and only then hides the mm from
 * the reaper (MMF_OOM_SKIP) and takes mmap_lock for write to free the
 * page tables.
 */
static void mmn_port_exit_mmap(struct mm_struct *mm)
{
	mmu_notifier_release(mm);

	if (!mmap_read_lock(mm))
		return;	/* harness: bounded wait expired, logged as hung */
	if (!mm->mmap) {	/* Can happen if dup_mmap() received an OOM */
		mmap_read_unlock(mm);
		return;
	}
	unmap_vmas(mm->mmap, mm, 0, -1UL);
	mmap_read_unlock(mm);

	/* the memory is freed: hide this mm from the OOM killer and reaper */
	set_bit(MMF_OOM_SKIP, &mm->flags);
	/* free_pgtables and remove_vma happen under the write side */
	if (mmap_write_lock(mm))
		mmap_write_unlock(mm);
}
