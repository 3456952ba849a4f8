import Foundation

/// Everything a training run needs: the model architecture, the data, the tokenizer and the
/// optimization recipe.
///
/// Its JSON is flat, with nanoGPT-style snake_case keys — the model's `GPTConfig` keys
/// (`n_layer`, `block_size`, …) beside the training keys (`batch_size`, `lr`, …) — so a config
/// file reads like nanoGPT's `config/*.py`, and each key is the kebab-case CLI flag
/// (`batch_size` ↔ `--batch-size`). Settings resolve in layers, later ones winning:
/// defaults ← `preset` ← config file ← flags (see `resolve(layers:)`).
public struct TrainingConfiguration: Codable, Equatable, Sendable {
    /// The model architecture (its `vocab_size` is replaced by the tokenizer's).
    public var model: GPTConfig
    /// A text file, a Swiftlet token file, or a built-in dataset: `shakespeare` (the bundled
    /// tinyshakespeare), `counting` or `copy`.
    public var data: String = "shakespeare"
    /// Which tokenizer turns text into ids.
    public var tokenizer: TokenizerKind = .character
    /// A saved tokenizer JSON (`swiftlet bpe train --out`), instead of building one from the data.
    public var vocab: String? = nil
    /// B: sequences per micro-batch.
    public var batchSize: Int = 12
    /// Optimizer steps to train for (with `--resume`: the step to continue until).
    public var steps: Int = 2000
    /// Peak learning rate.
    public var learningRate: Float = 1e-3
    /// Learning rate at the end of the cosine decay.
    public var minimumLearningRate: Float = 1e-4
    /// Linear warmup steps.
    public var warmupSteps: Int = 100
    /// Step at which the cosine decay reaches `min_lr`; 0 means a constant learning rate.
    public var decaySteps: Int = 2000
    /// AdamW decoupled weight decay (on ≥ 2-D tensors only, as nanoGPT).
    public var weightDecay: Float = 0.1
    public var beta1: Float = 0.9
    public var beta2: Float = 0.99
    /// Clip the global gradient norm to this; 0 turns clipping off.
    public var gradientClip: Float = 1.0
    /// Micro-batches per optimizer step.
    public var gradientAccumulation: Int = 1
    /// Steps between evaluations (and checkpoints).
    public var evalInterval: Int = 250
    /// Batches averaged per loss estimate.
    public var evalIterations: Int = 20
    /// Seeds parameter init, batch sampling and dropout.
    public var seed: UInt64 = 1337

