import CSupport
import Foundation

/// `bench --measure instructions`: the same lists and the same timed loops,
/// counted by valgrind's callgrind instead of timed. An instruction count
/// is exact and repeatable to the instruction on a noisy machine (the
/// approach of iai-callgrind), so it is the figure a commit message can
/// quote: "upstream-fix adds 0 instructions per notifier on the success
/// path".
///
/// The parent runs `valgrind --tool=callgrind` on this binary in child
/// mode (`--callgrind-child`). The child builds every list once and, for
/// each, zeroes callgrind's counters, runs the loop `low` times, dumps,
/// zeroes, runs it `high` times and dumps again (client requests; each dump
/// is a file whose `desc:` names the list). Per op is the difference over
/// `high - low`, so everything outside the loop (the clock reads, the call
/// from Swift) cancels out. Callgrind counts every thread, so the child
/// starts none, and a group's frees are waited out (`srcu_barrier`) before
/// the next group is counted.
///
/// Under valgrind `sys_membarrier` is not available, so memb's read side
/// takes liburcu's fence fallback: the counts are instructions, and say
/// nothing of what a fence costs.
public enum BenchInstructions {
  /// Loop counts of the two counted runs per list.
  static let low = 8
  static let high = 72

  /// What one counted thing is.
  public enum Role: String, Sendable {
    case cell
    /// v5.11's walk with every harness addition compiled out.
    case reference
    /// The plain C loop over the same nodes.
    case floor
    /// original without CONFIG_DEBUG_ATOMIC_SLEEP (no non_block_start/end).
    case withoutAccounting = "without-accounting"
  }

  /// One counted list, in the order the child counts them.
  public struct Unit: Sendable, Equatable {
    public let role: Role
    public let variant: Variant
    public let flavor: RCUFlavor
    public let notifiers: Int
    public let path: BenchPath
    public let driver: BenchDriver
    public let ledger: Bool
    /// In the output (references a difference needs are counted anyway).
    public let reported: Bool

    var name: String {
      "mmn-bench \(role.rawValue) \(variant.id) \(flavor) \(notifiers) \(path) \(driver) \(ledger)"
    }

    public static func == (a: Unit, b: Unit) -> Bool { a.name == b.name }
  }

  /// Every unit of `plan`, in counting order: per (N, flavour), the cells
  /// (original, C and the success path added when missing), then the
  /// reference and the floor over original's C, success, ledger-off list.
  public static func units(_ plan: BenchPlan) -> [Unit] {
    let original = Variant.original
    let variants = plan.variants.contains(original) ? plan.variants : [original] + plan.variants
    let drivers = plan.drivers.contains(.c) ? plan.drivers : [.c] + plan.drivers
    let paths = plan.paths.contains(.success) ? plan.paths : [.success] + plan.paths
    let ledgers = plan.ledger.contains(false) ? plan.ledger : [false] + plan.ledger
    var out: [Unit] = []
    for n in plan.notifierCounts {
      for flavor in plan.flavors {
        for path in paths {
          for ledger in ledgers {
            for driver in drivers {
              for variant in variants {
                out.append(
                  Unit(
                    role: .cell, variant: variant, flavor: flavor, notifiers: n, path: path,
                    driver: driver, ledger: ledger,
                    reported: plan.variants.contains(variant) && plan.drivers.contains(driver)
                      && plan.paths.contains(path) && plan.ledger.contains(ledger)))
              }
            }
          }
        }
        for role in [Role.reference, .floor, .withoutAccounting] {
          out.append(
            Unit(
              role: role, variant: original, flavor: flavor, notifiers: n, path: .success,
              driver: .c, ledger: false, reported: true))
        }
      }
    }
    return out
  }

  /// The command-line options that make the child's plan equal to `plan`.
  public static func childArguments(_ plan: BenchPlan) -> [String] {
    [
      "bench", "--measure", "instructions", "--callgrind-child",
      "--notifiers", plan.notifierCounts.map(String.init).joined(separator: ","),
      "--variant", plan.variants.map(\.id).joined(separator: ","),
      "--flavor", plan.flavors.map(\.rawValue).joined(separator: ","),
      "--path", plan.paths.map(\.rawValue).joined(separator: ","),
      "--driver", plan.drivers.map(\.rawValue).joined(separator: ","),
      "--ledger", plan.ledger.map { $0 ? "on" : "off" }.joined(separator: ","),
    ]
  }

  // MARK: the child, under valgrind

