import Foundation
import MMUNotifierHarness

/// Merges the JSON reports of `explore --shard K/N` runs into the report
/// one unsharded run would print: schedules and executions add up, a cell
/// is exhaustive only if every shard 1..N of it is there exactly once and
/// exhaustive, and the first shard's violation (by shard order) is kept.
enum ExploreMerge {
  struct Cell {
    var variant: String
    var config: String
    var strategy: String
    var bound: Int64?
    var schedules: Int64 = 0
    var pruned: Int64 = 0
    var executions: Int64 = 0
    var seconds: Double = 0
    var allExhaustive = true
    var shards: [Int64: Bool] = [:]
    var shardCount: Int64?
    var violation: (shard: Int64, value: Any)?
  }

  static func merge(_ reports: [Data]) throws(HarnessInputError) -> JSONValue {
    var cells: [String: Cell] = [:]
    var order: [String] = []
    for (i, data) in reports.enumerated() {
      guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
        let results = root["results"] as? [[String: Any]]
      else {
        throw .invalid(
          "--merge: report \(i + 1) is not explore's JSON; valid: explore --format json output")
      }
      for r in results {
        guard let variant = r["variant"] as? String, let config = r["config"] as? String,
          let strategy = r["strategy"] as? String
        else { throw .invalid("--merge: report \(i + 1) has a result without variant/config") }
        let key = "\(variant)\u{0}\(config)"
        if cells[key] == nil {
          cells[key] = Cell(variant: variant, config: config, strategy: strategy)
          order.append(key)
        }
        var cell = cells[key]!
        cell.bound = (r["bound"] as? NSNumber)?.int64Value
        cell.schedules += (r["schedules"] as? NSNumber)?.int64Value ?? 0
        cell.pruned += (r["pruned"] as? NSNumber)?.int64Value ?? 0
        cell.executions += (r["executions"] as? NSNumber)?.int64Value ?? 0
        cell.seconds += (r["seconds"] as? NSNumber)?.doubleValue ?? 0
        cell.allExhaustive = cell.allExhaustive && ((r["exhaustive"] as? Bool) ?? false)
        let shard = r["shard"] as? [String: Any]
        let index = (shard?["index"] as? NSNumber)?.int64Value ?? 0
        let count = (shard?["count"] as? NSNumber)?.int64Value ?? 1
        if let known = cell.shardCount, known != count {
          throw .invalid(
            "--merge: \(variant) on \(config) mixes shard counts \(known) and \(count)")
        }
        cell.shardCount = count
        if cell.shards[index] != nil {
          throw .invalid("--merge: \(variant) on \(config) has shard \(index + 1)/\(count) twice")
        }
        cell.shards[index] = true
        if let v = r["violation"], !(v is NSNull), cell.violation.map({ index < $0.shard }) ?? true
        {
          cell.violation = (index, v)
        }
        cells[key] = cell
      }
    }
    return .object([
      (
        "results",
        .array(
          order.map { key in
            let c = cells[key]!
            let complete = c.shards.count == Int(c.shardCount ?? 1)
            return .object([
              ("variant", .string(c.variant)), ("config", .string(c.config)),
              ("strategy", .string(c.strategy)),
              ("bound", c.bound.map { .int($0) } ?? .null),
              ("exhaustive", .bool(c.allExhaustive && complete && c.violation == nil)),
              ("schedules", .int(c.schedules)), ("pruned", .int(c.pruned)),
              ("executions", .int(c.executions)),
              ("seconds", .double(c.seconds)),
              ("shards", .int(Int64(c.shards.count))),
              ("violation", c.violation.map { json($0.value) } ?? .null),
            ])
          })
      )
    ])
  }

  static func json(_ any: Any) -> JSONValue {
    switch any {
    case let s as String: return .string(s)
    case let n as NSNumber:
      return n.doubleValue == Double(n.int64Value) ? .int(n.int64Value) : .double(n.doubleValue)
    case let a as [Any]: return .array(a.map(json))
    case let d as [String: Any]:
      // the report's own key order, for the fields explore writes
      let known = [
        "invariant", "preemptions", "instance", "detail", "replay", "trace", "kernel_log",
      ]
      let keys = known.filter { d[$0] != nil } + d.keys.filter { !known.contains($0) }.sorted()
      return .object(keys.map { ($0, json(d[$0]!)) })
    default: return .null
    }
  }
}
