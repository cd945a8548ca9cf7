import CSupport

/// Which of `mmu_notifier_ops`' callbacks a driver implements.
///
/// The kernel tests each entry for NULL, and the fixes depend on it (the
/// merged fix calls end on every subscription that *has* one, and WARNs
/// when a start that can fail comes with an end), so a driver states its
/// set explicitly.
public struct NotifierCallbacks: OptionSet, Sendable, Hashable {
  public let rawValue: UInt8
  public init(rawValue: UInt8) { self.rawValue = rawValue }

  public static let invalidateRangeStart = NotifierCallbacks(rawValue: 1 << 0)
  public static let invalidateRangeEnd = NotifierCallbacks(rawValue: 1 << 1)
  public static let invalidateRange = NotifierCallbacks(rawValue: 1 << 2)
  public static let release = NotifierCallbacks(rawValue: 1 << 3)
  /// v6.6's `->arch_invalidate_secondary_tlbs` (the mainline base's name for
  /// `->invalidate_range`), served by `invalidateRange(start:end:)`. The
  /// mainline core refuses (-EINVAL) to register it with start or end.
  public static let archInvalidateSecondaryTLBs = NotifierCallbacks(rawValue: 1 << 4)

  public static let startAndEnd: NotifierCallbacks = [.invalidateRangeStart, .invalidateRangeEnd]
}

/// The `struct mmu_notifier_range` a callback receives. A view, valid
/// only during the callback.
public struct NotifierRange {
  @usableFromInline let raw: UnsafePointer<mmu_notifier_range>

  @inlinable init(_ raw: UnsafePointer<mmu_notifier_range>) { self.raw = raw }

  @inlinable public var start: UInt { raw.pointee.start }
  /// Exclusive, as in the kernel.
  @inlinable public var end: UInt { raw.pointee.end }
  @inlinable public var isBlockable: Bool {
    raw.pointee.flags & UInt32(MMU_NOTIFIER_RANGE_BLOCKABLE) != 0
  }
  /// Why the range is invalidated.
  @inlinable public var event: NotifierEvent { NotifierEvent(raw.pointee.event) }
  /// The harness's identity for this invalidation (one per start/end pair).
  @inlinable public var id: UInt64 { raw.pointee.mmn_id }

  @inlinable public func overlaps(start: UInt, end: UInt) -> Bool {
    start < self.end && self.start < end
  }
}

/// `enum mmu_notifier_event` (include/linux/mmu_notifier.h, v5.11): why
/// a range is invalidated, so a driver need not `import CSupport`.
public enum NotifierEvent: UInt32, Sendable, CaseIterable, CustomStringConvertible {
  /// `MMU_NOTIFY_UNMAP`: munmap, the OOM reaper, exit.
  case unmap = 0
  /// `MMU_NOTIFY_CLEAR`: e.g. madvise(MADV_DONTNEED), page reclaim.
  case clear
  /// `MMU_NOTIFY_PROTECTION_VMA`: mprotect of a whole VMA.
  case protectionVMA
  /// `MMU_NOTIFY_PROTECTION_PAGE`: a page's protection changes.
  case protectionPage
  /// `MMU_NOTIFY_SOFT_DIRTY`: soft-dirty tracking clears the bit.
  case softDirty
  /// `MMU_NOTIFY_RELEASE`: the mm goes (exit_mmap's release).
  case release
  /// `MMU_NOTIFY_MIGRATE`: device memory migration.
  case migrate

  /// The C value; every value the port passes has a case.
  @inlinable init(_ c: mmu_notifier_event) {
    self = NotifierEvent(rawValue: c.rawValue) ?? .unmap
  }

  @inlinable var cValue: mmu_notifier_event { mmu_notifier_event(rawValue: rawValue) }

  /// The kernel's name, e.g. `MMU_NOTIFY_UNMAP`.
  public var description: String {
    switch self {
    case .unmap: "MMU_NOTIFY_UNMAP"
    case .clear: "MMU_NOTIFY_CLEAR"
    case .protectionVMA: "MMU_NOTIFY_PROTECTION_VMA"
    case .protectionPage: "MMU_NOTIFY_PROTECTION_PAGE"
    case .softDirty: "MMU_NOTIFY_SOFT_DIRTY"
    case .release: "MMU_NOTIFY_RELEASE"
    case .migrate: "MMU_NOTIFY_MIGRATE"
    }
  }
}

