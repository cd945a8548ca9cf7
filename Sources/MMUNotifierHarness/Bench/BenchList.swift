import CSupport

#if canImport(Glibc)
  import Glibc
#endif

/// One timed list: an mm of one variant and flavour carrying N no-op
/// subscriptions, the refusing one (on a failure path) at a chosen
/// traversal index.
///
/// Where a subscription lands depends on the variant: v5.11 adds at the
/// head (newest first), sorted-undo keeps the list in address order. Both
/// rules give the same order when subscriptions are registered from the
/// highest address down, so the list is built that way, and the refusing
/// subscription is picked from a pool of candidates by its address. The
/// nodes then sit back to back in memory, walked in ascending address
/// order: the cache's best case, so the numbers are the traversal's own
/// instruction cost.
final class BenchList {
  let mm: MM
  let notifiers: Int
  let driver: BenchDriver
  let ledger: Bool
  let path: BenchPath
  private var registered: [Candidate] = []
  private var spares: [Candidate] = []

  /// A subscription created but not yet registered.
  private enum Candidate {
    case c(OpaquePointer, refusing: Bool)
    case swift(Subscription, refusing: Bool)

    var address: UInt {
      switch self {
      case .c(let raw, _): UInt(bitPattern: mmn_subscription_notifier(raw))
      case .swift(let sub, _): sub.notifierAddress
      }
    }

    var refusing: Bool {
      switch self {
      case .c(_, let r), .swift(_, let r): r
      }
    }

    func register() throws(KernelError) {
      switch self {
      case .c(let raw, _):
        let rc = mmn_register(raw)
        guard rc == 0 else { throw KernelError(errno: rc, operation: "mmu_notifier_register") }
      case .swift(let sub, _):
        try sub.register()
      }
    }

    /// For a candidate never registered.
    func discard() {
      if case .c(let raw, _) = self { mmn_subscription_destroy(raw) }
      // a Swift Subscription frees its unregistered C half in deinit
    }

    /// `mmu_notifier_put`: freed after a grace period.
    func put() {
      switch self {
      case .c(let raw, _): mmn_put(raw)
      case .swift(let sub, _): sub.put()
      }
    }
  }

  init(
    variant: Variant, flavor: RCUFlavor, notifiers: Int, path: BenchPath, driver: BenchDriver,
    ledger: Bool
  ) throws(KernelError) {
    precondition(notifiers >= 1)
    // A refusing list pr_infos on every op: keep a few records and count
    // the rest, so every timed batch pays the same (unformatted) drop.
    var configuration = MM.Configuration(variant: variant, flavor: flavor)
    configuration.logRecords = 16
    mm = MM(configuration)
    self.notifiers = notifiers
    self.driver = driver
    self.ledger = ledger
    self.path = path

    var keep: [Candidate] = []
    if let target = path.failingIndex(of: notifiers) {
      // Usually the heap hands out ascending addresses: then creation
      // order is traversal order and nothing is wasted.
      for i in 0..<notifiers { keep.append(try make(refusing: i == target)) }
      if !Self.ascending(keep) {
        spares = keep
        keep = try placeFromPool(target: target)
      }
    } else {
      for _ in 0..<notifiers { keep.append(try make(refusing: false)) }
    }
    for c in keep.sorted(by: { $0.address > $1.address }) {
      try c.register()
      registered.append(c)
    }
  }

  private static func ascending(_ candidates: [Candidate]) -> Bool {
    zip(candidates, candidates.dropFirst()).allSatisfy { $0.address < $1.address }
  }

  /// Interleaved no-ops and refusers, so that the refusers' addresses fall
  /// between the no-ops'. The pool grows until some refuser has enough
  /// no-ops on each side: the heap (other threads allocate too) need not
  /// interleave them at first. A list that cannot be placed is an error,
  /// never a row labelled with the wrong failure position.
  private func placeFromPool(target: Int) throws(KernelError) -> [Candidate] {
    var pool: [Candidate] = []
    for _ in 0..<(4 * notifiers + 64) {
      pool.append(try make(refusing: false))
      pool.append(try make(refusing: true))
      guard pool.count >= 2 * notifiers, let keep = Self.place(target: target, of: notifiers, pool)
      else { continue }
      let kept = Set(keep.map(\.address))
      spares += pool.filter { !kept.contains($0.address) }
      return keep
    }
    spares += pool
    throw KernelError(errno: -EAGAIN, operation: "placing the refusing subscription at \(target)")
  }

