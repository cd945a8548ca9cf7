import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The second notifier Sean Christopherson added to KVM to verify the
/// merged fix (seed 000, c2655835fd8c: "a second notifier in KVM that
/// periodically returns -EAGAIN on non-blockable ranges"). Start only.
///
/// It counts non-blockable starts (1, 2, 3, ...) and refuses number
/// `firstFailure`, then every `period`-th after it. Blockable starts always
/// succeed, as the contract requires.
public final class Flaky: Notifier, @unchecked Sendable {
  public let callbacks: NotifierCallbacks = [.invalidateRangeStart]
  public let symbol: String
  public let period: Int
  public let firstFailure: Int

  private let nonblockingSeen = Atomic<Int>(0)
  private let refused = Atomic<Int>(0)

  public init(period: Int, firstFailure: Int? = nil, symbol: String = "kvm_flaky_mmu_notifier") {
    precondition(period >= 1, "a period of at least 1")
    self.period = period
    self.firstFailure = max(1, firstFailure ?? period)
    self.symbol = symbol
  }

  /// Non-blockable starts seen so far.
  public var nonblockingStarts: Int { nonblockingSeen.load(ordering: .acquiring) }
  /// Starts it refused with -EAGAIN.
  public var failures: Int { refused.load(ordering: .acquiring) }

  public func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
    guard !range.isBlockable else { return 0 }
    let n = nonblockingSeen.add(1, ordering: .relaxed).newValue
    guard n >= firstFailure, (n - firstFailure) % period == 0 else { return 0 }
    refused.add(1, ordering: .relaxed)
    return -EAGAIN
  }
}
