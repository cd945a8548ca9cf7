import Foundation
import MMUNotifierHarness
import Testing

// README-EXAMPLE-BEGIN
/// A driver that keeps shadow mappings and must not fault them in while an
/// invalidation is in flight: the pattern KVM and SGI GRU follow.
final class ShadowPager: Notifier, @unchecked Sendable {
  let callbacks: NotifierCallbacks = [.invalidateRangeStart, .invalidateRangeEnd]
  let symbol = "shadow_pager"
  private let lock: KernelSpinlock
  private var inFlight = 0

  init(mm: MM) { lock = KernelSpinlock(mm, name: "&pager->lock") }

  func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
    lock.withLock { inFlight += 1 }
    return 0  // or -EAGAIN, only when !range.isBlockable
  }

  func invalidateRangeEnd(_ range: NotifierRange) {
    lock.withLock { inFlight -= 1 }
  }

  var isQuiet: Bool { lock.withLock { inFlight == 0 } }
}

/// OOM-reap an mm that has the pager beside a notifier refusing every
/// non-blockable start, under one core variant; true if the pager ends quiet.
func pagerEndsQuiet(under variant: Variant) -> Bool {
  KernelThread.run(name: "oom_reaper") {
    let mm = MM(variant: variant, flavor: .memb, vmas: 4)
    let pager = ShadowPager(mm: mm)
    let pagerSubscription = try! mm.register(pager)
    // Registered last, so first in the walk (newest first): it refuses.
    let neighbour = try! mm.register(FailingNotifier())
    mm.oomReap()
    print(mm.ledgerTotals, mm.log.map(\.kernelForm).joined(separator: "\n"))
    neighbour.unregister()
    pagerSubscription.unregister()
    return pager.isQuiet
  }
}
// README-EXAMPLE-END

@Suite("The README's example")
struct ReadmeExampleTests {
  @Test func exampleRunsAndShowsTheBug() throws {
    let fix = try Variant.named("upstream-fix")
    let originalQuiet = pagerEndsQuiet(under: .original)
    let fixQuiet = pagerEndsQuiet(under: fix)
    #expect(!originalQuiet)
    #expect(fixQuiet)
  }

  /// The README shows exactly the code above (so the example compiles).
  @Test func readmeCarriesTheExample() throws {
    let here = URL(fileURLWithPath: #filePath)
    let root = here.deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
    let source = try String(contentsOf: here, encoding: .utf8)
    let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
    let begin = try #require(source.range(of: "// README-EXAMPLE-BEGIN\n"))
    let end = try #require(source.range(of: "// README-EXAMPLE-END"))
    let example = String(source[begin.upperBound..<end.lowerBound])
    #expect(readme.contains(example))
  }

  /// The compiled variants are exactly original/ plus each patch.
  @Test func patchesVerifyOnThisRepository() throws {
    let root = try #require(RepositoryRoot.locate(from: URL(fileURLWithPath: #filePath)))
    #expect(try PatchSet.verify(root: root).isEmpty)
  }
}
