import Foundation
import MMUNotifierHarness
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Issue 13 through the built binary: a broken variant gets a verdict, never
/// a crash of the harness. Every stress run and compare cell is a child of
/// the command; these tests run the command as a user would and read what
/// it printed and how it exited.
@Suite("Isolation: a crash, a hang or a signal becomes a verdict")
struct IsolationTests {
  /// test-null-end calls a NULL invalidate_range_end: the child dies with
  /// SIGSEGV in every run, and every run is a `crash` verdict naming the
  /// caller, with the seed, the call trace and the last log lines; the
  /// harness itself exits 1, never by a signal.
  @Test func aCrashIsAVerdict() throws {
    let scratch = try Scratch()
    for seed in 1...3 {
      let result = try HarnessCLI.run(
        ["stress", "--variant", "test-null-end", "--seconds", "1", "--seed", String(seed)],
        in: scratch.url, timeout: 60)
      let run = "seed \(seed): \(result.stdout.suffix(800))"
      #expect(result.status == 1, "\(run)")
      #expect(!result.killedBySignal, "\(run)")
      #expect(result.stderr.hasPrefix("mmn-harness stress: variant test-null-end"), "\(run)")
      #expect(result.stderr.contains("seed \(seed) "), "the seed comes before the run: \(run)")
      #expect(
        result.stdout.contains("verdict: FAILED: crash: SIGSEGV in 0x0 (called from mmn_"),
        "\(run)")
      #expect(result.stdout.contains("BUG: unable to handle page fault for address 0x0"))
      #expect(result.stdout.contains("  Call Trace:"))
      #expect(result.stdout.contains("  last kernel-log lines:"), "\(run)")
      #expect(result.stdout.contains("--seed \(seed)"), "the rerun line carries the seed")
    }
    let json = try HarnessCLI.run(
      [
        "stress", "--variant", "test-null-end", "--seconds", "1", "--seed", "1", "--format", "json",
      ],
      in: scratch.url, timeout: 60)
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
    #expect(object["verdict"] as? String == "crash")
    #expect(object["signal"] as? String == "SIGSEGV")
    #expect((object["function"] as? String)?.hasPrefix("0x0 (called from mmn_") == true)
    #expect(object["log"] is [String])
  }

  /// test-early-free (mmu_notifier_put frees before the grace period):
  /// every run is a use-after-free verdict with its seed, exit 1, the
  /// harness never killed (before the quarantine it was SIGSEGV with
  /// nothing printed in 28 of 37 runs). By construction, not by luck: the
  /// quarantine keeps a reached subscription poisoned, and the
  /// grace-period check (gp_check.c) reports every free that overlaps a
  /// reader that entered before the unlink, touched or not.
  @Test func earlyFreeIsAVerdictInTenOfTenRuns() throws {
    let scratch = try Scratch()
    for seed in 1...10 {
      let result = try HarnessCLI.run(
        ["stress", "--variant", "test-early-free", "--seconds", "2", "--seed", String(seed)],
        in: scratch.url, timeout: 60)
      let run = "seed \(seed): \(result.stdout.suffix(600))"
      #expect(result.status == 1, "\(run)")
      #expect(!result.killedBySignal, "\(run)")
      #expect(result.stderr.contains("seed \(seed) "), "the seed comes before the run: \(run)")
      #expect(result.stdout.contains("verdict: FAILED"), "\(run)")
      #expect(result.stdout.contains("no-use-after-free"), "\(run)")
      #expect(result.stdout.contains("BUG: KASAN: use-after-free") || result.stdout.contains("use_after_free="), "\(run)")
      #expect(result.stdout.contains("seed \(seed)"), "\(run)")
    }
  }

  /// test-stuck-walk sleeps forever inside SRCU: the watchdog ends the run
  /// at --seconds plus --watchdog-margin and names each blocked thread's
  /// last point, as the hung-task detector would.
  @Test func stuckWalkIsReportedHungNamingTheBlockedThreads() throws {
    let scratch = try Scratch()
    let result = try HarnessCLI.run(
      [
        "stress", "--variant", "test-stuck-walk", "--seconds", "0.5", "--watchdog-margin", "1",
        "--seed", "3",
      ], in: scratch.url, timeout: 30)
    #expect(result.status == 1)
    #expect(!result.killedBySignal)
    #expect(result.stdout.contains("verdict: FAILED: hung: the run did not finish within 1.5 s"))
    #expect(result.stdout.contains("INFO: task stress-reader"))
    #expect(result.stdout.contains("last point: mmu_notifier_invalidate_range_end"))
    #expect(result.stdout.contains("seed 3"))

    let json = try HarnessCLI.run(
      [
        "stress", "--variant", "test-stuck-walk", "--seconds", "0.5", "--watchdog-margin", "1",
        "--seed", "3", "--format", "json",
      ], in: scratch.url, timeout: 30)
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
    #expect(object["verdict"] as? String == "hung")
    #expect(object["ok"] as? Bool == false)
    #expect(object["seed"] as? String == "3")
    let blocked = try #require(object["blocked"] as? [String])
    #expect(blocked.contains { $0.hasPrefix("stress-reader") })
  }

  /// SIGINT and SIGTERM stop the workers; the partial report carries the
  /// seed; the exit status is 128 + the signal.
  @Test(arguments: [SIGINT, SIGTERM])
  func aSignalPrintsThePartialReport(signal: Int32) throws {
    let scratch = try Scratch()
    let binary = try #require(HarnessCLI.binary)
    let out = scratch.url.appendingPathComponent("out")
    let err = scratch.url.appendingPathComponent("err")
    FileManager.default.createFile(atPath: out.path, contents: nil)
    FileManager.default.createFile(atPath: err.path, contents: nil)
    let process = Process()
    process.executableURL = binary
    process.arguments = ["stress", "--variant", "upstream-fix", "--seconds", "120", "--seed", "77"]
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    try process.run()
    // The child says when its workers run; wait for that line (bounded).
    var running = false
    for _ in 0..<3000 {
      // only a non-empty file is read: Foundation leaks its read buffer
      // for an empty one, which LeakSanitizer reports (see HarnessCLI)
      let size = (try? FileManager.default.attributesOfItem(atPath: err.path)[.size] as? Int) ?? 0
      let text = size > 0 ? ((try? String(contentsOf: err, encoding: .utf8)) ?? "") : ""
      if text.contains("mmn-harness stress: running") {
        running = true
        break
      }
      usleep(10_000)
    }
    #expect(running, "the child never said it was running")
    kill(process.processIdentifier, signal)
    let done = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
      process.waitUntilExit()
      done.signal()
    }
    if done.wait(timeout: .now() + 60) == .timedOut {
      process.terminate()
      Issue.record("stress did not stop within 60 s of the signal")
      return
    }
    let stdout = try String(contentsOf: out, encoding: .utf8)
    #expect(process.terminationStatus == 128 + signal)
    #expect(process.terminationReason == .exit)
    let name = signal == SIGINT ? "SIGINT" : "SIGTERM"
    #expect(stdout.contains("stopped by \(name) after"), "\(stdout)")
    #expect(stdout.contains("a partial report, seed 77"), "\(stdout)")
    #expect(stdout.contains("verdict: "))
  }

  /// A compare cell whose child the watchdog ends is that cell's `hung`;
  /// the other target's cell still has its own verdict.
  @Test func aHungCompareCellIsOneVerdict() throws {
    let scratch = try Scratch()
    let result = try HarnessCLI.run(
      [
        "compare", "--scenario", "oom-no-failure", "--variant", "test-stuck-walk,upstream-fix",
        "--hung-timeout-ms", "10", "--format", "json", "--log",
      ], in: scratch.url, timeout: 60)
    #expect(result.status == 0, "\(result.stderr)")
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    let scenario = try #require((object["scenarios"] as? [[String: Any]])?.first)
    let results = try #require(scenario["results"] as? [[String: Any]])
    let byVariant = Dictionary(
      uniqueKeysWithValues: results.map { ($0["variant"] as? String ?? "", $0) })
    #expect(byVariant["test-stuck-walk"]?["verdict"] as? String == "hung")
    #expect(
      (byVariant["test-stuck-walk"]?["metrics"] as? [String: Any])?["watchdog"] as? Int == 1)
    #expect(byVariant["upstream-fix"]?["verdict"] as? String == "paired")
  }

  /// A compare cell whose child crashes is that cell's `crash SIGSEGV`,
  /// with its report in the cell's log; the other cells keep their
  /// verdicts; the command prints the matrix, then exits 1.
  @Test func aCrashedCompareCellIsOneVerdict() throws {
    let scratch = try Scratch()
    let result = try HarnessCLI.run(
      [
        "compare", "--scenario", "oom-no-failure", "--variant", "test-null-end,original", "--log",
      ], in: scratch.url, timeout: 60)
    #expect(result.status == 1)
    #expect(!result.killedBySignal)
    let row = result.stdout.split(separator: "\n").first { $0.hasPrefix("oom-no-failure ") }
    #expect(row?.contains("crash SIGSEGV") == true, "\(result.stdout)")
    #expect(row?.contains("paired 6") == true, "\(result.stdout)")
    #expect(result.stdout.contains("crash: SIGSEGV in 0x0 (called from mmn_"))
  }
}
