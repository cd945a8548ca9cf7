import Foundation

/// Each (configuration, variant) cell of `explore` runs in a re-executed
/// child (`explore --child-cell`), so a variant that crashes or hangs the
/// search gets a verdict while the rest of the matrix runs. The child
/// names each schedule before it runs it; a crash is reported with the
/// last one, which `--replay` (with `--in-process` for a debugger) runs again.
public enum ExploreIsolation {
  /// The child's side: one cell, its result as the `explore` message.
  public static func runChild(
    _ configuration: ExploreConfiguration, variant: Variant, strategy: ExploreStrategy,
    shard: ExploreShard?, channel: ChildChannel, prune: Bool = true
  ) {
    ChildSide.prepareCrashOnly(channel: channel)
    ExploreExecution.announce = { token in channel.send("schedule", token.text) }
    let result = Explorer.explore(
      configuration, variant: variant, strategy: strategy, shard: shard, prune: prune)
    ExploreExecution.announce = nil
    channel.send("explore", ExploreOutput.json([result]).rendered(indent: nil))
  }

  /// The parent's side: runs `arguments` as a child and turns however it
  /// ended into the cell's result.
  public static func run(
    _ configuration: ExploreConfiguration, variant: Variant, strategy: ExploreStrategy,
    shard: ExploreShard?, arguments: [String], limit: Double
  ) -> ExploreResult {
    let start = Explorer.monotonicSeconds()
    let outcome = ChildProcess.run(arguments: arguments, limit: limit)
    if case .exited(0) = outcome.end, let text = outcome.message("explore"),
      let result = decode(text, strategy: strategy, shard: shard)
    {
      return result
    }
    let last = outcome.message("schedule") ?? "none (before the first execution)"
    var detail: String
    var log: [String]
    var invariant = ExploreInvariant.crash
    switch outcome.end {
    case .signaled(let sig):
      let crash = CrashReport(
        crash: outcome.message("crash"), log: outcome.message("crashlog"), deadBy: sig)
      detail = (crash?.verdict ?? "crash: \(StressSignals.name(sig))") + "; last schedule \(last)"
      log = crash?.kernelForm ?? []
    case .hung(let seconds):
      invariant = .hung
      detail =
        "INFO: task explore blocked for more than \(Int(seconds)) seconds: the watchdog ended the search; last schedule \(last)"
      log = []
    case .exited(let status):
      detail = "no report: the search's child exited with status \(status); last schedule \(last)"
      log = outcome.stderr.split(separator: "\n").suffix(20).map(String.init)
    }
    return ExploreResult(
      variant: variant.id, configuration: configuration.name, strategy: strategy, schedules: 0,
      executions: 0, seconds: Explorer.monotonicSeconds() - start, exhaustive: false,
      violation: ExploreViolation(
        invariant: invariant, detail: detail, preemptions: 0, instance: "-",
        replay: last.hasPrefix("v1:") ? last : "", trace: [], kernelLog: log),
      shard: shard)
  }

  /// The child's JSON back into a result (the format `--format json` prints).
  static func decode(_ text: String, strategy: ExploreStrategy, shard: ExploreShard?)
    -> ExploreResult?
  {
    guard
      let root = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
      let r = (root["results"] as? [[String: Any]])?.first,
      let variant = r["variant"] as? String, let config = r["config"] as? String
    else { return nil }
    func int(_ key: String, in d: [String: Any]) -> Int {
      (d[key] as? NSNumber)?.intValue ?? 0
    }
    var violation: ExploreViolation?
    if let v = r["violation"] as? [String: Any],
      let invariant = (v["invariant"] as? String).flatMap(ExploreInvariant.init(rawValue:))
    {
      violation = ExploreViolation(
        invariant: invariant, detail: v["detail"] as? String ?? "",
        preemptions: int("preemptions", in: v), instance: v["instance"] as? String ?? "",
        replay: v["replay"] as? String ?? "", trace: v["trace"] as? [String] ?? [],
        kernelLog: v["kernel_log"] as? [String] ?? [])
    }
    return ExploreResult(
      variant: variant, configuration: config, strategy: strategy,
      schedules: int("schedules", in: r), pruned: int("pruned", in: r),
      executions: int("executions", in: r),
      seconds: (r["seconds"] as? NSNumber)?.doubleValue ?? 0,
      exhaustive: r["exhaustive"] as? Bool ?? false, violation: violation, shard: shard)
  }
}