  /// Counts every unit of `plan`; call on a thread the caller owns, under
  /// callgrind (`mmn_bench_on_valgrind`).
  public static func child(_ plan: BenchPlan) throws(KernelError) {
    // the first client requests bind lazily: a dump no unit is named after
    mmn_bench_callgrind_zero()
    mmn_bench_callgrind_dump("mmn-bench warm-up")
    let all = units(plan)
    var i = 0
    while i < all.count {
      // one (N, flavour) at a time: its lists live together, as in a sweep
      let n = all[i].notifiers
      let flavor = all[i].flavor
      var group: [Unit] = []
      while i < all.count, all[i].notifiers == n, all[i].flavor == flavor {
        group.append(all[i])
        i += 1
      }
      try count(group, flavor: flavor)
    }
  }

  private struct CellKey: Hashable {
    let variant: String
    let path: BenchPath
    let driver: BenchDriver
    let ledger: Bool
  }

  private static func count(_ group: [Unit], flavor: RCUFlavor) throws(KernelError) {
    var lists: [CellKey: BenchList] = [:]
    defer {
      var mm: MM?
      for list in lists.values {
        list.tearDown()
        mm = list.mm
      }
      mm?.barrier()
    }
    for u in group where u.role == .cell {
      let list = try BenchList(
        variant: u.variant, flavor: flavor, notifiers: u.notifiers, path: u.path,
        driver: u.driver, ledger: u.ledger)
      lists[CellKey(variant: u.variant.id, path: u.path, driver: u.driver, ledger: u.ledger)] =
        list
    }
    for list in lists.values { list.discardSpares() }
    if flavor == .qsbr { SRCU.stayOnline(.qsbr, true) }
    defer { if flavor == .qsbr { SRCU.stayOnline(.qsbr, false) } }
    for u in group {
      let key = CellKey(
        variant: u.variant.id, path: u.path, driver: u.driver, ledger: u.ledger)
      guard let list = lists[key] else { continue }
      let run: (Int) -> UInt64 =
        switch u.role {
        case .cell: { list.timeCore($0) }
        case .reference: { list.timeReference($0) }
        case .floor: { list.timeFloor($0) }
        case .withoutAccounting: { list.timeCoreWithoutAccounting($0) }
        }
      // first calls (the first pr_info, lazy binding) out of the counts
      _ = run(low)
      _ = run(low)
      // the names exist before the counters are zeroed: only the loop and
      // the same few instructions around it (which cancel) are counted
      let names = ["\(u.name) low", "\(u.name) high"].map { ContiguousArray($0.utf8CString) }
      names[0].withUnsafeBufferPointer { lowName in
        names[1].withUnsafeBufferPointer { highName in
          mmn_bench_callgrind_zero()
          _ = run(low)
          mmn_bench_callgrind_dump(lowName.baseAddress!)
          mmn_bench_callgrind_zero()
          _ = run(high)
          mmn_bench_callgrind_dump(highName.baseAddress!)
        }
      }
    }
  }

  // MARK: the parent

  /// Whether this process runs under valgrind.
  public static var onValgrind: Bool { mmn_bench_on_valgrind() }

  /// Why instructions cannot be counted here, or nil.
  public static var unavailable: String? {
    guard mmn_sanitized_build() == 0 else {
      return "this is a sanitizer build (AddressSanitizer or ThreadSanitizer), which valgrind cannot run; use a build without --sanitize"
    }
    guard valgrindPath != nil else {
      return "valgrind is not installed (apt-get install valgrind)"
    }
    guard findInPath("objcopy") != nil else {
      return "objcopy is not installed (apt-get install binutils)"
    }
    guard mmn_bench_callgrind_built() else {
      return "the C shim was built without <valgrind/callgrind.h>; install valgrind and rebuild"
    }
    return nil
  }

  static var valgrindPath: String? { findInPath("valgrind") }

  public struct Failure: Error, CustomStringConvertible {
    public let description: String
  }

