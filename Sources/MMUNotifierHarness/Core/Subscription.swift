import CSupport

#if canImport(Glibc)
  import Glibc
#endif

/// A registered hlist notifier. The handle keeps its mm alive; after
/// `unregister()` or `put()` the subscription is gone and the handle inert.
public final class Subscription: @unchecked Sendable {
  public let mm: MM
  public let notifier: any Notifier
  let raw: OpaquePointer
  private var state: State = .created
  /// Made by `mmu_notifier_get`: let go with `put()`, never `unregister()`.
  public private(set) var fromGet = false

  enum State { case created, registered, gone }

  static func make(_ mm: MM, _ notifier: any Notifier, ledger: Bool) throws(KernelError)
    -> Subscription
  {
    var ops = NotifierTrampolines.ops(for: notifier)
    let ctx = Unmanaged.passRetained(NotifierBox(notifier)).toOpaque()
    let raw: OpaquePointer? = withUnsafePointer(to: &ops) { ops in
      notifier.symbol.withCString { symbol in
        var config = mmn_subscription_config(
          ops: ops, ctx: ctx, symbol: symbol, ledger: ledger,
          release_ctx: NotifierTrampolines.releaseContext)
        return mmn_subscription_create(mm.raw, &config)
      }
    }
    guard let raw else {
      Unmanaged<NotifierBox>.fromOpaque(ctx).release()
      throw KernelError(errno: -EINVAL, operation: "mmn_subscription_create")
    }
    return Subscription(mm: mm, notifier: notifier, raw: raw)
  }

  /// `mmu_notifier_get`: the mm's subscription with `notifier`'s callbacks
  /// (and ledger setting) gains a user, or `notifier` becomes a new one.
  /// The handle's `notifier` is the driver actually subscribed.
  static func get(_ mm: MM, _ notifier: any Notifier, ledger: Bool) throws(KernelError)
    -> Subscription
  {
    var ops = NotifierTrampolines.ops(for: notifier)
    let ctx = Unmanaged.passRetained(NotifierBox(notifier)).toOpaque()
    var err: Int32 = 0
    let raw: OpaquePointer? = withUnsafePointer(to: &ops) { ops in
      notifier.symbol.withCString { symbol in
        var config = mmn_subscription_config(
          ops: ops, ctx: ctx, symbol: symbol, ledger: ledger,
          release_ctx: NotifierTrampolines.releaseContext)
        return mmn_get(mm.raw, &config, &err)
      }
    }
    guard let raw else { throw KernelError(errno: err, operation: "mmu_notifier_get") }
    // the subscribed driver: ours, or the one an earlier get registered
    let driver = Unmanaged<NotifierBox>.fromOpaque(mmn_subscription_context(raw)!)
      .takeUnretainedValue().notifier
    let sub = Subscription(mm: mm, notifier: driver, raw: raw)
    sub.state = .registered
    sub.fromGet = true
    return sub
  }

  /// `subscription->users`: gets not yet put.
  public var users: Int { state == .registered ? Int(mmn_subscription_users(raw)) : 0 }

  private init(mm: MM, notifier: any Notifier, raw: OpaquePointer) {
    self.mm = mm
    self.notifier = notifier
    self.raw = raw
  }

  deinit {
    if state == .created { mmn_subscription_destroy(raw) }
  }

  func register() throws(KernelError) {
    let rc = mmn_register(raw)
    guard rc == 0 else {
      throw KernelError(errno: rc, operation: "mmu_notifier_register")
    }
    state = .registered
  }

  /// The `struct mmu_notifier` address: what the sorted-hlist fix orders by.
  public var notifierAddress: UInt { UInt(bitPattern: mmn_subscription_notifier(raw)) }
  public var id: UInt64 { mmn_subscription_id(raw) }
  public var isRegistered: Bool { state == .registered }

  /// This subscription's ledger (zero once it is gone: its counts then
  /// live in the mm's totals).
  public var ledger: LedgerCounts {
    guard state != .gone else { return LedgerCounts() }
    var c = mmn_ledger_counts()
    mmn_ledger_subscription(raw, &c)
    return LedgerCounts(c)
  }

