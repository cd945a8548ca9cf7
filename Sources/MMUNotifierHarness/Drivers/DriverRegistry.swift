import Synchronization

/// A part a built-in scenario casts a driver in. Each scenario names the
/// roles it has (`RoleScenario.roles`) and plays each with a default
/// driver (KVM, the flaky notifier, GRU ...) unless it is given another.
public enum ScenarioRole: String, Sendable, CaseIterable, Hashable {
  /// Implements start and end, never refuses, and expects an end for every
  /// start that succeeded (KVM's `mmu_notifier_count` by default): the
  /// notifier a missing end, an end without start or a double end hurts.
  case victim
  /// Start only; refuses some non-blockable starts with -EAGAIN (the flaky
  /// notifier Sean added to KVM by default). A driver in this role decides
  /// itself which starts it refuses.
  case refusingNeighbour = "refusing-neighbour"
  /// Implements end too, and refuses non-blockable starts (seed 001's
  /// failing notifier with an end by default): the one the merged fix WARNs
  /// about and some fixes send an end without a start.
  case refusingWithEnd = "refusing-with-end"
  /// Start and end, never refuses, in the traversal beside the victim (GRU
  /// by default).
  case neighbour
  /// A two-pass interval notifier (v7.1 `->invalidate_start` and
  /// `->invalidate_finish`; xe userptr by default) whose deferred starts
  /// each expect exactly one finish. Played by an interval driver
  /// (`RegisteredDriver(name:roles:interval:)`).
  case twoPassInterval = "two-pass-interval"

  /// One line: what a driver in this role must do.
  public var meaning: String {
    switch self {
    case .victim: "start+end, never refuses, expects an end for every successful start"
    case .refusingNeighbour: "start only, refuses some non-blockable starts with -EAGAIN"
    case .refusingWithEnd: "start+end, refuses non-blockable starts with -EAGAIN"
    case .neighbour: "start+end, never refuses, traversed beside the victim"
    case .twoPassInterval:
      "a two-pass interval notifier: every deferred start expects exactly one finish"
    }
  }
}

/// A driver registered by name: how to make a fresh one for an mm, and the
/// scenario roles it fits.
public struct RegisteredDriver: Sendable {
  public typealias Factory = @Sendable (_ mm: MM, _ name: String) -> any Notifier
  public typealias IntervalFactory = @Sendable (_ mm: MM, _ name: String) -> any IntervalNotifier

  public let name: String
  /// The roles `compare --driver NAME` casts it in; empty: explore only.
  public let roles: Set<ScenarioRole>
  /// An hlist driver's factory. For an interval driver it makes an inert
  /// notifier with no callbacks (an interval driver has no hlist half).
  public let make: Factory
  /// An interval driver's factory (nil for an hlist driver).
  public let makeInterval: IntervalFactory?

  public init(name: String, roles: Set<ScenarioRole>, make: @escaping Factory) {
    self.name = name
    self.roles = roles
    self.make = make
    makeInterval = nil
  }

  /// An interval driver (`mmu_interval_notifier_ops`), e.g. a two-pass one.
  public init(name: String, roles: Set<ScenarioRole>, interval: @escaping IntervalFactory) {
    self.name = name
    self.roles = roles
    self.make = { _, instance in InertNotifier(symbol: "\(instance)_has_no_hlist_half") }
    makeInterval = interval
  }

  public var isInterval: Bool { makeInterval != nil }

  /// Its roles in `ScenarioRole`'s order.
  public var orderedRoles: [ScenarioRole] { ScenarioRole.allCases.filter(roles.contains) }
}

/// Drivers by name, registered once per process and made fresh for every
/// run: explore configurations name them with `.driver(name)`, and
/// `compare --driver NAME` casts them in every role of a built-in scenario
/// they fit. A package that brings its own driver registers it before the
/// CLI parses its arguments (`HarnessCLI.main(drivers:)` does that), so a
/// compare cell's child, the same binary, has it too.
public enum DriverRegistry {
  public typealias Factory = RegisteredDriver.Factory
  static let table = Mutex<[String: RegisteredDriver]>(
    Dictionary(uniqueKeysWithValues: builtIn.map { ($0.name, $0) }))

  /// The drivers the harness registers itself: today's kernel's, which no
  /// built-in scenario plays by default on the v5.11 base.
  public static let builtIn: [RegisteredDriver] = [
    // mainline KVM (v6.8+): begin/range_add/end, mn_active_invalidate_count
    RegisteredDriver(name: KVMMainline.driverName, roles: [.victim]) { mm, name in
      KVMMainline(mm: mm, name: name)
    },
    // xe userptr's two-pass interval notifier (v7.1): refuses non-blockable ranges
    RegisteredDriver(
      name: XeUserptr.driverName, roles: [.twoPassInterval],
      interval: { mm, name in
        XeUserptr(mm: mm, name: name)
      }),
    // the same two passes allowed in a non-blockable range (counterfactual)
    RegisteredDriver(
      name: XeUserptr.nowaitDriverName, roles: [.twoPassInterval],
      interval: { mm, name in XeUserptr(mm: mm, name: name, refusesNonBlockable: false) }),
  ]

