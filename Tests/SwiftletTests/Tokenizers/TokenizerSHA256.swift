import Foundation
import Swiftlet

extension TokenizerFixtures {
    /// SHA-256 as lowercase hex (the library's hasher): the golden files give the sha256 of whole
    /// id streams.
    static func sha256(_ message: [UInt8]) -> String { SHA256.hex(of: Data(message)) }

    /// Ids as little-endian uint16 or int32 bytes, as the golden sha256 values are taken.
    static func littleEndianBytes(_ ids: [Int], width: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * width)
        for id in ids {
            for byte in 0..<width { bytes.append(UInt8(truncatingIfNeeded: id >> (8 * byte))) }
        }
        return bytes
    }
}
