/// The report in the three forms `bench --format` offers.
extension BenchReport {
  // MARK: JSON

  /// `{"machine":{…},"aa_spread":…,"suspects":…,"rows":[…],"concurrency":[…],
  /// "controls":[…],"references":[…]}`; a ratio that does not apply is null.
  public var json: JSONValue {
    .object([
      ("machine", machineJSON),
      ("aa_spread", .double(aaSpread)),
      ("suspects", .int(Int64(suspects))),
      ("rows", .array(rows.map(\.json))),
      ("concurrency", .array(concurrency.map(\.json))),
      ("controls", .array(controls.map(\.json))),
      ("references", .array(references.map(\.json))),
    ])
  }

  var machineJSON: JSONValue {
    let m = machine
    return .object([
      ("cpus", .int(Int64(m.cpus))),
      ("cpu_model", .string(m.cpuModel)),
      ("kernel", .string(m.kernel)),
      ("liburcu", m.liburcuVersion.map(JSONValue.string) ?? .null),
      ("liburcu_library", .string(m.liburcuLibrary)),
      ("sys_membarrier", .bool(m.sysMembarrier)),
      ("build", .string(m.build)),
      ("c_optimized", .bool(m.cOptimized)),
      ("clock", .string(m.clock)),
      ("pinned_cpu", m.pinnedCPU.map { .int(Int64($0)) } ?? .null),
      ("samples", .int(Int64(plan.samples))),
      ("batch_ns", .int(Int64(plan.batchNanoseconds))),
      ("minimum_iterations", .int(Int64(plan.minimumIterations))),
      ("placements", .int(Int64(plan.placements))),
      ("statistic", .string("median of samples; each ratio is the median of per-round ratios")),
      ("seconds", .double(seconds)),
    ])
  }

  // MARK: CSV

  /// The rows, then (after a blank line) the concurrency rows, each with a header.
  public var csv: String {
    func cell(_ d: Double?) -> String { d.map { format($0, 4) } ?? "" }
    var lines = [
      "variant,flavor,notifiers,path,driver,ledger,ns_per_op,ns_per_op_min,ns_per_op_max,"
        + "ns_per_notifier,ratio_to_floor,ratio_to_original,ratio_to_c,ratio_to_success,"
        + "iterations,samples,spread,ratio_to_reference,suspect,suspect_reason"
    ]
    for r in rows {
      lines.append(
        [
          plan.name(r.variant), r.flavor.rawValue, String(r.notifiers), r.path.rawValue,
          r.driver.rawValue,
          String(r.ledger), cell(r.nsPerOp), cell(r.nsPerOpMin), cell(r.nsPerOpMax),
          cell(r.nsPerNotifier), cell(r.ratioToFloor), cell(r.ratioToOriginal), cell(r.ratioToC),
          cell(r.ratioToSuccess), String(r.iterations), String(r.samples), cell(r.spread),
          cell(r.ratioToReference), String(r.suspect), csvText(r.suspectReason ?? ""),
        ].joined(separator: ","))
    }
    if !concurrency.isEmpty {
      lines.append("")
      lines.append(
        "flavor,variant,notifiers,readers,writers,invalidations_per_s,"
          + "single_reader_invalidations_per_s,scaling,registrations_per_s,"
          + "sync_latency_us_p50,sync_latency_us_p99,sync_calls,writer_ops_per_s,"
          + "writer_rate_single,writer_rate_multi,round_ratios,scaling_per_cpu_second,suspect,"
          + "suspect_reason")
      for c in concurrency {
        lines.append(
          [
            c.flavor.rawValue, plan.name(c.variant), String(c.notifiers), String(c.readers),
            String(c.writers), cell(c.invalidationsPerSecond),
            cell(c.singleReaderInvalidationsPerSecond), cell(c.scaling),
            cell(c.registrationsPerSecond), cell(c.syncLatencyMicrosecondsP50),
            cell(c.syncLatencyMicrosecondsP99), String(c.syncCalls), String(c.writerOpsPerSecond),
            cell(c.writerRateSingle), cell(c.writerRateMulti),
            c.roundRatios.map { format($0, 3) }.joined(separator: ";"),
            cell(c.scalingPerCPUSecond), String(c.suspect),
            csvText(c.suspectReason ?? ""),
          ].joined(separator: ","))
      }
    }
    return lines.joined(separator: "\n")
  }

