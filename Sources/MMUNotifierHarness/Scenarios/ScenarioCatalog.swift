import Synchronization

/// The scenarios `compare` knows, in the order it prints them.
public enum ScenarioCatalog {
  /// The built-in scenarios, then those registered (`register`).
  public static var all: [any Scenario] { builtIn + registered.withLock { $0 } }

  /// To add a scenario to the harness itself (`compare`, `scenarios` and
  /// the tests' sweep), append it here.
  public static let builtIn: [any Scenario] = [
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
    PutDuringInvalidation(),
    // today's kernel (issue 17)
    TwoPassFinishOnce(),
    IntervalRemoveVsReap(),
    KVMMainlineMemslotAfterOOM(),
  ]

  static let registered = Mutex<[any Scenario]>([])

  /// Adds a scenario of a driver author's package to `compare` and
  /// `scenarios` in this process (`HarnessCLI.main(drivers:scenarios:)`
  /// does it in the child of every compare cell too). A scenario with the
  /// id of one already registered replaces it; a built-in id is refused.
  public static func register(_ scenario: any Scenario) throws(HarnessInputError) {
    guard !builtIn.contains(where: { $0.id == scenario.id }) else {
      throw HarnessInputError.invalid(
        "scenario id '\(scenario.id)' is a built-in scenario's; valid: any other id")
    }
    registered.withLock { list in
      list.removeAll { $0.id == scenario.id }
      list.append(scenario)
    }
  }

  /// Looks a scenario up by id, or throws an error that lists the valid ones.
  public static func named(_ id: String) throws(HarnessInputError) -> any Scenario {
    guard let scenario = all.first(where: { $0.id == id }) else {
      throw HarnessInputError.unknown(kind: "scenario", name: id, valid: all.map(\.id))
    }
    return scenario
  }
}