    public init(model: GPTConfig) { self.model = model }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case data, tokenizer, vocab, steps, seed, beta1, beta2
        case batchSize = "batch_size"
        case learningRate = "lr"
        case minimumLearningRate = "min_lr"
        case warmupSteps = "warmup"
        case decaySteps = "decay_steps"
        case weightDecay = "weight_decay"
        case gradientClip = "grad_clip"
        case gradientAccumulation = "grad_accum"
        case evalInterval = "eval_interval"
        case evalIterations = "eval_iters"
    }

    /// Keys that are not settings but choose them (`preset`) or are run options.
    static let layerOnlyKeys: Set<String> = ["preset"]

    /// Every key a layer may set: the training keys, the model keys and `preset`.
    public static var knownKeys: Set<String> {
        Set(CodingKeys.allCases.map(\.rawValue)).union(GPTConfig.jsonKeys).union(layerOnlyKeys)
    }

    public init(from decoder: any Decoder) throws {
        model = try GPTConfig(from: decoder)  // the model keys sit beside ours in one flat object
        let c = try decoder.container(keyedBy: CodingKeys.self)
        data = try c.decodeIfPresent(String.self, forKey: .data) ?? data
        tokenizer = try c.decodeIfPresent(TokenizerKind.self, forKey: .tokenizer) ?? tokenizer
        vocab = try c.decodeIfPresent(String.self, forKey: .vocab)
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? batchSize
        steps = try c.decodeIfPresent(Int.self, forKey: .steps) ?? steps
        learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? learningRate
        minimumLearningRate = try c.decodeIfPresent(Float.self, forKey: .minimumLearningRate) ?? minimumLearningRate
        warmupSteps = try c.decodeIfPresent(Int.self, forKey: .warmupSteps) ?? warmupSteps
        decaySteps = try c.decodeIfPresent(Int.self, forKey: .decaySteps) ?? decaySteps
        weightDecay = try c.decodeIfPresent(Float.self, forKey: .weightDecay) ?? weightDecay
        beta1 = try c.decodeIfPresent(Float.self, forKey: .beta1) ?? beta1
        beta2 = try c.decodeIfPresent(Float.self, forKey: .beta2) ?? beta2
        gradientClip = try c.decodeIfPresent(Float.self, forKey: .gradientClip) ?? gradientClip
        gradientAccumulation = try c.decodeIfPresent(Int.self, forKey: .gradientAccumulation) ?? gradientAccumulation
        evalInterval = try c.decodeIfPresent(Int.self, forKey: .evalInterval) ?? evalInterval
        evalIterations = try c.decodeIfPresent(Int.self, forKey: .evalIterations) ?? evalIterations
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? seed
    }

    public func encode(to encoder: any Encoder) throws {
        try model.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(data, forKey: .data)
        try c.encode(tokenizer, forKey: .tokenizer)
        try c.encodeIfPresent(vocab, forKey: .vocab)
        try c.encode(batchSize, forKey: .batchSize)
        try c.encode(steps, forKey: .steps)
        try c.encode(learningRate, forKey: .learningRate)
        try c.encode(minimumLearningRate, forKey: .minimumLearningRate)
        try c.encode(warmupSteps, forKey: .warmupSteps)
        try c.encode(decaySteps, forKey: .decaySteps)
        try c.encode(weightDecay, forKey: .weightDecay)
        try c.encode(beta1, forKey: .beta1)
        try c.encode(beta2, forKey: .beta2)
        try c.encode(gradientClip, forKey: .gradientClip)
        try c.encode(gradientAccumulation, forKey: .gradientAccumulation)
        try c.encode(evalInterval, forKey: .evalInterval)
        try c.encode(evalIterations, forKey: .evalIterations)
        try c.encode(seed, forKey: .seed)
    }

    /// The learning-rate schedule these settings describe: nanoGPT's warmup + cosine, or a
    /// constant rate when `decay_steps` is 0.
    public var schedule: LearningRateSchedule {
        decaySteps == 0
            ? .constant(learningRate)
            : .warmupCosine(maxLR: learningRate, minLR: minimumLearningRate, warmupSteps: warmupSteps, decaySteps: decaySteps)
    }

    /// Tokens one optimizer step consumes: B · T · accumulation.
    public var tokensPerStep: Int { batchSize * model.blockSize * gradientAccumulation }

    /// Throws a `ConfigError` naming the first invalid setting.
    public func validate() throws {
        func require(_ condition: Bool, _ field: String, _ reason: String) throws {
            if !condition { throw ConfigError(field: field, reason: reason) }
        }
        try model.validate()
        try require(batchSize >= 1, "batch_size", "must be at least 1, got \(batchSize)")
        try require(steps >= 0, "steps", "must be ≥ 0, got \(steps)")
        try require(learningRate > 0 && learningRate.isFinite, "lr", "must be positive, got \(learningRate)")
        try require(minimumLearningRate >= 0 && minimumLearningRate <= learningRate, "min_lr", "must be in [0, lr], got \(minimumLearningRate)")
        try require(warmupSteps >= 0, "warmup", "must be ≥ 0, got \(warmupSteps)")
        try require(decaySteps >= 0, "decay_steps", "must be ≥ 0, got \(decaySteps)")
        try require(weightDecay >= 0 && weightDecay.isFinite, "weight_decay", "must be ≥ 0, got \(weightDecay)")
        try require(beta1 >= 0 && beta1 < 1, "beta1", "must be in [0, 1), got \(beta1)")
        try require(beta2 >= 0 && beta2 < 1, "beta2", "must be in [0, 1), got \(beta2)")
        try require(gradientClip >= 0 && gradientClip.isFinite, "grad_clip", "must be ≥ 0 (0 = off), got \(gradientClip)")
        try require(gradientAccumulation >= 1, "grad_accum", "must be at least 1, got \(gradientAccumulation)")
        try require(evalInterval >= 1, "eval_interval", "must be at least 1, got \(evalInterval)")
        try require(evalIterations >= 1, "eval_iters", "must be at least 1, got \(evalIterations)")
        if tokenizer == .gpt2 || vocab != nil { return }
        try require(!data.isEmpty, "data", "must name a file or a built-in dataset")
    }
}

// MARK: Layers and presets

extension TrainingConfiguration {
    /// One layer of settings: snake_case keys to JSON values (numbers, strings, booleans).
    public typealias Layer = [String: Any]

