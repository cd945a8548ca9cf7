// swift-tools-version: 6.1
//
// A driver author's package: its own mmu_notifier driver, the harness as a
// versioned git dependency, the harness's whole CLI with the driver
// registered (`swift run driver-harness compare --driver page-table-mirror`)
// and its own Swift Testing suite.
import Foundation
import PackageDescription

// Where the harness comes from: MMN_HARNESS_URL (CI points it at a tagged
// local bare clone), else the checkout this example sits in, which must
// then carry a tag 0.1.0 or later.
let harnessURL =
  ProcessInfo.processInfo.environment["MMN_HARNESS_URL"]
  ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .deletingLastPathComponent().deletingLastPathComponent().absoluteString

let package = Package(
  name: "DriverExample",
  platforms: [.macOS(.v13)],
  dependencies: [
    .package(url: harnessURL, from: "0.1.0")
  ],
  targets: [
    // The driver: what a real package would ship.
    .target(
      name: "PageTableMirror",
      dependencies: [.product(name: "MMUNotifierHarness", package: "mmn-harness")]
    ),
    // The harness's CLI with the driver registered.
    .executableTarget(
      name: "driver-harness",
      dependencies: [
        "PageTableMirror",
        .product(name: "MMNHarnessCLI", package: "mmn-harness"),
      ]
    ),
    .testTarget(
      name: "PageTableMirrorTests",
      dependencies: [
        "PageTableMirror",
        .product(name: "MMUNotifierHarness", package: "mmn-harness"),
      ]
    ),
  ],
  swiftLanguageModes: [.v6]
)
