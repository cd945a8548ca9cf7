import ArgumentParser

// Placeholder: replaced by the scenarios command's implementation.
struct ScenariosCommand: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "scenarios", abstract: "(not built yet)")
  func run() throws { throw ValidationError("scenarios is not built yet") }
}
