import CSupport
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// What 52ac8b358b accepts in exchange for the deadlock: "Losing the rwsem
/// fairness does theoretically allow MMU notifiers to block
/// install_new_memslots forever." Several threads invalidate in a loop
/// while `kvm-memslots` installs memslots one update after another; each
/// update's wait is timed. In kvm-v5.15 an update waits until it sees
/// `mn_active_invalidate_count == 0` under the lock, and a start can raise
/// the count again between the wake-up and that check; the fair rwsem of
/// kvm-rwsem holds new readers back instead, so its writer waits only for
/// the invalidations already running.
public enum MemslotStarvation {
  public struct Measurement: Sendable {
    /// Each update's time in `install_new_memslots`, in order (µs).
    public let waitsMicroseconds: [UInt64]
    /// Updates whose bounded wait expired: they starved past the deadline
    /// (each also a hung-task record) and installed nothing.
    public let starvedUpdates: Int
    public var hung: Bool { starvedUpdates > 0 }
    public let invalidations: UInt64
    public let lockCycles: Int
    public let ledger: LedgerCounts
    public let logCounts: KernelLogCounts
    /// The run's kernel log: what it ran, what it measured, hung tasks and
    /// lockdep reports.
    public let log: [KernelLogRecord]

    public var medianMicroseconds: UInt64 {
      let sorted = waitsMicroseconds.sorted()
      return sorted.isEmpty ? 0 : sorted[(sorted.count - 1) / 2]
    }
    public var maxMicroseconds: UInt64 { waitsMicroseconds.max() ?? 0 }
  }

  /// `invalidators` threads each run start, a hold, end, a gap, over and
  /// over, with hold and gap lengths drawn from `random`; `updates` memslot
  /// updates, `pace` apart, are timed while they run. Returns when every
  /// thread has.
  public static func measure(
    version: KVMVersion = .v5_15, updates: Int = 20, invalidators: Int = 3,
    holdMicroseconds: ClosedRange<Int> = 5...50, gapMicroseconds: ClosedRange<Int> = 5...50,
    paceMicroseconds: ClosedRange<Int> = 200...2000,
    hungTimeoutMilliseconds: UInt32, random: SeededRandom, flavor: RCUFlavor = .memb
  ) -> Measurement {
    KernelThread.run(name: "kvm-memslots") {
      measureOnOwnedThread(
        version: version, updates: updates, invalidators: invalidators,
        hold: holdMicroseconds, gap: gapMicroseconds, pace: paceMicroseconds,
        hungTimeoutMilliseconds: hungTimeoutMilliseconds, random: random, flavor: flavor)
    }
  }

  private static func measureOnOwnedThread(
    version: KVMVersion, updates: Int, invalidators: Int, hold: ClosedRange<Int>,
    gap: ClosedRange<Int>, pace: ClosedRange<Int>, hungTimeoutMilliseconds: UInt32,
    random: SeededRandom,
    flavor: RCUFlavor
  ) -> Measurement {
    let mm = MM(flavor: flavor, hungTimeoutMilliseconds: hungTimeoutMilliseconds, lockdep: true)
    let (kvm, subscription) = KVM.registered(on: mm, version: version)
    let gate = 4 * Int(hungTimeoutMilliseconds) + 2000
    let stop = StopFlag()
    let running = KernelSemaphore()
    var rng = random
    // Each thread's pattern of hold and gap lengths is fixed by the seed,
    // so the run is the same program every time; only the scheduler's
    // timing differs.
    let patterns = (0..<invalidators).map { _ in
      (0..<64).map { _ in (hold: rng.int(in: hold), gap: rng.int(in: gap)) }
    }
    let threads = patterns.enumerated().map { index, pattern in
      KernelThread(name: "qemu-\(index)") {
        let base = UInt(0x7f00_0000_0000) + UInt(index) * 0x40_0000
        var step = 0
        var signalled = false
        while !stop.isSet {
          let (hold, gap) = pattern[step % pattern.count]
          step += 1
          let inv = Invalidation(mm, start: base, end: base + 0x20_0000)
          inv.start()
          if !signalled {
            running.signal()
            signalled = true
          }
          busy(microseconds: hold)
          inv.end()
          inv.retire()
          busy(microseconds: gap)
        }
        if !signalled { running.signal() }
      }
    }
    for _ in threads { _ = running.wait(milliseconds: gate) }
    mm.prInfo(
      "kvm-memslot-lock: \(version.rawValue), \(updates) memslot updates while"
        + " \(invalidators) threads invalidate (hold \(hold) us, gap \(gap) us)")

    let paces = (0..<updates).map { _ in rng.int(in: pace) }
    var waits: [UInt64] = []
    var starved = 0
    for update in 0..<updates {
      // Pacing, not ordering: each update lands at an unrelated point of
      // the invalidations' pattern instead of right after the last one.
      usleep(UInt32(paces[update]))
      let t0 = mmn_now_ns()
      let installed = kvm.installNewMemslots()
      waits.append((mmn_now_ns() - t0) / 1000)
      if !installed { starved += 1 }
    }
    stop.set()
    threads.forEach { $0.join() }
    subscription.unregister()
    let sorted = waits.sorted()
    mm.prInfo(
      "kvm-memslot-lock: \(version.rawValue): install_new_memslots waited median"
        + " \(sorted.isEmpty ? 0 : sorted[(sorted.count - 1) / 2]) us, max \(sorted.last ?? 0) us,"
        + " \(starved) of \(waits.count) starved past \(hungTimeoutMilliseconds) ms")
    return Measurement(
      waitsMicroseconds: waits, starvedUpdates: starved, invalidations: mm.ledgerTotals.ends,
      lockCycles: mm.lockCycles, ledger: mm.ledgerTotals, logCounts: mm.logCounts,
      log: mm.log)
  }

  /// Busy work between start and end (a driver's unmap and flush), and
  /// between invalidations, without sleeping: timed, so debug and release
  /// builds hold for as long.
  static func busy(microseconds: Int) {
    guard microseconds > 0 else { return }
    let until = mmn_now_ns() + UInt64(microseconds) * 1000
    while mmn_now_ns() < until {}
  }
}

final class StopFlag: Sendable {
  private let flag = Atomic<Bool>(false)
  func set() { flag.store(true, ordering: .releasing) }
  var isSet: Bool { flag.load(ordering: .acquiring) }
}
