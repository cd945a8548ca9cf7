import ArgumentParser
import MMUNotifierHarness

/// `mmn-harness variants`: the core variants this binary carries, one line each.
struct VariantsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "variants",
    abstract:
      "List the core variants (from patches/), one line each: id, base, idea, upstream reference.",
    discussion: """
      Test variants (patch header `Kind: test`: deliberately broken, to test the harness) \
      are listed only with --all; `--variant all` never includes them, naming one runs it.
      """
  )

  @Flag(name: .long, help: "Also list the test variants (Kind: test).")
  var all = false

  func run() throws {
    // every base: v5.11's (original and its fixes), then mainline's
    let listed = all ? Variant.everything : Variant.allBases
    let variants = Variant.bases.flatMap { base in listed.filter { $0.base == base } }
    print(
      TextTable.render(
        header: ["variant", "base", "summary", "upstream"] + (all ? ["kind"] : []),
        rows: variants.map {
          [$0.id, $0.base, $0.summary, $0.upstream] + (all ? [$0.kind.rawValue] : [])
        }
      ))
  }
}
