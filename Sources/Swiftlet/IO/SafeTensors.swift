import Foundation

/// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
/// header length N, N bytes of JSON `{"name": {"dtype", "shape", "data_offsets": [begin, end]},
/// "__metadata__": {String: String}}`, then the raw little-endian data. Offsets are relative to
/// the start of the data.
///
/// Reading validates everything before trusting it — header length, JSON, dtypes, shapes,
/// offsets, overlaps — so a truncated, corrupted or foreign file gives an error that names the
/// file and the problem, never a crash.
public struct SafeTensors: Sendable {
    /// Element types this project reads and writes.
    public enum DType: String, Sendable, CaseIterable {
        case float32 = "F32"
        case int32 = "I32"
        case float16 = "F16"
        case bfloat16 = "BF16"
        case uint16 = "U16"
        case int64 = "I64"
        case uint8 = "U8"

        public var byteSize: Int {
            switch self {
            case .float32, .int32: 4
            case .float16, .bfloat16, .uint16: 2
            case .int64: 8
            case .uint8: 1
            }
        }
    }

    /// One tensor's description; its bytes are `data[byteRange]`.
    public struct Entry: Sendable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        /// Where the bytes are, relative to the start of the data section (`data_offsets`).
        public let byteRange: Range<Int>
        public var count: Int { shape.reduce(1, *) }
    }

    /// Where the bytes came from, for error messages.
    public let source: String
    /// `__metadata__`, string to string.
    public let metadata: [String: String]
    /// Tensors in file order (by data offset).
    public let entries: [Entry]
    private let index: [String: Int]
    private let file: Data      // the whole file's bytes, indexed from 0
    private let dataStart: Int  // where the data section begins in `file`

    /// Header lengths above this are refused as corrupt (real headers are kilobytes).
    static let maximumHeaderLength = 100 << 20

    public init(contentsOf url: URL) throws {
        let bytes: Data
        do {
            bytes = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw SafeTensorsError(source: url.path, reason: "cannot read the file (\(error.localizedDescription))", isReadFailure: true)
        }
        try self.init(bytes: bytes, source: url.path)
    }

    public init(bytes: Data, source: String = "<memory>") throws {
        let bytes = bytes.startIndex == 0 ? bytes : Data(bytes)
        let headerLength = try Self.headerLength(prefix: bytes.prefix(8), fileSize: bytes.count, source: source)
        let dataStart = 8 + headerLength
        let header = try Self.parseHeader(bytes[8..<dataStart], dataCount: bytes.count - dataStart, source: source)
        self.source = source
        self.metadata = header.metadata
        self.entries = header.entries
        self.index = Dictionary(uniqueKeysWithValues: header.entries.enumerated().map { ($1.name, $0) })
        // The data section is kept where it lies in the file's bytes: copying it out would double
        // the memory and time of loading a large checkpoint.
        self.file = bytes
        self.dataStart = dataStart
    }

    // MARK: The header (shared with SafeTensorsReader)

    /// The header's length, from the file's first 8 bytes (`prefix`), checked against the size of
    /// the whole file.
    static func headerLength(prefix: some Collection<UInt8>, fileSize: Int, source: String) throws -> Int {
        func fail(_ reason: String) -> SafeTensorsError { SafeTensorsError(source: source, reason: reason) }
        guard fileSize >= 8, prefix.count == 8 else {
            throw fail("file is \(fileSize) bytes, too short for a safetensors header (truncated or not safetensors)")
        }
        var headerLength: UInt64 = 0
        for (i, byte) in prefix.enumerated() { headerLength |= UInt64(byte) << (8 * UInt64(i)) }
        guard headerLength <= UInt64(Self.maximumHeaderLength) else {
            throw fail("header length \(headerLength) is implausible (not a safetensors file, or corrupted)")
        }
        guard 8 + Int(headerLength) <= fileSize else {
            throw fail("header says \(headerLength) bytes but the file has only \(fileSize - 8) after the length (truncated)")
        }
        return Int(headerLength)
    }

    /// The metadata and the tensor table of the JSON header `headerBytes`, checked against a data
    /// section of `dataCount` bytes: dtypes, shapes, offsets, and that the tensors tile the data.
    static func parseHeader(
        _ headerBytes: Data, dataCount: Int, source: String
    ) throws -> (metadata: [String: String], entries: [Entry]) {
        func fail(_ reason: String) -> SafeTensorsError { SafeTensorsError(source: source, reason: reason) }
        guard headerBytes.first == UInt8(ascii: "{"),
              let json = try? JSONSerialization.jsonObject(with: headerBytes),
              let header = json as? [String: Any]
        else { throw fail("header is not a JSON object (not a safetensors file, or corrupted)") }

        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        // In name order, so a file with several faults is always reported by the same one.
        for (name, value) in header.sorted(by: { $0.key < $1.key }) {
            if name == "__metadata__" {
                guard let map = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (key, item) in map.sorted(by: { $0.key < $1.key }) {
                    guard let text = item as? String else { throw fail("__metadata__[\(key)] is not a string") }
                    metadata[key] = text
                }
                continue
            }
            guard let info = value as? [String: Any] else { throw fail("entry \(name) is not an object") }
            guard let dtypeName = info["dtype"] as? String else { throw fail("entry \(name) has no dtype") }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw fail("entry \(name) has dtype \(dtypeName), which Swiftlet does not read")
            }
            guard let rawShape = info["shape"] as? [Any] else { throw fail("entry \(name) has no shape") }
            var shape: [Int] = []
            for dimension in rawShape {
                guard let number = dimension as? NSNumber, let extent = Int(exactly: number.doubleValue),
                      extent >= 0, extent < (1 << 40)
                else { throw fail("entry \(name) has an invalid shape \(rawShape)") }
                shape.append(extent)
            }
            guard let offsets = info["data_offsets"] as? [Any], offsets.count == 2,
                  let beginNumber = offsets[0] as? NSNumber, let endNumber = offsets[1] as? NSNumber,
                  let begin = Int(exactly: beginNumber.doubleValue), let end = Int(exactly: endNumber.doubleValue),
                  begin >= 0, begin <= end
            else { throw fail("entry \(name) has invalid data_offsets") }
            guard end <= dataCount else {
                throw fail("entry \(name) ends at byte \(end) but the data section has \(dataCount) bytes (truncated)")
            }
            let (count, overflow) = shape.reduce((1, false)) { partial, extent in
                let product = partial.0.multipliedReportingOverflow(by: extent)
                return (product.partialValue, partial.1 || product.overflow)
            }
            let byteCount = count.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, !byteCount.overflow else {
                throw fail("entry \(name): shape \(shape) is too large to be real (corrupted)")
            }
            guard byteCount.partialValue == end - begin else {
                throw fail("entry \(name): shape \(shape) of \(dtype.rawValue) needs \(byteCount.partialValue) bytes, offsets give \(end - begin)")
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, byteRange: begin..<end))
        }
        entries.sort { ($0.byteRange.lowerBound, $0.name) < ($1.byteRange.lowerBound, $1.name) }
        // Like the reference implementation: the tensors tile the data section exactly, so
        // overlapping tensors, holes and trailing bytes are all corruption.
        var expectedBegin = 0
        for entry in entries {
            guard entry.byteRange.lowerBound == expectedBegin else {
                if entry.byteRange.lowerBound < expectedBegin {
                    throw fail("tensor \(entry.name) overlaps the tensor before it (corrupted)")
                }
                throw fail("there is a gap of \(entry.byteRange.lowerBound - expectedBegin) bytes before tensor \(entry.name) (corrupted)")
            }
            expectedBegin = entry.byteRange.upperBound
        }
        guard expectedBegin == dataCount else {
            throw fail("the data section has \(dataCount) bytes but the tensors cover \(expectedBegin) (corrupted or extra bytes appended)")
        }
        return (metadata, entries)
    }

    /// Tensor names in file order.
    public var names: [String] { entries.map(\.name) }

    public func entry(_ name: String) throws -> Entry {
        guard let position = index[name] else {
            throw SafeTensorsError(source: source, reason: "no tensor named \(name)")
        }
        return entries[position]
    }

    public func contains(_ name: String) -> Bool { index[name] != nil }

    /// The elements of an F32 tensor.
    public func floats(_ name: String) throws -> [Float] {
        let entry = try entry(name)
        guard entry.dtype == .float32 else {
            throw SafeTensorsError(source: source, reason: "tensor \(name) is \(entry.dtype.rawValue), expected F32")
        }
        return read(entry, as: Float.self)
    }

    /// The elements of an I32 tensor.
    public func int32s(_ name: String) throws -> [Int32] {
        let entry = try entry(name)
        guard entry.dtype == .int32 else {
            throw SafeTensorsError(source: source, reason: "tensor \(name) is \(entry.dtype.rawValue), expected I32")
        }
        return read(entry, as: Int32.self)
    }

    /// An F32 tensor with its shape.
    public func tensor(_ name: String) throws -> Tensor {
        let entry = try entry(name)
        return try Tensor(shape: entry.shape, values: floats(name))
    }

    /// The elements of an F32, F16 or BF16 tensor as Float (half precision widens exactly).
    public func floatsConverting(_ name: String) throws -> [Float] {
        let entry = try entry(name)
        switch entry.dtype {
        case .float32: return read(entry, as: Float.self)
        case .float16: return read(entry, as: UInt16.self).map { Float(Float16(bitPattern: UInt16(littleEndian: $0))) }
        case .bfloat16: return read(entry, as: UInt16.self).map { Float(bitPattern: UInt32(UInt16(littleEndian: $0)) << 16) }
        default:
            throw SafeTensorsError(source: source, reason: "tensor \(name) is \(entry.dtype.rawValue), expected a float type (F32, F16 or BF16)")
        }
    }

    /// Calls `body` with the whole data section (every tensor's bytes, in file order).
    public func withUnsafeDataSection<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try file.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[dataStart...])) }
    }

    /// Size of the data section in bytes.
    public var dataSectionSize: Int { file.count - dataStart }

    /// Raw bytes of a tensor (little-endian).
    public func bytes(_ name: String) throws -> Data {
        let range = try entry(name).byteRange
        return Data(file[(dataStart + range.lowerBound)..<(dataStart + range.upperBound)])
    }

    private func read<Element>(_ entry: Entry, as type: Element.Type) -> [Element] {
        let count = entry.count
        return [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            withUnsafeDataSection { section in
                let source = UnsafeRawBufferPointer(rebasing: section[entry.byteRange])
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: source)
            }
            initialized = count
        }
    }
}

/// A safetensors file could not be read. Says which file and what is wrong.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    public let source: String
    public let reason: String
    /// The file could not be read at all (missing, unreadable, cut short while being read), as
    /// opposed to read and found not to be valid safetensors.
    public var isReadFailure = false
    public var description: String { "\(source): \(reason)" }
}
