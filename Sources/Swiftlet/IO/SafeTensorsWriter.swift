import Foundation

/// Builds a safetensors file (see `SafeTensors`): tensors are laid out in the order they are added.
///
/// The writer keeps each tensor as the array it was given rather than copying it into one data
/// buffer. Swift arrays are copy-on-write, so adding a model's tensors costs no memory, and writing
/// a GPT-2 124M training checkpoint (1.5 GB of weights and AdamW moments) holds no second copy.
public struct SafeTensorsWriter {
    private var header: [(name: String, dtype: SafeTensors.DType, shape: [Int], range: Range<Int>)] = []
    private var payloads: [Payload] = []
    private var dataSectionSize = 0
    public var metadata: [String: String] = [:]

    public init(metadata: [String: String] = [:]) { self.metadata = metadata }

    public mutating func add(_ name: String, floats: [Float], shape: [Int]) throws {
        try add(name, dtype: .float32, shape: shape, payload: .float32(floats))
    }

    /// Copies the elements: the writer cannot know how long the buffer stays valid.
    public mutating func add(_ name: String, floats: UnsafeBufferPointer<Float>, shape: [Int]) throws {
        try add(name, floats: Array(floats), shape: shape)
    }

    /// Adds F32 elements that stay where they are: the writer reads them when it hashes and
    /// writes. For saving a model straight from its buffers without a snapshot: `floats` must
    /// stay valid and unchanged for as long as the writer is used.
    mutating func add(_ name: String, borrowing floats: UnsafeBufferPointer<Float>, shape: [Int]) throws {
        try add(name, dtype: .float32, shape: shape, payload: .borrowedFloat32(UnsafeRawBufferPointer(floats)))
    }

    public mutating func add(_ name: String, int32s: [Int32], shape: [Int]) throws {
        try add(name, dtype: .int32, shape: shape, payload: .int32(int32s))
    }

    public mutating func add(_ name: String, tensor: Tensor) throws {
        try add(name, floats: tensor.values, shape: tensor.shape)
    }

    private mutating func add(_ name: String, dtype: SafeTensors.DType, shape: [Int], payload: Payload) throws {
        guard name != "__metadata__", !header.contains(where: { $0.name == name }) else {
            throw KernelError.invalidArgument("duplicate or reserved tensor name \(name)")
        }
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == payload.count else {
            throw KernelError.invalidShape("tensor \(name): shape \(shape) does not hold \(payload.count) elements")
        }
        let begin = dataSectionSize
        dataSectionSize += payload.byteCount
        header.append((name, dtype, shape, begin..<dataSectionSize))
        payloads.append(payload)
    }

    /// The tensor table as a reader of the serialized file will see it, in file order.
    public var entries: [SafeTensors.Entry] {
        header.map { SafeTensors.Entry(name: $0.name, dtype: $0.dtype, shape: $0.shape, byteRange: $0.range) }
    }

    /// Calls `body` with the data section written so far, one tensor's bytes at a time, in file order.
    public func forEachDataChunk(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        for payload in payloads { try payload.withUnsafeBytes(body) }
    }

    /// The complete file: header padded with spaces to a multiple of 8 bytes, then the data.
    public func serialized() -> Data {
        let parts = serializedParts()
        var file = Data(capacity: parts.reduce(0) { total, part in total + part.withUnsafeBytes { $0.count } })
        for part in parts { part.withUnsafeBytes { file.append(contentsOf: $0) } }
        return file
    }

    /// The complete file in parts, to be written one after the other: the header's length and the
    /// header, then each tensor's bytes (the arrays the writer holds, not copies).
    public func serializedParts() -> [any ContiguousBytes] {
        [headerBytes()] + payloads.map { $0 as any ContiguousBytes }
    }

    /// Writes the file atomically.
    public func write(to url: URL) throws {
        try AtomicFile.write(parts: serializedParts(), to: url)
    }

    /// The 8-byte header length followed by the JSON header, padded with spaces to a multiple of 8.
    private func headerBytes() -> Data {
        var json = "{"
        var first = true
        if !metadata.isEmpty {
            let fields = metadata.keys.sorted().map { "\(Self.quote($0)):\(Self.quote(metadata[$0]!))" }
            json += "\"__metadata__\":{\(fields.joined(separator: ","))}"
            first = false
        }
        for entry in header {
            if !first { json += "," }
            first = false
            let shape = entry.shape.map(String.init).joined(separator: ",")
            json += "\(Self.quote(entry.name)):{\"dtype\":\"\(entry.dtype.rawValue)\",\"shape\":[\(shape)],"
                + "\"data_offsets\":[\(entry.range.lowerBound),\(entry.range.upperBound)]}"
        }
        json += "}"
        var headerBytes = Data(json.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(UInt8(ascii: " ")) }
        var head = Data(capacity: 8 + headerBytes.count)
        var length = UInt64(headerBytes.count).littleEndian
        withUnsafeBytes(of: &length) { head.append(contentsOf: $0) }
        head.append(headerBytes)
        return head
    }

    /// A JSON string literal.
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// One tensor's elements, kept as the array they were added as (or, borrowed, where they
    /// lie); written as their raw (little-endian, on every platform Swiftlet runs on) bytes.
    private enum Payload: ContiguousBytes {
        case float32([Float])
        case int32([Int32])
        case borrowedFloat32(UnsafeRawBufferPointer)

        /// Elements: F32 and I32 are both 4 bytes.
        var count: Int { byteCount / 4 }

        var byteCount: Int {
            switch self {
            case .float32(let values): values.count * MemoryLayout<Float>.size
            case .int32(let values): values.count * MemoryLayout<Int32>.size
            case .borrowedFloat32(let bytes): bytes.count
            }
        }

        func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
            switch self {
            case .float32(let values): try values.withUnsafeBytes(body)
            case .int32(let values): try values.withUnsafeBytes(body)
            case .borrowedFloat32(let bytes): try body(bytes)
            }
        }
    }
}
