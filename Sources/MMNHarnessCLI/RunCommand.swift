import ArgumentParser
import Foundation
import MMUNotifierHarness

/// Runs ranges over built-in notifiers and prints the pairing ledger.
struct Run: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run invalidations over built-in notifiers and print the pairing ledger.",
    discussion: """
      Registers N counting notifiers (start and end, never fail) and F failing ones \
      (start only, or start and end with --failing-with-end; -EAGAIN on every k-th \
      non-blockable start, k = --failing-every), then runs the way the OOM reaper does \
      (one oom_reap_task over R VMAs: non-blockable starts, an end only where the start \
      succeeded, up to 10 attempts while a start is refused) or the way munmap does \
      (--blockable: R munmap calls, one blockable start and end each).
      """)

  @Option(name: .long, help: "Counting notifiers (start+end, never fail).")
  var notifiers: Int = 2
  @Option(
    name: .long,
    help: "Failing notifiers (start only unless --failing-with-end; -EAGAIN when non-blockable).")
  var failing: Int = 1
  @Option(
    name: .customLong("failing-every"), parsing: .unconditional,
    help: "A failing notifier refuses every k-th non-blockable start it sees (1: all of them).")
  var failingEvery: Int = 1
  @Flag(
    name: .customLong("failing-with-end"),
    help: "Failing notifiers implement invalidate_range_end too (the case the merged fix WARNs on)."
  )
  var failingWithEnd = false
  @Option(
    name: .long,
    help: """
      Ranges: without --blockable, the VMAs one OOM reap walks (each of its up to 10 \
      attempts starts every VMA again, so one range can be invalidated up to 10 times); \
      with --blockable, munmap calls (one invalidation each).
      """)
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
    _ = try OptionParsing.bounded(failingEvery, "--failing-every", 1...1_000_000)
    _ = try OptionParsing.variant(variant)
    _ = try OptionParsing.flavor(flavor)
    _ = try OptionParsing.oneOf(format, "format", ["text", "json"])
  }

  func run() throws {
    let variant = try OptionParsing.variant(variant)
    let flavor = try OptionParsing.flavor(flavor)
    let (notifiers, failing, ranges, blockable) = (notifiers, failing, ranges, blockable)
    let (every, withEnd) = (failingEvery, failingWithEnd)
    let report = KernelThread.run(name: "mmn-run") {
      LedgerRun.run(
        variant: variant, flavor: flavor, counting: notifiers, failing: failing,
        ranges: ranges, blockable: blockable, failingEveryKth: every, failingWithEnd: withEnd)
    }
    if format == "json" {
      print(report.json)
    } else {
      print(report.text(includeLog: log))
    }
  }
}
