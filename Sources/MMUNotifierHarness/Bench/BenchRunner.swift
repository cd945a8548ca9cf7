import CSupport

/// Progress of a run, for a caller that shows it (the CLI, on stderr).
public struct BenchProgress: Sendable {
  /// 0...1 over the whole run.
  public let fraction: Double
  public let stage: String
}

/// Runs a `BenchPlan`: the sweep, then the reader/writer scaling.
///
/// Method. Lists are grouped by (N, flavour); inside a group every list is
/// built first (several times over: see `BenchGroup`), each is calibrated so that one batch lasts about
/// `batchNanoseconds`, warmed up, and then sampled in rounds: one batch of
/// every list per round, in forward order on even rounds and reverse order
/// on odd ones (ABBA), with the lists that are compared with each other
/// side by side. Every ratio is the median of per-round ratios, so both
/// terms of a ratio come from the same moment of the machine.
public enum BenchRunner {
  /// Runs on the calling thread, which must be one the caller owns
  /// (`KernelThread`); the thread is pinned to `plan.pinCPU`.
  public static func run(
    _ plan: BenchPlan, liburcuVersion: String? = nil,
    progress: (@Sendable (BenchProgress) -> Void)? = nil
  ) throws(KernelError) -> BenchReport {
    let started = benchSeconds()
    let pin = benchPin(plan.pinCPU)
    let machine = BenchMachine.current(
      pinnedCPU: pin.cpu, pinError: pin.error, liburcuVersion: liburcuVersion)

    var rows: [BenchRow] = []
    var floors: [BenchFloor] = []
    var accounting: [BenchAccounting] = []
    var references: [BenchReference] = []
    var controls: [BenchControl] = []
    let groups = plan.notifierCounts.flatMap { n in plan.flavors.map { (n, $0) } }
    let sweepShare = plan.concurrency == nil ? 1.0 : 0.6
    // The process's first group runs cold (page faults, the CPU clocking
    // up, lazy binding): time one throwaway group first.
    if let (n, flavor) = groups.first {
      var warmup = plan
      warmup.samples = 2
      warmup.placements = 1
      _ = try BenchGroup(plan: warmup, notifiers: n, flavor: flavor).measure { _ in }
    }
    for (i, (n, flavor)) in groups.enumerated() {
      let group = BenchGroup(plan: plan, notifiers: n, flavor: flavor)
      let result = try group.measure { roundFraction in
        progress?(
          BenchProgress(
            fraction: sweepShare * (Double(i) + roundFraction) / Double(groups.count),
            stage: "\(flavor) N=\(n)"))
      }
      rows += result.rows
      floors += result.floors
      if let a = result.accounting { accounting.append(a) }
      if let r = result.reference { references.append(r) }
      if let c = result.control { controls.append(c) }
    }

    var concurrency: [ConcurrencyRow] = []
    if let c = plan.concurrency {
      for (i, flavor) in c.flavors.enumerated() {
        progress?(
          BenchProgress(
            fraction: sweepShare + (1 - sweepShare) * Double(i) / Double(c.flavors.count),
            stage: "\(flavor) \(c.readers) reader(s), \(c.writers) writer(s)"))
        concurrency.append(try ConcurrencyRun.run(c, flavor: flavor))
      }
    }
    progress?(BenchProgress(fraction: 1, stage: "done"))
    var report = BenchReport(
      machine: machine, plan: plan, rows: rows, floors: floors, accounting: accounting,
      references: references, controls: controls,
      concurrency: concurrency,
      seconds: benchSeconds() - started)
    report.applySelfChecks()
    return report
  }
}

/// Runs `body` with the C stack moved down by `bytes`.
func withStackOffset(_ bytes: Int, _ body: () -> Void) {
  withoutActuallyEscaping(body) { body in
    var call = body
    withUnsafeMutablePointer(to: &call) { p in
      mmn_bench_with_stack_offset(
        UInt(bytes),
        { raw in raw!.assumingMemoryBound(to: (() -> Void).self).pointee() }, p)
    }
  }
}

/// Seconds on the monotonic clock.
func benchSeconds() -> Double { Double(mmn_now_ns()) / 1e9 }

/// One (N, flavour): every list measured in the same rounds.
///
/// Where a list's nodes land in memory moves its time by up to ±15% on
/// this kind of machine (cache sets, 4 KiB aliasing with the per-thread
/// counters the core writes on every callback), and that luck differs
/// between two lists that run identical code. Where the timed loop's code
/// lands moves it by ~5% (see `core_table.h`). So the lists are built
/// afresh `placements` times, each time behind a randomly sized spacer and
/// in the next copy of the timed loops, and the rounds are spread over
/// those placements: every row is then an average over placements rather
/// than one draw.
final class BenchGroup {
  struct CellKey: Hashable {
    let variant: UInt32
    let path: BenchPath
    let driver: BenchDriver
    let ledger: Bool
  }

