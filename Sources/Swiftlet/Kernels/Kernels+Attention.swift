import SwiftletKernels

/// Which causal self-attention kernel to run.
public enum AttentionKernel: String, CaseIterable, Sendable, Codable {
    /// Materializes the (B,H,T,T) probabilities: simple, O(T²) memory. The reference.
    case naive
    /// Tiles queries and keys with an online softmax and keeps only a logsumexp per row.
    case flash
}

extension Kernels {
    /// What an attention forward keeps for its backward, depending on the kernel.
    public enum AttentionSaved: Equatable, Sendable {
        /// Naive kernel: the probabilities, (B,H,T,T), exactly 0 above the diagonal.
        case probabilities(Tensor)
        /// Flash kernel: log Σ_{j≤i} exp(scale·q_i·k_j) per query row, (B,H,T).
        case logSumExp(Tensor)
    }

    /// The result of `attention(query:key:value:kernel:)`.
    public struct AttentionOutput: Equatable, Sendable {
        /// softmax(causal(q·kᵀ/√hs))·v, (B,H,T,hs).
        public var output: Tensor
        /// What the backward needs besides q, k, v and `output`.
        public var saved: AttentionSaved

        public init(output: Tensor, saved: AttentionSaved) {
            self.output = output
            self.saved = saved
        }
    }

    /// Gradients of attention with respect to its inputs, each (B,H,T,hs).
    public struct AttentionGradients: Equatable, Sendable {
        public var query: Tensor
        public var key: Tensor
        public var value: Tensor
    }

    // MARK: Causal softmax

    /// Causal softmax over the last dimension of attention scores.
    ///
    /// `p[i,j] = exp(scale·s[i,j]) / Σ_{j'≤i} exp(scale·s[i,j'])` for j ≤ i and exactly 0 above the
    /// diagonal; scores above the diagonal are never read.
    /// - Parameters:
    ///   - scores: raw scores (…, T, T); every leading dimension is a separate matrix.
    ///   - scale: multiplies the raw scores (1/√hs in attention).
    /// - Returns: probabilities shaped like `scores`.
    public static func causalSoftmax(_ scores: Tensor, scale: Float) throws -> Tensor {
        let (matrices, t) = try softmaxShape(scores, "scores")
        try requireFinite(scale, "scale")
        var probs = try Tensor(zeros: scores.shape)
        scores.values.withUnsafeBufferPointer { s in
            probs.values.withUnsafeMutableBufferPointer { p in
                swl_causal_softmax_forward(p.baseAddress, s.baseAddress, matrices, t, scale)
            }
        }
        return probs
    }

    /// Backward of `causalSoftmax`: `ds = scale·p·(dp − Σ_j p·dp)` on and below the diagonal,
    /// 0 above it (where `outputGradient` is never read).
    /// - Parameters:
    ///   - outputGradient: dL/dp, shaped like `probabilities`.
    ///   - probabilities: the forward's output (…, T, T).
    ///   - scale: the forward's scale.
    public static func causalSoftmaxBackward(
        _ outputGradient: Tensor, probabilities: Tensor, scale: Float
    ) throws -> Tensor {
        let (matrices, t) = try softmaxShape(probabilities, "probabilities")
        try require(outputGradient, shape: probabilities.shape, "outputGradient")
        try requireFinite(scale, "scale")
        var dscores = try Tensor(zeros: probabilities.shape)
        outputGradient.values.withUnsafeBufferPointer { dp in
            probabilities.values.withUnsafeBufferPointer { p in
                dscores.values.withUnsafeMutableBufferPointer { ds in
                    swl_causal_softmax_backward(ds.baseAddress, dp.baseAddress, p.baseAddress, matrices, t, scale)
                }
            }
        }
        return dscores
    }

    // MARK: Attention

