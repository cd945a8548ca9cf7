/// Found by reading the code (kernel-semantics.md section 2): the core
/// invalidates the interval tree first and the hlist second. When the tree
/// succeeds and the hlist refuses, the non-blocking caller skips end, so
/// `mn_itree_inv_end` never runs: `active_invalidate_ranges` leaks, the
/// sequence stays odd, and `mmu_interval_read_begin` sleeps for good.
/// nouveau has exactly this pair: an interval notifier that succeeds (its
/// trylock is free) and an hlist start that refuses every non-blockable
/// range.
public struct ITreeThenHlistFailure: CoreVariantScenario {
  public let id = "itree-then-hlist-failure"
  public let origin = "none (found in the code)"
  public let setup =
    "nouveau interval notifier over one VMA (succeeds) + nouveau hlist notifier (refuses); OOM reaper, then mmu_interval_read_begin"
  public let claim =
    "original and upstream-fix leave active_invalidate_ranges above 0 and read_begin hangs; itree-unwind does not"

  public init() {}

  public func run(variant: Variant, context: ScenarioContext) -> ScenarioResult {
    var rng = context.random(for: id)
    let vmas = rng.int(in: 1...4)
    let rangeVMA = rng.int(in: 0...(vmas - 1))
    let rig = ScenarioRig(scenario: id, variant: variant, context: context, vmas: vmas)
    defer { rig.tearDown() }
    let svmm = NouveauSVMM()
    rig.register(inTraversalOrder: [svmm])
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
    return rig.result([
      .int("active_invalidate_ranges", active), .bool("invalidate_seq_odd", seqOdd),
      .bool("read_begin_completed", !readBeginHung), .int("interval_vma", rangeVMA),
    ])
  }
}
