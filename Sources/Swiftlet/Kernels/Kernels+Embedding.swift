import SwiftletKernels

extension Kernels {
    /// Token plus position embedding: `out[b,t] = tokenTable[ids[b,t]] + positionTable[t]`.
    ///
    /// - Parameters:
    ///   - ids: `batch·time` token ids in row-major `(batch, time)` order, each in `[0, V)`.
    ///   - tokenTable: wte, `(V, C)`.
    ///   - positionTable: wpe, `(≥ time, C)`, or `nil` for no learned positions.
    /// - Returns: `(batch, time, C)`.
    public static func embedding(
        ids: [Int32], batch: Int, time: Int, tokenTable: Tensor, positionTable: Tensor?
    ) throws -> Tensor {
        try requirePositive(batch, "batch")
        try requirePositive(time, "time")
        let shape = try require(tokenTable, rank: 2, "tokenTable")
        let (vocabulary, channels) = (shape[0], shape[1])
        try requirePositive(vocabulary, "tokenTable's row count (vocabulary size)")
        try requirePositive(channels, "tokenTable's channel count")
        try requireIds(ids, batch: batch, time: time, vocabulary: vocabulary)
        if let positionTable {
            let positions = try require(positionTable, rank: 2, "positionTable")
            guard positions[0] >= time, positions[1] == channels else {
                throw KernelError.invalidShape("positionTable has shape \(positions), expected (≥ \(time), \(channels))")
            }
        }
        var out = [Float](repeating: 0, count: batch * time * channels)
        let (b, t, c) = (try int32(batch, "batch"), try int32(time, "time"), try int32(channels, "channels"))
        withOptionalPointer(positionTable?.values) { wpe in
            swl_embedding_forward(&out, ids, tokenTable.values, wpe, b, t, c)
        }
        return try Tensor(shape: [batch, time, channels], values: out)
    }

    /// Gradients of `embedding`: `tokenTable` rows accumulate over repeated ids; `positionTable`
    /// (when `positionRows` is given) gets rows 0…time−1, the rest stay 0.
    ///
    /// - Parameters:
    ///   - outputGradient: `(batch, time, C)`.
    ///   - vocabularySize: V, the token table's row count.
    ///   - positionRows: the position table's row count (≥ time), or `nil` for no learned positions.
    public static func embeddingBackward(
        outputGradient: Tensor, ids: [Int32], vocabularySize: Int, positionRows: Int?
    ) throws -> (tokenTable: Tensor, positionTable: Tensor?) {
        let shape = try require(outputGradient, rank: 3, "outputGradient")
        let (batch, time, channels) = (shape[0], shape[1], shape[2])
        try requirePositive(batch, "batch")
        try requirePositive(time, "time")
        try requirePositive(channels, "channels")
        try requirePositive(vocabularySize, "vocabularySize")
        try requireIds(ids, batch: batch, time: time, vocabulary: vocabularySize)
        if let positionRows, positionRows < time {
            throw KernelError.invalidArgument("positionRows = \(positionRows) is smaller than time = \(time)")
        }
        var dwte = [Float](repeating: 0, count: vocabularySize * channels)
        var dwpe = [Float](repeating: 0, count: (positionRows ?? 0) * channels)
        let (b, t, c) = (try int32(batch, "batch"), try int32(time, "time"), try int32(channels, "channels"))
        dwpe.withUnsafeMutableBufferPointer { wpe in
            swl_embedding_backward(&dwte, positionRows != nil ? wpe.baseAddress : nil, outputGradient.values, ids, b, t, c)
        }
        return (try Tensor(shape: [vocabularySize, channels], values: dwte),
                try positionRows.map { try Tensor(shape: [$0, channels], values: dwpe) })
    }

    /// The sinusoidal position table `(length, channels)` of "Attention Is All You Need":
    /// `pe[t,2i] = sin(t/base^(2i/C))`, `pe[t,2i+1] = cos(t/base^(2i/C))`.
    public static func sinusoidalTable(length: Int, channels: Int, base: Float = 10_000) throws -> Tensor {
        try requirePositive(length, "length")
        try requirePositive(channels, "channels")
        guard base > 0, base.isFinite else { throw KernelError.invalidArgument("base must be positive, got \(base)") }
        var table = [Float](repeating: 0, count: length * channels)
        swl_sinusoidal_table(&table, try int32(length, "length"), try int32(channels, "channels"), base)
        return try Tensor(shape: [length, channels], values: table)
    }

    /// Rotary position embedding of `x` `(B, H, T, headSize)`: each interleaved pair
    /// `(x[2i], x[2i+1])` at time t is rotated by `(positionOffset + t)·base^(−2i/headSize)`.
    public static func rope(_ x: Tensor, base: Float = 10_000, positionOffset: Int = 0) throws -> Tensor {
        let (b, h, t, hs) = try ropeShape(x, base: base, positionOffset: positionOffset, "x")
        var out = [Float](repeating: 0, count: x.count)
        swl_rope_forward(&out, x.values, b, h, t, hs, base, try int32(positionOffset, "positionOffset"))
        return try Tensor(shape: x.shape, values: out)
    }

    /// Gradient of `rope`: the inverse rotation of `outputGradient`.
    public static func ropeBackward(outputGradient: Tensor, base: Float = 10_000, positionOffset: Int = 0) throws -> Tensor {
        let (b, h, t, hs) = try ropeShape(outputGradient, base: base, positionOffset: positionOffset, "outputGradient")
        var dx = [Float](repeating: 0, count: outputGradient.count)
        swl_rope_backward(&dx, outputGradient.values, b, h, t, hs, base, try int32(positionOffset, "positionOffset"))
        return try Tensor(shape: outputGradient.shape, values: dx)
    }

    static func ropeShape(_ x: Tensor, base: Float, positionOffset: Int, _ name: String) throws
        -> (Int32, Int32, Int32, Int32)
    {
        let shape = try require(x, rank: 4, name)
        for (value, label) in zip(shape, ["batch", "heads", "time", "head size"]) {
            try requirePositive(value, "\(name)'s \(label)")
        }
        guard shape[3] % 2 == 0 else {
            throw KernelError.invalidShape("RoPE needs an even head size, \(name) has head size \(shape[3])")
        }
        guard positionOffset >= 0 else { throw KernelError.invalidArgument("positionOffset must be ≥ 0, got \(positionOffset)") }
        guard base > 0, base.isFinite else { throw KernelError.invalidArgument("base must be positive, got \(base)") }
        _ = try int32(positionOffset + shape[2], "positionOffset + time")
        return (try int32(shape[0], "batch"), try int32(shape[1], "heads"), try int32(shape[2], "time"), try int32(shape[3], "head size"))
    }

    static func requireIds(_ ids: [Int32], batch: Int, time: Int, vocabulary: Int) throws {
        guard ids.count == batch * time else {
            throw KernelError.invalidShape("ids has \(ids.count) elements, expected batch·time = \(batch * time)")
        }
        if let bad = ids.firstIndex(where: { $0 < 0 || Int($0) >= vocabulary }) {
            throw KernelError.invalidArgument("ids[\(bad)] = \(ids[bad]) is outside the vocabulary [0, \(vocabulary))")
        }
    }
}
