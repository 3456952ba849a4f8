import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A safetensors file read a tensor at a time, into memory the caller already has.
///
/// `SafeTensors` holds the whole file; this reads only its header up front, with the same checks
/// and errors, and then each tensor's bytes from the file straight into a caller's buffer
/// (`pread`). Loading a large checkpoint into a model's own buffers this way needs no memory
/// beyond those buffers. It reads the file rather than mapping it, so a file cut short while it
/// is being read gives an error, not a crash.
public final class SafeTensorsReader {
    /// The file's path, for error messages.
    public let source: String
    /// `__metadata__`, string to string.
    public let metadata: [String: String]
    /// Tensors in file order (by data offset); they tile the data section exactly.
    public let entries: [SafeTensors.Entry]
    private let descriptor: Int32
    private let dataStart: Int

    public init(contentsOf url: URL) throws {
        source = url.path
        func fail(_ reason: String) -> SafeTensorsError {
            SafeTensorsError(source: url.path, reason: reason, isReadFailure: true)
        }
        descriptor = open(url.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw fail("cannot read the file (\(Self.errnoText()))") }
        do {
            var status = stat()
            guard fstat(descriptor, &status) == 0 else { throw fail("cannot read the file (\(Self.errnoText()))") }
            guard (status.st_mode & S_IFMT) == S_IFREG else { throw fail("cannot read the file (not a regular file)") }
            let fileSize = Int(status.st_size)
            let prefix = try Self.read(descriptor, count: min(8, fileSize), at: 0, source: url.path)
            let headerLength = try SafeTensors.headerLength(prefix: prefix, fileSize: fileSize, source: url.path)
            let headerBytes = try Self.read(descriptor, count: headerLength, at: 8, source: url.path)
            dataStart = 8 + headerLength
            (metadata, entries) = try SafeTensors.parseHeader(headerBytes, dataCount: fileSize - dataStart, source: url.path)
        } catch {
            close(descriptor)
            throw error
        }
    }

    deinit { close(descriptor) }

    /// Reads `entry`'s bytes into `destination`, which must be exactly their size.
    public func read(_ entry: SafeTensors.Entry, into destination: UnsafeMutableRawBufferPointer) throws {
        precondition(destination.count == entry.byteRange.count, "the destination must be the tensor's size")
        try Self.readAll(descriptor, into: destination, at: dataStart + entry.byteRange.lowerBound, source: source)
    }

    /// The size of the data section (every tensor's bytes).
    public var dataCount: Int { entries.last?.byteRange.upperBound ?? 0 }

    /// Calls `body` with the bytes of `range` of the data section, in order, a piece (at most
    /// `pieceSize` bytes) at a time.
    public func forEachPiece(of range: Range<Int>, pieceSize: Int = 4 << 20, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        precondition(range.lowerBound >= 0 && range.upperBound <= dataCount, "the range must lie in the data section")
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, min(pieceSize, range.count)), alignment: 64)
        defer { buffer.deallocate() }
        var offset = range.lowerBound
        while offset < range.upperBound {
            let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(buffer.count, range.upperBound - offset)])
            try Self.readAll(descriptor, into: piece, at: dataStart + offset, source: source)
            try body(UnsafeRawBufferPointer(piece))
            offset += piece.count
        }
    }

    private static func read(_ descriptor: Int32, count: Int, at offset: Int, source: String) throws -> Data {
        var data = Data(count: count)
        try data.withUnsafeMutableBytes { try readAll(descriptor, into: $0, at: offset, source: source) }
        return data
    }

    /// `pread` until `destination` is full; a file that ends first was cut short.
    private static func readAll(
        _ descriptor: Int32, into destination: UnsafeMutableRawBufferPointer, at offset: Int, source: String
    ) throws {
        var done = 0
        while done < destination.count {
            let got = pread(descriptor, destination.baseAddress! + done, destination.count - done, off_t(offset + done))
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else {
                let reason = got < 0 ? errnoText() : "the file ended at byte \(offset + done); it was cut short while being read"
                throw SafeTensorsError(source: source, reason: "cannot read the file (\(reason))", isReadFailure: true)
            }
            done += got
        }
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
