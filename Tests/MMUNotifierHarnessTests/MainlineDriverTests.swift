import CSupport
import MMUNotifierHarness
import Synchronization
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Issue 17's drivers for today's kernel (mainline KVM, xe userptr's
/// two-pass notifier), their scenarios and explore configurations. Each
/// end-state check is shown to catch a broken counterpart.
@Suite("Mainline drivers, scenarios and explore configurations")
struct MainlineDriverTests {
  static func variant(_ id: String) -> Variant { try! Variant.named(id) }

  // MARK: KVM at mainline

  /// A munmap's start/end pair, then a vCPU fault and a memslot update: the
  /// verdict the run's own metrics give (`hung` when a bounded wait gave up).
  static func kvmRun(_ behaviour: KVMMainline.Behaviour, variant: String) -> (
    Verdict, KVMMainline, Bool
  ) {
    onKernelThread {
      let mm = MM(variant: Self.variant(variant), hungTimeoutMilliseconds: 100, lockdep: true)
      let kvm = KVMMainline(mm: mm, behaviour: behaviour)
      let sub = try! mm.register(kvm)
      mm.munmap(start: 0x1000, end: 0x3000)
      let faulted = kvm.vcpuFault(gfn: 0x2000)
      let installed = kvm.setMemslot()
      let verdict = Verdict(ScenarioMetrics(mm: mm, driverHung: !faulted || !installed))
      let atRest = kvm.stateAtRest() == nil
      sub.unregister()
      return (verdict, kvm, atRest)
    }
  }

  @Test(arguments: ["mainline", "original"])
  func kvmMainlinePairsAMunmap(variant: String) {
    let (verdict, kvm, atRest) = Self.kvmRun(.kernel, variant: variant)
    #expect(verdict.kind == .paired)
    #expect(atRest)
    #expect(kvm.mmuInvalidateInProgress == 0 && kvm.activeInvalidateCount == 0)
    #expect(kvm.mmuInvalidateSeq == 1 && kvm.memslotsInstalled == 1 && kvm.hungWaits == 0)
  }

  /// A KVM whose end skips `kvm_mmu_invalidate_end` (the fault then never
  /// gets through) or forgets `mn_active_invalidate_count` (the memslot
  /// update then waits forever): the end check and the verdict both change.
  @Test(arguments: [KVMMainline.Behaviour.skipsInvalidateEnd, .skipsActiveCountDrop])
  func kvmMainlineEndChecksCatchABrokenEnd(behaviour: KVMMainline.Behaviour) {
    let (verdict, kvm, atRest) = Self.kvmRun(behaviour, variant: "mainline")
    #expect(verdict.kind == .hung)
    #expect(!atRest)
    if behaviour == .skipsInvalidateEnd {
      #expect(kvm.mmuInvalidateInProgress == 1)
    } else {
      #expect(kvm.activeInvalidateCount == 1 && kvm.memslotsInstalled == 0)
    }
  }

  /// An end with no start: `KVM_BUG_ON(in_progress < 0)` is a WARN that
  /// marks the VM bugged, and `WARN_ON_ONCE(!mn_active_invalidate_count)`.
  @Test func kvmMainlineBugsOnAnEndWithoutStart() {
    onKernelThread {
      let mm = MM(variant: Self.variant("mainline"), hungTimeoutMilliseconds: 100)
      let kvm = KVMMainline(mm: mm)
      let sub = try! mm.register(kvm)
      let inv = Invalidation(mm, start: 0x1000, end: 0x2000)
      inv.end()
      inv.retire()
      #expect(kvm.vmBugged)
      #expect(kvm.stateAtRest() != nil)
      let text = mm.log.map(\.kernelForm).joined(separator: "\n")
      #expect(text.contains("KVM_BUG_ON(kvm->mmu_invalidate_in_progress < 0, kvm)"))
      #expect(text.contains("!kvm->mn_active_invalidate_count"))
      #expect(Verdict(ScenarioMetrics(mm: mm)).kind == .endWithoutStart)
      #expect(!kvm.vcpuFault(gfn: 0x1000), "a bugged VM's vCPU exits")
      sub.unregister()
    }
  }

  /// `kvm_swap_active_memslots` waits while a start is open and goes on at
  /// its end (ordered with semaphores, no sleep).
  @Test func kvmMainlineMemslotUpdateWaitsForTheEnd() {
    onKernelThread {
      let mm = MM(variant: Self.variant("mainline"), hungTimeoutMilliseconds: 5000)
      let kvm = KVMMainline(mm: mm)
      let sub = try! mm.register(kvm)
      let started = KernelSemaphore()
      let mayEnd = KernelSemaphore()
      let invalidator = KernelThread(name: "invalidator") {
        let inv = Invalidation(mm, start: 0, end: 0x1000)
        inv.start()
        started.signal()
        _ = mayEnd.wait()
        inv.end()
        inv.retire()
      }
      #expect(started.wait())
      #expect(kvm.activeInvalidateCount == 1 && kvm.mmuInvalidateInProgress == 1)
      let installed = Flag()
      let updater = KernelThread(name: "qemu") { installed.set(kvm.setMemslot()) }
      mayEnd.signal()
      updater.join()
      invalidator.join()
      #expect(installed.value && kvm.memslotsInstalled == 1 && kvm.hungWaits == 0)
      #expect(kvm.stateAtRest() == nil)
      sub.unregister()
    }
  }

  // MARK: xe userptr's two-pass notifier

  /// A munmap with a busy fence: the first pass defers and the finish runs
  /// once, on mainline (two passes) and on v5.11 (back to back).
  @Test(arguments: ["mainline", "original"])
  func xeDefersAndFinishesOnce(variant: String) throws {
    let mm = MM(variant: Self.variant(variant), hungTimeoutMilliseconds: 200)
    let xe = XeUserptr(mm: mm, busyFences: 1)
    let sub = try mm.insertInterval(xe, start: 0, length: 0x2000)
    onKernelThread { mm.munmap(start: 0, end: 0x2000) }
    #expect(xe.deferredCount == 1 && xe.finishCount == 1 && xe.synchronousCount == 0)
    #expect(xe.stateAtRest() == nil && xe.needsRepin && !xe.arePagesMapped)
    // the fences signalled: the next invalidation is synchronous
    onKernelThread { mm.munmap(start: 0, end: 0x2000) }
    #expect(xe.synchronousCount == 1 && xe.deferredCount == 1)
    #expect(onKernelThread { xe.repin(sub) } && xe.arePagesMapped && !xe.needsRepin)
    #expect(sub.ledger.isFinishPaired)
    #expect(Verdict(ScenarioMetrics(mm: mm)).kind == .paired)
    sub.remove()
  }

  /// xe refuses every non-blockable range; the counterfactual does not.
  @Test func xeRefusesTheReaper() throws {
    let mm = MM(variant: Self.variant("mainline"), vmas: 1, hungTimeoutMilliseconds: 200)
    let vma = mm.vmaRange(0)
    let xe = XeUserptr(mm: mm, busyFences: 1)
    let nowait = XeUserptr(mm: mm, name: "nowait", busyFences: 1, refusesNonBlockable: false)
    let a = try mm.insertInterval(nowait, start: vma.start, length: vma.end - vma.start)
    let b = try mm.insertInterval(
      xe, start: vma.start + 0x1000, length: vma.end - vma.start - 0x1000)
    let reaped = onKernelThread { mm.oomReap() }
    #expect(!reaped.reaped && reaped.attempts == 10)
    #expect(xe.refusedCount == 10 && xe.firstPassCount == 0)
    #expect(nowait.deferredCount == 1 && nowait.finishCount == 1 && nowait.firstPassCount == 10)
    #expect(a.ledger.isFinishPaired && b.ledger.isFinishPaired)
    b.remove()
    a.remove()
  }

  /// A finish that forgets `finish_inuse`: the ledger still pairs (the
  /// core called one finish), but the driver's own end check does not, and
  /// its WARN changes the verdict.
  @Test func xeEndCheckCatchesAStuckFinishInUse() throws {
    for behaviour in [XeUserptr.Behaviour.kernel, .keepsFinishInUse] {
      let mm = MM(variant: Self.variant("mainline"), hungTimeoutMilliseconds: 200)
      let xe = XeUserptr(mm: mm, busyFences: 1, behaviour: behaviour)
      let sub = try mm.insertInterval(xe, start: 0, length: 0x2000)
      onKernelThread { mm.munmap(start: 0, end: 0x2000) }
      xe.submitJob()
      onKernelThread { mm.munmap(start: 0, end: 0x2000) }
      xe.warnUnlessAtRest()
      let verdict = Verdict(ScenarioMetrics(mm: mm))
      if behaviour == .kernel {
        #expect(xe.deferredCount == 2 && verdict.kind == .paired)
      } else {
        #expect(xe.deferredCount == 1 && xe.synchronousCount == 1, "finish_inuse stays set")
        #expect(xe.stateAtRest()?.contains("finish_inuse") == true)
        #expect(verdict.kind == .warn)
      }
      sub.remove()
    }
  }

  @Test func theDriversAreRegisteredWithTheirRoles() throws {
    let kvm = try DriverRegistry.driver(named: "kvm-mainline")
    #expect(kvm.roles == [.victim] && !kvm.isInterval)
    for name in ["xe-userptr", "xe-userptr-nowait"] {
      let xe = try DriverRegistry.driver(named: name)
      #expect(xe.roles == [.twoPassInterval] && xe.isInterval)
    }
    let casts = ScenarioCatalog.casts(of: try DriverRegistry.driver(named: "xe-userptr-nowait"))
    #expect(casts.map(\.id) == ["two-pass-finish-once:two-pass-interval=xe-userptr-nowait"])
  }

  // MARK: scenarios

  @Test(arguments: [
    ("mainline", Verdict.Kind.paired), ("original", .notApplicable),
    ("upstream-fix", .notApplicable), ("test-mainline-lost-finish", .missingFinish),
    ("test-mainline-double-finish", .duplicateFinish),
  ])
  func twoPassFinishOnce(variant: String, expected: Verdict.Kind) {
    let r = onKernelThread {
      TwoPassFinishOnce().run(target: variant, context: ScenarioContext())
    }
    #expect(r.verdict.kind == expected, "\(r.metrics.all)")
    if variant == "mainline" {
      #expect(r.metrics["finish_once"] == 1 && r.metrics["xe0_deferred"] == 2)
      #expect(r.metrics["xe1_refused"] == 10 && r.metrics["xe1_deferred"] == 1)
      #expect(r.metrics["finishes_during_reap"] == 1 && r.metrics["repinned"] == 1)
    }
  }

  /// A broken two-pass driver cast in the scenario's role changes its verdict.
  @Test func twoPassFinishOnceCatchesABrokenDriver() throws {
    let broken = RegisteredDriver(
      name: "xe-keeps-finish-inuse", roles: [.twoPassInterval],
      interval: { mm, name in
        XeUserptr(
          mm: mm, name: name, busyFences: 1, refusesNonBlockable: false,
          behaviour: .keepsFinishInUse)
      })
    DriverRegistry.register(broken)
    let scenario = TwoPassFinishOnce().casting(broken, as: .twoPassInterval)
    let r = onKernelThread { scenario.run(target: "mainline", context: ScenarioContext()) }
    #expect(r.scenario == "two-pass-finish-once:two-pass-interval=xe-keeps-finish-inuse")
    // the core's ledger pairs, but the cast driver's own check WARNs
    #expect(r.metrics["two_pass_interval_missing_finishes"] == 0)
    #expect(r.verdict.kind == .warn, "\(r.metrics.all)")
  }

  @Test(arguments: [
    ("mainline", Verdict.Kind.paired), ("original", .useAfterFree),
    ("interval-remove-fix", .paired),
  ])
  func intervalRemoveVsReap(variant: String, expected: Verdict.Kind) {
    let r = IntervalRemoveVsReap().run(target: variant, context: ScenarioContext())
    #expect(r.verdict.kind == expected)
    #expect(r.metrics["exhaustive"] == 1 || expected != .paired)
  }

  @Test(arguments: [("mainline", Verdict.Kind.paired), ("original", .hung)])
  func kvmMainlineMemslotAfterOOM(variant: String, expected: Verdict.Kind) {
    let r = onKernelThread {
      KVMMainlineMemslotAfterOOM().run(target: variant, context: ScenarioContext())
    }
    #expect(r.verdict.kind == expected, "\(r.metrics.all)")
    if variant == "mainline" {
      #expect(r.metrics["kvm_mmu_invalidate_in_progress"] == 0)
      #expect(r.metrics["kvm_mn_active_invalidate_count"] == 0)
      #expect(r.verdict.counterfactual == false)
    } else {
      #expect(r.verdict.counterfactual)
    }
  }

  // MARK: explore

  static let configurations = [
    "reap-vs-two-pass-refusal", "two-pass-finish-inuse", "kvm-mainline-memslot-vs-reap",
    "interval-remove-vs-reap",
  ]

  @Test(arguments: configurations)
  func cleanOnMainlineAtBound2(name: String) throws {
    let config = try ExploreCatalog.named(name)
    let r = Explorer.explore(
      config, variant: Self.variant("mainline"), strategy: .exhaustive(bound: 2))
    #expect(r.violation == nil, "\(String(describing: r.violation))")
    #expect(r.exhaustive && r.schedules > config.instances.count)
  }

  @Test func theConfigurationsEnumerateTheirChoices() throws {
    let refusal = try ExploreCatalog.named("reap-vs-two-pass-refusal").instances.map(\.label)
    #expect(refusal == ["[| T Y] oom_reaper + munmap", "[| Y T] oom_reaper + munmap"])
    let inuse = try ExploreCatalog.named("two-pass-finish-inuse").instances.map(\.label)
    #expect(inuse == ["[| X I] madvise + madvise", "[| I X] madvise + madvise"])
    let kvm = try ExploreCatalog.named("kvm-mainline-memslot-vs-reap").instances.map(\.label)
    #expect(kvm == ["[F M] oom_reaper + memslot_update", "[M F] oom_reaper + memslot_update"])
  }

  /// The violations broken counterparts introduce are found.
  @Test func exploreFindsTheBrokenCounterparts() throws {
    let mainline = Self.variant("mainline")
    // the core drops the finish pass when a later interval refuses
    let lost = Explorer.explore(
      try ExploreCatalog.named("reap-vs-two-pass-refusal"),
      variant: Self.variant("test-mainline-lost-finish"), strategy: .exhaustive(bound: 2))
    #expect(lost.violation?.invariant == .missingFinish)
    // the core runs a finish twice
    for name in ["reap-vs-two-pass-refusal", "two-pass-finish-inuse"] {
      let twice = Explorer.explore(
        try ExploreCatalog.named(name), variant: Self.variant("test-mainline-double-finish"),
        strategy: .exhaustive(bound: 2))
      #expect(twice.violation?.invariant == .duplicateFinish, "\(name)")
    }

    // a driver that hands its one embedded finish out twice
    DriverRegistry.register(
      RegisteredDriver(
        name: "xe-ignores-finish-inuse", roles: [],
        interval: { mm, name in
          XeUserptr(mm: mm, name: name, busyFences: 1, behaviour: .ignoresFinishInUse)
        }))
    var inuse = try ExploreCatalog.named("two-pass-finish-inuse")
    inuse.intervalRoles = [.driver("xe-ignores-finish-inuse")]
    inuse.everyIntervalOrder = false
    let twice = Explorer.explore(inuse, variant: mainline, strategy: .exhaustive(bound: 2))
    #expect(twice.violation?.invariant == .driverState)
    #expect(twice.violation?.detail.contains("no deferred start") == true)

    // a KVM that forgets mn_active_invalidate_count
    DriverRegistry.register("kvm-mainline-forgets-active-count") { mm, name in
      KVMMainline(mm: mm, name: name, behaviour: .skipsActiveCountDrop)
    }
    var kvm = try ExploreCatalog.named("kvm-mainline-memslot-vs-reap")
    kvm.notifiers = [.driver("kvm-mainline-forgets-active-count"), .refusing]
    let forgot = Explorer.explore(kvm, variant: mainline, strategy: .exhaustive(bound: 2))
    #expect(forgot.violation?.invariant == .hung)

    // v5.11's core leaves the refused reaper's start open: the update hangs
    let original = Explorer.explore(
      try ExploreCatalog.named("kvm-mainline-memslot-vs-reap"), variant: Self.variant("original"),
      strategy: .exhaustive(bound: 2))
    #expect(original.violation?.invariant == .hung)
  }
}
