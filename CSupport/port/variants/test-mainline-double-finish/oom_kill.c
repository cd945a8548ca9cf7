// SPDX-License-Identifier: GPL-2.0-only
/*
 * Port of the OOM reaper from mm/oom_kill.c as mainline has it (v6.15):
 * __oom_reap_task_mm, oom_reap_task_mm and oom_reap_task, written for this
 * harness from the kernel's behaviour with the kernel's names. The task is
 * the mm's owner (pid and comm); the reaper thread is whoever calls
 * mmn_oom_reap_task. __oom_reap_task_mm is still the only caller of the
 * non-blocking start; its other caller, process_mrelease(2) (v5.15, one
 * attempt under mmap_read_lock), is not modelled.
 */
#include "mmu_notifier.h"
#include "oom.h"

#define MAX_OOM_REAP_RETRIES 10

/* harness: the "unmap" records that this VMA's pages went away */
static void unmap_page_range(struct mmu_gather *tlb, struct vm_area_struct *vma,
			     unsigned long addr, unsigned long end, void *details)
{
	(void)tlb;
	(void)addr;
	(void)end;
	(void)details;
	mmn_vma_unmapped(vma);
}

static bool vma_is_anonymous(struct vm_area_struct *vma)
{
	return !vma->vm_file;
}

/*
 * unmap what can be unmapped without blocking. A VMA whose
 * non-blocking start fails is skipped entirely: no unmap and no end
 * (ret = false asks the caller to try again later). Since mlocked
 * VMAs are reaped too (only hugetlb and PFN maps are skipped, "mm: drop
 * oom code from exit_mmap", v6.0), and the event is MMU_NOTIFY_CLEAR.
 * (harness: the VMAs are walked low to high; the 2025 tree walks the maple
 * tree from the top, mas_for_each_rev, which only changes the order.)
 */
static bool __oom_reap_task_mm(struct mm_struct *mm)
{
	struct vm_area_struct *vma;
	bool ret = true;

	/* readers of this mm's memory must no longer trust it */
	set_bit(MMF_UNSTABLE, &mm->flags);

	for (vma = mm->mmap; vma; vma = vma->vm_next) {
		if (vma->vm_flags & (VM_HUGETLB | VM_PFNMAP))
			continue;

		/* only anonymous or private memory is worth reaping here */
		if (vma_is_anonymous(vma) || !(vma->vm_flags & VM_SHARED)) {
			struct mmu_notifier_range range;
			struct mmu_gather tlb;

			mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0,
						mm, vma->vm_start,
						vma->vm_end);
			tlb_gather_mmu(&tlb, mm, range.start, range.end);
			if (mmu_notifier_invalidate_range_start_nonblock(&range)) {
				tlb_finish_mmu(&tlb, range.start, range.end);
				ret = false;
				/* harness: this invalidation is over */
				mmn_range_retire(&range);
				continue;
			}
			unmap_page_range(&tlb, vma, range.start, range.end, NULL);
			mmu_notifier_invalidate_range_end(&range);
			tlb_finish_mmu(&tlb, range.start, range.end);
			/* harness: this invalidation is over */
			mmn_range_retire(&range);
		}
	}

	return ret;
}

/* one attempt, under a trylock of mmap_lock for read. */
static bool oom_reap_task_mm(struct mm_struct *mm)
{
	bool ret = true;

	if (!mmap_read_trylock(mm))
		return false;

	/* exit_mmap got here first: nothing left to reap */
	if (test_bit(MMF_OOM_SKIP, &mm->flags))
		goto out_unlock;

	ret = __oom_reap_task_mm(mm);
	if (!ret)
		goto out_unlock;

	pr_info("oom_reaper: reaped process %d (%s), now anon-rss:%lukB, file-rss:%lukB, shmem-rss:%lukB\n",
		mm->owner_pid, mm->owner_comm,
		K(get_mm_counter(mm, MM_ANONPAGES)),
		K(get_mm_counter(mm, MM_FILEPAGES)),
		K(get_mm_counter(mm, MM_SHMEMPAGES)));
out_unlock:
	mmap_read_unlock(mm);

	return ret;
}

/*
 * retry up to MAX_OOM_REAP_RETRIES times (sleeping HZ/10 between
 * tries in the kernel; the harness does not sleep). Every retry starts
 * every eligible VMA again, so a notifier that fails once per try is
 * failed once per VMA per try. The mm is hidden from the OOM killer
 * afterwards either way.
 */
static void oom_reap_task(struct mm_struct *mm, struct mmn_oom_result *out)
{
	int attempts = 0;
	bool reaped = false;

	while (attempts++ < MAX_OOM_REAP_RETRIES) {
		if (oom_reap_task_mm(mm)) {
			reaped = true;
			break;
		}
		schedule_timeout_idle(HZ / 10);
	}

	if (attempts <= MAX_OOM_REAP_RETRIES ||
	    test_bit(MMF_OOM_SKIP, &mm->flags))
		goto done;

	pr_info("oom_reaper: unable to reap pid:%d (%s)\n", mm->owner_pid,
		mm->owner_comm);

done:
	set_bit(MMF_OOM_SKIP, &mm->flags);
	out->reaped = reaped;
	out->attempts = attempts > MAX_OOM_REAP_RETRIES ? MAX_OOM_REAP_RETRIES :
							  attempts;
}
