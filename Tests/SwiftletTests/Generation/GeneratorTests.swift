import Foundation
import Swiftlet
import Testing

/// A sampler a library user might write: the second most likely token, and it records the history
/// it was shown.
struct SecondBestSampler: TokenSampler {
    var histories: [[Int32]] = []
    mutating func next(logits: [Float], history: [Int32]) -> Int32 {
        histories.append(history)
        let best = Sampler.argmax(logits)
        var second = best == 0 ? 1 : 0
        for i in logits.indices where i != best && logits[i] > logits[second] { second = i }
        return Int32(second)
    }
}

@Suite("Generator") struct GeneratorTests {
    static let samplings: [(String, SamplingParameters)] = [
        ("greedy", .greedy),
        ("seeded", SamplingParameters(temperature: 1, seed: 7)),
        ("seeded top-k top-p repetition", SamplingParameters(temperature: 0.9, topK: 10, topP: 0.95,
                                                               repetitionPenalty: 1.3, repetitionWindow: 8, seed: 99)),
    ]

    /// Cached generation gives exactly the tokens of recomputing the cropped context every step,
    /// for every variant, past block_size (12) where the crop moves every position.
    @Test(arguments: decodeVariants.indices)
    func cachedTokensEqualRecomputedTokens(variant: Int) throws {
        let (name, change) = decodeVariants[variant]
        let model = try decodeModel(change)
        let tokenizer = try AnyTokenizer.character(CharacterTokenizer(characters: decodeAlphabet))
        let generator = Generator(model: model, tokenizer: tokenizer)
        for (label, sampling) in Self.samplings {
            var options = GenerationOptions(maxNewTokens: 30, sampling: sampling, useCache: false)
            let recomputed = try generator.generateTokens(prompt: [3, 17, 8], options: options)
            options.useCache = true
            let cached = try generator.generateTokens(prompt: [3, 17, 8], options: options)
            #expect(cached.tokens == recomputed.tokens, "\(name), \(label)")
            #expect(cached.tokens.count == 30 && cached.reason == .maxTokens)
            if sampling.temperature > 0 {  // greedy may settle into a short loop; sampling must not
                #expect(Set(recomputed.tokens).count > 2, "\(name), \(label): degenerate output would prove little")
            }
        }
    }

    @Test func aPromptLongerThanTheBlockIsCropped() throws {
        let model = try decodeModel({ $0.position = .sinusoidal })
        let tokenizer = try AnyTokenizer.character(CharacterTokenizer(characters: decodeAlphabet))
        let generator = Generator(model: model, tokenizer: tokenizer)
        let prompt = (0..<20).map { Int32($0 * 5 % 37) }
        var options = GenerationOptions(maxNewTokens: 8, sampling: .greedy, useCache: false)
        let recomputed = try generator.generateTokens(prompt: prompt, options: options)
        options.useCache = true
        #expect(try generator.generateTokens(prompt: prompt, options: options).tokens == recomputed.tokens)
    }

    /// With a word tokenizer the text after the prompt starts with its space: prompt + text is
    /// the decoding of the prompt's and the new tokens together.
    @Test func wordTextContinuesThePromptWithASpace() throws {
        let corpus = (0..<40).map { "w\($0 % 30)" }.joined(separator: " ")
        let words = try WordTokenizer(corpus: corpus, maximumVocabularySize: 37)
        let model = try decodeModel({ $0.vocabularySize = words.vocabularySize })
        let generator = Generator(model: model, tokenizer: .word(words))
        let options = GenerationOptions(maxNewTokens: 5, sampling: .greedy)
        let prompt = "w1 w2"
        let (text, _) = try generator.generate(prompt: prompt, options: options)
        let tokens = try generator.generateTokens(prompt: words.encode(prompt).map { Int32($0) }, options: options).tokens
        #expect(text.hasPrefix(" "), "\(text)")
        #expect(prompt + text == (try words.decode(words.encode(prompt) + tokens.map { Int($0) })))
    }

    @Test func aCustomSamplerPlugsIn() throws {
        let model = try decodeModel({ _ in })
        let tokenizer = try AnyTokenizer.character(CharacterTokenizer(characters: decodeAlphabet))
        let generator = Generator(model: model, tokenizer: tokenizer)
        let prompt: [Int32] = [1, 2]
        let result = try generator.generateTokens(prompt: prompt, options: GenerationOptions(maxNewTokens: 6),
                                                  sampler: SecondBestSampler())
        // Replay: each token is the runner-up of the full forward over the context so far.
        var context = prompt
        for token in result.tokens {
            let logits = try fullForwardLogits(model, context)
            var replay = SecondBestSampler()
            #expect(replay.next(logits: logits, history: context) == token)
            #expect(Sampler.argmax(logits) != Int(token))
            context.append(token)
        }
        #expect(result.tokens.count == 6)
    }

