/// Naive vs flash attention side by side: time, extra memory and speedup per T and thread count.
///
/// Built from the attention results of a run; also the data behind `--plot`.
public struct AttentionSummary: Sendable {
    /// One (name, T, threads) with whichever variants ran.
    public struct Row: Equatable, Sendable {
        public let name: String
        public let sequenceLength: Int
        public let threads: Int
        public let naive: BenchmarkResult?
        public let flash: BenchmarkResult?

        /// naive median / flash median, when both ran.
        public var speedup: Double? {
            guard let naive, let flash, flash.statistics.median > 0 else { return nil }
            return naive.statistics.median / flash.statistics.median
        }
    }

    public let rows: [Row]

    public init(results: [BenchmarkResult]) {
        var rows: [Row] = []
        let attention = results.filter { $0.name.hasPrefix("attention_") }
        for result in attention {
            guard let t = Self.sequenceLength(shape: result.shape),
                  !rows.contains(where: { $0.name == result.name && $0.sequenceLength == t && $0.threads == result.threads })
            else { continue }
            let same = attention.filter { $0.name == result.name && $0.shape == result.shape && $0.threads == result.threads }
            rows.append(Row(
                name: result.name, sequenceLength: t, threads: result.threads,
                naive: same.first { $0.variant == "naive" }, flash: same.first { $0.variant == "flash" }))
        }
        self.rows = rows
    }

    /// T from a "B,H,T,hs" shape.
    static func sequenceLength(shape: String) -> Int? {
        let parts = shape.split(separator: ",")
        return parts.count == 4 ? Int(parts[2]) : nil
    }

    /// The table, or "" when no attention case ran.
    public var table: String {
        guard !rows.isEmpty else { return "" }
        let titles: [(String, Int, Bool)] = [("attention", 18, true), ("T", 5, false), ("thr", 3, false),
                      ("naive ms", 10, false), ("flash ms", 10, false), ("speedup", 8, false),
                      ("naive MiB", 10, false), ("flash MiB", 10, false)]
        var lines = [titles.map { Report.pad($0.0, $0.1, left: $0.2) }.joined(separator: " ")]
        for row in rows {
            let cells: [String] = [
                row.name, "\(row.sequenceLength)", "\(row.threads)",
                row.naive.map { Report.milliseconds($0.statistics.median) } ?? "skipped",
                row.flash.map { Report.milliseconds($0.statistics.median) } ?? "-",
                row.speedup.map { Report.fixed($0, 2) + "x" } ?? "-",
                row.naive?.extraBytes.map { Report.fixed(Double($0) / 1_048_576, 2) } ?? "-",
                row.flash?.extraBytes.map { Report.fixed(Double($0) / 1_048_576, 2) } ?? "-",
            ]
            lines.append(zip(titles, cells).map { Report.pad($1, $0.1, left: $0.2) }.joined(separator: " "))
        }
        return lines.joined(separator: "\n")
    }
}
