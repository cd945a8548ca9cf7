import Foundation
import MMUNotifierHarness
import Synchronization
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Drivers that misbehave: one that sleeps in start, ones that return codes
/// the contract forbids, one that traps. Orderings are forced with
/// semaphores and checked on recorded events; the only timed waits are the
/// bounded ones that must expire to show something did *not* happen.
@Suite("Faults: sleeping, failing and trapping drivers")
struct FaultTests {
  /// Everything the test observes, in the order it happened. A pthread
  /// mutex, not `Synchronization.Mutex`, so ThreadSanitizer sees the order.
  final class Events: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var list: [String] = []
    init() { pthread_mutex_init(mutex, nil) }
    deinit {
      pthread_mutex_destroy(mutex)
      mutex.deallocate()
    }
    func record(_ e: String) {
      pthread_mutex_lock(mutex)
      list.append(e)
      pthread_mutex_unlock(mutex)
    }
    var all: [String] {
      pthread_mutex_lock(mutex)
      defer { pthread_mutex_unlock(mutex) }
      return list
    }
    func index(_ e: String) -> Int? { all.firstIndex(of: e) }
  }

  /// Start and end; start announces itself and sleeps until released (a
  /// driver waiting on its hardware for "a long time").
  final class SleepingNotifier: Notifier, @unchecked Sendable {
    let callbacks: NotifierCallbacks = .startAndEnd
    let symbol = "sleeping_notifier"
    let events: Events
    let entered = KernelSemaphore()
    let wake = KernelSemaphore()

    init(events: Events) { self.events = events }

    func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
      events.record("start.entered")
      entered.signal()
      if !wake.wait(milliseconds: 30_000) { events.record("start.gave-up") }
      events.record("start.resumed")
      return 0
    }
    func invalidateRangeEnd(_ range: NotifierRange) { events.record("end") }
  }

  /// Returns the given (illegal) codes from start; start only.
  final class MisbehavingNotifier: Notifier, @unchecked Sendable {
    let callbacks: NotifierCallbacks = [.invalidateRangeStart]
    let symbol = "misbehaving_notifier"
    let nonblockable: Int32
    let blockable: Int32
    init(nonblockable: Int32, blockable: Int32) {
      self.nonblockable = nonblockable
      self.blockable = blockable
    }
    func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
      range.isBlockable ? blockable : nonblockable
    }
  }

  /// Records every callback that reaches it.
  final class CountingCalls: Notifier, @unchecked Sendable {
    let callbacks: NotifierCallbacks = [.invalidateRangeStart, .invalidateRangeEnd, .release]
    let symbol = "counting_calls_notifier"
    let calls = Atomic<Int>(0)
    func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
      calls.add(1, ordering: .relaxed)
      return 0
    }
    func invalidateRangeEnd(_ range: NotifierRange) { calls.add(1, ordering: .relaxed) }
    func release() { calls.add(1, ordering: .relaxed) }
  }

  static func trace(_ mm: MM, _ events: Events, unlinked: KernelSemaphore, freed: KernelSemaphore) {
    mm.setTrace { event, _ in
      switch event {
      case .unlinked:
        events.record("unlinked")
        unlinked.signal()
      case .freed:
        events.record("freed")
        freed.signal()
      }
    }
  }

  /// An mm whose one subscription sleeps in start, an invalidation on its
  /// way into that start, and the unlink and free traced in order.
  struct SleepingStart {
    let events = Events()
    let mm: MM
    let sleeper: SleepingNotifier
    let sub: Subscription
    let unlinked = KernelSemaphore()
    let freed = KernelSemaphore()
    let invalidator: KernelThread

    init(flavor: RCUFlavor) {
      let mm = MM(flavor: flavor)
      let sleeper = SleepingNotifier(events: events)
      self.mm = mm
      self.sleeper = sleeper
      sub = KernelThread.run(name: "register") { try! mm.register(sleeper) }
      FaultTests.trace(mm, events, unlinked: unlinked, freed: freed)
      invalidator = KernelThread(name: "munmap") {
        let inv = Invalidation(mm, start: 0, end: 0x1000)
        inv.start()
        inv.end()
        inv.retire()
      }
    }
  }

  /// Unregister while a start sleeps: the subscription is unlinked at once,
  /// but `mmu_notifier_unregister` waits in synchronize_srcu for the
  /// sleeping callback, and nothing is freed before it returns.
  @Test(arguments: RCUFlavor.allCases)
  func unregisterWaitsForASleepingStart(flavor: RCUFlavor) throws {
    let s = SleepingStart(flavor: flavor)
    let (events, mm, sleeper, sub, invalidator) = (s.events, s.mm, s.sleeper, s.sub, s.invalidator)
    let returned = KernelSemaphore()
    #expect(sleeper.entered.wait())
    let remover = KernelThread(name: "unregister") {
      sub.unregister()
      events.record("unregister.returned")
      returned.signal()
    }
    #expect(s.unlinked.wait())
    // The start still sleeps: unregister must not return, nothing is freed.
    #expect(!returned.wait(milliseconds: 300))
    #expect(events.index("freed") == nil)
    #expect(mm.stats.frees == 0)
    sleeper.wake.signal()
    remover.join()
    invalidator.join()

    let resumed = try #require(events.index("start.resumed"))
    let freedAt = try #require(events.index("freed"))
    let returnedAt = try #require(events.index("unregister.returned"))
    #expect(events.index("start.gave-up") == nil)
    #expect(resumed < freedAt && freedAt < returnedAt)
    #expect(events.index("end") == nil, "unlinked before the end walk: no end owed")
    #expect(mm.ledgerTotals.poisonSeen == 0)
    #expect(mm.ledgerTotals.isPaired)
    #expect(mm.stats.frees == 1)
  }

  /// put while a start sleeps: put returns at once (it only unlinks and
  /// queues call_srcu), but the free waits for the grace period, which
  /// waits for the sleeping callback.
  @Test(arguments: RCUFlavor.allCases)
  func putDefersTheFreeBehindASleepingStart(flavor: RCUFlavor) throws {
    let s = SleepingStart(flavor: flavor)
    let (events, mm, sleeper, sub, invalidator) = (s.events, s.mm, s.sleeper, s.sub, s.invalidator)
    #expect(sleeper.entered.wait())
    KernelThread.run(name: "put") {
      sub.put()
      events.record("put.returned")
    }
    #expect(s.unlinked.wait())
    #expect(!s.freed.wait(milliseconds: 300), "freed while a reader still runs its callback")
    #expect(mm.stats.frees == 0)
    sleeper.wake.signal()
    invalidator.join()
    KernelThread.run(name: "barrier") { mm.barrier() }

    let putReturned = try #require(events.index("put.returned"))
    let resumed = try #require(events.index("start.resumed"))
    let freedAt = try #require(events.index("freed"))
    #expect(putReturned < resumed && resumed < freedAt)
    #expect(mm.stats.frees == 1 && mm.stats.puts == 1)
    #expect(mm.ledgerTotals.poisonSeen == 0)
  }

  /// -EINVAL from a non-blockable start and -EINTR from a blockable one are
  /// both illegal: every variant logs the pr_info and counts the WARN, and
  /// carries on; nothing crashes and no BUG fires.
  @Test(arguments: Variant.all)
  func illegalReturnCodesWarnAndCarryOn(variant: Variant) {
    KernelThread.run(name: "faulty") {
      let mm = MM(variant: variant)
      let sub = try! mm.register(MisbehavingNotifier(nonblockable: -EINVAL, blockable: -EINTR))
      let inv = Invalidation(mm, start: 0, end: 0x1000)
      let rc = inv.startNonblock()
      inv.retire()
      #expect(rc != 0)
      let afterNonblock = mm.logCounts.warnings
      #expect(afterNonblock >= 1)
      mm.munmap(start: 0, end: 0x1000)
      #expect(mm.logCounts.warnings > afterNonblock)
      #expect(mm.logCounts.bugs == 0)
      let info = mm.log.filter { $0.kind == .info }.map(\.text)
      #expect(info.contains { $0.contains("failed with -22 in non-blockable context") })
      #expect(info.contains { $0.contains("failed with -4 in blockable context") })
      let warn = mm.log.first { $0.kind == .warning }
      #expect(warn?.kernelForm.contains("cut here") == true)
      // The core still works afterwards.
      sub.unregister()
      let counting = CountingCalls()
      let good = try! mm.register(counting)
      mm.munmap(start: 0, end: 0x1000)
      #expect(counting.calls.load(ordering: .relaxed) == 2)
      good.unregister()
    }
  }

  /// After put and srcu_barrier the driver is freed: later invalidations,
  /// of both kinds, never reach it and never reach its poisoned memory.
  @Test(arguments: RCUFlavor.allCases)
  func nothingReachesADriverAfterItsFree(flavor: RCUFlavor) {
    KernelThread.run(name: "after-free") {
      let events = Events()
      let mm = MM(flavor: flavor, vmas: 2)
      let freedSem = KernelSemaphore()
      Self.trace(mm, events, unlinked: KernelSemaphore(), freed: freedSem)
      let driver = CountingCalls()
      let neighbour = CountingCalls()
      let keep = try! mm.register(neighbour)
      let sub = try! mm.register(driver)
      mm.munmap(start: 0, end: 0x1000)
      #expect(driver.calls.load(ordering: .relaxed) == 2)
      sub.put()
      mm.barrier()
      #expect(events.index("freed") != nil)
      let before = driver.calls.load(ordering: .relaxed)
      for i in 0..<50 {
        let inv = Invalidation(mm, start: UInt(i) << 12, end: UInt(i + 1) << 12)
        if inv.startNonblock() == 0 { inv.end() }
        inv.retire()
        mm.munmap(start: UInt(i) << 12, end: UInt(i + 1) << 12)
      }
      mm.oomReap()
      #expect(driver.calls.load(ordering: .relaxed) == before)
      #expect(neighbour.calls.load(ordering: .relaxed) > 100)
      #expect(mm.ledgerTotals.poisonSeen == 0)
      #expect(mm.hlistCount == 1)
      keep.unregister()
    }
  }

  /// A stress run in which an mm wedges (original: the interval tree's
  /// half is never ended, so read_begin and remove wait for good) still
  /// ends on time, with its hung waits reported and every thread joined.
  @Test func aWedgedRunStillEndsCleanly() {
    var c = StressConfiguration(
      variant: .original, flavor: .memb, seconds: 1, readers: 2, writers: 2, failRate: 0.2,
      seed: 11, classes: [.itreeThenHlistFailure])
    c.hungTimeoutMilliseconds = 300
    let report = StressEngine.run(c)
    let cls = report.classes[0]
    #expect(cls.activeInvalidateRanges > 0)
    #expect(report.threadsFinished == report.threadsStarted)
    #expect(report.strayThreads == 0)
    #expect(report.elapsedSeconds < 5)
    #expect(report.ok, "original promises nothing here but RCU safety: \(report.broken)")
  }

  // MARK: a driver that traps

  /// What happens when a Swift driver traps inside a callback: the trap
  /// (fatalError, a failed precondition, an overflow, a forced unwrap of
  /// nil) ends the whole process at once. Nothing unwinds through the C
  /// core, the SRCU read lock and mmap_lock are never released, and no
  /// report comes from the harness; the kernel's equivalent is an oops in
  /// a notifier. So the trap is run in a child process (this test binary,
  /// re-run on the test below), and this test checks how the child died.
  @Test(.enabled(if: FaultTests.testBinary != nil))
  func aTrappingDriverKillsTheProcess() throws {
    let child = Process()
    child.executableURL = URL(fileURLWithPath: try #require(Self.testBinary))
    child.arguments = ["--testing-library", "swift-testing", "--filter", "trappingDriverChild"]
    var environment = ProcessInfo.processInfo.environment
    environment[Self.childVariable] = "trap"
    environment["SWIFT_BACKTRACE"] = "enable=no"
    child.environment = environment
    let stderr = Pipe()
    child.standardError = stderr
    child.standardOutput = FileHandle.nullDevice
    try child.run()
    let output = stderr.fileHandleForReading.readDataToEndOfFile()
    child.waitUntilExit()
    let text = String(decoding: output, as: UTF8.self)
    #expect(child.terminationReason == .uncaughtSignal, "exit \(child.terminationStatus)")
    #expect([SIGILL, SIGTRAP].contains(child.terminationStatus))
    #expect(text.contains("driver bug in invalidate_range_start"))
  }

  /// The child half of the test above; skipped unless that test runs it.
  @Test(.enabled(if: ProcessInfo.processInfo.environment[FaultTests.childVariable] == "trap"))
  func trappingDriverChild() {
    final class Trapping: Notifier, @unchecked Sendable {
      let callbacks: NotifierCallbacks = .startAndEnd
      let symbol = "trapping_notifier"
      func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
        fatalError("driver bug in invalidate_range_start")
      }
    }
    KernelThread.run(name: "trap") {
      let mm = MM()
      _ = try! mm.register(Trapping())
      mm.munmap(start: 0, end: 0x1000)
    }
    Issue.record("the trap did not end the process")
  }

  static let childVariable = "MMN_FAULT_TESTS_CHILD"

  /// This test executable, when it is one SwiftPM built (the child is this
  /// binary run again on one test).
  static let testBinary: String? = {
    guard let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"),
      path.hasSuffix(".xctest")
    else { return nil }
    return path
  }()
}