  // MARK: text

  /// Tables for a terminal: the rows, the ledger's cost, the floors, the
  /// concurrency run and the issue's targets.
  public var text: String {
    var out: [String] = []
    let m = machine
    out.append(
      "machine: \(m.cpus) CPU(s) \(m.cpuModel), Linux \(m.kernel), liburcu "
        + "\(m.liburcuVersion ?? m.liburcuLibrary), \(m.build) build, "
        + (m.pinnedCPU.map { "pinned to CPU \($0)" }
          ?? "not pinned\(m.pinError.map { " (\($0))" } ?? "")")
        + ", \(plan.samples) samples of ~\(plan.batchNanoseconds / 1000) µs over "
        + "\(plan.placements) placements, medians")
    out.append("")
    let header = [
      "variant", "flavor", "N", "path", "driver", "ledger", "ns/op", "min..max", "ns/notifier",
      "×floor", "×reference", "×original", "×C", "×success", "iter", "spread", "",
    ]
    out.append(
      TextTable.render(
        header: header,
        rows: rows.map { r in
          [
            plan.name(r.variant), r.flavor.rawValue, String(r.notifiers), r.path.rawValue,
            r.driver.rawValue, r.ledger ? "on" : "off", format(r.nsPerOp, 1),
            "\(format(r.nsPerOpMin, 1))..\(format(r.nsPerOpMax, 1))", format(r.nsPerNotifier, 2),
            ratio(r.ratioToFloor), ratio(r.ratioToReference), ratio(r.ratioToOriginal),
            ratio(r.ratioToC), ratio(r.ratioToSuccess), String(r.iterations),
            format(r.spread * 100, 1) + "%", r.suspect ? "SUSPECT" : "",
          ]
        }))
    let ledgerCosts = ledgerCostRows
    if !ledgerCosts.isEmpty {
      out.append("")
      out.append("ledger cost (the pairing ledger interposed on every callback):")
      out.append(
        TextTable.render(
          header: ["variant", "flavor", "N", "path", "driver", "ns/notifier off", "on", "added"],
          rows: ledgerCosts))
    }
    if !floors.isEmpty {
      out.append("")
      out.append(
        "floor (plain C loop over the same nodes: every start, then every end; no RCU, no checks):")
      out.append(
        TextTable.render(
          header: ["flavor", "N", "driver", "ns/op", "ns/notifier"],
          rows: floors.map {
            [
              $0.flavor.rawValue, String($0.notifiers), $0.driver.rawValue, format($0.nsPerOp, 1),
              format($0.nsPerNotifier, 2),
            ]
          }))
    }
    if !accounting.isEmpty {
      out.append("")
      out.append(
        "non_block_start/end accounting (original's C, success list, also walked by original "
          + "rebuilt without CONFIG_DEBUG_ATOMIC_SLEEP; with/without: what the accounting multiplies):"
      )
      out.append(
        TextTable.render(
          header: ["flavor", "N", "ns/notifier without", "×floor without", "with/without"],
          rows: accounting.map {
            [
              $0.flavor.rawValue, String($0.notifiers), format($0.nsPerNotifier, 2),
              ratio($0.ratioToFloor), ratio($0.accountingFactor),
            ]
          }))
    }
    if !references.isEmpty {
      out.append("")
      out.append(
        "reference (v5.11's walk with every harness addition compiled out: lockdep, SRCU "
          + "bookkeeping, tracepoints, range ids; CONFIG_DEBUG_ATOMIC_SLEEP kept; over original's C, "
          + "success, ledger-off list; core/reference: what the harness costs):")
      out.append(
        TextTable.render(
          header: ["flavor", "N", "ns/op", "ns/notifier", "core/reference", "reference/floor"],
          rows: references.map {
            [
              $0.flavor.rawValue, String($0.notifiers), format($0.nsPerOp, 1),
              format($0.nsPerNotifier, 2), ratio($0.coreRatio), ratio($0.ratioToFloor),
            ]
          }))
    }
    if !controls.isEmpty {
      out.append("")
      out.append(
        "A/A control (a second original list, C, success, ledger off, in the next copy of the "
          + "timed loop, against the first; 1.000 = no difference; p10..p90 of the per-round "
          + "ratios); aa_spread \(format(aaSpread * 100, 2))%:")
      out.append(
        TextTable.render(
          header: ["flavor", "N", "ratio", "p10..p90"],
          rows: controls.map {
            [
              $0.flavor.rawValue, String($0.notifiers), format($0.ratio, 3),
              "\(format($0.spreadP10, 3))..\(format($0.spreadP90, 3))",
            ]
          }))
    }
    if !concurrency.isEmpty {
      out.append("")
      out.append(
        "concurrency (readers invalidate; writers register, put with call_srcu, time synchronize_srcu):"
      )
      out.append(
        TextTable.render(
          header: [
            "flavor", "variant", "N", "readers", "writers", "inval/s per reader", "1 reader",
            "scaling", "per-round ratios", "per CPU-s", "writer/s 1 | R", "sync p50 µs",
            "sync p99 µs",
          ],
          rows: concurrency.map { c in
            [
              c.flavor.rawValue, plan.name(c.variant), String(c.notifiers), String(c.readers),
              String(c.writers), format(c.invalidationsPerSecond, 0),
              format(c.singleReaderInvalidationsPerSecond, 0), ratio(c.scaling),
              c.roundRatios.map { format($0, 2) }.joined(separator: " "),
              ratio(c.scalingPerCPUSecond),
              c.writerRateSingle.map {
                format($0, 0) + " | " + (c.writerRateMulti.map { format($0, 0) } ?? "-")
              } ?? "-",
              c.syncLatencyMicrosecondsP50.map { format($0, 1) } ?? "-",
              c.syncLatencyMicrosecondsP99.map { format($0, 1) } ?? "-",
            ]
          }))
    }
    out.append("")
    let suspectRows = rows.filter(\.suspect)
    let suspectConcurrency = concurrency.filter(\.suspect)
    if suspectRows.isEmpty && suspectConcurrency.isEmpty {
      out.append(
        "self-checks: no suspect row (every batch >= \(plan.minimumIterations) iterations; no "
          + "superset of another's work measured faster by more than the A/A spread; no scaling "
          + "above the reader count)")
    } else {
      out.append("self-checks: \(suspectRows.count + suspectConcurrency.count) SUSPECT row(s):")
      for r in suspectRows {
        out.append(
          "  SUSPECT \(plan.name(r.variant)) \(r.flavor) N=\(r.notifiers) \(r.path) \(r.driver) ledger "
            + "\(r.ledger ? "on" : "off"): \(r.suspectReason!)")
      }
      for c in suspectConcurrency {
        out.append("  SUSPECT concurrency \(c.flavor) \(c.readers) readers: \(c.suspectReason!)")
      }
    }
    let verdicts = targets
    if !verdicts.isEmpty {
      out.append("")
      out.append("targets (issues 5 and 15), worst case over the rows each one covers:")
      out.append(
        TextTable.render(
          header: ["target", "limit", "worst", "where", "verdict"],
          rows: verdicts.map { t in
            [
              t.name, t.limitText, format(t.worst, 3), t.worstAt,
              t.met
                ? "met"
                : t.limit == 0
                  ? "MISSED (\(format(t.worst, 0)))" : "MISSED by \(format(t.miss * 100, 1))%",
            ]
          }))
      if let (worst, at) = coreFloorWithoutAccounting {
        out.append(
          "core / floor with the accounting compiled out (CONFIG_DEBUG_ATOMIC_SLEEP=n), "
            + "same N and flavours: worst \(format(worst, 3)) at original \(at)")
      }
    }
    return out.joined(separator: "\n")
  }

