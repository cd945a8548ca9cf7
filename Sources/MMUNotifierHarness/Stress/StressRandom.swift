/// The stress run's random choices: xoshiro256** seeded through SplitMix64,
/// one generator per thread, so a seed reproduces every thread's sequence of
/// choices (the interleaving of threads is the scheduler's and is not).
public struct StressRandom: RandomNumberGenerator, Sendable {
  private var s0, s1, s2, s3: UInt64

  /// The generator for stream `stream` (a thread's index) of run `seed`.
  public init(seed: UInt64, stream: UInt64 = 0) {
    var mixer = seed ^ (stream &* 0x9E37_79B9_7F4A_7C15)
    s0 = Self.splitMix(&mixer)
    s1 = Self.splitMix(&mixer)
    s2 = Self.splitMix(&mixer)
    s3 = Self.splitMix(&mixer)
  }

  public mutating func next() -> UInt64 {
    let result = Self.rotl(s1 &* 5, 7) &* 9
    let t = s1 << 17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = Self.rotl(s3, 45)
    return result
  }

  /// True with probability `p` (0 never, 1 always).
  public mutating func chance(_ p: Double) -> Bool {
    Self.below(next(), p)
  }

  /// A stateless draw for callbacks that run on many threads at once: the
  /// `n`-th decision of a notifier seeded with `seed` is the same in every
  /// run, whichever thread makes it.
  public static func decision(seed: UInt64, n: UInt64, probability p: Double) -> Bool {
    var state = seed &+ n &* 0x9E37_79B9_7F4A_7C15
    return below(splitMix(&state), p)
  }

  static func below(_ x: UInt64, _ p: Double) -> Bool {
    if p <= 0 { return false }
    if p >= 1 { return true }
    // 53 random bits as a double in [0, 1)
    return Double(x >> 11) * 0x1p-53 < p
  }

  static func splitMix(_ state: inout UInt64) -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