  /// Registers (or replaces) the driver `name`, fitting `roles`.
  public static func register(
    _ name: String, roles: Set<ScenarioRole> = [], _ make: @escaping Factory
  ) {
    register(RegisteredDriver(name: name, roles: roles, make: make))
  }

  /// Registers (or replaces) `driver` under its name.
  public static func register(_ driver: RegisteredDriver) {
    table.withLock { $0[driver.name] = driver }
  }

  public static var names: [String] { table.withLock { $0.keys.sorted() } }

  /// The driver `name`, or an error that lists the registered ones.
  public static func driver(named name: String) throws(HarnessInputError) -> RegisteredDriver {
    guard let driver = table.withLock({ $0[name] }) else {
      throw HarnessInputError.unknown(
        kind: "driver", name: name, valid: names.isEmpty ? ["(none registered)"] : names)
    }
    return driver
  }

  static func make(_ name: String, mm: MM, name instance: String) -> (any Notifier)? {
    table.withLock { $0[name] }?.make(mm, instance)
  }

  static func makeInterval(_ name: String, mm: MM, name instance: String)
    -> (any IntervalNotifier)?
  {
    table.withLock { $0[name] }?.makeInterval?(mm, instance)
  }
}

/// The registry's first name, kept for explore code written against it.
public typealias ExploreDrivers = DriverRegistry

/// Which registered driver plays which role in one scenario run; every
/// role not cast keeps the scenario's default driver.
public struct ScenarioCast: Sendable {
  public private(set) var drivers: [ScenarioRole: RegisteredDriver] = [:]

  public init() {}

  public init(_ driver: RegisteredDriver, as role: ScenarioRole) {
    drivers[role] = driver
  }

  public var isEmpty: Bool { drivers.isEmpty }

  /// The cast driver for `role` made for `mm` (named `name`), or nil for
  /// the scenario's default.
  public func make(_ role: ScenarioRole, mm: MM, name: String) -> (any Notifier)? {
    drivers[role].map { $0.make(mm, name) }
  }

  /// The cast interval driver for `role`, or nil for the scenario's
  /// default (also when the cast driver is an hlist one).
  public func makeInterval(_ role: ScenarioRole, mm: MM, name: String) -> (any IntervalNotifier)? {
    drivers[role]?.makeInterval?(mm, name)
  }

  /// `id`, or `id:role=driver` when a role is cast: the compare row and
  /// cell of this cast.
  public func id(_ base: String) -> String {
    ([base]
      + ScenarioRole.allCases.compactMap { r in drivers[r].map { "\(r.rawValue)=\($0.name)" } })
      .joined(separator: ":")
  }

  /// `setup` with the cast named.
  public func setup(_ base: String) -> String {
    let cast = ScenarioRole.allCases.compactMap { r in
      drivers[r].map { "\($0.name) as \(r.rawValue)" }
    }
    return cast.isEmpty ? base : "\(base) [\(cast.joined(separator: ", "))]"
  }
}

/// A built-in scenario whose notifiers play roles another driver can take.
public protocol RoleScenario: Scenario {
  /// The roles, in the order `setup` names them.
  var roles: [ScenarioRole] { get }
  /// Who plays which role (empty: the defaults).
  var cast: ScenarioCast { get set }
}

extension RoleScenario {
  /// This scenario with `driver` in `role`.
  public func casting(_ driver: RegisteredDriver, as role: ScenarioRole) -> Self {
    var copy = self
    copy.cast = ScenarioCast(driver, as: role)
    return copy
  }
}

extension ScenarioCatalog {
  /// Every (scenario, role) of `scenarios` that `driver` fits, each as
  /// the scenario with `driver` in that role, in catalog then role order.
  public static func casts(of driver: RegisteredDriver, in scenarios: [any Scenario] = all)
    -> [any Scenario]
  {
    scenarios.flatMap { scenario -> [any Scenario] in
      guard let roleScenario = scenario as? any RoleScenario else { return [] }
      return roleScenario.roles.filter(driver.roles.contains).map {
        roleScenario.casting(driver, as: $0)
      }
    }
  }
}

extension ScenarioCast {
  /// A cast driver's own ledger, summed over its subscriptions, as metrics
  /// named after its role (`victim_ends`, `victim_missing_ends` ...); empty
  /// when `role` keeps its default, whose own metrics the scenario reports.
  public func metrics(_ role: ScenarioRole, _ subscriptions: [Subscription]) -> [Metric] {
    guard drivers[role] != nil else { return [] }
    var total = LedgerCounts()
    for ledger in subscriptions.map(\.ledger) {
      total.starts += ledger.starts
      total.startsFailed += ledger.startsFailed
      total.ends += ledger.ends
      total.missingEnds += ledger.missingEnds
      total.endsWithoutStart += ledger.endsWithoutStart
      total.duplicateEnds += ledger.duplicateEnds
    }
    let prefix = String(role.rawValue.map { $0 == "-" ? "_" : $0 })
    return [
      .int("\(prefix)_starts", total.starts), .int("\(prefix)_starts_failed", total.startsFailed),
      .int("\(prefix)_ends", total.ends), .int("\(prefix)_missing_ends", total.missingEnds),
      .int("\(prefix)_ends_without_start", total.endsWithoutStart),
      .int("\(prefix)_duplicate_ends", total.duplicateEnds),
    ]
  }
}
