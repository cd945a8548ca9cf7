/// What `explore` explores: a small set of notifiers on one mm and the
/// operations that run concurrently on it, each on its own thread. A
/// configuration names operations, never an interleaving: the explorer
/// finds the interleavings, and it also enumerates the choices a person
/// would otherwise pick by hand (which notifier an operation targets,
/// where the refusing notifier sits in the list).
public struct ExploreConfiguration: Sendable, Hashable {
  /// A notifier's behaviour in the configuration.
  public enum Role: Sendable, Hashable {
    /// start and end, never fails; counts its open starts (KVM- or GRU-like).
    case startEnd
    /// start only; refuses its first `refusals` non-blockable starts with
    /// -EAGAIN, as c2655835fd8c requires of a notifier that can fail.
    case refusing
    /// start and end, refuses like `refusing`: a driver upstream-fix WARNs on.
    case refusingWithEnd
    /// KVM at v5.15 (drivers/KVM.swift): the memslot update waits for it.
    case kvm
    /// SGI GRU (drivers/GRU.swift): its fault sleeps until every end.
    case gru
    /// KVM at mainline (drivers/KVMMainline.swift): v6.8's begin/range_add/
    /// end; the memslot update waits for `mn_active_invalidate_count == 0`.
    case kvmMainline
    /// A driver registered with `ExploreDrivers.register` under this name:
    /// how a driver author explores their own driver.
    case driver(String)

    /// The letter the trace and the instance names use.
    var letter: String {
      switch self {
      case .startEnd: "A"
      case .refusing: "F"
      case .refusingWithEnd: "R"
      case .kvm: "K"
      case .gru: "G"
      case .kvmMainline: "M"
      case .driver: "D"
      }
    }

    public var name: String {
      switch self {
      case .startEnd: "start+end"
      case .refusing: "refusing"
      case .refusingWithEnd: "refusing+end"
      case .kvm: "kvm"
      case .gru: "gru"
      case .kvmMainline: "kvm-mainline"
      case .driver(let n): n
      }
    }
  }

  /// An interval notifier's behaviour. Intervals cover the first VMA, the
  /// `i`th from `i` pages in, so the tree walk visits them in list order.
  public enum IntervalRole: Sendable, Hashable {
    /// invalidate sets the seq under the driver's lock, never refuses.
    case plain
    /// xe userptr's two-pass notifier (v7.1) with a busy fence, so its
    /// first start defers; `nowait`: its two passes also run in a
    /// non-blockable range (xe-userptr-nowait), else it refuses them as xe
    /// does.
    case twoPass(nowait: Bool)
    /// Refuses its first `refusals` non-blockable invalidations ("would
    /// block"), as the interval users of the mm documentation do.
    case refusing
    /// An interval driver registered with `DriverRegistry` under this name.
    case driver(String)

    var letter: String {
      switch self {
      case .plain: "I"
      case .twoPass(let nowait): nowait ? "T" : "X"
      case .refusing: "Y"
      case .driver: "J"
      }
    }
  }

  /// Which notifier an operation acts on.
  public enum Target: Sendable, Hashable {
    /// The notifier at this position of the list (walk order).
    case notifier(Int)
    /// Every notifier in turn: one instance per notifier.
    case each
  }

  /// One concurrent operation, run on its own thread.
  public enum Operation: Sendable, Hashable {
    /// `oom_reap_task` (the OOM reaper: non-blockable starts).
    case oomReap
    /// munmap of the first VMA (blockable start and end).
    case munmap
    /// madvise(MADV_DONTNEED) of the first VMA: a blockable start and end
    /// (`MMU_NOTIFY_CLEAR`) under mmap_lock for read, so two of them, or one
    /// and the reaper, invalidate at once (munmap's write side serialises).
    case zap
    /// `mmu_notifier_unregister` of the target, then the driver frees it.
    case unregister(Target)
    /// `mmu_notifier_put` of the target (the free after a grace period).
    case put(Target)
    /// `mmu_notifier_register` of a new notifier with this role.
    case register(Role)
    /// `mmu_interval_notifier_remove` of interval `n`, then the driver frees it.
    case intervalRemove(Int)
    /// `mmu_interval_notifier_insert` of a new interval over the first VMA.
    case intervalInsert
    /// A driver fault on interval `n`: read_begin, then read_retry under
    /// the driver's lock, retried as drivers do (at most three times).
    case intervalFault(Int)
    /// KVM's memslot update (`install_new_memslots`) on the first KVM.
    case memslotUpdate
    /// A GRU fault on the first GRU (sleeps until no invalidation is active).
    case gruFault
    /// exit_mmap: `mmu_notifier_release`, then the OOM victim's last reap.
    case exitMmap
    /// A calibration thread: `n` scheduling points and nothing else, for
    /// checking the explorer's own counts against a count by hand.
    case steps(Int)
    /// A calibration thread for the pruned search: `n` points, each step
    /// after one writing only `object` (steps on two names commute).
    case objectSteps(Int, object: String)

    var threadName: String {
      switch self {
      case .oomReap: "oom_reaper"
      case .munmap: "munmap"
      case .zap: "madvise"
      case .unregister: "unregister"
      case .put: "put"
      case .register: "register"
      case .intervalRemove: "interval_rm"
      case .intervalInsert: "interval_ins"
      case .intervalFault: "fault"
      case .memslotUpdate: "memslot_update"
      case .gruFault: "gru_fault"
      case .exitMmap: "exit_mmap"
      case .steps, .objectSteps: "steps"
      }
    }

    var target: Target? {
      switch self {
      case .unregister(let t), .put(let t): t
      default: nil
      }
    }

    func resolving(_ index: Int) -> Operation {
      switch self {
      case .unregister: .unregister(.notifier(index))
      case .put: .put(.notifier(index))
      default: self
      }
    }
  }

