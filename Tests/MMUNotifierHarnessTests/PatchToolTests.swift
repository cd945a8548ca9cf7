import Foundation
import Testing

@testable import MMUNotifierHarness

/// The variant-patch tooling: parser, applier, generator, apply and verify.
/// Every test builds its own fake repository in a temporary directory, so
/// nothing here depends on the real port or patches.
@Suite("Variant patch tooling")
struct PatchToolTests {
  // MARK: - Fixture

  static let originalDirectory = "CSupport/port/original"

  /// `line01` … `line20`, each ending in "\n".
  static let notifierSource = (1...20).map { String(format: "line%02d\n", $0) }.joined()

  static let originalFiles: [String: String] = [
    "mmu_notifier.h": "#define MMN_TEST 1\n",
    "mmu_notifier.c": notifierSource,
    "mmap.c": "int mmap_stub;",  // deliberately no newline at the end
    "oom_kill.c": "int oom_stub;\n",
  ]

  /// A fake checkout: Package.swift naming mmn-harness, original/, patches/.
  /// Removed when `body` returns.
  static func withFakeRepository(_ body: (URL) throws -> Void) throws {
    let root = FileManager.default.temporaryDirectory
      .appendingPathComponent("mmn-patch-tests-\(UUID().uuidString)", isDirectory: true)
    defer { try? FileManager.default.removeItem(at: root) }
    try write(
      "// swift-tools-version: 6.1\n// mmn-harness test fixture\n", to: "Package.swift", in: root)
    for (name, text) in originalFiles {
      try write(text, to: "\(originalDirectory)/\(name)", in: root)
    }
    try FileManager.default.createDirectory(
      at: root.appendingPathComponent("patches"), withIntermediateDirectories: true)
    try body(root)
  }

