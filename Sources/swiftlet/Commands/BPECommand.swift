import ArgumentParser
import Foundation
import Swiftlet

/// `swiftlet bpe`: byte-level BPE vocabularies.
struct BPECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bpe",
        abstract: "Train byte-level BPE tokenizers.",
        subcommands: [Train.self]
    )

    /// `swiftlet bpe train --corpus FILE --vocab-size N --out PATH`.
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "train",
            abstract: "Learn a byte-level BPE vocabulary from a UTF-8 corpus and save it as tokenizer JSON.",
            discussion: """
                The vocabulary holds the 256 bytes, the learned merges, then <|endoftext|>
                (the last id). Text is pre-tokenized as GPT-2 does. Use the result with
                `swiftlet tokenize --tokenizer bpe --vocab PATH`.
                """
        )

        @Option(help: "The UTF-8 text file to learn from.")
        var corpus: String

        @Option(help: "Tokens in the vocabulary, at least 257 (256 bytes + <|endoftext|>).")
        var vocabSize: Int

        @Option(help: "Where to write the tokenizer JSON.")
        var out: String

        func validate() throws {
            if vocabSize < 257 { throw ValidationError("--vocab-size must be at least 257 (256 bytes + <|endoftext|>), got \(vocabSize)") }
        }

        func run() throws {
            let text = try TokenizerResources.readText(URL(fileURLWithPath: corpus))
            let start = DispatchTime.now().uptimeNanoseconds
            let trained = try BPETrainer.train(corpus: text, vocabularySize: vocabSize)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            try AnyTokenizer.bytePair(trained).write(to: URL(fileURLWithPath: out))
            var note = ""
            if trained.vocabularySize < vocabSize { note = " (the corpus ran out of pairs before \(vocabSize))" }
            print(String(format: "trained %d tokens (%d merges) from %d bytes in %.2f s%@ -> %@",
                         trained.vocabularySize, trained.merges.count, text.utf8.count, seconds, note, out))
        }
    }
}
