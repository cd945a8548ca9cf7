import CSupport

/// A core variant: the original v5.11 port or one patched from `patches/`.
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

  public var description: String { id }
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
      kind: VariantKind(rawValue: String(cString: mmn_variant_kind(i))) ?? .variant)
  }

  /// What `all` means: every variant but the test ones.
  public static let all: [Variant] = everything.filter { !$0.isTest }

  public static var original: Variant { all[0] }

  /// Looks a variant up by id, or throws an error that lists the valid ones.
  public static func named(_ id: String) throws(HarnessInputError) -> Variant {
    guard let v = everything.first(where: { $0.id == id }) else {
      throw HarnessInputError.unknown(kind: "variant", name: id, valid: all.map(\.id))
    }
    return v
  }
}
