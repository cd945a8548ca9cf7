// A strict parser for git-style unified diffs.
//
// Accepted, per file: an optional `diff --git A B` line with the extended
// headers `index …` and `new file mode …`; then `--- OLD` and `+++ NEW`; then
// one or more hunks `@@ -a[,b] +c[,d] @@[ text]` whose bodies hold exactly the
// line counts the header promises (an omitted count means 1). A git section
// for a new empty file may have no `---`/`+++`/hunks at all. `\ No newline at
// end of file` may follow the last old-side and/or new-side line of a hunk.
// A completely empty line inside a hunk is an empty context line (what git
// does, because editors strip the lone space). Blank lines between file
// sections, and a trailing `-- ` mail signature with whatever follows it, are
// ignored. Anything else is refused, with the patch line number: there is no
// guessing, because the code that gets built must be exactly original + patch.
//
// The parser only checks syntax. Paths are returned as written (`a/…`,
// `/dev/null`); which paths a variant may touch is `VariantPatch`'s business.
// Deletions, renames, copies, mode changes and binary patches are refused
// here, since the tooling has no way to represent them.

/// One parsed unified diff: a list of per-file sections in patch order.
struct UnifiedDiff: Sendable {
  enum LineKind: Sendable, Equatable {
    case context, removed, added
  }

  struct HunkLine: Sendable, Equatable {
    var kind: LineKind
    var text: [UInt8]
  }

  struct Hunk: Sendable {
    var oldStart: Int
    var oldCount: Int
    var newStart: Int
    var newCount: Int
    var lines: [HunkLine]
    /// `\ No newline at end of file` followed the last old-side line.
    var oldSideLacksFinalNewline = false
    /// `\ No newline at end of file` followed the last new-side line.
    var newSideLacksFinalNewline = false
    /// The `@@ … @@` range part, for messages.
    var headerText: String
    /// 1-based line of the `@@` line in the patch file.
    var patchLine: Int

    /// 0-based index of the first old line; with a zero count the header
    /// names the line *after which* the hunk inserts, which is the same index.
    var oldIndex: Int { oldCount == 0 ? oldStart : oldStart - 1 }
    var oldLines: [[UInt8]] { lines.filter { $0.kind != .added }.map(\.text) }
    var newLines: [[UInt8]] { lines.filter { $0.kind != .removed }.map(\.text) }
  }

  struct FileSection: Sendable {
    /// The two paths of `diff --git A B`, when the section had that line.
    var gitOldPath: String?
    var gitNewPath: String?
    /// The path tokens of `---` / `+++` (timestamps after a tab removed);
    /// nil for a git new-empty-file section, which has neither line.
    var oldPath: String?
    var newPath: String?
    /// `new file mode` was given, or `---` named /dev/null.
    var isNewFile: Bool
    /// 1-based line where the section starts (its first header line).
    var patchLine: Int
    var hunks: [Hunk]
  }

  var files: [FileSection]

  static let devNull = "/dev/null"

  /// Parses `lines[startIndex...]` of the patch file named `source`.
  static func parse(lines: [[UInt8]], startIndex: Int, source: String) throws -> UnifiedDiff {
    var parser = UnifiedDiffParser(lines: lines, index: startIndex, source: source)
    return try parser.parseDiff()
  }
}

/// A cursor over the patch lines; every refusal carries the patch line number.
private struct UnifiedDiffParser {
  let lines: [[UInt8]]
  var index: Int
  let source: String

  private var lineNumber: Int { index + 1 }

  private func malformed(_ message: String, line: Int? = nil) -> PatchError {
    PatchError(.malformedPatch, "\(source):\(line ?? lineNumber): \(message)")
  }

  private func current(hasPrefix prefix: String) -> Bool {
    index < lines.count && PatchText.line(lines[index], hasPrefix: prefix)
  }

  /// The current line as UTF-8 text; header lines must be text.
  private func currentText() throws -> String {
    guard let text = PatchText.strictUTF8(lines[index]) else {
      throw malformed("header line is not valid UTF-8")
    }
    return text
  }

