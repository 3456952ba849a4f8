/// One optimizer step as nanoGPT's training loop does it: forward and backward over
/// `gradientAccumulation` micro-batches with each loss scaled by 1/accumulation, the first
/// backward overwriting the gradients (the values of zeroing them first, without the pass over
/// memory), the others adding into them; clip the global gradient norm; AdamW with the
/// schedule's learning rate. The clipping factor is applied inside the AdamW pass (the same
/// values as scaling the gradients first), so after a step `model.gradients` hold the unclipped
/// gradients.
///
/// ```swift
/// let trainer = try Trainer(model: model, schedule: .warmupCosine(maxLR: 1e-3, minLR: 1e-4,
///                                                                 warmupSteps: 100, decaySteps: 5000))
/// let result = try trainer.step { loader.nextBatch() }
/// print(result.step, result.loss, result.learningRate)
/// ```
public final class Trainer {
    /// What one step did.
    public struct StepResult: Equatable, Sendable {
        /// The optimizer step just taken, 1-based (= `optimizer.step` after it).
        public var step: Int
        /// Mean training loss over the micro-batches (before the update).
        public var loss: Float
        /// Global gradient norm before clipping.
        public var gradientNorm: Float
        /// The learning rate used.
        public var learningRate: Float
    }

    /// The model trained in place.
    public let model: GPT
    /// The optimizer; its `step` counts the steps taken and picks the learning rate.
    public let optimizer: AdamW
    /// Learning rate per step (the optimizer's completed-step count, 0-based).
    public var schedule: LearningRateSchedule
    /// Micro-batches per optimizer step (≥ 1).
    public let gradientAccumulation: Int
    /// Clip the global gradient norm to this; nil for no clipping.
    public var maxGradientNorm: Float?

    /// - Parameters:
    ///   - optimizer: defaults to `AdamW(model:)` (β 0.9/0.95, eps 1e-8, weight decay 0.1).
    ///   - maxGradientNorm: nanoGPT's `grad_clip`, 1.0 by default; nil or 0 turns clipping off.
    public init(model: GPT, optimizer: AdamW? = nil, schedule: LearningRateSchedule,
                gradientAccumulation: Int = 1, maxGradientNorm: Float? = 1.0) throws {
        guard gradientAccumulation >= 1 else {
            throw ModelError.invalidArgument("gradientAccumulation must be at least 1, got \(gradientAccumulation)")
        }
        if let maxGradientNorm, !(maxGradientNorm.isFinite && maxGradientNorm >= 0) {
            throw ModelError.invalidArgument("maxGradientNorm must be finite and ≥ 0, got \(maxGradientNorm)")
        }
        try schedule.validate()
        self.model = model
        self.optimizer = optimizer ?? AdamW(model: model)
        guard self.optimizer.firstMoment.layout == model.parameters.layout else {
            throw ModelError.shapeMismatch("the optimizer was made for another model's parameters")
        }
        self.schedule = schedule
        self.gradientAccumulation = gradientAccumulation
        self.maxGradientNorm = maxGradientNorm == 0 ? nil : maxGradientNorm
    }

    /// Takes one optimizer step, calling `nextBatch` once per micro-batch.
    @discardableResult
    public func step(_ nextBatch: () throws -> TrainingBatch) throws -> StepResult {
        var lossSum: Double = 0
        let scale = 1 / Float(gradientAccumulation)
        for microBatch in 0..<gradientAccumulation {
            let batch = try nextBatch()
            let loss = try model.forward(tokens: batch.inputs, targets: batch.targets,
                                         batchSize: batch.batchSize, sequenceLength: batch.sequenceLength,
                                         mode: .training) ?? 0
            lossSum += Double(loss)
            try model.backward(lossScale: scale, gradients: microBatch == 0 ? .overwrite : .accumulate)
        }
        let (norm, clipping) = maxGradientNorm.map { model.gradients.clippingFactor(maxNorm: $0) }
            ?? (model.gradients.globalNorm(), 1)
        let learningRate = schedule(optimizer.step)
        try optimizer.update(parameters: model.parameters, gradients: model.gradients, learningRate: learningRate,
                             gradientScale: clipping)
        return StepResult(step: optimizer.step, loss: Float(lossSum / Double(gradientAccumulation)),
                          gradientNorm: norm, learningRate: learningRate)
    }

    /// One optimizer step on the same batch for every micro-batch.
    @discardableResult
    public func step(batch: TrainingBatch) throws -> StepResult {
        try step { batch }
    }

    /// Mean loss of the model on `batch` with dropout off; gradients are untouched.
    public func evaluate(_ batch: TrainingBatch) throws -> Float {
        try model.forward(tokens: batch.inputs, targets: batch.targets, batchSize: batch.batchSize,
                          sequenceLength: batch.sequenceLength, mode: .evaluation) ?? 0
    }
}
