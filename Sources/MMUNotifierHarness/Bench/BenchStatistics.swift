/// Order statistics for benchmark samples: medians resist the outliers a
/// shared machine produces; min and max show how wide the spread was.
enum BenchStatistics {
  static func median(_ values: [Double]) -> Double {
    percentile(values, 0.5)
  }

  /// Linear interpolation between the closest ranks.
  static func percentile(_ values: [Double], _ p: Double) -> Double {
    precondition(!values.isEmpty)
    let sorted = values.sorted()
    let rank = p * Double(sorted.count - 1)
    let lo = Int(rank.rounded(.down))
    let hi = Int(rank.rounded(.up))
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - Double(lo))
  }

  /// The median of element-wise ratios: each pair was measured moments
  /// apart, so slow phases of the machine cancel out.
  static func medianRatio(_ a: [Double], _ b: [Double]) -> Double? {
    let ratios = zip(a, b).compactMap { x, y in y > 0 ? x / y : nil }
    return ratios.isEmpty ? nil : median(ratios)
  }
}