  static func write(_ text: String, to path: String, in root: URL) throws {
    let url = root.appendingPathComponent(path)
    try FileManager.default.createDirectory(
      at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(text.utf8).write(to: url)
  }

  static func read(_ path: String, in root: URL) throws -> String {
    String(decoding: try Data(contentsOf: root.appendingPathComponent(path)), as: UTF8.self)
  }

  /// Every file and directory below `root` with its bytes (nil for directories).
  static func snapshot(_ root: URL) throws -> [String: Data?] {
    var result: [String: Data?] = [:]
    let fileManager = FileManager.default
    guard let enumerator = fileManager.enumerator(atPath: root.path) else { return result }
    while let relative = enumerator.nextObject() as? String {
      let url = root.appendingPathComponent(relative)
      var isDirectory: ObjCBool = false
      _ = fileManager.fileExists(atPath: url.path, isDirectory: &isDirectory)
      result[relative] = isDirectory.boolValue ? .some(nil) : try Data(contentsOf: url)
    }
    return result
  }

  static func patch(
    variant: String?, upstream: String? = "deadbeef1234", seed: String? = "-",
    summary: String? = "a test variant", body: String = "Why: because.\n", diff: String
  ) -> String {
    var header = ""
    if let variant { header += "Variant: \(variant)\n" }
    if let upstream { header += "Upstream: \(upstream)\n" }
    if let seed { header += "Seed: \(seed)\n" }
    if let summary { header += "Summary: \(summary)\n" }
    return header + "\n" + body + "\n" + diff
  }

  static func fileHeader(_ name: String) -> String {
    let path = "\(originalDirectory)/\(name)"
    return "diff --git a/\(path) b/\(path)\n--- a/\(path)\n+++ b/\(path)\n"
  }

  /// Two hunks on mmu_notifier.c: insert after line02, delete line16.
  static let multiHunkDiff =
    fileHeader("mmu_notifier.c") + """
      @@ -2,3 +2,4 @@
       line02
      +inserted
       line03
       line04
      @@ -15,3 +16,2 @@ some function
       line15
      -line16
       line17

      """

  static func expectedMultiHunkResult() -> String {
    var lines = notifierSource.split(separator: "\n").map(String.init)
    lines.remove(at: 15)
    lines.insert("inserted", at: 2)
    return lines.joined(separator: "\n") + "\n"
  }

  /// Parses `text` as `patches/NNNN-ID.patch` and applies it to the fixture's original.
  static func applyInMemory(_ text: String, path: String = "patches/0001-test.patch") throws
    -> (files: [String: String], notes: [String])
  {
    let patch = try VariantPatch.parse(bytes: Array(text.utf8), relativePath: path)
    let original = originalFiles.mapValues { Array($0.utf8) }
    let (files, notes) = try patch.apply(to: original)
    return (files.mapValues { String(decoding: $0, as: UTF8.self) }, notes)
  }

  static func errorKind(_ body: () throws -> Void) -> PatchError.Kind? {
    do {
      try body()
      return nil
    } catch let error as PatchError {
      #expect(!error.description.contains("\n"), "error messages are one line")
      return error.kind
    } catch {
      Issue.record("unexpected error type: \(error)")
      return nil
    }
  }

  /// Installs a good patch, applies it, then checks that `badPatch` (written
  /// to `badName` in patches/, unless it is outside) is refused with `kind`
  /// and that the tree is byte-for-byte unchanged by the attempt.
  static func expectRefusal(
    _ kind: PatchError.Kind, badPatch: String, badName: String = "0002-bad.patch",
    outsidePatches: Bool = false
  ) throws {
    try withFakeRepository { root in
      try write(
        patch(variant: "good", diff: multiHunkDiff), to: "patches/0001-good.patch", in: root)
      try PatchSet.apply(patch: root.appendingPathComponent("patches/0001-good.patch"), root: root)
      let badPath = outsidePatches ? badName : "patches/\(badName)"
      try write(badPatch, to: badPath, in: root)
      let before = try snapshot(root)
      let refusal = errorKind {
        try PatchSet.apply(patch: root.appendingPathComponent(badPath), root: root)
      }
      #expect(refusal == kind)
      #expect(try snapshot(root) == before, "a refused apply must not write anything")
    }
  }

  // MARK: - Parsing and applying

  @Test func textFileRoundTripsBytes() {
    for text in ["", "\n", "a", "a\n", "a\n\nb", "a\r\nb\r\n", "\n\n"] {
      let bytes = Array(text.utf8)
      #expect(PatchTextFile(bytes: bytes).bytes == bytes)
    }
    #expect(PatchTextFile(bytes: Array("a\nb".utf8)).endsWithNewline == false)
  }

  @Test func appliesMultipleHunks() throws {
    let (files, notes) = try Self.applyInMemory(
      Self.patch(variant: "test", diff: Self.multiHunkDiff))
    #expect(files["mmu_notifier.c"] == Self.expectedMultiHunkResult())
    #expect(notes.isEmpty)
    #expect(files["mmap.c"] == "int mmap_stub;", "untouched files are copied byte for byte")
    #expect(files.keys.sorted() == Self.originalFiles.keys.sorted())
  }

  @Test func appliesSeveralFilesAndOmittedCounts() throws {
    let diff =
      Self.fileHeader("mmu_notifier.c") + """
        @@ -3 +3 @@
        -line03
        +LINE03

        """ + Self.fileHeader("oom_kill.c") + """
        @@ -1 +1,2 @@
         int oom_stub;
        +int oom_second;

        """
    let (files, _) = try Self.applyInMemory(Self.patch(variant: "test", diff: diff))
    #expect(
      files["mmu_notifier.c"]
        == Self.notifierSource.replacingOccurrences(of: "line03", with: "LINE03"))
    #expect(files["oom_kill.c"] == "int oom_stub;\nint oom_second;\n")
  }

  @Test func handlesNoNewlineAtEndOfFile() throws {
    // mmap.c has no final newline: the old side says so; the new side adds one.
    let addNewline =
      Self.fileHeader("mmap.c") + """
        @@ -1 +1,2 @@
        -int mmap_stub;
        \\ No newline at end of file
        +int mmap_stub;
        +int mmap_more;

        """
    #expect(
      try Self.applyInMemory(Self.patch(variant: "test", diff: addNewline)).files["mmap.c"]
        == "int mmap_stub;\nint mmap_more;\n")

