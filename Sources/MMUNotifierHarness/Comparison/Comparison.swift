import Synchronization

/// A matrix of scenarios x targets, every cell a run of the real code.
public struct Comparison: Sendable {
  public struct Row: Sendable {
    public let scenario: any Scenario
    /// In the order of `Comparison.targets(of:selection:)`.
    public let results: [ScenarioResult]
  }

  /// The core variants selected (the columns of core-variant scenarios).
  public let variants: [Variant]
  public let context: ScenarioContext
  public let rows: [Row]
  /// `--base`: outputs name each variant with its base (`mainline`,
  /// `v5.11/upstream-fix`); off, they print the ids as they always did.
  public var labelsBases = false

  /// How outputs name a target: a variant's label under `labelsBases`,
  /// else the id (a scenario's own targets, such as `kvm-v5.15`, as is).
  public func label(_ target: String) -> String {
    guard labelsBases, let v = Variant.everything.first(where: { $0.id == target }) else {
      return target
    }
    return v.label
  }

  /// The names `--variant` offers: every core variant, and every target a
  /// scenario keys its own results by (such as a KVM version). A test
  /// variant is accepted too when named, but not offered.
  public static func validTargetNames(_ scenarios: [any Scenario] = ScenarioCatalog.all)
    -> [String]
  {
    var names = Variant.all.map(\.id)
    for own in scenarios.compactMap(\.targets).joined() where !names.contains(own) {
      names.append(own)
    }
    return names
  }

  /// Checks a `--variant` selection: every name must be valid.
  public static func checkSelection(_ selection: [String], scenarios: [any Scenario])
    throws(HarnessInputError)
  {
    let valid = validTargetNames(scenarios)
    // every base's variants (`--base` selects them) and the test ones
    let accepted = valid + Variant.everything.map(\.id)
    if let bad = selection.first(where: { !accepted.contains($0) }) {
      throw HarnessInputError.unknown(kind: "variant", name: bad, valid: valid)
    }
  }

  /// Which targets a scenario runs on for a selection (nil: everything).
  /// A core-variant scenario runs the selected variants. A scenario with
  /// its own targets runs the ones the selection names, or all of them if
  /// it names none (a core-variant filter does not apply to it).
  public static func targets(of scenario: any Scenario, selection: [String]?) -> [String] {
    guard let own = scenario.targets else {
      guard let selection else { return Variant.all.map(\.id) }
      let variantIDs = Variant.everything.map(\.id)
      return selection.filter { variantIDs.contains($0) }
    }
    let named = selection?.filter { own.contains($0) } ?? []
    return named.isEmpty ? own : named
  }

  /// Runs every cell, up to `jobs` at a time (a scenario with no target in
  /// the selection is left out), each on its own OS thread
  /// (cells share nothing but the flavour's SRCU domain, as separate mms
  /// do in the kernel). Returns once every run has returned.
  /// How one cell is run: in this process by default; the command runs
  /// each in a child (`CellIsolation`) so a crash is that cell's verdict.
  public typealias CellRunner =
    @Sendable (_ scenario: any Scenario, _ target: String, _ context: ScenarioContext) ->
    ScenarioResult

  public static let inProcess: CellRunner = { scenario, target, context in
    scenario.run(target: target, context: context)
  }

  public static func run(
    scenarios: [any Scenario], selection: [String]?, context: ScenarioContext, jobs: Int = 8,
    runner: @escaping CellRunner = inProcess
  ) -> Comparison {
    let cells: [(row: Int, target: String)] = scenarios.enumerated().flatMap { row, scenario in
      targets(of: scenario, selection: selection).map { (row, $0) }
    }
    let results = Locked<[Int: ScenarioResult]>([:])
    let next = Atomic<Int>(0)
    let workers = (0..<max(1, min(jobs, cells.count))).map { n in
      KernelThread(name: "mmn-compare/\(n)") {
        while true {
          let i = next.add(1, ordering: .relaxed).oldValue
          guard i < cells.count else { return }
          let cell = cells[i]
          let result = runner(scenarios[cell.row], cell.target, context)
          results.withLock { $0[i] = result }
        }
      }
    }
    for worker in workers { worker.join() }
    let done = results.withLock { $0 }
    var perRow = [[ScenarioResult]](repeating: [], count: scenarios.count)
    for (i, cell) in cells.enumerated() {
      if let r = done[i] { perRow[cell.row].append(r) }
    }
    let variants =
      selection.map { sel in sel.compactMap { id in Variant.everything.first { $0.id == id } } }
      ?? Variant.all
    return Comparison(
      variants: variants, context: context,
      rows: scenarios.indices.filter { !perRow[$0].isEmpty }.map {
        Row(scenario: scenarios[$0], results: perRow[$0])
      })
  }
}
