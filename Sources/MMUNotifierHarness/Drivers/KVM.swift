import CSupport
import Synchronization

/// The KVM versions the harness models, on the memslot-blocking axis.
public enum KVMVersion: String, CaseIterable, Sendable {
  /// v5.11 `virt/kvm/kvm_main.c`: count under `mmu_lock`, no memslot blocking.
  case v5_11 = "kvm-v5.11"
  /// v5.14: `__kvm_handle_hva_range` with `kvm_inc/dec_notifier_count` as
  /// `on_lock` (the lock still taken unconditionally), the invalidated range
  /// tracked for `mmu_notifier_retry_hva` (since v5.12); no memslot blocking.
  case v5_14 = "kvm-v5.14"
  /// Sean Christopherson's "[PATCH v2 09/10] KVM: Don't take mmu_lock for
  /// range invalidation unless necessary" (2021-04-02): a blockable start
  /// takes `kvm->mmu_notifier_slots_lock` for read, end releases it,
  /// `install_new_memslots` takes it for write. Lockdep flagged it.
  case rwsem = "kvm-rwsem"
  /// v5.15, 52ac8b358b "KVM: Block memslot updates across range_start() and
  /// range_end()": a readers count under `mn_invalidate_lock`, raised in
  /// every start, and an unfair rcuwait in `install_new_memslots`;
  /// `__kvm_handle_hva_range` takes `mmu_lock` and runs `on_lock` (the
  /// `mmu_notifier_count` change) only for a range that hits a memslot.
  case v5_15 = "kvm-v5.15"

  /// One line for listings.
  public var summary: String {
    switch self {
    case .v5_11: "mmu_notifier_count under mmu_lock; no memslot blocking"
    case .v5_14:
      "v5.11 pairing plus the invalidated range (mmu_notifier_retry_hva); no memslot blocking"
    case .rwsem:
      "memslot updates blocked by a fair rwsem held from start to end (v2 09/10, April 2021)"
    case .v5_15: "memslot updates wait for mn_active_invalidate_count == 0 (52ac8b358b); unfair"
    }
  }

  /// The version blocks memslot updates between start and end.
  public var blocksMemslotUpdates: Bool { self == .rwsem || self == .v5_15 }
}

/// KVM's `struct mmu_notifier` and the parts of `struct kvm` the notifier
/// touches: `mmu_notifier_count`/`_seq` under `mmu_lock`, and per version the
/// memslot blocking (`mmu_notifier_slots_lock` or `mn_active_invalidate_count`).
///
/// Every lock is one the mm's validator sees; every wait is bounded and
/// counts in `hungWaits` when it gives up.
public final class KVM: Notifier, @unchecked Sendable {
  public let callbacks: NotifierCallbacks = [.invalidateRangeStart, .invalidateRangeEnd, .release]
  public let symbol = "kvm_mmu_notifier"
  public let mm: MM
  public let version: KVMVersion
  public let name: String

  // Lock class names follow the kernel's init expressions, so two KVMs in
  // one mm share a class, as two VMs share one in the kernel.
  let mmuLock: KernelSpinlock
  /// `kvm->slots_lock`, a mutex held across the memslot update (it may sleep
  /// there, so it is modelled as the write side of a bounded semaphore).
  let slotsLock: KernelRWSemaphore
  /// kvm-rwsem only.
  let mmuNotifierSlotsLock: KernelRWSemaphore?
  /// kvm-v5.15 only.
  let mnInvalidateLock: KernelSpinlock?
  /// kvm-v5.15 with the validator on: Paolo's open-coded wait annotated as
  /// lockdep would see an unfair rwsem, invalidations as shared recursive
  /// readers (the kernel has no such annotation; 52ac8b358b's message
  /// argues it in these terms).
  let activeInvalidateMap: LockdepMap?
  /// Invalidations each thread has open on the map. A thread's first takes
  /// it and its last releases it: a nested recursive read of one class adds
  /// no dependency, and a start that never gets its end (the OOM reaper
  /// after a failure, an unregister in between) leaves one held entry on
  /// that thread instead of one per start.
  private let mapHolds = Locked<[Int32: Int]>([:])
  /// `kvm->mn_memslots_update_rcuwait` (kvm-v5.15).
  let memslotsUpdateWait: KernelWaitQueue
  /// Where a faulting vCPU waits instead of re-entering the guest in a loop.
  let faultRetryWait: KernelWaitQueue

