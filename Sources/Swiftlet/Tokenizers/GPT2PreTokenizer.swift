/// GPT-2's pre-tokenizer: splits text into the pieces that BPE then encodes one by one.
///
/// A hand-written scanner over UTF-8 that gives exactly the matches of GPT-2's regex
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
/// (as tiktoken runs it: `\s` is Unicode White_Space, `\p{L}`/`\p{N}` are general categories):
/// - the contractions come first and are case-sensitive (`'S` is not one);
/// - a single space joins the letter, number or symbol run after it;
/// - a whitespace run followed by a non-space gives all but its last character (`\s+(?!\S)`
///   backtracks one), and that last character starts the next piece; a run at the end of the
///   text is one piece.
/// The scanner never builds Strings; classes come from a table covering the BMP.
public enum GPT2PreTokenizer {
    /// The pieces of `text`, in order (their concatenation is `text`).
    public static func split(_ text: String) -> [String] {
        var pieces: [String] = []
        let bytes = Array(text.utf8)
        forEachPiece(in: text) { start, end in pieces.append(String(decoding: bytes[start..<end], as: UTF8.self)) }
        return pieces
    }

    /// The character classes the pattern distinguishes.
    enum Class: UInt8 {
        case letter = 0, number = 1, whitespace = 2, other = 3
    }

    /// The class of every BMP code point (surrogates are `other`); built once.
    static let basicPlaneClasses: [UInt8] = (0..<0x10000).map { value in
        Unicode.Scalar(UInt32(value)).map { classify($0).rawValue } ?? Class.other.rawValue
    }

    static func classify(_ scalar: Unicode.Scalar) -> Class {
        let properties = scalar.properties
        if properties.isWhitespace { return .whitespace }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    /// Calls `body(start, end)` for each piece of `text`, in order.
    static func forEachPiece(in text: String, _ body: (Int, Int) -> Void) {
        var text = text
        text.withUTF8 { bytes in
            guard let base = bytes.baseAddress else { return }
            var start = 0
            while start < bytes.count {
                let end = pieceEnd(base, bytes.count, from: start)
                body(start, end)
                start = end
            }
        }
    }

    /// The end of the piece that starts at `start` in the valid UTF-8 bytes `text[0..<count]`.
    @inline(__always)
    static func pieceEnd(_ text: UnsafePointer<UInt8>, _ count: Int, from start: Int) -> Int {
        let first = text[start]
        if first == UInt8(ascii: "'") && start + 1 < count {
            switch text[start + 1] {
            case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"):
                return start + 2
            case UInt8(ascii: "r"), UInt8(ascii: "v"):
                if start + 2 < count && text[start + 2] == UInt8(ascii: "e") { return start + 3 }
            case UInt8(ascii: "l"):
                if start + 2 < count && text[start + 2] == UInt8(ascii: "l") { return start + 3 }
            default: break
            }
        }
        var (kind, length) = classAt(text, count, start)
        var runStart = start
        if first == UInt8(ascii: " ") && start + 1 < count {
            let (nextKind, nextLength) = classAt(text, count, start + 1)
            if nextKind != Class.whitespace.rawValue {
                (kind, length, runStart) = (nextKind, nextLength, start + 1)
            }
        }
        if kind != Class.whitespace.rawValue {
            var end = runStart + length
            while end < count {
                let (nextKind, nextLength) = classAt(text, count, end)
                if nextKind != kind { break }
                end += nextLength
            }
            return end
        }
        // A whitespace run: `\s+(?!\S)` then `\s+`.
        var lastStart = start
        var end = start + length
        while end < count {
            let (nextKind, nextLength) = classAt(text, count, end)
            if nextKind != Class.whitespace.rawValue { break }
            lastStart = end
            end += nextLength
        }
        if end == count || lastStart == start { return end }
        return lastStart
    }

    /// The class and UTF-8 length of the character at `offset` (the bytes are valid UTF-8).
    @inline(__always)
    static func classAt(_ text: UnsafePointer<UInt8>, _ count: Int, _ offset: Int) -> (UInt8, Int) {
        let lead = UInt32(text[offset])
        if lead < 0x80 { return (asciiClasses[Int(lead)], 1) }
        if lead < 0xE0 {
            let value = (lead & 0x1F) << 6 | UInt32(text[offset + 1] & 0x3F)
            return (basicPlaneClasses.withUnsafeBufferPointer { $0[Int(value)] }, 2)
        }
        if lead < 0xF0 {
            let value = (lead & 0x0F) << 12 | UInt32(text[offset + 1] & 0x3F) << 6 | UInt32(text[offset + 2] & 0x3F)
            return (basicPlaneClasses.withUnsafeBufferPointer { $0[Int(value)] }, 3)
        }
        let value = (lead & 0x07) << 18 | UInt32(text[offset + 1] & 0x3F) << 12
            | UInt32(text[offset + 2] & 0x3F) << 6 | UInt32(text[offset + 3] & 0x3F)
        let scalar = Unicode.Scalar(value) ?? "\u{FFFD}"
        return (classify(scalar).rawValue, 4)
    }

    /// A tuple of 128 classes for the ASCII fast path (no bounds checks, no allocation).
    private static let asciiClasses = ASCIIClassTable()

    struct ASCIIClassTable: Sendable {
        private let classes: [UInt8] = (0..<128).map { classify(Unicode.Scalar(UInt8($0))).rawValue }
        @inline(__always) subscript(_ index: Int) -> UInt8 {
            classes.withUnsafeBufferPointer { $0[index] }
        }
    }
}
