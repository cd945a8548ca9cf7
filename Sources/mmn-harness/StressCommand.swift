import ArgumentParser

// Placeholder: replaced by the stress command's implementation.
struct StressCommand: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "stress", abstract: "(not built yet)")
  func run() throws { throw ValidationError("stress is not built yet") }
}
