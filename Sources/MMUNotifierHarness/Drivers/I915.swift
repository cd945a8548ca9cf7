import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The i915 userptr notifier as v5.11 has it
/// (drivers/gpu/drm/i915/gem/i915_gem_userptr.c,
/// `userptr_mn_invalidate_range_start`): an hlist notifier with a start and
/// no end. (By v5.14 it is an interval notifier.)
///
/// With no userptr object overlapping the range it returns 0. In a
/// non-blockable range any overlap is -EAGAIN. In a blockable range it
/// unbinds each overlapping object and releases its pages and returns the
/// first error; `__i915_gem_object_put_pages` answers -EBUSY while the
/// object's pages are pinned (v5.11 i915_gem_pages.c), which the core then
/// reports with its WARN, since a blockable start must not fail.
public final class I915Userptr: Notifier, @unchecked Sendable {
  public let callbacks: NotifierCallbacks = [.invalidateRangeStart]
  public let symbol = "userptr_mn"

  /// What `__i915_gem_object_put_pages` returns for an object whose pages
  /// are pinned.
  public static let pagesPinned: Int32 = -EBUSY

  /// `mn->objects`: the userptr objects, as [start, end).
  private let objects = Locked<[(start: UInt, end: UInt)]>([])
  /// nil: unbinding succeeds; otherwise the error a blockable start over
  /// an object returns (the illegal blockable failure).
  public let unbindError: Int32?
  private let unbound = Atomic<Int>(0)

  public init(unbindError: Int32? = nil) { self.unbindError = unbindError }

  /// A userptr object over [start, start + length).
  public func addObject(start: UInt, length: UInt) {
    objects.withLock { $0.append((start, start + length)) }
  }

  /// Objects unbound by blockable invalidations.
  public var unboundObjects: Int { unbound.load(ordering: .acquiring) }

  public func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
    let overlapping = objects.withLock { objs in
      objs.filter { range.overlaps(start: $0.start, end: $0.end) }.count
    }
    guard overlapping > 0 else { return 0 }
    guard range.isBlockable else { return -EAGAIN }
    if let unbindError { return unbindError }
    unbound.add(overlapping, ordering: .relaxed)
    return 0
  }
}
