import MMUNotifierHarness
import Testing

/// The validator on its own: exact counts, reports that name both locks and
/// both call paths, and the same text on every run. Threads run one at a
/// time (start, join), so no test ever blocks; lockdep needs no blocking.
@Suite("Lock validator")
struct LockValidatorTests {
  @Test func cSelfTestPasses() {
    #expect(LockValidator.runSelfTest() == nil)
  }

  /// Thread one takes A then B, thread two B then A: one cycle, reported
  /// when the second edge appears, naming both locks and both paths.
  @Test func abbaIsOneCycle() {
    let mm = MM(lockdep: true)
    let a = KernelSpinlock(mm, name: "lock_A")
    let b = KernelSpinlock(mm, name: "lock_B")
    takeInOrder(mm, thread: "path-ab", a, "take_a_first", b, "then_b")
    #expect(mm.lockCycles == 0, "one order alone is no cycle")
    takeInOrder(mm, thread: "path-ba", b, "take_b_first", a, "then_a")
    #expect(mm.lockCycles == 1)
    let reports = mm.lockdepReports
    #expect(reports.count == 1)
    let text = reports.first?.text ?? ""
    #expect(text.contains("WARNING: possible circular locking dependency detected"))
    #expect(text.contains("path-ba/"), "the task that closed the cycle")
    #expect(text.contains("is trying to acquire lock:\n(lock_A)"))
    #expect(text.contains("but task is already holding lock:\n(lock_B)"))
    for site in ["take_a_first", "then_b", "take_b_first", "then_a"] {
      #expect(text.contains(site), "call path \(site) is named")
    }
    #expect(text.contains("[path-ab]"), "the edge's task is named")

    // The same cycle again is not a new one.
    takeInOrder(mm, thread: "path-ba", b, "take_b_first", a, "then_a")
    takeInOrder(mm, thread: "path-ab", a, "take_a_first", b, "then_b")
    #expect(mm.lockCycles == 1)
    #expect(mm.lockdepReports.count == 1)
  }

  /// Deterministic: two independent runs print the same report, once the
  /// thread ids are masked.
  @Test func reportIsDeterministic() {
    func once() -> String {
      let mm = MM(lockdep: true)
      let a = KernelSpinlock(mm, name: "lock_A")
      let b = KernelSpinlock(mm, name: "lock_B")
      takeInOrder(mm, thread: "path-ab", a, "take_a_first", b, "then_b")
      takeInOrder(mm, thread: "path-ba", b, "take_b_first", a, "then_a")
      return maskTIDs(mm.lockdepReports.map(\.text).joined(separator: "\n"))
    }
    let first = once()
    #expect(!first.isEmpty)
    #expect(once() == first)
  }

  /// A -> B, B -> C, C -> A over three threads: only the third edge closes
  /// the cycle, and the report prints the chain.
  @Test func threeLockCycle() {
    let mm = MM(lockdep: true)
    let a = KernelSpinlock(mm, name: "lock_A")
    let b = KernelSpinlock(mm, name: "lock_B")
    let c = KernelSpinlock(mm, name: "lock_C")
    takeInOrder(mm, thread: "t-ab", a, "ab_a", b, "ab_b")
    takeInOrder(mm, thread: "t-bc", b, "bc_b", c, "bc_c")
    #expect(mm.lockCycles == 0)
    takeInOrder(mm, thread: "t-ca", c, "ca_c", a, "ca_a")
    #expect(mm.lockCycles == 1)
    let text = mm.lockdepReports.first?.text ?? ""
    #expect(text.contains("Chain exists of:\n  lock_A --> lock_B --> lock_C"))
    #expect(text.contains("-> #2 (lock_C)"))
    #expect(text.contains("-> #1 (lock_B)"))
    #expect(text.contains("-> #0 (lock_A)"))
  }

  /// Recursive readers do not wait for a writer, so "X inside R, R inside
  /// X" is no deadlock when R is taken as a recursive read (Paolo's readers
  /// count); the same order with a plain, fair read side is one.
  @Test(arguments: [LockdepMap.Kind.sharedRecursive, .shared])
  func readersAgainstExclusiveLock(kind: LockdepMap.Kind) {
    let mm = MM(lockdep: true)
    let readers = LockdepMap(mm, name: "readers")
    let x = KernelSpinlock(mm, name: "lock_X")
    onKernelThread("reader-then-x") {
      readers.acquire(kind, "reader_side")
      x.lock("x_inside_reader")
      x.unlock("x_inside_reader")
      readers.release("reader_side")
    }
    onKernelThread("x-then-reader") {
      x.lock("x_outside")
      readers.acquire(kind, "reader_inside_x")
      readers.release("reader_inside_x")
      x.unlock("x_outside")
    }
    let expected = kind == .sharedRecursive ? 0 : 1
    #expect(mm.lockCycles == expected)
    #expect(mm.lockdepReports.count == expected)
  }

