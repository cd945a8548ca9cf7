#if canImport(Glibc)
  import Glibc
#endif

/// How to search a configuration's interleavings.
public enum ExploreStrategy: Sendable, Hashable {
  /// Every schedule with at most `bound` preemptions, bound 0 first, then
  /// 1, ... (iterative context bounding, Musuvathi and Qadeer, PLDI 2007):
  /// the first violation found has the fewest preemptions there are.
  case exhaustive(bound: Int)
  /// Randomized priority scheduling (PCT, Burckhardt et al., ASPLOS 2010)
  /// of depth `depth`, `runs` schedules per instance, from `seed`.
  case pct(depth: Int, runs: Int, seed: UInt64)

  var name: String {
    switch self {
    case .exhaustive: "exhaustive"
    case .pct: "pct"
    }
  }
}

/// A violation, with everything needed to read and replay it.
public struct ExploreViolation: Sendable {
  public var invariant: ExploreInvariant
  public var detail: String
  public var preemptions: Int
  public var instance: String
  public var replay: String
  public var trace: [String]
  public var kernelLog: [String]
}

/// One (variant, configuration) cell.
public struct ExploreResult: Sendable {
  public var variant: String
  public var configuration: String
  public var strategy: ExploreStrategy
  public var schedules: Int
  /// Exhaustive search with sleep sets: subtrees of the full search that
  /// were not run because each is equivalent to schedules that were (a
  /// sleeping thread's branch at a decision, or an execution from which
  /// every runnable thread slept). Each stands for one or more schedules.
  public var pruned: Int = 0
  public var executions: Int
  public var seconds: Double
  public var exhaustive: Bool
  public var violation: ExploreViolation?
  /// Shard k of n, when the search was split.
  public var shard: ExploreShard?

  public var bound: Int? {
    if case .exhaustive(let b) = strategy { return b }
    return nil
  }
}

/// Part k (0-based) of n disjoint parts of an exhaustive search.
public struct ExploreShard: Sendable, Hashable {
  public var index: Int
  public var count: Int
  public init(index: Int, count: Int) {
    self.index = index
    self.count = count
  }
}

/// A replay token: `v1:<configuration>:<instance>:<variant>:<d.t,...>`,
/// the schedule as deviations from the no-preemption rule.
public struct ExploreToken: Sendable, Hashable {
  public var configuration: String
  public var instance: Int
  public var variant: String
  public var schedule: ExploreSchedule

  public var text: String {
    let picks = schedule.overrides.map { "\($0.decision).\($0.thread)" }.joined(separator: ",")
    return "v1:\(configuration):\(instance):\(variant):\(picks.isEmpty ? "-" : picks)"
  }

  public init(configuration: String, instance: Int, variant: String, schedule: ExploreSchedule) {
    self.configuration = configuration
    self.instance = instance
    self.variant = variant
    self.schedule = schedule
  }

  /// nil if `text` is not a token.
  public init?(parsing text: String) {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    guard parts.count == 5, parts[0] == "v1", let instance = Int(parts[2]), instance >= 0 else {
      return nil
    }
    var overrides: [ExploreSchedule.Override] = []
    if parts[4] != "-" {
      for item in parts[4].split(separator: ",", omittingEmptySubsequences: false) {
        let dt = item.split(separator: ".", omittingEmptySubsequences: false)
        guard dt.count == 2, let d = UInt32(dt[0]), let t = UInt32(dt[1]),
          t < UInt32(MMN_XP_MAX_THREADS_VALUE), overrides.last.map({ $0.decision < d }) ?? true
        else { return nil }
        overrides.append(.init(decision: d, thread: t))
      }
    }
    self.init(
      configuration: parts[1], instance: instance, variant: parts[3],
      schedule: ExploreSchedule(overrides))
  }
}

let MMN_XP_MAX_THREADS_VALUE = 16

