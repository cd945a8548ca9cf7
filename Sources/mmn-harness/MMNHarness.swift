import ArgumentParser
import Foundation
import MMUNotifierHarness

@main
struct MMNHarness: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mmn-harness",
    abstract: "Run the Linux mmu_notifier start/end core and its proposed fixes on real RCU.",
    discussion: """
      Every core variant (patches/) is compiled once per liburcu flavour. Verdicts come \
      from running them: the pairing ledger, the drivers' state and bounded waits.
      """,
    subcommands: CommandRegistry.subcommands
  )

  /// Bad input gets one line on stderr and exit status 2; help goes to
  /// stdout with status 0. No usage dump, no stack trace.
  static func main() {
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch {
      let code = exitCode(for: error)
      if code == .success {
        print(fullMessage(for: error))
        Foundation.exit(0)
      }
      if let exit = error as? ExitCode {
        Foundation.exit(exit.rawValue)
      }
      FileHandle.standardError.write(Data("mmn-harness: error: \(oneLine(error))\n".utf8))
      Foundation.exit(code == .validationFailure ? 2 : (code.rawValue == 0 ? 1 : code.rawValue))
    }
  }

  static func oneLine(_ error: Error) -> String {
    var message = fullMessage(for: error)
    if let e = error as? HarnessInputError { message = e.description }
    let first =
      message.split(separator: "\n").first(where: {
        !$0.trimmingCharacters(in: .whitespaces).isEmpty
      }).map(String.init) ?? "\(error)"
    return first.hasPrefix("Error: ") ? String(first.dropFirst(7)) : first
  }
}
