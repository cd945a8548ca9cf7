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

  public var description: String { id }

  /// Every variant compiled into this binary, `original` first, the
  /// test variants (`test-…`, made to break one promise each) included.
  public static let compiled: [Variant] = (0..<mmn_variants_count()).map { i in
    Variant(
      index: i,
      id: String(cString: mmn_variant_id(i)),
      summary: String(cString: mmn_variant_summary(i)),
      upstream: String(cString: mmn_variant_upstream(i)),
      seed: String(cString: mmn_variant_seed(i)),
      patch: String(cString: mmn_variant_patch(i)))
  }

  /// What `all` means everywhere: every variant but the test variants.
  public static let all: [Variant] = compiled.filter { !$0.isTest }

  /// A variant whose id starts with `test-` exists to check the checkers
  /// (a use after free, a double end): run only when named.
  public var isTest: Bool { id.hasPrefix("test-") }

  public static var original: Variant { all[0] }

  /// Looks a variant up by id, or throws an error that lists the valid ones.
  public static func named(_ id: String) throws(HarnessInputError) -> Variant {
    guard let v = compiled.first(where: { $0.id == id }) else {
      throw HarnessInputError.unknown(kind: "variant", name: id, valid: compiled.map(\.id))
    }
    return v
  }
}
