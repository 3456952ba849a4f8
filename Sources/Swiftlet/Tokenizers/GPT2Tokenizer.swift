import Foundation

/// OpenAI's GPT-2 tokenizer, exact: byte-level BPE over 50,257 tokens loaded from `encoder.json`
/// and `vocab.bpe`, GPT-2's pre-tokenizer and byte↔unicode table. `<|endoftext|>` (50256) is
/// ordinary text unless allowed: `encode(text, allowedSpecial: ["<|endoftext|>"])`.
///
/// ```swift
/// let gpt2 = try GPT2Tokenizer.bundled()
/// try gpt2.encode("Hello world")   // [15496, 995]
/// ```
///
/// JSON form: `{"kind": "gpt2"}` for the bundled files (which are OpenAI's, byte for byte), or
/// `{"kind": "gpt2", "directory": "/path"}` for files loaded from a folder.
public struct GPT2Tokenizer: BytePairEncoded, Codable {
    public static let endOfText = "<|endoftext|>"

    /// The folder the files came from, or nil for the bundled copy.
    public let directory: URL?
    public let specialTokens: [String: Int]
    let engine: BytePairEncoding

    public var kind: TokenizerKind { .gpt2 }
    public var vocabularySize: Int { engine.tokenCount }
    /// The id of `<|endoftext|>` (50256).
    public var endOfTextId: Int? { specialTokens[Self.endOfText] }

    /// The bundled GPT-2 files, loaded once per process.
    public static func bundled() throws -> GPT2Tokenizer { try bundledResult.get() }

    private static let bundledResult: Result<GPT2Tokenizer, any Error> = Result {
        guard let directory = TokenizerResources.gpt2Directory else {
            throw TokenizerError.invalidFile(path: "Resources/gpt2", reason: "the bundled GPT-2 files are missing from this build")
        }
        return try GPT2Tokenizer(loadingFrom: directory, isBundled: true)
    }

    /// Loads `encoder.json` and `vocab.bpe` from `directory`.
    /// - Throws: ``TokenizerError/invalidFile(path:reason:)`` naming the file when one is
    ///   missing, malformed, or inconsistent with the other.
    public init(directory: URL) throws {
        try self.init(loadingFrom: directory, isBundled: false)
    }

    private init(loadingFrom directory: URL, isBundled: Bool) throws {
        let encoderURL = directory.appendingPathComponent("encoder.json")
        let mergesURL = directory.appendingPathComponent("vocab.bpe")
        let encoder = try Self.readEncoder(encoderURL)
        let mergeLines = try TokenizerResources.readText(mergesURL)

        var tokens = [[UInt8]](repeating: [], count: encoder.count)
        var specialTokens: [String: Int] = [:]
        for (text, id) in encoder {
            guard let bytes = ByteUnicodeTable.bytes(of: text) else {
                throw TokenizerError.invalidFile(path: encoderURL.path, reason: "token \"\(text)\" has characters outside GPT-2's byte table")
            }
            tokens[id] = bytes
            if text == Self.endOfText { specialTokens[text] = id }
        }
        var byteTokens = [Int32](repeating: 0, count: 256)
        for byte in 0..<256 {
            guard let id = encoder[String(ByteUnicodeTable.scalars[byte])] else {
                throw TokenizerError.invalidFile(path: encoderURL.path, reason: "no token for byte \(byte)")
            }
            byteTokens[byte] = Int32(id)
        }
        var merges: [BytePairEncoding.Merge] = []
        merges.reserveCapacity(50_000)
        for (lineIndex, line) in mergeLines.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty || (lineIndex == 0 && line.hasPrefix("#version")) { continue }
            let halves = line.split(separator: " ", omittingEmptySubsequences: false)
            guard halves.count == 2, let left = encoder[String(halves[0])], let right = encoder[String(halves[1])],
                  let merged = encoder[String(halves[0] + halves[1])] else {
                throw TokenizerError.invalidFile(path: mergesURL.path,
                    reason: "line \(lineIndex + 1) \"\(line.prefix(60))\" is not a merge of two tokens of encoder.json")
            }
            merges.append(.init(left: Int32(left), right: Int32(right), merged: Int32(merged)))
        }
        guard !merges.isEmpty else {
            throw TokenizerError.invalidFile(path: mergesURL.path, reason: "has no merges")
        }
        self.directory = isBundled ? nil : directory
        self.specialTokens = specialTokens
        self.engine = BytePairEncoding(byteTokens: byteTokens, merges: merges, tokens: tokens)
    }

    /// `encoder.json`: token text → id, ids exactly 0..<count.
    private static func readEncoder(_ url: URL) throws -> [String: Int] {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TokenizerError.invalidFile(path: url.path, reason: "cannot read the file (\(error.localizedDescription))")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data), let table = object as? [String: Any] else {
            throw TokenizerError.invalidFile(path: url.path, reason: "is not a JSON object of token → id")
        }
        var encoder: [String: Int] = [:]
        var seen = [Bool](repeating: false, count: table.count)
        for (text, value) in table {
            guard let number = value as? NSNumber, let id = Int(exactly: number.doubleValue), id >= 0, id < table.count, !seen[id] else {
                throw TokenizerError.invalidFile(path: url.path, reason: "token \"\(text)\" has id \(value): ids must be distinct integers 0..<\(table.count)")
            }
            seen[id] = true
            encoder[text] = id
        }
        guard !encoder.isEmpty else { throw TokenizerError.invalidFile(path: url.path, reason: "is empty") }
        return encoder
    }

    public func encodeOrdinary(_ text: String) throws -> [Int] {
        try encodeOrdinary(text, threads: 1)
    }

    public func encodeOrdinary(_ text: String, threads: Int) throws -> [Int] {
        var text = text
        return text.withUTF8 { engine.encode($0, threads: threads) }
    }

    /// Encodes UTF-8 bytes (a file's contents) on up to `threads` threads.
    /// - Throws: ``TokenizerError/invalidUTF8(offset:)``.
    public func encodeOrdinary(utf8 bytes: [UInt8], threads: Int = 1) throws -> [Int] {
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw TokenizerError.invalidUTF8(offset: firstInvalidUTF8Offset(bytes) ?? 0)
        }
        return bytes.withUnsafeBufferPointer { engine.encode($0, threads: threads) }
    }

    // MARK: Codable

    enum CodingKeys: String, CodingKey { case kind, directory }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let path = try container.decodeIfPresent(String.self, forKey: .directory) {
            try self.init(directory: URL(fileURLWithPath: path))
        } else {
            self = try Self.bundled()
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encodeIfPresent(directory?.path, forKey: .directory)
    }
}
