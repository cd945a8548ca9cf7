import Synchronization

/// The SGI UV GRU driver's notifier (v5.11 drivers/misc/sgi-gru/grutlbpurge.c,
/// `gru_mmuops`) and the fault path that depends on it (grufault.c,
/// `gru_user_dropin`).
///
/// Start raises `ms_range_active` and never fails; end lowers it and wakes
/// every faulting task. A fault sleeps, uninterruptibly in the kernel,
/// until no invalidation is active, so a start left without its end hangs
/// the GRU user for good: the case seed 000's commit message names as the
/// one that is "fatally broken".
public final class GRU: Notifier, @unchecked Sendable {
  /// `gru_mmuops` has start and end (and `alloc_notifier`/`free_notifier`,
  /// which the harness's `mmu_notifier_get` supplies); no `release`.
  public let callbacks: NotifierCallbacks = .startAndEnd
  /// v5.11 `gru_register_mmu_notifier` is `mmu_notifier_get(&gru_mmuops,
  /// current->mm)` and `gru_drop_mmu_notifier` is `mmu_notifier_put`: one
  /// `gru_mm_struct` per mm, however many GRU contexts share it.
  public static var subscribesThroughGet: Bool { true }
  public let symbol = "gru"
  public let name: String

  /// `gms->ms_range_active` (an `atomic_t`).
  private let rangeActive = Atomic<Int>(0)
  /// `gms->ms_wait_queue`
  private let waitQueue: KernelWaitQueue

  public init(mm: MM, name: String = "gru") {
    self.name = name
    waitQueue = KernelWaitQueue(mm)
  }

  /// `atomic_read(&gms->ms_range_active)`: 0 when every start was paired.
  public var msRangeActive: Int { rangeActive.load(ordering: .acquiring) }

  /// `gru_invalidate_range_start`: count the range, flush the GRU TLB.
  public func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
    rangeActive.add(1, ordering: .sequentiallyConsistent)
    return 0
  }

  /// `gru_invalidate_range_end`: `atomic_dec_and_test`, then
  /// `wake_up_all` whatever the count (a second end drives it below 0,
  /// and the fault's `== 0` test then never holds again).
  public func invalidateRangeEnd(_ range: NotifierRange) {
    rangeActive.subtract(1, ordering: .sequentiallyConsistent)
    waitQueue.wakeUpAll()
  }

  /// `gru_user_dropin`'s `wait_event(gms->ms_wait_queue,
  /// atomic_read(&gms->ms_range_active) == 0)` before the TLB dropin.
  /// Bounded: false once the mm's hung timeout passed (logged as a hung
  /// task), where the kernel would sleep forever.
  public func fault() -> Bool {
    waitQueue.wait(for: "gms->ms_wait_queue (ms_range_active == 0) in gru_user_dropin") {
      [self] in rangeActive.load(ordering: .sequentiallyConsistent) == 0
    }
  }
}
