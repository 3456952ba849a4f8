import Foundation
import Swiftlet

/// Finds the checkpoint a user means (`ModelCheckpoint.location(of:)`): a file; a run directory's
/// best.safetensors, else its last.safetensors; or a Hugging Face GPT-2 directory.
enum CheckpointLocation {
    static func resolve(_ path: String) throws -> URL {
        guard FileManager.default.fileExists(atPath: path) else { throw CommandError("no checkpoint at \(path)") }
        return try ModelCheckpoint.location(of: URL(fileURLWithPath: path))
    }
}
