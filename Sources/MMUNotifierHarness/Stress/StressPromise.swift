import Foundation

/// One promise a stress run holds a variant to. Each names the totals that
/// must stay at zero while it holds (`findings` in `StressReport`).
public enum Promise: String, CaseIterable, Sendable, Hashable, Comparable,
  CustomStringConvertible
{
  /// Nothing freed is reached: no KASAN use-after-free report, no driver
  /// called after its free.
  case noUseAfterFree = "no-use-after-free"
  /// No callback found a subscription's poison (freed memory reached).
  case noPoison = "no-poison"
  /// Every successful start is ended (hlist and interval tree).
  case noMissingEnd = "no-missing-end"
  /// No end reaches a notifier whose start failed or never ran.
  case noEndWithoutStart = "no-end-without-start"
  /// No start gets a second end.
  case noDuplicateEnd = "no-duplicate-end"
  /// No bounded wait expires, no interval is left because removing it
  /// would wait forever, and the run itself finishes (watchdog).
  case noHang = "no-hang"
  /// No WARN_ON fires.
  case noWarn = "no-warn"
  /// No BUG_ON is hit.
  case noBug = "no-bug"
  /// The lock validator closes no cycle and reports nothing.
  case noLockCycle = "no-lock-cycle"

  public var description: String { rawValue }

  public static func < (a: Promise, b: Promise) -> Bool {
    allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
  }

  /// The promises about pairing and its consequences: what a variant that
  /// knowingly leaves some start unended gives up, in the classes where it
  /// does.
  public static let pairing: [Promise] = [
    .noMissingEnd, .noEndWithoutStart, .noDuplicateEnd, .noHang, .noWarn, .noBug, .noLockCycle,
  ]

  /// RCU safety: no use after free, no poison.
  public static let safety: [Promise] = [.noUseAfterFree, .noPoison]
}

/// What a variant promises, per stress class: the parsed `Promises:` line
/// of its patch header (docs/variants.md).
///
/// Grammar: clauses separated by `;`, each `NAMES [except NAMES] [in
/// CLASSES]`, NAMES and CLASSES comma-separated. A name is a `Promise`,
/// `pairing` (every pairing promise) or `all`; a clause without `in` holds
/// in every class. Clauses add up (a later one cannot take back what an
/// earlier one holds).
/// What the clauses name is what is held; everything else is waived (and
/// reported as expected, not as broken). A variant without the line is
/// held to every promise in every class.
public struct VariantPromises: Sendable, Equatable {
  /// The promises held in each class.
  public let held: [StressClass: Set<Promise>]
  /// The line as written ("" for the universal default).
  public let line: String

  public init(held: [StressClass: Set<Promise>], line: String) {
    self.held = held
    self.line = line
  }

  /// Every promise in every class.
  public static let universal = VariantPromises(
    held: Dictionary(
      uniqueKeysWithValues: StressClass.allCases.map { ($0, Set(Promise.allCases)) }),
    line: "")

  public func holds(_ promise: Promise, in cls: StressClass) -> Bool {
    held[cls]?.contains(promise) ?? false
  }

  /// Classes in which at least one pairing promise holds.
  public var pairingClasses: [StressClass] {
    StressClass.allCases.filter { cls in Promise.pairing.contains { holds($0, in: cls) } }
  }

