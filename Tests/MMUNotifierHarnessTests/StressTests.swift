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

  // MARK: promises

  /// The `Promises:` grammar: clauses add up, `except` takes away inside
  /// its clause, no `in` means every class.
  @Test func promisesLineGrammar() throws {
    let p = try VariantPromises.parse(
      "no-poison; all in flaky-neighbour; all except no-warn, no-bug in failing-start-with-end")
    #expect(p.holds(.noPoison, in: .itreeNeighbour))
    #expect(!p.holds(.noMissingEnd, in: .itreeNeighbour))
    #expect(Set(Promise.allCases).isSubset(of: p.held[.flakyNeighbour] ?? []))
    #expect(p.holds(.noEndWithoutStart, in: .failingStartWithEnd))
    #expect(
      !p.holds(.noWarn, in: .failingStartWithEnd) && !p.holds(.noBug, in: .failingStartWithEnd))
    #expect(try VariantPromises.parse("") == .universal)
    let pairing = try VariantPromises.parse("pairing in itree-neighbour")
    #expect(pairing.held[.itreeNeighbour] == Set(Promise.pairing))
    #expect(pairing.pairingClasses == [.itreeNeighbour])
    for bad in ["nope", "all in nope", "all;", ", no-poison", "all except nope"] {
      #expect(throws: HarnessInputError.self) { try VariantPromises.parse(bad) }
    }
  }

  /// A variant without a Promises: line is held to every promise in every
  /// class; the shipped ones are held to what their headers say.
  @Test func promisesComeFromThePatchHeaders() throws {
    let earlyFree = StressPromise.of(try Variant.named("test-early-free"))
    #expect(earlyFree.promises == .universal)
    let upstream = StressPromise.of(try Variant.named("upstream-fix"))
    #expect(upstream.basis.hasPrefix("patches/0004-upstream-fix.patch: Promises: "))
    #expect(upstream.promises.holds(.noMissingEnd, in: .flakyNeighbour))
    #expect(!upstream.promises.holds(.noEndWithoutStart, in: .failingStartWithEnd))
    #expect(upstream.promises.holds(.noUseAfterFree, in: .failingStartWithEnd))
    for variant in Variant.everything {
      let p = StressPromise.of(variant)
      for cls in StressClass.allCases {
        #expect(p.promises.holds(.noUseAfterFree, in: cls), "\(variant) waives use after free")
        #expect(p.promises.holds(.noPoison, in: cls), "\(variant) waives poison")
      }
    }
  }

  /// Test variants (Kind: test) are never part of `all`, but run when named.
  @Test func testVariantsAreHiddenFromAll() throws {
    let tests = Variant.everything.filter(\.isTest).map(\.id)
    #expect(tests.contains("test-early-free") && tests.contains("test-stuck-walk"))
    #expect(!Variant.all.contains { $0.isTest })
    #expect(try Variant.named("test-early-free").isTest)
    #expect(Comparison.targets(of: ScenarioCatalog.all[0], selection: nil) == Variant.all.map(\.id))
  }

  /// Every shipped variant keeps the promises its header makes, in every
  /// class, on a short run: the Promises: lines are honest.
  @Test(arguments: Variant.all.map(\.id))
  func shippedVariantsKeepTheirPromises(variant: String) {
    var c = Self.configuration(variant, .memb, classes: StressClass.allCases)
    c.seconds = 1
    let report = StressEngine.run(c)
    #expect(report.ok, "\(variant): \(report.broken)")
  }

  /// A class result names the broken promise beside each finding.
  @Test func brokenFindingsNameThePromise() {
    var c = Self.configuration("original", .memb, classes: [.flakyNeighbour])
    c.promise = StressPromise(
      variant: "original", promises: .universal, basis: "held to everything")
    let report = StressEngine.run(c)
    #expect(!report.ok)
    #expect(report.broken.contains { $0.hasSuffix("(no-missing-end)") })
    #expect(report.text.contains("verdict: FAILED: promise broken: no-missing-end"))
  }
}
