/// Scenarios for today's contract (issue 17): the mainline core with v7.1's
/// two-pass interval notifiers, mainline KVM, and v5.18's interval-remove
/// fix.

/// v7.1 (<20260303133409.11609-2-thomas.hellstrom@linux.intel.com>):
/// `mn_itree_invalidate` collects the finish objects the first passes hand
/// back and runs every one after the tree walk, also when a later interval
/// refuses a non-blocking start (`err = -EAGAIN; break;`, then
/// `mn_itree_finish_pass`, then `mn_itree_inv_end`). Each finish exactly
/// once is today's pairing contract.
///
/// Set-up: one VMA carries xe's two-pass userptr notifier in its
/// non-blockable counterpart (`xe-userptr-nowait`, a busy fence, so its
/// first pass defers) and, one page in (later in the tree walk), a real
/// `xe-userptr`, which refuses every non-blockable range; an hlist
/// notifier refuses every non-blockable start (never reached by the
/// reaper, whose tree walk already failed; the munmap's blockable start it
/// accepts). The OOM reaper runs; then
/// both userptrs get a job (a busy fence) and a munmap of the VMA
/// (blockable) defers both. Role: the two-pass interval (the first one).
/// Applies to the mainline base only: the v5.11 core has no second pass.
public struct TwoPassFinishOnce: CoreVariantScenario, RoleScenario {
  public static let scenarioID = "two-pass-finish-once"
  public var id: String { cast.id(Self.scenarioID) }
  public let origin =
    "issue 17; v7.1 two-pass interval notifiers (<20260303133409.11609-2-thomas.hellstrom@linux.intel.com>)"
  public var setup: String {
    cast.setup(
      "xe-userptr-nowait (deferring) then xe-userptr (refuses non-blockable) over one VMA + a refusing hlist notifier; OOM reaper, then a munmap deferring both"
    )
  }
  public let claim =
    "mainline: every deferred start gets exactly one finish, also when the later interval refuses the reaper; n/a on v5.11"
  public let roles: [ScenarioRole] = [.twoPassInterval]
  public var cast = ScenarioCast()
  public var bases: [String]? { ["mainline"] }

  public init(cast: ScenarioCast = ScenarioCast()) { self.cast = cast }

  public func run(variant: Variant, context: ScenarioContext) -> ScenarioResult {
    guard applies(to: variant) else { return .notApplicable(self, variant: variant) }
    // One VMA: the later xe refuses every reaper attempt there before the
    // hlist is reached. A second VMA with no interval would have the tree
    // succeed and the hlist refuse: the tree's half then leaks on mainline
    // too (itree-then-hlist-failure), which is not this scenario's contract.
    let userptrVMA = 0
    let rig = ScenarioRig(scenario: id, variant: variant, context: context, vmas: 1)
    defer { rig.tearDown() }
    let vma = rig.vma(userptrVMA)
    let first = XeUserptr(mm: rig.mm, name: "xe0", busyFences: 1, refusesNonBlockable: false)
    let cast = cast.makeInterval(.twoPassInterval, mm: rig.mm, name: "two_pass")
    let firstDriver: any IntervalNotifier = cast ?? first
    let later = XeUserptr(mm: rig.mm, name: "xe1", busyFences: 1)
    let refusing = FailingNotifier(symbol: "refusing_hlist")
    rig.register(inTraversalOrder: [refusing])
    let firstSub = rig.insertInterval(firstDriver, start: vma.start, length: vma.end - vma.start)
    let laterStart = vma.start + 0x1000
    let laterSub = rig.insertInterval(later, start: laterStart, length: vma.end - laterStart)
    rig.oomReap()
    let reapFinishes = Int(firstSub.ledger.finishes)
    // a job on each VM, then munmap: both first passes defer
    first.submitJob()
    later.submitJob()
    let mm = rig.mm
    KernelThread.run(name: "munmap") { mm.munmap(start: vma.start, end: vma.end) }
    // the exec path repins (mmu_interval_read_begin: bounded)
    let hungBefore = rig.mm.logCounts.hung
    let repinned = KernelThread.run(name: "xe_exec") { later.repin(laterSub) }
    rig.driverHung = rig.mm.logCounts.hung > hungBefore
    let drivers: [XeUserptr] = cast == nil ? [first, later] : [later]
    for d in drivers { d.warnUnlessAtRest() }
    if cast != nil, let state = (firstDriver as? any StatefulIntervalNotifier)?.stateAtRest() {
      // the cast driver's own end check, as warnUnlessAtRest reports it
      rig.mm.warn(
        "two_pass: \(state)", file: "drivers/gpu/drm/xe/xe_userptr.c",
        function: "xe_userptr_remove", line: 0)
    }
    let ledgers = [firstSub.ledger, laterSub.ledger]
    let finishOnce = ledgers.allSatisfy { $0.isFinishPaired && $0.finishes == $0.deferredStarts }
    return rig.result(
      [
        .bool("finish_once", finishOnce), .int("finishes_during_reap", reapFinishes),
        .bool("repinned", repinned), .int("userptr_vma", userptrVMA),
      ] + (cast == nil ? first.metrics("xe0") : []) + later.metrics("xe1")
        + (cast == nil ? [] : intervalCastMetrics(firstSub.ledger)))
  }

