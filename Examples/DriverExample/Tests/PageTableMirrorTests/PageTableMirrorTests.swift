import MMUNotifierHarness
import PageTableMirror
import Testing

@Suite("PageTableMirror under the harness")
struct PageTableMirrorTests {
  @Test("munmap pairs every start with its end")
  func munmapPairs() throws {
    let mm = MM(vmas: 2)
    let mirror = PageTableMirror(mm: mm)
    let sub = try mm.register(mirror)
    for i in 0..<mm.vmaCount {
      let vma = mm.vmaRange(i)
      mm.munmap(start: vma.start, end: vma.end)
    }
    #expect(mirror.invalidating == 0)
    #expect(sub.ledger.starts == 2 && sub.ledger.ends == 2)
    #expect(Verdict(ScenarioMetrics(mm: mm)).kind == .paired)
    sub.unregister()
  }

  /// The built-in scenario with this driver as its victim: the v5.11 core
  /// skips the mirror's end when a neighbour refuses; the merged fix does not.
  @Test("oom-flaky-neighbour with the mirror as victim: original misses ends, upstream-fix pairs")
  func asVictim() throws {
    DriverRegistry.register(PageTableMirror.registration)
    let scenario = try #require(
      ScenarioCatalog.casts(of: PageTableMirror.registration).first {
        $0.id == "oom-flaky-neighbour:victim=page-table-mirror"
      })
    let original = scenario.run(target: "original", context: ScenarioContext())
    #expect(original.verdict.kind == .missingEnds)
    #expect((original.metrics["victim_missing_ends"] ?? 0) > 0)
    let fixed = scenario.run(target: "upstream-fix", context: ScenarioContext())
    #expect(fixed.verdict.kind == .paired)
  }

  /// A scenario of the package's own, on the harness's rig: the mirror and
  /// a refusing neighbour, the mirror traversed first.
  @Test(
    "A scenario of its own: the OOM reaper's retries leave no open invalidation under upstream-fix")
  func ownScenario() throws {
    let rig = ScenarioRig(
      scenario: "mirror-vs-refusal", variant: try Variant.named("upstream-fix"),
      context: ScenarioContext(), vmas: 3)
    defer { rig.tearDown() }
    let mirror = PageTableMirror(mm: rig.mm)
    rig.register(inTraversalOrder: [mirror, FailingNotifier(everyKth: 2)])
    let reap = rig.oomReap()
    let result = rig.result([.int("mirror_invalidating", mirror.invalidating)])
    #expect(result.metrics["traversal_as_designed"] == 1)
    #expect(result.metrics["mirror_invalidating"] == 0)
    #expect(result.metrics["oom_reaped"] == (reap.reaped ? 1 : 0))
    #expect(result.verdict.kind != .missingEnds)
  }

  @Test("The package's own scenario: original leaves the mirror open, upstream-fix closes it")
  func packageScenario() throws {
    let scenario = MirrorBeforeRefusal()
    let original = scenario.run(target: "original", context: ScenarioContext())
    #expect(original.verdict.kind == .missingEnds)
    #expect((original.metrics["mirror_invalidating"] ?? 0) > 0)
    let fixed = scenario.run(target: "upstream-fix", context: ScenarioContext())
    #expect(fixed.metrics["mirror_invalidating"] == 0)
    #expect(fixed.verdict.kind != .missingEnds)
    try ScenarioCatalog.register(scenario)
    #expect(ScenarioCatalog.all.contains { $0.id == "mirror-before-refusal" })
  }
}
