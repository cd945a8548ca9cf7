import ArgumentParser
import Foundation
import MMUNotifierHarness

/// `mmn-harness explore`: every interleaving of a small configuration.
struct ExploreCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "explore",
    abstract: "Search every interleaving of a small configuration on the real port and real RCU.",
    discussion: """
      Each execution runs the variant's explore build (scheduling points compiled in) on real \
      OS threads and liburcu, one thread at a time; the scheduler picks who runs at every \
      point. --strategy exhaustive tries every schedule with at most --bound preemptions \
      (bound 0, then 1, ...: a counterexample has the fewest preemptions there are), a \
      bounded proof. --strategy pct samples --runs schedules per instance (PCT, depth \
      --depth, from --seed): not a proof. Every execution is checked for use_after_free, \
      bug, deadlock, hung, missing_end, end_without_start, duplicate_end, warn and \
      driver_state. A counterexample prints its trace and a token that --replay reproduces. \
      Exit status 1 when any violation was found.
      """)

  @Option(name: .long, help: "Configurations, comma-separated (default: all; see --list).")
  var config: String?
  @Option(name: .long, help: "Variants, comma-separated, or all (default: all).")
  var variant: String?
  @OptionGroup var baseOption: BaseOption
  @Option(name: .long, help: "exhaustive or pct.")
  var strategy: String = "exhaustive"
  @Option(
    name: .long,
    help: "Preemption bound of the exhaustive search (default: each configuration's own, 2 or 3).")
  var bound: Int?
  @Option(name: .long, help: "PCT depth (priority change points + 1).")
  var depth: Int = 3
  @Option(name: .long, help: "PCT schedules per configuration instance.")
  var runs: Int = 200
  @Option(name: .long, help: "PCT seed.")
  var seed: UInt64 = 1
  @Option(
    name: .long,
    help: "K/N: explore only part K of N disjoint parts of the exhaustive search (1-based).")
  var shard: String?
  @Option(name: .long, help: "text or json.")
  var format: String = "text"
  @Flag(name: .long, help: "Print every counterexample's trace, not only a single cell's.")
  var trace = false
  @Flag(name: .long, help: "List the built-in configurations, a line each.")
  var list = false
  @Option(name: .long, help: "Replay a counterexample's token and print its trace.")
  var replay: String?
  @Option(
    name: .long,
    help: "Merge the JSON reports of shards (comma-separated files) into one report.")
  var merge: String?
  @Flag(
    name: .long,
    help:
      "Run every cell in this process (for a debugger); by default each runs in a child, so a crash is a verdict."
  )
  var inProcess = false
  @Flag(
    name: .long,
    help:
      "Exhaustive search without sleep-set pruning: run every schedule within the bound (to check that pruning loses nothing)."
  )
  var noPrune = false
  /// The re-executed child: explores one --config on one --variant, writes fd 3.
  @Flag(name: .customLong("child-cell"), help: .hidden)
  var childCell = false

  struct Plan {
    var configurations: [ExploreConfiguration]
    var variants: [Variant]
    /// nil: each configuration's default bound
    var strategy: ExploreStrategy?
    var shard: ExploreShard?

    func strategy(for c: ExploreConfiguration) -> ExploreStrategy {
      strategy ?? .exhaustive(bound: c.defaultBound)
    }
  }

  func plan() throws -> Plan {
    _ = try OptionParsing.oneOf(format, "--format", ["text", "json"])
    _ = try OptionParsing.oneOf(strategy, "--strategy", ["exhaustive", "pct"])
    let configurations =
      try config.map { raw in
        try OptionParsing.items(raw, "--config", valid: ExploreCatalog.all.map(\.name)).map {
          name in
          try OptionParsing.wrap { try ExploreCatalog.named(name) }
        }
      } ?? ExploreCatalog.all
    let onBases = try baseOption.variants()
    let variants =
      try variant.map { raw in
        raw == "all"
          ? onBases
          : try OptionParsing.items(raw, "--variant", valid: ["all"] + Variant.all.map(\.id)).map {
            let v = try OptionParsing.variant($0)
            try baseOption.check(v)
            return v
          }
      } ?? onBases
    let strategy: ExploreStrategy?
    if self.strategy == "pct" {
      strategy = .pct(
        depth: try OptionParsing.bounded(depth, "--depth", 1...8),
        runs: try OptionParsing.bounded(runs, "--runs", 1...1_000_000), seed: seed)
    } else {
      strategy = try bound.map {
        .exhaustive(bound: try OptionParsing.bounded($0, "--bound", 0...6))
      }
    }
    var parsedShard: ExploreShard?
    if let shard {
      let parts = shard.split(separator: "/", omittingEmptySubsequences: false)
      guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, n <= 4096,
        k >= 1, k <= n
      else {
        throw ValidationError(
          "--shard '\(shard)' is not K/N; valid: 1/N ... N/N with 1 <= N <= 4096")
      }
      if case .pct = strategy {
        throw ValidationError(
          "--shard splits an exhaustive search; valid with --strategy exhaustive")
      }
      parsedShard = ExploreShard(index: k - 1, count: n)
    }
    return Plan(
      configurations: configurations, variants: variants, strategy: strategy, shard: parsedShard)
  }

  func validate() throws {
    if list || replay != nil || merge != nil { return }
    _ = try plan()
  }

  func run() throws {
    if list {
      for c in ExploreCatalog.all {
        print("\(c.name.padding(toLength: 30, withPad: " ", startingAt: 0)) \(c.summary)")
      }
      return
    }
    if let merge { return try mergeReports(merge) }
    if let replay { return try replayToken(replay) }
    let plan = try plan()
    if childCell {
      guard plan.configurations.count == 1, plan.variants.count == 1 else {
        throw ValidationError("--child-cell: valid with one --config and one --variant")
      }
      let c = plan.configurations[0]
      return ExploreIsolation.runChild(
        c, variant: plan.variants[0], strategy: plan.strategy(for: c), shard: plan.shard,
        channel: ChildChannel(fd: 3), prune: !noPrune)
    }
    var results: [ExploreResult] = []
    for c in plan.configurations {
      for v in plan.variants {
        if inProcess {
          results.append(
            Explorer.explore(
              c, variant: v, strategy: plan.strategy(for: c), shard: plan.shard, prune: !noPrune))
        } else {
          results.append(
            ExploreIsolation.run(
              c, variant: v, strategy: plan.strategy(for: c), shard: plan.shard,
              arguments: [
                "explore", "--child-cell", "--config", c.name, "--variant", v.id, "--base", v.base,
              ]
                + childStrategyArguments(), limit: 900))
        }
      }
    }
    if format == "json" {
      print(ExploreOutput.json(results).rendered())
    } else {
      let labels = baseOption.labels
      print(
        ExploreOutput.text(
          results, traces: trace,
          label: { id in
            labels ? (Variant.everything.first { $0.id == id }?.label ?? id) : id
          }), terminator: "")
    }
    if results.contains(where: { $0.violation != nil }) { throw ExitCode(1) }
  }

  /// The options that shape the search, passed on to each cell's child.
  func childStrategyArguments() -> [String] {
    var args = ["--strategy", strategy]
    if strategy == "pct" {
      args += ["--depth", String(depth), "--runs", String(runs), "--seed", String(seed)]
    } else if let bound {
      args += ["--bound", String(bound)]
    }
    if let shard { args += ["--shard", shard] }
    if noPrune { args.append("--no-prune") }
    return args
  }

  func replayToken(_ text: String) throws {
    guard let token = ExploreToken(parsing: text) else {
      throw ValidationError(
        "--replay '\(text)' is not a token; valid: v1:<config>:<instance>:<variant>:<decision.thread,...>"
      )
    }
    let configuration = try OptionParsing.wrap { try ExploreCatalog.named(token.configuration) }
    let variant = try OptionParsing.variant(token.variant)
    let replayed = Explorer.replay(token, configuration: configuration, variant: variant)
    if replayed.diverged {
      throw ValidationError(
        "--replay: the schedule does not fit \(token.configuration) on \(token.variant) (instance or decision out of range); was the token made by another build?"
      )
    }
    if format == "json" {
      let v: JSONValue =
        replayed.violation.map { v in
          .object([
            ("invariant", .string(v.invariant.rawValue)),
            ("preemptions", .int(Int64(v.preemptions))),
            ("instance", .string(v.instance)), ("detail", .string(v.detail)),
            ("replay", .string(v.replay)), ("trace", .array(v.trace.map { .string($0) })),
            ("kernel_log", .array(v.kernelLog.map { .string($0) })),
          ])
        } ?? .null
      print(JSONValue.object([("replay", .string(token.text)), ("violation", v)]).rendered())
    } else if let v = replayed.violation {
      print(
        "\(token.variant) on \(token.configuration): \(v.invariant.rawValue) (\(v.preemptions) preemption\(v.preemptions == 1 ? "" : "s"))"
      )
      print("  instance: \(v.instance)")
      print("  \(v.detail)")
      print(ExploreOutput.counterexample(v, indent: "    "), terminator: "")
    } else {
      print("\(token.variant) on \(token.configuration): no violation on this schedule")
      for line in replayed.trace { print("    " + line) }
    }
    if replayed.violation != nil { throw ExitCode(1) }
  }

  func mergeReports(_ raw: String) throws {
    let files = try OptionParsing.items(
      raw, "--merge", valid: ["FILE.json written by explore --format json"])
    var reports: [Data] = []
    for file in files {
      guard let data = FileManager.default.contents(atPath: file) else {
        throw ValidationError(
          "--merge: cannot read '\(file)'; valid: JSON files written by explore --format json")
      }
      reports.append(data)
    }
    let merged = try OptionParsing.wrap { try ExploreMerge.merge(reports) }
    print(merged.rendered())
    if merged.rendered().contains("\"invariant\"") { throw ExitCode(1) }
  }
}
