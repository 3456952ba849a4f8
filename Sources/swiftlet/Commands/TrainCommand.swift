import ArgumentParser
import Foundation
import Swiftlet

/// `swiftlet train`: train a GPT on text, with live progress, checkpoints, metrics and a loss curve.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a GPT on a text or token file (default: the bundled tinyshakespeare).",
        discussion: """
            Settings resolve in layers, later ones winning: defaults ← --preset ← --config FILE.json ← flags.
            A config file is a flat JSON object whose keys are the flag names in snake_case
            (e.g. {"preset": "tiny", "n_layer": 6, "lr": 6e-4}).
            The output directory gets last.safetensors, best.safetensors, metrics.jsonl, loss.png and config.json.
            Ctrl-C saves last.safetensors and exits; --resume continues from it (--steps N: until step N).
            """
    )

    @OptionGroup(title: "Data") var data: DataOptions
    @OptionGroup(title: "Model") var model: ModelOptions
    @OptionGroup(title: "Optimization") var optimization: OptimizationOptions
    @OptionGroup(title: "Run") var runOptions: RunOptions

    func validate() throws {
        try validateThreads(runOptions.threads)
        if runOptions.resume, data.data != nil || data.tokenizer != nil || data.vocab != nil {
            throw ValidationError("--resume continues with the run's own data and tokenizer; drop --data, --tokenizer and --vocab")
        }
    }

    func run() throws {
        if let threads = runOptions.threads { Runtime.threads = threads }
        let output = URL(fileURLWithPath: runOptions.out)
        var file = try runOptions.config.map { try TrainingConfiguration.layer(contentsOf: URL(fileURLWithPath: $0)) } ?? [:]
        var flags = data.layer.merging(model.layer) { _, new in new }
            .merging(optimization.layer) { _, new in new }
            .merging(runOptions.layer) { _, new in new }
        // defaults ← preset ← config file ← flags: the preset (the flag's, else the file's, else
        // tiny for a new run) goes first, whichever layer names it, so that both override it.
        let (flagPreset, filePreset) = (flags.removeValue(forKey: "preset"), file.removeValue(forKey: "preset"))
        if runOptions.resume, flagPreset != nil || filePreset != nil {
            throw ValidationError("--resume continues with the run's own settings; drop the preset (--preset or the config file's)")
        }
        let preset: Any? = flagPreset ?? filePreset ?? (runOptions.resume ? nil : "tiny")
        // The tokenizer's target size is not a model setting: the model takes the tokenizer's size.
        let (flagSize, fileSize) = (flags.removeValue(forKey: "vocab_size"), file.removeValue(forKey: "vocab_size"))
        let vocabularySize = try Self.vocabularySize(flagSize ?? fileSize)
        let layers: [TrainingConfiguration.Layer] = (preset.map { [["preset": $0]] } ?? []) + [file, flags]

        let trainingRun: TrainingRun
        if runOptions.resume {
            let overrides = layers.reduce(into: TrainingConfiguration.Layer()) { $0.merge($1) { _, new in new } }
            trainingRun = try TrainingRun.resume(directory: output, overrides: overrides)
        } else {
            let configuration = try TrainingConfiguration.resolve(layers: layers)
            let replaces = FileManager.default.fileExists(atPath: CheckpointDirectory(output).last.path)
            trainingRun = try TrainingRun(configuration: configuration, directory: output, vocabularySize: vocabularySize)
            if replaces { print("note: \(output.path) held a run; this new run replaces it (--resume continues one)") }
        }
        try train(trainingRun, output: output)
    }

    /// vocab_size from a flag or a config file: a whole number, at least 1.
    private static func vocabularySize(_ value: Any?) throws -> Int? {
        guard let value else { return nil }
        guard !(value is Bool), let size = value as? Int, size >= 1 else {
            throw ConfigError(field: "vocab_size", reason: "must be a whole number of at least 1, got \(value)")
        }
        return size
    }

    private func train(_ run: TrainingRun, output: URL) throws {
        let configuration = run.configuration
        let model = run.model
        print("swiftlet train → \(output.path)")
        print("  model     \(configuration.model.layerCount) layers, \(configuration.model.headCount) heads, \(configuration.model.embeddingSize) wide, block \(configuration.model.blockSize), \(formatCount(model.parameterCount)) parameters, attention \(model.effectiveAttentionKernel(for: .training).rawValue)")
        print("  data      \(configuration.data): \(formatCount(run.data.train.count)) train / \(formatCount(run.data.validation.count)) val tokens, tokenizer \(run.data.tokenizer.kind.rawValue) (\(run.data.tokenizer.vocabularySize) tokens)")
        print("  training  \(run.initialStep > 0 ? "resuming at step \(run.initialStep), " : "")until step \(configuration.steps), batch \(configuration.batchSize)×\(configuration.gradientAccumulation), lr \(configuration.learningRate) → \(configuration.minimumLearningRate)")
        print("  runtime   \(Runtime.summary)")

        InterruptSignal.install()
        let progress = ProgressBar(total: configuration.steps, firstStep: run.initialStep, plainInterval: 50)
        let started = Date()
        var tokensPerSecond: [Double] = []
        let outcome = try run.run(shouldStop: { InterruptSignal.wasRaised }) { event in
                switch event {
                case .step(let result, let rate):
                    tokensPerSecond.append(rate)
                    progress.update(step: result.step, fields: [
                        ("loss", String(format: "%.4f", result.loss)),
                        ("lr", String(format: "%.2e", result.learningRate)),
                        ("tok/s", formatCount(Int(rate))),
                    ])
                case .evaluation(let step, let train, let validation, let isBest):
                    progress.message(String(format: "step %d: train loss %.4f, val loss %.4f%@", step, train, validation, isBest ? " (best)" : ""))
                case .checkpoint:
                    break
                }
        }
        progress.finish()
        let seconds = Date().timeIntervalSince(started)
        let medianRate = tokensPerSecond.sorted()[safe: tokensPerSecond.count / 2] ?? 0
        switch outcome {
        case .completed(let step) where tokensPerSecond.isEmpty:
            print("nothing to train: the run is at step \(step) and --steps is \(configuration.steps)")
        case .completed(let step):
            print(String(format: "done: step %d in %@, median %@ tokens/s", step, ProgressBar.duration(seconds), formatCount(Int(medianRate))))
            if let best = run.bestValidationLoss { print(String(format: "best val loss %.4f", best)) }
        case .interrupted(let step):
            print("interrupted at step \(step): saved \(run.directory.last.path); continue with --resume --out \(output.path)")
        }
        let written = [run.directory.last, run.directory.best, output.appendingPathComponent("metrics.jsonl"),
                       output.appendingPathComponent("loss.png")].filter { FileManager.default.fileExists(atPath: $0.path) }
        print("wrote: " + written.map(\.path).joined(separator: ", "))
        if case .interrupted = outcome { throw ExitCode(130) }
    }
}

