import CSupport
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The invariants every execution is checked against, in the order a
/// violation is named (the first that holds wins).
public enum ExploreInvariant: String, Sendable, Codable, CaseIterable {
  /// The search's child died by a signal (only an isolated cell says so).
  case crash
  case useAfterFree = "use_after_free"
  case bug
  case deadlock
  case hung
  case missingEnd = "missing_end"
  case endWithoutStart = "end_without_start"
  case duplicateEnd = "duplicate_end"
  /// v7.1 two-pass: a deferred start never finished / finished twice.
  case missingFinish = "missing_finish"
  case duplicateFinish = "duplicate_finish"
  case warn
  case driverState = "driver_state"
}

/// A schedule: the default rule plus these (decision, thread) deviations.
public struct ExploreSchedule: Sendable, Hashable {
  public struct Override: Sendable, Hashable {
    public var decision: UInt32
    public var thread: UInt32
  }
  public var overrides: [Override]
  /// Sleep sets (Explorer.swift): not part of a token; a replay runs the
  /// plain rule.
  var prune = false
  var sleepers: [ExploreSleeper] = []
  public init(_ overrides: [Override] = []) { self.overrides = overrides }
}

/// One scheduling decision among two or more runnable threads.
struct ExploreDecision: Sendable {
  var enabled: UInt32
  var current: Int32
  var pick: UInt32
  var preemption: Bool
  /// Runnable threads asleep here, and what the pick's step touched.
  var sleep: UInt32 = 0
  var step = ExploreFootprint(mmn_xp_footprint())

  /// The no-preemption rule: stay on the current thread while it can run.
  var stayPick: UInt32 {
    if current >= 0, enabled & (1 << UInt32(current)) != 0 { return UInt32(current) }
    return UInt32(enabled.trailingZeroBitCount)
  }
}

/// What one execution did and which invariant it broke, if any.
struct ExploreOutcome: Sendable {
  var decisions: [ExploreDecision]
  var preemptions: Int
  var steps: Int
  var diverged: Bool
  var harnessTimeout: Bool
  /// With pruning: the decision from which every runnable thread slept.
  var sleepBlockedAt: Int? = nil
  var violation: (invariant: ExploreInvariant, detail: String)?
  /// Filled when the trace was recorded.
  var trace: [String] = []
  var kernelLog: [String] = []

  /// The schedule as deviations from the no-preemption rule: its replay.
  var schedule: ExploreSchedule {
    ExploreSchedule(
      decisions.enumerated().compactMap { i, d in
        d.pick == d.stayPick ? nil : .init(decision: UInt32(i), thread: d.pick)
      })
  }
}

/// How the scheduler picks where the schedule does not say.
enum ExplorePolicy: Sendable {
  case stay
  /// PCT: initial priorities per thread, priority change points (steps).
  case pct(priorities: [UInt32], changePoints: [UInt])
}

/// Runs one execution of one configuration instance on one variant's
/// explore build. One at a time per process: the scheduler is global.
enum ExploreExecution {
  static let lock = Mutex(())

  static func run(
    variant: Variant, configuration: ExploreConfiguration,
    instance: ExploreConfiguration.Instance, schedule: ExploreSchedule,
    policy: ExplorePolicy = .stay, recordTrace: Bool = false, maxSteps: Int = 20_000
  ) -> ExploreOutcome {
    announce?(
      ExploreToken(
        configuration: configuration.name, instance: instance.index, variant: variant.id,
        schedule: schedule))
    return lock.withLock { _ in
      // a free with no grace period since its unlink is reported even
      // when no schedule lets a walker reach it (CSupport/harness/gp_check.c)
      mmn_gp_check_enable()
      return KernelThread.run(name: "explore") {
        Rig(variant: variant, configuration: configuration, instance: instance)
          .execute(schedule: schedule, policy: policy, recordTrace: recordTrace, maxSteps: maxSteps)
      }
    }
  }

  /// In an isolated child: told each schedule before it runs, so a crash
  /// is reported with the schedule it happened on.
  nonisolated(unsafe) static var announce: (@Sendable (ExploreToken) -> Void)?

  /// Threads that never came back from a harness timeout: kept, never joined.
  nonisolated(unsafe) static var abandoned: [KernelThread] = []

