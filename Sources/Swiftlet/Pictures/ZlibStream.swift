/// A minimal zlib (RFC 1950) compressor: one deflate (RFC 1951) block with the fixed Huffman
/// codes and greedy LZ77 matching. Plots are mostly flat colour, which this shrinks 20–100×
/// without the code cost of dynamic Huffman tables.
enum ZlibStream {
    static func compress(_ input: [UInt8]) -> [UInt8] {
        var writer = BitWriter()
        writer.bytes.reserveCapacity(input.count / 8 + 64)
        writer.bytes += [0x78, 0x01]  // CM 8 (deflate), 32 KiB window, no dictionary, fastest level.
        writer.write(1, bitCount: 1)  // BFINAL
        writer.write(1, bitCount: 2)  // BTYPE 01: fixed Huffman codes
        input.withUnsafeBufferPointer { deflate($0, into: &writer) }
        writer.writeSymbol(256)  // end of block
        writer.flush()
        let adler = input.withUnsafeBufferPointer { Checksums.adler32($0) }
        writer.bytes += [UInt8(adler >> 24), UInt8(adler >> 16 & 0xFF), UInt8(adler >> 8 & 0xFF), UInt8(adler & 0xFF)]
        return writer.bytes
    }

    private static let minimumMatch = 3, maximumMatch = 258, window = 32768, hashBits = 15

    /// Greedy LZ77: remember the last position of every 3-byte hash, take the match there if any.
    private static func deflate(_ input: UnsafeBufferPointer<UInt8>, into writer: inout BitWriter) {
        var head = [Int](repeating: -1, count: 1 << hashBits)
        let count = input.count
        var position = 0
        while position < count {
            var matchLength = 0, matchDistance = 0
            if position + minimumMatch <= count {
                let hash = (Int(input[position]) << 10 ^ Int(input[position + 1]) << 5 ^ Int(input[position + 2]))
                    & ((1 << hashBits) - 1)
                let candidate = head[hash]
                head[hash] = position
                if candidate >= 0 && position - candidate <= window {
                    let limit = min(maximumMatch, count - position)
                    var length = 0
                    while length < limit && input[candidate + length] == input[position + length] { length += 1 }
                    if length >= minimumMatch { (matchLength, matchDistance) = (length, position - candidate) }
                }
            }
            if matchLength == 0 {
                writer.writeSymbol(Int(input[position]))
                position += 1
                continue
            }
            let (lengthSymbol, lengthExtraBits, lengthBase) = lengthCodes[matchLength]
            writer.writeSymbol(lengthSymbol)
            writer.write(UInt32(matchLength - lengthBase), bitCount: lengthExtraBits)
            let distanceCode = Self.distanceCode(matchDistance)
            writer.write(UInt32(reversed(distanceCode, bitCount: 5)), bitCount: 5)
            writer.write(UInt32(matchDistance - distanceBases[distanceCode]), bitCount: distanceExtraBits[distanceCode])
            // Index the skipped positions too, so later data can refer back into this match.
            let end = min(position + matchLength, count - minimumMatch + 1)
            var inner = position + 1
            while inner < end {
                let hash = (Int(input[inner]) << 10 ^ Int(input[inner + 1]) << 5 ^ Int(input[inner + 2]))
                    & ((1 << hashBits) - 1)
                head[hash] = inner
                inner += 1
            }
            position += matchLength
        }
    }

    private static let lengthBaseTable = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                          35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    private static let lengthExtraTable = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
                                           3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBases = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385,
                                513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    static let distanceExtraBits = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7,
                                    8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    /// For each match length 3...258: (symbol 257...285, extra bit count, base length).
    private static let lengthCodes: [(Int, Int, Int)] = (0...maximumMatch).map { length in
        guard length >= minimumMatch else { return (0, 0, 0) }
        let index = lengthBaseTable.lastIndex { $0 <= length } ?? 0
        return (257 + index, lengthExtraTable[index], lengthBaseTable[index])
    }

    private static func distanceCode(_ distance: Int) -> Int {
        var code = distanceBases.count - 1
        while distanceBases[code] > distance { code -= 1 }
        return code
    }

    /// Huffman codes are defined most-significant bit first but deflate packs bits from the least.
    static func reversed(_ code: Int, bitCount: Int) -> Int {
        var result = 0
        for bit in 0..<bitCount where code >> bit & 1 == 1 { result |= 1 << (bitCount - 1 - bit) }
        return result
    }

    /// The fixed literal/length code of RFC 1951 §3.2.6, already bit-reversed: (code, length).
    static let fixedLiteralCodes: [(UInt32, Int)] = (0..<288).map { symbol in
        let (code, length) = switch symbol {
        case 0...143: (0x30 + symbol, 8)
        case 144...255: (0x190 + symbol - 144, 9)
        case 256...279: (symbol - 256, 7)
        default: (0xC0 + symbol - 280, 8)
        }
        return (UInt32(reversed(code, bitCount: length)), length)
    }
}

/// Packs bit fields least-significant bit first, as deflate requires.
struct BitWriter {
    var bytes: [UInt8] = []
    private var buffer: UInt64 = 0
    private var bufferedBits = 0

    mutating func write(_ value: UInt32, bitCount: Int) {
        guard bitCount > 0 else { return }
        buffer |= UInt64(value) << UInt64(bufferedBits)
        bufferedBits += bitCount
        while bufferedBits >= 8 {
            bytes.append(UInt8(buffer & 0xFF))
            buffer >>= 8
            bufferedBits -= 8
        }
    }

    mutating func writeSymbol(_ symbol: Int) {
        let (code, length) = ZlibStream.fixedLiteralCodes[symbol]
        write(code, bitCount: length)
    }

    /// Pads the last partial byte with zero bits.
    mutating func flush() {
        if bufferedBits > 0 { bytes.append(UInt8(buffer & 0xFF)) }
        buffer = 0
        bufferedBits = 0
    }
}
