/// Where the timed invalidation fails, if anywhere.
///
/// On a failure path one subscription (start only, as the merged fix
/// requires) refuses every non-blockable start, the way nouveau's hlist
/// notifier does; the others are no-ops with an end. Its position is counted
/// in traversal order, so "end" means it is the last start called.
public enum BenchPath: String, Sendable, CaseIterable, CustomStringConvertible {
  case success
  case failureMiddle = "failure-middle"
  case failureEnd = "failure-end"

  public var description: String { rawValue }
  public var fails: Bool { self != .success }

  /// The traversal index of the refusing subscription in a list of `n`.
  func failingIndex(of n: Int) -> Int? {
    switch self {
    case .success: nil
    case .failureMiddle: n / 2
    case .failureEnd: n - 1
    }
  }
}

/// Who implements the no-op callbacks.
public enum BenchDriver: String, Sendable, CaseIterable, CustomStringConvertible {
  /// C functions inside the shim (`mmn_bench_noop_ops`): the core calls them directly.
  case c
  /// Swift classes conforming to `Notifier`, reached through the library's trampolines.
  case swift

  public var description: String { rawValue }
}

/// What `mmn-harness bench` measures.
public struct BenchPlan: Sendable {
  /// Subscriptions per list: 1, 2, 4 … 1024 unless told otherwise.
  public var notifierCounts: [Int] = (0...10).map { 1 << $0 }
  public var variants: [Variant] = Variant.all
  public var flavors: [RCUFlavor] = RCUFlavor.allCases
  public var paths: [BenchPath] = BenchPath.allCases
  public var drivers: [BenchDriver] = BenchDriver.allCases
  public var ledger: [Bool] = [false, true]
  /// Timed batches per measured list; the medians come from these.
  public var samples: Int = 48
  /// How many times every list is rebuilt at a new place in memory; the
  /// samples are spread over the placements (see `BenchGroup`).
  public var placements: Int = 8
  /// Untimed batches per list before the first sample of each placement.
  public var warmupBatches: Int = 2
  /// How long one batch runs; the iteration count is calibrated to it.
  public var batchNanoseconds: UInt64 = 200_000
  /// The CPU the sweep's thread is pinned to (nil: not pinned).
  public var pinCPU: Int? = BenchMachine.defaultPinCPU
  /// Reader/writer scaling, run after the sweep when set.
  public var concurrency: ConcurrencyPlan?

  public init() {}
}

/// `--readers R --writers W`: R threads invalidate while W threads register
/// and put subscriptions (`call_srcu`) and time `synchronize_srcu`.
public struct ConcurrencyPlan: Sendable {
  public var readers: Int
  public var writers: Int
  /// The core the readers run (the sweep's first variant).
  public var variant: Variant = .original
  public var flavors: [RCUFlavor] = RCUFlavor.allCases
  /// C no-op subscriptions on the readers' list.
  public var notifiers: Int = 64
  /// Each phase (one reader, then R readers) runs this long.
  public var phaseMilliseconds: Int = 250
  /// Alternating one-reader / R-reader phase pairs; the scaling is their median.
  public var phasePairs: Int = 3
  /// Readers are pinned one per CPU, round robin, when true.
  public var pinReaders: Bool = true

  public init(readers: Int, writers: Int) {
    self.readers = readers
    self.writers = writers
  }
}

/// One measured list: ns per start+end pair, with its ratios.
public struct BenchRow: Sendable {
  public let variant: Variant
  public let flavor: RCUFlavor
  public let notifiers: Int
  public let path: BenchPath
  public let driver: BenchDriver
  public let ledger: Bool
  /// Per `invalidate_range_start_nonblock` (+ end when it succeeded): median, min, max.
  public let nsPerOp: Double
  public let nsPerOpMin: Double
  public let nsPerOpMax: Double
  public var nsPerNotifier: Double { nsPerOp / Double(notifiers) }
  /// Against the plain C loop over the same nodes (success path only).
  public let ratioToFloor: Double?
  /// Against `original` with everything else equal (nil for `original`).
  public let ratioToOriginal: Double?
  /// Swift drivers against C callbacks with everything else equal.
  public let ratioToC: Double?
  /// Failure paths against the same list's success path.
  public let ratioToSuccess: Double?
  /// Iterations in one timed batch, and timed batches.
  public let iterations: Int
  public let samples: Int
}

/// The floor of one list shape: a plain C loop, no RCU, no checks.
public struct BenchFloor: Sendable {
  public let flavor: RCUFlavor
  public let notifiers: Int
  public let driver: BenchDriver
  public let nsPerOp: Double
  public var nsPerNotifier: Double { nsPerOp / Double(notifiers) }
}

/// What `non_block_start/end` cost the core in one (N, flavour): original's
/// C, success, ledger-off list timed, in the same rounds, by original as
/// built and by original rebuilt without CONFIG_DEBUG_ATOMIC_SLEEP (the
/// accounting compiled out, as in most production kernels).
public struct BenchAccounting: Sendable {
  public let flavor: RCUFlavor
  public let notifiers: Int
  /// Without the accounting.
  public let nsPerOp: Double
  public var nsPerNotifier: Double { nsPerOp / Double(notifiers) }
  /// Without the accounting, against the floor (per-round median).
  public let ratioToFloor: Double?
  /// original as built (accounting on) against the same core without it.
  public let accountingFactor: Double?
}

/// The A/A control of one (N, flavour): a second `original` list (C,
/// success, ledger off) against the first, timed in the same rounds. Two
/// identical lists differ only by noise and placement, so this ratio is
/// how finely this machine can tell two cores apart.
public struct BenchControl: Sendable {
  public let flavor: RCUFlavor
  public let notifiers: Int
  /// Median of the per-round ratios (ideally 1).
  public let ratio: Double
  /// The 10th and 90th percentiles of the per-round ratios.
  public let spreadP10: Double
  public let spreadP90: Double
}

/// One flavour's reader/writer run.
public struct ConcurrencyRow: Sendable {
  public let flavor: RCUFlavor
  public let variant: Variant
  public let notifiers: Int
  public let readers: Int
  public let writers: Int
  /// Per reader, with R readers running (median over phases).
  public let invalidationsPerSecond: Double
  /// Per reader, with one reader running (the scaling's baseline).
  public let singleReaderInvalidationsPerSecond: Double
  /// R readers' total over one reader's, phase pairs' median; nil when R = 1.
  public let scaling: Double?
  /// All writers together; nil without writers.
  public let registrationsPerSecond: Double?
  /// `synchronize_srcu` as the writers saw it; nil without writers.
  public let syncLatencyMicrosecondsP50: Double?
  public let syncLatencyMicrosecondsP99: Double?
  public let syncCalls: Int
}

/// Everything one `bench` run measured.
public struct BenchReport: Sendable {
  public let machine: BenchMachine
  public let plan: BenchPlan
  public let rows: [BenchRow]
  public let floors: [BenchFloor]
  public let accounting: [BenchAccounting]
  public let controls: [BenchControl]
  public let concurrency: [ConcurrencyRow]
  public let seconds: Double
}
