import Foundation
import SwiftletKernels

/// What a forward pass computes.
public enum ForwardMode: String, Sendable, CaseIterable {
    /// Dropout on, logits at every position; `backward()` may follow.
    case training
    /// Dropout off, logits at every position (validation loss); `backward()` may follow.
    case evaluation
    /// Dropout off, logits at the last position of each sequence only (generation).
    case inference
}

/// A GPT language model (nanoGPT's `GPT`) whose parameters live in one flat buffer.
///
/// Composition, top-down: token + position embedding → `n_layer` × `Block` (attention, MLP) →
/// `ln_f` (pre-LN only) → LM head (tied to `wte` unless `tie_embeddings` is false).
///
/// ```swift
/// let model = try GPT(config: try GPTConfig.preset(named: "tiny"), seed: 1337)
/// model.zeroGradients()
/// let loss = try model.forward(tokens: x, targets: y, batchSize: 4, sequenceLength: 64)
/// try model.backward()                                   // `Trainer` does all of a step
/// try model.forward(tokens: prompt, batchSize: 1, sequenceLength: prompt.count, mode: .inference)
/// let nextTokenLogits = try model.logits()               // (1, 1, V)
/// ```
///
/// Activations are allocated on the first forward for a (B, T) and reused for any batch and
/// sequence no larger; forward and backward allocate nothing else. Not thread-safe: one pass
/// at a time (the kernels themselves use every thread `Runtime.threads` allows).
public final class GPT {
    /// The architecture.
    public let config: GPTConfig
    /// Every parameter, under nanoGPT `state_dict` names, in one buffer.
    public let parameters: ParameterStore
    /// ∂loss/∂parameters, same layout. `backward()` adds into it (or overwrites it);
    /// `zeroGradients()` clears it.
    public let gradients: ParameterStore
    /// The seed of the dropout masks.
    public var dropoutSeed: UInt64
    /// Training forward passes run so far. Each pass's dropout masks derive from
    /// (`dropoutSeed`, this counter); a checkpoint that saves and restores it resumes with the
    /// same masks.
    public var dropoutPassCount: UInt64 = 0

    let embedding: Embedding
    private let blocks: [Block]
    let lnF: LayerNorm?
    let lmHead: Linear
    private let constants = BufferPool()
    private var activations: Activations?
    private var activationGradients: ActivationGradients?
    private var lastPass: Pass?
    /// The parts of `gradients` a backward pass adds into rather than writes whole: zeroed
    /// before an `.overwrite` pass (GPT+GradientWrite.swift). Set once the layers exist.
    private(set) var gradientRangesNotOverwritten: [Range<Int>] = []

    /// What the last forward pass did, for backward and inspection.
    private struct Pass {
        let batch: Int
        let time: Int
        let mode: ForwardMode
        let hasTargets: Bool
        let dropout: DropoutPlan?
    }