  /// The core/floor target's rows, timed without the accounting: the
  /// worst ratio and where (N ≥ 64, memb qsbr bp).
  var coreFloorWithoutAccounting: (Double, String)? {
    accounting.filter { $0.notifiers >= 64 && $0.flavor != .mb }
      .compactMap { a in a.ratioToFloor.map { ($0, "\(a.flavor) N=\(a.notifiers)") } }
      .max { $0.0 < $1.0 }
  }

  /// ns per notifier with the ledger off and on, for every list measured both ways.
  var ledgerCostRows: [[String]] {
    var out: [[String]] = []
    for on in rows where on.ledger {
      guard
        let off = rows.first(where: {
          !$0.ledger && $0.variant == on.variant && $0.flavor == on.flavor
            && $0.notifiers == on.notifiers && $0.path == on.path && $0.driver == on.driver
        })
      else { continue }
      out.append([
        plan.name(on.variant), on.flavor.rawValue, String(on.notifiers), on.path.rawValue,
        on.driver.rawValue, format(off.nsPerNotifier, 2), format(on.nsPerNotifier, 2),
        "+" + format(on.nsPerNotifier - off.nsPerNotifier, 2),
      ])
    }
    return out
  }
}

extension BenchRow {
  var json: JSONValue {
    func number(_ d: Double?) -> JSONValue { d.map(JSONValue.double) ?? .null }
    return .object(
      [
        ("variant", .string(variant.id)),
        ("flavor", .string(flavor.rawValue)),
        ("notifiers", .int(Int64(notifiers))),
        ("path", .string(path.rawValue)),
        ("driver", .string(driver.rawValue)),
        ("ledger", .bool(ledger)),
        ("ns_per_op", .double(nsPerOp)),
        ("ns_per_notifier", .double(nsPerNotifier)),
        ("ratio_to_floor", number(ratioToFloor)),
        ("ratio_to_original", number(ratioToOriginal)),
        ("ratio_to_c", number(ratioToC)),
        ("ratio_to_reference", number(ratioToReference)),
        ("iterations", .int(Int64(iterations))),
        ("spread", .double(spread)),
        ("suspect", .bool(suspect)),
      ] + (suspectReason.map { [("suspect_reason", JSONValue.string($0))] } ?? []))
  }
}

