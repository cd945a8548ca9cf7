import Foundation

// Reading a patch in kernel form (`git format-patch` output, a saved mail, an
// mbox of several) with git's own tools, not a parser of ours: `git
// mailsplit` cuts an mbox into one file per mail, and `git mailinfo` reads
// each mail's headers (decoding RFC 2047 words and quoted-printable or
// base64 bodies, re-encoding to UTF-8), strips `[PATCH v2 1/3]` from the
// subject and splits the commit message from the patch at `---`.

/// One mail of the input, as git mailinfo splits it.
struct KernelMail: Sendable, Equatable {
  /// 1-based position in the input (mailsplit's order).
  var index: Int
  /// The subject with `[PATCH …]` removed, as mailinfo prints it.
  var subject: String
  var author: String
  var email: String
  var date: String
  /// `<id@host>`, or nil when the mail has no Message-ID.
  var messageID: String?
  /// The commit of a `git format-patch` mail (its `From <sha> …` line), or nil.
  var commit: String?
  /// The commit message: mailinfo's message, without the subject.
  var message: String
  /// Everything after the message (`---`, diffstat, notes, the diff).
  var patch: String
}

/// Why reading the mail failed: one line, for stderr.
public struct PatchImportError: Error, CustomStringConvertible, Sendable, Equatable {
  public let message: String
  public init(_ message: String) { self.message = PatchText.singleLine(message) }
  public var description: String { message }
}

enum MailInfo {
  /// Splits `file` with `git mailsplit -b` (a file that does not start with
  /// an mbox `From ` line is one mail) and reads each part with `git
  /// mailinfo -m` (which appends the Message-ID to the message).
  static func read(_ file: URL, git: URL) throws -> [KernelMail] {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
      "mmn-import-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let parts = scratch.appendingPathComponent("mails", isDirectory: true)
    try FileManager.default.createDirectory(at: parts, withIntermediateDirectories: true)

    let split = try run(git, ["mailsplit", "-b", "-o\(parts.path)", "--", file.path])
    guard split.status == 0 else {
      throw PatchImportError(
        "git mailsplit could not read \(file.path): \(split.errorLine); valid: git format-patch output, a saved mail or an mbox"
      )
    }
    let names = try FileManager.default.contentsOfDirectory(atPath: parts.path).sorted()
    var mails: [KernelMail] = []
    for (offset, name) in names.enumerated() {
      let mailURL = parts.appendingPathComponent(name)
      let messageURL = scratch.appendingPathComponent("msg-\(name)")
      let patchURL = scratch.appendingPathComponent("patch-\(name)")
      let info = try run(
        git, ["mailinfo", "-m", messageURL.path, patchURL.path], stdin: mailURL)
      guard info.status == 0 else {
        throw PatchImportError(
          "git mailinfo could not read mail \(offset + 1) of \(file.path): \(info.errorLine); valid: git format-patch output, a saved mail or an mbox"
        )
      }
      var fields: [String: String] = [:]
      for line in info.output.split(separator: "\n") {
        guard let colon = line.firstIndex(of: ":") else { continue }
        let key = line[..<colon].lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        if fields[key] == nil { fields[key] = value }
      }
      var message = textOfFile(messageURL)
      // `-m` appends "Message-Id: <…>" as the message's last line.
      var messageID: String?
      var messageLines = message.split(separator: "\n", omittingEmptySubsequences: false).map(
        String.init)
      while messageLines.last == "" { messageLines.removeLast() }
      if let last = messageLines.last, last.lowercased().hasPrefix("message-id:") {
        let value = last.dropFirst("message-id:".count).trimmingCharacters(in: .whitespaces)
        if !value.isEmpty { messageID = value.hasPrefix("<") ? value : "<\(value)>" }
        messageLines.removeLast()
        while messageLines.last == "" { messageLines.removeLast() }
      }
      message = messageLines.joined(separator: "\n")
      let patch = textOfFile(patchURL)
      mails.append(
        KernelMail(
          index: offset + 1, subject: fields["subject"] ?? "", author: fields["author"] ?? "",
          email: fields["email"] ?? "", date: fields["date"] ?? "", messageID: messageID,
          commit: formatPatchCommit(of: mailURL), message: message, patch: patch))
    }
    return mails
  }

  /// The commit id on a `git format-patch` mail's first line (`From <40 hex>
  /// Mon Sep 17 00:00:00 2001`), unless it is all zeros.
  static func formatPatchCommit(of mail: URL) -> String? {
    guard let handle = try? FileHandle(forReadingFrom: mail) else { return nil }
    defer { try? handle.close() }
    let head = String(decoding: (try? handle.read(upToCount: 128)) ?? Data(), as: UTF8.self)
    let words = head.prefix { $0 != "\n" }.split(separator: " ")
    guard words.count >= 2, words[0] == "From", words[1].count == 40,
      words[1].allSatisfy(\.isHexDigit), words[1].contains(where: { $0 != "0" })
    else { return nil }
    return String(words[1])
  }

  /// `git` on PATH, or a one-line refusal.
  static func locateGit(
    path: String = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
  ) throws -> URL {
    for directory in path.split(separator: ":") where !directory.isEmpty {
      let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent("git")
      if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    }
    throw PatchImportError(
      "git is not on PATH; patches import reads mail with git mailsplit and git mailinfo: install git (apt-get install git)"
    )
  }

  struct Output {
    var status: Int32
    var output: String
    var error: String
    /// The first line git printed on stderr, for a one-line message.
    var errorLine: String {
      let line = error.split(separator: "\n").first.map(String.init) ?? ""
      return line.isEmpty ? "exit status \(status)" : line
    }
  }

  /// Runs `executable arguments` with stdin from `stdin` (or /dev/null);
  /// output goes through files so a large mail cannot block the child.
  static func run(_ executable: URL, _ arguments: [String], stdin: URL? = nil) throws -> Output {
    let scratch = FileManager.default.temporaryDirectory
    let out = scratch.appendingPathComponent("mmn-import-\(UUID().uuidString).out")
    let err = scratch.appendingPathComponent("mmn-import-\(UUID().uuidString).err")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    defer {
      try? FileManager.default.removeItem(at: out)
      try? FileManager.default.removeItem(at: err)
    }
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    // Plain, untranslated messages; no pager, no prompts.
    environment["LC_ALL"] = "C"
    environment["GIT_TERMINAL_PROMPT"] = "0"
    process.environment = environment
    process.standardInput =
      try stdin.map { try FileHandle(forReadingFrom: $0) }
      ?? FileHandle(forReadingAtPath: "/dev/null")
    let outHandle = try FileHandle(forWritingTo: out)
    let errHandle = try FileHandle(forWritingTo: err)
    process.standardOutput = outHandle
    process.standardError = errHandle
    do {
      try process.run()
    } catch {
      throw PatchImportError(
        "cannot run \(executable.path) \(arguments.first ?? ""): \(error.localizedDescription)")
    }
    process.waitUntilExit()
    try? outHandle.close()
    try? errHandle.close()
    return Output(
      status: process.terminationStatus, output: textOfFile(out), error: textOfFile(err))
  }

  /// A file's text, "" when it is empty or absent. An empty file is never
  /// read: Foundation leaks its read buffer for one, and LeakSanitizer
  /// fails the sanitizer run over it.
  static func textOfFile(_ url: URL) -> String {
    let size =
      ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? Int) ?? 0
    guard size > 0, let data = try? Data(contentsOf: url) else { return "" }
    return String(decoding: data, as: UTF8.self)
  }
}
