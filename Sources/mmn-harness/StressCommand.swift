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
      waited for (srcu_barrier) and the run checks: nothing freed was reached (poison_seen), \
      frees equal removals, and in every class the variant promises, zero ledger totals, \
      WARNs, BUGs, hung waits, lock cycles and leaked active ranges. Exit status 1 when an \
      invariant is broken. Classes: \(StressClass.allCases.map(\.rawValue).joined(separator: ", ")).
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
  @Option(name: .long, help: "Core variant (see `mmn-harness variants`).")
  var variant: String = "original"
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
    help: "promised (the variant's promised classes; all if it promises none), all, or a list.")
  var classes: String = "promised"
  @Option(name: .long, help: "text or json.")
  var format: String = "text"

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
    _ = try OptionParsing.variant(variant)
    _ = try OptionParsing.flavor(flavor)
    _ = try stressClasses(for: OptionParsing.variant(variant))
    _ = try OptionParsing.oneOf(format, "format", ["text", "json"])
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
      let names = OptionParsing.list(classes)
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
    let variant = try OptionParsing.variant(variant)
    let configuration = StressConfiguration(
      variant: variant, flavor: try OptionParsing.flavor(flavor), seconds: seconds,
      readers: readers, writers: writers, failRate: failRate,
      seed: try parsedSeed() ?? UInt64(Date().timeIntervalSince1970 * 1000),
      classes: try stressClasses(for: variant))
    let report = StressEngine.run(configuration)
    print(format == "json" ? report.json.rendered() : report.text)
    if !report.ok { throw ExitCode(1) }
  }
}
