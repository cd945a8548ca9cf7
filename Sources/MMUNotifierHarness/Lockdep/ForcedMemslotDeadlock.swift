import CSupport
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Seed 004's deadlock, forced one step at a time (52ac8b358b's message):
///
/// 1. invalidation A (`qemu-A`) runs its start and stays open: with
///    kvm-rwsem it holds `&kvm->mmu_notifier_slots_lock` for read;
/// 2. `install_new_memslots` (`kvm-memslots`) queues for the write side;
/// 3. invalidation B (`qemu-B`) starts; with the fair rwsem its `down_read`
///    queues behind the writer, inside the pseudo-lock;
/// 4. A's end needs the pseudo-lock.
///
/// With `pseudoLockIsReal` the pseudo-lock excludes, and the rwsem version
/// deadlocks: A waits for B (pseudo-lock), B for the writer, the writer for
/// A. Every wait is bounded, so one of them (usually the writer's
/// `down_write`, the first to start waiting) gives up at the mm's deadline
/// and logs a hung task naming the lock and its holders, and the rest
/// unwinds: every thread returns and releases what it holds. In kernel
/// mode (the pseudo-lock a lockdep map only) and for the other versions the
/// run completes. Ordering is forced with semaphores and observed lock
/// state, never with sleeps.
public enum ForcedMemslotDeadlock {
  public struct Result: Sendable {
    public let version: KVMVersion
    public let pseudoLockIsReal: Bool
    /// The wait-for cycle closed and only a bounded wait broke it: the
    /// writer's wait expired while B was queued behind it and A's end could
    /// not reach KVM.
    public let deadlocked: Bool
    /// Some bounded wait expired.
    public let hung: Bool
    /// Cycles the validator reported in this run's mm.
    public let lockCycles: Int
    /// `install_new_memslots` installed its memslots.
    public let memslotsInstalled: Bool
    /// Who waited on what when the first wait expired; empty when nothing
    /// deadlocked.
    public let waitFor: [String]
    /// The run's kernel log: its trace lines, lockdep splats and hung tasks.
    public let log: [KernelLogRecord]
    /// Participants that had not returned by the run's last deadline (the
    /// run still joins them; 0 means nothing was left blocked).
    public let threadsLeftBlocked: Int
    /// KVM's counts after every thread returned (0 when balanced).
    public let mmuNotifierCount: Int
    public let activeInvalidateCount: Int
    public let ledger: LedgerCounts
  }

  static let tag = "kvm-memslot-lock"

  /// Runs the four steps on owned threads; returns once every one of them
  /// has returned.
  public static func run(
    version: KVMVersion, pseudoLockIsReal: Bool, hungTimeoutMilliseconds: UInt32 = 500,
    flavor: RCUFlavor = .memb
  ) -> Result {
    KernelThread.run(name: "kvm-memslot-lock") {
      runOnOwnedThread(
        version: version, pseudoLockIsReal: pseudoLockIsReal,
        hungTimeoutMilliseconds: hungTimeoutMilliseconds, flavor: flavor)
    }
  }

