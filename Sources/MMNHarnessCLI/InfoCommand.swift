import ArgumentParser
import Foundation
import MMUNotifierHarness

struct Info: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show liburcu, the RCU flavours and the core variants this binary carries.")

  func run() throws {
    let version = PackageConfig.modversion("liburcu") ?? "unknown (pkg-config not found)"
    print("liburcu:        \(version) (\(SRCU.libraryPath))")
    print(
      "flavours:       \(RCUFlavor.allCases.map(\.rawValue).joined(separator: " ")) (default memb)")
    print(
      "sys_membarrier: \(SRCU.sysMembarrierWorks ? "works" : "not available (memb falls back to mb-style barriers)")"
    )
    print("variants:       \(Variant.all.map(\.id).joined(separator: " "))")
    print(
      "bases:          \(Variant.bases.joined(separator: " ")) (--base; mainline's variants: \(Variant.all(onBase: "mainline").map(\.id).joined(separator: " ")))"
    )
    print("cpus:           \(ProcessInfo.processInfo.activeProcessorCount)")
  }
}

enum PackageConfig {
  /// `pkg-config --modversion NAME`, for the version liburcu was built as.
  static func modversion(_ name: String) -> String? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["pkg-config", "--modversion", name]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return nil }
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
  }
}
