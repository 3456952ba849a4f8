import Foundation

/// The learning rate as a function of the optimizer step (0-based: the rate of the first update
/// is `learningRate(at: 0)`).
public enum LearningRateSchedule: Codable, Equatable, Sendable {
    /// The same rate at every step.
    case constant(Float)
    /// nanoGPT's `get_lr`: linear warmup to `maxLR`, then cosine decay to `minLR` at
    /// `decaySteps`, then `minLR`:
    /// - `it < warmup`: `maxLR·(it + 1)/(warmup + 1)`;
    /// - `it > decaySteps`: `minLR`;
    /// - otherwise `minLR + ½(1 + cos(π·(it − warmup)/(decaySteps − warmup)))·(maxLR − minLR)`.
    case warmupCosine(maxLR: Float, minLR: Float, warmupSteps: Int, decaySteps: Int)

    /// The rate for update number `step` (0-based).
    public func learningRate(at step: Int) -> Float {
        switch self {
        case .constant(let rate):
            return rate
        case .warmupCosine(let maxLR, let minLR, let warmup, let decay):
            if step < warmup { return Float(Double(maxLR) * Double(step + 1) / Double(warmup + 1)) }
            if step > decay || decay <= warmup { return minLR }
            let ratio = Double(step - warmup) / Double(decay - warmup)
            let coefficient = 0.5 * (1 + cos(Double.pi * ratio))
            return Float(Double(minLR) + coefficient * (Double(maxLR) - Double(minLR)))
        }
    }

    /// Same as `learningRate(at:)`, so a schedule reads like the `(Int) -> Float` it is.
    public func callAsFunction(_ step: Int) -> Float { learningRate(at: step) }

    /// Throws unless the rates are finite and ≥ 0 and the step counts are ≥ 0.
    public func validate() throws {
        switch self {
        case .constant(let rate):
            guard rate.isFinite, rate >= 0 else {
                throw ModelError.invalidArgument("learning rate must be finite and ≥ 0, got \(rate)")
            }
        case .warmupCosine(let maxLR, let minLR, let warmup, let decay):
            guard maxLR.isFinite, maxLR >= 0, minLR.isFinite, minLR >= 0 else {
                throw ModelError.invalidArgument("maxLR and minLR must be finite and ≥ 0, got \(maxLR) and \(minLR)")
            }
            guard warmup >= 0, decay >= 0 else {
                throw ModelError.invalidArgument("warmupSteps and decaySteps must be ≥ 0, got \(warmup) and \(decay)")
            }
        }
    }
}