  enum Role { case cell, floor, withoutAccounting, reference, control }

  /// One timed thing and its samples across placements.
  final class Unit {
    let key: CellKey
    let role: Role
    /// Reported as a row (references that the plan did not ask for are not).
    let reported: Bool
    var list: BenchList?
    var iterations = 0
    var samples: [Double] = []

    init(key: CellKey, role: Role, reported: Bool) {
      self.key = key
      self.role = role
      self.reported = reported
    }

    func time(_ iterations: Int) -> UInt64 {
      switch role {
      case .floor: list!.timeFloor(iterations)
      case .withoutAccounting: list!.timeCoreWithoutAccounting(iterations)
      case .reference: list!.timeReference(iterations)
      case .cell, .control: list!.timeCore(iterations)
      }
    }
  }

  let plan: BenchPlan
  let notifiers: Int
  let flavor: RCUFlavor
  private(set) var units: [Unit] = []
  private var cells: [CellKey: Unit] = [:]
  private var floorUnits: [BenchDriver: Unit] = [:]
  private var withoutAccountingUnit: Unit?
  private var referenceUnit: Unit?
  private var controlUnit: Unit?
  private var spacers: [UnsafeMutableRawPointer] = []
  private var generator = SystemRandomNumberGenerator()

  init(plan: BenchPlan, notifiers: Int, flavor: RCUFlavor) {
    self.plan = plan
    self.notifiers = notifiers
    self.flavor = flavor

    // References every ratio needs are measured even when not asked for.
    let original = Variant.original
    let variants = plan.variants.contains(original) ? plan.variants : [original] + plan.variants
    let drivers = plan.drivers.contains(.c) ? plan.drivers : [.c] + plan.drivers
    let paths = plan.paths.contains(.success) ? plan.paths : [.success] + plan.paths

    // Side by side: the variants of one (path, ledger, driver), C then Swift.
    for path in paths {
      for ledger in plan.ledger {
        for driver in drivers {
          for variant in variants {
            let key = CellKey(variant: variant.index, path: path, driver: driver, ledger: ledger)
            let unit = Unit(
              key: key, role: .cell,
              reported: plan.variants.contains(variant) && plan.drivers.contains(driver)
                && plan.paths.contains(path))
            units.append(unit)
            cells[key] = unit
          }
        }
      }
    }
    // The floor walks an original, ledger-off, success list of each driver;
    // it sits next to the list it shares nodes with.
    for driver in drivers {
      let key = CellKey(variant: original.index, path: .success, driver: driver, ledger: false)
      let floor = Unit(key: key, role: .floor, reported: false)
      let at = units.firstIndex { $0.key == key }.map { $0 + 1 } ?? units.count
      units.insert(floor, at: at)
      floorUnits[driver] = floor
    }
    // original without CONFIG_DEBUG_ATOMIC_SLEEP walks the C floor's list,
    // right after it: what the accounting costs, in the same rounds.
    if let cFloor = floorUnits[.c], let at = units.firstIndex(where: { $0 === cFloor }) {
      let unit = Unit(key: cFloor.key, role: .withoutAccounting, reported: false)
      units.insert(unit, at: at + 1)
      withoutAccountingUnit = unit
      // and so does v5.11's walk with every harness addition compiled out
      let reference = Unit(key: cFloor.key, role: .reference, reported: false)
      units.insert(reference, at: at + 2)
      referenceUnit = reference
    }
    // A/A control: a second original list, timed like the first but in the
    // next copy of its lane's loops (another code address). Its ratio to
    // the first is what "no difference" measures as on this machine.
    let controlKey = CellKey(variant: original.index, path: .success, driver: .c, ledger: false)
    let control = Unit(key: controlKey, role: .control, reported: false)
    let at =
      units.firstIndex { $0.key == controlKey && $0.role == .cell }.map { $0 + 1 } ?? units.count
    units.insert(control, at: at)
    controlUnit = control
  }