    // Changing the last line while keeping it unterminated.
    let keepMissing =
      Self.fileHeader("mmap.c") + """
        @@ -1 +1 @@
        -int mmap_stub;
        \\ No newline at end of file
        +long mmap_stub;
        \\ No newline at end of file

        """
    #expect(
      try Self.applyInMemory(Self.patch(variant: "test", diff: keepMissing)).files["mmap.c"]
        == "long mmap_stub;")

    // Dropping the final newline of a file that has one.
    let dropNewline =
      Self.fileHeader("oom_kill.c") + """
        @@ -1 +1 @@
        -int oom_stub;
        +int oom_stub;
        \\ No newline at end of file
        """
    #expect(
      try Self.applyInMemory(Self.patch(variant: "test", diff: dropNewline)).files["oom_kill.c"]
        == "int oom_stub;")

    // A hunk that claims a final newline where there is none does not apply.
    let wrongClaim =
      Self.fileHeader("mmap.c") + """
        @@ -1 +1 @@
        -int mmap_stub;
        +int mmap_other;

        """
    #expect(
      Self.errorKind { _ = try Self.applyInMemory(Self.patch(variant: "test", diff: wrongClaim)) }
        == .hunkDoesNotApply)
  }

  @Test func createsNewFiles() throws {
    let path = "\(Self.originalDirectory)/extra_helper.c"
    let diff = """
      diff --git a/\(path) b/\(path)
      new file mode 100644
      index 0000000..1111111
      --- /dev/null
      +++ b/\(path)
      @@ -0,0 +1,2 @@
      +int extra_one;
      +int extra_two;
      diff --git a/\(Self.originalDirectory)/empty.h b/\(Self.originalDirectory)/empty.h
      new file mode 100644
      index 0000000..e69de29

      """
    let (files, _) = try Self.applyInMemory(Self.patch(variant: "test", diff: diff))
    #expect(files["extra_helper.c"] == "int extra_one;\nint extra_two;\n")
    #expect(files["empty.h"] == "")

    // Creating a file that already exists is refused.
    let clash = """
      --- /dev/null
      +++ b/\(Self.originalDirectory)/oom_kill.c
      @@ -0,0 +1 @@
      +int x;

      """
    #expect(
      Self.errorKind { _ = try Self.applyInMemory(Self.patch(variant: "test", diff: clash)) }
        == .hunkDoesNotApply)
  }

  @Test func findsShiftedHunkWithinWindowAndNotesIt() throws {
    // Header says line 5, the context is really at lines 8-10.
    let diff =
      Self.fileHeader("mmu_notifier.c") + """
        @@ -5,3 +5,3 @@
         line08
        -line09
        +LINE09
         line10

        """
    let (files, notes) = try Self.applyInMemory(Self.patch(variant: "test", diff: diff))
    #expect(
      files["mmu_notifier.c"]
        == Self.notifierSource.replacingOccurrences(of: "line09", with: "LINE09"))
    #expect(notes.count == 1)
    #expect(notes.first?.contains("offset +3") == true)
  }

  @Test func refusesAmbiguousShiftedHunk() throws {
    let repeated = String(repeating: "same\n", count: 6)
    let patchText = Self.patch(
      variant: "test",
      diff: Self.fileHeader("mmu_notifier.c") + """
        @@ -2,1 +2,2 @@
         same
        +new

        """)
    let patch = try VariantPatch.parse(
      bytes: Array(patchText.utf8), relativePath: "patches/0001-test.patch")
    // Line 2 is not "same" here (prefix line), and "same" occurs six times nearby.
    let original = ["mmu_notifier.c": Array(("top\nother\n" + repeated).utf8)]
    #expect(Self.errorKind { _ = try patch.apply(to: original) } == .hunkDoesNotApply)
  }

  @Test func acceptsEmptyLineAsEmptyContextAndMailSignature() throws {
    let original = ["mmu_notifier.c": Array("a\n\nb\n".utf8)]
    let text = Self.patch(
      variant: "test",
      diff: Self.fileHeader("mmu_notifier.c") + "@@ -1,3 +1,3 @@\n a\n\n-b\n+c\n-- \n2.43.0\n\n")
    let patch = try VariantPatch.parse(
      bytes: Array(text.utf8), relativePath: "patches/0001-test.patch")
    #expect(try patch.apply(to: original).files["mmu_notifier.c"] == Array("a\n\nc\n".utf8))
  }

  @Test func refusesMalformedDiffs() {
    let cases = [
      // Counts say 3 old lines, there are 2.
      Self.fileHeader("mmu_notifier.c") + "@@ -1,3 +1,3 @@\n line01\n line02\n",
      // Garbage hunk header.
      Self.fileHeader("mmu_notifier.c") + "@@ -1,x +1 @@\n line01\n",
      // Line with an unknown prefix inside a hunk.
      Self.fileHeader("mmu_notifier.c") + "@@ -1,2 +1,2 @@\n line01\n*line02\n",
      // Overlapping hunks.
      Self.fileHeader("mmu_notifier.c") + "@@ -3 +3 @@\n-line03\n+x\n@@ -2 +2 @@\n-line02\n+y\n",
      // No diff at all.
      "no diff here\n",
      // Renames are not supported.
      "diff --git a/\(Self.originalDirectory)/mmap.c b/\(Self.originalDirectory)/mmap2.c\nsimilarity index 90%\n",
    ]
    for diff in cases {
      #expect(
        Self.errorKind { _ = try Self.applyInMemory(Self.patch(variant: "test", diff: diff)) }
          == .malformedPatch, "\(diff)")
    }
  }

  @Test func escapesCStrings() {
    #expect(PatchText.cStringLiteral("a\"b\\c") == "\"a\\\"b\\\\c\"")
    #expect(PatchText.cStringLiteral("tab\there") == "\"tab\\011here\"")
    #expect(PatchText.cStringLiteral("é1") == "\"\\303\\2511\"")
  }

  // MARK: - Refusals leave the tree untouched

  @Test func refusesAbsolutePath() throws {
    try Self.expectRefusal(
      .forbiddenPath,
      badPatch: Self.patch(
        variant: "bad", diff: "--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-root\n+toor\n"))
  }

  @Test func refusesDotDotPath() throws {
    let path = "\(Self.originalDirectory)/../../../Package.swift"
    try Self.expectRefusal(
      .forbiddenPath,
      badPatch: Self.patch(
        variant: "bad", diff: "--- a/\(path)\n+++ b/\(path)\n@@ -1 +1 @@\n-x\n+y\n"))
  }

  @Test func refusesPathOutsideThePort() throws {
    try Self.expectRefusal(
      .forbiddenPath,
      badPatch: Self.patch(
        variant: "bad",
        diff: """
          diff --git a/Package.swift b/Package.swift
          --- a/Package.swift
          +++ b/Package.swift
          @@ -1 +1 @@
          -// swift-tools-version: 6.1
          +// swift-tools-version: 5.0

          """))
  }

  @Test func refusesContextMismatch() throws {
    try Self.expectRefusal(
      .hunkDoesNotApply,
      badPatch: Self.patch(
        variant: "bad",
        diff: Self.fileHeader("mmu_notifier.c") + "@@ -4,2 +4,2 @@\n line04\n-not-line05\n+x\n"))
  }

  @Test func refusesMissingHeaderKey() throws {
    try Self.expectRefusal(
      .invalidHeader,
      badPatch: Self.patch(variant: "bad", seed: nil, diff: Self.multiHunkDiff))
  }

  @Test func refusesInvalidVariantIds() throws {
    try Self.expectRefusal(
      .invalidHeader, badPatch: Self.patch(variant: "original", diff: Self.multiHunkDiff),
      badName: "0002-original.patch")
    try Self.expectRefusal(
      .invalidHeader, badPatch: Self.patch(variant: "Bad_Id", diff: Self.multiHunkDiff),
      badName: "0002-Bad_Id.patch")
  }

  @Test func refusesFileNameThatDoesNotMatchTheVariant() throws {
    try Self.expectRefusal(
      .invalidFileName, badPatch: Self.patch(variant: "other", diff: Self.multiHunkDiff))
  }

  @Test func refusesDuplicateVariantId() throws {
    try Self.expectRefusal(
      .variantCollision, badPatch: Self.patch(variant: "good", diff: Self.multiHunkDiff),
      badName: "0002-good.patch")
  }

  @Test func refusesFileDeletion() throws {
    let path = "\(Self.originalDirectory)/oom_kill.c"
    try Self.expectRefusal(
      .fileDeletion,
      badPatch: Self.patch(
        variant: "bad",
        diff:
          "diff --git a/\(path) b/\(path)\ndeleted file mode 100644\n--- a/\(path)\n+++ /dev/null\n@@ -1 +0,0 @@\n-int oom_stub;\n"
      ))
    try Self.expectRefusal(
      .fileDeletion,
      badPatch: Self.patch(
        variant: "bad", diff: "--- a/\(path)\n+++ /dev/null\n@@ -1 +0,0 @@\n-int oom_stub;\n"))
  }

  @Test func refusesPatchFileOutsidePatchesDirectory() throws {
    try Self.expectRefusal(
      .patchOutsidePatchesDirectory, badPatch: Self.patch(variant: "bad", diff: Self.multiHunkDiff),
      badName: "0002-bad.patch", outsidePatches: true)
  }

  @Test func aBrokenPatchElsewhereBlocksEveryApply() throws {
    try Self.withFakeRepository { root in
      try Self.write(
        Self.patch(variant: "good", diff: Self.multiHunkDiff), to: "patches/0001-good.patch",
        in: root)
      try Self.write(
        Self.patch(variant: "bad", upstream: nil, diff: Self.multiHunkDiff),
        to: "patches/0002-bad.patch", in: root)
      let before = try Self.snapshot(root)
      #expect(
        Self.errorKind {
          try PatchSet.apply(
            patch: root.appendingPathComponent("patches/0001-good.patch"), root: root)
        } == .invalidHeader)
      #expect(try Self.snapshot(root) == before)
    }
  }

  // MARK: - Generation, verify and apply

  @Test func generatesWrappersAndRegistryExactly() throws {
    try Self.withFakeRepository { root in
      try Self.write(
        Self.patch(
          variant: "upstream-fix", upstream: "<msg@id> \"q\" é", seed: "upstream-fix.seed",
          summary: "end every started range", diff: Self.multiHunkDiff),
        to: "patches/0004-upstream-fix.patch", in: root)
      let result = try PatchSet.apply(
        patch: root.appendingPathComponent("patches/0004-upstream-fix.patch"), root: root)
      #expect(result.variant == "upstream-fix")
      #expect(result.written.contains("CSupport/port/build/registry.c"))

      #expect(
        try Self.read("CSupport/port/build/upstream_fix__memb.c", in: root) == """
          /* Generated by `mmn-harness patches apply` from patches/0004-upstream-fix.patch; do not edit. */
          #define MMN_VARIANT_SYM upstream_fix
          #include "../../rcu/flavor_memb.h"
          #pragma clang attribute push(__attribute__((always_inline)), apply_to = function)
          #include "../variants/upstream-fix/mmap.c"
          #include "../variants/upstream-fix/mmu_notifier.c"
          #include "../variants/upstream-fix/oom_kill.c"
          #pragma clang attribute pop
          #include "../../harness/core_table.h"

          """)
      #expect(
        try Self.read("CSupport/port/build/original__qsbr.c", in: root) == """
          /* Generated by `mmn-harness patches apply` from CSupport/port/original; do not edit. */
          #define MMN_VARIANT_SYM original
          #include "../../rcu/flavor_qsbr.h"
          #pragma clang attribute push(__attribute__((always_inline)), apply_to = function)
          #include "../original/mmap.c"
          #include "../original/mmu_notifier.c"
          #include "../original/oom_kill.c"
          #pragma clang attribute pop
          #include "../../harness/core_table.h"

          """)
      #expect(
        try Self.read("CSupport/port/build/registry.c", in: root) == """
          /* Generated by `mmn-harness patches apply`; do not edit. */
          #include "../../harness/registry.h"

          MMN_DECLARE_CORES(original);
          MMN_DECLARE_CORES(upstream_fix);

          const struct mmn_variant mmn_variants[] = {
          \tMMN_VARIANT("original", original, "the v5.11 core as released: no end after a failed start", "v5.11 mm/mmu_notifier.c (blob 61ee40ed804e)", "-", "", "v5.11"),
          \tMMN_VARIANT("upstream-fix", upstream_fix, "end every started range", "<msg@id> \\"q\\" \\303\\251", "upstream-fix.seed", "patches/0004-upstream-fix.patch", "v5.11"),
          };
          const unsigned int mmn_variant_count = sizeof(mmn_variants) / sizeof(mmn_variants[0]);

          """)
      #expect(
        try Self.read("CSupport/port/variants/upstream-fix/mmu_notifier.c", in: root)
          == Self.expectedMultiHunkResult())
      #expect(
        try Self.read("CSupport/port/variants/upstream-fix/mmap.c", in: root) == "int mmap_stub;")
      #expect(
        try Self.read("CSupport/port/variants/upstream-fix/mmu_notifier.h", in: root)
          == "#define MMN_TEST 1\n")

      let listed = try PatchSet.list(root: root)
      #expect(listed.map(\.variant) == ["original", "upstream-fix"])
      #expect(listed.map(\.patchPath) == [nil, "patches/0004-upstream-fix.patch"])
    }
  }

  /// Two patches applied in a fresh fake repository.
  static func withGeneratedRepository(_ body: (URL) throws -> Void) throws {
    try withFakeRepository { root in
      try write(
        patch(variant: "all-ends-rfc", diff: multiHunkDiff), to: "patches/0001-all-ends-rfc.patch",
        in: root)
      try write(
        patch(
          variant: "upstream-fix",
          diff: fileHeader("oom_kill.c") + "@@ -1 +1 @@\n-int oom_stub;\n+int oom_fixed;\n"),
        to: "patches/0002-upstream-fix.patch", in: root)
      for name in ["0001-all-ends-rfc.patch", "0002-upstream-fix.patch"] {
        try PatchSet.apply(patch: root.appendingPathComponent("patches/\(name)"), root: root)
      }
      try body(root)
    }
  }

  @Test func verifyPassesOnFreshlyGeneratedTree() throws {
    try Self.withGeneratedRepository { root in
      let drifts = try PatchSet.verify(root: root)
      #expect(drifts == [])
    }
  }

  @Test func verifyReportsOneChangedByte() throws {
    try Self.withGeneratedRepository { root in
      let path = "CSupport/port/variants/upstream-fix/oom_kill.c"
      let url = root.appendingPathComponent(path)
      var bytes = [UInt8](try Data(contentsOf: url))
      bytes[0] ^= 0x20
      try Data(bytes).write(to: url)
      let drifts = try PatchSet.verify(root: root)
      #expect(drifts.map(\.path) == [path])
      #expect(drifts.first?.variant == "upstream-fix")
      #expect(drifts.first?.reason.contains("differs") == true)
    }
  }

  @Test func verifyReportsDeletedWrapperAndStrayFiles() throws {
    try Self.withGeneratedRepository { root in
      try FileManager.default.removeItem(
        at: root.appendingPathComponent("CSupport/port/build/all_ends_rfc__mb.c"))
      try Self.write("x", to: "CSupport/port/build/gone__memb.c", in: root)
      try Self.write("x", to: "CSupport/port/variants/upstream-fix/stray.c", in: root)
      try Self.write("x", to: "CSupport/port/variants/gone/mmap.c", in: root)
      let drifts = try PatchSet.verify(root: root)
      #expect(
        Set(drifts.map(\.path)) == [
          "CSupport/port/build/all_ends_rfc__mb.c", "CSupport/port/build/gone__memb.c",
          "CSupport/port/variants/upstream-fix/stray.c", "CSupport/port/variants/gone",
        ])
      #expect(drifts.first { $0.path.hasSuffix("all_ends_rfc__mb.c") }?.reason == "missing")
    }
  }

  @Test func applyRepairsDriftAndVerifyRoundTrips() throws {
    try Self.withGeneratedRepository { root in
      let patchURL = root.appendingPathComponent("patches/0001-all-ends-rfc.patch")
      try Self.write(
        "tampered\n", to: "CSupport/port/variants/all-ends-rfc/mmu_notifier.c", in: root)
      try Self.write("x", to: "CSupport/port/variants/all-ends-rfc/stray.c", in: root)
      try FileManager.default.removeItem(
        at: root.appendingPathComponent("CSupport/port/build/registry.c"))
      #expect(try PatchSet.verify(root: root).count == 3)

      let repaired = try PatchSet.apply(patch: patchURL, root: root)
      #expect(
        repaired.written == [
          "CSupport/port/build/registry.c", "CSupport/port/variants/all-ends-rfc/mmu_notifier.c",
        ])
      #expect(repaired.removed == ["CSupport/port/variants/all-ends-rfc/stray.c"])
      #expect(try PatchSet.verify(root: root) == [])

      // A second apply finds nothing to do and touches nothing.
      let again = try PatchSet.apply(patch: patchURL, root: root)
      #expect(again.written.isEmpty && again.removed.isEmpty)
    }
  }

  @Test func removingAPatchThenApplyAllRemovesItsFiles() throws {
    try Self.withGeneratedRepository { root in
      try FileManager.default.removeItem(
        at: root.appendingPathComponent("patches/0002-upstream-fix.patch"))
      #expect(try PatchSet.verify(root: root).isEmpty == false)
      let result = try PatchSet.applyAll(root: root)
      #expect(result.removed.contains("CSupport/port/variants/upstream-fix"))
      #expect(result.removed.contains("CSupport/port/build/upstream_fix__bp.c"))
      #expect(try PatchSet.verify(root: root) == [])
      #expect(try PatchSet.list(root: root).map(\.variant) == ["original", "all-ends-rfc"])
    }
  }

  @Test func applyNotesOtherVariantsThatStillNeedApplying() throws {
    try Self.withGeneratedRepository { root in
      try Self.write(
        Self.patch(variant: "late", diff: Self.multiHunkDiff), to: "patches/0003-late.patch",
        in: root)
      let result = try PatchSet.apply(
        patch: root.appendingPathComponent("patches/0001-all-ends-rfc.patch"), root: root)
      #expect(result.written.contains("CSupport/port/build/late__memb.c"))
      #expect(result.notes.contains { $0.contains("patches/0003-late.patch") })
      #expect(try PatchSet.verify(root: root).allSatisfy { $0.variant == "late" })
    }
  }

  @Test func locatesRepositoryRootFromNestedDirectory() throws {
    try Self.withFakeRepository { root in
      let nested = root.appendingPathComponent("CSupport/port/original")
      #expect(
        RepositoryRoot.locate(from: nested)?.standardizedFileURL.path
          == root.standardizedFileURL.path)
    }
  }

  // MARK: - Promises: and Kind:

  @Test func refusesAnUnreadablePromisesLine() throws {
    for line in [
      "no-such-promise", "all in no-such-class", "all;;no-poison", "no-poison,", "all except",
    ] {
      try Self.expectRefusal(
        .invalidHeader,
        badPatch: Self.patch(
          variant: "bad", summary: "a test variant\nPromises: \(line)", diff: Self.multiHunkDiff))
    }
  }

  @Test func refusesAnUnknownKind() throws {
    try Self.expectRefusal(
      .invalidHeader,
      badPatch: Self.patch(
        variant: "bad", summary: "a test variant\nKind: experimental", diff: Self.multiHunkDiff))
  }

  /// What the header says reaches the binary through variant_meta.c, in
  /// registry order (the original first, with its fixed line).
  @Test func promisesAndKindReachTheGeneratedMetadata() throws {
    try Self.withFakeRepository { root in
      try Self.write(
        Self.patch(
          variant: "good",
          summary: "a test variant\nPromises: all in flaky-neighbour; no-poison\nKind: test",
          diff: Self.multiHunkDiff), to: "patches/0001-good.patch", in: root)
      let result = try PatchSet.applyAll(root: root)
      #expect(result.written.contains("CSupport/port/build/variant_meta.c"))
      let meta = try Self.read("CSupport/port/build/variant_meta.c", in: root)
      #expect(meta.contains("\t\"variant\",\n\t\"test\",\n};"), "\(meta)")
      #expect(
        meta.contains(
          "\t\"no-use-after-free, no-poison\",\n\t\"all in flaky-neighbour; no-poison\",\n};"),
        "\(meta)")
      #expect(try PatchSet.verify(root: root).isEmpty)
    }
  }

  /// `Base: mainline`: the diff's paths are against CSupport/port/mainline/,
  /// the variant is built from that port, and the registry says so; a
  /// v5.11 path under `Base: mainline`, an unknown base and the reserved
  /// id are refused.
  @Test func baseMainlinePatchesBuildOnTheMainlinePort() throws {
    let mainlineDiff = Self.multiHunkDiff.replacingOccurrences(
      of: Self.originalDirectory, with: "CSupport/port/mainline")
    try Self.withFakeRepository { root in
      for (name, text) in Self.originalFiles {
        try Self.write(text, to: "CSupport/port/mainline/\(name)", in: root)
      }
      try Self.write(
        Self.patch(variant: "good", summary: "today's fix\nBase: mainline", diff: mainlineDiff),
        to: "patches/0001-good.patch", in: root)
      try PatchSet.applyAll(root: root)
      #expect(
        try Self.read("CSupport/port/variants/good/mmu_notifier.c", in: root)
          == Self.expectedMultiHunkResult())
      let registry = try Self.read("CSupport/port/build/registry.c", in: root)
      #expect(registry.contains("MMN_VARIANT(\"mainline\", mainline,"))
      #expect(registry.contains("\"patches/0001-good.patch\", \"mainline\"),"))
      #expect(
        try Self.read("CSupport/port/build/mainline__memb.c", in: root).contains(
          "#include \"../mainline/mmu_notifier.c\""))
      #expect(try PatchSet.list(root: root).map(\.base) == ["v5.11", "mainline", "mainline"])
      #expect(try PatchSet.verify(root: root).isEmpty)

      try Self.write(
        Self.patch(variant: "wrong", summary: "x\nBase: mainline", diff: Self.multiHunkDiff),
        to: "patches/0002-wrong.patch", in: root)
      #expect(Self.errorKind { _ = try PatchSet.applyAll(root: root) } == .forbiddenPath)
      try Self.write(
        Self.patch(variant: "wrong", summary: "x\nBase: v6.8", diff: mainlineDiff),
        to: "patches/0002-wrong.patch", in: root)
      #expect(Self.errorKind { _ = try PatchSet.applyAll(root: root) } == .invalidHeader)
    }
    #expect(
      Self.errorKind {
        _ = try Self.applyInMemory(
          Self.patch(variant: "mainline", diff: Self.multiHunkDiff),
          path: "patches/0001-mainline.patch")
      } == .invalidHeader)
  }

  /// No fallback to the tree the binary was built from.
  @Test func locatesNoRootOutsideACheckout() throws {
    let outside = FileManager.default.temporaryDirectory.appendingPathComponent(
      "mmn-no-checkout-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: outside) }
    #expect(RepositoryRoot.locate(from: outside) == nil)
  }
}
