/// A small ordered JSON writer: outputs keep their keys in the documented
/// order, which `JSONEncoder` does not promise.
public indirect enum JSONValue: Sendable, Equatable {
  case null
  case bool(Bool)
  case int(Int64)
  case double(Double)
  case string(String)
  case array([JSONValue])
  case object([(String, JSONValue)])

  public static func == (a: JSONValue, b: JSONValue) -> Bool { a.rendered() == b.rendered() }

  public func adding(_ key: String, _ value: JSONValue) -> JSONValue {
    guard case .object(let fields) = self else { return self }
    return .object(fields + [(key, value)])
  }

  /// Compact when `indent` is nil, else pretty-printed.
  public func rendered(indent: Int? = 2) -> String {
    var out = ""
    write(into: &out, level: 0, indent: indent)
    return out
  }

  private func write(into out: inout String, level: Int, indent: Int?) {
    let nl = indent == nil ? "" : "\n"
    let pad = { (l: Int) in indent.map { String(repeating: " ", count: $0 * l) } ?? "" }
    switch self {
    case .null: out += "null"
    case .bool(let b): out += b ? "true" : "false"
    case .int(let i): out += String(i)
    case .double(let d):
      out += d.isFinite ? String(format3(d)) : "null"
    case .string(let s): out += Self.quote(s)
    case .array(let items):
      if items.isEmpty {
        out += "[]"
        return
      }
      out += "[" + nl
      for (i, item) in items.enumerated() {
        out += pad(level + 1)
        item.write(into: &out, level: level + 1, indent: indent)
        out += (i + 1 < items.count ? "," : "") + nl
      }
      out += pad(level) + "]"
    case .object(let fields):
      if fields.isEmpty {
        out += "{}"
        return
      }
      out += "{" + nl
      for (i, (k, v)) in fields.enumerated() {
        out += pad(level + 1) + Self.quote(k) + (indent == nil ? ":" : ": ")
        v.write(into: &out, level: level + 1, indent: indent)
        out += (i + 1 < fields.count ? "," : "") + nl
      }
      out += pad(level) + "}"
    }
  }

  /// Three decimals is as much as a noisy measurement deserves.
  private func format3(_ d: Double) -> String {
    let scaled = (d * 1000).rounded() / 1000
    if scaled == scaled.rounded(), abs(scaled) < 1e15 { return String(Int64(scaled)) }
    return String(scaled)
  }

  static func quote(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
      switch u {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if u.value < 0x20 {
          let hex = String(u.value, radix: 16)
          out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } else {
          out.unicodeScalars.append(u)
        }
      }
    }
    return out + "\""
  }
}
