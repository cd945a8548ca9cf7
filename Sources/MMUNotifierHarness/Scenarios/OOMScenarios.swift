/// Scenarios where the OOM reaper meets a neighbour that refuses a
/// non-blockable start, and the measurement is whether the notifiers that
/// did start got their end.
///
/// The VMA count and which start fails first come from the seed. The
/// flaky neighbour refuses once per `2 x VMAs` non-blockable starts, first
/// at start `first` (1...VMAs): the first reaper attempt meets exactly one
/// refusal and the retry none, so the reaper succeeds on its second try,
/// as it would in the kernel once the neighbour stops refusing.
struct OOMParameters {
  let vmas: Int
  let firstFailure: Int
  var flakyPeriod: Int { 2 * vmas }

  init(_ context: ScenarioContext, _ scenario: String) {
    var rng = context.random(for: scenario)
    vmas = rng.int(in: 2...6)
    firstFailure = rng.int(in: 1...vmas)
  }

  var metrics: [Metric] {
    [.int("flaky_period", flakyPeriod), .int("flaky_first_failure", firstFailure)]
  }
}

/// Seed 000: KVM v5.11 and the flaky notifier Sean used to verify the fix.
/// Roles: the victim (KVM v5.11) and the refusing neighbour (the flaky one).
public struct OOMFlakyNeighbour: CoreVariantScenario, RoleScenario {
  public static let scenarioID = "oom-flaky-neighbour"
  public var id: String { cast.id(Self.scenarioID) }
  public let origin = "000_871c1dbad972686f.txt"
  public var setup: String { cast.setup("KVM v5.11 + flaky (start only); OOM reaper") }
  public let claim =
    "original leaves the KVM count above 0 (missing ends); the fixes bring it back to 0; reject-multi stays at 0 but reaps nothing"
  public let roles: [ScenarioRole] = [.victim, .refusingNeighbour]
  public var cast = ScenarioCast()

  public init(cast: ScenarioCast = ScenarioCast()) { self.cast = cast }

  public func run(variant: Variant, context: ScenarioContext) -> ScenarioResult {
    let p = OOMParameters(context, Self.scenarioID)
    let rig = ScenarioRig(scenario: id, variant: variant, context: context, vmas: p.vmas)
    defer { rig.tearDown() }
    let kvm = KVM(mm: rig.mm, version: .v5_11)
    let victim = cast.make(.victim, mm: rig.mm, name: "victim") ?? kvm
    let flaky = Flaky(period: p.flakyPeriod, firstFailure: p.firstFailure)
    let neighbour = cast.make(.refusingNeighbour, mm: rig.mm, name: "neighbour") ?? flaky
    // The victim first, so an undo has a started victim to end.
    let subs = rig.register(inTraversalOrder: [victim, neighbour])
    var extra: [Metric] = []
    rig.oomReap()
    if let kvm = victim as? KVM {
      extra.append(.int("kvm_mmu_notifier_count", kvm.mmuNotifierCount))
    }
    if neighbour === flaky { extra += [.int("flaky_failures", flaky.failures)] + p.metrics }
    return rig.result(
      extra + cast.metrics(.victim, [subs[0]]) + cast.metrics(.refusingNeighbour, [subs[1]]))
  }
}

/// Seed 001: a notifier that can fail its start and also implements end.
/// Roles: the victim (KVM v5.11) and the refusing one with an end.
public struct FailingStartWithEnd: CoreVariantScenario, RoleScenario {
  public static let scenarioID = "failing-start-with-end"
  public var id: String { cast.id(Self.scenarioID) }
  public let origin = "001_ba694162e1675543.txt"
  public var setup: String {
    cast.setup(
      "a notifier that fails every non-blockable start and implements end, + KVM v5.11; OOM reaper")
  }
  public let claim =
    "oom-always-end and all-ends-rfc give it an end without a start; upstream-fix does too, and WARNs; sorted-undo pairs everything"
  public let roles: [ScenarioRole] = [.victim, .refusingWithEnd]
  public var cast = ScenarioCast()

  public init(cast: ScenarioCast = ScenarioCast()) { self.cast = cast }

  public func run(variant: Variant, context: ScenarioContext) -> ScenarioResult {
    let p = OOMParameters(context, Self.scenarioID)
    let rig = ScenarioRig(scenario: id, variant: variant, context: context, vmas: p.vmas)
    defer { rig.tearDown() }
    let victim = cast.make(.victim, mm: rig.mm, name: "victim") ?? KVM(mm: rig.mm, version: .v5_11)
    let failing =
      cast.make(.refusingWithEnd, mm: rig.mm, name: "failing")
      ?? FailingNotifier(implementsEnd: true, symbol: "failing_notifier")
    let subs = rig.register(inTraversalOrder: [victim, failing])
    rig.oomReap()
    var extra: [Metric] = []
    if let kvm = victim as? KVM {
      extra.append(.int("kvm_mmu_notifier_count", kvm.mmuNotifierCount))
    }
    extra.append(.int("failing_notifier_ends", subs[1].ledger.ends))
    return rig.result(
      extra + cast.metrics(.victim, [subs[0]]) + cast.metrics(.refusingWithEnd, [subs[1]]))
  }
}

