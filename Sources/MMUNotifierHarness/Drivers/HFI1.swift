import Synchronization

/// The hfi1 driver's SDMA pinned-page cache (v5.11
/// drivers/infiniband/hw/hfi1/mmu_rb.c, `mn_opts`): start only, and it
/// never fails, so it is the neighbour every pairing fix must leave alone.
///
/// `mmu_notifier_range_start` walks the handler's interval tree under a
/// spinlock and drops every cached buffer the range overlaps; it returns 0
/// in blockable and non-blockable ranges alike.
public final class HFI1: Notifier, @unchecked Sendable {
  public let callbacks: NotifierCallbacks = [.invalidateRangeStart]
  /// The callback is `mmu_notifier_range_start`; the log names it by this
  /// prefix plus `_invalidate_range_start`.
  public let symbol = "hfi1_mmu_rb"

  /// `handler->root`: the cached buffers, as [start, end).
  private let cached = Locked<[(start: UInt, end: UInt)]>([])
  private let evicted = Atomic<Int>(0)

  public init() {}

  /// `hfi1_mmu_rb_insert` of a pinned buffer.
  public func cache(start: UInt, length: UInt) {
    cached.withLock { $0.append((start, start + length)) }
  }

  public var cachedBuffers: Int { cached.withLock { $0.count } }
  /// Buffers dropped by invalidations so far.
  public var evictedBuffers: Int { evicted.load(ordering: .acquiring) }

  public func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
    let dropped = cached.withLock { nodes -> Int in
      let before = nodes.count
      nodes.removeAll { range.overlaps(start: $0.start, end: $0.end) }
      return before - nodes.count
    }
    evicted.add(dropped, ordering: .relaxed)
    return 0
  }
}
