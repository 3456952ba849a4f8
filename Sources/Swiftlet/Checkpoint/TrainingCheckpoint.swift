import Foundation

/// A training checkpoint: a complete model file (see `ModelCheckpoint`) plus AdamW's moments
/// and the `TrainingState`, so a run can resume bit-exactly.
///
/// ## File format
///
/// Everything a `ModelCheckpoint` holds, with `format` = `swiftlet.training`, plus:
/// - tensors `optimizer.m.<parameter name>` and `optimizer.v.<parameter name>` (F32, same
///   shape as the parameter): AdamW's first and second moments;
/// - `__metadata__["training"]`: the `TrainingState` JSON (`step`, `optimizer_step`,
///   `schedule_position`, `train_sampler`/`val_sampler` (generator state and
///   `batches_drawn`), `dropout_seed`, `dropout_pass_count`, `generators`, `trainer` (AdamW
///   β1/β2/ε/weight decay, learning-rate schedule, gradient accumulation, clipping),
///   `best_val_loss`, `settings`).
///
/// The checksum covers all of it. Because it is also a model file, `swiftlet eval`,
/// `swiftlet inspect` and sampling accept a training checkpoint directly.
public struct TrainingCheckpoint: CheckpointFile, Sendable {
    /// Names of optimizer tensors start with this; parameters may not.
    public static let optimizerPrefix = "optimizer."
    static let firstMomentPrefix = "optimizer.m."
    static let secondMomentPrefix = "optimizer.v."

    /// The weights, config and tokenizer.
    public var model: ModelCheckpoint
    /// AdamW's m, one tensor per parameter, same names as `model.tensors`.
    public var firstMoment: [NamedTensor]
    /// AdamW's v, one tensor per parameter.
    public var secondMoment: [NamedTensor]
    /// Step counts, random states, data cursors, best validation loss.
    public var state: TrainingState

    public init(model: ModelCheckpoint, firstMoment: [NamedTensor], secondMoment: [NamedTensor], state: TrainingState) {
        self.model = model
        self.firstMoment = firstMoment
        self.secondMoment = secondMoment
        self.state = state
    }

    /// A writer holding the whole file, sealed with its checksum.
    public func sealedWriter() throws -> SafeTensorsWriter {
        try validateMoments(source: "<checkpoint>")
        var writer = try model.writer(format: ModelCheckpoint.trainingFormat, extraMetadata: [ModelCheckpoint.Key.training: try Self.json(state)])
        for named in firstMoment { try writer.add(Self.firstMomentPrefix + named.name, tensor: named.tensor) }
        for named in secondMoment { try writer.add(Self.secondMomentPrefix + named.name, tensor: named.tensor) }
        CheckpointChecksum.seal(&writer)
        return writer
    }

    /// Reads and verifies a training checkpoint.
    public init(contentsOf url: URL) throws {
        try self.init(file: ModelCheckpoint.open(url))
    }

    /// Reads and verifies a training checkpoint from bytes; `source` names it in errors.
    public init(bytes: Data, source: String = "<memory>") throws {
        try self.init(file: ModelCheckpoint.parse(bytes, source: source))
    }

    init(file: SafeTensors) throws {
        let stateJSON = try Self.stateJSON(in: file.metadata, source: file.source)
        model = try ModelCheckpoint(file: file)
        state = try Self.decodeState(json: stateJSON, source: file.source)
        let moments = try Self.momentEntries(file.entries, source: file.source)
        func tensors(_ entries: [SafeTensors.Entry], _ prefix: String) throws -> [NamedTensor] {
            try entries.map { NamedTensor(name: String($0.name.dropFirst(prefix.count)), tensor: try file.tensor($0.name)) }
        }
        firstMoment = try tensors(moments.first, Self.firstMomentPrefix)
        secondMoment = try tensors(moments.second, Self.secondMomentPrefix)
        try validateMoments(source: file.source)
    }

    /// The training state's JSON; throws unless `metadata` is a training checkpoint's.
    static func stateJSON(in metadata: [String: String], source: String) throws -> String {
        guard metadata[ModelCheckpoint.Key.format] == ModelCheckpoint.trainingFormat,
              let json = metadata[ModelCheckpoint.Key.training]
        else {
            throw CheckpointError(
                path: source,
                reason: "is a model file without training state (optimizer moments, step, random states); "
                    + "it can be evaluated or sampled, or used to start a new run, but not resumed")
        }
        return json
    }

    static func decodeState(json: String, source: String) throws -> TrainingState {
        do {
            return try TrainingState(json: json)
        } catch {
            throw CheckpointError(path: source, reason: "has an unreadable training state (\(error))")
        }
    }

    /// The entries of AdamW's m and v, each F32, once no other optimizer tensor is found.
    static func momentEntries(
        _ entries: [SafeTensors.Entry], source: String
    ) throws -> (first: [SafeTensors.Entry], second: [SafeTensors.Entry]) {
        func moments(_ prefix: String) throws -> [SafeTensors.Entry] {
            let found = entries.filter { $0.name.hasPrefix(prefix) }
            if let other = found.first(where: { $0.dtype != .float32 }) {
                throw CheckpointError(path: source, reason: "tensor \(other.name) is \(other.dtype.rawValue); expected F32")
            }
            return found
        }
        let first = try moments(firstMomentPrefix), second = try moments(secondMomentPrefix)
        if let stray = entries.first(where: {
            $0.name.hasPrefix(optimizerPrefix) && !$0.name.hasPrefix(firstMomentPrefix) && !$0.name.hasPrefix(secondMomentPrefix)
        }) {
            throw CheckpointError(path: source, reason: "has an unknown optimizer tensor \(stray.name)")
        }
        return (first, second)
    }

    /// Throws unless m and v each have exactly one tensor per parameter, with its shape.
    func validateMoments(source: String) throws {
        func shapes(_ tensors: [NamedTensor]) -> [(name: String, shape: [Int])] { tensors.map { ($0.name, $0.tensor.shape) } }
        try Self.validateMoments(first: shapes(firstMoment), second: shapes(secondMoment), parameters: shapes(model.tensors), source: source)
    }

    /// `validateMoments(source:)` for tensors given by name (without the moment's prefix) and shape.
    static func validateMoments(
        first: [(name: String, shape: [Int])], second: [(name: String, shape: [Int])],
        parameters expected: [(name: String, shape: [Int])], source: String
    ) throws {
        for (label, got) in [("m", first), ("v", second)] {
            guard got.count == expected.count, zip(got, expected).allSatisfy({ $0.name == $1.name && $0.shape == $1.shape }) else {
                let missing = expected.first { name, _ in !got.contains { $0.name == name } }?.name
                throw CheckpointError(
                    path: source,
                    reason: "AdamW \(label) does not match the parameters"
                        + (missing.map { " (no optimizer.\(label).\($0))" } ?? " (names, order or shapes differ)"))
            }
        }
    }

    /// The `training` metadata entry.
    static func json(_ state: TrainingState) throws -> String {
        do {
            return String(decoding: try encoder.encode(state), as: UTF8.self)
        } catch {
            throw CheckpointError(path: "<checkpoint>", reason: "cannot encode the training state (\(error))")
        }
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // A diverged run's NaN or infinite loss must not make its checkpoint unwritable.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }
}
