/// Found by this harness: v5.11's `mmu_interval_notifier_remove` can return
/// while `mn_itree_inv_end` is still unlinking the notifier's deferred entry
/// (it moves `invalidate_seq` on before it drains the deferred list, and the
/// remover waits for the seq without the lock), so a driver that frees the
/// notifier on return races that `hlist_del`. Upstream fixed it in v5.18
/// (319561669a59, Fixes: 99cb252f5e68).
///
/// The window is a few instructions inside a spinlock, so no forced order
/// of whole operations opens it: the run is the explorer's exhaustive
/// search of the `interval-remove-vs-invalidate` configuration at its own
/// bound (3), and the verdict is what that search measured.
public struct IntervalRemoveRace: CoreVariantScenario {
  public let id = "interval-remove-race"
  public let origin = "found by mmn-harness explore; upstream 319561669a59 (v5.18)"
  public let setup =
    "one interval notifier over a VMA; munmap of it racing mmu_interval_notifier_remove and the driver's free, every interleaving within 3 preemptions"
  public let claim =
    "every variant before 319561669a59 frees the notifier under mn_itree_inv_end (use after free); interval-remove-fix does not"

  public init() {}

  public func run(variant: Variant, context: ScenarioContext) -> ScenarioResult {
    ExploreSearchRun.result(
      scenario: id, configuration: "interval-remove-vs-invalidate", variant: variant)
  }
}

/// A scenario whose run is one exhaustive explorer search of a built-in
/// configuration at its default bound: the verdict is what the search
/// measured, and the log is the counterexample's kernel log.
enum ExploreSearchRun {
  static func result(
    scenario: String, configuration: String, variant: Variant, extra: [Metric] = []
  ) -> ScenarioResult {
    let config = ExploreCatalog.all.first { $0.name == configuration }!
    let result = Explorer.explore(
      config, variant: variant, strategy: .exhaustive(bound: config.defaultBound))
    var metrics = ScenarioMetrics()
    let violation = result.violation?.invariant
    metrics.useAfterFree = violation == .useAfterFree ? 1 : 0
    metrics.hung = violation == .hung
    metrics.missingEnds = violation == .missingEnd ? 1 : 0
    metrics.warnings = violation == .warn || violation == .driverState ? 1 : 0
    metrics.extra =
      [
        .int("schedules", result.schedules), .bool("exhaustive", result.exhaustive),
        .int("preemptions", result.violation?.preemptions ?? 0),
      ] + extra
    // The counterexample's records, their dmesg stamps taken off again.
    let log = (result.violation?.kernelLog ?? []).enumerated().map { i, record in
      let text = record.split(separator: "\n", omittingEmptySubsequences: false).map { line in
        line.firstRange(of: "] ").map { String(line[$0.upperBound...]) } ?? String(line)
      }.filter { !$0.hasPrefix("=====") }.joined(separator: "\n")
      return KernelLogRecord(
        kind: text.contains("KASAN") ? .kasan : .info, pid: 0, cpu: 0, comm: "explore",
        sequence: UInt64(i), time: 0, text: text)
    }
    return ScenarioResult(scenario: scenario, target: variant.id, metrics: metrics, log: log)
  }
}
