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
public struct OOMFlakyNeighbour: CoreVariantScenario {
  public let id = "oom-flaky-neighbour"
  public let origin = "000_871c1dbad972686f.txt"
  public let setup = "KVM v5.11 + flaky (start only); OOM reaper"
  public let claim =
    "original leaves the KVM count above 0 (missing ends); the fixes bring it back to 0; reject-multi stays at 0 but reaps nothing"

  public init() {}

  public func run(variant: Variant, context: ScenarioContext) -> ScenarioResult {
    let p = OOMParameters(context, id)
    let rig = ScenarioRig(scenario: id, variant: variant, context: context, vmas: p.vmas)
    defer { rig.tearDown() }
    let kvm = KVM(mm: rig.mm, version: .v5_11)
    let flaky = Flaky(period: p.flakyPeriod, firstFailure: p.firstFailure)
    // KVM first, so an undo has a started KVM to end.
    rig.register(inTraversalOrder: [kvm, flaky])
    rig.oomReap()
    return rig.result(
      [
        .int("kvm_mmu_notifier_count", kvm.mmuNotifierCount),
        .int("flaky_failures", flaky.failures),
      ]
        + p.metrics)
  }
}

/// Seed 001: a notifier that can fail its start and also implements end.
public struct FailingStartWithEnd: CoreVariantScenario {
  public let id = "failing-start-with-end"
  public let origin = "001_ba694162e1675543.txt"
  public let setup =
    "a notifier that fails every non-blockable start and implements end, + KVM v5.11; OOM reaper"
  public let claim =
    "oom-always-end and all-ends-rfc give it an end without a start; upstream-fix does too, and WARNs; sorted-undo pairs everything"

  public init() {}

  public func run(variant: Variant, context: ScenarioContext) -> ScenarioResult {
    let p = OOMParameters(context, id)
    let rig = ScenarioRig(scenario: id, variant: variant, context: context, vmas: p.vmas)
    defer { rig.tearDown() }
    let kvm = KVM(mm: rig.mm, version: .v5_11)
    let failing = FailingNotifier(implementsEnd: true, symbol: "failing_notifier")
    let subs = rig.register(inTraversalOrder: [kvm, failing])
    rig.oomReap()
    let failingLedger = subs[1].ledger
    return rig.result([
      .int("kvm_mmu_notifier_count", kvm.mmuNotifierCount),
      .int("failing_notifier_ends", failingLedger.ends),
    ])
  }
}

/// Seed 003: Michal Hocko's objection to the 2019 stopgap, measured.
public struct OOMNoFailure: CoreVariantScenario {
  public let id = "oom-no-failure"
  public let origin = "003_ca841901b99bca84.txt"
  public let setup = "KVM v5.11 + GRU; nothing fails; OOM reaper"
  public let claim = "reject-multi reaps no VMA (Michal's objection); the others reap them all"

  public init() {}

  public func run(variant: Variant, context: ScenarioContext) -> ScenarioResult {
    let p = OOMParameters(context, id)
    let rig = ScenarioRig(scenario: id, variant: variant, context: context, vmas: p.vmas)
    defer { rig.tearDown() }
    let kvm = KVM(mm: rig.mm, version: .v5_11)
    let gru = GRU(mm: rig.mm)
    rig.register(inTraversalOrder: [kvm, gru])
    rig.oomReap()
    return rig.result([
      .int("kvm_mmu_notifier_count", kvm.mmuNotifierCount),
      .int("gru_ms_range_active", gru.msRangeActive),
    ])
  }
}

/// Seed 001: "kvm on ARM uses two all the time (IIRC)".
public struct ARMTwoKVM: CoreVariantScenario {
  public let id = "arm-two-kvm"
  public let origin = "001_ba694162e1675543.txt"
  public let setup = "two KVM v5.11 notifiers with the flaky one between them; OOM reaper"
  public let claim = "both counts are balanced under the fixes, neither under original"

  public init() {}

  public func run(variant: Variant, context: ScenarioContext) -> ScenarioResult {
    let p = OOMParameters(context, id)
    let rig = ScenarioRig(scenario: id, variant: variant, context: context, vmas: p.vmas)
    defer { rig.tearDown() }
    let first = KVM(mm: rig.mm, version: .v5_11, name: "kvm0")
    let second = KVM(mm: rig.mm, version: .v5_11, name: "kvm1")
    let flaky = Flaky(period: p.flakyPeriod, firstFailure: p.firstFailure)
    // One KVM is visited before the refusal and one after it.
    rig.register(inTraversalOrder: [first, flaky, second])
    rig.oomReap()
    let counts = [first.mmuNotifierCount, second.mmuNotifierCount]
    return rig.result(
      [
        .int("kvm_mmu_notifier_count", counts.reduce(0, +)),
        .int("kvm0_mmu_notifier_count", counts[0]), .int("kvm1_mmu_notifier_count", counts[1]),
        .int("unbalanced_kvms", counts.filter { $0 != 0 }.count),
        .int("flaky_failures", flaky.failures),
      ] + p.metrics)
  }
}
