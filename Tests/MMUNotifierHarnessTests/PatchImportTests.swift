import Foundation
import Testing

@testable import MMUNotifierHarness

/// `patches import`: kernel-form patches this project writes itself (a
/// `git format-patch` file, a quoted-printable mail, an mbox of two) become
/// variants of a temporary copy of the port. Nothing here writes into the
/// checkout.
@Suite("patches import")
struct PatchImportTests {
  // MARK: - Fixtures: kernel-form patches written for these tests

  static let port = FakeCheckout.realRoot.appendingPathComponent("CSupport/port/original")

  /// The port file's lines, to find where a hunk must land.
  static func portLines(_ name: String) throws -> [String] {
    try String(contentsOf: port.appendingPathComponent(name), encoding: .utf8)
      .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
  }

  /// 1-based line of the first port line equal to `text`.
  static func line(of text: String, in name: String) throws -> Int {
    try #require(try portLines(name).firstIndex(of: text)).advanced(by: 1)
  }

  static func formatPatch(subject: String, messageID: String, body: String, diff: String) -> String
  {
    """
    From 8d1c0ffee0ddba11c0de5eedfacade0123456789 Mon Sep 17 00:00:00 2001
    From: Harness Tester <tester@example.org>
    Date: Tue, 1 Dec 2026 10:00:00 +0000
    Subject: [PATCH v3] \(subject)
    Message-Id: \(messageID)

    \(body)
    ---
     mm/mmu_notifier.c | 2 ++

    \(diff)--\u{20}
    2.39.5

    """
  }

  /// A start that fails warns once more, in mn_hlist_invalidate_range_start:
  /// the header names kernel line 501 (where v5.11 has it), the port has it
  /// elsewhere, so it lands at an offset with no fuzz.
  static let warnDiff = """
    diff --git a/mm/mmu_notifier.c b/mm/mmu_notifier.c
    index 61ee40ed804e..0123456789ab 100644
    --- a/mm/mmu_notifier.c
    +++ b/mm/mmu_notifier.c
    @@ -501,6 +501,7 @@ static int mn_hlist_invalidate_range_start(
     \t\t\t\t\t\t"");
     \t\t\t\tWARN_ON(mmu_notifier_range_blockable(range) ||
     \t\t\t\t\t_ret != -EAGAIN);
    +\t\t\t\tWARN_ON(ops->invalidate_range_end);
     \t\t\t\tret = _ret;
     \t\t\t}
     \t\t}

    """

  /// The interval-remove fix (0008) in kernel form, as a quoted-printable
  /// mail: its first hunk's leading context is the kernel's
  /// (`EXPORT_SYMBOL_GPL(mmu_interval_notifier_insert_locked);`, which the
  /// port does not have), so it needs fuzz 2; `=3D` and a soft line break
  /// must be decoded by git mailinfo.
  static let intervalFixMail = """
    From mboxrd@z Thu Jan  1 00:00:00 1970
    From: Harness Tester <tester@example.org>
    To: linux-mm@kvack.org
    Subject: [PATCH] mm/mmu_notifier.c: Read the seq under the lock in
     mmu_interval_notifier_remove()
    Date: Tue, 1 Dec 2026 10:00:00 +0000
    Message-Id: <20261201100000.2-tester@example.org>
    MIME-Version: 1.0
    Content-Type: text/plain; charset="UTF-8"
    Content-Transfer-Encoding: quoted-printable

    mn_itree_inv_end moves the seq before it unlinks the deferred entry; a
    remover that reads the seq without the lock can return too early and =
    free
    what the walk still unlinks.

    Fixes: 99cb252f5e68 ("mm/mmu_notifier: add an interval tree notifier")
    ---
     mm/mmu_notifier.c | 19 ++++++++++++++++++-

    diff --git a/mm/mmu_notifier.c b/mm/mmu_notifier.c
    --- a/mm/mmu_notifier.c
    +++ b/mm/mmu_notifier.c
    @@ -1036,6 +1036,23 @@ int mmu_interval_notifier_insert_locked(
     }
     EXPORT_SYMBOL_GPL(mmu_interval_notifier_insert_locked);
    =20
    +/*
    + * 319561669a59 (v5.18): the waiter reads invalidate_seq under the lock
    + * mn_itree_inv_end holds while it moves the seq on and drains the deferr=
    ed
    + * list, so it can no longer see the new seq before its entry is unlinked.
    + */
    +static bool
    +mmu_interval_seq_released(struct mmu_notifier_subscriptions *subscriptions,
    +\t\t\t  unsigned long seq)
    +{
    +\tbool ret;
    +
    +\tspin_lock(&subscriptions->lock);
    +\tret =3D subscriptions->invalidate_seq !=3D seq;
    +\tspin_unlock(&subscriptions->lock);
    +\treturn ret;
    +}
    +
     /**
      * mmu_interval_notifier_remove - Remove a interval notifier
      * @interval_sub: Interval subscription to unregister
    @@ -1086,7 +1103,7 @@ void mmu_interval_notifier_remove(struct mmu_interval_notifier *interval_sub)
     \tlock_map_release(&__mmu_notifier_invalidate_range_start_map);
     \tif (seq)
     \t\twait_event(subscriptions->wq,
    -\t\t\t   READ_ONCE(subscriptions->invalidate_seq) !=3D seq);
    +\t\t\t   mmu_interval_seq_released(subscriptions, seq));
    =20
     \t/* pairs with mmgrab in mmu_interval_notifier_insert() */
     \tmmdrop(mm);
    --=20
    2.39.5

    """

