import CSupport
import MMUNotifierHarness
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Interval subscriptions in the pairing ledger: per invalidation, whether
/// each interval's `->invalidate` ran and whether `mn_itree_inv_end`
/// closed the tree's half of that range.
@Suite("The pairing ledger: interval subscriptions")
struct IntervalLedgerTests {
  /// A user's interval driver gets counts like an hlist driver.
  @Test(arguments: RCUFlavor.allCases)
  func anIntervalIsPairedByItsTreeEnd(flavor: RCUFlavor) throws {
    let mm = MM(flavor: flavor)
    let sub = try mm.insertInterval(
      RecordingInterval(log: EventLog()), start: 0x10000, length: 0x10000)
    let miss = Invalidation(mm, start: 0x40000, end: 0x50000)
    miss.start()
    miss.end()
    miss.retire()
    #expect(sub.ledger == LedgerCounts(), "a range that misses it is not its")
    let hit = Invalidation(mm, start: 0x18000, end: 0x19000)
    hit.start()
    #expect(sub.ledger.starts == 1 && sub.ledger.ends == 0)
    hit.end()
    hit.retire()
    let c = sub.ledger
    #expect(c.starts == 1 && c.ends == 1 && c.isPaired)
    #expect(mm.ledgerTotals.starts == 1 && mm.ledgerTotals.ends == 1)
    sub.remove()
    #expect(mm.ledgerTotals.ends == 1, "counts outlive the subscription")
  }

  /// A refusal in a non-blocking range: the core undoes the tree's half
  /// itself (mn_itree_invalidate's out_would_block), so nothing is owed.
  @Test func aRefusalIsEndedByTheCore() throws {
    let mm = MM()
    let sub = try mm.insertInterval(
      RecordingInterval(log: EventLog(), refuseNonblock: true), start: 0, length: 0x1000)
    let inv = Invalidation(mm, start: 0, end: 0x1000)
    #expect(inv.startNonblock() == -EAGAIN)
    inv.retire()
    let c = sub.ledger
    #expect(c.starts == 1 && c.startsFailed == 1 && c.ends == 1 && c.isPaired)
    #expect(mm.activeInvalidateRanges == 0)
    sub.remove()
  }

  /// The interval succeeds, the hlist refuses, the non-blocking caller
  /// skips end: mn_itree_inv_end never runs for that range, a missing end.
  @Test(arguments: ["original", "itree-unwind"])
  func anHlistRefusalLeaksTheTreeHalf(variant: String) throws {
    let mm = MM(variant: try Variant.named(variant))
    let interval = try mm.insertInterval(
      RecordingInterval(log: EventLog()), start: 0, length: 0x1000)
    let refusing = try mm.register(
      RecordingNotifier(
        "refusing", log: EventLog(), callbacks: [.invalidateRangeStart], startResult: -EAGAIN))
    let inv = Invalidation(mm, start: 0, end: 0x1000)
    #expect(inv.startNonblock() == -EAGAIN)
    inv.retire()  // as the OOM reaper: no end after a failed start
    let c = interval.ledger
    #expect(c.starts == 1)
    if variant == "original" {
      #expect(c.missingEnds == 1 && c.ends == 0)
      #expect(mm.ledgerTotals.missingEnds == 1)
      #expect(mm.activeInvalidateRanges == 1)
    } else {
      // itree-unwind ends the tree's half when the hlist refuses
      #expect(c.missingEnds == 0 && c.ends == 1)
      #expect(mm.activeInvalidateRanges == 0)
    }
    refusing.unregister()
  }

  /// A caller that ends a range whose start failed (the core had already
  /// undone the tree's half) ends it twice: a duplicate end.
  @Test func aSecondTreeEndIsADuplicate() throws {
    let mm = MM()
    let sub = try mm.insertInterval(
      RecordingInterval(log: EventLog(), refuseNonblock: true), start: 0, length: 0x1000)
    let inv = Invalidation(mm, start: 0, end: 0x1000)
    #expect(inv.startNonblock() == -EAGAIN)
    inv.end()  // illegal after a failed non-blocking start
    inv.retire()
    #expect(sub.ledger.duplicateEnds == 1)
    #expect(mm.ledgerTotals.duplicateEnds == 1)
  }

  /// exit_mmap: mn_itree_release's range and the final unmap_vmas are
  /// both invalidations of the interval, each ended.
  @Test func exitMmapInvalidationsAreSettled() throws {
    let mm = MM(vmas: 1)
    let vma = mm.vmaRange(0)
    let sub = try mm.insertInterval(
      RecordingInterval(log: EventLog()), start: vma.start, length: 0x1000)
    mm.exitMmap()
    let c = sub.ledger
    #expect(c.starts == 2 && c.ends == 2 && c.isPaired)
    sub.remove()
  }

  /// Ranges nested on one thread: each tree end closes its own range.
  @Test func nestedRangesEndTheirOwnHalves() throws {
    let mm = MM()
    let a = try mm.insertInterval(RecordingInterval(log: EventLog()), start: 0, length: 0x1000)
    let b = try mm.insertInterval(
      RecordingInterval(log: EventLog()), start: 0x10000, length: 0x1000)
    let outer = Invalidation(mm, start: 0, end: 0x1000)
    outer.start()
    let inner = Invalidation(mm, start: 0x10000, end: 0x11000, holdMmapLock: false)
    inner.start()
    outer.end()  // out of order: the outer range ends first
    #expect(a.ledger.ends == 1 && b.ledger.ends == 0)
    inner.end()
    inner.retire()
    outer.retire()
    #expect(a.ledger.isPaired && b.ledger.isPaired)
    #expect(b.ledger.ends == 1)
    a.remove()
    b.remove()
  }
}
