/// One run of a core-variant scenario: its mm (lock validator on), its
/// subscriptions, its caller, and what it measured. A scenario makes one
/// per run, registers its drivers, runs its caller, returns `result(_:)`
/// and tears down (`defer { rig.tearDown() }`):
///
///     let rig = ScenarioRig(scenario: id, variant: variant, context: context, vmas: 4)
///     defer { rig.tearDown() }
///     let mine = MyDriver()
///     rig.register(inTraversalOrder: [mine, FailingNotifier()])
///     rig.oomReap()
///     return rig.result([.int("my_open_ranges", mine.open)])
public final class ScenarioRig {
  public let scenario: String
  public let variant: Variant
  public let context: ScenarioContext
  public let mm: MM
  private var subscriptions: [Subscription] = []
  private var intervals: [IntervalSubscription] = []
  /// nil until a scenario asks for the order of two or more notifiers.
  private var traversalArranged: Bool?
  private var oom: MM.OOMResult?
  /// A driver's bounded wait gave up (the C waits also log it): set it
  /// and the run's verdict is `hung`.
  public var driverHung = false

  /// A fresh mm for `variant` on the context's flavour and hung timeout,
  /// with `vmas` VMAs for the reaper and the lock validator on.
  public init(scenario: String, variant: Variant, context: ScenarioContext, vmas: Int) {
    self.scenario = scenario
    self.variant = variant
    self.context = context
    mm = MM(
      variant: variant, flavor: context.flavor, vmas: vmas,
      hungTimeoutMilliseconds: context.hungTimeoutMilliseconds, lockdep: true)
  }

  /// The `i`th VMA's `[start, end)`.
  public func vma(_ i: Int) -> (start: UInt, end: UInt) { mm.vmaRange(i) }

  /// The rule the variant's hlist keeps (`TraversalRule.detect`).
  public var traversalRule: TraversalRule {
    TraversalRule.detect(variant: variant, flavor: context.flavor)
  }

  /// Registers `notifiers` so that the core's traversal visits them in this
  /// order whatever rule the variant keeps its hlist by: in reverse for
  /// newest-first; for an address-sorted list, by picking nodes whose
  /// addresses ascend in the wanted order (see `registerAscending`). The
  /// run reports whether the order was reached (`traversal_as_designed`).
  @discardableResult
  public func register(inTraversalOrder notifiers: [any Notifier]) -> [Subscription] {
    guard notifiers.count > 1 else {
      let subs = notifiers.map(registerOne)
      subscriptions.append(contentsOf: subs)
      return subs
    }
    let subs: [Subscription]
    switch TraversalRule.detect(variant: variant, flavor: context.flavor) {
    case .newestFirst:
      subs = Array(notifiers.reversed().map(registerOne).reversed())
      traversalArranged = true
    case .unknown:
      subs = Array(notifiers.reversed().map(registerOne).reversed())
      traversalArranged = false
    case .ascendingAddress:
      (subs, traversalArranged) = registerAscending(notifiers)
    }
    subscriptions.append(contentsOf: subs)
    return subs
  }

  /// The allocator decides where a `struct mmu_notifier` lands (a thread's
  /// arena may hand out recycled chunks below fresh ones), so each round
  /// registers one more candidate node per notifier, then picks greedily
  /// the lowest candidate of each notifier above the previous pick; the
  /// candidates not picked are put. A driver that subscribes through
  /// `mmu_notifier_get` has one node per mm, so each round puts it and
  /// gets a fresh one. Candidates are registered before any invalidation
  /// runs, so none of them is ever called.
  private func registerAscending(_ notifiers: [any Notifier]) -> ([Subscription], Bool) {
    var candidates = notifiers.map { _ in [Subscription]() }
    var picked: [Subscription]?
    for _ in 0..<32 where picked == nil {
      for (i, notifier) in notifiers.enumerated() {
        if type(of: notifier).subscribesThroughGet {
          // get keeps one node per mm: try the next round with a fresh one
          for old in candidates[i] { old.put() }
          candidates[i] = [registerOne(notifier)]
        } else {
          candidates[i].append(registerOne(notifier))
        }
      }
      var chain: [Subscription] = []
      for group in candidates {
        let floor = chain.last?.notifierAddress ?? 0
        guard
          let next = group.filter({ $0.notifierAddress > floor }).min(by: {
            $0.notifierAddress < $1.notifierAddress
          })
        else { break }
        chain.append(next)
      }
      if chain.count == notifiers.count { picked = chain }
    }
    let chosen = picked ?? candidates.map { $0[0] }
    for sub in candidates.joined() where !chosen.contains(where: { $0 === sub }) { sub.put() }
    return (chosen, picked != nil)
  }

  private func registerOne(_ notifier: any Notifier) -> Subscription {
    do {
      return try mm.subscribe(notifier)
    } catch {
      preconditionFailure("\(scenario): subscribing failed: \(error)")
    }
  }

  /// `mmu_interval_notifier_insert`; removed by `tearDown`.
  public func insertInterval(_ notifier: some IntervalNotifier, start: UInt, length: UInt)
    -> IntervalSubscription
  {
    do {
      let sub = try mm.insertInterval(notifier, start: start, length: length)
      intervals.append(sub)
      return sub
    } catch {
      preconditionFailure("\(scenario): mmu_interval_notifier_insert failed: \(error)")
    }
  }

  /// `oom_reap_task` on a thread named like the kernel's reaper.
  @discardableResult
  public func oomReap() -> MM.OOMResult {
    let mm = mm
    let result = KernelThread.run(name: "oom_reaper") { mm.oomReap() }
    oom = result
    return result
  }

  /// Everything measured so far, with the scenario's own metrics last.
  public func result(_ extra: [Metric] = []) -> ScenarioResult {
    var metrics: [Metric] = []
    if let traversalArranged { metrics.append(.bool("traversal_as_designed", traversalArranged)) }
    // the reaper's metrics after the traversal's, as before they moved
    if oom != nil { metrics += ScenarioMetrics.reaperMetrics(mm) }
    return ScenarioResult(
      scenario: scenario, target: variant.id,
      metrics: ScenarioMetrics(mm: mm, driverHung: driverHung, extra: metrics + extra),
      log: mm.log)
  }

  /// The process exits (`exit_mmap`: every notifier released, an OOM
  /// victim reaped once more), then every driver lets go of the mm. Runs
  /// after `result`, so nothing here is measured.
  public func tearDown() {
    mm.exitMmap()
    for sub in subscriptions { sub.drop() }
    for interval in intervals { interval.remove() }
    mm.barrier()
  }
}