  /// The mm, its drivers and the operation threads of one execution.
  final class Rig: @unchecked Sendable {
    let configuration: ExploreConfiguration
    let instance: ExploreConfiguration.Instance
    let mm: MM
    var subscriptions: [Subscription] = []
    var drivers: [any Notifier] = []
    var intervals: [IntervalSubscription] = []
    var intervalDrivers: [any IntervalNotifier] = []
    var intervalNames: [String] = []
    var names: [String]

    init(
      variant: Variant, configuration: ExploreConfiguration, instance: ExploreConfiguration.Instance
    ) {
      self.configuration = configuration
      self.instance = instance
      var c = MM.Configuration(variant: variant, vmas: max(1, configuration.vmas))
      c.explore = true
      // only the uncontrolled teardown can wait for real; keep that short
      c.hungTimeoutMilliseconds = 20
      c.logRecords = 200
      mm = MM(c)
      names = ExploreConfiguration.names(instance.notifiers)
    }

    func makeDriver(_ role: ExploreConfiguration.Role, name: String) -> any Notifier {
      switch role {
      case .startEnd: CountingNotifier(symbol: "notifier_\(name)")
      case .refusing:
        ExploreRefusingNotifier(
          symbol: "refusing_\(name)", refusals: configuration.refusals, withEnd: false)
      case .refusingWithEnd:
        ExploreRefusingNotifier(
          symbol: "refusing_\(name)", refusals: configuration.refusals, withEnd: true)
      case .kvm: KVM(mm: mm, version: .v5_15, name: name)
      case .gru: GRU(mm: mm, name: name)
      case .kvmMainline: KVMMainline(mm: mm, name: name)
      case .driver(let id):
        ExploreDrivers.make(id, mm: mm, name: name) ?? CountingNotifier(symbol: "missing_\(id)")
      }
    }

    /// Registration, on the controller before any controlled thread runs:
    /// last to first, so the newest-first hlist reads in walk order.
    func setUp() {
      var subs: [Subscription] = []
      var drv: [any Notifier] = []
      for (i, role) in instance.notifiers.enumerated().reversed() {
        let driver = makeDriver(role, name: names[i])
        do {
          subs.append(try mm.register(driver))
          drv.append(driver)
        } catch {
          preconditionFailure("registering on a fresh explore mm failed: \(error)")
        }
      }
      subscriptions = subs.reversed()
      drivers = drv.reversed()
      let vma = mm.vmaRange(0)
      let roles = instance.intervals.isEmpty ? configuration.intervalRoles : instance.intervals
      intervalNames = ExploreConfiguration.intervalNames(roles)
      for (i, role) in roles.enumerated() {
        let driver = makeIntervalDriver(role, name: intervalNames[i])
        // the i-th from i pages in: the tree walk visits them in list order
        let start = vma.start + UInt(i) * 0x1000
        do {
          intervals.append(try mm.insertInterval(driver, start: start, length: vma.end - start))
          intervalDrivers.append(driver)
        } catch {
          preconditionFailure("inserting an interval on a fresh explore mm failed: \(error)")
        }
      }
    }

    func makeIntervalDriver(_ role: ExploreConfiguration.IntervalRole, name: String)
      -> any IntervalNotifier
    {
      switch role {
      case .plain: ExploreIntervalDriver(mm: mm)
      case .twoPass(let nowait):
        XeUserptr(mm: mm, name: name, busyFences: 1, refusesNonBlockable: !nowait)
      case .refusing: ExploreRefusingInterval(mm: mm, refusals: configuration.refusals)
      case .driver(let id):
        DriverRegistry.makeInterval(id, mm: mm, name: name) ?? ExploreIntervalDriver(mm: mm)
      }
    }

    func nameObjects() {
      for (i, sub) in subscriptions.enumerated() {
        mmn_xp_name(UnsafeRawPointer(bitPattern: sub.notifierAddress), names[i])
      }
      for (i, interval) in intervals.enumerated() {
        let name = intervalDrivers[i] is ExploreIntervalDriver ? "I\(i + 1)" : intervalNames[i]
        mmn_xp_name(UnsafeRawPointer(interval.ref.raw), name)
      }
    }

