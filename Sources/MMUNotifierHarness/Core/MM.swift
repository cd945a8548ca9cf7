import CSupport

/// One address space (`struct mm_struct`), running one core variant on one
/// RCU flavour. It owns its subscriptions, its kernel log, its pairing
/// ledger and its lock validator.
public final class MM: @unchecked Sendable {
  public struct Configuration: Sendable {
    public var variant: Variant = .original
    public var flavor: RCUFlavor = .memb
    /// VMAs for the OOM reaper to walk.
    public var vmas: Int = 0
    public var vmaSize: UInt = 0x20_0000
    /// Every bounded wait's deadline; past it the wait reports `hung`.
    public var hungTimeoutMilliseconds: UInt32 = 500
    /// Run the lock validator on every lock the harness models.
    public var lockdep: Bool = false
    /// Make lockdep's pseudo-lock a real exclusive lock (seed 004's "ignoring
    /// for a second that the pseudo lock is not a lock").
    public var pseudoLockIsReal: Bool = false
    /// The owning task, as the OOM reaper prints it.
    public var ownerPID: Int32 = 4242
    public var ownerComm: String = "qemu-system-x86"
    /// Records the kernel log keeps (at most 20000); later ones are
    /// counted in `logCounts` and dropped unformatted.
    public var logRecords: UInt32 = 20_000
    /// The variant's explore build (scheduling points, qsbr): only for
    /// mms whose operations run under the explorer's scheduler.
    public var explore: Bool = false

    public init(
      variant: Variant = .original, flavor: RCUFlavor = .memb, vmas: Int = 0,
      hungTimeoutMilliseconds: UInt32 = 500, lockdep: Bool = false
    ) {
      self.variant = variant
      self.flavor = flavor
      self.vmas = vmas
      self.hungTimeoutMilliseconds = hungTimeoutMilliseconds
      self.lockdep = lockdep
    }
  }

  public let raw: OpaquePointer
  public let configuration: Configuration
  public var variant: Variant { configuration.variant }
  public var flavor: RCUFlavor { configuration.flavor }
  private var traceBox: Unmanaged<TraceBox>?

  public init(_ configuration: Configuration) {
    self.configuration = configuration
    var c = mmn_mm_config()
    c.variant = configuration.variant.index
    c.flavor = configuration.flavor.cValue
    c.pid = configuration.ownerPID
    c.hung_timeout_ms = configuration.hungTimeoutMilliseconds
    c.lockdep = configuration.lockdep
    c.pseudo_lock_is_real = configuration.pseudoLockIsReal
    c.nr_vmas = UInt(configuration.vmas)
    c.vma_size = configuration.vmaSize
    c.log_records = configuration.logRecords
    c.explore = configuration.explore
    raw = configuration.ownerComm.withCString { comm in
      c.comm = comm
      return mmn_mm_create(&c)!
    }
  }

  public convenience init(
    variant: Variant = .original, flavor: RCUFlavor = .memb, vmas: Int = 0,
    hungTimeoutMilliseconds: UInt32 = 500, lockdep: Bool = false
  ) {
    self.init(
      Configuration(
        variant: variant, flavor: flavor, vmas: vmas,
        hungTimeoutMilliseconds: hungTimeoutMilliseconds, lockdep: lockdep))
  }

  deinit {
    mmn_mm_set_trace(raw, nil, nil)
    traceBox?.release()
    mmn_mm_drop(raw)
  }

  // MARK: subscriptions

  /// `mmu_notifier_register`: adds `notifier` at the head of the hlist
  /// (newest first), with the pairing ledger around it unless told not to.
  @discardableResult
  public func register(_ notifier: some Notifier, ledger: Bool = true) throws(KernelError)
    -> Subscription
  {
    let sub = try Subscription.make(self, notifier, ledger: ledger)
    try sub.register()
    return sub
  }

  /// `mmu_notifier_get` (v5.11): one subscription per driver and mm. If
  /// one with `notifier`'s callbacks is registered it gains a user and is
  /// returned (its `notifier` is that earlier driver); otherwise `notifier`
  /// is registered. Pair every get with a `put()`.
  public func get(_ notifier: some Notifier, ledger: Bool = true) throws(KernelError)
    -> Subscription
  {
    try Subscription.get(self, notifier, ledger: ledger)
  }

