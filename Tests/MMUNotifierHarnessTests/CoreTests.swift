import CSupport
import MMUNotifierHarness
import Synchronization
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@Suite("The v5.11 core: hlist notifiers")
struct CoreTests {
  @Test(arguments: RCUFlavor.allCases)
  func registrationOrderIsNewestFirst(flavor: RCUFlavor) {
    onKernelThread {
      let log = EventLog()
      let mm = MM(flavor: flavor)
      let subs = ["a", "b", "c"].map { try! mm.register(RecordingNotifier($0, log: log)) }
      let inv = Invalidation(mm, start: 0, end: 0x1000)
      inv.start()
      inv.end()
      inv.retire()
      #expect(log.all == ["c.start", "b.start", "a.start", "c.end", "b.end", "a.end"])
      #expect(mm.ledgerTotals.isPaired)
      subs.forEach { $0.unregister() }
    }
  }

  /// As in the kernel, where every subscription of a driver points at its
  /// one static ops table: subscriptions with the same callbacks share the
  /// table the core reads, and the ledger's interposed table is another one.
  @Test func subscriptionsOfOneDriverShareTheirOpsTable() {
    onKernelThread {
      let log = EventLog()
      let mm = MM(flavor: .memb)
      func opsTable(_ sub: Subscription) -> UnsafePointer<mmu_notifier_ops>? {
        OpaquePointer(bitPattern: sub.notifierAddress).flatMap { mmn_notifier_ops($0) }
      }
      let plain = ["a", "b"].map {
        try! mm.register(RecordingNotifier($0, log: log), ledger: false)
      }
      let ledgered = ["c", "d"].map { try! mm.register(RecordingNotifier($0, log: log)) }
      let startOnly = try! mm.register(
        RecordingNotifier("e", log: log, callbacks: [.invalidateRangeStart]), ledger: false)

      #expect(opsTable(plain[0]) != nil)
      #expect(opsTable(plain[0]) == opsTable(plain[1]))
      #expect(opsTable(ledgered[0]) == opsTable(ledgered[1]))
      #expect(opsTable(plain[0]) != opsTable(ledgered[0]))
      #expect(opsTable(startOnly) != opsTable(plain[0]))
      #expect(opsTable(startOnly)?.pointee.invalidate_range_end == nil)

      let inv = Invalidation(mm, start: 0, end: 0x1000)
      inv.start()
      inv.end()
      inv.retire()
      #expect(log.all.filter { $0.hasSuffix(".start") }.count == 5)
      #expect(log.all.filter { $0.hasSuffix(".end") }.count == 4)
      (plain + ledgered + [startOnly]).forEach { $0.unregister() }
    }
  }