/// The explorer: drives executions of the real variant code through the
/// controlled scheduler and searches their schedules.
public enum Explorer {
  /// Explores `configuration` on `variant`.
  /// `prune: false` runs the full enumeration (every schedule within the
  /// bound); with sleep sets (the default) equivalent schedules are not
  /// run, and the first violation found is the same schedule.
  public static func explore(
    _ configuration: ExploreConfiguration, variant: Variant, strategy: ExploreStrategy,
    shard: ExploreShard? = nil, prune: Bool = true
  ) -> ExploreResult {
    let start = monotonicSeconds()
    var result = ExploreResult(
      variant: variant.id, configuration: configuration.name, strategy: strategy, schedules: 0,
      executions: 0, seconds: 0, exhaustive: false, violation: nil, shard: shard)
    let instances = configuration.instances
    outer: for instance in instances {
      switch strategy {
      case .exhaustive(let bound):
        var search = BoundedSearch(
          variant: variant, configuration: configuration, instance: instance, shard: shard,
          prune: prune)
        for b in 0...max(0, bound) {
          search.pruned = 0
          let (count, found) = search.run(bound: b)
          if let found {
            result.schedules += count
            result.pruned += search.pruned
            result.executions += search.executions
            result.violation = report(
              found, variant: variant, configuration: configuration, instance: instance)
            break outer
          }
          if b == bound {
            result.schedules += count
            result.pruned += search.pruned
          }
        }
        result.executions += search.executions
      case .pct(let depth, let runs, let seed):
        var rng = SplitMix64(seed: seed &+ UInt64(instance.index) &* 0x9e37_79b9)
        let probe = ExploreExecution.run(
          variant: variant, configuration: configuration, instance: instance,
          schedule: ExploreSchedule())
        result.executions += 1
        let steps = max(1, probe.steps)
        let threads = instance.operations.count
        for _ in 0..<runs {
          var priorities = Array(0..<UInt32(threads))
          priorities.shuffle(using: &rng)
          let points = (0..<max(0, depth - 1)).map { _ in UInt(rng.next() % UInt64(steps)) + 1 }
          let outcome = ExploreExecution.run(
            variant: variant, configuration: configuration, instance: instance,
            schedule: ExploreSchedule(), policy: .pct(priorities: priorities, changePoints: points))
          result.executions += 1
          result.schedules += 1
          if outcome.violation != nil {
            result.violation = report(
              outcome, variant: variant, configuration: configuration, instance: instance)
            break outer
          }
        }
      }
    }
    if case .exhaustive = strategy { result.exhaustive = result.violation == nil }
    result.seconds = monotonicSeconds() - start
    return result
  }

  /// Replays a token: the same schedule, its trace and its verdict.
  public static func replay(
    _ token: ExploreToken, configuration: ExploreConfiguration, variant: Variant
  )
    -> (violation: ExploreViolation?, trace: [String], kernelLog: [String], diverged: Bool)
  {
    let instances = configuration.instances
    guard token.instance < instances.count else { return (nil, [], [], true) }
    let outcome = ExploreExecution.run(
      variant: variant, configuration: configuration, instance: instances[token.instance],
      schedule: token.schedule, recordTrace: true)
    let violation = outcome.violation.map { v in
      ExploreViolation(
        invariant: v.invariant, detail: v.detail, preemptions: outcome.preemptions,
        instance: instances[token.instance].label, replay: token.text, trace: outcome.trace,
        kernelLog: outcome.kernelLog)
    }
    return (violation, outcome.trace, outcome.kernelLog, outcome.diverged)
  }

