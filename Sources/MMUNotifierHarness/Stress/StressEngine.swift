import CSupport
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// What a stress run does.
public struct StressConfiguration: Sendable {
  public var variant: Variant
  public var flavor: RCUFlavor
  public var seconds: Double
  public var readers: Int
  public var writers: Int
  /// The fraction of non-blockable starts (and interval invalidations) a
  /// refusing driver answers with -EAGAIN (false).
  public var failRate: Double
  public var seed: UInt64
  /// The classes to run; each gets its own mm.
  public var classes: [StressClass]
  /// What the variant is held to (from `StressPromise.table` unless a test
  /// substitutes a claim to check the verdict itself).
  public var promise: StressPromise
  /// Every bounded wait's deadline (mmap_lock, read_begin, interval remove).
  public var hungTimeoutMilliseconds: UInt32 = 1000
  /// Live hlist subscriptions one writer keeps at most, and live intervals
  /// per mm.
  public var notifiersPerWriter = 6
  public var intervalsPerMM = 6
  /// VMAs for the one run of the variant's OOM reaper per mm.
  public var vmas = 8
  /// Each thread's last point, and the early-stop request (SIGINT/SIGTERM).
  public var watch = StressWatch()
  /// Give every mm's log to the crash handler (an isolated child), so a
  /// crash report carries its last lines.
  public var crashWatchesLogs = false

  public init(
    variant: Variant, flavor: RCUFlavor, seconds: Double, readers: Int, writers: Int,
    failRate: Double = 0.1, seed: UInt64, classes: [StressClass]? = nil
  ) {
    self.variant = variant
    self.flavor = flavor
    self.seconds = seconds
    self.readers = readers
    self.writers = writers
    self.failRate = failRate
    self.seed = seed
    self.classes = classes ?? StressEngine.defaultClasses(for: variant)
    promise = StressPromise.of(variant)
  }
}

/// Counts that threads of one class add to while the run goes on.
final class StressCounters: Sendable {
  let invalidations = Atomic<Int>(0)
  let munmaps = Atomic<Int>(0)
  let nonblockStarts = Atomic<Int>(0)
  let refusedStarts = Atomic<Int>(0)
  let faults = Atomic<Int>(0)
  let faultRetries = Atomic<Int>(0)
  let oomReaps = Atomic<Int>(0)
  let callsAfterFree = Atomic<Int>(0)
  let intervalFrees = Atomic<Int>(0)
  let intervalRemovesHung = Atomic<Int>(0)
  let intervalsKept = Atomic<Int>(0)
  let registerFailures = Atomic<Int>(0)
}

/// The guards of one mm's live subscriptions, by `struct mmu_notifier`
/// address, so the free tracepoint can mark the right driver freed.
final class StressGuardRegistry: Sendable {
  private let live = Locked<[UInt: StressGuard]>([:])

  func add(_ guardian: StressGuard, at address: UInt) {
    live.withLock { $0[address] = guardian }
  }

  func freed(at address: UInt) {
    let guardian = live.withLock { $0.removeValue(forKey: address) }
    guardian?.freed.store(true, ordering: .releasing)
  }
}

/// A live interval notifier, shared by the writers (who insert and remove)
/// and the readers (who fault on it, as a driver's fault path would).
final class StressInterval: @unchecked Sendable {
  let subscription: IntervalSubscription
  let guardian: StressIntervalGuard
  /// Readers faulting on it now; a writer removes only an idle one, as a
  /// driver never removes an interval its own fault path is using.
  var users = 0

  init(subscription: IntervalSubscription, guardian: StressIntervalGuard) {
    self.subscription = subscription
    self.guardian = guardian
  }
}

/// One class's address space and what the run learns about it.
final class StressArena: @unchecked Sendable {
  let cls: StressClass
  let mm: MM
  let counters = StressCounters()
  let guards = StressGuardRegistry()
  let intervals = Locked<[StressInterval]>([])
  let reaped = Atomic<Bool>(false)
  /// A bounded wait in this mm expired: in the kernel that task would sleep
  /// forever. Once wedged, no thread starts another such wait here (each
  /// would only repeat the same hang and stall the whole run).
  let wedged = Atomic<Bool>(false)

