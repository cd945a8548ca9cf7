import Foundation

/// Finds the mmn-harness checkout the patch tooling works on.
public enum RepositoryRoot {
  /// Walks up from `start` (default: the current directory) to the first
  /// directory whose `Package.swift` mentions `mmn-harness`. If there is
  /// none, falls back to the checkout this file was compiled from (three
  /// levels above its directory: Sources/MMUNotifierHarness/Patches), which
  /// helps when the binary is run from elsewhere on a developer's machine.
  public static func locate(from start: URL? = nil) -> URL? {
    let startDirectory =
      start ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
    var directory = startDirectory.standardizedFileURL
    while true {
      if isHarnessCheckout(directory) { return directory }
      let parent = directory.deletingLastPathComponent().standardizedFileURL
      if parent.path == directory.path { break }
      directory = parent
    }
    var compiledFrom = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    for _ in 0..<3 { compiledFrom = compiledFrom.deletingLastPathComponent() }
    compiledFrom = compiledFrom.standardizedFileURL
    return isHarnessCheckout(compiledFrom) ? compiledFrom : nil
  }

  static func isHarnessCheckout(_ directory: URL) -> Bool {
    let manifest = directory.appendingPathComponent("Package.swift")
    guard let data = FileManager.default.contents(atPath: manifest.path),
      let text = String(data: data, encoding: .utf8)
    else { return false }
    return text.contains("mmn-harness")
  }
}
