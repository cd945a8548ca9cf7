import ArgumentParser

// Placeholder: replaced by the variants command's implementation.
struct VariantsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "variants", abstract: "(not built yet)")
  func run() throws { throw ValidationError("variants is not built yet") }
}