  init(cls: StressClass, configuration c: StressConfiguration) {
    self.cls = cls
    var mc = MM.Configuration(
      variant: c.variant, flavor: c.flavor, vmas: max(1, c.vmas),
      hungTimeoutMilliseconds: c.hungTimeoutMilliseconds, lockdep: true)
    mc.ownerComm = "stress-\(cls.rawValue.prefix(8))"
    mm = MM(mc)
    let guards = guards
    mm.setTrace { event, notifier in
      if event == .freed, let notifier { guards.freed(at: UInt(bitPattern: notifier)) }
    }
  }

  /// The span of the mm's VMAs, where ranges and intervals are drawn from.
  var span: (start: UInt, end: UInt) {
    (mm.vmaRange(0).start, mm.vmaRange(mm.vmaCount - 1).end)
  }

  func randomRange(_ rng: inout StressRandom, maxPages: UInt) -> (start: UInt, end: UInt) {
    let (lo, hi) = span
    let pages = (hi - lo) >> 12
    let first = UInt(rng.next() % UInt64(pages))
    let length = 1 + UInt(rng.next() % UInt64(maxPages))
    let start = lo + (first << 12)
    return (start, min(hi, start + (length << 12)))
  }

  /// A reader takes an interval to fault on, or nil if there is none.
  func checkOutInterval(_ rng: inout StressRandom) -> StressInterval? {
    let pick = rng.next()
    return intervals.withLock { list -> StressInterval? in
      guard !list.isEmpty else { return nil }
      let entry = list[Int(pick % UInt64(list.count))]
      entry.users += 1
      return entry
    }
  }

  func checkIn(_ entry: StressInterval) {
    intervals.withLock { _ in entry.users -= 1 }
  }

  /// A writer takes an idle interval out of the pool to remove it.
  func takeIdleInterval(_ rng: inout StressRandom) -> StressInterval? {
    let pick = rng.next()
    return intervals.withLock { list -> StressInterval? in
      let idle = list.indices.filter { list[$0].users == 0 }
      guard !idle.isEmpty else { return nil }
      return list.remove(at: idle[Int(pick % UInt64(idle.count))])
    }
  }

  /// `mmu_interval_notifier_remove`. A remove whose wait expired keeps the
  /// memory (the core may still call it), so only a clean one marks the
  /// driver gone for the after-free check.
  func remove(_ entry: StressInterval) {
    let hungBefore = mm.logCounts.hung
    entry.subscription.remove()
    if mm.logCounts.hung == hungBefore {
      entry.guardian.removed.store(true, ordering: .releasing)
    } else {
      counters.intervalRemovesHung.add(1, ordering: .relaxed)
      wedged.store(true, ordering: .relaxed)
    }
  }

  /// Intervals of a wedged mm that were not removed, because removing them
  /// would wait for an invalidation that never ends. Kept for the life of
  /// the process, as the kernel would keep a hung task's.
  static let kept = Locked<[StressInterval]>([])
}

/// `mmn-harness stress`: readers invalidate at random while writers
/// register, unregister and put notifiers at random, on real grace periods;
/// afterwards every deferred free is waited for and the invariants the
/// variant promises are checked (rcutorture's shape: fixed duration, then
/// totals and a verdict).
public enum StressEngine {
  /// The variant's promised classes, or every class when it promises none
  /// (then the report says where the expected non-zero totals come from).
  public static func defaultClasses(for variant: Variant) -> [StressClass] {
    let promised = StressPromise.of(variant).classes
    return promised.isEmpty ? StressClass.allCases : promised
  }

  /// Whether a worker goes on: before the deadline and unless stopped.
  @inline(__always)
  static func going(_ deadline: UInt64, _ watch: StressWatch) -> Bool {
    mmn_now_ns() < deadline && !watch.stopRequested
  }

