import Foundation

/// A run's checkpoint directory: `last.safetensors`, rewritten at every save, and
/// `best.safetensors`, rewritten when the validation loss improves. Both writes are atomic, so
/// a crash mid-save leaves the previous file intact.
public struct CheckpointDirectory: Sendable {
    public let url: URL

    public init(_ url: URL) { self.url = url }

    /// The latest checkpoint.
    public var last: URL { url.appendingPathComponent("last.safetensors") }
    /// The checkpoint with the lowest validation loss.
    public var best: URL { url.appendingPathComponent("best.safetensors") }

    /// Writes `checkpoint` as `last`, and also as `best` when `isBest`.
    public func save(_ checkpoint: TrainingCheckpoint, isBest: Bool) throws {
        try save(checkpoint.sealedWriter(), isBest: isBest)
    }

    /// Writes `trainer`'s checkpoint straight from its buffers, with no snapshot of them (see
    /// `TrainingCheckpoint.sealedWriter(borrowing:tokenizer:state:)`); the same file as
    /// `save(TrainingCheckpoint(trainer:tokenizer:state:), isBest:)`.
    public func save(_ trainer: Trainer, tokenizer: AnyTokenizer?, state: TrainingState, isBest: Bool) throws {
        try save(TrainingCheckpoint.sealedWriter(borrowing: trainer, tokenizer: tokenizer, state: state), isBest: isBest)
    }

    private func save(_ writer: SafeTensorsWriter, isBest: Bool) throws {
        let parts = writer.serializedParts()
        for target in isBest ? [last, best] : [last] {
            do { try AtomicFile.write(parts: parts, to: target) } catch {
                throw CheckpointError(path: target.path, reason: "cannot write the checkpoint (\(error))")
            }
        }
    }
}
