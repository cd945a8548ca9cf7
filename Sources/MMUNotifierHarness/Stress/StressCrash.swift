import Foundation

/// A child's `crash` message, symbolized: which signal, in which function,
/// on which thread, the call trace and the last kernel-log lines.
public struct CrashReport: Sendable {
  public let signal: Int32
  public let signalName: String
  public let task: String
  public let faultAddress: String
  /// `function+0xoff/0xsize`, or the object and address when unknown.
  public let function: String
  public let callTrace: [String]
  public let logLines: [String]

  /// `crash: SIGSEGV in mn_hlist_invalidate_end+0x4a/0x120`.
  public var verdict: String { "crash: \(signalName) in \(function)" }

  /// Parses the `crash` (and `crashlog`) payloads; nil if there is none.
  /// Frames inside this executable are named from its ELF symbol table
  /// (static functions, the port's included, are not in the dynamic one).
  public init?(crash: String?, log: String?, deadBy fallbackSignal: Int32 = 0) {
    guard let crash else { return nil }
    var sig = fallbackSignal
    var name = StressSignals.name(fallbackSignal)
    var task = "?"
    var addr = "?"
    var pc: String?
    var pcAddress = ""
    var caller: String?
    var trace: [String] = []
    let symbols = ELFSymbols.ofThisExecutable
    for line in crash.split(separator: "\n").map(String.init) {
      let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
      guard parts.count == 2 else { continue }
      switch parts[0] {
      case "signal":
        let f = parts[1].split(separator: " ")
        if let n = f.first.flatMap({ Int32($0) }) { sig = n }
        if f.count > 1 { name = String(f[1]) }
      case "task": task = parts[1]
      case "addr": addr = parts[1]
      case "pc":
        pc = Self.symbolize(parts[1], symbols)
        pcAddress = String(parts[1].prefix { $0 != " " })
      case "caller": caller = Self.symbolize(parts[1], symbols)
      case "frame": trace.append(Self.symbolize(parts[1], symbols))
      default: break
      }
    }
    signal = sig
    signalName = name
    self.task = task
    faultAddress = addr
    // The trace starts in the handler and the signal trampoline: show it
    // from the faulting function on.
    if let pc, let i = trace.firstIndex(of: pc) {
      trace = Array(trace[i...])
    } else {
      // The unwinder stopped at the bad PC: drop the handler and the
      // signal trampoline after it, keep the caller.
      if let h = trace.firstIndex(where: { $0.hasPrefix("mmn_crash_handler") }) {
        trace = Array(trace[min(trace.count, h + 2)...])
      }
      if let caller { trace.insert(caller, at: 0) }
      if let pc { trace.insert(pc, at: 0) }
    }
    if let caller, pc == nil || pc!.hasPrefix("0x") || pc!.hasPrefix("?") {
      // A call through a bad function pointer: the PC is in no object.
      function = "\(pcAddress.isEmpty ? "0x0" : pcAddress) (called from \(caller))"
    } else if let pc, !Self.isOurs(pc, symbols),
      let ours = trace.first(where: { Self.isOurs($0, symbols) })
    {
      // A trap in the Swift runtime or libc (an overflow, a failed
      // precondition): name the harness function that got there too.
      function = "\(pc) (called from \(ours))"
    } else {
      function = pc ?? trace.first ?? "?"
    }
    callTrace = trace
    // Each mm's lines are in order; merged by their stamps as dmesg would
    // show them (every mm's clock starts when it is created, all at once).
    logLines = (log ?? "").split(separator: "\n").compactMap { line in
      line.hasPrefix("log ") ? String(line.dropFirst(4)) : nil
    }.enumerated().sorted { a, b in
      let (x, y) = (a.element.prefix(14), b.element.prefix(14))
      return x == y ? a.offset < b.offset : x < y
    }.map(\.element)
  }

  /// A symbolized frame named from this executable's symbol table (its
  /// form is `name+0xoff/0xsize`).
  static func isOurs(_ frame: String, _ symbols: ELFSymbols?) -> Bool {
    symbols != nil && frame.contains("+0x") && frame.contains("/0x") && !frame.contains(".so")
  }

  /// The report in the kernel's oops shape.
  public var kernelForm: [String] {
    var out = [
      "BUG: \(signalName == "SIGSEGV" ? "unable to handle page fault" : "fatal signal \(signalName)") for address \(faultAddress)",
      "  task: \(task)",
      "  RIP: \(function)",
      "  Call Trace:",
    ]
    out += callTrace.prefix(24).map { "   \($0)" }
    if logLines.isEmpty {
      out.append("  last kernel-log lines: none (nothing logged yet, or no mm watched)")
    } else {
      out.append("  last kernel-log lines:")
      out += logLines.map { "  \($0)" }
    }
    return out
  }

