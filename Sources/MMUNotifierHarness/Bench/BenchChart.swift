#if canImport(Glibc)
  import Glibc
#endif

/// `bench --chart FILE.svg`: ns per notifier against N on log-log axes,
/// one line per variant and flavour (colour: variant; dash: flavour), each
/// labelled at its right end, and the floor in grey.
///
/// A flat line means the cost per subscription does not depend on N (the
/// fixed cost per invalidation is amortised); lines falling from the left
/// show that fixed cost (the SRCU read side, the calls into the core)
/// spread over few subscriptions.
public enum BenchChart {
  static let width = 1000.0
  static let height = 640.0
  static let plotLeft = 90.0
  static let plotTop = 78.0
  static let plotRight = width - 250.0
  static let plotBottom = height - 72.0

  static let variantColors = [
    "#000000", "#E69F00", "#0072B2", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#8C6D1F",
  ]
  static let flavorDashes: [RCUFlavor: String] = [
    .memb: "", .mb: "9 4", .qsbr: "2 4", .bp: "12 4 3 4",
  ]

  struct Series {
    let label: String
    let color: String
    let dash: String
    let width: Double
    var points: [(n: Int, value: Double)]
  }

  /// The chart of the success path with the ledger off, for C callbacks
  /// (Swift drivers when no C rows were measured).
  public static func svg(_ report: BenchReport) -> String {
    let driver: BenchDriver = report.rows.contains { $0.driver == .c } ? .c : .swift
    let rows = report.rows.filter { $0.path == .success && !$0.ledger && $0.driver == driver }
    var series: [Series] = []
    var keys: [String] = []
    var byKey: [String: Int] = [:]
    for r in rows {
      let key = "\(r.variant.id) · \(r.flavor)"
      if byKey[key] == nil {
        byKey[key] = series.count
        keys.append(key)
        series.append(
          Series(
            label: key, color: variantColors[Int(r.variant.index) % variantColors.count],
            dash: flavorDashes[r.flavor] ?? "", width: 2, points: []))
      }
      series[byKey[key]!].points.append((r.notifiers, r.nsPerNotifier))
    }
    // One floor line: the floor takes no RCU, so its flavour groups are
    // repeats of one measurement; their median is drawn.
    let floorsByN = Dictionary(
      grouping: report.floors.filter { $0.driver == driver }, by: \.notifiers)
    if !floorsByN.isEmpty {
      series.append(
        Series(
          label: "floor (plain C loop)", color: "#9A9A9A", dash: "4 3", width: 4,
          points: floorsByN.keys.sorted().map { n in
            (n, BenchStatistics.median(floorsByN[n]!.map(\.nsPerNotifier)))
          }))
    }
    for i in series.indices { series[i].points.sort { $0.n < $1.n } }
    return render(series, report: report, driver: driver)
  }

