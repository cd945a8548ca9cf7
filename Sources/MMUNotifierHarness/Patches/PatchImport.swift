import Foundation

// `mmn-harness patches import FILE`: a patch in kernel form becomes a variant.
//
// The mail is read with git (MailInfo); its diff sections on the kernel files
// the port models are mapped onto the port (mm/mmu_notifier.c ->
// CSupport/port/original/mmu_notifier.c, …), every other file is reported
// and dropped. Each hunk is then placed by its context anywhere in the
// port's file, nearest to the line its header names first, with fuzz as
// patch(1) has it: up to `maximumFuzz` context lines may be ignored at
// either end. The result is written as a project patch in the form the
// strict generator reads: `diff -u` of the port file against the patched
// text, so the line numbers are where the hunks landed and the context is
// the port's own. What cannot be placed is shown hunk by hunk beside the
// port's nearest text, and then nothing is written.
//
// One exception, reported as such: a hunk that changes nothing but comment
// text and finds no place is dropped, not refused. The kernel's
// include/linux/mmu_notifier.h documents the callbacks inside struct
// mmu_notifier_ops, which the harness declares once for every variant
// (CSupport/include/mmn_harness.h), outside the port; a comment changed there
// changes nothing that is compiled, and no verdict.

/// A base port a kernel patch can be imported onto.
public struct PatchImportBase: Sendable, Equatable {
  /// `v5.11`, `mainline`: the value of `--base` and of a `Base:` header line.
  public let name: String
  /// Repository-relative directory of the base's port files.
  public let directory: String
  /// The directory a written patch's diff paths name (`a/<this>/<file>`).
  /// The base's own directory: the generator tells the bases apart by the
  /// `Base:` line, and the path says the same.
  public var diffDirectory: String { directory }
}

/// What `patches import` was asked to do.
public struct PatchImportRequest: Sendable {
  public var file: URL
  public var root: URL
  public var variant: String?
  public var base: String?
  public var dryRun: Bool

  public init(
    file: URL, root: URL, variant: String? = nil, base: String? = nil, dryRun: Bool = false
  ) {
    self.file = file
    self.root = root
    self.variant = variant
    self.base = base
    self.dryRun = dryRun
  }
}

/// What `patches import` did. Bad input is thrown instead (`PatchImportError`,
/// `PatchError`), with nothing written.
public struct PatchImportResult: Sendable {
  public enum Outcome: Sendable, Equatable {
    /// The patch was written to `patchPath` and its variant generated.
    case imported
    /// `--dry-run`: everything checked, `patchText` printed, nothing written.
    case dryRun
    /// Some hunk cannot be placed on any base tried; nothing written.
    case cannotApply
  }

  public var outcome: Outcome
  /// The report, one line each, for stdout.
  public var lines: [String]
  /// The variant id (`--variant` or the subject's slug).
  public var variant: String
  /// The base the hunks were placed on (for `cannotApply`: the one shown).
  public var base: PatchImportBase
  /// `patches/NNNN-ID.patch`, when one was (or, for a dry run, would be) written.
  public var patchPath: String?
  /// The project patch (header, description, normalized diff).
  public var patchText: String?
}

public enum PatchImport {
  /// The bases, in the order they are tried without `--base`.
  public static let bases = [
    PatchImportBase(name: "v5.11", directory: "CSupport/port/original"),
    PatchImportBase(name: "mainline", directory: "CSupport/port/mainline"),
  ]

  /// Kernel path -> port file name.
  public static let mappedFiles: [(kernel: String, port: String)] = [
    ("mm/mmu_notifier.c", "mmu_notifier.c"),
    ("include/linux/mmu_notifier.h", "mmu_notifier.h"),
    ("mm/oom_kill.c", "oom_kill.c"),
    ("mm/mmap.c", "mmap.c"),
  ]

  /// Context lines patch(1) may ignore at each end of a hunk (its default).
  public static let maximumFuzz = 2

  static let validInput =
    "valid: a patch in kernel form (git format-patch output, a saved mail or an mbox)"

  static var mappedList: String { mappedFiles.map(\.kernel).joined(separator: ", ") }