  /// Shrinks a violating schedule, then replays it with the trace on.
  static func report(
    _ found: ExploreOutcome, variant: Variant, configuration: ExploreConfiguration,
    instance: ExploreConfiguration.Instance
  ) -> ExploreViolation {
    let invariant = found.violation!.invariant
    var schedule = found.schedule
    // Greedy: drop one deviation at a time while the same invariant breaks.
    var i = schedule.overrides.count - 1
    while i >= 0 {
      var candidate = schedule
      candidate.overrides.remove(at: i)
      let outcome = ExploreExecution.run(
        variant: variant, configuration: configuration, instance: instance, schedule: candidate)
      if !outcome.diverged, outcome.violation?.invariant == invariant {
        schedule = outcome.schedule
        i = min(i, schedule.overrides.count) - 1
      } else {
        i -= 1
      }
    }
    let final = ExploreExecution.run(
      variant: variant, configuration: configuration, instance: instance, schedule: schedule,
      recordTrace: true)
    let token = ExploreToken(
      configuration: configuration.name, instance: instance.index, variant: variant.id,
      schedule: final.schedule)
    let v = final.violation ?? found.violation!
    return ExploreViolation(
      invariant: v.invariant, detail: v.detail, preemptions: final.preemptions,
      instance: instance.label, replay: token.text, trace: final.trace,
      kernelLog: final.kernelLog)
  }

  static func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
  }
}

/// Stateless depth-first search over schedules with at most `bound`
/// preemptions. Each execution is one leaf; a new one is the longest
/// prefix of the last whose next decision has an untried runnable thread
/// within the bound, that thread, and the no-preemption rule after it.
///
/// With `prune`, sleep sets made sound for the bound (the argument is in
/// explore/sched.c and docs/explore.md): a decision's no-preemption child
/// is explored first, as it always was; when the search comes back to
/// preempt the thread c that was running there, c sleeps with the
/// footprint of the step it took in that first child, and stays asleep
/// while the steps after are independent of it. A sleeping thread's branch
/// is never run: every schedule in it is equivalent to one in c's child
/// with no more preemptions. Only c is ever put to sleep.
struct BoundedSearch {
  let variant: Variant
  let configuration: ExploreConfiguration
  let instance: ExploreConfiguration.Instance
  let shard: ExploreShard?
  let prune: Bool
  var executions = 0
  /// Subtrees not run as equivalent, in the last `run`.
  var pruned = 0

  struct Frame {
    var decision: ExploreDecision
    var tried: UInt32
    var preemptionsBefore: Int
    /// The footprint of the running thread's own step here, from the
    /// execution that took the no-preemption child (nil if it could not
    /// run: then nobody sleeps).
    var stayStep: ExploreFootprint?
  }

  init(
    variant: Variant, configuration: ExploreConfiguration,
    instance: ExploreConfiguration.Instance, shard: ExploreShard?, prune: Bool = false
  ) {
    self.variant = variant
    self.configuration = configuration
    self.instance = instance
    self.shard = shard
    self.prune = prune
  }

  /// Decisions at which a shard split happens: the first few branching
  /// ones. A leaf belongs to the shard its picks there hash to.
  static let splitDepth = 3

