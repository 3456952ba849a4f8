import Foundation

/// Loads a checkpoint file straight into a new model's (and AdamW's) buffers.
///
/// `ModelCheckpoint(contentsOf:)` and `TrainingCheckpoint(contentsOf:)` hold the whole file and
/// a copy of every tensor, and the model built from them needs as much again. This reads the
/// header, makes the same checks with the same errors, builds the model (and optimizer) empty,
/// then reads each tensor from the file into the slot it fills, hashing it on the way; the
/// checksum is checked before anything is handed back. The model's own buffers are all the
/// memory it takes.
struct CheckpointLoader {
    let reader: SafeTensorsReader
    /// The config and tokenizer; no tensors (they stay in the file until read into a model).
    let header: ModelCheckpoint
    var source: String { reader.source }

    /// Opens `url` and checks its header as `ModelCheckpoint(contentsOf:)` does.
    init(contentsOf url: URL) throws {
        let reader: SafeTensorsReader
        do {
            reader = try SafeTensorsReader(contentsOf: url)
        } catch let error as SafeTensorsError {
            throw CheckpointError(path: url.path, reason: error.isReadFailure ? error.reason : "is not a valid safetensors file: \(error.reason)")
        }
        // The checksum is compared once the tensors are read (they are hashed as they go), unless
        // a check after the point where it would be verified fails (see `reportingDamageFirst`).
        var reachedTheChecksum = false
        do {
            try ModelCheckpoint.checkMetadata(reader.metadata, source: url.path) {
                _ = try CheckpointChecksum.storedValue(in: reader.metadata, source: url.path)
                reachedTheChecksum = true
            }
        } catch where reachedTheChecksum {
            try CheckpointChecksum.verify(reader)
            throw error
        }
        self.reader = reader
        header = ModelCheckpoint(
            configJSON: reader.metadata[ModelCheckpoint.Key.config] ?? "",
            tokenizerJSON: reader.metadata[ModelCheckpoint.Key.tokenizer], tensors: [])
    }

    /// The model in the file, bit-identical to the one saved (`ModelCheckpoint.makeModel`).
    func makeModel(seed: UInt64 = 0) throws -> GPT {
        let model = try Self.reportingDamageFirst(reader) {
            let parameters = try ModelCheckpoint.parameterEntries(reader.entries, source: source)
            return try header.emptyModel(holding: parameters.map { ($0.name, $0.shape) }, expecting: nil, seed: seed, source: source)
        }
        try readTensors { entry in
            try entry.name.hasPrefix(TrainingCheckpoint.optimizerPrefix) ? nil : Self.buffer(of: entry.name, in: model.parameters)
        }
        return model
    }

    /// The training state; throws unless the file is a training checkpoint
    /// (`TrainingCheckpoint(contentsOf:)`'s checks, all but the tensors').
    func trainingState() throws -> TrainingState {
        try Self.reportingDamageFirst(reader) {
            let json = try TrainingCheckpoint.stateJSON(in: reader.metadata, source: source)
            _ = try ModelCheckpoint.parameterEntries(reader.entries, source: source)
            return try TrainingCheckpoint.state(json: json, source: source)
        }
    }

    /// The run in the file, as `TrainingCheckpoint(contentsOf:).makeTrainer(expecting:)` makes it.
    ///
    /// - Parameters:
    ///   - state: the file's `trainingState()`.
    ///   - expected: when given, the file's model config must equal it.
    func makeTrainer(state: TrainingState, expecting expected: GPTConfig? = nil) throws -> Trainer {
        let (model, optimizer, settings) = try Self.reportingDamageFirst(reader) {
            let parameters = try ModelCheckpoint.parameterEntries(reader.entries, source: source).map { ($0.name, $0.shape) }
            let moments = try TrainingCheckpoint.momentEntries(reader.entries, source: source)
            func unprefixed(_ entries: [SafeTensors.Entry], _ prefix: String) -> [(name: String, shape: [Int])] {
                entries.map { (String($0.name.dropFirst(prefix.count)), $0.shape) }
            }
            try TrainingCheckpoint.validateMoments(
                first: unprefixed(moments.first, TrainingCheckpoint.firstMomentPrefix),
                second: unprefixed(moments.second, TrainingCheckpoint.secondMomentPrefix),
                parameters: parameters, source: source)
            let settings = try TrainingCheckpoint.settings(of: state, source: source)
            let model = try header.emptyModel(holding: parameters, expecting: expected, seed: 0, source: source)
            return (model, TrainingCheckpoint.optimizer(for: model, settings: settings), settings)
        }
        try readTensors { entry in
            for (prefix, store) in [(TrainingCheckpoint.firstMomentPrefix, optimizer.firstMoment),
                                    (TrainingCheckpoint.secondMomentPrefix, optimizer.secondMoment)]
            where entry.name.hasPrefix(prefix) {
                return try Self.buffer(of: String(entry.name.dropFirst(prefix.count)), in: store)
            }
            return try Self.buffer(of: entry.name, in: model.parameters)
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
                    try Self.mappingReadErrors { try reader.read(entry, into: buffer) }
                    hasher.update(UnsafeRawBufferPointer(buffer))
                } else {
                    try Self.mappingReadErrors { try reader.forEachPiece(of: entry.byteRange) { hasher.update($0) } }
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

    /// Runs `check`. If it throws, the file's checksum is verified first, so a damaged file is
    /// reported as damaged rather than as whatever the damage made it look like (as loading the
    /// whole file, which verifies before any other check, reports it).
    private static func reportingDamageFirst<Value>(_ reader: SafeTensorsReader, _ check: () throws -> Value) throws -> Value {
        do {
            return try check()
        } catch {
            try CheckpointChecksum.verify(reader)
            throw error
        }
    }

    /// Runs `read`, reporting a file that cannot be read as a `CheckpointError`.
    private static func mappingReadErrors(_ read: () throws -> Void) throws {
        do { try read() } catch let error as SafeTensorsError {
            throw CheckpointError(path: error.source, reason: error.reason)
        }
    }
}
