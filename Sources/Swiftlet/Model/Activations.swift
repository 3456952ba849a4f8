import SwiftletKernels

/// Owns a set of fp32 (and int32) buffers, zero-filled, freed together.
final class BufferPool {
    private var floats: [UnsafeMutableBufferPointer<Float>] = []
    private var ints: [UnsafeMutablePointer<Int32>] = []

    /// A zeroed buffer of `count` floats (at least one, so every pointer is valid).
    func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, count))
        buffer.initialize(repeating: 0)
        floats.append(buffer)
        return buffer.baseAddress!
    }

    /// Sets every float of every buffer to `value` (for tests: NaN shows a float read before it
    /// is written).
    func fillFloats(with value: Float) {
        for buffer in floats { buffer.update(repeating: value) }
    }

    func int32s(_ count: Int) -> UnsafeMutablePointer<Int32> {
        let buffer = UnsafeMutablePointer<Int32>.allocate(capacity: max(1, count))
        buffer.initialize(repeating: 0, count: max(1, count))
        ints.append(buffer)
        return buffer
    }

    deinit {
        floats.forEach { $0.deallocate() }
        ints.forEach { $0.deallocate() }
    }
}

/// What one block's forward pass keeps for its backward pass. N = B·T rows.
struct BlockActivations {
    let ln1, ln1Mean, ln1Rstd: UnsafeMutablePointer<Float>     // (N,C), (N), (N)
    let qkv: UnsafeMutablePointer<Float>                         // (N,3C) c_attn output
    let q, k, v: UnsafeMutablePointer<Float>                     // (B,H,T,hs); q, k after RoPE
    let probabilities: UnsafeMutablePointer<Float>?              // (B,H,T,T) naive attention only
    let droppedProbabilities: UnsafeMutablePointer<Float>?       // (B,H,T,T) naive attention with dropout
    let logsumexp: UnsafeMutablePointer<Float>?                  // (B,H,T) when the flash kernel may run
    let y: UnsafeMutablePointer<Float>                           // (B,H,T,hs) attention output
    let yMerged: UnsafeMutablePointer<Float>                     // (N,C) before c_proj
    let attentionProjection: UnsafeMutablePointer<Float>         // (N,C) c_proj output
    let attentionDropped: UnsafeMutablePointer<Float>?           // (N,C) after residual dropout
    let residual1: UnsafeMutablePointer<Float>                   // (N,C) x + attn(…)
    let ln2, ln2Mean, ln2Rstd: UnsafeMutablePointer<Float>?     // (N,C), (N), (N) with an MLP
    let fc, fcActivated: UnsafeMutablePointer<Float>?           // (N,hidden)
    let mlpProjection: UnsafeMutablePointer<Float>?              // (N,C)
    let mlpDropped: UnsafeMutablePointer<Float>?                 // (N,C)
    let residual2: UnsafeMutablePointer<Float>?                  // (N,C) s + mlp(…)

    init(pool: BufferPool, config: GPTConfig, batch: Int, time: Int) {
        let n = batch * time, c = config.embeddingSize, hidden = config.mlpHiddenSize
        let squares = batch * config.headCount * time * time
        let hasDropout = config.dropout > 0
        ln1 = pool.floats(n * c); ln1Mean = pool.floats(n); ln1Rstd = pool.floats(n)
        qkv = pool.floats(n * 3 * c)
        q = pool.floats(n * c); k = pool.floats(n * c); v = pool.floats(n * c)
        let naive = config.attention == .naive
        probabilities = naive ? pool.floats(squares) : nil
        droppedProbabilities = naive && hasDropout ? pool.floats(squares) : nil
        logsumexp = config.attention == .flash ? pool.floats(batch * config.headCount * time) : nil
        y = pool.floats(n * c); yMerged = pool.floats(n * c)
        attentionProjection = pool.floats(n * c)
        attentionDropped = hasDropout ? pool.floats(n * c) : nil
        residual1 = pool.floats(n * c)
        let mlp = config.hasMLP
        ln2 = mlp ? pool.floats(n * c) : nil
        ln2Mean = mlp ? pool.floats(n) : nil
        ln2Rstd = mlp ? pool.floats(n) : nil
        fc = mlp ? pool.floats(n * hidden) : nil
        fcActivated = mlp ? pool.floats(n * hidden) : nil
        mlpProjection = mlp ? pool.floats(n * c) : nil
        mlpDropped = mlp && hasDropout ? pool.floats(n * c) : nil
        residual2 = mlp ? pool.floats(n * c) : nil
    }
}

/// Every buffer the forward pass writes, allocated once for a capacity (B, T) and reused for
/// any smaller batch and sequence (the kernels read compact prefixes).
final class Activations {
    let batchCapacity: Int
    let timeCapacity: Int
    private let pool = BufferPool()

