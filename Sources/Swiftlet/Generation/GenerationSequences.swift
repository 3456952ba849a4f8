/// Generated token ids as an `AsyncSequence`: made by `Generator.tokens(prompt:options:sampler:)`.
///
/// Lazy: nothing runs until the first `next()`, and each `next()` computes one token on the
/// caller's task (no background task, no buffering). Each iteration starts a new generation with
/// the same seed, so iterating twice gives the same ids. Not `Sendable`: the model it drives is
/// used by one task at a time.
public struct GeneratedTokens: AsyncSequence {
    public typealias Element = Int32
    public typealias Failure = any Error

    let model: GPT
    let prompt: [Int32]
    let options: GenerationOptions
    let sampler: (any TokenSampler)?

    public func makeAsyncIterator() -> Iterator {
        Iterator(model: model, prompt: prompt, options: options, sampler: sampler)
    }

    /// Steps one generation.
    public struct Iterator: AsyncIteratorProtocol {
        private let model: GPT
        private let prompt: [Int32]
        private let options: GenerationOptions
        private let sampler: (any TokenSampler)?
        private var generation: TokenGeneration?

        init(model: GPT, prompt: [Int32], options: GenerationOptions, sampler: (any TokenSampler)?) {
            (self.model, self.prompt, self.options, self.sampler) = (model, prompt, options, sampler)
        }

        public mutating func next() async throws -> Int32? { try await next(isolation: nil) }

        /// The next id, or nil at the end, computed on the caller's isolation. Throws
        /// `CancellationError` if the task was cancelled.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> Int32? {
            try Task.checkCancellation()
            if generation == nil {
                generation = try TokenGeneration(model: model, prompt: prompt, options: options, sampler: sampler)
            }
            return try generation?.next()
        }
    }
}

/// Generated text as an `AsyncSequence` of pieces that each end on a complete UTF-8 character:
/// made by `Generator.text(prompt:allowedSpecial:options:sampler:)`. Stop strings end the
/// sequence and are not part of it. Lazy and single-task like `GeneratedTokens`.
public struct GeneratedText: AsyncSequence {
    public typealias Element = String
    public typealias Failure = any Error

    let model: GPT
    let tokenizer: AnyTokenizer
    let prompt: String
    let allowedSpecial: Set<String>
    let options: GenerationOptions
    let sampler: (any TokenSampler)?

    public func makeAsyncIterator() -> Iterator { Iterator(sequence: self) }

    /// Steps one generation, turning tokens into pieces.
    public struct Iterator: AsyncIteratorProtocol {
        private let sequence: GeneratedText
        private var generation: TokenGeneration?
        private var pieces: TextPieces
        private var finished = false

        init(sequence: GeneratedText) {
            self.sequence = sequence
            pieces = TextPieces(tokenizer: sequence.tokenizer, stopStrings: sequence.options.stopStrings)
        }

        public mutating func next() async throws -> String? { try await next(isolation: nil) }

        /// The next piece, or nil at the end, computed on the caller's isolation. Throws
        /// `CancellationError` if the task was cancelled.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> String? {
            try Task.checkCancellation()
            if generation == nil {
                let ids = try sequence.tokenizer.encode(sequence.prompt, allowedSpecial: sequence.allowedSpecial)
                generation = try TokenGeneration(model: sequence.model, prompt: ids.map { Int32($0) },
                                                 options: sequence.options, sampler: sequence.sampler)
            }
            guard let generation, !finished else { return nil }
            while !pieces.stopped, let token = try generation.next() {
                if let piece = try pieces.append(token) { return piece }
                try Task.checkCancellation()
            }
            finished = true
            return pieces.finish()
        }
    }
}
