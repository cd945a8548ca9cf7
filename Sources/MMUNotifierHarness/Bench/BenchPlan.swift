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
  /// `bench --base`: text and CSV name each variant with its base
  /// (`mainline`, `v5.11/upstream-fix`).
  public var labelsBases = false
  func name(_ variant: Variant) -> String { labelsBases ? variant.label : variant.id }
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
  /// No timed batch holds fewer iterations: a list that calibrates below
  /// this is calibrated again, and then timed with at least this many
  /// (its batches last longer than `batchNanoseconds`).
  public var minimumIterations: Int = 100
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
  /// Each phase (one reader, then R readers) runs this long: long enough
  /// for a writer at `writerOpsPerSecond` to make ~25 registrations, so
  /// that one more or fewer moves its measured rate by 4%, not 10%.
  public var phaseMilliseconds: Int = 250
  /// Rounds of one one-reader and one R-reader phase (ABBA); the scaling
  /// is the median of the per-round ratios.
  public var phasePairs: Int = 6
  /// Registrations (each followed by its put) per second per writer, held
  /// fixed in every phase: a writer that ran flat out would get a CPU to
  /// itself beside one reader but share with two, and the readers' scaling
  /// would measure the writer's share of the machine instead of the read side.
  public var writerOpsPerSecond: Int = 100
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
  /// Against v5.11's walk with every harness addition compiled out, over
  /// the same nodes (C, success, ledger off only).
  public let ratioToReference: Double?
  /// Iterations in one timed batch, and timed batches.
  public let iterations: Int
  public let samples: Int
  /// (p90 - p10) / median of the batches' ns per op: a fraction.
  public let spread: Double
  /// Sampling noise (two standard errors) of `ratioToOriginal` and `ratioToC`.
  public let ratioToOriginalError: Double?
  public let ratioToCError: Double?
  /// Set by the self-checks (`BenchSelfCheck`) when the row contradicts the
  /// work done; `suspectReason` says how.
  public internal(set) var suspectReason: String? = nil
  public var suspect: Bool { suspectReason != nil }
}

/// v5.11's walk with every harness addition compiled out
/// (`port/config/original_reference.h`), over the C floor's list of one
/// (N, flavour), timed in the same rounds.
public struct BenchReference: Sendable {
  public let flavor: RCUFlavor
  public let notifiers: Int
  public let nsPerOp: Double
  public var nsPerNotifier: Double { nsPerOp / Double(notifiers) }
  /// original as built (its C, success, ledger-off row) over the reference.
  public let coreRatio: Double?
  /// The reference against the floor: what the kernel's own checks cost.
  public let ratioToFloor: Double?
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
  /// |ratio - 1|: how far apart two identical cores read here.
  public var spread: Double { abs(ratio - 1) }
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
  /// R readers' total over one reader's, median of the per-round ratios;
  /// nil when R = 1.
  public let scaling: Double?
  /// Every round's R-reader / one-reader ratio, in order.
  public let roundRatios: [Double]
  /// The same ratio per second of CPU time the readers were given (R x
  /// per-CPU-second rate with R readers over one reader's): the read side's
  /// own scaling, whatever share of the CPUs the writer, the call_rcu
  /// thread or other processes took in either phase; nil when R = 1.
  public let scalingPerCPUSecond: Double?
  /// Registrations per second per writer asked for, and measured in the
  /// one-reader and the R-reader phases (nil without writers).
  public let writerOpsPerSecond: Int
  public let writerRateSingle: Double?
  public let writerRateMulti: Double?
  /// All writers together; nil without writers.
  public let registrationsPerSecond: Double?
  /// `synchronize_srcu` as the writers saw it; nil without writers.
  public let syncLatencyMicrosecondsP50: Double?
  public let syncLatencyMicrosecondsP99: Double?
  public let syncCalls: Int
  /// Set by the self-checks: scaling above the number of readers (or of
  /// CPUs), or a writer rate that differed between the phases.
  public internal(set) var suspectReason: String? = nil
  public var suspect: Bool { suspectReason != nil }
}

/// Everything one `bench` run measured.
public struct BenchReport: Sendable {
  public let machine: BenchMachine
  public let plan: BenchPlan
  public internal(set) var rows: [BenchRow]
  public let floors: [BenchFloor]
  public let accounting: [BenchAccounting]
  public let references: [BenchReference]
  public let controls: [BenchControl]
  public internal(set) var concurrency: [ConcurrencyRow]
  public let seconds: Double

  /// The A/A spread of the run: the largest |A/A ratio - 1| over its
  /// (N, flavour) groups, a fraction (0 when no group had a control).
  public var aaSpread: Double { controls.map(\.spread).max() ?? 0 }
  public var suspects: Int { rows.filter(\.suspect).count + concurrency.filter(\.suspect).count }
}
