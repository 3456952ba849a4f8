import Foundation

/// The losses recorded in a training run's metrics log.
///
/// The log is JSON Lines, one object per line. Step records have `step` and `loss` (plus `lr`,
/// `tokens_per_s`); eval records have `step`, `train_loss` and `val_loss`. Unknown keys and
/// blank lines are ignored, so the log can grow new fields without breaking plots. A diverged
/// run's non-finite losses are accepted both as Python's `json` writes them (`NaN`, `Infinity`)
/// and as strings (`"NaN"`, `"Infinity"`, `"-Infinity"`); plots leave such points out.
public struct MetricsLog: Equatable, Sendable {
    /// One loss value at one optimizer step.
    public struct LossPoint: Equatable, Sendable {
        public var step: Double, loss: Double
        public init(step: Double, loss: Double) { (self.step, self.loss) = (step, loss) }
    }

    /// (step, loss) of every step record, in file order.
    public var trainLoss: [LossPoint] = []
    /// (step, loss) on the training split at each evaluation.
    public var evalTrainLoss: [LossPoint] = []
    /// (step, loss) on the validation split at each evaluation.
    public var validationLoss: [LossPoint] = []

    public init() {}

    /// Reads and parses the log at `url`.
    /// - Throws: ``PictureError`` naming the file (and line) when it is missing, empty, not JSON
    ///   Lines, or holds no loss records.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw PictureError.cannotReadMetricsLog(path: url.path, reason: "the file does not exist or cannot be read")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PictureError.cannotReadMetricsLog(path: url.path, reason: "the file is not UTF-8 text")
        }
        try self.init(jsonLines: text, path: url.path)
    }

    /// Parses JSON Lines `text`; `path` names the source in error messages.
    public init(jsonLines text: String, path: String = "<metrics>") throws {
        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true  // JSON5 admits the bare NaN and Infinity that Python writes
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        var sawLine = false
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            sawLine = true
            let record: Record
            do {
                record = try decoder.decode(Record.self, from: Data(trimmed.utf8))
            } catch DecodingError.typeMismatch(_, let context) {
                let key = context.codingPath.last?.stringValue
                throw PictureError.malformedMetricsLog(
                    path: path, line: index + 1, reason: key.map { "'\($0)' is not a number" } ?? "expected a JSON object")
            } catch {
                throw PictureError.malformedMetricsLog(path: path, line: index + 1, reason: "not valid JSON: \(trimmed.prefix(60))")
            }
            let values = [record.loss, record.trainLoss, record.valLoss]
            guard values.contains(where: { $0 != nil }) else { continue }  // some other record kind
            guard let step = record.step else {
                throw PictureError.malformedMetricsLog(path: path, line: index + 1, reason: "a loss record without 'step'")
            }
            if let loss = values[0] { trainLoss.append(LossPoint(step: step, loss: loss)) }
            if let loss = values[1] { evalTrainLoss.append(LossPoint(step: step, loss: loss)) }
            if let loss = values[2] { validationLoss.append(LossPoint(step: step, loss: loss)) }
        }
        guard sawLine else { throw PictureError.cannotReadMetricsLog(path: path, reason: "the file is empty") }
        guard !(trainLoss.isEmpty && evalTrainLoss.isEmpty && validationLoss.isEmpty) else {
            throw PictureError.cannotReadMetricsLog(path: path, reason: "no record has 'loss', 'train_loss' or 'val_loss'")
        }
    }

    /// The fields plots use; JSONDecoder ignores every other key.
    private struct Record: Decodable {
        var step: Double?, loss: Double?, trainLoss: Double?, valLoss: Double?

        enum CodingKeys: String, CodingKey {
            case step, loss
            case trainLoss = "train_loss"
            case valLoss = "val_loss"
        }
    }
}