/// A driver subscribed to an mm's hlist (`struct mmu_notifier`).
///
/// Callbacks run on whichever thread invalidates, inside an SRCU read-side
/// section; a callback for a non-blockable range must not sleep. `start`
/// returns 0 or a negative errno (only `-EAGAIN` in a non-blockable range
/// is legal).
public protocol Notifier: AnyObject, Sendable {
  /// The callbacks this driver implements: the non-NULL entries of its ops.
  var callbacks: NotifierCallbacks { get }
  /// The prefix the kernel log names this driver's callbacks with,
  /// e.g. `kvm_mmu_notifier` prints as `kvm_mmu_notifier_invalidate_range_start`.
  var symbol: String { get }
  func invalidateRangeStart(_ range: NotifierRange) -> Int32
  func invalidateRangeEnd(_ range: NotifierRange)
  func invalidateRange(start: UInt, end: UInt)
  func release()
  /// Start and end compiled for this type, or nil (the default) for the
  /// shared ones, which reach the driver through `any Notifier`.
  static var entryPoints: NotifierEntryPoints? { get }
  /// The driver subscribes with `mmu_notifier_get` (one subscription per
  /// mm, paired with `mmu_notifier_put`) rather than `mmu_notifier_register`.
  static var subscribesThroughGet: Bool { get }
}

extension Notifier {
  public static var subscribesThroughGet: Bool { false }
  public func invalidateRangeStart(_ range: NotifierRange) -> Int32 { 0 }
  public func invalidateRangeEnd(_ range: NotifierRange) {}
  public func invalidateRange(start: UInt, end: UInt) {}
  public func release() {}
  public static var entryPoints: NotifierEntryPoints? { nil }
}

/// A driver type's own `invalidate_range_start`/`_end` entry points.
///
/// The shared entry points serve every driver type, so the call they make
/// into the driver goes through a witness table, and that one call site
/// is predicted across all the types it has seen. Entry points compiled
/// for one type call its methods directly (inlined when the class is
/// final): a hot driver declares them once,
///
///     static let entryPoints: NotifierEntryPoints? = NotifierEntryPoints(
///       start: { NotifierEntryPoints.start(MyDriver.self, $0, $1) },
///       end: { NotifierEntryPoints.end(MyDriver.self, $0, $1) })
///
/// and Swift forms the C function pointers, as it cannot from a generic
/// context.
public struct NotifierEntryPoints: @unchecked Sendable {
  public typealias Start =
    @convention(c) (OpaquePointer?, UnsafePointer<mmu_notifier_range>?) -> Int32
  public typealias End = @convention(c) (OpaquePointer?, UnsafePointer<mmu_notifier_range>?) -> Void

  let start: Start
  let end: End

  public init(start: Start, end: End) {
    self.start = start
    self.end = end
  }

  /// The body of a type's start entry point: no retain, no lock, no cast
  /// check; `N` must be the subscribed driver's type.
  @inlinable @inline(__always)
  public static func start<N: Notifier>(
    _: N.Type, _ mn: OpaquePointer?, _ range: UnsafePointer<mmu_notifier_range>?
  ) -> Int32 {
    guard let driver = NotifierBox.driver(of: mn, as: N.self, "invalidate_range_start") else {
      return 0
    }
    return driver._withUnsafeGuaranteedRef {
      $0.invalidateRangeStart(NotifierRange(range.unsafelyUnwrapped))
    }
  }

  /// The body of a type's end entry point (see `start`).
  @inlinable @inline(__always)
  public static func end<N: Notifier>(
    _: N.Type, _ mn: OpaquePointer?, _ range: UnsafePointer<mmu_notifier_range>?
  ) {
    NotifierBox.driver(of: mn, as: N.self, "invalidate_range_end")?._withUnsafeGuaranteedRef {
      $0.invalidateRangeEnd(NotifierRange(range.unsafelyUnwrapped))
    }
  }
}

/// What a subscription's C context points to. Retained once by the
/// subscription, released after its last possible callback.
@usableFromInline
final class NotifierBox {
  let notifier: any Notifier
  /// The same object, unretained: what a type's own entry points load.
  @usableFromInline let object: UnsafeRawPointer

  init(_ notifier: any Notifier) {
    self.notifier = notifier
    object = UnsafeRawPointer(Unmanaged.passUnretained(notifier as AnyObject).toOpaque())
  }

