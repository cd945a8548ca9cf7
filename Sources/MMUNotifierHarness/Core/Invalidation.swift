import CSupport

/// One invalidation: a `struct mmu_notifier_range` and its start/end.
///
/// Use it from one thread, like the kernel's on-stack range. Like a kernel
/// caller it holds `mmap_lock` for read from creation until it is retired,
/// so a registration (which takes the write side) never lands between its
/// start and its end. When it is retired (explicitly or when it goes away)
/// the ledger settles it: any successful start still owed an end becomes a
/// missing end.
public final class Invalidation {
  public let mm: MM
  let range: UnsafeMutablePointer<mmu_notifier_range>
  private var retired = false
  private let holdsMmapLock: Bool

  public init(
    _ mm: MM, start: UInt, end: UInt, event: NotifierEvent = .unmap,
    holdMmapLock: Bool = true
  ) {
    self.mm = mm
    range = .allocate(capacity: 1)
    holdsMmapLock = holdMmapLock && mmn_mmap_read_lock(mm.raw)
    mmn_range_init(range, mm.raw, event.cValue, start, end)
  }

  deinit {
    retire()
    range.deallocate()
  }

  public var id: UInt64 { range.pointee.mmn_id }

  /// `mmu_notifier_invalidate_range_start`: blockable; void, as in the
  /// kernel, so a failure (illegal here) is not seen by the caller.
  public func start() { mmn_invalidate_range_start(range) }

  /// `mmu_notifier_invalidate_range_start_nonblock`: 0 or `-EAGAIN`.
  @discardableResult
  public func startNonblock() -> Int32 { mmn_invalidate_range_start_nonblock(range) }

  /// `mmu_notifier_invalidate_range_end`
  public func end() { mmn_invalidate_range_end(range) }

  /// `mmu_notifier_invalidate_range_only_end`: skips `->invalidate_range`.
  public func onlyEnd() { mmn_invalidate_range_only_end(range) }

  /// The caller is done with this range.
  public func retire() {
    guard !retired else { return }
    retired = true
    mmn_range_retire(range)
    if holdsMmapLock { mmn_mmap_read_unlock(mm.raw) }
  }
}