    let tokens: UnsafeMutablePointer<Int32>          // (B,T)
    let targets: UnsafeMutablePointer<Int32>         // (B,T)
    let encoded: UnsafeMutablePointer<Float>         // (N,C) wte[idx] + positions
    let embedded: UnsafeMutablePointer<Float>?       // (N,C) after embedding dropout
    let blocks: [BlockActivations]
    let lnF, lnFMean, lnFRstd: UnsafeMutablePointer<Float>?   // pre-LN only
    let lastRows: UnsafeMutablePointer<Float>        // (B,C) last position of each sequence
    let logits: UnsafeMutablePointer<Float>          // (N,Vp)
    let losses: UnsafeMutablePointer<Float>          // (N)
    let logsumexp: UnsafeMutablePointer<Float>       // (N) saved by the cross-entropy

    init(config: GPTConfig, batch: Int, time: Int) {
        batchCapacity = batch
        timeCapacity = time
        let n = batch * time, c = config.embeddingSize
        tokens = pool.int32s(n)
        targets = pool.int32s(n)
        encoded = pool.floats(n * c)
        embedded = config.dropout > 0 ? pool.floats(n * c) : nil
        let pool = self.pool
        blocks = (0..<config.layerCount).map { _ in BlockActivations(pool: pool, config: config, batch: batch, time: time) }
        let pre = config.normalization == .pre
        lnF = pre ? pool.floats(n * c) : nil
        lnFMean = pre ? pool.floats(n) : nil
        lnFRstd = pre ? pool.floats(n) : nil
        lastRows = pool.floats(batch * c)
        logits = pool.floats(n * config.paddedVocabularySize)
        losses = pool.floats(n)
        logsumexp = pool.floats(n)
    }

    func fits(batch: Int, time: Int) -> Bool { batch <= batchCapacity && time <= timeCapacity }
}

/// Scratch for the backward pass: gradients of activations, shared by all layers.
final class ActivationGradients {
    let batchCapacity: Int
    let timeCapacity: Int
    private let pool = BufferPool()

    let stream: UnsafeMutablePointer<Float>          // (N,C) ∂L/∂(residual stream)
    let residualScratch: UnsafeMutablePointer<Float> // (N,C) post-LN: ∂L/∂(x + sublayer)
    let normalized: UnsafeMutablePointer<Float>      // (N,C) ∂L/∂(LayerNorm output), pre-LN
    let projection: UnsafeMutablePointer<Float>      // (N,C) ∂L/∂(c_proj output) under dropout
    let yMerged: UnsafeMutablePointer<Float>         // (N,C)
    let y: UnsafeMutablePointer<Float>               // (B,H,T,hs)
    let qkv: UnsafeMutablePointer<Float>             // (N,3C)
    let q, k, v: UnsafeMutablePointer<Float>         // (B,H,T,hs)
    let qBeforeRotation, kBeforeRotation: UnsafeMutablePointer<Float>?   // (B,H,T,hs) RoPE only
    let squares: UnsafeMutablePointer<Float>?        // (B,H,T,T) naive attention scratch
    let squares2: UnsafeMutablePointer<Float>?       // (B,H,T,T) naive attention with dropout
    let hidden, hiddenActivated: UnsafeMutablePointer<Float>?   // (N,hidden)
    let logits: UnsafeMutablePointer<Float>          // (N,Vp)
    let lnF: UnsafeMutablePointer<Float>             // (N,C) ∂L/∂(LM head input)
    let encoded: UnsafeMutablePointer<Float>?        // (N,C) under embedding dropout

    init(config: GPTConfig, batch: Int, time: Int) {
        batchCapacity = batch
        timeCapacity = time
        let n = batch * time, c = config.embeddingSize
        let squareCount = batch * config.headCount * time * time
        let hasDropout = config.dropout > 0
        stream = pool.floats(n * c)
        residualScratch = pool.floats(n * c)
        normalized = pool.floats(n * c)
        projection = pool.floats(n * c)
        yMerged = pool.floats(n * c)
        y = pool.floats(n * c)
        qkv = pool.floats(n * 3 * c)
        q = pool.floats(n * c); k = pool.floats(n * c); v = pool.floats(n * c)
        let rope = config.position == .rope
        qBeforeRotation = rope ? pool.floats(n * c) : nil
        kBeforeRotation = rope ? pool.floats(n * c) : nil
        let naive = config.attention == .naive
        squares = naive ? pool.floats(squareCount) : nil
        squares2 = naive && hasDropout ? pool.floats(squareCount) : nil
        hidden = config.hasMLP ? pool.floats(n * config.mlpHiddenSize) : nil
        hiddenActivated = config.hasMLP ? pool.floats(n * config.mlpHiddenSize) : nil
        logits = pool.floats(n * config.paddedVocabularySize)
        lnF = pool.floats(n * c)
        encoded = hasDropout ? pool.floats(n * c) : nil
    }

    func fits(batch: Int, time: Int) -> Bool { batch <= batchCapacity && time <= timeCapacity }

    /// Sets every scratch float to `value` (for tests).
    func fill(with value: Float) { pool.fillFloats(with: value) }
}

extension UnsafeMutablePointer where Pointee == Float {
    /// Sets `count` floats to 0 (for scratch that a backward kernel adds into; kernels named
    /// `*_gradient` write theirs and need none), on every thread for large counts.
    func clear(_ count: Int) {
        precondition(count >= 0, "clear: negative count \(count)")
        swl_zero(self, count)
    }
}
