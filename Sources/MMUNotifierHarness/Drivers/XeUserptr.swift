import Synchronization

/// An interval driver that can say, after a run, whether it is back at rest
/// (nil) or what is wrong: explore's `driver_state` check and the
/// scenarios' end-state metrics read it.
public protocol StatefulIntervalNotifier: IntervalNotifier {
  func stateAtRest() -> String?
}

/// The xe driver's userptr interval notifier in its two-pass form
/// (`drivers/gpu/drm/xe/xe_userptr.c`, checked against torvalds/linux
/// 18c4e536959e and the v4 posting, "[PATCH v4 2/4] drm/xe/userptr: Convert
/// invalidation to two-pass MMU notifier",
/// <20260305093909.43623-3-thomas.hellstrom@linux.intel.com>; the core
/// side is <20260303133409.11609-2-thomas.hellstrom@linux.intel.com>, v7.1):
///
/// - `xe_vma_userptr_invalidate_start`: refuses a non-blockable range
///   (`return false`); else `down_write(&vm->svm.gpusvm.notifier_lock)`,
///   `mmu_interval_set_seq`, then the first pass: the VMA goes on
///   `vm->userptr.invalidated` (repin needed, under `invalidated_lock`),
///   software signalling is enabled on every fence of the VM's
///   reservation object. If all of them are already signalled, or the one
///   embedded `struct mmu_interval_notifier_finish` is in use
///   (`finish_inuse`), the whole invalidation is done synchronously
///   (`xe_vma_userptr_do_inval(.., false)`) and `*p_finish` stays NULL;
///   else `finish_inuse = true` and the embedded finish is handed back.
/// - `xe_vma_userptr_invalidate_finish`: under the notifier lock,
///   `xe_vma_userptr_do_inval(.., true)`: wait for the fences, clear
///   `finish_inuse`, unmap the pages.
///
/// `refusesNonBlockable: false` is a counterfactual of this harness: the
/// same two passes allowed in a non-blockable range (a two-pass notifier
/// whose first pass does not sleep, as the core's kerneldoc allows with a
/// GFP_NOWAIT finish), so that the OOM reaper's path through the two-pass
/// core can be exercised; its notifier lock is then a spinlock. No
/// released driver does this.
///
/// Its end state: no finish in use, every deferred start finished once,
/// no finish without a deferred start (`stateAtRest`).
public final class XeUserptr: TwoPassIntervalNotifier, StatefulIntervalNotifier,
  @unchecked Sendable
{
  public let symbol = "xe_vma_userptr"
  public let mm: MM
  public let name: String
  public let refusesNonBlockable: Bool

  /// The registered names.
  public static let driverName = "xe-userptr"
  public static let nowaitDriverName = "xe-userptr-nowait"

  /// How the driver may misbehave: only the tests' broken counterparts
  /// set anything but `.kernel`.
  public enum Behaviour: Sendable, Equatable {
    case kernel
    /// Defers even when the finish is in use (one embedded finish handed
    /// out twice: the second finish finds it already cleared).
    case ignoresFinishInUse
    /// The finish forgets to clear `finish_inuse`: every later
    /// invalidation falls back to the synchronous path, and the driver is
    /// never back at rest.
    case keepsFinishInUse
  }

  /// `vm->svm.gpusvm.notifier_lock` (an rw_semaphore, taken for write).
  private let notifierLock: KernelRWSemaphore
  /// The counterfactual's notifier lock.
  private let nowaitLock: KernelSpinlock
  /// `vm->userptr.invalidated_lock`
  private let invalidatedLock: KernelSpinlock
  /// Where `dma_resv_wait_timeout` waits for the VM's fences.
  private let fenceWait: KernelWaitQueue
  private let behaviour: Behaviour

  // Protected by the notifier lock (as `finish` and `finish_inuse` are in
  // xe); atomics so that the accessors are no data races in Swift.
  private let finishInUse = Atomic<Bool>(false)
  private let onInvalidatedList = Atomic<Bool>(false)
  private let pagesMapped = Atomic<Bool>(true)
  /// Fences of the VM's reservation object not yet signalled.
  private let busyFences = Atomic<Int>(0)
  /// `dma_fence_enable_sw_signaling` ran on the busy fences: the GPU's
  /// preemption (a schedule disable) will signal them.
  private let signallingEnabled = Atomic<Bool>(false)

  private let firstPasses = Atomic<Int>(0)
  private let refused = Atomic<Int>(0)
  private let deferred = Atomic<Int>(0)
  private let synchronous = Atomic<Int>(0)
  private let finished = Atomic<Int>(0)
  private let strayFinishes = Atomic<Int>(0)
  private let hung = Atomic<Int>(0)

  /// `busyFences`: unsignalled fences on the VM's reservation object when
  /// the notifier is inserted (a job in flight); 0 means every
  /// invalidation is done synchronously.
  public init(
    mm: MM, name: String = "xe", busyFences: Int = 1, refusesNonBlockable: Bool = true,
    behaviour: Behaviour = .kernel
  ) {
    self.mm = mm
    self.name = name
    self.refusesNonBlockable = refusesNonBlockable
    self.behaviour = behaviour
    notifierLock = KernelRWSemaphore(mm, name: "&vm->svm.gpusvm.notifier_lock", fair: true)
    nowaitLock = KernelSpinlock(mm, name: "&vm->svm.gpusvm.notifier_lock")
    invalidatedLock = KernelSpinlock(mm, name: "&vm->userptr.invalidated_lock")
    fenceWait = KernelWaitQueue(mm)
    self.busyFences.store(busyFences, ordering: .relaxed)
  }

  // MARK: what a run measures

  /// First passes that ran (not refused).
  public var firstPassCount: Int { firstPasses.load(ordering: .acquiring) }
  /// Starts refused (a non-blockable range).
  public var refusedCount: Int { refused.load(ordering: .acquiring) }
  /// Starts that handed back the embedded finish.
  public var deferredCount: Int { deferred.load(ordering: .acquiring) }
  /// Starts that did the whole invalidation synchronously.
  public var synchronousCount: Int { synchronous.load(ordering: .acquiring) }
  /// Finish passes run for a deferred start.
  public var finishCount: Int { finished.load(ordering: .acquiring) }
  /// Finish passes that found no deferred start (`finish_inuse` clear):
  /// a finish called twice, or for a start that deferred nothing.
  public var strayFinishCount: Int { strayFinishes.load(ordering: .acquiring) }
  /// `userptr->finish_inuse`
  public var isFinishInUse: Bool { finishInUse.load(ordering: .acquiring) }
  /// The VMA is on `vm->userptr.invalidated` (the exec path must repin).
  public var needsRepin: Bool { onInvalidatedList.load(ordering: .acquiring) }
  /// The gpusvm pages are mapped (false once an invalidation unmapped them).
  public var arePagesMapped: Bool { pagesMapped.load(ordering: .acquiring) }
  /// Bounded waits (the notifier lock, the fences) that gave up.
  public var hungWaits: Int { hung.load(ordering: .acquiring) }

  /// nil at rest: no finish in use, every deferred start finished exactly
  /// once, no finish without one.
  public func stateAtRest() -> String? {
    var problems: [String] = []
    if isFinishInUse { problems.append("userptr->finish_inuse still set") }
    let d = deferredCount
    let f = finishCount
    if d != f { problems.append("\(d) deferred start(s), \(f) finish(es)") }
    if strayFinishCount > 0 {
      problems.append("\(strayFinishCount) finish(es) with no deferred start")
    }
    return problems.isEmpty ? nil : problems.joined(separator: ", ")
  }

  /// The harness's end-of-run check (xe itself asserts nothing here): a
  /// `WARN_ON` naming what is wrong when the driver is not at rest, so a
  /// broken two-pass driver changes the run's verdict.
  public func warnUnlessAtRest() {
    guard let state = stateAtRest() else { return }
    mm.warn(
      "\(name): \(state)", file: "drivers/gpu/drm/xe/xe_userptr.c", function: "xe_userptr_remove",
      line: 0)
  }

  /// The end-state metrics a scenario reports, under `prefix`.
  public func metrics(_ prefix: String = "xe") -> [Metric] {
    [
      .int("\(prefix)_first_passes", firstPassCount), .int("\(prefix)_refused", refusedCount),
      .int("\(prefix)_deferred", deferredCount), .int("\(prefix)_synchronous", synchronousCount),
      .int("\(prefix)_finishes", finishCount),
      .int("\(prefix)_stray_finishes", strayFinishCount),
      .bool("\(prefix)_finish_inuse", isFinishInUse),
      .bool("\(prefix)_at_rest", stateAtRest() == nil),
    ]
  }

  // MARK: the GPU side

  /// An exec (or a bind) adds a fence that is not signalled yet to the
  /// VM's reservation object: the next invalidation has work to wait for.
  public func submitJob() {
    busyFences.add(1, ordering: .releasing)
    signallingEnabled.store(false, ordering: .releasing)
  }

  // MARK: callbacks

  /// v5.11's single pass (`->invalidate`): both passes back to back, the
  /// finish only for a start that deferred.
  public func invalidate(_ interval: IntervalRef, range: NotifierRange, currentSeq: UInt) -> Bool {
    switch invalidateStart(interval, range: range, currentSeq: currentSeq) {
    case .refused: return false
    case .done: return true
    case .deferred:
      invalidateFinish(interval)
      return true
    }
  }

  /// `xe_vma_userptr_invalidate_start`
  public func invalidateStart(_ interval: IntervalRef, range: NotifierRange, currentSeq: UInt)
    -> IntervalStartResult
  {
    if refusesNonBlockable && !range.isBlockable {
      refused.add(1, ordering: .relaxed)
      return .refused
    }
    guard lockNotifier("xe_vma_userptr_invalidate_start") else {
      // the kernel would still be sleeping in down_write
      return .done
    }
    defer { unlockNotifier("xe_vma_userptr_invalidate_start") }
    interval.setSeq(currentSeq)
    return invalidatePass1() ? .deferred : .done
  }

  /// `xe_vma_userptr_invalidate_finish`
  public func invalidateFinish(_ interval: IntervalRef) {
    guard lockNotifier("xe_vma_userptr_invalidate_finish") else { return }
    defer { unlockNotifier("xe_vma_userptr_invalidate_finish") }
    doInval(isDeferred: true)
  }

  // MARK: the passes (notifier lock held for write)

  /// `xe_vma_userptr_invalidate_pass1`: true when the embedded finish is
  /// handed back.
  private func invalidatePass1() -> Bool {
    firstPasses.add(1, ordering: .relaxed)
    // Tell exec and the rebind worker to repin (not in fault mode).
    invalidatedLock.withLock("xe_vma_userptr_invalidate_pass1") {
      onInvalidatedList.store(true, ordering: .releasing)
    }
    // dma_resv_for_each_fence_unlocked: dma_fence_enable_sw_signaling,
    // and note whether every fence is signalled already.
    signallingEnabled.store(true, ordering: .releasing)
    let signaled = busyFences.load(ordering: .acquiring) == 0
    let inUse = finishInUse.load(ordering: .acquiring)
    if signaled || (inUse && behaviour != .ignoresFinishInUse) {
      synchronous.add(1, ordering: .relaxed)
      doInval(isDeferred: false)
      return false
    }
    finishInUse.store(true, ordering: .releasing)
    deferred.add(1, ordering: .relaxed)
    return true
  }

  /// `xe_vma_userptr_do_inval`
  private func doInval(isDeferred: Bool) {
    // dma_resv_wait_timeout(.., MAX_SCHEDULE_TIMEOUT): once signalling is
    // enabled the preemption completes and the fences signal.
    if signallingEnabled.load(ordering: .acquiring) {
      busyFences.store(0, ordering: .releasing)
      fenceWait.wakeUpAll()
    }
    let done = fenceWait.wait(for: "dma_resv_wait_timeout in xe_vma_userptr_do_inval") {
      [self] in busyFences.load(ordering: .acquiring) == 0
    }
    if !done { hung.add(1, ordering: .relaxed) }
    if isDeferred {
      if !finishInUse.load(ordering: .acquiring) {
        strayFinishes.add(1, ordering: .relaxed)
      } else {
        finished.add(1, ordering: .relaxed)
      }
      if behaviour != .keepsFinishInUse { finishInUse.store(false, ordering: .releasing) }
    }
    // drm_gpusvm_unmap_pages
    pagesMapped.store(false, ordering: .releasing)
  }

  // MARK: the exec path

  /// `xe_vm_userptr_pin` and the exec's check, as a fault: read the
  /// interval's seq, pin the pages, then under the notifier lock (read)
  /// retry while `mmu_interval_read_retry` says an invalidation collided
  /// (at most three times, bounded). true: the pages were mapped again.
  @discardableResult
  public func repin(_ sub: IntervalSubscription) -> Bool {
    for _ in 0..<3 {
      let seq = sub.readBegin()
      let ok: Bool
      if refusesNonBlockable {
        guard notifierLock.downRead("xe_vm_userptr_pin") else {
          hung.add(1, ordering: .relaxed)
          return false
        }
        ok = commitRepin(sub, seq)
        notifierLock.upRead("xe_vm_userptr_pin")
      } else {
        ok = nowaitLock.withLock("xe_vm_userptr_pin") { commitRepin(sub, seq) }
      }
      if ok { return true }
    }
    return false
  }

  private func commitRepin(_ sub: IntervalSubscription, _ seq: UInt) -> Bool {
    guard !sub.readRetry(seq) else { return false }
    invalidatedLock.withLock("xe_vm_userptr_pin") {
      onInvalidatedList.store(false, ordering: .releasing)
    }
    pagesMapped.store(true, ordering: .releasing)
    return true
  }

  // MARK: helpers

  private func lockNotifier(_ site: StaticString) -> Bool {
    if !refusesNonBlockable {
      nowaitLock.lock(site)
      return true
    }
    if notifierLock.downWrite(site) { return true }
    hung.add(1, ordering: .relaxed)
    return false
  }

  private func unlockNotifier(_ site: StaticString) {
    if refusesNonBlockable { notifierLock.upWrite(site) } else { nowaitLock.unlock(site) }
  }
}
