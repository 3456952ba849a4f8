import Foundation

/// Writes the training metrics log: JSON Lines, one object per record, appended as training runs.
///
/// (`MetricsLog` reads it back.) Step records: `{"step", "loss", "lr", "tokens_per_s", "grad_norm", "elapsed_s"}`.
/// Eval records: `{"step", "train_loss", "val_loss"}`. Other tools read these keys.
public final class MetricsLogWriter {
    public let url: URL
    private let handle: FileHandle

    /// Opens (creating if needed) the log for appending. `truncatingAfter` drops records with a
    /// step greater than the given one, so a resumed run does not duplicate steps.
    public init(url: URL, truncatingAfter step: Int? = nil) throws {
        self.url = url
        let manager = FileManager.default
        try AtomicFile.createDirectory(url.deletingLastPathComponent())
        if let step, let existing = try? String(contentsOf: url, encoding: .utf8) {
            let kept = existing.split(separator: "\n").filter { line in
                guard let record = MetricsLogWriter.parse(line), let recordStep = record["step"] as? Int else { return false }
                return recordStep <= step
            }
            try AtomicFile.write(Data((kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).utf8), to: url)
        } else if step == nil || !manager.fileExists(atPath: url.path) {
            try AtomicFile.write(Data(), to: url)
        }
        guard let handle = FileHandle(forWritingAtPath: url.path) else {
            throw AtomicFileError.cannotWrite(url.path, "cannot open the metrics log for appending")
        }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    deinit { try? handle.close() }

    /// Appends a step record.
    public func recordStep(step: Int, loss: Float, learningRate: Float, tokensPerSecond: Double,
                           gradientNorm: Float, elapsedSeconds: Double) {
        write(["step": step, "loss": Double(loss), "lr": Double(learningRate),
               "tokens_per_s": tokensPerSecond, "grad_norm": Double(gradientNorm),
               "elapsed_s": elapsedSeconds])
    }

    /// Appends an eval record.
    public func recordEval(step: Int, trainLoss: Float, validationLoss: Float) {
        write(["step": step, "train_loss": Double(trainLoss), "val_loss": Double(validationLoss)])
    }

    private func write(_ record: [String: Any]) {
        guard let data = try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]) else { return }
        handle.write(data + Data("\n".utf8))
    }

    static func parse(_ line: Substring) -> [String: Any]? {
        guard let data = line.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return object
    }
}
