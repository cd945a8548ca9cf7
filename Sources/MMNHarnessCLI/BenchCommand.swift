import ArgumentParser
import Foundation
import MMUNotifierHarness

/// `mmn-harness bench`: what one invalidation costs, per variant and RCU
/// flavour, against the plain C floor.
struct BenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench",
    abstract:
      "Time invalidate_range_start + end per variant and RCU flavour against a plain C floor.",
    discussion: """
      Each list is an mm with N no-op subscriptions; the timed loop is the OOM reaper's \
      (a non-blockable start, and the end when it succeeded), compiled into each variant and \
      flavour. Rows give ns per start+end pair and per notifier, and three ratios measured in \
      the same rounds: to the floor (a plain C loop over the same nodes making the same calls, \
      no RCU, no checks), to `original`, and (Swift drivers) to C callbacks. Medians of \
      --samples batches, lists interleaved within each round; every row carries its \
      iterations per batch, spread and self-check (suspect, with the reason), and every run \
      an A/A pair (aa_spread). --measure instructions counts the same loops under valgrind's \
      callgrind instead: exact and equal from run to run. Numbers are from \
      `swift build -c release` builds: a debug build compiles the C shim unoptimised, and \
      bench says so on stderr.
      """)

  // .unconditional: "-1" is a value to refuse with its range, not a flag
  @Option(
    name: .long, parsing: .unconditional,
    help: ArgumentHelp("Subscriptions per list, comma separated.", valueName: "n,n,…"))
  var notifiers: String = "1,2,4,8,16,32,64,128,256,512,1024"
  @Option(
    name: .long, help: ArgumentHelp("Core variants, comma separated, or all.", valueName: "ids"))
  var variant: String = "all"
  @OptionGroup var baseOption: BaseOption
  @Option(
    name: .long, help: ArgumentHelp("RCU flavours: memb, mb, qsbr, bp, or all.", valueName: "names")
  )
  var flavor: String = "all"
  @Option(
    name: .long,
    help: ArgumentHelp(
      "success, failure (one subscription refuses a non-blockable start, at the middle and at the end of the list), or all.",
      valueName: "paths"))
  var path: String = "all"
  @Option(
    name: .long, help: ArgumentHelp("No-op callbacks in c, in swift, or all.", valueName: "kinds"))
  var driver: String = "all"
  @Option(
    name: .long, help: ArgumentHelp("The pairing ledger: off, on, or both.", valueName: "mode"))
  var ledger: String = "both"
  @Option(
    name: .long, parsing: .unconditional, help: "Timed batches per list (the median is reported).")
  var samples: Int = BenchPlan().samples
  @Option(
    name: .long, parsing: .unconditional, help: "Length of one timed batch, in microseconds.")
  var batchUs: Int = Int(BenchPlan().batchNanoseconds / 1000)
  @Option(
    name: .long, parsing: .unconditional,
    help: "Times every list is rebuilt elsewhere in memory (samples are spread over them).")
  var placements: Int = BenchPlan().placements
  @Option(name: .long, help: "text, csv or json.")
  var format: String = "text"
  @Option(
    name: .long,
    help: ArgumentHelp(
      "time (the sweep), or instructions (the same loops under valgrind --tool=callgrind).",
      valueName: "what"))
  var measure: String = "time"
  /// Set by `--measure instructions` on the binary it runs under callgrind.
  @Flag(name: .long, help: .hidden)
  var callgrindChild = false
  @Option(
    name: .long,
    help: ArgumentHelp("Also write an SVG chart of ns per notifier vs N.", valueName: "file.svg"))
  var chart: String?
  @Option(
    name: .long, parsing: .unconditional,
    help:
      "Reader threads for the concurrency run (off unless given); they invalidate a list of 64 C no-ops (or the one --notifiers N) on the first --variant."
  )
  var readers: Int?
  @Option(
    name: .long, parsing: .unconditional,
    help:
      "Writer threads (register, put with call_srcu, time synchronize_srcu); needs --readers (default 1)."
  )
  var writers: Int?
  @Option(
    name: .long, parsing: .unconditional,
    help: "Length of one concurrency phase, in milliseconds; needs --readers.")
  var phaseMs: Int?
  @Option(
    name: .long, parsing: .unconditional,
    help:
      "Registrations per second per writer, held fixed in every concurrency phase; needs --readers."
  )
  var writerRate: Int?
  @Flag(name: .long, help: "Do not pin the measuring thread to a CPU.")
  var noPin = false

  func validate() throws {
    _ = try plan()
    _ = try OptionParsing.oneOf(format, "format", ["text", "csv", "json"])
    _ = try OptionParsing.oneOf(measure, "measure", ["time", "instructions"])
    if measure == "instructions" && readers != nil {
      throw ValidationError(
        "--readers: the concurrency run is timed only; valid with --measure time")
    }
    if let chart, !chart.hasSuffix(".svg") {
      throw ValidationError("--chart \(chart): the chart is SVG; valid: a path ending in .svg")
    }
  }

  func plan() throws -> BenchPlan {
    var plan = BenchPlan()
    plan.notifierCounts = try OptionParsing.items(notifiers, "--notifiers", valid: ["1...4096"]).map
    {
      raw in
      guard let n = Int(raw) else {
        throw ValidationError("--notifiers '\(raw)' is not a number; valid: 1...4096")
      }
      return try OptionParsing.bounded(n, "--notifiers", 1...4096)
    }
    if plan.notifierCounts.isEmpty {
      throw ValidationError("--notifiers is empty; valid: 1...4096, comma separated")
    }
    if variant == "all" {
      plan.variants = try baseOption.variants()
    } else {
      plan.variants = try OptionParsing.variants(variant)
      for v in plan.variants { try baseOption.check(v) }
    }
    plan.labelsBases = baseOption.labels
    plan.flavors = try OptionParsing.flavors(flavor)
    plan.paths = try Self.choices(
      path, "path",
      [
        "success": [.success], "failure": [.failureMiddle, .failureEnd],
        "failure-middle": [.failureMiddle], "failure-end": [.failureEnd],
        "all": BenchPath.allCases,
      ], order: BenchPath.allCases)
    plan.drivers = try Self.choices(
      driver, "driver",
      [
        "c": [.c], "swift": [.swift], "all": BenchDriver.allCases,
      ], order: BenchDriver.allCases)
    plan.ledger = try Self.choices(
      ledger, "ledger",
      [
        "off": [false], "on": [true], "both": [false, true],
      ], order: [false, true])
    plan.samples = try OptionParsing.bounded(samples, "--samples", 3...1001)
    plan.batchNanoseconds =
      UInt64(try OptionParsing.bounded(batchUs, "--batch-us", 10...1_000_000)) * 1000
    plan.placements = try OptionParsing.bounded(placements, "--placements", 1...100)
    if noPin { plan.pinCPU = nil }
    if readers == nil {
      for (name, given) in [
        ("--writers", writers != nil), ("--phase-ms", phaseMs != nil),
        ("--writer-rate", writerRate != nil),
      ] where given {
        throw ValidationError(
          "\(name) sets the concurrency run, which runs only with --readers; valid: --readers 1...64 \(name) …"
        )
      }
    }
    if let readers {
      let defaults = ConcurrencyPlan(readers: 1, writers: 1)
      var c = ConcurrencyPlan(
        readers: try OptionParsing.bounded(readers, "--readers", 1...64),
        writers: try OptionParsing.bounded(writers ?? 1, "--writers", 0...16))
      c.variant = plan.variants[0]
      c.flavors = plan.flavors
      c.notifiers = plan.notifierCounts.count == 1 ? plan.notifierCounts[0] : 64
      c.phaseMilliseconds = try OptionParsing.bounded(
        phaseMs ?? defaults.phaseMilliseconds, "--phase-ms", 10...60_000)
      c.writerOpsPerSecond = try OptionParsing.bounded(
        writerRate ?? defaults.writerOpsPerSecond, "--writer-rate", 1...1_000_000)
      c.pinReaders = !noPin
      plan.concurrency = c
    }
    return plan
  }

  /// A comma-separated list of names, each expanding to some values, kept in `order`.
  static func choices<T: Equatable>(
    _ raw: String, _ option: String, _ table: KeyValuePairs<String, [T]>, order: [T]
  ) throws -> [T] {
    var picked: [T] = []
    for name in try OptionParsing.items(raw, "--\(option)", valid: table.map(\.key)) {
      guard let values = table.first(where: { $0.key == name })?.value else {
        throw ValidationError(
          "unknown \(option) '\(name)'; valid: \(table.map(\.key).joined(separator: ", "))")
      }
      picked += values
    }
    let ordered = order.filter { picked.contains($0) }
    guard !ordered.isEmpty else {
      throw ValidationError(
        "--\(option) is empty; valid: \(table.map(\.key).joined(separator: ", "))")
    }
    return ordered
  }

  func run() throws {
    let plan = try plan()
    if measure == "instructions" {
      try runInstructions(plan)
      return
    }
    if !BenchMachine.cShimOptimized {
      FileHandle.standardError.write(
        Data(
          ("bench: warning: the C shim was compiled without optimisation (a debug build): "
            + "the core, floor and reference rows time -O0 code; bench numbers are from "
            + "`swift build -c release` builds\n").utf8))
    }
    let version = PackageConfig.modversion("liburcu")
    let progress = StderrProgress()
    let outcome = KernelThread.run(name: "mmn-bench") { () -> Result<BenchReport, KernelError> in
      do throws(KernelError) {
        return .success(
          try BenchRunner.run(plan, liburcuVersion: version) { progress.report($0) })
      } catch {
        return .failure(error)
      }
    }
    progress.finish()
    if case .success(let r) = outcome, r.machine.build != "release" {
      FileHandle.standardError.write(
        Data(
          "bench: warning: a \(r.machine.build) build; the Swift rows and ratios are not representative (swift build -c release)\n"
            .utf8))
    }
    let report: BenchReport
    switch outcome {
    case .success(let r): report = r
    case .failure(let e): throw ValidationError("bench: \(e)")
    }
    if let chart {
      let url = URL(fileURLWithPath: chart)
      do {
        try BenchChart.svg(report).write(to: url, atomically: true, encoding: .utf8)
      } catch {
        throw ValidationError("--chart \(chart): cannot write: \(error.localizedDescription)")
      }
    }
    switch format {
    case "json": print(report.json.rendered())
    case "csv": print(report.csv)
    default: print(report.text)
    }
  }
}