  /// Runs the stress and returns its report. Creates and joins its own
  /// threads; callable from any thread.
  public static func run(_ configuration: StressConfiguration) -> StressReport {
    let c = configuration
    // A free inside a grace period is reported whether or not a reader
    // then touches the subscription (CSupport/harness/gp_check.c).
    mmn_gp_check_enable()
    let tids = Locked<[Int32]>([])
    let arenas = c.classes.map { StressArena(cls: $0, configuration: c) }
    if c.crashWatchesLogs { for arena in arenas { mmn_crash_watch_mm(arena.mm.raw) } }
    let started = mmn_now_ns()
    let deadline = started + UInt64(c.seconds * 1e9)
    let finished = Atomic<Int>(0)

    var threads: [KernelThread] = []
    for i in 0..<c.readers {
      threads.append(
        KernelThread(name: "stress-reader\(i)") {
          tids.withLock { $0.append(mmn_task_pid()) }
          let slot = c.watch.slot("stress-reader\(i)")
          reader(index: i, arenas: arenas, configuration: c, deadline: deadline, slot: slot)
          slot.enter(.done)
          finished.add(1, ordering: .relaxed)
        })
    }
    for i in 0..<c.writers {
      threads.append(
        KernelThread(name: "stress-writer\(i)") {
          tids.withLock { $0.append(mmn_task_pid()) }
          let slot = c.watch.slot("stress-writer\(i)")
          writer(index: i, arenas: arenas, configuration: c, deadline: deadline, slot: slot)
          slot.enter(.done)
          finished.add(1, ordering: .relaxed)
        })
    }
    for thread in threads { thread.join() }
    let elapsed = Double(mmn_now_ns() - started) / 1e9

    let results = KernelThread.run(name: "stress-teardown") {
      let slot = c.watch.slot("stress-teardown")
      defer { slot.enter(.done) }
      return arenas.map { arena in settle(arena, promised: c.promise, slot: slot) }
    }
    // Before the mms can go: the crash handler must not read a freed log.
    if c.crashWatchesLogs { withExtendedLifetime(arenas) { mmn_crash_forget_mms() } }
    return StressReport(
      configuration: c, promise: c.promise, classes: results,
      threadsStarted: threads.count, threadsFinished: finished.load(ordering: .relaxed),
      strayThreads: strayThreads(tids.withLock { $0 }), elapsedSeconds: elapsed,
      stoppedBy: c.watch.stoppedBy)
  }

  // MARK: readers

  /// Random invalidations: the OOM reaper's per-range pattern (non-blockable
  /// start; end only if it succeeded), munmap (blockable, under mmap_lock
  /// for write) and interval faults. Reader 0 also runs the variant's own
  /// OOM reaper once per mm, partway through.
  static func reader(
    index: Int, arenas: [StressArena], configuration c: StressConfiguration, deadline: UInt64,
    slot: StressPointSlot
  ) {
    var rng = StressRandom(seed: c.seed, stream: 0x1000 + UInt64(index))
    let reapAt =
      index == 0 ? deadline - UInt64(c.seconds * 1e9 * (0.5 + 0.4 * rng.chanceFraction())) : .max
    while going(deadline, c.watch) {
      let arena = arenas[Int(rng.next() % UInt64(arenas.count))]
      let roll = rng.next() % 100
      if arena.cls.hasIntervals && roll < 15 {
        slot.enter(.readBegin)
        fault(arena, &rng)
      } else if roll < 40 {
        let r = arena.randomRange(&rng, maxPages: 1024)
        slot.enter(.munmap)
        arena.mm.munmap(start: r.start, end: r.end)
        arena.counters.munmaps.add(1, ordering: .relaxed)
        arena.counters.invalidations.add(1, ordering: .relaxed)
      } else {
        // v5.11 __oom_reap_task_mm, one VMA-sized range: a refused start
        // skips both the unmap and the end.
        let r = arena.randomRange(&rng, maxPages: 512)
        let inv = Invalidation(arena.mm, start: r.start, end: r.end)
        slot.enter(.startNonblock)
        if inv.startNonblock() == 0 {
          slot.enter(.end)
          inv.end()
        } else {
          arena.counters.refusedStarts.add(1, ordering: .relaxed)
        }
        inv.retire()
        arena.counters.nonblockStarts.add(1, ordering: .relaxed)
        arena.counters.invalidations.add(1, ordering: .relaxed)
      }
      if mmn_now_ns() >= reapAt {
        for arena in arenas where !arena.reaped.exchange(true, ordering: .relaxed) {
          slot.enter(.oomReap)
          let result = arena.mm.oomReap()
          arena.counters.oomReaps.add(1, ordering: .relaxed)
          arena.counters.invalidations.add(result.attempts * arena.mm.vmaCount, ordering: .relaxed)
        }
      }
    }
  }

