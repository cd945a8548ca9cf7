import CSupport

/// How a core variant orders its hlist, found by running it: v5.11 adds at
/// the head (`hlist_add_head_rcu`, newest first); the sorted-hlist idea
/// keeps the list in ascending order of `struct mmu_notifier` address. A
/// scenario that wants its notifiers traversed in a given order needs to
/// know which, and asking the variant's code (not its name) also covers
/// variants added later.
public enum TraversalRule: Sendable, Equatable {
  case newestFirst
  case ascendingAddress
  /// Neither rule explains the order seen.
  case unknown

  /// Runs the variant's own registration and one invalidation on three
  /// probe subscriptions carved from one block, so their address order is
  /// known and the two rules cannot agree by accident of the allocator
  /// (`mmn_hlist_rule`).
  public static func detect(variant: Variant, flavor: RCUFlavor) -> TraversalRule {
    switch Int(mmn_hlist_rule(variant.index, flavor.cValue)) {
    case Int(MMN_HLIST_RULE_NEWEST_FIRST): .newestFirst
    case Int(MMN_HLIST_RULE_ASCENDING_ADDRESS): .ascendingAddress
    default: .unknown
    }
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