  // MARK: - The command

  public static func run(_ request: PatchImportRequest) throws -> PatchImportResult {
    let file = request.file
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory) else {
      throw PatchImportError("\(file.path): no such file; \(validInput)")
    }
    guard !isDirectory.boolValue, FileManager.default.isReadableFile(atPath: file.path) else {
      throw PatchImportError("\(file.path) is not a readable file; \(validInput)")
    }
    if let variant = request.variant, let problem = VariantIdentifier.problem(with: variant) {
      throw PatchImportError("--variant \(variant) \(problem)")
    }
    let candidates = try candidateBases(request)
    let existing = try existingVariants(root: request.root)

    // The mail, with git's tools.
    let git = try MailInfo.locateGit()
    let mails = try MailInfo.read(file, git: git)
    var lines: [String] = []
    var imported: [(mail: KernelMail, sections: [MappedSection])] = []
    var dropped: [(path: String, hunks: Int)] = []
    var sawDiff = false
    var touched: [String] = []
    for mail in mails {
      let label = "mail \(mail.index)/\(mails.count)"
      let title = mail.subject.isEmpty ? "(no subject)" : "\"\(mail.subject)\""
      guard let diff = try parseDiff(of: mail, source: "\(file.lastPathComponent) \(label)") else {
        lines.append("skipped \(label): \(title): no diff (a cover letter or a reply)")
        continue
      }
      sawDiff = true
      var sections: [MappedSection] = []
      var unmapped: [(String, Int)] = []
      for section in diff.files {
        let path = kernelPath(of: section)
        touched.append(path)
        if let port = mappedFiles.first(where: { $0.kernel == path })?.port, !section.isNewFile {
          sections.append(MappedSection(kernelPath: path, portFile: port, hunks: section.hunks))
        } else {
          unmapped.append((path, section.hunks.count))
        }
      }
      guard !sections.isEmpty else {
        lines.append(
          "skipped \(label): \(title): touches none of the port's files (\(unmapped.map(\.0).joined(separator: ", ")))"
        )
        continue
      }
      dropped += unmapped.map { (path: $0.0, hunks: $0.1) }
      lines.append("\(label): \(title) \(mail.messageID ?? "(no Message-ID)")")
      imported.append((mail, sections))
    }
    guard sawDiff else {
      throw PatchImportError("\(file.path) holds no diff; \(validInput)")
    }
    guard !imported.isEmpty else {
      let files = Array(Set(touched)).sorted().joined(separator: ", ")
      throw PatchImportError(
        "\(file.path) has no hunk on a file the port models (it changes \(files)); valid: a patch to \(mappedList)"
      )
    }
    let first = imported[0].mail
    let variant: String
    if let given = request.variant {
      variant = given
    } else {
      guard let slug = slug(of: first.subject) else {
        throw PatchImportError(
          "\(file.path): the subject \"\(first.subject)\" gives no variant id; valid: --variant ID (^[a-z][a-z0-9-]{0,39}$)"
        )
      }
      variant = slug
    }
    if let taken = existing[variant] {
      throw PatchImportError(
        "variant \(variant) already exists (\(taken)); valid: --variant ID with a new id (^[a-z][a-z0-9-]{0,39}$, not \(existing.keys.sorted().joined(separator: ", ")))"
      )
    }

