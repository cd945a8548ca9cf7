import MMNHarnessCLI
import PageTableMirror

/// Every mmn-harness command, with this package's driver and scenario
/// registered: `swift run driver-harness compare --driver page-table-mirror`
/// casts the driver in the built-in scenarios; `compare --scenario
/// mirror-before-refusal` runs the package's own.
@main
enum Entry {
  static func main() {
    HarnessCLI.main(drivers: [PageTableMirror.registration], scenarios: [MirrorBeforeRefusal()])
  }
}
