import ArgumentParser

// Placeholder: replaced by the compare command's implementation.
struct CompareCommand: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "compare", abstract: "(not built yet)")
  func run() throws { throw ValidationError("compare is not built yet") }
}
