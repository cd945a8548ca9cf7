// Byte-level text helpers for the patch tooling. Files are handled as raw
// bytes split on "\n" so that applying a patch never re-encodes, normalises
// line endings or otherwise touches a byte the patch does not change.

/// A text file as lines of raw bytes, plus whether its last line ended in "\n".
struct PatchTextFile: Equatable, Sendable {
  /// The lines, without their "\n" terminators. A "\r" stays part of its line.
  var lines: [[UInt8]]
  /// False only when the file is non-empty and its last byte is not "\n".
  var endsWithNewline: Bool

  init(lines: [[UInt8]], endsWithNewline: Bool) {
    self.lines = lines
    self.endsWithNewline = endsWithNewline || lines.isEmpty
  }

  init(bytes: [UInt8]) {
    guard !bytes.isEmpty else {
      self.init(lines: [], endsWithNewline: true)
      return
    }
    var parts = bytes.split(separator: PatchText.newline, omittingEmptySubsequences: false)
      .map { Array($0) }
    let terminated = bytes.last == PatchText.newline
    if terminated {
      // split() leaves an empty element after the final "\n"; it is not a line.
      parts.removeLast()
    }
    self.init(lines: parts, endsWithNewline: terminated)
  }

  /// The exact bytes this value was made from (`init(bytes:)` round-trips).
  var bytes: [UInt8] {
    var result: [UInt8] = []
    result.reserveCapacity(lines.reduce(lines.count) { $0 + $1.count })
    for (index, line) in lines.enumerated() {
      if index > 0 { result.append(PatchText.newline) }
      result.append(contentsOf: line)
    }
    if endsWithNewline && !lines.isEmpty { result.append(PatchText.newline) }
    return result
  }
}

/// Small helpers shared by the parser, the applier and the generator.
enum PatchText {
  static let newline: UInt8 = 0x0A

  /// The bytes of an ASCII/UTF-8 string literal.
  static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

  static func line(_ line: [UInt8], hasPrefix prefix: String) -> Bool {
    let prefixBytes = Array(prefix.utf8)
    return line.count >= prefixBytes.count && line.starts(with: prefixBytes)
  }

  /// Decodes UTF-8 strictly; nil if the bytes are not valid UTF-8.
  static func strictUTF8(_ bytes: some Collection<UInt8>) -> String? {
    var iterator = bytes.makeIterator()
    var decoder = UTF8()
    var scalars = String.UnicodeScalarView()
    while true {
      switch decoder.decode(&iterator) {
      case .scalarValue(let scalar): scalars.append(scalar)
      case .emptyInput: return String(scalars)
      case .error: return nil
      }
    }
  }

  /// A short, quoted, escaped rendering of a line for error messages.
  static func quoted(_ bytes: [UInt8], limit: Int = 60) -> String {
    var text = ""
    for byte in bytes.prefix(limit) {
      switch byte {
      case 0x5C: text += "\\\\"
      case 0x22: text += "\\\""
      case 0x09: text += "\\t"
      case 0x0D: text += "\\r"
      case 0x20..<0x7F: text.unicodeScalars.append(Unicode.Scalar(byte))
      default: text += "\\x" + hex(byte)
      }
    }
    return "\"" + text + (bytes.count > limit ? "…" : "") + "\""
  }

  /// Replaces line breaks and other control characters so a message stays on one line.
  static func singleLine(_ text: String) -> String {
    String(
      String.UnicodeScalarView(
        text.unicodeScalars.map { scalar in
          scalar.properties.generalCategory == .control ? " " : scalar
        }))
  }

  /// A C string literal body: backslash, quote, control and non-ASCII bytes
  /// escaped, the latter as three-digit octal so a following digit can never
  /// extend the escape.
  static func cStringLiteral(_ text: String) -> String {
    var literal = "\""
    for byte in text.utf8 {
      switch byte {
      case 0x5C: literal += "\\\\"
      case 0x22: literal += "\\\""
      case 0x20..<0x7F: literal.unicodeScalars.append(Unicode.Scalar(byte))
      default: literal += "\\" + octal(byte)
      }
    }
    return literal + "\""
  }

  private static func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
  }

  private static func octal(_ byte: UInt8) -> String {
    let digits = Array("01234567")
    return String([digits[Int(byte >> 6)], digits[Int((byte >> 3) & 7)], digits[Int(byte & 7)]])
  }
}
