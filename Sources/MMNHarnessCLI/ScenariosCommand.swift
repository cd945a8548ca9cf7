import ArgumentParser
import MMUNotifierHarness

/// `mmn-harness scenarios`: what `compare` can run, one line each.
struct ScenariosCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "scenarios",
    abstract:
      "List the scenarios `compare` runs, one line each: id, seed documents, roles, set-up.",
    discussion: """
      A role is a part another driver can play (`compare --driver NAME` casts a registered \
      driver in every role it fits): \
      \(ScenarioRole.allCases.map { "\($0.rawValue): \($0.meaning)" }.joined(separator: "; ")).
      """)

  func run() throws {
    print(
      TextTable.render(
        header: ["scenario", "from", "roles", "set-up"],
        rows: ScenarioCatalog.all.map {
          [
            $0.id, Self.shortOrigin($0.origin),
            ($0 as? any RoleScenario)?.roles.map(\.rawValue).joined(separator: ",") ?? "-",
            $0.setup,
          ]
        }))
  }

  /// "000_871c....txt, 004_c4bee....txt" (or "000, 004") reads as "000, 004".
  static func shortOrigin(_ origin: String) -> String {
    let seeds = origin.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
      .map { String($0.prefix(while: \.isNumber)) }.filter { $0.count == 3 }
    return seeds.isEmpty ? "code" : seeds.joined(separator: ", ")
  }
}
