import Foundation
import Swiftlet

/// The benchmark's output: an aligned table for people and a JSON document for machines.
public struct Report: Sendable {
    public let machine: MachineProfile
    /// The same measurement taken again after the last case, if it was: how far the machine (its
    /// clock, its share of a shared VM) drifted during the run. Every "% peak" is against `machine`.
    public var machineAtEnd: MachineProfile?
    public var results: [BenchmarkResult]
    /// Cases not run, with the reason (e.g. naive attention that would not fit in memory).
    public var skipped: [(label: String, reason: String)]

    public init(machine: MachineProfile, results: [BenchmarkResult] = [], skipped: [(label: String, reason: String)] = []) {
        self.machine = machine
        self.results = results
        self.skipped = skipped
    }

    // MARK: Table

    /// Columns of the results table, with their widths and alignment.
    static let columns: [(title: String, width: Int, leftAligned: Bool)] = [
        ("name", 22, true), ("variant", 12, true), ("shape", 16, true), ("thr", 3, false),
        ("median ms", 10, false), ("min ms", 10, false), ("spread", 7, false),
        ("GFLOP/s", 8, false), ("GB/s", 7, false), ("% peak", 6, false), ("% adj", 6, false),
        ("extra MiB", 10, false), ("tokens/s", 9, false),
    ]

    /// The machine section: measured peaks per thread count.
    public var machineTable: String { Report.machineTable(machine, title: "machine (measured, ISA \(machine.isa)):") }

    /// The machine measured again at the end, if it was.
    public var machineAtEndTable: String? {
        machineAtEnd.map {
            Report.machineTable($0, title: "machine measured again after the last case (drift during the run; every % peak above is against the first measurement):")
        }
    }

    static func machineTable(_ machine: MachineProfile, title: String) -> String {
        var lines = [title, "  threads  FMA peak GFLOP/s  stream GB/s  read GB/s  write GB/s"]
        for peak in machine.peaks {
            lines.append("  " + Report.pad("\(peak.threads)", 7, left: false)
                + Report.pad(Report.fixed(peak.gflops, 1), 18, left: false)
                + Report.pad(Report.fixed(peak.gbs, 1), 13, left: false)
                + Report.pad(peak.readGbs.map { Report.fixed($0, 1) } ?? "", 11, left: false)
                + Report.pad(peak.writeGbs.map { Report.fixed($0, 1) } ?? "", 12, left: false))
        }
        return lines.joined(separator: "\n")
    }

    public static var header: String {
        let titles = columns.map { pad($0.title, $0.width, left: $0.leftAligned) }.joined(separator: " ")
        return titles + "\n" + String(repeating: "-", count: titles.count)
    }

    /// One aligned table row.
    public static func row(_ result: BenchmarkResult) -> String {
        let stats = result.statistics
        let cells: [String] = [
            result.name, result.variant ?? "", result.shape, "\(result.threads)",
            milliseconds(stats.median), milliseconds(stats.minimum),
            fixed(100 * stats.spread, 1) + "%",
            result.gflops.map { fixed($0, 1) } ?? "", result.gbs.map { fixed($0, 1) } ?? "",
            result.fractionOfPeak.map { fixed(100 * $0, 1) } ?? "",
            result.fractionOfAdjacentProbe.map { fixed(100 * $0, 1) } ?? "",
            result.extraBytes.map { fixed(Double($0) / 1_048_576, 2) } ?? "",
            result.tokensPerSecond.map { fixed($0, 0) } ?? "",
        ]
        return zip(columns, cells).map { pad($1, $0.width, left: $0.leftAligned) }.joined(separator: " ")
    }

    /// A note row for a case that did not run.
    public static func skippedRow(label: String, reason: String) -> String { "\(label): \(reason)" }

    /// The whole table: machine, results, skipped cases, attention summary.
    public var table: String {
        var lines = [machineTable, "", Report.header]
        lines += results.map(Report.row)
        if !skipped.isEmpty {
            lines.append("")
            lines += skipped.map { Report.skippedRow(label: $0.label, reason: $0.reason) }
        }
        let summary = AttentionSummary(results: results).table
        if !summary.isEmpty { lines += ["", summary] }
        if let end = machineAtEndTable { lines += ["", end] }
        return lines.joined(separator: "\n")
    }

    // MARK: JSON

    /// The JSON document: `{"machine": {...}, "results": [...]}` with null for fields that do not apply.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(JSONDocument(self))
    }

    /// Writes `json()` to `path` atomically.
    public func writeJSON(to path: String) throws {
        try AtomicFile.write(json(), to: URL(fileURLWithPath: path))
    }

    // MARK: Formatting

    static func pad(_ text: String, _ width: Int, left: Bool) -> String {
        guard text.count < width else { return text }
        let fill = String(repeating: " ", count: width - text.count)
        return left ? text + fill : fill + text
    }

    /// `value` with `digits` decimals.
    static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        return String(format: "%.\(digits)f", value)
    }

    /// Seconds as milliseconds with 3 significant decimals for short times.
    static func milliseconds(_ seconds: Double) -> String {
        let ms = seconds * 1000
        return fixed(ms, ms < 1 ? 4 : ms < 100 ? 3 : 1)
    }

    static func mebibytes(_ bytes: Int) -> String { fixed(Double(bytes) / 1_048_576, 0) }
}

/// The JSON report's layout; field names are part of the harness's contract.
struct JSONDocument: Encodable {
    struct Machine: Encodable {
        let peakGflops: Double?
        let bandwidthGbs: Double?
        let threads: Int?
        let isa: String

        enum CodingKeys: String, CodingKey {
            case peakGflops = "peak_gflops", bandwidthGbs = "bandwidth_gbs", threads, isa
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(peakGflops, forKey: .peakGflops)
            try container.encode(bandwidthGbs, forKey: .bandwidthGbs)
            try container.encode(threads, forKey: .threads)
            try container.encode(isa, forKey: .isa)
        }
    }

    struct Result: Encodable {
        let result: BenchmarkResult

        enum CodingKeys: String, CodingKey {
            case name, variant, shape, threads
            case medianMs = "median_ms", minMs = "min_ms", gflops, gbs
            case extraBytes = "extra_bytes", tokensPerSecond = "tokens_per_s"
        }

        // Explicit encode: absent values are written as null rather than left out.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(result.name, forKey: .name)
            try container.encode(result.variant, forKey: .variant)
            try container.encode(result.shape, forKey: .shape)
            try container.encode(result.threads, forKey: .threads)
            try container.encode(result.statistics.median * 1000, forKey: .medianMs)
            try container.encode(result.statistics.minimum * 1000, forKey: .minMs)
            try container.encode(result.gflops, forKey: .gflops)
            try container.encode(result.gbs, forKey: .gbs)
            try container.encode(result.extraBytes, forKey: .extraBytes)
            try container.encode(result.tokensPerSecond, forKey: .tokensPerSecond)
        }
    }

    let machine: Machine
    let results: [Result]

    init(_ report: Report) {
        let widest = report.machine.widest
        machine = Machine(
            peakGflops: widest?.gflops, bandwidthGbs: widest?.gbs, threads: widest?.threads,
            isa: report.machine.isa)
        results = report.results.map(Result.init(result:))
    }
}