  /// A recursive read inside a read hold of the same class is fine; a
  /// plain read inside a read hold can deadlock behind a queued writer.
  @Test(arguments: [LockdepMap.Kind.sharedRecursive, .shared])
  func nestedReadsOfOneClass(kind: LockdepMap.Kind) {
    let mm = MM(lockdep: true)
    let readers = LockdepMap(mm, name: "readers")
    onKernelThread("nested-reader") {
      readers.acquire(.shared, "outer")
      readers.acquire(kind, "inner")
      readers.release("inner")
      readers.release("outer")
    }
    let reports = mm.lockdepReports
    #expect(reports.count == (kind == .sharedRecursive ? 0 : 1))
    if kind == .shared {
      #expect(reports.first?.text.contains("possible recursive locking detected") == true)
    }
  }

  /// L0 -> L1 -> ... -> L199 is a long chain, not a cycle; the edge back
  /// from L199 to L0 closes one, found across all 200 classes.
  @Test func longChainHasNoCycleUntilClosed() {
    let mm = MM(lockdep: true)
    let locks = (0..<200).map { KernelSpinlock(mm, name: "chain_\($0)") }
    onKernelThread("chain") {
      for i in 0..<(locks.count - 1) {
        locks[i].lock("chain_outer")
        locks[i + 1].lock("chain_inner")
        locks[i + 1].unlock("chain_inner")
        locks[i].unlock("chain_outer")
      }
    }
    #expect(mm.lockCycles == 0)
    #expect(mm.lockdepReports.isEmpty)
    takeInOrder(mm, thread: "closer", locks[199], "chain_end", locks[0], "chain_start")
    #expect(mm.lockCycles == 1)
  }

  /// Off means off: the same AB/BA records nothing.
  @Test func validatorOffRecordsNothing() {
    let mm = MM(lockdep: false)
    let a = KernelSpinlock(mm, name: "lock_A")
    let b = KernelSpinlock(mm, name: "lock_B")
    takeInOrder(mm, thread: "path-ab", a, "take_a_first", b, "then_b")
    takeInOrder(mm, thread: "path-ba", b, "take_b_first", a, "then_a")
    #expect(mm.lockCycles == 0)
    #expect(mm.lockdepReports.isEmpty)
  }

  /// The harness's own locks: a start/end pair through the v5.11 core with
  /// KVM (every version) under the validator. Only the rwsem version makes
  /// the pseudo-lock cycle, on one thread, with nothing ever blocking.
  @Test(arguments: KVMVersion.allCases)
  func kvmStartEndPairUnderValidator(version: KVMVersion) {
    onKernelThread("qemu-system-x86") {
      let mm = MM(lockdep: true)
      let kvm = KVM(mm: mm, version: version)
      let sub = try! mm.register(kvm)
      mm.munmap(start: 0, end: 0x1000)
      #expect(kvm.installNewMemslots())
      let expected = version == .rwsem ? 1 : 0
      #expect(mm.lockCycles == expected)
      if version == .rwsem {
        let text = mm.lockdepReports.first?.text ?? ""
        #expect(text.contains("is trying to acquire lock:\n(mmu_notifier_invalidate_range_start)"))
        #expect(
          text.contains("but task is already holding lock:\n(&kvm->mmu_notifier_slots_lock){.+.+}"))
        #expect(text.contains("kvm_mmu_notifier_invalidate_range_start"))
      }
      sub.unregister()
    }
  }
}

/// On a thread of its own named `thread`: take `first`, then `second`,
/// release both.
private func takeInOrder(
  _ mm: MM, thread: String, _ first: KernelSpinlock, _ firstSite: StaticString,
  _ second: KernelSpinlock, _ secondSite: StaticString
) {
  onKernelThread(thread) {
    first.lock(firstSite)
    second.lock(secondSite)
    second.unlock(secondSite)
    first.unlock(firstSite)
  }
}

/// "task/1234" -> "task/<tid>"
private func maskTIDs(_ text: String) -> String {
  var out = ""
  var i = text.startIndex
  while i < text.endIndex {
    let ch = text[i]
    out.append(ch)
    i = text.index(after: i)
    if ch == "/" {
      var j = i
      while j < text.endIndex, text[j].isNumber { j = text.index(after: j) }
      if j != i {
        out += "<tid>"
        i = j
      }
    }
  }
  return out
}
