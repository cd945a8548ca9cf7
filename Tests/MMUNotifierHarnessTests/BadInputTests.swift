import Foundation
import Testing

/// Bad input through the real command line: the built `mmn-harness`, run as
/// a user would run it. Each refusal is exactly one line on stderr, a
/// non-zero exit, nothing on stdout, no stack trace, and nothing written.
///
/// To cover a new command or option, add a row to `BadInputTests.cases`
/// (and its command to `commands`).
@Suite("Bad input: every option refused with one line")
struct BadInputTests {
  /// One refused command line and a piece of the one line it must print.
  struct Refusal: Sendable, CustomTestStringConvertible {
    let arguments: [String]
    let says: String
    init(_ arguments: [String], _ says: String) {
      self.arguments = arguments
      self.says = says
    }
    var testDescription: String { arguments.joined(separator: " ") }
  }

  /// Every command and subcommand the binary has (placeholders included:
  /// they still parse their options).
  static let commands: [[String]] = [
    [], ["info"], ["run"], ["compare"], ["scenarios"], ["variants"], ["bench"], ["stress"],
    ["patches"], ["patches", "apply"], ["patches", "verify"], ["patches", "list"],
  ]

  /// Test variants (Kind: test) run when named but are not offered.
  static let variants =
    "valid: original, all-ends-rfc, reject-multi, oom-always-end, upstream-fix, sorted-undo, prefix-undo, itree-unwind"
  static let flavours = "valid: memb, mb, qsbr, bp"
  static let bases = "valid: v5.11, mainline, all"