    /// Causal self-attention `softmax(causal(q·kᵀ/√hs))·v`; key j is visible to query i iff j ≤ i.
    ///
    /// - Parameters:
    ///   - query, key, value: (B,H,T,hs), all the same shape.
    ///   - kernel: `.naive` keeps the probabilities, `.flash` only a logsumexp per row.
    public static func attention(
        query: Tensor, key: Tensor, value: Tensor, kernel: AttentionKernel = .flash
    ) throws -> AttentionOutput {
        let size = try attentionShape(query: query, key: key, value: value)
        var out = try Tensor(zeros: query.shape)
        var saved: Tensor
        switch kernel {
        case .naive:
            saved = try Tensor(zeros: [size.B, size.H, size.T, size.T])
        case .flash:
            saved = try Tensor(zeros: [size.B, size.H, size.T])
        }
        let (b, h, t, hs) = try size.int32s()
        query.values.withUnsafeBufferPointer { q in
            key.values.withUnsafeBufferPointer { k in
                value.values.withUnsafeBufferPointer { v in
                    out.values.withUnsafeMutableBufferPointer { o in
                        saved.values.withUnsafeMutableBufferPointer { s in
                            switch kernel {
                            case .naive:
                                swl_attention_naive_forward(o.baseAddress, s.baseAddress, q.baseAddress,
                                                            k.baseAddress, v.baseAddress, b, h, t, hs)
                            case .flash:
                                swl_attention_flash_forward(o.baseAddress, s.baseAddress, q.baseAddress,
                                                            k.baseAddress, v.baseAddress, b, h, t, hs)
                            }
                        }
                    }
                }
            }
        }
        switch kernel {
        case .naive: return AttentionOutput(output: out, saved: .probabilities(saved))
        case .flash: return AttentionOutput(output: out, saved: .logSumExp(saved))
        }
    }

    /// Backward of `attention`, with the kernel the forward used (read from `forward.saved`).
    ///
    /// - Parameters:
    ///   - outputGradient: dL/dout, (B,H,T,hs).
    ///   - query, key, value: the forward's inputs.
    ///   - forward: the forward's result.
    public static func attentionBackward(
        _ outputGradient: Tensor, query: Tensor, key: Tensor, value: Tensor, forward: AttentionOutput
    ) throws -> AttentionGradients {
        let size = try attentionShape(query: query, key: key, value: value)
        try require(outputGradient, shape: query.shape, "outputGradient")
        try require(forward.output, shape: query.shape, "forward.output")
        var dq = try Tensor(zeros: query.shape)
        var dk = try Tensor(zeros: query.shape)
        var dv = try Tensor(zeros: query.shape)
        let (b, h, t, hs) = try size.int32s()
        switch forward.saved {
        case .probabilities(let att):
            try require(att, shape: [size.B, size.H, size.T, size.T], "forward.saved probabilities")
            var scratch = [Float](repeating: 0, count: att.count)
            withPointers(outputGradient, query, key, value, &dq, &dk, &dv) { dout, q, k, v, dq, dk, dv in
                att.values.withUnsafeBufferPointer { a in
                    scratch.withUnsafeMutableBufferPointer { s in
                        swl_attention_naive_backward(dq, dk, dv, s.baseAddress, dout, q, k, v, a.baseAddress,
                                                     b, h, t, hs)
                    }
                }
            }
        case .logSumExp(let lse):
            try require(lse, shape: [size.B, size.H, size.T], "forward.saved logSumExp")
            withPointers(outputGradient, query, key, value, &dq, &dk, &dv) { dout, q, k, v, dq, dk, dv in
                forward.output.values.withUnsafeBufferPointer { o in
                    lse.values.withUnsafeBufferPointer { l in
                        swl_attention_flash_backward(dq, dk, dv, dout, q, k, v, o.baseAddress, l.baseAddress,
                                                     b, h, t, hs)
                    }
                }
            }
        }
        return AttentionGradients(query: dq, key: dk, value: dv)
    }

    // MARK: Head layout

