import CSupport
import Foundation
import Testing

@testable import MMUNotifierHarness

/// A scenario keyed by its own targets, the way issue 4's per-KVM-version
/// scenario is: results are not per core variant.
private struct OwnTargetsScenario: Scenario {
  let id = "own-targets"
  let origin = "test"
  let claim = "x is paired; y misses an end"
  let setup = "a counting notifier, one unmatched start on y"
  var targets: [String]? { ["x", "y"] }

  func run(target: String, context: ScenarioContext) -> ScenarioResult {
    let mm = MM(flavor: context.flavor, hungTimeoutMilliseconds: context.hungTimeoutMilliseconds)
    let sub = try! mm.register(CountingNotifier())
    let inv = Invalidation(mm, start: 0, end: 0x1000)
    inv.start()
    if target == "x" { inv.end() }
    inv.retire()
    let result = ScenarioResult(
      scenario: id, target: target, metrics: ScenarioMetrics(mm: mm, extra: [.int("answer", 42)]),
      log: mm.log)
    sub.unregister()
    return result
  }
}

private let fast = ScenarioContext(seed: 7, hungTimeoutMilliseconds: 120)

private func compare(
  _ scenarios: [any Scenario] = ScenarioCatalog.all, selection: [String]? = nil,
  context: ScenarioContext = fast
) -> Comparison {
  onKernelThread("compare-test") {
    Comparison.run(scenarios: scenarios, selection: selection, context: context)
  }
}

/// Metrics that are timings (the memslot-lock study runs invalidations
/// for a measured time), so they differ between runs with the same seed.
private let timedScenarios: [String: Set<String>] = [
  "kvm-memslot-lock": ["lock_cycles", "deadlocked", "hung", "missing_ends", "duplicate_ends"]
]

/// Under a sanitizer, whether an address-sorted list could be arranged is
/// up to ASan's allocator, not the seed (ScenarioTests' deadline sweep
/// says the same), so that one metric is left out of the comparison there.
private let allocatorArranged = mmn_sanitized_build() != 0

/// Verdict kinds and every metric that is not a timing, cell by cell.
private func fingerprint(_ c: Comparison) -> [String] {
  c.rows.flatMap { row in
    row.results.map { r in
      let kept = timedScenarios[row.scenario.id]
      let metrics = r.metrics.all.filter {
        $0.name != "hung_waits" && (kept?.contains($0.name) ?? true)
          && !(allocatorArranged && $0.name == "traversal_as_designed")
      }
      let verdict = kept == nil ? r.verdict.description : r.verdict.kind.rawValue
      return "\(row.scenario.id)/\(r.target): \(verdict) "
        + metrics.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
    }
  }
}

@Suite("compare: the matrix, its verdicts and its outputs")
struct CompareTests {
  @Test func sameSeedGivesTheSameVerdictsAndMetrics() {
    let a = compare()
    let b = compare()
    #expect(fingerprint(a) == fingerprint(b))
    #expect(a.rows.count == ScenarioCatalog.all.count)
  }

  @Test func theSeedChoosesTheParametersNotTheVerdicts() throws {
    let flaky = try ScenarioCatalog.named("oom-flaky-neighbour")
    let runs = [1, 2, 3, 4].map { seed in
      compare([flaky], selection: ["original"], context: ScenarioContext(seed: UInt64(seed)))
        .rows[0].results[0]
    }
    #expect(Set(runs.map(\.verdict.kind)) == [.missingEnds])
    #expect(Set(runs.compactMap { $0.metrics["total_vmas"] }).count > 1, "VMA counts vary")
  }

  @Test func verdictRulesApplyWorstFirst() {
    var m = ScenarioMetrics()
    m.ends = 4
    #expect(Verdict(m).kind == .paired)
    #expect(Verdict(m).cell == "paired 4")
    m.extra = [.int("reaped_vmas", 0), .int("total_vmas", 3), .bool("oom_reaped", false)]
    #expect(Verdict(m).cell == "not reaped 0/3")
    m.startsFailed = 1
    #expect(Verdict(m).kind == .paired, "a notifier refused: the reaper had a reason")
    m.warnings = 2
    #expect(Verdict(m).cell == "WARN 2")
    m.missingEnds = 3
    #expect(Verdict(m).kind == .missingEnds)
    m.endsWithoutStart = 1
    #expect(Verdict(m).kind == .endWithoutStart)
    m.duplicateEnds = 1
    #expect(Verdict(m).kind == .doubleEnd)
    m.lockCycles = 1
    #expect(Verdict(m).kind == .lockCycle)
    m.bugs = 1
    #expect(Verdict(m).kind == .bug)
    m.hung = true
    #expect(Verdict(m).cell == "hung 1")
  }

