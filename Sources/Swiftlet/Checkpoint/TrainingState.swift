import Foundation

/// Everything a training run needs to continue exactly where it stopped, besides the tensors.
///
/// Stored as JSON in a training checkpoint's `__metadata__["training"]`. Floats are written
/// in their shortest round-tripping form, so they load bit-exact.
public struct TrainingState: Codable, Equatable, Sendable {
    /// Optimizer steps completed.
    public var step: Int
    /// AdamW's update count t (1-based number of the last update; drives bias correction).
    public var optimizerStep: Int
    /// Position in the learning-rate schedule (usually equal to `step`).
    public var schedulePosition: Int
    /// The training batch sampler: its generator and data cursor.
    public var trainSampler: BatchSampler.State
    /// The validation batch sampler, when validation batches are drawn at random.
    public var validationSampler: BatchSampler.State?
    /// The model's dropout stream: masks derive from (`dropoutSeed`, `dropoutPassCount`).
    public var dropoutSeed: UInt64
    /// Training forward passes run so far (see `GPT.dropoutPassCount`).
    public var dropoutPassCount: UInt64
    /// Every other random generator by role, so any other draws continue their sequences.
    public var generators: [String: RandomGenerator]
    /// The optimizer and schedule settings the run was using, so a resume continues with the
    /// same ones.
    public var trainer: TrainerSettings?
    /// The lowest validation loss so far (the one `best.safetensors` holds), if any.
    public var bestValidationLoss: Float?
    /// Free-form settings of the run (learning rate, schedule, batch size …) that a resumed run
    /// should reuse or check; keys and values are up to the trainer.
    public var settings: [String: String]

    public init(
        step: Int = 0, optimizerStep: Int = 0, schedulePosition: Int = 0, trainSampler: BatchSampler.State,
        validationSampler: BatchSampler.State? = nil, dropoutSeed: UInt64 = 0, dropoutPassCount: UInt64 = 0,
        generators: [String: RandomGenerator] = [:], trainer: TrainerSettings? = nil,
        bestValidationLoss: Float? = nil, settings: [String: String] = [:]
    ) {
        self.step = step
        self.optimizerStep = optimizerStep
        self.schedulePosition = schedulePosition
        self.trainSampler = trainSampler
        self.validationSampler = validationSampler
        self.dropoutSeed = dropoutSeed
        self.dropoutPassCount = dropoutPassCount
        self.generators = generators
        self.trainer = trainer
        self.bestValidationLoss = bestValidationLoss
        self.settings = settings
    }

    /// Decodes the JSON stored in a training checkpoint (non-finite floats as "inf", "-inf", "nan").
    public init(json: String) throws {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        self = try decoder.decode(TrainingState.self, from: Data(json.utf8))
        try validate()
    }

    /// Throws unless the counts are non-negative and every generator has xoshiro256**'s four
    /// state words (a generator with fewer would crash when drawing).
    public func validate() throws {
        struct Invalid: Error, CustomStringConvertible { let description: String }
        guard step >= 0, optimizerStep >= 0, schedulePosition >= 0 else {
            throw Invalid(description: "negative step counts (step \(step), optimizer_step \(optimizerStep), schedule_position \(schedulePosition))")
        }
        var all = generators
        all["train_sampler"] = trainSampler.generator
        if let validationSampler { all["val_sampler"] = validationSampler.generator }
        for (name, generator) in all where generator.state.count != 4 {
            throw Invalid(description: "generator \(name) has \(generator.state.count) state words; expected 4")
        }
        guard trainSampler.batchesDrawn >= 0, (validationSampler?.batchesDrawn ?? 0) >= 0 else {
            throw Invalid(description: "negative batches_drawn")
        }
    }

    enum CodingKeys: String, CodingKey {
        case step
        case optimizerStep = "optimizer_step"
        case schedulePosition = "schedule_position"
        case trainSampler = "train_sampler"
        case validationSampler = "val_sampler"
        case dropoutSeed = "dropout_seed"
        case dropoutPassCount = "dropout_pass_count"
        case generators
        case trainer
        case bestValidationLoss = "best_val_loss"
        case settings
    }
}
