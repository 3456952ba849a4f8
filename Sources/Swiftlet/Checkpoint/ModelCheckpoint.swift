import Foundation

/// A complete, loadable model in one safetensors file: weights with nanoGPT names, the model
/// config and the tokenizer.
///
/// ## File format (`*.safetensors`)
///
/// A standard safetensors file (readable by Hugging Face `safetensors`, PyTorch, numpy):
///
/// - **Tensors**: every model parameter as little-endian `F32`, named and shaped as in nanoGPT's
///   `state_dict` (`transformer.wte.weight` (V, C), `transformer.h.0.attn.c_attn.weight`
///   (3C, C), … Linear weights are (out, in)), in `named_parameters()` order. A tied LM head is
///   stored once, as `transformer.wte.weight`. Vocabulary padding rows are not stored.
/// - **`__metadata__`** (all values are strings):
///   - `format`: `swiftlet.model` (weights only) or `swiftlet.training` (adds optimizer state,
///     see `TrainingCheckpoint`); `format_version`: `1`.
///   - `config`: the `GPTConfig` JSON (nanoGPT snake_case keys; absent keys take defaults).
///   - `tokenizer`: the tokenizer's serialized JSON, when the model has one.
///   - `checksum`: `sha256:<hex>` over the rest of the metadata, the tensor table and the data
///     (see `CheckpointChecksum`); verified on every load.
///
/// Loading checks, in order: the file is safetensors, the checksum matches, the format is
/// known, the config parses, and the tensors are exactly the ones the config implies (names,
/// shapes, F32). Any failure is a `CheckpointError` naming the file and the problem.
public struct ModelCheckpoint: CheckpointFile, Sendable {
    /// The `format` metadata of a weights-only file.
    public static let modelFormat = "swiftlet.model"
    /// The `format` metadata of a training checkpoint.
    public static let trainingFormat = "swiftlet.training"
    /// The `format_version` this code writes and reads.
    public static let formatVersion = "1"

    /// Metadata keys.
    public enum Key {
        public static let format = "format"
        public static let formatVersion = "format_version"
        public static let config = "config"
        public static let tokenizer = "tokenizer"
        public static let training = "training"
    }

    /// The model config as JSON (a `GPTConfig`'s encoding).
    public var configJSON: String
    /// The tokenizer's serialized form, or nil if the model is saved without one.
    public var tokenizerJSON: String?
    /// The model's parameters in order, with nanoGPT names.
    public var tensors: [NamedTensor]

    public init(configJSON: String, tokenizerJSON: String? = nil, tensors: [NamedTensor]) {
        self.configJSON = configJSON
        self.tokenizerJSON = tokenizerJSON
        self.tensors = tensors
    }

    /// The parameter named `name`.
    public func tensor(named name: String) throws -> Tensor {
        guard let found = tensors.first(where: { $0.name == name }) else {
            throw CheckpointError(path: "<checkpoint>", reason: "has no tensor named \(name)")
        }
        return found.tensor
    }

