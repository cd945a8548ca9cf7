import CSupport

/// What one step touched (`struct mmn_xp_footprint`, explore/sched.c):
/// named objects, each read or written, or `unknown` (dependent with every
/// step). Kept by the bounded search so that a thread's step explored in
/// one execution can put it to sleep in the next (sleep sets).
struct ExploreFootprint: Sendable, Hashable {
  var unknown: Bool
  var objects: [UInt16]
  var writes: [Bool]

  init(_ c: mmn_xp_footprint) {
    var c = c
    unknown = c.unknown
    let n = Int(c.n)
    objects = withUnsafeBytes(of: &c.obj) { Array($0.bindMemory(to: UInt16.self).prefix(n)) }
    writes = withUnsafeBytes(of: &c.write) {
      $0.bindMemory(to: UInt8.self).prefix(n).map { $0 != 0 }
    }
  }

  var c: mmn_xp_footprint {
    var f = mmn_xp_footprint()
    f.unknown = unknown
    f.n = UInt8(objects.count)
    withUnsafeMutableBytes(of: &f.obj) { raw in
      let p = raw.bindMemory(to: UInt16.self)
      for (i, o) in objects.enumerated() { p[i] = o }
    }
    withUnsafeMutableBytes(of: &f.write) { raw in
      let p = raw.bindMemory(to: UInt8.self)
      for (i, w) in writes.enumerated() { p[i] = w ? 1 : 0 }
    }
    return f
  }

  /// Whether two steps commute (the scheduler's own test).
  func independent(of other: ExploreFootprint) -> Bool {
    var a = c
    var b = other.c
    return mmn_xp_independent(&a, &b) != 0
  }
}

/// A sleeper for the scheduler: at `decision`, `thread` sleeps with `step`.
struct ExploreSleeper: Sendable, Hashable {
  var decision: UInt32
  var thread: UInt32
  var step: ExploreFootprint
}