  /// The driver behind a `struct mmu_notifier`, as `N`, unretained.
  @inlinable @inline(__always)
  static func driver<N: Notifier>(of mn: OpaquePointer?, as _: N.Type, _ callback: StaticString)
    -> Unmanaged<N>?
  {
    NotifierTrampolines.liveBox(mn, callback).map { box in
      Unmanaged<N>.fromOpaque(box._withUnsafeGuaranteedRef { $0.object })
    }
  }
}

/// The C side calls these; each recovers its driver with one load (the word
/// before the `struct mmu_notifier`) and calls it without retaining,
/// allocating or locking.
@usableFromInline
enum NotifierTrampolines {
  /// `mmn_notifier_ctx`, read here rather than called: Swift compiles an
  /// imported static inline C function as a real call, which doubled the
  /// crossing's cost.
  @inlinable @inline(__always)
  static func contextWord(before object: OpaquePointer?) -> UnsafeRawPointer {
    UnsafeRawPointer(object.unsafelyUnwrapped).load(
      fromByteOffset: -MemoryLayout<UnsafeRawPointer>.size, as: UnsafeRawPointer.self)
  }

  @inlinable @inline(__always)
  static func box(_ mn: OpaquePointer?) -> Unmanaged<NotifierBox> {
    Unmanaged<NotifierBox>.fromOpaque(contextWord(before: mn))
  }

  /// The box, or nil once the subscription was freed (its context word is
  /// cleared then): the call is reported as a use after free, not made.
  @inlinable @inline(__always)
  static func liveBox(_ mn: OpaquePointer?, _ callback: StaticString) -> Unmanaged<NotifierBox>? {
    let word = UnsafeRawPointer(mn.unsafelyUnwrapped).load(
      fromByteOffset: -MemoryLayout<UnsafeRawPointer>.size, as: UnsafeRawPointer?.self)
    guard let word else {
      mmn_freed_callback(
        mn, UnsafeRawPointer(callback.utf8Start).assumingMemoryBound(to: CChar.self))
      return nil
    }
    return Unmanaged<NotifierBox>.fromOpaque(word)
  }

  static let start: @convention(c) (OpaquePointer?, UnsafePointer<mmu_notifier_range>?) -> Int32 = {
    mn, range in
    guard let box = liveBox(mn, "invalidate_range_start") else { return 0 }
    return box._withUnsafeGuaranteedRef {
      $0.notifier.invalidateRangeStart(NotifierRange(range.unsafelyUnwrapped))
    }
  }

  static let end: @convention(c) (OpaquePointer?, UnsafePointer<mmu_notifier_range>?) -> Void = {
    mn, range in
    liveBox(mn, "invalidate_range_end")?._withUnsafeGuaranteedRef {
      $0.notifier.invalidateRangeEnd(NotifierRange(range.unsafelyUnwrapped))
    }
  }

  static let invalidateRange: @convention(c) (OpaquePointer?, OpaquePointer?, UInt, UInt) -> Void =
    { mn, _, start, end in
      liveBox(mn, "invalidate_range")?._withUnsafeGuaranteedRef {
        $0.notifier.invalidateRange(start: start, end: end)
      }
    }

  static let release: @convention(c) (OpaquePointer?, OpaquePointer?) -> Void = { mn, _ in
    liveBox(mn, "release")?._withUnsafeGuaranteedRef { $0.notifier.release() }
  }

  static let releaseContext: @convention(c) (UnsafeMutableRawPointer?) -> Void = { ctx in
    Unmanaged<AnyObject>.fromOpaque(ctx.unsafelyUnwrapped).release()
  }

  static func ops(for notifier: any Notifier) -> mmu_notifier_ops {
    let callbacks = notifier.callbacks
    let own = type(of: notifier).entryPoints
    var ops = mmu_notifier_ops()
    if callbacks.contains(.invalidateRangeStart) {
      ops.invalidate_range_start = own?.start ?? start
    }
    if callbacks.contains(.invalidateRangeEnd) { ops.invalidate_range_end = own?.end ?? end }
    if callbacks.contains(.invalidateRange) { ops.invalidate_range = invalidateRange }
    if callbacks.contains(.archInvalidateSecondaryTLBs) {
      ops.arch_invalidate_secondary_tlbs = invalidateRange
    }
    if callbacks.contains(.release) { ops.release = release }
    return ops
  }
}

