import MMUNotifierHarness
import Synchronization
import Testing

// Written as a driver author's package would: a plain `import` of the
// library (no `@testable`, no `import CSupport`), so every name used here
// is public API. Each test closes one gap of issue 16.

/// A driver author's own notifier: start and end, never refuses, counts
/// the ranges it has open and records each range's event and order.
private final class OpenRangeDriver: Notifier, @unchecked Sendable {
  let callbacks: NotifierCallbacks = .startAndEnd
  let symbol: String
  let open = Atomic<Int>(0)
  let events = Mutex<[NotifierEvent]>([])
  let order: EventTrace?

  init(symbol: String = "open_range_driver", order: EventTrace? = nil) {
    self.symbol = symbol
    self.order = order
  }

  func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
    open.add(1, ordering: .relaxed)
    events.withLock { $0.append(range.event) }
    order?.record(symbol)
    return 0
  }

  func invalidateRangeEnd(_ range: NotifierRange) {
    open.subtract(1, ordering: .relaxed)
  }
}

@Suite("Driver author API, from outside the module")
struct DriverAuthorAPITests {
  @Test("MM.OOMResult is constructible and compares with a real reap's result")
  func oomResultInitializer() {
    let mm = MM(variant: .original, vmas: 3)
    let driver = OpenRangeDriver()
    let refusing = FailingNotifier()
    let subs = [try? mm.register(driver), try? mm.register(refusing)]
    let result = mm.oomReap()
    // every attempt meets a refusal: the reaper gives up after 10
    #expect(result == MM.OOMResult(reaped: false, attempts: 10))
    #expect(mm.lastOOMReap == result)
    for sub in subs { sub?.unregister() }
  }

  @Test("NotifierRange.event is a Swift enum: munmap and a chosen event arrive as sent")
  func eventEnum() {
    let mm = MM(variant: .original, vmas: 1)
    let driver = OpenRangeDriver()
    let sub = try? mm.register(driver)
    let vma = mm.vmaRange(0)
    mm.munmap(start: vma.start, end: vma.end)
    let invalidation = Invalidation(mm, start: vma.start, end: vma.end, event: .clear)
    invalidation.start()
    invalidation.end()
    invalidation.retire()
    let seen: [NotifierEvent] = driver.events.withLock { $0 }
    #expect(seen == [.unmap, .clear])
    #expect(NotifierEvent.clear.description == "MMU_NOTIFY_CLEAR")
    sub?.unregister()
  }

  @Test(
    "ScenarioMetrics(mm:) after an OOM reap carries the reaper's metrics: not reaped, not paired")
  func metricsFromMMAfterReap() throws {
    // reject-multi refuses for every notifier when two are registered:
    // nothing fails in a driver, yet the reaper reaps nothing.
    let mm = MM(variant: try Variant.named("reject-multi"), vmas: 4)
    let first = OpenRangeDriver(symbol: "first")
    let second = OpenRangeDriver(symbol: "second")
    let subs = [try mm.register(first), try mm.register(second)]
    mm.oomReap()
    let metrics = ScenarioMetrics(mm: mm)
    #expect(metrics["oom_reaped"] == 0)
    #expect(metrics["total_vmas"] == 4)
    #expect(metrics["reaped_vmas"] == 0)
    let verdict = Verdict(metrics)
    #expect(verdict.kind == .notReaped)
    #expect(verdict.number == "0/4")
    // an mm the reaper never ran on has no reaper metrics to misread
    #expect(ScenarioMetrics(mm: MM(variant: .original, vmas: 2))["oom_reaped"] == nil)
    for sub in subs { sub.unregister() }
  }

  @Test("mm.warn and mm.bug name their caller's file, line and function by default")
  func warnAndBugLocateTheCaller() {
    let mm = MM()
    let line = #line + 1
    mm.warn("driver->open < 0")
    mm.bug("driver->open > 1")
    let log = mm.log
    let warning = log.first { $0.kind == .warning }?.text ?? ""
    let bug = log.first { $0.kind == .bug }?.text ?? ""
    #expect(warning.contains("MMUNotifierHarnessTests/DriverAuthorAPITests.swift:\(line)"))
    #expect(warning.contains("warnAndBugLocateTheCaller()"))
    #expect(warning.contains("WARN_ON(driver->open < 0)"))
    #expect(bug.contains("DriverAuthorAPITests.swift:\(line + 1)"))
    #expect(mm.logCounts.warnings == 1 && mm.logCounts.bugs == 1)
  }

