import ArgumentParser
import Foundation
import MMUNotifierHarness

/// `mmn-harness stress`: readers invalidate while writers add and remove
/// notifiers, on real grace periods, then the variant's promises are checked.
struct StressCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "stress",
    abstract:
      "Race invalidations against registrations and removals; check what the variant promises.",
    discussion: """
      Readers run random invalidations (the OOM reaper's non-blockable start, munmap's \
      blockable one, interval faults); writers register, unregister and put notifiers at \
      random. Each scenario class runs in its own mm. At the end every deferred free is \
      waited for (srcu_barrier) and each class is checked against the variant's promises: \
      no use after free, no poison, no missing end, no end without start, no duplicate end, \
      no hang, no WARN, no BUG, no lock cycle - all of them in every class unless the \
      variant's Promises: line waives some (docs/variants.md) - and the harness's own \
      accounting (frees equal removals). Exit status 1 when a promise is broken. Every run \
      is a re-executed child: a crash becomes a verdict (crash: SIGSEGV in <function>, with \
      the seed and the last kernel-log lines), a run that outlives --seconds plus \
      --watchdog-margin is ended and reported hung with each thread's last point, and \
      SIGINT/SIGTERM print the partial report (exit 130/143). docs/reliability.md says what \
      each report means. Classes: \(StressClass.allCases.map(\.rawValue).joined(separator: ", ")).
      """)

  // Numbers are parsed unconditionally, so that "--seconds -1" is refused
  // as out of range rather than read as an unknown option.
  @Option(
    name: .long, parsing: .unconditional, help: "How long readers and writers run, in seconds.")
  var seconds: Double = 10
  @Option(name: .long, parsing: .unconditional, help: "Reader threads (invalidations).")
  var readers: Int = 2
  @Option(name: .long, parsing: .unconditional, help: "Writer threads (register, unregister, put).")
  var writers: Int = 2
  @Option(
    name: .long,
    help: "Core variant (see `mmn-harness variants`; default: the --base's own, `original`).")
  var variant: String?
  @OptionGroup var baseOption: BaseOption

  /// The variants to stress, one run each: the named one (on a selected
  /// base), else each selected base itself (`original`, `mainline`).
  func selectedVariants() throws -> [Variant] {
    if let variant {
      let v = try OptionParsing.variant(variant)
      try baseOption.check(v)
      return [v]
    }
    return try baseOption.bases().map { base in
      try OptionParsing.variant(base == "v5.11" ? "original" : base)
    }
  }
  @Option(name: .long, help: "RCU flavour: memb, mb, qsbr or bp.")
  var flavor: String = "memb"
  @Option(
    name: .long, parsing: .unconditional,
    help: "Fraction of non-blockable starts a refusing driver fails (-EAGAIN).")
  var failRate: Double = 0.1
  @Option(
    name: .long, parsing: .unconditional,
    help: "Seed for every random choice (default: from the clock; printed).")
  var seed: String?
  @Option(
    name: .long,
    help:
      "promised (the classes in which the variant keeps every promise; all if there are none), all, or a list."
  )
  var classes: String = "promised"
  @Option(name: .long, help: "text or json.")
  var format: String = "text"
  @Option(
    name: .customLong("watchdog-margin"), parsing: .unconditional,
    help:
      "Seconds the run may take beyond --seconds (teardown, grace periods) before the watchdog ends it and reports hung."
  )
  var watchdogMargin: Double = 30
  /// The re-executed child: runs, writes its result to fd 3.
  @Flag(
    name: .long,
    help:
      "Run the child from an AddressSanitizer build (.build-asan, or MMN_KASAN_BINARY) with the quarantine off, so ASan sees every free: its report becomes the use_after_free verdict."
  )
  var kasan = false
  @Flag(name: .customLong("child"), help: .hidden)
  var child = false
  /// No child: a crash takes the process (for debugging the harness).
  @Flag(name: .customLong("in-process"), help: .hidden)
  var inProcess = false

  static let secondsRange = "more than 0, at most 86400"

  func validate() throws {
    guard seconds.isFinite, seconds > 0, seconds <= 86400 else {
      throw ValidationError(
        "--seconds \(Self.shown(seconds)) is out of range; valid: \(Self.secondsRange)")
    }
    _ = try OptionParsing.bounded(readers, "--readers", 1...64)
    _ = try OptionParsing.bounded(writers, "--writers", 1...64)
    guard failRate.isFinite, (0...1).contains(failRate) else {
      throw ValidationError("--fail-rate \(Self.shown(failRate)) is out of range; valid: 0...1")
    }
    _ = try parsedSeed()
    for v in try selectedVariants() { _ = try stressClasses(for: v) }
    _ = try OptionParsing.flavor(flavor)
    _ = try OptionParsing.oneOf(format, "format", ["text", "json"])
    guard watchdogMargin.isFinite, watchdogMargin >= 1, watchdogMargin <= 3600 else {
      throw ValidationError(
        "--watchdog-margin \(Self.shown(watchdogMargin)) is out of range; valid: 1...3600")
    }
  }

  /// A number as the user would have typed it ("-1", not "-1.0").
  static func shown(_ d: Double) -> String {
    d.isFinite && d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
  }

  func parsedSeed() throws -> UInt64? {
    guard let seed else { return nil }
    guard let value = UInt64(seed) else {
      throw ValidationError(
        "--seed '\(seed)' is not a number; valid: 0...\(UInt64.max)")
    }
    return value
  }

  func stressClasses(for variant: Variant) throws -> [StressClass] {
    switch classes {
    case "promised": return StressEngine.defaultClasses(for: variant)
    case "all": return StressClass.allCases
    default:
      let names = try OptionParsing.items(
        classes, "--classes", valid: ["promised", "all"] + StressClass.allCases.map(\.rawValue))
      guard !names.isEmpty else {
        throw ValidationError(
          "--classes is empty; valid: promised, all, \(StressClass.allCases.map(\.rawValue).joined(separator: ", "))"
        )
      }
      var out: [StressClass] = []
      for name in names {
        let cls = try OptionParsing.wrap { try StressClass.named(name) }
        if !out.contains(cls) { out.append(cls) }
      }
      return out
    }
  }

  func run() throws {
    let variants = try selectedVariants()
    guard variants.count > 1 else { return try run(variants[0]) }
    // --base all: each base in turn; the worst exit wins
    var failure: ExitCode?
    for v in variants {
      do { try run(v) } catch let code as ExitCode {
        if code.rawValue > (failure?.rawValue ?? 0) { failure = code }
      }
    }
    if let failure { throw failure }
  }

  func run(_ variant: Variant) throws {
    var configuration = StressConfiguration(
      variant: variant, flavor: try OptionParsing.flavor(flavor), seconds: seconds,
      readers: readers, writers: writers, failRate: failRate,
      seed: try parsedSeed() ?? UInt64(Date().timeIntervalSince1970 * 1000),
      classes: try stressClasses(for: variant))
    if child {
      runChild(&configuration)
    }
    if inProcess {
      let report = StressEngine.run(configuration)
      print(format == "json" ? report.json.rendered() : report.text)
      if report.stoppedBy != 0 { throw ExitCode(128 + report.stoppedBy) }
      if !report.ok { throw ExitCode(1) }
      return
    }
    try runIsolated(configuration)
  }

  /// The parent: prints the seed, runs the stress in a re-executed child,
  /// and turns however the child ended into a verdict.
  func runIsolated(_ c: StressConfiguration) throws {
    let limit = seconds + watchdogMargin
    FileHandle.standardError.write(
      Data(
        "mmn-harness stress: variant \(baseOption.name(c.variant)), flavour \(c.flavor), \(StressReport.number(seconds)) s, seed \(c.seed) (isolated child; watchdog at \(StressReport.number(limit)) s)\n"
          .utf8))
    var arguments = [
      "stress", "--child", "--variant", c.variant.id, "--base", c.variant.base, "--flavor",
      c.flavor.rawValue,
      "--seconds", String(seconds), "--readers", String(readers), "--writers", String(writers),
      "--fail-rate", String(failRate), "--seed", String(c.seed), "--format", format,
    ]
    arguments += ["--classes", c.classes.map(\.rawValue).joined(separator: ",")]
    var executable = "/proc/self/exe"
    var environment: [String: String] = [:]
    if kasan {
      executable = try Self.kasanBinary()
      // halt at the first report, which is the verdict; leaks are not this
      environment = [
        "MMN_QUARANTINE": "0", "ASAN_OPTIONS": "halt_on_error=1:detect_leaks=0:exitcode=66",
      ]
    }
    let outcome = ChildProcess.run(
      arguments: arguments, limit: limit, executable: executable, environment: environment
    ) { tag, text in
      if tag == "started" {
        FileHandle.standardError.write(
          Data(
            "mmn-harness stress: running (child pid \(text)); SIGINT or SIGTERM stops it with a partial report\n"
              .utf8))
      }
    }
    if !outcome.stderr.isEmpty { FileHandle.standardError.write(Data(outcome.stderr.utf8)) }
    let interrupted = outcome.interruptedBy
    if let report = outcome.message("report"), case .exited(0) = outcome.end {
      print(report)
      let stopped = Int32(outcome.message("stopped") ?? "0") ?? 0
      if interrupted != 0 || stopped != 0 {
        throw ExitCode(128 + (stopped != 0 ? stopped : interrupted))
      }
      if outcome.message("ok") != "1" { throw ExitCode(1) }
      return
    }
    if kasan, let summary = Self.asanSummary(outcome.stderr) {
      // AddressSanitizer's report, as the kernel's KASAN would be counted
      print("verdict: FAILED: use_after_free (AddressSanitizer): \(summary)")
      print(
        "  seed \(c.seed); again: mmn-harness stress --kasan \(arguments.dropFirst(2).joined(separator: " "))"
      )
      throw ExitCode(1)
    }
    let verdict = StressFailure(configuration: c, outcome: outcome, limit: limit)
    print(format == "json" ? verdict.json.rendered() : verdict.text)
    if interrupted != 0 { throw ExitCode(128 + interrupted) }
    throw ExitCode(1)
  }

  /// The AddressSanitizer build of this binary that `--kasan` runs.
  static func kasanBinary() throws -> String {
    if let path = ProcessInfo.processInfo.environment["MMN_KASAN_BINARY"], !path.isEmpty {
      guard FileManager.default.isExecutableFile(atPath: path) else {
        throw ValidationError(
          "--kasan: MMN_KASAN_BINARY '\(path)' is not an executable; valid: the path of an ASan build of mmn-harness"
        )
      }
      return path
    }
    let root =
      RepositoryRoot.locate() ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    let candidate = root.appendingPathComponent(".build-asan/debug/mmn-harness").path
    guard FileManager.default.isExecutableFile(atPath: candidate) else {
      throw ValidationError(
        "--kasan needs an AddressSanitizer build at \(candidate); valid: build it with `swift build --sanitize=address --scratch-path .build-asan`, or set MMN_KASAN_BINARY"
      )
    }
    return candidate
  }

  /// "heap-use-after-free … in mn_hlist_invalidate_end", from ASan's SUMMARY line.
  static func asanSummary(_ stderr: String) -> String? {
    guard stderr.contains("ERROR: AddressSanitizer") else { return nil }
    let summary = stderr.split(separator: "\n").first {
      $0.hasPrefix("SUMMARY: AddressSanitizer: ")
    }
    return summary.map { String($0.dropFirst("SUMMARY: AddressSanitizer: ".count)) }
      ?? "AddressSanitizer reported an error (see stderr)"
  }

  /// The child: the run itself, its result on the channel (fd 3).
  func runChild(_ configuration: inout StressConfiguration) -> Never {
    let channel = ChildChannel(fd: 3)
    configuration.crashWatchesLogs = true
    ChildSide.prepare(channel: channel, watch: configuration.watch)
    channel.send("started", String(getpid()))
    let report = StressEngine.run(configuration)
    channel.send("ok", report.ok ? "1" : "0")
    channel.send("stopped", String(report.stoppedBy))
    channel.send("report", format == "json" ? report.json.rendered() : report.text)
    Foundation.exit(0)
  }
}
