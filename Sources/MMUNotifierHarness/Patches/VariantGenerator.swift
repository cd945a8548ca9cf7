// Computes, entirely in memory, every file that original/ + patches/ imply:
// the variant directories, the per-variant per-flavour wrapper translation
// units and the registry. `apply` writes this; `verify` compares disk with it.

/// Fixed paths and names of the port's layout (other code relies on them).
enum PortLayout {
  static let originalDirectory = "CSupport/port/original"
  /// The second base (docs/port.md, "The mainline base"); optional in a root.
  static let mainlineDirectory = "CSupport/port/mainline"
  static let variantsDirectory = "CSupport/port/variants"
  static let buildDirectory = "CSupport/port/build"
  static let patchesDirectory = "patches"
  static let registryPath = "CSupport/port/build/registry.c"
  static let metadataPath = "CSupport/port/build/variant_meta.c"
  /// liburcu flavours, in the order their wrappers are listed.
  static let rcuFlavors = ["memb", "mb", "qsbr", "bp"]
  /// The explore build of each variant: scheduling points compiled in, on
  /// the qsbr flavour (a switched-out reader can go offline; see
  /// CSupport/explore/sched.c). Its wrapper is `<symbol>__explore.c`.
  static let exploreUnit = "explore"
  /// Every wrapper a variant has: one per flavour, then its explore build.
  static let wrapperUnits = rcuFlavors + [exploreUnit]

  static let originalSummary = "the v5.11 core as released: no end after a failed start"
  static let originalUpstream = "v5.11 mm/mmu_notifier.c (blob 61ee40ed804e)"
  static let originalSeed = "-"
  /// v5.11 makes no pairing promise once a non-blockable start fails.
  static let originalPromises = "no-use-after-free, no-poison"

  static let mainlineSummary =
    "today's core: v6.15's mm/mmu_notifier.c (c2655835fd8c and 319561669a59 in) with v7.1's two-pass interval walk"
  static let mainlineUpstream =
    "mainline v6.15 mm/mmu_notifier.c + 7aba71dbc416 (v7.1; modelled on v3, <20260303133409.11609-2-thomas.hellstrom@linux.intel.com>)"
  /// Its hlist is upstream-fix's (c2655835fd8c) and its tree the same, so
  /// it starts from upstream-fix's line.
  static let mainlinePromises =
    "all in flaky-neighbour, itree-neighbour; all except no-missing-end, no-hang in itree-then-hlist-failure; all except no-end-without-start, no-warn in failing-start-with-end"

  static func variantDirectory(_ id: String) -> String { "\(variantsDirectory)/\(id)" }

  static func wrapperPath(symbol: String, flavor: String) -> String {
    "\(buildDirectory)/\(symbol)__\(flavor).c"
  }

  /// Port file names end up inside `#include "…"` and as paths on disk, so
  /// only a conservative character set is accepted.
  static func fileNameProblem(_ name: String) -> String? {
    let scalars = Array(name.unicodeScalars)
    func allowed(_ scalar: Unicode.Scalar, first: Bool) -> Bool {
      ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
        || scalar == "_" || (!first && (scalar == "." || scalar == "-"))
    }
    guard let first = scalars.first, allowed(first, first: true), scalars.count <= 128,
      scalars.dropFirst().allSatisfy({ allowed($0, first: false) })
    else {
      return "has a file name outside [A-Za-z0-9_][A-Za-z0-9._-]* (at most 128 characters)"
    }
    return nil
  }

  /// Byte-wise name order, independent of locale and Unicode collation.
  static func sortedByName(_ names: some Sequence<String>) -> [String] {
    names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
  }
}

/// Everything generated from original/ + patches/.
struct GeneratedPort: Sendable {
  struct Variant: Sendable {
    var id: String
    var symbol: String
    var summary: String
    var upstream: String
    var seed: String
    var promises: String = ""
    var kind: VariantKind = .variant
    /// The port the variant is built from (its patch's `Base:`).
    var base: PortBase = .v5_11
    /// `patches/NNNN-ID.patch`, or nil for a base itself.
    var patchPath: String?
    /// The variant's files: name -> bytes (for the original, original/ itself).
    var files: [String: [UInt8]]
    var notes: [String]
  }

