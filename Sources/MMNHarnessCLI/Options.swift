import ArgumentParser
import Foundation
import MMUNotifierHarness

/// Option values are parsed by the library so that every command refuses a
/// bad name the same way: one line naming the valid choices.
enum OptionParsing {
  static func list(_ raw: String) -> [String] {
    raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
      !$0.isEmpty
    }
  }

  /// A comma-separated list that refuses an empty item (`a,,b`, `''`), so
  /// a typo never silently selects less than was meant.
  static func items(_ raw: String, _ option: String, valid: [String]) throws -> [String] {
    let parts = raw.split(separator: ",", omittingEmptySubsequences: false).map {
      $0.trimmingCharacters(in: .whitespaces)
    }
    if parts.contains(where: \.isEmpty) {
      throw ValidationError(
        "\(option) '\(raw)' has an empty item; valid: a comma-separated list of \(valid.joined(separator: ", "))"
      )
    }
    return parts
  }

  static func flavors(_ raw: String?) throws -> [RCUFlavor] {
    guard let raw else { return RCUFlavor.allCases }
    if raw == "all" { return RCUFlavor.allCases }
    return try items(raw, "--flavor", valid: ["all"] + RCUFlavor.allCases.map(\.rawValue)).map {
      name in try wrap { try RCUFlavor.named(name) }
    }
  }

  static func flavor(_ raw: String) throws -> RCUFlavor {
    try wrap { try RCUFlavor.named(raw) }
  }

  /// `all` (every variant but the test ones) or a list. Only bench takes a
  /// list: it has no child per run, and timing a variant that is broken on
  /// purpose measures nothing, so a test variant is refused there.
  static func variants(_ raw: String?) throws -> [Variant] {
    guard let raw, raw != "all" else { return Variant.all }
    let valid = ["all"] + Variant.all.map(\.id)
    return try items(raw, "--variant", valid: valid).map { name in
      let variant = try wrap { try Variant.named(name) }
      guard !variant.isTest else {
        throw ValidationError(
          "--variant \(name) is a test variant (Kind: test), not timed; valid: \(valid.joined(separator: ", "))"
        )
      }
      return variant
    }
  }

  static func variant(_ raw: String) throws -> Variant {
    try wrap { try Variant.named(raw) }
  }

  /// An integer option with an inclusive range.
  static func bounded(_ value: Int, _ option: String, _ range: ClosedRange<Int>) throws -> Int {
    guard range.contains(value) else {
      throw ValidationError(
        "\(option) \(value) is out of range; valid: \(range.lowerBound)...\(range.upperBound)")
    }
    return value
  }

  static func oneOf(_ value: String, _ option: String, _ valid: [String]) throws -> String {
    guard valid.contains(value) else {
      throw ValidationError(
        "unknown \(option) '\(value)'; valid: \(valid.joined(separator: ", "))")
    }
    return value
  }

  static func wrap<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as HarnessInputError {
      throw ValidationError(error.description + StaleBuild.hint(for: error))
    }
  }
}

/// `--format`, shared by the commands that print results.
enum OutputFormat: String, CaseIterable, ExpressibleByArgument {
  case text, json, markdown, csv
}

/// `--base v5.11|mainline|all`, shared by compare, explore, bench and stress:
/// which base port's variants run (docs/port.md, "The mainline base").
/// Without it, v5.11's, printed as they always were; with it, every column
/// and row is labelled with its base (`mainline`, `v5.11/upstream-fix`).
struct BaseOption: ParsableArguments {
  @Option(
    name: .long,
    help: """
      Base port: v5.11 (the default: the original and its fixes), mainline (today's \
      core and its variants) or all (both, as a version matrix).
      """)
  var base: String?

  static let valid = Variant.bases + ["all"]

  /// The bases selected, in matrix order.
  func bases() throws -> [String] {
    guard let base else { return ["v5.11"] }
    guard Self.valid.contains(base) else {
      throw ValidationError(
        "unknown base '\(base)'; valid: \(Self.valid.joined(separator: ", "))")
    }
    return base == "all" ? Variant.bases : [base]
  }

  /// Whether outputs label each variant with its base.
  var labels: Bool { base != nil }

  /// `--variant all` on the selected bases: each base's variants, v5.11
  /// first (the original, its fixes), then mainline's.
  func variants() throws -> [Variant] {
    try bases().flatMap { Variant.all(onBase: $0) }
  }

  /// A named variant must be on a selected base (without `--base`, any
  /// named variant runs, as before: a child re-executed with `--variant`).
  func check(_ variant: Variant) throws {
    guard base != nil else { return }
    let bases = try bases()
    guard bases.contains(variant.base) else {
      throw ValidationError(
        "--variant \(variant.id) is on base \(variant.base), not \(bases.joined(separator: ", ")); valid: --base \(variant.base) or --base all"
      )
    }
  }

  /// How an output names a variant: its id, or with `--base` its label.
  func name(_ variant: Variant) -> String { labels ? variant.label : variant.id }
}
