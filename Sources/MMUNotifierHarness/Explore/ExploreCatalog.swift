/// The configurations `explore` ships: the seeds' concerns, each small
/// enough to exhaust at preemption bound 2.
public enum ExploreCatalog {
  public static let all: [ExploreConfiguration] = [
    ExploreConfiguration(
      name: "reap-vs-unregister",
      summary:
        "an OOM reap racing one unregister; three notifiers, one refusing, in every position, each as the target",
      notifiers: [.startEnd, .refusing, .startEnd], operations: [.oomReap, .unregister(.each)],
      everyRefusingPosition: true),
    ExploreConfiguration(
      name: "reap-vs-put",
      summary:
        "an OOM reap racing an mmu_notifier_put, whose free waits a grace period (call_srcu)",
      notifiers: [.startEnd, .refusing], operations: [.oomReap, .put(.each)]),
    ExploreConfiguration(
      name: "reap-vs-munmap",
      summary: "an OOM reap racing a munmap of the same VMA; one notifier refuses the reaper",
      notifiers: [.startEnd, .refusing], operations: [.oomReap, .munmap]),
    ExploreConfiguration(
      name: "interval-remove-vs-invalidate",
      summary:
        "mmu_interval_notifier_remove racing an invalidation of its interval (a munmap), then the driver frees it",
      notifiers: [], intervals: 1, operations: [.munmap, .intervalRemove(0)],
      // the remover must be switched in twice inside munmap's window
      defaultBound: 3),
    ExploreConfiguration(
      name: "memslot-vs-reap",
      summary:
        "a KVM v5.15 memslot update racing an OOM reap whose start a neighbour refuses",
      notifiers: [.kvm, .refusing], operations: [.oomReap, .memslotUpdate]),
    ExploreConfiguration(
      name: "gru-fault-vs-reap",
      summary: "a GRU fault racing an OOM reap whose start a neighbour refuses",
      notifiers: [.gru, .refusing], operations: [.oomReap, .gruFault]),
    ExploreConfiguration(
      name: "itree-then-hlist-refusal",
      summary:
        "an OOM reap whose interval half succeeds and whose hlist half is refused, racing a fault on the interval",
      notifiers: [.refusing], intervals: 1, operations: [.oomReap, .intervalFault(0)]),
    // Today's kernel (issue 17); meant for --base mainline.
    ExploreConfiguration(
      name: "reap-vs-two-pass-refusal",
      summary:
        "an OOM reap racing a munmap over a two-pass interval (xe, deferring) and a refusing interval, in both tree orders: every deferred start finished once",
      notifiers: [], operations: [.oomReap, .munmap],
      intervalRoles: [.twoPass(nowait: true), .refusing], everyIntervalOrder: true),
    ExploreConfiguration(
      name: "two-pass-finish-inuse",
      summary:
        "two madvise(DONTNEED)s invalidating one two-pass interval (xe) at once: its one embedded finish, finish_inuse; the xe interval first or second in the tree walk",
      notifiers: [], operations: [.zap, .zap],
      intervalRoles: [.twoPass(nowait: false), .plain], everyIntervalOrder: true),
    ExploreConfiguration(
      name: "kvm-mainline-memslot-vs-reap",
      summary:
        "a mainline KVM memslot update (kvm_swap_active_memslots) racing an OOM reap whose start a neighbour refuses, the neighbour in every position",
      notifiers: [.kvmMainline, .refusing], operations: [.oomReap, .memslotUpdate],
      everyRefusingPosition: true),
    ExploreConfiguration(
      name: "interval-remove-vs-reap",
      summary:
        "mmu_interval_notifier_remove racing an OOM reap of its interval, then the driver frees it (319561669a59's race, reached by the reaper)",
      notifiers: [], intervals: 1, operations: [.oomReap, .intervalRemove(0)],
      defaultBound: 3),
  ]

  public static func named(_ name: String) throws(HarnessInputError) -> ExploreConfiguration {
    guard let c = all.first(where: { $0.name == name }) else {
      throw .unknown(kind: "configuration", name: name, valid: all.map(\.name))
    }
    return c
  }
}
