import Foundation

/// Any Swiftlet tokenizer, stored and loaded as one JSON document whose `"kind"` says which.
///
/// Checkpoints embed ``json`` in safetensors `__metadata__["tokenizer"]`, so a sample decodes
/// exactly as the model was trained. The forms are (see each type for details):
/// - `{"kind": "char", "characters": "…", "unknown_token": "<UNK>"?}` — ``CharacterTokenizer``
/// - `{"kind": "word", "words": ["<PAD>", "<UNK>", "<BOS>", "<EOS>", …]}` — ``WordTokenizer``
/// - `{"kind": "bpe", "pre_tokenizer": "gpt2", "vocab_size": N, "merges": [[l, r], …],
///   "special_tokens": […]}` — ``BytePairTokenizer``
/// - `{"kind": "gpt2"}` (the bundled OpenAI files) or `{"kind": "gpt2", "directory": "…"}` —
///   ``GPT2Tokenizer``
public enum AnyTokenizer: Tokenizer, Codable {
    case character(CharacterTokenizer)
    case word(WordTokenizer)
    case bytePair(BytePairTokenizer)
    case gpt2(GPT2Tokenizer)

    /// The wrapped tokenizer.
    public var base: any Tokenizer {
        switch self {
        case .character(let tokenizer): tokenizer
        case .word(let tokenizer): tokenizer
        case .bytePair(let tokenizer): tokenizer
        case .gpt2(let tokenizer): tokenizer
        }
    }

    public var kind: TokenizerKind { base.kind }
    public var vocabularySize: Int { base.vocabularySize }
    public var specialTokens: [String: Int] { base.specialTokens }
    public var tokenSeparator: [UInt8] { base.tokenSeparator }
    public func encodeOrdinary(_ text: String) throws -> [Int] { try base.encodeOrdinary(text) }
    public func encodeOrdinary(_ text: String, threads: Int) throws -> [Int] { try base.encodeOrdinary(text, threads: threads) }
    public func tokenBytes(_ id: Int) throws -> [UInt8] { try base.tokenBytes(id) }
    public func decodeBytes(_ ids: [Int]) throws -> [UInt8] { try base.decodeBytes(ids) }

    /// Loads a tokenizer from its JSON form.
    /// - Throws: ``TokenizerError/invalidFile(path:reason:)`` (path `tokenizer JSON`) with the reason.
    public init(json: String, source: String = "tokenizer JSON") throws {
        do {
            self = try JSONDecoder().decode(AnyTokenizer.self, from: Data(json.utf8))
        } catch let error as TokenizerError {
            throw error
        } catch {
            throw TokenizerError.invalidFile(path: source, reason: Self.describe(error))
        }
    }

    /// Loads a tokenizer JSON file (as written by ``write(to:)`` or `swiftlet bpe train`).
    public init(contentsOf url: URL) throws {
        try self.init(json: try TokenizerResources.readText(url), source: url.path)
    }

    /// The JSON form, with sorted keys so the same tokenizer always gives the same text.
    public var json: String {
        get throws {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return String(decoding: try encoder.encode(self), as: UTF8.self)
        }
    }

    /// Writes the JSON form to a file, atomically.
    public func write(to url: URL) throws {
        try AtomicFile.write(Data(try json.utf8), to: url)
    }

    // MARK: Codable

    private enum CodingKeys: String, CodingKey { case kind }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let kindText = try container.decode(String.self, forKey: .kind)
        guard let kind = TokenizerKind(rawValue: kindText) else {
            throw DecodingError.dataCorruptedError(forKey: .kind, in: container,
                debugDescription: "unknown tokenizer kind \"\(kindText)\" (expected one of: \(TokenizerKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        switch kind {
        case .character: self = .character(try CharacterTokenizer(from: decoder))
        case .word: self = .word(try WordTokenizer(from: decoder))
        case .bytePair: self = .bytePair(try BytePairTokenizer(from: decoder))
        case .gpt2: self = .gpt2(try GPT2Tokenizer(from: decoder))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .character(let tokenizer): try tokenizer.encode(to: encoder)
        case .word(let tokenizer): try tokenizer.encode(to: encoder)
        case .bytePair(let tokenizer): try tokenizer.encode(to: encoder)
        case .gpt2(let tokenizer): try tokenizer.encode(to: encoder)
        }
    }

    /// A one-line reason for a decoding failure.
    private static func describe(_ error: any Error) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.isEmpty ? "" : " at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        }
        switch error {
        case DecodingError.dataCorrupted(let context):
            return "corrupt tokenizer JSON\(path(context)): \(context.debugDescription)"
        case DecodingError.keyNotFound(let key, let context):
            return "tokenizer JSON lacks \"\(key.stringValue)\"\(path(context))"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "unexpected value in tokenizer JSON\(path(context)): \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }
}
