/// The kinds of tokenizer Swiftlet knows; the `"kind"` field of a tokenizer's JSON.
public enum TokenizerKind: String, Codable, Sendable, CaseIterable {
    /// One token per Unicode scalar of the corpus (nanoGPT `shakespeare_char`).
    case character = "char"
    /// Lowercased words and punctuation, with `<PAD> <UNK> <BOS> <EOS>`.
    case word
    /// Byte-level BPE trained by ``BPETrainer``.
    case bytePair = "bpe"
    /// OpenAI's GPT-2 byte-level BPE (50,257 tokens).
    case gpt2
}

/// Turns text into token ids and back.
///
/// Encoding treats special-token strings (such as `<|endoftext|>`) as ordinary text unless the
/// caller allows them: `encode(text, allowedSpecial: ["<|endoftext|>"])`. Decoding is exact for
/// every tokenizer that can represent the text (byte-level BPE always can); bytes that are not
/// valid UTF-8 are an error from ``decode(_:)`` and replacement characters from
/// ``decode(_:replacingInvalidUTF8:)`` and ``StreamingDetokenizer``.
public protocol Tokenizer: Sendable {
    /// Which kind of tokenizer this is (the `"kind"` of its JSON form).
    var kind: TokenizerKind { get }
    /// Ids run from 0 to `vocabularySize - 1`.
    var vocabularySize: Int { get }
    /// Special tokens by text (`"<|endoftext|>": 50256`).
    var specialTokens: [String: Int] { get }
    /// Bytes put between two tokens when decoding: empty, or a space for word-level tokens.
    var tokenSeparator: [UInt8] { get }

    /// Encodes text, treating special-token strings as ordinary text.
    func encodeOrdinary(_ text: String) throws -> [Int]
    /// Encodes text on up to `threads` threads; the ids equal `encodeOrdinary(text)`.
    func encodeOrdinary(_ text: String, threads: Int) throws -> [Int]
    /// The UTF-8 bytes one token stands for.
    /// - Throws: ``TokenizerError/idOutOfRange(_:vocabularySize:)``.
    func tokenBytes(_ id: Int) throws -> [UInt8]
    /// The bytes the ids stand for, with ``tokenSeparator`` between tokens.
    func decodeBytes(_ ids: [Int]) throws -> [UInt8]
}

extension Tokenizer {
    public var tokenSeparator: [UInt8] { [] }

    public func encodeOrdinary(_ text: String, threads: Int) throws -> [Int] {
        try encodeOrdinary(text)
    }

    /// Encodes text; occurrences of the special tokens named in `allowedSpecial` become their
    /// single ids, everything else (other special strings included) is ordinary text.
    /// - Throws: ``TokenizerError/unknownSpecialToken(_:)`` when `allowedSpecial` names a
    ///   string that is not one of this tokenizer's special tokens.
    public func encode(_ text: String, allowedSpecial: Set<String> = [], threads: Int = 1) throws -> [Int] {
        if allowedSpecial.isEmpty { return try encodeOrdinary(text, threads: threads) }
        var specials: [(text: [UInt8], id: Int)] = []
        for name in allowedSpecial {
            guard let id = specialTokens[name] else { throw TokenizerError.unknownSpecialToken(name) }
            specials.append((Array(name.utf8), id))
        }
        // Longest first, so that when two specials start at the same place the longer wins.
        specials.sort { $0.text.count > $1.text.count }
        let bytes = Array(text.utf8)
        let firstBytes = Set(specials.compactMap(\.text.first))
        var ids: [Int] = []
        var segmentStart = 0
        var position = 0
        while position < bytes.count {
            if firstBytes.contains(bytes[position]), let special = specials.first(where: { bytes.hasPrefix($0.text, at: position) }) {
                if segmentStart < position {
                    ids += try encodeOrdinary(String(decoding: bytes[segmentStart..<position], as: UTF8.self), threads: threads)
                }
                ids.append(special.id)
                position += special.text.count
                segmentStart = position
            } else {
                position += 1
            }
        }
        if segmentStart < bytes.count {
            ids += try encodeOrdinary(String(decoding: bytes[segmentStart...], as: UTF8.self), threads: threads)
        }
        return ids
    }

    /// The bytes the ids stand for, with ``tokenSeparator`` between tokens.
    public func decodeBytes(_ ids: [Int]) throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for (index, id) in ids.enumerated() {
            if index > 0 { bytes += tokenSeparator }
            bytes += try tokenBytes(id)
        }
        return bytes
    }

    /// Decodes ids to text.
    /// - Throws: ``TokenizerError/idOutOfRange(_:vocabularySize:)`` for a bad id, and
    ///   ``TokenizerError/invalidUTF8(offset:)`` when the bytes are not valid UTF-8 (a sequence
    ///   cut in the middle of a character).
    public func decode(_ ids: [Int]) throws -> String {
        let bytes = try decodeBytes(ids)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw TokenizerError.invalidUTF8(offset: firstInvalidUTF8Offset(bytes) ?? 0)
        }
        return text
    }

    /// Decodes ids to text; with `replacingInvalidUTF8` bytes that are not valid UTF-8 become
    /// U+FFFD instead of an error.
    public func decode(_ ids: [Int], replacingInvalidUTF8: Bool) throws -> String {
        if !replacingInvalidUTF8 { return try decode(ids) }
        return String(decoding: try decodeBytes(ids), as: UTF8.self)
    }

    /// Checks an id against the vocabulary.
    func validate(_ id: Int) throws {
        guard id >= 0 && id < vocabularySize else {
            throw TokenizerError.idOutOfRange(id, vocabularySize: vocabularySize)
        }
    }
}

extension Array where Element == UInt8 {
    /// Whether `prefix` occurs at `offset`.
    fileprivate func hasPrefix(_ prefix: [UInt8], at offset: Int) -> Bool {
        guard offset + prefix.count <= count else { return false }
        for index in prefix.indices where self[offset + index] != prefix[index] { return false }
        return true
    }
}

/// The offset of the first byte that does not start a valid UTF-8 sequence, or nil if all is valid.
func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int? {
    var offset = 0
    var iterator = bytes.makeIterator()
    var decoder = UTF8()
    while true {
        switch decoder.decode(&iterator) {
        case .scalarValue(let scalar): offset += UTF8.width(scalar)
        case .emptyInput: return nil
        case .error: return offset
        }
    }
}
