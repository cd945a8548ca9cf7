import Foundation
import MMUNotifierHarness
import Testing

/// Sleep-set pruning in the bounded search: counts worked out by hand, and
/// the same verdict (the same first counterexample, token for token) with
/// and without pruning on every built-in configuration and variant.
@Suite("explore: sleep-set pruning loses nothing within the bound", .serialized)
struct ExplorePruneTests {
  static func variant(_ id: String) -> Variant { try! Variant.named(id) }

  static func explore(
    _ config: ExploreConfiguration, _ variant: Variant, bound: Int, prune: Bool,
    shard: ExploreShard? = nil
  ) -> ExploreResult {
    Explorer.explore(
      config, variant: variant, strategy: .exhaustive(bound: bound), shard: shard, prune: prune)
  }

  static func steps(_ a: Int, _ objA: String, _ b: Int, _ objB: String) -> ExploreConfiguration {
    ExploreConfiguration(
      name: "steps", summary: "test", notifiers: [], intervals: 0,
      operations: [.objectSteps(a, object: objA), .objectSteps(b, object: objB)])
  }

  /// Two threads of a and b points whose steps write disjoint objects:
  /// every schedule is equivalent to one of the two "who goes first" ones.
  /// - The root has no running thread, so nobody sleeps there: 2 schedules
  ///   at every bound, one per thread going first.
  /// - Bound 1: preempting the first thread at any of its points puts it
  ///   to sleep; the other runs to the end with it asleep, and then the
  ///   only runnable thread sleeps: that execution is pruned. a + b of them.
  /// - Bound 2: also, at each of the other thread's points in such an
  ///   execution, switching back is a sleeping thread's branch: 2ab more.
  /// So pruned = (2 + a + b + 2ab) - 2 at bound 2: the full count, less
  /// the two schedules run.
  @Test(arguments: [(2, 3), (1, 1), (4, 2)])
  func disjointThreadsPruneToWhoGoesFirstByHand(a: Int, b: Int) {
    let config = Self.steps(a, "x", b, "y")
    let prunedByHand = [0, a + b, a + b + 2 * a * b]
    for bound in 0...2 {
      let r = Self.explore(config, Self.variant("original"), bound: bound, prune: true)
      #expect(r.violation == nil)
      #expect(r.schedules == 2, "a=\(a) b=\(b) bound \(bound)")
      #expect(r.pruned == prunedByHand[bound], "a=\(a) b=\(b) bound \(bound)")
    }
  }

  /// The same threads writing one object: only a thread's first step
  /// (from its start to its first point) touches nothing, so the only
  /// branches cut are at bound 2: preempt one thread at any of its points,
  /// let the other take its first step, and switch back; that is the same
  /// as switching at the other's start. a + b of them; bounds 0 and 1 are
  /// the full counts.
  @Test func threadsOnOneObjectPruneOnlyAroundAFirstStep() {
    let (a, b) = (3, 2)
    let config = Self.steps(a, "x", b, "x")
    let full = [2, 2 + a + b, 2 + a + b + 2 * a * b]
    let prunedByHand = [0, 0, a + b]
    for bound in 0...2 {
      let r = Self.explore(config, Self.variant("original"), bound: bound, prune: true)
      #expect(r.schedules == full[bound] - prunedByHand[bound], "bound \(bound)")
      #expect(r.pruned == prunedByHand[bound], "bound \(bound)")
    }
  }

  /// Every variant that does not crash or wedge the process (test-null-end
  /// is a SIGSEGV, test-stuck-walk a watchdog: both are verdicts of an
  /// isolated cell, which ExploreTests checks through the command).
  static let variants: [Variant] = Variant.everything.filter {
    !["test-null-end", "test-stuck-walk"].contains($0.id)
  }

  /// On every built-in configuration at its default bound (2, and 3 for
  /// interval-remove-vs-invalidate) and every variant: the same verdict,
  /// the same invariant and the same counterexample token with pruning as
  /// without; and never more schedules.
  @Test(arguments: ExploreCatalog.all.map(\.name))
  func pruningKeepsEveryVerdict(configuration: String) throws {
    let config = try ExploreCatalog.named(configuration)
    for v in Self.variants {
      let full = Self.explore(config, v, bound: config.defaultBound, prune: false)
      let pruned = Self.explore(config, v, bound: config.defaultBound, prune: true)
      let cell = "\(v.id) on \(configuration)"
      #expect(pruned.violation?.invariant == full.violation?.invariant, "\(cell)")
      #expect(pruned.violation?.replay == full.violation?.replay, "\(cell)")
      #expect(pruned.exhaustive == full.exhaustive, "\(cell)")
      #expect(pruned.schedules <= full.schedules, "\(cell)")
      #expect(full.pruned == 0, "\(cell)")
    }
  }

  /// Pruning cuts the larger configurations substantially.
  @Test(arguments: ["reap-vs-unregister", "reap-vs-munmap", "reap-vs-put"])
  func pruningCutsTheLargerConfigurations(configuration: String) throws {
    let config = try ExploreCatalog.named(configuration)
    let full = Self.explore(config, Self.variant("upstream-fix"), bound: 2, prune: false)
    let pruned = Self.explore(config, Self.variant("upstream-fix"), bound: 2, prune: true)
    #expect(full.violation == nil && pruned.violation == nil)
    #expect(pruned.exhaustive)
    #expect(pruned.schedules * 3 < full.schedules * 2, "\(pruned.schedules) of \(full.schedules)")
    #expect(pruned.pruned > 0)
  }

  /// Shards with pruning on: the parts add up to the unsharded search,
  /// schedules and pruned subtrees alike, and a violation is found by the
  /// part that holds it, with the same token.
  @Test func shardsWithPruningAddUpToTheWhole() throws {
    let config = try ExploreCatalog.named("reap-vs-unregister")
    for variant in ["upstream-fix", "prefix-undo"] {
      let v = Self.variant(variant)
      let whole = Self.explore(config, v, bound: 2, prune: true)
      var schedules = 0
      var pruned = 0
      var replays: [String] = []
      for k in 0..<3 {
        let part = Self.explore(
          config, v, bound: 2, prune: true, shard: ExploreShard(index: k, count: 3))
        schedules += part.schedules
        pruned += part.pruned
        if let r = part.violation?.replay { replays.append(r) }
      }
      if let w = whole.violation {
        #expect(replays.contains(w.replay), "\(variant)")
      } else {
        #expect(replays.isEmpty)
        #expect(schedules == whole.schedules, "\(variant)")
        #expect(pruned == whole.pruned, "\(variant)")
      }
    }
  }

  /// A counterexample found with pruning is shrunk and replays exactly.
  @Test func aTokenFoundWithPruningReplays() throws {
    let config = try ExploreCatalog.named("reap-vs-unregister")
    let result = Self.explore(config, Self.variant("prefix-undo"), bound: 2, prune: true)
    let v = try #require(result.violation)
    #expect(v.invariant == .endWithoutStart)
    #expect(v.preemptions <= 2)
    let token = try #require(ExploreToken(parsing: v.replay))
    let replayed = Explorer.replay(
      token, configuration: config, variant: Self.variant("prefix-undo"))
    #expect(!replayed.diverged)
    #expect(replayed.violation?.invariant == .endWithoutStart)
    #expect(replayed.trace == v.trace)
  }
}
