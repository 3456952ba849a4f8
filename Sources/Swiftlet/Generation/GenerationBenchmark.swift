import Foundation
import SwiftletKernels

/// Generation speed of a randomly initialized model (no weights download), batch 1, greedy: what
/// the benchmark harness reports as `generate_gpt2_124m`, with and without the KV cache.
///
/// ```swift
/// let model = try GenerationBenchmark.makeModel(config: try GPTConfig.preset(named: "gpt2"))
/// let cached = try GenerationBenchmark.run(model: model, promptLength: 64, newTokens: 64, useCache: true)
/// let recomputed = try GenerationBenchmark.run(model: model, promptLength: 64, newTokens: 16, useCache: false)
/// print(cached.tokensPerSecond / recomputed.tokensPerSecond)  // the speedup of the cache
/// ```
public enum GenerationBenchmark {
    /// One timed generation.
    public struct Result: Sendable, Codable {
        /// Prompt tokens (random ids, fixed seed).
        public var promptLength: Int
        /// Tokens generated.
        public var newTokens: Int
        /// Whether the KV cache was on.
        public var useCache: Bool
        /// Wall-clock seconds for the whole generation, prompt processing included.
        public var seconds: Double
        /// Seconds until the first new token (prompt processing plus one step).
        public var firstTokenSeconds: Double
        /// `newTokens / seconds`.
        public var tokensPerSecond: Double
        /// Tokens after the first per second: the steady decoding rate.
        public var decodeTokensPerSecond: Double
    }

    /// A model with GPT-2 initialization from `seed` (weights are random: speed does not depend on them).
    public static func makeModel(config: GPTConfig, seed: UInt64 = 1) throws -> GPT {
        var config = config
        config.dropout = 0
        return try GPT(config: config, seed: seed)
    }

    /// `run(model:…)` on a fresh model of `config` (GPT-2 124M: `GPTConfig.preset(named: "gpt2")`).
    public static func run(config: GPTConfig, promptLength: Int, newTokens: Int, useCache: Bool) throws -> Result {
        try run(model: try makeModel(config: config), promptLength: promptLength, newTokens: newTokens, useCache: useCache)
    }

    /// Generates `newTokens` greedy tokens after a random prompt of `promptLength` ids and times it.
    /// `promptLength + newTokens` may exceed block_size (the context is then cropped each step).
    public static func run(model: GPT, promptLength: Int, newTokens: Int, useCache: Bool, seed: UInt64 = 7) throws -> Result {
        guard promptLength >= 1, promptLength <= model.config.blockSize else {
            throw GenerationError.invalidParameter("prompt length must be in 1...\(model.config.blockSize) (block_size), got \(promptLength)")
        }
        guard newTokens >= 1 else { throw GenerationError.invalidParameter("new tokens must be ≥ 1, got \(newTokens)") }
        var random = RandomGenerator(seed: seed)
        let prompt = (0..<promptLength).map { _ in Int32(random.nextInt(below: model.config.vocabularySize)) }
        let options = GenerationOptions(maxNewTokens: newTokens, sampling: .greedy, useCache: useCache)
        let generation = try TokenGeneration(model: model, prompt: prompt, options: options, sampler: nil)
        let start = DispatchTime.now().uptimeNanoseconds
        var firstToken = start
        while try generation.next() != nil {
            if generation.generated.count == 1 { firstToken = DispatchTime.now().uptimeNanoseconds }
        }
        let end = DispatchTime.now().uptimeNanoseconds
        let seconds = Double(end - start) / 1e9, first = Double(firstToken - start) / 1e9
        let count = generation.generated.count
        return Result(promptLength: promptLength, newTokens: count, useCache: useCache, seconds: seconds,
                      firstTokenSeconds: first, tokensPerSecond: Double(count) / seconds,
                      decodeTokensPerSecond: count > 1 ? Double(count - 1) / max(seconds - first, 1e-12) : 0)
    }

