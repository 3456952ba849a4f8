import Foundation

/// What to generate and when to stop.
public struct GenerationOptions: Sendable {
    /// Tokens to generate at most.
    public var maxNewTokens: Int
    /// How each token is picked (ignored when a custom `TokenSampler` is passed).
    public var sampling: SamplingParameters
    /// Token ids that end generation (not emitted), e.g. GPT-2's `<|endoftext|>`.
    public var stopTokens: Set<Int32>
    /// Strings that end generation; the text is cut before the first one.
    public var stopStrings: [String]
    /// Keep every layer's keys and values between steps (`GPT.prefill`/`GPT.decode`), so each new
    /// token runs one row through the network. Off: every step recomputes the whole context with a
    /// full forward pass (slow; kept as the reference the cached path is tested against).
    public var useCache: Bool

    public init(maxNewTokens: Int = 256, sampling: SamplingParameters = SamplingParameters(),
                stopTokens: Set<Int32> = [], stopStrings: [String] = [], useCache: Bool = true) {
        self.maxNewTokens = maxNewTokens
        self.sampling = sampling
        self.stopTokens = stopTokens
        self.stopStrings = stopStrings
        self.useCache = useCache
    }
}

/// Why generation ended.
public enum StopReason: String, Sendable {
    case maxTokens = "max_tokens"
    case stopToken = "stop_token"
    case stopString = "stop_string"
}

/// Generates text from a model and its tokenizer, streaming UTF-8-complete pieces.
///
/// Each step computes the next token's logits from the context (cropped to the last
/// `block_size` tokens, as nanoGPT does), then samples. With `GenerationOptions.useCache` (the
/// default) the prompt is prefilled once and each new token is decoded against a KV cache; once
/// the context is longer than `block_size` the crop shifts every position, so the cache is rebuilt
/// from the cropped window at every step from then on (exactly what recomputing does, no faster).
/// Same prompt, options and seed → same tokens, with or without the cache.
///
/// ```swift
/// let generator = Generator(model: model, tokenizer: tokenizer)
/// let text = try generator.generate(prompt: "ROMEO:", options: GenerationOptions(maxNewTokens: 100)) { print($0, terminator: "") }
/// for try await piece in generator.text(prompt: "ROMEO:", options: GenerationOptions(maxNewTokens: 100)) {
///     print(piece, terminator: "")
/// }
/// ```
///
/// Not thread-safe: one generation at a time per model.
public final class Generator {
    public let model: GPT
    public let tokenizer: AnyTokenizer

    public init(model: GPT, tokenizer: AnyTokenizer) {
        self.model = model
        self.tokenizer = tokenizer
    }

    /// Generates from a text prompt, calling `onText` with each new piece of text as soon as its
    /// bytes form complete characters. Returns the generated text (without the prompt; prompt +
    /// text is the decoding of all the tokens, so a word tokenizer's text starts with a space).
    ///
    /// - Parameter sampler: picks each token; nil uses `Sampler(options.sampling)`.
    @discardableResult
    public func generate(
        prompt: String, allowedSpecial: Set<String> = [], options: GenerationOptions,
        sampler: (any TokenSampler)? = nil, onText: (String) -> Void = { _ in }
    ) throws -> (text: String, reason: StopReason) {
        let ids = try promptIds(prompt, allowedSpecial: allowedSpecial)
        var pieces = TextPieces(tokenizer: tokenizer, stopStrings: options.stopStrings)
        let result = try generateTokens(prompt: ids, options: options, sampler: sampler) { token in
            if let piece = try pieces.append(token) { onText(piece) }
            return !pieces.stopped
        }
        if let piece = pieces.finish() { onText(piece) }
        return (pieces.text, pieces.stopped ? .stopString : result.reason)
    }

    /// The ids of a text prompt. Throws what the tokenizer throws (an unknown character, say), or
    /// `GenerationError.invalidPrompt` when it keeps nothing of the text (a word tokenizer drops
    /// whitespace): a caller can check a prompt this way before it shows anything.
    public func promptIds(_ prompt: String, allowedSpecial: Set<String> = []) throws -> [Int32] {
        let ids = try tokenizer.encode(prompt, allowedSpecial: allowedSpecial).map { Int32($0) }
        guard !ids.isEmpty else {
            throw GenerationError.invalidPrompt(
                "the prompt \(prompt.debugDescription) encodes to no tokens (a \(tokenizer.kind.rawValue) tokenizer); give text it keeps")
        }
        return ids
    }

    /// Generates token ids after `prompt`, calling `onToken` with each; `onToken` returns false
    /// to stop. Stop tokens end generation without being passed on.
    ///
    /// - Parameter sampler: picks each token; nil uses `Sampler(options.sampling)`.
    @discardableResult
    public func generateTokens(
        prompt: [Int32], options: GenerationOptions, sampler: (any TokenSampler)? = nil,
        onToken: (Int32) throws -> Bool = { _ in true }
    ) throws -> (tokens: [Int32], reason: StopReason) {
        let generation = try TokenGeneration(model: model, prompt: prompt, options: options, sampler: sampler)
        while let token = try generation.next() {
            if try !onToken(token) { return (generation.generated, .stopString) }
        }
        return (generation.generated, generation.reason ?? .maxTokens)
    }

    // MARK: AsyncSequence