  // Modified under the kernel's locks; atomics only so that readers outside
  // them (the accessors, wait conditions) are not data races in Swift.
  private let notifierCount = Atomic<Int>(0)
  private let notifierSeq = Atomic<UInt>(0)
  private let rangeStart = Atomic<UInt>(0)
  private let rangeEnd = Atomic<UInt>(0)
  private let activeInvalidates = Atomic<Int>(0)
  private let memslotsGeneration = Atomic<UInt>(0)
  private let hung = Atomic<Int>(0)
  /// kvm-rwsem: the invalidations (by range id) that hold the read side, so
  /// an end never releases what a timed-out start did not get.
  private let readHolders = Locked<Set<UInt64>>([])
  private let hooks = Locked<Hooks>(Hooks())
  /// kvm-v5.15: the memslots' hva ranges (`userspace_addr` to
  /// `userspace_addr + npages << PAGE_SHIFT`); nil: every hva is guest
  /// memory, the worst case. Changed only by `installNewMemslots`, after
  /// the invalidations drained, as 52ac8b358b guarantees.
  private let memslots: Locked<[Range<UInt>]?>

  struct Hooks {
    var enteredEnd: (@Sendable () -> Void)?
  }

  /// `memslots` (kvm-v5.15 only): the hva ranges of the VM's memslots; a
  /// range that hits none leaves `mmu_notifier_count` alone. nil (the
  /// default) treats every hva as guest memory.
  public init(mm: MM, version: KVMVersion, name: String = "kvm", memslots: [Range<UInt>]? = nil) {
    self.mm = mm
    self.version = version
    self.name = name
    self.memslots = Locked(memslots)
    mmuLock = KernelSpinlock(mm, name: "&kvm->mmu_lock")
    slotsLock = KernelRWSemaphore(mm, name: "&kvm->slots_lock", fair: true)
    mmuNotifierSlotsLock =
      version == .rwsem
      ? KernelRWSemaphore(mm, name: "&kvm->mmu_notifier_slots_lock", fair: true) : nil
    mnInvalidateLock =
      version == .v5_15 ? KernelSpinlock(mm, name: "&kvm->mn_invalidate_lock") : nil
    activeInvalidateMap =
      version == .v5_15 && mm.configuration.lockdep
      ? LockdepMap(mm, name: "mn_active_invalidate_count") : nil
    memslotsUpdateWait = KernelWaitQueue(mm)
    faultRetryWait = KernelWaitQueue(mm)
  }

  // MARK: what a run measures

  /// `kvm->mmu_notifier_count`: starts not yet ended. Below 0 after an
  /// unpaired end (BUG_ON logged).
  public var mmuNotifierCount: Int { notifierCount.load(ordering: .acquiring) }
  /// `kvm->mmu_notifier_seq`: ends so far.
  public var mmuNotifierSeq: UInt { notifierSeq.load(ordering: .acquiring) }
  /// `kvm->mn_active_invalidate_count` (kvm-v5.15); 0 for the others.
  public var activeInvalidateCount: Int { activeInvalidates.load(ordering: .acquiring) }
  /// Memslot updates installed so far.
  public var memslotsInstalled: UInt { memslotsGeneration.load(ordering: .acquiring) }
  /// Bounded waits (vCPU fault, memslot update, the rwsem) that gave up.
  public var hungWaits: Int { hung.load(ordering: .acquiring) }

  // MARK: callbacks

