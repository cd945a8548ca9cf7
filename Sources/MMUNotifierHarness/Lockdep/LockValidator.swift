import CSupport

/// The harness's lock-dependency validator (`CSupport/harness/lockdep.c`),
/// lockdep's core idea: one class per lock name, an edge "B taken while A
/// held" from every thread into one graph per mm, and a report the moment
/// a new edge closes a cycle, whether or not any thread blocks.
///
/// It is switched on per mm (`MM.Configuration.lockdep`) and then sees every
/// lock the harness models: `mmap_lock`, the subscriptions lock, the
/// pseudo-lock `mmu_notifier_invalidate_range_start`, and every
/// `KernelSpinlock`, `KernelRWSemaphore` and `LockdepMap` a driver makes.
/// Acquisitions carry lockdep's kinds (write, read, recursive read) and a
/// cycle counts only if it is "strong" (the v5.11 rule: no recursive-read
/// edge followed by one whose holder held its lock shared), so Paolo's
/// unfair readers count is not a false positive while the fair rwsem is.
public enum LockValidator {
  /// The C self test (AB/BA, a three-lock cycle, recursive reads, a
  /// 200-lock chain, and more). nil when it passes, else the number of the
  /// first failed check.
  public static func runSelfTest() -> Int? {
    let rc = mmn_selftest_lockdep()
    return rc == 0 ? nil : Int(rc)
  }
}

extension MM {
  /// The validator's reports in this mm, oldest first, each one splat.
  public var lockdepReports: [KernelLogRecord] { log.filter { $0.kind == .lockdep } }

  /// The hung-task records of this mm's bounded waits, oldest first.
  public var hungTaskReports: [KernelLogRecord] { log.filter { $0.kind == .hung } }
}
