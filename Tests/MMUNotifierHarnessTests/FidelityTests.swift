import CSupport
import MMUNotifierHarness
import Synchronization
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// A notifier whose first blockable start waits (bounded) at a gate, so a
/// test can hold a caller inside its start/end window; non-blockable
/// starts (the OOM reaper's) never wait.
private final class GatedOnce: Notifier, @unchecked Sendable {
  let callbacks: NotifierCallbacks = .startAndEnd
  let symbol = "gated"
  let entered = KernelSemaphore()
  let release = KernelSemaphore()
  private let gated = Atomic<Bool>(false)
  let nonblockStarts = Atomic<Int>(0)

  func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
    if !range.isBlockable {
      nonblockStarts.add(1, ordering: .relaxed)
      return 0
    }
    if !gated.exchange(true, ordering: .relaxed) {
      entered.signal()
      _ = release.wait(milliseconds: 5000)
    }
    return 0
  }
}

/// An interval notifier that records the event of every invalidation.
private final class EventInterval: IntervalNotifier, @unchecked Sendable {
  let symbol = "event_interval"
  let events = Locked<[NotifierEvent]>([])
  func invalidate(_ interval: IntervalRef, range: NotifierRange, currentSeq: UInt) -> Bool {
    events.withLock { $0.append(range.event) }
    interval.setSeq(currentSeq)
    return true
  }
}

/// Places where the port used to differ from v5.11, each now as the kernel
/// has it (see docs/port.md).
@Suite("The v5.11 port: fidelity")
struct FidelityTests {
  /// v5.11 munmap(2) is `__vm_munmap(..., downgrade=true)`: `__do_munmap`
  /// downgrades mmap_lock to read before `unmap_region`, so the OOM
  /// reaper's `mmap_read_trylock` succeeds while a munmap is inside its
  /// start/end window. (A write hold throughout made every try fail.)
  @Test(arguments: RCUFlavor.allCases)
  func reaperOverlapsADowngradedMunmap(flavor: RCUFlavor) throws {
    let mm = MM(flavor: flavor, vmas: 2)
    let gated = GatedOnce()
    try mm.register(gated)
    let vma = mm.vmaRange(0)
    let unmapper = KernelThread(name: "munmap") { mm.munmap(start: vma.start, end: vma.end) }
    #expect(gated.entered.wait(milliseconds: 5000), "munmap reached its start")
    let reap = KernelThread.run(name: "oom_reaper") { mm.oomReap() }
    gated.release.signal()
    unmapper.join()
    #expect(reap.reaped && reap.attempts == 1)
    #expect(gated.nonblockStarts.load(ordering: .relaxed) == 2, "the reaper started both VMAs")
    #expect(mm.logCounts.hung == 0)
    // munmap let go of the read side it was downgraded to: a writer gets in
    let late = RecordingNotifier("late", log: EventLog())
    #expect(throws: Never.self) { try mm.register(late) }
    #expect(mm.ledgerTotals.missingEnds == 0)
  }

  /// `mmu_notifier_get` (GRU's way in v5.11): one subscription per driver
  /// and mm, counted in `users`; each get is paired with a put, and only
  /// the last put unlinks it.
  @Test(arguments: RCUFlavor.allCases)
  func getReturnsTheDriversOneSubscription(flavor: RCUFlavor) throws {
    let mm = MM(flavor: flavor)
    let first = GRU(mm: mm, name: "gru0")
    let second = GRU(mm: mm, name: "gru1")
    let a = try mm.get(first)
    let b = try mm.get(second)
    #expect(b.notifier === first, "the second get found the first GRU's subscription")
    #expect(a.users == 2 && b.users == 2)
    #expect(mm.hlistCount == 1)
    #expect(a.fromGet && b.fromGet)
    let inv = Invalidation(mm, start: 0, end: 0x1000)
    inv.start()
    #expect(first.msRangeActive == 1 && second.msRangeActive == 0)
    inv.end()
    inv.retire()
    a.put()
    #expect(mm.hlistCount == 1, "one user is left")
    #expect(b.users == 1)
    b.put()
    #expect(mm.hlistCount == 0)
    mm.barrier()
    #expect(mm.stats.frees == 1)
    #expect(mm.stats.registrations == 1)
    // a register()ed GRU is a different table: get does not match it
    let plain = try mm.register(GRU(mm: mm, name: "gru2"))
    let got = try mm.get(GRU(mm: mm, name: "gru3"))
    #expect(mm.hlistCount == 2)
    got.put()
    plain.unregister()
    #expect(mm.logCounts.warnings == 0 && mm.logCounts.bugs == 0)
  }

  /// The scenarios subscribe GRU through get, as its driver does.
  @Test func gruSubscribesThroughGet() throws {
    let mm = MM()
    let sub = try mm.subscribe(GRU(mm: mm))
    #expect(sub.fromGet)
    let other = try mm.subscribe(KVM(mm: mm, version: .v5_11))
    #expect(!other.fromGet)
    sub.drop()
    other.drop()
    #expect(mm.hlistCount == 0)
  }

  /// `mmu_notifier_unregister` checks `mm_count` before and after its
  /// grace period (BUG_ON(atomic_read(&mm->mm_count) <= 0), v5.11). The
  /// positive control: a driver whose extra mmdrops used up the mm's pins.
  @Test func unregisterChecksMMCountTwice() throws {
    let mm = MM()
    let sub = try mm.register(RecordingNotifier("n", log: EventLog()))
    #expect(mm.logCounts.bugs == 0)
    // creator + subscription = 2; the harness's own pin in unregister
    // would bring -1 back to 0, which the checks must catch.
    mm.debugMoveMMCount(by: -3)
    sub.unregister()
    mm.debugMoveMMCount(by: 3)
    #expect(mm.logCounts.bugs == 2)
    let bugs = mm.log.filter { $0.kind == .bug }.map(\.text)
    #expect(bugs.allSatisfy { $0.contains("BUG_ON(atomic_read(&mm->mm_count) <= 0)") })
    #expect(bugs.allSatisfy { $0.contains("mmu_notifier_unregister") })
  }

