import MMNHarnessCLI

/// The binary is the library's CLI with the built-in drivers only; a
/// driver author's package calls `HarnessCLI.main(drivers:)` the same way.
@main
enum Entry {
  static func main() { HarnessCLI.main() }
}
