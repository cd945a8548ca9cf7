import Foundation

/// Finds the mmn-harness checkout the patch tooling works on.
public enum RepositoryRoot {
  /// Walks up from `start` (default: the current directory) to the first
  /// directory whose `Package.swift` mentions `mmn-harness`, or nil. There
  /// is deliberately no fallback to the checkout the binary was built from:
  /// run from elsewhere, the patch tools would write into a tree the user
  /// did not name.
  public static func locate(from start: URL? = nil) -> URL? {
    let startDirectory =
      start ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
    var directory = startDirectory.standardizedFileURL
    while true {
      if isHarnessCheckout(directory) { return directory }
      let parent = directory.deletingLastPathComponent().standardizedFileURL
      if parent.path == directory.path { return nil }
      directory = parent
    }
  }

  static func isHarnessCheckout(_ directory: URL) -> Bool {
    let manifest = directory.appendingPathComponent("Package.swift")
    guard let data = FileManager.default.contents(atPath: manifest.path),
      let text = String(data: data, encoding: .utf8)
    else { return false }
    return text.contains("mmn-harness")
  }
}