  private static func runOnOwnedThread(
    version: KVMVersion, pseudoLockIsReal: Bool, hungTimeoutMilliseconds: UInt32,
    flavor: RCUFlavor
  ) -> Result {
    var configuration = MM.Configuration(
      flavor: flavor, hungTimeoutMilliseconds: hungTimeoutMilliseconds, lockdep: true)
    configuration.pseudoLockIsReal = pseudoLockIsReal
    let mm = MM(configuration)
    let (kvm, subscription) = KVM.registered(on: mm, version: version)
    // Past any chain of bounded waits: the writer's, then A's and B's.
    let patience = 4 * Int(hungTimeoutMilliseconds) + 2000
    let state = RunState()
    let aStarted = KernelSemaphore()
    let aMayEnd = KernelSemaphore()
    let aDone = KernelSemaphore()
    let bMayEnd = KernelSemaphore()
    let bDone = KernelSemaphore()
    let writerDone = KernelSemaphore()

    mm.prInfo(
      "\(tag): \(version.rawValue), forced interleaving, pseudo-lock "
        + (pseudoLockIsReal
          ? "made a real lock" : "a lockdep map only (as in the kernel)"))
    kvm.onEnteredEnd {
      mm.prInfo("\(tag): \(state.currentName()): kvm_mmu_notifier_invalidate_range_end entered")
    }
    defer { kvm.onEnteredEnd(nil) }

    let threadA = KernelThread(name: "qemu-A") {
      state.enroll("qemu-A")
      let inv = Invalidation(mm, start: 0x7f00_0000_0000, end: 0x7f00_0020_0000)
      inv.start()
      mm.prInfo("\(tag): qemu-A: step 1: invalidate_range_start returned; A stays open")
      aStarted.signal()
      _ = aMayEnd.wait(milliseconds: patience)
      mm.prInfo("\(tag): qemu-A: step 4: calling invalidate_range_end")
      inv.end()
      mm.prInfo("\(tag): qemu-A: invalidate_range_end returned")
      inv.retire()
      aDone.signal()
    }
    _ = aStarted.wait(milliseconds: patience)

    let writer = KernelThread(name: "kvm-memslots") {
      state.enroll("kvm-memslots")
      mm.prInfo("\(tag): kvm-memslots: step 2: install_new_memslots")
      let installed = kvm.installNewMemslots()
      state.writerInstalled.store(installed, ordering: .releasing)
      state.writerReturned.store(true, ordering: .releasing)
      mm.prInfo(
        "\(tag): kvm-memslots: install_new_memslots "
          + (installed ? "installed the new memslots" : "gave up: nothing installed"))
      writerDone.signal()
    }
    let writerQueued = pollUntil(milliseconds: patience) {
      kvm.memslotUpdateIsWaiting || state.writerReturned.load(ordering: .acquiring)
    }

    let threadB = KernelThread(name: "qemu-B") {
      state.enroll("qemu-B")
      let inv = Invalidation(mm, start: 0x7f00_0040_0000, end: 0x7f00_0060_0000)
      mm.prInfo("\(tag): qemu-B: step 3: calling invalidate_range_start")
      inv.start()
      state.bStartReturned.store(true, ordering: .releasing)
      mm.prInfo("\(tag): qemu-B: invalidate_range_start returned")
      _ = bMayEnd.wait(milliseconds: patience)
      inv.end()
      inv.retire()
      bDone.signal()
    }
    // B either queues behind the writer (the fair rwsem) or gets through.
    _ = pollUntil(milliseconds: patience) {
      kvm.invalidationIsWaiting || state.bStartReturned.load(ordering: .acquiring)
    }
    let bQueuedBehindWriter =
      writerQueued && kvm.invalidationIsWaiting
      && !state.bStartReturned.load(ordering: .acquiring)

    aMayEnd.signal()
    var leftBlocked = aDone.wait(milliseconds: patience) ? 0 : 1
    bMayEnd.signal()
    leftBlocked += bDone.wait(milliseconds: patience) ? 0 : 1
    leftBlocked += writerDone.wait(milliseconds: patience) ? 0 : 1
    // Every wait inside is bounded, so these joins return.
    threadA.join()
    threadB.join()
    writer.join()

    subscription.unregister()
    let waitFor = explainDeadlock(
      log: mm.log, state: state, bQueuedBehindWriter: bQueuedBehindWriter,
      timeout: hungTimeoutMilliseconds)
    for line in waitFor { mm.prInfo("\(tag): deadlock: \(line)") }
    let log = mm.log
    return Result(
      version: version, pseudoLockIsReal: pseudoLockIsReal, deadlocked: !waitFor.isEmpty,
      hung: log.contains { $0.kind == .hung }, lockCycles: mm.lockCycles,
      memslotsInstalled: state.writerInstalled.load(ordering: .acquiring), waitFor: waitFor,
      log: log, threadsLeftBlocked: leftBlocked, mmuNotifierCount: kvm.mmuNotifierCount,
      activeInvalidateCount: kvm.activeInvalidateCount, ledger: mm.ledgerTotals)
  }

