/// What went wrong while building, loading or using a tokenizer. The message says what to do.
public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    /// A token id outside `0..<vocabularySize`.
    case idOutOfRange(Int, vocabularySize: Int)
    /// The character tokenizer met a character its vocabulary lacks (and has no `<UNK>`).
    case unknownCharacter(Unicode.Scalar, offset: Int)
    /// `allowedSpecial` named a string that is not a special token of this tokenizer.
    case unknownSpecialToken(String)
    /// Bytes that are not valid UTF-8, with the byte offset of the first bad byte.
    case invalidUTF8(offset: Int)
    /// A corpus to build or train from was empty.
    case emptyCorpus
    /// A vocabulary size that cannot be built.
    case invalidVocabularySize(String)
    /// A vocabulary or tokenizer file that cannot be read or makes no sense; names the file.
    case invalidFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .idOutOfRange(let id, let size):
            "token id \(id) is out of range: the vocabulary has \(size) tokens (ids 0...\(size - 1))"
        case .unknownCharacter(let scalar, let offset):
            "character \(Self.describe(scalar)) at offset \(offset) is not in the vocabulary "
                + "(build the character tokenizer with an <UNK> token to map unseen characters to it)"
        case .unknownSpecialToken(let name):
            "\"\(name)\" is not a special token of this tokenizer"
        case .invalidUTF8(let offset):
            "the bytes are not valid UTF-8 (first bad byte at offset \(offset))"
        case .emptyCorpus:
            "the corpus is empty: there is nothing to build a vocabulary from"
        case .invalidVocabularySize(let reason):
            "invalid vocabulary size: \(reason)"
        case .invalidFile(let path, let reason):
            "\(path): \(reason)"
        }
    }

    static func describe(_ scalar: Unicode.Scalar) -> String {
        let code = "U+" + String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 4)
        let printable = scalar.properties.isWhitespace || scalar.properties.generalCategory == .control
            ? scalar.escaped(asASCII: true) : String(scalar)
        return "'\(printable)' (\(code))"
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