/// A driver subscribed to an address interval (`struct mmu_interval_notifier`).
public protocol IntervalNotifier: AnyObject, Sendable {
  var symbol: String { get }
  /// Return false only for "would block" in a non-blockable range. Drivers
  /// call `interval.setSeq(currentSeq)` under their own lock.
  func invalidate(_ interval: IntervalRef, range: NotifierRange, currentSeq: UInt) -> Bool
}

/// What a two-pass interval notifier's first pass (`->invalidate_start`,
/// v7.1) answers.
public enum IntervalStartResult: Sendable, Equatable {
  /// "Would block" in a non-blockable range (`false`).
  case refused
  /// The whole invalidation is done: `*finish` stays NULL, no second pass.
  case done
  /// Work is deferred: the core must call `invalidateFinish` for this start,
  /// exactly once, after its tree walk (also when a later subscriber fails
  /// a non-blocking start).
  case deferred
}

/// A v7.1 two-pass interval notifier (xe userptr is the first user). On the
/// v5.11 base, whose core only knows `->invalidate`, the harness runs both
/// passes back to back from `->invalidate`.
public protocol TwoPassIntervalNotifier: IntervalNotifier {
  func invalidateStart(_ interval: IntervalRef, range: NotifierRange, currentSeq: UInt)
    -> IntervalStartResult
  /// The second pass for one `.deferred` start.
  func invalidateFinish(_ interval: IntervalRef)
}

/// A `struct mmu_interval_notifier` seen from a callback.
public struct IntervalRef {
  let raw: OpaquePointer
  /// `mmu_interval_set_seq`
  public func setSeq(_ seq: UInt) { mmn_interval_set_seq(raw, seq) }
}

final class IntervalBox {
  let notifier: any IntervalNotifier
  init(_ notifier: any IntervalNotifier) { self.notifier = notifier }
}

extension IntervalStartResult {
  /// `enum mmn_interval_start_result`
  var cValue: Int32 {
    switch self {
    case .refused: Int32(MMN_INTERVAL_START_REFUSED.rawValue)
    case .done: Int32(MMN_INTERVAL_START_DONE.rawValue)
    case .deferred: Int32(MMN_INTERVAL_START_DEFERRED.rawValue)
    }
  }
}

enum IntervalTrampolines {
  /// A two-pass driver's first pass, as `mmn_interval_two_pass_ops` has it:
  /// the harness turns `.deferred` into a finish object for the mainline
  /// core, or runs the finish at once on the v5.11 core.
  static let invalidateStart:
    @convention(c) (OpaquePointer?, UnsafePointer<mmu_notifier_range>?, UInt) -> Int32 = {
      ins, range, seq in
      Unmanaged<IntervalBox>.fromOpaque(NotifierTrampolines.contextWord(before: ins))
        ._withUnsafeGuaranteedRef { box -> Int32 in
          guard let twoPass = box.notifier as? any TwoPassIntervalNotifier else {
            return IntervalStartResult.done.cValue
          }
          return twoPass.invalidateStart(
            IntervalRef(raw: ins.unsafelyUnwrapped), range: NotifierRange(range.unsafelyUnwrapped),
            currentSeq: seq
          ).cValue
        }
    }

  /// The second pass, once per `.deferred` start.
  static let invalidateFinish: @convention(c) (OpaquePointer?) -> Void = { ins in
    Unmanaged<IntervalBox>.fromOpaque(NotifierTrampolines.contextWord(before: ins))
      ._withUnsafeGuaranteedRef { box in
        (box.notifier as? any TwoPassIntervalNotifier)?.invalidateFinish(
          IntervalRef(raw: ins.unsafelyUnwrapped))
      }
  }

  static let invalidate:
    @convention(c) (OpaquePointer?, UnsafePointer<mmu_notifier_range>?, UInt) -> Bool = {
      ins, range, seq in
      Unmanaged<IntervalBox>.fromOpaque(NotifierTrampolines.contextWord(before: ins))
        ._withUnsafeGuaranteedRef {
          $0.notifier.invalidate(
            IntervalRef(raw: ins.unsafelyUnwrapped), range: NotifierRange(range.unsafelyUnwrapped),
            currentSeq: seq)
        }
    }
}