/// Seed 003: Michal Hocko's objection to the 2019 stopgap, measured.
/// Roles: the victim (KVM v5.11) and its neighbour (GRU).
public struct OOMNoFailure: CoreVariantScenario, RoleScenario {
  public static let scenarioID = "oom-no-failure"
  public var id: String { cast.id(Self.scenarioID) }
  public let origin = "003_ca841901b99bca84.txt"
  public var setup: String { cast.setup("KVM v5.11 + GRU; nothing fails; OOM reaper") }
  public let claim = "reject-multi reaps no VMA (Michal's objection); the others reap them all"
  public let roles: [ScenarioRole] = [.victim, .neighbour]
  public var cast = ScenarioCast()

  public init(cast: ScenarioCast = ScenarioCast()) { self.cast = cast }

  public func run(variant: Variant, context: ScenarioContext) -> ScenarioResult {
    let p = OOMParameters(context, Self.scenarioID)
    let rig = ScenarioRig(scenario: id, variant: variant, context: context, vmas: p.vmas)
    defer { rig.tearDown() }
    let victim = cast.make(.victim, mm: rig.mm, name: "victim") ?? KVM(mm: rig.mm, version: .v5_11)
    let neighbour = cast.make(.neighbour, mm: rig.mm, name: "neighbour") ?? GRU(mm: rig.mm)
    let subs = rig.register(inTraversalOrder: [victim, neighbour])
    rig.oomReap()
    var extra: [Metric] = []
    if let kvm = victim as? KVM {
      extra.append(.int("kvm_mmu_notifier_count", kvm.mmuNotifierCount))
    }
    if let gru = neighbour as? GRU { extra.append(.int("gru_ms_range_active", gru.msRangeActive)) }
    return rig.result(
      extra + cast.metrics(.victim, [subs[0]]) + cast.metrics(.neighbour, [subs[1]]))
  }
}

/// Seed 001: "kvm on ARM uses two all the time (IIRC)".
/// Roles: the victim (both KVMs: the cast driver plays both) and the
/// refusing neighbour between them.
public struct ARMTwoKVM: CoreVariantScenario, RoleScenario {
  public static let scenarioID = "arm-two-kvm"
  public var id: String { cast.id(Self.scenarioID) }
  public let origin = "001_ba694162e1675543.txt"
  public var setup: String {
    cast.setup("two KVM v5.11 notifiers with the flaky one between them; OOM reaper")
  }
  public let claim = "both counts are balanced under the fixes, neither under original"
  public let roles: [ScenarioRole] = [.victim, .refusingNeighbour]
  public var cast = ScenarioCast()

  public init(cast: ScenarioCast = ScenarioCast()) { self.cast = cast }

  public func run(variant: Variant, context: ScenarioContext) -> ScenarioResult {
    let p = OOMParameters(context, Self.scenarioID)
    let rig = ScenarioRig(scenario: id, variant: variant, context: context, vmas: p.vmas)
    defer { rig.tearDown() }
    let first =
      cast.make(.victim, mm: rig.mm, name: "victim0")
      ?? KVM(mm: rig.mm, version: .v5_11, name: "kvm0")
    let second =
      cast.make(.victim, mm: rig.mm, name: "victim1")
      ?? KVM(mm: rig.mm, version: .v5_11, name: "kvm1")
    let flaky = Flaky(period: p.flakyPeriod, firstFailure: p.firstFailure)
    let neighbour = cast.make(.refusingNeighbour, mm: rig.mm, name: "neighbour") ?? flaky
    // One victim is visited before the refusal and one after it.
    let subs = rig.register(inTraversalOrder: [first, neighbour, second])
    rig.oomReap()
    var extra: [Metric] = []
    if let first = first as? KVM, let second = second as? KVM {
      let counts = [first.mmuNotifierCount, second.mmuNotifierCount]
      extra += [
        .int("kvm_mmu_notifier_count", counts.reduce(0, +)),
        .int("kvm0_mmu_notifier_count", counts[0]), .int("kvm1_mmu_notifier_count", counts[1]),
        .int("unbalanced_kvms", counts.filter { $0 != 0 }.count),
      ]
    }
    if neighbour === flaky { extra += [.int("flaky_failures", flaky.failures)] + p.metrics }
    return rig.result(
      extra + cast.metrics(.victim, [subs[0], subs[2]])
        + cast.metrics(.refusingNeighbour, [subs[1]]))
  }
}
