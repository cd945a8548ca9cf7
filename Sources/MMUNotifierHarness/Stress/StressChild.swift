import CSupport
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Signal names as the kernel and the shell print them.
public enum StressSignals {
  public static func name(_ sig: Int32) -> String {
    switch sig {
    case SIGINT: "SIGINT"
    case SIGTERM: "SIGTERM"
    case SIGKILL: "SIGKILL"
    case SIGSEGV: "SIGSEGV"
    case SIGBUS: "SIGBUS"
    case SIGILL: "SIGILL"
    case SIGFPE: "SIGFPE"
    case SIGABRT: "SIGABRT"
    case SIGTRAP: "SIGTRAP"
    case SIGUSR1: "SIGUSR1"
    case SIGALRM: "SIGALRM"
    default: "signal \(sig)"
    }
  }
}

// MARK: - the pipe between parent and child

/// Messages on the pipe are `TAG LEN\n` then LEN bytes. The child writes
/// each message with one lock held, so messages from its threads do not
/// interleave (the crash handler writes without it: it is the last word).
public final class ChildChannel: @unchecked Sendable {
  public let fd: Int32
  private let lock = Locked<Void>(())

  public init(fd: Int32) { self.fd = fd }

  public func send(_ tag: String, _ payload: String) {
    let bytes = Array(payload.utf8)
    let header = Array("\(tag) \(bytes.count)\n".utf8)
    lock.withLock { _ in
      Self.writeAll(fd, header)
      Self.writeAll(fd, bytes)
    }
  }

  static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    var offset = 0
    while offset < bytes.count {
      let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { return }
      offset += n
    }
  }

  /// Splits what the parent read into complete messages; returns them and
  /// the unread rest.
  static func messages(in buffer: [UInt8]) -> (messages: [(String, [UInt8])], rest: [UInt8]) {
    var out: [(String, [UInt8])] = []
    var i = 0
    while let nl = buffer[i...].firstIndex(of: UInt8(ascii: "\n")) {
      let header = String(decoding: buffer[i..<nl], as: UTF8.self)
      let parts = header.split(separator: " ")
      guard parts.count == 2, let length = Int(parts[1]), length >= 0 else {
        // Not framed: keep it as text so nothing the child said is lost.
        out.append(("text", Array(buffer[i..<nl])))
        i = nl + 1
        continue
      }
      guard buffer.count - (nl + 1) >= length else { break }
      out.append((String(parts[0]), Array(buffer[(nl + 1)..<(nl + 1 + length)])))
      i = nl + 1 + length
    }
    return (out, Array(buffer[i...]))
  }
}

// MARK: - the child's side

/// What an isolated child sets up before it runs: the crash handler on the
/// pipe, and one thread that answers SIGUSR1 (the watchdog asking where
/// every thread is) and turns SIGINT/SIGTERM into a stop request.
public enum ChildSide {
  /// Only the crash handler (a compare cell: nothing to stop or watch).
  public static func prepareCrashOnly(channel: ChildChannel) {
    mmn_crash_install(channel.fd)
  }

  public static func prepare(channel: ChildChannel, watch: StressWatch) {
    mmn_crash_install(channel.fd)
    // Blocked here, before any thread exists, so every thread inherits the
    // mask and only the waiter below takes these signals.
    var set = sigset_t()
    sigemptyset(&set)
    for sig in [SIGINT, SIGTERM, SIGUSR1] { sigaddset(&set, sig) }
    pthread_sigmask(SIG_BLOCK, &set, nil)
    let waiter = SignalWaiter(set: set, channel: channel, watch: watch)
    var tid = pthread_t()
    let raw = Unmanaged.passRetained(waiter).toOpaque()
    pthread_create(
      &tid, nil,
      { raw in
        Unmanaged<SignalWaiter>.fromOpaque(raw!).takeRetainedValue().loop()
        return nil
      }, raw)
    pthread_detach(tid)
  }

  private final class SignalWaiter: @unchecked Sendable {
    var set: sigset_t
    let channel: ChildChannel
    let watch: StressWatch

    init(set: sigset_t, channel: ChildChannel, watch: StressWatch) {
      self.set = set
      self.channel = channel
      self.watch = watch
    }

    func loop() {
      mmn_task_set_comm("stress-watch")
      while true {
        var sig: Int32 = 0
        guard sigwait(&set, &sig) == 0 else { continue }
        if sig == SIGUSR1 {
          channel.send("points", watch.report().joined(separator: "\n"))
        } else {
          watch.requestStop(signal: sig)
        }
      }
    }
  }
}

