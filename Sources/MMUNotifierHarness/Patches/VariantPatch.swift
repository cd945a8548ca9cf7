// One variant patch file: header, free text, diff, and the rule that a
// variant may only edit (or add) files directly inside the original port.

/// A parsed, path-checked `patches/NNNN-ID.patch`.
struct VariantPatch: Sendable {
  /// One file the patch edits or creates, named by its file name in original/.
  struct FileChange: Sendable {
    var fileName: String
    var isNewFile: Bool
    var hunks: [UnifiedDiff.Hunk]
    var patchLine: Int
  }

  /// Repository-relative path of the patch file, e.g. `patches/0001-x.patch`.
  var relativePath: String
  var header: PatchHeader
  var changes: [FileChange]

  /// Parses and checks the patch, including that its file name is
  /// `NNNN-<Variant>.patch`.
  static func parse(bytes: [UInt8], relativePath: String) throws -> VariantPatch {
    guard !bytes.isEmpty else {
      throw PatchError(.malformedPatch, "\(relativePath): the patch file is empty")
    }
    var lines = bytes.split(separator: PatchText.newline, omittingEmptySubsequences: false)
      .map { Array($0) }
    if bytes.last == PatchText.newline { lines.removeLast() }

    let (header, afterHeader) = try PatchHeader.parse(lines: lines, source: relativePath)
    try checkFileName(of: relativePath, variant: header.variant)

    // Free text runs up to the first line that can start a diff.
    guard
      let diffStart = lines[afterHeader...].firstIndex(where: {
        PatchText.line($0, hasPrefix: "diff --git ") || PatchText.line($0, hasPrefix: "--- ")
      })
    else {
      throw PatchError(
        .malformedPatch,
        "\(relativePath): no diff found (it starts at the first line beginning with `diff --git ` or `--- `)"
      )
    }
    let diff = try UnifiedDiff.parse(lines: lines, startIndex: diffStart, source: relativePath)

    var changes: [FileChange] = []
    var seenLines: [String: Int] = [:]
    for section in diff.files {
      let fileName = try portFileName(
        of: section, directory: header.base.directory, source: relativePath)
      if let earlier = seenLines[fileName] {
        throw PatchError(
          .malformedPatch,
          "\(relativePath):\(section.patchLine): \(header.base.directory)/\(fileName) is already patched at line \(earlier); merge the two sections"
        )
      }
      seenLines[fileName] = section.patchLine
      changes.append(
        FileChange(
          fileName: fileName, isNewFile: section.isNewFile, hunks: section.hunks,
          patchLine: section.patchLine))
    }
    return VariantPatch(relativePath: relativePath, header: header, changes: changes)
  }

  /// Applies the patch to its base's files (file name -> bytes; the
  /// original's for `Base: v5.11`) and returns the variant's files plus
  /// notes about hunks found at an offset.
  func apply(to originalFiles: [String: [UInt8]]) throws -> (
    files: [String: [UInt8]], notes: [String]
  ) {
    var files = originalFiles
    var notes: [String] = []
    for change in changes {
      let target = "\(header.base.directory)/\(change.fileName)"
      let existing = originalFiles[change.fileName]
      if change.isNewFile, existing != nil {
        throw PatchError(
          .hunkDoesNotApply,
          "\(relativePath):\(change.patchLine): creates \(target), which already exists")
      }
      guard let original = change.isNewFile ? [] : existing else {
        throw PatchError(
          .hunkDoesNotApply,
          "\(relativePath):\(change.patchLine): \(target) does not exist (to add a file, diff it against /dev/null)"
        )
      }
      let result = try HunkApplier.apply(
        change.hunks, to: PatchTextFile(bytes: original), source: relativePath, target: target)
      files[change.fileName] = result.file.bytes
      notes += result.notes
    }
    return (files, notes)
  }

  private static func checkFileName(of relativePath: String, variant: String) throws {
    let name = relativePath.split(separator: "/").last.map(String.init) ?? relativePath
    let expectedSuffix = "-\(variant).patch"
    let number = name.hasSuffix(expectedSuffix) ? name.dropLast(expectedSuffix.count) : ""
    guard number.count == 4, number.allSatisfy({ $0.isASCII && $0.isNumber }) else {
      throw PatchError(
        .invalidFileName,
        "\(relativePath): a patch for variant `\(variant)` must be named NNNN-\(variant).patch (four digits, then the Variant: id)"
      )
    }
  }

  /// Checks every path a section mentions and returns the one file name they
  /// all agree on.
  private static func portFileName(
    of section: UnifiedDiff.FileSection, directory: String, source: String
  ) throws -> String {
    var names: [String] = []
    func name(_ path: String, _ prefix: String) throws -> String {
      try portFileName(
        fromDiffPath: path, prefix: prefix, directory: directory, source: source,
        line: section.patchLine)
    }
    if let path = section.gitOldPath { names.append(try name(path, "a/")) }
    if let path = section.gitNewPath { names.append(try name(path, "b/")) }
    if let path = section.oldPath, path != UnifiedDiff.devNull {
      names.append(try name(path, "a/"))
    }
    if let path = section.newPath { names.append(try name(path, "b/")) }
    guard let name = names.first else {
      throw PatchError(
        .malformedPatch, "\(source):\(section.patchLine): file section names no file")
    }
    guard names.allSatisfy({ $0 == name }) else {
      throw PatchError(
        .malformedPatch,
        "\(source):\(section.patchLine): the section names different files (\(names.joined(separator: ", "))); renames are not supported"
      )
    }
    return name
  }

  /// Turns `a/CSupport/port/original/NAME` (or the `mainline` port's
  /// directory, for `Base: mainline`) into `NAME`, refusing anything that
  /// could write outside the port: absolute paths, `..`, non-normalised
  /// paths, other directories, nested directories and names that would not
  /// survive inside a C `#include "…"`.
  static func portFileName(
    fromDiffPath path: String, prefix: String,
    directory: String = PortLayout.originalDirectory, source: String, line: Int
  ) throws -> String {
    func forbidden(_ problem: String) -> PatchError {
      PatchError(.forbiddenPath, "\(source):\(line): path \(path) \(problem)")
    }
    let components = path.split(separator: "/", omittingEmptySubsequences: false)
    if path.hasPrefix("/") {
      throw forbidden("is absolute; diff paths must be repository-relative with a/ and b/ prefixes")
    }
    if components.contains("..") {
      throw forbidden("contains `..`; it could escape the repository")
    }
    guard path.hasPrefix(prefix) else {
      throw forbidden(
        "must start with \(prefix) (a git-style diff, `git diff` or `diff -u a/… b/…`)")
    }
    let repositoryPath = String(path.dropFirst(prefix.count))
    if repositoryPath.hasPrefix("/") {
      throw forbidden("is absolute after its \(prefix) prefix")
    }
    if components.dropFirst().contains(where: { $0.isEmpty || $0 == "." }) {
      throw forbidden("is not a normalised relative path")
    }
    let portPrefix = directory + "/"
    guard repositoryPath.hasPrefix(portPrefix) else {
      throw forbidden(
        "is outside \(portPrefix); a variant patch may only change its base port's files (the Base: header picks the port)"
      )
    }
    let name = String(repositoryPath.dropFirst(portPrefix.count))
    if name.contains("/") {
      throw forbidden("is in a subdirectory; it must name a file directly inside \(portPrefix)")
    }
    if let problem = PortLayout.fileNameProblem(name) {
      throw forbidden(problem)
    }
    return name
  }
}
