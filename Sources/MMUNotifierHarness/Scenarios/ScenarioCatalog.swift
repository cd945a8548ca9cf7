/// The scenarios `compare` knows, in the order it prints them.
public enum ScenarioCatalog {
  /// To add a scenario to `compare`, `scenarios` and the tests' sweep,
  /// append it here.
  public static let all: [any Scenario] = [
    OOMFlakyNeighbour(),
    FailingStartWithEnd(),
    OOMNoFailure(),
    GRUFaultAfterOOM(),
    MemslotUpdateAfterOOM(),
    ARMTwoKVM(),
    UnregisterDuringFailedStart(),
    ITreeThenHlistFailure(),
    BlockableStartFailure(),
    KVMMemslotLockScenario(),
    IntervalRemoveRace(),
  ]

  /// Looks a scenario up by id, or throws an error that lists the valid ones.
  public static func named(_ id: String) throws(HarnessInputError) -> any Scenario {
    guard let scenario = all.first(where: { $0.id == id }) else {
      throw HarnessInputError.unknown(kind: "scenario", name: id, valid: all.map(\.id))
    }
    return scenario
  }
}
