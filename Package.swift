// swift-tools-version: 6.1
//
// mmn-harness: the Linux mmu_notifier invalidate_range_start/end core, ported
// to userspace on liburcu, with every proposed fix built beside the original.
import PackageDescription

let package = Package(
  name: "mmn-harness",
  platforms: [.macOS(.v13)],
  products: [
    .library(name: "MMUNotifierHarness", targets: ["MMUNotifierHarness"]),
    // The whole CLI as a library: a driver author's own binary calls
    // `HarnessCLI.main(drivers:)` to get every command with its drivers.
    .library(name: "MMNHarnessCLI", targets: ["MMNHarnessCLI"]),
    .executable(name: "mmn-harness", targets: ["mmn-harness"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
  ],
  targets: [
    // liburcu: every flavour is linked; each is used from its own translation unit.
    .systemLibrary(
      name: "CURCU",
      path: "Sources/CURCU",
      pkgConfig: "liburcu-memb",
      providers: [.apt(["liburcu-dev"])]
    ),
    // libbsd: <bsd/sys/tree.h> carries the interval tree's red-black tree.
    .systemLibrary(
      name: "CLibBSD",
      path: "Sources/CLibBSD",
      pkgConfig: "libbsd",
      providers: [.apt(["libbsd-dev"])]
    ),
    // The C shim: kernel-compat layer, RCU flavours, the port (original and
    // every patched variant) and the C half of the harness.
    .target(
      name: "CSupport",
      dependencies: ["CURCU", "CLibBSD"],
      path: "CSupport",
      // The port's files are #included by the generated per-variant,
      // per-flavour translation units in port/build; never compiled alone.
      exclude: ["port/original", "port/mainline", "port/variants"],
      publicHeadersPath: "include",
      cSettings: [
        .define("_GNU_SOURCE"),
        // No unsafe build flags: a versioned dependency refuses them. The timed
        // loops carry their own alignment (aligned(64) in core_table.h),
        // `-c release` compiles C at -O2 (SwiftPM's default for release),
        // and `bench` warns when the C shim was built unoptimised.
      ],
      linkerSettings: [
        // pkg-config brings liburcu-memb; the other flavours are named here.
        .linkedLibrary("urcu-mb"),
        .linkedLibrary("urcu-qsbr"),
        .linkedLibrary("urcu-bp"),
        .linkedLibrary("urcu-common"),
        .linkedLibrary("pthread"),
      ]
    ),
    .target(
      name: "MMUNotifierHarness",
      dependencies: ["CSupport"],
      path: "Sources/MMUNotifierHarness"
    ),
    .target(
      name: "MMNHarnessCLI",
      dependencies: [
        "MMUNotifierHarness",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      path: "Sources/MMNHarnessCLI"
    ),
    .executableTarget(
      name: "mmn-harness",
      dependencies: ["MMNHarnessCLI"],
      path: "Sources/mmn-harness"
    ),
    .testTarget(
      name: "MMUNotifierHarnessTests",
      dependencies: ["MMUNotifierHarness", "CSupport"],
      path: "Tests/MMUNotifierHarnessTests"
    ),
  ],
  swiftLanguageModes: [.v6]
)
