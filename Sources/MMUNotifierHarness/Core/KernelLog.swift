import CSupport

/// One line (or block) of the mm's kernel log.
public struct KernelLogRecord: Sendable, Equatable {
  public enum Kind: Int32, Sendable, Codable {
    case info = 0
    case warning = 1
    case bug = 2
    case hung = 3
    case lockdep = 4
    case error = 5
    /// `BUG: KASAN: use-after-free` (MMN_LOG_KASAN).
    case kasan = 6
  }

  public let kind: Kind
  public let pid: Int32
  public let cpu: Int32
  public let comm: String
  public let sequence: UInt64
  /// Nanoseconds since the mm was created.
  public let time: UInt64
  public let text: String

  /// The record as dmesg prints it: every line stamped, WARNs cut out.
  public var kernelForm: String {
    let stamp =
      "[\(Self.pad(time / 1_000_000_000, 5)).\(Self.zeroPad((time / 1000) % 1_000_000, 6))]"
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    switch kind {
    case .warning:
      lines.insert("------------[ cut here ]------------", at: 0)
      lines.append("---[ end trace ]---")
    case .bug where text.hasPrefix("kernel BUG"):
      lines.insert("------------[ cut here ]------------", at: 0)
    default: break
    }
    return lines.map { "\(stamp) \($0)" }.joined(separator: "\n")
  }

  private static func pad(_ v: UInt64, _ width: Int) -> String {
    let s = String(v)
    return String(repeating: " ", count: max(0, width - s.count)) + s
  }
  private static func zeroPad(_ v: UInt64, _ width: Int) -> String {
    let s = String(v)
    return String(repeating: "0", count: max(0, width - s.count)) + s
  }
}

/// Counts of each kind of log record an mm produced.
public struct KernelLogCounts: Sendable, Equatable, Codable {
  public var info: UInt64 = 0
  public var warnings: UInt64 = 0
  public var bugs: UInt64 = 0
  public var hung: UInt64 = 0
  public var lockdep: UInt64 = 0
  public var errors: UInt64 = 0
  public var dropped: UInt64 = 0
  /// KASAN-style use-after-free reports (MMN_LOG_KASAN records).
  public var useAfterFree: UInt64 = 0
}
