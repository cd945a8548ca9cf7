import CSupport
import Synchronization

/// Where a stress thread is: the kernel entry point it is in, or the wait
/// it sits in. Kept per thread so that a run the watchdog ends can name
/// each thread's last point, as the kernel's hung-task report names what a
/// blocked task waits on.
public enum StressPoint: Int, Sendable, CaseIterable {
  case starting = 0
  case munmap
  case startNonblock
  case end
  case readBegin
  case oomReap
  case register
  case unregister
  case put
  case intervalInsert
  case intervalRemove
  case teardown
  case barrier
  case idle
  case done

  /// The function (or wait) the point stands for, as a report prints it.
  public var function: String {
    switch self {
    case .starting: "(starting)"
    case .munmap: "munmap: mmu_notifier_invalidate_range_start/end under mmap_lock"
    case .startNonblock: "__oom_reap_task_mm: mmu_notifier_invalidate_range_start_nonblock"
    case .end: "mmu_notifier_invalidate_range_end"
    case .readBegin: "mmu_interval_read_begin (waits for an invalidation to end)"
    case .oomReap: "__oom_reap_task_mm (the variant's OOM reaper)"
    case .register: "mmu_notifier_register"
    case .unregister: "mmu_notifier_unregister (synchronize_srcu)"
    case .put: "mmu_notifier_put"
    case .intervalInsert: "mmu_interval_notifier_insert"
    case .intervalRemove: "mmu_interval_notifier_remove (waits for the invalidation)"
    case .teardown: "teardown: removing the remaining intervals"
    case .barrier: "srcu_barrier (waiting for every deferred free)"
    case .idle: "(between operations)"
    case .done: "(finished)"
    }
  }
}

/// One thread's slot: its name, its point and since when (relaxed stores,
/// two per operation; read only when a report is due).
public final class StressPointSlot: Sendable {
  public let name: String
  private let point = Atomic<Int>(StressPoint.starting.rawValue)
  private let since = Atomic<UInt64>(mmn_now_ns())
  private let operations = Atomic<Int>(0)

  init(name: String) { self.name = name }

  @inline(__always)
  func enter(_ p: StressPoint) {
    point.store(p.rawValue, ordering: .relaxed)
    since.store(mmn_now_ns(), ordering: .relaxed)
    operations.add(1, ordering: .relaxed)
  }

  /// `name: point (for N ms, after M operations)`.
  public func line(now: UInt64 = mmn_now_ns()) -> String {
    let p = StressPoint(rawValue: point.load(ordering: .relaxed)) ?? .starting
    let ms = (now &- since.load(ordering: .relaxed)) / 1_000_000
    return
      "\(name): \(p.function) (for \(ms) ms, after \(operations.load(ordering: .relaxed)) operations)"
  }

  public var current: StressPoint {
    StressPoint(rawValue: point.load(ordering: .relaxed)) ?? .starting
  }
}

/// Every stress thread's slot, and the request to stop early (SIGINT,
/// SIGTERM): shared by the run and whoever watches it.
public final class StressWatch: Sendable {
  private let slots = Locked<[StressPointSlot]>([])
  private let stopSignal = Atomic<Int32>(0)

  public init() {}

  func slot(_ name: String) -> StressPointSlot {
    let s = StressPointSlot(name: name)
    slots.withLock { $0.append(s) }
    return s
  }

  public var all: [StressPointSlot] { slots.withLock { $0 } }

  /// Asks the workers to stop now; `signal` is what the report says stopped it.
  public func requestStop(signal: Int32) {
    _ = stopSignal.compareExchange(expected: 0, desired: signal, ordering: .relaxed)
  }

  /// The signal that stopped the run early, or 0.
  public var stoppedBy: Int32 { stopSignal.load(ordering: .relaxed) }

  @inline(__always)
  var stopRequested: Bool { stopSignal.load(ordering: .relaxed) != 0 }

  /// One line per thread, kernel style.
  public func report() -> [String] {
    let now = mmn_now_ns()
    return all.map { $0.line(now: now) }
  }
}
