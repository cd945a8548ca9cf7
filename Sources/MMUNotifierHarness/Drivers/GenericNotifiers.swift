import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A notifier that keeps a paired counter, like KVM's `mmu_notifier_count`:
/// start raises it, end lowers it. It never fails.
public final class CountingNotifier: Notifier {
  public let callbacks: NotifierCallbacks = .startAndEnd
  public let symbol: String
  private let active = Atomic<Int>(0)

  public init(symbol: String = "counting_notifier") { self.symbol = symbol }

  /// Starts not yet ended: 0 when every start was paired.
  public var activeCount: Int { active.load(ordering: .acquiring) }

  public func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
    active.add(1, ordering: .relaxed)
    return 0
  }

  public func invalidateRangeEnd(_ range: NotifierRange) {
    active.subtract(1, ordering: .relaxed)
  }
}

/// A start-only notifier that answers `-EAGAIN` to every k-th non-blockable
/// start (k = 1: all of them), like the second notifier Sean added to KVM
/// to verify the merged fix.
public final class FailingNotifier: Notifier {
  public let callbacks: NotifierCallbacks
  public let symbol: String
  public let everyKth: Int
  private let seen = Atomic<Int>(0)

  public init(everyKth: Int = 1, implementsEnd: Bool = false, symbol: String = "failing_notifier") {
    precondition(everyKth >= 1)
    self.everyKth = everyKth
    self.symbol = symbol
    callbacks = implementsEnd ? .startAndEnd : [.invalidateRangeStart]
  }

  public func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
    guard !range.isBlockable else { return 0 }
    let n = seen.add(1, ordering: .relaxed).newValue
    return n % everyKth == 0 ? -EAGAIN : 0
  }
}

/// A notifier with no callbacks: what an interval driver's registration
/// hands back where an hlist driver is asked for (it is never called).
public final class InertNotifier: Notifier {
  public let callbacks: NotifierCallbacks = []
  public let symbol: String
  public init(symbol: String) { self.symbol = symbol }
}
