/// One of issue 5's or issue 15's targets, judged on the rows of this run that it covers.
public struct BenchTarget: Sendable {
  public let name: String
  public let limit: Double
  /// true: the measured ratio must be at most `limit`; false: at least.
  public let atMost: Bool
  /// The worst ratio among the covered rows, and where it was measured.
  public let worst: Double
  public let worstAt: String
  public let covered: Int

  public var met: Bool { atMost ? worst <= limit : worst >= limit }
  public var limitText: String { (atMost ? "≤ " : "≥ ") + format(limit, 2) }
  /// How far past the limit, as a fraction of it (0 when met).
  public var miss: Double { met ? 0 : limit == 0 ? worst : abs(worst - limit) / limit }
}

extension BenchReport {
  /// The targets whose rows this run measured.
  public var targets: [BenchTarget] {
    let readSideFlavors: Set<RCUFlavor> = [.memb, .qsbr, .bp]
    let cores: Set<String> = ["original", "upstream-fix"]
    func cOff(_ r: BenchRow) -> Bool { r.driver == .c && !r.ledger }
    func at(_ r: BenchRow) -> String {
      "\(r.variant.id) \(r.flavor) N=\(r.notifiers) \(r.path)\(r.driver == .swift ? " swift" : "")"
    }
    var out: [BenchTarget] = []
    func judge(
      _ name: String, _ limit: Double, atMost: Bool, _ items: [(Double, String)]
    ) {
      guard !items.isEmpty else { return }
      let worst = atMost ? items.max { $0.0 < $1.0 }! : items.min { $0.0 < $1.0 }!
      out.append(
        BenchTarget(
          name: name, limit: limit, atMost: atMost, worst: worst.0, worstAt: worst.1,
          covered: items.count))
    }

    judge(
      "core / floor per notifier (C, success, N ≥ 64, memb qsbr bp)", 1.3, atMost: true,
      rows.filter {
        cOff($0) && $0.path == .success && $0.notifiers >= 64
          && readSideFlavors.contains($0.flavor) && cores.contains($0.variant.id)
      }.compactMap { r in r.ratioToFloor.map { ($0, at(r)) } })
    judge(
      "upstream-fix / original (C, success, every N)", 1.03, atMost: true,
      rows.filter { cOff($0) && $0.path == .success && $0.variant.id == "upstream-fix" }
        .compactMap { r in r.ratioToOriginal.map { ($0, at(r)) } })
    judge(
      "Swift no-op / C per notifier (success, N = 64, ledger off)", 1.3, atMost: true,
      rows.filter { $0.driver == .swift && !$0.ledger && $0.path == .success && $0.notifiers == 64 }
        .compactMap { r in r.ratioToC.map { ($0, at(r)) } })
    judge(
      "upstream-fix failure / its success (C)", 2.2, atMost: true,
      rows.filter { cOff($0) && $0.path.fails && $0.variant.id == "upstream-fix" }
        .compactMap { r in r.ratioToSuccess.map { ($0, at(r)) } })
    let scalings = concurrency.filter { $0.readers == 2 && readSideFlavors.contains($0.flavor) }
      .compactMap { c in
        c.scaling.map { ($0, "\(c.flavor) \(c.writers) writer(s) N=\(c.notifiers)") }
      }
    judge("2 readers / 1 reader invalidations (memb qsbr bp)", 1.8, atMost: false, scalings)
    judge(
      "2 readers / 1 reader per CPU-second given (memb qsbr bp)", 1.8, atMost: false,
      concurrency.filter { $0.readers == 2 && readSideFlavors.contains($0.flavor) }
        .compactMap { c in c.scalingPerCPUSecond.map { ($0, "\(c.flavor) N=\(c.notifiers)") } })
    // issue 15
    judge("2 readers / 1 reader, at most (2 CPUs' worth)", 2.0, atMost: true, scalings)
    judge(
      "A/A spread |ratio - 1| (every N and flavour)", 0.01, atMost: true,
      controls.map { ($0.spread, "\($0.flavor) N=\($0.notifiers)") })
    judge(
      "core / reference (C, success, ledger off, original and upstream-fix)", 1.02, atMost: true,
      rows.filter { cOff($0) && $0.path == .success && cores.contains($0.variant.id) }
        .compactMap { r in r.ratioToReference.map { ($0, at(r)) } })
    if !rows.isEmpty {
      judge(
        "suspect rows (self-checks)", 0, atMost: true,
        [(Double(suspects), suspects == 0 ? "-" : "see self-checks")])
    }
    return out
  }
}
