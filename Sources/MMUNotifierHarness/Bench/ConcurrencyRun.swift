import CSupport
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Readers invalidating one mm while writers register and put subscriptions
/// on it: does the read side scale, and what does `synchronize_srcu` cost
/// under that load?
///
/// Phases alternate between one reader and R readers round by round (ABBA
/// over the rounds), each with the same W writers, so every round's ratio
/// compares phases measured moments apart, and the scaling is the median
/// of those per-round ratios. Each writer is paced to a fixed rate
/// (`writerOpsPerSecond`, absolute deadlines on CLOCK_MONOTONIC), so both
/// kinds of phase see the same writer: flat out, a writer had a CPU of its
/// own beside one reader but shared two CPUs with two readers, and the
/// "scaling" of 2.7-3.5 on 2 CPUs measured that, not the read side. Readers run the bench loop (a
/// non-blockable start, then the end) and do not take mmap_lock: what is
/// measured is the SRCU read side and the traversal, not the mm's rwsem.
/// A registration may therefore land inside a reader's start/end window,
/// which the kernel's locking rules out; with no-op callbacks it changes
/// nothing but the list's length by one.
enum ConcurrencyRun {
  static func run(_ plan: ConcurrencyPlan, flavor: RCUFlavor) throws(KernelError) -> ConcurrencyRow
  {
    let list = try BenchList(
      variant: plan.variant, flavor: flavor, notifiers: plan.notifiers, path: .success,
      driver: .c, ledger: false)
    defer {
      list.tearDown()
      list.mm.barrier()
    }

    var singleTotals: [Double] = []
    var multiTotals: [Double] = []
    var ratios: [Double] = []
    var cpuRatios: [Double] = []
    var latencies: [Double] = []
    var registrations = 0
    var writerSeconds = 0.0
    // per writer, by the number of readers in the phase
    var writerOps: [Int: Int] = [:]
    var writerTime: [Int: Double] = [:]
    let counts = plan.readers == 1 ? [1] : [1, plan.readers]
    for pair in 0..<plan.phasePairs {
      var totals: [Int: Double] = [:]
      var perCPU: [Int: Double] = [:]
      for readers in pair % 2 == 0 ? counts : counts.reversed() {
        let phase = Phase.run(
          mm: list.mm, flavor: flavor, readers: readers, writers: plan.writers,
          milliseconds: plan.phaseMilliseconds, pinReaders: plan.pinReaders,
          writerOpsPerSecond: plan.writerOpsPerSecond)
        totals[readers] = phase.invalidationsPerSecond
        perCPU[readers] = phase.invalidationsPerCPUSecond
        latencies += phase.syncLatencies
        registrations += phase.registrations
        writerSeconds += phase.seconds
        writerOps[readers, default: 0] += phase.registrations
        writerTime[readers, default: 0] += phase.seconds * Double(max(plan.writers, 1))
      }
      singleTotals.append(totals[1]!)
      if plan.readers > 1 {
        multiTotals.append(totals[plan.readers]!)
        ratios.append(totals[plan.readers]! / totals[1]!)
        if perCPU[1]! > 0 {
          cpuRatios.append(Double(plan.readers) * perCPU[plan.readers]! / perCPU[1]!)
        }
      }
    }

    func rate(_ readers: Int) -> Double? {
      guard plan.writers > 0, let t = writerTime[readers], t > 0 else { return nil }
      return Double(writerOps[readers] ?? 0) / t
    }
    let perReader =
      plan.readers == 1
      ? BenchStatistics.median(singleTotals)
      : BenchStatistics.median(multiTotals) / Double(plan.readers)
    return ConcurrencyRow(
      flavor: flavor, variant: plan.variant, notifiers: plan.notifiers, readers: plan.readers,
      writers: plan.writers,
      invalidationsPerSecond: perReader,
      singleReaderInvalidationsPerSecond: BenchStatistics.median(singleTotals),
      scaling: ratios.isEmpty ? nil : BenchStatistics.median(ratios),
      roundRatios: ratios,
      scalingPerCPUSecond: cpuRatios.isEmpty ? nil : BenchStatistics.median(cpuRatios),
      writerOpsPerSecond: plan.writerOpsPerSecond,
      writerRateSingle: rate(1),
      writerRateMulti: plan.readers == 1 ? nil : rate(plan.readers),
      registrationsPerSecond: plan.writers == 0 ? nil : Double(registrations) / writerSeconds,
      syncLatencyMicrosecondsP50: latencies.isEmpty
        ? nil : BenchStatistics.percentile(latencies, 0.5) / 1000,
      syncLatencyMicrosecondsP99: latencies.isEmpty
        ? nil : BenchStatistics.percentile(latencies, 0.99) / 1000,
      syncCalls: latencies.count)
  }
}

/// One phase: `readers` readers and `writers` writers for a fixed time.
private struct Phase {
  /// All readers together.
  var invalidationsPerSecond = 0.0
  /// Invalidations per second of CPU time the readers were given, all
  /// readers together (CLOCK_THREAD_CPUTIME_ID).
  var invalidationsPerCPUSecond: Double {
    readerCPUSeconds > 0 ? Double(invalidations) / readerCPUSeconds : 0
  }
  var invalidations = 0
  var readerCPUSeconds = 0.0
  var registrations = 0
  var seconds = 0.0
  var syncLatencies: [Double] = []

