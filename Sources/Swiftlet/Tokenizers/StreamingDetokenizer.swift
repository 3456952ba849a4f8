/// Turns ids into text one at a time, emitting text only when its UTF-8 bytes are complete.
///
/// Byte-level tokens can end in the middle of a character (an emoji is often 2–4 tokens). The
/// detokenizer holds back an incomplete tail and emits it once the next token completes it. Bytes
/// that can never become valid UTF-8 come out as U+FFFD, so the text pieces of a stream, joined,
/// equal `String(decoding: tokenizer.decodeBytes(ids), as: UTF8.self)` (with `followsText`, that
/// text with the tokenizer's separator in front).
///
/// ```swift
/// var detokenizer = StreamingDetokenizer(tokenizer: gpt2)
/// for id in sampled { print(try detokenizer.append(id), terminator: "") }
/// print(detokenizer.finish())
/// ```
public struct StreamingDetokenizer: Sendable {
    public let tokenizer: any Tokenizer
    private var pending: [UInt8] = []
    private let followsText: Bool
    private var isFirstToken: Bool

    /// - Parameter followsText: the ids continue text that already has tokens (a prompt), so the
    ///   first one gets the tokenizer's separator in front too (a word tokenizer's space), as
    ///   decoding the prompt and the ids together would give.
    public init(tokenizer: any Tokenizer, followsText: Bool = false) {
        self.tokenizer = tokenizer
        self.followsText = followsText
        isFirstToken = !followsText
    }

    /// Adds one token; returns the text it completes (possibly empty).
    /// - Throws: ``TokenizerError/idOutOfRange(_:vocabularySize:)``.
    public mutating func append(_ id: Int) throws -> String {
        let bytes = try tokenizer.tokenBytes(id)
        if !isFirstToken { pending += tokenizer.tokenSeparator }
        isFirstToken = false
        pending += bytes
        let complete = Self.completePrefixLength(pending)
        guard complete > 0 else { return "" }
        let text = String(decoding: pending[..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// Returns whatever is held back (an incomplete character becomes U+FFFD) and resets.
    public mutating func finish() -> String {
        let text = String(decoding: pending, as: UTF8.self)
        pending = []
        isFirstToken = !followsText
        return text
    }

    /// The length of the longest prefix that does not end inside a character that the next
    /// bytes could still complete: everything but a trailing valid-so-far partial sequence.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        // Find the start of the last sequence: at most 3 continuation bytes back.
        var start = bytes.count
        var continuations = 0
        while start > 0 && continuations < 4 {
            let byte = bytes[start - 1]
            if byte & 0xC0 != 0x80 { start -= 1; break }
            start -= 1
            continuations += 1
        }
        guard start < bytes.count else { return bytes.count }
        let lead = bytes[start]
        let needed: Int
        switch lead {
        case 0xC2...0xDF: needed = 2
        case 0xE0...0xEF: needed = 3
        case 0xF0...0xF4: needed = 4
        default: return bytes.count  // ASCII, a stray continuation, or an invalid lead: nothing to wait for
        }
        let have = bytes.count - start
        guard have < needed else { return bytes.count }
        // The second byte has a narrower range after E0, ED, F0 and F4.
        if have >= 2 {
            let second = bytes[start + 1]
            let valid: ClosedRange<UInt8> = switch lead {
            case 0xE0: 0xA0...0xBF
            case 0xED: 0x80...0x9F
            case 0xF0: 0x90...0xBF
            case 0xF4: 0x80...0x8F
            default: 0x80...0xBF
            }
            if !valid.contains(second) { return bytes.count }
        }
        return start
    }
}