  @Test func badNamesAreRefusedNamingTheValidOnes() {
    #expect(throws: HarnessInputError.self) { try ScenarioCatalog.named("oom-flakey") }
    do {
      _ = try ScenarioCatalog.named("oom-flakey")
    } catch {
      #expect(error.description.contains("valid: oom-flaky-neighbour, failing-start-with-end"))
    }
    do {
      try Comparison.checkSelection(["original", "upstream"], scenarios: ScenarioCatalog.all)
      Issue.record("an unknown variant was accepted")
    } catch {
      // Core variants, then the targets a scenario adds (KVM versions).
      let valid =
        Variant.all.map(\.id) + KVMVersion.allCases.filter { $0 != .v5_11 }.map(\.rawValue)
      #expect(error == .unknown(kind: "variant", name: "upstream", valid: valid))
    }
    #expect(throws: Never.self) {
      try Comparison.checkSelection(Variant.all.map(\.id), scenarios: ScenarioCatalog.all)
    }
  }

  @Test func filtersSelectScenariosAndVariants() throws {
    let c = compare(
      [try ScenarioCatalog.named("blockable-start-failure")],
      selection: ["upstream-fix", "original"])
    #expect(c.variants.map(\.id) == ["upstream-fix", "original"])
    #expect(c.rows.map(\.scenario.id) == ["blockable-start-failure"])
    #expect(c.rows[0].results.map(\.target) == ["upstream-fix", "original"])
  }

  @Test func aScenarioCanKeyItsResultsByItsOwnTargets() {
    let own = OwnTargetsScenario()
    #expect(Comparison.targets(of: own, selection: nil) == ["x", "y"])
    #expect(Comparison.targets(of: own, selection: ["original"]) == ["x", "y"])
    #expect(Comparison.targets(of: own, selection: ["y"]) == ["y"])
    #expect(Comparison.validTargetNames([own]).suffix(2) == ["x", "y"])
    let c = compare([OOMNoFailure(), own], selection: ["original", "x", "y"])
    #expect(c.rows.map { $0.results.map(\.target) } == [["original"], ["x", "y"]])
    #expect(c.rows[1].results.map(\.verdict.kind) == [.paired, .missingEnds])
    #expect(c.text().contains("own-targets"))
    // A selection that names only its targets leaves the others out.
    let only = compare([OOMNoFailure(), own], selection: ["y"])
    #expect(only.rows.map(\.scenario.id) == ["own-targets"])
  }

  @Test func jsonHasTheDocumentedShape() throws {
    let c = compare(
      [try ScenarioCatalog.named("oom-flaky-neighbour"), OwnTargetsScenario()],
      selection: ["original", "x"])
    guard case .object(let top) = c.json() else {
      Issue.record("not an object")
      return
    }
    #expect(top.map(\.0) == ["variants", "scenarios"])
    guard case .array(let variants) = top[0].1, case .object(let v0) = variants.first,
      case .array(let scenarios) = top[1].1, case .object(let s0) = scenarios.first,
      case .array(let results) = s0.last?.1, case .object(let r0) = results.first,
      case .object(let metrics) = r0.last?.1
    else {
      Issue.record("unexpected shape: \(c.json().rendered())")
      return
    }
    #expect(v0.map(\.0) == ["id", "summary", "upstream"])
    #expect(s0.map(\.0) == ["id", "seed", "claim", "results"])
    #expect(r0.map(\.0) == ["variant", "verdict", "metrics"])
    let names = metrics.map(\.0)
    for required in [
      "missing_ends", "ends_without_start", "duplicate_ends", "warnings", "bugs", "hung",
      "lock_cycles", "reaped_vmas", "total_vmas", "kvm_mmu_notifier_count",
    ] {
      #expect(names.contains(required), "\(required)")
    }
    #expect(r0.first?.1 == .string("original"))
    #expect(r0[1].1 == .string("missing ends"))
    #expect(c.json().rendered().contains("\"variant\": \"x\""))
  }

  @Test func outputsCarryEveryCellAndTheLogOnRequest() throws {
    let c = compare([try ScenarioCatalog.named("blockable-start-failure")], selection: ["original"])
    let text = c.text(includeLog: true)
    #expect(text.contains("WARN 1"))
    #expect(text.contains("== blockable-start-failure / original =="))
    #expect(
      text.contains(
        "userptr_mn_invalidate_range_start callback failed with -16 in blockable context."))
    #expect(text.contains("------------[ cut here ]------------"))
    let md = c.markdown()
    #expect(md.contains("| `blockable-start-failure` | WARN 1 |"))
    #expect(!c.markdown().contains("cut here"), "the log only on request")
  }

  /// Same seed, same bytes: text and JSON of two runs of the built binary
  /// are identical; the timings are named in the JSON, not printed.
  @Test func sameSeedGivesTheSameBytes() throws {
    let scratch = try Scratch()
    for format in ["text", "json", "markdown"] {
      let a = try HarnessCLI.run(["compare", "--seed", "1", "--format", format], in: scratch.url)
      let b = try HarnessCLI.run(["compare", "--seed", "1", "--format", format], in: scratch.url)
      #expect(a.status == 0 && b.status == 0, "\(a.stderr)\(b.stderr)")
      #expect(a.stdout == b.stdout, "compare --seed 1 --format \(format) differs between runs")
      #expect(!a.stdout.isEmpty)
    }
    let json = try HarnessCLI.run(
      ["compare", "--seed", "1", "--format", "json", "--scenario", "kvm-memslot-lock"],
      in: scratch.url)
    #expect(json.stdout.contains("\"timings_omitted\""))
    #expect(!json.stdout.contains("\"memslot_wait_us_max\": "), "a timing among the metrics")
    let timed = try HarnessCLI.run(
      [
        "compare", "--seed", "1", "--format", "json", "--scenario", "kvm-memslot-lock", "--timings",
      ], in: scratch.url)
    #expect(timed.stdout.contains("\"timings\": {"))
    #expect(timed.stdout.contains("\"memslot_wait_us_max\": "))
  }

  /// An isolated cell's crash is its own verdict, worst of all; a cell's
  /// result crosses the pipe unchanged.
  @Test func aCrashedCellIsTheWorstVerdictAndCellsRoundTrip() throws {
    var m = ScenarioMetrics()
    m.hung = true
    m.extra = [.int("crash_signal", 11)]
    #expect(Verdict(m).cell == "crash SIGSEGV")
    m.extra = [.int("crash_signal", 0), .int("exit_status", 3)]
    #expect(Verdict(m).cell == "crash exit 3")

    let original = compare(
      [try ScenarioCatalog.named("blockable-start-failure")], selection: ["original"]
    ).rows[0].results[0]
    let data = try JSONEncoder().encode(CellWire(original))
    let back = try JSONDecoder().decode(CellWire.self, from: data).result
    #expect(back.metrics == original.metrics)
    #expect(back.log == original.log)
    #expect(back.verdict == original.verdict)
  }
}

/// Cells run in children (CellIsolation): what a child measured must reach
/// the parent's verdict. The interval race is a use after free under the
/// original and clean under its fix, through the binary as a user runs it.
@Suite("compare: isolated cells keep their verdicts")
struct IsolatedCellVerdictTests {
  @Test func theIntervalRaceIsAUseAfterFreeThroughTheChild() throws {
    let scratch = try Scratch()
    let result = try HarnessCLI.run(
      [
        "compare", "--scenario", "interval-remove-race", "--variant",
        "original,interval-remove-fix",
      ],
      in: scratch.url)
    #expect(result.status == 0)
    let row = try #require(
      result.stdout.split(separator: "\n").first { $0.hasPrefix("interval-remove-race") })
    #expect(row.contains("use after free 1"), "\(row)")
    #expect(row.contains("paired"), "\(row)")
  }
}
