// Applies the hunks of one file section to that file's lines.
//
// There is no fuzz: every context and removed line must equal the file's line
// byte for byte, and the "\ No newline at end of file" state must match too.
// A hunk is first tried exactly where its header (adjusted by the line count
// changes of the hunks before it) puts it. Only if that fails is it searched
// for within ±`maximumOffset` lines of that place, and it is applied there
// only when exactly one position in the window matches; several matches are
// refused as ambiguous. A hunk applied away from its header's line is reported
// in a note, so a patch that has drifted from the original can be refreshed.

enum HunkApplier {
  /// How far (in lines) a hunk may be found from where its header says.
  static let maximumOffset = 50

  struct Result: Sendable {
    var file: PatchTextFile
    /// One note per hunk that applied at an offset.
    var notes: [String]
  }

  /// - Parameters:
  ///   - source: the patch file, for messages (`patches/0001-x.patch`).
  ///   - target: the patched file, for messages (`CSupport/port/original/x.c`).
  static func apply(
    _ hunks: [UnifiedDiff.Hunk], to original: PatchTextFile, source: String, target: String
  ) throws -> Result {
    var lines = original.lines
    var endsWithNewline = original.endsWithNewline
    var notes: [String] = []
    // Lines added minus lines removed by the hunks already applied.
    var lineDelta = 0
    // Where the previous hunk landed relative to its header: later hunks
    // usually moved by the same amount, so start looking there.
    var carriedOffset = 0
    // A hunk may not reach back into the lines the previous hunk produced.
    var firstFreeLine = 0

    for hunk in hunks {
      let oldLines = hunk.oldLines
      let newLines = hunk.newLines
      let statedPosition = hunk.oldIndex + lineDelta
      let preferredPosition = statedPosition + carriedOffset

      func matches(at position: Int) -> Bool {
        guard position >= firstFreeLine, position + oldLines.count <= lines.count else {
          return false
        }
        for (offset, expected) in oldLines.enumerated() where lines[position + offset] != expected {
          return false
        }
        return mismatchAtEndOfFile(
          hunk, position: position, oldCount: oldLines.count, lineCount: lines.count,
          endsWithNewline: endsWithNewline) == nil
      }

      let position: Int
      if matches(at: preferredPosition) {
        position = preferredPosition
      } else {
        let window = (preferredPosition - maximumOffset)...(preferredPosition + maximumOffset)
        let candidates = window.filter { $0 != preferredPosition && matches(at: $0) }
        let failurePrefix =
          "\(source):\(hunk.patchLine): hunk \(hunk.headerText) does not apply to \(target)"
        if candidates.count > 1 {
          let lineList = candidates.prefix(3).map { String($0 + 1) }.joined(separator: ", ")
          throw PatchError(
            .hunkDoesNotApply,
            "\(failurePrefix): no match at line \(preferredPosition + 1) and it matches at several nearby lines (\(lineList)); add context to make it unique"
          )
        }
        guard let only = candidates.first else {
          let reason = describeMismatch(
            hunk, oldLines: oldLines, position: preferredPosition, lines: lines,
            endsWithNewline: endsWithNewline, firstFreeLine: firstFreeLine)
          throw PatchError(
            .hunkDoesNotApply,
            "\(failurePrefix): \(reason); no match within ±\(maximumOffset) lines either")
        }
        position = only
      }

      let offset = position - statedPosition
      if offset != 0 {
        notes.append(
          "\(source):\(hunk.patchLine): hunk \(hunk.headerText) applied to \(target) at line \(position + 1), offset \(offset > 0 ? "+" : "")\(offset) lines; consider refreshing the patch"
        )
      }
      let reachesEndOfFile = position + oldLines.count == lines.count
      lines.replaceSubrange(position..<(position + oldLines.count), with: newLines)
      if reachesEndOfFile {
        endsWithNewline = !hunk.newSideLacksFinalNewline
      }
      lineDelta += newLines.count - oldLines.count
      carriedOffset = offset
      firstFreeLine = position + newLines.count
    }
    return Result(file: PatchTextFile(lines: lines, endsWithNewline: endsWithNewline), notes: notes)
  }

  /// Why the hunk's end-of-file expectations fail at `position`, or nil if
  /// they hold. A hunk that reaches the file's end asserts, through the
  /// presence or absence of the marker, whether the last line ends in "\n".
  private static func mismatchAtEndOfFile(
    _ hunk: UnifiedDiff.Hunk, position: Int, oldCount: Int, lineCount: Int, endsWithNewline: Bool
  ) -> String? {
    let reachesEndOfFile = position + oldCount == lineCount
    if hunk.oldSideLacksFinalNewline {
      guard reachesEndOfFile else {
        return "the patch says line \(position + oldCount) is the last line, but the file goes on"
      }
      guard !endsWithNewline else {
        return "the patch expects no newline at the end of the file, but there is one"
      }
    } else if reachesEndOfFile && !endsWithNewline && lineCount > 0 {
      return "the file has no newline at its end, but the patch expects one"
    }
    if hunk.newSideLacksFinalNewline && !reachesEndOfFile {
      return
        "`\\ No newline at end of file` on the new side, but the hunk does not reach the end of the file"
    }
    return nil
  }

  /// The first concrete difference at the hunk's preferred position.
  private static func describeMismatch(
    _ hunk: UnifiedDiff.Hunk, oldLines: [[UInt8]], position: Int, lines: [[UInt8]],
    endsWithNewline: Bool, firstFreeLine: Int
  ) -> String {
    if position < firstFreeLine {
      return "it would overlap the previous hunk at line \(position + 1)"
    }
    for (offset, expected) in oldLines.enumerated() {
      let lineNumber = position + offset + 1
      guard position + offset < lines.count else {
        return
          "the file has \(lines.count) lines, but the patch expects line \(lineNumber) to read \(PatchText.quoted(expected))"
      }
      let actual = lines[position + offset]
      if actual != expected {
        return
          "line \(lineNumber) reads \(PatchText.quoted(actual)) but the patch expects \(PatchText.quoted(expected))"
      }
    }
    if position + oldLines.count > lines.count {
      return
        "the file has \(lines.count) lines, fewer than the hunk needs from line \(position + 1)"
    }
    return mismatchAtEndOfFile(
      hunk, position: position, oldCount: oldLines.count, lineCount: lines.count,
      endsWithNewline: endsWithNewline) ?? "no match at line \(position + 1)"
  }
}
