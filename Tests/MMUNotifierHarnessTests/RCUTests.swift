import CSupport
import MMUNotifierHarness
import Testing

@Suite("RCU on liburcu: real grace periods, every flavour")
struct RCUTests {
  /// synchronize_srcu must not return while a reader that began before it is
  /// still inside; it must return once that reader leaves.
  @Test(arguments: RCUFlavor.allCases)
  func synchronizeWaitsForPreexistingReader(flavor: RCUFlavor) {
    let log = EventLog()
    let readerInside = KernelSemaphore()
    let releaseReader = KernelSemaphore()
    let writerStarted = KernelSemaphore()
    let syncReturned = KernelSemaphore()

    let reader = KernelThread(name: "reader") {
      SRCU.readLock(flavor)
      log.record("reader.lock")
      readerInside.signal()
      releaseReader.wait()
      log.record("reader.unlock")
      SRCU.readUnlock(flavor)
    }
    #expect(readerInside.wait())
    let writer = KernelThread(name: "writer") {
      log.record("sync.begin")
      writerStarted.signal()
      SRCU.synchronize(flavor)
      log.record("sync.return")
      syncReturned.signal()
    }
    #expect(writerStarted.wait())
    // The grace period cannot end while the reader is inside: no return
    // within a generous bound (a bounded check, not a sleep for ordering).
    #expect(!syncReturned.wait(milliseconds: 200))
    releaseReader.signal()
    #expect(syncReturned.wait())
    reader.join()
    writer.join()
    #expect(log.all == ["reader.lock", "sync.begin", "reader.unlock", "sync.return"])
  }

  /// A reader that starts after synchronize_srcu began does not hold it up.
  @Test(arguments: RCUFlavor.allCases)
  func synchronizeReturnsWithNoReaders(flavor: RCUFlavor) {
    onKernelThread {
      SRCU.synchronize(flavor)
      SRCU.barrier(flavor)
    }
  }

  /// synchronize_srcu inside a read-side section would wait for itself on
  /// liburcu's single domain: the harness reports it instead of hanging.
  @Test(arguments: RCUFlavor.allCases)
  func synchronizeInsideReaderIsReportedNotHung(flavor: RCUFlavor) {
    let (depth, pid) = onKernelThread { () -> (Int, Int32) in
      SRCU.readLock(flavor)
      SRCU.readLock(flavor)
      let d = SRCU.depth
      SRCU.synchronize(flavor)
      SRCU.readUnlock(flavor)
      SRCU.readUnlock(flavor)
      return (d, mmn_task_pid())
    }
    #expect(depth == 2)
    // A thread working on no mm reports into the harness's orphan log.
    // As v5.11's __synchronize_srcu: a lockdep splat (RCU_LOCKDEP_WARN),
    // then the hang the kernel would never return from.
    var record = mmn_log_record()
    let reports = (0..<mmn_log_count(nil)).compactMap { i -> (Int32, String)? in
      guard mmn_log_get(nil, i, &record), record.pid == pid else { return nil }
      return (record.kind, String(cString: record.text))
    }
    let splats = reports.filter {
      $0.0 == Int32(MMN_LOG_LOCKDEP.rawValue)
        && $0.1.contains("WARNING: suspicious RCU usage")
        && $0.1.contains("Illegal synchronize_srcu() in same-type SRCU")
    }
    let hangs = reports.filter {
      $0.0 == Int32(MMN_LOG_HUNG.rawValue) && $0.1.contains("blocked forever in synchronize_srcu()")
    }
    #expect(splats.count == 1)
    #expect(hangs.count == 1)
    #expect(!reports.contains { $0.0 == Int32(MMN_LOG_BUG.rawValue) }, "no BUG_ON")
  }

  @Test func membarrierIsDetected() {
    // The machines this runs on have membarrier(2); the value is the
    // library's own probe, shown by `mmn-harness info`.
    _ = SRCU.sysMembarrierWorks
    #expect(SRCU.libraryPath.contains("urcu"))
  }
}
