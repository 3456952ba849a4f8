import Swiftlet
import Testing

/// The cached decode path on every ISA path and thread count (changes `Runtime`, so serialized).
@Suite(.serialized) struct DecodeConfigurationTests {
    /// Prefill 3 tokens, then decode to the end of the block; every step's logits.
    func decodedLogits(_ model: GPT) throws -> [[Float]] {
        let cache = model.makeKeyValueCache()
        var steps = [try model.prefill([3, 17, 8], cache: cache)]
        var token: Int32 = 2
        while cache.count < cache.capacity {
            token = (token * 5 + 3) % 37
            steps.append(try model.decode(token, cache: cache))
        }
        return steps
    }

    @Test func everyPathMatchesTheFullForward() throws {
        let model = try decodeModel({ $0.position = .rope; $0.bias = true })
        try forEachConfiguration { isa, threads in
            let cache = model.makeKeyValueCache()
            var context: [Int32] = [3, 17, 8]
            expectClose(try model.prefill(context, cache: cache), try fullForwardLogits(model, context),
                        "\(isa.rawValue) \(threads) threads prefill")
            while cache.count < cache.capacity {
                let token = Int32(context.count * 11 % 37)
                context.append(token)
                expectClose(try model.decode(token, cache: cache), try fullForwardLogits(model, context),
                            "\(isa.rawValue) \(threads) threads position \(context.count - 1)")
            }
        }
    }

    @Test func threadCountDoesNotChangeDecodedLogits() throws {
        let model = try decodeModel({ $0.normalization = .post; $0.position = .learned })
        try expectThreadIndependent("decode") { try decodedLogits(model) }
    }
}

@Suite struct MainActorGenerationTests {
    /// The AsyncSequence APIs work from an actor-isolated context (here the main actor) in Swift 6 mode.
    @MainActor @Test func tokensAndTextFromTheMainActor() async throws {
        let model = try decodeModel({ _ in })
        let tokenizer = try AnyTokenizer.character(CharacterTokenizer(characters: decodeAlphabet))
        let generator = Generator(model: model, tokenizer: tokenizer)
        let options = GenerationOptions(maxNewTokens: 5, sampling: .greedy)
        var tokens: [Int32] = []
        for try await token in generator.tokens(prompt: [4], options: options) { tokens.append(token) }
        #expect(tokens == (try generator.generateTokens(prompt: [4], options: options).tokens))
        var text = ""
        for try await piece in generator.text(prompt: "a", options: options) { text += piece }
        #expect(text == (try generator.generate(prompt: "a", options: options).text))
    }
}
