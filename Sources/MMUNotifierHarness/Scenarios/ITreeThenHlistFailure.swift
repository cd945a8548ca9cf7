/// Found by reading the code (kernel-semantics.md section 2): the core
/// invalidates the interval tree first and the hlist second. When the tree
/// succeeds and the hlist refuses, the non-blocking caller skips end, so
/// `mn_itree_inv_end` never runs: `active_invalidate_ranges` leaks, the
/// sequence stays odd, and `mmu_interval_read_begin` sleeps for good.
/// nouveau has exactly this pair: an interval notifier that succeeds (its
/// trylock is free) and an hlist start that refuses every non-blockable
/// range. Role: the refusing neighbour (nouveau's hlist notifier; its
/// interval notifier stays).
public struct ITreeThenHlistFailure: CoreVariantScenario, RoleScenario {
  public static let scenarioID = "itree-then-hlist-failure"
  public var id: String { cast.id(Self.scenarioID) }
  public let origin = "none (found in the code)"
  public var setup: String {
    cast.setup(
      "nouveau interval notifier over one VMA (succeeds) + nouveau hlist notifier (refuses); OOM reaper, then mmu_interval_read_begin"
    )
  }
  public let claim =
    "original and upstream-fix leave active_invalidate_ranges above 0 and read_begin hangs; itree-unwind does not"

  public let roles: [ScenarioRole] = [.refusingNeighbour]
  public var cast = ScenarioCast()

  public init(cast: ScenarioCast = ScenarioCast()) { self.cast = cast }

  public func run(variant: Variant, context: ScenarioContext) -> ScenarioResult {
    var rng = context.random(for: Self.scenarioID)
    let vmas = rng.int(in: 1...4)
    let rangeVMA = rng.int(in: 0...(vmas - 1))
    let rig = ScenarioRig(scenario: id, variant: variant, context: context, vmas: vmas)
    defer { rig.tearDown() }
    let svmm = NouveauSVMM()
    let neighbour = cast.make(.refusingNeighbour, mm: rig.mm, name: "neighbour") ?? svmm
    let subs = rig.register(inTraversalOrder: [neighbour])
    let range = rig.vma(rangeVMA)
    let interval = rig.insertInterval(
      svmm.rangeNotifier(), start: range.start, length: range.end - range.start)
    rig.oomReap()
    let active = rig.mm.activeInvalidateRanges
    let seqOdd = rig.mm.invalidateSeq & 1 == 1
    let mm = rig.mm
    let hungBefore = mm.logCounts.hung
    // A GPU fault on the range: nouveau_range_fault's read_begin.
    KernelThread.run(name: "nouveau_fault") { _ = interval.readBegin() }
    let readBeginHung = mm.logCounts.hung > hungBefore
    return rig.result(
      [
        .int("active_invalidate_ranges", active), .bool("invalidate_seq_odd", seqOdd),
        .bool("read_begin_completed", !readBeginHung), .int("interval_vma", rangeVMA),
      ] + cast.metrics(.refusingNeighbour, subs))
  }
}
