import CSupport

/// A kernel spinlock (KVM's `mmu_lock`, `mn_invalidate_lock`), validated by
/// the mm's lock validator when it is on.
public final class KernelSpinlock: @unchecked Sendable {
  let raw: OpaquePointer
  let mm: MM
  public init(_ mm: MM, name: String) {
    self.mm = mm
    raw = mmn_spinlock_create(mm.raw, name)
  }
  deinit { mmn_spinlock_destroy(raw) }

  public func lock(_ site: StaticString = #function) {
    mmn_spin_lock(raw, Self.site(site))
  }
  public func unlock(_ site: StaticString = #function) { mmn_spin_unlock(raw, Self.site(site)) }

  @inline(__always)
  public func withLock<T>(_ site: StaticString = #function, _ body: () throws -> T) rethrows -> T {
    lock(site)
    defer { unlock(site) }
    return try body()
  }

  /// Static strings live for the whole run, as lockdep wants call sites to.
  @inline(__always)
  static func site(_ s: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
  }
}

/// A kernel `rw_semaphore` with bounded waits: an acquisition that would
/// hang returns false after the mm's deadline and logs who waits for what.
public final class KernelRWSemaphore: @unchecked Sendable {
  let raw: OpaquePointer
  let mm: MM
  /// `fair`: a reader queues behind a waiting writer, as the kernel's does.
  public init(_ mm: MM, name: String, fair: Bool = true) {
    self.mm = mm
    raw = mmn_rwsem_create(mm.raw, name, fair)
  }
  deinit { mmn_rwsem_destroy(raw) }

  public func downRead(_ site: StaticString = #function) -> Bool {
    mmn_down_read(raw, KernelSpinlock.site(site))
  }
  public func upRead(_ site: StaticString = #function) {
    mmn_up_read(raw, KernelSpinlock.site(site))
  }
  public func downWrite(_ site: StaticString = #function) -> Bool {
    mmn_down_write(raw, KernelSpinlock.site(site))
  }
  public func upWrite(_ site: StaticString = #function) {
    mmn_up_write(raw, KernelSpinlock.site(site))
  }
  public var waitingWriters: Int { Int(mmn_rwsem_waiting_writers(raw)) }
  public var waitingReaders: Int { Int(mmn_rwsem_waiting_readers(raw)) }
}

/// A lockdep map a driver acquires by hand, as kernel code annotates an
/// open-coded wait.
public final class LockdepMap: @unchecked Sendable {
  public enum Kind: Int32, Sendable {
    case exclusive = 0
    case shared = 1
    case sharedRecursive = 2
  }
  let raw: OpaquePointer
  public init(_ mm: MM, name: String) { raw = mmn_lockdep_map_create(mm.raw, name) }
  deinit { mmn_lockdep_map_destroy(raw) }
  public func acquire(_ kind: Kind, _ site: StaticString = #function) {
    mmn_lockdep_map_acquire(raw, kind.rawValue, KernelSpinlock.site(site))
  }
  public func release(_ site: StaticString = #function) {
    mmn_lockdep_map_release(raw, KernelSpinlock.site(site))
  }
}

/// A wait queue whose waits are bounded (`wait_event`, `rcuwait`).
public final class KernelWaitQueue: @unchecked Sendable {
  let raw: OpaquePointer
  let mm: MM
  public init(_ mm: MM) {
    self.mm = mm
    raw = mmn_waitqueue_create(mm.raw)
  }
  deinit { mmn_waitqueue_destroy(raw) }

  private final class Condition {
    let test: () -> Bool
    init(_ test: @escaping () -> Bool) { self.test = test }
  }

  /// Sleeps until `condition` holds; false (and a hung-task record) if the
  /// mm's deadline passes first. `condition` runs under the queue's lock,
  /// and `wakeUpAll` takes that lock, so no wake-up is lost.
  public func wait(for what: String, until condition: @escaping () -> Bool) -> Bool {
    let box = Condition(condition)
    return withExtendedLifetime(box) {
      what.withCString { text in
        mmn_wait_event(
          raw,
          { arg in Unmanaged<Condition>.fromOpaque(arg!)._withUnsafeGuaranteedRef { $0.test() } },
          Unmanaged.passUnretained(box).toOpaque(), text)
      }
    }
  }

  public func wakeUpAll() { mmn_wake_up_all(raw) }
  public var sleepers: Int { Int(mmn_waitqueue_sleepers(raw)) }
}
