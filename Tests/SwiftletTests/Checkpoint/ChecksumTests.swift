import Foundation
import Swiftlet
import Testing

@Suite("SHA-256 and checkpoint checksums") struct ChecksumTests {
    @Test func knownVectors() {
        #expect(SHA256.hex(of: Data()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(of: Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // Python: hashlib.sha256(bytes(i*7%251 for i in range(1000))).hexdigest()
        let message = Data((0..<1000).map { UInt8($0 * 7 % 251) })
        let expected = "59425e4412e296fc74736673ce067027f384203f59c0d2c3e6be7b13347b3ffc"
        #expect(SHA256.hex(of: message) == expected)
        // Streaming in uneven pieces gives the same digest.
        for piece in [1, 3, 63, 64, 65, 200] {
            var hasher = SHA256()
            var offset = 0
            while offset < message.count {
                hasher.update(message[offset..<min(offset + piece, message.count)])
                offset += piece
            }
            #expect(hasher.finalize().map { String(format: "%02x", $0) }.joined() == expected)
        }
    }

    @Test func processorExtensionsAndPortablePathAgree() throws {
        func message(_ count: Int) -> Data { Data((0..<count).map { UInt8(truncatingIfNeeded: ($0 * $0 * 31 + 7 * $0) % 256) }) }
        func portableHex(_ data: Data) throws -> String {
            try Runtime.with(instructionSet: .portable) {
                #expect(!SHA256.usesProcessorExtensions)
                return SHA256.hex(of: data)
            }
        }
        // Python: hashlib.sha256(bytes((i*i*31 + 7*i) % 256 for i in range(n))).hexdigest()
        let references = [
            1 << 20: "a1c0d1f7e24a1cf473f8160bcd7633232c23f0c001b36f8b80ebac667b208c48",
            1_000_003: "5b83a5734d8534a47650a6576df0e5203bc62e3cde245cde4b879358566e9b66",
        ]
        let path = SHA256.usesProcessorExtensions ? "SHA extensions" : "plain C (this CPU lacks the SHA extensions)"
        for (count, expected) in references {
            #expect(SHA256.hex(of: message(count)) == expected, "\(path)")
            #expect(try portableHex(message(count)) == expected)
        }
        // Every length over the first few blocks: padding into one or two final blocks.
        for count in 0..<300 {
            let data = message(count)
            #expect(SHA256.hex(of: data) == (try portableHex(data)), "length \(count)")
        }
    }

    @Test func sealedFilesVerifyAndAnyChangeIsCaught() throws {
        var writer = SafeTensorsWriter(metadata: ["config": "{\"n_head\":4}"])
        try writer.add("a", floats: [1, 2], shape: [2])
        try writer.add("b", floats: [3, 4], shape: [2])
        CheckpointChecksum.seal(&writer)
        let bytes = writer.serialized()
        try CheckpointChecksum.verify(SafeTensors(bytes: bytes, source: "good"))

        func tampered(_ change: (inout String) -> Void) throws -> SafeTensors {
            // Rewrite the header text, keep its length so offsets stay valid.
            let length = Int(bytes[0])
            var header = String(decoding: bytes[8..<(8 + length)], as: UTF8.self)
            change(&header)
            var copy = bytes
            copy.replaceSubrange(8..<(8 + length), with: Data(header.utf8))
            return try SafeTensors(bytes: copy, source: "tampered")
        }
        // A changed config value, and two tensors with swapped offsets, both parse but fail the checksum.
        let config = try tampered { $0 = $0.replacingOccurrences(of: "n_head\\\":4", with: "n_head\\\":5") }
        #expect(config.metadata["config"] == "{\"n_head\":5}")
        #expect(throws: CheckpointError.self) { try CheckpointChecksum.verify(config) }
        let swapped = try tampered {
            $0 = $0.replacingOccurrences(of: "[0,8]", with: "[X]").replacingOccurrences(of: "[8,16]", with: "[0,8]")
                .replacingOccurrences(of: "[X]", with: "[8,16]")
        }
        #expect(try swapped.floats("a") == [3, 4])
        #expect(throws: CheckpointError.self) { try CheckpointChecksum.verify(swapped) }
        var flipped = bytes
        flipped[flipped.count - 1] ^= 0x01
        let error = try #require(throws: CheckpointError.self) {
            try CheckpointChecksum.verify(SafeTensors(bytes: flipped, source: "flipped.safetensors"))
        }
        #expect(error.description.contains("flipped.safetensors") && error.description.contains("checksum mismatch"))
        // A file without a checksum is refused as unverifiable.
        var plain = SafeTensorsWriter()
        try plain.add("a", floats: [1], shape: [1])
        #expect(throws: CheckpointError.self) { try CheckpointChecksum.verify(SafeTensors(bytes: plain.serialized())) }
    }
}
