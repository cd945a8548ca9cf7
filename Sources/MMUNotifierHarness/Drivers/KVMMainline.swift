import CSupport
import Synchronization

/// KVM's `struct mmu_notifier` at mainline: `virt/kvm/kvm_main.c` since
/// v6.8 (the guest_memfd series split `kvm_mmu_invalidate_begin` from
/// `kvm_mmu_invalidate_range_add`), checked against v6.12's and v6.18.38's
/// `kvm_main.c`. The v5.11-v5.15 models are `KVM` (Drivers/KVM.swift); this
/// one keeps the v6.1 names (`mmu_invalidate_in_progress`,
/// `mmu_invalidate_seq`) and the v6.8 flow:
///
/// - start: `mn_active_invalidate_count++` under `mn_invalidate_lock`, in
///   every start; then `kvm_handle_hva_range` takes `mmu_lock` only once
///   the range hits a memslot and runs `kvm_mmu_invalidate_begin` as its
///   `on_lock` (`mmu_invalidate_in_progress++`, the range reset to
///   `INVALID_GPA` for the first) and `kvm_mmu_unmap_gfn_range` as its
///   handler (`kvm_mmu_invalidate_range_add`, then the unmap).
/// - end: `kvm_mmu_invalidate_end` as `on_lock` for a range that hits a
///   memslot (`mmu_invalidate_seq++`, `in_progress--`,
///   `KVM_BUG_ON(in_progress < 0)`, `WARN_ON_ONCE(range_start ==
///   INVALID_GPA)`); then `WARN_ON_ONCE(!mn_active_invalidate_count)`,
///   the count's decrement, and the last one out `rcuwait_wake_up`s the
///   memslot updater.
/// - `kvm_swap_active_memslots` (under `slots_lock`, so one waiter): waits
///   unfairly until `mn_active_invalidate_count == 0`, then publishes the
///   new memslots under `mn_invalidate_lock`.
///
/// Guest frame numbers are modelled as host virtual addresses (one memslot
/// per hva range, `base_gfn` equal to its `userspace_addr`). Every wait is
/// bounded and counts in `hungWaits` when it gives up.
public final class KVMMainline: Notifier, ExploreStatefulDriver, @unchecked Sendable {
  public let callbacks: NotifierCallbacks = [.invalidateRangeStart, .invalidateRangeEnd, .release]
  public let symbol = "kvm_mmu_notifier"
  public let mm: MM
  public let name: String

  /// The registered name and the role it plays (`victim`).
  public static let driverName = "kvm-mainline"

  /// `INVALID_GPA` (`include/linux/kvm_types.h`: `~(gpa_t)0`).
  static let invalidGPA = UInt.max

  let mmuLock: KernelSpinlock
  let mnInvalidateLock: KernelSpinlock
  /// `kvm->slots_lock`, a mutex held across the memslot update.
  let slotsLock: KernelRWSemaphore
  /// `kvm->mn_memslots_update_rcuwait`.
  let memslotsUpdateRcuwait: KernelWaitQueue
  /// Where a faulting vCPU waits instead of re-entering the guest in a loop.
  let faultRetryWait: KernelWaitQueue

  // Changed under the kernel's locks; atomics so that the accessors and
  // the wait conditions, which read them outside those locks, are no data
  // races in Swift.
  private let inProgress = Atomic<Int>(0)
  private let invalidateSeq = Atomic<UInt>(0)
  private let rangeStart = Atomic<UInt>(KVMMainline.invalidGPA)
  private let rangeEnd = Atomic<UInt>(KVMMainline.invalidGPA)
  private let activeInvalidates = Atomic<Int>(0)
  private let generation = Atomic<UInt>(0)
  private let bugged = Atomic<Bool>(false)
  private let warnedRange = Atomic<Bool>(false)
  private let warnedActive = Atomic<Bool>(false)
  private let warnedRangeAdd = Atomic<Bool>(false)
  private let hung = Atomic<Int>(0)
  private let memslots: Locked<[Range<UInt>]?>
  private let behaviour: Behaviour

