import Swiftlet

/// `--plot`: attention time and peak memory vs T, naive vs flash, forward and forward+backward,
/// drawn on log–log axes by the Pictures module's `AttentionBenchmarkPlot`.
public enum AttentionSweepPlot {
    /// One series per (variant, direction) at the largest thread count that ran; NaN marks a T
    /// that did not run (naive skipped for memory). Peak memory is the buffers one call holds:
    /// q, k, v, out (and their gradients) plus the algorithm's extra bytes.
    public static func series(results: [BenchmarkResult]) -> [AttentionBenchmarkPlot.Series] {
        let rows = AttentionSummary(results: results).rows
        guard let threads = rows.map(\.threads).max() else { return [] }
        let shown = rows.filter { $0.threads == threads }
        var series: [AttentionBenchmarkPlot.Series] = []
        for (name, direction) in [("attention_fwd_bwd", "forward+backward"), ("attention_fwd", "forward")] {
            let lengths = shown.filter { $0.name == name }.map(\.sequenceLength)
            guard !lengths.isEmpty else { continue }
            for variant in ["naive", "flash"] {
                let measured = lengths.map { t -> BenchmarkResult? in
                    let row = shown.first { $0.name == name && $0.sequenceLength == t }
                    return variant == "naive" ? row?.naive : row?.flash
                }
                guard measured.contains(where: { $0 != nil }) else { continue }
                let backward = name == "attention_fwd_bwd"
                series.append(AttentionBenchmarkPlot.Series(
                    name: "\(variant) \(direction), \(threads) thr",
                    sequenceLengths: lengths.map(Double.init),
                    milliseconds: measured.map { $0.map { $0.statistics.median * 1000 } ?? .nan },
                    peakBytes: zip(lengths, measured).map { t, result in
                        guard let extra = result?.extraBytes else { return .nan }
                        return Double(extra + AttentionCases.ioBytes(t: t, backward: backward))
                    }))
            }
        }
        return series
    }

    /// The picture, or nil when the results hold no attention case.
    public static func picture(results: [BenchmarkResult]) throws -> AttentionBenchmarkPlot? {
        let series = series(results: results)
        return series.isEmpty ? nil : try AttentionBenchmarkPlot(series: series)
    }
}