  /// Invalidations per reader between two looks at the stop flag.
  static let readerChunk = 64
  /// A writer times every this-many-th `synchronize_srcu`, after a put.
  static let syncEvery = 4

  final class Control: Sendable {
    let ready = Atomic<Int>(0)
    let go = Atomic<Bool>(false)
    let stop = Atomic<Bool>(false)
    let results = Locked(Phase())

    func waitForGo() {
      while !go.load(ordering: .acquiring) { sched_yield() }
    }
  }

  static func run(
    mm: MM, flavor: RCUFlavor, readers: Int, writers: Int, milliseconds: Int, pinReaders: Bool,
    writerOpsPerSecond: Int
  ) -> Phase {
    let control = Control()
    let cpus = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    var threads: [KernelThread] = []
    for i in 0..<readers {
      threads.append(
        KernelThread(name: "bench-reader\(i)") {
          if pinReaders { _ = mmn_pin_thread(Int32(i % cpus)) }
          reader(mm: mm, flavor: flavor, control: control)
        })
    }
    for i in 0..<writers {
      threads.append(
        KernelThread(name: "bench-writer\(i)") {
          writer(
            mm: mm, flavor: flavor, control: control,
            periodNanoseconds: UInt64(1_000_000_000 / max(1, writerOpsPerSecond)))
        })
    }
    while control.ready.load(ordering: .acquiring) < readers + writers { sched_yield() }
    control.go.store(true, ordering: .releasing)
    usleep(UInt32(milliseconds) * 1000)
    control.stop.store(true, ordering: .releasing)
    for t in threads { t.join() }
    return control.results.withLock { $0 }
  }

  private static func reader(mm: MM, flavor: RCUFlavor, control: Control) {
    // registers this thread with the flavour before the clock starts
    _ = mmn_bench_core(mm.raw, 1, false, MMN_BENCH_LANE_C.rawValue, 0)
    control.ready.add(1, ordering: .releasing)
    control.waitForGo()
    // qsbr: online for the whole loop, a quiescent state per section; it
    // must go offline again before it blocks or exits.
    if flavor == .qsbr { SRCU.stayOnline(.qsbr, true) }
    var done = 0
    let cpu0 = threadCPUSeconds()
    let t0 = mmn_now_ns()
    repeat {
      _ = mmn_bench_core(mm.raw, UInt(readerChunk), false, MMN_BENCH_LANE_C.rawValue, 0)
      done += readerChunk
    } while !control.stop.load(ordering: .relaxed)
    let elapsed = Double(mmn_now_ns() - t0) / 1e9
    let cpu = threadCPUSeconds() - cpu0
    if flavor == .qsbr { SRCU.stayOnline(.qsbr, false) }
    control.results.withLock {
      $0.invalidationsPerSecond += Double(done) / elapsed
      $0.invalidations += done
      $0.readerCPUSeconds += cpu
    }
  }

  /// This thread's CPU time: what it was given, whatever else ran.
  private static func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
  }

  /// mmn_subscription_create copies the symbol; this one outlives every call anyway.
  private static let writerSymbol: StaticString = "bench_writer_notifier"

  private static func writer(
    mm: MM, flavor: RCUFlavor, control: Control, periodNanoseconds: UInt64
  ) {
    control.ready.add(1, ordering: .releasing)
    control.waitForGo()
    var registered = 0
    var latencies: [Double] = []
    let t0 = mmn_now_ns()
    var next = t0
    while !control.stop.load(ordering: .relaxed) {
      // Paced: sleep to the next deadline. A writer behind by a few
      // periods (a synchronize_srcu that waited) catches up at once, so its
      // rate over the phase stays the one asked for; one further behind
      // than that starts afresh (the rate check then shows the miss).
      next += periodNanoseconds
      let now = mmn_now_ns()
      if next > now {
        var ts = timespec(tv_sec: Int(next / 1_000_000_000), tv_nsec: Int(next % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
        if control.stop.load(ordering: .relaxed) { break }
      } else if now - next > 8 * periodNanoseconds {
        next = now
      }
      var config = mmn_subscription_config(
        ops: mmn_bench_noop_ops(true), ctx: nil,
        symbol: UnsafeRawPointer(writerSymbol.utf8Start).assumingMemoryBound(to: CChar.self),
        ledger: false,
        release_ctx: nil)
      guard let sub = mmn_subscription_create(mm.raw, &config) else { break }
      guard mmn_register(sub) == 0 else {
        mmn_subscription_destroy(sub)
        break
      }
      registered += 1
      mmn_put(sub)  // unlinked now, freed by call_srcu after a grace period
      if registered % syncEvery == 0 {
        let s0 = mmn_now_ns()
        SRCU.synchronize(flavor)
        latencies.append(Double(mmn_now_ns() - s0))
      }
    }
    let elapsed = Double(mmn_now_ns() - t0) / 1e9
    control.results.withLock {
      $0.registrations += registered
      $0.seconds = max($0.seconds, elapsed)
      $0.syncLatencies += latencies
    }
  }
}