  public var name: String
  public var summary: String
  /// The hlist in walk order (the core walks newest first, so the harness
  /// registers them last to first).
  public var notifiers: [Role]
  /// Interval notifiers, each over the first VMA.
  public var intervals: Int
  /// Their roles in tree-walk order (`intervals` of `.plain` by default).
  public var intervalRoles: [IntervalRole]
  /// Also try the intervals in every order of the tree walk.
  public var everyIntervalOrder: Bool
  public var operations: [Operation]
  /// Also try the first refusing notifier at every position of the list.
  public var everyRefusingPosition: Bool
  /// VMAs for the OOM reaper and munmap.
  public var vmas: Int
  /// Non-blockable starts a refusing notifier refuses before it accepts.
  public var refusals: Int
  /// The preemption bound `explore` uses when none is given. Two CPUs
  /// racing through a window inside another's critical section take more
  /// switches on one controlled CPU than two threads racing at one point.
  public var defaultBound: Int

  public init(
    name: String, summary: String, notifiers: [Role], intervals: Int = 0,
    operations: [Operation], everyRefusingPosition: Bool = false, vmas: Int = 1,
    refusals: Int = 1, defaultBound: Int = 2, intervalRoles: [IntervalRole]? = nil,
    everyIntervalOrder: Bool = false
  ) {
    self.intervalRoles = intervalRoles ?? Array(repeating: .plain, count: intervals)
    self.intervals = intervalRoles?.count ?? intervals
    self.everyIntervalOrder = everyIntervalOrder
    self.defaultBound = defaultBound
    self.name = name
    self.summary = summary
    self.notifiers = notifiers
    self.operations = operations
    self.everyRefusingPosition = everyRefusingPosition
    self.vmas = vmas
    self.refusals = refusals
  }

  /// One concrete choice of everything the configuration leaves open.
  public struct Instance: Sendable, Hashable {
    public var notifiers: [Role]
    public var operations: [Operation]
    public var index: Int
    /// The intervals in tree-walk order.
    public var intervals: [IntervalRole] = []

    /// "[A F B] oom_reaper + unregister(A)", the intervals after a bar:
    /// "[F | T Y] oom_reaper + munmap"
    public var label: String {
      let names = ExploreConfiguration.names(notifiers)
      let tree =
        intervals.isEmpty || intervals.allSatisfy({ $0 == .plain })
        ? ""
        : (names.isEmpty ? "" : " ") + "| "
          + ExploreConfiguration.intervalNames(intervals)
          .joined(separator: " ")
      let ops = operations.map { op -> String in
        switch op {
        case .unregister(.notifier(let i)): "unregister(\(names[i]))"
        case .put(.notifier(let i)): "put(\(names[i]))"
        case .register(let role): "register(\(role.letter))"
        case .intervalRemove(let i): "interval_remove(I\(i + 1))"
        case .intervalFault(let i): "fault(I\(i + 1))"
        default: op.threadName
        }
      }
      return "[\(names.joined(separator: " "))\(tree)] " + ops.joined(separator: " + ")
    }
  }

  /// Names in walk order: A, B, C for start+end notifiers, F for the
  /// refusing one (F2 for a second), K, G, R.
  static func names(_ roles: [Role]) -> [String] {
    var seen: [String: Int] = [:]
    return roles.map { role in
      if role == .startEnd {
        let n = seen["A", default: 0]
        seen["A"] = n + 1
        return String(UnicodeScalar(UInt8(65 + n)))
      }
      let n = seen[role.letter, default: 0]
      seen[role.letter] = n + 1
      return n == 0 ? role.letter : "\(role.letter)\(n + 1)"
    }
  }

  /// Interval names in walk order: the role's letter, numbered from the
  /// second of a kind (T, T2, Y).
  static func intervalNames(_ roles: [IntervalRole]) -> [String] {
    var seen: [String: Int] = [:]
    return roles.map { role in
      let n = seen[role.letter, default: 0]
      seen[role.letter] = n + 1
      return n == 0 ? role.letter : "\(role.letter)\(n + 1)"
    }
  }

  /// The interval orders to try: the given one, or every permutation.
  var intervalOrders: [[IntervalRole]] {
    guard everyIntervalOrder, intervalRoles.count > 1 else { return [intervalRoles] }
    func permutations(_ xs: [IntervalRole]) -> [[IntervalRole]] {
      guard xs.count > 1 else { return [xs] }
      return xs.indices.flatMap { i -> [[IntervalRole]] in
        var rest = xs
        let x = rest.remove(at: i)
        return permutations(rest).map { [x] + $0 }
      }
    }
    var seen = Set<[IntervalRole]>()
    return permutations(intervalRoles).filter { seen.insert($0).inserted }
  }

  /// Every instance, in a fixed order (the replay token names its index).
  public var instances: [Instance] {
    var arrangements = [notifiers]
    if everyRefusingPosition, let f = notifiers.firstIndex(where: { $0 == .refusing }) {
      var others = notifiers
      others.remove(at: f)
      arrangements = (0...others.count).map { position in
        var list = others
        list.insert(.refusing, at: position)
        return list
      }
    }
    var out: [Instance] = []
    for list in arrangements {
      var opLists: [[Operation]] = [[]]
      for op in operations {
        let choices: [Operation] =
          op.target == .each ? list.indices.map { op.resolving($0) } : [op]
        opLists = opLists.flatMap { prefix in choices.map { prefix + [$0] } }
      }
      for tree in intervalOrders {
        for ops in opLists {
          out.append(
            Instance(notifiers: list, operations: ops, index: out.count, intervals: tree))
        }
      }
    }
    return out
  }
}
