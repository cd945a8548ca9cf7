#if canImport(Glibc)
  import Glibc
#endif

/// A Swift driver that does nothing: what the bench's Swift rows time is
/// the crossing from the C core into Swift and back, nothing else.
public final class NoopNotifier: Notifier {
  public let callbacks: NotifierCallbacks = .startAndEnd
  public let symbol: String

  public init(symbol: String = "bench_noop_notifier") { self.symbol = symbol }

  public static let entryPoints: NotifierEntryPoints? = NotifierEntryPoints(
    start: { NotifierEntryPoints.start(NoopNotifier.self, $0, $1) },
    end: { NotifierEntryPoints.end(NoopNotifier.self, $0, $1) })

  public func invalidateRangeStart(_ range: NotifierRange) -> Int32 { 0 }
  public func invalidateRangeEnd(_ range: NotifierRange) {}
}

/// A start-only Swift driver that refuses every non-blockable start, the
/// Swift twin of `mmn_bench_failing_ops` (and of nouveau's hlist notifier).
public final class RefusingNotifier: Notifier {
  public let callbacks: NotifierCallbacks = [.invalidateRangeStart]
  public let symbol: String

  public init(symbol: String = "bench_refusing_notifier") { self.symbol = symbol }

  public static let entryPoints: NotifierEntryPoints? = NotifierEntryPoints(
    start: { NotifierEntryPoints.start(RefusingNotifier.self, $0, $1) },
    end: { NotifierEntryPoints.end(RefusingNotifier.self, $0, $1) })

  public func invalidateRangeStart(_ range: NotifierRange) -> Int32 {
    range.isBlockable ? 0 : -EAGAIN
  }
}
