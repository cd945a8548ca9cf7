import CSupport
import Synchronization

/// `mmu_notifier_put` while an invalidation walks the list: the put unlinks
/// the subscription at once and frees it only after a grace period
/// (`call_srcu`, since v5.4's mmu_notifier_get/put), so the walk that was
/// already inside can never reach freed memory. A variant that frees at
/// once (test-early-free) is reported by the grace-period check, whether
/// or not the walk then touches the freed subscription.
public struct PutDuringInvalidation: CoreVariantScenario {
  public let id = "put-during-invalidation"
  public let origin =
    "mm/mmu_notifier.c mmu_notifier_put (v5.11): the free waits for a grace period"
  public let setup =
    "two start+end notifiers; a munmap's start parks in the first while the second is put, then goes on"
  public let claim =
    "every variant defers the free behind the walk (paired); a variant that frees at once is a use after free"

  public init() {}

  public func run(variant: Variant, context: ScenarioContext) -> ScenarioResult {
    mmn_gp_check_enable()
    let rig = ScenarioRig(scenario: id, variant: variant, context: context, vmas: 1)
    defer { rig.tearDown() }
    let mm = rig.mm
    let entered = KernelSemaphore()
    let release = KernelSemaphore()
    let gate = ParkingNotifier(entered: entered, release: release)
    let victim = CountingNotifier(symbol: "put_victim")
    // the gate walked first, whatever order the variant keeps its list in
    let subs = rig.register(inTraversalOrder: [gate, victim])
    let vma = rig.vma(0)
    let walker = KernelThread(name: "munmap") { mm.munmap(start: vma.start, end: vma.end) }
    let parked = entered.wait(milliseconds: context.gateTimeoutMilliseconds)
    KernelThread.run(name: "put") { subs[1].put() }
    release.signal()
    walker.join()
    if !parked { rig.driverHung = true }
    mm.barrier()
    return rig.result([.bool("walk_was_inside", parked)])
  }
}

/// Start parks until released (bounded), the walk standing on it.
final class ParkingNotifier: Notifier, @unchecked Sendable {
  let callbacks: NotifierCallbacks = .startAndEnd
  let symbol = "parking_notifier"
  let entered: KernelSemaphore
  let release: KernelSemaphore
  private let first = Atomic<Bool>(true)

  init(entered: KernelSemaphore, release: KernelSemaphore) {
    self.entered = entered
    self.release = release
  }

  func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
    if first.exchange(false, ordering: .relaxed) {
      entered.signal()
      _ = release.wait()
    }
    return 0
  }

  func invalidateRangeEnd(_ range: NotifierRange) {}
}