  /// `__mmu_interval_notifier_insert`: "Must call with a mmget() held":
  /// WARN_ON(mm_users <= 0) and -EINVAL once exit_mmap is under way.
  @Test func intervalInsertAfterExitWarnsAndFails() throws {
    let mm = MM(vmas: 1)
    let vma = mm.vmaRange(0)
    let early = try mm.insertInterval(EventInterval(), start: vma.start, length: 0x1000)
    mm.exitMmap()
    let error = #expect(throws: KernelError.self) {
      try mm.insertInterval(EventInterval(), start: vma.start, length: 0x1000)
    }
    #expect(error?.errno == -EINVAL)
    #expect(mm.logCounts.warnings == 1)
    #expect(mm.logCounts.bugs == 0, "the itree was registered while the mm had users")
    let warn = mm.log.first { $0.kind == .warning }?.text ?? ""
    #expect(warn.contains("__mmu_interval_notifier_insert"))
    #expect(warn.contains("WARN_ON(atomic_read(&mm->mm_users) <= 0)"))
    early.remove()
  }

  /// `__mmu_notifier_register`: BUG_ON(mm_users <= 0) before and after.
  @Test func registerAfterExitIsABug() throws {
    let mm = MM()
    mm.exitMmap()
    let sub = try mm.register(RecordingNotifier("late", log: EventLog()))
    #expect(mm.logCounts.bugs == 2)
    sub.unregister()
  }

  /// v5.11 exit_mmap ends with `unmap_vmas(&tlb, vma, 0, -1)`: one more
  /// blockable start/end over everything after `mmu_notifier_release`,
  /// which the interval tree still receives.
  @Test(arguments: RCUFlavor.allCases)
  func exitMmapUnmapsEverythingLast(flavor: RCUFlavor) throws {
    let mm = MM(flavor: flavor, vmas: 2)
    let interval = EventInterval()
    let vma = mm.vmaRange(1)
    let sub = try mm.insertInterval(interval, start: vma.start, length: 0x1000)
    let hlist = RecordingNotifier(
      "hlist", log: EventLog(), callbacks: [.invalidateRangeStart, .invalidateRangeEnd, .release])
    let hsub = try mm.register(hlist)
    mm.exitMmap()
    #expect(interval.events.withLock { $0 } == [.release, .unmap])
    #expect(hlist.log.all == ["hlist.release"], "the hlist was emptied by release")
    #expect(mm.unmappedVMAs == 2)
    #expect(mm.activeInvalidateRanges == 0)
    hsub.unregister()
    sub.remove()
  }

  /// v5.11 no longer primes lockdep in `__mmu_notifier_register` ("mm:
  /// Track mmu notifiers in fs_reclaim_acquire/release"): only its
  /// GFP_KERNEL allocation, on an mm's first registration, records the
  /// dependency on the invalidate_range_start map. A later registration
  /// under a driver lock records that lock before mmap_lock and the
  /// subscriptions spinlock, and nothing before the map.
  @Test func onlyTheAllocatingRegistrationPrimesLockdep() throws {
    func dependenciesAdded(firstRegistration: Bool) throws -> Int {
      let mm = MM(lockdep: true)
      var subs: [Subscription] = []
      if !firstRegistration {
        subs.append(try mm.register(RecordingNotifier("a", log: EventLog())))
      }
      let driverLock = KernelSpinlock(mm, name: "driver_lock")
      let before = mm.lockDependencies
      let sub = try KernelThread.run(name: "driver") {
        driverLock.withLock { Result { try mm.register(RecordingNotifier("b", log: EventLog())) } }
      }.get()
      let added = mm.lockDependencies - before
      subs.append(sub)
      for s in subs { s.unregister() }
      #expect(mm.lockCycles == 0)
      return added
    }
    let first = try dependenciesAdded(firstRegistration: true)
    let later = try dependenciesAdded(firstRegistration: false)
    // first: driver_lock -> mmap_lock, -> the map, -> the spinlock, and
    // mmap_lock -> the map, mmap_lock -> the spinlock
    #expect(first == 5)
    // later: driver_lock -> mmap_lock and -> the spinlock only (v5.10's
    // priming added driver_lock -> the map)
    #expect(later == 2)
  }

  /// The 2019 stopgap recomputes multiple_subscriptions on every
  /// registration: a subscription that joins an empty list clears it, and
  /// the OOM reaper's non-blocking start is let through again.
  @Test func rejectMultiFallsBackOnAnEmptyList() throws {
    let variant = try Variant.named("reject-multi")
    let mm = MM(variant: variant)
    let log = EventLog()
    let a = try mm.register(RecordingNotifier("a", log: log))
    let b = try mm.register(RecordingNotifier("b", log: log))
    let refused = Invalidation(mm, start: 0, end: 0x1000)
    #expect(refused.startNonblock() == -EAGAIN)
    refused.retire()
    a.unregister()
    b.unregister()
    let c = try mm.register(RecordingNotifier("c", log: log))
    let let_through = Invalidation(mm, start: 0, end: 0x1000)
    #expect(let_through.startNonblock() == 0)
    let_through.end()
    let_through.retire()
    #expect(log.all.suffix(2) == ["c.start", "c.end"])
    c.unregister()
  }
}