    func perform(_ op: ExploreConfiguration.Operation) {
      switch op {
      case .oomReap: mm.oomReap()
      case .munmap:
        let vma = mm.vmaRange(0)
        mm.munmap(start: vma.start, end: vma.end)
      case .zap:
        let vma = mm.vmaRange(0)
        let inv = Invalidation(mm, start: vma.start, end: vma.end, event: .clear)
        inv.start()
        inv.end()
        inv.retire()
      case .unregister(.notifier(let i)): subscriptions[i].unregister()
      case .put(.notifier(let i)): subscriptions[i].put()
      case .unregister(.each), .put(.each): break  // instances resolve these
      case .register(let role):
        let driver = makeDriver(role, name: "N")
        if let sub = try? mm.register(driver) {
          lateSubscriptions.withLock { $0.append((sub, driver)) }
        }
      case .intervalRemove(let i): intervals[i].remove()
      case .intervalInsert:
        let vma = mm.vmaRange(0)
        let driver = ExploreIntervalDriver(mm: mm)
        if let sub = try? mm.insertInterval(driver, start: vma.start, length: vma.end - vma.start) {
          lateIntervals.withLock { $0.append((sub, driver)) }
        }
      case .intervalFault(let i):
        switch intervalDrivers[i] {
        case let xe as XeUserptr: xe.repin(intervals[i])
        case let d as ExploreIntervalDriver: d.fault(intervals[i])
        case let r as ExploreRefusingInterval: r.fault(intervals[i])
        default: _ = intervals[i].readBegin()
        }
      case .memslotUpdate:
        if let kvm = drivers.first(where: { $0 is KVM }) as? KVM {
          _ = kvm.installNewMemslots()
        } else if let kvm = drivers.first(where: { $0 is KVMMainline }) as? KVMMainline {
          _ = kvm.setMemslot()
        }
      case .gruFault:
        _ = (drivers.first { $0 is GRU } as? GRU)?.fault()
      case .exitMmap: mm.exitMmap()
      case .steps(let n):
        for i in 0..<n { mmn_xp_driver_point("step", i) }
      case .objectSteps(let n, let object):
        for i in 0..<n { mmn_xp_object_point(object, i) }
      }
    }

    let lateSubscriptions = Mutex<[(Subscription, any Notifier)]>([])
    let lateIntervals = Mutex<[(IntervalSubscription, ExploreIntervalDriver)]>([])

    func execute(
      schedule: ExploreSchedule, policy: ExplorePolicy, recordTrace: Bool, maxSteps: Int
    ) -> ExploreOutcome {
      setUp()
      var config = mmn_xp_config()
      config.threads = UInt32(instance.operations.count)
      config.record_trace = recordTrace
      config.max_steps = UInt32(maxSteps)
      config.wall_timeout_ms = 20_000
      if case .pct(let priorities, let points) = policy {
        config.policy = Int32(MMN_XP_POLICY_PCT.rawValue)
        withUnsafeMutableBytes(of: &config.priorities) { raw in
          let p = raw.bindMemory(to: UInt32.self)
          for (i, v) in priorities.prefix(p.count).enumerated() { p[i] = v }
        }
        withUnsafeMutableBytes(of: &config.change_points) { raw in
          let p = raw.bindMemory(to: UInt.self)
          for (i, v) in points.prefix(p.count).enumerated() { p[i] = v }
        }
        config.change_point_count = UInt32(min(points.count, Int(MMN_XP_MAX_CHANGE_POINTS)))
      }
      let overrides = schedule.overrides.map {
        mmn_xp_override(decision: $0.decision, thread: $0.thread)
      }
      let sleepers = schedule.sleepers.map {
        mmn_xp_sleeper(decision: $0.decision, thread: $0.thread, step: $0.step.c)
      }
      config.prune = schedule.prune
      overrides.withUnsafeBufferPointer { buf in
        config.overrides = buf.baseAddress
        config.override_count = UInt32(buf.count)
        sleepers.withUnsafeBufferPointer { sb in
          config.sleepers = sb.baseAddress
          config.sleeper_count = UInt32(sb.count)
          mmn_xp_begin(&config)
        }
      }
      nameObjects()

      var threads: [KernelThread] = []
      for (i, op) in instance.operations.enumerated() {
        let name = op.threadName
        threads.append(
          KernelThread(name: name) { [self] in
            mmn_xp_attach(UInt32(i), name)
            perform(op)
            mmn_xp_detach()
          })
      }
      let status = mmn_xp_run()
      if status == Int32(MMN_XP_HARNESS_TIMEOUT.rawValue) {
        ExploreExecution.abandoned += threads
        var outcome = collect(status: status, recordTrace: recordTrace)
        outcome.harnessTimeout = true
        return outcome
      }
      for t in threads { t.join() }
      let outcome = collect(status: status, recordTrace: recordTrace)
      tearDown()
      return outcome
    }

