import CSupport

/// A core variant: a base port (`original` is v5.11's, `mainline` today's)
/// or one patched from `patches/` against either.
/// The table is generated from the patches, so adding a patch adds a variant
/// with no Swift change.
public struct Variant: Sendable, Hashable, CustomStringConvertible {
  public let index: UInt32
  public let id: String
  public let summary: String
  public let upstream: String
  public let seed: String
  public let patch: String
  /// The patch header's `Promises:` value ("" when it has none).
  public let promises: String
  /// `Kind: test` variants test the harness; `all` leaves them out.
  public let kind: VariantKind
  /// The port it is built from: "v5.11" or "mainline".
  public let base: String

  public var description: String { id }
  /// The id with its base, as outputs label columns: `mainline` (the base
  /// itself), `v5.11/original`, `v5.11/upstream-fix`.
  public var label: String { id == base ? id : "\(base)/\(id)" }
  public var isTest: Bool { kind == .test }

  /// Every variant compiled into this binary, `original` first, test
  /// variants included.
  public static let everything: [Variant] = (0..<mmn_variants_count()).map { i in
    Variant(
      index: i,
      id: String(cString: mmn_variant_id(i)),
      summary: String(cString: mmn_variant_summary(i)),
      upstream: String(cString: mmn_variant_upstream(i)),
      seed: String(cString: mmn_variant_seed(i)),
      patch: String(cString: mmn_variant_patch(i)),
      promises: String(cString: mmn_variant_promises(i)),
      kind: VariantKind(rawValue: String(cString: mmn_variant_kind(i))) ?? .variant,
      base: String(cString: mmn_variant_base(i)))
  }

  /// The bases a variant can be built on, in `--base` order.
  public static let bases = ["v5.11", "mainline"]

  /// What `all` means: every v5.11 variant but the test ones (today's
  /// matrix; `--base` picks the others).
  public static let all: [Variant] = everything.filter { !$0.isTest && $0.base == "v5.11" }

  /// Every variant but the test ones, on every base.
  public static let allBases: [Variant] = everything.filter { !$0.isTest }

  /// `--variant all` on one base (`v5.11`, `mainline`), or every base.
  public static func all(onBase base: String?) -> [Variant] {
    guard let base else { return allBases }
    return allBases.filter { $0.base == base }
  }

  /// The mainline base itself.
  public static var mainline: Variant? { everything.first { $0.id == "mainline" } }

  public static var original: Variant { all[0] }

  /// Looks a variant up by id, or throws an error that lists the valid ones.
  public static func named(_ id: String) throws(HarnessInputError) -> Variant {
    guard let v = everything.first(where: { $0.id == id }) else {
      throw HarnessInputError.unknown(kind: "variant", name: id, valid: (all + allBases.filter { $0.base != "v5.11" }).map(\.id))
    }
    return v
  }
}
