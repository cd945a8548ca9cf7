// The metadata block at the top of a variant patch.
//
//     Variant: upstream-fix
//     Upstream: 1234567890ab ("mm/mmu_notifier: …")
//     Seed: upstream-fix.seed
//     Summary: end every range whose start succeeded
//     Promises: no-use-after-free, no-poison; pairing in flaky-neighbour
//     Kind: test
//
//     Free text: why the fix, what it changes, links. Anything goes here.
//
//     diff --git a/CSupport/port/original/mmu_notifier.c b/CSupport/port/original/mmu_notifier.c
//     …
//
// The header is `Key: value` lines up to the first blank line. Keys match
// `[A-Za-z][A-Za-z0-9-]*` and are compared case-insensitively (as in mail
// headers); unknown keys are allowed and ignored, repeated keys are refused.
// Values are trimmed and may not contain control characters (a "\r" there
// almost always means CRLF line endings, which would also break the diff).
//
// Two keys are optional and read by the harness (docs/variants.md):
// `Promises:` narrows what stress holds the variant to (without it: every
// universal promise in every class; grammar in `VariantPromises`), and
// `Kind: test` marks a variant that exists to test the harness itself
// (left out of `--variant all` and of listings unless named or `--all`).
//
// `Base:` names the port the diff is against (docs/variants.md): `v5.11`
// (the default when the line is absent; paths `CSupport/port/original/…`)
// or `mainline` (paths `CSupport/port/mainline/…`). Exactly those two
// strings, case-sensitive; `PortBase.allCases` lists them.

/// The ports a variant patch can be written against.
public enum PortBase: String, CaseIterable, Sendable, Hashable {
  /// The v5.11 port, `CSupport/port/original/`; base variant `original`.
  case v5_11 = "v5.11"
  /// Today's mainline port, `CSupport/port/mainline/`; base variant `mainline`.
  case mainline

  /// The port's directory, repository-relative.
  public var directory: String {
    switch self {
    case .v5_11: PortLayout.originalDirectory
    case .mainline: PortLayout.mainlineDirectory
    }
  }

  /// The id of the unpatched base itself as a variant.
  public var variantID: String {
    switch self {
    case .v5_11: VariantIdentifier.original
    case .mainline: VariantIdentifier.mainline
    }
  }

  /// "v5.11, mainline", for error messages.
  public static var validList: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// The required metadata of one variant patch.
struct PatchHeader: Sendable, Equatable {
  var variant: String
  var upstream: String
  var seed: String
  var summary: String
  /// The `Promises:` value as written, or "" when the header has none
  /// (then every universal promise holds in every class).
  var promises: String = ""
  var kind: VariantKind = .variant
  /// `Base:`; v5.11 when the header has none.
  var base: PortBase = .v5_11

  static let requiredKeys = ["Variant", "Upstream", "Seed", "Summary"]

  /// Parses the header starting at line 0 of `lines`; returns it and the
  /// index of the first line after the blank line that ends it.
  static func parse(lines: [[UInt8]], source: String) throws -> (header: PatchHeader, next: Int) {
    var values: [String: (key: String, value: String, line: Int)] = [:]
    var index = 0
    while true {
      guard index < lines.count else {
        throw PatchError(
          .malformedPatch,
          "\(source):\(max(index, 1)): the header must be followed by a blank line and a diff")
      }
      let line = lines[index]
      index += 1
      if line.isEmpty { break }
      guard let text = PatchText.strictUTF8(line), let field = splitField(text) else {
        throw PatchError(
          .malformedPatch,
          "\(source):\(index): expected a `Key: value` header line or the blank line that ends the header, found \(PatchText.quoted(line))"
        )
      }
      let normalizedKey = field.key.lowercased()
      if let earlier = values[normalizedKey] {
        throw PatchError(
          .invalidHeader,
          "\(source):\(index): header key `\(field.key)` repeats line \(earlier.line)")
      }
      if field.value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
        throw PatchError(
          .invalidHeader,
          "\(source):\(index): the value of `\(field.key)` contains a control character (CRLF line endings?)"
        )
      }
      values[normalizedKey] = (field.key, field.value, index)
    }