    /// Resolves layers in order (later keys win) on top of the defaults. A layer's `preset` key
    /// inserts that preset's settings just below the layer itself. Unknown keys are an error
    /// that names them.
    public static func resolve(layers: [Layer]) throws -> TrainingConfiguration {
        var merged: Layer = [:]
        for layer in layers {
            if let unknown = layer.keys.filter({ !knownKeys.contains($0) }).sorted().first {
                throw ConfigError(field: unknown, reason: "is not a setting Swiftlet knows (see `swiftlet train --help`)")
            }
            if let name = layer["preset"] {
                guard let name = name as? String else { throw ConfigError(field: "preset", reason: "must be a string") }
                merged.merge(try preset(named: name)) { _, new in new }
            }
            merged.merge(layer.filter { $0.key != "preset" }) { _, new in new }
        }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            if let number = value as? Double, !number.isFinite {
                throw ConfigError(field: key, reason: "must be a finite number, got \(number)")
            }
        }
        do {
            let configuration = try decode(merged)
            try configuration.validate()
            return configuration
        } catch let error as ConfigError {
            throw error
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.dataCorrupted(context) {
            // Some failures (a fraction for a whole number, a negative seed) come without a key:
            // name the setting without which the rest decodes.
            let field = context.codingPath.last?.stringValue
                ?? merged.keys.sorted().first { key in (try? decode(merged.filter { $0.key != key })) != nil } ?? "config"
            let value = merged[field].map { " (got \($0))" } ?? ""
            throw ConfigError(field: field, reason: "has the wrong type or value\(value)")
        } catch {
            throw ConfigError(field: "config", reason: "\(error)")
        }
    }

    /// Decodes a layer of settings (every key optional).
    private static func decode(_ layer: Layer) throws -> TrainingConfiguration {
        let data: Data
        do {
            data = try JSONSerialization.data(withJSONObject: layer)
        } catch {
            throw ConfigError(field: "config", reason: "holds a value that is not JSON")
        }
        return try JSONDecoder().decode(TrainingConfiguration.self, from: data)
    }

    /// Reads a JSON config file as a layer.
    public static func layer(contentsOf url: URL) throws -> Layer {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ConfigError(field: "config", reason: "cannot read \(url.path) (\(error.localizedDescription))")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data), let layer = object as? Layer else {
            throw ConfigError(field: "config", reason: "\(url.path) is not a JSON object of settings")
        }
        return layer
    }

    /// Names `preset(named:)` knows.
    public static let presetNames = ["tiny", "shakespeare-char"]

    /// Named recipes.
    /// - `tiny`: nanoGPT's CPU recipe for shakespeare_char (4 layers, 4 heads, 128 wide, block 64,
    ///   batch 12, 2,000 steps, lr 1e-3 → 1e-4, β2 0.99, warmup 100, no dropout, eval_iters 20),
    ///   with GPT-2's biases in the Linear and LayerNorm layers (nanoGPT's train.py turns them off;
    ///   here they lower the val loss by about 0.01, in Swiftlet and in PyTorch alike): about 35 s on
    ///   two cores, val loss ≈ 1.89 ± 0.02 over seeds (nanoGPT's README quotes one run at 1.88); see
    ///   `Tools/nanogpt_reference.py`.
    /// - `shakespeare-char`: nanoGPT's `train_shakespeare_char.py` (6 layers, 6 heads, 384 wide,
    ///   block 256, batch 64, dropout 0.2, 5,000 steps, eval every 250 over 200 batches).
    public static func preset(named name: String) throws -> Layer {
        // nanoGPT's GPT as its train.py builds it: no biases and the exact (erf) GELU of `nn.GELU()`.
        let characterModel: Layer = ["tokenizer": "char", "bias": false, "activation": "gelu_erf",
                                     "beta2": 0.99, "lr": 1e-3, "min_lr": 1e-4, "warmup": 100]
        switch name {
        case "tiny":
            return characterModel.merging([
                "n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 64, "dropout": 0.0, "bias": true,
                "batch_size": 12, "steps": 2000, "decay_steps": 2000, "eval_interval": 250, "eval_iters": 20,
            ]) { _, new in new }
        case "shakespeare-char":
            return characterModel.merging([
                "n_layer": 6, "n_head": 6, "n_embd": 384, "block_size": 256, "dropout": 0.2,
                "batch_size": 64, "steps": 5000, "decay_steps": 5000, "eval_interval": 250, "eval_iters": 200,
            ]) { _, new in new }
        default:
            throw ConfigError(field: "preset", reason: "unknown preset \"\(name)\"; expected one of \(presetNames.joined(separator: ", "))")
        }
    }
}
