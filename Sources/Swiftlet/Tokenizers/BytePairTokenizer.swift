/// A byte-level BPE tokenizer trained by ``BPETrainer``: ids 0–255 are the bytes, merge `k`
/// makes id `256 + k`, and the special tokens come last. Text is pre-tokenized as GPT-2 does, so
/// tokens never cross word boundaries.
///
/// JSON form:
/// `{"kind": "bpe", "pre_tokenizer": "gpt2", "vocab_size": 4096, "merges": [[32, 116], …],
///   "special_tokens": ["<|endoftext|>"]}` — merges in rank order as pairs of ids, specials in
/// id order.
public struct BytePairTokenizer: BytePairEncoded, Codable, Equatable {
    /// One merge: token `left` followed by token `right`.
    public struct Pair: Equatable, Hashable, Sendable {
        public var left: Int, right: Int
        public init(_ left: Int, _ right: Int) { (self.left, self.right) = (left, right) }
    }

    /// Merges in rank order; merge `k` makes token `256 + k`.
    public let merges: [Pair]
    /// Special tokens in id order, after the merges.
    public let specials: [String]
    let engine: BytePairEncoding

    public var kind: TokenizerKind { .bytePair }
    public var vocabularySize: Int { 256 + merges.count + specials.count }
    public var specialTokens: [String: Int] {
        Dictionary(uniqueKeysWithValues: specials.enumerated().map { ($1, 256 + merges.count + $0) })
    }

    /// A tokenizer from merges and specials.
    /// - Throws: when a merge uses a token that does not exist yet, or a special is empty or repeated.
    public init(merges: [Pair], specialTokens: [String]) throws {
        var tokens = (0..<256).map { [UInt8($0)] }
        var engineMerges: [BytePairEncoding.Merge] = []
        for (rank, pair) in merges.enumerated() {
            let id = 256 + rank
            guard (0..<id).contains(pair.left), (0..<id).contains(pair.right) else {
                throw TokenizerError.invalidFile(path: "BPE merges",
                    reason: "merge \(rank) joins tokens \(pair.left) and \(pair.right), but only ids below \(id) exist at that point")
            }
            tokens.append(tokens[pair.left] + tokens[pair.right])
            engineMerges.append(.init(left: Int32(pair.left), right: Int32(pair.right), merged: Int32(id)))
        }
        guard Set(specialTokens).count == specialTokens.count, !specialTokens.contains("") else {
            throw TokenizerError.invalidFile(path: "BPE special tokens", reason: "special tokens must be distinct and non-empty")
        }
        tokens += specialTokens.map { Array($0.utf8) }
        self.merges = merges
        self.specials = specialTokens
        self.engine = BytePairEncoding(byteTokens: (0..<256).map { Int32($0) }, merges: engineMerges, tokens: tokens)
    }

    public func encodeOrdinary(_ text: String) throws -> [Int] {
        try encodeOrdinary(text, threads: 1)
    }

    public func encodeOrdinary(_ text: String, threads: Int) throws -> [Int] {
        var text = text
        return text.withUTF8 { engine.encode($0, threads: threads) }
    }

    // MARK: Codable

    enum CodingKeys: String, CodingKey {
        case kind, preTokenizer = "pre_tokenizer", vocabularySize = "vocab_size", merges, specialTokens = "special_tokens"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let preTokenizer = try container.decodeIfPresent(String.self, forKey: .preTokenizer) ?? "gpt2"
        guard preTokenizer == "gpt2" else {
            throw DecodingError.dataCorruptedError(forKey: .preTokenizer, in: container,
                debugDescription: "unknown pre_tokenizer \"\(preTokenizer)\" (only \"gpt2\" exists)")
        }
        let pairs = try container.decode([[Int]].self, forKey: .merges)
        var merges: [Pair] = []
        for (rank, pair) in pairs.enumerated() {
            guard pair.count == 2 else {
                throw DecodingError.dataCorruptedError(forKey: .merges, in: container,
                    debugDescription: "merge \(rank) has \(pair.count) ids; each merge is [left, right]")
            }
            merges.append(Pair(pair[0], pair[1]))
        }
        try self.init(merges: merges, specialTokens: try container.decodeIfPresent([String].self, forKey: .specialTokens) ?? [])
        if let size = try container.decodeIfPresent(Int.self, forKey: .vocabularySize), size != vocabularySize {
            throw DecodingError.dataCorruptedError(forKey: .vocabularySize, in: container,
                debugDescription: "vocab_size says \(size) but 256 bytes + \(merges.count) merges + \(specials.count) specials make \(vocabularySize)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encode("gpt2", forKey: .preTokenizer)
        try container.encode(vocabularySize, forKey: .vocabularySize)
        try container.encode(merges.map { [$0.left, $0.right] }, forKey: .merges)
        try container.encode(specials, forKey: .specialTokens)
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.merges == rhs.merges && lhs.specials == rhs.specials
    }
}
