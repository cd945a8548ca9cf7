import MMNHarnessCLI
import PageTableMirror

/// Every mmn-harness command, with this package's driver registered:
/// `swift run driver-harness compare --driver page-table-mirror`.
@main
enum Entry {
  static func main() { HarnessCLI.main(drivers: [PageTableMirror.registration]) }
}
