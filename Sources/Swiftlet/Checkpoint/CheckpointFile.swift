import Foundation

/// A checkpoint that serializes to one safetensors file (model or training checkpoint).
public protocol CheckpointFile {
    /// A writer holding the complete file: tensors, metadata and checksum.
    func sealedWriter() throws -> SafeTensorsWriter
}

extension CheckpointFile {
    /// The complete file's bytes.
    public func serialized() throws -> Data {
        try sealedWriter().serialized()
    }

    /// Writes the file atomically (temporary file, fsync, rename).
    public func write(to url: URL) throws {
        let parts = try sealedWriter().serializedParts()
        do { try AtomicFile.write(parts: parts, to: url) } catch {
            throw CheckpointError(path: url.path, reason: "cannot write the checkpoint (\(error))")
        }
    }
}
