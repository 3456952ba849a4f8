import Swiftlet
import Testing

@Suite("Samplers") struct SamplerTests {
    let logits: [Float] = [1.0, 3.0, 2.0, -1.0, 3.0]

    @Test func greedyPicksTheLowestIndexOfTheMaximum() {
        var sampler = Sampler(.greedy)
        #expect(sampler.next(logits: logits, history: []) == 1)
    }

    @Test func topKKeepsTheLargest() {
        var values: [Float] = [1, 5, 3, 4]
        TopK(2).process(&values, history: [])
        #expect(values == [-.infinity, 5, -.infinity, 4])
    }

    @Test func topPKeepsTheSmallestSufficientSet() {
        // probabilities ≈ [0.665, 0.245, 0.090]: p = 0.7 needs the two largest.
        var values: [Float] = [2, 1, 0]
        TopP(0.7).process(&values, history: [])
        #expect(values[0] == 2 && values[1] == 1 && values[2] == -.infinity)
        var one: [Float] = [2, 1, 0]
        TopP(0.5).process(&one, history: [])
        #expect(one[1] == -.infinity && one[2] == -.infinity)
    }

    @Test func minPDropsUnlikelyTokens() {
        var values: [Float] = [0, -1, -3]  // p relative to max: 1, 0.37, 0.05
        MinP(0.1).process(&values, history: [])
        #expect(values[0] == 0 && values[1] == -1 && values[2] == -.infinity)
    }

    @Test func repetitionPenaltyFollowsTheCTRLRule() {
        var values: [Float] = [2, -2, 2]
        RepetitionPenalty(2, window: 2).process(&values, history: [2, 0, 1])  // window sees 0 and 1
        #expect(values == [1, -4, 2])
    }

    @Test func sameSeedSameTokensAndTheDistributionIsRespected() {
        let parameters = SamplingParameters(temperature: 1, seed: 42)
        var a = Sampler(parameters), b = Sampler(parameters)
        let drawsA = (0..<200).map { _ in a.next(logits: logits, history: []) }
        let drawsB = (0..<200).map { _ in b.next(logits: logits, history: []) }
        #expect(drawsA == drawsB)
        // Token 3 has probability ≈ 0.004, tokens 1 and 4 ≈ 0.4 each.
        let counts = Dictionary(grouping: drawsA, by: { $0 }).mapValues(\.count)
        #expect((counts[1] ?? 0) > 50 && (counts[4] ?? 0) > 50)
        var masked = Sampler(SamplingParameters(temperature: 1, topK: 1, seed: 7))
        #expect((0..<20).allSatisfy { _ in masked.next(logits: [0, 9, 1], history: []) == 1 })
    }

    @Test func invalidParametersAreNamed() throws {
        #expect(throws: GenerationError.self) { try SamplingParameters(temperature: -1).validate() }
        #expect(throws: GenerationError.self) { try SamplingParameters(temperature: 1e-30).validate() }  // logits/T overflow
        try SamplingParameters(temperature: 1e-6).validate()
        #expect(throws: GenerationError.self) { try SamplingParameters(topP: 0).validate() }
        #expect(throws: GenerationError.self) { try SamplingParameters(topK: 0).validate() }
    }
}