/// Where the text comes from and how it becomes tokens.
struct DataOptions: ParsableArguments {
    @Option(help: "A text file, a token file, or a built-in dataset: shakespeare (default), counting, copy.")
    var data: String?
    @Option(help: "Tokenizer: char, word, bpe or gpt2 (default char).")
    var tokenizer: TokenizerKind?
    @Option(help: "A saved tokenizer file (from `swiftlet bpe train`) to use instead of building one.")
    var vocab: String?

    var layer: TrainingConfiguration.Layer {
        var layer: TrainingConfiguration.Layer = [:]
        layer["data"] = data
        layer["tokenizer"] = tokenizer?.rawValue
        layer["vocab"] = vocab
        return layer
    }
}

extension TokenizerKind: ExpressibleByArgument {}

/// Every GPTConfig field, as a flag named after its JSON key.
struct ModelOptions: ParsableArguments {
    @Option(help: "A named recipe: \(TrainingConfiguration.presetNames.joined(separator: ", ")) (default tiny).")
    var preset: String?
    @Option(name: .customLong("vocab-size"), help: "Target vocabulary for word and bpe tokenizers (others fix their own).")
    var vocabularySize: Int?
    @Option(name: .customLong("block-size"), help: "Context length T.") var blockSize: Int?
    @Option(name: .customLong("n-layer"), help: "Transformer blocks.") var layerCount: Int?
    @Option(name: .customLong("n-head"), help: "Attention heads.") var headCount: Int?
    @Option(name: .customLong("n-embd"), help: "Embedding width.") var embeddingSize: Int?
    @Option(help: "Dropout probability (training only).") var dropout: Float?
    @Flag(inversion: .prefixedNo, help: "Biases in Linear and LayerNorm layers.") var bias: Bool?
    @Option(help: "LayerNorm placement: pre (GPT-2) or post.") var norm: String?
    @Option(help: "MLP activation: gelu_tanh, gelu_erf or relu.") var activation: String?
    @Option(name: .customLong("mlp-hidden"), help: "MLP width (default 4·n_embd; 0 = attention-only).") var mlpHidden: Int?
    @Option(help: "Positions: learned, sinusoidal, rope or none.") var position: String?
    @Option(name: .customLong("position-base"), help: "Base of sinusoidal/RoPE frequencies.") var positionBase: Float?
    @Flag(name: .customLong("tie-embeddings"), inversion: .prefixedNo, help: "Share wte with the LM head.") var tieEmbeddings: Bool?
    @Option(help: "Attention kernel: naive or flash.") var attention: String?