    /// The generated token ids after `prompt` as an asynchronous sequence, one id per step, computed
    /// when the consumer asks for it. Ends at `maxNewTokens` or a stop token (not emitted); throws
    /// on invalid options or prompt (at the first `next()`), and `CancellationError` when the
    /// consuming task is cancelled. Same ids as `generateTokens`.
    ///
    /// ```swift
    /// for try await id in generator.tokens(prompt: ids, options: options) { ids.append(id) }
    /// ```
    public func tokens(prompt: [Int32], options: GenerationOptions, sampler: (any TokenSampler)? = nil) -> GeneratedTokens {
        GeneratedTokens(model: model, prompt: prompt, options: options, sampler: sampler)
    }

    /// The generated text after `prompt` as an asynchronous sequence of pieces, each ending on a
    /// complete UTF-8 character, with stop strings cut off exactly as `generate` does (a piece is
    /// held back while it could still be the start of a stop string). Concatenated, the pieces are
    /// `generate(…).text`.
    public func text(
        prompt: String, allowedSpecial: Set<String> = [], options: GenerationOptions, sampler: (any TokenSampler)? = nil
    ) -> GeneratedText {
        GeneratedText(model: model, tokenizer: tokenizer, prompt: prompt, allowedSpecial: allowedSpecial,
                      options: options, sampler: sampler)
    }

    /// The position where the earliest stop string begins, if any.
    static func firstStop(in text: String, stops: [String]) -> String.Index? {
        stops.compactMap { $0.isEmpty ? nil : text.range(of: $0)?.lowerBound }.min()
    }
}

/// One generation in progress: each `next()` computes the next token's logits (recomputed, or
/// from the KV cache) and samples it.
final class TokenGeneration {
    let model: GPT
    let options: GenerationOptions
    private var sampler: any TokenSampler
    private let cache: KeyValueCache?
    private(set) var context: [Int32]
    private(set) var generated: [Int32] = []
    private(set) var reason: StopReason?

    init(model: GPT, prompt: [Int32], options: GenerationOptions, sampler: (any TokenSampler)?) throws {
        try options.sampling.validate()
        guard !prompt.isEmpty else {
            throw GenerationError.invalidPrompt("the prompt has no tokens; give at least one")
        }
        guard options.maxNewTokens >= 0 else {
            throw GenerationError.invalidParameter("max new tokens must be ≥ 0, got \(options.maxNewTokens)")
        }
        self.model = model
        self.options = options
        self.sampler = sampler ?? Sampler(options.sampling)
        self.cache = options.useCache ? model.makeKeyValueCache() : nil
        self.context = prompt
    }

    /// The next token, or nil once generation has ended (`reason` says why).
    func next() throws -> Int32? {
        guard reason == nil else { return nil }
        guard generated.count < options.maxNewTokens else {
            reason = .maxTokens
            return nil
        }
        let logits = try nextLogits()
        let token = sampler.next(logits: logits, history: context)
        if options.stopTokens.contains(token) {
            reason = .stopToken
            return nil
        }
        context.append(token)
        generated.append(token)
        return token
    }

    /// Logits predicting the token after `context`, from its last `block_size` tokens.
    private func nextLogits() throws -> [Float] {
        let blockSize = model.config.blockSize
        guard let cache else {
            let window = Array(context.suffix(blockSize))
            try model.forward(tokens: window, batchSize: 1, sequenceLength: window.count, mode: .inference)
            return try model.withLogits { values, _, _ in Array(values.prefix(model.config.vocabularySize)) }
        }
        // The cache holds every context token but the newest. Past block_size the crop moves every
        // position, so the cropped window is prefilled again.
        if generated.isEmpty || context.count > blockSize {
            return try model.prefill(Array(context.suffix(blockSize)), cache: cache)
        }
        return try model.decode(context[context.count - 1], cache: cache)
    }
}

/// Turns generated tokens into text pieces that end on complete UTF-8 characters, cutting the
/// text before the first stop string and holding back what could still become one.
struct TextPieces {
    private var detokenizer: StreamingDetokenizer
    private let stopStrings: [String]
    /// Characters held back because they could still begin a stop string.
    private let holdBack: Int
    /// The text handed out so far (all of it after `finish`).
    private(set) var text = ""
    /// Decoded text not handed out yet: at most `holdBack` characters plus one token's worth, so
    /// each token costs O(1) however long the generation runs.
    private var pending = ""
    /// Whether a stop string appeared.
    private(set) var stopped = false

    /// The tokens follow a prompt (never empty), so a word tokenizer's first one gets its space.
    init(tokenizer: AnyTokenizer, stopStrings: [String]) {
        detokenizer = StreamingDetokenizer(tokenizer: tokenizer, followsText: true)
        self.stopStrings = stopStrings
        holdBack = max((stopStrings.map(\.count).max() ?? 0) - 1, 0)
    }

    /// Adds a token; returns the text that is now safe to show, if any.
    ///
    /// Only `pending` is searched for stop strings: an occurrence starting in text already handed
    /// out would have ended inside the text available then, and been found then.
    mutating func append(_ token: Int32) throws -> String? {
        pending += try detokenizer.append(Int(token))
        if let cut = Generator.firstStop(in: pending, stops: stopStrings) {
            pending = String(pending[..<cut])
            stopped = true
        }
        let keep = stopped ? 0 : holdBack
        guard pending.count > keep else { return nil }
        let split = pending.index(pending.endIndex, offsetBy: -keep)
        let piece = String(pending[..<split])
        pending = String(pending[split...])
        text += piece
        return piece
    }

    /// After the last token: the rest of the text (held-back characters, incomplete bytes as U+FFFD).
    mutating func finish() -> String? {
        guard !stopped else { return nil }
        pending += detokenizer.finish()
        guard !pending.isEmpty else { return nil }
        let piece = pending
        text += piece
        pending = ""
        return piece
    }
}
