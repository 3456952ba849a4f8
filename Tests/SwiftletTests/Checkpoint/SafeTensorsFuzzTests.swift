import Foundation
import Swiftlet
import Testing

/// The safetensors reader must turn any damaged or hostile input into a `SafeTensorsError`
/// (or, for a sealed checkpoint that still parses, a checksum failure) — never a crash and
/// never a silently different file.
@Suite("SafeTensors fuzzing") struct SafeTensorsFuzzTests {
    /// A small sealed file: metadata, three tensors of two dtypes.
    static func sealedFile() throws -> Data {
        var writer = SafeTensorsWriter(metadata: ["config": "{\"n_embd\":4,\"n_head\":2}", "format": "test"])
        try writer.add("w", floats: (0..<12).map { Float($0) * 0.25 }, shape: [3, 4])
        try writer.add("b", floats: [1, -2, 3], shape: [3])
        try writer.add("ids", int32s: [5, -1, 7, 8], shape: [2, 2])
        CheckpointChecksum.seal(&writer)
        return writer.serialized()
    }

    /// A file from a raw header text and data bytes.
    static func file(header: String, data: [UInt8] = []) -> Data {
        var bytes = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: Array(header.utf8))
        bytes.append(contentsOf: data)
        return bytes
    }

    /// Parses; returns nil if the reader refused it with a `SafeTensorsError`.
    static func parse(_ bytes: Data) -> SafeTensors? {
        do {
            return try SafeTensors(bytes: bytes, source: "fuzz.safetensors")
        } catch let error as SafeTensorsError {
            #expect(error.source == "fuzz.safetensors")
            #expect(!error.reason.isEmpty)
            return nil
        } catch {
            Issue.record("unexpected error type \(type(of: error)): \(error)")
            return nil
        }
    }

    @Test func intactFileParsesAndVerifies() throws {
        let file = try #require(Self.parse(try Self.sealedFile()))
        try CheckpointChecksum.verify(file)
        #expect(try file.int32s("ids") == [5, -1, 7, 8])
    }

    @Test func everyTruncationIsRefused() throws {
        let bytes = try Self.sealedFile()
        for length in 0..<bytes.count {
            #expect(Self.parse(bytes.prefix(length)) == nil, "truncated to \(length) of \(bytes.count) bytes")
        }
        // Extra bytes after the data are refused too.
        #expect(Self.parse(bytes + Data([0])) == nil)
    }

    @Test func randomByteFlipsNeverPassUnnoticed() throws {
        let bytes = try Self.sealedFile()
        var generator = RandomGenerator(seed: 2024)
        var refusedByParser = 0
        var caughtByChecksum = 0
        for trial in 0..<3000 {
            var damaged = bytes
            let flips = 1 + generator.nextInt(below: trial % 3 == 0 ? 8 : 1)
            for _ in 0..<flips {
                let position = generator.nextInt(below: damaged.count)
                damaged[position] ^= UInt8(1 + generator.nextInt(below: 255))
            }
            guard damaged != bytes else { continue }
            guard let file = Self.parse(damaged) else { refusedByParser += 1; continue }
            #expect(throws: CheckpointError.self, "flips that parse must fail the checksum (trial \(trial))") {
                try CheckpointChecksum.verify(file)
            }
            caughtByChecksum += 1
        }
        // Both layers did some of the work.
        #expect(refusedByParser > 100 && caughtByChecksum > 100)
    }

    @Test func implausibleHeaderLengthsAreRefused() throws {
        let bytes = try Self.sealedFile()
        for length: UInt64 in [UInt64.max, 1 << 63, 1 << 40, 100 << 20 + 1, UInt64(bytes.count), UInt64(bytes.count - 8 + 1), 0, 1] {
            var damaged = bytes
            withUnsafeBytes(of: length.littleEndian) { damaged.replaceSubrange(0..<8, with: $0) }
            #expect(Self.parse(damaged) == nil, "header length \(length)")
        }
    }

    @Test func hostileHeadersAreRefused() {
        let four = [UInt8](repeating: 0, count: 4)
        let headers: [(String, [UInt8])] = [
            ("[]", []),
            ("{", []),
            ("\"x\"", []),
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}", four),       // past the end
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", four),      // negative
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", four),       // begin > end
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", four),
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,1e30]}}", four),
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0.5,4]}}", four),
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[\"0\",\"4\"]}}", four),
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", four),       // shape/bytes mismatch
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", four),
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1099511627775,1099511627775,1099511627775],\"data_offsets\":[0,4]}}", four),
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,4]}}", four),
            ("{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,4]}}", four),       // unknown dtype
            ("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", four),
            ("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", four),
            ("{\"a\":5}", four),
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", four),     // overlap
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", four + four),  // hole at 0
            ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", four + four),  // trailing bytes
            ("{\"__metadata__\":{\"k\":1}}", []),
            ("{\"__metadata__\":[\"k\"]}", []),
        ]
        for (header, data) in headers {
            #expect(Self.parse(Self.file(header: header, data: data)) == nil, "\(header)")
        }
        // A well-formed header of the same family parses, so the refusals above are for the stated reason.
        let good = Self.parse(Self.file(header: "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", data: four))
        #expect(good?.names == ["a"])
    }

    @Test func deeplyNestedAndDuplicateHeadersAreRefused() {
        let deep = "{\"a\":" + String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000) + "}"
        #expect(Self.parse(Self.file(header: deep)) == nil)
        let duplicate = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
            + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}"
        #expect(Self.parse(Self.file(header: duplicate, data: [UInt8](repeating: 0, count: 8))) == nil)
    }

    @Test func foreignFilesAreRefused() throws {
        #expect(Self.parse(Data("not a model at all, just some text".utf8)) == nil)
        #expect(Self.parse(Data()) == nil)
        #expect(Self.parse(try TokenFile.encode([1, 2, 3], vocabularySize: 10)) == nil)
        let directory = try TemporaryDirectory()
        let error = try #require(throws: SafeTensorsError.self) {
            try SafeTensors(contentsOf: directory.file("missing.safetensors"))
        }
        #expect(error.description.contains("missing.safetensors"))
    }

    @Test func halfPrecisionConvertsExactly() throws {
        // F16 1.0 = 0x3C00, -2.5 = 0xC100; BF16 1.0 = 0x3F80, -2.5 = 0xC020.
        let f16 = Self.file(header: "{\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                            + "\"g\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[4,8]}}",
                            data: [0x00, 0x3C, 0x00, 0xC1, 0x80, 0x3F, 0x20, 0xC0])
        let file = try #require(Self.parse(f16))
        #expect(try file.floatsConverting("h") == [1, -2.5])
        #expect(try file.floatsConverting("g") == [1, -2.5])
        #expect(throws: SafeTensorsError.self) { try file.floats("h") }
    }
}