  mutating func parseDiff() throws -> UnifiedDiff {
    var sections: [UnifiedDiff.FileSection] = []
    while index < lines.count {
      let line = lines[index]
      if line.isEmpty {
        index += 1
      } else if PatchText.line(line, hasPrefix: "diff --git ") {
        sections.append(try parseGitSection())
      } else if PatchText.line(line, hasPrefix: "--- ") {
        sections.append(try parseSection(gitOldPath: nil, gitNewPath: nil, isNewFile: false))
      } else if line == PatchText.bytes("-- ") {
        // `git format-patch` signature: the rest of the file is not diff.
        break
      } else {
        let hint = sections.isEmpty ? "" : " (or is a hunk header's line count too small?)"
        throw malformed(
          "unexpected line \(PatchText.quoted(line)) where a `diff --git ` or `--- ` line was expected\(hint)"
        )
      }
    }
    guard !sections.isEmpty else {
      throw malformed("the patch contains no file diff", line: lines.count)
    }
    return UnifiedDiff(files: sections)
  }

  private mutating func parseGitSection() throws -> UnifiedDiff.FileSection {
    let sectionLine = lineNumber
    let text = try currentText()
    let paths = text.dropFirst("diff --git ".count).split(
      separator: " ", omittingEmptySubsequences: false)
    guard paths.count == 2, !paths[0].isEmpty, !paths[1].isEmpty else {
      throw malformed(
        "cannot read the two paths of \(PatchText.quoted(lines[index])) (paths with spaces or quotes are not supported)"
      )
    }
    index += 1

    var isNewFile = false
    while index < lines.count, !current(hasPrefix: "--- "), !current(hasPrefix: "diff --git "),
      !current(hasPrefix: "@@ ")
    {
      let line = lines[index]
      if line.isEmpty { break }
      if PatchText.line(line, hasPrefix: "index ") {
        // Blob ids are informational; content is checked line by line.
      } else if PatchText.line(line, hasPrefix: "new file mode ") {
        isNewFile = true
      } else if PatchText.line(line, hasPrefix: "deleted file mode ") {
        throw PatchError(
          .fileDeletion,
          "\(source):\(lineNumber): deletes \(paths[0]); variants may not delete files of the original port"
        )
      } else if PatchText.line(line, hasPrefix: "old mode ")
        || PatchText.line(line, hasPrefix: "new mode ")
      {
        throw malformed("changes the file mode of \(paths[0]); mode changes are not supported")
      } else if [
        "similarity index ", "dissimilarity index ", "rename from ", "rename to ",
        "copy from ", "copy to ",
      ].contains(where: { PatchText.line(line, hasPrefix: $0) }) {
        throw malformed(
          "renames or copies \(paths[0]); only in-place edits and new files are supported")
      } else if PatchText.line(line, hasPrefix: "GIT binary patch")
        || PatchText.line(line, hasPrefix: "Binary files ")
      {
        throw malformed("binary diff for \(paths[0]) is not supported")
      } else {
        throw malformed("unexpected git extended header \(PatchText.quoted(line))")
      }
      index += 1
    }

    if current(hasPrefix: "--- ") {
      var section = try parseSection(
        gitOldPath: String(paths[0]), gitNewPath: String(paths[1]), isNewFile: isNewFile)
      section.patchLine = sectionLine
      return section
    }
    if current(hasPrefix: "@@ ") {
      throw malformed("hunk without `--- ` and `+++ ` lines")
    }
    guard isNewFile else {
      throw malformed("the `diff --git` section for \(paths[0]) has no changes", line: sectionLine)
    }
    // git writes a new empty file as a header with no hunks.
    return UnifiedDiff.FileSection(
      gitOldPath: String(paths[0]), gitNewPath: String(paths[1]), oldPath: nil, newPath: nil,
      isNewFile: true, patchLine: sectionLine, hunks: [])
  }

