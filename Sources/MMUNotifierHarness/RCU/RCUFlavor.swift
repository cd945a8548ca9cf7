import CSupport

/// A liburcu flavour. Each has its own compiled copy of every core variant,
/// so the read side is inlined for it (no table lookup inside the traversal).
public enum RCUFlavor: String, CaseIterable, Sendable, Codable, CustomStringConvertible {
  /// `sys_membarrier` flavour: a TLS store and a compiler barrier per read side.
  case memb
  /// A full memory barrier per read side.
  case mb
  /// Quiescent-state based: free read side; threads report quiescent states.
  case qsbr
  /// "Bulletproof": registers threads on first use.
  case bp

  public var description: String { rawValue }

  var cValue: Int32 {
    switch self {
    case .memb: Int32(MMN_FLAVOR_MEMB.rawValue)
    case .mb: Int32(MMN_FLAVOR_MB.rawValue)
    case .qsbr: Int32(MMN_FLAVOR_QSBR.rawValue)
    case .bp: Int32(MMN_FLAVOR_BP.rawValue)
    }
  }

  /// Parses a flavour name, or throws an error that lists the valid ones.
  public static func named(_ name: String) throws(HarnessInputError) -> RCUFlavor {
    guard let flavor = RCUFlavor(rawValue: name) else {
      throw HarnessInputError.unknown(
        kind: "flavour", name: name, valid: allCases.map(\.rawValue))
    }
    return flavor
  }
}

/// The SRCU primitives of one flavour, for code that tests RCU itself.
/// The calling thread is registered with the flavour on first use and
/// unregistered when it exits.
public enum SRCU {
  public static func readLock(_ flavor: RCUFlavor) { mmn_srcu_read_lock(flavor.cValue) }
  public static func readUnlock(_ flavor: RCUFlavor) { mmn_srcu_read_unlock(flavor.cValue) }
  /// `synchronize_srcu`: returns once every read-side section that began
  /// before the call has ended.
  public static func synchronize(_ flavor: RCUFlavor) { mmn_synchronize_srcu(flavor.cValue) }
  /// `srcu_barrier`: waits for every `call_srcu` callback queued so far.
  public static func barrier(_ flavor: RCUFlavor) { mmn_srcu_barrier(flavor.cValue) }
  /// This thread's read-side nesting depth.
  public static var depth: Int { Int(mmn_srcu_depth()) }
  /// qsbr only: keep this thread online and report a quiescent state at the
  /// end of each outermost read-side section (cheaper for a reader loop).
  public static func stayOnline(_ flavor: RCUFlavor, _ on: Bool) {
    mmn_rcu_set_stay_online(flavor.cValue, on ? 1 : 0)
  }
  /// Whether liburcu's memb flavour found a working `sys_membarrier(2)`.
  public static var sysMembarrierWorks: Bool { mmn_sys_membarrier_works() != 0 }
  /// The liburcu shared object this process loaded.
  public static var libraryPath: String { String(cString: mmn_urcu_library_path()) }
}