  /// The wait-for cycle, from what the run recorded; empty unless every
  /// edge of it is shown by the order of the log around the first hung task
  /// (whichever of the three waits expired first; their deadlines are only
  /// microseconds apart, so the scheduler picks):
  /// - the writer had queued before it and returned after it;
  /// - B was seen queued behind the writer, and its start returned after it;
  /// - A called end before it, and reached KVM's end only after it: A was
  ///   held at the pseudo-lock, the only thing end takes before the
  ///   callbacks, while still holding the read side from its start.
  static func explainDeadlock(
    log: [KernelLogRecord], state: RunState, bQueuedBehindWriter: Bool, timeout: UInt32
  ) -> [String] {
    guard let hung = log.first(where: { $0.kind == .hung }) else { return [] }
    func sequence(_ comm: String, _ text: String) -> UInt64? {
      log.first { $0.comm == comm && $0.kind == .info && $0.text.contains(text) }?.sequence
    }
    let a = state.name("qemu-A")
    let b = state.name("qemu-B")
    let w = state.name("kvm-memslots")
    guard ["qemu-A", "qemu-B", "kvm-memslots"].contains(hung.comm),
      let writerQueued = sequence("kvm-memslots", "step 2"), writerQueued < hung.sequence,
      let writerReturned = sequence("kvm-memslots", "install_new_memslots "),
      writerReturned > hung.sequence,
      bQueuedBehindWriter,
      let bStartReturned = sequence("qemu-B", "invalidate_range_start returned"),
      bStartReturned > hung.sequence,
      let aCalledEnd = sequence("qemu-A", "step 4"), aCalledEnd < hung.sequence,
      let aReachedKVM = sequence("qemu-A", "kvm_mmu_notifier_invalidate_range_end entered"),
      aReachedKVM > hung.sequence
    else { return [] }
    let what =
      hung.text.split(separator: "\n").first { $0.contains("waiting for: ") }
      .map { String($0.split(separator: "waiting for: ", maxSplits: 1).last ?? "") } ?? "?"
    return [
      "\(w) waits in install_new_memslots for &kvm->mmu_notifier_slots_lock (write),"
        + " held for read by \(a) since its invalidate_range_start",
      "\(b) waits in kvm_mmu_notifier_invalidate_range_start for"
        + " &kvm->mmu_notifier_slots_lock (read), queued behind the writer \(w),"
        + " inside mmu_notifier_invalidate_range_start (holding the pseudo-lock)",
      "\(a) waits in __mmu_notifier_invalidate_range_end for the pseudo-lock"
        + " mmu_notifier_invalidate_range_start, held by \(b),"
        + " while holding &kvm->mmu_notifier_slots_lock (read)",
      "cycle: \(w) -> \(a) -> \(b) -> \(w); broken after \(timeout) ms when"
        + " \(state.name(hung.comm))'s bounded wait for \(what) gave up",
    ]
  }

  /// Bounded polling of lock state another thread changes; yields, then
  /// backs off, so it orders nothing by time.
  static func pollUntil(milliseconds: Int, _ condition: () -> Bool) -> Bool {
    let deadline = mmn_now_ns() + UInt64(milliseconds) * 1_000_000
    var spins = 0
    while !condition() {
      if mmn_now_ns() >= deadline { return false }
      spins += 1
      if spins < 1000 { sched_yield() } else { usleep(50) }
    }
    return true
  }
}

/// What the run's threads report to the coordinator.
final class RunState: Sendable {
  let writerReturned = Atomic<Bool>(false)
  let writerInstalled = Atomic<Bool>(false)
  let bStartReturned = Atomic<Bool>(false)
  private let pids = Locked<[String: Int32]>([:])

  func enroll(_ name: String) {
    let pid = mmn_task_pid()
    pids.withLock { $0[name] = pid }
  }
  func pid(_ name: String) -> Int32 { pids.withLock { $0[name] ?? 0 } }
  /// "qemu-A:1234", as hung-task records name tasks.
  func name(_ name: String) -> String { "\(name):\(pid(name))" }
  /// The enrolled name of the calling thread.
  func currentName() -> String {
    let me = mmn_task_pid()
    return pids.withLock { $0.first { $0.value == me }?.key } ?? "task-\(me)"
  }
}
