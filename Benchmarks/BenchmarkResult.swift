/// One measured case on one thread count: what the table prints and the JSON report holds.
public struct BenchmarkResult: Equatable, Sendable {
    public let name: String
    public let variant: String?
    public let shape: String
    public let threads: Int
    public let statistics: Statistics
    /// Achieved GFLOP/s (compute-bound cases), else nil.
    public let gflops: Double?
    /// Achieved GB/s, bytes read plus written (memory-bound cases), else nil.
    public let gbs: Double?
    /// Memory allocated beyond inputs and outputs, else nil.
    public let extraBytes: Int?
    /// Tokens per second (training step, generation, encoding), else nil.
    public let tokensPerSecond: Double?
    /// Achieved fraction of the measured FMA peak or bandwidth at this thread count, else nil.
    public let fractionOfPeak: Double?
    /// Memory-bound cases: the best in-place triad GB/s measured just before and after this case
    /// on its thread count (`BandwidthProbe`), else nil.
    public let adjacentTriadGbs: Double?

    /// GB/s as a fraction of `adjacentTriadGbs`, when both were measured.
    public var fractionOfAdjacentTriad: Double? {
        guard let gbs, let adjacentTriadGbs, adjacentTriadGbs > 0 else { return nil }
        return gbs / adjacentTriadGbs
    }

    /// Compute-bound cases: the best FMA peak measured just before and after this case on its
    /// thread count (`PeakProbe`), else nil.
    public let adjacentPeakGflops: Double?

    /// GFLOP/s as a fraction of `adjacentPeakGflops`, when both were measured.
    public var fractionOfAdjacentPeak: Double? {
        guard let gflops, let adjacentPeakGflops, adjacentPeakGflops > 0 else { return nil }
        return gflops / adjacentPeakGflops
    }

    /// What the table's "% adj" shows: the rate against the probe run beside the case.
    public var fractionOfAdjacentProbe: Double? { fractionOfAdjacentPeak ?? fractionOfAdjacentTriad }

    public init(
        name: String, variant: String?, shape: String, threads: Int, statistics: Statistics,
        gflops: Double? = nil, gbs: Double? = nil, extraBytes: Int? = nil,
        tokensPerSecond: Double? = nil, fractionOfPeak: Double? = nil, adjacentTriadGbs: Double? = nil,
        adjacentPeakGflops: Double? = nil
    ) {
        self.name = name
        self.variant = variant
        self.shape = shape
        self.threads = threads
        self.statistics = statistics
        self.gflops = gflops
        self.gbs = gbs
        self.extraBytes = extraBytes
        self.tokensPerSecond = tokensPerSecond
        self.fractionOfPeak = fractionOfPeak
        self.adjacentTriadGbs = adjacentTriadGbs
        self.adjacentPeakGflops = adjacentPeakGflops
    }

    /// The result of timing `benchmark` on `threads` threads, rated against `peak` (and against
    /// `adjacentPeakGflops` or `adjacentTriadGbs`, whichever its kind has, too). `tokens` (tokens per
    /// call found while preparing) stands in when the case does not give its own.
    public init(
        _ benchmark: BenchmarkCase, threads: Int, statistics: Statistics, peak: MachineProfile.Peak?,
        tokens: Int? = nil, adjacentTriadGbs: Double? = nil, adjacentPeakGflops: Double? = nil
    ) {
        // A call below the clock's resolution has no meaningful rate (and JSON has no infinity).
        let seconds = statistics.median > 0 ? statistics.median : .nan
        func rate(_ amount: Double?) -> Double? { amount.map { $0 / seconds }.flatMap { $0.isFinite ? $0 : nil } }
        let gflops = rate(benchmark.flops).map { $0 * 1e-9 }
        let gbs = rate(benchmark.bytes).map { $0 * 1e-9 }
        var fraction: Double?
        if let peak {
            if let gflops, peak.gflops > 0 { fraction = gflops / peak.gflops }
            else if let gbs, peak.gbs > 0 { fraction = gbs / peak.gbs }
        }
        self.init(
            name: benchmark.name, variant: benchmark.variant, shape: benchmark.shape, threads: threads,
            statistics: statistics, gflops: gflops, gbs: gbs,
            extraBytes: benchmark.extraBytes?(threads),
            tokensPerSecond: rate((benchmark.tokens ?? tokens).map(Double.init)), fractionOfPeak: fraction,
            adjacentTriadGbs: gbs == nil ? nil : adjacentTriadGbs,
            adjacentPeakGflops: gflops == nil ? nil : adjacentPeakGflops)
    }
}
