/// The verdict on a stress child that gave no report: it crashed, the
/// watchdog ended it (hung), or it exited without a word.
public struct StressFailure: Sendable {
  public enum Kind: String, Sendable {
    case crash
    case hung
    case exited = "no report"
    /// SIGINT/SIGTERM ended the child before it could report.
    case stopped
  }

  public let configuration: StressConfiguration
  public let kind: Kind
  public let crash: CrashReport?
  /// Each thread's last point (from the watchdog's SIGUSR1), if it answered.
  public let points: [String]
  public let limit: Double
  public let exitStatus: Int32?
  public let interruptedBy: Int32

  public init(configuration: StressConfiguration, outcome: ChildOutcome, limit: Double) {
    self.configuration = configuration
    self.limit = limit
    interruptedBy = outcome.interruptedBy
    points = (outcome.message("points") ?? "").split(separator: "\n").map(String.init)
    switch outcome.end {
    case .hung:
      kind = .hung
      crash = nil
      exitStatus = nil
    case .signaled(let sig) where outcome.interruptedBy != 0 && outcome.message("crash") == nil:
      _ = sig
      kind = .stopped
      crash = nil
      exitStatus = nil
    case .signaled(let sig):
      kind = .crash
      crash =
        CrashReport(crash: outcome.message("crash"), log: outcome.message("crashlog"), deadBy: sig)
        ?? CrashReport(
          crash: "signal \(sig) \(StressSignals.name(sig))", log: nil, deadBy: sig)
      exitStatus = nil
    case .exited(let status):
      if let c = CrashReport(crash: outcome.message("crash"), log: outcome.message("crashlog")) {
        kind = .crash
        crash = c
      } else {
        kind = .exited
        crash = nil
      }
      exitStatus = status
    }
  }

  /// The one-line verdict.
  public var verdict: String {
    switch kind {
    case .crash: crash?.verdict ?? "crash"
    case .hung:
      "hung: the run did not finish within \(StressReport.number(limit)) s (\(StressReport.number(configuration.seconds)) s plus the watchdog margin)"
    case .exited: "no report: the child exited with status \(exitStatus ?? -1) and said nothing"
    case .stopped:
      "stopped by \(StressSignals.name(interruptedBy)) before the run could report: nothing measured"
    }
  }

  /// How to run exactly this again.
  public var rerun: String {
    let c = configuration
    return
      "mmn-harness stress --variant \(c.variant.id) --flavor \(c.flavor) --seconds \(StressReport.number(c.seconds)) --readers \(c.readers) --writers \(c.writers) --fail-rate \(StressReport.number(c.failRate)) --classes \(c.classes.map(\.rawValue).joined(separator: ",")) --seed \(c.seed)"
  }

  /// Threads that had not finished, in the hung-task report's shape.
  var blocked: [String] {
    points.filter { !$0.contains(StressPoint.done.function) }
  }

  public var text: String {
    let c = configuration
    var out = [
      "stress: variant \(c.variant.id), flavour \(c.flavor), \(StressReport.number(c.seconds)) s, \(c.readers) reader(s), \(c.writers) writer(s), fail-rate \(StressReport.number(c.failRate)), seed \(c.seed)",
      "",
    ]
    switch kind {
    case .crash:
      out += crash?.kernelForm ?? []
    case .hung:
      for line in blocked {
        let name = line.split(separator: ":", maxSplits: 1).first.map(String.init) ?? line
        // How long it has sat at its point, as the hung-task report says it.
        let ms = line.range(of: "(for ").flatMap { r in
          Int(line[r.upperBound...].prefix { $0.isNumber })
        }
        out.append(
          "INFO: task \(name) blocked for more than \(ms.map { String($0 / 1000) } ?? StressReport.number(limit)) seconds."
        )
        out.append("  last point: \(line.dropFirst(name.count + 2))")
      }
      if points.isEmpty {
        out.append("INFO: the child did not answer SIGUSR1: no thread's point is known")
      } else {
        out.append("every thread's last point:")
        out += points.map { "  \($0)" }
      }
    case .exited, .stopped:
      break
    }
    out.append("")
    if interruptedBy != 0 {
      out.append("stopped by \(StressSignals.name(interruptedBy)); seed \(c.seed)")
    }
    out.append("verdict: FAILED: \(verdict)")
    out.append("  seed \(c.seed); again: \(rerun)")
    return out.joined(separator: "\n")
  }

  public var json: JSONValue {
    let c = configuration
    var fields: [(String, JSONValue)] = [
      ("variant", .string(c.variant.id)), ("flavor", .string(c.flavor.rawValue)),
      ("seconds", .double(c.seconds)), ("readers", .int(Int64(c.readers))),
      ("writers", .int(Int64(c.writers))), ("ok", .bool(false)),
      ("verdict", .string(kind.rawValue)), ("message", .string(verdict)),
      ("seed", .string(String(c.seed))),
    ]
    if let crash {
      fields += [
        ("signal", .string(crash.signalName)), ("function", .string(crash.function)),
        ("task", .string(crash.task)),
        ("call_trace", .array(crash.callTrace.map { .string($0) })),
        ("log", .array(crash.logLines.map { .string($0) })),
      ]
    }
    if kind == .hung {
      fields += [
        ("limit_seconds", .double(limit)),
        ("blocked", .array(blocked.map { .string($0) })),
        ("points", .array(points.map { .string($0) })),
      ]
    }
    if interruptedBy != 0 {
      fields.append(("stopped_by", .string(StressSignals.name(interruptedBy))))
    }
    return .object(fields)
  }
}
