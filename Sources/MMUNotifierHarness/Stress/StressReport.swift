/// What a stress run measured, per class and in total, and its verdict.
public struct StressReport: Sendable {
  public struct ClassResult: Sendable {
    public let cls: StressClass
    /// The promises the variant is held to in this class.
    public let held: Set<Promise>
    public let invalidations, munmaps, nonblockStarts, refusedStarts, oomReaps: Int
    public let faults, faultRetries: Int
    public let registrations, unregistrations, puts, frees: UInt64
    public let registerFailures: Int
    public let intervalInserts, intervalRemoves, intervalFrees: UInt64
    /// Interval removals whose wait expired (the memory is kept, not freed).
    public let intervalRemovesHung: Int
    /// Intervals left in a wedged mm at the end, not removed (a removal
    /// would wait for an end that never comes).
    public let intervalsKept: Int
    /// Callbacks that reached a driver after its subscription was freed.
    public let callsAfterFree: Int
    public let ledger: LedgerCounts
    public let log: KernelLogCounts
    public let lockCycles: Int
    /// `active_invalidate_ranges` once every thread has stopped: anything
    /// but 0 is a range whose interval-tree half never ended.
    public let activeInvalidateRanges: UInt
    /// hlist subscriptions left after every writer removed its own.
    public let hlistLeft: Int
    /// The first record of each kind but pr_info (WARN, BUG, hung task,
    /// lockdep report, pr_err).
    public let firstRecords: [KernelLogRecord]

    public var removals: UInt64 { unregistrations + puts }

    /// The harness's own accounting, held whatever the variant promises:
    /// everything removed is freed and every writer's subscription is gone.
    public var brokenAccounting: [String] {
      var out: [String] = []
      if frees != removals {
        out.append("frees=\(frees) but removals=\(removals) (unregistrations+puts)")
      }
      if hlistLeft != 0 { out.append("hlist_left=\(hlistLeft) after every writer removed its own") }
      return out
    }

    /// The non-zero totals that break `promise`.
    public func findings(_ promise: Promise) -> [String] {
      var out: [String] = []
      func add(_ name: String, _ value: some BinaryInteger, _ why: String = "") {
        if value != 0 { out.append("\(name)=\(value)\(why)") }
      }
      switch promise {
      case .noUseAfterFree:
        add("use_after_free", log.useAfterFree, ": KASAN reported an access to freed memory")
        add("calls_after_free", callsAfterFree, ": a driver was called after its free")
      case .noPoison:
        add("poison_seen", ledger.poisonSeen, ": a callback reached a freed subscription")
      case .noMissingEnd:
        add("missing_ends", ledger.missingEnds)
        // v7.1 two-pass: a deferred start whose finish never ran
        add("missing_finishes", ledger.missingFinishes)
        // above zero: an interval-tree half that never ended
        add("active_invalidate_ranges", max(0, Int(bitPattern: activeInvalidateRanges)))
      case .noEndWithoutStart:
        add("ends_without_start", ledger.endsWithoutStart)
        // below zero: the interval tree ended more often than it started
        add(
          "active_invalidate_ranges", min(0, Int(bitPattern: activeInvalidateRanges)),
          ": mn_itree_inv_end ran for a start that failed")
      case .noDuplicateEnd:
        add("duplicate_ends", ledger.duplicateEnds)
        // v7.1 two-pass: a finish for an object not outstanding
        add("duplicate_finishes", ledger.duplicateFinishes)
      case .noHang:
        add("hung", log.hung)
        add("intervals_kept", intervalsKept)
        if intervalFrees != intervalRemoves {
          out.append("interval_frees=\(intervalFrees) but interval_removes=\(intervalRemoves)")
        }
      case .noWarn: add("warnings", log.warnings)
      case .noBug: add("bugs", log.bugs)
      case .noLockCycle:
        add("lock_cycles", lockCycles)
        add("lockdep_reports", log.lockdep)
      }
      return out
    }

    /// Promises broken here, each with what broke it.
    public var brokenPromises: [(promise: Promise, findings: [String])] {
      Promise.allCases.filter { held.contains($0) }.compactMap { p in
        let f = findings(p)
        return f.isEmpty ? nil : (p, f)
      }
    }

