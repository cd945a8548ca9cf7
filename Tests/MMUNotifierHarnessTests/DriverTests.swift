import MMUNotifierHarness
import Synchronization
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Short deadlines: a wait that is meant to hang is reported after this.
private let hungMS: UInt32 = 150

/// One non-blockable invalidation of [start, end), the OOM reaper's way:
/// end only if start succeeded.
@discardableResult
private func reaperRange(_ mm: MM, _ start: UInt, _ end: UInt) -> Int32 {
  let inv = Invalidation(mm, start: start, end: end)
  let ret = inv.startNonblock()
  if ret == 0 { inv.end() }
  inv.retire()
  return ret
}

/// munmap's way: blockable start, end regardless.
private func munmapRange(_ mm: MM, _ start: UInt, _ end: UInt) {
  let inv = Invalidation(mm, start: start, end: end)
  inv.start()
  inv.end()
  inv.retire()
}

@Suite("Drivers: GRU, i915, nouveau, flaky, hfi1")
struct DriverTests {
  @Test func gruCountsRangesAndItsFaultWaitsForZero() {
    onKernelThread {
      // This fault must not expire: a deadline far past any scheduling delay.
      let mm = MM(hungTimeoutMilliseconds: 10_000)
      let gru = GRU(mm: mm)
      let sub = try! mm.register(gru)
      let inv = Invalidation(mm, start: 0, end: 0x1000)
      #expect(inv.startNonblock() == 0, "gru_invalidate_range_start never fails")
      #expect(gru.msRangeActive == 1)
      // A fault while the range is active sleeps until end wakes it.
      let entered = KernelSemaphore()
      let faulter = KernelThread(name: "gru_user") {
        entered.signal()
        #expect(gru.fault(), "the fault completes once end drops ms_range_active to 0")
      }
      entered.wait()
      inv.end()
      inv.retire()
      faulter.join()
      #expect(gru.msRangeActive == 0)
      #expect(mm.logCounts.hung == 0)
      sub.unregister()
    }
  }

  @Test func gruFaultHangsWhileAStartIsLeftOpenAndReturnsAtTheDeadline() {
    onKernelThread {
      let mm = MM(hungTimeoutMilliseconds: hungMS)
      let gru = GRU(mm: mm)
      let sub = try! mm.register(gru)
      let inv = Invalidation(mm, start: 0, end: 0x1000)
      inv.startNonblock()
      inv.retire()  // the caller skipped end
      let before = monotonicMS()
      #expect(!gru.fault(), "bounded: the fault gives up instead of sleeping forever")
      #expect(monotonicMS() - before < 10 * Int(hungMS))
      #expect(mm.logCounts.hung == 1)
      #expect(mm.log.contains { $0.kind == .hung && $0.text.contains("gru_user_dropin") })
      sub.unregister()
    }
  }

  @Test func gruSecondEndDrivesTheCountNegativeAndTheFaultNeverPasses() {
    onKernelThread {
      let mm = MM(hungTimeoutMilliseconds: hungMS)
      let gru = GRU(mm: mm)
      let sub = try! mm.register(gru, ledger: false)
      let inv = Invalidation(mm, start: 0, end: 0x1000)
      inv.start()
      inv.end()
      inv.end()
      inv.retire()
      #expect(gru.msRangeActive == -1)
      #expect(!gru.fault())
      sub.unregister()
    }
  }

  @Test func flakyRefusesEveryPeriodthNonblockingStartFromItsFirstFailure() {
    onKernelThread {
      let mm = MM()
      let flaky = Flaky(period: 3, firstFailure: 2)
      let sub = try! mm.register(flaky)
      let results = (0..<8).map { _ in reaperRange(mm, 0, 0x1000) }
      #expect(results == [0, -EAGAIN, 0, 0, -EAGAIN, 0, 0, -EAGAIN])
      munmapRange(mm, 0, 0x1000)
      #expect(flaky.failures == 3, "a blockable start is never refused")
      #expect(flaky.nonblockingStarts == 8)
      #expect(flaky.callbacks == [.invalidateRangeStart])
      sub.unregister()
    }
  }

  @Test func i915RefusesOnlyNonblockingRangesOverAnObject() {
    onKernelThread {
      let mm = MM()
      let i915 = I915Userptr()
      i915.addObject(start: 0x10000, length: 0x1000)
      let sub = try! mm.register(i915)
      #expect(reaperRange(mm, 0, 0x1000) == 0, "no object overlaps")
      #expect(reaperRange(mm, 0x10000, 0x20000) == -EAGAIN)
      munmapRange(mm, 0x10000, 0x20000)
      #expect(i915.unboundObjects == 1, "a blockable range unbinds the object")
      #expect(mm.logCounts.warnings == 0)
      sub.unregister()
    }
  }