    // Place every hunk on each candidate base; the first where all place wins.
    let numbered = number(imported.map(\.sections))
    var attempts: [(base: PatchImportBase, placement: Placement)] = []
    for base in candidates {
      let originals = try readBase(base, root: request.root)
      attempts.append((base, place(numbered, on: originals, base: base)))
      if attempts.last!.placement.failures == 0 { break }
    }
    let chosen =
      attempts.first(where: { $0.placement.failures == 0 })
      ?? attempts.min(by: { $0.placement.failures < $1.placement.failures })!
    for attempt in attempts where attempt.base != chosen.base {
      lines.append(
        "base \(attempt.base.name) (\(attempt.base.directory)): \(attempt.placement.failures) of \(numbered.count) hunk(s) do not place"
      )
    }
    let notOnDisk = bases.filter { base in
      !candidates.contains(base) && request.base == nil
    }
    let untried =
      notOnDisk.isEmpty
      ? ""
      : " (\(notOnDisk.map { "\($0.name): no \($0.directory)/ in this checkout" }.joined(separator: "; ")))"
    if chosen.placement.failures == 0 {
      lines.append(
        "base: \(chosen.base.name) (\(chosen.base.directory)): every port hunk places\(request.base == nil ? "" : " (--base)")\(untried)"
      )
    } else {
      lines.append(
        "base: \(chosen.base.name) (\(chosen.base.directory)): \(chosen.placement.failures) of \(numbered.count) hunk(s) do not place\(untried)"
      )
    }
    lines += chosen.placement.report
    for item in dropped {
      lines.append(
        "not applicable to the port, dropped: \(item.path) (\(item.hunks) hunk\(item.hunks == 1 ? "" : "s"))"
      )
    }
    guard chosen.placement.failures == 0 else {
      lines.append("nothing written: the hunks above do not place on the port")
      return PatchImportResult(
        outcome: .cannotApply, lines: lines, variant: variant, base: chosen.base, patchPath: nil,
        patchText: nil)
    }

    // The normalized diff, checked with the strict applier.
    let base = chosen.base
    let originals = try readBase(base, root: request.root)
    var diff = ""
    for name in PortLayout.sortedByName(chosen.placement.files.keys) {
      guard let patched = chosen.placement.files[name], let original = originals[name],
        patched != original
      else { continue }
      diff += try unifiedDiff(original, patched, path: "\(base.diffDirectory)/\(name)")
    }
    guard !diff.isEmpty else {
      lines.append("nothing written: what places changes nothing in the port")
      return PatchImportResult(
        outcome: .cannotApply, lines: lines, variant: variant, base: base, patchPath: nil,
        patchText: nil)
    }
    let number = nextNumber(root: request.root)
    let patchPath = "\(PortLayout.patchesDirectory)/\(number)-\(variant).patch"
    let text =
      header(variant: variant, base: base, mails: imported.map(\.mail))
      + description(
        mails: imported.map(\.mail), file: file, base: base, report: chosen.placement.report,
        dropped: dropped) + diff
    try checkStrictly(
      text, base: base, originals: originals, expected: chosen.placement.files, root: request.root,
      patchPath: patchPath)
    lines.append(
      "variant: \(variant)\(request.variant == nil ? " (from the subject; --variant ID for another)" : "")"
    )
    lines.append(
      "Promises: none written, so stress holds the variant to every promise: measure it (mmn-harness stress --variant \(variant) --classes all) and add the line (docs/variants.md)"
    )
    if request.dryRun {
      lines.append("dry run: nothing written; \(patchPath) would be:")
      lines += text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(
        String.init)
      return PatchImportResult(
        outcome: .dryRun, lines: lines, variant: variant, base: base, patchPath: patchPath,
        patchText: text)
    }

