import Foundation
import MMUNotifierHarness
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// An ordered log of events recorded from several threads.
final class EventLog: Sendable {
  private let events = Locked<[String]>([])
  func record(_ e: String) { events.withLock { $0.append($0.isEmpty ? e : e) } }
  var all: [String] { events.withLock { $0 } }
  func index(of e: String) -> Int? { all.firstIndex(of: e) }
}

/// A notifier that records every callback by name and can be told what to
/// return from start, and to block in start until released.
final class RecordingNotifier: Notifier, @unchecked Sendable {
  let name: String
  let callbacks: NotifierCallbacks
  var symbol: String { "\(name)_notifier" }
  let log: EventLog
  let startResult: Int32
  let failOnlyNonblock: Bool
  /// When set, start signals `entered` and waits on `release` (bounded).
  var gate: (entered: KernelSemaphore, release: KernelSemaphore)?
  let active = Atomic<Int>(0)

  init(
    _ name: String, log: EventLog, callbacks: NotifierCallbacks = .startAndEnd,
    startResult: Int32 = 0, failOnlyNonblock: Bool = true
  ) {
    self.name = name
    self.log = log
    self.callbacks = callbacks
    self.startResult = startResult
    self.failOnlyNonblock = failOnlyNonblock
  }

  func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
    log.record("\(name).start")
    if let gate {
      gate.entered.signal()
      gate.release.wait(milliseconds: 5000)
      log.record("\(name).resumed")
    }
    let fails = startResult != 0 && (!failOnlyNonblock || !range.isBlockable)
    if !fails { active.add(1, ordering: .relaxed) }
    return fails ? startResult : 0
  }

  func invalidateRangeEnd(_ range: NotifierRange) {
    log.record("\(name).end")
    active.subtract(1, ordering: .relaxed)
  }

  func release() { log.record("\(name).release") }
}

/// An interval notifier that records its calls and the seq it was given.
final class RecordingInterval: IntervalNotifier, @unchecked Sendable {
  let symbol = "recording_interval"
  let log: EventLog
  let refuseNonblock: Bool
  let lastSeq = Atomic<UInt>(0)

  init(log: EventLog, refuseNonblock: Bool = false) {
    self.log = log
    self.refuseNonblock = refuseNonblock
  }

  func invalidate(_ interval: IntervalRef, range: NotifierRange, currentSeq: UInt) -> Bool {
    log.record("interval.invalidate")
    if refuseNonblock && !range.isBlockable { return false }
    interval.setSeq(currentSeq)
    lastSeq.store(currentSeq, ordering: .relaxed)
    return true
  }
}

/// Runs `body` on an owned OS thread (RCU work never runs on the pool).
@discardableResult
func onKernelThread<T: Sendable>(_ name: String = "test", _ body: @escaping @Sendable () -> T) -> T
{
  KernelThread.run(name: name, body)
}