    /// What breaks the verdict in this class.
    public var broken: [String] {
      brokenAccounting + brokenPromises.flatMap { b in b.findings.map { "\($0) (\(b.promise))" } }
    }
    /// Non-zero findings that the variant does not promise away here.
    public var expected: [String] {
      Promise.allCases.filter { !held.contains($0) }.flatMap { findings($0) }
    }
    /// Every promise holds in this class.
    public var promised: Bool { held == Set(Promise.allCases) }
    /// The promises waived here, by name.
    public var waived: [Promise] { Promise.allCases.filter { !held.contains($0) } }
  }

  public let configuration: StressConfiguration
  public let promise: StressPromise
  public let classes: [ClassResult]
  public let threadsStarted, threadsFinished, strayThreads: Int
  public let elapsedSeconds: Double
  /// The signal (SIGINT, SIGTERM) that stopped the run early, or 0: the
  /// report is then partial, over the time that ran.
  public let stoppedBy: Int32

  public init(
    configuration: StressConfiguration, promise: StressPromise, classes: [ClassResult],
    threadsStarted: Int, threadsFinished: Int, strayThreads: Int, elapsedSeconds: Double,
    stoppedBy: Int32 = 0
  ) {
    self.configuration = configuration
    self.promise = promise
    self.classes = classes
    self.threadsStarted = threadsStarted
    self.threadsFinished = threadsFinished
    self.strayThreads = strayThreads
    self.elapsedSeconds = elapsedSeconds
    self.stoppedBy = stoppedBy
  }

  public var ok: Bool { broken.isEmpty }

  /// Every broken invariant, prefixed with its class.
  public var broken: [String] {
    var out = classes.flatMap { c in c.broken.map { "\(c.cls): \($0)" } }
    if threadsFinished != threadsStarted {
      out.append("threads: \(threadsFinished) of \(threadsStarted) finished")
    }
    if strayThreads != 0 { out.append("threads: \(strayThreads) still alive after the join") }
    return out
  }

  // MARK: totals

  /// Wrapping: a counter a broken variant drives below zero (an end
  /// without its start decrements active_invalidate_ranges) reads as a
  /// huge unsigned value, and the report must still print.
  func sum<T: FixedWidthInteger>(_ key: (ClassResult) -> T) -> T {
    classes.reduce(0) { $0 &+ key($1) }
  }

  public var invalidations: Int { sum(\.invalidations) }
  public var registrations: UInt64 { sum(\.registrations) }
  public var unregistrations: UInt64 { sum(\.unregistrations) }
  public var puts: UInt64 { sum(\.puts) }
  public var removals: UInt64 { sum(\.removals) }
  public var frees: UInt64 { sum(\.frees) }
  public var poisonSeen: UInt64 { sum(\.ledger.poisonSeen) }
  public var useAfterFree: UInt64 { sum(\.log.useAfterFree) }
  public var callsAfterFree: Int { sum(\.callsAfterFree) }
  public var missingEnds: UInt64 { sum(\.ledger.missingEnds) }
  public var endsWithoutStart: UInt64 { sum(\.ledger.endsWithoutStart) }
  public var duplicateEnds: UInt64 { sum(\.ledger.duplicateEnds) }
  public var missingFinishes: UInt64 { sum(\.ledger.missingFinishes) }
  public var duplicateFinishes: UInt64 { sum(\.ledger.duplicateFinishes) }
  public var warnings: UInt64 { sum(\.log.warnings) }
  public var bugs: UInt64 { sum(\.log.bugs) }
  public var hung: UInt64 { sum(\.log.hung) }
  public var lockCycles: Int { sum(\.lockCycles) }

  // MARK: output