  /// A driver's fault path on an interval: `mmu_interval_read_begin` (which
  /// sleeps, bounded, while an invalidation of it is in flight), then
  /// `mmu_interval_check_retry`, the form the kernel allows without the
  /// driver's own lock (`read_retry` must hold the lock the driver's
  /// invalidate callback takes around `mmu_interval_set_seq`).
  static func fault(_ arena: StressArena, _ rng: inout StressRandom) {
    guard !arena.wedged.load(ordering: .relaxed), let entry = arena.checkOutInterval(&rng) else {
      return
    }
    let hungBefore = arena.mm.logCounts.hung
    let seq = entry.subscription.readBegin()
    if arena.mm.logCounts.hung != hungBefore { arena.wedged.store(true, ordering: .relaxed) }
    if mmn_interval_check_retry(mmn_interval_sub_notifier(entry.subscription.raw), seq) {
      arena.counters.faultRetries.add(1, ordering: .relaxed)
    }
    arena.checkIn(entry)
    arena.counters.faults.add(1, ordering: .relaxed)
  }

  // MARK: writers

  private struct Owned {
    let subscription: Subscription
    let arena: StressArena
  }

  /// Registers, unregisters and puts its own subscriptions, and inserts and
  /// removes shared intervals, at random; removes what it still owns at the
  /// end. Registration takes mmap_lock for write (so it never lands inside
  /// an invalidation); unregister and put race with readers freely.
  static func writer(
    index: Int, arenas: [StressArena], configuration c: StressConfiguration, deadline: UInt64,
    slot: StressPointSlot
  ) {
    var rng = StressRandom(seed: c.seed, stream: 0x2000 + UInt64(index))
    var owned: [Owned] = []
    var made: UInt64 = 0
    while going(deadline, c.watch) {
      let arena = arenas[Int(rng.next() % UInt64(arenas.count))]
      let roll = rng.next() % 100
      if arena.cls.hasIntervals && roll < 20 {
        if roll < 10 {
          made += 1
          let notifier = StressIntervalNotifier(
            failRate: c.failRate, seed: driverSeed(c.seed, writer: index, n: made))
          slot.enter(.intervalInsert)
          insertInterval(arena, notifier, &rng, configuration: c)
        } else if !arena.wedged.load(ordering: .relaxed), let entry = arena.takeIdleInterval(&rng) {
          slot.enter(.intervalRemove)
          arena.remove(entry)
        }
      } else if roll < 60 && owned.count < c.notifiersPerWriter {
        let kinds = StressDriverKind.kinds(for: arena.cls)
        let kind = kinds[Int(rng.next() % UInt64(kinds.count))]
        let driver = kind.make(arena, failRate: c.failRate, rng: &rng)
        let guardian = StressGuard(driver, counters: arena.counters)
        do {
          slot.enter(.register)
          let sub = try arena.mm.register(guardian)
          arena.guards.add(guardian, at: sub.notifierAddress)
          owned.append(Owned(subscription: sub, arena: arena))
          // nouveau's SVM also inserts an interval per faulted range, and
          // that interval succeeds where the hlist half refuses.
          if let svmm = driver as? NouveauSVMM, arena.cls.hasIntervals {
            insertInterval(arena, svmm.rangeNotifier(), &rng, configuration: c)
          }
        } catch {
          arena.counters.registerFailures.add(1, ordering: .relaxed)
        }
      } else if !owned.isEmpty {
        let victim = owned.remove(at: Int(rng.next() % UInt64(owned.count)))
        drop(victim.subscription, &rng, slot)
      }
      slot.enter(.idle)
    }
    for o in owned { drop(o.subscription, &rng, slot) }
  }

  private static func drop(
    _ sub: Subscription, _ rng: inout StressRandom, _ slot: StressPointSlot
  ) {
    if rng.next() & 1 == 0 {
      slot.enter(.unregister)
      sub.unregister()
    } else {
      slot.enter(.put)
      sub.put()
    }
  }

