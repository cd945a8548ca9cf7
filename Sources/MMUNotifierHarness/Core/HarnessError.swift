/// Bad input from a user: the message names what is valid.
public enum HarnessInputError: Error, CustomStringConvertible, Equatable {
  case unknown(kind: String, name: String, valid: [String])
  case invalid(String)

  public var description: String {
    switch self {
    case .unknown(let kind, let name, let valid):
      "unknown \(kind) '\(name)'; valid: \(valid.joined(separator: ", "))"
    case .invalid(let message):
      message
    }
  }
}

/// A kernel call that returned an errno.
public struct KernelError: Error, CustomStringConvertible, Equatable {
  public let errno: Int32
  public let operation: String
  public var description: String { "\(operation) failed with \(-errno)" }
}
