import Foundation

/// The optimizer and schedule a run trains with, stored in a training checkpoint so a resumed
/// run continues with exactly the same update rule.
public struct TrainerSettings: Codable, Equatable, Sendable {
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float
    public var schedule: LearningRateSchedule
    public var gradientAccumulation: Int
    public var maxGradientNorm: Float?

    /// The settings `trainer` runs with.
    public init(_ trainer: Trainer) {
        beta1 = trainer.optimizer.beta1
        beta2 = trainer.optimizer.beta2
        epsilon = trainer.optimizer.epsilon
        weightDecay = trainer.optimizer.weightDecay
        schedule = trainer.schedule
        gradientAccumulation = trainer.gradientAccumulation
        maxGradientNorm = trainer.maxGradientNorm
    }

    enum CodingKeys: String, CodingKey {
        case beta1, beta2, epsilon
        case weightDecay = "weight_decay"
        case schedule
        case gradientAccumulation = "gradient_accumulation"
        case maxGradientNorm = "max_grad_norm"
    }
}

extension TrainingCheckpoint {
    /// Captures a run: the trainer's model, AdamW moments and step, the model's dropout stream,
    /// the trainer settings, and the samplers and other state the caller passes.
    ///
    /// `state.step`, `optimizerStep` and `schedulePosition` are set from `trainer.optimizer.step`,
    /// `dropoutSeed`/`dropoutPassCount` from the model and `trainer` from the trainer.
    public init(trainer: Trainer, tokenizer: AnyTokenizer? = nil, state: TrainingState) throws {
        let model = try ModelCheckpoint(model: trainer.model, tokenizer: tokenizer)
        func moment(_ store: ParameterStore) throws -> [NamedTensor] {
            try store.slots.map { NamedTensor(name: $0.name, tensor: try store.tensor(named: $0.name)) }
        }
        self.init(model: model, firstMoment: try moment(trainer.optimizer.firstMoment),
                  secondMoment: try moment(trainer.optimizer.secondMoment), state: Self.state(state, of: trainer))
    }

    /// The sealed writer of `TrainingCheckpoint(trainer:tokenizer:state:)`, byte for byte, but
    /// reading the weights and moments where they lie in the trainer's buffers instead of copying
    /// them: saving a GPT-2 124M run holds 1.5 GB less. Use the writer before the trainer changes.
    static func sealedWriter(borrowing trainer: Trainer, tokenizer: AnyTokenizer?, state: TrainingState) throws -> SafeTensorsWriter {
        let parameters = trainer.model.parameters
        let moments = [(trainer.optimizer.firstMoment, firstMomentPrefix), (trainer.optimizer.secondMoment, secondMomentPrefix)]
        guard moments.allSatisfy({ $0.0.layout == parameters.layout }) else {
            throw CheckpointError(path: "<checkpoint>", reason: "AdamW's moments do not match the parameters")
        }
        let header = try ModelCheckpoint(model: trainer.model, tokenizer: tokenizer, copyingTensors: false)
        var writer = try header.writer(
            format: ModelCheckpoint.trainingFormat,
            extraMetadata: [ModelCheckpoint.Key.training: try json(Self.state(state, of: trainer))])
        for slot in parameters.slots { try ModelCheckpoint.checkParameterName(slot.name) }
        for (store, prefix) in [(parameters, "")] + moments {
            for slot in store.slots {
                let values = UnsafeBufferPointer(start: store.baseAddress + slot.offset, count: slot.count)
                try writer.add(prefix + slot.name, borrowing: values, shape: slot.shape)
            }
        }
        CheckpointChecksum.seal(&writer)
        return writer
    }

    /// `state` with the step counts, dropout stream and trainer settings taken from `trainer`.
    static func state(_ state: TrainingState, of trainer: Trainer) -> TrainingState {
        var state = state
        state.step = trainer.optimizer.step
        state.optimizerStep = trainer.optimizer.step
        state.schedulePosition = trainer.optimizer.step
        state.dropoutSeed = trainer.model.dropoutSeed
        state.dropoutPassCount = trainer.model.dropoutPassCount
        state.trainer = TrainerSettings(trainer)
        return state
    }

    /// Rebuilds the run: the model (bit-identical weights and dropout stream), AdamW (moments,
    /// step, hyperparameters) and the trainer (schedule, accumulation, clipping).
    ///
    /// - Parameter expected: when given, the file's model config must equal it.
    public func makeTrainer(expecting expected: GPTConfig? = nil, source: String = "<checkpoint>") throws -> Trainer {
        let settings = try Self.settings(of: state, source: source)
        let model = try self.model.makeModel(expecting: expected, source: source)
        let optimizer = Self.optimizer(for: model, settings: settings)
        for named in firstMoment { try optimizer.firstMoment.setTensor(named.tensor, named: named.name) }
        for named in secondMoment { try optimizer.secondMoment.setTensor(named.tensor, named: named.name) }
        return try Self.trainer(model: model, optimizer: optimizer, state: state, settings: settings, source: source)
    }

    static func settings(of state: TrainingState, source: String) throws -> TrainerSettings {
        guard let settings = state.trainer else {
            throw CheckpointError(path: source, reason: "has no trainer settings (optimizer, schedule) in its training state")
        }
        return settings
    }

    /// AdamW with the saved hyperparameters and zero moments.
    static func optimizer(for model: GPT, settings: TrainerSettings) -> AdamW {
        AdamW(model: model, beta1: settings.beta1, beta2: settings.beta2, epsilon: settings.epsilon, weightDecay: settings.weightDecay)
    }

    /// The trainer over a model and AdamW whose buffers hold the saved weights and moments, with
    /// the saved step counts, dropout stream, schedule, accumulation and clipping.
    static func trainer(
        model: GPT, optimizer: AdamW, state: TrainingState, settings: TrainerSettings, source: String
    ) throws -> Trainer {
        model.dropoutSeed = state.dropoutSeed
        model.dropoutPassCount = state.dropoutPassCount
        optimizer.step = state.optimizerStep
        do {
            return try Trainer(model: model, optimizer: optimizer, schedule: settings.schedule,
                               gradientAccumulation: settings.gradientAccumulation,
                               maxGradientNorm: settings.maxGradientNorm)
        } catch {
            throw CheckpointError(path: source, reason: "has invalid trainer settings (\(error))")
        }
    }

    /// The tokenizer saved with the run, if any.
    public func tokenizer(source: String = "<checkpoint>") throws -> AnyTokenizer? {
        try model.tokenizer(source: source)
    }
}