// MARK: - the parent's side

/// How an isolated child ended, and everything it said.
public struct ChildOutcome: Sendable {
  public enum End: Sendable, Equatable {
    /// It exited with this status.
    case exited(Int32)
    /// It died by this signal.
    case signaled(Int32)
    /// The watchdog ended it: no result within its time plus the margin.
    case hung(seconds: Double)
  }

  public let end: End
  /// Each message, in the order it came (`report`, `points`, `crash`...).
  public let messages: [(tag: String, text: String)]
  /// SIGINT/SIGTERM the parent received (and passed on) while it waited.
  public let interruptedBy: Int32
  /// What the child wrote to stderr.
  public let stderr: String

  public func message(_ tag: String) -> String? {
    messages.last(where: { $0.tag == tag })?.text
  }
}

/// Re-executes this binary with `arguments` (the child reads fd 3 as its
/// channel), passes SIGINT/SIGTERM on, and ends the child once `limit`
/// seconds pass without a result: first SIGUSR1 (each thread's point),
/// then SIGKILL.
public enum ChildProcess {
  /// How long a crashing or hung child gets to finish its last words.
  public static let graceSeconds = 2.0

  /// `onMessage` hears each message as it arrives (the command prints
  /// that the child is running once it says `started`).
  /// `executable`: this binary by default; `stress --kasan` names an
  /// AddressSanitizer build of it. `environment` is added to the child's.
  public static func run(
    arguments: [String], limit: Double, executable: String = "/proc/self/exe",
    environment extra: [String: String] = [:],
    onMessage: ((_ tag: String, _ text: String) -> Void)? = nil
  ) -> ChildOutcome {
    // The parent takes SIGINT/SIGTERM only through sigtimedwait below.
    var waitSet = sigset_t()
    sigemptyset(&waitSet)
    sigaddset(&waitSet, SIGINT)
    sigaddset(&waitSet, SIGTERM)
    var oldMask = sigset_t()
    pthread_sigmask(SIG_BLOCK, &waitSet, &oldMask)
    defer { pthread_sigmask(SIG_SETMASK, &oldMask, nil) }

    var channel: [Int32] = [0, 0]
    var errPipe: [Int32] = [0, 0]
    guard pipe(&channel) == 0, pipe(&errPipe) == 0 else {
      return ChildOutcome(
        end: .exited(127), messages: [("text", "pipe failed: errno \(errno)")], interruptedBy: 0,
        stderr: "")
    }
    // Only the child's dup2'd copies may survive the exec.
    for fd in channel + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    posix_spawn_file_actions_adddup2(&actions, channel[1], 3)
    posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    var empty = sigset_t()
    sigemptyset(&empty)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for sig in [SIGINT, SIGTERM, SIGUSR1, SIGPIPE] { sigaddset(&defaults, sig) }
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(
      &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

    var environment = ProcessInfo.processInfo.environment
    environment.merge(extra) { _, new in new }
    // The child's own handler reports a crash; the Swift runtime's
    // backtracer would only race it.
    environment["SWIFT_BACKTRACE"] = "enable=no"
    let argv = ([CommandLine.arguments.first ?? "mmn-harness"] + arguments).map { strdup($0) }
    let envp = environment.map { strdup("\($0.key)=\($0.value)") }
    defer {
      argv.forEach { free($0) }
      envp.forEach { free($0) }
    }
    var pid: pid_t = 0
    let rc = (argv + [nil]).withUnsafeBufferPointer { a in
      (envp + [nil]).withUnsafeBufferPointer { e in
        posix_spawn(
          &pid, executable, &actions, &attributes, UnsafeMutablePointer(mutating: a.baseAddress!),
          UnsafeMutablePointer(mutating: e.baseAddress!))
      }
    }
    posix_spawn_file_actions_destroy(&actions)
    posix_spawnattr_destroy(&attributes)
    close(channel[1])
    close(errPipe[1])
    guard rc == 0 else {
      close(channel[0])
      close(errPipe[0])
      return ChildOutcome(
        end: .exited(127), messages: [("text", "posix_spawn failed: \(rc)")], interruptedBy: 0,
        stderr: "")
    }
    return supervise(
      pid: pid, channel: channel[0], errors: errPipe[0], limit: limit, waitSet: &waitSet,
      onMessage: onMessage)
  }

  private static func supervise(
    pid: pid_t, channel: Int32, errors: Int32, limit: Double, waitSet: inout sigset_t,
    onMessage: ((String, String) -> Void)?
  ) -> ChildOutcome {
    var buffer: [UInt8] = []
    var errBuffer: [UInt8] = []
    var messages: [(tag: String, text: String)] = []
    var interrupted: Int32 = 0
    let start = Date()
    var deadline = start.addingTimeInterval(limit)
    var killAt: Date?
    var hungFor: Double?
    var channelOpen = true
    var errorsOpen = true
    var status: Int32 = 0
    var reaped = false
    var chunk = [UInt8](repeating: 0, count: 65536)

    func drain(_ fd: Int32, into buf: inout [UInt8], open: inout Bool) {
      let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n > 0 {
        buf += chunk[0..<n]
      } else if n == 0 || errno != EINTR && errno != EAGAIN {
        open = false
      }
    }

    while !(reaped && !channelOpen && !errorsOpen) {
      var fds = [
        pollfd(fd: channelOpen ? channel : -1, events: Int16(POLLIN), revents: 0),
        pollfd(fd: errorsOpen ? errors : -1, events: Int16(POLLIN), revents: 0),
      ]
      _ = poll(&fds, 2, 50)
      if fds[0].revents != 0 { drain(channel, into: &buffer, open: &channelOpen) }
      if fds[1].revents != 0 { drain(errors, into: &errBuffer, open: &errorsOpen) }
      let (complete, rest) = ChildChannel.messages(in: buffer)
      buffer = rest
      for (tag, payload) in complete {
        messages.append((tag, String(decoding: payload, as: UTF8.self)))
        onMessage?(tag, messages[messages.count - 1].text)
        // A crashing child may block on a lock in its handler: give it a
        // moment for the log lines, then end it.
        if tag == "crash" && killAt == nil { killAt = Date().addingTimeInterval(graceSeconds) }
        // The watchdog's question answered: nothing more to wait for.
        if tag == "points" && hungFor != nil { killAt = Date() }
      }

      var timeout = timespec(tv_sec: 0, tv_nsec: 0)
      let sig = sigtimedwait(&waitSet, nil, &timeout)
      if sig == SIGINT || sig == SIGTERM {
        if interrupted == 0 { interrupted = sig }
        if !reaped { kill(pid, sig) }
        // Stopping takes the teardown's time, not the run's.
        deadline = min(
          deadline, Date().addingTimeInterval(max(10, limit - Date().timeIntervalSince(start))))
      }

      if !reaped {
        let w = waitpid(pid, &status, WNOHANG)
        if w == pid { reaped = true }
      }
      let now = Date()
      if !reaped && hungFor == nil && now >= deadline {
        hungFor = now.timeIntervalSince(start)
        kill(pid, SIGUSR1)
        killAt = now.addingTimeInterval(graceSeconds)
      }
      if !reaped, let k = killAt, now >= k {
        kill(pid, SIGKILL)
        killAt = nil
      }
      if reaped && (channelOpen || errorsOpen) {
        // Whatever is still in the pipes was written before the exit.
        if channelOpen { drainAll(channel, into: &buffer) }
        if errorsOpen { drainAll(errors, into: &errBuffer) }
        channelOpen = false
        errorsOpen = false
        let (last, _) = ChildChannel.messages(in: buffer)
        for (tag, payload) in last {
          messages.append((tag, String(decoding: payload, as: UTF8.self)))
        }
        buffer = []
      }
    }
    close(channel)
    close(errors)
    let end: ChildOutcome.End
    if let hungFor, messages.last(where: { $0.tag == "report" }) == nil,
      messages.last(where: { $0.tag == "crash" }) == nil
    {
      end = .hung(seconds: hungFor)
    } else if (status & 0x7f) == 0 {
      end = .exited((status >> 8) & 0xff)
    } else {
      end = .signaled(status & 0x7f)
    }
    return ChildOutcome(
      end: end, messages: messages, interruptedBy: interrupted,
      stderr: String(decoding: errBuffer, as: UTF8.self))
  }

  private static func drainAll(_ fd: Int32, into buf: inout [UInt8]) {
    let flags = fcntl(fd, F_GETFL)
    _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n <= 0 { return }
      buf += chunk[0..<n]
    }
  }
}
