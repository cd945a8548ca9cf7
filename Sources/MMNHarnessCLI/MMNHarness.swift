import ArgumentParser
import Foundation
import MMUNotifierHarness

/// The whole `mmn-harness` CLI, for this package's binary and for a driver
/// author's: `HarnessCLI.main(drivers:)` registers their drivers, then
/// parses and runs the command line.
public enum HarnessCLI {
  /// Registers `drivers` (`compare --driver NAME`, explore's `.driver`)
  /// and `scenarios` (run by `compare` after the built-in ones), then runs
  /// the command `CommandLine.arguments` names and exits with its status.
  /// Call it first thing in `main`: a compare cell's child is this same
  /// binary re-executed, and it must register the same drivers and
  /// scenarios.
  public static func main(drivers: [RegisteredDriver] = [], scenarios: [any Scenario] = [])
    -> Never
  {
    for driver in drivers { DriverRegistry.register(driver) }
    for scenario in scenarios {
      do {
        try ScenarioCatalog.register(scenario)
      } catch {
        FileHandle.standardError.write(Data("mmn-harness: error: \(error)\n".utf8))
        Foundation.exit(2)
      }
    }
    StaleBuild.warnIfPatchesAreNewer()
    MMNHarness.main()
    Foundation.exit(0)
  }
}

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
    let arguments = Array(CommandLine.arguments.dropFirst())
    if let problem = repeatedOption(in: arguments) ?? unknownHelpTopic(in: arguments) {
      FileHandle.standardError.write(Data("mmn-harness: error: \(problem)\n".utf8))
      Foundation.exit(2)
    }
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

  /// ArgumentParser keeps the last of a repeated option; the user meant
  /// one of them, and silently running the other is worse than refusing.
  /// (No option of this binary takes several values.)
  static func repeatedOption(in arguments: [String]) -> String? {
    var seen: Set<String> = []
    for argument in arguments {
      if argument == "--" { break }
      guard argument.hasPrefix("--"), argument.count > 2 else { continue }
      let name = String(argument.prefix { $0 != "=" })
      if !seen.insert(name).inserted {
        return "option \(name) is given twice; valid: each option at most once"
      }
    }
    return nil
  }

  /// `help frobnicate` would print the root help and exit 0.
  static func unknownHelpTopic(in arguments: [String]) -> String? {
    guard arguments.first == "help", arguments.count > 1 else { return nil }
    var names = CommandRegistry.names
    var path = ["help"]
    for word in arguments.dropFirst() {
      guard !word.hasPrefix("-") else { return nil }
      guard let children = names[word]?.children else {
        let valid = names.keys.sorted().joined(separator: ", ")
        return "unknown command '\(word)' for `\(path.joined(separator: " "))`; valid: \(valid)"
      }
      path.append(word)
      guard !children.isEmpty else { return nil }
      names = children
    }
    return nil
  }
}
