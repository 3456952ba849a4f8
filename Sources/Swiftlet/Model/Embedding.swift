import SwiftletKernels

/// Token embedding plus position encoding: `out[b,t] = wte[idx[b,t]] + pos[t]`.
///
/// `pos` is the learned `wpe` table, the fixed sinusoidal table, or nothing (RoPE and `none`).
struct Embedding {
    let tokens: ParameterView                       // wte (V, C)
    let learnedPositions: ParameterView?            // wpe (block_size, C)
    let fixedPositions: UnsafePointer<Float>?       // sinusoidal (block_size, C), not trained
    let channels: Int

    /// out (B,T,C) ← wte[idx] + positions.
    func forward(_ out: UnsafeMutablePointer<Float>, _ idx: UnsafePointer<Int32>, batch: Int, time: Int) {
        let positions: UnsafePointer<Float>? = learnedPositions.map { UnsafePointer($0.value) } ?? fixedPositions
        swl_embedding_forward(out, idx, tokens.value, positions, Int32(batch), Int32(time), Int32(channels))
    }

    /// dwte rows += dout at each id; dwpe rows 0..<T += dout summed over the batch.
    func backward(_ dout: UnsafePointer<Float>, _ idx: UnsafePointer<Int32>, batch: Int, time: Int) {
        swl_embedding_backward(tokens.gradient, learnedPositions?.gradient, dout, idx,
                               Int32(batch), Int32(time), Int32(channels))
    }
}