  @Test func i915UnbindErrorInABlockableRangeTripsTheCoreWarn() {
    onKernelThread {
      let mm = MM()
      let i915 = I915Userptr(unbindError: I915Userptr.pagesPinned)
      i915.addObject(start: 0x10000, length: 0x1000)
      let sub = try! mm.register(i915)
      munmapRange(mm, 0x10000, 0x11000)
      #expect(I915Userptr.pagesPinned == -EBUSY)
      #expect(mm.logCounts.warnings == 1)
      #expect(
        mm.log.contains {
          $0.text
            == "userptr_mn_invalidate_range_start callback failed with -16 in blockable context."
        })
      sub.unregister()
    }
  }

  @Test func nouveauHlistRefusesNonblockingRangesAndItsIntervalSetsTheSeq() {
    onKernelThread {
      let mm = MM()
      let svmm = NouveauSVMM()
      let sub = try! mm.register(svmm)
      let interval = try! mm.insertInterval(svmm.rangeNotifier(), start: 0x10000, length: 0x1000)
      let seq = interval.readBegin()
      // The interval half succeeds (trylock free), then the hlist refuses.
      #expect(reaperRange(mm, 0x10000, 0x11000) == -EAGAIN)
      #expect(interval.readRetry(seq), "the interval was invalidated: its seq moved")
      #expect(svmm.gpuInvalidations == 0)
      munmapRange(mm, 0, 0x1000)
      #expect(svmm.gpuInvalidations == 1, "a blockable range reaches the GPU")
      sub.unregister()
      interval.remove()
    }
  }

  @Test func nouveauIntervalAnswersWouldBlockWhenItsTrylockFails() {
    onKernelThread {
      let mm = MM()
      let svmm = NouveauSVMM()
      let range = svmm.rangeNotifier()
      let interval = try! mm.insertInterval(range, start: 0x10000, length: 0x1000)
      // A GPU fault holds svmm->mutex while it programs the page tables.
      let held = KernelSemaphore()
      let release = KernelSemaphore()
      let holder = KernelThread(name: "svmm_holder") {
        svmm.gpuFault {
          held.signal()
          release.wait()
        }
      }
      held.wait()
      #expect(reaperRange(mm, 0x10000, 0x11000) == -EAGAIN)
      #expect(range.trylockFailures == 1)
      release.signal()
      holder.join()
      interval.remove()
    }
  }

  @Test func hfi1NeverFailsAndDropsWhatTheRangeCovers() {
    onKernelThread {
      let mm = MM()
      let hfi1 = HFI1()
      hfi1.cache(start: 0x10000, length: 0x1000)
      hfi1.cache(start: 0x40000, length: 0x1000)
      let sub = try! mm.register(hfi1)
      #expect(reaperRange(mm, 0x10000, 0x20000) == 0)
      munmapRange(mm, 0, 0x100000)
      #expect(hfi1.evictedBuffers == 2)
      #expect(hfi1.cachedBuffers == 0)
      #expect(mm.ledgerTotals.isPaired, "start only: no end is owed")
      sub.unregister()
    }
  }

  /// A deliberately wrong driver: a flaky neighbour that also implements
  /// end, which c2655835fd8c forbids. Under upstream-fix it turns a paired
  /// run into a WARN and an end without a start; the correct Flaky does not.
  @Test func aWrongDriverChangesTheVerdict() throws {
    let upstream = try #require(
      Variant.all.first { $0.id == "upstream-fix" }, "upstream-fix is not built")
    let right = onKernelThread { oomVerdict(upstream, neighbour: Flaky(period: 1)) }
    let wrong = onKernelThread {
      oomVerdict(
        upstream,
        neighbour: FailingNotifier(everyKth: 1, implementsEnd: true, symbol: "wrong_flaky"))
    }
    #expect(right.verdict == .paired)
    #expect(right.warnings == 0)
    #expect(wrong.verdict == .endWithoutStart)
    #expect(wrong.warnings > 0, "WARN_ON(ops->invalidate_range_end)")
    #expect(right.kvmCount == 0 && wrong.kvmCount == 0)
  }
}

/// What the OOM reaper left behind on one mm.
private struct OOMOutcome: Sendable {
  let verdict: Verdict.Kind
  let warnings: UInt64
  let kvmCount: Int
}

/// KVM v5.11 and `neighbour` on one mm of `variant`, then the OOM reaper.
private func oomVerdict(_ variant: Variant, neighbour: any Notifier) -> OOMOutcome {
  let mm = MM(variant: variant, vmas: 2, hungTimeoutMilliseconds: hungMS, lockdep: true)
  let kvm = KVM(mm: mm, version: .v5_11)
  let kvmSub = try! mm.register(kvm)
  let neighbourSub = try! mm.register(neighbour)
  mm.oomReap()
  let outcome = OOMOutcome(
    verdict: Verdict(ScenarioMetrics(mm: mm)).kind, warnings: mm.logCounts.warnings,
    kvmCount: kvm.mmuNotifierCount)
  kvmSub.unregister()
  neighbourSub.unregister()
  return outcome
}
