/// What `explore` prints: a line per cell, the matrix for several
/// variants, and each counterexample as a per-thread trace.
public enum ExploreOutput {
  /// "clean (812 schedules, bound 2)" or the violated invariant.
  public static func cell(_ r: ExploreResult) -> String {
    if let v = r.violation { return "\(v.invariant.rawValue) (\(v.preemptions)p)" }
    switch r.strategy {
    case .exhaustive(let bound): return "clean (\(r.schedules), bound \(bound))"
    case .pct(let depth, _, _): return "none found (\(r.schedules), PCT d=\(depth))"
    }
  }

  /// What the result proves, in words a reviewer can quote.
  public static func claim(_ r: ExploreResult) -> String {
    let shard = r.shard.map { " [shard \($0.index + 1)/\($0.count)]" } ?? ""
    switch r.strategy {
    case .exhaustive(let bound):
      if let v = r.violation {
        return
          "\(v.invariant.rawValue) found by exhaustive search within preemption bound \(bound) after \(r.schedules) schedules\(prunedText(r)) (counterexample: \(v.preemptions) preemption\(v.preemptions == 1 ? "" : "s"))\(shard)"
      }
      return
        "exhaustive within preemption bound \(bound): \(r.schedules) schedules\(prunedText(r)), no violation\(shard)"
    case .pct(let depth, let runs, let seed):
      if let v = r.violation {
        return
          "\(v.invariant.rawValue) found by PCT d=\(depth) (seed \(seed)) after \(r.schedules) schedules"
      }
      return
        "PCT d=\(depth), \(r.schedules) schedules (\(runs) per instance, seed \(seed)), no violation: not a proof"
    }
  }

  /// " (M pruned as equivalent)" when sleep sets cut anything.
  static func prunedText(_ r: ExploreResult) -> String {
    r.pruned > 0 ? " (\(r.pruned) pruned as equivalent)" : ""
  }

  /// `label` names a variant (`explore --base` passes its base label,
  /// `v5.11/upstream-fix`); replay tokens keep the id.
  public static func text(
    _ results: [ExploreResult], traces: Bool, label: (String) -> String = { $0 }
  ) -> String {
    var out = ""
    let variants = unique(results.map(\.variant))
    let configs = unique(results.map(\.configuration))
    if variants.count > 1 {
      out += matrix(results, variants: variants, configs: configs, label: label) + "\n"
    }
    for r in results where variants.count == 1 || r.violation != nil {
      out += "\(label(r.variant)) on \(r.configuration): \(claim(r))\n"
      out += "  \(throughput(r))\n"
      if let v = r.violation {
        out += "  instance: \(v.instance)\n"
        out += "  \(v.detail)\n"
        out += "  replay: mmn-harness explore --replay \(v.replay)\n"
        if traces || variants.count == 1 {
          out += counterexample(v, indent: "    ")
        }
      }
    }
    return out
  }

  public static func throughput(_ r: ExploreResult) -> String {
    let rate = r.seconds > 0 ? Double(r.executions) / r.seconds : 0
    return
      "\(r.executions) executions in \(format(r.seconds)) s (\(Int(rate.rounded())) schedules/s)"
  }

  public static func counterexample(_ v: ExploreViolation, indent: String) -> String {
    var out = "\(indent.dropLast(2))trace:\n"
    for line in v.trace { out += indent + line + "\n" }
    if !v.kernelLog.isEmpty {
      out += "\(indent.dropLast(2))kernel log:\n"
      for record in v.kernelLog {
        for line in record.split(separator: "\n", omittingEmptySubsequences: false) {
          out += indent + line + "\n"
        }
      }
    }
    return out
  }

  static func matrix(
    _ results: [ExploreResult], variants: [String], configs: [String],
    label: (String) -> String = { $0 }
  ) -> String {
    var rows: [[String]] = []
    for c in configs {
      var row = [c]
      for v in variants {
        row.append(results.first { $0.variant == v && $0.configuration == c }.map(cell) ?? "-")
      }
      rows.append(row)
    }
    return TextTable.render(header: ["configuration"] + variants.map(label), rows: rows)
  }

  public static func json(_ results: [ExploreResult]) -> JSONValue {
    .object([("results", .array(results.map(json)))])
  }

  static func json(_ r: ExploreResult) -> JSONValue {
    var fields: [(String, JSONValue)] = [
      ("variant", .string(r.variant)),
      ("config", .string(r.configuration)),
      ("strategy", .string(r.strategy.name)),
      ("bound", r.bound.map { .int(Int64($0)) } ?? .null),
      ("exhaustive", .bool(r.exhaustive)),
      ("schedules", .int(Int64(r.schedules))),
      ("pruned", .int(Int64(r.pruned))),
      ("executions", .int(Int64(r.executions))),
      ("seconds", .double(r.seconds)),
    ]
    if case .pct(let depth, let runs, let seed) = r.strategy {
      fields.append(
        (
          "pct",
          .object([
            ("depth", .int(Int64(depth))), ("runs", .int(Int64(runs))),
            ("seed", .string(String(seed))),
          ])
        ))
    }
    if let s = r.shard {
      fields.append(
        ("shard", .object([("index", .int(Int64(s.index))), ("count", .int(Int64(s.count)))])))
    }
    fields.append(
      (
        "violation",
        r.violation.map { v in
          .object([
            ("invariant", .string(v.invariant.rawValue)),
            ("preemptions", .int(Int64(v.preemptions))),
            ("instance", .string(v.instance)),
            ("detail", .string(v.detail)),
            ("replay", .string(v.replay)),
            ("trace", .array(v.trace.map { .string($0) })),
            ("kernel_log", .array(v.kernelLog.map { .string($0) })),
          ])
        } ?? .null
      ))
    return .object(fields)
  }

  static func unique(_ xs: [String]) -> [String] {
    var seen = Set<String>()
    return xs.filter { seen.insert($0).inserted }
  }

  static func format(_ seconds: Double) -> String {
    let tenths = (seconds * 10).rounded() / 10
    return String(tenths)
  }
}
