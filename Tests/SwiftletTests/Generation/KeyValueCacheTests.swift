import Swiftlet
import Testing

/// Every model variant the decode path must handle, on a model small enough to run many steps.
let decodeVariants: [(name: String, change: @Sendable (inout GPTConfig) -> Void)] = [
    ("pre-LN learned tied", { _ in }),
    ("post-LN", { $0.normalization = .post }),
    ("sinusoidal", { $0.position = .sinusoidal }),
    ("rope", { $0.position = .rope }),
    ("no positions", { $0.position = .none }),
    ("untied head", { $0.tieEmbeddings = false }),
    ("biases", { $0.bias = true }),
    ("attention-only", { $0.mlpHiddenSize = 0 }),
    ("relu", { $0.activation = .relu }),
    ("gelu erf", { $0.activation = .geluErf }),
    ("naive attention", { $0.attention = .naive }),
    ("post-LN rope untied biases relu attention-only", {
        $0.normalization = .post; $0.position = .rope; $0.tieEmbeddings = false; $0.bias = true
        $0.activation = .relu; $0.mlpHiddenSize = 0
    }),
]

/// A 2-layer model with block_size 12 whose parameters are drawn wide (std 0.4) so attention is
/// far from uniform and the logits are decisive.
func decodeModel(_ change: (inout GPTConfig) -> Void, blockSize: Int = 12) throws -> GPT {
    var config = try GPTConfig(vocabularySize: 37, blockSize: blockSize, layerCount: 2, headCount: 2, embeddingSize: 16,
                               bias: false, mlpHiddenSize: 24, vocabularyPaddingMultiple: 8)
    change(&config)
    try config.validate()
    let model = try GPT(config: config, seed: 5)
    randomizeParameters(model, std: 0.4, seed: 21)
    return model
}

/// Logits of a full inference forward over `tokens` (the reference the cache must match).
func fullForwardLogits(_ model: GPT, _ tokens: [Int32]) throws -> [Float] {
    try model.forward(tokens: tokens, batchSize: 1, sequenceLength: tokens.count, mode: .inference)
    return try model.logits().values
}

func expectClose(_ got: [Float], _ expected: [Float], atol: Float = 1e-4, rtol: Float = 1e-5,
                 _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(got.count == expected.count, "\(label): count", sourceLocation: sourceLocation)
    var worst: Float = 0, worstIndex = 0
    for (i, (g, e)) in zip(got, expected).enumerated() {
        let excess = abs(g - e) - (atol + rtol * abs(e))
        if !g.isFinite || excess > worst { worst = g.isFinite ? excess : .infinity; worstIndex = i }
    }
    #expect(worst <= 0, "\(label): index \(worstIndex) got \(got[worstIndex]) expected \(expected[worstIndex])",
            sourceLocation: sourceLocation)
}

@Suite("KV cache decoding") struct KeyValueCacheTests {
    @Test(arguments: decodeVariants.indices)
    func everyStepMatchesTheFullForward(variant: Int) throws {
        let (name, change) = decodeVariants[variant]
        let model = try decodeModel(change)
        let cache = model.makeKeyValueCache()
        var context: [Int32] = [3, 17, 8]
        var logits = try model.prefill(context, cache: cache)
        expectClose(logits, try fullForwardLogits(model, context), "\(name) prefill")
        // Decode until the cache is full: every position 3…11, each against a full recompute.
        var next: Int32 = 0
        while cache.count < cache.capacity {
            next = (next * 7 + 5) % 37
            context.append(next)
            logits = try model.decode(next, cache: cache)
            #expect(cache.count == context.count)
            expectClose(logits, try fullForwardLogits(model, context), "\(name) position \(context.count - 1)")
        }
        // Logits vary with the context (a broken cache that ignored it would still match nothing).
        #expect(logits != (try model.prefill([1], cache: cache)))
    }

    @Test func prefillInTheMiddleOfAWindowMatchesDecodingFromTheStart() throws {
        // Prefilling 6 tokens at once and decoding them one by one after a 1-token prefill fill the
        // same cache: the next decode gives the same logits either way (up to rounding).
        let model = try decodeModel({ $0.position = .rope })
        let tokens: [Int32] = [4, 9, 30, 2, 2, 11]
        let whole = model.makeKeyValueCache(), stepped = model.makeKeyValueCache()
        _ = try model.prefill(tokens, cache: whole)
        _ = try model.prefill([tokens[0]], cache: stepped)
        for token in tokens.dropFirst() { _ = try model.decode(token, cache: stepped) }
        expectClose(try model.decode(19, cache: stepped), try model.decode(19, cache: whole), "stepped vs whole")
    }

    @Test func misuseThrowsClearErrors() throws {
        let model = try decodeModel({ _ in })
        let cache = model.makeKeyValueCache()
        #expect(throws: ModelError.self) { try model.decode(1, cache: cache) }            // empty
        _ = try model.prefill([1], cache: cache)
        #expect(throws: ModelError.self) { try model.decode(37, cache: cache) }           // out of vocabulary
        #expect(throws: ModelError.self) { try model.prefill(Array(repeating: 1, count: 13), cache: cache) }
        _ = try model.prefill(Array(repeating: 1, count: 12), cache: cache)
        #expect(throws: ModelError.self) { try model.decode(1, cache: cache) }            // full
        let other = try decodeModel({ $0.bias = true })
        #expect(throws: ModelError.self) { try other.prefill([1], cache: cache) }        // another model's cache
    }
}
