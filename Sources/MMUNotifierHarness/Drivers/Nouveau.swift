import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// nouveau's shared virtual memory (v5.11 drivers/gpu/drm/nouveau/nouveau_svm.c),
/// which registers two notifiers on one mm: this hlist notifier
/// (`nouveau_mn_ops`, start only) and, per faulted range, an interval
/// notifier (`NouveauSVMRange`). Both serialise on `svmm->mutex`.
///
/// `nouveau_svmm_invalidate_range_start` returns -EAGAIN for every
/// non-blockable range, before looking at it; a blockable one takes the
/// mutex and invalidates the GPU's view of the range.
public final class NouveauSVMM: Notifier, @unchecked Sendable {
  public let callbacks: NotifierCallbacks = [.invalidateRangeStart]
  public let symbol = "nouveau_svmm"

  /// `svmm->mutex`
  let mutex = KernelMutex()
  private let invalidated = Atomic<Int>(0)

  public init() {}

  /// Blockable invalidations that reached the GPU.
  public var gpuInvalidations: Int { invalidated.load(ordering: .acquiring) }

  public func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
    guard range.isBlockable else { return -EAGAIN }
    mutex.lock()
    invalidated.add(1, ordering: .relaxed)
    mutex.unlock()
    return 0
  }

  /// `nouveau_range_fault`'s critical section: `svmm->mutex` is held while
  /// the GPU's page tables are programmed (`body`), so an invalidation's
  /// trylock in that window fails.
  public func gpuFault(_ body: () -> Void) {
    mutex.lock()
    defer { mutex.unlock() }
    body()
  }

  /// The interval notifier nouveau inserts for a faulted range
  /// (`struct svm_notifier`).
  public func rangeNotifier() -> NouveauSVMRange { NouveauSVMRange(svmm: self) }
}

/// `nouveau_svm_range_invalidate` (v5.11 nouveau_svm.c): takes
/// `svmm->mutex` (with a trylock in a non-blockable range, answering "would
/// block" if it is held), publishes the new sequence with
/// `mmu_interval_set_seq`, and succeeds. In the scenarios nobody holds the
/// mutex, so the trylock succeeds: the interval tree's half of an
/// invalidation goes through while the hlist half (above) refuses.
public final class NouveauSVMRange: IntervalNotifier, @unchecked Sendable {
  public let symbol = "nouveau_svm_range"
  let svmm: NouveauSVMM
  private let refusals = Atomic<Int>(0)

  init(svmm: NouveauSVMM) { self.svmm = svmm }

  /// Non-blockable invalidations refused because the trylock failed.
  public var trylockFailures: Int { refusals.load(ordering: .acquiring) }

  public func invalidate(_ interval: IntervalRef, range: NotifierRange, currentSeq: UInt) -> Bool {
    if range.isBlockable {
      svmm.mutex.lock()
    } else if !svmm.mutex.tryLock() {
      refusals.add(1, ordering: .relaxed)
      return false
    }
    interval.setSeq(currentSeq)
    svmm.mutex.unlock()
    return true
  }
}
