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
      #expect(r.samples == plan.samples && r.iterations >= 1)
      // a ratio is there exactly where it applies, and is positive
      #expect((r.ratioToFloor != nil) == (r.path == .success))
      #expect((r.ratioToOriginal == nil) == (r.variant == .original))
      #expect((r.ratioToC == nil) == (r.driver == .c))
      #expect((r.ratioToSuccess == nil) == (r.path == .success))
      for ratio in [r.ratioToFloor, r.ratioToOriginal, r.ratioToC, r.ratioToSuccess] {
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

    #expect(report.concurrency.count == 2)
    for c in report.concurrency {
      #expect(c.readers == 2 && c.writers == 1)
      #expect(c.invalidationsPerSecond > 0 && c.singleReaderInvalidationsPerSecond > 0)
      #expect((c.scaling ?? 0) > 0)
      #expect((c.registrationsPerSecond ?? -1) >= 0)
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
    #expect(top.map(\.0) == ["machine", "rows", "concurrency"])
    guard case .array(let rows) = top[1].1, case .array(let conc) = top[2].1 else {
      Issue.record("rows/concurrency are not arrays")
      return
    }
    #expect(rows.count == report.rows.count && conc.count == report.concurrency.count)
    for (json, row) in zip(rows, report.rows) {
      guard case .object(let fields) = json else { continue }
      #expect(
        fields.map(\.0) == [
          "variant", "flavor", "notifiers", "path", "driver", "ledger", "ns_per_op",
          "ns_per_notifier", "ratio_to_floor", "ratio_to_original", "ratio_to_c",
        ])
      let byKey = Dictionary(uniqueKeysWithValues: fields)
      #expect((byKey["ratio_to_c"] == .null) == (row.driver == .c))
      #expect((byKey["ratio_to_original"] == .null) == (row.variant == .original))
      #expect((byKey["ratio_to_floor"] == .null) == (row.path != .success))
    }
    for json in conc {
      guard case .object(let fields) = json else { continue }
      #expect(
        fields.map(\.0) == [
          "flavor", "readers", "writers", "invalidations_per_s", "scaling",
          "sync_latency_us_p50", "sync_latency_us_p99",
        ])
    }
    #expect(report.json.rendered(indent: nil).hasPrefix("{\"machine\":{"))
  }

  func checkCSV(_ report: BenchReport) {
    let blocks = report.csv.split(separator: "\n\n", omittingEmptySubsequences: false)
    #expect(blocks.count == 2)
    let rowLines = blocks[0].split(separator: "\n")
    #expect(rowLines.count == report.rows.count + 1)
    let columns = rowLines[0].split(separator: ",").count
    #expect(
      rowLines.allSatisfy {
        $0.split(separator: ",", omittingEmptySubsequences: false).count == columns
      })
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
