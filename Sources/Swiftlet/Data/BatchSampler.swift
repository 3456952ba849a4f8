extension TrainingBatch {
    /// Row b is the window of T+1 tokens of `data` starting at `starts[b]`: inputs are its
    /// first T tokens, targets its last T.
    init(windowsOf data: TokenDataset, starts: [Int], blockSize: Int) {
        var window = [Int32](repeating: 0, count: blockSize + 1)
        var inputs = [Int32](repeating: 0, count: starts.count * blockSize)
        var targets = inputs
        for (row, start) in starts.enumerated() {
            window.withUnsafeMutableBufferPointer { data.copy(from: start, count: blockSize + 1, into: $0.baseAddress!) }
            for t in 0..<blockSize {
                inputs[row * blockSize + t] = window[t]
                targets[row * blockSize + t] = window[t + 1]
            }
        }
        self.init(inputs: inputs, targets: targets, batchSize: starts.count, sequenceLength: blockSize)
    }
}

/// Draws training batches as nanoGPT's `get_batch` does: B random windows of T+1 tokens, each
/// starting uniformly in `0 ..< count - T`; inputs are a window's first T tokens, targets its
/// last T.
///
/// The sampler's whole state (`state`: the generator and the number of batches drawn) is
/// `Codable`, so a training checkpoint can store it and a resumed run draws the same batches.
public struct BatchSampler: Sendable {
    /// Everything that decides the next batches.
    public struct State: Codable, Equatable, Sendable {
        /// The generator that picks window starts.
        public var generator: RandomGenerator
        /// Batches drawn so far (the data cursor).
        public var batchesDrawn: Int

        public init(generator: RandomGenerator, batchesDrawn: Int = 0) {
            self.generator = generator
            self.batchesDrawn = batchesDrawn
        }

        enum CodingKeys: String, CodingKey {
            case generator
            case batchesDrawn = "batches_drawn"
        }
    }

    /// The tokens windows are drawn from.
    public let data: TokenDataset
    /// B.
    public let batchSize: Int
    /// T.
    public let blockSize: Int
    /// The generator and cursor; assign a saved state to resume.
    public var state: State

    /// - Throws: `DataError` if `data` is empty or shorter than `blockSize + 1` tokens.
    public init(data: TokenDataset, batchSize: Int, blockSize: Int, seed: UInt64) throws {
        try self.init(data: data, batchSize: batchSize, blockSize: blockSize, state: State(generator: RandomGenerator(seed: seed)))
    }

    /// Resumes from a saved state.
    public init(data: TokenDataset, batchSize: Int, blockSize: Int, state: State) throws {
        guard batchSize >= 1 else { throw DataError(source: data.source, reason: "batch size must be at least 1, got \(batchSize)") }
        guard blockSize >= 1 else { throw DataError(source: data.source, reason: "block_size must be at least 1, got \(blockSize)") }
        try data.validate(blockSize: blockSize)
        self.data = data
        self.batchSize = batchSize
        self.blockSize = blockSize
        self.state = state
    }

    /// The next random batch.
    public mutating func next() -> TrainingBatch {
        let positions = data.count - blockSize  // ≥ 1 by init
        var starts: [Int] = []
        starts.reserveCapacity(batchSize)
        for _ in 0..<batchSize { starts.append(state.generator.nextInt(below: positions)) }
        state.batchesDrawn += 1
        return TrainingBatch(windowsOf: data, starts: starts, blockSize: blockSize)
    }
}

/// Every token of a dataset once, for evaluation: consecutive non-overlapping windows of T+1
/// tokens (stride T, so every token but the first is a target exactly once), B windows per
/// batch. A last window shorter than T+1 is padded with targets of -1, and the last batch may
/// have fewer than B rows.
public struct SequentialBatches: Sequence, Sendable {
    public let data: TokenDataset
    public let batchSize: Int
    public let blockSize: Int

    /// - Throws: `DataError` if `data` has fewer than 2 tokens (nothing to predict).
    public init(data: TokenDataset, batchSize: Int, blockSize: Int) throws {
        guard batchSize >= 1, blockSize >= 1 else {
            throw DataError(source: data.source, reason: "batch size and block_size must be at least 1, got \(batchSize) and \(blockSize)")
        }
        guard data.count > 0 else { throw DataError.empty(data.source) }
        guard data.count >= 2 else {
            throw DataError(source: data.source, reason: "has 1 token; evaluation needs at least 2 (an input and its target)")
        }
        self.data = data
        self.batchSize = batchSize
        self.blockSize = blockSize
    }

    /// Number of windows: ceil((count - 1) / T).
    public var windowCount: Int { (data.count - 1 + blockSize - 1) / blockSize }

    /// Number of target tokens over all batches: count - 1.
    public var targetCount: Int { data.count - 1 }

    public func makeIterator() -> AnyIterator<TrainingBatch> {
        var window = 0
        let windows = windowCount
        return AnyIterator {
            guard window < windows else { return nil }
            let rows = Swift.min(batchSize, windows - window)
            var inputs = [Int32](repeating: 0, count: rows * blockSize)
            var targets = [Int32](repeating: -1, count: rows * blockSize)
            for row in 0..<rows {
                let start = (window + row) * blockSize
                let available = Swift.min(blockSize + 1, data.count - start)
                let ids = data.tokens(start..<(start + available))
                for t in 0..<(available - 1) {
                    inputs[row * blockSize + t] = ids[t]
                    targets[row * blockSize + t] = ids[t + 1]
                }
            }
            window += rows
            return TrainingBatch(inputs: inputs, targets: targets, batchSize: rows, sequenceLength: blockSize)
        }
    }
}