  static func render(_ series: [Series], report: BenchReport, driver: BenchDriver) -> String {
    let ns = series.flatMap { $0.points.map(\.n) }
    let values = series.flatMap { $0.points.map(\.value) }.filter { $0 > 0 }
    var svg: [String] = []
    svg.append(
      """
      <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
      viewBox="0 0 \(Int(width)) \(Int(height))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
      <rect width="100%" height="100%" fill="#ffffff"/>
      """)
    let m = report.machine
    svg.append(
      text(
        plotLeft, 30,
        "ns per notifier vs N: invalidate_range_start_nonblock + end, success path, "
          + "\(driver == .c ? "C" : "Swift") no-op callbacks, ledger off",
        size: 15, weight: "bold"))
    svg.append(
      text(
        plotLeft, 50,
        "\(m.cpus) × \(m.cpuModel), Linux \(m.kernel), liburcu \(m.liburcuVersion ?? "?"), "
          + "\(m.build) build, median of \(report.plan.samples) samples. Colour: variant; dash: flavour.",
        size: 11, fill: "#444444"))
    guard let nMin = ns.min(), let nMax = ns.max(), let vMin = values.min(), let vMax = values.max()
    else {
      svg.append(text(plotLeft, 120, "no success-path rows with the ledger off to draw", size: 13))
      svg.append("</svg>")
      return svg.joined(separator: "\n")
    }

    // x: log2 of N, padded by half a step each side
    let x0 = log2(Double(nMin)) - 0.5
    let x1 = log2(Double(nMax)) + 0.5
    func x(_ n: Int) -> Double {
      plotLeft + (log2(Double(n)) - x0) / (x1 - x0) * (plotRight - plotLeft)
    }
    // y: log10, between "nice" values (1, 2, 5 × 10^k) just outside the data
    let y0 = log10(niceBelow(vMin / 1.08))
    let y1 = log10(niceAbove(vMax * 1.08))
    func y(_ v: Double) -> Double {
      plotBottom - (log10(v) - y0) / (y1 - y0) * (plotBottom - plotTop)
    }

    // grid and axes
    svg.append(
      "<rect x=\"\(f(plotLeft))\" y=\"\(f(plotTop))\" width=\"\(f(plotRight - plotLeft))\" "
        + "height=\"\(f(plotBottom - plotTop))\" fill=\"none\" stroke=\"#333333\"/>")
    let wide = y1 - y0 > 2.2
    for decade in Int(y0.rounded(.down))...Int(y1.rounded(.up)) {
      for mult in 1...9 {
        let v = Double(mult) * pow10(Double(decade))
        let lv = log10(v)
        guard lv >= y0 - 1e-9, lv <= y1 + 1e-9 else { continue }
        let yy = y(v)
        let major = mult == 1
        let labelled = major || (!wide && (mult == 2 || mult == 5))
        svg.append(
          line(plotLeft, yy, plotRight, yy, stroke: labelled ? "#CCCCCC" : "#EFEFEF", width: 1))
        if labelled {
          svg.append(text(plotLeft - 8, yy + 4, number(v), size: 11, anchor: "end"))
        }
      }
    }
    var n = nMin
    while n <= nMax {
      let xx = x(n)
      svg.append(line(xx, plotTop, xx, plotBottom, stroke: "#EFEFEF", width: 1))
      svg.append(text(xx, plotBottom + 18, String(n), size: 11, anchor: "middle"))
      n *= 2
    }
    svg.append(
      text(
        (plotLeft + plotRight) / 2, plotBottom + 42,
        "N: subscriptions on the mm's hlist (log scale)", size: 12, anchor: "middle"))
    svg.append(
      "<text transform=\"translate(24 \(f((plotTop + plotBottom) / 2))) rotate(-90)\" "
        + "font-size=\"12\" text-anchor=\"middle\">ns per notifier (log scale)</text>")

    // lines, floor first so the variants draw over it
    let ordered =
      series.filter { $0.label.hasPrefix("floor") } + series.filter { !$0.label.hasPrefix("floor") }
    for s in ordered {
      let pts = s.points.map { "\(f(x($0.n))),\(f(y($0.value)))" }.joined(separator: " ")
      svg.append(
        "<polyline points=\"\(pts)\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"\(f(s.width))\""
          + (s.dash.isEmpty ? "" : " stroke-dasharray=\"\(s.dash)\"")
          + " stroke-linejoin=\"round\" stroke-linecap=\"round\"/>")
      for p in s.points {
        svg.append(
          "<circle cx=\"\(f(x(p.n)))\" cy=\"\(f(y(p.value)))\" r=\"2.6\" fill=\"\(s.color)\"/>")
      }
    }

    // labels at the right, spread so they never overlap, with leaders
    let spacing = 15.0
    var labels = series.compactMap { s -> (Series, Double, Double)? in
      guard let last = s.points.last else { return nil }
      return (s, x(last.n), y(last.value))
    }.sorted { $0.2 < $1.2 }
    var placed: [Double] = []
    for (i, l) in labels.enumerated() {
      let want = max(l.2, (placed.last ?? -Double.infinity) + spacing)
      placed.append(want)
      _ = i
    }
    // push back up if the stack ran off the bottom
    let overflow = (placed.last ?? 0) - (height - 12)
    if overflow > 0 {
      for i in placed.indices { placed[i] -= overflow }
      for i in stride(from: placed.count - 2, through: 0, by: -1)
      where placed[i] > placed[i + 1] - spacing {
        placed[i] = placed[i + 1] - spacing
      }
    }
    let labelX = plotRight + 34
    for (i, l) in labels.enumerated() {
      let (s, px, py) = l
      let ly = placed[i]
      svg.append(line(px, py, plotRight + 4, ly, stroke: "#B0B0B0", width: 0.8))
      svg.append(
        "<line x1=\"\(f(plotRight + 6))\" y1=\"\(f(ly))\" x2=\"\(f(labelX - 4))\" y2=\"\(f(ly))\" "
          + "stroke=\"\(s.color)\" stroke-width=\"\(f(min(s.width, 3)))\""
          + (s.dash.isEmpty ? "" : " stroke-dasharray=\"\(s.dash)\"") + "/>")
      svg.append(
        text(labelX, ly + 4, s.label, size: 11, fill: s.color == "#9A9A9A" ? "#666666" : s.color))
    }
    labels.removeAll()
    svg.append("</svg>")
    return svg.joined(separator: "\n")
  }

  // MARK: helpers

  static func f(_ d: Double) -> String { format(d, 1) }

  /// The largest of 1, 2, 5 × 10^k not above v.
  static func niceBelow(_ v: Double) -> Double {
    let e = log10(v).rounded(.down)
    let base = pow10(e)
    return [5.0, 2, 1].map { $0 * base }.first { $0 <= v } ?? base
  }

  /// The smallest of 1, 2, 5 × 10^k not below v.
  static func niceAbove(_ v: Double) -> Double {
    let e = log10(v).rounded(.down)
    let base = pow10(e)
    return [1.0, 2, 5, 10].map { $0 * base }.first { $0 >= v } ?? 10 * base
  }

  static func number(_ v: Double) -> String {
    v >= 1 ? String(Int64(v.rounded())) : format(v, v >= 0.1 ? 1 : 2)
  }

  static func text(
    _ x: Double, _ y: Double, _ s: String, size: Int, anchor: String = "start",
    weight: String = "normal", fill: String = "#222222"
  ) -> String {
    "<text x=\"\(f(x))\" y=\"\(f(y))\" font-size=\"\(size)\" text-anchor=\"\(anchor)\" "
      + "font-weight=\"\(weight)\" fill=\"\(fill)\">\(escape(s))</text>"
  }

  static func line(
    _ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width: Double
  ) -> String {
    "<line x1=\"\(f(x1))\" y1=\"\(f(y1))\" x2=\"\(f(x2))\" y2=\"\(f(y2))\" "
      + "stroke=\"\(stroke)\" stroke-width=\"\(f(width))\"/>"
  }

  static func escape(_ s: String) -> String {
    s.replacingAll("&", "&amp;").replacingAll("<", "&lt;").replacingAll(">", "&gt;")
  }

  static func pow10(_ e: Double) -> Double { pow(10, e) }
}

extension String {
  fileprivate func replacingAll(_ target: Character, _ replacement: String) -> String {
    var out = ""
    for c in self { if c == target { out += replacement } else { out.append(c) } }
    return out
  }
}
