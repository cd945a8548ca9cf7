import CSupport
import MMUNotifierHarness
import Synchronization
import Testing

/// A start that does something a non-blocking start must not: wait on a
/// wait queue (already satisfied, so it never really sleeps), as a driver
/// that takes a sleeping lock in the OOM reaper's range would.
private final class SleepsInNonblockStart: Notifier, @unchecked Sendable {
  let callbacks: NotifierCallbacks = .startAndEnd
  let symbol = "sleepy_notifier"
  let queue: KernelWaitQueue
  init(mm: MM) { queue = KernelWaitQueue(mm) }
  func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
    if !range.isBlockable { _ = queue.wait(for: "sleepy_notifier's queue") { true } }
    return 0
  }
}

/// A start that waits for a grace period of the SRCU it runs inside.
private final class SynchronizesInStart: Notifier, @unchecked Sendable {
  let callbacks: NotifierCallbacks = .startAndEnd
  let symbol = "synchronizing_notifier"
  let mm: MM
  init(mm: MM) { self.mm = mm }
  func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
    mm.synchronize()
    return 0
  }
}

/// Splats by class: a BUG_ON is fatal, a WARN and a might_sleep splat are
/// not, a lockdep splat may come before a hang; a bounded wait that
/// expired taints the run and everything measured after it.
@Suite("Splats by class, and taint")
struct SplatTests {
  /// ___might_sleep prints "BUG: sleeping function called from invalid
  /// context" and carries on: its own kind and verdict, not a BUG_ON.
  @Test(arguments: RCUFlavor.allCases)
  func mightSleepIsNotABugOn(flavor: RCUFlavor) throws {
    let mm = MM(flavor: flavor)
    let sub = try mm.register(SleepsInNonblockStart(mm: mm))
    let inv = Invalidation(mm, start: 0, end: 0x1000)
    #expect(inv.startNonblock() == 0)
    inv.end()
    inv.retire()
    let counts = mm.logCounts
    #expect(counts.mightSleep == 1)
    #expect(counts.bugs == 0)
    let splat = mm.log.first { $0.kind == .mightSleep }?.text ?? ""
    #expect(splat.hasPrefix("BUG: sleeping function called from invalid context at"))
    #expect(splat.contains("non_block: 1"))
    let metrics = ScenarioMetrics(mm: mm)
    #expect(metrics.mightSleep == 1 && metrics.bugs == 0)
    #expect(Verdict(metrics).kind == .mightSleep)
    #expect(!metrics.tainted)
    sub.unregister()
  }

  /// A sleeping lock (down_read) in a non-blocking start splats too, as
  /// kernel/locking/rwsem.c's might_sleep does.
  @Test func sleepingLockInNonblockStartSplats() throws {
    let mm = MM()
    let sem = KernelRWSemaphore(mm, name: "driver_sem")
    final class TakesSem: Notifier, @unchecked Sendable {
      let callbacks: NotifierCallbacks = .startAndEnd
      let symbol = "sem_notifier"
      let sem: KernelRWSemaphore
      init(_ sem: KernelRWSemaphore) { self.sem = sem }
      func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
        if sem.downRead() { sem.upRead() }
        return 0
      }
    }
    let sub = try mm.register(TakesSem(sem))
    let blockable = Invalidation(mm, start: 0, end: 0x1000)
    blockable.start()
    blockable.end()
    blockable.retire()
    #expect(mm.logCounts.mightSleep == 0, "a blockable start may sleep")
    let nonblock = Invalidation(mm, start: 0, end: 0x1000)
    nonblock.startNonblock()
    nonblock.end()
    nonblock.retire()
    #expect(mm.logCounts.mightSleep == 1)
    let splat = mm.log.first { $0.kind == .mightSleep }?.text ?? ""
    #expect(splat.contains("kernel/locking/rwsem.c"))
    sub.unregister()
  }

  /// synchronize_srcu inside its own reader: v5.11 __synchronize_srcu's
  /// RCU_LOCKDEP_WARN, then a grace period that never ends. A lockdep
  /// splat and a hang, no BUG_ON; the run is tainted from there on.
  @Test(arguments: RCUFlavor.allCases)
  func synchronizeInsideReaderIsALockdepSplatThenAHang(flavor: RCUFlavor) throws {
    let mm = MM(flavor: flavor)
    let sub = try mm.register(SynchronizesInStart(mm: mm))
    #expect(!mm.tainted)
    let inv = Invalidation(mm, start: 0, end: 0x1000)
    inv.start()
    inv.end()
    inv.retire()
    let counts = mm.logCounts
    #expect(counts.lockdep == 1 && counts.hung == 1 && counts.bugs == 0)
    #expect(mm.tainted)
    let log = mm.log
    let splat = log.first { $0.kind == .lockdep }
    #expect(splat?.text.contains("WARNING: suspicious RCU usage") == true)
    #expect(splat?.tainted == false, "the splat comes before the hang")
    // anything after the hang is logged as tainted
    mm.warn("after_the_hang", file: "test.c", function: "later", line: 1)
    #expect(mm.log.last?.tainted == true)
    #expect(mm.logCounts.afterTaint == 1)
    let metrics = ScenarioMetrics(mm: mm)
    #expect(metrics.lockdepSplats == 1 && metrics.lockCycles == 0)
    #expect(metrics.tainted && metrics.hung)
    #expect(Verdict(metrics).kind == .hung)
    #expect(metrics.taintedMetricNames.contains("missing_ends"))
    #expect(metrics.taintedMetricNames.contains("warnings"))
    #expect(!metrics.taintedMetricNames.contains("hung"))
    sub.unregister()
  }

  /// A driver's bounded wait that expires (GRU's fault behind a leaked
  /// start) taints the run: the records after it say so.
  @Test func anExpiredWaitTaintsWhatFollows() throws {
    let mm = MM(hungTimeoutMilliseconds: 20)
    let gru = GRU(mm: mm)
    let sub = try mm.subscribe(gru)
    let leaked = Invalidation(mm, start: 0, end: 0x1000, holdMmapLock: false)
    leaked.start()  // never ended
    #expect(!mm.tainted)
    mm.prInfo("before")
    #expect(!KernelThread.run(name: "gru_user") { gru.fault() })
    #expect(mm.tainted)
    mm.prInfo("after")
    let log = mm.log
    #expect(log.first { $0.text == "before" }?.tainted == false)
    #expect(log.first { $0.kind == .hung }?.tainted == false, "the hang itself is the taint")
    #expect(log.first { $0.text == "after" }?.tainted == true)
    leaked.end()
    leaked.retire()
    sub.drop()
  }

  /// The verdict rule orders the classes: BUG (fatal) over lockdep splats
  /// over pairing over might_sleep over WARN.
  @Test func verdictOrdersTheClasses() {
    var m = ScenarioMetrics()
    m.warnings = 1
    #expect(Verdict(m).kind == .warn)
    m.mightSleep = 2
    #expect(Verdict(m) == Verdict(m) && Verdict(m).kind == .mightSleep && Verdict(m).number == "2")
    m.missingEnds = 1
    #expect(Verdict(m).kind == .missingEnds)
    m.lockdepSplats = 1
    #expect(Verdict(m).kind == .lockdepSplat)
    m.lockCycles = 1
    #expect(Verdict(m).kind == .lockCycle)
    m.bugs = 1
    #expect(Verdict(m).kind == .bug)
  }
}
