import ArgumentParser
import MMUNotifierHarness

/// `mmn-harness variants`: the core variants this binary carries, one line each.
struct VariantsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "variants",
    abstract: "List the core variants (from patches/), one line each: id, idea, upstream reference."
  )

  func run() throws {
    print(
      TextTable.render(
        header: ["variant", "summary", "upstream"],
        rows: Variant.all.map { [$0.id, $0.summary, $0.upstream] }))
  }
}
