/// A step that reshapes next-token logits before sampling (temperature, top-k, …).
///
/// Processors see the logits of the real vocabulary only (padding already dropped) and the
/// tokens generated so far, prompt included. A logit set to `-.infinity` removes a token.
public protocol LogitProcessor: Sendable {
    func process(_ logits: inout [Float], history: [Int32])
}

/// Divides logits by a temperature > 0 (below 1 sharpens, above 1 flattens).
public struct Temperature: LogitProcessor {
    public let value: Float
    public init(_ value: Float) { self.value = value }
    public func process(_ logits: inout [Float], history: [Int32]) {
        guard value != 1 else { return }
        let inverse = 1 / value
        for i in logits.indices { logits[i] *= inverse }
    }
}

/// Keeps the `k` largest logits (ties at the boundary are all kept).
public struct TopK: LogitProcessor {
    public let k: Int
    public init(_ k: Int) { self.k = k }
    public func process(_ logits: inout [Float], history: [Int32]) {
        guard k > 0, k < logits.count else { return }
        let threshold = logits.sorted(by: >)[k - 1]
        for i in logits.indices where logits[i] < threshold { logits[i] = -.infinity }
    }
}

/// Nucleus sampling: keeps the smallest set of most likely tokens whose probability reaches `p`.
public struct TopP: LogitProcessor {
    public let p: Float
    public init(_ p: Float) { self.p = p }
    public func process(_ logits: inout [Float], history: [Int32]) {
        guard p < 1 else { return }
        let probabilities = softmax(logits)
        let order = logits.indices.sorted { probabilities[$0] > probabilities[$1] }
        var cumulative: Double = 0
        var keep = 0
        for index in order {
            cumulative += probabilities[index]
            keep += 1
            if cumulative >= Double(p) { break }
        }
        for index in order.dropFirst(keep) { logits[index] = -.infinity }
    }
}

/// Keeps tokens whose probability is at least `p` times the most likely token's.
public struct MinP: LogitProcessor {
    public let p: Float
    public init(_ p: Float) { self.p = p }
    public func process(_ logits: inout [Float], history: [Int32]) {
        guard p > 0, let maximum = logits.max(), maximum.isFinite else { return }
        // p_i ≥ p·p_max  ⇔  logit_i ≥ logit_max + log p
        let threshold = maximum + log(p)
        for i in logits.indices where logits[i] < threshold { logits[i] = -.infinity }
    }
}

/// Penalizes tokens seen in the last `window` tokens (CTRL / Hugging Face rule): a positive
/// logit is divided by `penalty`, a negative one multiplied.
public struct RepetitionPenalty: LogitProcessor {
    public let penalty: Float
    public let window: Int
    public init(_ penalty: Float, window: Int = 64) {
        self.penalty = penalty
        self.window = window
    }
    public func process(_ logits: inout [Float], history: [Int32]) {
        guard penalty != 1 else { return }
        var seen = Set<Int32>()
        for token in history.suffix(window) where seen.insert(token).inserted {
            let i = Int(token)
            guard logits.indices.contains(i) else { continue }
            logits[i] = logits[i] > 0 ? logits[i] / penalty : logits[i] * penalty
        }
    }
}

/// Softmax in double precision, for sampling decisions.
func softmax(_ logits: [Float]) -> [Double] {
    guard let maximum = logits.max(), maximum.isFinite else {
        return [Double](repeating: 1 / Double(max(logits.count, 1)), count: logits.count)
    }
    var result = logits.map { $0 == -.infinity ? 0 : exp(Double($0 - maximum)) }
    let total = result.reduce(0, +)
    for i in result.indices { result[i] /= total }
    return result
}

#if canImport(Glibc)
import Glibc
#endif
