import MMUNotifierHarness
import Synchronization
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@Suite("KVM driver: every version")
struct KVMTests {
  /// A blockable start/end pair (munmap) leaves every version balanced.
  @Test(arguments: KVMVersion.allCases)
  func munmapIsPaired(version: KVMVersion) {
    onKernelThread {
      let mm = MM(hungTimeoutMilliseconds: 200, lockdep: true)
      let kvm = KVM(mm: mm, version: version)
      let sub = try! mm.register(kvm)
      mm.munmap(start: 0x1000, end: 0x3000)
      #expect(kvm.mmuNotifierCount == 0)
      #expect(kvm.mmuNotifierSeq == 1)
      #expect(kvm.activeInvalidateCount == 0)
      #expect(mm.ledgerTotals.isPaired)
      #expect(mm.logCounts.bugs == 0)
      #expect(kvm.vcpuFault(hva: 0x2000))
      #expect(kvm.installNewMemslots())
      #expect(kvm.memslotsInstalled == 1)
      #expect(kvm.hungWaits == 0)
      sub.unregister()
    }
  }

  /// Between start and end the count is raised, a vCPU fault in the range
  /// cannot complete (bounded: hung), and v5.15 counts the invalidation.
  @Test(arguments: KVMVersion.allCases)
  func faultRetriesWhileInvalidating(version: KVMVersion) {
    onKernelThread {
      let mm = MM(hungTimeoutMilliseconds: 100)
      let kvm = KVM(mm: mm, version: version)
      let sub = try! mm.register(kvm)
      let inv = Invalidation(mm, start: 0x1000, end: 0x3000)
      inv.start()
      #expect(kvm.mmuNotifierCount == 1)
      #expect(kvm.activeInvalidateCount == (version == .v5_15 ? 1 : 0))
      #expect(!kvm.vcpuFault(hva: 0x2000), "mmu_notifier_retry holds the fault back")
      // v5.12+ retries only inside the invalidated range.
      #expect(kvm.vcpuFault(hva: 0x8000) == (version != .v5_11))
      inv.end()
      inv.retire()
      #expect(kvm.vcpuFault(hva: 0x2000))
      #expect(mm.logCounts.hung >= 1)
      sub.unregister()
    }
  }

  /// A fault waiting in the retry loop gets through as soon as end runs.
  @Test func faultCompletesAfterEnd() {
    onKernelThread {
      let mm = MM(hungTimeoutMilliseconds: 5000)
      let kvm = KVM(mm: mm, version: .v5_11)
      let sub = try! mm.register(kvm)
      let started = KernelSemaphore()
      let mayEnd = KernelSemaphore()
      let invalidator = KernelThread(name: "invalidator") {
        let inv = Invalidation(mm, start: 0, end: 0x1000)
        inv.start()
        started.signal()
        mayEnd.wait()
        inv.end()
        inv.retire()
      }
      #expect(started.wait())
      let faulted = Flag()
      let vcpu = KernelThread(name: "vcpu") { faulted.set(kvm.vcpuFault(hva: 0x800)) }
      mayEnd.signal()
      vcpu.join()
      invalidator.join()
      #expect(faulted.value)
      #expect(kvm.hungWaits == 0)
      sub.unregister()
    }
  }

  /// An end without a start (the double end of `blockable-start-failure`)
  /// drives the count below 0 and logs the BUG_ON.
  @Test(arguments: KVMVersion.allCases)
  func unpairedEndHitsBugOn(version: KVMVersion) {
    onKernelThread {
      let mm = MM()
      let kvm = KVM(mm: mm, version: version)
      let sub = try! mm.register(kvm, ledger: false)
      let inv = Invalidation(mm, start: 0, end: 0x1000)
      inv.end()
      inv.retire()
      #expect(kvm.mmuNotifierCount == -1)
      #expect(mm.logCounts.bugs == 1)
      let bug = mm.log.first { $0.kind == .bug }?.text ?? ""
      #expect(bug.contains("BUG_ON(kvm->mmu_notifier_count < 0)"))
      #expect(bug.contains("kvm_mmu_notifier_invalidate_range_end"))
      sub.unregister()
    }
  }

  /// Memslot blocking: kvm-rwsem and kvm-v5.15 cannot install while a
  /// start is unpaired (bounded: hung); v5.11 and v5.14 can.
  @Test(arguments: KVMVersion.allCases)
  func memslotUpdateWaitsForOpenInvalidation(version: KVMVersion) {
    onKernelThread {
      let mm = MM(hungTimeoutMilliseconds: 100)
      let kvm = KVM(mm: mm, version: version)
      let sub = try! mm.register(kvm)
      let inv = Invalidation(mm, start: 0, end: 0x1000)
      inv.start()
      let installed = KernelThread.run(name: "kvm-memslots") { kvm.installNewMemslots() }
      #expect(installed == !version.blocksMemslotUpdates)
      #expect((kvm.hungWaits > 0) == version.blocksMemslotUpdates)
      inv.end()
      inv.retire()
      #expect(KernelThread.run(name: "kvm-memslots") { kvm.installNewMemslots() })
      sub.unregister()
    }
  }