  /// The way `notifier`'s driver subscribes in v5.11: `get` for a driver
  /// that uses `mmu_notifier_get` (GRU), `register` otherwise.
  @discardableResult
  public func subscribe(_ notifier: some Notifier, ledger: Bool = true) throws(KernelError)
    -> Subscription
  {
    if type(of: notifier).subscribesThroughGet {
      return try get(notifier, ledger: ledger)
    }
    return try register(notifier, ledger: ledger)
  }

  /// `mmu_interval_notifier_insert` of `[start, start + length)`.
  @discardableResult
  public func insertInterval(_ notifier: some IntervalNotifier, start: UInt, length: UInt)
    throws(KernelError) -> IntervalSubscription
  {
    try IntervalSubscription(self, notifier, start: start, length: length)
  }

  // MARK: callers

  /// What one `oom_reap_task` did.
  public struct OOMResult: Sendable, Equatable {
    /// One `oom_reap_task_mm` attempt passed every VMA's non-blocking start
    /// within `MAX_OOM_REAP_RETRIES` (10) attempts. False although every VMA
    /// was unmapped (`MM.unmappedVMAs`) when each attempt met a refusal at
    /// a different VMA: an attempt that skips any VMA counts as failed.
    public let reaped: Bool
    /// `oom_reap_task_mm` attempts (1...10).
    public let attempts: Int

    public init(reaped: Bool, attempts: Int) {
      self.reaped = reaped
      self.attempts = attempts
    }
  }

  /// The OOM reaper's `oom_reap_task` on this mm (the caller's thread is
  /// the reaper). The result is also kept as `lastOOMReap`, which
  /// `ScenarioMetrics(mm:)` reports.
  @discardableResult
  public func oomReap() -> OOMResult {
    var r = mmn_oom_result()
    mmn_oom_reap_task(raw, &r)
    let result = OOMResult(reaped: r.reaped, attempts: Int(r.attempts))
    lastReap.withLock { $0 = result }
    return result
  }

  private let lastReap = Locked<OOMResult?>(nil)

  /// The latest `oomReap()`'s result, nil if the reaper never ran.
  public var lastOOMReap: OOMResult? { lastReap.withLock { $0 } }

  /// munmap of `[start, end)`: a blockable start and end under mmap_lock.
  public func munmap(start: UInt, end: UInt) { mmn_munmap(raw, start, end) }

  /// exit_mmap: `mmu_notifier_release`, then the OOM victim's last reap.
  public func exitMmap() { mmn_exit_mmap(raw) }

  /// `mmu_notifier_release` alone.
  public func release() { mmn_notifier_release(raw) }

  /// `mmu_notifier_synchronize`.
  public func synchronize() { mmn_notifier_synchronize(raw) }

  /// `srcu_barrier`: every `put`'s deferred free has run when this returns.
  public func barrier() { mmn_notifier_barrier(raw) }

  // MARK: what a run measures

  public var vmaCount: Int { Int(mmn_mm_nr_vmas(raw)) }
  public func vmaRange(_ i: Int) -> (start: UInt, end: UInt) {
    (mmn_mm_vma_start(raw, UInt(i)), mmn_mm_vma_end(raw, UInt(i)))
  }
  /// Distinct VMAs whose pages were unmapped at least once since the mm
  /// was made, by any OOM reaper attempt or munmap: cumulative, and each
  /// VMA counts once however often it is unmapped. Not whether a reap
  /// succeeded (`OOMResult.reaped`): 4 of 4 unmapped with `reaped` false
  /// means every attempt skipped some VMA whose start was refused.
  public var unmappedVMAs: Int { Int(mmn_mm_reaped_vmas(raw)) }
  @available(*, deprecated, renamed: "unmappedVMAs")
  public var reapedVMAs: Int { unmappedVMAs }
  public var activeInvalidateRanges: UInt { mmn_mm_active_invalidate_ranges(raw) }
  public var invalidateSeq: UInt { mmn_mm_invalidate_seq(raw) }
  public var hlistCount: Int { Int(mmn_mm_hlist_count(raw)) }
  public var lockCycles: Int { Int(mmn_mm_lock_cycles(raw)) }
  /// Distinct lock dependencies the validator recorded so far.
  public var lockDependencies: Int { Int(mmn_mm_lock_edges(raw)) }
  /// Test hook: move `mm_count` by `delta` without freeing (see
  /// `mmn_debug_mm_count_add`); restore it before the mm goes.
  public func debugMoveMMCount(by delta: Int32) { mmn_debug_mm_count_add(raw, delta) }

