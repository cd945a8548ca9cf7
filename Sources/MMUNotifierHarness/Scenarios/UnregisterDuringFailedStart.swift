/// Seeds 001 and 002: why a positional undo cannot work. "Due to the RCU
/// locking we can't reliably generate a subset of the linked list
/// representing the notifiers already called": entries can be unlinked
/// under SRCU while a traversal stands on the list.
///
/// Four notifiers, traversed A, B, F, C: A, B and C start, end and release;
/// F refuses every non-blockable start. The OOM reaper's first traversal
/// parks in F's start until another thread's `mmu_notifier_unregister` of A
/// has unlinked it (the harness's unlink tracepoint fires right after
/// `hlist_del_init_rcu`); that unregister then waits in `synchronize_srcu`
/// for the traversal to finish, as in the kernel. The order is forced with
/// semaphores, never left to timing.
///
/// Role: the victim plays C, the notifier after the refusal, which a
/// positional undo reaches without a start.
public struct UnregisterDuringFailedStart: CoreVariantScenario, RoleScenario {
  public static let scenarioID = "unregister-during-failed-start"
  public var id: String { cast.id(Self.scenarioID) }
  public let origin = "001_ba694162e1675543.txt, 002_2e4371b40a893f76.txt"
  public var setup: String {
    cast.setup(
      "traversal A, B, F, C (A, B, C start+end; F fails); A unregistered while F's start runs; OOM reaper"
    )
  }
  public let claim =
    "prefix-undo sends an end to a notifier whose start never ran; upstream-fix and sorted-undo do not; every successful start closes with an end or a release"

  public let roles: [ScenarioRole] = [.victim]
  public var cast = ScenarioCast()

  public init(cast: ScenarioCast = ScenarioCast()) { self.cast = cast }

  public func run(variant: Variant, context: ScenarioContext) -> ScenarioResult {
    runRecorded(variant: variant, context: context).result
  }

  /// The run, with every callback and the unlink as recorded, in order
  /// ("A.start", "F.waits", "A.unlinked", "F.resumes", ...).
  public func runRecorded(variant: Variant, context: ScenarioContext) -> (
    result: ScenarioResult, events: [String]
  ) {
    var rng = context.random(for: Self.scenarioID)
    let vmas = rng.int(in: 1...3)
    let rig = ScenarioRig(scenario: id, variant: variant, context: context, vmas: vmas)
    defer { rig.tearDown() }
    let gate = context.gateTimeoutMilliseconds
    let trace = EventTrace()
    // Posted when F is parked in its start, or when the reaper is done
    // (a variant that refuses before any start never reaches F).
    let removeNow = KernelSemaphore()
    let unlinked = KernelSemaphore()
    let gateExpired = EventTrace()

    let a = RoleNotifier(role: "A", trace: trace)
    let b = RoleNotifier(role: "B", trace: trace)
    let c = RoleNotifier(role: "C", trace: trace)
    let victim = cast.make(.victim, mm: rig.mm, name: "C") ?? c
    let f = RefusingRoleNotifier(role: "F", trace: trace) {
      trace.record("F.waits")
      removeNow.signal()
      if !unlinked.wait(milliseconds: gate) { gateExpired.record("F") }
      trace.record("F.resumes")
    }
    let subs = rig.register(inTraversalOrder: [a, b, f, victim])
    let aAddress = subs[0].notifierAddress
    rig.mm.setTrace { event, node in
      guard event == .unlinked, UInt(bitPattern: node) == aAddress else { return }
      trace.record("A.unlinked")
      unlinked.signal()
    }

    let remover = KernelThread(name: "a_unregister") {
      if !removeNow.wait(milliseconds: gate) { gateExpired.record("remover") }
      subs[0].unregister()
      trace.record("A.unregistered")
    }
    rig.oomReap()
    removeNow.signal()
    remover.join()

    let events = trace.events
    let duringStart: Bool = {
      guard let parked = events.firstIndex(of: "F.waits"),
        let removed = events.firstIndex(of: "A.unlinked"),
        let resumed = events.firstIndex(of: "F.resumes")
      else { return false }
      return parked < removed && removed < resumed
    }()
    rig.driverHung = !gateExpired.events.isEmpty
    let result = rig.result(
      [
        .bool("removal_during_start", duringStart),
        .bool("a_released", events.contains("A.release")),
        // a cast C's ends are its ledger's (its callbacks are not traced)
        .int(
          "c_ends", victim === c ? events.filter { $0 == "C.end" }.count : Int(subs[3].ledger.ends)),
        .int("active_a", a.active), .int("active_b", b.active),
      ] + (victim === c ? [.int("active_c", c.active)] : []) + [
        .int("closed_by_release", rig.mm.ledgerTotals.closedByRelease)
      ] + cast.metrics(.victim, [subs[3]]))
    return (result, events)
  }
}
