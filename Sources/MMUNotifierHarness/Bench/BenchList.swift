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
    mm = MM(variant: variant, flavor: flavor)
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
  /// between the no-ops'; the unused ones become spares.
  private func placeFromPool(target: Int) throws(KernelError) -> [Candidate] {
    var noops: [Candidate] = []
    var refusers: [Candidate] = []
    for _ in 0..<notifiers {
      noops.append(try make(refusing: false))
      refusers.append(try make(refusing: true))
    }
    let keep = Self.place(target: target, noops: noops, refusers: refusers)
    let kept = Set(keep.map(\.address))
    spares += (noops + refusers).filter { !kept.contains($0.address) }
    return keep
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

  /// N-1 no-ops and one refuser such that exactly `target` no-ops have a
  /// lower address than the refuser.
  private static func place(target: Int, noops: [Candidate], refusers: [Candidate]) -> [Candidate] {
    let byAddress = (noops + refusers).sorted { $0.address < $1.address }
    let noopsByAddress = byAddress.filter { !$0.refusing }
    var below = 0
    for c in byAddress {
      guard c.refusing else {
        below += 1
        continue
      }
      // `below` no-ops lie under c and noops.count - below above it.
      if below == target + 1 {
        return Array(noopsByAddress.dropFirst()) + [c]
      }
      if below == target, noops.count - below >= 1 {
        return Array(noopsByAddress.dropLast()) + [c]
      }
    }
    // Interleaved allocation makes this unreachable in practice; fall back
    // to the nearest placement rather than fail the run.
    let c = refusers[min(target, refusers.count - 1)]
    return Array(noopsByAddress.dropLast()) + [c]
  }

  /// ns for `iterations` × (non-blockable start, end if it succeeded).
  @inline(__always)
  func timeCore(_ iterations: Int) -> UInt64 {
    mmn_bench_core(mm.raw, UInt(iterations), ledger)
  }

  /// ns for `iterations` walks of the plain C floor over these nodes.
  @inline(__always)
  func timeFloor(_ iterations: Int) -> UInt64 {
    mmn_bench_floor(mm.raw, UInt(iterations))
  }

  /// Puts every subscription; the caller waits for the frees (`srcu_barrier`).
  func tearDown() {
    discardSpares()
    for c in registered { c.put() }
    registered.removeAll()
  }
}