  static let cases: [Refusal] =
    commands.map { Refusal($0 + ["--no-such-option"], "Unknown option '--no-such-option'") } + [
      Refusal(["frobnicate"], "Unexpected argument 'frobnicate'"),
      // --base (compare, explore, bench, stress)
      Refusal(["compare", "--base", "v6.8"], "unknown base 'v6.8'; valid: v5.11, mainline, all"),
      Refusal(["explore", "--base", "Mainline"], "unknown base 'Mainline'; \(bases)"),
      Refusal(["bench", "--base", ""], "unknown base ''; \(bases)"),
      Refusal(["stress", "--base", "v5.11,mainline"], "unknown base 'v5.11,mainline'; \(bases)"),
      Refusal(
        ["compare", "--base", "mainline", "--variant", "upstream-fix"],
        "--variant upstream-fix is on base v5.11, not mainline; valid: --base v5.11 or --base all"),
      Refusal(
        ["stress", "--base", "v5.11", "--variant", "mainline"],
        "--variant mainline is on base mainline, not v5.11"),
      // stress
      Refusal(["stress", "--readers", "0"], "--readers 0 is out of range; valid: 1...64"),
      Refusal(["stress", "--readers", "-3"], "--readers -3 is out of range; valid: 1...64"),
      Refusal(["stress", "--readers", "65"], "--readers 65 is out of range; valid: 1...64"),
      Refusal(["stress", "--readers", "two"], "The value 'two' is invalid for '--readers"),
      Refusal(["stress", "--readers"], "Missing value for '--readers"),
      Refusal(["stress", "--writers", "0"], "--writers 0 is out of range; valid: 1...64"),
      Refusal(["stress", "--seconds", "-1"], "--seconds -1 is out of range; valid: more than 0"),
      Refusal(["stress", "--seconds", "0"], "--seconds 0 is out of range"),
      Refusal(["stress", "--seconds", "nan"], "--seconds nan is out of range"),
      Refusal(["stress", "--seconds", "inf"], "--seconds inf is out of range"),
      Refusal(["stress", "--seconds", "86401"], "--seconds 86401 is out of range"),
      Refusal(["stress", "--fail-rate", "1.5"], "--fail-rate 1.5 is out of range; valid: 0...1"),
      Refusal(["stress", "--fail-rate", "-0.1"], "--fail-rate -0.1 is out of range"),
      Refusal(
        ["stress", "--seed", "-1"], "--seed '-1' is not a number; valid: 0...18446744073709551615"),
      Refusal(["stress", "--seed", "0x10"], "--seed '0x10' is not a number"),
      Refusal(["stress", "--variant", "nope"], "unknown variant 'nope'; \(variants)"),
      Refusal(["stress", "--flavor", "signal"], "unknown flavour 'signal'; \(flavours)"),
      Refusal(["stress", "--flavor", "memb,qsbr"], "unknown flavour 'memb,qsbr'; \(flavours)"),
      Refusal(
        ["stress", "--classes", "nope"],
        "unknown stress class 'nope'; valid: promised, all, flaky-neighbour, itree-neighbour, itree-then-hlist-failure, failing-start-with-end"
      ),
      Refusal(["stress", "--classes", ","], "--classes ',' has an empty item; valid:"),
      Refusal(
        ["stress", "--classes", "flaky-neighbour,"],
        "--classes 'flaky-neighbour,' has an empty item; valid: a comma-separated list of promised, all, flaky-neighbour"
      ),
      Refusal(
        ["stress", "--watchdog-margin", "0"], "--watchdog-margin 0 is out of range; valid: 1...3600"
      ),
      Refusal(
        ["stress", "--watchdog-margin", "-5"],
        "--watchdog-margin -5 is out of range; valid: 1...3600"
      ),
      // empty list items (the issue: `compare --variant ''` printed an empty matrix)
      Refusal(["compare", "--variant", ""], "--variant '' has an empty item; valid:"),
      Refusal(
        ["compare", "--variant", "original,,upstream-fix"],
        "--variant 'original,,upstream-fix' has an empty item; valid: a comma-separated list of all, original"
      ),
      Refusal(["compare", "--scenario", ""], "--scenario '' has an empty item; valid:"),
      Refusal(
        ["compare", "--scenario", "arm-two-kvm,"], "--scenario 'arm-two-kvm,' has an empty item"),
      Refusal(
        ["bench", "--flavor", ""],
        "--flavor '' has an empty item; valid: a comma-separated list of all, memb"),
      Refusal(
        ["bench", "--variant", "test-early-free"],
        "--variant test-early-free is a test variant (Kind: test), not timed; valid: all, original"),
      Refusal(
        ["bench", "--notifiers", "1,,2"],
        "--notifiers '1,,2' has an empty item; valid: a comma-separated list of 1...4096"),
      // the concurrency run's options need --readers
      Refusal(
        ["bench", "--writers", "2"],
        "--writers sets the concurrency run, which runs only with --readers"),
      Refusal(
        ["bench", "--phase-ms", "50"],
        "--phase-ms sets the concurrency run, which runs only with --readers"),
      Refusal(["bench", "--notifiers", "-1"], "--notifiers -1 is out of range; valid: 1...4096"),
      Refusal(["bench", "--samples", "-3"], "--samples -3 is out of range; valid: 3...1001"),
      Refusal(
        ["explore", "--config", "reap-vs-munmap,,"], "--config 'reap-vs-munmap,,' has an empty item"
      ),
      Refusal(["explore", "--bound", "9"], "--bound 9 is out of range; valid: 0...6"),
      Refusal(["explore", "--shard", "4/3"], "--shard '4/3' is not K/N"),
      Refusal(
        ["explore", "--config", "nope"], "unknown configuration 'nope'; valid: reap-vs-unregister"),
      // negative numbers get the valid range, not "Missing value"
      Refusal(
        ["compare", "--seed", "-1"], "--seed '-1' is not a number; valid: 0...18446744073709551615"),
      Refusal(["compare", "--jobs", "-2"], "--jobs -2 is out of range; valid: 1...256"),
      Refusal(
        ["compare", "--hung-timeout-ms", "-5"],
        "--hung-timeout-ms -5 is out of range; valid: 10...60000"),
      // a duplicated option is refused, not silently the last
      Refusal(["stress", "--seconds", "1", "--seconds", "2"], "option --seconds is given twice"),
      Refusal(["compare", "--seed", "1", "--seed=2"], "option --seed is given twice"),
      Refusal(
        ["bench", "--notifiers", "1", "--notifiers", "2"], "option --notifiers is given twice"),
      // help for a command that does not exist
      Refusal(
        ["help", "frobnicate"],
        "unknown command 'frobnicate' for `help`; valid: bench, compare, explore, info, patches, run, scenarios, stress, variants"
      ),
      Refusal(
        ["help", "patches", "frobnicate"],
        "unknown command 'frobnicate' for `help patches`; valid: apply, list, new, verify"),
      // patches from a directory that is no checkout: never the build's own tree
      Refusal(["patches", "list"], "no mmn-harness checkout at or above"),
      Refusal(["patches", "verify"], "no mmn-harness checkout at or above"),
      Refusal(["patches", "apply", "--all"], "no mmn-harness checkout at or above"),
      Refusal(["stress", "--format", "xml"], "unknown format 'xml'; valid: text, json"),
      // run
      Refusal(["run", "--ranges", "0"], "--ranges 0 is out of range; valid: 1...1000000"),
      Refusal(["run", "--notifiers=-1"], "--notifiers -1 is out of range; valid: 0...1024"),
      Refusal(["run", "--failing", "2000"], "--failing 2000 is out of range; valid: 0...1024"),
      Refusal(["run", "--variant", "x"], "unknown variant 'x'; \(variants)"),
      Refusal(["run", "--flavor", "x"], "unknown flavour 'x'; \(flavours)"),
      Refusal(["run", "--format", "yaml"], "unknown format 'yaml'; valid: text, json"),
      // patches, outside any checkout
      Refusal(
        ["patches", "verify", "--root", "/nonexistent"],
        "--root /nonexistent has no CSupport/port/original/ directory"),
      Refusal(
        ["patches", "list", "--root", "/"], "--root / has no CSupport/port/original/ directory"),
    ]

