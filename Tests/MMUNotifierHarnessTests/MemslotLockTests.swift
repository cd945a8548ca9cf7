import MMUNotifierHarness
import Testing

@Suite("Seed 004: memslot blocking, the rwsem deadlock and the open-coded wait")
struct MemslotLockTests {
  /// With the pseudo-lock made a real lock, only the fair rwsem deadlocks;
  /// the bounded waits break it and every thread returns balanced.
  @Test(arguments: [KVMVersion.v5_14, .rwsem, .v5_15], [true, false])
  func forcedInterleaving(version: KVMVersion, pseudoLockIsReal: Bool) {
    let r = ForcedMemslotDeadlock.run(
      version: version, pseudoLockIsReal: pseudoLockIsReal, hungTimeoutMilliseconds: 300)
    let dump = r.log.map(\.kernelForm).joined(separator: "\n")
    let expectDeadlock = version == .rwsem && pseudoLockIsReal
    #expect(r.deadlocked == expectDeadlock, "\(dump)")
    #expect(r.hung == expectDeadlock)
    if !expectDeadlock { #expect(r.memslotsInstalled) }
    #expect(r.threadsLeftBlocked == 0)
    #expect(r.mmuNotifierCount == 0)
    #expect(r.activeInvalidateCount == 0)
    #expect(r.ledger.isPaired)
    // The validator predicts the cycle in kernel mode too, where nothing blocks.
    #expect(r.lockCycles == (version == .rwsem ? 1 : 0))
    if expectDeadlock {
      #expect(r.waitFor.count == 4)
      // Whichever of the cycle's waits expired first names what it waited
      // on and who held it.
      let hung = r.log.first { $0.kind == .hung }
      switch hung?.comm {
      case "kvm-memslots":
        #expect(hung?.text.contains("&kvm->mmu_notifier_slots_lock (write)") == true)
        #expect(hung?.text.contains("(read); writers waiting: 1, readers waiting: 1") == true)
      case "qemu-A":
        #expect(hung?.text.contains("mmu_notifier_invalidate_range_start") == true)
        #expect(hung?.text.contains("held by qemu-B:") == true)
      case "qemu-B":
        #expect(hung?.text.contains("&kvm->mmu_notifier_slots_lock (read)") == true)
      default:
        Issue.record("the first hung task is no participant: \(hung?.comm ?? "none")")
      }
    } else {
      #expect(r.waitFor.isEmpty)
    }
  }

  /// The same deadlock twice in one process: nothing from the first run
  /// (a blocked thread, a held lock) gets in the second's way.
  @Test func deadlockRunsTwiceInOneProcess() {
    for _ in 0..<2 {
      let r = ForcedMemslotDeadlock.run(
        version: .rwsem, pseudoLockIsReal: true, hungTimeoutMilliseconds: 200)
      #expect(r.deadlocked)
      #expect(r.threadsLeftBlocked == 0)
      #expect(r.ledger.isPaired)
    }
  }

  /// `compare --scenario kvm-memslot-lock`: the issue's table, asserted on
  /// the measured values.
  @Test func scenarioResults() {
    let scenario = KVMMemslotLockScenario()
    let context = ScenarioContext(seed: 7, hungTimeoutMilliseconds: 1000)
    #expect(scenario.targets == ["kvm-v5.14", "kvm-rwsem", "kvm-v5.15"])
    var results: [String: ScenarioMetrics] = [:]
    for target in scenario.targets ?? [] {
      results[target] =
        KernelThread.run(name: "compare") { scenario.run(target: target, context: context) }.metrics
    }
    let rwsem = results["kvm-rwsem"]!
    #expect(rwsem.lockCycles >= 1)
    #expect(rwsem["deadlocked"] == 1)
    #expect(rwsem.hung == false, "in kernel mode nothing blocks for good")
    for target in ["kvm-v5.14", "kvm-v5.15"] {
      let m = results[target]!
      #expect(m.lockCycles == 0, "\(target)")
      #expect(m["deadlocked"] == 0, "\(target)")
    }
    #expect(results["kvm-v5.14"]!.hung == false)
    #expect(results["kvm-v5.15"]!.hung == false)
    #expect(results["kvm-v5.14"]!["memslot_wait_us_max"] == nil, "v5.14 never waits")
    for target in ["kvm-rwsem", "kvm-v5.15"] {
      let m = results[target]!
      let median = m["memslot_wait_us_median"] ?? -1
      let maximum = m["memslot_wait_us_max"] ?? -1
      #expect(median >= 0 && maximum >= median, "\(target)")
      #expect(m["memslot_updates"] == Int64(KVMMemslotLockScenario.starvationUpdates))
      #expect((m["concurrent_invalidations"] ?? 0) > 0, "\(target)")
    }
    for (target, m) in results {
      #expect(m["threads_left_blocked"] == 0, "\(target)")
      #expect(m.missingEnds == 0 && m.endsWithoutStart == 0 && m.duplicateEnds == 0, "\(target)")
      #expect(m.bugs == 0, "\(target)")
    }
  }

  /// The starvation run by itself: every update is timed, and the updates
  /// really did overlap invalidations.
  @Test func memslotWaitUnderContinuousInvalidations() {
    let m = MemslotStarvation.measure(
      updates: 20, invalidators: 3, hungTimeoutMilliseconds: 2000,
      random: SeededRandom(seed: 42))
    #expect(m.waitsMicroseconds.count == 20)
    #expect(m.starvedUpdates == 0)
    #expect(m.invalidations > 0)
    #expect(m.lockCycles == 0)
    #expect(m.ledger.isPaired)
  }
}
