import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A notifier in the role of a well-behaved end user (KVM- or GRU-like):
/// start never fails and raises a count, end lowers it, release is
/// implemented. Every callback is recorded by role name.
final class RoleNotifier: Notifier, @unchecked Sendable {
  let callbacks: NotifierCallbacks = [.invalidateRangeStart, .invalidateRangeEnd, .release]
  let role: String
  var symbol: String { "role_\(role)" }
  let trace: EventTrace
  private let open = Atomic<Int>(0)

  init(role: String, trace: EventTrace) {
    self.role = role
    self.trace = trace
  }

  /// Starts not yet ended.
  var active: Int { open.load(ordering: .acquiring) }

  func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
    trace.record("\(role).start")
    open.add(1, ordering: .relaxed)
    return 0
  }

  func invalidateRangeEnd(_ range: NotifierRange) {
    trace.record("\(role).end")
    open.subtract(1, ordering: .relaxed)
  }

  func release() { trace.record("\(role).release") }
}

/// A start-only notifier in the role of the one that refuses: -EAGAIN on
/// every non-blockable start. Its first start runs `hook` before answering,
/// which is where a scenario parks it while another thread acts.
final class RefusingRoleNotifier: Notifier, @unchecked Sendable {
  let callbacks: NotifierCallbacks = [.invalidateRangeStart]
  let role: String
  var symbol: String { "role_\(role)" }
  let trace: EventTrace
  private let hook: @Sendable () -> Void
  private let calls = Atomic<Int>(0)

  init(role: String, trace: EventTrace, firstStart hook: @escaping @Sendable () -> Void) {
    self.role = role
    self.trace = trace
    self.hook = hook
  }

  func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
    trace.record("\(role).start")
    if calls.add(1, ordering: .relaxed).newValue == 1 { hook() }
    return range.isBlockable ? 0 : -EAGAIN
  }
}
