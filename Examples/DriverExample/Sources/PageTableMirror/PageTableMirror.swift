import MMUNotifierHarness
import Synchronization

/// A device that mirrors the CPU page tables of one mm (the way nouveau's
/// or amdgpu's SVM mirrors do): between an invalidation's start and its end
/// the device must not fault the range back in, so start raises
/// `invalidating` and end lowers it; a fault waits until no invalidation is
/// open. A start whose end never comes leaves the device unable to fault,
/// which is what the harness's scenarios look for.
public final class PageTableMirror: Notifier, @unchecked Sendable {
  public let callbacks: NotifierCallbacks = [.invalidateRangeStart, .invalidateRangeEnd, .release]
  public let symbol: String
  let mm: MM
  private let open = Atomic<Int>(0)
  private let released = Atomic<Bool>(false)

  public init(mm: MM, name: String = "mirror") {
    self.mm = mm
    symbol = "page_table_mirror_\(name)"
  }

  /// Invalidations started and not yet ended: 0 when every start was paired.
  public var invalidating: Int { open.load(ordering: .acquiring) }
  public var wasReleased: Bool { released.load(ordering: .acquiring) }

  public func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
    // Never refuses, so it needs no non-blocking path.
    open.add(1, ordering: .relaxed)
    return 0
  }

  public func invalidateRangeEnd(_ range: NotifierRange) {
    if open.subtract(1, ordering: .relaxed).newValue < 0 {
      // An end the driver never saw start: the harness's WARN, located
      // here by default (#fileID, #line, #function).
      mm.warn("mirror->invalidating < 0")
    }
  }

  public func release() { released.store(true, ordering: .releasing) }

  /// The name `compare --driver` and explore configurations know it by,
  /// and the scenario roles it can play: start and end, never refuses,
  /// expects its end (the victim), or the victim's neighbour.
  public static let registration = RegisteredDriver(
    name: "page-table-mirror", roles: [.victim, .neighbour]
  ) { mm, name in PageTableMirror(mm: mm, name: name) }
}
