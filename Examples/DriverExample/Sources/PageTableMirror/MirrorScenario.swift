import MMUNotifierHarness

/// A scenario of the package's own: the mirror traversed before a
/// neighbour that refuses every second non-blockable start, then the OOM
/// reaper. Under a core that skips the ends of the starts before a refusal
/// the mirror is left with open invalidations (`mirror_invalidating` > 0,
/// missing ends); under the merged fix it is back at 0.
///
/// `compare` runs it once registered: `HarnessCLI.main(drivers:scenarios:)`
/// (see `driver-harness`), or `ScenarioCatalog.register` in a test.
public struct MirrorBeforeRefusal: CoreVariantScenario {
  public let id = "mirror-before-refusal"
  public let origin = "Examples/DriverExample"
  public let claim = "original leaves the mirror with open invalidations; the fixes close them"
  public let setup =
    "page-table mirror + a neighbour refusing every 2nd non-blockable start; OOM reaper"

  public init() {}

  public func run(variant: Variant, context: ScenarioContext) -> ScenarioResult {
    // every choice from the context's seed: same seed, same run
    var random = context.random(for: id)
    let vmas = random.int(in: 2...5)
    let rig = ScenarioRig(scenario: id, variant: variant, context: context, vmas: vmas)
    defer { rig.tearDown() }
    let mirror = PageTableMirror(mm: rig.mm)
    rig.register(inTraversalOrder: [mirror, FailingNotifier(everyKth: 2)])
    rig.oomReap()
    return rig.result([.int("mirror_invalidating", mirror.invalidating)])
  }
}
