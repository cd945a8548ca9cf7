import CSupport

#if canImport(Glibc)
  import Glibc
#endif

/// What the numbers were measured on: a benchmark result means little
/// without its machine and build.
public struct BenchMachine: Sendable {
  public let cpus: Int
  public let cpuModel: String
  public let kernel: String
  public let liburcuLibrary: String
  public let liburcuVersion: String?
  public let sysMembarrier: Bool
  /// "release" or "debug": the Swift side's optimisation.
  public let build: String
  /// Whether the C shim was compiled with optimisation: Package.swift
  /// carries no flags of its own, so a debug build compiles it at -O0.
  public let cOptimized: Bool
  public let clock: String
  /// The CPU the sweep ran on, or nil when pinning was off or refused.
  public let pinnedCPU: Int?
  public let pinError: String?

  /// Whether this build compiled the C shim with optimisation (`-c release`).
  public static var cShimOptimized: Bool { mmn_bench_c_optimized() }

  /// The last CPU: on a small VM the first one tends to take the interrupts.
  public static var defaultPinCPU: Int? {
    let n = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    return n > 0 ? n - 1 : nil
  }

  static func current(pinnedCPU: Int?, pinError: String?, liburcuVersion: String?) -> BenchMachine {
    #if DEBUG
      let build = "debug"
    #else
      let build = "release"
    #endif
    return BenchMachine(
      cpus: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))),
      cpuModel: cpuModelName() ?? "unknown",
      kernel: kernelRelease(),
      liburcuLibrary: SRCU.libraryPath,
      liburcuVersion: liburcuVersion,
      sysMembarrier: SRCU.sysMembarrierWorks,
      build: build,
      cOptimized: mmn_bench_c_optimized(),
      clock: "CLOCK_MONOTONIC",
      pinnedCPU: pinnedCPU,
      pinError: pinError)
  }

  private static func kernelRelease() -> String {
    var u = utsname()
    guard uname(&u) == 0 else { return "unknown" }
    return withUnsafeBytes(of: &u.release) { raw in
      String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
    }
  }

  private static func cpuModelName() -> String? {
    guard let f = fopen("/proc/cpuinfo", "r") else { return nil }
    defer { fclose(f) }
    var line: UnsafeMutablePointer<CChar>?
    var cap = 0
    defer { free(line) }
    while getline(&line, &cap, f) > 0, let line {
      let text = String(cString: line)
      if text.hasPrefix("model name"), let colon = text.firstIndex(of: ":") {
        return text[text.index(after: colon)...].trimmingCharacters()
      }
    }
    return nil
  }
}

extension StringProtocol {
  fileprivate func trimmingCharacters() -> String {
    String(drop(while: { $0.isWhitespace }).reversed().drop(while: { $0.isWhitespace }).reversed())
  }
}

/// Pins the calling thread; returns the CPU or why it could not.
func benchPin(_ cpu: Int?) -> (cpu: Int?, error: String?) {
  guard let cpu else { return (nil, nil) }
  let rc = mmn_pin_thread(Int32(cpu))
  guard rc == 0 else {
    return (nil, "pthread_setaffinity_np(\(cpu)): \(String(cString: strerror(rc)))")
  }
  return (cpu, nil)
}
