import Swiftlet

/// One GPT-2 124M training step as `Trainer.step` runs it: forward with the loss, backward
/// (writing the gradients, not adding into zeroed ones), clip the gradient norm, AdamW. Shapes
/// (B,T) = (4,64) and (4,256).
///
/// FLOPs are the usual model estimate: 6·P per token for the matmuls forward and backward (P =
/// `parameterCount`, the tied LM head included), plus causal attention forward+backward
/// 2.5 · 2·B·H·T²·hs per layer. GFLOP/s against the FMA peak is then the model FLOPs utilization.
enum TrainStepCases {
    static let name = "train_step_gpt2_124m"

    static func all(quick: Bool) -> [BenchmarkCase] {
        let shapes = quick ? [(4, 64)] : [(4, 64), (4, 256)]
        let kernels: [AttentionKernel] = quick ? [.flash] : [.flash, .naive]
        return shapes.flatMap { batch, length in kernels.map { step(batch: batch, length: length, attention: $0) } }
    }

    static func step(batch: Int, length: Int, attention: AttentionKernel) -> BenchmarkCase {
        // GPT-2 124M: 12 layers, 12 heads, C = 768, V = 50257; no dropout.
        let (layers, heads, headSize) = (12, 12, 64)
        let attentionFlops = Double(layers) * 2.5 * 2 * Double(batch * heads) * Double(length * length) * Double(headSize)
        let tokens = batch * length
        let parameters = parameterCount(try? GPTConfig(attention: attention))
        return BenchmarkCase(
            name: name, variant: attention.rawValue, shape: "\(batch),\(length)",
            flops: parameters.map { 6 * Double($0) * Double(tokens) + attentionFlops }, tokens: tokens
        ) { _ in
            let config = try GPTConfig(attention: attention)
            let model = try GPT(config: config, seed: 1337)
            let trainer = try Trainer(model: model, schedule: .constant(3e-4))
            var random = RandomGenerator(seed: 7)
            let ids = (0..<tokens + 1).map { _ in Int32(random.nextInt(below: config.vocabularySize)) }
            let data = TrainingBatch(
                inputs: Array(ids[0..<tokens]), targets: Array(ids[1...tokens]),
                batchSize: batch, sequenceLength: length)
            return { _ = try trainer.step { data } }
        }
    }

    /// nanoGPT's parameter count (`get_num_params()`: tied embeddings once, no `wpe`), read from
    /// the layout so that listing the cases does not build a model.
    static func parameterCount(_ config: GPTConfig?) -> Int? {
        guard let config, let layout = try? GPT.layout(for: config) else { return nil }
        return layout.slots.filter { $0.name != "transformer.wpe.weight" }.reduce(0) { $0 + $1.count }
    }
}
