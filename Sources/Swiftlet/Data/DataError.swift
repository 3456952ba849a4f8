/// A dataset or token file cannot be used. The message names the file and says what to do.
public struct DataError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file or dataset the problem is about (`<memory>` for in-memory data).
    public let source: String
    /// What is wrong, in words.
    public let reason: String

    public init(source: String, reason: String) {
        self.source = source
        self.reason = reason
    }

    public var description: String { "\(source): \(reason)" }

    /// The data holds no tokens at all.
    static func empty(_ source: String) -> DataError {
        DataError(source: source, reason: "the data is empty (no tokens); give a non-empty text or token file")
    }

    /// Too few tokens for one (T+1)-token window.
    static func tooShort(_ source: String, count: Int, blockSize: Int, split: String? = nil) -> DataError {
        let part = split.map { " (\($0) split)" } ?? ""
        return DataError(
            source: source,
            reason: "has \(count) tokens\(part) but block_size \(blockSize) needs at least \(blockSize + 1); "
                + "use more data or a smaller block_size")
    }

    /// A token id the model cannot embed.
    static func tokenOutOfRange(_ source: String, position: Int, token: Int, vocabularySize: Int) -> DataError {
        DataError(
            source: source,
            reason: "token \(token) at position \(position) is not below vocab_size \(vocabularySize); "
                + "the data was made with a different tokenizer or vocabulary")
    }
}
