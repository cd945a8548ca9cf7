/// The three ways `compare` prints a comparison.
extension Comparison {
  /// Rows that share a target list print as one table.
  struct Group {
    let targets: [String]
    let rows: [Row]
  }

  var groups: [Group] {
    var out: [Group] = []
    for row in rows {
      let targets = row.results.map(\.target)
      if let i = out.firstIndex(where: { $0.targets == targets }) {
        out[i] = Group(targets: targets, rows: out[i].rows + [row])
      } else {
        out.append(Group(targets: targets, rows: [row]))
      }
    }
    return out
  }

  var heading: String {
    (labelsBases
      ? "base \(Set(variants.map(\.base)).count > 1 ? "all" : variants.first?.base ?? "v5.11"), "
      : "")
      + "flavour \(context.flavor.rawValue), seed \(context.seed), hung timeout \(context.hungTimeoutMilliseconds) ms"
  }

  /// The verdict rules, worst first, with what each number counts; the
  /// two-pass ones only where a cell ran a two-pass driver.
  var legend: [(String, String)] {
    let twoPass = rows.contains { row in
      row.results.contains { !$0.metrics.twoPassMetrics.isEmpty }
    }
    return Verdict.Kind.allCases.filter {
      twoPass || ($0 != .duplicateFinish && $0 != .missingFinish)
    }.map { kind in
      let n = kind == .notReaped ? "R/V" : "N"
      return ("\(kind.short) \(n)", kind.numberMeaning)
    }
  }

  // MARK: terminal

  public func text(includeLog: Bool = false) -> String {
    var out = ["mmn-harness compare: \(heading)", ""]
    for group in groups {
      out.append(
        TextTable.render(
          header: ["scenario"] + group.targets.map(label),
          rows: group.rows.map { row in [row.scenario.id] + row.results.map(\.verdict.cell) }))
      out.append("")
    }
    out.append("verdicts, worst first (a cell shows the first that holds):")
    let width = legend.map(\.0.count).max() ?? 0
    for (name, meaning) in legend {
      out.append("  " + name + String(repeating: " ", count: width - name.count) + "  " + meaning)
    }
    out.append("")
    out.append("claims:")
    for row in rows {
      out.append("  \(row.scenario.id) (\(row.scenario.origin)): \(row.scenario.claim)")
    }
    if includeLog {
      out.append("")
      out.append(contentsOf: logSections(fence: nil))
    }
    return out.joined(separator: "\n")
  }

  // MARK: review mail

  public func markdown(includeLog: Bool = false) -> String {
    var out = ["### mmn-harness compare", "", heading, ""]
    for group in groups {
      out.append("| scenario | " + group.targets.map(label).joined(separator: " | ") + " |")
      out.append("|" + String(repeating: "---|", count: group.targets.count + 1))
      for row in group.rows {
        out.append(
          "| `\(row.scenario.id)` | "
            + row.results.map { Self.cellMarkdown($0.verdict.cell) }.joined(separator: " | ")
            + " |")
      }
      out.append("")
    }
    out.append("Each cell is the first verdict that holds, worst first, and the number behind it:")
    out.append("")
    for (name, meaning) in legend { out.append("- **\(name)**: \(meaning)") }
    out.append("")
    out.append("| scenario | from | set-up | claim |")
    out.append("|---|---|---|---|")
    for row in rows {
      let s = row.scenario
      out.append(
        "| `\(s.id)` | \(Self.cellMarkdown(s.origin)) | \(Self.cellMarkdown(s.setup)) | \(Self.cellMarkdown(s.claim)) |"
      )
    }
    if includeLog {
      out.append("")
      out.append(contentsOf: logSections(fence: "```"))
    }
    return out.joined(separator: "\n")
  }

  static func cellMarkdown(_ s: String) -> String { s.replacingPipes() }

  /// Each cell's kernel log in dmesg form, under a `scenario / target` line.
  func logSections(fence: String?) -> [String] {
    var out: [String] = []
    for row in rows {
      for result in row.results {
        out.append(
          fence == nil
            ? "== \(row.scenario.id) / \(label(result.target)) =="
            : "#### \(row.scenario.id) / \(label(result.target))")
        if let fence { out.append(fence) }
        out.append(
          contentsOf: result.log.isEmpty ? ["(nothing logged)"] : result.log.map(\.kernelForm))
        if let fence { out.append(fence) }
        out.append("")
      }
    }
    return out
  }

  // MARK: JSON

  /// `{"variants":[{"id","summary","upstream"}],"scenarios":[{"id","seed",
  /// "claim","results":[{"variant","verdict","metrics":{...}}]}]}`; with
  /// `includeLog`, each result also carries its `log` lines.
  public func json(includeLog: Bool = false, includeTimings: Bool = false) -> JSONValue {
    .object([
      (
        "variants",
        .array(
          variants.map { v in
            .object(
              [
                ("id", .string(v.id)), ("summary", .string(v.summary)),
                ("upstream", .string(v.upstream)),
              ] + (labelsBases ? [("base", .string(v.base)), ("label", .string(v.label))] : []))
          })
      ),
      (
        "scenarios",
        .array(
          rows.map { row in
            .object([
              ("id", .string(row.scenario.id)), ("seed", .string(row.scenario.origin)),
              ("claim", .string(row.scenario.claim)),
              (
                "results",
                .array(
                  row.results.map { r in
                    var o = Self.json(r, includeLog: includeLog, includeTimings: includeTimings)
                    if labelsBases, label(r.target) != r.target {
                      o = o.adding("label", .string(label(r.target)))
                    }
                    return o
                  })
              ),
            ])
          })
      ),
    ])
  }

  /// Metrics whose values are timings, or counts of what ran while a
  /// timed wait lasted: they differ from run to run with the same seed, so
  /// `metrics` leaves them out and `timings` carries them (`--timings`).
  /// Today only the memslot starvation run measures such things.
  public static func timingMetricNames(_ metrics: ScenarioMetrics) -> Set<String> {
    let names = metrics.all.map(\.name)
    var timings = Set(names.filter { $0.contains("_us") || $0 == "concurrent_invalidations" })
    if names.contains("concurrent_invalidations") {
      // the invalidations that ran during the timed updates
      timings.formUnion(["starts", "starts_failed", "ends"])
    }
    return timings
  }

  static func json(_ r: ScenarioResult, includeLog: Bool, includeTimings: Bool = false)
    -> JSONValue
  {
    let timing = timingMetricNames(r.metrics)
    func value(_ m: Metric) -> (String, JSONValue) {
      switch m.value {
      case .int(let v): (m.name, .int(v))
      case .bool(let b): (m.name, .bool(b))
      }
    }
    var fields: [(String, JSONValue)] = [
      ("variant", .string(r.target)), ("verdict", .string(r.verdict.kind.rawValue)),
      ("metrics", .object(r.metrics.all.filter { !timing.contains($0.name) }.map(value))),
    ]
    // a bounded wait expired: say which metrics were read in that state
    if r.metrics.tainted {
      fields.append(("tainted_metrics", .array(r.metrics.taintedMetricNames.map { .string($0) })))
    }
    let timed = r.metrics.all.filter { timing.contains($0.name) }
    if !timed.isEmpty {
      fields.append(
        includeTimings
          ? ("timings", .object(timed.map(value)))
          : ("timings_omitted", .array(timed.map { .string($0.name) })))
    }
    if includeLog { fields.append(("log", .array(r.log.map { .string($0.kernelForm) }))) }
    return .object(fields)
  }
}

extension String {
  fileprivate func replacingPipes() -> String {
    split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|")
  }
}
