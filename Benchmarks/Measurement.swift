/// Timing: a monotonic clock, warm-up, repetitions, and the statistics the report shows.

/// Seconds on a monotonic clock (never jumps with wall-clock changes).
public enum Timer {
    private static let clock = ContinuousClock()
    private static let origin = clock.now

    /// Seconds since the first use of the timer.
    public static func now() -> Double {
        let elapsed = origin.duration(to: clock.now).components
        return Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
    }

    /// Seconds `body` takes to run once.
    public static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = now()
        try body()
        return now() - start
    }
}

/// Median, minimum and spread of repeated timings (seconds per call).
public struct Statistics: Equatable, Sendable {
    /// Every sample, in the order taken.
    public let samples: [Double]
    public let median: Double
    public let minimum: Double
    public let maximum: Double

    /// Nil when there are no samples.
    public init?(samples: [Double]) {
        guard !samples.isEmpty else { return nil }
        self.init(nonEmpty: samples)
    }

    fileprivate init(nonEmpty samples: [Double]) {
        precondition(!samples.isEmpty, "statistics need at least one sample")
        self.samples = samples
        let sorted = samples.sorted()
        let middle = sorted.count / 2
        median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        minimum = sorted[0]
        maximum = sorted[sorted.count - 1]
    }

    /// (max − min) / median: how far apart the fastest and slowest samples are, relative to the median.
    public var spread: Double { median > 0 ? (maximum - minimum) / median : 0 }
}

/// How a case is timed: warm-up calls, then `repetitions` samples, each long enough to read.
public struct MeasurementPlan: Equatable, Sendable {
    /// Untimed calls first (caches, page faults, thread pool start-up). With 0, every sample is
    /// one call and the first sample pays the cold start.
    public var warmup: Int
    /// Timed samples; the report shows their median, minimum and spread.
    public var repetitions: Int
    /// A call shorter than this is repeated inside one sample (and the sample divided), so that
    /// clock resolution and loop overhead do not dominate tiny kernels.
    public var minimumSampleSeconds: Double

    public init(warmup: Int, repetitions: Int, minimumSampleSeconds: Double = 0.002) {
        self.warmup = warmup
        self.repetitions = repetitions
        self.minimumSampleSeconds = minimumSampleSeconds
    }

    /// Times `body`: warm-up calls, then `repetitions` samples of seconds per call. With `reset`
    /// (for a call that consumes its input, such as a kernel run in place), every call is a
    /// sample of its own and `reset` runs, untimed, before each one.
    public func measure(_ body: () throws -> Void, reset: (() -> Void)? = nil) rethrows -> Statistics {
        var warmest = Double.infinity
        for _ in 0..<max(0, warmup) {
            reset?()
            warmest = min(warmest, try Timer.seconds(body))
        }
        // The fastest warm-up call sets how many calls one sample needs to reach the floor.
        let callsPerSample = reset != nil || warmest >= minimumSampleSeconds
            ? 1 : Int((minimumSampleSeconds / max(warmest, 1e-9)).rounded(.up))
        var samples: [Double] = []
        samples.reserveCapacity(repetitions)
        for _ in 0..<max(1, repetitions) {
            reset?()
            let elapsed = try Timer.seconds { for _ in 0..<callsPerSample { try body() } }
            samples.append(elapsed / Double(callsPerSample))
        }
        return Statistics(nonEmpty: samples)
    }
}