    /// Undo what is left, uncontrolled (real waits, bounded by 20 ms).
    func tearDown() {
      for sub in subscriptions where sub.isRegistered { sub.unregister() }
      for (sub, _) in lateSubscriptions.withLock({ $0 }) where sub.isRegistered { sub.unregister() }
      for interval in intervals { interval.remove() }
      for (interval, _) in lateIntervals.withLock({ $0 }) { interval.remove() }
      // No srcu_barrier here: every call_srcu of the execution went to the
      // scheduler's SRCU worker, which ran them before mmn_xp_run returned,
      // and these unregisters and removes queue none. liburcu's own barrier
      // would only wait for other work in the process (another test's qsbr
      // callbacks), and was seen to wait forever behind it.
    }

    func collect(status: Int32, recordTrace: Bool) -> ExploreOutcome {
      var decisions: [ExploreDecision] = []
      let n = mmn_xp_decision_count()
      decisions.reserveCapacity(Int(n))
      var d = mmn_xp_decision()
      for i in 0..<n {
        mmn_xp_get_decision(i, &d)
        decisions.append(
          ExploreDecision(
            enabled: d.enabled, current: d.current_thread, pick: d.pick, preemption: d.preemption,
            sleep: d.sleep, step: ExploreFootprint(d.step)))
      }
      var outcome = ExploreOutcome(
        decisions: decisions, preemptions: Int(mmn_xp_preemptions()), steps: Int(mmn_xp_steps()),
        diverged: status == Int32(MMN_XP_DIVERGED.rawValue), harnessTimeout: false,
        violation: violation(status: status))
      let blocked = mmn_xp_sleep_blocked_at()
      if blocked != UInt32.max { outcome.sleepBlockedAt = Int(blocked) }
      if recordTrace {
        var buf = [CChar](repeating: 0, count: 512)
        for i in 0..<mmn_xp_event_count() {
          mmn_xp_format_event(i, &buf, UInt32(buf.count))
          outcome.trace.append(String(cString: buf))
        }
        outcome.kernelLog = mm.log.map(\.kernelForm)
      }
      return outcome
    }

    func firstRecord(_ kind: KernelLogRecord.Kind) -> String {
      mm.log.first { $0.kind == kind }.map { String($0.text.split(separator: "\n").first ?? "") }
        ?? ""
    }

    func blockedText() -> String {
      var buf = [CChar](repeating: 0, count: 1024)
      mmn_xp_format_blocked(&buf, UInt32(buf.count))
      return String(cString: buf).split(separator: "\n").joined(separator: "; ")
    }

    /// The invariants, read off the run's own records.
    func violation(status: Int32) -> (invariant: ExploreInvariant, detail: String)? {
      let log = mm.logCounts
      let ledger = mm.ledgerTotals
      if log.useAfterFree > 0 || ledger.poisonSeen > 0 {
        return (.useAfterFree, firstRecord(.kasan))
      }
      if log.bugs > 0 { return (.bug, firstRecord(.bug)) }
      switch status {
      case Int32(MMN_XP_DEADLOCK.rawValue): return (.deadlock, blockedText())
      case Int32(MMN_XP_HUNG.rawValue), Int32(MMN_XP_LIVELOCK.rawValue),
        Int32(MMN_XP_HARNESS_TIMEOUT.rawValue):
        return (.hung, blockedText())
      default: break
      }
      if log.hung > 0 { return (.hung, firstRecord(.hung)) }
      if ledger.missingEnds > 0 {
        return (.missingEnd, "\(ledger.missingEnds) successful start(s) never ended")
      }
      if ledger.endsWithoutStart > 0 {
        return (.endWithoutStart, "\(ledger.endsWithoutStart) end(s) with no successful start")
      }
      if ledger.duplicateEnds > 0 {
        return (.duplicateEnd, "\(ledger.duplicateEnds) second end(s) for one start")
      }
      if ledger.missingFinishes > 0 {
        return (.missingFinish, "\(ledger.missingFinishes) deferred start(s) never finished")
      }
      if ledger.duplicateFinishes > 0 {
        return (.duplicateFinish, "\(ledger.duplicateFinishes) finish(es) for no outstanding start")
      }
      if log.warnings > 0 { return (.warn, firstRecord(.warning)) }
      if let state = driverState() { return (.driverState, state) }
      return nil
    }

