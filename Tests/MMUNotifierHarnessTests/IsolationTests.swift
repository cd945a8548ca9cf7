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
  /// test-early-free (mmu_notifier_put frees before the grace period) in
  /// 10 of 10 runs: exit 1 with a verdict and the seed, the harness itself
  /// never killed. Until the KASAN quarantine lands, a reached free shows as
  /// a crash of the child (SIGSEGV in the walk or a trampoline) or as a
  /// driver called after its free; either is the verdict this checks.
  @Test func earlyFreeIsAVerdictInTenOfTenRuns() throws {
    let scratch = try Scratch()
    for seed in 1...10 {
      let result = try HarnessCLI.run(
        ["stress", "--variant", "test-early-free", "--seconds", "1", "--seed", String(seed)],
        in: scratch.url, timeout: 60)
      let run = "seed \(seed): \(result.stdout.suffix(600))"
      #expect(result.status == 1, "\(run)")
      #expect(!result.killedBySignal, "\(run)")
      #expect(result.stderr.hasPrefix("mmn-harness stress: variant test-early-free"), "\(run)")
      #expect(result.stderr.contains("seed \(seed) "), "the seed comes before the run: \(run)")
      #expect(result.stdout.contains("verdict: FAILED"), "\(run)")
      #expect(result.stdout.contains("seed \(seed)"), "\(run)")
      let caught =
        result.stdout.contains("verdict: FAILED: crash: SIG")
        || result.stdout.contains("use_after_free=") || result.stdout.contains("calls_after_free=")
        || result.stdout.contains("poison_seen=")
      #expect(caught, "no crash or use-after-free verdict: \(run)")
      if result.stdout.contains("verdict: FAILED: crash: ") {
        #expect(result.stdout.contains("Call Trace:"), "\(run)")
      }
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
      let text = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
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
}