  /// Runs `executable` (an mmn-harness binary) in child mode under
  /// callgrind and reads its dumps. Bounded: a child still running after
  /// `timeout` seconds is killed and reported.
  public static func measure(
    _ plan: BenchPlan, executable: URL, timeout: Double = 900
  ) throws(Failure) -> InstructionReport {
    if let why = unavailable { throw Failure(description: why) }
    let fm = FileManager.default
    let dir = fm.temporaryDirectory.appendingPathComponent("mmn-callgrind-\(UUID().uuidString)")
    do {
      try fm.createDirectory(at: dir, withIntermediateDirectories: true)
    } catch {
      throw Failure(description: "cannot create \(dir.path): \(error.localizedDescription)")
    }
    defer { try? fm.removeItem(at: dir) }
    let log = dir.appendingPathComponent("valgrind.log")
    // valgrind 3.19's debuginfo reader gives up on the DWARF 5 forms this
    // toolchain emits ("unhandled dwarf2 abbrev form"): count a copy
    // without debug info (symbols stay, the code is the same bytes).
    let stripped = dir.appendingPathComponent("mmn-harness")
    let objcopy = findInPath("objcopy")!
    try runBounded(
      objcopy, ["--strip-debug", executable.path, stripped.path], log: log, timeout: 120,
      what: "objcopy --strip-debug")
    try runBounded(
      valgrindPath!,
      [
        "--tool=callgrind", "--callgrind-out-file=\(dir.path)/cg.out",
        "--dump-instr=no", "--dump-line=no", "--compress-strings=no", "--compress-pos=no",
        "--log-file=\(log.path)", stripped.path,
      ] + childArguments(plan), log: log, timeout: timeout, what: "the callgrind child")
    var counts: [String: UInt64] = [:]
    let files = (try? fm.contentsOfDirectory(atPath: dir.path)) ?? []
    for file in files where file.hasPrefix("cg.out") {
      guard let text = try? String(contentsOfFile: "\(dir.path)/\(file)", encoding: .utf8),
        let (name, ir) = parseDump(text)
      else { continue }
      counts[name] = ir
    }
    return try InstructionReport(plan: plan, units: units(plan), counts: counts)
  }

  static func findInPath(_ tool: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":") {
      let candidate = "\(dir)/\(tool)"
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
  }

  /// Runs a tool to its end, at most `timeout` seconds (then it is killed
  /// and reported as hung).
  private static func runBounded(
    _ tool: String, _ arguments: [String], log: URL, timeout: Double, what: String
  ) throws(Failure) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    environment["SWIFT_BACKTRACE"] = "enable=no"
    process.environment = environment
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    let done = DispatchSemaphore(value: 0)
    process.terminationHandler = { _ in done.signal() }
    do { try process.run() } catch {
      throw Failure(description: "cannot run \(tool): \(error.localizedDescription)")
    }
    if done.wait(timeout: .now() + timeout) == .timedOut {
      process.terminate()
      _ = done.wait(timeout: .now() + 10)
      throw Failure(description: "hung: \(what) ran over \(Int(timeout)) s")
    }
    guard process.terminationStatus == 0 else {
      let tail =
        (try? String(contentsOf: log, encoding: .utf8))?.split(separator: "\n").suffix(5)
        .joined(separator: " | ") ?? ""
      throw Failure(description: "\(what) exited with \(process.terminationStatus): \(tail)")
    }
  }

  /// The client request's name and the instructions of the timed loop,
  /// from one dump file: the cost of the bench slot functions
  /// (`mmn_ct_bench_core_*`, `mmn_ct_bench_floor_*`: the loop, with the
  /// port inlined) plus everything they call (the callbacks), except
  /// `mmn_now_ns`. The clock is left out because its vDSO read retries a
  /// seqlock and so differs by tens of instructions from call to call; the
  /// Swift around the call is left out because it is not the loop.
  static func parseDump(_ text: String) -> (String, UInt64)? {
    let prefix = "desc: Trigger: Client Request: "
    var name: String?
    var total: UInt64 = 0
    var inSlot = false
    var callee: String?
    var callCost = false
    for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
      if line.hasPrefix(prefix) {
        name = String(line.dropFirst(prefix.count))
      } else if line.hasPrefix("fn=") {
        let fn = line.dropFirst(3)
        inSlot = fn.hasPrefix("mmn_ct_bench_core_") || fn.hasPrefix("mmn_ct_bench_floor_")
        callee = nil
        callCost = false
      } else if line.hasPrefix("cfn=") {
        callee = String(line.dropFirst(4))
      } else if line.hasPrefix("calls=") {
        callCost = true
      } else if let first = line.first,
        first.isNumber || first == "+" || first == "-" || first == "*"
      {
        let cost = line.split(separator: " ").last.flatMap { UInt64($0) } ?? 0
        if inSlot {
          if !callCost {
            total += cost
          } else if let callee, !callee.hasPrefix("mmn_now_ns") {
            total += cost
          }
        }
        callCost = false
      }
    }
    guard let name else { return nil }
    return (name, total)
  }
}