    /// Number of parameters (elements of all tensors).
    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.tensor.count } }

    // MARK: Writing

    /// A sealed writer holding the weights and metadata; `TrainingCheckpoint` adds to it before sealing.
    func writer(format: String, extraMetadata: [String: String] = [:]) throws -> SafeTensorsWriter {
        var metadata = extraMetadata
        metadata[Key.format] = format
        metadata[Key.formatVersion] = Self.formatVersion
        metadata[Key.config] = configJSON
        if let tokenizerJSON { metadata[Key.tokenizer] = tokenizerJSON }
        var writer = SafeTensorsWriter(metadata: metadata)
        for named in tensors {
            try Self.checkParameterName(named.name)
            try writer.add(named.name, tensor: named.tensor)
        }
        return writer
    }

    /// Throws if a parameter's name would read as an optimizer tensor.
    static func checkParameterName(_ name: String) throws {
        guard !name.hasPrefix(TrainingCheckpoint.optimizerPrefix) else {
            throw CheckpointError(path: "<checkpoint>", reason: "parameter name \(name) uses the reserved prefix \(TrainingCheckpoint.optimizerPrefix)")
        }
    }

    /// A writer holding the whole file, sealed with its checksum.
    public func sealedWriter() throws -> SafeTensorsWriter {
        var writer = try writer(format: Self.modelFormat)
        CheckpointChecksum.seal(&writer)
        return writer
    }

    // MARK: Reading

    /// Reads and verifies a model file or a training checkpoint (whose optimizer state is skipped).
    public init(contentsOf url: URL) throws {
        try self.init(file: Self.open(url))
    }

    /// Reads and verifies a checkpoint from bytes; `source` names it in errors.
    public init(bytes: Data, source: String = "<memory>") throws {
        try self.init(file: Self.parse(bytes, source: source))
    }

    /// Opens and verifies a checkpoint file: safetensors, checksum, known format.
    static func open(_ url: URL) throws -> SafeTensors {
        let bytes: Data
        do {
            bytes = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw CheckpointError(path: url.path, reason: "cannot read the file (\(error.localizedDescription))")
        }
        return try parse(bytes, source: url.path)
    }

    static func parse(_ bytes: Data, source: String) throws -> SafeTensors {
        let file: SafeTensors
        do {
            file = try SafeTensors(bytes: bytes, source: source)
        } catch let error as SafeTensorsError {
            throw CheckpointError(reading: error)
        }
        // The checksum between the two checks: a damaged file is reported as damaged, not as a
        // wrong format.
        try checkIsSwiftlet(file.metadata, source: source)
        try CheckpointChecksum.verify(file)
        try checkFormat(file.metadata, source: source)
        return file
    }

    /// Throws unless `metadata` is a Swiftlet checkpoint's (or at least carries our checksum).
    static func checkIsSwiftlet(_ metadata: [String: String], source: String) throws {
        // Other tools write their own `format` (Hugging Face: "pt"), so only ours counts.
        let isSwiftlet = metadata[Key.format]?.hasPrefix("swiftlet.") == true
        guard isSwiftlet || metadata[CheckpointChecksum.metadataKey] != nil else {
            throw CheckpointError(
                path: source,
                reason: "is a safetensors file but not a Swiftlet checkpoint (__metadata__ format: \(metadata[Key.format] ?? "none")); "
                    + "for Hugging Face GPT-2 weights, give the directory that holds model.safetensors and config.json")
        }
    }

    /// Throws unless `metadata` has a format and version this Swiftlet reads, and a model config.
    static func checkFormat(_ metadata: [String: String], source: String) throws {
        let format = metadata[Key.format] ?? "(none)"
        guard format == modelFormat || format == trainingFormat else {
            throw CheckpointError(path: source, reason: "has format \"\(format)\"; expected \(modelFormat) or \(trainingFormat)")
        }
        guard metadata[Key.formatVersion] == formatVersion else {
            throw CheckpointError(
                path: source,
                reason: "has format_version \(metadata[Key.formatVersion] ?? "(none)"); this Swiftlet reads version \(formatVersion)")
        }
        guard metadata[Key.config] != nil else {
            throw CheckpointError(path: source, reason: "has no model config in __metadata__[\"config\"]")
        }
    }

    init(file: SafeTensors) throws {
        configJSON = file.metadata[Key.config] ?? ""
        tokenizerJSON = file.metadata[Key.tokenizer]
        tensors = try Self.parameterEntries(file.entries, source: file.source).map {
            NamedTensor(name: $0.name, tensor: try file.tensor($0.name))
        }
    }

    /// The entries that are parameters (not optimizer state); each must be F32.
    static func parameterEntries(_ entries: [SafeTensors.Entry], source: String) throws -> [SafeTensors.Entry] {
        let parameters = entries.filter { !$0.name.hasPrefix(TrainingCheckpoint.optimizerPrefix) }
        if let other = parameters.first(where: { $0.dtype != .float32 }) {
            throw CheckpointError(path: source, reason: "tensor \(other.name) is \(other.dtype.rawValue); Swiftlet checkpoints store F32")
        }
        return parameters
    }

    /// Throws unless the tensors are exactly `expected` (names, in any order, and shapes):
    /// nothing missing, nothing extra.
    public func validate(against expected: [(name: String, shape: [Int])], source: String) throws {
        try Self.validate(tensors.map { ($0.name, $0.tensor.shape) }, against: expected, source: source)
    }

    /// `validate(against:source:)` for tensors given by name and shape.
    static func validate(
        _ found: [(name: String, shape: [Int])], against expected: [(name: String, shape: [Int])], source: String
    ) throws {
        let byName = Dictionary(found.map { ($0.name, $0.shape) }, uniquingKeysWith: { first, _ in first })
        for slot in expected {
            guard let shape = byName[slot.name] else {
                throw CheckpointError(path: source, reason: "is missing tensor \(slot.name) \(slot.shape) that its config requires")
            }
            guard shape == slot.shape else {
                throw CheckpointError(
                    path: source, reason: "tensor \(slot.name) has shape \(shape) but its config requires \(slot.shape)")
            }
        }
        let expectedNames = Set(expected.map(\.name))
        if let extra = found.first(where: { !expectedNames.contains($0.name) }) {
            throw CheckpointError(path: source, reason: "has tensor \(extra.name) that its config does not have (config mismatch)")
        }
    }
}

/// A tensor with its checkpoint name.
public struct NamedTensor: Equatable, Sendable {
    public var name: String
    public var tensor: Tensor

    public init(name: String, tensor: Tensor) {
        self.name = name
        self.tensor = tensor
    }
}
