/// A scenario class: one address space in a stress run, with its own mix of
/// notifiers. The pairing rules differ by mix, and so do the variants'
/// claims, so a run keeps every class in its own mm and reports each apart.
public enum StressClass: String, CaseIterable, Sendable, Hashable, CustomStringConvertible {
  /// KVM and GRU (start and end, never fail) beside start-only notifiers
  /// that refuse non-blockable starts with -EAGAIN (flaky, i915, nouveau).
  case flakyNeighbour = "flaky-neighbour"
  /// Interval notifiers beside KVM and GRU; nothing in the hlist fails.
  case itreeNeighbour = "itree-neighbour"
  /// Interval notifiers beside hlist notifiers that refuse non-blockable
  /// starts: the interval tree's half can succeed before the hlist fails.
  case itreeThenHlistFailure = "itree-then-hlist-failure"
  /// KVM and GRU beside a notifier that can fail its start *and*
  /// implements end, which the merged fix forbids.
  case failingStartWithEnd = "failing-start-with-end"

  public var description: String { rawValue }

  /// Where the class comes from.
  public var origin: String {
    switch self {
    case .flakyNeighbour: "seed 000 (Sean's flaky second notifier beside KVM)"
    case .itreeNeighbour: "v5.11 interval tree beside the hlist"
    case .itreeThenHlistFailure: "found in the code (nouveau: interval succeeds, hlist refuses)"
    case .failingStartWithEnd: "seed 001 (Jason: a notifier that fails start must not get end)"
    }
  }

  /// What goes wrong in this class under a core that does not keep start
  /// and end paired; printed beside non-zero totals that are expected.
  public var whatBreaks: String {
    switch self {
    case .flakyNeighbour:
      "a refused non-blockable start makes the caller skip end, so KVM/GRU starts stay open (missing_ends)"
    case .itreeNeighbour:
      "only a core that ends a range twice or not at all shows anything here"
    case .itreeThenHlistFailure:
      "the hlist refuses after the interval tree started: mn_itree_inv_end never runs, active_invalidate_ranges leaks and read_begin/remove wait forever (hung)"
    case .failingStartWithEnd:
      "the refusing notifier receives an end for its failed start (ends_without_start, WARN), or the others miss theirs"
    }
  }

  /// Whether writers insert interval notifiers into this class's mm.
  public var hasIntervals: Bool {
    self == .itreeNeighbour || self == .itreeThenHlistFailure
  }

  /// Whether hlist notifiers in this class refuse non-blockable starts.
  public var hasFailingStarts: Bool { self != .itreeNeighbour }

  /// Parses a class name, or throws an error that lists the valid ones.
  public static func named(_ name: String) throws(HarnessInputError) -> StressClass {
    guard let c = StressClass(rawValue: name) else {
      throw HarnessInputError.unknown(
        kind: "stress class", name: name,
        valid: ["promised", "all"] + allCases.map(\.rawValue))
    }
    return c
  }
}
