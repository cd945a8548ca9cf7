import ArgumentParser
import Foundation
import MMUNotifierHarness

extension PatchesCommand {
  /// `patches new NAME`: a variant patch made from an edited copy of the
  /// port, so only the port's own files can end up in it (a `git diff` of
  /// the checkout also captures whatever else changed, e.g. the registry
  /// once a variant is applied).
  struct New: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Make patches/NNNN-NAME.patch from an edited copy of CSupport/port/original.",
      discussion: """
        First run: copies CSupport/port/original to the edit directory (default \
        .build/variant-edits/NAME, which git ignores) and says so. Edit the files there, then \
        run the same command again: it diffs each port file against the original (diff -u), \
        writes patches/NNNN-NAME.patch with the next free number below 9000 and a header from \
        the options, and checks that every patch still applies (the new one is removed if \
        not). A file added to or missing from the copy is refused. Then \
        `mmn-harness patches apply patches/NNNN-NAME.patch` and rebuild.
        """)

    @OptionGroup var location: RootOption

    @Argument(help: ArgumentHelp("The variant id, e.g. my-fix.", valueName: "name"))
    var name: String

    @Option(
      name: .long,
      help: ArgumentHelp(
        "The edited copy (default: ROOT/.build/variant-edits/NAME).", valueName: "dir"))
    var from: String?

    @Option(name: .long, help: "The header's Summary: one line, what the variant does.")
    var summary: String = "(write one line: what the variant does)"
    @Option(name: .long, help: "The header's Upstream: a commit or Message-ID.")
    var upstream: String = "none (written with patches new)"
    @Option(name: .long, help: "The header's Seed: the seed file it comes from.")
    var seed: String = "-"

    func run() throws {
      try PatchesCommand.reportingErrors {
        guard name.range(of: "^[a-z][a-z0-9-]{0,39}$", options: .regularExpression) != nil,
          name != "original"
        else {
          throw PatchesCommand.failure(
            "variant name '\(name)' is not valid; valid: ^[a-z][a-z0-9-]{0,39}$, not original")
        }
        for (key, value) in [("--summary", summary), ("--upstream", upstream), ("--seed", seed)]
        where value.contains(where: \.isNewline) || value.isEmpty {
          throw PatchesCommand.failure("\(key) must be one non-empty line")
        }
        let (root, line) = try location.resolve()
        let original = root.appendingPathComponent("CSupport/port/original")
        let edits =
          from.map(PatchesCommand.absoluteURL)
          ?? root.appendingPathComponent(".build/variant-edits/\(name)")
        let patches = root.appendingPathComponent("patches")
        let fm = FileManager.default
        let existing = (try? fm.contentsOfDirectory(atPath: patches.path)) ?? []
        if let taken = existing.first(where: { $0.hasSuffix("-\(name).patch") }) {
          throw PatchesCommand.failure("variant '\(name)' already has patches/\(taken)")
        }
        let portFiles = try fm.contentsOfDirectory(atPath: original.path)
          .filter { !$0.hasPrefix(".") }.sorted()

        guard fm.fileExists(atPath: edits.path) else {
          guard from == nil else {
            throw PatchesCommand.failure("--from \(from!): no such directory")
          }
          try fm.createDirectory(at: edits, withIntermediateDirectories: true)
          for file in portFiles {
            try fm.copyItem(
              at: original.appendingPathComponent(file), to: edits.appendingPathComponent(file))
          }
          print(line)
          print("copied CSupport/port/original to \(edits.path)")
          print("edit the files there, then run `mmn-harness patches new \(name)` again")
          return
        }

        let copied = try fm.contentsOfDirectory(atPath: edits.path)
          .filter { !$0.hasPrefix(".") }.sorted()
        if let extra = copied.first(where: { !portFiles.contains($0) }) {
          throw PatchesCommand.failure(
            "\(edits.path)/\(extra) is not a port file; valid: \(portFiles.joined(separator: ", "))"
          )
        }
        if let missing = portFiles.first(where: { !copied.contains($0) }) {
          throw PatchesCommand.failure("\(edits.path) has no \(missing); copy every port file")
        }
        var diff = ""
        for file in portFiles {
          diff += try Self.unifiedDiff(
            original.appendingPathComponent(file), edits.appendingPathComponent(file),
            path: "CSupport/port/original/\(file)")
        }
        guard !diff.isEmpty else {
          throw PatchesCommand.failure(
            "\(edits.path) is the same as CSupport/port/original; edit it first")
        }
        let numbers = existing.compactMap { Int($0.prefix(4)) }.filter { $0 < 9000 }
        let number = String(format: "%04d", (numbers.max() ?? 0) + 1)
        let relative = "patches/\(number)-\(name).patch"
        let header = """
          Variant: \(name)
          Upstream: \(upstream)
          Seed: \(seed)
          Summary: \(summary)

          Made with `mmn-harness patches new \(name)` from \(edits.path).

          """
        let target = root.appendingPathComponent(relative)
        try Data((header + diff).utf8).write(to: target)
        do {
          _ = try PatchSet.list(root: root)
        } catch {
          try? fm.removeItem(at: target)
          throw error
        }
        print(line)
        print("wrote \(relative)")
        print("next: mmn-harness patches apply \(relative), then rebuild")
      }
    }

    /// `diff -u` of one port file, labelled the way patches/ names it;
    /// empty when the two are the same.
    static func unifiedDiff(_ a: URL, _ b: URL, path: String) throws -> String {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
      process.arguments = [
        "diff", "-u", "--label", "a/\(path)", "--label", "b/\(path)", a.path, b.path,
      ]
      let pipe = Pipe()
      process.standardOutput = pipe
      try process.run()
      let data = pipe.fileHandleForReading.readDataToEndOfFile()
      process.waitUntilExit()
      // diff: 0 same, 1 different, 2 trouble
      guard process.terminationStatus <= 1 else {
        throw PatchesCommand.failure("diff -u \(a.path) \(b.path) failed")
      }
      let text = String(decoding: data, as: UTF8.self)
      return text.isEmpty ? "" : "diff --git a/\(path) b/\(path)\n" + text
    }
  }
}