    func required(_ key: String) throws -> String {
      guard let entry = values[key.lowercased()] else {
        throw PatchError(
          .invalidHeader,
          "\(source): missing required header key `\(key):` (a patch starts with Variant:, Upstream:, Seed: and Summary: lines, then a blank line)"
        )
      }
      guard !entry.value.isEmpty else {
        throw PatchError(.invalidHeader, "\(source):\(entry.line): header key `\(key):` is empty")
      }
      return entry.value
    }

    var header = PatchHeader(
      variant: try required("Variant"), upstream: try required("Upstream"),
      seed: try required("Seed"), summary: try required("Summary"))
    if let entry = values["promises"] {
      do {
        _ = try VariantPromises.parse(entry.value)
      } catch {
        throw PatchError(.invalidHeader, "\(source):\(entry.line): Promises: \(error.description)")
      }
      header.promises = entry.value
    }
    if let entry = values["kind"] {
      guard let kind = VariantKind(rawValue: entry.value) else {
        throw PatchError(
          .invalidHeader,
          "\(source):\(entry.line): Kind `\(entry.value)` is unknown; valid: \(VariantKind.allCases.map(\.rawValue).joined(separator: ", "))"
        )
      }
      header.kind = kind
    }
    if let entry = values["base"] {
      guard let base = PortBase(rawValue: entry.value) else {
        throw PatchError(
          .invalidHeader,
          "\(source):\(entry.line): Base `\(entry.value)` is unknown; valid: \(PortBase.validList)")
      }
      header.base = base
    }
    if let problem = VariantIdentifier.problem(with: header.variant) {
      let line = values["variant"].map { ":\($0.line)" } ?? ""
      throw PatchError(.invalidHeader, "\(source)\(line): Variant `\(header.variant)` \(problem)")
    }
    return (header, index)
  }

  /// `Key: value` with the key syntax above; nil for anything else.
  private static func splitField(_ text: String) -> (key: String, value: String)? {
    guard let colon = text.firstIndex(of: ":") else { return nil }
    let key = text[..<colon]
    guard let first = key.unicodeScalars.first, isASCIILetter(first),
      key.unicodeScalars.allSatisfy({ isASCIILetter($0) || isASCIIDigit($0) || $0 == "-" })
    else { return nil }
    let value = text[text.index(after: colon)...].trimmingSpacesAndTabs()
    return (String(key), value)
  }

  private static func isASCIILetter(_ scalar: Unicode.Scalar) -> Bool {
    ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
  }

  private static func isASCIIDigit(_ scalar: Unicode.Scalar) -> Bool {
    ("0"..."9").contains(scalar)
  }
}

/// Rules for variant ids, which become directory names and C identifiers.
enum VariantIdentifier {
  static let original = "original"
  static let mainline = "mainline"

  /// Why `id` is not a valid variant id (`^[a-z][a-z0-9-]{0,39}$`, not
  /// `original` nor `mainline`), or nil if it is.
  static func problem(with id: String) -> String? {
    if id == original || id == mainline { return "is reserved for an unpatched base port" }
    let scalars = Array(id.unicodeScalars)
    guard let first = scalars.first, ("a"..."z").contains(first), scalars.count <= 40,
      scalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" })
    else {
      return "is invalid: it must match ^[a-z][a-z0-9-]{0,39}$"
    }
    return nil
  }

  /// The C identifier used in wrapper and registry names. Ids contain no
  /// `_`, so this is one-to-one.
  static func symbol(for id: String) -> String {
    id.replacingOccurrences(of: "-", with: "_")
  }
}

extension Substring {
  fileprivate func trimmingSpacesAndTabs() -> String {
    let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
    guard let start = firstIndex(where: { !isBlank($0) }),
      let end = lastIndex(where: { !isBlank($0) })
    else { return "" }
    return String(self[start...end])
  }
}
