import Foundation

/// Loads a checkpoint file straight into a new model's (and AdamW's) buffers.
///
/// `ModelCheckpoint(contentsOf:)` and `TrainingCheckpoint(contentsOf:)` hold the whole file and
/// a copy of every tensor, and the model built from them needs as much again. This reads the
/// header, makes the same checks with the same errors (the operating system's words for a file
/// it cannot read aside), builds the model (and optimizer) empty, then reads each tensor from the
/// file into the slot it fills, hashing it on the way; the checksum is checked before anything is
/// handed back. The model's own buffers are all the memory it takes.
///
/// The in-memory path verifies the checksum before any check that reads the header's contents, so
/// a damaged file is always reported as damaged. Here the checksum is only known once the tensors
/// are read, so every such check runs inside `checked(_:)`, which, when the check fails, hashes
/// the file and reports the damage instead if there is any.
struct CheckpointLoader {
    private let reader: SafeTensorsReader
    /// The config and tokenizer JSON; no tensors (they stay in the file until read into a model).
    private let header: ModelCheckpoint
    var source: String { reader.source }

    /// Opens `url` and checks its header as `ModelCheckpoint(contentsOf:)` does.
    init(contentsOf url: URL) throws {
        let reader: SafeTensorsReader
        do {
            reader = try SafeTensorsReader(contentsOf: url)
        } catch let error as SafeTensorsError {
            throw CheckpointError(reading: error)
        }
        try ModelCheckpoint.checkIsSwiftlet(reader.metadata, source: url.path)
        _ = try CheckpointChecksum.storedValue(in: reader.metadata, source: url.path)
        try Self.checked(reader) { try ModelCheckpoint.checkFormat(reader.metadata, source: url.path) }
        self.reader = reader
        header = ModelCheckpoint(
            configJSON: reader.metadata[ModelCheckpoint.Key.config] ?? "",
            tokenizerJSON: reader.metadata[ModelCheckpoint.Key.tokenizer], tensors: [])
    }

    /// Runs `check`, which reads the file's header; if it throws, reports the file's damage
    /// instead, if there is any (see the type's notes).
    func checked<Value>(_ check: () throws -> Value) throws -> Value {
        try Self.checked(reader, check)
    }

    /// The model config in the file.
    func config() throws -> GPTConfig {
        try checked { try header.config(source: source) }
    }

    /// The tokenizer in the file, or nil if it was saved without one.
    func tokenizer() throws -> AnyTokenizer? {
        try checked { try header.tokenizer(source: source) }
    }

    /// The model in the file, bit-identical to the one saved (`ModelCheckpoint.makeModel`).
    func makeModel(seed: UInt64 = 0) throws -> GPT {
        let model = try checked {
            let parameters = try ModelCheckpoint.parameterEntries(reader.entries, source: source)
            return try header.emptyModel(holding: parameters.map { ($0.name, $0.shape) }, expecting: nil, seed: seed, source: source)
        }
        try readTensors { entry in
            // A training checkpoint's moments are read only to be hashed.
            try entry.name.hasPrefix(TrainingCheckpoint.optimizerPrefix) ? nil : Self.buffer(of: entry.name, in: model.parameters)
        }
        return model
    }

    /// The training state. Throws unless the file is a training checkpoint whose tensors are a
    /// model's parameters and AdamW's m and v for each (every check of
    /// `TrainingCheckpoint(contentsOf:)`, which all read only the header).
    func trainingState() throws -> TrainingState {
        try checked {
            let json = try TrainingCheckpoint.stateJSON(in: reader.metadata, source: source)
            let parameters = try ModelCheckpoint.parameterEntries(reader.entries, source: source)
            let state = try TrainingCheckpoint.decodeState(json: json, source: source)
            let moments = try TrainingCheckpoint.momentEntries(reader.entries, source: source)
            func names(_ entries: [SafeTensors.Entry], dropping prefix: String = "") -> [(name: String, shape: [Int])] {
                entries.map { (String($0.name.dropFirst(prefix.count)), $0.shape) }
            }
            try TrainingCheckpoint.validateMoments(
                first: names(moments.first, dropping: TrainingCheckpoint.firstMomentPrefix),
                second: names(moments.second, dropping: TrainingCheckpoint.secondMomentPrefix),
                parameters: names(parameters), source: source)
            return state
        }
    }

    /// The run in the file, as `TrainingCheckpoint(contentsOf:).makeTrainer(expecting:)` makes it.
    ///
    /// - Parameter expected: when given, the file's model config must equal it.
    func makeTrainer(expecting expected: GPTConfig? = nil) throws -> Trainer {
        let state = try trainingState()
        let (model, optimizer, settings) = try checked {
            let settings = try TrainingCheckpoint.settings(of: state, source: source)
            let parameters = try ModelCheckpoint.parameterEntries(reader.entries, source: source)
            let model = try header.emptyModel(holding: parameters.map { ($0.name, $0.shape) }, expecting: expected, seed: 0, source: source)
            return (model, TrainingCheckpoint.optimizer(for: model, settings: settings), settings)
        }
        try readTensors { entry in
            let name = entry.name
            if name.hasPrefix(TrainingCheckpoint.firstMomentPrefix) {
                return try Self.buffer(of: String(name.dropFirst(TrainingCheckpoint.firstMomentPrefix.count)), in: optimizer.firstMoment)
            } else if name.hasPrefix(TrainingCheckpoint.secondMomentPrefix) {
                return try Self.buffer(of: String(name.dropFirst(TrainingCheckpoint.secondMomentPrefix.count)), in: optimizer.secondMoment)
            } else {
                return try Self.buffer(of: name, in: model.parameters)
            }
        }
        return try TrainingCheckpoint.trainer(model: model, optimizer: optimizer, state: state, settings: settings, source: source)
    }

    // MARK: Reading

    /// Reads every tensor, in file order, into the buffer `destination` gives for it (nil: read
    /// only to be hashed), then throws unless the checksum over all of it is the stored one.
    private func readTensors(into destination: (SafeTensors.Entry) throws -> UnsafeMutableRawBufferPointer?) throws {
        let stored = try CheckpointChecksum.storedValue(in: reader.metadata, source: source)
        let actual = try CheckpointChecksum.compute(metadata: reader.metadata, entries: reader.entries) { hasher in
            for entry in reader.entries {
                if let buffer = try destination(entry) {
                    try Self.reportingReadFailures { try reader.read(entry, into: buffer) }
                    hasher.update(UnsafeRawBufferPointer(buffer))
                } else {
                    try Self.reportingReadFailures { try reader.forEachPiece(of: entry.byteRange) { hasher.update($0) } }
                }
            }
        }
        try CheckpointChecksum.check(actual, against: stored, source: source)
    }

    /// The bytes of slot `name` in `store` (its shape was checked against the file's tensor).
    private static func buffer(of name: String, in store: ParameterStore) throws -> UnsafeMutableRawBufferPointer {
        let slot = try store.slot(named: name)
        return UnsafeMutableRawBufferPointer(start: store.baseAddress + slot.offset, count: slot.count * MemoryLayout<Float>.stride)
    }

    private static func checked<Value>(_ reader: SafeTensorsReader, _ check: () throws -> Value) throws -> Value {
        do {
            return try check()
        } catch {
            try reportingReadFailures { try CheckpointChecksum.verify(reader) }
            throw error
        }
    }

    /// Runs `read`, reporting a file that cannot be read as a `CheckpointError`.
    private static func reportingReadFailures(_ read: () throws -> Void) throws {
        do { try read() } catch let error as SafeTensorsError {
            throw CheckpointError(reading: error)
        }
    }
}