  /// `0xADDR 0xBASE OBJECT|SYMBOL` -> `function+0xoff/0xsize` (or
  /// `OBJECT+0xoff` when nothing names it).
  static func symbolize(_ field: String, _ symbols: ELFSymbols?) -> String {
    let f = field.split(separator: " ", maxSplits: 2).map(String.init)
    guard f.count == 3, let addr = UInt(f[0].dropFirst(2), radix: 16),
      let base = UInt(f[1].dropFirst(2), radix: 16)
    else { return field }
    let objectAndName = f[2].split(separator: "|", maxSplits: 1).map(String.init)
    let object = objectAndName.first ?? "?"
    let dynamicName = objectAndName.count > 1 ? objectAndName[1] : "-"
    if let symbols, symbols.matches(object: object) {
      let offset = symbols.isPositionIndependent ? addr &- base : addr
      if let hit = symbols.lookup(offset) {
        return
          "\(demangle(hit.name))+0x\(String(offset - hit.start, radix: 16))/0x\(String(hit.size, radix: 16))"
      }
    }
    if dynamicName != "-" {
      return "\(demangle(dynamicName)) (\((object as NSString).lastPathComponent))"
    }
    return "\((object as NSString).lastPathComponent)+0x\(String(addr &- base, radix: 16))"
  }

  static func demangle(_ name: String) -> String {
    guard name.hasPrefix("$s") || name.hasPrefix("_$s") else { return name }
    return name.withCString { raw in
      guard let out = _swift_demangle(raw, strlen(raw), nil, nil, 0) else { return name }
      defer { free(out) }
      return shortened(String(cString: out))
    }
  }

  /// A demangled Swift name as the kernel names a function: no parameter
  /// or result types; a closure as `closure in <where it is>`.
  static func shortened(_ demangled: String) -> String {
    var name = demangled
    var prefix = ""
    if let r = name.range(of: " in ", options: .backwards) {
      prefix = "closure in "
      name = String(name[r.upperBound...])
    }
    for noise in ["variable initialization expression of ", "static "] {
      name = name.replacingOccurrences(of: noise, with: "")
    }
    if let r = name.range(of: " : ") { name = String(name[..<r.lowerBound]) }
    if let r = name.firstIndex(of: "(") { name = String(name[..<r]) }
    return prefix + name
  }
}

@_silgen_name("swift_demangle")
private func _swift_demangle(
  _ mangledName: UnsafePointer<CChar>, _ length: Int, _ outputBuffer: UnsafeMutablePointer<CChar>?,
  _ outputBufferSize: UnsafeMutablePointer<Int>?, _ flags: UInt32
) -> UnsafeMutablePointer<CChar>?

/// The function symbols of an ELF64 little-endian file's `.symtab`.
struct ELFSymbols: Sendable {
  struct Symbol: Sendable {
    let start: UInt
    let size: UInt
    let name: String
  }

  let path: String
  let isPositionIndependent: Bool
  let sorted: [Symbol]

  static let ofThisExecutable: ELFSymbols? = {
    let path =
      (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
      ?? "/proc/self/exe"
    return ELFSymbols(path: path)
  }()

  func matches(object: String) -> Bool {
    object == path || (object as NSString).resolvingSymlinksInPath == path
      || object == CommandLine.arguments.first
  }

  func lookup(_ offset: UInt) -> Symbol? {
    var lo = 0
    var hi = sorted.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if sorted[mid].start <= offset { lo = mid + 1 } else { hi = mid }
    }
    guard lo > 0 else { return nil }
    let s = sorted[lo - 1]
    return offset < s.start + max(s.size, 1) ? s : nil
  }

  init?(path: String) {
    guard let data = FileManager.default.contents(atPath: path), data.count > 64 else { return nil }
    let bytes = [UInt8](data)
    func u16(_ o: Int) -> Int { Int(bytes[o]) | Int(bytes[o + 1]) << 8 }
    func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
    func u64(_ o: Int) -> UInt { UInt(u32(o)) | UInt(u32(o + 4)) << 32 }
    // ELF64, little-endian
    guard bytes[0] == 0x7f, bytes[1] == 0x45, bytes[2] == 0x4c, bytes[3] == 0x46, bytes[4] == 2,
      bytes[5] == 1
    else { return nil }
    let type = u16(16)
    let shoff = Int(u64(0x28))
    let shentsize = u16(0x3a)
    let shnum = u16(0x3c)
    guard shoff > 0, shentsize >= 64, shoff + shnum * shentsize <= bytes.count else { return nil }
    var symbols: [Symbol] = []
    for i in 0..<shnum {
      let sh = shoff + i * shentsize
      guard u32(sh + 4) == 2 else { continue }  // SHT_SYMTAB
      let off = Int(u64(sh + 0x18))
      let size = Int(u64(sh + 0x20))
      let link = u32(sh + 0x28)
      let strSh = shoff + link * shentsize
      let strOff = Int(u64(strSh + 0x18))
      let strSize = Int(u64(strSh + 0x20))
      guard off + size <= bytes.count, strOff + strSize <= bytes.count else { continue }
      var s = off
      while s + 24 <= off + size {
        let nameOff = u32(s)
        let info = bytes[s + 4]
        let value = u64(s + 8)
        let symSize = u64(s + 16)
        s += 24
        guard info & 0xf == 2, value != 0, nameOff < strSize else { continue }  // STT_FUNC
        var end = strOff + nameOff
        while end < strOff + strSize && bytes[end] != 0 { end += 1 }
        symbols.append(
          Symbol(
            start: value, size: symSize,
            name: String(decoding: bytes[(strOff + nameOff)..<end], as: UTF8.self)))
      }
    }
    guard !symbols.isEmpty else { return nil }
    self.path = path
    isPositionIndependent = type == 3  // ET_DYN
    sorted = symbols.sorted { $0.start < $1.start }
  }
}