  /// Test hook: poison this live subscription as a free would (the positive
  /// control for the poison check).
  public func debugPoison() { mmn_debug_poison(raw) }

  /// `mmu_notifier_unregister`: `->release`, unlink, `synchronize_srcu`,
  /// then the harness frees (and poisons) the subscription.
  public func unregister() {
    guard state == .registered else { return }
    state = .gone
    mmn_unregister(raw)
  }

  /// How the driver lets go: `put()` after a get, else `unregister()`.
  public func drop() {
    if fromGet { put() } else { unregister() }
  }

  /// `mmu_notifier_put`: unlink now, free after a grace period.
  public func put() {
    guard state == .registered else { return }
    state = .gone
    mmn_put(raw)
  }
}

/// An inserted interval notifier.
public final class IntervalSubscription: @unchecked Sendable {
  public let mm: MM
  let raw: OpaquePointer
  private var removed = false

  init(_ mm: MM, _ notifier: any IntervalNotifier, start: UInt, length: UInt) throws(KernelError) {
    self.mm = mm
    let ctx = Unmanaged.passRetained(IntervalBox(notifier)).toOpaque()
    if notifier is any TwoPassIntervalNotifier {
      // v7.1: the core sees ->invalidate_start/->invalidate_finish (the
      // mainline core calls them; the harness owns the finish objects) and
      // an ->invalidate running both passes back to back (the v5.11 core).
      var passes = mmn_interval_two_pass_ops()
      passes.invalidate_start = IntervalTrampolines.invalidateStart
      passes.invalidate_finish = IntervalTrampolines.invalidateFinish
      raw = notifier.symbol.withCString { symbol in
        mmn_interval_sub_create_two_pass(
          mm.raw, &passes, ctx, symbol, NotifierTrampolines.releaseContext)!
      }
    } else {
      var ops = mmu_interval_notifier_ops()
      ops.invalidate = IntervalTrampolines.invalidate
      raw = notifier.symbol.withCString { symbol in
        mmn_interval_sub_create(mm.raw, &ops, ctx, symbol, NotifierTrampolines.releaseContext)!
      }
    }
    let rc = mmn_interval_insert(raw, start, length)
    guard rc == 0 else {
      mmn_interval_remove(raw)
      removed = true
      throw KernelError(errno: rc, operation: "mmu_interval_notifier_insert")
    }
  }

  deinit { remove() }

  public var ref: IntervalRef { IntervalRef(raw: mmn_interval_sub_notifier(raw)) }

  /// This interval's pairing ledger: `starts` are its `->invalidate` calls
  /// (`startsFailed` those that refused), `ends` the `mn_itree_inv_end`s
  /// that closed the tree's half of those ranges, `missingEnds` the ranges
  /// that were over with that half still open. A two-pass driver (v7.1)
  /// also has `deferredStarts` (starts that owed a finish), `finishes`,
  /// `duplicateFinishes` (a finish for an object not outstanding) and
  /// `missingFinishes` (still outstanding when the invalidation was over,
  /// or at removal). Zero once removed (its counts then live in the mm's
  /// totals).
  public var ledger: LedgerCounts {
    guard !removed else { return LedgerCounts() }
    var c = mmn_ledger_counts()
    mmn_ledger_interval(raw, &c)
    return LedgerCounts(c)
  }

  /// `mmu_interval_read_begin`: sleeps (bounded) while an invalidation of
  /// this interval is in progress.
  public func readBegin() -> UInt { mmn_interval_read_begin(mmn_interval_sub_notifier(raw)) }
  /// `mmu_interval_read_retry`
  public func readRetry(_ seq: UInt) -> Bool {
    mmn_interval_read_retry(mmn_interval_sub_notifier(raw), seq)
  }

  /// `mmu_interval_notifier_remove`
  public func remove() {
    guard !removed else { return }
    removed = true
    mmn_interval_remove(raw)
  }
}
