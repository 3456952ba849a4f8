import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files so that a reader sees either the old file or the whole new one, never a torn
/// one: write a temporary file beside the target, fsync it, rename it over the target, fsync
/// the directory.
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        try write(parts: [data], to: url)
    }

    /// Writes `parts` one after the other as the file's contents, atomically.
    public static func write(parts: [any ContiguousBytes], to url: URL) throws {
        let directory = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let temporary = directory.appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw AtomicFileError.cannotWrite(url.path, errnoText()) }
        let ok = parts.allSatisfy { writeAll($0, to: descriptor) } && fsync(descriptor) == 0
        let failure = ok ? nil : errnoText()
        close(descriptor)
        if let failure {
            unlink(temporary.path)
            throw AtomicFileError.cannotWrite(url.path, failure)
        }
        guard rename(temporary.path, url.path) == 0 else {
            let reason = errnoText()
            unlink(temporary.path)
            throw AtomicFileError.cannotWrite(url.path, reason)
        }
        let directoryDescriptor = open(directory.path, O_RDONLY)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    /// Writes all of `data` at the descriptor's position; false on an error (errno says which).
    private static func writeAll(_ data: any ContiguousBytes, to descriptor: Int32) -> Bool {
        data.withUnsafeBytes { raw in
            var written = 0
            while written < raw.count {
                let n = Glibc.write(descriptor, raw.baseAddress! + written, raw.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                written += n
            }
            return true
        }
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}

public enum AtomicFileError: Error, CustomStringConvertible {
    case cannotWrite(String, String)

    public var description: String {
        switch self {
        case .cannotWrite(let path, let reason): "cannot write \(path): \(reason)"
        }
    }
}
