import Foundation
import MMUNotifierHarness
import Synchronization
import Testing

/// The explorer: every invariant caught by something made to break it,
/// replay, counts, shards, and the verdicts the issue asks of the seeds'
/// variants. Serialized: the controlled scheduler is one per process.
@Suite("explore: controlled scheduling over the real port", .serialized)
struct ExploreTests {
  static func variant(_ id: String) -> Variant { try! Variant.named(id) }

  static func exhaustive(
    _ config: ExploreConfiguration, _ variant: String, bound: Int = 2
  ) -> ExploreResult {
    Explorer.explore(config, variant: Self.variant(variant), strategy: .exhaustive(bound: bound))
  }

  static func config(
    _ name: String, _ notifiers: [ExploreConfiguration.Role], intervals: Int = 0,
    _ operations: [ExploreConfiguration.Operation]
  ) -> ExploreConfiguration {
    ExploreConfiguration(
      name: name, summary: "test", notifiers: notifiers, intervals: intervals,
      operations: operations)
  }

  // MARK: the seeds' verdicts

  @Test func prefixUndoEndWithoutStartIsFoundBySearchAndReplays() throws {
    let config = try ExploreCatalog.named("reap-vs-unregister")
    let result = Self.exhaustive(config, "prefix-undo")
    let v = try #require(result.violation)
    #expect(v.invariant == .endWithoutStart)
    #expect(v.preemptions <= 2)
    // the trace names the operations as the kernel log would
    #expect(v.trace.contains { $0.contains("hlist_del_init_rcu") })
    #expect(v.trace.contains { $0.contains("returned -11") })
    let token = try #require(ExploreToken(parsing: v.replay))
    let replayed = Explorer.replay(
      token, configuration: config, variant: Self.variant("prefix-undo"))
    #expect(replayed.violation?.invariant == .endWithoutStart)
    #expect(replayed.trace == v.trace)
  }

  @Test func originalMissesItsEnds() throws {
    let result = Self.exhaustive(try ExploreCatalog.named("reap-vs-munmap"), "original")
    #expect(result.violation?.invariant == .missingEnd)
    #expect(result.violation?.preemptions == 0)
  }

  @Test(arguments: ["upstream-fix", "sorted-undo"])
  func fixesAreCleanWithinBoundTwoOnTheHlistConfigurations(variant: String) throws {
    for name in [
      "reap-vs-unregister", "reap-vs-put", "reap-vs-munmap", "memslot-vs-reap", "gru-fault-vs-reap",
    ] {
      let result = Self.exhaustive(try ExploreCatalog.named(name), variant)
      #expect(result.violation == nil, "\(variant) on \(name): \(result.violation?.detail ?? "")")
      #expect(result.exhaustive)
      // schedules run plus subtrees pruned (each at least one schedule):
      // a lower bound on the full search's count
      #expect(result.schedules + result.pruned > 100)
    }
  }

  @Test func intervalRemoveRaceIsFoundUnderOriginalAndNotUnderItsFix() throws {
    let config = try ExploreCatalog.named("interval-remove-vs-invalidate")
    let original = Self.exhaustive(config, "original", bound: config.defaultBound)
    let v = try #require(original.violation)
    #expect(v.invariant == .useAfterFree)
    #expect(v.detail.contains("BUG: KASAN: use-after-free in mn_itree_inv_end"))
    #expect(v.kernelLog.contains { $0.contains("Freed by task interval_rm") })
    let fixed = Self.exhaustive(config, "interval-remove-fix", bound: config.defaultBound)
    #expect(fixed.violation == nil)
    #expect(fixed.exhaustive)
  }

  // MARK: every invariant has something that breaks it