  public var json: JSONValue {
    let c = configuration
    func int(_ v: some BinaryInteger) -> JSONValue { .int(Int64(v)) }
    return .object([
      ("variant", .string(c.variant.id)), ("flavor", .string(c.flavor.rawValue)),
      ("seconds", .double(c.seconds)), ("readers", int(c.readers)), ("writers", int(c.writers)),
      ("invalidations", int(invalidations)), ("registrations", int(registrations)),
      ("removals", int(removals)), ("frees", int(frees)), ("poison_seen", int(poisonSeen)),
      ("missing_ends", int(missingEnds)), ("ends_without_start", int(endsWithoutStart)),
      ("duplicate_ends", int(duplicateEnds)), ("warnings", int(warnings)), ("bugs", int(bugs)),
      ("hung", int(hung)), ("ok", .bool(ok)),
      ("use_after_free", int(useAfterFree)),
      ("stopped_by", stoppedBy == 0 ? .null : .string(StressSignals.name(stoppedBy))),
      // Beyond the issue's keys, which stay first and unchanged:
      ("unregistrations", int(unregistrations)), ("puts", int(puts)),
      ("lock_cycles", int(lockCycles)), ("calls_after_free", int(callsAfterFree)),
      ("missing_finishes", int(missingFinishes)), ("duplicate_finishes", int(duplicateFinishes)),
      ("stray_threads", int(strayThreads)), ("fail_rate", .double(c.failRate)),
      ("seed", .string(String(c.seed))), ("elapsed_seconds", .double(elapsedSeconds)),
      ("promised_classes", .array(promise.classes.map { .string($0.rawValue) })),
      ("promises", .string(promise.promises.line)),
      ("broken", .array(broken.map { .string($0) })),
      ("classes", .array(classes.map(\.json))),
    ])
  }

  public var text: String {
    let c = configuration
    var out: [String] = []
    out.append(
      "stress: variant \(c.variant.id), flavour \(c.flavor), \(Self.number(c.seconds)) s (ran \(Self.number(elapsedSeconds)) s), \(c.readers) reader(s), \(c.writers) writer(s), fail-rate \(Self.number(c.failRate)), seed \(c.seed)"
    )
    out.append("promises: \(promise.basis)")
    if stoppedBy != 0 {
      out.append(
        "stopped by \(StressSignals.name(stoppedBy)) after \(Self.number(elapsedSeconds)) s: a partial report, seed \(c.seed)"
      )
    }
    out.append("")
    let header = [
      "class", "waived", "invalidations", "refused", "faults", "reg", "unreg", "put", "frees",
      "itree+/-", "missing_ends", "ends_without_start", "duplicate_ends", "warn", "bug", "hung",
      "cycles", "active",
    ]
    var rows = classes.map { r in
      [
        r.cls.rawValue, r.waived.isEmpty ? "-" : "\(r.waived.count)", "\(r.invalidations)",
        "\(r.refusedStarts)",
        "\(r.faults)", "\(r.registrations)", "\(r.unregistrations)", "\(r.puts)", "\(r.frees)",
        r.cls.hasIntervals ? "\(r.intervalInserts)/\(r.intervalRemoves)" : "-",
        "\(r.ledger.missingEnds)", "\(r.ledger.endsWithoutStart)", "\(r.ledger.duplicateEnds)",
        "\(r.log.warnings)", "\(r.log.bugs)", "\(r.log.hung)", "\(r.lockCycles)",
        "\(Int(bitPattern: r.activeInvalidateRanges))",
      ]
    }
    rows.append([
      "total", "", "\(invalidations)", "\(sum(\.refusedStarts))", "\(sum(\.faults))",
      "\(registrations)", "\(unregistrations)", "\(puts)", "\(frees)",
      "\(sum(\.intervalInserts))/\(sum(\.intervalRemoves))", "\(missingEnds)",
      "\(endsWithoutStart)", "\(duplicateEnds)", "\(warnings)", "\(bugs)", "\(hung)",
      "\(lockCycles)", "\(Int(bitPattern: sum(\.activeInvalidateRanges)))",
    ])
    out.append(TextTable.render(header: header, rows: rows))
    out.append("")
    out.append(
      "use_after_free=\(useAfterFree) poison_seen=\(poisonSeen) calls_after_free=\(callsAfterFree) frees=\(frees) removals=\(removals) stray_threads=\(strayThreads)"
    )
    let withErrors = classes.filter { $0.log.errors > 0 }
    if !withErrors.isEmpty {
      out.append("")
      out.append("notes (pr_err; not a promise of any variant):")
      for r in withErrors {
        let first = r.firstRecords.first(where: { $0.kind == .error })?.text ?? ""
        out.append("  \(r.cls): \(r.log.errors) x \(first)")
      }
    }
    let expected = classes.filter { !$0.expected.isEmpty }
    if !expected.isEmpty {
      out.append("")
      out.append("expected (\(c.variant.id) waives these promises in these classes):")
      for r in expected {
        out.append("  \(r.cls): \(r.expected.joined(separator: " ")): \(r.cls.whatBreaks)")
        out.append("    waived: \(r.waived.map(\.rawValue).joined(separator: ", "))")
      }
    }
    out.append("")
    if ok {
      out.append(
        "verdict: ok: every promise \(c.variant.id) makes held"
          + (promise.promises.held.values.allSatisfy { $0.isSubset(of: Promise.safety) }
            ? " (it promises only RCU safety)" : ""))
    } else {
      let promises = Set(classes.flatMap { $0.brokenPromises.map(\.promise) }).sorted()
      out.append(
        "verdict: FAILED"
          + (promises.isEmpty
            ? "" : ": promise broken: \(promises.map(\.rawValue).joined(separator: ", "))"))
      for line in broken { out.append("  \(line)") }
      for r in classes where !r.broken.isEmpty {
        for record in r.firstRecords where record.kind != .error { out.append(record.kernelForm) }
      }
    }
    return out.joined(separator: "\n")
  }

