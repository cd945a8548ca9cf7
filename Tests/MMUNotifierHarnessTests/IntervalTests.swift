import MMUNotifierHarness
import Testing

@Suite("The v5.11 core: interval notifiers")
struct IntervalTests {
  /// An overlapping interval is invalidated with the odd seq, and read_begin
  /// / read_retry detect the invalidation.
  @Test(arguments: RCUFlavor.allCases)
  func overlappingIntervalSeesOddSeqAndRetry(flavor: RCUFlavor) {
    onKernelThread {
      let log = EventLog()
      let mm = MM(flavor: flavor)
      let notifier = RecordingInterval(log: log)
      let sub = try! mm.insertInterval(notifier, start: 0x10000, length: 0x10000)
      let idle = mm.invalidateSeq
      #expect(idle % 2 == 0)
      let seq = sub.readBegin()
      #expect(!sub.readRetry(seq))

      // A range that misses the interval leaves the seq even.
      let miss = Invalidation(mm, start: 0x40000, end: 0x50000)
      miss.start()
      #expect(mm.invalidateSeq == idle)
      miss.end()
      #expect(log.all.isEmpty)

      let hit = Invalidation(mm, start: 0x18000, end: 0x19000)
      hit.start()
      #expect(mm.invalidateSeq % 2 == 1)
      #expect(notifier.lastSeq.load(ordering: .relaxed) == mm.invalidateSeq)
      #expect(mm.activeInvalidateRanges == 1)
      hit.end()
      #expect(mm.invalidateSeq % 2 == 0)
      #expect(mm.activeInvalidateRanges == 0)
      #expect(sub.readRetry(seq), "the invalidation collided with the read")
      #expect(log.all == ["interval.invalidate"])
      let again = sub.readBegin()
      #expect(!sub.readRetry(again))
      sub.remove()
    }
  }

  /// A non-blockable failure in the interval tree undoes itself: the range
  /// is no longer active and the seq is even again; no end is needed.
  @Test(arguments: RCUFlavor.allCases)
  func nonblockingFailureUndoesItself(flavor: RCUFlavor) {
    onKernelThread {
      let log = EventLog()
      let mm = MM(flavor: flavor)
      let sub = try! mm.insertInterval(
        RecordingInterval(log: log, refuseNonblock: true), start: 0, length: 0x10000)
      let hlist = RecordingNotifier("h", log: log)
      let hsub = try! mm.register(hlist)
      let inv = Invalidation(mm, start: 0, end: 0x1000)
      #expect(inv.startNonblock() == EAGAIN_)
      inv.retire()
      #expect(mm.activeInvalidateRanges == 0)
      #expect(mm.invalidateSeq % 2 == 0)
      // The hlist was never visited.
      #expect(log.all == ["interval.invalidate"])
      hsub.unregister()
      sub.remove()
    }
  }

  /// Inserts and removes while the tree is locked (odd seq) are deferred to
  /// the last end.
  @Test(arguments: RCUFlavor.allCases)
  func deferredInsertAndRemoveApplyAtEnd(flavor: RCUFlavor) {
    let log = EventLog()
    let mm = MM(flavor: flavor)
    let first = RecordingInterval(log: log)
    let firstSub = onKernelThread { try! mm.insertInterval(first, start: 0, length: 0x10000) }
    // The outer invalidation lives on its own thread, as a range lives on
    // one kernel stack: it starts, then waits to be told to end.
    let started = KernelSemaphore()
    let endNow = KernelSemaphore()
    let outer = KernelThread(name: "outer") {
      let inv = Invalidation(mm, start: 0, end: 0x1000)
      inv.start()  // locks the tree: the seq is odd
      started.signal()
      endNow.wait()
      inv.end()
      inv.retire()
    }
    #expect(started.wait())
    #expect(mm.invalidateSeq % 2 == 1)

    // An insert while locked is deferred: a nested invalidation of its
    // range does not reach it.
    let late = RecordingInterval(log: EventLog())
    let lateSub = onKernelThread { () -> IntervalSubscription in
      let s = try! mm.insertInterval(late, start: 0x100000, length: 0x1000)
      let nested = Invalidation(mm, start: 0x100000, end: 0x101000)
      nested.start()
      nested.end()
      return s
    }
    #expect(late.log.all.isEmpty)

    // A remove while locked waits (bounded) for the outer end.
    let removed = KernelSemaphore()
    let remover = KernelThread(name: "remover") {
      firstSub.remove()
      removed.signal()
    }
    #expect(!removed.wait(milliseconds: 200))
    endNow.signal()
    outer.join()
    #expect(removed.wait())
    remover.join()
    #expect(mm.invalidateSeq % 2 == 0)
    #expect(mm.logCounts.hung == 0)

    // After the end both deferred changes are in: the new interval is
    // reached, the removed one is not.
    onKernelThread {
      let inv = Invalidation(mm, start: 0, end: 0x200000)
      inv.start()
      inv.end()
    }
    #expect(late.log.all == ["interval.invalidate"])
    #expect(log.all == ["interval.invalidate"])
    onKernelThread { lateSub.remove() }
  }

  /// A read_begin that would sleep forever (an invalidation that never
  /// ends) is bounded and reported as a hung task.
  @Test func readBeginOnLeakedInvalidationIsHung() {
    onKernelThread {
      let mm = MM(hungTimeoutMilliseconds: 100)
      let sub = try! mm.insertInterval(RecordingInterval(log: EventLog()), start: 0, length: 0x1000)
      let inv = Invalidation(mm, start: 0, end: 0x1000)
      inv.start()  // and never end
      _ = sub.readBegin()
      #expect(mm.logCounts.hung == 1)
      #expect(mm.log.contains { $0.kind == .hung && $0.text.contains("mmu_interval_read_begin") })
      inv.end()
      sub.remove()
    }
  }
}

let EAGAIN_: Int32 = -11
