/// `kvm-memslot-lock` (seed 004): the three ways KVM relates memslot updates
/// to invalidations, each run the same three ways:
///
/// - the forced interleaving in kernel mode (the pseudo-lock a lockdep map
///   only), under the validator: `lock_cycles` is what lockdep predicts
///   although nothing blocks, and `hung` whether any bounded wait expired;
/// - the same interleaving with the pseudo-lock made a real lock:
///   `deadlocked` (`ForcedMemslotDeadlock`);
/// - for the versions that block memslot updates (kvm-rwsem, kvm-v5.15),
///   the update's wait under continuous invalidations:
///   `memslot_wait_us_median` and `memslot_wait_us_max`
///   (`MemslotStarvation`): what 52ac8b358b's unfairness costs, beside the
///   fair rwsem it replaced. These are timings, so they vary from run to
///   run; an update starved past the deadline counts in
///   `memslot_updates_starved` (and logs a hung task) but does not set
///   `hung`, which stays the deterministic answer of the forced run.
///
/// Results are keyed by KVM version; the core is `original` throughout
/// (nothing here fails a start).
public struct KVMMemslotLockScenario: Scenario {
  public let id = "kvm-memslot-lock"
  public let origin = "004"
  public let claim =
    "the rwsem version makes a lock cycle through the pseudo-lock (lockdep) and deadlocks when"
    + " the pseudo-lock is a real lock; the open-coded count (v5.15) is clean but can starve"
    + " memslot updates"
  public let setup =
    "A holds the memslot read side from start to end, install_new_memslots queues, B's start"
    + " queues behind it inside the pseudo-lock, A's end needs the pseudo-lock"
  public var targets: [String]? { Self.versions.map(\.rawValue) }

  /// The versions on the memslot axis.
  public static let versions: [KVMVersion] = [.v5_14, .rwsem, .v5_15]
  /// Memslot updates timed under continuous invalidations.
  public static let starvationUpdates = 20
  public static let starvationInvalidators = 3

  public init() {}

  public func run(target: String, context: ScenarioContext) -> ScenarioResult {
    guard let version = KVMVersion(rawValue: target) else {
      preconditionFailure(
        "\(id) runs on KVM versions; '\(target)' is none of \(Self.versions.map(\.rawValue))")
    }
    let kernelMode = ForcedMemslotDeadlock.run(
      version: version, pseudoLockIsReal: false,
      hungTimeoutMilliseconds: context.hungTimeoutMilliseconds, flavor: context.flavor)
    let realPseudoLock = ForcedMemslotDeadlock.run(
      version: version, pseudoLockIsReal: true,
      hungTimeoutMilliseconds: context.hungTimeoutMilliseconds, flavor: context.flavor)
    let starvation: MemslotStarvation.Measurement? =
      version.blocksMemslotUpdates
      ? MemslotStarvation.measure(
        version: version, updates: Self.starvationUpdates,
        invalidators: Self.starvationInvalidators,
        hungTimeoutMilliseconds: context.hungTimeoutMilliseconds,
        random: context.random(for: id), flavor: context.flavor)
      : nil

    var m = ScenarioMetrics()
    // The deadlock run is the thought experiment; what the kernel itself
    // would do is the kernel-mode run and the starvation run.
    let ledgers =
      [kernelMode.ledger, realPseudoLock.ledger] + [starvation?.ledger].compactMap { $0 }
    m.missingEnds = ledgers.reduce(0) { $0 + $1.missingEnds }
    m.endsWithoutStart = ledgers.reduce(0) { $0 + $1.endsWithoutStart }
    m.duplicateEnds = ledgers.reduce(0) { $0 + $1.duplicateEnds }
    m.starts = ledgers.reduce(0) { $0 + $1.starts }
    m.startsFailed = ledgers.reduce(0) { $0 + $1.startsFailed }
    m.ends = ledgers.reduce(0) { $0 + $1.ends }
    let logs = [kernelMode.log, realPseudoLock.log, starvation?.log ?? []]
    m.warnings = count(.warning, in: logs)
    m.bugs = count(.bug, in: logs)
    m.mightSleep = count(.mightSleep, in: logs)
    m.lockdepSplats = count(.lockdep, in: logs)
    m.tainted = logs.joined().contains { $0.kind == .hung }
    m.hungWaits = count(.hung, in: [kernelMode.log])
    m.hung = kernelMode.hung
    // Each run keeps its own graph; the same cycle in two runs is one cycle.
    m.lockCycles = max(
      kernelMode.lockCycles, realPseudoLock.lockCycles, starvation?.lockCycles ?? 0)
    m.extra = [
      .bool("deadlocked", realPseudoLock.deadlocked),
      .bool("memslots_installed", kernelMode.memslotsInstalled),
      .int("kvm_mmu_notifier_count", kernelMode.mmuNotifierCount),
      .int(
        "threads_left_blocked", kernelMode.threadsLeftBlocked + realPseudoLock.threadsLeftBlocked),
    ]
    if let starvation {
      m.extra += [
        .int("memslot_wait_us_median", starvation.medianMicroseconds),
        .int("memslot_wait_us_max", starvation.maxMicroseconds),
        .int("memslot_updates", starvation.waitsMicroseconds.count),
        .int("memslot_updates_starved", starvation.starvedUpdates),
        .int("concurrent_invalidations", starvation.invalidations),
      ]
    }
    return ScenarioResult(
      scenario: id, target: target, metrics: m,
      log: kernelMode.log + realPseudoLock.log + (starvation?.log ?? []))
  }

  private func count(_ kind: KernelLogRecord.Kind, in logs: [[KernelLogRecord]]) -> UInt64 {
    UInt64(logs.reduce(0) { $0 + $1.filter { $0.kind == kind }.count })
  }
}
