/// Scenarios where a task waits, after the OOM reaper, for a driver's
/// count of active invalidations to fall to 0: a leaked start is a task
/// hung for good in the kernel, a bounded wait that reports `hung` here.

/// Seed 000: "the SGI UV GRU driver ... blocks and sleeps fault handlers
/// during ...start(), and unblocks/wakes the handlers during ...end()".
/// Role: the refusing neighbour (i915 userptr, which refuses a
/// non-blockable range over its object); GRU stays, as the fault is GRU's.
public struct GRUFaultAfterOOM: CoreVariantScenario, RoleScenario {
  public static let scenarioID = "gru-fault-after-oom"
  public var id: String { cast.id(Self.scenarioID) }
  public let origin = "000_871c1dbad972686f.txt"
  public var setup: String {
    cast.setup("GRU + i915 userptr (an object over one VMA); OOM reaper, then a GRU fault")
  }
  public let claim = "original: the fault hangs; the fixes: it completes"

  public let roles: [ScenarioRole] = [.refusingNeighbour]
  public var cast = ScenarioCast()

  public init(cast: ScenarioCast = ScenarioCast()) { self.cast = cast }

  public func run(variant: Variant, context: ScenarioContext) -> ScenarioResult {
    var rng = context.random(for: Self.scenarioID)
    let vmas = rng.int(in: 2...6)
    let objectVMA = rng.int(in: 0...(vmas - 1))
    let rig = ScenarioRig(scenario: id, variant: variant, context: context, vmas: vmas)
    defer { rig.tearDown() }
    let gru = GRU(mm: rig.mm)
    let i915 = I915Userptr()
    let object = rig.vma(objectVMA)
    i915.addObject(start: object.start, length: object.end - object.start)
    let neighbour = cast.make(.refusingNeighbour, mm: rig.mm, name: "neighbour") ?? i915
    let subs = rig.register(inTraversalOrder: [gru, neighbour])
    rig.oomReap()
    let leaked = gru.msRangeActive
    let completed = KernelThread.run(name: "gru_user") { gru.fault() }
    rig.driverHung = !completed
    return rig.result(
      [
        .int("gru_ms_range_active", leaked), .bool("gru_fault_completed", completed),
        .int("i915_object_vma", objectVMA),
      ] + cast.metrics(.refusingNeighbour, [subs[1]]))
  }
}

/// Seeds 000 and 004: the memslot-update hang 52ac8b358b made possible and
/// the merged fix anticipated ("failure to unblock would result in said
/// updates being blocked indefinitely and hanging").
///
/// KVM v5.15 on the v5.11 core (`original`) is a pairing no released
/// kernel has: the core fix c2655835fd8c is in v5.12, before KVM's memslot
/// wait, so that cell is counterfactual (`counterfactual`). `upstream-fix`
/// with KVM v5.15 is what a real v5.15 kernel runs (`released_pairing`).
/// Role: the refusing neighbour (the flaky one); KVM v5.15 stays, as the
/// memslot update is KVM's own.
public struct MemslotUpdateAfterOOM: CoreVariantScenario, RoleScenario {
  public static let scenarioID = "memslot-update-after-oom"
  public var id: String { cast.id(Self.scenarioID) }
  public let origin = "000_871c1dbad972686f.txt, 004_c4bee298c4397bb3.txt"
  public var setup: String {
    cast.setup(
      "KVM v5.15 + flaky; OOM reaper, then install_new_memslots (on original: counterfactual, v5.15 ships upstream-fix)"
    )
  }
  public let claim =
    "original (counterfactual: no kernel pairs KVM v5.15 with the v5.11 core): install_new_memslots hangs; upstream-fix, the real v5.15 pairing, and the other fixes: it completes"
  public let roles: [ScenarioRole] = [.refusingNeighbour]
  public var cast = ScenarioCast()

  public init(cast: ScenarioCast = ScenarioCast()) { self.cast = cast }

  public func run(variant: Variant, context: ScenarioContext) -> ScenarioResult {
    let p = OOMParameters(context, Self.scenarioID)
    let rig = ScenarioRig(scenario: id, variant: variant, context: context, vmas: p.vmas)
    defer { rig.tearDown() }
    let kvm = KVM(mm: rig.mm, version: .v5_15)
    let flaky = Flaky(period: p.flakyPeriod, firstFailure: p.firstFailure)
    let neighbour = cast.make(.refusingNeighbour, mm: rig.mm, name: "neighbour") ?? flaky
    let subs = rig.register(inTraversalOrder: [kvm, neighbour])
    rig.oomReap()
    let active = kvm.activeInvalidateCount
    let count = kvm.mmuNotifierCount
    let completed = KernelThread.run(name: "qemu-system-x86") { kvm.installNewMemslots() }
    rig.driverHung = !completed
    let own: [Metric] =
      neighbour === flaky ? [.int("flaky_failures", flaky.failures)] : []
    let tail: [Metric] = neighbour === flaky ? p.metrics : []
    return rig.result(
      [
        .int("kvm_mmu_notifier_count", count), .int("kvm_mn_active_invalidate_count", active),
        .bool("memslot_update_completed", completed),
      ] + own
        + [
          .bool("counterfactual", variant == .original),
          .bool("released_pairing", variant.id == "upstream-fix"),
        ] + tail + cast.metrics(.refusingNeighbour, [subs[1]]))
  }
}
