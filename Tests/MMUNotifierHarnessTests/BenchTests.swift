import CSupport
import Testing

@testable import MMUNotifierHarness

#if canImport(Glibc)
  import Glibc
#endif

/// Smoke tests of `bench`: rows come out and are well formed. Never a speed.
@Suite("bench")
struct BenchTests {
  static func tinyPlan() -> BenchPlan {
    var plan = BenchPlan()
    plan.notifierCounts = [1, 4]
    plan.variants = [Variant.original] + Variant.all.filter { $0.id == "upstream-fix" }
    plan.flavors = [.memb, .qsbr]
    plan.samples = 4
    plan.placements = 2
    plan.warmupBatches = 1
    plan.batchNanoseconds = 20_000
    plan.pinCPU = nil
    var c = ConcurrencyPlan(readers: 2, writers: 1)
    c.flavors = [.memb, .qsbr]
    c.notifiers = 4
    c.phaseMilliseconds = 20
    c.phasePairs = 1
    c.pinReaders = false
    plan.concurrency = c
    return plan
  }

  @Test func sweepRowsAreWellFormed() throws {
    let plan = Self.tinyPlan()
    let report = try KernelThread.run(name: "bench-test") {
      () -> Result<BenchReport, KernelError> in
      do throws(KernelError) { return .success(try BenchRunner.run(plan)) } catch {
        return .failure(error)
      }
    }.get()

    let expected =
      plan.notifierCounts.count * plan.variants.count * plan.flavors.count * plan.paths.count
      * plan.drivers.count * plan.ledger.count
    #expect(report.rows.count == expected)
    for r in report.rows {
      #expect(r.nsPerOp > 0 && r.nsPerNotifier > 0)
      #expect(r.nsPerOpMin <= r.nsPerOp && r.nsPerOp <= r.nsPerOpMax)
      // calibration cannot fail silently: never fewer than the minimum
      #expect(r.samples == plan.samples && r.iterations >= plan.minimumIterations)
      #expect(r.spread >= 0 && r.spread.isFinite)
      #expect((r.ratioToReference != nil) == (r.driver == .c && !r.ledger && r.path == .success))
      #expect(r.suspect == (r.suspectReason != nil))
      // a ratio is there exactly where it applies, and is positive
      #expect((r.ratioToFloor != nil) == (r.path == .success))
      #expect((r.ratioToOriginal == nil) == (r.variant == .original))
      #expect((r.ratioToC == nil) == (r.driver == .c))
      #expect((r.ratioToSuccess == nil) == (r.path == .success))
      for ratio in [
        r.ratioToFloor, r.ratioToOriginal, r.ratioToC, r.ratioToSuccess, r.ratioToReference,
      ] {
        if let ratio { #expect(ratio > 0 && ratio.isFinite) }
      }
    }
    #expect(report.floors.count == plan.notifierCounts.count * plan.flavors.count * 2)
    #expect(report.floors.allSatisfy { $0.nsPerOp > 0 })
    #expect(report.accounting.count == plan.notifierCounts.count * plan.flavors.count)
    for a in report.accounting {
      #expect(a.nsPerOp > 0)
      #expect((a.ratioToFloor ?? 0) > 0 && (a.accountingFactor ?? 0) > 0)
    }

    let groups = plan.notifierCounts.count * plan.flavors.count
    #expect(report.references.count == groups && report.controls.count == groups)
    #expect(report.references.allSatisfy { $0.nsPerOp > 0 && ($0.coreRatio ?? 0) > 0 })
    #expect(report.aaSpread >= 0 && report.aaSpread.isFinite)

    #expect(report.concurrency.count == 2)
    for c in report.concurrency {
      #expect(c.readers == 2 && c.writers == 1)
      #expect(c.invalidationsPerSecond > 0 && c.singleReaderInvalidationsPerSecond > 0)
      #expect((c.scaling ?? 0) > 0)
      #expect((c.registrationsPerSecond ?? -1) >= 0)
      #expect(c.roundRatios.count == c1PhasePairs(plan) && c.roundRatios.allSatisfy { $0 > 0 })
      #expect(c.suspect == (c.suspectReason != nil))
      #expect((c.scalingPerCPUSecond ?? 0) > 0)
      if c.syncCalls > 0 {
        #expect((c.syncLatencyMicrosecondsP50 ?? 0) > 0)
        #expect(c.syncLatencyMicrosecondsP50! <= c.syncLatencyMicrosecondsP99!)
      }
    }

    checkJSON(report)
    checkCSV(report)
    checkChart(report)
    #expect(report.text.contains("targets"))
    #expect(report.text.contains("CONFIG_DEBUG_ATOMIC_SLEEP"))
    #expect(report.text.contains("self-checks"))
  }

  func c1PhasePairs(_ plan: BenchPlan) -> Int { plan.concurrency!.phasePairs }

  /// The self-checks on rows built by hand: a superset of original's work
  /// measured faster is suspect and says why; within the slack it is not.
  @Test func selfChecksMarkImpossibleRows() {
    let fix = Variant.all.first { $0.id == "upstream-fix" }!
    func row(
      _ v: Variant, path: BenchPath = .failureMiddle, driver: BenchDriver = .c,
      toOriginal: Double?, toC: Double? = nil, iterations: Int = 1000
    ) -> BenchRow {
      BenchRow(
        variant: v, flavor: .memb, notifiers: 64, path: path, driver: driver, ledger: false,
        nsPerOp: 100, nsPerOpMin: 99, nsPerOpMax: 101, ratioToFloor: nil,
        ratioToOriginal: toOriginal, ratioToC: toC, ratioToSuccess: nil, ratioToReference: nil,
        iterations: iterations, samples: 48, spread: 0.01, ratioToOriginalError: 0.002,
        ratioToCError: 0.002)
    }
    func reason(_ r: BenchRow) -> String? {
      BenchSelfCheck.reason(for: r, minimumIterations: 100, aaSpread: 0.01, ledgerOff: nil)
    }
    // the issue's row: the fix, doing its extra end walk, "faster", timed 1 at a time
    let impossible = reason(row(fix, toOriginal: 0.45, iterations: 1))
    #expect(impossible?.contains("upstream-fix does all of original's work") == true)
    #expect(impossible?.contains("1 iteration(s) per batch") == true)
    #expect(reason(row(fix, toOriginal: 0.995)) == nil)  // within the A/A spread
    #expect(reason(row(fix, toOriginal: 1.2)) == nil)
    // sorted-undo stops at the first failure: doing less is no contradiction
    let sorted = Variant.all.first { $0.id == "sorted-undo" }!
    #expect(reason(row(sorted, toOriginal: 0.5)) == nil)
    #expect(reason(row(.original, driver: .swift, toOriginal: nil, toC: 0.8)) != nil)

    func conc(_ scaling: Double, single: Double = 100, multi: Double = 100) -> ConcurrencyRow {
      ConcurrencyRow(
        flavor: .memb, variant: .original, notifiers: 64, readers: 2, writers: 1,
        invalidationsPerSecond: 1, singleReaderInvalidationsPerSecond: 1, scaling: scaling,
        roundRatios: [scaling], scalingPerCPUSecond: scaling, writerOpsPerSecond: 100,
        writerRateSingle: single,
        writerRateMulti: multi, registrationsPerSecond: 100, syncLatencyMicrosecondsP50: nil,
        syncLatencyMicrosecondsP99: nil, syncCalls: 0)
    }
    #expect(BenchSelfCheck.reason(for: conc(2.8), cpus: 2)?.contains("more than one") == true)
    #expect(BenchSelfCheck.reason(for: conc(1.95), cpus: 2) == nil)
    #expect(BenchSelfCheck.reason(for: conc(1.95, multi: 50), cpus: 2)?.contains("writer") == true)
  }

  /// `--measure instructions`: two runs under callgrind count exactly the
  /// same instructions (equality, never a speed), and the counts say what
  /// the code does: upstream-fix never executes fewer than original.
  @Test(
    .enabled(
      if: BenchInstructions.unavailable == nil,
      "valgrind (callgrind) is not installed: instruction counts are not measured here"))
  func instructionCountsAreEqualOnTwoRuns() throws {
    let binary = try #require(
      HarnessCLI.binary, "mmn-harness is not built next to the test executable")
    var plan = BenchPlan()
    plan.notifierCounts = [1, 4]
    plan.variants = [Variant.original] + Variant.all.filter { $0.id == "upstream-fix" }
    plan.flavors = [.memb, .qsbr]
    plan.paths = [.success, .failureEnd]
    plan.drivers = [.c, .swift]
    plan.ledger = [false]
    let first = try BenchInstructions.measure(plan, executable: binary, timeout: 300)
    let second = try BenchInstructions.measure(plan, executable: binary, timeout: 300)
    #expect(first.rows.count == 2 * 2 * 2 * 2 * 2)
    #expect(first.references.count == 2 * 2)
    guard case .object(let a) = first.json, case .object(let b) = second.json else {
      Issue.record("the instruction report is not an object")
      return
    }
    #expect(a.first { $0.0 == "rows" }!.1 == b.first { $0.0 == "rows" }!.1)
    #expect(first.json == second.json)
    for r in first.rows {
      #expect(r.perOp > 0)
      if let extra = r.minusOriginalPerOp { #expect(extra >= 0, "\(r.flavor) \(r.path)") }
    }
    for r in first.references { #expect(r.referencePerOp > r.floorPerOp) }
  }

  /// The accounting table's reference is original without
  /// CONFIG_DEBUG_ATOMIC_SLEEP: callbacks it calls see no non-blocking
  /// section, while original as built wraps each one in non_block_start/end.
  @Test(arguments: RCUFlavor.allCases)
  func accountingReferenceHasNoNonBlockSection(flavor: RCUFlavor) {
    onKernelThread {
      let mm = MM(flavor: flavor)
      let probe = NonBlockCountProbe()
      let sub = try! mm.register(probe, ledger: false)
      let lane = MMN_BENCH_LANE_SWIFT.rawValue
      _ = mmn_bench_core(mm.raw, 1, false, lane, 0)
      #expect(probe.seen == [1, 1])
      _ = mmn_bench_core_no_debug_atomic_sleep(mm.raw, 1, lane, 0)
      #expect(probe.seen == [1, 1, 0, 0])
      // the reference keeps the kernel's CONFIG_DEBUG_ATOMIC_SLEEP
      _ = mmn_bench_core_reference(mm.raw, 1, lane, 0)
      #expect(probe.seen == [1, 1, 0, 0, 1, 1])
      #expect(mmn_task_non_block_count() == 0)
      sub.unregister()
    }
  }

  /// The issue's shape: these keys, in this order; null where a ratio does not apply.
  func checkJSON(_ report: BenchReport) {
    guard case .object(let top) = report.json else {
      Issue.record("top level is not an object")
      return
    }
    #expect(
      top.map(\.0) == [
        "machine", "aa_spread", "suspects", "rows", "concurrency", "controls", "references",
      ])
    let byName = Dictionary(uniqueKeysWithValues: top)
    if case .double(let aa) = byName["aa_spread"] {
      #expect(aa == report.aaSpread && aa >= 0)
    } else {
      Issue.record("aa_spread is not a number")
    }
    guard case .array(let rows) = byName["rows"], case .array(let conc) = byName["concurrency"]
    else {
      Issue.record("rows/concurrency are not arrays")
      return
    }
    #expect(rows.count == report.rows.count && conc.count == report.concurrency.count)
    for (json, row) in zip(rows, report.rows) {
      guard case .object(let fields) = json else { continue }
      #expect(
        fields.map(\.0)
          == [
            "variant", "flavor", "notifiers", "path", "driver", "ledger", "ns_per_op",
            "ns_per_notifier", "ratio_to_floor", "ratio_to_original", "ratio_to_c",
            "ratio_to_reference", "iterations", "spread", "suspect",
          ] + (row.suspect ? ["suspect_reason"] : []))
      let byKey = Dictionary(uniqueKeysWithValues: fields)
      #expect((byKey["ratio_to_c"] == .null) == (row.driver == .c))
      #expect((byKey["ratio_to_original"] == .null) == (row.variant == .original))
      #expect((byKey["ratio_to_floor"] == .null) == (row.path != .success))
    }
    for json in conc {
      guard case .object(let fields) = json else { continue }
      let suspect = fields.contains { $0.0 == "suspect" && $0.1 == .bool(true) }
      #expect(
        fields.map(\.0)
          == [
            "flavor", "readers", "writers", "invalidations_per_s", "scaling",
            "sync_latency_us_p50", "sync_latency_us_p99", "round_ratios",
            "scaling_per_cpu_second", "writer_ops_per_s",
            "writer_rate_single", "writer_rate_multi", "suspect",
          ] + (suspect ? ["suspect_reason"] : []))
    }
    #expect(report.json.rendered(indent: nil).hasPrefix("{\"machine\":{"))
  }

  func checkCSV(_ report: BenchReport) {
    let blocks = report.csv.split(separator: "\n\n", omittingEmptySubsequences: false)
    #expect(blocks.count == 2)
    let rowLines = blocks[0].split(separator: "\n")
    #expect(rowLines.count == report.rows.count + 1)
    let columns = csvFields(rowLines[0]).count
    #expect(rowLines.allSatisfy { csvFields($0).count == columns })
  }

  /// Fields of one CSV line; a quoted field may hold commas.
  func csvFields(_ line: Substring) -> [String] {
    var fields: [String] = []
    var field = ""
    var quoted = false
    for ch in line {
      if ch == "\"" {
        quoted.toggle()
      } else if ch == "," && !quoted {
        fields.append(field)
        field = ""
      } else {
        field.append(ch)
      }
    }
    fields.append(field)
    return fields
  }

  func checkChart(_ report: BenchReport) {
    let svg = BenchChart.svg(report)
    #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>"))
    // one line per variant and flavour, plus the floor
    let lines = svg.components(separatedBy: "<polyline").count - 1
    #expect(lines == report.plan.variants.count * report.plan.flavors.count + 1)
    for v in report.plan.variants {
      for f in report.plan.flavors { #expect(svg.contains(">\(v.id) · \(f)</text>")) }
    }
  }

  /// The refusing subscription sits where the path says, under both
  /// insertion rules: newest first (prefix-undo) and address order
  /// (sorted-undo). Both stop at the first failure, so the ledger's start
  /// count gives the refuser's traversal index.
  @Test(
    arguments: ["prefix-undo", "sorted-undo"], [BenchDriver.c, .swift])
  func refuserIsPlacedInTraversalOrder(variantID: String, driver: BenchDriver) throws {
    guard let variant = Variant.all.first(where: { $0.id == variantID }) else { return }
    try KernelThread.run(name: "bench-place") { () -> Result<Void, KernelError> in
      do throws(KernelError) {
        for (path, index) in [(BenchPath.failureMiddle, 4), (.failureEnd, 7)] {
          let list = try BenchList(
            variant: variant, flavor: .memb, notifiers: 8, path: path, driver: driver, ledger: true)
          _ = list.timeCore(1)
          let totals = list.mm.ledgerTotals
          #expect(totals.starts == UInt64(index + 1), "\(variantID) \(path) \(driver)")
          #expect(totals.startsFailed == 1)
          list.tearDown()
          list.mm.barrier()
        }
        return .success(())
      } catch {
        return .failure(error)
      }
    }.get()
  }
}

/// Records `current->non_block_count` in every start and end.
final class NonBlockCountProbe: Notifier, @unchecked Sendable {
  var seen: [Int32] = []
  var callbacks: NotifierCallbacks { .startAndEnd }
  var symbol: String { "probe" }
  func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
    seen.append(mmn_task_non_block_count())
    return 0
  }
  func invalidateRangeEnd(_ range: NotifierRange) { seen.append(mmn_task_non_block_count()) }
}
