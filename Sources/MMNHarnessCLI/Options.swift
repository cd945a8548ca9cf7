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
