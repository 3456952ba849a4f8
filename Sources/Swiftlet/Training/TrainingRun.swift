import Foundation

/// A training run in an output directory: trains, evaluates, logs metrics, checkpoints and
/// draws the loss curve; resumes bit-exactly from its last checkpoint.
///
/// The directory holds `last.safetensors` (every evaluation and at the end or on interrupt),
/// `best.safetensors` (lowest validation loss), `metrics.jsonl` (see `MetricsLogWriter`),
/// `loss.png` and `config.json` (the resolved settings).
///
/// ```swift
/// let configuration = try TrainingConfiguration.resolve(layers: [["preset": "tiny", "steps": 100]])
/// let run = try TrainingRun(configuration: configuration, directory: URL(fileURLWithPath: "out"))
/// try run.run { event in print(event) }
/// ```
public final class TrainingRun {
    /// What the run reports while it works.
    public enum Event: Sendable {
        /// An optimizer step finished.
        case step(Trainer.StepResult, tokensPerSecond: Double)
        /// Losses were estimated on `eval_iters` batches of each split.
        case evaluation(step: Int, trainLoss: Float, validationLoss: Float, isBest: Bool)
        /// A checkpoint was written.
        case checkpoint(URL)
    }

    /// How a call to `run` ended.
    public enum Outcome: Equatable, Sendable {
        case completed(step: Int)
        case interrupted(step: Int)
    }

    public let configuration: TrainingConfiguration
    public let directory: CheckpointDirectory
    public let data: TrainingData
    public let trainer: Trainer
    /// The step this run object started from (0, or the resumed checkpoint's step).
    public let initialStep: Int
    public private(set) var bestValidationLoss: Float?

    private var trainSampler: BatchSampler
    private let metricsURL: URL
    private let startsNewRun: Bool

    public var model: GPT { trainer.model }
    public var step: Int { trainer.optimizer.step }

    /// Starts a new run, replacing a run `directory` held (its checkpoints, log and curve). The
    /// model's `vocab_size` becomes the tokenizer's; a data file's path is kept absolute.
    public convenience init(configuration: TrainingConfiguration, directory: URL, vocabularySize: Int? = nil) throws {
        let data = try TrainingData.prepare(configuration, vocabularySize: vocabularySize)
        var configuration = configuration
        // A file or directory is kept as an absolute path, so that --resume finds it from anywhere.
        if !TrainingData.builtInNames.contains(configuration.data) {
            configuration.data = URL(fileURLWithPath: configuration.data).standardizedFileURL.path
        }
        configuration.model.vocabularySize = data.tokenizer.vocabularySize
        configuration.tokenizer = data.tokenizer.kind  // a prepared directory brings its own
        try configuration.validate()
        let model = try GPT(config: configuration.model, seed: configuration.seed)
        let optimizer = AdamW(model: model, beta1: configuration.beta1, beta2: configuration.beta2,
                              weightDecay: configuration.weightDecay)
        let trainer = try Trainer(model: model, optimizer: optimizer, schedule: configuration.schedule,
                                  gradientAccumulation: configuration.gradientAccumulation,
                                  maxGradientNorm: configuration.gradientClip)
        let seed = configuration.seed
        try self.init(
            configuration: configuration, directory: CheckpointDirectory(directory), data: data, trainer: trainer,
            trainSampler: BatchSampler.State(generator: RandomGenerator(seed: seed &+ 1)),
            bestValidationLoss: nil, startsNewRun: true)
        try writeConfiguration()
    }

