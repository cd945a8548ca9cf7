/// A run's verdict, derived from its metrics by one rule and nothing else,
/// so a variant that misbehaves changes its verdict.
///
/// The first rule that holds wins (the worst outcome first):
/// 0. `crash`: the cell's child died by a signal (the number names it) or
///    exited without a result; only an isolated cell can report it.
/// 0. `use after free` (after `crash`): a freed subscription or interval
///    was reached (KASAN-style report; the number counts the reports).
/// 1. `hung`: a wait that can hang in the kernel passed its deadline.
///    `deadlock`: the forced interleaving deadlocked (with the pseudo-lock
///    made a real lock) — the number is the lock cycles lockdep predicted.
/// 2. `BUG`: a `BUG_ON` was hit (KVM's count below 0): fatal in the kernel.
/// 3. `lock cycle`: the lock validator closed a cycle.
/// 4. `lockdep splat`: another lockdep splat, e.g. "suspicious RCU usage"
///    (synchronize_srcu inside its own reader, which then hangs).
/// 5. `double end`: a start got a second end. Then `duplicate finish`: a
///    two-pass interval notifier's finish ran for an object not
///    outstanding (v7.1's contract: each finish exactly once).
/// 6. `end without start`: an end reached a notifier whose start failed or
///    never ran.
/// 7. `missing ends`: a successful start was never ended (nor released).
///    Then `missing finish`: a deferred two-pass start never got its
///    finish.
/// 8. `might sleep`: "BUG: sleeping function called from invalid context",
///    a non-fatal splat, pairing intact.
/// 9. `WARN`: a `WARN_ON` fired, pairing intact.
/// 10. `not reaped`: the OOM reaper gave up although no notifier refused a
///    start: the core refused on their behalf (Michal Hocko's objection to
///    the 2019 stopgap).
/// 11. `starvable`: clean, but a memslot update waited behind continuous
///    invalidations (the cost seed 004 accepts); the number is how many
///    updates were timed. The waits themselves are timings, so they stay
///    out of the verdict (same seed, same bytes) and appear in the JSON
///    under `timings` with `--timings`.
/// 12. `paired`: every successful start got exactly one end (or a release).
///
/// A tainted run (a bounded wait expired) is `hung` by rule 1; its other
/// metrics are labelled tainted (`ScenarioMetrics.taintedMetricNames`).
public struct Verdict: Sendable, Equatable, CustomStringConvertible {
  public enum Kind: String, Sendable, CaseIterable {
    /// The scenario models a contract its target's base does not have
    /// (metric `not_applicable`, e.g. v7.1's two-pass finish on v5.11):
    /// nothing was run, so nothing is judged.
    case notApplicable = "not applicable"
    case crash
    case useAfterFree = "use after free"
    case hung
    case deadlock
    case bug = "BUG"
    case lockCycle = "lock cycle"
    case lockdepSplat = "lockdep splat"
    case doubleEnd = "double end"
    case duplicateFinish = "duplicate finish"
    case endWithoutStart = "end without start"
    case missingEnds = "missing ends"
    case missingFinish = "missing finish"
    case mightSleep = "might sleep"
    case warn = "WARN"
    case notReaped = "not reaped"
    case starvable
    case paired

    /// The short form a matrix cell uses.
    public var short: String {
      switch self {
      case .endWithoutStart: "end w/o start"
      case .notApplicable: "n/a"
      default: rawValue
      }
    }

    /// What the number printed beside it counts.
    public var numberMeaning: String {
      switch self {
      case .notApplicable: "the base the scenario needs (nothing ran)"
      case .crash: "the cell's child died by this signal (its report is in --log)"
      case .useAfterFree: "KASAN use-after-free reports"
      case .hung: "waits that expired (hung-task records)"
      case .deadlock: "lock cycles lockdep predicted for the deadlock"
      case .bug: "BUG_ONs hit"
      case .lockCycle: "lock cycles lockdep reported"
      case .lockdepSplat: "lockdep splats"
      case .doubleEnd: "duplicate ends"
      case .duplicateFinish: "two-pass finishes for an object not outstanding"
      case .endWithoutStart: "ends without a successful start"
      case .missingEnds: "successful starts never ended"
      case .missingFinish: "deferred two-pass starts never finished"
      case .mightSleep: "might_sleep splats (sleeping in a non-blocking section)"
      case .warn: "WARN_ONs fired"
      case .notReaped: "reaped VMAs / VMAs"
      case .starvable: "memslot updates timed behind invalidations (waits: --timings)"
      case .paired: "ends, each paired with its start"
      }
    }
  }

  public let kind: Kind
  /// The number behind the verdict, as printed ("3", or "0/4" for not reaped).
  public let number: String
  /// The run pairs versions no released kernel pairs (metric
  /// `counterfactual`): its cell says so.
  public let counterfactual: Bool

  public init(_ m: ScenarioMetrics) {
    counterfactual = m["counterfactual"] == 1
    let oomGaveUp = m["oom_reaped"] == 0
    if m["not_applicable"] == 1 {
      (kind, number) = (
        .notApplicable, m["needs_mainline"] == 1 ? "(mainline only)" : "(v5.11 only)"
      )
    } else if let sig = m["crash_signal"] {
      let status = m["exit_status"].map { "exit \($0)" } ?? "no report"
      (kind, number) = (.crash, sig == 0 ? status : StressSignals.name(Int32(sig)))
    } else if m.useAfterFree > 0 {
      (kind, number) = (.useAfterFree, String(m.useAfterFree))
    } else if m.hung {
      (kind, number) = (.hung, String(max(m.hungWaits, 1)))
    } else if m["deadlocked"] == 1 {
      (kind, number) = (.deadlock, String(m.lockCycles))
    } else if m.bugs > 0 {
      (kind, number) = (.bug, String(m.bugs))
    } else if m.lockCycles > 0 {
      (kind, number) = (.lockCycle, String(m.lockCycles))
    } else if m.lockdepSplats > 0 {
      (kind, number) = (.lockdepSplat, String(m.lockdepSplats))
    } else if m.duplicateEnds > 0 {
      (kind, number) = (.doubleEnd, String(m.duplicateEnds))
    } else if m.duplicateFinishes > 0 {
      (kind, number) = (.duplicateFinish, String(m.duplicateFinishes))
    } else if m.endsWithoutStart > 0 {
      (kind, number) = (.endWithoutStart, String(m.endsWithoutStart))
    } else if m.missingEnds > 0 {
      (kind, number) = (.missingEnds, String(m.missingEnds))
    } else if m.missingFinishes > 0 {
      (kind, number) = (.missingFinish, String(m.missingFinishes))
    } else if m.mightSleep > 0 {
      (kind, number) = (.mightSleep, String(m.mightSleep))
    } else if m.warnings > 0 {
      (kind, number) = (.warn, String(m.warnings))
    } else if oomGaveUp && m.startsFailed == 0 {
      (kind, number) = (.notReaped, "\(m["reaped_vmas"] ?? 0)/\(m["total_vmas"] ?? 0)")
    } else if let wait = m["memslot_wait_us_max"], wait > 0 {
      (kind, number) = (.starvable, String(m["memslot_updates"] ?? 0))
    } else {
      (kind, number) = (.paired, String(m.ends))
    }
  }

  /// The matrix cell: short verdict and its number.
  public var cell: String {
    "\(kind.short) \(number)" + (counterfactual ? " (counterfactual)" : "")
  }
  public var description: String { "\(kind.rawValue) \(number)" }
}