    /// Builds a model with GPT-2 initialization drawn from `seed`: Linear and Embedding weights
    /// ~ N(0, 0.02), `c_proj` weights ~ N(0, 0.02/√(2·n_layer)), biases 0, LayerNorm weights 1.
    /// Throws a `ConfigError` if the config is invalid.
    ///
    /// - Parameter randomInitialization: false leaves every parameter 0, for a caller that loads
    ///   them from a checkpoint next (drawing 124M normals takes seconds). `seed` still seeds dropout.
    public init(config: GPTConfig, seed: UInt64, randomInitialization: Bool = true) throws {
        try config.validate()
        self.config = config
        let layout = try GPT.layout(for: config)
        parameters = ParameterStore(layout: layout)
        gradients = ParameterStore(layout: layout)
        dropoutSeed = DropoutPlan.mix(seed ^ 0x4452_4F50_4F55_5453)

        let (parameters, gradients) = (self.parameters, self.gradients)
        func view(_ name: String) throws -> ParameterView {
            ParameterView(try layout.slot(named: name), parameters: parameters, gradients: gradients)
        }
        func optionalView(_ name: String) throws -> ParameterView? {
            layout.slots.contains { $0.name == name } ? try view(name) : nil
        }
        func linear(_ prefix: String, inputs: Int, outputs: Int) throws -> Linear {
            Linear(weight: try view(prefix + ".weight"), bias: try optionalView(prefix + ".bias"),
                   inputs: inputs, outputs: outputs)
        }
        func layerNorm(_ prefix: String) throws -> LayerNorm {
            LayerNorm(weight: try view(prefix + ".weight"), bias: try optionalView(prefix + ".bias"),
                      channels: config.embeddingSize)
        }

        let c = config.embeddingSize
        var fixedPositions: UnsafePointer<Float>?
        if config.position == .sinusoidal {
            let table = constants.floats(config.blockSize * c)
            swl_sinusoidal_table(table, Int32(config.blockSize), Int32(c), config.positionBase)
            fixedPositions = UnsafePointer(table)
        }
        embedding = Embedding(tokens: try view("transformer.wte.weight"),
                              learnedPositions: try optionalView("transformer.wpe.weight"),
                              fixedPositions: fixedPositions, channels: c)
        blocks = try (0..<config.layerCount).map { layer in
            let prefix = "transformer.h.\(layer)"
            let attention = CausalSelfAttention(
                cAttn: try linear(prefix + ".attn.c_attn", inputs: c, outputs: 3 * c),
                cProj: try linear(prefix + ".attn.c_proj", inputs: c, outputs: c),
                layer: layer, heads: config.headCount, headSize: config.headSize,
                ropeBase: config.position == .rope ? config.positionBase : nil, kernel: config.attention)
            let mlp = config.hasMLP
                ? MLP(cFc: try linear(prefix + ".mlp.c_fc", inputs: c, outputs: config.mlpHiddenSize),
                      cProj: try linear(prefix + ".mlp.c_proj", inputs: config.mlpHiddenSize, outputs: c),
                      activation: config.activation, layer: layer)
                : nil
            return Block(ln1: try layerNorm(prefix + ".ln_1"), attention: attention,
                         ln2: config.hasMLP ? try layerNorm(prefix + ".ln_2") : nil, mlp: mlp,
                         normalization: config.normalization, channels: c)
        }
        lnF = config.normalization == .pre ? try layerNorm("transformer.ln_f") : nil
        // The head's weight has Vp rows: the slot's V rows plus zero padding rows reserved after
        // it, so the logits come out with row stride Vp and the padding columns are always 0.
        lmHead = Linear(weight: try view(config.tieEmbeddings ? "transformer.wte.weight" : "lm_head.weight"),
                        bias: nil, inputs: c, outputs: config.paddedVocabularySize)
        gradientRangesNotOverwritten = GPT.gaps(between: overwrittenGradientRanges, in: gradients.count)
        if randomInitialization { initializeParameters(seed: seed) }
    }

    /// The parameter layout of a config: nanoGPT `named_parameters()` order and shapes.
    ///
    /// `transformer.wte.weight` (V,C); `transformer.wpe.weight` (block_size,C) for learned
    /// positions; per block `ln_1`, `attn.c_attn` (3C,C), `attn.c_proj` (C,C), and with an MLP
    /// `ln_2`, `mlp.c_fc` (hidden,C), `mlp.c_proj` (C,hidden); `transformer.ln_f` for pre-LN;
    /// `lm_head.weight` (V,C) when untied. `.bias` tensors follow their weights when `bias` is on.
    public static func layout(for config: GPTConfig) throws -> ParameterLayout {
        try config.validate()
        let c = config.embeddingSize, paddedHead = config.paddedVocabularySize * c
        var layout = ParameterLayout()
        func add(_ prefix: String, _ shape: [Int], bias: Int? = nil) throws {
            try layout.append(prefix + ".weight", shape: shape)
            if config.bias, let bias { try layout.append(prefix + ".bias", shape: [bias]) }
        }
        try layout.append("transformer.wte.weight", shape: [config.vocabularySize, c],
                          reservedCount: config.tieEmbeddings ? paddedHead : nil)
        if config.position == .learned {
            try layout.append("transformer.wpe.weight", shape: [config.blockSize, c])
        }
        for layer in 0..<config.layerCount {
            let prefix = "transformer.h.\(layer)"
            try add(prefix + ".ln_1", [c], bias: c)
            try add(prefix + ".attn.c_attn", [3 * c, c], bias: 3 * c)
            try add(prefix + ".attn.c_proj", [c, c], bias: c)
            if config.hasMLP {
                try add(prefix + ".ln_2", [c], bias: c)
                try add(prefix + ".mlp.c_fc", [config.mlpHiddenSize, c], bias: config.mlpHiddenSize)
                try add(prefix + ".mlp.c_proj", [c, config.mlpHiddenSize], bias: c)
            }
        }
        if config.normalization == .pre { try add("transformer.ln_f", [c], bias: c) }
        if !config.tieEmbeddings {
            try layout.append("lm_head.weight", shape: [config.vocabularySize, c], reservedCount: paddedHead)
        }
        return layout
    }

