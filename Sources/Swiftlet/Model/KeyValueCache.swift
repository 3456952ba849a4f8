import SwiftletKernels

/// The keys and values of every layer for the tokens a model has seen so far, so that generating
/// the next token costs one row through the network instead of the whole context.
///
/// Made by `GPT.makeKeyValueCache()`, filled by `GPT.prefill(_:cache:)` and extended one token at
/// a time by `GPT.decode(_:cache:)`. Per layer it holds keys and values laid out (H, block_size, hs)
/// (batch 1; keys after RoPE when the model uses it), positions `0..<count` valid. It also owns
/// the one-row scratch buffers a decode step writes, so decoding allocates nothing.
///
/// A cache belongs to the model that made it: its buffers are sized for that config.
public final class KeyValueCache {
    /// Positions the cache can hold: the model's `block_size`.
    public let capacity: Int
    /// Positions filled so far (the tokens prefilled plus those decoded since).
    public internal(set) var count = 0

    let config: GPTConfig
    let keys: [UnsafeMutablePointer<Float>]      // per layer (H, capacity, hs)
    let values: [UnsafeMutablePointer<Float>]    // per layer (H, capacity, hs)
    let steps: [BlockActivations]                // per layer, one row (B = T = 1)
    let encoded: UnsafeMutablePointer<Float>     // (1,C) wte[token] + position
    let normalized: UnsafeMutablePointer<Float>  // (1,C) ln_f output
    let mean, rstd: UnsafeMutablePointer<Float>  // (1) ln_f statistics
    let logits: UnsafeMutablePointer<Float>      // (1,Vp)
    let attentionScratch: UnsafeMutablePointer<Float>
    private let pool = BufferPool()

    init(config: GPTConfig) {
        self.config = config
        capacity = config.blockSize
        let slab = config.headCount * config.blockSize * config.headSize
        let pool = self.pool
        keys = (0..<config.layerCount).map { _ in pool.floats(slab) }
        values = (0..<config.layerCount).map { _ in pool.floats(slab) }
        steps = (0..<config.layerCount).map { _ in BlockActivations(pool: pool, config: config, batch: 1, time: 1) }
        encoded = pool.floats(config.embeddingSize)
        normalized = pool.floats(config.embeddingSize)
        mean = pool.floats(1)
        rstd = pool.floats(1)
        logits = pool.floats(config.paddedVocabularySize)
        attentionScratch = pool.floats(swl_attention_decode_scratch_floats(
            1, Int32(config.headCount), Int32(config.blockSize), Int32(config.headSize)))
    }

    /// Forgets every position (the buffers are kept and overwritten by the next prefill).
    public func reset() { count = 0 }

    /// Bytes the keys and values take: 2 · layers · block_size · C floats.
    public var byteCount: Int { 2 * config.layerCount * capacity * config.embeddingSize * MemoryLayout<Float>.size }
}
