import CSupport
import Foundation
import MMUNotifierHarness
import Synchronization
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// A tiny v7.1 two-pass interval driver: counts its passes, defers every
/// start (unless told to answer `.done`), refuses non-blocking ranges when
/// asked, and records how many finishes it is still owed.
final class TwoPassProbe: TwoPassIntervalNotifier, @unchecked Sendable {
  let symbol = "two_pass_probe"
  let refuseNonblock: Bool
  let defer_: Bool
  let starts = Atomic<Int>(0)
  let deferred = Atomic<Int>(0)
  let finishes = Atomic<Int>(0)

  init(refuseNonblock: Bool = false, deferring: Bool = true) {
    self.refuseNonblock = refuseNonblock
    self.defer_ = deferring
  }

  /// Owed finishes: deferred starts not yet finished (0 when paired).
  var owed: Int { deferred.load(ordering: .relaxed) - finishes.load(ordering: .relaxed) }

  func invalidate(_ interval: IntervalRef, range: NotifierRange, currentSeq: UInt) -> Bool {
    Issue.record("a two-pass driver's one-pass ->invalidate is the harness's, not the driver's")
    return true
  }

  func invalidateStart(_ interval: IntervalRef, range: NotifierRange, currentSeq: UInt)
    -> IntervalStartResult
  {
    starts.add(1, ordering: .relaxed)
    if refuseNonblock && !range.isBlockable { return .refused }
    interval.setSeq(currentSeq)
    guard defer_ else { return .done }
    deferred.add(1, ordering: .relaxed)
    return .deferred
  }

  func invalidateFinish(_ interval: IntervalRef) {
    finishes.add(1, ordering: .relaxed)
  }
}

/// The mainline base (CSupport/port/mainline: v6.15's core with v7.1's
/// two-pass interval walk) and the harness's two-pass trampolines.
@Suite("The mainline base")
struct MainlineBaseTests {
  static func base(_ id: String) throws -> Variant { try Variant.named(id) }

  /// The base is built into the binary, labelled with its base.
  @Test func theMainlineBaseIsBuilt() throws {
    let mainline = try #require(Variant.mainline)
    #expect(mainline.base == "mainline" && mainline.label == "mainline")
    #expect(try Variant.named("upstream-fix").label == "v5.11/upstream-fix")
    #expect(Variant.all.allSatisfy { $0.base == "v5.11" }, "--variant all is today's matrix")
    #expect(Variant.all(onBase: "mainline").map(\.id) == ["mainline"])
    let lost = try Variant.named("test-mainline-lost-finish")
    #expect(lost.base == "mainline" && lost.isTest)
  }

