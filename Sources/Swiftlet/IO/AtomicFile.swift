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
        try createDirectory(directory)
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

    /// Removes the temporary files that writes of `url` by processes no longer running left
    /// beside it (a process killed mid-write: its `.name.tmp-PID-…` never replaced the file).
    public static func removeLeftovers(of url: URL) {
        let directory = url.deletingLastPathComponent()
        let prefix = ".\(url.lastPathComponent).tmp-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count).prefix { $0 != "-" }) else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink(directory.appendingPathComponent(name).path) }
        }
    }

    /// Creates `directory` and its parents where missing, or throws a message that names the
    /// problem: a file in the way (the directory itself or a parent), or the system's reason.
    public static func createDirectory(_ directory: URL) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue { return }
        var ancestor = directory.standardizedFileURL
        while ancestor.path != "/" {
            if FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else {
                    throw AtomicFileError.cannotCreateDirectory(directory.path, "\(ancestor.path) is a file, not a folder")
                }
                break
            }
            ancestor = ancestor.deletingLastPathComponent()
        }
        do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw AtomicFileError.cannotCreateDirectory(directory.path, error.localizedDescription)
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
    case cannotCreateDirectory(String, String)

    public var description: String {
        switch self {
        case .cannotWrite(let path, let reason): "cannot write \(path): \(reason)"
        case .cannotCreateDirectory(let path, let reason): "cannot create the folder \(path): \(reason)"
        }
    }
}
