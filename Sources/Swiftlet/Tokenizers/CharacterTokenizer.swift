/// One token per Unicode scalar, as nanoGPT's `shakespeare_char`: the vocabulary is the sorted
/// list of distinct scalars of the corpus, and a scalar's id is its index in that list.
///
/// A character the corpus never had is an error at encode time, unless the tokenizer was built
/// with an unknown token: then `<UNK>` gets the id after the last character (so the character ids
/// stay exactly nanoGPT's) and unseen characters map to it.
///
/// JSON form: `{"kind": "char", "characters": "\n !$&…", "unknown_token": "<UNK>"}` (the last
/// key only when there is one). `characters` lists the vocabulary in id order.
public struct CharacterTokenizer: Tokenizer, Codable, Equatable {
    /// The vocabulary in id order (ascending code points).
    public let characters: [Unicode.Scalar]
    /// The text of the unknown token, if unseen characters map to one.
    public let unknownToken: String?
    private let ids: [UInt32: Int]

    public var kind: TokenizerKind { .character }
    public var vocabularySize: Int { characters.count + (unknownToken == nil ? 0 : 1) }
    public var specialTokens: [String: Int] {
        unknownToken.map { [$0: characters.count] } ?? [:]
    }

    /// Builds the vocabulary from the distinct scalars of `corpus`.
    /// - Parameter unknownToken: when set (usually `"<UNK>"`), unseen characters encode to it.
    /// - Throws: ``TokenizerError/emptyCorpus``.
    public init(corpus: String, unknownToken: String? = nil) throws {
        var seen = Set<UInt32>()
        for scalar in corpus.unicodeScalars { seen.insert(scalar.value) }
        guard !seen.isEmpty else { throw TokenizerError.emptyCorpus }
        try self.init(characters: seen.sorted().compactMap(Unicode.Scalar.init), unknownToken: unknownToken)
    }

    /// A tokenizer with this exact vocabulary.
    /// - Throws: when `characters` is empty or not strictly ascending.
    public init(characters: [Unicode.Scalar], unknownToken: String? = nil) throws {
        guard !characters.isEmpty else { throw TokenizerError.emptyCorpus }
        for index in characters.indices.dropFirst() where characters[index - 1].value >= characters[index].value {
            throw TokenizerError.invalidFile(path: "character vocabulary",
                reason: "characters must be distinct and in ascending code-point order (\(TokenizerError.describe(characters[index])) is out of order)")
        }
        self.characters = characters
        self.unknownToken = unknownToken
        var ids: [UInt32: Int] = [:]
        for (id, scalar) in characters.enumerated() { ids[scalar.value] = id }
        self.ids = ids
    }

    public func encodeOrdinary(_ text: String) throws -> [Int] {
        var result: [Int] = []
        result.reserveCapacity(text.utf8.count)
        var offset = 0
        for scalar in text.unicodeScalars {
            if let id = ids[scalar.value] {
                result.append(id)
            } else if unknownToken != nil {
                result.append(characters.count)
            } else {
                throw TokenizerError.unknownCharacter(scalar, offset: offset)
            }
            offset += UTF8.width(scalar)
        }
        return result
    }

    public func tokenBytes(_ id: Int) throws -> [UInt8] {
        try validate(id)
        if id == characters.count, let unknownToken { return Array(unknownToken.utf8) }
        return Array(String(characters[id]).utf8)
    }

    // MARK: Codable

    enum CodingKeys: String, CodingKey { case kind, characters, unknownToken = "unknown_token" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let text = try container.decode(String.self, forKey: .characters)
        try self.init(characters: Array(text.unicodeScalars),
                      unknownToken: try container.decodeIfPresent(String.self, forKey: .unknownToken))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        var text = String.UnicodeScalarView()
        text.append(contentsOf: characters)
        try container.encode(String(text), forKey: .characters)
        try container.encodeIfPresent(unknownToken, forKey: .unknownToken)
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.characters == rhs.characters && lhs.unknownToken == rhs.unknownToken
    }
}