    /// Drivers still registered must be back at rest.
    func driverState() -> String? {
      var problems: [String] = []
      for (i, driver) in drivers.enumerated() where subscriptions[i].isRegistered {
        switch driver {
        case let k as KVM:
          if k.mmuNotifierCount != 0 {
            problems.append("\(names[i]): kvm->mmu_notifier_count = \(k.mmuNotifierCount)")
          }
          if k.activeInvalidateCount != 0 {
            problems.append(
              "\(names[i]): kvm->mn_active_invalidate_count = \(k.activeInvalidateCount)")
          }
        case let g as GRU:
          if g.msRangeActive != 0 {
            problems.append("\(names[i]): gms->ms_range_active = \(g.msRangeActive)")
          }
        case let c as CountingNotifier:
          if c.activeCount != 0 { problems.append("\(names[i]): \(c.activeCount) open start(s)") }
        case let s as any ExploreStatefulDriver:
          if let state = s.stateAtRest() { problems.append("\(names[i]): \(state)") }
        default: break
        }
      }
      for (i, driver) in intervalDrivers.enumerated() {
        if let s = driver as? any StatefulIntervalNotifier, let state = s.stateAtRest() {
          problems.append("\(intervalNames[i]): \(state)")
        }
      }
      let active = mm.activeInvalidateRanges
      if active != 0 { problems.append("subscriptions->active_invalidate_ranges = \(active)") }
      return problems.isEmpty ? nil : problems.joined(separator: "; ")
    }
  }
}

/// A driver that can say, after an execution, whether it is back at rest
/// (its counts zero, nobody waiting): nil when it is, else what is wrong.
public protocol ExploreStatefulDriver: Notifier {
  func stateAtRest() -> String?
}

// The drivers configurations name with `.driver(name)` live in
// `DriverRegistry` (Drivers/DriverRegistry.swift); `ExploreDrivers` is its alias.

/// The refusing role: start-only (or with an end), refuses its first
/// `refusals` non-blockable starts with -EAGAIN, accepts every other.
final class ExploreRefusingNotifier: Notifier, @unchecked Sendable {
  let callbacks: NotifierCallbacks
  let symbol: String
  private let refusals: Int
  private let refused = Atomic<Int>(0)

  init(symbol: String, refusals: Int, withEnd: Bool) {
    self.symbol = symbol
    self.refusals = refusals
    callbacks = withEnd ? .startAndEnd : [.invalidateRangeStart]
  }

  func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
    guard !range.isBlockable else { return 0 }
    if refused.load(ordering: .relaxed) < refusals {
      refused.add(1, ordering: .relaxed)
      return -EAGAIN
    }
    return 0
  }
}

/// The refusing interval role: refuses its first `refusals` non-blockable
/// invalidations ("would block"), sets the seq under its lock otherwise.
final class ExploreRefusingInterval: IntervalNotifier, @unchecked Sendable {
  let symbol = "refusing_interval"
  let lock: KernelSpinlock
  private let refusals: Int
  private let refused = Atomic<Int>(0)

  init(mm: MM, refusals: Int) {
    lock = KernelSpinlock(mm, name: "&driver->lock")
    self.refusals = refusals
  }

  func invalidate(_ interval: IntervalRef, range: NotifierRange, currentSeq: UInt) -> Bool {
    if !range.isBlockable && refused.load(ordering: .relaxed) < refusals {
      refused.add(1, ordering: .relaxed)
      return false
    }
    lock.withLock("driver_invalidate") { interval.setSeq(currentSeq) }
    return true
  }

  func fault(_ sub: IntervalSubscription) {
    for _ in 0..<3 {
      let seq = sub.readBegin()
      if !lock.withLock("driver_fault", { sub.readRetry(seq) }) { return }
    }
  }
}

/// An interval driver as the mm/ documentation describes one: invalidate
/// sets the seq under the driver's lock; a fault reads the seq, builds its
/// mapping, and commits under the same lock unless read_retry says an
/// invalidation collided (then tries again, at most three times).
final class ExploreIntervalDriver: IntervalNotifier, @unchecked Sendable {
  let symbol = "interval_driver"
  let lock: KernelSpinlock

  init(mm: MM) { lock = KernelSpinlock(mm, name: "&driver->lock") }

  func invalidate(_ interval: IntervalRef, range: NotifierRange, currentSeq: UInt) -> Bool {
    lock.withLock("driver_invalidate") { interval.setSeq(currentSeq) }
    return true
  }

  func fault(_ sub: IntervalSubscription) {
    for _ in 0..<3 {
      let seq = sub.readBegin()
      let retry = lock.withLock("driver_fault") { sub.readRetry(seq) }
      if !retry { return }
    }
  }
}