  /// A failing start: the loop carries on, the last error is returned, no
  /// end is called, the kernel's pr_info is logged, and WARN_ON fires for a
  /// code other than -EAGAIN.
  @Test(arguments: RCUFlavor.allCases)
  func failingStartCarriesOnAndReturnsLastError(flavor: RCUFlavor) {
    onKernelThread {
      let log = EventLog()
      let mm = MM(flavor: flavor)
      // Newest first: traversal is busy, counting, again.
      let again = try! mm.register(
        RecordingNotifier(
          "again", log: log, callbacks: [.invalidateRangeStart], startResult: -EAGAIN))
      let counting = RecordingNotifier("counting", log: log)
      let countingSub = try! mm.register(counting)
      let busy = try! mm.register(
        RecordingNotifier("busy", log: log, callbacks: [.invalidateRangeStart], startResult: -EBUSY)
      )

      let inv = Invalidation(mm, start: 0, end: 0x1000)
      let ret = inv.startNonblock()
      #expect(ret == -EAGAIN, "the last failure is returned")
      #expect(log.all == ["busy.start", "counting.start", "again.start"])
      // The OOM reaper skips end after a failure: nothing ends.
      inv.retire()
      #expect(counting.active.load(ordering: .relaxed) == 1)
      #expect(mm.ledgerTotals.missingEnds == 1)
      #expect(countingSub.ledger.missingEnds == 1)
      #expect(mm.logCounts.warnings == 1, "-EBUSY in a non-blockable range WARNs; -EAGAIN does not")
      let lines = mm.log.filter { $0.kind == .info }.map(\.text)
      #expect(
        lines == [
          "busy_notifier_invalidate_range_start callback failed with -16 in non-blockable context.",
          "again_notifier_invalidate_range_start callback failed with -11 in non-blockable context.",
        ])
      [again, countingSub, busy].forEach { $0.unregister() }
    }
  }

  @Test(arguments: RCUFlavor.allCases)
  func blockableFailureWarns(flavor: RCUFlavor) {
    onKernelThread {
      let log = EventLog()
      let mm = MM(flavor: flavor)
      let sub = try! mm.register(
        RecordingNotifier(
          "i915", log: log, callbacks: [.invalidateRangeStart], startResult: -EINTR,
          failOnlyNonblock: false))
      let inv = Invalidation(mm, start: 0, end: 0x1000)
      inv.start()
      inv.end()
      inv.retire()
      #expect(mm.logCounts.warnings == 1)
      #expect(
        mm.log.first(where: { $0.kind == .info })?.text
          == "i915_notifier_invalidate_range_start callback failed with -4 in blockable context.")
      let warn = mm.log.first(where: { $0.kind == .warning })
      #expect(warn?.text.contains("mm/mmu_notifier.c") == true)
      #expect(warn?.text.contains("mn_hlist_invalidate_range_start") == true)
      sub.unregister()
    }
  }

  /// Unregister in another thread while a traversal stands on the list:
  /// unregister unlinks at once but does not return (synchronize_srcu)
  /// until the traversal has left its read-side section.
  @Test(arguments: RCUFlavor.allCases)
  func unregisterDuringTraversalWaitsForIt(flavor: RCUFlavor) throws {
    let log = EventLog()
    let mm = MM(flavor: flavor)
    let blocker = RecordingNotifier("blocker", log: log)
    let entered = KernelSemaphore()
    let release = KernelSemaphore()
    let unlinked = KernelSemaphore()
    blocker.gate = (entered, release)
    let victim = RecordingNotifier(
      "victim", log: log, callbacks: [.invalidateRangeStart, .invalidateRangeEnd, .release])
    let (victimSub, blockerSub) = onKernelThread {
      (try! mm.register(victim), try! mm.register(blocker))
    }
    mm.setTrace { event, _ in if event == .unlinked { unlinked.signal() } }

    let invalidator = KernelThread(name: "invalidator") {
      let inv = Invalidation(mm, start: 0, end: 0x1000)
      inv.start()
      log.record("traversal.started")
      inv.end()
      inv.retire()
    }
    #expect(entered.wait())
    let returned = KernelSemaphore()
    let remover = KernelThread(name: "remover") {
      victimSub.unregister()
      log.record("unregister.returned")
      returned.signal()
    }
    #expect(unlinked.wait())
    // Unlinked, but the grace period waits for the traversal in `blocker`:
    // no return within a generous bound.
    #expect(!returned.wait(milliseconds: 200))
    release.signal()
    remover.join()
    invalidator.join()
    let events = log.all
    let released = try #require(events.firstIndex(of: "victim.release"))
    let resumed = try #require(events.firstIndex(of: "blocker.resumed"))
    let returnedAt = try #require(events.firstIndex(of: "unregister.returned"))
    #expect(released < returnedAt)
    #expect(resumed < returnedAt)
    // The victim was unlinked before the traversal reached it: it got no start.
    #expect(!events.contains("victim.start"))
    #expect(mm.ledgerTotals.isPaired)
    onKernelThread { blockerSub.unregister() }
  }

  /// rcutorture's check: notifiers put while readers traverse are freed only
  /// after every reader that could see them has left; a reader that reached
  /// a freed (poisoned) one would be counted.
  @Test(arguments: RCUFlavor.allCases)
  func putFreesOnlyAfterReadersLeave(flavor: RCUFlavor) {
    let mm = MM(flavor: flavor)
    let stop = Atomic<Bool>(false)
    let readers = (0..<2).map { i in
      KernelThread(name: "reader\(i)") {
        while !stop.load(ordering: .relaxed) {
          let inv = Invalidation(mm, start: 0, end: 0x1000)
          inv.start()
          inv.end()
          inv.retire()
        }
      }
    }
    let writer = KernelThread(name: "writer") {
      for _ in 0..<300 {
        let sub = try! mm.register(CountingNotifier())
        sub.put()
      }
      mm.barrier()
    }
    writer.join()
    stop.store(true, ordering: .relaxed)
    readers.forEach { $0.join() }
    onKernelThread { mm.barrier() }
    #expect(mm.stats.puts == 300)
    #expect(mm.stats.frees == 300)
    #expect(mm.ledgerTotals.poisonSeen == 0)
    #expect(mm.ledgerTotals.isPaired)
  }

  /// The positive control: a reader that reaches a poisoned subscription is
  /// counted, and the driver is never called.
  @Test func poisonCheckFires() {
    onKernelThread {
      let log = EventLog()
      let mm = MM()
      let sub = try! mm.register(RecordingNotifier("poisoned", log: log))
      sub.debugPoison()
      let inv = Invalidation(mm, start: 0, end: 0x1000)
      inv.start()
      inv.end()
      inv.retire()
      #expect(mm.ledgerTotals.poisonSeen == 2)
      #expect(log.all.isEmpty)
      // KASAN's class: a use-after-free report, not a BUG_ON
      #expect(mm.logCounts.useAfterFree == 2)
      #expect(mm.logCounts.bugs == 0)
      #expect(mm.log.contains { $0.text.hasPrefix("BUG: KASAN: use-after-free in") })
    }
  }

  /// The ledger: an end with no start, and a second end, are counted.
  @Test func ledgerCountsUnpairedEnds() {
    onKernelThread {
      let log = EventLog()
      let mm = MM()
      let sub = try! mm.register(RecordingNotifier("n", log: log))
      let inv = Invalidation(mm, start: 0, end: 0x1000)
      inv.end()  // never started
      inv.retire()
      let inv2 = Invalidation(mm, start: 0, end: 0x1000)
      inv2.start()
      inv2.end()
      inv2.end()  // twice
      inv2.retire()
      let c = sub.ledger
      #expect(c.endsWithoutStart == 1)
      #expect(c.duplicateEnds == 1)
      #expect(c.missingEnds == 0)
      #expect(!c.isPaired)
      sub.unregister()
    }
  }

  /// exit_mmap: ->release closes what is open, then the list is emptied.
  @Test(arguments: RCUFlavor.allCases)
  func releaseClosesOpenStarts(flavor: RCUFlavor) {
    onKernelThread {
      let log = EventLog()
      let mm = MM(flavor: flavor)
      let sub = try! mm.register(
        RecordingNotifier(
          "n", log: log, callbacks: [.invalidateRangeStart, .invalidateRangeEnd, .release]))
      let inv = Invalidation(mm, start: 0, end: 0x1000)
      inv.start()
      mm.release()
      inv.retire()
      #expect(log.all == ["n.start", "n.release"])
      #expect(mm.hlistCount == 0)
      #expect(mm.ledgerTotals.missingEnds == 0)
      #expect(mm.ledgerTotals.closedByRelease == 1)
      sub.unregister()  // still hashed? no: only waits, as in the kernel
      #expect(log.all == ["n.start", "n.release"])
    }
  }

  @Test func badNamesAreRefusedWithTheValidOnes() {
    #expect(throws: HarnessInputError.self) { try RCUFlavor.named("srcu") }
    do {
      _ = try Variant.named("nope")
      Issue.record("expected an error")
    } catch {
      #expect(error.description.contains("original"))
      #expect(error.description.contains("upstream-fix"))
    }
  }

  @Test func cSelfTests() {
    #expect(mmn_selftest_lockdep() == 0)
    for seed in UInt32(1)...4 {
      #expect(mmn_selftest_interval_tree(seed, 300, 200) == 0)
    }
  }
}