/// Instructions per op of one list, counted by callgrind.
public struct InstructionRow: Sendable {
  public let variant: Variant
  public let flavor: RCUFlavor
  public let notifiers: Int
  public let path: BenchPath
  public let driver: BenchDriver
  public let ledger: Bool
  /// Per non-blockable start (+ end when it succeeded).
  public let perOp: Double
  public var perNotifier: Double { perOp / Double(notifiers) }
  /// This row minus original's with everything else equal (nil for original).
  public let minusOriginalPerOp: Double?
}

/// The reference (v5.11's walk, harness additions compiled out) and the
/// floor of one (N, flavour), against original as built.
public struct InstructionReference: Sendable {
  public let flavor: RCUFlavor
  public let notifiers: Int
  public let referencePerOp: Double
  public let floorPerOp: Double
  /// original without CONFIG_DEBUG_ATOMIC_SLEEP: how much of core - reference
  /// is the non_block_start/end accounting.
  public let withoutAccountingPerOp: Double
  /// original's C, success, ledger-off list.
  public let corePerOp: Double
  public var coreMinusReferencePerOp: Double { corePerOp - referencePerOp }
  public var coreMinusReferencePerNotifier: Double {
    coreMinusReferencePerOp / Double(notifiers)
  }
  public var coreOverReference: Double { corePerOp / referencePerOp }
}

/// Everything one `bench --measure instructions` run counted.
public struct InstructionReport: Sendable {
  public let plan: BenchPlan
  public let rows: [InstructionRow]
  public let references: [InstructionReference]

  init(plan: BenchPlan, units: [BenchInstructions.Unit], counts: [String: UInt64])
    throws(BenchInstructions.Failure)
  {
    self.plan = plan
    func perOp(_ u: BenchInstructions.Unit) throws(BenchInstructions.Failure) -> Double {
      guard let lo = counts["\(u.name) low"], let hi = counts["\(u.name) high"] else {
        throw BenchInstructions.Failure(description: "callgrind wrote no count for '\(u.name)'")
      }
      return (Double(hi) - Double(lo)) / Double(BenchInstructions.high - BenchInstructions.low)
    }
    var cell: [String: Double] = [:]
    func key(_ u: BenchInstructions.Unit, variant: String? = nil) -> String {
      "\(variant ?? u.variant.id) \(u.flavor) \(u.notifiers) \(u.path) \(u.driver) \(u.ledger)"
    }
    for u in units where u.role == .cell { cell[key(u)] = try perOp(u) }
    var rows: [InstructionRow] = []
    var references: [InstructionReference] = []
    for u in units {
      switch u.role {
      case .cell where u.reported:
        let mine = cell[key(u)]!
        rows.append(
          InstructionRow(
            variant: u.variant, flavor: u.flavor, notifiers: u.notifiers, path: u.path,
            driver: u.driver, ledger: u.ledger, perOp: mine,
            minusOriginalPerOp: u.variant == .original
              ? nil : cell[key(u, variant: Variant.original.id)].map { mine - $0 }))
      case .reference:
        func sibling(_ role: BenchInstructions.Role) -> BenchInstructions.Unit {
          units.first { $0.role == role && $0.flavor == u.flavor && $0.notifiers == u.notifiers }!
        }
        references.append(
          InstructionReference(
            flavor: u.flavor, notifiers: u.notifiers, referencePerOp: try perOp(u),
            floorPerOp: try perOp(sibling(.floor)),
            withoutAccountingPerOp: try perOp(sibling(.withoutAccounting)),
            corePerOp: cell[key(u)]!))
      default: break
      }
    }
    self.rows = rows
    self.references = references
  }
}