  private func intervalCastMetrics(_ c: LedgerCounts) -> [Metric] {
    [
      .int("two_pass_interval_deferred", c.deferredStarts),
      .int("two_pass_interval_finishes", c.finishes),
      .int("two_pass_interval_duplicate_finishes", c.duplicateFinishes),
      .int("two_pass_interval_missing_finishes", c.missingFinishes),
    ]
  }
}

/// 319561669a59 (v5.18, <20220420043734.476348-1-apopple@nvidia.com>) read
/// `invalidate_seq` under `subscriptions->lock` in
/// `mmu_interval_notifier_remove`'s wait; before it, the remover could
/// return, and its driver free the notifier, while `mn_itree_inv_end` was
/// still unlinking it. `interval-remove-race` reaches the race from a
/// munmap; this one from the OOM reaper (a non-blockable start, then the
/// end of its unmap), on both bases.
///
/// The window is a few instructions inside a spinlock, so the run is the
/// explorer's exhaustive search of `interval-remove-vs-reap` at its bound
/// (3); the verdict is what that search measured.
public struct IntervalRemoveVsReap: CoreVariantScenario {
  public let id = "interval-remove-vs-reap"
  public let origin = "issue 17; upstream 319561669a59 (v5.18), found first by mmn-harness explore"
  public let setup =
    "one interval notifier over a VMA; an OOM reap of it racing mmu_interval_notifier_remove and the driver's free, every interleaving within 3 preemptions"
  public let claim =
    "v5.11 and its fixes but interval-remove-fix: use after free in mn_itree_inv_end; mainline (the fix is in): clean"

  public init() {}

  public func run(variant: Variant, context: ScenarioContext) -> ScenarioResult {
    ExploreSearchRun.result(
      scenario: id, configuration: "interval-remove-vs-reap", variant: variant,
      extra: [
        .bool(
          "fix_319561669a59_in", variant.base == "mainline" || variant.id == "interval-remove-fix")
      ])
  }
}

/// Mainline KVM (v6.8+, checked against v6.12 and v6.18.38 `kvm_main.c`)
/// after the OOM reaper: `kvm_swap_active_memslots` waits for
/// `mn_active_invalidate_count == 0`, so a start left without its end hangs
/// the memslot ioctl (bounded here: `hung`), and a vCPU fault retries while
/// `mmu_invalidate_in_progress` covers it. On mainline c2655835fd8c is in
/// (KVM is ended before the refusing neighbour): expected paired. On the
/// v5.11 base it is a counterfactual pairing no kernel has, and
/// `original` hangs. Role: the refusing neighbour (flaky by default).
public struct KVMMainlineMemslotAfterOOM: CoreVariantScenario, RoleScenario {
  public static let scenarioID = "kvm-mainline-memslot-after-oom"
  public var id: String { cast.id(Self.scenarioID) }
  public let origin = "issue 17; 000_871c1dbad972686f.txt, 004_c4bee298c4397bb3.txt"
  public var setup: String {
    cast.setup(
      "mainline KVM + flaky; OOM reaper, then a vCPU fault and kvm_set_memslot (on v5.11: counterfactual)"
    )
  }
  public let claim =
    "mainline: mmu_invalidate_in_progress and mn_active_invalidate_count back to 0, the memslot update completes; original (counterfactual): it hangs"
  public let roles: [ScenarioRole] = [.refusingNeighbour]
  public var cast = ScenarioCast()

  public init(cast: ScenarioCast = ScenarioCast()) { self.cast = cast }

  public func run(variant: Variant, context: ScenarioContext) -> ScenarioResult {
    let p = OOMParameters(context, Self.scenarioID)
    let rig = ScenarioRig(scenario: id, variant: variant, context: context, vmas: p.vmas)
    defer { rig.tearDown() }
    let kvm = KVMMainline(mm: rig.mm)
    let flaky = Flaky(period: p.flakyPeriod, firstFailure: p.firstFailure)
    let neighbour = cast.make(.refusingNeighbour, mm: rig.mm, name: "neighbour") ?? flaky
    let subs = rig.register(inTraversalOrder: [kvm, neighbour])
    rig.oomReap()
    let inProgress = kvm.mmuInvalidateInProgress
    let active = kvm.activeInvalidateCount
    let gfn = rig.vma(0).start
    let faulted = KernelThread.run(name: "vcpu") { kvm.vcpuFault(gfn: gfn) }
    let installed = KernelThread.run(name: "qemu-system-x86") { kvm.setMemslot() }
    rig.driverHung = !faulted || !installed
    let own: [Metric] = neighbour === flaky ? [.int("flaky_failures", flaky.failures)] : []
    return rig.result(
      [
        .int("kvm_mmu_invalidate_in_progress", inProgress),
        .int("kvm_mn_active_invalidate_count", active), .bool("vcpu_fault_completed", faulted),
        .bool("memslot_update_completed", installed), .bool("kvm_vm_bugged", kvm.vmBugged),
      ] + own + [.bool("counterfactual", variant.base != "mainline")]
        + (neighbour === flaky ? p.metrics : []) + cast.metrics(.refusingNeighbour, [subs[1]]))
  }
}
