import Foundation
import Testing

@testable import MMUNotifierHarness

/// The CLI pieces of issue 16, through the built binary: compare --driver,
/// run's failing-notifier options, patches new, the rebuild hint.
@Suite("Driver author CLI")
struct DriverCLITests {
  static let here = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)

  @Test("compare --driver names a registered driver, or one line lists the registered ones")
  func compareDriverUnknown() throws {
    let r = try HarnessCLI.run(["compare", "--driver", "nope"], in: Self.here)
    #expect(r.status == 2)
    #expect(r.stdout.isEmpty)
    #expect(
      r.stderr
        == "mmn-harness: error: unknown driver 'nope'; valid: kvm-mainline, xe-userptr, xe-userptr-nowait\n"
    )
  }

  @Test("scenarios lists each scenario's roles")
  func scenariosListRoles() throws {
    let r = try HarnessCLI.run(["scenarios"], in: Self.here)
    #expect(r.status == 0)
    let line = r.stdout.split(separator: "\n").first { $0.hasPrefix("oom-flaky-neighbour ") }
    #expect(line?.contains("victim,refusing-neighbour") == true)
  }

  @Test("run --failing-every k: each reaper attempt meets a refusal at another VMA")
  func runFailingEvery() throws {
    let r = try HarnessCLI.run(
      [
        "run", "--notifiers", "1", "--failing", "1", "--failing-every", "3", "--ranges", "4",
        "--format", "json",
      ], in: Self.here)
    #expect(r.status == 0)
    let json = try #require(
      try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    // all 4 VMAs unmapped by some attempt, yet no attempt passed all 4
    #expect(json["reaped_vmas"] as? Int == 4)
    #expect(json["oom_reaped"] as? Bool == false)
    #expect(json["oom_attempts"] as? Int == 10)
    let rows = try #require(json["notifiers"] as? [[String: Any]])
    let failing = try #require(rows.first { $0["name"] as? String == "failing0" })
    #expect(failing["starts_failed"] as? Int == 40 / 3)
  }

  @Test("run --failing-with-end gives the failing notifiers an end; --failing-every 0 is refused")
  func runFailingWithEnd() throws {
    // upstream-fix WARNs when a start that failed has an end, and ends it
    func measured(_ extra: [String]) throws -> [String: Any] {
      let r = try HarnessCLI.run(
        [
          "run", "--variant", "upstream-fix", "--notifiers", "1", "--failing", "1", "--format",
          "json",
        ] + extra, in: Self.here)
      #expect(r.status == 0, "\(r.stderr)")
      return try #require(
        try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    }
    let plain = try measured([])
    let withEnd = try measured(["--failing-with-end"])
    #expect(plain["warnings"] as? Int == 0)
    #expect(withEnd["warnings"] as? Int == 40)
    let totals = try #require(withEnd["totals"] as? [String: Any])
    #expect(totals["ends_without_start"] as? Int == 40)
    let refused = try HarnessCLI.run(["run", "--failing-every", "0"], in: Self.here)
    #expect(refused.status == 2)
    #expect(refused.stderr.contains("--failing-every 0 is out of range; valid: 1...1000000"))
    let help = try HarnessCLI.run(["run", "--help"], in: Self.here)
    #expect(help.stdout.contains("one range can be invalidated up to 10"))
  }

  @Test("patches new: a copy to edit, then a patch of the port's files only, numbered next")
  func patchesNew() throws {
    try PatchToolTests.withFakeRepository { root in
      // an unrelated change in the checkout that a `git diff` would capture
      try PatchToolTests.write("int unrelated;\n", to: "CSupport/port/build/registry.c", in: root)
      let first = try HarnessCLI.run(["patches", "new", "my-fix"], in: root)
      #expect(first.status == 0, "\(first.stderr)")
      #expect(first.stdout.contains("edit the files there"))
      let copy = "\(".build/variant-edits/my-fix")"
      let edited = try PatchToolTests.read("\(copy)/oom_kill.c", in: root)
      try PatchToolTests.write(
        edited.replacingOccurrences(of: "int oom_stub;", with: "int oom_fixed;"),
        to: "\(copy)/oom_kill.c", in: root)
      let second = try HarnessCLI.run(
        ["patches", "new", "my-fix", "--summary", "renames the stub"], in: root)
      #expect(second.status == 0, "\(second.stderr)")
      #expect(second.stdout.contains("wrote patches/0001-my-fix.patch"))
      let patch = try PatchToolTests.read("patches/0001-my-fix.patch", in: root)
      #expect(patch.hasPrefix("Variant: my-fix\n"))
      #expect(patch.contains("Summary: renames the stub\n"))
      #expect(patch.contains("+++ b/CSupport/port/original/oom_kill.c"))
      #expect(patch.contains("+int oom_fixed;"))
      #expect(!patch.contains("registry.c"))
      #expect(!patch.contains("mmu_notifier.c"))
      // the patch applies: apply writes its variant
      let apply = try HarnessCLI.run(["patches", "apply", "patches/0001-my-fix.patch"], in: root)
      #expect(apply.status == 0, "\(apply.stderr)")
      // a second patch of the same variant, a stray file: one line each
      let again = try HarnessCLI.run(["patches", "new", "my-fix"], in: root)
      #expect(again.status == 2)
      #expect(again.stderr.contains("already has patches/0001-my-fix.patch"))
      try PatchToolTests.write("x\n", to: "\(copy)/stray.c", in: root)
      let stray = try HarnessCLI.run(["patches", "new", "other", "--from", copy], in: root)
      #expect(stray.status == 2)
      #expect(stray.stderr.contains("stray.c is not a port file"))
    }
  }

  @Test("A binary older than patches/ says rebuild, once, on stderr")
  func staleBinarySaysRebuild() throws {
    try PatchToolTests.withFakeRepository { root in
      let binary = try #require(HarnessCLI.binary)
      let copy = root.appendingPathComponent(".build/debug/mmn-harness")
      try FileManager.default.createDirectory(
        at: copy.deletingLastPathComponent(), withIntermediateDirectories: true)
      try FileManager.default.copyItem(at: binary, to: copy)
      let patch = "patches/0001-my-fix.patch"
      try PatchToolTests.write("Variant: x\n", to: patch, in: root)
      let run = { () throws -> String in
        try Self.stderr(of: copy, ["scenarios"], in: root)
      }
      // the patch older than the binary: quiet
      try FileManager.default.setAttributes(
        [.modificationDate: Date(timeIntervalSinceNow: -3600)],
        ofItemAtPath: root.appendingPathComponent(patch).path)
      try FileManager.default.setAttributes(
        [.modificationDate: Date(timeIntervalSinceNow: -3600)],
        ofItemAtPath: root.appendingPathComponent("patches").path)
      #expect(try run() == "")
      // edited after the build: one line naming it
      try FileManager.default.setAttributes(
        [.modificationDate: Date(timeIntervalSinceNow: 60)],
        ofItemAtPath: root.appendingPathComponent(patch).path)
      let said = try run()
      #expect(said.split(separator: "\n").count == 1)
      #expect(
        said.contains("patches/0001-my-fix.patch changed after this binary was built: rebuild"))
    }
  }

  @Test("An unknown variant that has a patch in the checkout says rebuild, in the same one line")
  func unknownVariantWithPatchSaysRebuild() throws {
    try PatchToolTests.withFakeRepository { root in
      try PatchToolTests.write("Variant: my-fix\n", to: "patches/0001-my-fix.patch", in: root)
      let r = try HarnessCLI.run(["run", "--variant", "my-fix"], in: root)
      #expect(r.status == 2)
      #expect(r.stdout.isEmpty)
      #expect(r.stderr.split(separator: "\n").count == 1)
      #expect(r.stderr.contains("unknown variant 'my-fix'; valid: original"))
      #expect(r.stderr.contains("patches/0001-my-fix.patch is not in this binary: rebuild"))
      // a name no patch has: the plain refusal
      let plain = try HarnessCLI.run(["run", "--variant", "no-such"], in: root)
      #expect(!plain.stderr.contains("rebuild"))
    }
  }

  static func stderr(of binary: URL, _ arguments: [String], in directory: URL) throws -> String {
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    process.currentDirectoryURL = directory
    var environment = ProcessInfo.processInfo.environment
    environment["MMN_HARNESS_STALE_CHECKED"] = nil
    process.environment = environment
    let err = Pipe()
    process.standardError = err
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    let data = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
  }
}