  @Test func useAfterFreeIsAVerdictNotACrash() throws {
    // a grace period skipped: the walker standing on A reaches it freed
    let result = Self.exhaustive(
      Self.config("uaf", [.startEnd, .startEnd], [.munmap, .unregister(.notifier(0))]),
      "test-unregister-no-sync")
    let v = try #require(result.violation)
    #expect(v.invariant == .useAfterFree)
    #expect(v.detail.hasPrefix("BUG: KASAN: use-after-free"))
    // and the same configuration under the original is clean
    #expect(
      Self.exhaustive(
        Self.config("uaf", [.startEnd, .startEnd], [.munmap, .unregister(.notifier(0))]),
        "original"
      ).violation == nil)
  }

  /// test-early-free (put frees at once, no call_srcu): the verdict stress
  /// gives it in every run, here on the first schedule.
  @Test func earlyFreeGetsStressesVerdict() throws {
    let result = Self.exhaustive(try ExploreCatalog.named("reap-vs-put"), "test-early-free")
    let v = try #require(result.violation)
    #expect(v.invariant == .useAfterFree)
    #expect(v.detail.contains("freed inside a grace period"))
  }

  @Test func aBugIsCaught() throws {
    // prefix-undo ends KVM, which never started: its count goes below 0
    let result = Self.exhaustive(
      Self.config("bug", [.startEnd, .refusing, .kvm], [.oomReap, .unregister(.notifier(0))]),
      "prefix-undo")
    #expect(result.violation?.invariant == .bug)
    #expect(result.violation?.detail.contains("kernel BUG") == true)
  }

  @Test func aDeadlockIsCaught() throws {
    // the driver holds its spinlock from start to end; v5.11's reaper
    // never ends, so its retry takes the lock again: AA
    ExploreDrivers.register("holds-lock-across-start-end") { mm, _ in LockHoldingDriver(mm: mm) }
    let result = Self.exhaustive(
      Self.config("aa", [.driver("holds-lock-across-start-end"), .refusing], [.oomReap]),
      "original")
    let v = try #require(result.violation)
    #expect(v.invariant == .deadlock)
    #expect(v.detail.contains("a spinlock it already holds"))
  }

  @Test func aHangIsCaught() throws {
    let result = Self.exhaustive(try ExploreCatalog.named("memslot-vs-reap"), "original")
    let v = try #require(result.violation)
    #expect(v.invariant == .hung)
    #expect(v.detail.contains("memslot_update"))
  }

  @Test func aDuplicateEndIsCaught() throws {
    let result = Self.exhaustive(Self.config("dup", [.startEnd], [.munmap]), "test-double-end")
    #expect(result.violation?.invariant == .duplicateEnd)
  }

  @Test func aWarnIsCaught() throws {
    // a driver bug: -EAGAIN from a blockable start is WARNed on in v5.11
    ExploreDrivers.register("refuses-blockable") { _, _ in RefusesBlockable() }
    let result = Self.exhaustive(
      Self.config("warn", [.driver("refuses-blockable")], [.munmap]), "original")
    #expect(result.violation?.invariant == .warn)
  }

  @Test func aDriverLeftOutOfStateIsCaught() throws {
    // the driver's end forgets non-blockable ranges: the ledger sees an
    // end, but the driver's own count stays raised
    ExploreDrivers.register("forgets-nonblocking-end") { _, _ in ForgetsNonblockingEnd() }
    let result = Self.exhaustive(
      Self.config("state", [.driver("forgets-nonblocking-end"), .refusing], [.oomReap]),
      "upstream-fix")
    #expect(result.violation?.invariant == .driverState)
    #expect(result.violation?.detail.contains("open count 2") == true)  // one per reaper attempt
  }

  // MARK: the explorer itself

  /// Two threads of a and b points. Bound 0: who starts (2). Bound 1: also
  /// one switch at any of the first thread's points (a + b). Bound 2: also
  /// a switch back at any of the second's (2ab).
  @Test(arguments: [(2, 3), (1, 1), (4, 2)])
  func scheduleCountsMatchTheCountByHand(a: Int, b: Int) {
    let config = Self.config("steps", [], [.steps(a), .steps(b)])
    let byHand = [2, 2 + a + b, 2 + a + b + 2 * a * b]
    for bound in 0...2 {
      // the full enumeration (--no-prune): every schedule within the bound
      let r = Explorer.explore(
        config, variant: Self.variant("original"), strategy: .exhaustive(bound: bound),
        prune: false)
      #expect(r.violation == nil)
      #expect(r.schedules == byHand[bound], "a=\(a) b=\(b) bound \(bound)")
      #expect(r.pruned == 0)
    }
  }

  @Test func shardsAreDisjointAndCoverTheSearch() throws {
    let config = try ExploreCatalog.named("reap-vs-munmap")
    let whole = Self.exhaustive(config, "upstream-fix")
    var total = 0
    var executions = 0
    for k in 0..<3 {
      let part = Explorer.explore(
        config, variant: Self.variant("upstream-fix"), strategy: .exhaustive(bound: 2),
        shard: ExploreShard(index: k, count: 3))
      #expect(part.violation == nil)
      total += part.schedules
      executions += part.executions
    }
    #expect(total == whole.schedules)
    // a foreign subtree costs one execution: the shards together do not
    // repeat the whole search three times over
    #expect(executions < 2 * whole.executions)
  }

  @Test func pctIsReproducibleFromItsSeed() throws {
    let config = try ExploreCatalog.named("reap-vs-unregister")
    let run = {
      Explorer.explore(
        config, variant: Self.variant("prefix-undo"), strategy: .pct(depth: 3, runs: 300, seed: 7))
    }
    let a = run()
    let b = run()
    #expect(a.schedules == b.schedules)
    #expect(a.violation?.replay == b.violation?.replay)
    #expect(a.violation?.trace == b.violation?.trace)
  }

  @Test func badTokensAreRefused() {
    #expect(ExploreToken(parsing: "v1:reap-vs-munmap:0:original:-") != nil)
    #expect(ExploreToken(parsing: "v2:reap-vs-munmap:0:original:-") == nil)
    #expect(ExploreToken(parsing: "v1:reap-vs-munmap:x:original:-") == nil)
    #expect(ExploreToken(parsing: "v1:reap-vs-munmap:0:original:3.1,2.0") == nil)
    #expect(ExploreToken(parsing: "v1:reap-vs-munmap:0:original:3.99") == nil)
  }

  // MARK: through the binary

  @Test func theCommandFindsReplaysAndSaysSoInJSON() throws {
    let scratch = try Scratch()
    let found = try HarnessCLI.run(
      [
        "explore", "--variant", "prefix-undo", "--config", "reap-vs-unregister", "--format", "json",
      ],
      in: scratch.url)
    #expect(found.status == 1)
    let root = try #require(
      try JSONSerialization.jsonObject(with: Data(found.stdout.utf8)) as? [String: Any])
    let result = try #require((root["results"] as? [[String: Any]])?.first)
    let violation = try #require(result["violation"] as? [String: Any])
    #expect(violation["invariant"] as? String == "end_without_start")
    let replay = try #require(violation["replay"] as? String)
    let again = try HarnessCLI.run(["explore", "--replay", replay], in: scratch.url)
    #expect(again.status == 1)
    #expect(again.stdout.contains("end_without_start"))
    let bad = try HarnessCLI.run(["explore", "--replay", "nonsense"], in: scratch.url)
    #expect(bad.status == 2)
    #expect(bad.stderr.split(separator: "\n").count == 1)
    let list = try HarnessCLI.run(["explore", "--list"], in: scratch.url)
    #expect(list.status == 0)
    #expect(list.stdout.split(separator: "\n").count == ExploreCatalog.all.count)
  }
}

