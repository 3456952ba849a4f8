import Foundation
import Swiftlet
import Testing

@Suite("SafeTensorsWriter") struct SafeTensorsWriterTests {
    /// Three tensors whose sizes (12, 20 and 68 bytes) are not multiples of SHA-256's 64-byte
    /// block, so the chunked checksum has blocks that straddle tensors.
    static func sample() throws -> SafeTensorsWriter {
        var writer = SafeTensorsWriter(metadata: ["config": "{\"n\":1}"])
        try writer.add("a", floats: [1, -2, 0.5], shape: [3])
        try writer.add("ids", int32s: [7, -1, 0, 65536, Int32.min], shape: [5])
        try writer.add("b", floats: (0..<17).map { Float($0) / 8 }, shape: [1, 17])
        return writer
    }

    @Test func bytesAreTheSafeTensorsLayout() throws {
        let writer = try Self.sample()
        // The file built by hand: 8-byte length, the JSON header padded with spaces to a multiple
        // of 8, then the tensors' little-endian bytes back to back.
        var json = "{\"__metadata__\":{\"config\":\"{\\\"n\\\":1}\"},"
            + "\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
            + "\"ids\":{\"dtype\":\"I32\",\"shape\":[5],\"data_offsets\":[12,32]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[1,17],\"data_offsets\":[32,100]}}"
        while json.utf8.count % 8 != 0 { json += " " }
        var expected = Data()
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { expected.append(contentsOf: $0) } }
        append(UInt64(json.utf8.count))
        expected.append(Data(json.utf8))
        for value in [Float(1), -2, 0.5] { append(value.bitPattern) }
        for value in [Int32(7), -1, 0, 65536, Int32.min] { append(value) }
        for index in 0..<17 { append((Float(index) / 8).bitPattern) }

        #expect(writer.serialized() == expected)
        var joined = Data()
        for part in writer.serializedParts() { part.withUnsafeBytes { joined.append(contentsOf: $0) } }
        #expect(joined == expected)

        let directory = try TemporaryDirectory()
        let url = directory.url.appendingPathComponent("sample.safetensors")
        try writer.write(to: url)
        #expect(try Data(contentsOf: url) == expected)
    }

    @Test func tensorsAreHeldWithoutCopying() throws {
        let weights = [Float](repeating: 0.25, count: 1000)
        let tensor = try Tensor(shape: [10, 100], values: [Float](repeating: -1, count: 1000))
        var writer = SafeTensorsWriter()
        try writer.add("weights", floats: weights, shape: [1000])
        try writer.add("tensor", tensor: tensor)
        var chunkAddresses: [UnsafeRawPointer?] = []
        writer.forEachDataChunk { chunkAddresses.append($0.baseAddress) }
        let arrayAddresses = [weights, tensor.values].map { array in
            array.withUnsafeBytes { $0.baseAddress }
        }
        #expect(chunkAddresses == arrayAddresses)
    }

    @Test func sealedChecksumOverChunksMatchesTheWholeDataSection() throws {
        var writer = try Self.sample()
        CheckpointChecksum.seal(&writer)
        let file = try SafeTensors(bytes: writer.serialized(), source: "sealed")
        #expect(file.metadata[CheckpointChecksum.metadataKey] == CheckpointChecksum.compute(file))
        try CheckpointChecksum.verify(file)
    }
}
