import MMUNotifierHarness
import Testing

/// `mmn-harness stress` as a library call: short runs (CI runs this suite
/// again under ASan and TSan on two cores, so each run lasts about a second
/// and the verdicts rest on what happened, not on how much).
@Suite("Stress: readers race writers on real grace periods")
struct StressTests {
  static let seconds = 1.5

  static func configuration(
    _ variant: String, _ flavor: RCUFlavor, classes: [StressClass]? = nil, seed: UInt64 = 6
  ) -> StressConfiguration {
    StressConfiguration(
      variant: try! Variant.named(variant), flavor: flavor, seconds: seconds, readers: 2,
      writers: 2, failRate: 0.2, seed: seed, classes: classes)
  }

  /// The issue's done-when, shortened: upstream-fix keeps every promise on
  /// every flavour, nothing freed is reached, everything removed is freed.
  @Test(arguments: RCUFlavor.allCases)
  func upstreamFixKeepsItsPromise(flavor: RCUFlavor) {
    let report = StressEngine.run(Self.configuration("upstream-fix", flavor))
    #expect(report.ok, "\(report.broken)")
    #expect(report.poisonSeen == 0)
    #expect(report.callsAfterFree == 0)
    #expect(report.missingEnds == 0 && report.endsWithoutStart == 0 && report.duplicateEnds == 0)
    #expect(report.hung == 0)
    #expect(report.frees == report.removals)
    #expect(report.strayThreads == 0)
    #expect(report.threadsFinished == report.threadsStarted)
    // The run did what it claims: refused starts, removals racing readers.
    #expect(report.invalidations > 0)
    #expect(report.classes.allSatisfy { $0.refusedStarts > 0 })
    #expect(report.puts > 0 && report.unregistrations > 0)
    #expect(report.classes.first { $0.cls == .itreeNeighbour }.map { $0.faults > 0 } == true)
  }

  /// original promises no pairing: the missing ends are reported, as
  /// expected ones, and do not fail the run; RCU safety still decides it.
  @Test func originalReportsExpectedMissingEnds() {
    let report = StressEngine.run(Self.configuration("original", .memb, classes: [.flakyNeighbour]))
    let flaky = report.classes[0]
    #expect(!flaky.promised)
    #expect(flaky.ledger.missingEnds > 0, "a refused start leaves KVM/GRU starts open")
    #expect(flaky.expected.contains { $0.hasPrefix("missing_ends=") })
    #expect(report.ok, "\(report.broken)")
    #expect(report.poisonSeen == 0 && report.frees == report.removals)
  }

  /// The verdict comes from the run: hold original to upstream-fix's claim
  /// (a variant that misbehaves) and the same run fails.
  @Test func aBrokenClaimFailsTheRun() {
    var c = Self.configuration("original", .memb, classes: [.flakyNeighbour])
    c.promise = StressPromise(
      variant: "original", classes: [.flakyNeighbour], basis: "a claim original does not keep")
    let report = StressEngine.run(c)
    #expect(!report.ok)
    #expect(report.broken.contains { $0.hasPrefix("flaky-neighbour: missing_ends=") })
  }

  /// The leak found in the code: upstream-fix leaves active_invalidate_ranges
  /// raised when the hlist refuses after the interval tree started;
  /// itree-unwind does not. Both runs end, with every thread joined.
  @Test func itreeUnwindClosesTheLeakUpstreamFixLeaves() {
    let leaking = StressEngine.run(
      Self.configuration("upstream-fix", .memb, classes: [.itreeThenHlistFailure]))
    let leak = leaking.classes[0]
    #expect(!leak.promised && leaking.ok)
    #expect(leak.activeInvalidateRanges > 0)
    #expect(leaking.strayThreads == 0 && leaking.threadsFinished == leaking.threadsStarted)

    let unwinding = StressEngine.run(
      Self.configuration("itree-unwind", .memb, classes: [.itreeThenHlistFailure]))
    let clean = unwinding.classes[0]
    #expect(clean.promised)
    #expect(unwinding.ok, "\(unwinding.broken)")
    #expect(clean.activeInvalidateRanges == 0 && clean.log.hung == 0)
    #expect(clean.refusedStarts > 0 && clean.intervalInserts > 0)
  }

  /// The JSON keeps the issue's keys first, in the issue's order.
  @Test func jsonKeysComeFirstInOrder() {
    var c = Self.configuration("upstream-fix", .memb, classes: [.flakyNeighbour])
    c.seconds = 0.2
    let report = StressEngine.run(c)
    guard case .object(let fields) = report.json else {
      Issue.record("not an object")
      return
    }
    let issueKeys = [
      "variant", "flavor", "seconds", "readers", "writers", "invalidations", "registrations",
      "removals", "frees", "poison_seen", "missing_ends", "ends_without_start", "duplicate_ends",
      "warnings", "bugs", "hung", "ok",
    ]
    #expect(Array(fields.map(\.0).prefix(issueKeys.count)) == issueKeys)
    #expect(fields.first { $0.0 == "ok" }?.1 == .bool(report.ok))
  }

  /// A seed fixes every thread's choices.
  @Test func seededChoicesRepeat() {
    var a = StressRandom(seed: 42, stream: 3)
    var b = StressRandom(seed: 42, stream: 3)
    var other = StressRandom(seed: 42, stream: 4)
    let first = (0..<64).map { _ in a.next() }
    #expect(first == (0..<64).map { _ in b.next() })
    #expect(first != (0..<64).map { _ in other.next() })
    #expect(
      (1...100).map { StressRandom.decision(seed: 9, n: $0, probability: 0.3) }
        == (1...100).map { StressRandom.decision(seed: 9, n: $0, probability: 0.3) })
  }
}
