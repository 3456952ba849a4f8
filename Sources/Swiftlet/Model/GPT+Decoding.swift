import SwiftletKernels

/// Generation with a KV cache: `prefill` runs a prompt through the batched kernels (linears on all
/// rows, flash or naive attention) and keeps every layer's keys and values; `decode` then adds one
/// token at a time (the linears on one row, `swl_attention_decode` against the cache).
///
/// ```swift
/// let cache = model.makeKeyValueCache()
/// var logits = try model.prefill(prompt, cache: cache)       // next-token logits after the prompt
/// let token = Int32(Sampler.argmax(logits))
/// logits = try model.decode(token, cache: cache)              // and after that token
/// ```
///
/// The logits agree with a full `forward(…, mode: .inference)` over the same tokens up to float
/// rounding (the one-row kernels sum in a different order). Positions are absolute: the token
/// decoded at position p gets `wpe[p]`, the sinusoidal row p, or RoPE angle p. The cache holds at
/// most `block_size` positions; past that a caller crops the context and prefills again (what
/// `Generator` does, matching nanoGPT's crop).
extension GPT {
    /// An empty cache sized for this model (2 · n_layer · block_size · n_embd floats plus one-row
    /// scratch).
    public func makeKeyValueCache() -> KeyValueCache { KeyValueCache(config: config) }

    /// Resets `cache` and fills it with `tokens` (1…block_size ids), running them through the
    /// batched forward pass. Returns the logits (vocab_size) that predict the token after them.
    ///
    /// Replaces the state of the last `forward` (run forward again before `backward()`).
    public func prefill(_ tokens: [Int32], cache: KeyValueCache) throws -> [Float] {
        try check(cache)
        cache.reset()
        try forward(tokens: tokens, batchSize: 1, sequenceLength: tokens.count, mode: .inference)
        guard let state = inspectionState else { throw ModelError.invalidState("forward left no activations") }
        let (t, hs) = (tokens.count, config.headSize)
        // Activations hold k, v as (1,H,T,hs) (after RoPE); the cache rows are (H, capacity, hs).
        for (layer, buffers) in state.activations.blocks.enumerated() {
            for head in 0..<config.headCount {
                (cache.keys[layer] + head * cache.capacity * hs).update(from: buffers.k + head * t * hs, count: t * hs)
                (cache.values[layer] + head * cache.capacity * hs).update(from: buffers.v + head * t * hs, count: t * hs)
            }
        }
        cache.count = t
        return try withLogits { values, _, _ in Array(values.prefix(config.vocabularySize)) }
    }

    /// Appends `token` at position `cache.count` and returns the logits (vocab_size) that predict
    /// the token after it. Throws when the cache is empty (prefill first) or full (block_size).
    public func decode(_ token: Int32, cache: KeyValueCache) throws -> [Float] {
        try check(cache)
        guard cache.count > 0 else {
            throw ModelError.invalidState("the KV cache is empty: prefill it with the prompt before decoding")
        }
        guard cache.count < cache.capacity else {
            throw ModelError.invalidState("the KV cache is full (block_size \(cache.capacity)): crop the context and prefill again")
        }
        guard token >= 0, token < Int32(config.vocabularySize) else {
            throw ModelError.invalidArgument("token \(token) is outside 0..<\(config.vocabularySize) (vocab_size)")
        }
        let position = cache.count, c = config.embeddingSize
        var id = token
        let positions: UnsafePointer<Float>? = embedding.learnedPositions.map { UnsafePointer($0.value) }
            ?? embedding.fixedPositions
        // The position row is `positions + position·C`; as a (1,1) batch it is row 0.
        swl_embedding_forward(cache.encoded, &id, embedding.tokens.value, positions.map { $0 + position * c },
                              1, 1, Int32(c))
        var x = UnsafePointer(cache.encoded)
        for (layer, block) in blockLayers.enumerated() {
            x = UnsafePointer(block.decode(cache.steps[layer], input: x, position: position,
                                           keys: cache.keys[layer], values: cache.values[layer],
                                           capacity: cache.capacity, scratch: cache.attentionScratch))
        }
        if let lnF {
            lnF.forward(cache.normalized, mean: cache.mean, rstd: cache.rstd, x, rows: 1)
            x = UnsafePointer(cache.normalized)
        }
        lmHead.decode(cache.logits, x)
        cache.count = position + 1
        return Array(UnsafeBufferPointer(start: cache.logits, count: config.vocabularySize))
    }

    private func check(_ cache: KeyValueCache) throws {
        guard cache.config == config else {
            throw ModelError.invalidArgument("this KV cache was made for a model with another config; use model.makeKeyValueCache()")
        }
    }
}