extension BenchControl {
  var json: JSONValue {
    .object([
      ("flavor", .string(flavor.rawValue)),
      ("notifiers", .int(Int64(notifiers))),
      ("ratio", .double(ratio)),
      ("spread", .double(spread)),
      ("p10", .double(spreadP10)),
      ("p90", .double(spreadP90)),
    ])
  }
}

extension BenchReference {
  var json: JSONValue {
    func number(_ d: Double?) -> JSONValue { d.map(JSONValue.double) ?? .null }
    return .object([
      ("flavor", .string(flavor.rawValue)),
      ("notifiers", .int(Int64(notifiers))),
      ("ns_per_op", .double(nsPerOp)),
      ("ns_per_notifier", .double(nsPerNotifier)),
      ("core_over_reference", number(coreRatio)),
      ("reference_over_floor", number(ratioToFloor)),
    ])
  }
}

extension ConcurrencyRow {
  var json: JSONValue {
    func number(_ d: Double?) -> JSONValue { d.map(JSONValue.double) ?? .null }
    return .object(
      [
        ("flavor", .string(flavor.rawValue)),
        ("readers", .int(Int64(readers))),
        ("writers", .int(Int64(writers))),
        ("invalidations_per_s", .double(invalidationsPerSecond)),
        ("scaling", number(scaling)),
        ("sync_latency_us_p50", number(syncLatencyMicrosecondsP50)),
        ("sync_latency_us_p99", number(syncLatencyMicrosecondsP99)),
        ("round_ratios", .array(roundRatios.map(JSONValue.double))),
        ("scaling_per_cpu_second", number(scalingPerCPUSecond)),
        ("writer_ops_per_s", .int(Int64(writerOpsPerSecond))),
        ("writer_rate_single", number(writerRateSingle)),
        ("writer_rate_multi", number(writerRateMulti)),
        ("suspect", .bool(suspect)),
      ] + (suspectReason.map { [("suspect_reason", JSONValue.string($0))] } ?? []))
  }
}

/// A CSV field: quoted when it holds a comma or a quote.
private func csvText(_ s: String) -> String {
  guard s.contains(",") || s.contains("\"") else { return s }
  return "\"" + String(s.flatMap { $0 == "\"" ? ["\"", "\""] : [$0] }) + "\""
}

/// `digits` decimals, no exponent.
func format(_ d: Double, _ digits: Int) -> String {
  guard d.isFinite else { return "-" }
  var p = 1.0
  for _ in 0..<digits { p *= 10 }
  let r = (d * p).rounded() / p
  if digits == 0 { return String(Int64(r)) }
  let whole = Int64(r.magnitude.rounded(.down))
  let frac = Int64(((r.magnitude - Double(whole)) * p).rounded())
  let fracText = String(frac)
  return (r < 0 ? "-" : "") + String(whole) + "."
    + String(repeating: "0", count: max(0, digits - fracText.count)) + fracText
}

private func ratio(_ d: Double?) -> String { d.map { format($0, 3) } ?? "-" }