  /// Builds every list (floors share their cell's list), each behind a
  /// spacer, to run in the lanes' copy `placement` of the timed loops.
  private func build(placement: Int) throws(KernelError) {
    // Everything the last placement allocated is freed by now; merging the
    // heap's free chunks lets these lists be carved from contiguous memory
    // instead of from leftovers scattered in whatever order the bins keep.
    mmn_bench_compact_heap()
    // In a new order each time: whatever a list gains or loses from being
    // built first (or last) is spread over all of them.
    for unit in units.filter({ $0.role == .cell || $0.role == .control })
      .shuffled(using: &generator)
    {
      let spacer = UnsafeMutableRawPointer.allocate(
        byteCount: 16 * Int.random(in: 1...256, using: &generator), alignment: 16)
      spacers.append(spacer)
      let k = unit.key
      unit.list = try BenchList(
        variant: Variant.everything[Int(k.variant)], flavor: flavor, notifiers: notifiers, path: k.path,
        driver: k.driver, ledger: k.ledger)
    }
    for (driver, floor) in floorUnits {
      floor.list = cells[floor.key]?.list
      if floor.list == nil {
        floor.list = try BenchList(
          variant: .original, flavor: flavor, notifiers: notifiers, path: .success,
          driver: driver, ledger: false)
      }
    }
    withoutAccountingUnit?.list = floorUnits[.c]?.list
    referenceUnit?.list = floorUnits[.c]?.list
    let copies = Int(MMN_BENCH_COPIES.rawValue)
    for unit in units {
      unit.list?.discardSpares()
      unit.list?.codeCopy = UInt32((placement + (unit.role == .control ? 1 : 0)) % copies)
    }
  }

  /// Puts every subscription, waits for their frees, drops the mms.
  private func tearDown() {
    var seen = Set<ObjectIdentifier>()
    var mm: MM?
    for unit in units {
      if let list = unit.list, seen.insert(ObjectIdentifier(list)).inserted {
        list.tearDown()
        mm = list.mm
      }
    }
    // One srcu_barrier per flavour covers every put above.
    mm?.barrier()
    mm = nil
    for unit in units { unit.list = nil }
    for s in spacers { s.deallocate() }
    spacers.removeAll()
  }

  struct Result {
    var rows: [BenchRow]
    var floors: [BenchFloor]
    var accounting: BenchAccounting?
    var reference: BenchReference?
    var control: BenchControl?
  }

  func measure(progress: (Double) -> Void) throws(KernelError) -> Result {
    let placements = max(1, min(plan.placements, plan.samples))
    var done = 0
    for placement in 0..<placements {
      try build(placement: placement)
      defer { tearDown() }
      // qsbr: stay online and report a quiescent state per section, as a
      // reader loop should; nothing in the timed loop blocks.
      if flavor == .qsbr { SRCU.stayOnline(.qsbr, true) }
      defer { if flavor == .qsbr { SRCU.stayOnline(.qsbr, false) } }

      for unit in units {
        if placement == 0 { calibrate(unit) }
      }
      for unit in units {
        for _ in 0..<plan.warmupBatches { _ = unit.time(unit.iterations) }
      }
      let rounds = (plan.samples - done) / (placements - placement)
      withStackOffset(16 * Int.random(in: 0..<256, using: &generator)) {
        runRounds(rounds, done: &done, progress: progress)
      }
    }
    return result()
  }

  /// One batch of every unit per round, forward then backward (ABBA).
  private func runRounds(_ rounds: Int, done: inout Int, progress: (Double) -> Void) {
    for round in 0..<rounds {
      let order = round % 2 == 0 ? units : units.reversed()
      for unit in order {
        // The other lists of the round have evicted this one (at large N
        // they do not all fit in the caches): bring it back untimed, so
        // that every batch times a warm walk, not the first cold one.
        _ = unit.time(max(1, unit.iterations / 8))
        let ns = unit.time(unit.iterations)
        unit.samples.append(Double(ns) / Double(unit.iterations))
      }
      done += 1
      progress(Double(done) / Double(plan.samples))
    }
  }

  /// Warms the list up, then grows a trial batch until it lasts a quarter
  /// of `batchNanoseconds` and scales it to the whole.
  ///
  /// The warm-up comes first because a list's first calls are not its
  /// steady state: the first refused start formats its `pr_info` and fills
  /// the mm's log records, the first walk faults the nodes in and binds
  /// lazily. Calibrated on such a call, a refusing list was once timed
  /// with 1 iteration per batch, three times slower than its Swift twin.
  /// A list that still calibrates below `minimumIterations` is calibrated
  /// again (up to three times), and never timed with fewer.
  private func calibrate(_ unit: Unit) {
    let minimum = max(1, plan.minimumIterations)
    for _ in 0..<3 { _ = unit.time(minimum) }
    var best = 0
    for _ in 0..<3 {
      var iterations = max(1, minimum / 4)
      while true {
        let ns = unit.time(iterations)
        if ns >= plan.batchNanoseconds / 4 || iterations >= 1 << 26 {
          let scaled = Double(iterations) * Double(plan.batchNanoseconds) / Double(max(ns, 1))
          best = max(best, Int(scaled))
          break
        }
        iterations *= 4
      }
      if best >= minimum { break }
    }
    unit.iterations = max(minimum, best)
  }