  /// Parses a `Promises:` value; "" is the universal default.
  public static func parse(_ line: String) throws(HarnessInputError) -> VariantPromises {
    let trimmed = line.trimmingCharacters(in: .whitespaces)
    if trimmed.isEmpty { return .universal }
    var held: [StressClass: Set<Promise>] = [:]
    let validNames = ["all", "pairing"] + Promise.allCases.map(\.rawValue)
    for clause in trimmed.split(separator: ";", omittingEmptySubsequences: false) {
      let words = clause.split(separator: " ", omittingEmptySubsequences: true)
      guard !words.isEmpty else {
        throw .invalid("an empty clause (two `;` in a row, or one at an end)")
      }
      let inIndex = words.firstIndex(of: "in")
      let head = words[..<(inIndex ?? words.endIndex)]
      let exceptIndex = head.firstIndex(of: "except")
      let nameText = head[..<(exceptIndex ?? head.endIndex)].joined(separator: " ")
      var promises = try promiseSet(nameText, valid: validNames)
      if let exceptIndex {
        let waived = head[(exceptIndex + 1)...].joined(separator: " ")
        promises.subtract(try promiseSet(waived, valid: validNames))
      }
      var classes = StressClass.allCases
      if let inIndex {
        let classText = words[(inIndex + 1)...].joined(separator: " ")
        let classNames = try items(
          classText, what: "class", valid: StressClass.allCases.map(\.rawValue))
        classes = try classNames.map { name throws(HarnessInputError) in
          guard let c = StressClass(rawValue: name) else {
            throw .unknown(
              kind: "stress class", name: name, valid: StressClass.allCases.map(\.rawValue))
          }
          return c
        }
      }
      for cls in classes { held[cls, default: []].formUnion(promises) }
    }
    return VariantPromises(held: held, line: trimmed)
  }

  private static func promiseSet(_ text: String, valid: [String]) throws(HarnessInputError)
    -> Set<Promise>
  {
    var promises: Set<Promise> = []
    for name in try items(text, what: "promise", valid: valid) {
      switch name {
      case "all": promises.formUnion(Promise.allCases)
      case "pairing": promises.formUnion(Promise.pairing)
      default:
        guard let p = Promise(rawValue: name) else {
          throw .unknown(kind: "promise", name: name, valid: valid)
        }
        promises.insert(p)
      }
    }
    return promises
  }

  /// A comma-separated list with no empty item.
  private static func items(_ text: String, what: String, valid: [String])
    throws(HarnessInputError) -> [String]
  {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false).map {
      $0.trimmingCharacters(in: .whitespaces)
    }
    guard !parts.contains(where: \.isEmpty) else {
      throw .invalid("an empty \(what) in '\(text)'; valid: \(valid.joined(separator: ", "))")
    }
    return parts
  }
}

/// What a variant is: a fix (or the original) that the commands run, or a
/// variant that exists to test the harness (`Kind: test`), which `all`
/// leaves out.
public enum VariantKind: String, CaseIterable, Sendable {
  case variant
  case test
}

/// What a stress run holds a variant to, and why.
public struct StressPromise: Sendable {
  public let variant: String
  public let promises: VariantPromises
  /// Where the promises come from, in one line.
  public let basis: String

  public init(variant: String, promises: VariantPromises, basis: String) {
    self.variant = variant
    self.promises = promises
    self.basis = basis
  }

  /// RCU safety everywhere, pairing in `classes`: the shape of every claim
  /// the shipped variants make (tests use it to substitute a claim).
  public init(variant: String, classes: [StressClass], basis: String) {
    var held: [StressClass: Set<Promise>] = [:]
    for cls in StressClass.allCases {
      held[cls] = Set(Promise.safety).union(classes.contains(cls) ? Promise.pairing : [])
    }
    self.init(variant: variant, promises: VariantPromises(held: held, line: ""), basis: basis)
  }

  /// Classes in which the variant keeps every promise (`--classes
  /// promised` runs these; all classes when there are none).
  public var classes: [StressClass] {
    StressClass.allCases.filter { promises.held[$0] == Set(Promise.allCases) }
  }

  /// The variant's promises as its patch header states them (or the
  /// universal ones).
  public static func of(_ variant: Variant) -> StressPromise {
    let line = variant.promises
    guard !line.isEmpty else {
      return StressPromise(
        variant: variant.id, promises: .universal,
        basis: "no Promises: line, so every universal promise in every class")
    }
    do {
      return StressPromise(
        variant: variant.id, promises: try VariantPromises.parse(line),
        basis:
          "\(variant.patch.isEmpty ? (variant.base == "v5.11" ? "the original port" : "the \(variant.base) port") : variant.patch): Promises: \(line)"
      )
    } catch {
      // `patches apply` refuses a bad line, so only a hand-edited registry
      // gets here: hold the variant to everything and say why.
      return StressPromise(
        variant: variant.id, promises: .universal,
        basis: "unreadable Promises: line (\(error.description)); held to every promise")
    }
  }
}