/// Counts the calls that came in through `EntryPointNotifier`'s own entry
/// points, rather than the shared ones.
private let ownEntryCalls = Atomic<Int>(0)

/// A driver with entry points compiled for its type.
private final class EntryPointNotifier: Notifier {
  let callbacks: NotifierCallbacks = .startAndEnd
  let symbol = "entry_notifier"
  let starts = Atomic<Int>(0)
  let ends = Atomic<Int>(0)

  static let entryPoints: NotifierEntryPoints? = NotifierEntryPoints(
    start: {
      ownEntryCalls.add(1, ordering: .relaxed)
      return NotifierEntryPoints.start(EntryPointNotifier.self, $0, $1)
    },
    end: {
      ownEntryCalls.add(1, ordering: .relaxed)
      NotifierEntryPoints.end(EntryPointNotifier.self, $0, $1)
    })

  func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
    starts.add(1, ordering: .relaxed)
    return range.isBlockable ? 0 : -EAGAIN
  }

  func invalidateRangeEnd(_ range: NotifierRange) { ends.add(1, ordering: .relaxed) }
}

@Suite("Swift drivers' own entry points")
struct EntryPointTests {
  /// The core calls the type's own start and end, which reach the driver's
  /// methods; a refusal is named in the log as through the shared ones.
  @Test func ownEntryPointsReachTheDriver() {
    onKernelThread {
      let mm = MM(flavor: .memb)
      let driver = EntryPointNotifier()
      let sub = try! mm.register(driver)
      let before = ownEntryCalls.load(ordering: .relaxed)

      let blockable = Invalidation(mm, start: 0, end: 0x1000)
      blockable.start()
      blockable.end()
      blockable.retire()
      let refused = Invalidation(mm, start: 0, end: 0x1000)
      #expect(refused.startNonblock() == -EAGAIN)
      refused.retire()

      #expect(driver.starts.load(ordering: .relaxed) == 2)
      #expect(driver.ends.load(ordering: .relaxed) == 1)
      #expect(ownEntryCalls.load(ordering: .relaxed) - before == 3)
      #expect(
        mm.log.filter { $0.kind == .info }.map(\.text) == [
          "entry_notifier_invalidate_range_start callback failed with -11 in non-blockable context."
        ])
      #expect(mm.ledgerTotals.startsFailed == 1)
      #expect(mm.ledgerTotals.isPaired)
      sub.unregister()
    }
  }
}
