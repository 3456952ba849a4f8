/// Picks the next token from logits.
public protocol TokenSampler {
    mutating func next(logits: [Float], history: [Int32]) -> Int32
}

/// How to sample: greedy when `temperature` is 0, otherwise a chain of logit processors
/// (repetition penalty → temperature → top-k → top-p → min-p) then a seeded draw.
public struct SamplingParameters: Codable, Equatable, Sendable {
    public var temperature: Float = 1
    public var topK: Int? = nil
    public var topP: Float? = nil
    public var minP: Float? = nil
    public var repetitionPenalty: Float? = nil
    public var repetitionWindow: Int = 64
    public var seed: UInt64 = 1337

    public init(temperature: Float = 1, topK: Int? = nil, topP: Float? = nil, minP: Float? = nil,
                repetitionPenalty: Float? = nil, repetitionWindow: Int = 64, seed: UInt64 = 1337) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.repetitionWindow = repetitionWindow
        self.seed = seed
    }

    /// Greedy decoding.
    public static let greedy = SamplingParameters(temperature: 0)

    /// Throws a `GenerationError` naming the first invalid parameter.
    public func validate() throws {
        guard temperature >= 0, temperature.isFinite else { throw GenerationError.invalidParameter("temperature must be ≥ 0, got \(temperature)") }
        // Dividing the logits by a smaller one overflows them (1/1e-39 is inf in Float).
        guard temperature == 0 || temperature >= 1e-6 else {
            throw GenerationError.invalidParameter("temperature must be 0 (greedy) or at least 1e-6, got \(temperature)")
        }
        if let topK, topK < 1 { throw GenerationError.invalidParameter("top-k must be ≥ 1, got \(topK)") }
        if let topP, !(topP > 0 && topP <= 1) { throw GenerationError.invalidParameter("top-p must be in (0, 1], got \(topP)") }
        if let minP, !(minP >= 0 && minP <= 1) { throw GenerationError.invalidParameter("min-p must be in [0, 1], got \(minP)") }
        if let repetitionPenalty, !(repetitionPenalty > 0) { throw GenerationError.invalidParameter("repetition penalty must be > 0, got \(repetitionPenalty)") }
        guard repetitionWindow >= 1 else { throw GenerationError.invalidParameter("repetition window must be ≥ 1") }
    }

    /// The processors these parameters describe, in application order.
    public var processors: [any LogitProcessor] {
        var chain: [any LogitProcessor] = []
        if let repetitionPenalty, repetitionPenalty != 1 { chain.append(RepetitionPenalty(repetitionPenalty, window: repetitionWindow)) }
        if temperature > 0, temperature != 1 { chain.append(Temperature(temperature)) }
        if let topK { chain.append(TopK(topK)) }
        if let topP { chain.append(TopP(topP)) }
        if let minP { chain.append(MinP(minP)) }
        return chain
    }
}

/// The standard sampler: processors, then argmax (greedy) or a draw from the softmax.
/// Same parameters and seed → same tokens.
public struct Sampler: TokenSampler {
    public let parameters: SamplingParameters
    public private(set) var random: RandomGenerator
    private let processors: [any LogitProcessor]

    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
        self.random = RandomGenerator(seed: parameters.seed)
        self.processors = parameters.processors
    }

    public mutating func next(logits: [Float], history: [Int32]) -> Int32 {
        var logits = logits
        for processor in processors { processor.process(&logits, history: history) }
        if parameters.temperature == 0 { return Int32(Sampler.argmax(logits)) }
        let probabilities = softmax(logits)
        let u = random.nextUniformDouble()
        var cumulative: Double = 0
        var last = 0
        for (index, probability) in probabilities.enumerated() where probability > 0 {
            cumulative += probability
            last = index
            if u < cumulative { return Int32(index) }
        }
        return Int32(last)  // rounding left u ≥ the total: the last possible token
    }

    /// Index of the largest logit; the lowest index wins ties.
    public static func argmax(_ logits: [Float]) -> Int {
        var best = 0
        for i in logits.indices where logits[i] > logits[best] { best = i }
        return best
    }
}

/// Generation could not proceed; the message says why.
public enum GenerationError: Error, Equatable, CustomStringConvertible {
    case invalidParameter(String)
    case invalidPrompt(String)

    public var description: String {
        switch self {
        case .invalidParameter(let message): "invalid sampling parameter: \(message)"
        case .invalidPrompt(let message): "invalid prompt: \(message)"
        }
    }
}
