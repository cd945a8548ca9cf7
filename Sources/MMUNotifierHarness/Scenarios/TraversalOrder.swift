/// How a core variant orders its hlist, found by running it: v5.11 adds at
/// the head (`hlist_add_head_rcu`, newest first); the sorted-hlist idea
/// keeps the list in ascending order of `struct mmu_notifier` address. A
/// scenario that wants its notifiers traversed in a given order needs to
/// know which, and asking the variant's code (not its name) also covers
/// variants added later.
enum TraversalRule: Sendable, Equatable {
  case newestFirst
  case ascendingAddress
  /// Every probe's address fell in reverse registration order (ASan's
  /// allocator does this), so both rules explained every walk: the
  /// allocator, not the variant, decides which one a caller can rely on.
  case eitherRule
  /// Neither rule explains the order seen.
  case unknown

  /// Registers start-only probes on a throwaway mm of this variant and
  /// flavour and watches one blockable invalidation (over no VMA) visit
  /// them. A result both rules explain (addresses that happen to fall in
  /// reverse registration order) is retried with one more probe.
  static func detect(variant: Variant, flavor: RCUFlavor) -> TraversalRule {
    let mm = MM(variant: variant, flavor: flavor)
    let visits = EventTrace()
    var subscriptions: [Subscription] = []
    defer { for sub in subscriptions { sub.unregister() } }
    for index in 0..<8 {
      guard let sub = try? mm.register(OrderProbe(index: index, visits: visits), ledger: false)
      else { return .unknown }
      subscriptions.append(sub)
      guard subscriptions.count >= 3 else { continue }
      visits.clear()
      mm.munmap(start: 0, end: 0x1000)
      let seen = visits.events.compactMap { Int($0) }
      let newestFirst = Array(subscriptions.indices.reversed())
      let byAddress = subscriptions.indices.sorted {
        subscriptions[$0].notifierAddress < subscriptions[$1].notifierAddress
      }
      switch (seen == newestFirst, seen == byAddress) {
      case (true, false): return .newestFirst
      case (false, true): return .ascendingAddress
      case (true, true): continue
      case (false, false): return .unknown
      }
    }
    return .eitherRule
  }
}

/// A start-only notifier that records when the traversal reaches it.
private final class OrderProbe: Notifier, @unchecked Sendable {
  let callbacks: NotifierCallbacks = [.invalidateRangeStart]
  let symbol = "order_probe"
  let index: Int
  let visits: EventTrace

  init(index: Int, visits: EventTrace) {
    self.index = index
    self.visits = visits
  }

  func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
    visits.record(String(index))
    return 0
  }
}

/// Events recorded in order from any thread.
public final class EventTrace: Sendable {
  private let list = Locked<[String]>([])
  public init() {}
  public func record(_ event: String) { list.withLock { $0.append(event) } }
  public var events: [String] { list.withLock { $0 } }
  func clear() { list.withLock { $0.removeAll() } }
}
