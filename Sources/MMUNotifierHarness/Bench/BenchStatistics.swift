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

  /// (p90 - p10) / median: how widely a row's batches spread, a fraction.
  static func spread(_ values: [Double]) -> Double {
    let m = median(values)
    guard m > 0 else { return 0 }
    return (percentile(values, 0.9) - percentile(values, 0.1)) / m
  }

  /// Twice the standard error of `medianRatio(a, b)`: 2 x 1.2533 x sigma /
  /// sqrt(n), with sigma estimated robustly from the per-round ratios'
  /// 16th-84th percentiles. A difference smaller than this is within the
  /// row's own sampling noise.
  static func medianRatioError(_ a: [Double], _ b: [Double]) -> Double? {
    let ratios = zip(a, b).compactMap { x, y in y > 0 ? x / y : nil }
    guard ratios.count >= 3 else { return nil }
    let sigma = (percentile(ratios, 0.84) - percentile(ratios, 0.16)) / 2
    return 2 * 1.2533 * sigma / Double(ratios.count).squareRoot()
  }
}