  public static func number(_ d: Double) -> String {
    let rounded = (d * 100).rounded() / 100
    return rounded == rounded.rounded() ? String(Int64(rounded)) : String(rounded)
  }

  /// The first record of each kind but pr_info.
  static func notable(_ log: [KernelLogRecord]) -> [KernelLogRecord] {
    var seen: Set<Int32> = []
    var out: [KernelLogRecord] = []
    for r in log where r.kind != .info && !seen.contains(r.kind.rawValue) {
      seen.insert(r.kind.rawValue)
      out.append(r)
    }
    return out
  }
}

extension StressReport.ClassResult {
  var json: JSONValue {
    func int(_ v: some BinaryInteger) -> JSONValue { .int(Int64(v)) }
    return .object([
      ("class", .string(cls.rawValue)), ("promised", .bool(promised)),
      ("waived", .array(waived.map { .string($0.rawValue) })),
      ("use_after_free", int(log.useAfterFree)),
      ("invalidations", int(invalidations)), ("munmaps", int(munmaps)),
      ("nonblock_starts", int(nonblockStarts)), ("refused_starts", int(refusedStarts)),
      ("oom_reaps", int(oomReaps)), ("faults", int(faults)), ("fault_retries", int(faultRetries)),
      ("registrations", int(registrations)), ("unregistrations", int(unregistrations)),
      ("puts", int(puts)), ("frees", int(frees)), ("register_failures", int(registerFailures)),
      ("interval_inserts", int(intervalInserts)), ("interval_removes", int(intervalRemoves)),
      ("interval_frees", int(intervalFrees)), ("interval_removes_hung", int(intervalRemovesHung)),
      ("intervals_kept", int(intervalsKept)),
      ("poison_seen", int(ledger.poisonSeen)), ("calls_after_free", int(callsAfterFree)),
      ("starts", int(ledger.starts)), ("starts_failed", int(ledger.startsFailed)),
      ("ends", int(ledger.ends)), ("missing_ends", int(ledger.missingEnds)),
      ("ends_without_start", int(ledger.endsWithoutStart)),
      ("duplicate_ends", int(ledger.duplicateEnds)),
      ("closed_by_release", int(ledger.closedByRelease)),
      ("closed_by_removal", int(ledger.closedByRemoval)),
      ("warnings", int(log.warnings)), ("bugs", int(log.bugs)), ("hung", int(log.hung)),
      ("lock_cycles", int(lockCycles)), ("lockdep_reports", int(log.lockdep)),
      ("log_errors", int(log.errors)),
      ("active_invalidate_ranges", int(Int(bitPattern: activeInvalidateRanges))),
      ("broken", .array(broken.map { .string($0) })),
      ("expected", .array(expected.map { .string($0) })),
    ])
  }
}