    /// Redraws every parameter with GPT-2 initialization from `seed` (see `init`), slot by slot in
    /// layout order. Padding and alignment gaps are set to 0.
    public func initializeParameters(seed: UInt64) {
        var random = RandomGenerator(seed: seed)
        let residualStd = 0.02 / (2 * Double(config.layerCount)).squareRoot()
        parameters.zero()
        for slot in parameters.slots {
            let name = slot.name
            parameters.withValues(of: slot) { values in
                if name.hasSuffix(".bias") {
                    values.update(repeating: 0)
                } else if name.contains(".ln_") {
                    values.update(repeating: 1)
                } else {
                    let std = name.hasSuffix(".c_proj.weight") ? residualStd : 0.02
                    random.fillNormal(values, standardDeviation: std)
                }
            }
        }
    }

    // MARK: Counting

    /// Parameters as nanoGPT counts them (`get_num_params()`): every trainable tensor once,
    /// tied embeddings once, minus the learned position table `wpe`. Padding is not counted.
    public var parameterCount: Int {
        parameters.slots.filter { $0.name != "transformer.wpe.weight" }.reduce(0) { $0 + $1.count }
    }

    /// Every trainable parameter, `wpe` included (the number of floats a checkpoint stores).
    public var totalParameterCount: Int { parameters.slots.reduce(0) { $0 + $1.count } }

    // MARK: Attention kernel

    /// The attention kernel a forward pass in `mode` runs: `config.attention` in every mode. With
    /// `dropout > 0`, a training pass drops attention probabilities inside the flash kernel, or,
    /// with `naive`, on the materialized probabilities (composed from the linear, causal-softmax
    /// and dropout kernels); both draw the same mask.
    public func effectiveAttentionKernel(for mode: ForwardMode) -> AttentionKernel { config.attention }

    /// The kernel the last forward pass ran, or nil before the first.
    public var lastAttentionKernel: AttentionKernel? { lastPass.map { _ in config.attention } }

    // MARK: Forward

    /// Runs the model on token ids `tokens` (B,T), row-major, and returns the mean cross-entropy
    /// loss over the targets that are not −1, or nil without targets.
    ///
    /// - Parameters:
    ///   - tokens: B·T ids in 0..<vocab_size.
    ///   - targets: B·T ids in 0..<vocab_size, or −1 to ignore a position; nil for no loss.
    ///     Not allowed in `.inference` mode.
    ///   - batchSize: B ≥ 1.
    ///   - sequenceLength: T in 1...block_size.
    ///   - mode: `.training` (dropout on), `.evaluation`, or `.inference` (logits of the last
    ///     position only). Read the logits with `logits()` or `withLogits(_:)`.
    @discardableResult
    public func forward(
        tokens: [Int32], targets: [Int32]? = nil, batchSize: Int, sequenceLength: Int,
        mode: ForwardMode = .training
    ) throws -> Float? {
        let (batch, time) = (batchSize, sequenceLength)
        try validate(tokens: tokens, targets: targets, batch: batch, time: time, mode: mode)
        let a = activations(batch: batch, time: time)
        let rows = batch * time, c = config.embeddingSize
        lastPass = nil

        tokens.withUnsafeBufferPointer { a.tokens.update(from: $0.baseAddress!, count: rows) }
        if let targets { targets.withUnsafeBufferPointer { a.targets.update(from: $0.baseAddress!, count: rows) } }

        var dropout: DropoutPlan?
        if mode == .training && config.dropout > 0 {
            dropout = DropoutPlan(probability: config.dropout, modelSeed: dropoutSeed, pass: dropoutPassCount)
            dropoutPassCount &+= 1
        }

        embedding.forward(a.encoded, a.tokens, batch: batch, time: time)
        var x = a.encoded
        if let dropout, let embedded = a.embedded {
            dropout.forward(embedded, a.encoded, count: rows * c, site: .embedding)
            x = embedded
        }
        for (block, buffers) in zip(blocks, a.blocks) {
            x = block.forward(buffers, input: x, batch: batch, time: time, dropout: dropout)
        }
        if let lnF {
            lnF.forward(a.lnF!, mean: a.lnFMean!, rstd: a.lnFRstd!, x, rows: rows)
            x = a.lnF!
        }

        var loss: Float?
        if mode == .inference {
            for b in 0..<batch {
                (a.lastRows + b * c).update(from: x + ((b + 1) * time - 1) * c, count: c)
            }
            lmHead.forward(a.logits, a.lastRows, rows: batch)
        } else {
            lmHead.forward(a.logits, x, rows: rows)
            if targets != nil {
                loss = swl_crossentropy_forward(a.losses, a.logsumexp, a.logits, a.targets, Int32(rows),
                                                Int32(config.vocabularySize), Int32(config.paddedVocabularySize))
            }
        }
        lastPass = Pass(batch: batch, time: time, mode: mode, hasTargets: targets != nil, dropout: dropout)
        return loss
    }