    /// Resumes the run saved in `directory/last.safetensors`.
    ///
    /// - Parameter overrides: settings to change, as a layer on top of the saved ones (for
    ///   example `["steps": 4000]`). Model settings must match the checkpoint's.
    public static func resume(directory: URL, overrides: TrainingConfiguration.Layer = [:]) throws -> TrainingRun {
        let checkpointDirectory = CheckpointDirectory(directory)
        let url = checkpointDirectory.last
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw CheckpointError(path: url.path, reason: "does not exist: nothing to resume in \(directory.path)")
        }
        // Read straight into the trainer's buffers, without holding a copy of the file or of its
        // tensors (1.5 GB for GPT-2 124M). Every check of its header runs in `checked`, so a
        // damaged file is reported as damaged, as `TrainingCheckpoint(contentsOf:)` would.
        let checkpoint = try CheckpointLoader(contentsOf: url)
        let state = try checkpoint.trainingState()
        let saved = try checkpoint.checked {
            guard let json = state.settings[settingsKey],
                  let saved = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? TrainingConfiguration.Layer
            else {
                throw CheckpointError(path: url.path, reason: "has no training settings to resume with (was it written by `swiftlet train`?)")
            }
            return saved
        }
        let configuration = try checkpoint.checked { try TrainingConfiguration.resolve(layers: [saved, overrides]) }
        let savedModel = try checkpoint.config()
        try checkpoint.checked {
            if configuration.model != savedModel {
                let differing = GPTConfig.differences(configuration.model, savedModel)
                throw CheckpointError(path: url.path, reason: "was trained with a different model config (\(differing.joined(separator: ", "))); drop those flags or use a new --out directory")
            }
        }
        let tokenizer = try checkpoint.tokenizer()
        let data = try TrainingData.prepare(configuration, tokenizer: tokenizer)
        let trainer = try checkpoint.makeTrainer(expecting: savedModel)
        trainer.schedule = configuration.schedule
        trainer.maxGradientNorm = configuration.gradientClip == 0 ? nil : configuration.gradientClip
        let run = try TrainingRun(
            configuration: configuration, directory: checkpointDirectory, data: data, trainer: trainer,
            trainSampler: state.trainSampler, bestValidationLoss: state.bestValidationLoss,
            startsNewRun: false)
        try run.writeConfiguration()
        return run
    }

    private init(
        configuration: TrainingConfiguration, directory: CheckpointDirectory, data: TrainingData, trainer: Trainer,
        trainSampler: BatchSampler.State, bestValidationLoss: Float?, startsNewRun: Bool
    ) throws {
        let (batch, block) = (configuration.batchSize, configuration.model.blockSize)
        self.configuration = configuration
        self.directory = directory
        self.data = data
        self.trainer = trainer
        self.initialStep = trainer.optimizer.step
        self.bestValidationLoss = bestValidationLoss
        self.trainSampler = try BatchSampler(data: data.train, batchSize: batch, blockSize: block, state: trainSampler)
        // Fail now, not at the first evaluation, if the validation split is too short.
        _ = try BatchSampler(data: data.validation, batchSize: batch, blockSize: block, seed: 0)
        self.metricsURL = directory.url.appendingPathComponent("metrics.jsonl")
        try AtomicFile.createDirectory(directory.url)
        self.startsNewRun = startsNewRun
        for name in ["last.safetensors", "best.safetensors", "config.json", "loss.png"] {
            AtomicFile.removeLeftovers(of: directory.url.appendingPathComponent(name))
        }
        // A new run replaces a run the directory held: its log, checkpoints and curve would
        // otherwise pass for this run's until its first save.
        if startsNewRun {
            for stale in [metricsURL, directory.last, directory.best, directory.url.appendingPathComponent("loss.png")] {
                try? FileManager.default.removeItem(at: stale)
            }
        }
    }

    /// Trains until `configuration.steps`, evaluating and checkpointing every `eval_interval`
    /// steps and at the end. `shouldStop` is polled after every step; when it returns true the
    /// run saves `last.safetensors` and returns `.interrupted`.
    @discardableResult
    public func run(shouldStop: () -> Bool = { false }, onEvent: (Event) -> Void = { _ in }) throws -> Outcome {
        let log = try MetricsLogWriter(url: metricsURL, truncatingAfter: step)
        let started = Date()
        var lastEvaluatedStep = -1
        while step < configuration.steps {
            let stepStart = Date()
            let result = try trainer.step { trainSampler.next() }
            let seconds = Date().timeIntervalSince(stepStart)
            let tokensPerSecond = Double(configuration.tokensPerStep) / max(seconds, 1e-9)
            guard result.loss.isFinite else { throw TrainingError.diverged(step: result.step, loss: result.loss) }
            log.recordStep(step: result.step, loss: result.loss, learningRate: result.learningRate,
                           tokensPerSecond: tokensPerSecond, gradientNorm: result.gradientNorm,
                           elapsedSeconds: Date().timeIntervalSince(started))
            onEvent(.step(result, tokensPerSecond: tokensPerSecond))
            if step % configuration.evalInterval == 0 || step == configuration.steps {
                try evaluate(log: log, onEvent: onEvent)
                lastEvaluatedStep = step
            }
            if shouldStop() {
                if lastEvaluatedStep != step { try saveCheckpoint(onEvent) }
                return .interrupted(step: step)
            }
        }
        if lastEvaluatedStep != step && step > initialStep { try evaluate(log: log, onEvent: onEvent) }
        // A run with nothing to train (`--steps 0`) still leaves its initial state to sample from,
        // resume or compare with another implementation.
        if step == initialStep && (startsNewRun || !FileManager.default.fileExists(atPath: directory.last.path)) {
            try saveCheckpoint(onEvent)
        }
        return .completed(step: step)
    }

    /// Mean loss over `eval_iters` random batches of each split, dropout off (nanoGPT's
    /// `estimate_loss`). The batches depend only on the seed and the step, so a resumed run
    /// reports the same losses as an uninterrupted one.
    public func estimateLosses() throws -> (train: Float, validation: Float) {
        func mean(_ data: TokenDataset, stream: UInt64) throws -> Float {
            let seed = configuration.seed ^ (UInt64(step) &* 0x9E37_79B9_7F4A_7C15) ^ stream
            var sampler = try BatchSampler(data: data, batchSize: configuration.batchSize,
                                           blockSize: configuration.model.blockSize, seed: seed)
            var total: Double = 0
            for _ in 0..<configuration.evalIterations { total += Double(try trainer.evaluate(sampler.next())) }
            return Float(total / Double(configuration.evalIterations))
        }
        return (try mean(data.train, stream: 0x7472_6169_6E), try mean(data.validation, stream: 0x7661_6C))
    }

    private func evaluate(log: MetricsLogWriter, onEvent: (Event) -> Void) throws {
        let losses = try estimateLosses()
        let isBest = bestValidationLoss.map { losses.validation < $0 } ?? true
        if isBest { bestValidationLoss = losses.validation }
        log.recordEval(step: step, trainLoss: losses.train, validationLoss: losses.validation)
        onEvent(.evaluation(step: step, trainLoss: losses.train, validationLoss: losses.validation, isBest: isBest))
        try saveCheckpoint(onEvent, isBest: isBest)
        try? LossCurvePlot(metricsLog: metricsURL, title: "loss: \(directory.url.lastPathComponent)")
            .write(to: directory.url.appendingPathComponent("loss.png"))
    }

    private func saveCheckpoint(_ onEvent: (Event) -> Void, isBest: Bool = false) throws {
        let state = TrainingState(
            step: step, optimizerStep: step, schedulePosition: step,
            trainSampler: trainSampler.state, bestValidationLoss: bestValidationLoss,
            settings: [Self.settingsKey: try configurationJSON()])
        try directory.save(trainer, tokenizer: data.tokenizer, state: state, isBest: isBest)
        onEvent(.checkpoint(directory.last))
    }

    static let settingsKey = "configuration"

    private func configurationJSON() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return String(decoding: try encoder.encode(configuration), as: UTF8.self)
    }

    private func writeConfiguration() throws {
        try AtomicFile.write(Data(try configurationJSON().utf8), to: directory.url.appendingPathComponent("config.json"))
    }
}

/// Training could not go on.
public enum TrainingError: Error, Equatable, CustomStringConvertible {
    case diverged(step: Int, loss: Float)

    public var description: String {
        switch self {
        case .diverged(let step, let loss):
            "the loss became \(loss) at step \(step); lower --lr or raise --warmup (last.safetensors holds the last good state)"
        }
    }
}

extension GPTConfig {
    /// The JSON keys whose values differ between two configs, as `key a ≠ b`.
    static func differences(_ a: GPTConfig, _ b: GPTConfig) -> [String] {
        let encoder = JSONEncoder()
        guard let left = (try? encoder.encode(a)).flatMap({ try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }),
              let right = (try? encoder.encode(b)).flatMap({ try? JSONSerialization.jsonObject(with: $0) as? [String: Any] })
        else { return ["config"] }
        return left.keys.sorted().compactMap { key in
            let l = "\(left[key] ?? "nil")", r = "\(right[key] ?? "nil")"
            return l == r ? nil : "\(key) \(l) ≠ checkpoint's \(r)"
        }
    }
}
