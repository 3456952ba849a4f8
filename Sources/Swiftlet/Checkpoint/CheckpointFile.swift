import Foundation

/// A checkpoint that serializes to one safetensors file (model or training checkpoint).
public protocol CheckpointFile {
    /// The complete file: tensors, metadata and checksum.
    func serialized() throws -> Data
}

extension CheckpointFile {
    /// Writes the file atomically (temporary file, fsync, rename).
    public func write(to url: URL) throws {
        let bytes = try serialized()
        do { try AtomicFile.write(bytes, to: url) } catch {
            throw CheckpointError(path: url.path, reason: "cannot write the checkpoint (\(error))")
        }
    }
}