    private func validate(tokens: [Int32], targets: [Int32]?, batch: Int, time: Int, mode: ForwardMode) throws {
        guard batch >= 1, batch <= 1 << 24 else {
            throw ModelError.invalidArgument("batchSize must be in 1...\(1 << 24), got \(batch)")
        }
        guard time >= 1, time <= config.blockSize else {
            throw ModelError.invalidArgument("sequenceLength must be in 1...\(config.blockSize) (block_size), got \(time)")
        }
        guard batch * time <= 1 << 24 else {
            throw ModelError.invalidArgument("batchSize × sequenceLength = \(batch * time) is too large (at most \(1 << 24))")
        }
        guard tokens.count == batch * time else {
            throw ModelError.invalidArgument("tokens has \(tokens.count) ids, expected batchSize × sequenceLength = \(batch * time)")
        }
        let vocabulary = Int32(config.vocabularySize)
        if let index = tokens.firstIndex(where: { $0 < 0 || $0 >= vocabulary }) {
            throw ModelError.invalidArgument("tokens[\(index)] = \(tokens[index]) is outside 0..<\(vocabulary) (vocab_size)")
        }
        guard let targets else { return }
        guard mode != .inference else {
            throw ModelError.invalidArgument("targets need logits at every position: use mode .training or .evaluation, not .inference")
        }
        guard targets.count == batch * time else {
            throw ModelError.invalidArgument("targets has \(targets.count) ids, expected batchSize × sequenceLength = \(batch * time)")
        }
        if let index = targets.firstIndex(where: { $0 < -1 || $0 >= vocabulary }) {
            throw ModelError.invalidArgument("targets[\(index)] = \(targets[index]) is outside -1..<\(vocabulary) (−1 = ignored)")
        }
    }

    private func activations(batch: Int, time: Int) -> Activations {
        if let activations, activations.fits(batch: batch, time: time) { return activations }
        let capacity = grownCapacity(batch: batch, time: time)
        activations = nil  // free the old buffers before allocating the new ones
        let grown = Activations(config: config, batch: capacity.batch, time: capacity.time)
        activations = grown
        return grown
    }

    /// The capacity to allocate for a pass that does not fit: at least (batch, time), and at
    /// least double the old sequence length (up to block_size), so generation, whose T grows by
    /// one per token, reallocates O(log T) times rather than once per token.
    private func grownCapacity(batch: Int, time: Int) -> (batch: Int, time: Int) {
        let old = (batch: activations?.batchCapacity ?? 0, time: activations?.timeCapacity ?? 0)
        let doubled = old.time == 0 ? time : min(config.blockSize, 2 * old.time)
        return (max(batch, old.batch), max(time, doubled))
    }

    // MARK: Backward