  /// How the driver may misbehave: only the tests' broken counterparts
  /// set anything but `.kernel`.
  public enum Behaviour: Sendable, Equatable {
    /// As the kernel does.
    case kernel
    /// end skips `kvm_mmu_invalidate_end` (a broken counterpart: its end
    /// checks must catch it).
    case skipsInvalidateEnd
    /// end forgets to lower `mn_active_invalidate_count`.
    case skipsActiveCountDrop
  }

  /// `memslots`: the hva ranges of the VM's memslots; a range that hits
  /// none takes no `mmu_lock` and leaves `mmu_invalidate_in_progress`
  /// alone. nil (the default) treats every hva as guest memory.
  public init(
    mm: MM, name: String = "kvm", memslots: [Range<UInt>]? = nil, behaviour: Behaviour = .kernel
  ) {
    self.mm = mm
    self.name = name
    self.memslots = Locked(memslots)
    self.behaviour = behaviour
    mmuLock = KernelSpinlock(mm, name: "&kvm->mmu_lock")
    mnInvalidateLock = KernelSpinlock(mm, name: "&kvm->mn_invalidate_lock")
    slotsLock = KernelRWSemaphore(mm, name: "&kvm->slots_lock", fair: true)
    memslotsUpdateRcuwait = KernelWaitQueue(mm)
    faultRetryWait = KernelWaitQueue(mm)
  }

  // MARK: what a run measures

  /// `kvm->mmu_invalidate_in_progress`: starts (that hit a memslot) not
  /// yet ended. Below 0 after an unpaired end (`KVM_BUG_ON` logged).
  public var mmuInvalidateInProgress: Int { inProgress.load(ordering: .acquiring) }
  /// `kvm->mmu_invalidate_seq`: ends so far.
  public var mmuInvalidateSeq: UInt { invalidateSeq.load(ordering: .acquiring) }
  /// `kvm->mn_active_invalidate_count`: starts not yet ended, memslot or not.
  public var activeInvalidateCount: Int { activeInvalidates.load(ordering: .acquiring) }
  /// Memslot swaps (`kvm_swap_active_memslots`) done so far.
  public var memslotsInstalled: UInt { generation.load(ordering: .acquiring) }
  /// `kvm->vm_bugged`: a `KVM_BUG_ON` fired; the VM is dead.
  public var vmBugged: Bool { bugged.load(ordering: .acquiring) }
  /// Bounded waits (vCPU fault, memslot update) that gave up.
  public var hungWaits: Int { hung.load(ordering: .acquiring) }

  /// nil when the driver is back at rest: no invalidation in progress,
  /// none active, the VM not bugged (explore's `driver_state`).
  public func stateAtRest() -> String? {
    var problems: [String] = []
    if mmuInvalidateInProgress != 0 {
      problems.append("kvm->mmu_invalidate_in_progress = \(mmuInvalidateInProgress)")
    }
    if activeInvalidateCount != 0 {
      problems.append("kvm->mn_active_invalidate_count = \(activeInvalidateCount)")
    }
    if vmBugged { problems.append("kvm->vm_bugged") }
    return problems.isEmpty ? nil : problems.joined(separator: ", ")
  }

  // MARK: callbacks

