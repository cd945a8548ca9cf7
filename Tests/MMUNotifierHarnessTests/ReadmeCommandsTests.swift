import Foundation
import MMUNotifierHarness
import Testing

/// Every `swift run -c release mmn-harness …` line of the README runs as
/// written, through the binary this suite was built with: no bad-input
/// refusal (exit 2), no crash. Exit 1 is a verdict (a broken promise, an
/// explore violation) and is what several tour commands are there to show.
@Suite("The README's commands run as written")
struct ReadmeCommandsTests {
  static let prefix = "swift run -c release mmn-harness "

  static func commands() throws -> [[String]] {
    let here = URL(fileURLWithPath: #filePath)
    let root = here.deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
    let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
    return readme.split(separator: "\n").compactMap { line in
      // the set-up line installs packages first: the commands after it
      // are the tour's own lines too
      guard line.hasPrefix(prefix) else { return nil }
      return line.dropFirst(prefix.count).split(separator: " ").map(String.init)
    }
  }

  @Test func theTourHasItsCommands() throws {
    let names = Set(try Self.commands().compactMap(\.first))
    #expect(names.isSuperset(of: ["compare", "explore", "bench", "stress"]))
  }

  @Test(arguments: try ReadmeCommandsTests.commands())
  func runsAsWritten(_ arguments: [String]) throws {
    // valgrind is not here, or cannot run this build (the sanitizer
    // passes): bench refuses that in one line of its own, tested elsewhere
    if arguments.contains("instructions"), BenchInstructions.unavailable != nil { return }
    let scratch = try Scratch()
    let result = try HarnessCLI.run(arguments, in: scratch.url, timeout: 300)
    let shown = "mmn-harness \(arguments.joined(separator: " ")): \(result.stderr.suffix(300))"
    #expect(!result.killedBySignal, "\(shown)")
    #expect(result.status == 0 || result.status == 1, "\(shown)")
    #expect(!result.stderr.contains("mmn-harness: error:"), "\(shown)")
    #expect(!result.stdout.isEmpty, "\(shown)")
  }
}
