import Foundation

/// A run's tokenizer and its train and validation tokens.
///
/// Text is split 90/10 by characters and each part tokenized on its own, as nanoGPT's
/// `prepare.py` does; a Swiftlet token file is split 90/10 by tokens; a prepared directory
/// (`write(to:)`, `swiftlet prepare`) holds `train.bin`, `val.bin` and `tokenizer.json`.
public struct TrainingData: Sendable {
    public let tokenizer: AnyTokenizer
    public let train: TokenDataset
    public let validation: TokenDataset

    /// The built-in datasets `data` may name instead of a file.
    public static let builtInNames = ["shakespeare", "counting", "copy"]

    /// Loads and tokenizes the data a configuration names.
    ///
    /// - Parameters:
    ///   - tokenizer: use this tokenizer (a resumed run's) instead of building one.
    ///   - vocabularySize: the target size for word and BPE tokenizers built from the data.
    public static func prepare(
        _ configuration: TrainingConfiguration, tokenizer given: AnyTokenizer? = nil, vocabularySize: Int? = nil
    ) throws -> TrainingData {
        let source = configuration.data
        if let text = try builtInText(source) {
            let tokenizer = try given ?? makeTokenizer(configuration, corpus: text, vocabularySize: vocabularySize)
            return try split(text: text, tokenizer: tokenizer, source: source)
        }
        let url = URL(fileURLWithPath: source)
        if isPreparedDirectory(url) { return try read(preparedDirectory: url, tokenizer: given) }
        guard FileManager.default.isReadableFile(atPath: url.path) else {
            throw DataError(source: source, reason: "is neither a readable file nor a built-in dataset (\(builtInNames.joined(separator: ", ")))")
        }
        if try TokenDataset.isTokenFile(url) {
            guard let tokenizer = try given ?? savedOrFixedTokenizer(configuration) else {
                throw DataError(source: source, reason: "is a token file: say which tokenizer made it with --vocab FILE or --tokenizer gpt2")
            }
            let tokens = try TokenDataset(contentsOf: url)
            try tokens.validate(vocabularySize: tokenizer.vocabularySize)
            let parts = DataSplit.split(tokens)
            return TrainingData(tokenizer: tokenizer, train: parts.train, validation: parts.validation)
        }
        let text = try TokenizerResources.readText(url)
        guard !text.isEmpty else { throw DataError.empty(source) }
        let tokenizer = try given ?? makeTokenizer(configuration, corpus: text, vocabularySize: vocabularySize)
        return try split(text: text, tokenizer: tokenizer, source: source)
    }

    /// Writes `train.bin`, `val.bin` (token files) and `tokenizer.json` into `directory`, so a
    /// later run can train on it without tokenizing again.
    public func write(to directory: URL) throws {
        try AtomicFile.createDirectory(directory)
        try TokenFile.write(train.tokens(), vocabularySize: tokenizer.vocabularySize, to: directory.appendingPathComponent("train.bin"))
        try TokenFile.write(validation.tokens(), vocabularySize: tokenizer.vocabularySize, to: directory.appendingPathComponent("val.bin"))
        try tokenizer.write(to: directory.appendingPathComponent("tokenizer.json"))
    }

    static func isPreparedDirectory(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    private static func read(preparedDirectory directory: URL, tokenizer given: AnyTokenizer?) throws -> TrainingData {
        for name in ["train.bin", "val.bin", "tokenizer.json"] where !FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path) {
            throw DataError(source: directory.path, reason: "is a directory without \(name); make one with `swiftlet prepare`")
        }
        let tokenizer = try given ?? AnyTokenizer(contentsOf: directory.appendingPathComponent("tokenizer.json"))
        let train = try TokenDataset(contentsOf: directory.appendingPathComponent("train.bin"))
        let validation = try TokenDataset(contentsOf: directory.appendingPathComponent("val.bin"))
        try train.validate(vocabularySize: tokenizer.vocabularySize)
        try validation.validate(vocabularySize: tokenizer.vocabularySize)
        return TrainingData(tokenizer: tokenizer, train: train, validation: validation)
    }

    /// The text of a built-in dataset, or nil if `name` is not one.
    static func builtInText(_ name: String) throws -> String? {
        switch name {
        case "shakespeare": return try TokenizerResources.tinyShakespeareText()
        case "counting": return ToyDatasets.counting(0..<5000)
        case "copy": return try copyText()
        default: return nil
        }
    }

    /// The copy task as text a character tokenizer reads: each example is 8 random letters,
    /// `|`, the same letters, `|` — e.g. `qwhfkzab|qwhfkzab|`.
    static func copyText() throws -> String {
        let task = try ToyDatasets.copy(examples: 20_000, length: 8, symbols: 26, seed: 1)
        let letters = Array("abcdefghijklmnopqrstuvwxyz".unicodeScalars)
        var text = String.UnicodeScalarView()
        for token in task.tokens { text.append(token == task.separator ? "|" : letters[Int(token)]) }
        return String(text)
    }

    private static func split(text: String, tokenizer: AnyTokenizer, source: String) throws -> TrainingData {
        let parts = DataSplit.split(text: text)
        guard !parts.validation.isEmpty else {
            throw DataError(source: source, reason: "is too small to hold out a validation split (\(text.unicodeScalars.count) characters)")
        }
        return TrainingData(
            tokenizer: tokenizer,
            train: try TokenDataset.tokenize(text: parts.train, tokenizer: tokenizer, source: "\(source) (train)"),
            validation: try TokenDataset.tokenize(text: parts.validation, tokenizer: tokenizer, source: "\(source) (val)"))
    }

    private static func savedOrFixedTokenizer(_ configuration: TrainingConfiguration) throws -> AnyTokenizer? {
        if let vocab = configuration.vocab { return try AnyTokenizer(contentsOf: URL(fileURLWithPath: vocab)) }
        if configuration.tokenizer == .gpt2 { return .gpt2(try GPT2Tokenizer.bundled()) }
        return nil
    }

    private static func makeTokenizer(
        _ configuration: TrainingConfiguration, corpus: String, vocabularySize: Int?
    ) throws -> AnyTokenizer {
        if let saved = try savedOrFixedTokenizer(configuration) {
            guard saved.kind == configuration.tokenizer else {
                throw DataError(source: configuration.vocab ?? "--vocab",
                                reason: "holds a \(saved.kind.rawValue) tokenizer, but the setting `tokenizer` is "
                                    + "\(configuration.tokenizer.rawValue); set it to \(saved.kind.rawValue) (--tokenizer \(saved.kind.rawValue))")
            }
            return saved
        }
        switch configuration.tokenizer {
        case .character:
            return .character(try CharacterTokenizer(corpus: corpus))
        case .word:
            return .word(try WordTokenizer(corpus: corpus, maximumVocabularySize: vocabularySize ?? WordTokenizer.defaultMaximumVocabularySize))
        case .bytePair:
            return .bytePair(try BPETrainer.train(corpus: corpus, vocabularySize: vocabularySize ?? 1024))
        case .gpt2:
            return .gpt2(try GPT2Tokenizer.bundled())
        }
    }
}