extension BenchCommand {
  /// `--measure instructions`: the parent runs this binary under callgrind;
  /// the child (`--callgrind-child`) counts.
  func runInstructions(_ plan: BenchPlan) throws {
    if callgrindChild {
      guard BenchInstructions.onValgrind else {
        throw ValidationError(
          "--callgrind-child: not running under valgrind; valid only as run by --measure instructions"
        )
      }
      let outcome = KernelThread.run(name: "mmn-bench-cg") { () -> KernelError? in
        do throws(KernelError) {
          try BenchInstructions.child(plan)
          return nil
        } catch {
          return error
        }
      }
      if let outcome { throw ValidationError("bench: \(outcome)") }
      return
    }
    let exe: String
    do {
      exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    } catch {
      throw ValidationError("bench: --measure instructions: cannot find this executable: \(error)")
    }
    if !BenchMachine.cShimOptimized {
      FileHandle.standardError.write(
        Data(
          ("bench: warning: the C shim was compiled without optimisation (a debug build): "
            + "these are -O0 instruction counts; bench numbers are from `swift build -c release` "
            + "builds\n").utf8))
    }
    let report: InstructionReport
    do {
      report = try BenchInstructions.measure(plan, executable: URL(fileURLWithPath: exe))
    } catch {
      throw ValidationError("bench: --measure instructions: \(error)")
    }
    switch format {
    case "json": print(report.json.rendered())
    case "csv": print(report.csv)
    default: print(report.text)
    }
  }
}

/// Progress on stderr once a run has lasted a second: a line that redraws
/// itself on a terminal, a line per ~second otherwise.
final class StderrProgress: @unchecked Sendable {
  private let lock = NSLock()
  private let started = Date()
  private var lastPrinted: Date?
  private var shown = false
  private let isTerminal = isatty(STDERR_FILENO) != 0

  func report(_ p: BenchProgress) {
    lock.lock()
    defer { lock.unlock() }
    let now = Date()
    guard now.timeIntervalSince(started) > 1 else { return }
    if let last = lastPrinted, now.timeIntervalSince(last) < (isTerminal ? 0.1 : 1) { return }
    lastPrinted = now
    shown = true
    let line =
      "bench: \(Int((p.fraction * 100).rounded()))% \(p.stage) "
      + "(\(Int(now.timeIntervalSince(started))) s)"
    FileHandle.standardError.write(
      Data((isTerminal ? "\r\u{1B}[K" + line : line + "\n").utf8))
  }

  func finish() {
    lock.lock()
    defer { lock.unlock() }
    if shown && isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
  }
}