  private mutating func parseSection(gitOldPath: String?, gitNewPath: String?, isNewFile: Bool)
    throws -> UnifiedDiff.FileSection
  {
    let sectionLine = lineNumber
    let oldPath = try pathToken(after: "--- ")
    index += 1
    guard current(hasPrefix: "+++ ") else {
      throw malformed("expected a `+++ ` line after the `--- ` line")
    }
    let newPath = try pathToken(after: "+++ ")
    if newPath == UnifiedDiff.devNull {
      throw PatchError(
        .fileDeletion,
        "\(source):\(lineNumber): deletes \(oldPath); variants may not delete files of the original port"
      )
    }
    let createsFile = oldPath == UnifiedDiff.devNull
    if gitOldPath != nil, createsFile != isNewFile {
      throw malformed(
        createsFile
          ? "`--- /dev/null` without `new file mode` in the git header"
          : "`new file mode` in the git header but `---` names \(oldPath) instead of /dev/null",
        line: sectionLine)
    }
    index += 1

    var hunks: [UnifiedDiff.Hunk] = []
    while current(hasPrefix: "@@ ") {
      let hunk = try parseHunk()
      if let previous = hunks.last, hunk.oldIndex < previous.oldIndex + previous.oldCount {
        throw malformed(
          "hunk \(hunk.headerText) overlaps or precedes the previous hunk \(previous.headerText)",
          line: hunk.patchLine)
      }
      hunks.append(hunk)
    }
    guard !hunks.isEmpty else {
      throw malformed("no hunk (`@@ -a,b +c,d @@`) after `+++ \(newPath)`")
    }
    return UnifiedDiff.FileSection(
      gitOldPath: gitOldPath, gitNewPath: gitNewPath, oldPath: oldPath, newPath: newPath,
      isNewFile: createsFile, patchLine: sectionLine, hunks: hunks)
  }

  /// The path of a `--- ` / `+++ ` line; a tab starts GNU diff's timestamp.
  private func pathToken(after prefix: String) throws -> String {
    let text = try currentText()
    let token = text.dropFirst(prefix.count).prefix { $0 != "\t" }
    guard !token.isEmpty else { throw malformed("empty path after `\(prefix)`") }
    if token.first == "\"" {
      throw malformed("quoted path \(token) is not supported")
    }
    if token.contains(" ") {
      throw malformed("path \(token) contains a space; such paths are not supported")
    }
    return String(token)
  }

  private mutating func parseHunk() throws -> UnifiedDiff.Hunk {
    let headerLine = lineNumber
    let header = try currentText()
    guard let ranges = Self.parseHunkHeader(header) else {
      throw malformed(
        "malformed hunk header \(PatchText.quoted(lines[index])); expected `@@ -a[,b] +c[,d] @@`")
    }
    if ranges.oldCount == 0 && ranges.newCount == 0 {
      throw malformed("hunk \(ranges.text) changes nothing")
    }
    if (ranges.oldCount > 0 && ranges.oldStart == 0)
      || (ranges.newCount > 0 && ranges.newStart == 0)
    {
      throw malformed("hunk \(ranges.text) starts at line 0 but is not empty on that side")
    }
    index += 1

    var hunk = UnifiedDiff.Hunk(
      oldStart: ranges.oldStart, oldCount: ranges.oldCount, newStart: ranges.newStart,
      newCount: ranges.newCount, lines: [], headerText: ranges.text, patchLine: headerLine)
    var oldSeen = 0
    var newSeen = 0
    while oldSeen < hunk.oldCount || newSeen < hunk.newCount {
      guard index < lines.count else {
        throw malformed(
          "hunk \(hunk.headerText) ends early: \(hunk.oldCount - oldSeen) old and \(hunk.newCount - newSeen) new lines missing",
          line: headerLine)
      }
      let line = lines[index]
      let kind: UnifiedDiff.LineKind
      switch line.first {
      case nil, UInt8(ascii: " "): kind = .context
      case UInt8(ascii: "-"): kind = .removed
      case UInt8(ascii: "+"): kind = .added
      case UInt8(ascii: "\\"):
        try markMissingNewline(in: &hunk)
        index += 1
        continue
      default:
        throw malformed(
          "line \(PatchText.quoted(line)) in hunk \(hunk.headerText) does not start with ' ', '-', '+' or '\\' (or the hunk header's counts are wrong)"
        )
      }
      if kind != .added {
        oldSeen += 1
        if hunk.oldSideLacksFinalNewline || oldSeen > hunk.oldCount {
          throw malformed(tooManyLines(hunk, side: "old"))
        }
      }
      if kind != .removed {
        newSeen += 1
        if hunk.newSideLacksFinalNewline || newSeen > hunk.newCount {
          throw malformed(tooManyLines(hunk, side: "new"))
        }
      }
      hunk.lines.append(UnifiedDiff.HunkLine(kind: kind, text: Array(line.dropFirst())))
      index += 1
    }
    // The marker for the hunk's very last line comes after the counts are met.
    if index < lines.count, lines[index].first == UInt8(ascii: "\\") {
      try markMissingNewline(in: &hunk)
      index += 1
    }
    return hunk
  }