  public var ledgerTotals: LedgerCounts {
    var c = mmn_ledger_counts()
    mmn_ledger_totals(raw, &c)
    return LedgerCounts(c)
  }

  public struct Stats: Sendable, Equatable {
    public let registrations, unregistrations, puts, frees, intervalInserts, intervalRemoves: UInt64
  }

  public var stats: Stats {
    var s = mmn_mm_stats()
    mmn_mm_get_stats(raw, &s)
    return Stats(
      registrations: s.registrations, unregistrations: s.unregistrations, puts: s.puts,
      frees: s.frees, intervalInserts: s.interval_inserts, intervalRemoves: s.interval_removes)
  }

  public var logCounts: KernelLogCounts {
    var c = mmn_log_counts()
    mmn_log_get_counts(raw, &c)
    return KernelLogCounts(
      info: c.info, warnings: c.warnings, bugs: c.bugs, hung: c.hung, lockdep: c.lockdep,
      errors: c.errors, dropped: c.dropped, useAfterFree: c.use_after_free,
      mightSleep: c.might_sleep, afterTaint: c.after_taint)
  }

  /// A bounded wait expired: later metrics describe a state the kernel,
  /// still waiting, never reaches.
  public var tainted: Bool { mmn_log_tainted(raw) }

  /// Every record kept so far, oldest first.
  public var log: [KernelLogRecord] {
    let n = mmn_log_count(raw)
    var out: [KernelLogRecord] = []
    out.reserveCapacity(Int(n))
    var r = mmn_log_record()
    for i in 0..<n where mmn_log_get(raw, i, &r) {
      out.append(
        KernelLogRecord(
          kind: KernelLogRecord.Kind(rawValue: r.kind) ?? .error, pid: r.pid, cpu: r.cpu,
          comm: String(cString: r.comm), sequence: r.seq, time: r.time_ns,
          text: String(cString: r.text), tainted: r.tainted))
    }
    return out
  }

  /// A driver's own `pr_info`, `WARN_ON` and `BUG_ON`, into this mm's log.
  public func prInfo(_ text: String) { mmn_pr_info(raw, text) }
  /// `WARN_ON(condition)`: the splat names the caller's file, line and
  /// function unless told otherwise (a driver modelling kernel code passes
  /// the kernel's).
  public func warn(
    _ condition: String, file: String = #fileID, function: String = #function,
    line: Int32 = #line
  ) {
    mmn_warn(raw, file, line, function, condition)
  }
  /// `BUG_ON(condition)`, located like `warn`.
  public func bug(
    _ condition: String, file: String = #fileID, function: String = #function,
    line: Int32 = #line
  ) {
    mmn_bug(raw, file, line, function, condition)
  }

  // MARK: tracepoints

  public enum TraceEvent: Int32, Sendable {
    case unlinked = 1
    case freed = 2
  }

  final class TraceBox {
    let handler: @Sendable (TraceEvent, UnsafeRawPointer?) -> Void
    init(_ handler: @escaping @Sendable (TraceEvent, UnsafeRawPointer?) -> Void) {
      self.handler = handler
    }
  }

  /// Called synchronously on the thread that unlinks or frees a subscription
  /// (the pointer is its `struct mmu_notifier`); used to force interleavings.
  public func setTrace(_ handler: @escaping @Sendable (TraceEvent, UnsafeRawPointer?) -> Void) {
    let box = Unmanaged.passRetained(TraceBox(handler))
    mmn_mm_set_trace(
      raw,
      { arg, event, sub in
        Unmanaged<TraceBox>.fromOpaque(arg!)._withUnsafeGuaranteedRef {
          if let e = TraceEvent(rawValue: event) { $0.handler(e, sub) }
        }
      }, box.toOpaque())
    traceBox?.release()
    traceBox = box
  }
}
