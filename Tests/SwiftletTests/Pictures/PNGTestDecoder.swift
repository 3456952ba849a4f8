import Foundation

/// A small, independent PNG reader for tests: it checks the structure our encoder must produce
/// (signature, chunk CRCs, IHDR, zlib header and Adler-32) and inflates stored and fixed-Huffman
/// deflate blocks, then undoes the scanline filters.
struct DecodedPNG {
    var width = 0, height = 0, colorType: UInt8 = 0
    var chunkTypes: [String] = []
    /// Inflated IDAT bytes: one filter byte then the filtered row, per row.
    var scanlines: [UInt8] = []
    /// Unfiltered pixels, row-major.
    var pixels: [UInt8] = []

    struct Failure: Error, CustomStringConvertible { var description: String }

    init(_ data: Data) throws {
        let bytes = [UInt8](data)
        guard bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else { throw Failure(description: "bad signature") }
        var offset = 8, idat: [UInt8] = []
        func uint32(_ at: Int) -> UInt32 { bytes[at..<at + 4].reduce(0) { $0 << 8 | UInt32($1) } }
        while offset < bytes.count {
            guard offset + 12 <= bytes.count else { throw Failure(description: "truncated chunk at \(offset)") }
            let length = Int(uint32(offset))
            let type = String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self)
            guard offset + 12 + length <= bytes.count else { throw Failure(description: "chunk \(type) overruns the file") }
            let body = Array(bytes[offset + 8..<offset + 8 + length])
            guard uint32(offset + 8 + length) == Self.crc32(Array(bytes[offset + 4..<offset + 8]) + body) else {
                throw Failure(description: "bad CRC in \(type)")
            }
            chunkTypes.append(type)
            if type == "IHDR" {
                width = Int(body[0..<4].reduce(0) { $0 << 8 | UInt32($1) })
                height = Int(body[4..<8].reduce(0) { $0 << 8 | UInt32($1) })
                colorType = body[9]
                guard body[8] == 8, body[10] == 0, body[11] == 0, body[12] == 0 else { throw Failure(description: "bad IHDR \(body)") }
            }
            if type == "IDAT" { idat += body }
            offset += 12 + length
        }
        guard chunkTypes.first == "IHDR", chunkTypes.last == "IEND" else { throw Failure(description: "chunk order \(chunkTypes)") }
        scanlines = try Self.zlibInflate(idat)
        let channels = colorType == 6 ? 4 : 3, stride = width * channels
        guard scanlines.count == (stride + 1) * height else {
            throw Failure(description: "inflated \(scanlines.count) bytes, expected \((stride + 1) * height)")
        }
        pixels = try Self.unfilter(scanlines, stride: stride, height: height, bytesPerPixel: channels)
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            c ^= UInt32(byte)
            for _ in 0..<8 { c = c & 1 == 1 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
        }
        return ~c
    }

    static func zlibInflate(_ stream: [UInt8]) throws -> [UInt8] {
        guard stream.count >= 6, stream[0] & 0x0F == 8, (UInt16(stream[0]) << 8 | UInt16(stream[1])) % 31 == 0 else {
            throw Failure(description: "bad zlib header")
        }
        var reader = BitReader(bytes: stream, position: 16)
        var output: [UInt8] = []
        var final = 0
        repeat {
            final = try reader.bits(1)
            switch try reader.bits(2) {
            case 0:
                reader.position = (reader.position + 7) / 8 * 8
                let length = try reader.bits(16), complement = try reader.bits(16)
                guard length ^ complement == 0xFFFF else { throw Failure(description: "stored block length check") }
                for _ in 0..<length { output.append(UInt8(try reader.bits(8))) }
            case 1: try inflateFixed(&reader, into: &output)
            default: throw Failure(description: "unsupported block type")
            }
        } while final == 0
        let end = (reader.position + 7) / 8
        guard end + 4 <= stream.count else { throw Failure(description: "missing Adler-32") }
        let stored = stream[end..<end + 4].reduce(0) { $0 << 8 | UInt32($1) }
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in output { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        guard stored == b << 16 | a else { throw Failure(description: "Adler-32 mismatch") }
        return output
    }

    private static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    private static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    private static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
                                       2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]

    private static func inflateFixed(_ reader: inout BitReader, into output: inout [UInt8]) throws {
        while true {
            // Fixed codes are read one bit at a time, most significant first (RFC 1951 §3.2.6).
            var code = 0, length = 0, symbol = -1
            while symbol < 0 {
                code = code << 1 | (try reader.bits(1))
                length += 1
                switch (length, code) {
                case (7, 0...23): symbol = 256 + code
                case (8, 48...191): symbol = code - 48
                case (8, 192...199): symbol = 280 + code - 192
                case (9, 400...511): symbol = 144 + code - 400
                case (9, _): throw Failure(description: "bad fixed code")
                default: break
                }
            }
            if symbol < 256 { output.append(UInt8(symbol)); continue }
            if symbol == 256 { return }
            let index = symbol - 257
            guard index < 29 else { throw Failure(description: "bad length symbol") }
            let matchLength = lengthBase[index] + (try reader.bits(lengthExtra[index]))
            var distanceCode = 0
            for _ in 0..<5 { distanceCode = distanceCode << 1 | (try reader.bits(1)) }
            guard distanceCode < 30 else { throw Failure(description: "bad distance code") }
            let distance = distanceBase[distanceCode] + (try reader.bits(max(0, distanceCode / 2 - 1)))
            guard distance <= output.count else { throw Failure(description: "distance before start") }
            for _ in 0..<matchLength { output.append(output[output.count - distance]) }
        }
    }

    private static func unfilter(_ data: [UInt8], stride: Int, height: Int, bytesPerPixel: Int) throws -> [UInt8] {
        var pixels = [UInt8](repeating: 0, count: stride * height)
        for row in 0..<height {
            let filter = data[row * (stride + 1)]
            for i in 0..<stride {
                let x = data[row * (stride + 1) + 1 + i]
                let a = i >= bytesPerPixel ? Int(pixels[row * stride + i - bytesPerPixel]) : 0
                let b = row > 0 ? Int(pixels[(row - 1) * stride + i]) : 0
                let c = row > 0 && i >= bytesPerPixel ? Int(pixels[(row - 1) * stride + i - bytesPerPixel]) : 0
                let predictor: Int
                switch filter {
                case 0: predictor = 0
                case 1: predictor = a
                case 2: predictor = b
                case 3: predictor = (a + b) / 2
                case 4:
                    let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c
                default: throw Failure(description: "bad filter type \(filter) on row \(row)")
                }
                pixels[row * stride + i] = UInt8((Int(x) + predictor) & 0xFF)
            }
        }
        return pixels
    }
}

private struct BitReader {
    var bytes: [UInt8]
    var position: Int

    /// `count` bits, least significant first.
    mutating func bits(_ count: Int) throws -> Int {
        var value = 0
        for bit in 0..<count {
            guard position / 8 < bytes.count else { throw DecodedPNG.Failure(description: "deflate stream ended early") }
            value |= Int(bytes[position / 8] >> UInt8(position % 8) & 1) << bit
            position += 1
        }
        return value
    }
}
