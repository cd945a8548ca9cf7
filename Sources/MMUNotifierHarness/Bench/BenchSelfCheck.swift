/// Self-checks: a row whose numbers contradict the work its code does is
/// marked suspect, with the reason, in every output. A row cannot be
/// impossible without saying so.
///
/// The checks compare rows only where one does, by construction, at least
/// the other's work; a faster measurement of the larger one by more than
/// the run's A/A spread (beyond the row's own sampling noise, two standard
/// errors of its median ratio) is then a measurement fault or an effect of
/// where the code landed, never a result.
enum BenchSelfCheck {
  /// Variants whose timed loop does all of original's work, and more, on
  /// every path (`bench --measure instructions` confirms it: never fewer
  /// instructions than original, with C or Swift no-ops) (the bench loop is the OOM reaper's pattern compiled into
  /// each unit, so a variant's own oom_kill.c plays no part):
  /// - upstream-fix (c2655835fd8c): the same start walk, one more test of
  ///   `ret`, and on a failure the extra end walk;
  /// - itree-unwind: upstream-fix, plus the interval tree's unwind;
  /// - oom-always-end: the core is original's code (its change is in the
  ///   reaper, which the bench loop does not run).
  static let supersetsOfOriginal: Set<String> = ["upstream-fix", "itree-unwind", "oom-always-end"]

  /// The slack below which "faster" is within what two identical lists
  /// read apart: the run's A/A spread, never less than 0.5%.
  static func slack(aaSpread: Double) -> Double { max(aaSpread, 0.005) }

  /// Why `row` contradicts the work done, or nil.
  static func reason(
    for row: BenchRow, minimumIterations: Int, aaSpread: Double, ledgerOff: BenchRow?
  ) -> String? {
    let slack = slack(aaSpread: aaSpread)
    var reasons: [String] = []
    if row.iterations < minimumIterations {
      reasons.append(
        "timed with \(row.iterations) iteration(s) per batch, below \(minimumIterations)")
    }
    if supersetsOfOriginal.contains(row.variant.id), let r = row.ratioToOriginal,
      r < 1 - slack - (row.ratioToOriginalError ?? 0)
    {
      reasons.append(
        "\(row.variant.id) does all of original's work and more on \(row.path), yet measured "
          + "\(format(r, 3)) × original (A/A spread \(format(aaSpread * 100, 2))%, "
          + "noise ±\(format((row.ratioToOriginalError ?? 0) * 100, 2))%)")
    }
    if row.driver == .swift, let r = row.ratioToC, r < 1 - slack - (row.ratioToCError ?? 0) {
      reasons.append(
        "the Swift no-ops execute as many instructions as the C no-ops (bench --measure "
          + "instructions), yet measured \(format(r, 3)) × C (A/A spread "
          + "\(format(aaSpread * 100, 2))%, noise ±\(format((row.ratioToCError ?? 0) * 100, 2))%)")
    }
    if row.ledger, let off = ledgerOff, row.nsPerOp < off.nsPerOp * (1 - slack) {
      reasons.append(
        "the ledger adds work to every callback, yet ledger on measured "
          + "\(format(row.nsPerOp / off.nsPerOp, 3)) × ledger off")
    }
    return reasons.isEmpty ? nil : reasons.joined(separator: "; ")
  }

  /// Why a concurrency row is impossible or unfair, or nil.
  static func reason(for c: ConcurrencyRow, cpus: Int) -> String? {
    var reasons: [String] = []
    if let s = c.scaling {
      // beyond the rounds' own noise (two standard errors of their median)
      let noise = roundNoise(c.roundRatios)
      let perCPU = c.scalingPerCPUSecond.map { ", \(format($0, 2)) per CPU-second given" } ?? ""
      if s - noise > Double(c.readers) {
        reasons.append(
          "scaling \(format(s, 2)) ± \(format(noise, 2)) with \(c.readers) readers: more than "
            + "one reader's worth each (the one-reader phases lost CPU to something else"
            + "\(perCPU))")
      } else if s - noise > Double(max(cpus, 1)) {
        reasons.append("scaling \(format(s, 2)) ± \(format(noise, 2)) on \(cpus) CPU(s)")
      }
    }
    if let single = c.writerRateSingle, let multi = c.writerRateMulti, single > 0, multi > 0,
      abs(multi / single - 1) > 0.05
    {
      reasons.append(
        "the writer ran at \(format(single, 0))/s beside one reader and "
          + "\(format(multi, 0))/s beside \(c.readers): the phases did not see the same writer")
    }
    return reasons.isEmpty ? nil : reasons.joined(separator: "; ")
  }
}

extension BenchSelfCheck {
  /// Two standard errors of the median of per-round ratios (see
  /// `BenchStatistics.medianRatioError`); 0 with fewer than three rounds.
  static func roundNoise(_ ratios: [Double]) -> Double {
    guard ratios.count >= 3 else { return 0 }
    let sigma =
      (BenchStatistics.percentile(ratios, 0.84) - BenchStatistics.percentile(ratios, 0.16)) / 2
    return 2 * 1.2533 * sigma / Double(ratios.count).squareRoot()
  }
}

extension BenchReport {
  /// Marks suspect rows (see `BenchSelfCheck`).
  mutating func applySelfChecks() {
    let aa = aaSpread
    let minimum = plan.minimumIterations
    let snapshot = rows
    for i in rows.indices {
      let r = rows[i]
      let off =
        r.ledger
        ? snapshot.first {
          !$0.ledger && $0.variant == r.variant && $0.flavor == r.flavor
            && $0.notifiers == r.notifiers && $0.path == r.path && $0.driver == r.driver
        } : nil
      rows[i].suspectReason = BenchSelfCheck.reason(
        for: r, minimumIterations: minimum, aaSpread: aa, ledgerOff: off)
    }
    for i in concurrency.indices {
      concurrency[i].suspectReason = BenchSelfCheck.reason(for: concurrency[i], cpus: machine.cpus)
    }
  }
}