    @Test func stopTokensEndGenerationWithoutBeingEmitted() throws {
        let model = try decodeModel({ _ in })
        let tokenizer = try AnyTokenizer.character(CharacterTokenizer(characters: decodeAlphabet))
        let generator = Generator(model: model, tokenizer: tokenizer)
        let free = try generator.generateTokens(prompt: [5], options: GenerationOptions(maxNewTokens: 10, sampling: .greedy))
        let stop = free.tokens[4]
        let stopped = try generator.generateTokens(prompt: [5], options: GenerationOptions(
            maxNewTokens: 10, sampling: .greedy, stopTokens: [stop]))
        #expect(stopped.reason == .stopToken)
        #expect(stopped.tokens == Array(free.tokens.prefix(while: { $0 != stop })))
    }

    // MARK: AsyncSequence

    @Test func asyncTokensEqualTheSynchronousOnes() async throws {
        let model = try decodeModel({ $0.position = .rope })
        let tokenizer = try AnyTokenizer.character(CharacterTokenizer(characters: decodeAlphabet))
        let generator = Generator(model: model, tokenizer: tokenizer)
        for useCache in [true, false] {
            let options = GenerationOptions(maxNewTokens: 20, sampling: SamplingParameters(temperature: 1, seed: 3),
                                            useCache: useCache)
            let expected = try generator.generateTokens(prompt: [7, 7], options: options).tokens
            var streamed: [Int32] = []
            for try await token in generator.tokens(prompt: [7, 7], options: options) { streamed.append(token) }
            #expect(streamed == expected)
        }
        await #expect(throws: GenerationError.self) {
            for try await _ in generator.tokens(prompt: [], options: GenerationOptions()) {}
        }
    }

    @Test func asyncTextPiecesEqualTheSynchronousOnes() async throws {
        let model = try decodeModel({ _ in })
        let tokenizer = try AnyTokenizer.character(CharacterTokenizer(characters: decodeAlphabet))
        let generator = Generator(model: model, tokenizer: tokenizer)
        let free = try generator.generate(prompt: "ab", options: GenerationOptions(maxNewTokens: 24, sampling: .greedy))
        // A stop string taken from the middle of the free text, two characters long.
        let middle = free.text.index(free.text.startIndex, offsetBy: 10)
        let stop = String(free.text[middle..<free.text.index(middle, offsetBy: 2)])
        for stops in [[], [stop]] {
            let options = GenerationOptions(maxNewTokens: 24, sampling: .greedy, stopStrings: stops)
            var pieces: [String] = []
            let result = try generator.generate(prompt: "ab", options: options) { pieces.append($0) }
            var streamed: [String] = []
            for try await piece in generator.text(prompt: "ab", options: options) { streamed.append(piece) }
            #expect(streamed == pieces)
            #expect(streamed.joined() == result.text)
            if !stops.isEmpty {
                #expect(result.reason == .stopString && !result.text.contains(stop) && free.text.hasPrefix(result.text))
                // Exactly the text before the first occurrence, however the stop straddles tokens.
                let first = try #require(free.text.range(of: stop))
                #expect(result.text == String(free.text[..<first.lowerBound]))
            }
        }
    }

    @Test func cancellationStopsTheSequence() async throws {
        // In a child task, so cancelling it leaves the test itself running.
        let outcome = await Task { () async -> String in
            do {
                let model = try decodeModel({ _ in })
                let tokenizer = try AnyTokenizer.character(CharacterTokenizer(characters: decodeAlphabet))
                let generator = Generator(model: model, tokenizer: tokenizer)
                var iterator = generator.tokens(prompt: [1], options: GenerationOptions(maxNewTokens: 100)).makeAsyncIterator()
                guard try await iterator.next() != nil else { return "no first token" }
                withUnsafeCurrentTask { $0?.cancel() }
                _ = try await iterator.next()
                return "not cancelled"
            } catch is CancellationError {
                return "cancelled"
            } catch {
                return "\(error)"
            }
        }.value
        #expect(outcome == "cancelled")
    }
}

/// 37 distinct characters, one per token id of `decodeModel`.
let decodeAlphabet: [Unicode.Scalar] = Array(" 0123456789abcdefghijklmnopqrstuvwxyz".unicodeScalars)
