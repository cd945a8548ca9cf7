import Foundation
import MMUNotifierHarness

/// A binary built before patches/ last changed knows an older set of
/// variants (an edited patch "is unknown"): say so once, on stderr, before
/// the command runs. Children the command spawns inherit the mark and stay
/// quiet.
enum StaleBuild {
  static let mark = "MMN_HARNESS_STALE_CHECKED"

  static func warnIfPatchesAreNewer() {
    guard getenv(mark) == nil else { return }
    setenv(mark, "1", 1)
    // `patches apply` is how patches/ reaches the sources: no advice there.
    guard CommandLine.arguments.dropFirst().first != "patches",
      let root = RepositoryRoot.locate(),
      let binary = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"),
      binary.hasPrefix(root.appendingPathComponent(".build").path + "/"),
      let built = modified(binary),
      let (newest, changed) = newestPatch(root.appendingPathComponent("patches")),
      newest > built
    else { return }
    FileHandle.standardError.write(
      Data(
        "mmn-harness: patches/\(changed) changed after this binary was built: rebuild (swift run mmn-harness patches apply && swift build -c release)\n"
          .utf8))
  }

  /// For an unknown variant that has a patch in the checkout: the binary
  /// predates it, and the one line says to rebuild.
  static func hint(for error: HarnessInputError) -> String {
    guard case .unknown("variant", let name, _) = error, let root = RepositoryRoot.locate(),
      let names = try? FileManager.default.contentsOfDirectory(
        atPath: root.appendingPathComponent("patches").path),
      let patch = names.sorted().first(where: { $0.hasSuffix("-\(name).patch") })
    else { return "" }
    return
      " (patches/\(patch) is not in this binary: rebuild with `mmn-harness patches apply patches/\(patch)` and `swift build -c release`)"
  }

  static func modified(_ path: String) -> Date? {
    (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
  }

  /// The newest modification under `directory` (the directory itself
  /// counts: a deleted patch changes only it) and what it was.
  static func newestPatch(_ directory: URL) -> (Date, String)? {
    guard let own = modified(directory.path) else { return nil }
    var newest = (own, "")
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    for name in names {
      if let date = modified(directory.appendingPathComponent(name).path), date > newest.0 {
        newest = (date, name)
      }
    }
    return newest
  }
}