    /// Splits c_attn's output (B,T,3C) into query, key and value, each (B,H,T,hs) with hs = C/H.
    /// Head h is columns h·hs…(h+1)·hs−1 of each of q, k and v.
    public static func splitHeads(_ qkv: Tensor, heads: Int) throws -> (query: Tensor, key: Tensor, value: Tensor) {
        let shape = try require(qkv, rank: 3, "qkv")
        let (batch, time) = (shape[0], shape[1])
        try requirePositive(batch, "qkv batch (B)")
        try requirePositive(time, "qkv time (T)")
        try requirePositive(heads, "heads")
        guard shape[2] % (3 * heads) == 0, shape[2] > 0 else {
            throw KernelError.invalidShape(
                "qkv last dimension \(shape[2]) must be 3·C with C a positive multiple of heads = \(heads)")
        }
        let headSize = shape[2] / (3 * heads)
        let (b, t, h, hs) = try (int32(batch, "B"), int32(time, "T"), int32(heads, "heads"), int32(headSize, "hs"))
        var q = try Tensor(zeros: [batch, heads, time, headSize])
        var k = q, v = q
        qkv.values.withUnsafeBufferPointer { x in
            q.values.withUnsafeMutableBufferPointer { qp in
                k.values.withUnsafeMutableBufferPointer { kp in
                    v.values.withUnsafeMutableBufferPointer { vp in
                        swl_split_heads_forward(qp.baseAddress, kp.baseAddress, vp.baseAddress, x.baseAddress, b, t, h, hs)
                    }
                }
            }
        }
        return (q, k, v)
    }

    /// Backward of `splitHeads`: gathers the (B,H,T,hs) gradients back into (B,T,3C).
    public static func splitHeadsBackward(query: Tensor, key: Tensor, value: Tensor) throws -> Tensor {
        let shape = try headsShape(query, "query")
        try require(key, shape: query.shape, "key")
        try require(value, shape: query.shape, "value")
        let (batch, heads, time, headSize) = (shape[0], shape[1], shape[2], shape[3])
        let (b, h, t, hs) = try (int32(batch, "B"), int32(heads, "H"), int32(time, "T"), int32(headSize, "hs"))
        var dqkv = try Tensor(zeros: [batch, time, 3 * heads * headSize])
        query.values.withUnsafeBufferPointer { dq in
            key.values.withUnsafeBufferPointer { dk in
                value.values.withUnsafeBufferPointer { dv in
                    dqkv.values.withUnsafeMutableBufferPointer { d in
                        swl_split_heads_backward(d.baseAddress, dq.baseAddress, dk.baseAddress, dv.baseAddress, b, t, h, hs)
                    }
                }
            }
        }
        return dqkv
    }

    /// Merges heads: y (B,H,T,hs) → (B,T,H·hs), as `y.transpose(1,2).reshape(B,T,C)`.
    public static func mergeHeads(_ y: Tensor) throws -> Tensor {
        let shape = try headsShape(y, "y")
        let (batch, heads, time, headSize) = (shape[0], shape[1], shape[2], shape[3])
        let (b, h, t, hs) = try (int32(batch, "B"), int32(heads, "H"), int32(time, "T"), int32(headSize, "hs"))
        var out = try Tensor(zeros: [batch, time, heads * headSize])
        y.values.withUnsafeBufferPointer { yp in
            out.values.withUnsafeMutableBufferPointer { o in
                swl_merge_heads_forward(o.baseAddress, yp.baseAddress, b, t, h, hs)
            }
        }
        return out
    }

