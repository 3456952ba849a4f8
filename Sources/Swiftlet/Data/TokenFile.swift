import Foundation

/// A file of token ids: a 32-byte header, then the ids as little-endian `uint16` (when every id
/// fits, i.e. vocab_size ≤ 65,536) or `uint32`.
///
/// Header (all little-endian):
///
/// | bytes | field |
/// | --- | --- |
/// | 0..<8 | magic `SWLTOKEN` |
/// | 8..<12 | format version, `UInt32` = 1 |
/// | 12..<16 | bytes per token, `UInt32`: 2 (uint16) or 4 (uint32) |
/// | 16..<24 | token count, `UInt64` |
/// | 24..<32 | vocab_size the ids were made for, `UInt64` (every id is below it) |
///
/// Reading memory-maps the file, so opening is instant at any size; `validate(vocabularySize:)`
/// checks every id once against a model's vocabulary.
public final class TokenFile: Sendable {
    /// How each id is stored.
    public enum Width: UInt32, Sendable {
        case uint16 = 2
        case uint32 = 4

        /// The narrowest width that holds every id below `vocabularySize`.
        public init(vocabularySize: Int) {
            self = vocabularySize <= 65_536 ? .uint16 : .uint32
        }
    }

    /// The first eight bytes of every token file.
    public static let magic: [UInt8] = Array("SWLTOKEN".utf8)
    /// The format version this code writes and reads.
    public static let version: UInt32 = 1
    /// Bytes before the first id.
    public static let headerSize = 32

    /// The file path, for messages.
    public let path: String
    /// How each id is stored.
    public let width: Width
    /// Number of tokens.
    public let count: Int
    /// The vocabulary size recorded when the file was written.
    public let vocabularySize: Int
    private let mapping: MappedFile

    /// Opens and memory-maps a token file, checking its header against its size.
    public init(contentsOf url: URL) throws {
        let mapping = try MappedFile(path: url.path)
        let bytes = mapping.bytes
        func fail(_ reason: String) -> DataError { DataError(source: url.path, reason: reason) }
        guard bytes.count >= Self.headerSize else {
            if bytes.isEmpty { throw fail("the file is empty (0 bytes); expected a token file") }
            throw fail("is \(bytes.count) bytes, shorter than the \(Self.headerSize)-byte token file header (truncated?)")
        }
        guard Array(bytes[0..<8]) == Self.magic else {
            throw fail("is not a Swiftlet token file (it does not start with SWLTOKEN)")
        }
        let version = bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian
        guard version == Self.version else {
            throw fail("has token file version \(version); this Swiftlet reads version \(Self.version)")
        }
        let widthCode = bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self).littleEndian
        guard let width = Width(rawValue: widthCode) else {
            throw fail("has \(widthCode) bytes per token; expected 2 (uint16) or 4 (uint32)")
        }
        let count = bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian
        let vocabulary = bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self).littleEndian
        let payload = UInt64(bytes.count - Self.headerSize)
        let (needed, overflow) = count.multipliedReportingOverflow(by: UInt64(width.rawValue))
        guard !overflow, needed == payload else {
            throw fail("header says \(count) tokens of \(width.rawValue) bytes but the file holds \(payload) bytes of ids (truncated or corrupted)")
        }
        guard vocabulary >= 1, vocabulary <= UInt64(Int32.max) else {
            throw fail("header has an invalid vocab_size \(vocabulary)")
        }
        self.path = url.path
        self.width = width
        self.count = Int(count)
        self.vocabularySize = Int(vocabulary)
        self.mapping = mapping
    }

    /// The id at `position` (0 ≤ position < count).
    public subscript(position: Int) -> Int32 {
        precondition(position >= 0 && position < count, "token position \(position) out of 0..<\(count)")
        return load(position)
    }

    /// Copies the ids in `range` into `destination` (which must hold `range.count` ids).
    public func copy(_ range: Range<Int>, into destination: UnsafeMutablePointer<Int32>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "token range \(range) out of 0..<\(count)")
        for (offset, position) in range.enumerated() { destination[offset] = load(position) }
    }

    /// The ids in `range` as an array.
    public func tokens(_ range: Range<Int>? = nil) -> [Int32] {
        let range = range ?? 0..<count
        return [Int32](unsafeUninitializedCapacity: range.count) { buffer, initialized in
            if let base = buffer.baseAddress { copy(range, into: base) }
            initialized = range.count
        }
    }

    /// Throws if any id is not below `vocabularySize` (a model's vocab_size), naming the first.
    public func validate(vocabularySize: Int) throws {
        for position in 0..<count {
            let token = Int(load(position))
            if token >= vocabularySize {
                throw DataError.tokenOutOfRange(path, position: position, token: token, vocabularySize: vocabularySize)
            }
        }
    }

    private func load(_ position: Int) -> Int32 {
        let offset = Self.headerSize + position * Int(width.rawValue)
        switch width {
        case .uint16: return Int32(mapping.bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self).littleEndian)
        case .uint32: return Int32(bitPattern: mapping.bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian)
        }
    }

    // MARK: Writing

    /// The bytes of a token file holding `tokens`, every one checked to be in 0..<vocabularySize.
    public static func encode(_ tokens: [Int32], vocabularySize: Int, source: String = "<memory>") throws -> Data {
        guard vocabularySize >= 1, vocabularySize <= Int(Int32.max) else {
            throw DataError(source: source, reason: "vocab_size \(vocabularySize) is out of range 1...\(Int32.max)")
        }
        guard !tokens.isEmpty else { throw DataError.empty(source) }
        if let bad = tokens.firstIndex(where: { $0 < 0 || Int($0) >= vocabularySize }) {
            throw DataError.tokenOutOfRange(source, position: bad, token: Int(tokens[bad]), vocabularySize: vocabularySize)
        }
        let width = Width(vocabularySize: vocabularySize)
        var data = Data(capacity: headerSize + tokens.count * Int(width.rawValue))
        data.append(contentsOf: magic)
        func append<Value: FixedWidthInteger>(_ value: Value) {
            withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
        }
        append(version)
        append(width.rawValue)
        append(UInt64(tokens.count))
        append(UInt64(vocabularySize))
        switch width {
        case .uint16:
            let narrow = tokens.map { UInt16(truncatingIfNeeded: $0).littleEndian }
            narrow.withUnsafeBytes { data.append(contentsOf: $0) }
        case .uint32:
            let wide = tokens.map { UInt32(bitPattern: $0).littleEndian }
            wide.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        return data
    }

    /// Writes `tokens` to `url` atomically (see `encode`).
    public static func write(_ tokens: [Int32], vocabularySize: Int, to url: URL) throws {
        try AtomicFile.write(encode(tokens, vocabularySize: vocabularySize, source: url.path), to: url)
    }
}