    var layer: TrainingConfiguration.Layer {
        var layer: TrainingConfiguration.Layer = [:]
        layer["preset"] = preset
        layer["vocab_size"] = vocabularySize
        layer["block_size"] = blockSize
        layer["n_layer"] = layerCount
        layer["n_head"] = headCount
        layer["n_embd"] = embeddingSize
        layer["dropout"] = dropout.map { Double($0) }
        layer["bias"] = bias
        layer["norm"] = norm
        layer["activation"] = activation
        layer["mlp_hidden"] = mlpHidden
        layer["position"] = position
        layer["position_base"] = positionBase.map { Double($0) }
        layer["tie_embeddings"] = tieEmbeddings
        layer["attention"] = attention
        return layer
    }
}

/// The optimizer and schedule.
struct OptimizationOptions: ParsableArguments {
    @Option(name: .customLong("batch-size"), help: "Sequences per micro-batch.") var batchSize: Int?
    @Option(help: "Optimizer steps (with --resume: continue until this step).") var steps: Int?
    @Option(help: "Peak learning rate.") var lr: Float?
    @Option(name: .customLong("min-lr"), help: "Learning rate after the cosine decay.") var minLR: Float?
    @Option(help: "Linear warmup steps.") var warmup: Int?
    @Option(name: .customLong("decay-steps"), help: "Step where the cosine decay ends (0 = constant lr).") var decaySteps: Int?
    @Option(name: .customLong("weight-decay"), help: "AdamW weight decay (≥2-D tensors).") var weightDecay: Float?
    @Option(help: "AdamW β1.") var beta1: Float?
    @Option(help: "AdamW β2.") var beta2: Float?
    @Option(name: .customLong("grad-clip"), help: "Clip the global gradient norm (0 = off).") var gradClip: Float?
    @Option(name: .customLong("grad-accum"), help: "Micro-batches per step.") var gradAccum: Int?

    var layer: TrainingConfiguration.Layer {
        var layer: TrainingConfiguration.Layer = [:]
        layer["batch_size"] = batchSize
        layer["steps"] = steps
        layer["lr"] = lr.map { Double($0) }
        layer["min_lr"] = minLR.map { Double($0) }
        layer["warmup"] = warmup
        layer["decay_steps"] = decaySteps
        layer["weight_decay"] = weightDecay.map { Double($0) }
        layer["beta1"] = beta1.map { Double($0) }
        layer["beta2"] = beta2.map { Double($0) }
        layer["grad_clip"] = gradClip.map { Double($0) }
        layer["grad_accum"] = gradAccum
        return layer
    }
}

/// Evaluation, seeds, threads and where things go.
struct RunOptions: ParsableArguments {
    @Option(name: .customLong("eval-interval"), help: "Steps between evaluations and checkpoints.") var evalInterval: Int?
    @Option(name: .customLong("eval-iters"), help: "Batches per loss estimate.") var evalIters: Int?
    @Option(help: "Seed for init, batches and dropout.") var seed: UInt64?
    @Option(help: "Threads for the kernels (default: OMP_NUM_THREADS or every core).") var threads: Int?
    @Option(help: "Output directory.") var out: String = "out"
    @Flag(help: "Continue the run in --out from its last.safetensors.") var resume = false
    @Option(help: "A JSON file of settings (flag names in snake_case).") var config: String?

    var layer: TrainingConfiguration.Layer {
        var layer: TrainingConfiguration.Layer = [:]
        layer["eval_interval"] = evalInterval
        layer["eval_iters"] = evalIters
        layer["seed"] = seed
        return layer
    }
}

/// "12.3M", "45.6k", "789".
func formatCount(_ value: Int) -> String {
    let magnitude = Double(value)
    if magnitude >= 1e6 { return String(format: "%.2fM", magnitude / 1e6) }
    if magnitude >= 1e4 { return String(format: "%.1fk", magnitude / 1e3) }
    return "\(value)"
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
