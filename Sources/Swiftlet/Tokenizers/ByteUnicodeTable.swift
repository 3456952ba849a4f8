/// GPT-2's reversible map between bytes and printable Unicode characters (`bytes_to_unicode`
/// in OpenAI's `encoder.py`), used by `encoder.json` and `vocab.bpe` to write byte strings as text.
///
/// The 188 printable bytes `!`…`~`, `¡`…`¬`, `®`…`ÿ` stand for themselves; the other 68 bytes map,
/// in byte order, to U+0100, U+0101, … (so a space is `Ġ` U+0120 and a newline is `Ċ` U+010A).
enum ByteUnicodeTable {
    /// `scalars[byte]` is the character that stands for `byte`.
    static let scalars: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            let value = printable ? UInt32(byte) : next
            if !printable { next += 1 }
            table[byte] = Unicode.Scalar(value)!  // values are below 0x144: always valid scalars
        }
        return table
    }()

    /// The byte a character stands for, or nil if it stands for none.
    static func byte(for scalar: Unicode.Scalar) -> UInt8? { bytes[scalar.value] }

    private static let bytes: [UInt32: UInt8] = {
        var table: [UInt32: UInt8] = [:]
        for (byte, scalar) in scalars.enumerated() { table[scalar.value] = UInt8(byte) }
        return table
    }()

    /// The bytes a GPT-2 token string stands for, or nil if it has a character outside the table.
    static func bytes(of token: String) -> [UInt8]? {
        var result: [UInt8] = []
        result.reserveCapacity(token.unicodeScalars.count)
        for scalar in token.unicodeScalars {
            guard let byte = byte(for: scalar) else { return nil }
            result.append(byte)
        }
        return result
    }

    /// The GPT-2 token string of some bytes.
    static func string(of bytes: some Sequence<UInt8>) -> String {
        var text = String.UnicodeScalarView()
        for byte in bytes { text.append(scalars[Int(byte)]) }
        return String(text)
    }
}
