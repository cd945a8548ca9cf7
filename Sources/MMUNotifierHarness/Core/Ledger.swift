import CSupport

/// The pairing ledger's counts, for one subscription or a whole mm.
public struct LedgerCounts: Sendable, Equatable, Codable {
  public var starts: UInt64 = 0
  public var startsFailed: UInt64 = 0
  public var ends: UInt64 = 0
  /// A successful start closed by neither an end nor a release (nor the
  /// subscription's removal) by the time its invalidation was over.
  public var missingEnds: UInt64 = 0
  /// An end for an invalidation whose start failed or never ran.
  public var endsWithoutStart: UInt64 = 0
  /// A second end for one successful start.
  public var duplicateEnds: UInt64 = 0
  public var closedByRelease: UInt64 = 0
  public var closedByRemoval: UInt64 = 0
  public var releases: UInt64 = 0
  /// A callback reached a subscription after it was freed.
  public var poisonSeen: UInt64 = 0
  /// Two-pass interval notifiers (v7.1): starts that deferred work.
  public var deferredStarts: UInt64 = 0
  /// Two-pass: second passes run (once per deferred start when paired).
  public var finishes: UInt64 = 0
  /// Two-pass: a finish for a finish object that was not outstanding.
  public var duplicateFinishes: UInt64 = 0
  /// Two-pass: a finish object still outstanding when its invalidation's
  /// start/end pair was over, or when the interval was removed.
  public var missingFinishes: UInt64 = 0

  public init() {}

  init(_ c: mmn_ledger_counts) {
    starts = c.starts
    startsFailed = c.starts_failed
    ends = c.ends
    missingEnds = c.missing_ends
    endsWithoutStart = c.ends_without_start
    duplicateEnds = c.duplicate_ends
    closedByRelease = c.closed_by_release
    closedByRemoval = c.closed_by_removal
    releases = c.releases
    poisonSeen = c.poison_seen
    deferredStarts = c.deferred_starts
    finishes = c.finishes
    duplicateFinishes = c.duplicate_finishes
    missingFinishes = c.missing_finishes
  }

  /// For an interval, `starts` counts its invalidations (first passes).
  public var invalidations: UInt64 { starts }

  /// Every deferred start got exactly one finish.
  public var isFinishPaired: Bool { duplicateFinishes == 0 && missingFinishes == 0 }

  /// True when every start that succeeded got exactly one end (or a release).
  public var isPaired: Bool { missingEnds == 0 && endsWithoutStart == 0 && duplicateEnds == 0 }
}
