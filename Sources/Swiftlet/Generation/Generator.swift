import Foundation

/// What to generate and when to stop.
public struct GenerationOptions: Sendable {
    /// Tokens to generate at most.
    public var maxNewTokens: Int
    /// How each token is picked.
    public var sampling: SamplingParameters
    /// Token ids that end generation (not emitted), e.g. GPT-2's `<|endoftext|>`.
    public var stopTokens: Set<Int32>
    /// Strings that end generation; the text is cut before the first one.
    public var stopStrings: [String]

    public init(maxNewTokens: Int = 256, sampling: SamplingParameters = SamplingParameters(),
                stopTokens: Set<Int32> = [], stopStrings: [String] = []) {
        self.maxNewTokens = maxNewTokens
        self.sampling = sampling
        self.stopTokens = stopTokens
        self.stopStrings = stopStrings
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
/// `block_size` tokens, as nanoGPT does), then samples. Same prompt, options and seed → same text.
///
/// ```swift
/// let generator = Generator(model: model, tokenizer: tokenizer)
/// let text = try generator.generate(prompt: "ROMEO:", options: GenerationOptions(maxNewTokens: 100)) { print($0, terminator: "") }
/// ```
public final class Generator {
    public let model: GPT
    public let tokenizer: AnyTokenizer

    public init(model: GPT, tokenizer: AnyTokenizer) {
        self.model = model
        self.tokenizer = tokenizer
    }

    /// Generates from a text prompt, calling `onText` with each new piece of text as soon as its
    /// bytes form complete characters. Returns the generated text (without the prompt).
    @discardableResult
    public func generate(
        prompt: String, allowedSpecial: Set<String> = [], options: GenerationOptions,
        onText: (String) -> Void = { _ in }
    ) throws -> (text: String, reason: StopReason) {
        let ids = try tokenizer.encode(prompt, allowedSpecial: allowedSpecial).map { Int32($0) }
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        var text = ""
        var emitted = 0  // characters of `text` already passed to onText
        var stoppedByString = false
        let longestStop = options.stopStrings.map(\.count).max() ?? 0
        let result = try generateTokens(prompt: ids, options: options) { token in
            text += try detokenizer.append(Int(token))
            if let cut = Self.firstStop(in: text, stops: options.stopStrings) {
                text = String(text[..<cut])
                stoppedByString = true
            }
            // Hold back what could still become the start of a stop string.
            let safe = stoppedByString ? text.count : max(emitted, text.count - max(longestStop - 1, 0))
            if safe > emitted {
                let start = text.index(text.startIndex, offsetBy: emitted)
                onText(String(text[start..<text.index(text.startIndex, offsetBy: safe)]))
                emitted = safe
            }
            return !stoppedByString
        }
        if !stoppedByString {
            text += detokenizer.finish()
            if emitted < text.count { onText(String(text.dropFirst(emitted))) }
        }
        return (text, stoppedByString ? .stopString : result.reason)
    }

    /// Generates token ids after `prompt`, calling `onToken` with each; `onToken` returns false
    /// to stop. Stop tokens end generation without being passed on.
    @discardableResult
    public func generateTokens(
        prompt: [Int32], options: GenerationOptions, onToken: (Int32) throws -> Bool = { _ in true }
    ) throws -> (tokens: [Int32], reason: StopReason) {
        try options.sampling.validate()
        guard !prompt.isEmpty else {
            throw GenerationError.invalidPrompt("the prompt encodes to no tokens; give at least one character")
        }
        guard options.maxNewTokens >= 0 else {
            throw GenerationError.invalidParameter("max new tokens must be ≥ 0, got \(options.maxNewTokens)")
        }
        var sampler = Sampler(options.sampling)
        var context = prompt
        var generated: [Int32] = []
        let vocabulary = model.config.vocabularySize
        for _ in 0..<options.maxNewTokens {
            let window = Array(context.suffix(model.config.blockSize))
            try model.forward(tokens: window, batchSize: 1, sequenceLength: window.count, mode: .inference)
            let logits = try model.withLogits { values, _, _ in Array(values.prefix(vocabulary)) }
            let token = sampler.next(logits: logits, history: context)
            if options.stopTokens.contains(token) { return (generated, .stopToken) }
            context.append(token)
            generated.append(token)
            if try !onToken(token) { return (generated, .stopString) }
        }
        return (generated, .maxTokens)
    }

    /// The position where the earliest stop string begins, if any.
    static func firstStop(in text: String, stops: [String]) -> String.Index? {
        stops.compactMap { $0.isEmpty ? nil : text.range(of: $0)?.lowerBound }.min()
    }
}