    /// The machine's streaming bandwidth in GB/s on the current thread count (a triad over
    /// `bytes`, see `swl_measure_bandwidth_gbs`): the ceiling of a decode step, which reads every
    /// weight once.
    public static func streamingBandwidth(bytes: Int = 1 << 30) -> Double {
        swl_measure_bandwidth_gbs(Int32(Runtime.threads), bytes)
    }

    /// Where one cached decode step spends its time: seconds per step for each part, measured by
    /// running that part alone `repeats` times on a cache filled with `promptLength` tokens.
    /// Parts: `embedding`, `layernorm` (all of them), `c_attn`, `attention` (RoPE, cache write and
    /// `swl_attention_decode`), `c_proj`, `mlp.c_fc`, `activation`, `mlp.c_proj`, `lm_head`, plus
    /// `step` (one whole `decode`). The linears also report the weight bytes they stream.
    public static func profileDecodeStep(model: GPT, promptLength: Int = 64, repeats: Int = 20) throws -> [(part: String, seconds: Double, weightBytes: Int)] {
        let cache = model.makeKeyValueCache()
        let prompt = (0..<promptLength).map { Int32($0 % model.config.vocabularySize) }
        _ = try model.prefill(prompt, cache: cache)
        func time(_ body: () throws -> Void) rethrows -> Double {
            try body()  // warm
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<repeats { try body() }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(repeats)
        }
        var parts: [(String, Double, Int)] = []
        let step = try time {
            _ = try model.decode(1, cache: cache)
            cache.count -= 1
        }
        let a = cache.steps[0], x = UnsafePointer(cache.encoded)
        let blocks = model.blockLayers, layers = Double(blocks.count)
        func linear(_ name: String, _ pick: (Block) -> Linear?, out: UnsafeMutablePointer<Float>) {
            guard let first = blocks.first.flatMap(pick) else { return }
            let input = UnsafeMutablePointer<Float>.allocate(capacity: first.inputs)
            input.initialize(repeating: 0.5, count: first.inputs)
            defer { input.deallocate() }
            let seconds = time { for block in blocks { pick(block)!.decode(out, input) } }
            parts.append((name, seconds, blocks.count * first.inputs * first.outputs * 4))
        }
        let channels = model.config.embeddingSize
        parts.append(("embedding", time {
            var id: Int32 = 1
            swl_embedding_forward(cache.encoded, &id, model.embedding.tokens.value, nil, 1, 1, Int32(channels))
        }, 0))
        parts.append(("layernorm", time {
            for block in blocks {
                block.ln1.forward(a.ln1, mean: a.ln1Mean, rstd: a.ln1Rstd, x, rows: 1)
                if let ln2 = block.ln2, let out = a.ln2 { ln2.forward(out, mean: a.ln2Mean!, rstd: a.ln2Rstd!, x, rows: 1) }
            }
        }, 0))
        linear("c_attn", { $0.attention.cAttn }, out: a.qkv)
        let (h, hs) = (Int32(model.config.headCount), Int32(model.config.headSize))
        parts.append(("attention", time {
            swl_attention_decode(a.y, cache.attentionScratch, a.qkv, cache.keys[0], cache.values[0], 1, h,
                                 Int32(promptLength), Int32(cache.capacity), hs)
        } * layers, 0))
        linear("c_proj", { $0.attention.cProj }, out: a.attentionProjection)
        if let fc = a.fc, let activated = a.fcActivated, let projection = a.mlpProjection {
            linear("mlp.c_fc", { $0.mlp?.cFc }, out: fc)
            let n = model.config.mlpHiddenSize
            parts.append(("activation", time { swl_gelu_tanh_forward(activated, fc, n) } * layers, 0))
            linear("mlp.c_proj", { $0.mlp?.cProj }, out: projection)
        }
        let head = model.lmHead
        parts.append(("lm_head", time { head.decode(cache.logits, x) }, head.inputs * head.outputs * 4))
        parts.append(("step", step, 0))
        return parts
    }
}