  public func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
    switch version {
    case .v5_11:
      // v5.11 kvm_mmu_notifier_invalidate_range_start: mmu_notifier_count++
      // under mmu_lock, unmap and flush; never fails.
      mmuLock.withLock("kvm_mmu_notifier_invalidate_range_start") {
        _ = notifierCount.add(1, ordering: .releasing)
      }
    case .v5_14:
      // v5.14: __kvm_handle_hva_range takes mmu_lock and runs
      // kvm_inc_notifier_count as on_lock.
      incNotifierCount(range, site: "kvm_mmu_notifier_invalidate_range_start")
    case .rwsem:
      // v2 09/10: a blockable start takes the read side before the hva walk
      // (pairs with up_read in end); a non-blockable one skips the
      // semaphore and always takes mmu_lock ("the VM is likely doomed").
      if range.isBlockable, let sem = mmuNotifierSlotsLock {
        if sem.downRead("kvm_mmu_notifier_invalidate_range_start") {
          _ = readHolders.withLock { $0.insert(range.id) }
        } else {
          hung.add(1, ordering: .relaxed)
        }
      }
      incNotifierCount(range, site: "kvm_mmu_notifier_invalidate_range_start")
    case .v5_15:
      // 52ac8b358b: mn_active_invalidate_count++ under mn_invalidate_lock in
      // every start, blockable or not, before the hva walk.
      mnInvalidateLock?.withLock("kvm_mmu_notifier_invalidate_range_start") {
        _ = activeInvalidates.add(1, ordering: .releasing)
      }
      if let map = activeInvalidateMap, enterMap() {
        map.acquire(.sharedRecursive, "kvm_mmu_notifier_invalidate_range_start")
      }
      // __kvm_handle_hva_range: mmu_lock and kvm_inc_notifier_count only
      // once the range hits a memslot
      if hitsMemslot(range) {
        incNotifierCount(range, site: "kvm_mmu_notifier_invalidate_range_start")
      }
    }
    return 0
  }

  public func invalidateRangeEnd(_ range: NotifierRange) {
    hooks.withLock { $0.enteredEnd }?()
    // Every version: kvm_dec_notifier_count (v5.11 inline) under mmu_lock:
    // mmu_notifier_seq++, smp_wmb, mmu_notifier_count--. v5.15 runs it only
    // for a range that hits a memslot, as its start did.
    let count: Int
    if version != .v5_15 || hitsMemslot(range) {
      count = mmuLock.withLock("kvm_mmu_notifier_invalidate_range_end") { () -> Int in
        notifierSeq.add(1, ordering: .releasing)
        return notifierCount.subtract(1, ordering: .releasing).newValue
      }
      faultRetryWait.wakeUpAll()
    } else {
      count = notifierCount.load(ordering: .acquiring)
    }

    switch version {
    case .v5_11, .v5_14:
      break
    case .rwsem:
      // Pairs with the down_read in start.
      if readHolders.withLock({ $0.remove(range.id) }) != nil {
        mmuNotifierSlotsLock?.upRead("kvm_mmu_notifier_invalidate_range_end")
      }
    case .v5_15:
      // 52ac8b358b: drop the readers count; the last one out wakes the
      // (single, slots_lock-serialised) memslot updater.
      let wake =
        mnInvalidateLock?.withLock("kvm_mmu_notifier_invalidate_range_end") {
          activeInvalidates.subtract(1, ordering: .releasing).newValue == 0
        } ?? false
      if let map = activeInvalidateMap, leaveMap() {
        map.release("kvm_mmu_notifier_invalidate_range_end")
      }
      if wake { memslotsUpdateWait.wakeUpAll() }
    }

    if count < 0 {
      // Line 0: the harness names the function, not a line of one release.
      mm.bug(
        "kvm->mmu_notifier_count < 0", file: "virt/kvm/kvm_main.c",
        function: "kvm_mmu_notifier_invalidate_range_end", line: 0)
    }
  }

  /// `kvm_mmu_notifier_release` flushes the shadow pages; the counts are
  /// untouched (v5.15's `kvm_destroy_vm` zeroes the active count later).
  public func release() {}

  // MARK: the vCPU and the memslot ioctl

  /// A guest page fault on `hva`: read `mmu_notifier_seq`, resolve the pfn,
  /// then under `mmu_lock` retry while `mmu_notifier_retry` (v5.11) or
  /// `mmu_notifier_retry_hva` (v5.12+) says an invalidation is in progress.
  /// The kernel re-enters the guest and faults again; the harness sleeps
  /// until an end, bounded. false: the fault never got through (hung).
  public func vcpuFault(hva: UInt) -> Bool {
    while true {
      let mmuSeq = notifierSeq.load(ordering: .acquiring)  // then smp_rmb()
      let retry = mmuLock.withLock("kvm_mmu_page_fault") { mustRetry(mmuSeq: mmuSeq, hva: hva) }
      if !retry { return true }
      let ok = faultRetryWait.wait(
        for: "mmu_notifier_retry(kvm, mmu_seq) in kvm_mmu_page_fault (vCPU re-faulting)"
      ) { [self] in !invalidationCovers(hva) }
      if !ok {
        hung.add(1, ordering: .relaxed)
        return false
      }
    }
  }

  /// `install_new_memslots`, under `kvm->slots_lock` as its callers hold it.
  /// kvm-rwsem takes the write side of `mmu_notifier_slots_lock`; kvm-v5.15
  /// waits (unfairly) for `mn_active_invalidate_count` to reach 0. false:
  /// the wait gave up (hung) and nothing was installed.
  /// `memslots` (kvm-v5.15): the new set of memslot hva ranges, installed
  /// once the invalidations drained.
  public func installNewMemslots(_ newMemslots: [Range<UInt>]? = nil) -> Bool {
    guard slotsLock.downWrite("kvm_set_memslot") else {
      hung.add(1, ordering: .relaxed)
      return false
    }
    defer { slotsLock.upWrite("kvm_set_memslot") }

    switch version {
    case .v5_11, .v5_14:
      memslotsGeneration.add(1, ordering: .releasing)  // rcu_assign_pointer
      return true
    case .rwsem:
      guard let sem = mmuNotifierSlotsLock, sem.downWrite("install_new_memslots") else {
        hung.add(1, ordering: .relaxed)
        return false
      }
      memslotsGeneration.add(1, ordering: .releasing)
      sem.upWrite("install_new_memslots")
      return true
    case .v5_15:
      return installAfterInvalidationsDrain(newMemslots)
    }
  }

  /// 52ac8b358b (checked against v5.15.85): under `mn_invalidate_lock`,
  /// `prepare_to_rcuwait`; while the count is non-zero drop the lock,
  /// `schedule()`, retake it; `finish_rcuwait`; `rcu_assign_pointer` of the
  /// new memslots still under the lock. A start may raise the count again
  /// between the wake-up and the retake: the writer can starve.
  private func installAfterInvalidationsDrain(_ newMemslots: [Range<UInt>]?) -> Bool {
    guard let lock = mnInvalidateLock else { return false }
    // The exclusive side of the map: lockdep checks that no invalidation can
    // be waited for while this task holds something an invalidation needs.
    activeInvalidateMap?.acquire(.exclusive, "install_new_memslots")
    defer { activeInvalidateMap?.release("install_new_memslots") }
    lock.lock("install_new_memslots")
    while activeInvalidates.load(ordering: .acquiring) != 0 {
      // A spinlock is never held across the sleep.
      lock.unlock("install_new_memslots")
      let drained = memslotsUpdateWait.wait(
        for: "rcuwait: kvm->mn_active_invalidate_count == 0 in install_new_memslots"
      ) { [self] in activeInvalidates.load(ordering: .acquiring) == 0 }
      if !drained {
        hung.add(1, ordering: .relaxed)
        return false
      }
      lock.lock("install_new_memslots")
    }
    if let newMemslots { memslots.withLock { $0 = newMemslots } }
    memslotsGeneration.add(1, ordering: .releasing)
    lock.unlock("install_new_memslots")
    return true
  }

  /// `__kvm_handle_hva_range`'s walk: some memslot's hva range overlaps
  /// `[range.start, range.end)`.
  private func hitsMemslot(_ range: NotifierRange) -> Bool {
    memslots.withLock { slots in
      guard let slots else { return true }
      return slots.contains { max(range.start, $0.lowerBound) < min(range.end, $0.upperBound) }
    }
  }

  // MARK: helpers

  /// True for this thread's first open invalidation.
  private func enterMap() -> Bool {
    let me = mmn_task_pid()
    return mapHolds.withLock { holds in
      holds[me, default: 0] += 1
      return holds[me] == 1
    }
  }

  /// True for this thread's last open invalidation.
  private func leaveMap() -> Bool {
    let me = mmn_task_pid()
    return mapHolds.withLock { holds in
      guard let n = holds[me] else { return false }
      holds[me] = n > 1 ? n - 1 : nil
      return n == 1
    }
  }

  /// v5.12+ `kvm_inc_notifier_count`, run as `on_lock` under `mmu_lock`: the
  /// first concurrent invalidation sets the range, later ones widen it.
  private func incNotifierCount(_ range: NotifierRange, site: StaticString) {
    mmuLock.withLock(site) {
      let n = notifierCount.add(1, ordering: .releasing).newValue
      if n == 1 {
        rangeStart.store(range.start, ordering: .relaxed)
        rangeEnd.store(range.end, ordering: .relaxed)
      } else {
        rangeStart.store(
          min(rangeStart.load(ordering: .relaxed), range.start), ordering: .relaxed)
        rangeEnd.store(max(rangeEnd.load(ordering: .relaxed), range.end), ordering: .relaxed)
      }
    }
  }

  /// `mmu_notifier_retry` (v5.11) / `mmu_notifier_retry_hva` (v5.12+).
  private func mustRetry(mmuSeq: UInt, hva: UInt) -> Bool {
    if invalidationCovers(hva) { return true }
    return notifierSeq.load(ordering: .acquiring) != mmuSeq
  }

  private func invalidationCovers(_ hva: UInt) -> Bool {
    guard notifierCount.load(ordering: .acquiring) != 0 else { return false }
    if version == .v5_11 { return true }
    return hva >= rangeStart.load(ordering: .relaxed) && hva < rangeEnd.load(ordering: .relaxed)
  }

  // MARK: hooks for forced interleavings (same module only)

  /// A memslot update is queued: a waiting writer on the rwsem, or a
  /// sleeper on v5.15's rcuwait.
  var memslotUpdateIsWaiting: Bool {
    switch version {
    case .rwsem: (mmuNotifierSlotsLock?.waitingWriters ?? 0) > 0
    case .v5_15: memslotsUpdateWait.sleepers > 0
    case .v5_11, .v5_14: false
    }
  }

  /// A start is queued for the rwsem's read side (kvm-rwsem only).
  var invalidationIsWaiting: Bool { (mmuNotifierSlotsLock?.waitingReaders ?? 0) > 0 }

  func onEnteredEnd(_ hook: (@Sendable () -> Void)?) {
    hooks.withLock { $0.enteredEnd = hook }
  }
}

extension KVM {
  /// A KVM registered on a fresh mm, where registering cannot fail: the
  /// start of every memslot study.
  static func registered(on mm: MM, version: KVMVersion) -> (KVM, Subscription) {
    let kvm = KVM(mm: mm, version: version)
    do {
      return (kvm, try mm.register(kvm))
    } catch {
      preconditionFailure("registering KVM on a fresh mm failed: \(error)")
    }
  }
}