    let target = request.root.appendingPathComponent(patchPath)
    do {
      try Data(text.utf8).write(to: target, options: .withoutOverwriting)
    } catch {
      throw PatchImportError("cannot write \(patchPath): \(error.localizedDescription)")
    }
    let application: PatchApplication
    do {
      application = try PatchSet.apply(patch: target, root: request.root)
    } catch {
      try? FileManager.default.removeItem(at: target)
      throw error
    }
    lines.append("wrote \(patchPath)")
    lines.append(
      "generated its variant: \(application.written.count) file(s) written (as `mmn-harness patches apply \(patchPath)`)"
    )
    lines.append(
      "next: rebuild (swift build -c release), then mmn-harness compare --variant \(variant)")
    return PatchImportResult(
      outcome: .imported, lines: lines, variant: variant, base: base, patchPath: patchPath,
      patchText: text)
  }

  // MARK: - Bases and the checkout

  /// `--base` (which must exist), or every base whose directory exists.
  static func candidateBases(_ request: PatchImportRequest) throws -> [PatchImportBase] {
    let present = bases.filter {
      directoryExists(request.root.appendingPathComponent($0.directory))
    }
    if let name = request.base {
      guard let base = bases.first(where: { $0.name == name }) else {
        throw PatchImportError(
          "--base \(name) is unknown; valid: \(bases.map(\.name).joined(separator: ", "))")
      }
      guard present.contains(base) else {
        throw PatchImportError(
          "--base \(name): this checkout has no \(base.directory)/; valid: \(present.map(\.name).joined(separator: ", "))"
        )
      }
      return [base]
    }
    guard !present.isEmpty else {
      throw PatchImportError(
        "\(request.root.path) has no \(bases[0].directory)/ directory; pass the mmn-harness checkout as --root"
      )
    }
    return present
  }

  static func directoryExists(_ url: URL) -> Bool {
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
      && isDirectory.boolValue
  }

  /// Every variant id in patches/ (id -> patch path), from the file names,
  /// which `patches apply` holds to `NNNN-<Variant>.patch`.
  static func existingVariants(root: URL) throws -> [String: String] {
    let directory = root.appendingPathComponent(PortLayout.patchesDirectory)
    var ids: [String: String] = [VariantIdentifier.original: PortLayout.originalDirectory]
    for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    where name.hasSuffix(".patch") && name.count > 11 {
      let stem = name.dropLast(".patch".count)
      let number = stem.prefix(4)
      guard number.allSatisfy({ $0.isASCII && $0.isNumber }), stem.dropFirst(4).first == "-"
      else { continue }
      ids[String(stem.dropFirst(5))] = "\(PortLayout.patchesDirectory)/\(name)"
    }
    return ids
  }

  static func nextNumber(root: URL) -> String {
    let directory = root.appendingPathComponent(PortLayout.patchesDirectory)
    let numbers = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
      .compactMap { name -> Int? in
        let digits = name.prefix(4)
        guard digits.count == 4, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
          return nil
        }
        return Int(digits)
      }.filter { $0 < 9000 }
    return String(format: "%04d", (numbers.max() ?? 0) + 1)
  }

  static func readBase(_ base: PatchImportBase, root: URL) throws -> [String: PatchTextFile] {
    let directory = root.appendingPathComponent(base.directory)
    var files: [String: PatchTextFile] = [:]
    for (_, name) in mappedFiles {
      let url = directory.appendingPathComponent(name)
      if let data = FileManager.default.contents(atPath: url.path) {
        files[name] = PatchTextFile(bytes: [UInt8](data))
      }
    }
    return files
  }

  // MARK: - The mail's diff

  struct MappedSection {
    var kernelPath: String
    var portFile: String
    var hunks: [UnifiedDiff.Hunk]
  }

  /// The diff in mailinfo's patch part, from its first `diff --git` (or
  /// `--- `/`+++ ` pair) on; nil when there is none.
  static func parseDiff(of mail: KernelMail, source: String) throws -> UnifiedDiff? {
    var lines = mail.patch.split(separator: "\n", omittingEmptySubsequences: false).map {
      Array($0.utf8)
    }
    if lines.last?.isEmpty == true { lines.removeLast() }
    var start: Int?
    for (index, line) in lines.enumerated() {
      if PatchText.line(line, hasPrefix: "diff --git ")
        || (PatchText.line(line, hasPrefix: "--- ") && index + 1 < lines.count
          && PatchText.line(lines[index + 1], hasPrefix: "+++ "))
      {
        start = index
        break
      }
    }
    guard let start else { return nil }
    do {
      return try UnifiedDiff.parse(lines: lines, startIndex: start, source: source)
    } catch let error as PatchError {
      throw PatchImportError("\(error.description); \(validInput)")
    }
  }

  /// `mm/mmu_notifier.c` from `a/mm/mmu_notifier.c` (or a `-p0` path).
  static func kernelPath(of section: UnifiedDiff.FileSection) -> String {
    let raw =
      [section.gitOldPath, section.oldPath, section.gitNewPath, section.newPath]
      .compactMap { $0 }.first { $0 != UnifiedDiff.devNull } ?? ""
    if raw.hasPrefix("a/") || raw.hasPrefix("b/") { return String(raw.dropFirst(2)) }
    return raw
  }

  /// A hunk of the import, numbered over every port hunk of every mail.
  struct NumberedHunk {
    var number: Int
    var total: Int
    var section: Int
    var kernelPath: String
    var portFile: String
    var hunk: UnifiedDiff.Hunk
  }

  static func number(_ mails: [[MappedSection]]) -> [NumberedHunk] {
    var result: [NumberedHunk] = []
    var section = 0
    for sections in mails {
      for mapped in sections {
        for hunk in mapped.hunks {
          result.append(
            NumberedHunk(
              number: result.count + 1, total: 0, section: section,
              kernelPath: mapped.kernelPath, portFile: mapped.portFile, hunk: hunk))
        }
        section += 1
      }
    }
    for index in result.indices { result[index].total = result.count }
    return result
  }

  // MARK: - Placing hunks

  struct Placement {
    var files: [String: PatchTextFile]
    var report: [String]
    var failures: Int
  }

  /// Places the hunks in order on `originals`, each section (one file of
  /// one mail) carrying its offset from hunk to hunk as patch(1) does.
  static func place(
    _ hunks: [NumberedHunk], on originals: [String: PatchTextFile], base: PatchImportBase
  )
    -> Placement
  {
    var files = originals
    var report: [String] = []
    var failures = 0
    var state: [Int: (delta: Int, carried: Int, firstFree: Int)] = [:]
    for item in hunks {
      let prefix = "hunk \(item.number)/\(item.total) \(item.kernelPath)"
      let target = "\(base.directory)/\(item.portFile)"
      guard var file = files[item.portFile] else {
        failures += 1
        report.append("\(prefix): does not apply: \(target) does not exist")
        continue
      }
      var (delta, carried, firstFree) = state[item.section] ?? (0, 0, 0)
      let hunk = item.hunk
      let stated = hunk.oldIndex + delta
      let preferred = stated + carried
      if let match = locate(hunk, in: file.lines, preferred: preferred, firstFree: firstFree) {
        let newLines = Array(hunk.lines.dropFirst(match.top).dropLast(match.bottom))
          .filter { $0.kind != .removed }.map(\.text)
        let oldCount = hunk.oldLines.count - match.top - match.bottom
        let reachesEnd = match.position + oldCount == file.lines.count
        file.lines.replaceSubrange(match.position..<(match.position + oldCount), with: newLines)
        if reachesEnd && hunk.newSideLacksFinalNewline && match.bottom == 0 {
          file.endsWithNewline = false
        }
        files[item.portFile] = file
        let start = max(0, match.position - match.top)
        let offset = start - stated
        report.append(
          "\(prefix): applied at \(start + 1) (offset \(offset > 0 ? "+" : "")\(offset), fuzz \(max(match.top, match.bottom)))"
        )
        // Context lines ignored by fuzz stay in the file as they are.
        delta += newLines.count - oldCount
        carried = offset
        firstFree = match.position + newLines.count
        state[item.section] = (delta, carried, firstFree)
        continue
      }
      let shown = nearest(hunk, in: file.lines, preferred: preferred, target: target)
      if changesOnlyComments(hunk) {
        report.append(
          "\(prefix): dropped: it changes only comment text, which \(target) does not carry (the kernel's struct comments are declared outside the port, in CSupport/include/mmn_harness.h); nothing compiled changes"
        )
        report += shown
        continue
      }
      failures += 1
      var reason =
        "does not apply: no place in \(target) matches its old text, even ignoring \(maximumFuzz) context lines at each end"
      if alreadyApplied(hunk, in: file.lines) {
        reason += " (its new text is already there: applied before?)"
      }
      report.append("\(prefix): \(reason)")
      report += shown
    }
    return Placement(files: files, report: report, failures: failures)
  }

  /// Where the hunk's old text is, nearest `preferred` first, with the least
  /// fuzz: `position` is where the kept old lines start, `top`/`bottom` the
  /// context lines ignored at each end.
  static func locate(_ hunk: UnifiedDiff.Hunk, in lines: [[UInt8]], preferred: Int, firstFree: Int)
    -> (position: Int, top: Int, bottom: Int)?
  {
    let old = hunk.oldLines
    let leading = hunk.lines.prefix { $0.kind == .context }.count
    let trailing =
      leading == hunk.lines.count ? 0 : hunk.lines.reversed().prefix { $0.kind == .context }.count
    for fuzz in 0...maximumFuzz {
      var ways: [(top: Int, bottom: Int)] = []
      for top in 0...fuzz {
        for bottom in 0...fuzz where max(top, bottom) == fuzz {
          if top <= leading && bottom <= trailing { ways.append((top, bottom)) }
        }
      }
      ways.sort { ($0.top + $0.bottom, $0.top) < ($1.top + $1.bottom, $1.top) }
      for way in ways {
        let kept = Array(old[way.top..<(old.count - way.bottom)])
        guard !kept.isEmpty, kept.count <= lines.count else { continue }
        let wanted = preferred + way.top
        var best: Int?
        let lowest = max(0, firstFree)
        guard lowest <= lines.count - kept.count else { continue }
        for position in lowest...(lines.count - kept.count)
        where lines[position..<(position + kept.count)].elementsEqual(kept) {
          // Nearest the stated line; of two as near, the earlier.
          if best.map({ abs(position - wanted) < abs($0 - wanted) }) ?? true { best = position }
        }
        if let best { return (best, way.top, way.bottom) }
      }
    }
    return nil
  }

  static func alreadyApplied(_ hunk: UnifiedDiff.Hunk, in lines: [[UInt8]]) -> Bool {
    let new = hunk.newLines
    guard !new.isEmpty, new.count <= lines.count, hunk.oldLines != new else { return false }
    return (0...(lines.count - new.count)).contains {
      lines[$0..<($0 + new.count)].elementsEqual(new)
    }
  }

  /// Every changed line is comment text (`/*`, `*`, `*/`, `//`) or blank,
  /// and at least one is not blank.
  static func changesOnlyComments(_ hunk: UnifiedDiff.Hunk) -> Bool {
    let changed = hunk.lines.filter { $0.kind != .context }.map {
      String(decoding: $0.text, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }
    guard changed.contains(where: { !$0.isEmpty }) else { return false }
    return changed.allSatisfy { text in
      text.isEmpty || text == "*" || text.hasPrefix("* ") || text.hasPrefix("*\t")
        || text.hasPrefix("*/") || text.hasPrefix("/*") || text.hasPrefix("//")
    }
  }

  /// The hunk's old side beside the port's nearest text, with line numbers:
  /// `=` the same line, `~` the same but for white space, `!` different.
  static func nearest(_ hunk: UnifiedDiff.Hunk, in lines: [[UInt8]], preferred: Int, target: String)
    -> [String]
  {
    let old = hunk.lines.filter { $0.kind != .added }
    func squeezed(_ bytes: [UInt8]) -> [UInt8] { bytes.filter { $0 != 0x20 && $0 != 0x09 } }
    var best = (score: -1, position: max(0, min(preferred, lines.count - old.count)))
    if !old.isEmpty && !lines.isEmpty {
      for position in 0..<lines.count {
        var score = 0
        for (index, line) in old.enumerated() where position + index < lines.count {
          if squeezed(lines[position + index]) == squeezed(line.text) { score += 1 }
        }
        if score > best.score
          || (score == best.score && abs(position - preferred) < abs(best.position - preferred))
        {
          best = (score, position)
        }
      }
    }
    let width = 58
    func cell(_ text: String) -> String {
      let expanded = text.replacingOccurrences(of: "\t", with: "    ")
      let cut = expanded.count > width ? String(expanded.prefix(width - 1)) + "…" : expanded
      return cut + String(repeating: " ", count: max(0, width - cut.count))
    }
    let portName = target.split(separator: "/").last.map(String.init) ?? target
    var shown = [
      "    \(cell("the hunk \(hunk.headerText), old side")) | \(portName), nearest text"
    ]
    for (index, line) in old.enumerated() {
      let marker = line.kind == .removed ? "-" : " "
      let left = marker + String(decoding: line.text, as: UTF8.self)
      let portIndex = best.position + index
      guard portIndex < lines.count else {
        shown.append("    \(cell(left)) ! (end of file)")
        continue
      }
      let right = lines[portIndex]
      let sign = right == line.text ? "=" : squeezed(right) == squeezed(line.text) ? "~" : "!"
      shown.append(
        "    \(cell(left)) \(sign) \(String(format: "%4d", portIndex + 1)) \(String(decoding: right, as: UTF8.self).replacingOccurrences(of: "\t", with: "    "))"
      )
    }
    if best.score <= 0 {
      shown.append("    (no line of the hunk's old text is in \(target); shown: the stated line)")
    }
    return shown
  }

  // MARK: - The project patch

  /// The variant id from the subject: the part after the subsystem prefix
  /// (`mm/mmu_notifier.c: `), lowercased, runs of anything else but
  /// [a-z0-9] made one `-`, at most 40 characters (cut at a `-`).
  static func slug(of subject: String) -> String? {
    var text = subject
    if let range = subject.range(of: ": ", options: .backwards) {
      let rest = String(subject[range.upperBound...])
      if rest.contains(where: { $0.isLetter }) { text = rest }
    }
    var slug = ""
    for scalar in text.lowercased().unicodeScalars {
      if ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) {
        slug.unicodeScalars.append(scalar)
      } else if !slug.isEmpty && slug.last != "-" {
        slug += "-"
      }
    }
    while slug.hasSuffix("-") { slug.removeLast() }
    if slug.count > 40 {
      slug = String(slug.prefix(41))
      if let cut = slug.lastIndex(of: "-") {
        slug = String(slug[..<cut])
      } else {
        slug.removeLast()
      }
    }
    while slug.hasSuffix("-") { slug.removeLast() }
    while let first = slug.unicodeScalars.first, !("a"..."z").contains(first) {
      slug.removeFirst()
    }
    guard !slug.isEmpty, slug != VariantIdentifier.original,
      VariantIdentifier.problem(with: slug) == nil
    else { return nil }
    return slug
  }

  static func header(variant: String, base: PatchImportBase, mails: [KernelMail]) -> String {
    let first = mails[0]
    var summary = first.subject.isEmpty ? "imported with patches import" : first.subject
    if mails.count > 1 { summary += " (and \(mails.count - 1) more patch(es) of its series)" }
    var upstream: [String] = []
    for mail in mails {
      var parts: [String] = []
      if let id = mail.messageID ?? linkMessageID(in: mail.message) { parts.append(id) }
      if let commit = mail.commit { parts.append("commit \(commit.prefix(12))") }
      for fixes in trailers("Fixes", in: mail.message) { parts.append("Fixes: \(fixes)") }
      if !parts.isEmpty { upstream.append(parts.joined(separator: "; ")) }
    }
    let upstreamValue =
      upstream.isEmpty
      ? "none (imported from a mail without a Message-ID)" : upstream.joined(separator: " + ")
    var text = "Variant: \(variant)\n"
    text += "Upstream: \(oneLine(upstreamValue))\n"
    text += "Seed: -\n"
    text += "Summary: \(oneLine(summary))\n"
    text += "Kind: variant\n"
    if base.name != bases[0].name { text += "Base: \(base.name)\n" }
    return text + "\n"
  }

  static func description(
    mails: [KernelMail], file: URL, base: PatchImportBase, report: [String],
    dropped: [(path: String, hunks: Int)]
  ) -> String {
    var text = ""
    for mail in mails {
      text += "\(mail.subject)\n"
      var from = mail.author.isEmpty ? "" : "From: \(mail.author)"
      if !mail.email.isEmpty { from += from.isEmpty ? "From: <\(mail.email)>" : " <\(mail.email)>" }
      if !mail.date.isEmpty { from += from.isEmpty ? "Date: \(mail.date)" : ", \(mail.date)" }
      if !from.isEmpty { text += "\(from)\n" }
      text += "\n"
      if !mail.message.isEmpty { text += quotedSafely(mail.message) + "\n\n" }
    }
    text +=
      "Imported with `mmn-harness patches import \(file.lastPathComponent)` onto \(base.name) (\(base.directory)):\n"
    for line in report where line.hasPrefix("hunk ") { text += quotedSafely(line) + "\n" }
    for item in dropped {
      text += "not applicable to the port, dropped: \(item.path) (\(item.hunks) hunk(s))\n"
    }
    text += "No Promises: line yet: held to every promise until one is written.\n\n"
    return text
  }

  /// A description line that could start a diff is indented by one space,
  /// so the patch's free text never ends early.
  static func quotedSafely(_ text: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
      line.hasPrefix("diff --git ") || line.hasPrefix("--- ") ? " " + line : String(line)
    }.joined(separator: "\n")
  }

  static func oneLine(_ text: String) -> String {
    PatchText.singleLine(text).trimmingCharacters(in: .whitespaces)
  }

  /// The values of `Key:` trailer lines of a commit message.
  static func trailers(_ key: String, in message: String) -> [String] {
    message.split(separator: "\n").compactMap { line in
      let prefix = "\(key.lowercased()):"
      guard line.lowercased().hasPrefix(prefix) else { return nil }
      let value = line.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces)
      return value.isEmpty ? nil : value
    }
  }

  /// `<id>` from a `Link: https://lore.kernel.org/r/<id>` (or lkml) trailer.
  static func linkMessageID(in message: String) -> String? {
    for link in trailers("Link", in: message) {
      for marker in ["lore.kernel.org/r/", "lkml.kernel.org/r/", "lore.kernel.org/all/"] {
        if let range = link.range(of: marker) {
          let id = link[range.upperBound...].prefix { $0 != "/" && $0 != " " && $0 != ">" }
          if id.contains("@") { return "<\(id)>" }
        }
      }
    }
    return nil
  }

  /// `diff -u` of the port file against the patched text, labelled as
  /// patches/ names it, after a `diff --git` line.
  static func unifiedDiff(_ original: PatchTextFile, _ patched: PatchTextFile, path: String) throws
    -> String
  {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
      "mmn-import-diff-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let a = scratch.appendingPathComponent("a")
    let b = scratch.appendingPathComponent("b")
    try Data(original.bytes).write(to: a)
    try Data(patched.bytes).write(to: b)
    let result = try MailInfo.run(
      URL(fileURLWithPath: "/usr/bin/env"),
      ["diff", "-u", "--label", "a/\(path)", "--label", "b/\(path)", a.path, b.path])
    // diff: 0 same, 1 different, 2 trouble
    guard result.status <= 1 else {
      throw PatchImportError("diff -u failed on \(path): \(result.errorLine)")
    }
    return result.output.isEmpty ? "" : "diff --git a/\(path) b/\(path)\n" + result.output
  }

  /// The written patch must apply with the strict applier (no offset, no
  /// fuzz) to exactly the placed text, and, on v5.11, the whole patch set
  /// must still generate with it.
  static func checkStrictly(
    _ text: String, base: PatchImportBase, originals: [String: PatchTextFile],
    expected: [String: PatchTextFile], root: URL, patchPath: String
  ) throws {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0.utf8) }
    if lines.last?.isEmpty == true { lines.removeLast() }
    guard
      let start = lines.firstIndex(where: { PatchText.line($0, hasPrefix: "diff --git ") })
    else { throw PatchImportError("internal: the generated patch has no diff") }
    let diff = try UnifiedDiff.parse(lines: lines, startIndex: start, source: patchPath)
    for section in diff.files {
      let name = String(kernelPath(of: section).split(separator: "/").last ?? "")
      guard let original = originals[name] else {
        throw PatchImportError("internal: the generated patch names \(name)")
      }
      let result = try HunkApplier.apply(
        section.hunks, to: original, source: patchPath, target: "\(base.directory)/\(name)")
      guard result.notes.isEmpty, result.file == expected[name] else {
        throw PatchImportError(
          "internal: the generated patch does not apply strictly to \(base.directory)/\(name)")
      }
    }
    if base.directory == PortLayout.originalDirectory {
      var patchFiles = try PatchSet.readPatchFiles(root: root)
      patchFiles[patchPath] = Array(text.utf8)
      _ = try GeneratedPort.compute(
        originalFiles: try PatchSet.readOriginalFiles(root: root), patchFiles: patchFiles)
    }
  }
}