  /// Frees the candidates this list did not use. Called once every list of
  /// a group is built, so that their holes in the heap are not refilled by
  /// another list's nodes (which would scatter that list and make it slower
  /// than its twins for reasons of placement alone).
  func discardSpares() {
    for c in spares { c.discard() }
    spares.removeAll()
  }

  private func make(refusing: Bool) throws(KernelError) -> Candidate {
    switch driver {
    case .c:
      let symbol = refusing ? "bench_refusing_notifier" : "bench_noop_notifier"
      let raw: OpaquePointer? = symbol.withCString { symbol in
        var config = mmn_subscription_config(
          ops: refusing ? mmn_bench_failing_ops() : mmn_bench_noop_ops(true), ctx: nil,
          symbol: symbol, ledger: ledger, release_ctx: nil)
        return mmn_subscription_create(mm.raw, &config)
      }
      guard let raw else { throw KernelError(errno: -EINVAL, operation: "mmn_subscription_create") }
      return .c(raw, refusing: refusing)
    case .swift:
      let notifier: any Notifier = refusing ? RefusingNotifier() : NoopNotifier()
      return .swift(try Subscription.make(mm, notifier, ledger: ledger), refusing: refusing)
    }
  }

  /// `count - 1` no-ops and one refuser such that exactly `target` of the
  /// no-ops have a lower address than the refuser (the nearest ones on each
  /// side), or nil if no refuser in the pool has enough on both sides.
  private static func place(target: Int, of count: Int, _ pool: [Candidate]) -> [Candidate]? {
    let byAddress = pool.sorted { $0.address < $1.address }
    let noops = byAddress.filter { !$0.refusing }
    var below = 0
    for c in byAddress {
      guard c.refusing else {
        below += 1
        continue
      }
      let above = noops.count - below
      if below >= target, above >= count - 1 - target {
        return Array(noops[(below - target)..<(below + count - 1 - target)]) + [c]
      }
    }
    return nil
  }

  /// The private copy of the timed loops this kind of list runs in: its
  /// call sites see only this kind's callbacks (see `mmn_bench_lane`).
  var lane: UInt32 {
    let lane: mmn_bench_lane =
      switch (driver, path.fails, ledger) {
      case (.c, false, false): MMN_BENCH_LANE_C
      case (.c, false, true): MMN_BENCH_LANE_C_LEDGER
      case (.c, true, false): MMN_BENCH_LANE_C_REFUSING
      case (.c, true, true): MMN_BENCH_LANE_C_REFUSING_LEDGER
      case (.swift, false, false): MMN_BENCH_LANE_SWIFT
      case (.swift, false, true): MMN_BENCH_LANE_SWIFT_LEDGER
      case (.swift, true, false): MMN_BENCH_LANE_SWIFT_REFUSING
      case (.swift, true, true): MMN_BENCH_LANE_SWIFT_REFUSING_LEDGER
      }
    return lane.rawValue
  }

  /// Which of the lane's copies of the timed loops (`MMN_BENCH_COPIES`,
  /// each at its own code address) this list runs in.
  var codeCopy: UInt32 = 0

  /// ns for `iterations` × (non-blockable start, end if it succeeded).
  @inline(__always)
  func timeCore(_ iterations: Int) -> UInt64 {
    mmn_bench_core(mm.raw, UInt(iterations), ledger, lane, codeCopy)
  }

  /// `timeCore` with original built without CONFIG_DEBUG_ATOMIC_SLEEP (no
  /// `non_block_start/end`) walking these nodes; for a ledger-off list.
  @inline(__always)
  func timeCoreWithoutAccounting(_ iterations: Int) -> UInt64 {
    mmn_bench_core_no_debug_atomic_sleep(mm.raw, UInt(iterations), lane, codeCopy)
  }

  /// `timeCore` with v5.11's walk built with every harness addition
  /// compiled out (`port/config/original_reference.h`); ledger-off lists.
  @inline(__always)
  func timeReference(_ iterations: Int) -> UInt64 {
    mmn_bench_core_reference(mm.raw, UInt(iterations), lane, codeCopy)
  }

  /// ns for `iterations` walks of the plain C floor over these nodes.
  @inline(__always)
  func timeFloor(_ iterations: Int) -> UInt64 {
    mmn_bench_floor(mm.raw, UInt(iterations), lane, codeCopy)
  }

  /// Puts every subscription; the caller waits for the frees (`srcu_barrier`).
  func tearDown() {
    discardSpares()
    for c in registered { c.put() }
    registered.removeAll()
  }
}
