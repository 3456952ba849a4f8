/// Word-level tokens as in the reference notebook: lowercase the text, split it into words and
/// punctuation with the regex `\w+|[^\w\s]`, and keep the most frequent words.
///
/// Ids 0–3 are the specials `<PAD>`, `<UNK>`, `<BOS>`, `<EOS>`; then come the corpus words from
/// most to least frequent (ties in order of first appearance, like Python's
/// `Counter.most_common`), up to `maximumVocabularySize` tokens in all. Words outside the
/// vocabulary encode to `<UNK>`. Decoding joins the tokens with single spaces, so it gives the
/// normalized text back, not the original spacing or case.
///
/// JSON form: `{"kind": "word", "words": ["<PAD>", "<UNK>", "<BOS>", "<EOS>", "the", …]}`.
public struct WordTokenizer: Tokenizer, Codable, Equatable {
    public static let padToken = "<PAD>", unknownToken = "<UNK>", beginToken = "<BOS>", endToken = "<EOS>"
    /// The four specials, in id order.
    public static let specials = [padToken, unknownToken, beginToken, endToken]
    public static let padId = 0, unknownId = 1, beginId = 2, endId = 3
    /// The vocabulary size `swiftlet tokenize --tokenizer word` builds when given no file.
    public static let defaultMaximumVocabularySize = 10_000

    /// The vocabulary in id order, specials first.
    public let words: [String]
    private let ids: [String: Int]

    public var kind: TokenizerKind { .word }
    public var vocabularySize: Int { words.count }
    public var specialTokens: [String: Int] {
        Dictionary(uniqueKeysWithValues: Self.specials.enumerated().map { ($1, $0) })
    }
    public var tokenSeparator: [UInt8] { [UInt8(ascii: " ")] }

    /// Builds the vocabulary from `corpus`.
    /// - Parameter maximumVocabularySize: the most tokens in all, the four specials included.
    /// - Throws: ``TokenizerError/emptyCorpus`` when the corpus has no words, and
    ///   ``TokenizerError/invalidVocabularySize(_:)`` below 5.
    public init(corpus: String, maximumVocabularySize: Int) throws {
        guard maximumVocabularySize > Self.specials.count else {
            throw TokenizerError.invalidVocabularySize("a word vocabulary needs more than the \(Self.specials.count) special tokens, got \(maximumVocabularySize)")
        }
        var counts: [String: (count: Int, first: Int)] = [:]
        for (index, word) in Self.split(corpus).enumerated() {
            if let entry = counts[word] {
                counts[word] = (entry.count + 1, entry.first)
            } else {
                counts[word] = (1, index)
            }
        }
        guard !counts.isEmpty else { throw TokenizerError.emptyCorpus }
        let ranked = counts.sorted { $0.value.count != $1.value.count ? $0.value.count > $1.value.count : $0.value.first < $1.value.first }
        try self.init(words: Self.specials + ranked.prefix(maximumVocabularySize - Self.specials.count).map(\.key))
    }

    /// A tokenizer with this exact vocabulary (specials first).
    public init(words: [String]) throws {
        guard Array(words.prefix(Self.specials.count)) == Self.specials else {
            throw TokenizerError.invalidFile(path: "word vocabulary", reason: "the first words must be \(Self.specials.joined(separator: ", "))")
        }
        var ids: [String: Int] = [:]
        for (id, word) in words.enumerated() {
            guard ids[word] == nil else {
                throw TokenizerError.invalidFile(path: "word vocabulary", reason: "\"\(word)\" appears twice")
            }
            ids[word] = id
        }
        self.words = words
        self.ids = ids
    }

    public func encodeOrdinary(_ text: String) throws -> [Int] {
        Self.split(text).map { ids[$0] ?? Self.unknownId }
    }

    public func tokenBytes(_ id: Int) throws -> [UInt8] {
        try validate(id)
        return Array(words[id].utf8)
    }

    /// Lowercases `text` and splits it as the regex `\w+|[^\w\s]` does: runs of word characters
    /// (letters, digits, `_`) and single other non-space characters.
    public static func split(_ text: String) -> [String] {
        var pieces: [String] = []
        var word = String.UnicodeScalarView()
        for scalar in text.lowercased().unicodeScalars {
            if isWordCharacter(scalar) {
                word.append(scalar)
                continue
            }
            if !word.isEmpty {
                pieces.append(String(word))
                word = String.UnicodeScalarView()
            }
            if !isSpace(scalar) { pieces.append(String(scalar)) }
        }
        if !word.isEmpty { pieces.append(String(word)) }
        return pieces
    }

    /// Python's `\w`: letters, numbers and the underscore.
    static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            let value = scalar.value
            return (value >= 0x30 && value <= 0x39) || (value >= 0x41 && value <= 0x5A)
                || (value >= 0x61 && value <= 0x7A) || value == 0x5F
        }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// Python's `\s` (`str.isspace`): Unicode white space plus the separators U+001C–U+001F.
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || (scalar.value >= 0x1C && scalar.value <= 0x1F)
    }

    // MARK: Codable

    enum CodingKeys: String, CodingKey { case kind, words }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(words: try container.decode([String].self, forKey: .words))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(words, forKey: .words)
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.words == rhs.words }
}