    /// Backward of `mergeHeads`: (B,T,C) → (B,H,T,hs) with hs = C/H.
    public static func mergeHeadsBackward(_ outputGradient: Tensor, heads: Int) throws -> Tensor {
        let shape = try require(outputGradient, rank: 3, "outputGradient")
        let (batch, time, channels) = (shape[0], shape[1], shape[2])
        try requirePositive(batch, "outputGradient batch (B)")
        try requirePositive(time, "outputGradient time (T)")
        try requirePositive(heads, "heads")
        guard channels > 0, channels % heads == 0 else {
            throw KernelError.invalidShape("outputGradient channels \(channels) must be a positive multiple of heads = \(heads)")
        }
        let headSize = channels / heads
        let (b, h, t, hs) = try (int32(batch, "B"), int32(heads, "H"), int32(time, "T"), int32(headSize, "hs"))
        var dy = try Tensor(zeros: [batch, heads, time, headSize])
        outputGradient.values.withUnsafeBufferPointer { d in
            dy.values.withUnsafeMutableBufferPointer { dyp in
                swl_merge_heads_backward(dyp.baseAddress, d.baseAddress, b, t, h, hs)
            }
        }
        return dy
    }

    // MARK: Validation

    /// Attention sizes, each at least 1.
    struct AttentionSize {
        let B: Int, H: Int, T: Int, hs: Int

        func int32s() throws -> (Int32, Int32, Int32, Int32) {
            try (int32(B, "B"), int32(H, "H"), int32(T, "T"), int32(hs, "hs"))
        }
    }

    /// Checks q, k, v are the same (B,H,T,hs) with every size ≥ 1 and B·H·T within `int`.
    static func attentionShape(query: Tensor, key: Tensor, value: Tensor) throws -> AttentionSize {
        let shape = try headsShape(query, "query")
        try require(key, shape: query.shape, "key")
        try require(value, shape: query.shape, "value")
        return AttentionSize(B: shape[0], H: shape[1], T: shape[2], hs: shape[3])
    }

    /// Checks a (B,H,T,hs) tensor: rank 4, every size ≥ 1, B·H·T within `int`.
    static func headsShape(_ tensor: Tensor, _ name: String) throws -> [Int] {
        let shape = try require(tensor, rank: 4, name)
        for (label, value) in zip(["B", "H", "T", "hs"], shape) {
            try requirePositive(value, "\(name) \(label)")
        }
        _ = try int32(shape[0] * shape[1] * shape[2], "\(name) B·H·T")
        return shape
    }

    /// Checks (…, T, T) scores; returns the number of matrices and T.
    static func softmaxShape(_ tensor: Tensor, _ name: String) throws -> (matrices: Int32, t: Int32) {
        guard tensor.rank >= 2, tensor.shape[tensor.rank - 1] == tensor.shape[tensor.rank - 2] else {
            throw KernelError.invalidShape("\(name) must be (…, T, T), got shape \(tensor.shape)")
        }
        for value in tensor.shape { try requirePositive(value, "every dimension of \(name) \(tensor.shape)") }
        let t = tensor.shape[tensor.rank - 1]
        let matrices = tensor.shape.dropLast(2).reduce(1, *)
        _ = try int32(matrices * t, "\(name) rows")
        return (try int32(matrices, "\(name) matrices"), try int32(t, "\(name) T"))
    }

    static func requireFinite(_ value: Float, _ name: String) throws {
        guard value.isFinite else { throw KernelError.invalidArgument("\(name) must be finite, got \(value)") }
    }

    /// Base pointers of dout, q, k, v (read) and dq, dk, dv (written).
    private static func withPointers(
        _ dout: Tensor, _ q: Tensor, _ k: Tensor, _ v: Tensor,
        _ dq: inout Tensor, _ dk: inout Tensor, _ dv: inout Tensor,
        _ body: (UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?,
                 UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?) -> Void
    ) {
        dout.values.withUnsafeBufferPointer { doutp in
            q.values.withUnsafeBufferPointer { qp in
                k.values.withUnsafeBufferPointer { kp in
                    v.values.withUnsafeBufferPointer { vp in
                        dq.values.withUnsafeMutableBufferPointer { dqp in
                            dk.values.withUnsafeMutableBufferPointer { dkp in
                                dv.values.withUnsafeMutableBufferPointer { dvp in
                                    body(doutp.baseAddress, qp.baseAddress, kp.baseAddress, vp.baseAddress,
                                         dqp.baseAddress, dkp.baseAddress, dvp.baseAddress)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