  static func write(_ text: String, in scratch: Scratch, as name: String) throws -> URL {
    let url = scratch.url.appendingPathComponent(name)
    try Data(text.utf8).write(to: url)
    return url
  }

  static func importing(
    _ file: URL, into repo: FakeCheckout, variant: String? = nil, base: String? = nil,
    dryRun: Bool = false
  ) throws -> PatchImportResult {
    try PatchImport.run(
      PatchImportRequest(file: file, root: repo.url, variant: variant, base: base, dryRun: dryRun))
  }

  // MARK: - Placing hunks

  @Test("A format-patch hunk lands at an offset, the written patch applies strictly")
  func formatPatchAtAnOffset() throws {
    let repo = try FakeCheckout()
    let mails = try Scratch()
    let file = try Self.write(
      Self.formatPatch(
        subject: "mm/mmu_notifiers: Warn when a failing start has an end",
        messageID: "<20261201100000.1-tester@example.org>",
        body:
          "A start that can fail must not come with an end.\n\nSigned-off-by: Harness Tester <tester@example.org>",
        diff: Self.warnDiff), in: mails, as: "0001-warn.patch")
    let result = try Self.importing(file, into: repo)
    #expect(result.outcome == .imported, "\(result.lines)")
    #expect(result.variant == "warn-when-a-failing-start-has-an-end")
    #expect(result.base.name == "v5.11")
    let landed =
      try Self.line(of: "\t\t\t\t\t\t\"\");", in: "mmu_notifier.c")
    #expect(
      result.lines.contains(
        "hunk 1/1 mm/mmu_notifier.c: applied at \(landed) (offset \(landed - 501), fuzz 0)"),
      "\(result.lines)")
    let path = try #require(result.patchPath)
    #expect(path == "patches/0001-warn-when-a-failing-start-has-an-end.patch")
    let text = try String(contentsOf: repo.url.appendingPathComponent(path), encoding: .utf8)
    #expect(text.hasPrefix("Variant: warn-when-a-failing-start-has-an-end\n"))
    #expect(
      text.contains(
        "Upstream: <20261201100000.1-tester@example.org>; commit 8d1c0ffee0dd\n"))
    #expect(
      text.contains(
        "Seed: -\nSummary: mm/mmu_notifiers: Warn when a failing start has an end\nKind: variant\n\n"
      ))
    let header = text.components(separatedBy: "\n\n")[0]
    #expect(!header.contains("Base:"), "v5.11 needs no Base: line")
    #expect(!header.contains("Promises:"), "a Promises: line is left for the user")
    #expect(text.contains("A start that can fail must not come with an end."))
    #expect(text.contains("@@ -\(landed),6 +\(landed),7 @@"), "line numbers where it landed")
    #expect(text.contains("--- a/CSupport/port/original/mmu_notifier.c"))
    // the strict generator: applies with no offset note, the tree verifies
    let listed = try PatchSet.list(root: repo.url)
    let variant = try #require(listed.first { $0.variant == result.variant })
    #expect(variant.notes.isEmpty, "\(variant.notes)")
    #expect(try PatchSet.verify(root: repo.url).isEmpty)
    let generated = try String(
      contentsOf: repo.url.appendingPathComponent(
        "CSupport/port/variants/\(result.variant)/mmu_notifier.c"), encoding: .utf8)
    #expect(generated.contains("\t\t\t\tWARN_ON(ops->invalidate_range_end);\n\t\t\t\tret = _ret;"))
  }

  @Test("The command: a format-patch file imported, its patch and variant written, exit 0")
  func commandImports() throws {
    let repo = try FakeCheckout()
    let mails = try Scratch()
    let file = try Self.write(
      Self.formatPatch(
        subject: "mm/mmu_notifiers: Warn when a failing start has an end",
        messageID: "<13@example.org>", body: "Through the binary.", diff: Self.warnDiff),
      in: mails, as: "0001-warn.patch")
    let result = try HarnessCLI.run(
      ["patches", "import", file.path, "--variant", "warn-import", "--root", repo.url.path],
      in: repo.url)
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.isEmpty, "\(result.stderr)")
    #expect(result.stdout.hasPrefix("root: \(repo.url.path) (--root)\n"))
    #expect(result.stdout.contains("\nwrote patches/0001-warn-import.patch\n"))
    let verify = try HarnessCLI.run(["patches", "verify", "--root", repo.url.path], in: repo.url)
    #expect(verify.status == 0, "\(verify.stdout)")
    #expect(verify.stdout.contains("ok  warn-import  patches/0001-warn-import.patch"))
  }

  /// A second base on disk (here a made-up one where the hunk's context
  /// differs from v5.11's): the hunk places only there, so that base is
  /// used and named in a `Base:` line.
  @Test("Without --base: the first base on which every hunk places, named in Base:")
  func baseIsChosenByWhereTheHunksPlace() throws {
    let repo = try FakeCheckout()
    let mails = try Scratch()
    let fm = FileManager.default
    let mainline = repo.url.appendingPathComponent("CSupport/port/mainline")
    try fm.copyItem(at: repo.url.appendingPathComponent("CSupport/port/original"), to: mainline)
    let source = mainline.appendingPathComponent("mmu_notifier.c")
    let text = try String(contentsOf: source, encoding: .utf8)
    try Data(
      text.replacingOccurrences(
        of: "\t\t\t\tret = _ret;\n", with: "\t\t\t\tret = _ret; /* mainline */\n"
      ).utf8
    ).write(to: source)
    let diff = Self.warnDiff.replacingOccurrences(
      of: " \t\t\t\tret = _ret;\n", with: " \t\t\t\tret = _ret; /* mainline */\n")
    let file = try Self.write(
      Self.formatPatch(
        subject: "mm/mmu_notifiers: Warn on mainline", messageID: "<14@example.org>",
        body: "x", diff: diff), in: mails, as: "mainline.patch")
    let result = try Self.importing(file, into: repo, dryRun: true)
    #expect(result.outcome == .dryRun, "\(result.lines)")
    #expect(result.base.name == "mainline")
    #expect(
      result.lines.contains(
        "base v5.11 (CSupport/port/original): 1 of 1 hunk(s) do not place"), "\(result.lines)")
    #expect(
      result.lines.contains(
        "base: mainline (CSupport/port/mainline): every port hunk places"), "\(result.lines)")
    let patch = try #require(result.patchText)
    #expect(patch.contains("Kind: variant\nBase: mainline\n\n"))
    #expect(patch.contains("--- a/CSupport/port/mainline/mmu_notifier.c"))
    // --base v5.11 holds it to v5.11, where it does not place
    let held = try Self.importing(file, into: repo, base: "v5.11", dryRun: true)
    #expect(held.outcome == .cannotApply)
    #expect(held.base.name == "v5.11")
  }

  @Test("A quoted-printable mail: decoded by git, placed with fuzz 2, the port's context written")
  func quotedPrintableMailWithFuzz() throws {
    let repo = try FakeCheckout()
    let mails = try Scratch()
    let file = try Self.write(Self.intervalFixMail, in: mails, as: "fix.mbox")
    let result = try Self.importing(file, into: repo, variant: "remove-fix-import")
    #expect(result.outcome == .imported, "\(result.lines)")
    // The blank line before the kernel-doc comment is the first line the
    // hunk keeps; the two it ignores would sit above it.
    let blank =
      try Self.line(
        of: " * mmu_interval_notifier_remove - Remove a interval notifier", in: "mmu_notifier.c")
      - 2
    #expect(
      result.lines.contains(
        "hunk 1/2 mm/mmu_notifier.c: applied at \(blank - 2) (offset \(blank - 3 - 1035), fuzz 2)"),
      "\(result.lines)")
    #expect(
      result.lines.contains {
        $0.hasPrefix("hunk 2/2 mm/mmu_notifier.c: applied at ") && $0.hasSuffix("fuzz 0)")
      })
    let text = try #require(result.patchText)
    #expect(
      text.contains(
        "Summary: mm/mmu_notifier.c: Read the seq under the lock in mmu_interval_notifier_remove()\n"
      ))
    #expect(
      text.contains(
        "Upstream: <20261201100000.2-tester@example.org>; Fixes: 99cb252f5e68 (\"mm/mmu_notifier: add an interval tree notifier\")\n"
      ))
    #expect(text.contains("can return too early and free\nwhat the walk still unlinks."))
    #expect(text.contains("+\tret = subscriptions->invalidate_seq != seq;"), "=3D decoded")
    #expect(
      text.contains(
        "+ * mn_itree_inv_end holds while it moves the seq on and drains the deferred\n"))
    #expect(!text.contains("EXPORT_SYMBOL_GPL"), "the kernel's context is replaced by the port's")
    #expect(try PatchSet.verify(root: repo.url).isEmpty)
  }

  /// The imported twin of patches/0008-interval-remove-fix generates the
  /// same variant source, byte for byte, so the same code is compiled; the
  /// hand-written twin's compare verdict on the race it fixes is then the
  /// imported one's, and differs from original's.
  @Test("An imported fix is its hand-written twin: the same source, the same compare verdict")
  func importedFixMatchesItsTwin() throws {
    let repo = try FakeCheckout()
    let mails = try Scratch()
    let file = try Self.write(Self.intervalFixMail, in: mails, as: "fix.mbox")
    let result = try Self.importing(file, into: repo, variant: "remove-fix-import")
    #expect(result.outcome == .imported, "\(result.lines)")
    for name in ["mmu_notifier.c", "mmu_notifier.h", "oom_kill.c", "mmap.c", "oom.h"] {
      let imported = try Data(
        contentsOf: repo.url.appendingPathComponent(
          "CSupport/port/variants/remove-fix-import/\(name)"))
      let twin = try Data(
        contentsOf: FakeCheckout.realRoot.appendingPathComponent(
          "CSupport/port/variants/interval-remove-fix/\(name)"))
      #expect(imported == twin, "\(name) differs from interval-remove-fix's")
    }
    let compare = try HarnessCLI.run(
      [
        "compare", "--scenario", "interval-remove-race", "--variant",
        "original,interval-remove-fix",
        "--format", "json", "--jobs", "2",
      ], in: mails.url, timeout: 600)
    #expect(compare.status == 0 || compare.status == 1, "\(compare.stderr)")
    let json = try #require(
      try JSONSerialization.jsonObject(with: Data(compare.stdout.utf8)) as? [String: Any])
    let text = String(describing: json)
    #expect(text.contains("interval-remove-fix"))
    let verdicts = try Self.verdicts(compare.stdout)
    #expect(verdicts["interval-remove-fix"] == "paired", "\(verdicts)")
    #expect(verdicts["original"] != verdicts["interval-remove-fix"], "\(verdicts)")
  }

  /// variant -> verdict of compare's JSON for one scenario.
  static func verdicts(_ json: String) throws -> [String: String] {
    var result: [String: String] = [:]
    func walk(_ value: Any) {
      if let object = value as? [String: Any] {
        if let variant = object["variant"] as? String, let verdict = object["verdict"] as? String {
          result[variant] = verdict
        }
        object.values.forEach(walk)
      } else if let array = value as? [Any] {
        array.forEach(walk)
      }
    }
    walk(try JSONSerialization.jsonObject(with: Data(json.utf8)))
    return result
  }

  @Test("A hunk that cannot apply is shown beside the port's text; nothing is written, exit 1")
  func hunkThatCannotApply() throws {
    let repo = try FakeCheckout()
    let mails = try Scratch()
    let diff = """
      diff --git a/mm/mmu_notifier.c b/mm/mmu_notifier.c
      --- a/mm/mmu_notifier.c
      +++ b/mm/mmu_notifier.c
      @@ -1086,7 +1086,7 @@ void mmu_interval_notifier_remove(struct mmu_interval_notifier *interval_sub)
       \tlock_map_release(&__mmu_notifier_invalidate_range_start_map);
       \tif (seq)
       \t\twait_event(subscriptions->wq,
      -\t\t\t   mmu_interval_seq_released(subscriptions, seq));
      +\t\t\t   mmu_interval_seq_released_v2(subscriptions, seq));

       \t/* pairs with mmgrab in mmu_interval_notifier_insert() */
       \tmmdrop(mm);

      """
    let file = try Self.write(
      Self.formatPatch(
        subject: "mm/mmu_notifier: Rename the release check", messageID: "<3@example.org>",
        body: "Against a later kernel.", diff: diff), in: mails, as: "later.patch")
    let before = try repo.snapshot()
    let result = try Self.importing(file, into: repo)
    #expect(result.outcome == .cannotApply)
    #expect(result.patchPath == nil)
    // mmu_interval_notifier_remove's wait, the file's last
    let waitLine =
      try #require(
        try Self.portLines("mmu_notifier.c").lastIndex(of: "\t\twait_event(subscriptions->wq,")) + 1
    #expect(
      result.lines.contains {
        $0.hasPrefix(
          "hunk 1/1 mm/mmu_notifier.c: does not apply: no place in CSupport/port/original/mmu_notifier.c"
        )
      }, "\(result.lines)")
    // the port's own text, with its line numbers, beside the hunk's
    let wait = "= \(String(format: "%4d", waitLine))         wait_event(subscriptions->wq,"
    #expect(result.lines.contains { $0.hasSuffix(wait) }, "\(result.lines)")
    #expect(
      result.lines.contains {
        $0.contains("-               mmu_interval_seq_released(subs")
          && $0.contains("! \(String(format: "%4d", waitLine + 1))")
          && $0.hasSuffix("READ_ONCE(subscriptions->invalidate_seq) != seq);")
      }, "\(result.lines)")
    #expect(result.lines.last == "nothing written: the hunks above do not place on the port")
    #expect(try repo.snapshot() == before)
    // the command: the same report on stdout, exit status 1, nothing on stderr
    let cli = try HarnessCLI.run(
      ["patches", "import", file.path, "--root", repo.url.path], in: repo.url)
    #expect(cli.status == 1, "\(cli.stderr)")
    #expect(cli.stderr.isEmpty, "\(cli.stderr)")
    #expect(cli.stdout.contains("does not apply"))
    #expect(try repo.snapshot() == before)
  }

  @Test(
    "An mbox: hunks on other files dropped with a note, a mail on none of the port's files skipped")
  func unmappedFilesAreDropped() throws {
    let repo = try FakeCheckout()
    let mails = try Scratch()
    let docs = """
      diff --git a/Documentation/mm/mmu_notifier.rst b/Documentation/mm/mmu_notifier.rst
      --- a/Documentation/mm/mmu_notifier.rst
      +++ b/Documentation/mm/mmu_notifier.rst
      @@ -1,3 +1,4 @@
       When does a start come with an end?
      +Always, now.

       The answer is below.

      """
    let kvm = """
      diff --git a/virt/kvm/kvm_main.c b/virt/kvm/kvm_main.c
      --- a/virt/kvm/kvm_main.c
      +++ b/virt/kvm/kvm_main.c
      @@ -10,3 +10,4 @@
       int a;
      +int b;
       int c;
       int d;

      """
    let first = Self.formatPatch(
      subject: "mm/mmu_notifiers: Warn when a failing start has an end",
      messageID: "<4@example.org>", body: "Also documented.", diff: docs + Self.warnDiff)
    let second = Self.formatPatch(
      subject: "KVM: Count the other way", messageID: "<5@example.org>", body: "Only KVM.",
      diff: kvm)
    let file = try Self.write(first + second, in: mails, as: "series.mbox")
    let result = try Self.importing(file, into: repo, dryRun: true)
    #expect(result.outcome == .dryRun, "\(result.lines)")
    #expect(
      result.lines.contains(
        "skipped mail 2/2: \"KVM: Count the other way\": touches none of the port's files (virt/kvm/kvm_main.c)"
      ), "\(result.lines)")
    #expect(
      result.lines.contains(
        "not applicable to the port, dropped: Documentation/mm/mmu_notifier.rst (1 hunk)"),
      "\(result.lines)")
    #expect(result.lines.contains { $0.hasPrefix("hunk 1/1 mm/mmu_notifier.c: applied at ") })
    let text = try #require(result.patchText)
    #expect(!text.contains("Documentation/mm/mmu_notifier.rst b/"))
    #expect(text.contains("not applicable to the port, dropped: Documentation/mm/mmu_notifier.rst"))
    // a dry run writes nothing
    #expect(
      try FileManager.default.contentsOfDirectory(
        atPath: repo.url.appendingPathComponent("patches").path
      ).isEmpty)
  }

  @Test("A hunk that changes only a comment the port does not carry is dropped and said so")
  func commentOnlyHunkIsDropped() throws {
    let repo = try FakeCheckout()
    let mails = try Scratch()
    let header = """
      diff --git a/include/linux/mmu_notifier.h b/include/linux/mmu_notifier.h
      --- a/include/linux/mmu_notifier.h
      +++ b/include/linux/mmu_notifier.h
      @@ -169,5 +169,5 @@ struct mmu_notifier_ops {
       \t * If blockable argument is set to false then the callback cannot
      -\t * sleep and has to return with -EAGAIN.
      +\t * sleep and has to return with -EAGAIN, and then has no end.
       \t */
       \tint (*invalidate_range_start)(struct mmu_notifier *subscription,
       \t\t\t\t      const struct mmu_notifier_range *range);

      """
    let file = try Self.write(
      Self.formatPatch(
        subject: "mm/mmu_notifiers: Warn when a failing start has an end",
        messageID: "<6@example.org>", body: "With its comment.", diff: header + Self.warnDiff),
      in: mails, as: "commented.patch")
    let result = try Self.importing(file, into: repo)
    #expect(result.outcome == .imported, "\(result.lines)")
    #expect(
      result.lines.contains {
        $0.hasPrefix("hunk 1/2 include/linux/mmu_notifier.h: dropped: it changes only comment text")
      }, "\(result.lines)")
    let text = try #require(result.patchText)
    #expect(!text.contains("diff --git a/CSupport/port/original/mmu_notifier.h"))
    #expect(try PatchSet.verify(root: repo.url).isEmpty)
  }

  @Test("Without git on PATH: one line saying so")
  func gitMissing() throws {
    let scratch = try Scratch()
    #expect(throws: PatchImportError.self) { try MailInfo.locateGit(path: scratch.url.path) }
    do {
      _ = try MailInfo.locateGit(path: scratch.url.path)
    } catch let error as PatchImportError {
      #expect(error.description.hasPrefix("git is not on PATH; patches import reads mail with git"))
    }
  }

  @Test func slugs() {
    #expect(
      PatchImport.slug(of: "mm/mmu_notifiers: Esnure range_end() is paired with range_start()")
        == "esnure-range-end-is-paired-with-range")
    #expect(
      PatchImport.slug(of: "mm/mmu_notifier.c: Fix race in mmu_interval_notifier_remove()")
        == "fix-race-in-mmu-interval-notifier-remove")
    #expect(PatchImport.slug(of: "2: ---") == nil)
    #expect(PatchImport.slug(of: "Original") == nil, "reserved")
  }

  // MARK: - Bad input: one line on stderr naming what is valid, exit 2, nothing written

  struct BadImport: CustomTestStringConvertible, Sendable {
    let name: String
    let arguments: @Sendable (_ file: String) -> [String]
    let file: String?
    let says: String
    var testDescription: String { name }
  }

  static let bad: [BadImport] = [
    BadImport(
      name: "missing file", arguments: { _ in ["/nonexistent/fix.patch"] }, file: nil,
      says: "/nonexistent/fix.patch: no such file; valid: a patch in kernel form"),
    BadImport(
      name: "not a patch", arguments: { [$0] }, file: "Just some notes.\nNo diff here.\n",
      says: "holds no diff; valid: a patch in kernel form"),
    BadImport(
      name: "no hunk on a mapped file", arguments: { [$0] },
      file: formatPatch(
        subject: "KVM: Count the other way", messageID: "<7@example.org>", body: "Only KVM.",
        diff: """
          diff --git a/virt/kvm/kvm_main.c b/virt/kvm/kvm_main.c
          --- a/virt/kvm/kvm_main.c
          +++ b/virt/kvm/kvm_main.c
          @@ -1,1 +1,2 @@
           int a;
          +int b;

          """),
      says:
        "has no hunk on a file the port models (it changes virt/kvm/kvm_main.c); valid: a patch to mm/mmu_notifier.c, include/linux/mmu_notifier.h, mm/oom_kill.c, mm/mmap.c"
    ),
    BadImport(
      name: "an existing variant id", arguments: { [$0, "--variant", "interval-remove-fix"] },
      file: formatPatch(
        subject: "mm: x", messageID: "<8@example.org>", body: "x", diff: warnDiff),
      says:
        "variant interval-remove-fix already exists (patches/0008-interval-remove-fix.patch); valid: --variant ID with a new id"
    ),
    BadImport(
      name: "an invalid variant id", arguments: { [$0, "--variant", "Bad_Id"] },
      file: formatPatch(subject: "mm: x", messageID: "<9@example.org>", body: "x", diff: warnDiff),
      says: "--variant Bad_Id is invalid: it must match ^[a-z][a-z0-9-]{0,39}$"),
    BadImport(
      name: "an unknown base", arguments: { [$0, "--base", "v4.19"] },
      file: formatPatch(subject: "mm: x", messageID: "<10@example.org>", body: "x", diff: warnDiff),
      says: "--base v4.19 is unknown; valid: v5.11, mainline"),
    BadImport(
      name: "a base this checkout lacks", arguments: { [$0, "--base", "mainline"] },
      file: formatPatch(subject: "mm: x", messageID: "<11@example.org>", body: "x", diff: warnDiff),
      says: "--base mainline: this checkout has no CSupport/port/mainline/; valid: v5.11"),
    BadImport(
      name: "a malformed diff", arguments: { [$0] },
      file: formatPatch(
        subject: "mm: x", messageID: "<12@example.org>", body: "x",
        diff: """
          diff --git a/mm/mmu_notifier.c b/mm/mmu_notifier.c
          --- a/mm/mmu_notifier.c
          +++ b/mm/mmu_notifier.c
          @@ -1,5 +1,5 @@
           only one line

          """),
      says: "does not start with ' ', '-', '+'"),
  ]

  @Test(arguments: bad)
  func badInputIsRefusedInOneLine(_ bad: BadImport) throws {
    let repo = try FakeCheckout()
    try FileManager.default.copyItem(
      at: FakeCheckout.realRoot.appendingPathComponent("patches/0008-interval-remove-fix.patch"),
      to: repo.url.appendingPathComponent("patches/0008-interval-remove-fix.patch"))
    let mails = try Scratch()
    let file = try bad.file.map { try Self.write($0, in: mails, as: "input.patch").path } ?? ""
    let before = try repo.snapshot()
    let result = try HarnessCLI.run(
      ["patches", "import"] + bad.arguments(file) + ["--root", repo.url.path], in: repo.url)
    #expect(result.status == 2)
    try BadInputTests.expectRefusal(result, says: bad.says)
    #expect(try repo.snapshot() == before, "bad input changed the checkout")
  }
}
