import SwiftletKernels

extension Kernels {
    /// What a cross-entropy forward returns.
    public struct CrossEntropyForward: Sendable {
        /// Mean loss over the rows whose target is not −1 (0 if every row is ignored).
        public var loss: Float
        /// Per-row loss `(N)`, 0 for ignored rows.
        public var losses: Tensor
        /// Per-row logsumexp `(N)` of the logits, saved for the backward.
        public var logSumExp: Tensor
    }

    /// Cross-entropy of softmax(logits) against `targets`, fused.
    ///
    /// - Parameters:
    ///   - logits: `(N, Vp)` or `(B, T, Vp)`; only the first `vocabularySize` columns are read.
    ///   - targets: N ids in `[0, vocabularySize)`, or −1 to ignore a row.
    ///   - vocabularySize: V ≤ Vp, the real vocabulary; `nil` means Vp (no padding).
    public static func crossEntropy(logits: Tensor, targets: [Int32], vocabularySize: Int? = nil) throws -> CrossEntropyForward {
        let (rows, padded, vocabulary) = try crossEntropyShape(logits, targets, vocabularySize)
        var losses = [Float](repeating: 0, count: rows)
        var lse = [Float](repeating: 0, count: rows)
        let loss = swl_crossentropy_forward(&losses, &lse, logits.values, targets,
                                            try int32(rows, "rows"), try int32(vocabulary, "vocabularySize"),
                                            try int32(padded, "logits' last dimension"))
        return CrossEntropyForward(loss: loss, losses: try Tensor(shape: [rows], values: losses),
                                   logSumExp: try Tensor(shape: [rows], values: lse))
    }

    /// Gradient of the mean loss with respect to the logits, times `lossGradient`.
    /// Padding columns and ignored rows get exactly 0.
    public static func crossEntropyBackward(
        logits: Tensor, logSumExp: Tensor, targets: [Int32], vocabularySize: Int? = nil, lossGradient: Float = 1
    ) throws -> Tensor {
        let (rows, padded, vocabulary) = try crossEntropyShape(logits, targets, vocabularySize)
        try require(logSumExp, shape: [rows], "logSumExp")
        let (count, classes, stride) = (try int32(rows, "rows"), try int32(vocabulary, "vocabularySize"),
                                        try int32(padded, "logits' last dimension"))
        // The kernel writes every element (0 on padding and ignored rows): no zero fill first.
        let dlogits = [Float](unsafeUninitializedCapacity: logits.count) { buffer, initialized in
            swl_crossentropy_backward(buffer.baseAddress, logits.values, logSumExp.values, targets,
                                      count, classes, stride, lossGradient)
            initialized = logits.count
        }
        return try Tensor(shape: logits.shape, values: dlogits)
    }

    static func crossEntropyShape(_ logits: Tensor, _ targets: [Int32], _ vocabularySize: Int?) throws
        -> (rows: Int, padded: Int, vocabulary: Int)
    {
        let (rows, padded) = try rowsAndChannels(logits, "logits")
        let vocabulary = vocabularySize ?? padded
        guard vocabulary >= 1, vocabulary <= padded else {
            throw KernelError.invalidArgument("vocabularySize must be in 1…\(padded) (the logits' last dimension), got \(vocabulary)")
        }
        guard targets.count == rows else {
            throw KernelError.invalidShape("targets has \(targets.count) elements, expected \(rows) (one per logits row)")
        }
        if let bad = targets.firstIndex(where: { $0 < -1 || Int($0) >= vocabulary }) {
            throw KernelError.invalidArgument("targets[\(bad)] = \(targets[bad]) is outside [0, \(vocabulary)) and is not −1 (ignore)")
        }
        return (rows, padded, vocabulary)
    }
}
