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

/// What a variant claims about start/end pairing, as the classes in which
/// a stress run holds it to zero ledger totals, zero hung waits, zero
/// WARNs/BUGs and no leaked active range. Every other class still runs (with
/// `--classes all`) and is reported, but does not decide the verdict.
///
/// This is each variant's specification, taken from its patch header and
/// the thread it comes from; the verdict itself always comes from running.
/// A variant missing here (a new patch) is held to nothing until its claim
/// is added.
public struct StressPromise: Sendable {
  public let variant: String
  public let classes: [StressClass]
  /// Why these classes, in one line.
  public let basis: String

  public static let table: [StressPromise] = [
    StressPromise(
      variant: "original", classes: [],
      basis: "v5.11 makes no pairing promise once a non-blockable start fails"),
    StressPromise(
      variant: "all-ends-rfc", classes: [.flakyNeighbour, .itreeNeighbour],
      basis:
        "the 2019 RFC ends every end-implementer after a failure; a failing notifier with an end gets one too, by design"
    ),
    StressPromise(
      variant: "reject-multi", classes: [.flakyNeighbour, .itreeNeighbour],
      basis:
        "with several subscriptions no non-blockable start runs at all; a lone one owes nothing; the interval tree is not its concern"
    ),
    StressPromise(
      variant: "oom-always-end", classes: [],
      basis:
        "its change is in the OOM reaper, which stress runs once per mm; the per-range reaper loop is v5.11's"
    ),
    StressPromise(
      variant: "upstream-fix", classes: [.flakyNeighbour, .itreeNeighbour],
      basis:
        "c2655835fd8c pairs every end when no start-failing notifier implements end; the interval tree is untouched"
    ),
    StressPromise(
      variant: "sorted-undo", classes: [.flakyNeighbour, .itreeNeighbour, .failingStartWithEnd],
      basis:
        "ends exactly the subscriptions below the failed one, whatever they implement; the interval tree is untouched"
    ),
    StressPromise(
      variant: "prefix-undo", classes: [.flakyNeighbour, .itreeNeighbour],
      basis:
        "claims the same pairing as sorted-undo but counts positions; a concurrent removal breaks it"
    ),
    StressPromise(
      variant: "itree-unwind",
      classes: [.flakyNeighbour, .itreeNeighbour, .itreeThenHlistFailure],
      basis: "upstream-fix plus ending the interval tree's half when the hlist refuses"),
  ]

  public init(variant: String, classes: [StressClass], basis: String) {
    self.variant = variant
    self.classes = classes
    self.basis = basis
  }

  public static func of(_ variant: Variant) -> StressPromise {
    table.first(where: { $0.variant == variant.id })
      ?? StressPromise(
        variant: variant.id, classes: [],
        basis: "no claim recorded for this variant (add one to StressPromise.table)")
  }
}
