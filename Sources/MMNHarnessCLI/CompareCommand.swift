import ArgumentParser
import Foundation
import MMUNotifierHarness

/// `mmn-harness compare`: every scenario against every core variant.
struct CompareCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "compare",
    abstract: "Run every scenario against every core variant and print a matrix of verdicts.",
    discussion: """
      Each cell is one run of the real code on real RCU: a fresh mm (lock validator on), \
      the scenario's drivers and caller, then the pairing ledger, the drivers' state and \
      every bounded wait are measured. The verdict is derived from those metrics only: \
      hung > BUG > lock cycle > double end > end without start > missing ends > WARN > \
      not reaped > paired. A hang is reported once its wait passes --hung-timeout-ms. \
      Every cell runs in a child of the command: a cell that crashes gets the crash \
      verdict (its report in --log) and the command exits 1 after printing the matrix. \
      The same seed prints the same bytes (text, markdown, JSON): timings stay out of the \
      verdicts and out of the JSON's metrics; --timings adds them to the JSON, --log adds \
      the kernel log with its timestamps.
      """)

  @Option(
    name: .long,
    help: "Scenarios to run, comma-separated (default: all; see `mmn-harness scenarios`).")
  var scenario: String?
  @Option(
    name: .long,
    help: "Variants to run, comma-separated (default: all; see `mmn-harness variants`).")
  var variant: String?
  @OptionGroup var baseOption: BaseOption
  @Option(
    name: .long, parsing: .unconditional,
    help: "Seed for every random choice a scenario makes (VMA count, which start fails first).")
  var seed: String = String(ScenarioContext.defaultSeed)
  @Option(
    name: .long,
    help: """
      A driver registered through HarnessCLI.main(drivers:): run every selected scenario \
      with a role it fits (victim, refusing-neighbour, refusing-with-end, neighbour), \
      with it in that role (see `mmn-harness scenarios`).
      """)
  var driver: String?
  @Option(name: .long, help: "RCU flavour: memb, mb, qsbr or bp.")
  var flavor: String = "memb"
  @Option(name: .long, help: "text, json or markdown.")
  var format: String = "text"
  @Flag(
    name: .long,
    help: "Print each run's kernel log (pr_info, WARN, BUG, hung tasks) as dmesg would.")
  var log = false
  @Flag(
    name: .long,
    help:
      "JSON: also print the timing-valued metrics (memslot waits), which differ from run to run.")
  var timings = false
  @Option(
    name: .customLong("hung-timeout-ms"), parsing: .unconditional,
    help: "Deadline of every wait that can hang, in ms.")
  var hungTimeoutMs: Int = Int(ScenarioContext.defaultHungTimeoutMilliseconds)
  @Option(name: .long, parsing: .unconditional, help: "Runs at a time.")
  var jobs: Int = 8
  /// The re-executed child: runs one cell (SCENARIO/TARGET), writes it to fd 3.
  @Option(name: .customLong("cell"), help: .hidden)
  var cell: String?
  /// Every cell in this process: a crash takes the whole matrix.
  @Flag(name: .customLong("in-process"), help: .hidden)
  var inProcess = false

  struct Plan {
    let scenarios: [any Scenario]
    let selection: [String]?
    let context: ScenarioContext
  }

  /// Everything the options name, checked before anything runs.
  func plan() throws -> Plan {
    _ = try OptionParsing.oneOf(format, "format", ["text", "json", "markdown"])
    let timeout = try OptionParsing.bounded(hungTimeoutMs, "--hung-timeout-ms", 10...60_000)
    _ = try OptionParsing.bounded(jobs, "--jobs", 1...256)
    let flavor = try OptionParsing.flavor(flavor)
    guard let seed = UInt64(seed) else {
      throw ValidationError("--seed '\(seed)' is not a number; valid: 0...\(UInt64.max)")
    }
    let selected: [any Scenario] =
      try scenario.map { raw in
        try Self.unique(
          OptionParsing.items(raw, "--scenario", valid: ScenarioCatalog.all.map(\.id))
        ).map { id in
          try OptionParsing.wrap { try ScenarioCatalog.named(id) }
        }
      } ?? ScenarioCatalog.all
    var scenarios = selected
    if let driver {
      let registered = try OptionParsing.wrap { try DriverRegistry.driver(named: driver) }
      scenarios = ScenarioCatalog.casts(of: registered, in: selected)
      if scenarios.isEmpty {
        let offered = Set(selected.compactMap { $0 as? any RoleScenario }.flatMap(\.roles))
        let roles = registered.orderedRoles.map(\.rawValue)
        throw ValidationError(
          "--driver '\(driver)' fits \(roles.isEmpty ? "no role" : "roles " + roles.joined(separator: ", ")), which no selected scenario has; valid: a driver registered with one of \(ScenarioRole.allCases.filter(offered.contains).map(\.rawValue).joined(separator: ", "))"
        )
      }
    }
    var selection: [String]?
    let onBases = try baseOption.variants()
    if let variant, variant != "all" {
      let names = Self.unique(
        try OptionParsing.items(
          variant, "--variant", valid: ["all"] + Comparison.validTargetNames()))
      try OptionParsing.wrap {
        try Comparison.checkSelection(names, scenarios: ScenarioCatalog.all)
      }
      for name in names {
        if let v = Variant.everything.first(where: { $0.id == name }) { try baseOption.check(v) }
      }
      selection = names
    } else if baseOption.labels {
      // --base: that base's variants (all: v5.11's, then mainline's)
      selection = onBases.map(\.id)
    }
    if try !baseOption.bases().contains("v5.11") {
      // a scenario with its own targets (kvm-memslot-lock's KVM versions)
      // runs them on the v5.11 core: not applicable to another base
      scenarios = scenarios.filter { $0.targets == nil }
    }
    guard !scenarios.isEmpty else {
      throw ValidationError(
        "--scenario names no scenario that runs on --base \(baseOption.base ?? "v5.11"); valid: one that runs on core variants (`mmn-harness scenarios`)"
      )
    }
    return Plan(
      scenarios: scenarios, selection: selection,
      context: ScenarioContext(
        flavor: flavor, seed: seed, hungTimeoutMilliseconds: UInt32(timeout)))
  }

  func validate() throws { _ = try plan() }

  func run() throws {
    let plan = try plan()
    if let cell { return try runCell(cell, plan: plan) }
    var comparison = Comparison.run(
      scenarios: plan.scenarios, selection: plan.selection, context: plan.context, jobs: jobs,
      runner: inProcess ? Comparison.inProcess : isolatedRunner(plan.context))
    comparison.labelsBases = baseOption.labels
    switch format {
    case "json": print(comparison.json(includeLog: log, includeTimings: timings).rendered())
    case "markdown": print(comparison.markdown(includeLog: log))
    default: print(comparison.text(includeLog: log))
    }
    // A cell whose child died broke the one promise every variant makes
    // (it must not take the harness down); the matrix is printed first.
    if comparison.rows.contains(where: { $0.results.contains { $0.verdict.kind == .crash } }) {
      throw ExitCode(1)
    }
  }

  /// Each cell in a child: `compare --cell S/T` with the same context.
  /// A cell gets 10 s plus 40 hung timeouts before the watchdog ends it.
  func isolatedRunner(_ context: ScenarioContext) -> Comparison.CellRunner {
    let limit = 10 + 40 * Double(context.hungTimeoutMilliseconds) / 1000
    return { scenario, target, context in
      CellIsolation.run(
        scenario: scenario.id, target: target,
        arguments: [
          "compare", "--cell", "\(scenario.id)/\(target)", "--seed", String(context.seed),
          "--flavor", context.flavor.rawValue, "--hung-timeout-ms",
          String(context.hungTimeoutMilliseconds),
        ] + (driver.map { ["--driver", $0] } ?? []), limit: limit)
    }
  }

  func runCell(_ cell: String, plan: Plan) throws {
    let parts = cell.split(separator: "/", maxSplits: 1).map(String.init)
    guard parts.count == 2 else {
      throw ValidationError("--cell '\(cell)': valid: SCENARIO/TARGET")
    }
    // With --driver the plan holds the casts (`id:role=driver`).
    guard let scenario = plan.scenarios.first(where: { $0.id == parts[0] }) else {
      throw ValidationError(
        "--cell '\(cell)': unknown scenario '\(parts[0])'; valid: \(plan.scenarios.map(\.id).joined(separator: ", "))"
      )
    }
    let targets = scenario.targets ?? Variant.everything.map(\.id)
    guard targets.contains(parts[1]) else {
      throw ValidationError(
        "--cell '\(cell)': unknown target '\(parts[1])'; valid: \(targets.joined(separator: ", "))")
    }
    CellIsolation.runChild(
      scenario: scenario, target: parts[1], context: plan.context, channel: ChildChannel(fd: 3))
  }

  static func unique(_ names: [String]) -> [String] {
    var seen = Set<String>()
    return names.filter { seen.insert($0).inserted }
  }
}