  @Test(arguments: cases)
  func refusedWithOneLine(_ refusal: Refusal) throws {
    let directory = try Scratch()
    let result = try HarnessCLI.run(refusal.arguments, in: directory.url)
    try Self.expectRefusal(result, says: refusal.says)
    #expect(try directory.isEmpty(), "bad input wrote something")
  }

  // MARK: hostile and malformed patches

  /// A patch dropped into patches/ of a copy of the checkout and applied:
  /// refused, one line, the checkout byte-for-byte unchanged.
  struct HostilePatch: Sendable, CustomTestStringConvertible {
    let name: String
    /// The patch text, given the original mmu_notifier.c's first line.
    let text: @Sendable (String) -> String
    let says: String
    var testDescription: String { name }
  }

  static func header(_ variant: String = "bad") -> String {
    "Variant: \(variant)\nUpstream: none\nSeed: -\nSummary: a hostile patch\n\nWhy: tests.\n\n"
  }

  static func diff(_ old: String, _ new: String, removing line: String) -> String {
    "diff --git a/\(old) b/\(new)\n--- a/\(old)\n+++ b/\(new)\n@@ -1,1 +1,1 @@\n-\(line)\n+changed\n"
  }

  static let hostile: [HostilePatch] = [
    HostilePatch(
      name: "absolute path",
      text: { _ in header() + "--- /etc/passwd\n+++ /etc/passwd\n@@ -1,1 +1,1 @@\n-root\n+x\n" },
      says: "path /etc/passwd is absolute"),
    HostilePatch(
      name: "dot-dot path",
      text: { _ in
        header()
          + diff(
            "CSupport/port/original/../../../Package.swift",
            "CSupport/port/original/../../../Package.swift", removing: "// mmn-harness")
      }, says: "contains `..`"),
    HostilePatch(
      name: "touches another file",
      text: { _ in header() + diff("Package.swift", "Package.swift", removing: "// mmn-harness") },
      says: "is outside CSupport/port/original/"),
    HostilePatch(
      name: "does not apply",
      text: { _ in
        header()
          + diff(
            "CSupport/port/original/mmu_notifier.c", "CSupport/port/original/mmu_notifier.c",
            removing: "a line that is not there")
      }, says: "does not apply to CSupport/port/original/mmu_notifier.c"),
    HostilePatch(
      name: "deletes a port file",
      text: { first in
        header()
          + "diff --git a/CSupport/port/original/mmap.c b/CSupport/port/original/mmap.c\ndeleted file mode 100644\n--- a/CSupport/port/original/mmap.c\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-\(first)\n"
      }, says: "variants may not delete files"),
    HostilePatch(
      name: "malformed", text: { _ in "garbage\n" },
      says: "expected a `Key: value` header line"),
    HostilePatch(
      name: "header names another variant",
      text: { first in
        header("other")
          + diff(
            "CSupport/port/original/mmu_notifier.c", "CSupport/port/original/mmu_notifier.c",
            removing: first)
      }, says: "a patch for variant `other` must be named NNNN-other.patch"),
  ]

