import ArgumentParser
import Foundation
import MMUNotifierHarness

/// `mmn-harness patches …`: the variants are patches against the original
/// port; these subcommands apply, list and verify them.
struct PatchesCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "patches",
    abstract: "Apply, list and verify the variant patches in patches/.",
    discussion: """
      Every variant of the core is one unified diff in patches/, named NNNN-ID.patch, \
      against CSupport/port/original. To add a variant: `mmn-harness patches new ID` (edit \
      the copy it makes, run it again), then `mmn-harness patches apply \
      patches/NNNN-ID.patch`, rebuild. A kernel patch or mail (a/mm/mmu_notifier.c): \
      `mmn-harness patches import FILE`. `verify` regenerates \
      everything in memory and checks that CSupport/port/variants and CSupport/port/build \
      are exactly original + patches.
      """,
    subcommands: [Verify.self, Apply.self, List.self, New.self, Import.self]
  )

  /// `--root DIR`, shared by every subcommand.
  struct RootOption: ParsableArguments {
    @Option(
      name: .long,
      help: ArgumentHelp(
        "The mmn-harness checkout (default: found from the current directory).",
        valueName: "dir"))
    var root: String?

    /// The checkout to act on: --root, or the first directory up from the
    /// current one whose Package.swift names mmn-harness; never the tree
    /// the binary was built from. `line` says which; the command prints it
    /// first once it has something to print (bad input prints nothing).
    func resolve() throws -> (url: URL, line: String) {
      let url: URL
      let how: String
      if let root {
        url = PatchesCommand.absoluteURL(root)
        how = "--root"
      } else {
        guard let located = RepositoryRoot.locate(from: nil) else {
          throw PatchesCommand.failure(
            "no mmn-harness checkout at or above \(FileManager.default.currentDirectoryPath); valid: run from inside a checkout or pass --root DIR"
          )
        }
        url = located
        how = "found from the current directory"
      }
      guard PatchesCommand.hasOriginalPort(url) else {
        throw PatchesCommand.failure(
          root != nil
            ? "--root \(root!) has no CSupport/port/original/ directory"
            : "\(url.path) has no CSupport/port/original/ directory; pass --root DIR")
      }
      return (url, "root: \(url.path) (\(how))")
    }
  }

  struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Check that variants/ and build/ are exactly original + patches (exit 1 on drift).")

    @OptionGroup var location: RootOption

    func run() throws {
      try PatchesCommand.reportingErrors {
        let (root, line) = try location.resolve()
        let variants = try PatchSet.list(root: root)
        let drifts = try PatchSet.verify(root: root)
        print(line)
        for variant in variants {
          let own = drifts.filter { $0.variant == variant.variant }
          if own.isEmpty {
            print("ok  \(variant.variant)  \(variant.source)")
          }
          for drift in own {
            print("drift  \(variant.variant)  \(drift)")
          }
          for note in variant.notes {
            print("    note: \(note)")
          }
        }
        let known = Set(variants.map(\.variant))
        for drift in drifts where drift.variant.map({ !known.contains($0) }) ?? true {
          print("drift  -  \(drift)")
        }
        guard drifts.isEmpty else {
          print(
            "\(drifts.count) file(s) differ from original + patches; regenerate with `mmn-harness patches apply patches/NNNN-ID.patch` (or `apply --all`)"
          )
          throw ExitCode(1)
        }
      }
    }
  }

  struct Apply: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract:
        "Validate a patch in patches/ and regenerate its variant, the wrappers and the registry.",
      discussion: """
        Nothing is written unless every patch in patches/ parses and applies. Files that \
        already have the right bytes are not rewritten; build/*.c and variants/* that no \
        patch accounts for are removed.
        """
    )

    @OptionGroup var location: RootOption

    @Argument(
      help: ArgumentHelp("The patch, e.g. patches/0001-all-ends-rfc.patch.", valueName: "file"))
    var file: String?

    @Flag(name: .long, help: "Regenerate every variant instead of one patch's.")
    var all = false

    func run() throws {
      try PatchesCommand.reportingErrors {
        let (root, line) = try location.resolve()
        let application: PatchApplication
        switch (file, all) {
        case (let file?, false):
          application = try PatchSet.apply(patch: PatchesCommand.absoluteURL(file), root: root)
        case (nil, true):
          application = try PatchSet.applyAll(root: root)
        default:
          throw PatchesCommand.failure("give either a patch file or --all")
        }
        print(line)
        for note in application.notes {
          print("note: \(note)")
        }
        for path in application.written {
          print("wrote \(path)")
        }
        for path in application.removed {
          print("removed \(path)")
        }
        if application.written.isEmpty && application.removed.isEmpty {
          print("up to date: nothing to write")
        }
      }
    }
  }

  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "List the original and every variant patch, in registry order.")

    @OptionGroup var location: RootOption

    func run() throws {
      try PatchesCommand.reportingErrors {
        let (root, line) = try location.resolve()
        let variants = try PatchSet.list(root: root)
        print(line)
        for variant in variants {
          print("\(variant.variant)  \(variant.source)  \(variant.summary)")
          print("    upstream: \(variant.upstream)  seed: \(variant.seed)")
          for note in variant.notes {
            print("    note: \(note)")
          }
        }
      }
    }
  }

  /// A bad-input failure: one line on stderr, exit status 2.
  struct Failure: Error {
    let message: String
  }

  static func failure(_ message: String) -> Failure { Failure(message: message) }

  /// Runs `body`, turning bad input into exactly one stderr line and exit
  /// status 2, so ArgumentParser never prints usage text for a bad patch.
  static func reportingErrors(_ body: () throws -> Void) throws {
    do {
      try body()
    } catch let exit as ExitCode {
      throw exit
    } catch let error as PatchError {
      printError(error.description)
      throw ExitCode(2)
    } catch let error as Failure {
      printError(error.message)
      throw ExitCode(2)
    } catch {
      printError(String(describing: error))
      throw ExitCode(2)
    }
  }

  private static func printError(_ message: String) {
    // Flush stdout first so the error line comes after what was printed;
    // fflush(nil) flushes every stream without touching the global `stdout`.
    fflush(nil)
    let oneLine = message.split(whereSeparator: \.isNewline).joined(separator: " ")
    FileHandle.standardError.write(Data("mmn-harness: error: \(oneLine)\n".utf8))
  }

  /// A path argument as given on the command line, relative to the current directory.
  static func absoluteURL(_ path: String) -> URL {
    let expanded = NSString(string: path).expandingTildeInPath
    if expanded.hasPrefix("/") {
      return URL(fileURLWithPath: expanded).standardizedFileURL
    }
    return URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
      .appendingPathComponent(expanded).standardizedFileURL
  }

  static func hasOriginalPort(_ root: URL) -> Bool {
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(
      atPath: root.appendingPathComponent("CSupport/port/original").path,
      isDirectory: &isDirectory) && isDirectory.boolValue
  }
}
