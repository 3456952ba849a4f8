import ArgumentParser
import Foundation
import Swiftlet

/// `swiftlet sample`: generate text from a checkpoint, streamed as it is produced.
struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Generate text from a trained model.",
        discussion: """
            --checkpoint takes a model or training checkpoint, or a run directory (its best.safetensors,
            else last.safetensors). Greedy decoding with --temperature 0; otherwise temperature, then
            top-k, top-p and min-p filter the distribution. The same --seed gives the same text.
            """
    )

    @Option(help: "Checkpoint file, run directory or Hugging Face GPT-2 directory.") var checkpoint: String
    @Option(help: "Prompt text, or @FILE to read it from a file (default: a newline, or where the tokenizer has none, the first token's text).")
    var prompt: String?
    @Option(name: .customLong("max-new-tokens"), help: "Tokens to generate per sample.") var maxNewTokens: Int = 500
    @Option(help: "Sampling temperature (0 = greedy, else at least 1e-6).") var temperature: Float = 0.8
    @Option(name: .customLong("top-k"), help: "Keep only the k most likely tokens.") var topK: Int?
    @Option(name: .customLong("top-p"), help: "Keep the smallest set of tokens with this total probability.") var topP: Float?
    @Option(name: .customLong("min-p"), help: "Drop tokens less likely than this fraction of the best one.") var minP: Float?
    @Option(name: .customLong("repetition-penalty"), help: "Penalize tokens seen recently (> 1 discourages repeats).") var repetitionPenalty: Float?
    @Option(name: .customLong("repetition-window"), help: "How many recent tokens the penalty looks at.") var repetitionWindow: Int = 64
    @Option(help: "Random seed.") var seed: UInt64 = 1337
    @Option(name: .customLong("num-samples"), help: "Independent samples to draw.") var numSamples: Int = 1
    @Option(name: .customLong("stop"), help: "Stop when this string appears (repeatable).") var stopStrings: [String] = []
    @Flag(name: .customLong("allow-special"), help: "Read special tokens such as <|endoftext|> in the prompt as tokens.") var allowSpecial = false
    @Flag(name: .customLong("no-cache"), help: "Recompute the whole context every step instead of using the KV cache (slow; same text).") var noCache = false
    @Option(help: "Threads for the kernels.") var threads: Int?

    func validate() throws {
        if numSamples < 1 { throw ValidationError("--num-samples must be at least 1, got \(numSamples)") }
        if maxNewTokens < 0 { throw ValidationError("--max-new-tokens must be ≥ 0, got \(maxNewTokens)") }
        try validateThreads(threads)
        do { try sampling(index: 0).validate() } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        if let threads { Runtime.threads = threads }
        let url = try CheckpointLocation.resolve(checkpoint)
        let (model, savedTokenizer) = try ModelCheckpoint.load(url)
        guard let tokenizer = savedTokenizer else {
            throw CommandError("\(url.path) has no tokenizer; it cannot turn text into ids")
        }
        let promptText = try prompt.map(PromptText.read) ?? Self.defaultPrompt(for: tokenizer)
        let specials = allowSpecial ? Set(tokenizer.specialTokens.keys) : []
        var stopTokens = Set<Int32>()
        if let endOfText = tokenizer.specialTokens[GPT2Tokenizer.endOfText] { stopTokens.insert(Int32(endOfText)) }
        let generator = Generator(model: model, tokenizer: tokenizer)
        _ = try generator.promptIds(promptText, allowedSpecial: specials)  // a bad prompt fails before any output
        for index in 0..<numSamples {
            let sampling = sampling(index: index)
            let options = GenerationOptions(maxNewTokens: maxNewTokens, sampling: sampling,
                                            stopTokens: stopTokens, stopStrings: stopStrings, useCache: !noCache)
            if numSamples > 1 { print("--- sample \(index + 1) ---") }
            print(promptText, terminator: "")
            try generator.generate(prompt: promptText, allowedSpecial: specials, options: options) { piece in
                print(piece, terminator: "")
                fflush(nil)
            }
            print("")
        }
    }
}

extension SampleCommand {
    /// The sampling settings of sample `index` (each sample has its own seed).
    func sampling(index: Int) -> SamplingParameters {
        SamplingParameters(temperature: temperature, topK: topK, topP: topP, minP: minP,
                           repetitionPenalty: repetitionPenalty, repetitionWindow: repetitionWindow,
                           seed: seed &+ UInt64(index))
    }

    /// nanoGPT's default start, a newline, where the tokenizer keeps one; else the text of its
    /// first token that is not a special one (a word tokenizer drops whitespace, and a character
    /// model trained without newlines has none).
    static func defaultPrompt(for tokenizer: AnyTokenizer) -> String {
        if let ids = try? tokenizer.encode("\n"), !ids.isEmpty { return "\n" }
        let specials = Set(tokenizer.specialTokens.values)
        let first = (0..<tokenizer.vocabularySize).first { !specials.contains($0) } ?? 0
        return (try? tokenizer.decode([first])) ?? "\n"
    }
}