  @Test(arguments: hostile)
  func hostilePatchIsRefusedAndNothingWritten(_ patch: HostilePatch) throws {
    let repo = try FakeCheckout()
    let first = try repo.firstLineOfOriginal()
    try Data(patch.text(first).utf8).write(
      to: repo.url.appendingPathComponent("patches/0099-bad.patch"))
    let before = try repo.snapshot()
    let result = try HarnessCLI.run(
      ["patches", "apply", "patches/0099-bad.patch", "--root", repo.url.path], in: repo.url)
    try Self.expectRefusal(result, says: patch.says)
    #expect(try repo.snapshot() == before, "a refused patch changed the checkout")
  }

  /// A patch outside patches/, a missing one, and no patch at all.
  @Test func patchArgumentsAreRefused() throws {
    let repo = try FakeCheckout()
    let outside = repo.url.deletingLastPathComponent().appendingPathComponent(
      "outside-\(UUID().uuidString).patch")
    try Data(Self.header().utf8).write(to: outside)
    defer { try? FileManager.default.removeItem(at: outside) }
    let before = try repo.snapshot()
    for (arguments, says) in [
      (["patches", "apply", outside.path], "is not in"),
      (["patches", "apply", "patches/0042-none.patch"], "patches/0042-none.patch: no such file"),
      (["patches", "apply"], "give either a patch file or --all"),
      (["patches", "apply", "patches/x.patch", "--all"], "give either a patch file or --all"),
    ] {
      let result = try HarnessCLI.run(arguments + ["--root", repo.url.path], in: repo.url)
      try Self.expectRefusal(result, says: says)
    }
    #expect(try repo.snapshot() == before)
  }

  /// A patch that is a symbolic link to a file outside patches/: refused
  /// (apply would otherwise make the variant depend on a file the
  /// checkout does not hold), nothing written.
  @Test func symlinkOutOfPatchesIsRefused() throws {
    let repo = try FakeCheckout()
    let first = try repo.firstLineOfOriginal()
    let outside = try Scratch()
    let target = outside.url.appendingPathComponent("0099-bad.patch")
    try Data(
      (Self.header()
        + Self.diff(
          "CSupport/port/original/mmap.c", "CSupport/port/original/mmap.c", removing: first)).utf8
    ).write(to: target)
    try FileManager.default.createSymbolicLink(
      at: repo.url.appendingPathComponent("patches/0099-bad.patch"), withDestinationURL: target)
    let before = try repo.snapshot()
    for arguments in [["patches", "apply", "--all"], ["patches", "verify"]] {
      let result = try HarnessCLI.run(arguments + ["--root", repo.url.path], in: repo.url)
      try Self.expectRefusal(result, says: "patches/0099-bad.patch is a symbolic link to")
      #expect(result.stderr.contains("outside patches/"))
    }
    #expect(try repo.snapshot() == before)
  }