  /// The original first, then one per patch in patch file name order.
  var variants: [Variant]
  /// Every generated file: repository-relative path -> exact bytes.
  var files: [String: [UInt8]]

  /// Builds the expected tree from the original's files and the patch files
  /// (`patches/NAME` -> bytes). Throws on the first invalid patch.
  static func compute(originalFiles: [String: [UInt8]], patchFiles: [String: [UInt8]]) throws
    -> GeneratedPort
  {
    try compute(baseFiles: [.v5_11: originalFiles], patchFiles: patchFiles)
  }

  /// Builds the expected tree from each base port's files (a root without
  /// `CSupport/port/mainline/` has only v5.11) and the patch files. The
  /// bases come first (`original`, then `mainline`), then one variant per
  /// patch in file name order.
  static func compute(baseFiles: [PortBase: [String: [UInt8]]], patchFiles: [String: [UInt8]])
    throws -> GeneratedPort
  {
    for base in PortBase.allCases {
      for name in (baseFiles[base] ?? [:]).keys {
        if let problem = PortLayout.fileNameProblem(name) {
          throw PatchError(.repositoryLayout, "\(base.directory)/\(name) \(problem)")
        }
      }
    }
    let originalFiles = baseFiles[.v5_11] ?? [:]
    var variants = [
      Variant(
        id: VariantIdentifier.original, symbol: VariantIdentifier.original,
        summary: PortLayout.originalSummary, upstream: PortLayout.originalUpstream,
        seed: PortLayout.originalSeed, promises: PortLayout.originalPromises, patchPath: nil,
        files: originalFiles, notes: [])
    ]
    if let mainlineFiles = baseFiles[.mainline] {
      variants.append(
        Variant(
          id: VariantIdentifier.mainline, symbol: VariantIdentifier.mainline,
          summary: PortLayout.mainlineSummary, upstream: PortLayout.mainlineUpstream,
          seed: "-", promises: PortLayout.mainlinePromises, base: .mainline, patchPath: nil,
          files: mainlineFiles, notes: []))
    }
    var patchPathByVariant: [String: String] = [:]
    for patchPath in PortLayout.sortedByName(patchFiles.keys) {
      guard let bytes = patchFiles[patchPath] else { continue }
      let patch = try VariantPatch.parse(bytes: bytes, relativePath: patchPath)
      let id = patch.header.variant
      if let other = patchPathByVariant[id] {
        throw PatchError(
          .variantCollision,
          "\(patchPath): variant id `\(id)` is already used by \(other); pick another id")
      }
      patchPathByVariant[id] = patchPath
      guard let base = baseFiles[patch.header.base] else {
        throw PatchError(
          .repositoryLayout,
          "\(patchPath): Base: \(patch.header.base.rawValue), but this checkout has no \(patch.header.base.directory)/"
        )
      }
      let (files, notes) = try patch.apply(to: base)
      variants.append(
        Variant(
          id: id, symbol: VariantIdentifier.symbol(for: id), summary: patch.header.summary,
          upstream: patch.header.upstream, seed: patch.header.seed,
          promises: patch.header.promises, kind: patch.header.kind, base: patch.header.base,
          patchPath: patchPath, files: files, notes: notes))
    }

    var generated: [String: [UInt8]] = [:]
    for variant in variants {
      if variant.patchPath != nil {
        for (name, bytes) in variant.files {
          generated["\(PortLayout.variantDirectory(variant.id))/\(name)"] = bytes
        }
      }
      for flavor in PortLayout.wrapperUnits {
        generated[PortLayout.wrapperPath(symbol: variant.symbol, flavor: flavor)] =
          PatchText.bytes(wrapperSource(for: variant, flavor: flavor))
      }
    }
    generated[PortLayout.registryPath] = PatchText.bytes(registrySource(for: variants))
    generated[PortLayout.metadataPath] = PatchText.bytes(metadataSource(for: variants))
    return GeneratedPort(variants: variants, files: generated)
  }

