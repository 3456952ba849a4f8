import ArgumentParser
import Foundation
import Swiftlet

/// `swiftlet tokenize`: text to a JSON array of ids, or back with `--decode`.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Encode text to token ids (a JSON array on stdout), or decode ids back to text.",
        discussion: """
            INPUT is the text itself, @FILE (a UTF-8 file) or - (stdin). With --decode,
            INPUT is a JSON array of ids; the text goes to stdout exactly, no newline added.

            What --vocab names, by tokenizer:
            - gpt2: a folder with encoder.json and vocab.bpe. Default: the bundled
              OpenAI files.
            - char: a tokenizer JSON file. Default: built from the bundled
              tinyshakespeare (65 characters, as nanoGPT shakespeare_char).
            - word: a tokenizer JSON file. Default: built from the bundled
              tinyshakespeare, the \(WordTokenizer.defaultMaximumVocabularySize) most frequent entries including
              <PAD> <UNK> <BOS> <EOS>.
            - bpe: a tokenizer JSON file from `swiftlet bpe train` (required).
            Tokenizer JSON files are {"kind": "char"|"word"|"bpe"|"gpt2", ...}, the
            form checkpoints store; the kind must match --tokenizer.
            """
    )

    enum Choice: String, ExpressibleByArgument, CaseIterable {
        case gpt2, char, word, bpe
    }

    @Option(help: "Which tokenizer: gpt2, char, word or bpe.")
    var tokenizer: Choice = .gpt2

    @Option(help: "Vocabulary to load (see below).")
    var vocab: String?

    @Flag(help: "Encode special-token strings such as <|endoftext|> as their ids (default: as plain text).")
    var allowSpecial = false

    @Option(help: "Threads for encoding large inputs (gpt2 and bpe; the ids do not depend on it). Default: every core.")
    var threads: Int?

    @Flag(help: "Decode a JSON array of ids to text.")
    var decode = false

    @Flag(help: .hidden)
    var reportThroughput = false

    @Argument(help: "TEXT, @FILE or - (stdin).")
    var input: String

    func validate() throws {
        try validateThreads(threads)
    }

    func run() throws {
        let tokenizer = try loadTokenizer()
        let text = try readInput()
        if decode {
            let ids = try parseIds(text)
            let decoded = try tokenizer.decode(ids)
            FileHandle.standardOutput.write(Data(decoded.utf8))
            return
        }
        let allowed: Set<String> = allowSpecial ? Set(tokenizer.specialTokens.keys) : []
        let threads = threads ?? ProcessInfo.processInfo.activeProcessorCount
        let start = DispatchTime.now().uptimeNanoseconds
        let ids = try tokenizer.encode(text, allowedSpecial: allowed, threads: threads)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if reportThroughput {
            let bytes = text.utf8.count
            FileHandle.standardError.write(Data(String(format: "encoded %d bytes to %d tokens in %.4f s on %d thread(s): %.2f MB/s\n",
                                                       bytes, ids.count, seconds, threads, Double(bytes) / seconds / 1e6).utf8))
        }
        var json = "["
        json.reserveCapacity(ids.count * 7 + 2)
        for (index, id) in ids.enumerated() {
            if index > 0 { json += ", " }
            json += String(id)
        }
        json += "]\n"
        FileHandle.standardOutput.write(Data(json.utf8))
    }

    private func loadTokenizer() throws -> any Tokenizer {
        switch tokenizer {
        case .gpt2:
            guard let vocab else { return try GPT2Tokenizer.bundled() }
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: vocab, isDirectory: &isDirectory), isDirectory.boolValue {
                return try GPT2Tokenizer(directory: URL(fileURLWithPath: vocab))
            }
            return try loadFile(vocab)
        case .char:
            guard let vocab else { return try CharacterTokenizer(corpus: try TokenizerResources.tinyShakespeareText()) }
            return try loadFile(vocab)
        case .word:
            guard let vocab else {
                return try WordTokenizer(corpus: try TokenizerResources.tinyShakespeareText(),
                                         maximumVocabularySize: WordTokenizer.defaultMaximumVocabularySize)
            }
            return try loadFile(vocab)
        case .bpe:
            guard let vocab else {
                throw TokenizeFailure("--tokenizer bpe needs --vocab PATH (train one with `swiftlet bpe train`)")
            }
            return try loadFile(vocab)
        }
    }

    /// A tokenizer JSON file whose kind must match --tokenizer.
    private func loadFile(_ path: String) throws -> any Tokenizer {
        let loaded = try AnyTokenizer(contentsOf: URL(fileURLWithPath: path))
        guard loaded.kind.rawValue == tokenizer.rawValue else {
            throw TokenizeFailure("--vocab \(path) holds a \(loaded.kind.rawValue) tokenizer, not \(tokenizer.rawValue)")
        }
        return loaded
    }

    private func readInput() throws -> String {
        if input == "-" {
            return try TokenizerResources.decodeUTF8(FileHandle.standardInput.readDataToEndOfFile(), source: "stdin")
        }
        if input.hasPrefix("@") {
            return try TokenizerResources.readText(URL(fileURLWithPath: String(input.dropFirst())))
        }
        return input
    }

    private func parseIds(_ text: String) throws -> [Int] {
        guard let ids = try? JSONDecoder().decode([Int].self, from: Data(text.utf8)) else {
            throw TokenizeFailure("--decode expects a JSON array of integer ids, such as [15496, 995]")
        }
        return ids
    }
}

/// A failure found while running (not while parsing), printed without the usage text.
struct TokenizeFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