  /// A non-blockable start (the OOM reaper) that is never ended leaves the
  /// v5.15 readers count raised, so the memslot update hangs: the
  /// `memslot-update-after-oom` mechanism. kvm-rwsem skips the semaphore
  /// for non-blockable ranges, so it does not.
  @Test(arguments: [KVMVersion.v5_15, .rwsem])
  func leakedNonblockStartBlocksMemslots(version: KVMVersion) {
    onKernelThread {
      let mm = MM(hungTimeoutMilliseconds: 100)
      let kvm = KVM(mm: mm, version: version)
      let sub = try! mm.register(kvm, ledger: false)
      let inv = Invalidation(mm, start: 0, end: 0x1000)
      #expect(inv.startNonblock() == 0)
      inv.retire()
      let installed = KernelThread.run(name: "kvm-memslots") { kvm.installNewMemslots() }
      #expect(installed == (version == .rwsem))
      #expect(kvm.activeInvalidateCount == (version == .v5_15 ? 1 : 0))
      sub.unregister()
    }
  }

  /// kvm-v5.15's lockdep map is held from start to end. Starts that never
  /// get an end (here 100 OOM-style non-blockable starts on one thread)
  /// leave one held entry, not one each: the validator never overflows and
  /// stays on.
  @Test func leakedStartsDoNotExhaustTheValidator() {
    onKernelThread("oom_reaper") {
      let mm = MM(hungTimeoutMilliseconds: 100, lockdep: true)
      let kvm = KVM(mm: mm, version: .v5_15)
      let sub = try! mm.register(kvm, ledger: false)
      for i in 0..<100 {
        let inv = Invalidation(mm, start: UInt(i) << 12, end: UInt(i + 1) << 12)
        #expect(inv.startNonblock() == 0)
        inv.retire()
      }
      #expect(kvm.activeInvalidateCount == 100)
      #expect(mm.logCounts.lockdep == 0, "\(mm.lockdepReports.map(\.text))")
      // Still validating: an AB/BA on this thread is seen.
      let a = KernelSpinlock(mm, name: "lock_A")
      let b = KernelSpinlock(mm, name: "lock_B")
      a.lock("ab_a")
      b.lock("ab_b")
      b.unlock("ab_b")
      a.unlock("ab_a")
      b.lock("ba_b")
      a.lock("ba_a")
      a.unlock("ba_a")
      b.unlock("ba_b")
      #expect(mm.lockCycles == 1)
      sub.unregister()
    }
  }
}

/// A bool one thread sets and another reads after a join.
final class Flag: Sendable {
  private let storage = Atomic<Bool>(false)
  func set(_ v: Bool) { storage.store(v, ordering: .releasing) }
  var value: Bool { storage.load(ordering: .acquiring) }
}

/// v5.15's `__kvm_handle_hva_range` raises `mmu_notifier_count` (its
/// `on_lock`) only for a range that hits a memslot; the memslot-blocking
/// count `mn_active_invalidate_count` is raised by every start.
@Suite("KVM v5.15: memslots")
struct KVMMemslotTests {
  @Test(arguments: RCUFlavor.allCases)
  func onlyARangeThatHitsAMemslotRaisesTheCount(flavor: RCUFlavor) throws {
    let mm = MM(flavor: flavor, hungTimeoutMilliseconds: 100)
    let slot: Range<UInt> = 0x10_0000..<0x20_0000
    let kvm = KVM(mm: mm, version: .v5_15, memslots: [slot])
    let sub = try mm.register(kvm)

    let outside = Invalidation(mm, start: 0x30_0000, end: 0x40_0000)
    outside.start()
    #expect(kvm.mmuNotifierCount == 0, "no memslot: no on_lock")
    #expect(kvm.activeInvalidateCount == 1, "52ac8b358b counts every start")
    #expect(kvm.vcpuFault(hva: 0x30_1000), "nothing to retry for")
    outside.end()
    outside.retire()
    #expect(kvm.mmuNotifierSeq == 0, "and no kvm_dec_notifier_count")

    let straddling = Invalidation(mm, start: 0x1F_F000, end: 0x20_1000)
    straddling.start()
    #expect(kvm.mmuNotifierCount == 1)
    straddling.end()
    straddling.retire()
    #expect(kvm.mmuNotifierCount == 0 && kvm.mmuNotifierSeq == 1)
    #expect(kvm.activeInvalidateCount == 0)
    #expect(mm.logCounts.bugs == 0)

    // install_new_memslots swaps the set once the invalidations drained
    #expect(kvm.installNewMemslots([0x30_0000..<0x40_0000]))
    let now = Invalidation(mm, start: 0x30_0000, end: 0x30_1000)
    now.start()
    #expect(kvm.mmuNotifierCount == 1)
    now.end()
    now.retire()
    sub.unregister()
  }

  /// Without memslots given, every hva is guest memory (the worst case the
  /// scenarios keep): every start raises the count, as before.
  @Test func noMemslotsMeansEveryRangeHits() throws {
    let mm = MM()
    let kvm = KVM(mm: mm, version: .v5_15)
    let sub = try mm.register(kvm)
    let inv = Invalidation(mm, start: 0x30_0000, end: 0x40_0000)
    inv.start()
    #expect(kvm.mmuNotifierCount == 1)
    inv.end()
    inv.retire()
    sub.unregister()
  }
}