  private func tooManyLines(_ hunk: UnifiedDiff.Hunk, side: String) -> String {
    hunk.oldSideLacksFinalNewline || hunk.newSideLacksFinalNewline
      ? "hunk \(hunk.headerText) has \(side) lines after `\\ No newline at end of file`"
      : "hunk \(hunk.headerText) has more \(side) lines than its header says"
  }

  /// `\ No newline at end of file` applies to the side(s) of the line before it.
  private func markMissingNewline(in hunk: inout UnifiedDiff.Hunk) throws {
    guard let previous = hunk.lines.last else {
      throw malformed("`\\ No newline at end of file` must follow a line of the hunk")
    }
    if previous.kind != .added {
      if hunk.oldSideLacksFinalNewline {
        throw malformed("repeated `\\ No newline at end of file`")
      }
      hunk.oldSideLacksFinalNewline = true
    }
    if previous.kind != .removed {
      if hunk.newSideLacksFinalNewline {
        throw malformed("repeated `\\ No newline at end of file`")
      }
      hunk.newSideLacksFinalNewline = true
    }
  }

  struct HunkRanges {
    var oldStart: Int
    var oldCount: Int
    var newStart: Int
    var newCount: Int
    var text: String
  }

  /// `@@ -a[,b] +c[,d] @@[ section heading]`, nothing looser.
  static func parseHunkHeader(_ header: String) -> HunkRanges? {
    var rest = Substring(header)
    guard rest.hasPrefix("@@ -") else { return nil }
    rest = rest.dropFirst(4)
    guard let (oldStart, oldCount) = parseRange(&rest), rest.hasPrefix(" +") else { return nil }
    rest = rest.dropFirst(2)
    guard let (newStart, newCount) = parseRange(&rest), rest.hasPrefix(" @@") else { return nil }
    rest = rest.dropFirst(3)
    guard rest.isEmpty || rest.first == " " else { return nil }
    let text = String(header.prefix(header.count - rest.count))
    return HunkRanges(
      oldStart: oldStart, oldCount: oldCount, newStart: newStart, newCount: newCount, text: text)
  }

  private static func parseRange(_ text: inout Substring) -> (Int, Int)? {
    guard let start = parseNumber(&text) else { return nil }
    guard text.first == "," else { return (start, 1) }
    text = text.dropFirst()
    guard let count = parseNumber(&text) else { return nil }
    return (start, count)
  }

  private static func parseNumber(_ text: inout Substring) -> Int? {
    let digits = text.prefix { $0.isASCII && $0.isNumber }
    // Nine digits is far beyond any source file and keeps Int arithmetic safe.
    guard !digits.isEmpty, digits.count <= 9, let value = Int(digits) else { return nil }
    text = text.dropFirst(digits.count)
    return value
  }
}