  private static func insertInterval(
    _ arena: StressArena, _ notifier: any IntervalNotifier, _ rng: inout StressRandom,
    configuration c: StressConfiguration
  ) {
    let live = arena.intervals.withLock { $0.count }
    guard live < c.intervalsPerMM else { return }
    let r = arena.randomRange(&rng, maxPages: 2048)
    let guardian = StressIntervalGuard(notifier, counters: arena.counters)
    guard
      let sub = try? arena.mm.insertInterval(guardian, start: r.start, length: r.end - r.start)
    else {
      arena.counters.registerFailures.add(1, ordering: .relaxed)
      return
    }
    let entry = StressInterval(subscription: sub, guardian: guardian)
    arena.intervals.withLock { $0.append(entry) }
  }

  private static func driverSeed(_ seed: UInt64, writer: Int, n: UInt64) -> UInt64 {
    var s = StressRandom(seed: seed ^ n, stream: 0x3000 + UInt64(writer))
    return s.next()
  }

  // MARK: the end of the run

  /// Removes the remaining intervals, waits for every deferred free
  /// (`srcu_barrier`), then reads what the mm recorded.
  static func settle(
    _ arena: StressArena, promised: StressPromise, slot: StressPointSlot
  ) -> StressReport.ClassResult {
    slot.enter(.teardown)
    removeRemainingIntervals(arena)
    slot.enter(.barrier)
    arena.mm.barrier()
    let stats = arena.mm.stats
    let k = arena.counters
    return StressReport.ClassResult(
      cls: arena.cls, held: promised.promises.held[arena.cls] ?? [],
      invalidations: k.invalidations.load(ordering: .relaxed),
      munmaps: k.munmaps.load(ordering: .relaxed),
      nonblockStarts: k.nonblockStarts.load(ordering: .relaxed),
      refusedStarts: k.refusedStarts.load(ordering: .relaxed),
      oomReaps: k.oomReaps.load(ordering: .relaxed),
      faults: k.faults.load(ordering: .relaxed),
      faultRetries: k.faultRetries.load(ordering: .relaxed),
      registrations: stats.registrations, unregistrations: stats.unregistrations,
      puts: stats.puts, frees: stats.frees,
      registerFailures: k.registerFailures.load(ordering: .relaxed),
      intervalInserts: stats.intervalInserts, intervalRemoves: stats.intervalRemoves,
      intervalFrees: UInt64(k.intervalFrees.load(ordering: .relaxed)),
      intervalRemovesHung: k.intervalRemovesHung.load(ordering: .relaxed),
      intervalsKept: k.intervalsKept.load(ordering: .relaxed),
      callsAfterFree: k.callsAfterFree.load(ordering: .relaxed),
      ledger: arena.mm.ledgerTotals, log: arena.mm.logCounts,
      lockCycles: arena.mm.lockCycles, activeInvalidateRanges: arena.mm.activeInvalidateRanges,
      hlistLeft: arena.mm.hlistCount,
      firstRecords: StressReport.notable(arena.mm.log))
  }

  /// Kept apart so the entries (and with them the drivers) are released
  /// before the frees are counted.
  private static func removeRemainingIntervals(_ arena: StressArena) {
    let remaining = arena.intervals.withLock { list -> [StressInterval] in
      defer { list.removeAll() }
      return list
    }
    for (i, entry) in remaining.enumerated() {
      // A removal that hangs wedges the mm: keep the rest rather than wait
      // for each in turn.
      guard arena.wedged.load(ordering: .relaxed) else {
        arena.remove(entry)
        continue
      }
      arena.counters.intervalsKept.add(remaining.count - i, ordering: .relaxed)
      StressArena.kept.withLock { $0.append(contentsOf: remaining[i...]) }
      break
    }
  }

  // MARK: threads

  /// Of the threads (by kernel tid) this run started, those still present
  /// in /proc/self/task after their join. A joined thread can linger there
  /// for a moment while the kernel reaps it, so look again for up to a
  /// second before calling one stray.
  static func strayThreads(_ tids: [Int32]) -> Int {
    var alive = tids
    for _ in 0..<100 {
      alive = alive.filter { access("/proc/self/task/\($0)", F_OK) == 0 }
      if alive.isEmpty { return 0 }
      usleep(10_000)
    }
    return alive.count
  }
}

extension StressRandom {
  /// A uniform fraction in [0, 1).
  mutating func chanceFraction() -> Double { Double(next() >> 11) * 0x1p-53 }
}