  private func result() -> Result {
    var rows: [BenchRow] = []
    for unit in units where unit.role == .cell && unit.reported {
      let k = unit.key
      let variant = Variant.everything[Int(k.variant)]
      let floor: Unit? =
        k.path == .success ? floorUnits[k.driver] : nil
      let original: Unit? =
        k.variant == Variant.original.index
        ? nil
        : cells[
          CellKey(variant: Variant.original.index, path: k.path, driver: k.driver, ledger: k.ledger)
        ]
      let c: Unit? =
        k.driver == .c
        ? nil : cells[CellKey(variant: k.variant, path: k.path, driver: .c, ledger: k.ledger)]
      let success: Unit? =
        k.path == .success
        ? nil
        : cells[CellKey(variant: k.variant, path: .success, driver: k.driver, ledger: k.ledger)]
      rows.append(
        BenchRow(
          variant: variant, flavor: flavor, notifiers: notifiers, path: k.path, driver: k.driver,
          ledger: k.ledger,
          nsPerOp: BenchStatistics.median(unit.samples),
          nsPerOpMin: unit.samples.min()!, nsPerOpMax: unit.samples.max()!,
          ratioToFloor: floor.flatMap { BenchStatistics.medianRatio(unit.samples, $0.samples) },
          ratioToOriginal: original.flatMap {
            BenchStatistics.medianRatio(unit.samples, $0.samples)
          },
          ratioToC: c.flatMap { BenchStatistics.medianRatio(unit.samples, $0.samples) },
          ratioToSuccess: success.flatMap { BenchStatistics.medianRatio(unit.samples, $0.samples) },
          ratioToReference: k.driver == .c && !k.ledger && k.path == .success
            ? referenceUnit.flatMap { BenchStatistics.medianRatio(unit.samples, $0.samples) } : nil,
          iterations: unit.iterations, samples: unit.samples.count,
          spread: BenchStatistics.spread(unit.samples),
          ratioToOriginalError: original.flatMap {
            BenchStatistics.medianRatioError(unit.samples, $0.samples)
          },
          ratioToCError: c.flatMap { BenchStatistics.medianRatioError(unit.samples, $0.samples) }))
    }
    let floors = floorUnits.keys.sorted { $0.rawValue < $1.rawValue }.map { driver in
      BenchFloor(
        flavor: flavor, notifiers: notifiers, driver: driver,
        nsPerOp: BenchStatistics.median(floorUnits[driver]!.samples))
    }
    var accounting: BenchAccounting?
    if let unit = withoutAccountingUnit, let floor = floorUnits[.c] {
      // With the accounting: original's own cell on that list, if the plan has it.
      accounting = BenchAccounting(
        flavor: flavor, notifiers: notifiers, nsPerOp: BenchStatistics.median(unit.samples),
        ratioToFloor: BenchStatistics.medianRatio(unit.samples, floor.samples),
        accountingFactor: cells[floor.key].flatMap {
          BenchStatistics.medianRatio($0.samples, unit.samples)
        })
    }
    var reference: BenchReference?
    if let unit = referenceUnit, let floor = floorUnits[.c] {
      reference = BenchReference(
        flavor: flavor, notifiers: notifiers, nsPerOp: BenchStatistics.median(unit.samples),
        coreRatio: cells[floor.key].flatMap {
          BenchStatistics.medianRatio($0.samples, unit.samples)
        },
        ratioToFloor: BenchStatistics.medianRatio(unit.samples, floor.samples))
    }
    var control: BenchControl?
    if let controlUnit, let first = cells[controlUnit.key],
      let ratio = BenchStatistics.medianRatio(controlUnit.samples, first.samples)
    {
      let ratios = zip(controlUnit.samples, first.samples).map { $0 / $1 }
      control = BenchControl(
        flavor: flavor, notifiers: notifiers, ratio: ratio,
        spreadP10: BenchStatistics.percentile(ratios, 0.1),
        spreadP90: BenchStatistics.percentile(ratios, 0.9))
    }
    return Result(
      rows: rows, floors: floors, accounting: accounting, reference: reference, control: control)
  }

}
