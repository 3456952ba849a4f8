import Foundation

extension ModelCheckpoint {
    /// Captures a model's weights (every slot of its layout, by nanoGPT name, without padding)
    /// and config, with its tokenizer if given.
    public init(model: GPT, tokenizer: AnyTokenizer? = nil) throws {
        try self.init(model: model, tokenizer: tokenizer, copyingTensors: true)
    }

    /// With `copyingTensors` false, only the config and tokenizer: the header of a file whose
    /// tensors are added from the model's buffers (`TrainingCheckpoint.sealedWriter(borrowing:…)`).
    init(model: GPT, tokenizer: AnyTokenizer?, copyingTensors: Bool) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        self.init(
            configJSON: String(decoding: try encoder.encode(model.config), as: UTF8.self),
            tokenizerJSON: try tokenizer?.json,
            tensors: copyingTensors
                ? try model.parameters.slots.map { NamedTensor(name: $0.name, tensor: try model.parameters.tensor(named: $0.name)) }
                : [])
    }

    /// Writes a model (and tokenizer) to `url` atomically.
    public static func save(_ model: GPT, tokenizer: AnyTokenizer? = nil, to url: URL) throws {
        try ModelCheckpoint(model: model, tokenizer: tokenizer).write(to: url)
    }

    /// Loads the model (and tokenizer) saved at `url`, bit-identical to the saved one. `url` may
    /// also be a directory (see `location(of:)`): a Swiftlet run's, whose best checkpoint is
    /// loaded, or a Hugging Face GPT-2 one (see `HuggingFaceGPT2`), which is imported.
    public static func load(_ url: URL) throws -> (model: GPT, tokenizer: AnyTokenizer?) {
        let url = try location(of: url)
        if url.hasDirectoryPath {
            let checkpoint = try HuggingFaceGPT2.load(directory: url)
            return (try checkpoint.makeModel(source: url.path), try checkpoint.tokenizer(source: url.path))
        }
        // Straight from the file into the model's buffers: the same checks as
        // `ModelCheckpoint(contentsOf:).makeModel()`, without holding the file or the tensors.
        let loader = try CheckpointLoader(contentsOf: url)
        return (try loader.makeModel(), try loader.tokenizer())
    }

    /// What a path given as a checkpoint names: a file, as it is; a directory with
    /// `model.safetensors` (Hugging Face GPT-2), as itself, marked as a directory; a Swiftlet
    /// run's directory, as its `best.safetensors`, else its `last.safetensors`.
    public static func location(of url: URL) throws -> URL {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw CheckpointError(path: url.path, reason: "no such file or directory")
        }
        guard isDirectory.boolValue else { return url }
        let directory = URL(fileURLWithPath: url.path, isDirectory: true)
        if FileManager.default.fileExists(atPath: directory.appendingPathComponent("model.safetensors").path) {
            return directory
        }
        let run = CheckpointDirectory(directory)
        for file in [run.best, run.last] where FileManager.default.fileExists(atPath: file.path) { return file }
        throw CheckpointError(
            path: url.path,
            reason: "is a directory with no checkpoint: neither a Swiftlet run's best.safetensors or "
                + "last.safetensors nor a Hugging Face GPT-2 model.safetensors with its config.json")
    }

    /// The model config in the file.
    public func config(source: String = "<checkpoint>") throws -> GPTConfig {
        do {
            return try JSONDecoder().decode(GPTConfig.self, from: Data(configJSON.utf8))
        } catch let error as ConfigError {
            throw CheckpointError(path: source, reason: "has an invalid model config: \(error.field): \(error.reason)")
        } catch {
            throw CheckpointError(path: source, reason: "has a model config that is not valid JSON (\(error))")
        }
    }

    /// The tokenizer in the file, or nil if it was saved without one.
    public func tokenizer(source: String = "<checkpoint>") throws -> AnyTokenizer? {
        guard let tokenizerJSON else { return nil }
        do {
            return try AnyTokenizer(json: tokenizerJSON, source: source)
        } catch {
            throw CheckpointError(path: source, reason: "has a tokenizer that cannot be loaded (\(error))")
        }
    }

    /// Builds the model the file describes and sets every parameter from it.
    ///
    /// - Parameters:
    ///   - expected: when given (resuming into a configured run), the file's config must equal
    ///     it; the error lists the keys that differ.
    ///   - seed: seeds the new model's dropout (weights come from the file).
    /// - Throws: `CheckpointError` if the config is invalid or differs, or the tensors are not
    ///   exactly the config's parameters (a missing, extra or wrongly shaped tensor).
    public func makeModel(expecting expected: GPTConfig? = nil, seed: UInt64 = 0, source: String = "<checkpoint>") throws -> GPT {
        let model = try emptyModel(holding: tensors.map { ($0.name, $0.tensor.shape) }, expecting: expected, seed: seed, source: source)
        for named in tensors { try model.parameters.setTensor(named.tensor, named: named.name) }
        return model
    }

    /// The model of this file's config with every parameter 0, for the caller to fill, once the
    /// config is checked against `expected` and `tensors` (name and shape) against its layout.
    func emptyModel(
        holding tensors: [(name: String, shape: [Int])], expecting expected: GPTConfig?, seed: UInt64, source: String
    ) throws -> GPT {
        let config = try config(source: source)
        if let expected, expected != config {
            throw CheckpointError(path: source, reason: "config mismatch: \(Self.differences(expected, config))")
        }
        let layout = try GPT.layout(for: config)
        try Self.validate(tensors, against: layout.slots.map { ($0.name, $0.shape) }, source: source)
        // No random draw: the caller overwrites every slot, and padding and gaps start at zero.
        return try GPT(config: config, seed: seed, randomInitialization: false)
    }

    /// "n_layer: run has 4, file has 2; …" for the keys whose JSON values differ.
    static func differences(_ expected: GPTConfig, _ found: GPTConfig) -> String {
        func fields(_ config: GPTConfig) -> [String: String] {
            guard let data = try? JSONEncoder().encode(config),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            else { return [:] }
            return object.mapValues { "\($0)" }
        }
        let (a, b) = (fields(expected), fields(found))
        let keys = Set(a.keys).union(b.keys).sorted().filter { a[$0] != b[$0] }
        return keys.map { "\($0): expected \(a[$0] ?? "(absent)"), file has \(b[$0] ?? "(absent)")" }.joined(separator: "; ")
    }
}