  /// Two patches with one number: refused, naming the one that has it.
  @Test func patchNumberAlreadyTakenIsRefused() throws {
    let repo = try FakeCheckout()
    let first = try repo.firstLineOfOriginal()
    for variant in ["one", "two"] {
      try Data(
        (Self.header(variant)
          + Self.diff(
            "CSupport/port/original/mmap.c", "CSupport/port/original/mmap.c", removing: first)).utf8
      ).write(to: repo.url.appendingPathComponent("patches/0005-\(variant).patch"))
    }
    let before = try repo.snapshot()
    let result = try HarnessCLI.run(
      ["patches", "apply", "patches/0005-two.patch", "--root", repo.url.path], in: repo.url)
    try Self.expectRefusal(
      result,
      says:
        "patches/0005-two.patch: number 0005 is already taken by patches/0005-one.patch; valid: a number no other patch uses (next free: 0006)"
    )
    #expect(try repo.snapshot() == before)
  }

  /// The patch tools say which checkout they act on, found from the
  /// current directory or given by --root.
  @Test func patchesSayWhichRootTheyUse() throws {
    let repo = try FakeCheckout()
    let nested = repo.url.appendingPathComponent("patches")
    let found = try HarnessCLI.run(["patches", "list"], in: nested)
    #expect(found.status == 0, "\(found.stderr)")
    let root = repo.url.resolvingSymlinksInPath().path
    let firstLine = found.stdout.split(separator: "\n").first.map(String.init) ?? ""
    #expect(
      firstLine == "root: \(root) (found from the current directory)"
        || firstLine == "root: \(repo.url.path) (found from the current directory)", "\(firstLine)")
    let given = try HarnessCLI.run(["patches", "list", "--root", repo.url.path], in: nested)
    #expect(given.status == 0, "\(given.stderr)")
    #expect(given.stdout.hasPrefix("root: \(repo.url.path) (--root)\n"), "\(given.stdout)")
  }

  // MARK: checks

  static func expectRefusal(_ result: HarnessCLI.Result, says: String) throws {
    #expect(result.status != 0, "exit status 0 for bad input")
    #expect(!result.killedBySignal, "killed by a signal: \(result.stderr)")
    let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false)
    #expect(lines.count == 2 && lines[1].isEmpty, "not exactly one line: \(result.stderr)")
    let line = try #require(lines.first.map(String.init))
    #expect(line.hasPrefix("mmn-harness: error: "))
    #expect(line.contains(says), "\(line) does not say \(says)")
    for trace in ["Stack", "Backtrace", "Fatal error", "Crash"] {
      #expect(!result.stderr.contains(trace), "looks like a stack trace: \(result.stderr)")
    }
    #expect(result.stdout.isEmpty, "bad input printed: \(result.stdout)")
  }
}

// MARK: - running the built binary

/// The `mmn-harness` that SwiftPM built beside this test executable.
enum HarnessCLI {
  struct Result {
    let status: Int32
    let killedBySignal: Bool
    let stdout: String
    let stderr: String
  }

  /// `.build/<config>/mmn-harness`, next to the running test executable.
  static let binary: URL? = {
    guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    else { return nil }
    let candidate = URL(fileURLWithPath: exe).deletingLastPathComponent()
      .appendingPathComponent("mmn-harness")
    return FileManager.default.isExecutableFile(atPath: candidate.path) ? candidate : nil
  }()

