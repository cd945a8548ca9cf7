/// A scenario: a small program (its notifiers, its caller and the order of
/// events) that `compare` runs once per target and measures.
///
/// A target is usually a core variant (`targets == nil`: one result per
/// selected `Variant`), but a scenario may key its results by any ids it
/// names in `targets` (for example KVM versions). To make a scenario part
/// of `compare`, add it to `ScenarioCatalog.all`.
///
/// Rules a scenario keeps:
/// - `run` is called on an OS thread the harness owns (never a Swift
///   concurrency task); it may start and join its own `KernelThread`s.
/// - Every wait that can hang in the kernel is bounded by
///   `context.hungTimeoutMilliseconds` and reported as `hung`; `run`
///   returns within a bounded time and leaves no thread blocked.
/// - Interleavings are forced with semaphores and recorded events, never
///   with sleeps; any random choice comes from `context.random(for: id)`,
///   so the same seed gives the same runs.
/// - Verdicts are never written by a scenario: it reports metrics
///   (`ScenarioMetrics`) and `Verdict` derives the verdict from them.
public protocol Scenario: Sendable {
  /// The CLI id, e.g. `oom-flaky-neighbour`.
  var id: String { get }
  /// The seed document(s) it comes from, or where it was found.
  var origin: String { get }
  /// What the seeds (or the issue) say should be measured.
  var claim: String { get }
  /// One line: the set-up.
  var setup: String { get }
  /// The ids results are keyed by; nil means one per core variant.
  var targets: [String]? { get }
  /// One run against `target` (a variant id when `targets` is nil).
  func run(target: String, context: ScenarioContext) -> ScenarioResult
  /// The bases (`Variant.bases`) whose variants the scenario applies to;
  /// nil: every base. On a variant of another base it runs nothing and
  /// its verdict is `not applicable`.
  var bases: [String]? { get }
}

extension Scenario {
  public var bases: [String]? { nil }

  /// The scenario applies to `variant`'s base.
  public func applies(to variant: Variant) -> Bool {
    bases.map { $0.contains(variant.base) } ?? true
  }
}

extension ScenarioResult {
  /// The result of a scenario on a variant whose base it does not apply
  /// to: no run, the `not applicable` verdict.
  public static func notApplicable(_ scenario: any Scenario, variant: Variant) -> ScenarioResult {
    var metrics = ScenarioMetrics()
    metrics.extra = [
      .bool("not_applicable", true),
      .bool("needs_mainline", scenario.bases?.contains("mainline") ?? false),
    ]
    return ScenarioResult(scenario: scenario.id, target: variant.id, metrics: metrics, log: [])
  }
}

/// A scenario whose results are one per core variant: implement
/// `run(variant:context:)`; `targets` and `run(target:context:)` follow.
public protocol CoreVariantScenario: Scenario {
  func run(variant: Variant, context: ScenarioContext) -> ScenarioResult
}

extension CoreVariantScenario {
  public var targets: [String]? { nil }

  public func run(target: String, context: ScenarioContext) -> ScenarioResult {
    guard let variant = Variant.everything.first(where: { $0.id == target }) else {
      preconditionFailure(
        "\(id) runs on core variants; '\(target)' is none of \(Variant.all.map(\.id))")
    }
    return run(variant: variant, context: context)
  }
}

/// What every run of a comparison shares.
public struct ScenarioContext: Sendable, Equatable {
  public var flavor: RCUFlavor
  /// Drives every choice a scenario makes at random; same seed, same runs.
  public var seed: UInt64
  /// The deadline of every wait that can hang in the kernel.
  public var hungTimeoutMilliseconds: UInt32

  public static let defaultSeed: UInt64 = 1
  public static let defaultHungTimeoutMilliseconds: UInt32 = 250

  public init(
    flavor: RCUFlavor = .memb, seed: UInt64 = ScenarioContext.defaultSeed,
    hungTimeoutMilliseconds: UInt32 = ScenarioContext.defaultHungTimeoutMilliseconds
  ) {
    self.flavor = flavor
    self.seed = seed
    self.hungTimeoutMilliseconds = hungTimeoutMilliseconds
  }

  /// The generator for one scenario's choices. It depends on the seed and
  /// the scenario id only, so every target of a scenario makes the same
  /// choices and their results compare.
  public func random(for scenarioID: String) -> SeededRandom {
    SeededRandom(seed: seed ^ SeededRandom.fnv1a(scenarioID))
  }

