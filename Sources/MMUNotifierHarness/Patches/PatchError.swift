// Errors of the variant-patch tooling. Every message is one line, because the
// CLI prints exactly one line on stderr for bad input.

/// Why a patch, or the port layout around it, was refused.
///
/// `description` is a single line that names the patch file (and line, where
/// there is one) so that a user can go straight to the problem.
public struct PatchError: Error, CustomStringConvertible, Sendable, Equatable {
  /// What kind of refusal this is; tests and callers branch on it, users read `description`.
  public enum Kind: String, Sendable, Equatable {
    /// The patch file does not parse as header + free text + unified diff.
    case malformedPatch
    /// A required header key is missing, repeated or has an invalid value.
    case invalidHeader
    /// The patch file's name is not `NNNN-<Variant>.patch`.
    case invalidFileName
    /// A diff path is absolute, contains `..`, or lies outside `CSupport/port/original/`.
    case forbiddenPath
    /// A hunk's context or removed lines do not match the original.
    case hunkDoesNotApply
    /// Two patch files declare the same variant id.
    case variantCollision
    /// The patch deletes a file, which variants may not do.
    case fileDeletion
    /// `apply` was given a file that is not directly inside `patches/`.
    case patchOutsidePatchesDirectory
    /// The repository does not have the expected layout (no original port, …).
    case repositoryLayout
    /// Reading or writing a file failed.
    case fileSystem
  }

  public let kind: Kind
  public let message: String

  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    // A multi-line message would break the one-line-on-stderr contract.
    self.message = PatchText.singleLine(message)
  }

  public var description: String { message }
}
