import CSupport
import Foundation

/// One compare cell on the pipe between a child (`compare --cell`) and the
/// parent: a `ScenarioResult`, field by field.
struct CellWire: Codable {
  struct WireMetric: Codable {
    let name: String
    let int: Int64?
    let bool: Bool?
  }

  struct WireRecord: Codable {
    let kind: Int32
    let pid: Int32
    let cpu: Int32
    let comm: String
    let sequence: UInt64
    let time: UInt64
    let text: String
    let tainted: Bool
  }

  let scenario: String
  let target: String
  // every field of ScenarioMetrics: a field left off the wire reads as
  // zero in the parent, and the verdict derived from it is silently wrong
  let useAfterFree, mightSleep, lockdepSplats: UInt64
  let tainted: Bool
  let missingEnds, endsWithoutStart, duplicateEnds, warnings, bugs, hungWaits: UInt64
  let deferredStarts, finishes, duplicateFinishes, missingFinishes: UInt64
  let hung: Bool
  let lockCycles: Int
  let starts, startsFailed, ends: UInt64
  let extra: [WireMetric]
  let log: [WireRecord]

  init(_ r: ScenarioResult) {
    let m = r.metrics
    scenario = r.scenario
    target = r.target
    useAfterFree = m.useAfterFree
    mightSleep = m.mightSleep
    lockdepSplats = m.lockdepSplats
    tainted = m.tainted
    missingEnds = m.missingEnds
    endsWithoutStart = m.endsWithoutStart
    duplicateEnds = m.duplicateEnds
    deferredStarts = m.deferredStarts
    finishes = m.finishes
    duplicateFinishes = m.duplicateFinishes
    missingFinishes = m.missingFinishes
    warnings = m.warnings
    bugs = m.bugs
    hungWaits = m.hungWaits
    hung = m.hung
    lockCycles = m.lockCycles
    starts = m.starts
    startsFailed = m.startsFailed
    ends = m.ends
    extra = m.extra.map { e in
      switch e.value {
      case .int(let v): WireMetric(name: e.name, int: v, bool: nil)
      case .bool(let b): WireMetric(name: e.name, int: nil, bool: b)
      }
    }
    log = r.log.map {
      WireRecord(
        kind: $0.kind.rawValue, pid: $0.pid, cpu: $0.cpu, comm: $0.comm, sequence: $0.sequence,
        time: $0.time, text: $0.text, tainted: $0.tainted)
    }
  }

  var result: ScenarioResult {
    var m = ScenarioMetrics()
    m.useAfterFree = useAfterFree
    m.mightSleep = mightSleep
    m.lockdepSplats = lockdepSplats
    m.tainted = tainted
    m.missingEnds = missingEnds
    m.endsWithoutStart = endsWithoutStart
    m.duplicateEnds = duplicateEnds
    m.deferredStarts = deferredStarts
    m.finishes = finishes
    m.duplicateFinishes = duplicateFinishes
    m.missingFinishes = missingFinishes
    m.warnings = warnings
    m.bugs = bugs
    m.hungWaits = hungWaits
    m.hung = hung
    m.lockCycles = lockCycles
    m.starts = starts
    m.startsFailed = startsFailed
    m.ends = ends
    m.extra = extra.map { w in
      w.bool.map { Metric(w.name, .bool($0)) } ?? Metric(w.name, .int(w.int ?? 0))
    }
    return ScenarioResult(
      scenario: scenario, target: target, metrics: m,
      log: log.map {
        var record = KernelLogRecord(
          kind: KernelLogRecord.Kind(rawValue: $0.kind) ?? .error, pid: $0.pid, cpu: $0.cpu,
          comm: $0.comm, sequence: $0.sequence, time: $0.time, text: $0.text)
        record.tainted = $0.tainted
        return record
      })
  }
}

/// Compare cells, each in a re-executed child (`compare --cell S/T`), so
/// a variant that crashes or hangs one cell gets a verdict there while the
/// rest of the matrix still runs.
public enum CellIsolation {
  /// The child's side: one cell's result as the `cell` message.
  public static func runChild(
    scenario: any Scenario, target: String, context: ScenarioContext, channel: ChildChannel
  ) {
    mmn_crash_install_for_cell(channel)
    // as stress and explore do: a free inside a grace period is a report
    mmn_gp_check_enable()
    // On an owned thread, as Comparison.run runs every cell.
    let result = KernelThread.run(name: "mmn-compare/0") {
      scenario.run(target: target, context: context)
    }
    let data = (try? JSONEncoder().encode(CellWire(result))) ?? Data()
    channel.send("cell", String(decoding: data, as: UTF8.self))
  }

  /// The parent's side: runs `arguments` (which name the cell) as a child
  /// and turns however it ended into the cell's result. A crash becomes a
  /// `crash` verdict (the `crash_signal` metric), a child the watchdog
  /// ends becomes `hung` (the `watchdog` metric).
  public static func run(
    scenario: String, target: String, arguments: [String], limit: Double
  ) -> ScenarioResult {
    let outcome = ChildProcess.run(arguments: arguments, limit: limit)
    if case .exited(0) = outcome.end, let text = outcome.message("cell"),
      let wire = try? JSONDecoder().decode(CellWire.self, from: Data(text.utf8))
    {
      return wire.result
    }
    var m = ScenarioMetrics()
    var lines: [String]
    switch outcome.end {
    case .hung(let seconds):
      m.hung = true
      m.hungWaits = 1
      m.extra = [.int("watchdog", 1)]
      lines = [
        "INFO: task mmn-compare blocked for more than \(StressReport.number(seconds)) seconds.",
        "  the cell did not finish within its limit; the watchdog ended it",
      ]
    case .signaled(let sig):
      let crash =
        CrashReport(crash: outcome.message("crash"), log: outcome.message("crashlog"), deadBy: sig)
      m.extra = [.int("crash_signal", sig)]
      lines = [crash?.verdict ?? "crash: \(StressSignals.name(sig))"] + (crash?.kernelForm ?? [])
    case .exited(let status):
      m.extra = [.int("crash_signal", 0), .int("exit_status", status)]
      lines = ["no report: the cell's child exited with status \(status) and said nothing"]
    }
    let record = KernelLogRecord(
      kind: .bug, pid: 0, cpu: 0, comm: "mmn-harness", sequence: 1, time: 0,
      text: lines.joined(separator: "\n"))
    return ScenarioResult(scenario: scenario, target: target, metrics: m, log: [record])
  }

  private static func mmn_crash_install_for_cell(_ channel: ChildChannel) {
    ChildSide.prepareCrashOnly(channel: channel)
  }
}