  /// How long a harness gate (a semaphore that forces an interleaving)
  /// waits before it gives up: well past any kernel deadline, since its
  /// expiry means the forced order could not be reached.
  public var gateTimeoutMilliseconds: Int { max(2000, Int(hungTimeoutMilliseconds) * 8) }
}

/// SplitMix64: small, fast, and the same on every platform and run (Swift's
/// `SystemRandomNumberGenerator` and `Hasher` are not reproducible).
public struct SeededRandom: RandomNumberGenerator, Sendable {
  private var state: UInt64

  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A uniform integer in `range`, reproducible across platforms (unlike
  /// `Int.random(in:using:)`, whose algorithm is not promised).
  public mutating func int(in range: ClosedRange<Int>) -> Int {
    range.lowerBound + Int(next() % UInt64(range.count))
  }

  static func fnv1a(_ s: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in s.utf8 {
      h ^= UInt64(b)
      h &*= 0x100_0000_01b3
    }
    return h
  }
}

/// One measured value of a run.
public enum MetricValue: Sendable, Equatable, CustomStringConvertible {
  case int(Int64)
  case bool(Bool)

  /// Booleans read as 0 and 1.
  public var number: Int64 {
    switch self {
    case .int(let v): v
    case .bool(let b): b ? 1 : 0
    }
  }

  public var description: String {
    switch self {
    case .int(let v): String(v)
    case .bool(let b): String(b)
    }
  }
}

public struct Metric: Sendable, Equatable {
  public let name: String
  public let value: MetricValue
  /// Measured after a bounded wait expired (see `ScenarioMetrics.tainted`).
  public var tainted = false
  public init(_ name: String, _ value: MetricValue) {
    self.name = name
    self.value = value
  }
  var labelledTainted: Metric {
    var m = self
    m.tainted = true
    return m
  }
  public static func int(_ name: String, _ v: some BinaryInteger) -> Metric {
    Metric(name, .int(Int64(v)))
  }
  public static func bool(_ name: String, _ b: Bool) -> Metric { Metric(name, .bool(b)) }
}

/// What one run measured: the pairing ledger, the kernel log's counts, the
/// lock validator, whether a bounded wait expired, then the scenario's own
/// metrics in the order it reports them.
public struct ScenarioMetrics: Sendable, Equatable {
  /// KASAN-style reports: a freed subscription or interval was reached.
  public var useAfterFree: UInt64 = 0
  public var missingEnds: UInt64 = 0
  public var endsWithoutStart: UInt64 = 0
  public var duplicateEnds: UInt64 = 0
  /// Two-pass interval notifiers (v7.1): starts that deferred work, the
  /// finishes run, a finish for an object not outstanding, and finish
  /// objects never finished. Reported only where a two-pass driver ran.
  public var deferredStarts: UInt64 = 0
  public var finishes: UInt64 = 0
  public var duplicateFinishes: UInt64 = 0
  public var missingFinishes: UInt64 = 0
  /// `WARN_ON`s fired.
  public var warnings: UInt64 = 0
  /// `BUG_ON`s hit (fatal in the kernel: the task oopses).
  public var bugs: UInt64 = 0
  /// might_sleep splats: a sleep where the caller may not sleep
  /// (non-fatal in the kernel; the caller carries on).
  public var mightSleep: UInt64 = 0
  /// Lockdep splats of any kind: cycles, and "suspicious RCU usage" such as
  /// synchronize_srcu inside its own reader (which then hangs).
  public var lockdepSplats: UInt64 = 0
  /// A bounded wait expired: every cumulative metric below includes what
  /// ran afterwards, in a state the kernel (still waiting) never reaches.
  public var tainted = false
  /// A wait that can hang in the kernel passed its deadline.
  public var hung = false
  /// Hung-task records in the log (each an expired bounded wait).
  public var hungWaits: UInt64 = 0
  /// Distinct cycles the lock validator reported.
  public var lockCycles = 0
  public var starts: UInt64 = 0
  public var startsFailed: UInt64 = 0
  public var ends: UInt64 = 0
  /// The scenario's own metrics (`reaped_vmas`, `kvm_mmu_notifier_count`...).
  public var extra: [Metric] = []

  public init() {}