  @Test("A scenario of one's own on ScenarioRig: the traversal order is the one asked for")
  func rigAndTraversalOrder() throws {
    #expect(TraversalRule.detect(variant: .original, flavor: .memb) == .newestFirst)
    for variant in Variant.all {
      let rig = ScenarioRig(
        scenario: "my-scenario", variant: variant, context: ScenarioContext(), vmas: 2)
      let order = EventTrace()
      let a = OpenRangeDriver(symbol: "a", order: order)
      let b = OpenRangeDriver(symbol: "b", order: order)
      let c = OpenRangeDriver(symbol: "c", order: order)
      rig.register(inTraversalOrder: [a, b, c])
      let vma = rig.vma(0)
      rig.mm.munmap(start: vma.start, end: vma.end)
      let result = rig.result([.int("a_open", a.open.load(ordering: .relaxed))])
      rig.tearDown()
      let arranged = result.metrics["traversal_as_designed"] == 1
      #expect(arranged, "\(variant.id): traversal not arranged")
      if arranged { #expect(order.events == ["a", "b", "c"], "\(variant.id)") }
      #expect(result.metrics["a_open"] == 0)
      #expect(result.scenario == "my-scenario" && result.target == variant.id)
    }
  }

  @Test("unmappedVMAs counts VMAs ever unmapped; OOMResult.reaped says whether a reap passed")
  func unmappedIsNotReaped() {
    // 4 VMAs and a refusal every 3rd start: each attempt skips a different
    // VMA, so all 4 get unmapped by some attempt while none passes them all.
    let mm = MM(variant: .original, vmas: 4)
    let refusing = FailingNotifier(everyKth: 3)
    let sub = try? mm.register(refusing)
    let result = mm.oomReap()
    #expect(!result.reaped)
    #expect(mm.unmappedVMAs == 4)
    #expect(mm.vmaCount == 4)
    sub?.unregister()
  }

  @Test("A driver registered by name plays the victim in the built-in scenarios")
  func registeredDriverInRoles() throws {
    DriverRegistry.register("api-test-victim", roles: [.victim]) { _, name in
      OpenRangeDriver(symbol: "api_\(name)")
    }
    let driver = try DriverRegistry.driver(named: "api-test-victim")
    let casts = ScenarioCatalog.casts(of: driver)
    let ids = casts.map(\.id)
    #expect(ids.contains("oom-flaky-neighbour:victim=api-test-victim"))
    #expect(ids.contains("arm-two-kvm:victim=api-test-victim"))
    // scenarios without a victim role are not offered
    #expect(!ids.contains { $0.hasPrefix("memslot-update-after-oom") })
    // the explore name for the same registry
    #expect(ExploreDrivers.names.contains("api-test-victim"))

    let scenario = try #require(casts.first { $0.id.hasPrefix("oom-flaky-neighbour:") })
    let original = scenario.run(target: "original", context: ScenarioContext())
    let fixed = scenario.run(target: "upstream-fix", context: ScenarioContext())
    // original skips the started victim's end when the neighbour refuses
    #expect(original.verdict.kind == .missingEnds)
    #expect((original.metrics["victim_missing_ends"] ?? 0) > 0)
    #expect(original.metrics["kvm_mmu_notifier_count"] == nil)
    #expect(fixed.verdict.kind == .paired)
    #expect(fixed.metrics["victim_missing_ends"] == 0)
  }

  @Test("A refusing driver registered by name plays the refusing neighbour beside KVM")
  func registeredRefusingNeighbour() throws {
    DriverRegistry.register("api-test-refuser", roles: [.refusingNeighbour]) { _, name in
      FailingNotifier(everyKth: 2, symbol: "api_\(name)")
    }
    let driver = try DriverRegistry.driver(named: "api-test-refuser")
    let ids = Set(ScenarioCatalog.casts(of: driver).map(\.id))
    for base in [
      "oom-flaky-neighbour", "arm-two-kvm", "memslot-update-after-oom", "gru-fault-after-oom",
      "itree-then-hlist-failure",
    ] {
      #expect(ids.contains("\(base):refusing-neighbour=api-test-refuser"), "\(base)")
    }
    #expect(!ids.contains { $0.hasPrefix("oom-no-failure") })
    let scenario = OOMFlakyNeighbour().casting(driver, as: .refusingNeighbour)
    #expect(scenario.setup.hasSuffix("[api-test-refuser as refusing-neighbour]"))
    let original = scenario.run(target: "original", context: ScenarioContext())
    // KVM is still the victim: its count stays raised under v5.11
    #expect(original.verdict.kind == .missingEnds)
    #expect((original.metrics["kvm_mmu_notifier_count"] ?? 0) > 0)
    #expect(original.metrics["flaky_failures"] == nil)
    #expect((original.metrics["refusing_neighbour_starts_failed"] ?? 0) > 0)
    let fixed = scenario.run(target: "upstream-fix", context: ScenarioContext())
    #expect(fixed.metrics["kvm_mmu_notifier_count"] == 0)
  }

  @Test("Every built-in scenario with roles runs each role with a registered driver")
  func everyRoleRuns() throws {
    DriverRegistry.register("api-test-any", roles: Set(ScenarioRole.allCases)) { mm, name in
      CountingNotifier(symbol: "api_any_\(name)")
    }
    let driver = try DriverRegistry.driver(named: "api-test-any")
    let casts = ScenarioCatalog.casts(of: driver)
    let roleCount = ScenarioCatalog.builtIn.compactMap { $0 as? any RoleScenario }
      .map(\.roles.count).reduce(0, +)
    #expect(casts.count == roleCount)
    for scenario in casts {
      let r = scenario.run(target: "upstream-fix", context: ScenarioContext())
      #expect(r.scenario == scenario.id)
      #expect(r.verdict.kind != .crash && r.verdict.kind != .useAfterFree, "\(scenario.id)")
    }
  }
}
