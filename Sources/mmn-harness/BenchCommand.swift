import ArgumentParser

// Placeholder: replaced by the bench command's implementation.
struct BenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "bench", abstract: "(not built yet)")
  func run() throws { throw ValidationError("bench is not built yet") }
}
