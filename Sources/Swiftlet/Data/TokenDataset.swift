import Foundation

/// A run of token ids to train or evaluate on: a whole token file, an in-memory array, or a
/// contiguous part of either (a train or validation split). Cheap to copy; a file stays mapped.
public struct TokenDataset: Sendable {
    enum Storage: Sendable {
        case file(TokenFile)
        case memory([Int32])
    }

    /// Where the tokens come from, for messages (a path, or a name such as `counting`).
    public let source: String
    let storage: Storage
    /// The positions of this dataset inside its storage.
    let range: Range<Int>

    /// All tokens of a memory-mapped token file.
    public init(file: TokenFile) {
        self.source = file.path
        self.storage = .file(file)
        self.range = 0..<file.count
    }

    /// Opens a token file (see `TokenFile`).
    public init(contentsOf url: URL) throws {
        self.init(file: try TokenFile(contentsOf: url))
    }

    /// Tokens held in memory (for example a tokenized text or a toy dataset).
    public init(tokens: [Int32], source: String = "<memory>") {
        self.source = source
        self.storage = .memory(tokens)
        self.range = 0..<tokens.count
    }

    init(source: String, storage: Storage, range: Range<Int>) {
        self.source = source
        self.storage = storage
        self.range = range
    }

    /// Number of tokens.
    public var count: Int { range.count }

    public var isEmpty: Bool { range.isEmpty }

    /// The id at `position` (0-based within this dataset).
    public subscript(position: Int) -> Int32 {
        precondition(position >= 0 && position < count, "token position \(position) out of 0..<\(count)")
        switch storage {
        case .file(let file): return file[range.lowerBound + position]
        case .memory(let tokens): return tokens[range.lowerBound + position]
        }
    }

    /// Copies `count` ids starting at `start` into `destination`.
    public func copy(from start: Int, count: Int, into destination: UnsafeMutablePointer<Int32>) {
        precondition(start >= 0 && count >= 0 && start + count <= self.count,
                     "token range \(start)..<\(start + count) out of 0..<\(self.count)")
        let absolute = (range.lowerBound + start)..<(range.lowerBound + start + count)
        switch storage {
        case .file(let file): file.copy(absolute, into: destination)
        case .memory(let tokens):
            tokens.withUnsafeBufferPointer { buffer in
                guard let base = buffer.baseAddress else { return }
                destination.update(from: base + absolute.lowerBound, count: count)
            }
        }
    }

    /// The ids in `range` (0-based within this dataset) as an array.
    public func tokens(_ range: Range<Int>? = nil) -> [Int32] {
        let range = range ?? 0..<count
        return [Int32](unsafeUninitializedCapacity: range.count) { buffer, initialized in
            if let base = buffer.baseAddress { copy(from: range.lowerBound, count: range.count, into: base) }
            initialized = range.count
        }
    }

    /// The part of this dataset at `positions` (0-based within it).
    public func slice(_ positions: Range<Int>, name: String? = nil) -> TokenDataset {
        precondition(positions.lowerBound >= 0 && positions.upperBound <= count, "slice \(positions) out of 0..<\(count)")
        let absolute = (range.lowerBound + positions.lowerBound)..<(range.lowerBound + positions.upperBound)
        return TokenDataset(source: name.map { "\(source) (\($0))" } ?? source, storage: storage, range: absolute)
    }

    /// Throws unless every id is in 0..<vocabularySize; the error names the first bad position.
    public func validate(vocabularySize: Int) throws {
        for position in 0..<count {
            let token = Int(self[position])
            if token < 0 || token >= vocabularySize {
                throw DataError.tokenOutOfRange(source, position: position, token: token, vocabularySize: vocabularySize)
            }
        }
    }

    /// Throws unless the data holds at least one (block_size + 1)-token window.
    public func validate(blockSize: Int) throws {
        guard count > 0 else { throw DataError.empty(source) }
        guard count >= blockSize + 1 else { throw DataError.tooShort(source, count: count, blockSize: blockSize) }
    }
}
