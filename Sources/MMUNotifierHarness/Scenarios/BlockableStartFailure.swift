/// Found by reading the code (kernel-semantics.md section 2, modelling
/// notes): a blockable start must not fail, but i915 v5.11 can return an
/// unbind error there (the core WARNs). The blockable wrapper is void, so
/// munmap still calls end. The merged fix's compensating ends run inside
/// start as well, so KVM gets two ends for one start.
/// Role: the victim (KVM v5.11).
public struct BlockableStartFailure: CoreVariantScenario, RoleScenario {
  public static let scenarioID = "blockable-start-failure"
  public var id: String { cast.id(Self.scenarioID) }
  public let origin = "none (found in the code)"
  public var setup: String {
    cast.setup(
      "i915 userptr fails a blockable start with -EBUSY (illegal; WARNs) + KVM v5.11; munmap of the object's VMA"
    )
  }
  public let claim =
    "upstream-fix calls KVM's end twice (duplicate_ends, and the count goes below 0); original does not"

  public let roles: [ScenarioRole] = [.victim]
  public var cast = ScenarioCast()

  public init(cast: ScenarioCast = ScenarioCast()) { self.cast = cast }

  public func run(variant: Variant, context: ScenarioContext) -> ScenarioResult {
    var rng = context.random(for: Self.scenarioID)
    let vmas = rng.int(in: 1...4)
    let objectVMA = rng.int(in: 0...(vmas - 1))
    let rig = ScenarioRig(scenario: id, variant: variant, context: context, vmas: vmas)
    defer { rig.tearDown() }
    let victim = cast.make(.victim, mm: rig.mm, name: "victim") ?? KVM(mm: rig.mm, version: .v5_11)
    let i915 = I915Userptr(unbindError: I915Userptr.pagesPinned)
    let object = rig.vma(objectVMA)
    i915.addObject(start: object.start, length: object.end - object.start)
    let subs = rig.register(inTraversalOrder: [victim, i915])
    rig.mm.munmap(start: object.start, end: object.end)
    let own: [Metric] =
      (victim as? KVM).map { [.int("kvm_mmu_notifier_count", $0.mmuNotifierCount)] } ?? []
    return rig.result(
      own + [.int("munmapped_vmas", rig.mm.unmappedVMAs), .int("object_vma", objectVMA)]
        + cast.metrics(.victim, [subs[0]]))
  }
}