  /// The translation unit that builds one variant with one RCU flavour: it
  /// #includes the variant's `.c` files, so what is compiled is exactly the
  /// variant directory (original + patch) and nothing else.
  static func wrapperSource(for variant: Variant, flavor: String) -> String {
    let origin: String
    let sourceDirectory: String
    if let patchPath = variant.patchPath {
      origin = patchPath
      sourceDirectory = "../variants/\(variant.id)"
    } else {
      origin = variant.base.directory
      sourceDirectory =
        "../" + (variant.base.directory.split(separator: "/").last.map(String.init) ?? "original")
    }
    var text = "/* Generated by `mmn-harness patches apply` from \(origin); do not edit. */\n"
    text += "#define MMN_VARIANT_SYM \(variant.symbol)\n"
    if flavor == PortLayout.exploreUnit {
      // Scheduling points in, no benchmark lanes: only the explorer runs it.
      text += "#define MMN_EXPLORE 1\n"
      text += "#include \"../../rcu/flavor_qsbr.h\"\n"
      for name in PortLayout.sortedByName(variant.files.keys) where name.hasSuffix(".c") {
        text += "#include \"\(sourceDirectory)/\(name)\"\n"
      }
      text += "#include \"../../harness/core_table.h\"\n"
      return text
    }
    text += "#include \"../../rcu/flavor_\(flavor).h\"\n"
    // Inlined everywhere, the port's functions are copied into each of the
    // benchmark's lanes (core_table.h), so no lane shares a call site.
    text += "#pragma clang attribute push(__attribute__((always_inline)), apply_to = function)\n"
    for name in PortLayout.sortedByName(variant.files.keys) where name.hasSuffix(".c") {
      text += "#include \"\(sourceDirectory)/\(name)\"\n"
    }
    text += "#pragma clang attribute pop\n"
    text += "#include \"../../harness/core_table.h\"\n"
    return text
  }

  static func registrySource(for variants: [Variant]) -> String {
    var text = "/* Generated by `mmn-harness patches apply`; do not edit. */\n"
    text += "#include \"../../harness/registry.h\"\n\n"
    for variant in variants {
      text += "MMN_DECLARE_CORES(\(variant.symbol));\n"
    }
    text += "\nconst struct mmn_variant mmn_variants[] = {\n"
    for variant in variants {
      let fields = [
        PatchText.cStringLiteral(variant.id), variant.symbol,
        PatchText.cStringLiteral(variant.summary), PatchText.cStringLiteral(variant.upstream),
        PatchText.cStringLiteral(variant.seed), PatchText.cStringLiteral(variant.patchPath ?? ""),
        PatchText.cStringLiteral(variant.base.rawValue),
      ]
      text += "\tMMN_VARIANT(\(fields.joined(separator: ", "))),\n"
    }
    text += "};\n"
    text +=
      "const unsigned int mmn_variant_count = sizeof(mmn_variants) / sizeof(mmn_variants[0]);\n"
    return text
  }

  /// What the harness reads from each header beyond the registry's
  /// fields (`Promises:`, `Kind:`), in registry order. A file of its own so
  /// the registry's layout stays the lead's to change.
  static func metadataSource(for variants: [Variant]) -> String {
    var text = "/* Generated by `mmn-harness patches apply`; do not edit. */\n"
    text += "#include \"../../include/mmn_variant_meta.h\"\n\n"
    text += "static const char *const mmn_variant_kinds[] = {\n"
    for variant in variants { text += "\t\(PatchText.cStringLiteral(variant.kind.rawValue)),\n" }
    text += "};\n\n"
    text += "static const char *const mmn_variant_promise_lines[] = {\n"
    for variant in variants { text += "\t\(PatchText.cStringLiteral(variant.promises)),\n" }
    text += "};\n\n"
    text += "#define MMN_META_COUNT (sizeof(mmn_variant_kinds) / sizeof(mmn_variant_kinds[0]))\n\n"
    text += "const char *mmn_variant_kind(unsigned variant)\n{\n"
    text += "\treturn variant < MMN_META_COUNT ? mmn_variant_kinds[variant] : \"variant\";\n}\n\n"
    text += "const char *mmn_variant_promises(unsigned variant)\n{\n"
    text += "\treturn variant < MMN_META_COUNT ? mmn_variant_promise_lines[variant] : \"\";\n}\n"
    return text
  }
}