  /// The reaper's metrics for `mm` after its latest `oomReap()` (empty if
  /// the reaper never ran): what the `not reaped` verdict reads.
  public static func reaperMetrics(_ mm: MM) -> [Metric] {
    guard let oom = mm.lastOOMReap else { return [] }
    return [
      .int("reaped_vmas", mm.unmappedVMAs), .int("total_vmas", mm.vmaCount),
      .bool("oom_reaped", oom.reaped), .int("oom_attempts", oom.attempts),
    ]
  }

  static let reaperMetricNames: Set = ["reaped_vmas", "total_vmas", "oom_reaped", "oom_attempts"]

  /// Everything `mm` measured so far. `driverHung`: a driver's bounded
  /// wait returned false without a log record of its own. After an
  /// `mm.oomReap()` the reaper's metrics (`reaperMetrics`) lead `extra`
  /// unless `extra` already has them.
  public init(mm: MM, driverHung: Bool = false, extra: [Metric] = []) {
    let ledger = mm.ledgerTotals
    let log = mm.logCounts
    useAfterFree = log.useAfterFree + ledger.poisonSeen
    missingEnds = ledger.missingEnds
    endsWithoutStart = ledger.endsWithoutStart
    duplicateEnds = ledger.duplicateEnds
    deferredStarts = ledger.deferredStarts
    finishes = ledger.finishes
    duplicateFinishes = ledger.duplicateFinishes
    missingFinishes = ledger.missingFinishes
    warnings = log.warnings
    bugs = log.bugs
    mightSleep = log.mightSleep
    lockdepSplats = log.lockdep
    tainted = mm.tainted
    hungWaits = log.hung
    hung = driverHung || log.hung > 0
    lockCycles = mm.lockCycles
    starts = ledger.starts
    startsFailed = ledger.startsFailed
    ends = ledger.ends
    let reported = Set(extra.map(\.name))
    self.extra =
      ScenarioMetrics.reaperMetrics(mm).filter { !reported.contains($0.name) } + extra
  }

  /// Every metric under its JSON name, in the order outputs print them.
  /// In a tainted run every metric but the hang's own is labelled tainted.
  public var all: [Metric] {
    let metrics: [Metric] =
      [
        .int("use_after_free", useAfterFree), .int("missing_ends", missingEnds),
        .int("ends_without_start", endsWithoutStart),
        .int("duplicate_ends", duplicateEnds), .int("warnings", warnings), .int("bugs", bugs),
        .int("might_sleep", mightSleep), .int("lockdep_splats", lockdepSplats),
        .bool("hung", hung), .int("hung_waits", hungWaits), .bool("tainted", tainted),
        .int("lock_cycles", lockCycles), .int("starts", starts),
        .int("starts_failed", startsFailed), .int("ends", ends),
      ] + twoPassMetrics + extra
    guard tainted else { return metrics }
    let untainted: Set = ["hung", "hung_waits", "tainted"]
    return metrics.map { untainted.contains($0.name) ? $0 : $0.labelledTainted }
  }

  /// The two-pass counts, where a two-pass driver ran (so a v5.11-only
  /// run prints what it always printed).
  var twoPassMetrics: [Metric] {
    guard deferredStarts + finishes + duplicateFinishes + missingFinishes > 0 else { return [] }
    return [
      .int("deferred_starts", deferredStarts), .int("finishes", finishes),
      .int("duplicate_finishes", duplicateFinishes), .int("missing_finishes", missingFinishes),
    ]
  }

  /// The names of the metrics measured in a tainted state (empty if not).
  public var taintedMetricNames: [String] { all.filter(\.tainted).map(\.name) }

  /// A metric by its JSON name (booleans as 0/1), nil if not measured.
  public subscript(name: String) -> Int64? {
    all.first(where: { $0.name == name })?.value.number
  }
}

/// One run of one scenario against one target.
public struct ScenarioResult: Sendable {
  public let scenario: String
  public let target: String
  public let metrics: ScenarioMetrics
  /// The run's kernel log (pr_info, WARN, BUG, hung tasks, lockdep).
  public let log: [KernelLogRecord]

  public init(scenario: String, target: String, metrics: ScenarioMetrics, log: [KernelLogRecord]) {
    self.scenario = scenario
    self.target = target
    self.metrics = metrics
    self.log = log
  }

  public var verdict: Verdict { Verdict(metrics) }
}