extension InstructionReport {
  /// `{"measure":"instructions","rows":[…],"references":[…]}`: nothing that
  /// differs from run to run, so two runs print the same text.
  public var json: JSONValue {
    func number(_ d: Double?) -> JSONValue { d.map(JSONValue.double) ?? .null }
    return .object([
      ("measure", .string("instructions")),
      ("tool", .string("valgrind --tool=callgrind")),
      (
        "rows",
        .array(
          rows.map { r in
            .object([
              ("variant", .string(r.variant.id)),
              ("flavor", .string(r.flavor.rawValue)),
              ("notifiers", .int(Int64(r.notifiers))),
              ("path", .string(r.path.rawValue)),
              ("driver", .string(r.driver.rawValue)),
              ("ledger", .bool(r.ledger)),
              ("instructions_per_op", .double(r.perOp)),
              ("instructions_per_notifier", .double(r.perNotifier)),
              ("minus_original_per_op", number(r.minusOriginalPerOp)),
              (
                "minus_original_per_notifier",
                number(r.minusOriginalPerOp.map { $0 / Double(r.notifiers) })
              ),
            ])
          })
      ),
      (
        "references",
        .array(
          references.map { r in
            .object([
              ("flavor", .string(r.flavor.rawValue)),
              ("notifiers", .int(Int64(r.notifiers))),
              ("reference_per_op", .double(r.referencePerOp)),
              ("core_per_op", .double(r.corePerOp)),
              ("floor_per_op", .double(r.floorPerOp)),
              ("without_accounting_per_op", .double(r.withoutAccountingPerOp)),
              ("core_minus_reference_per_op", .double(r.coreMinusReferencePerOp)),
              ("core_minus_reference_per_notifier", .double(r.coreMinusReferencePerNotifier)),
              ("core_over_reference", .double(r.coreOverReference)),
            ])
          })
      ),
    ])
  }

  public var csv: String {
    func cell(_ d: Double?) -> String { d.map { format($0, 3) } ?? "" }
    var lines = [
      "variant,flavor,notifiers,path,driver,ledger,instructions_per_op,"
        + "instructions_per_notifier,minus_original_per_op,minus_original_per_notifier"
    ]
    for r in rows {
      lines.append(
        [
          r.variant.id, r.flavor.rawValue, String(r.notifiers), r.path.rawValue,
          r.driver.rawValue, String(r.ledger), cell(r.perOp), cell(r.perNotifier),
          cell(r.minusOriginalPerOp), cell(r.minusOriginalPerOp.map { $0 / Double(r.notifiers) }),
        ].joined(separator: ","))
    }
    lines.append("")
    lines.append(
      "flavor,notifiers,reference_per_op,core_per_op,floor_per_op,without_accounting_per_op,"
        + "core_minus_reference_per_op,"
        + "core_minus_reference_per_notifier,core_over_reference")
    for r in references {
      lines.append(
        [
          r.flavor.rawValue, String(r.notifiers), cell(r.referencePerOp), cell(r.corePerOp),
          cell(r.floorPerOp), cell(r.withoutAccountingPerOp), cell(r.coreMinusReferencePerOp),
          cell(r.coreMinusReferencePerNotifier), format(r.coreOverReference, 4),
        ].joined(separator: ","))
    }
    return lines.joined(separator: "\n")
  }

  public var text: String {
    func signed(_ d: Double?, _ digits: Int) -> String {
      guard let d else { return "-" }
      return (d >= 0 ? "+" : "") + format(d, digits)
    }
    var out = [
      "instructions (valgrind --tool=callgrind; per op = one non-blockable start, and the end "
        + "when it succeeded; exact, the same on every run):"
    ]
    out.append(
      TextTable.render(
        header: [
          "variant", "flavor", "N", "path", "driver", "ledger", "instr/op", "instr/notifier",
          "vs original /op", "/notifier",
        ],
        rows: rows.map { r in
          [
            r.variant.id, r.flavor.rawValue, String(r.notifiers), r.path.rawValue,
            r.driver.rawValue, r.ledger ? "on" : "off", format(r.perOp, 2),
            format(r.perNotifier, 3), signed(r.minusOriginalPerOp, 2),
            signed(r.minusOriginalPerOp.map { $0 / Double(r.notifiers) }, 3),
          ]
        }))
    out.append("")
    out.append(
      "reference (v5.11's walk, every harness addition compiled out) against original as built "
        + "(C, success, ledger off) and the floor:")
    out.append(
      TextTable.render(
        header: [
          "flavor", "N", "reference/op", "core/op", "floor/op", "no accounting/op",
          "core - reference /op",
          "/notifier", "core/reference",
        ],
        rows: references.map { r in
          [
            r.flavor.rawValue, String(r.notifiers), format(r.referencePerOp, 2),
            format(r.corePerOp, 2), format(r.floorPerOp, 2), format(r.withoutAccountingPerOp, 2),
            signed(r.coreMinusReferencePerOp, 2), signed(r.coreMinusReferencePerNotifier, 3),
            format(r.coreOverReference, 4),
          ]
        }))
    return out.joined(separator: "\n")
  }
}