// MARK: drivers made to break one invariant each

/// Holds its spinlock from start to end (a driver bug).
final class LockHoldingDriver: Notifier, @unchecked Sendable {
  let callbacks: NotifierCallbacks = .startAndEnd
  let symbol = "holds_lock"
  let lock: KernelSpinlock
  init(mm: MM) { lock = KernelSpinlock(mm, name: "&driver->lock") }
  func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
    lock.lock("holds_lock_start")
    return 0
  }
  func invalidateRangeEnd(_ range: NotifierRange) { lock.unlock("holds_lock_end") }
}

/// Refuses every start, blockable ones included (start-only).
final class RefusesBlockable: Notifier, @unchecked Sendable {
  let callbacks: NotifierCallbacks = [.invalidateRangeStart]
  let symbol = "refuses_blockable"
  func invalidateRangeStart(_ range: NotifierRange) -> Int32 { -EAGAIN }
}

/// Counts starts; its end only counts blockable ranges down.
final class ForgetsNonblockingEnd: ExploreStatefulDriver, @unchecked Sendable {
  let callbacks: NotifierCallbacks = .startAndEnd
  let symbol = "forgets_end"
  let open = Atomic<Int>(0)
  func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
    open.add(1, ordering: .relaxed)
    return 0
  }
  func invalidateRangeEnd(_ range: NotifierRange) {
    if range.isBlockable { open.subtract(1, ordering: .relaxed) }
  }
  func stateAtRest() -> String? {
    let n = open.load(ordering: .relaxed)
    return n == 0 ? nil : "open count \(n)"
  }
}

/// Isolation: a variant that crashes the search is a verdict in the
/// matrix, beside cells that finished (through the binary, as a user runs it).
@Suite("explore: a crash is a verdict")
struct ExploreIsolationTests {
  @Test func aCrashingVariantIsACrashVerdictAndTheMatrixGoesOn() throws {
    let scratch = try Scratch()
    let result = try HarnessCLI.run(
      ["explore", "--variant", "test-null-end,upstream-fix", "--config", "reap-vs-munmap"],
      in: scratch.url, timeout: 300)
    #expect(result.status == 1)
    #expect(!result.killedBySignal)
    let row = try #require(
      result.stdout.split(separator: "\n").first { $0.hasPrefix("reap-vs-munmap") })
    #expect(row.contains("crash"), "\(row)")
    #expect(row.contains("clean"), "\(row)")
    #expect(result.stdout.contains("crash: SIGSEGV"))
    #expect(result.stdout.contains("last schedule v1:reap-vs-munmap:0:test-null-end:"))
  }
}
