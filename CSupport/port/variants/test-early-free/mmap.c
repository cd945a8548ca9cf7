// SPDX-License-Identifier: GPL-2.0-only
/*
 * The other callers of the invalidation pair, reduced from mm/mmap.c and
 * mm/memory.c at v5.11: munmap(2) (__vm_munmap with downgrade, then
 * unmap_region's unmap_vmas) and exit_mmap (mmu_notifier_release, the OOM
 * victim's last reap, then the final unmap_vmas of everything). Written
 * for this harness from the kernel's behaviour.
 */
#include "mmu_notifier.h"
#include "oom.h"

/*
 * v5.11 mm/memory.c unmap_vmas(): one blockable start/end around every
 * VMA of [start_addr, end_addr) from vma on.
 */
static void unmap_vmas(struct vm_area_struct *vma, struct mm_struct *mm,
		       unsigned long start_addr, unsigned long end_addr)
{
	struct mmu_notifier_range range;

	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, vma, mm,
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
 * v5.11 munmap(2) is __vm_munmap(start, len, true): mmap_lock for write
 * while __do_munmap detaches the VMAs, then mmap_write_downgrade() and
 * unmap_region() under the read side only, so a reader (the OOM reaper's
 * mmap_read_trylock) can overlap the unmap. (__do_munmap keeps the write
 * side when a neighbour grows into the gap, VM_GROWSDOWN/UP; the harness
 * has no such VMAs.) The harness does not remove the VMAs, so the reaper
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
 * v5.11 exit_mmap(): runs once mmput dropped mm_users to 0. Notifiers are
 * released first; an OOM victim is then reaped once more without the
 * retry loop, its result ignored, and the reaper is told to skip this mm;
 * last, unmap_vmas(&tlb, vma, 0, -1) unmaps everything, with one more
 * start/end that the interval tree still receives (mn_itree_release does
 * not empty it).
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

	if (!mm->mmap)	/* Can happen if dup_mmap() received an OOM */
		return;
	unmap_vmas(mm->mmap, mm, 0, -1UL);
}
