import CSupport

/// `mmn-harness run`: invalidations over built-in notifiers, with the
/// per-notifier ledger and the driver state measured afterwards.
public struct LedgerRun: Sendable {
  public struct Row: Sendable {
    public let name: String
    public let ledger: LedgerCounts
    /// For counting notifiers: starts not yet ended (0 when paired).
    public let activeCount: Int?
  }

  public let variant: Variant
  public let flavor: RCUFlavor
  public let rows: [Row]
  public let totals: LedgerCounts
  public let logCounts: KernelLogCounts
  public let log: [KernelLogRecord]
  /// Distinct VMAs the OOM reaper's attempts (or munmap) unmapped, and how
  /// many there were (`MM.unmappedVMAs`).
  public let unmappedVMAs: Int
  @available(*, deprecated, renamed: "unmappedVMAs")
  public var reapedVMAs: Int { unmappedVMAs }
  public let vmas: Int
  /// oom_reap_task_mm attempts; nil for munmap runs.
  public let oomAttempts: Int?
  /// `OOMResult.reaped`: an attempt passed every VMA; nil for munmap runs.
  public let oomReaped: Bool?

  /// Runs on the calling thread, which must be one the caller owns.
  public static func run(
    variant: Variant, flavor: RCUFlavor, counting: Int, failing: Int, ranges: Int, blockable: Bool,
    failingEveryKth: Int = 1, failingWithEnd: Bool = false
  ) -> LedgerRun {
    // Non-blockable ranges go through the variant's own OOM reaper (one
    // VMA per range), so caller-side variants count too.
    let mm = MM(variant: variant, flavor: flavor, vmas: blockable ? 0 : ranges)
    var subs: [(String, Subscription, CountingNotifier?)] = []
    for i in 0..<counting {
      let n = CountingNotifier(symbol: "counting\(i)_notifier")
      subs.append(("counting\(i)", try! mm.register(n), n))
    }
    for i in 0..<failing {
      let n = FailingNotifier(
        everyKth: failingEveryKth, implementsEnd: failingWithEnd, symbol: "failing\(i)_notifier")
      subs.append(("failing\(i)", try! mm.register(n), nil))
    }
    var oom: MM.OOMResult?
    if blockable {
      for i in 0..<ranges { mm.munmap(start: UInt(i) << 21, end: UInt(i + 1) << 21) }
    } else {
      oom = mm.oomReap()
    }
    let rows = subs.map { Row(name: $0.0, ledger: $0.1.ledger, activeCount: $0.2?.activeCount) }
    let result = LedgerRun(
      variant: variant, flavor: flavor, rows: rows, totals: mm.ledgerTotals,
      logCounts: mm.logCounts, log: mm.log, unmappedVMAs: mm.unmappedVMAs, vmas: mm.vmaCount,
      oomAttempts: oom?.attempts, oomReaped: oom?.reaped)
    for s in subs { s.1.unregister() }
    return result
  }

  public func text(includeLog: Bool) -> String {
    var out = [
      "variant \(variant.id), flavour \(flavor.rawValue), "
        + (oomAttempts.map {
          "OOM reaper over \(vmas) VMAs: \(unmappedVMAs) unmapped, \($0) attempt(s), "
            + (oomReaped == true ? "reaped" : "not reaped")
        }
          ?? "munmap: \(unmappedVMAs) range(s) unmapped"),
      "",
    ]
    out.append(
      TextTable.render(
        header: [
          "notifier", "starts", "failed", "ends", "missing_ends", "ends_without_start",
          "duplicate_ends", "active",
        ],
        rows: rows.map { r in
          [
            r.name, "\(r.ledger.starts)", "\(r.ledger.startsFailed)", "\(r.ledger.ends)",
            "\(r.ledger.missingEnds)", "\(r.ledger.endsWithoutStart)", "\(r.ledger.duplicateEnds)",
            r.activeCount.map(String.init) ?? "-",
          ]
        }))
    out.append("")
    out.append(
      "totals: missing_ends=\(totals.missingEnds) ends_without_start=\(totals.endsWithoutStart) duplicate_ends=\(totals.duplicateEnds) warnings=\(logCounts.warnings) bugs=\(logCounts.bugs) -> \(totals.isPaired ? "paired" : "NOT paired")"
    )
    if includeLog {
      out.append("")
      out.append(contentsOf: log.map(\.kernelForm))
    }
    return out.joined(separator: "\n")
  }

  public var json: String {
    var o = JSONValue.object([
      ("variant", .string(variant.id)), ("flavor", .string(flavor.rawValue)),
      (
        "notifiers",
        .array(
          rows.map { r in
            .object(
              [("name", .string(r.name))] + r.ledger.jsonFields
                + [("active", r.activeCount.map { .int(Int64($0)) } ?? .null)])
          })
      ),
      ("totals", .object(totals.jsonFields)),
      ("warnings", .int(Int64(logCounts.warnings))), ("bugs", .int(Int64(logCounts.bugs))),
      ("reaped_vmas", .int(Int64(unmappedVMAs))), ("total_vmas", .int(Int64(vmas))),
      ("oom_reaped", oomReaped.map { .bool($0) } ?? .null),
      ("oom_attempts", oomAttempts.map { .int(Int64($0)) } ?? .null),
    ])
    o = o.adding("log", .array(log.map { .string($0.text) }))
    return o.rendered()
  }
}

extension LedgerCounts {
  /// The ledger's metrics under the names the JSON outputs use.
  public var jsonFields: [(String, JSONValue)] {
    [
      ("starts", .int(Int64(starts))), ("starts_failed", .int(Int64(startsFailed))),
      ("ends", .int(Int64(ends))), ("missing_ends", .int(Int64(missingEnds))),
      ("ends_without_start", .int(Int64(endsWithoutStart))),
      ("duplicate_ends", .int(Int64(duplicateEnds))),
    ]
  }
}
