#if canImport(Glibc)
  import Glibc
#endif

/// A sleeping lock on a pthread mutex: a kernel `struct mutex` where a
/// driver needs `mutex_trylock` (nouveau's `svmm->mutex`).
///
/// The harness uses pthread mutexes rather than `Synchronization.Mutex`
/// for all its Swift-side state: ThreadSanitizer intercepts pthread mutexes,
/// while `Mutex`'s Linux fast path lives in an uninstrumented library, so
/// TSan would see no happens-before through it and report every access it
/// guards as a race.
public final class KernelMutex: @unchecked Sendable {
  private let raw: UnsafeMutablePointer<pthread_mutex_t>

  public init() {
    raw = .allocate(capacity: 1)
    pthread_mutex_init(raw, nil)
  }

  deinit {
    pthread_mutex_destroy(raw)
    raw.deallocate()
  }

  public func lock() { pthread_mutex_lock(raw) }
  public func unlock() { pthread_mutex_unlock(raw) }
  public func tryLock() -> Bool { pthread_mutex_trylock(raw) == 0 }
}

/// A value that several threads share, behind a `KernelMutex`.
public final class Locked<Value>: @unchecked Sendable {
  private let mutex = KernelMutex()
  private var value: Value

  public init(_ value: Value) { self.value = value }

  public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
    mutex.lock()
    defer { mutex.unlock() }
    return try body(&value)
  }
}