  mutating func run(bound: Int) -> (schedules: Int, violation: ExploreOutcome?) {
    var stack: [Frame] = []
    var schedule = ExploreSchedule()
    schedule.prune = prune
    var count = 0
    while true {
      let outcome = ExploreExecution.run(
        variant: variant, configuration: configuration, instance: instance, schedule: schedule)
      executions += 1
      // Extend the stack with what this execution decided past the prefix.
      var preemptions =
        stack.last.map { $0.preemptionsBefore + ($0.decision.preemption ? 1 : 0) } ?? 0
      for d in outcome.decisions.dropFirst(stack.count) {
        let stays = d.current >= 0 && d.pick == UInt32(d.current)
        stack.append(
          Frame(
            decision: d, tried: 1 << d.pick, preemptionsBefore: preemptions,
            stayStep: stays ? d.step : nil))
        if d.preemption { preemptions += 1 }
      }
      if outcome.diverged || outcome.decisions.count < stack.count {
        // The execution did not follow its own prefix: nondeterminism
        // outside the scheduler's sight. Reported, never silently skipped.
        var bad = outcome
        bad.violation = (
          .hung,
          "explore: replay diverged from its schedule at decision \(outcome.decisions.count) (the variant or a driver behaves differently on the same schedule)"
        )
        return (count, bad)
      }
      let ours = mine(stack)
      if let blocked = outcome.sleepBlockedAt {
        // Every runnable thread slept: whatever this execution did from
        // there on is equivalent to schedules already explored. Not a
        // schedule, and nothing below that point is backtracked into.
        if blocked < stack.count { stack.removeLast(stack.count - blocked) }
        if ours { pruned += 1 }
      } else if ours {
        count += 1
        if outcome.violation != nil { return (count, outcome) }
      }
      // Backtrack to the deepest decision with an untried thread in bound.
      // Below the split depth every leaf shares this one's shard, so after
      // another shard's leaf only the split decisions are revisited: a
      // foreign subtree costs one execution, its first leaf.
      var next: (index: Int, thread: UInt32)?
      var i = (ours ? stack.count : min(stack.count, Self.splitDepth)) - 1
      while i >= 0, next == nil {
        let f = stack[i]
        var candidates = f.decision.enabled & ~f.tried
        while candidates != 0 {
          let t = UInt32(candidates.trailingZeroBitCount)
          candidates &= candidates - 1
          let cur = f.decision.current
          let preempts =
            cur >= 0 && f.decision.enabled & (1 << UInt32(cur)) != 0 && t != UInt32(cur)
          if f.preemptionsBefore + (preempts ? 1 : 0) <= bound {
            if f.decision.sleep & (1 << t) != 0 {
              // asleep here: its branch is equivalent to one explored
              stack[i].tried |= 1 << t
              if i < Self.splitDepth ? prunedIsMine(stack, at: i, thread: t) : ours { pruned += 1 }
              continue
            }
            next = (i, t)
            break
          }
          stack[i].tried |= 1 << t  // out of bound: never try it
        }
        if next == nil { i -= 1 }
      }
      guard let (index, thread) = next else { return (count, nil) }
      stack.removeLast(stack.count - index - 1)
      stack[index].tried |= 1 << thread
      let cur = stack[index].decision.current
      stack[index].decision.preemption =
        cur >= 0 && stack[index].decision.enabled & (1 << UInt32(cur)) != 0
        && thread != UInt32(cur)
      stack[index].decision.pick = thread
      schedule = ExploreSchedule(
        stack.enumerated().compactMap { j, f in
          f.decision.pick == f.decision.stayPick
            ? nil : .init(decision: UInt32(j), thread: f.decision.pick)
        })
      schedule.prune = prune
      if prune {
        // Each preemption in the prefix puts the thread it preempted to
        // sleep with the step that thread took in the child explored first.
        schedule.sleepers = stack.enumerated().compactMap { j, f in
          guard f.decision.preemption, let step = f.stayStep else { return nil }
          return ExploreSleeper(
            decision: UInt32(j), thread: UInt32(f.decision.current), step: step)
        }
      }
    }
  }

  /// A pruned branch above the split depth spans shards: it is counted by
  /// the one shard its picks so far (and the pruned thread) hash to, so the
  /// shards' counts add up to the unsharded one.
  func prunedIsMine(_ stack: [Frame], at index: Int, thread: UInt32) -> Bool {
    guard let shard, shard.count > 1 else { return true }
    var h: UInt64 = 1_469_598_103_934_665_603
    for f in stack.prefix(index) {
      h = (h ^ UInt64(f.decision.pick)) &* 1_099_511_628_211
    }
    h = (h ^ UInt64(thread)) &* 1_099_511_628_211
    return Int(h % UInt64(shard.count)) == shard.index
  }

  /// Whether this leaf is this shard's: by its picks at the first
  /// `splitDepth` decisions, so a whole subtree below them is one shard's.
  func mine(_ stack: [Frame]) -> Bool {
    guard let shard, shard.count > 1 else { return true }
    var h: UInt64 = 1_469_598_103_934_665_603
    for f in stack.prefix(Self.splitDepth) {
      h = (h ^ UInt64(f.decision.pick)) &* 1_099_511_628_211
    }
    return Int(h % UInt64(shard.count)) == shard.index
  }
}

/// A small, seedable generator (SplitMix64): the same seed, the same runs.
struct SplitMix64: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9e37_79b9_7f4a_7c15
    var z = state
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce5_e4b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
  }
}
