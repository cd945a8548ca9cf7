import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The hlist drivers a stress writer registers (Drivers/), by class.
enum StressDriverKind: String, CaseIterable, Sendable {
  case kvm, gru, hfi1, flaky, i915, nouveau
  /// A notifier that refuses non-blockable starts and implements end: the
  /// combination the merged fix forbids (seed 001).
  case failingWithEnd = "failing-with-end"

  /// The kinds a writer may register in `cls`. Kinds that refuse starts
  /// appear only where the class is about refused starts.
  static func kinds(for cls: StressClass) -> [StressDriverKind] {
    switch cls {
    case .flakyNeighbour: [.kvm, .gru, .hfi1, .flaky, .i915, .nouveau]
    case .itreeNeighbour: [.kvm, .gru, .hfi1]
    case .itreeThenHlistFailure: [.kvm, .gru, .flaky, .nouveau]
    case .failingStartWithEnd: [.kvm, .gru, .failingWithEnd]
    }
  }

  /// KVM versions the stress mixes. Not kvm-rwsem: a start that blocks
  /// until some end releases the semaphore is the deadlock issue 4
  /// reproduces on purpose. Not kvm-v5.15 either: the harness annotates its
  /// `mn_active_invalidate_count` as a lockdep map held from start to end
  /// (the kernel has no such annotation), and a KVM unregistered between
  /// the two never gets the end, so under churn every reader thread piles
  /// up held maps until lockdep reports MAX_LOCK_DEPTH.
  static let kvmVersions: [KVMVersion] = [.v5_11, .v5_14]

  /// A fresh driver of this kind for `arena`. A refusing kind fails about
  /// `failRate` of non-blockable starts; `rng` fixes which.
  func make(_ arena: StressArena, failRate: Double, rng: inout StressRandom) -> any Notifier {
    let period = failRate > 0 ? max(1, Int((1 / failRate).rounded())) : Int.max
    switch self {
    case .kvm:
      let version = Self.kvmVersions[Int(rng.next() % UInt64(Self.kvmVersions.count))]
      return KVM(mm: arena.mm, version: version)
    case .gru:
      return GRU(mm: arena.mm)
    case .hfi1:
      return HFI1()
    case .flaky:
      let first = period == Int.max ? Int.max : 1 + Int(rng.next() % UInt64(period))
      return Flaky(period: period, firstFailure: first)
    case .i915:
      // -EAGAIN only for a non-blockable range over one of its objects;
      // never an unbind error (that would be the illegal blockable failure).
      let i915 = I915Userptr()
      for _ in 0..<(1 + rng.next() % 3) {
        let r = arena.randomRange(&rng, maxPages: 256)
        i915.addObject(start: r.start, length: r.end - r.start)
      }
      return i915
    case .nouveau:
      return NouveauSVMM()
    case .failingWithEnd:
      return FailingNotifier(
        everyKth: period, implementsEnd: true, symbol: "failing_with_end_notifier")
    }
  }
}

/// An interval notifier in the style of amdgpu's and radeon's: in a
/// non-blockable range it may refuse ("would block", a failed trylock),
/// otherwise it takes its lock, publishes the new seq and succeeds. Which
/// calls refuse is a pure function of (seed, call number), so readers on
/// many threads need no shared generator.
final class StressIntervalNotifier: IntervalNotifier, @unchecked Sendable {
  let symbol = "stress_interval_notifier"
  private let failRate: Double
  private let seed: UInt64
  private let calls = Atomic<UInt64>(0)
  /// The driver's lock, and the seq it last published under it.
  private let published = Locked<UInt>(0)

  init(failRate: Double, seed: UInt64) {
    self.failRate = failRate
    self.seed = seed
  }

  func invalidate(_ interval: IntervalRef, range: NotifierRange, currentSeq: UInt) -> Bool {
    if !range.isBlockable {
      let n = calls.add(1, ordering: .relaxed).newValue
      if StressRandom.decision(seed: seed, n: n, probability: failRate) { return false }
    }
    published.withLock { seq in
      interval.setSeq(currentSeq)
      seq = currentSeq
    }
    return true
  }
}

/// Stands between the core and a driver and counts any callback that
/// arrives after the subscription was freed: rcutorture's check made at the
/// driver, independent of the C ledger's poison check (which stops such a
/// call before it gets here).
final class StressGuard: Notifier {
  let inner: any Notifier
  let callbacks: NotifierCallbacks
  let symbol: String
  private let counters: StressCounters
  let freed = Atomic<Bool>(false)

  init(_ inner: any Notifier, counters: StressCounters) {
    self.inner = inner
    self.counters = counters
    callbacks = inner.callbacks
    symbol = inner.symbol
  }

  @inline(__always) private func check() {
    if freed.load(ordering: .acquiring) { counters.callsAfterFree.add(1, ordering: .relaxed) }
  }

  func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
    check()
    return inner.invalidateRangeStart(range)
  }
  func invalidateRangeEnd(_ range: NotifierRange) {
    check()
    inner.invalidateRangeEnd(range)
  }
  func invalidateRange(start: UInt, end: UInt) {
    check()
    inner.invalidateRange(start: start, end: end)
  }
  func release() {
    check()
    inner.release()
  }
}

/// The same check for an interval notifier: once
/// `mmu_interval_notifier_remove` has returned (without a hung wait), no
/// invalidate may reach the driver. Its deinit counts the free: the core
/// drops its reference when it frees the subscription.
final class StressIntervalGuard: IntervalNotifier, @unchecked Sendable {
  let inner: any IntervalNotifier
  let symbol: String
  private let counters: StressCounters
  let removed = Atomic<Bool>(false)

  init(_ inner: any IntervalNotifier, counters: StressCounters) {
    self.inner = inner
    self.counters = counters
    symbol = inner.symbol
  }

  deinit { counters.intervalFrees.add(1, ordering: .relaxed) }

  func invalidate(_ interval: IntervalRef, range: NotifierRange, currentSeq: UInt) -> Bool {
    if removed.load(ordering: .acquiring) {
      counters.callsAfterFree.add(1, ordering: .relaxed)
    }
    return inner.invalidate(interval, range: range, currentSeq: currentSeq)
  }
}
