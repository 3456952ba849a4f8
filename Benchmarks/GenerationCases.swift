import Swiftlet

/// Greedy generation with a GPT-2 124M-sized model (random weights: speed does not depend on
/// them), batch 1: a 64-token prompt, then 32 new tokens, with the KV cache and without it
/// (recomputing the whole context for every token). Reports tokens/s; the cached variant also
/// reports GB/s, counting every weight read once per generated token (the decode step is
/// memory-bound), so its % is of the measured streaming bandwidth.
enum GenerationCases {
    static let name = "generate_gpt2_124m"
    static let (promptLength, newTokens) = (64, 32)

    static func all() -> [BenchmarkCase] {
        [generate(useCache: true), generate(useCache: false)]
    }

    static func generate(useCache: Bool) -> BenchmarkCase {
        let weightBytes = (try? GPT.layout(for: GPTConfig())).map { layout in
            Double(layout.slots.reduce(0) { $0 + $1.count } * MemoryLayout<Float>.size)
        }
        return BenchmarkCase(
            name: name, variant: useCache ? "cache" : "no_cache", shape: "1,\(promptLength)+\(newTokens)",
            bytes: useCache ? weightBytes.map { $0 * Double(newTokens) } : nil, tokens: newTokens
        ) { _ in
            let model = try GenerationBenchmark.makeModel(config: GPTConfig())
            return {
                _ = try GenerationBenchmark.run(model: model, promptLength: promptLength, newTokens: newTokens, useCache: useCache)
            }
        }
    }
}
