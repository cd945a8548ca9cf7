import ArgumentParser
import Foundation
import MMUNotifierHarness

/// Runs ranges over built-in notifiers and prints the pairing ledger.
struct Run: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run invalidations over built-in notifiers and print the pairing ledger.",
    discussion: """
      Registers N counting notifiers (start and end, never fail) and F failing ones \
      (start only, -EAGAIN on non-blockable starts), then runs R invalidations the way \
      the OOM reaper does (non-blockable start; end only if start succeeded) or the way \
      munmap does (--blockable).
      """)

  @Option(name: .long, help: "Counting notifiers (start+end, never fail).")
  var notifiers: Int = 2
  @Option(name: .long, help: "Failing notifiers (start only, -EAGAIN when non-blockable).")
  var failing: Int = 1
  @Option(name: .long, help: "Invalidations to run.")
  var ranges: Int = 4
  @Flag(name: .long, help: "Blockable ranges (munmap) instead of non-blockable (OOM reaper).")
  var blockable = false
  @Option(name: .long, help: "Core variant (see `mmn-harness variants`).")
  var variant: String = "original"
  @Option(name: .long, help: "RCU flavour: memb, mb, qsbr or bp.")
  var flavor: String = "memb"
  @Flag(name: .long, help: "Print the kernel log (pr_info, WARN) as dmesg would.")
  var log = false
  @Option(name: .long, help: "text or json.")
  var format: String = "text"

  func validate() throws {
    _ = try OptionParsing.bounded(notifiers, "--notifiers", 0...1024)
    _ = try OptionParsing.bounded(failing, "--failing", 0...1024)
    _ = try OptionParsing.bounded(ranges, "--ranges", 1...1_000_000)
    _ = try OptionParsing.variant(variant)
    _ = try OptionParsing.flavor(flavor)
    _ = try OptionParsing.oneOf(format, "format", ["text", "json"])
  }

  func run() throws {
    let variant = try OptionParsing.variant(variant)
    let flavor = try OptionParsing.flavor(flavor)
    let (notifiers, failing, ranges, blockable) = (notifiers, failing, ranges, blockable)
    let report = KernelThread.run(name: "mmn-run") {
      LedgerRun.run(
        variant: variant, flavor: flavor, counting: notifiers, failing: failing,
        ranges: ranges, blockable: blockable)
    }
    if format == "json" {
      print(report.json)
    } else {
      print(report.text(includeLog: log))
    }
  }
}