  public func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
    // "Prevent memslot modification between range_start() and range_end()":
    // raised in every start, blockable or not, before the hva walk.
    mnInvalidateLock.withLock("kvm_mmu_notifier_invalidate_range_start") {
      _ = activeInvalidates.add(1, ordering: .releasing)
    }
    // kvm_handle_hva_range: mmu_lock, on_lock and the handler only for a
    // range that hits a memslot.
    if let gfns = memslotRange(range) {
      mmuLock.withLock("kvm_mmu_notifier_invalidate_range_start") {
        kvmMMUInvalidateBegin()
        kvmMMUInvalidateRangeAdd(start: gfns.lowerBound, end: gfns.upperBound)
      }
    }
    return 0
  }

  public func invalidateRangeEnd(_ range: NotifierRange) {
    if memslotRange(range) != nil, behaviour != .skipsInvalidateEnd {
      mmuLock.withLock("kvm_mmu_notifier_invalidate_range_end") { kvmMMUInvalidateEnd() }
      faultRetryWait.wakeUpAll()
    }
    guard behaviour != .skipsActiveCountDrop else { return }
    // Pairs with the increment in range_start().
    let wake = mnInvalidateLock.withLock("kvm_mmu_notifier_invalidate_range_end") { () -> Bool in
      if activeInvalidates.load(ordering: .acquiring) == 0 {
        warnOnce(
          warnedActive, "!kvm->mn_active_invalidate_count",
          function: "kvm_mmu_notifier_invalidate_range_end")
      } else {
        activeInvalidates.subtract(1, ordering: .releasing)
      }
      return activeInvalidates.load(ordering: .acquiring) == 0
    }
    // "There can only be one waiter, since the wait happens under slots_lock."
    if wake { memslotsUpdateRcuwait.wakeUpAll() }
  }

  /// `kvm_mmu_notifier_release` flushes the shadow pages; the counts are
  /// untouched.
  public func release() {}

  // MARK: the on_lock and handler helpers (mmu_lock held)

  /// `kvm_mmu_invalidate_begin`
  private func kvmMMUInvalidateBegin() {
    if inProgress.add(1, ordering: .releasing).newValue == 1 {
      rangeStart.store(Self.invalidGPA, ordering: .relaxed)
      rangeEnd.store(Self.invalidGPA, ordering: .relaxed)
    }
  }

  /// `kvm_mmu_invalidate_range_add`
  private func kvmMMUInvalidateRangeAdd(start: UInt, end: UInt) {
    if inProgress.load(ordering: .acquiring) == 0 {
      warnOnce(
        warnedRangeAdd, "!kvm->mmu_invalidate_in_progress",
        function: "kvm_mmu_invalidate_range_add")
    }
    if rangeStart.load(ordering: .relaxed) == Self.invalidGPA {
      rangeStart.store(start, ordering: .relaxed)
      rangeEnd.store(end, ordering: .relaxed)
    } else {
      // the minimal range covering every concurrent invalidation
      rangeStart.store(min(rangeStart.load(ordering: .relaxed), start), ordering: .relaxed)
      rangeEnd.store(max(rangeEnd.load(ordering: .relaxed), end), ordering: .relaxed)
    }
  }

  /// `kvm_mmu_invalidate_end`
  private func kvmMMUInvalidateEnd() {
    invalidateSeq.add(1, ordering: .releasing)  // then smp_wmb()
    let n = inProgress.subtract(1, ordering: .releasing).newValue
    if n < 0 {
      // KVM_BUG_ON: a WARN_ON_ONCE, then kvm_vm_bugged() kills the VM.
      if !bugged.exchange(true, ordering: .acquiringAndReleasing) {
        mm.warn(
          "KVM_BUG_ON(kvm->mmu_invalidate_in_progress < 0, kvm)", file: "virt/kvm/kvm_main.c",
          function: "kvm_mmu_invalidate_end", line: 0)
      }
    }
    if rangeStart.load(ordering: .relaxed) == Self.invalidGPA {
      warnOnce(
        warnedRange, "kvm->mmu_invalidate_range_start == INVALID_GPA",
        function: "kvm_mmu_invalidate_end")
    }
  }

  private func warnOnce(_ flag: borrowing Atomic<Bool>, _ condition: String, function: String) {
    guard !flag.exchange(true, ordering: .acquiringAndReleasing) else { return }
    // Line 0: the harness names the function, not a line of one release.
    mm.warn(condition, file: "virt/kvm/kvm_main.c", function: function, line: 0)
  }

  /// The gfns `kvm_handle_hva_range` hands the handler: the range clipped
  /// to the memslots it hits (their union), nil when it hits none.
  private func memslotRange(_ range: NotifierRange) -> Range<UInt>? {
    memslots.withLock { slots -> Range<UInt>? in
      guard let slots else { return range.start..<range.end }
      let hits = slots.compactMap { slot -> Range<UInt>? in
        let lo = max(range.start, slot.lowerBound)
        let hi = min(range.end, slot.upperBound)
        return lo < hi ? lo..<hi : nil
      }
      guard let first = hits.first else { return nil }
      return hits.dropFirst().reduce(first) {
        min($0.lowerBound, $1.lowerBound)..<max($0.upperBound, $1.upperBound)
      }
    }
  }

  // MARK: the vCPU and the memslot ioctl

  /// A guest page fault on `gfn`: read `mmu_invalidate_seq`, resolve the
  /// pfn, then under `mmu_lock` retry while `mmu_invalidate_retry_gfn`
  /// says an invalidation covers it (or the seq moved). The kernel
  /// re-enters the guest; the harness sleeps until an end, bounded.
  /// false: the fault never got through (hung), or the VM is bugged.
  public func vcpuFault(gfn: UInt) -> Bool {
    while true {
      if vmBugged { return false }  // KVM_REQ_VM_DEAD: the vCPU exits
      let mmuSeq = invalidateSeq.load(ordering: .acquiring)
      let retry = mmuLock.withLock("kvm_mmu_page_fault") {
        invalidationCovers(gfn) || invalidateSeq.load(ordering: .acquiring) != mmuSeq
      }
      if !retry { return true }
      let ok = faultRetryWait.wait(
        for: "mmu_invalidate_retry_gfn(kvm, mmu_seq, gfn) in kvm_mmu_page_fault (vCPU re-faulting)"
      ) { [self] in !invalidationCovers(gfn) || vmBugged }
      if !ok {
        hung.add(1, ordering: .relaxed)
        return false
      }
    }
  }

  /// `mmu_invalidate_retry_gfn` without the seq: an invalidation is in
  /// progress and `gfn` is in its range, or its range is not set yet
  /// ("a KVM bug", so the fault retries).
  private func invalidationCovers(_ gfn: UInt) -> Bool {
    guard inProgress.load(ordering: .acquiring) != 0 else { return false }
    let start = rangeStart.load(ordering: .relaxed)
    if start == Self.invalidGPA { return true }
    return gfn >= start && gfn < rangeEnd.load(ordering: .relaxed)
  }

  /// `kvm_set_memslot` (under `kvm->slots_lock`) down to
  /// `kvm_swap_active_memslots`: under `mn_invalidate_lock`,
  /// `prepare_to_rcuwait`; while `mn_active_invalidate_count` is non-zero
  /// drop the lock, `schedule()`, retake it; `finish_rcuwait`;
  /// `rcu_assign_pointer` of the new memslots still under the lock. false:
  /// the wait gave up (hung) and nothing was installed.
  public func setMemslot(_ newMemslots: [Range<UInt>]? = nil) -> Bool {
    guard slotsLock.downWrite("kvm_set_memslot") else {
      hung.add(1, ordering: .relaxed)
      return false
    }
    defer { slotsLock.upWrite("kvm_set_memslot") }
    mnInvalidateLock.lock("kvm_swap_active_memslots")
    while activeInvalidates.load(ordering: .acquiring) != 0 {
      // set_current_state(TASK_UNINTERRUPTIBLE); a spinlock is never held
      // across the sleep
      mnInvalidateLock.unlock("kvm_swap_active_memslots")
      let drained = memslotsUpdateRcuwait.wait(
        for: "rcuwait: kvm->mn_active_invalidate_count == 0 in kvm_swap_active_memslots"
      ) { [self] in activeInvalidates.load(ordering: .acquiring) == 0 }
      if !drained {
        hung.add(1, ordering: .relaxed)
        return false
      }
      mnInvalidateLock.lock("kvm_swap_active_memslots")
    }
    if let newMemslots { memslots.withLock { $0 = newMemslots } }
    generation.add(1, ordering: .releasing)
    mnInvalidateLock.unlock("kvm_swap_active_memslots")
    return true
  }
}