    /// Adds ∂(lossScale · loss)/∂parameters of the last forward pass into `gradients`, or with
    /// `gradients: .overwrite` replaces what they held (the bits of `zeroGradients()` first).
    ///
    /// The last forward must have had targets and mode `.training` or `.evaluation`. With
    /// gradient accumulation over k micro-batches pass `lossScale: 1/k`, and `.overwrite` for the
    /// first (or `zeroGradients()` before it).
    public func backward(lossScale: Float = 1, gradients write: GradientWrite = .accumulate) throws {
        guard let pass = lastPass, pass.hasTargets, let a = activations else {
            throw ModelError.invalidState("backward() needs a forward pass with targets in .training or .evaluation mode just before it")
        }
        if write == .overwrite { zeroGradientsNotOverwritten() }
        let (batch, time) = (pass.batch, pass.time)
        let rows = batch * time, c = config.embeddingSize
        let g = activationGradients(batch: batch, time: time)

        // Overwrites all of dlogits (padding and ignored rows with 0): nothing to clear first.
        swl_crossentropy_backward(g.logits, a.logits, a.logsumexp, a.targets, Int32(rows),
                                  Int32(config.vocabularySize), Int32(config.paddedVocabularySize), lossScale)
        let lastOutput: UnsafeMutablePointer<Float> = blocks.last!.output(a.blocks.last!)
        // The LM head goes first: with tied embeddings its weight gradient is wte's, which an
        // `.overwrite` pass writes here and the embedding's backward adds its rows into last.
        // Its input gradient is written over the scratch (no clearing first).
        if let lnF {
            lmHead.backward(dx: g.lnF, g.logits, a.lnF!, rows: rows, inputGradient: .overwrite, weightGradient: write)
            g.stream.clear(rows * c)
            lnF.backward(dx: g.stream, g.lnF, lastOutput, mean: a.lnFMean!, rstd: a.lnFRstd!, rows: rows)
        } else {
            lmHead.backward(dx: g.stream, g.logits, lastOutput, rows: rows, inputGradient: .overwrite,
                            weightGradient: write)
        }
        for layer in blocks.indices.reversed() {
            let input: UnsafeMutablePointer<Float> = layer == 0
                ? (pass.dropout != nil ? (a.embedded ?? a.encoded) : a.encoded)
                : blocks[layer - 1].output(a.blocks[layer - 1])
            blocks[layer].backward(a.blocks[layer], input: input, batch: batch, time: time,
                                   dropout: pass.dropout, scratch: g, weightGradients: write)
        }
        if let dropout = pass.dropout, let dEncoded = g.encoded {
            dEncoded.clear(rows * c)
            dropout.backward(dEncoded, g.stream, count: rows * c, site: .embedding)
            embedding.backward(dEncoded, a.tokens, batch: batch, time: time)
        } else {
            embedding.backward(g.stream, a.tokens, batch: batch, time: time)
        }
    }

    /// For tests: sets every float of the backward's scratch for (batch, time) to `value`. With
    /// NaN, a scratch float the backward read before writing it would show in the gradients.
    func fillBackwardScratch(with value: Float, batch: Int, time: Int) {
        activationGradients(batch: batch, time: time).fill(with: value)
    }

    private func activationGradients(batch: Int, time: Int) -> ActivationGradients {
        if let activationGradients, activationGradients.fits(batch: batch, time: time) { return activationGradients }
        activationGradients = nil
        // Backward follows a forward, so the activations' capacity covers (batch, time).
        let grown = ActivationGradients(config: config, batch: activations?.batchCapacity ?? batch,
                                        time: activations?.timeCapacity ?? time)
        activationGradients = grown
        return grown
    }

    /// Sets every gradient to 0.
    public func zeroGradients() { gradients.zero() }

    // MARK: Logits

    /// The logits of the last forward pass, without vocabulary padding: (B, T, V) after
    /// `.training`/`.evaluation`, (B, 1, V) after `.inference`. A copy.
    public func logits() throws -> Tensor {
        try withLogits { values, rows, rowStride in
            var result = [Float](repeating: 0, count: rows * config.vocabularySize)
            result.withUnsafeMutableBufferPointer { out in
                for row in 0..<rows {
                    (out.baseAddress! + row * config.vocabularySize)
                        .update(from: values.baseAddress! + row * rowStride, count: config.vocabularySize)
                }
            }
            let pass = lastPass!
            return try Tensor(shape: [pass.batch, pass.mode == .inference ? 1 : pass.time, config.vocabularySize],
                              values: result)
        }
    }

    /// Calls `body` with the last forward pass's logits in place: `rows` rows (B·T, or B after
    /// `.inference`) of `rowStride` (= padded vocabulary) floats, of which the first
    /// `config.vocabularySize` are the logits and the rest are padding.
    public func withLogits<Result>(
        _ body: (_ values: UnsafeBufferPointer<Float>, _ rows: Int, _ rowStride: Int) throws -> Result
    ) throws -> Result {
        guard let pass = lastPass, let a = activations else {
            throw ModelError.invalidState("no logits yet: run forward first")
        }
        let rows = pass.mode == .inference ? pass.batch : pass.batch * pass.time
        let stride = config.paddedVocabularySize
        return try body(UnsafeBufferPointer(start: a.logits, count: rows * stride), rows, stride)
    }

    // MARK: Inspection (GPT+Inspection.swift)

    var inspectionState: (activations: Activations, batch: Int, time: Int, mode: ForwardMode)? {
        guard let pass = lastPass, let a = activations else { return nil }
        return (a, pass.batch, pass.time, pass.mode)
    }

    var blockLayers: [Block] { blocks }
}