  /// v6.6 (1af5a8109904): ops with ->arch_invalidate_secondary_tlbs and
  /// start/end are refused with -EINVAL (and a WARN); v5.11 has no such
  /// check. Alone, the secondary-TLB callback registers.
  @Test func registrationRefusesSecondaryTLBsWithStartEnd() throws {
    let both: NotifierCallbacks = [.startAndEnd, .archInvalidateSecondaryTLBs]
    let mm = MM(variant: try Self.base("mainline"))
    let error = #expect(throws: KernelError.self) {
      try mm.register(RecordingNotifier("both", log: EventLog(), callbacks: both))
    }
    #expect(error?.errno == -EINVAL)
    #expect(mm.logCounts.warnings == 1)
    let alone = try mm.register(
      RecordingNotifier("tlb", log: EventLog(), callbacks: [.archInvalidateSecondaryTLBs]))
    alone.unregister()
    let old = MM(variant: try Self.base("original"))
    let accepted = try old.register(RecordingNotifier("both", log: EventLog(), callbacks: both))
    #expect(old.logCounts.warnings == 0)
    accepted.unregister()
  }

  /// Every deferred start is finished exactly once, before the start
  /// returns: by the core's second pass on mainline, by the harness's
  /// back-to-back ->invalidate on v5.11.
  @Test(arguments: ["original", "mainline"])
  func finishRunsOncePerDeferredStart(variant: String) throws {
    let mm = MM(variant: try Self.base(variant))
    let probe = TwoPassProbe()
    let sub = try mm.insertInterval(probe, start: 0x10000, length: 0x10000)
    for i in 0..<3 {
      let inv = Invalidation(mm, start: 0x18000, end: 0x19000)
      inv.start()
      #expect(probe.finishes.load(ordering: .relaxed) == i + 1, "finished inside the start")
      inv.end()
      inv.retire()
    }
    let c = sub.ledger
    #expect(probe.starts.load(ordering: .relaxed) == 3 && probe.owed == 0)
    #expect(c.invalidations == 3 && c.deferredStarts == 3 && c.finishes == 3)
    #expect(c.isFinishPaired && c.isPaired)
    sub.remove()
    #expect(mm.ledgerTotals.finishes == 3, "counts outlive the subscription")
  }

  /// A start answering `.done` owes nothing: no finish is called.
  @Test func aDoneStartGetsNoFinish() throws {
    let mm = MM(variant: try Self.base("mainline"))
    let probe = TwoPassProbe(deferring: false)
    let sub = try mm.insertInterval(probe, start: 0, length: 0x1000)
    let inv = Invalidation(mm, start: 0, end: 0x1000)
    inv.start()
    inv.end()
    inv.retire()
    #expect(probe.finishes.load(ordering: .relaxed) == 0)
    #expect(sub.ledger.deferredStarts == 0 && sub.ledger.finishes == 0)
    sub.remove()
  }

  /// The hlist refuses the non-blocking start after the tree walk: the
  /// two-pass start was already finished (mn_itree_invalidate's finish
  /// pass runs before it returns). The tree's half still leaks on
  /// mainline, as on upstream-fix: a finding the ledger shows.
  @Test func aLaterHlistRefusalStillFinishesOnce() throws {
    let mm = MM(variant: try Self.base("mainline"))
    let probe = TwoPassProbe()
    let sub = try mm.insertInterval(probe, start: 0, length: 0x1000)
    let refusing = try mm.register(
      RecordingNotifier(
        "refusing", log: EventLog(), callbacks: [.invalidateRangeStart], startResult: -EAGAIN))
    let inv = Invalidation(mm, start: 0, end: 0x1000)
    #expect(inv.startNonblock() == -EAGAIN)
    inv.retire()  // as the OOM reaper: no end after a failed start
    let c = sub.ledger
    #expect(probe.finishes.load(ordering: .relaxed) == 1 && probe.owed == 0)
    #expect(c.deferredStarts == 1 && c.finishes == 1 && c.isFinishPaired)
    #expect(c.missingEnds == 1, "mainline leaves the tree's half open (itree-then-hlist-failure)")
    refusing.unregister()
  }

  /// A later interval refuses the non-blocking start: mainline still runs
  /// the finish pass before undoing the tree's half; the test variant that
  /// drops it gets missing_finishes and the `missing finish` verdict.
  @Test(arguments: ["mainline", "test-mainline-lost-finish"])
  func aLaterIntervalRefusal(variant: String) throws {
    let mm = MM(variant: try Self.base(variant))
    let probe = TwoPassProbe()
    // the tree walk visits the lower start first
    let first = try mm.insertInterval(probe, start: 0, length: 0x1000)
    let second = try mm.insertInterval(
      RecordingInterval(log: EventLog(), refuseNonblock: true), start: 0x800, length: 0x1000)
    let inv = Invalidation(mm, start: 0, end: 0x2000)
    #expect(inv.startNonblock() == -EAGAIN)
    inv.retire()
    let c = first.ledger
    #expect(c.deferredStarts == 1 && c.duplicateFinishes == 0)
    #expect(mm.activeInvalidateRanges == 0, "the core undid the tree's half")
    let verdict = Verdict(ScenarioMetrics(mm: mm))
    if variant == "mainline" {
      #expect(probe.finishes.load(ordering: .relaxed) == 1 && c.finishes == 1)
      #expect(c.missingFinishes == 0)
      #expect(verdict.kind == .paired)
    } else {
      #expect(probe.finishes.load(ordering: .relaxed) == 0 && c.finishes == 0)
      #expect(c.missingFinishes == 1)
      #expect(verdict.kind == .missingFinish)
    }
    second.remove()
    first.remove()
  }

  /// A second ->invalidate_finish for one object is counted, not passed on.
  @Test func aSecondFinishIsADuplicate() throws {
    let mm = MM(variant: try Self.base("test-mainline-double-finish"))
    let probe = TwoPassProbe()
    let sub = try mm.insertInterval(probe, start: 0, length: 0x1000)
    for _ in 0..<2 {
      let inv = Invalidation(mm, start: 0, end: 0x1000)
      inv.start()
      inv.end()
      inv.retire()
    }
    let c = sub.ledger
    #expect(c.deferredStarts == 2 && c.finishes == 2 && c.duplicateFinishes == 2)
    #expect(probe.finishes.load(ordering: .relaxed) == 2, "the driver sees each finish once")
    #expect(Verdict(ScenarioMetrics(mm: mm)).kind == .duplicateFinish)
    sub.remove()
  }

  /// The harness's pool: MMN_FINISH_POOL objects per interval. With every
  /// one outstanding (lost by the test variant, ranges not yet retired) the
  /// next deferred start WARNs and is finished at once; retiring the ranges
  /// settles the lost ones as missing finishes and frees them again.
  @Test func anExhaustedPoolWarnsAndFinishesAtOnce() throws {
    let mm = MM(variant: try Self.base("test-mainline-lost-finish"))
    let probe = TwoPassProbe()
    let sub = try mm.insertInterval(probe, start: 0, length: 0x1000)
    let refusing = try mm.insertInterval(
      RecordingInterval(log: EventLog(), refuseNonblock: true), start: 0x800, length: 0x1000)
    let pool = Int(MMN_FINISH_POOL)
    var ranges: [Invalidation] = []
    for _ in 0...pool {
      let inv = Invalidation(mm, start: 0, end: 0x2000)
      #expect(inv.startNonblock() == -EAGAIN)
      ranges.append(inv)
    }
    #expect(mm.logCounts.warnings == 1, "the pool-exhausted WARN")
    #expect(probe.finishes.load(ordering: .relaxed) == 1 && sub.ledger.finishes == 1)
    for inv in ranges { inv.retire() }
    let c = sub.ledger
    #expect(c.deferredStarts == UInt64(pool + 1) && c.missingFinishes == UInt64(pool))
    // the objects are free again: the next start gets one (and loses it)
    let again = Invalidation(mm, start: 0, end: 0x2000)
    #expect(again.startNonblock() == -EAGAIN)
    again.retire()
    #expect(mm.logCounts.warnings == 1 && sub.ledger.missingFinishes == UInt64(pool + 1))
    refusing.remove()
    sub.remove()
  }

  /// The seed scenarios on mainline, measured: c2655835fd8c is in, so the
  /// hlist pairs where upstream-fix does, and 319561669a59 removes the
  /// interval-remove race. (Differences from upstream-fix would be
  /// findings; itree-then-hlist-failure still hangs, as on upstream-fix.)
  @Test func seedScenariosOnMainlineMatchUpstreamFix() throws {
    let ids = ["oom-flaky-neighbour", "arm-two-kvm", "interval-remove-race"]
    let scenarios = try ids.map { try ScenarioCatalog.named($0) }
    let c = Comparison.run(
      scenarios: scenarios, selection: ["upstream-fix", "mainline"],
      context: ScenarioContext(flavor: .memb, seed: 1, hungTimeoutMilliseconds: 250), jobs: 2)
    func verdict(_ scenario: String, _ target: String) -> Verdict.Kind? {
      c.rows.first { $0.scenario.id == scenario }?.results.first { $0.target == target }?
        .verdict.kind
    }
    #expect(verdict("oom-flaky-neighbour", "mainline") == .paired)
    #expect(verdict("arm-two-kvm", "mainline") == .paired)
    #expect(verdict("interval-remove-race", "upstream-fix") == .useAfterFree)
    #expect(verdict("interval-remove-race", "mainline") == .paired)
  }

  /// `compare --base all` through the binary: the version matrix, each
  /// column labelled with its base; `--base mainline` only mainline's.
  @Test func compareBaseLabelsEveryColumn() throws {
    let directory = FileManager.default.temporaryDirectory
    let all = try HarnessCLI.run(
      ["compare", "--base", "all", "--scenario", "oom-flaky-neighbour"], in: directory)
    #expect(all.status == 0)
    let header = try #require(all.stdout.split(separator: "\n").first { $0.hasPrefix("scenario") })
    #expect(header.contains("v5.11/original") && header.contains("v5.11/upstream-fix"))
    #expect(header.hasSuffix("mainline"), "mainline last: \(header)")
    #expect(all.stdout.contains("base all,"))
    let mainline = try HarnessCLI.run(
      ["compare", "--base", "mainline", "--format", "json"], in: directory)
    #expect(mainline.status == 0)
    #expect(!mainline.stdout.contains("\"upstream-fix\""))
    #expect(!mainline.stdout.contains("kvm-memslot-lock"), "its KVM targets run on v5.11")
    #expect(mainline.stdout.contains("\"base\": \"mainline\""))
    let plain = try HarnessCLI.run(
      ["compare", "--scenario", "oom-flaky-neighbour"], in: directory)
    #expect(
      !plain.stdout.contains("mainline") && !plain.stdout.contains("v5.11/"),
      "without --base: today's output")
  }

  /// 319561669a59 (v5.18) is in: the explorer's interval-remove race is
  /// gone on mainline, as on interval-remove-fix.
  @Test func theIntervalRemoveRaceIsAbsent() throws {
    let config = try ExploreCatalog.named("interval-remove-vs-invalidate")
    let result = Explorer.explore(
      config, variant: try Self.base("mainline"),
      strategy: .exhaustive(bound: config.defaultBound))
    #expect(result.violation == nil)
    #expect(result.exhaustive)
  }
}
