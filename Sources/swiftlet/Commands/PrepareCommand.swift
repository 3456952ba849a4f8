import ArgumentParser
import Foundation
import Swiftlet

/// `swiftlet prepare`: tokenize a corpus once into a directory `swiftlet train --data DIR` reads.
struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Tokenize text into train.bin, val.bin and tokenizer.json (nanoGPT's prepare.py).",
        discussion: """
            The text is split 90/10 by characters and each part tokenized on its own. Token files hold
            uint16 ids when the vocabulary fits, else uint32. Train on the result with
            `swiftlet train --data DIR`.
            """
    )

    @OptionGroup(title: "Data") var data: DataOptions
    @Option(name: .customLong("vocab-size"), help: "Target vocabulary for word and bpe tokenizers.") var vocabularySize: Int?
    @Option(help: "Output directory.") var out: String

    func run() throws {
        var layer = data.layer
        layer["vocab_size"] = nil
        let configuration = try TrainingConfiguration.resolve(layers: [["preset": "tiny"], layer])
        let prepared = try TrainingData.prepare(configuration, vocabularySize: vocabularySize)
        let directory = URL(fileURLWithPath: out)
        try prepared.write(to: directory)
        print("\(directory.path): \(prepared.train.count) train + \(prepared.validation.count) val tokens, \(prepared.tokenizer.kind.rawValue) tokenizer with \(prepared.tokenizer.vocabularySize) tokens")
    }
}