  /// Runs the binary in `directory`; output goes through files, so a large
  /// output cannot block the child. Bounded: a child still running after
  /// `timeout` seconds is killed and reported as such.
  static func run(_ arguments: [String], in directory: URL, timeout: Double = 120) throws -> Result
  {
    let binary = try #require(binary, "mmn-harness is not built next to the test executable")
    let out = directory.deletingLastPathComponent().appendingPathComponent(
      "mmn-cli-\(UUID().uuidString).out")
    let err = out.deletingPathExtension().appendingPathExtension("err")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    defer {
      try? FileManager.default.removeItem(at: out)
      try? FileManager.default.removeItem(at: err)
    }
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    process.currentDirectoryURL = directory
    var environment = ProcessInfo.processInfo.environment
    environment["SWIFT_BACKTRACE"] = "enable=no"
    process.environment = environment
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    let done = DispatchSemaphore(value: 0)
    process.terminationHandler = { _ in done.signal() }
    try process.run()
    if done.wait(timeout: .now() + timeout) == .timedOut {
      process.terminate()
      process.waitUntilExit()
      Issue.record("mmn-harness \(arguments.joined(separator: " ")) ran over \(timeout) s")
    }
    process.waitUntilExit()
    return Result(
      status: process.terminationStatus,
      killedBySignal: process.terminationReason == .uncaughtSignal,
      stdout: try contents(of: out), stderr: try contents(of: err))
  }

  /// Foundation's `Data(contentsOf:)` leaks its read buffer for an empty
  /// file (LeakSanitizer reports it), and most of these files are empty.
  private static func contents(of url: URL) throws -> String {
    let size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int ?? 0
    return size == 0 ? "" : String(decoding: try Data(contentsOf: url), as: UTF8.self)
  }
}

/// An empty temporary directory, removed when the value goes away.
final class Scratch {
  let url: URL
  init() throws {
    url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "mmn-bad-input-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }
  deinit { try? FileManager.default.removeItem(at: url) }
  func isEmpty() throws -> Bool {
    try FileManager.default.contentsOfDirectory(atPath: url.path).isEmpty
  }
}

/// A copy of the checkout's original port, a Package.swift naming
/// mmn-harness and an empty patches/: enough for `patches`, nothing to lose.
final class FakeCheckout {
  let scratch: Scratch
  var url: URL { scratch.url }

  static let realRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  init() throws {
    scratch = try Scratch()
    let fm = FileManager.default
    let original = "CSupport/port/original"
    try fm.createDirectory(
      at: url.appendingPathComponent(original), withIntermediateDirectories: true)
    for name in try fm.contentsOfDirectory(
      atPath: Self.realRoot.appendingPathComponent(original).path)
    {
      try fm.copyItem(
        at: Self.realRoot.appendingPathComponent("\(original)/\(name)"),
        to: url.appendingPathComponent("\(original)/\(name)"))
    }
    try Data("// swift-tools-version: 6.1\n// mmn-harness bad-input fixture\n".utf8).write(
      to: url.appendingPathComponent("Package.swift"))
    try fm.createDirectory(
      at: url.appendingPathComponent("patches"), withIntermediateDirectories: true)
  }

  func firstLineOfOriginal() throws -> String {
    let text = try String(
      contentsOf: url.appendingPathComponent("CSupport/port/original/mmap.c"), encoding: .utf8)
    return String(text.split(separator: "\n", omittingEmptySubsequences: false)[0])
  }

  /// Every path below the checkout with its bytes (nil for directories).
  func snapshot() throws -> [String: Data?] {
    var result: [String: Data?] = [:]
    let fm = FileManager.default
    guard let walk = fm.enumerator(atPath: url.path) else { return result }
    while let relative = walk.nextObject() as? String {
      let item = url.appendingPathComponent(relative)
      var isDirectory: ObjCBool = false
      _ = fm.fileExists(atPath: item.path, isDirectory: &isDirectory)
      result[relative] = isDirectory.boolValue ? .some(nil) : try Data(contentsOf: item)
    }
    return result
  }
}
