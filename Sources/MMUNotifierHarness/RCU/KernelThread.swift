import CSupport

#if canImport(Glibc)
  import Glibc
#endif

/// An OS thread owned by the harness, for everything that touches RCU.
///
/// liburcu registers readers per OS thread, so RCU work never runs on the
/// Swift concurrency pool or across an `await`. The thread registers with a
/// flavour on its first read-side section and unregisters when it exits.
public final class KernelThread: @unchecked Sendable {
  private var thread: pthread_t
  private var joined = false

  private final class Start {
    let name: String
    let body: @Sendable () -> Void
    init(name: String, body: @escaping @Sendable () -> Void) {
      self.name = name
      self.body = body
    }
  }

  /// Starts `body` on a new thread whose `comm` (as logs print it) is `name`.
  public init(name: String, _ body: @escaping @Sendable () -> Void) {
    let start = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
    var tid = pthread_t()
    let rc = pthread_create(
      &tid, nil,
      { raw in
        let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
        mmn_task_set_comm(start.name)
        start.body()
        return nil
      }, start)
    precondition(rc == 0, "pthread_create failed: \(rc)")
    thread = tid
  }

  /// Waits for the thread to finish.
  public func join() {
    guard !joined else { return }
    joined = true
    pthread_join(thread, nil)
  }

  deinit { join() }

  /// Runs `body` on a new owned thread and waits for it: the synchronous
  /// way for tests and commands to do RCU work off the concurrency pool.
  @discardableResult
  public static func run<T: Sendable>(name: String, _ body: @escaping @Sendable () -> T) -> T {
    let result = ResultBox<T>()
    KernelThread(name: name) { result.value = body() }.join()
    return result.value!
  }
}

/// A value handed from one thread to another across a join.
final class ResultBox<T>: @unchecked Sendable {
  var value: T?
}

/// A counting semaphore for forcing interleavings between owned threads.
/// Every wait is bounded: a wait that times out returns false.
public final class KernelSemaphore: @unchecked Sendable {
  private var sem = sem_t()

  public init(_ value: Int = 0) { sem_init(&sem, 0, UInt32(value)) }
  deinit { sem_destroy(&sem) }

  public func signal() { sem_post(&sem) }

  /// Waits at most `milliseconds`; false if it timed out.
  @discardableResult
  public func wait(milliseconds: Int = 10_000) -> Bool {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    let ns = Int(ts.tv_nsec) + (milliseconds % 1000) * 1_000_000
    ts.tv_sec += milliseconds / 1000 + ns / 1_000_000_000
    ts.tv_nsec = ns % 1_000_000_000
    while sem_timedwait(&sem, &ts) != 0 {
      if errno != EINTR { return false }
    }
    return true
  }
}
