import Foundation
import SwiftletKernels

/// SHA-256 (FIPS 180-4), for checkpoint checksums (see `CheckpointChecksum`).
///
/// Implemented here because Foundation on Linux has no hash functions and the package has no
/// crypto dependency; the block compression is C (`swl_sha256_blocks`: the x86 SHA extensions
/// where the CPU has them). Streaming: `update` any number of times, then `finalize`.
public struct SHA256: Sendable {
    private var state: [UInt32] =
        [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
    private var pending: [UInt8] = []  // < 64 bytes not yet compressed
    private var length: UInt64 = 0     // total bytes seen

    public init() {}

    /// Whether hashing uses the processor's SHA extensions now (x86 with the SHA extensions and
    /// an ISA path other than portable); otherwise plain C, with the same digests.
    public static var usesProcessorExtensions: Bool { swl_sha256_uses_extensions() != 0 }

    /// Adds `bytes` to the message.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        length &+= UInt64(bytes.count)
        var offset = 0
        if !pending.isEmpty {
            let take = min(64 - pending.count, bytes.count)
            pending += bytes[0..<take]
            offset = take
            if pending.count == 64 {
                let block = pending
                block.withUnsafeBytes { compress($0.baseAddress!, blocks: 1) }
                pending.removeAll(keepingCapacity: true)
            }
        }
        guard let base = bytes.baseAddress else { return }
        let blocks = (bytes.count - offset) / 64
        if blocks > 0 {
            compress(base + offset, blocks: blocks)
            offset += 64 * blocks
        }
        if offset < bytes.count { pending += bytes[offset...] }
    }

    /// Adds `data` to the message.
    public mutating func update(_ data: Data) {
        data.withUnsafeBytes { update($0) }
    }

    /// The 32-byte digest. Consumes the hasher.
    public consuming func finalize() -> [UInt8] {
        let bitLength = length &* 8
        var tail = pending
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        tail.withUnsafeBytes { compress($0.baseAddress!, blocks: $0.count / 64) }
        return state.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> (24 - 8 * UInt32($0))) } }
    }

    /// The lowercase hex SHA-256 of `data`.
    public static func hex(of data: Data) -> String {
        var hasher = SHA256()
        hasher.update(data)
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// The lowercase hex SHA-256 of `bytes`.
    public static func hex(of bytes: UnsafeRawBufferPointer) -> String {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Compresses `blocks` whole 64-byte blocks at `data` into the state.
    private mutating func compress(_ data: UnsafeRawPointer, blocks: Int) {
        state.withUnsafeMutableBufferPointer {
            swl_sha256_blocks($0.baseAddress!, data, blocks)
        }
    }
}
