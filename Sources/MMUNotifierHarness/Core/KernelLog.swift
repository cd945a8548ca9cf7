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
    /// `BUG: KASAN: use-after-free`: a freed object was reached.
    case kasan = 6
    /// might_sleep's "BUG: sleeping function called from invalid context":
    /// a non-fatal splat, not a `BUG_ON`.
    case mightSleep = 7
  }

  public let kind: Kind
  public let pid: Int32
  public let cpu: Int32
  public let comm: String
  public let sequence: UInt64
  /// Nanoseconds since the mm was created.
  public let time: UInt64
  public let text: String
  /// Logged after a bounded wait expired: the run was already tainted.
  public var tainted: Bool = false

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
    case .kasan:
      let rule = String(repeating: "=", count: 66)
      lines.insert(rule, at: 0)
      lines.append(rule)
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
  /// KASAN-style reports (and their repeats) of a freed object reached.
  public var useAfterFree: UInt64 = 0
  /// might_sleep splats ("sleeping function called from invalid context").
  public var mightSleep: UInt64 = 0
  /// Records logged after the run was tainted (a bounded wait expired).
  public var afterTaint: UInt64 = 0
}
