import ArgumentParser
import Foundation
import MMUNotifierHarness

extension PatchesCommand {
  /// `patches import FILE`: a kernel patch (git format-patch output, a saved
  /// mail or an mbox) becomes a variant patch of the matching base.
  struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Turn a kernel patch (format-patch output, a mail or an mbox) into a variant.",
      discussion: """
        The mail is read with git mailsplit and git mailinfo (quoted-printable and all). Hunks \
        on mm/mmu_notifier.c, include/linux/mmu_notifier.h, mm/oom_kill.c and mm/mmap.c are \
        mapped onto the base's port (CSupport/port/original for v5.11); hunks on any other \
        file are listed and dropped. Each hunk is placed by its context anywhere in the file, \
        nearest the line it names, with up to 2 context lines of fuzz at each end, and \
        reported with its offset and fuzz. Without --base the first base on which every hunk \
        places is used. The result is written as patches/NNNN-ID.patch in the strict form \
        `patches apply` reads (line numbers where the hunks landed, the port's own context) \
        and its variant is generated; rebuild to run it. A hunk that cannot be placed is \
        shown beside the port's nearest text and nothing is written (exit status 1). Save a \
        patch from lore with `curl -o fix.mbox https://lore.kernel.org/all/<Message-ID>/raw` \
        or `b4 am <Message-ID>`.
        """)

    @OptionGroup var location: RootOption

    @Argument(help: ArgumentHelp("The patch or mbox file.", valueName: "file"))
    var file: String

    @Option(
      name: .long,
      help: ArgumentHelp(
        "The variant id (default: from the subject).", valueName: "id"))
    var variant: String?

    @Option(
      name: .long,
      help: ArgumentHelp(
        "The base to place the hunks on: \(PatchImport.bases.map(\.name).joined(separator: ", ")) (default: the first on which every hunk places).",
        valueName: "base"))
    var base: String?

    @Flag(name: .long, help: "Check and print the patch it would write; write nothing.")
    var dryRun = false

    func run() throws {
      var result: PatchImportResult?
      var rootLine = ""
      try PatchesCommand.reportingErrors {
        let (root, line) = try location.resolve()
        rootLine = line
        result = try PatchImport.run(
          PatchImportRequest(
            file: PatchesCommand.absoluteURL(file), root: root, variant: variant, base: base,
            dryRun: dryRun))
      }
      guard let result else { return }
      print(rootLine)
      for line in result.lines { print(line) }
      if result.outcome == .cannotApply { throw ExitCode(1) }
    }
  }
}
