/// The data of `--plot`: attention time and extra memory vs T, naive vs flash, for log–log charts.
///
/// Kept apart from drawing: `AttentionPlot+Chart.swift` turns these panels into a PNG.
public struct AttentionPlot: Sendable {
    /// One line: a variant's values against T.
    public struct Line: Equatable, Sendable {
        public let name: String
        public let sequenceLengths: [Double]
        public let values: [Double]
        /// Forward-only lines are drawn dashed, forward+backward solid.
        public let isForwardOnly: Bool
    }

    /// One chart: title, axis labels, lines.
    public struct Panel: Equatable, Sendable {
        public let title: String
        public let yLabel: String
        public let lines: [Line]
    }

    /// The thread count plotted (the largest that ran).
    public let threads: Int
    public let time: Panel
    public let memory: Panel

    /// Nil when the results hold no attention case.
    public init?(results: [BenchmarkResult]) {
        let rows = AttentionSummary(results: results).rows
        guard let threads = rows.map(\.threads).max() else { return nil }
        let shown = rows.filter { $0.threads == threads }
        func lines(_ value: (BenchmarkResult) -> Double?) -> [Line] {
            var lines: [Line] = []
            for name in ["attention_fwd", "attention_fwd_bwd"] {
                for variant in ["naive", "flash"] {
                    let points = shown.filter { $0.name == name }.compactMap { row -> (Double, Double)? in
                        guard let result = variant == "naive" ? row.naive : row.flash, let y = value(result) else { return nil }
                        return (Double(row.sequenceLength), y)
                    }
                    guard !points.isEmpty else { continue }
                    let label = variant + (name == "attention_fwd" ? " forward" : " forward+backward")
                    lines.append(Line(name: label, sequenceLengths: points.map(\.0), values: points.map(\.1),
                                      isForwardOnly: name == "attention_fwd"))
                }
            }
            return lines
        }
        self.threads = threads
        time = Panel(title: "attention time (\(threads) threads)", yLabel: "median ms",
                     lines: lines { $0.statistics.median * 1000 })
        memory = Panel(title: "attention extra memory", yLabel: "MiB",
                       lines: lines { $0.extraBytes.map { Double($0) / 1_048_576 } })
    }
}
