/// The shape and variant of a GPT model, as nanoGPT's `GPTConfig` plus the variants Swiftlet adds.
///
/// Its JSON is a contract that checkpoints and tools read: nanoGPT's keys `vocab_size`,
/// `block_size`, `n_layer`, `n_head`, `n_embd`, `dropout`, `bias`, and Swiftlet's `norm`,
/// `activation`, `mlp_hidden`, `position`, `position_base`, `tie_embeddings`, `attention` and
/// `vocab_padding_multiple`. Every key is optional when decoding; an absent key takes its GPT-2
/// default (the 124M model: 50257 tokens, 1024 positions, 12 layers of 12 heads, 768 channels,
/// pre-LN, GELU tanh, learned positions, tied embeddings, biases on).
///
/// ```swift
/// let config = try GPTConfig(vocabularySize: 65, blockSize: 64, layerCount: 2, headCount: 4, embeddingSize: 64)
/// let json = try JSONEncoder().encode(config)  // {"vocab_size":65,"block_size":64,...}
/// ```
public struct GPTConfig: Codable, Equatable, Sendable {
    /// Where LayerNorm sits in a block.
    public enum Normalization: String, Codable, Sendable, CaseIterable {
        /// GPT-2: `x = x + attn(ln_1(x))`, `x = x + mlp(ln_2(x))`, then `ln_f` before the LM head.
        case pre
        /// The original Transformer: `x = ln_1(x + attn(x))`, `x = ln_2(x + mlp(x))`, and no `ln_f`
        /// (the last block's output is already normalized).
        case post
    }

    /// The MLP's nonlinearity.
    public enum Activation: String, Codable, Sendable, CaseIterable {
        /// GELU with the tanh approximation (GPT-2, llm.c, PyTorch `approximate='tanh'`).
        case geluTanh = "gelu_tanh"
        /// Exact GELU with erf (PyTorch `nn.GELU()`, which nanoGPT uses).
        case geluErf = "gelu_erf"
        case relu
    }

    /// How token positions enter the model.
    public enum PositionEncoding: String, Codable, Sendable, CaseIterable {
        /// A trained table `transformer.wpe.weight` (block_size, n_embd) added to the token embedding.
        case learned
        /// A fixed sine/cosine table added like `wpe`; not a parameter.
        case sinusoidal
        /// Rotary embedding applied to q and k in every attention layer.
        case rope
        /// No position information beyond the causal mask.
        case none
    }

    /// Vocabulary size V (token ids are 0..<V).
    public var vocabularySize: Int
    /// The longest sequence the model takes (T ≤ block_size).
    public var blockSize: Int
    /// Number of transformer blocks.
    public var layerCount: Int
    /// Attention heads per block; `embeddingSize` must be a multiple of it.
    public var headCount: Int
    /// Channels C of the residual stream.
    public var embeddingSize: Int
    /// Dropout probability on the embeddings, attention probabilities and residual branches
    /// (training mode only).
    public var dropout: Float
    /// Biases in the Linear layers and LayerNorms.
    public var bias: Bool
    /// Pre-LN (GPT-2) or post-LN (original Transformer).
    public var normalization: Normalization
    /// The MLP nonlinearity.
    public var activation: Activation
    /// Hidden width of the MLP; 0 makes attention-only blocks (no `ln_2`, no MLP).
    public var mlpHiddenSize: Int
    /// How positions are encoded.
    public var position: PositionEncoding
    /// The base of the sinusoidal table and of RoPE's frequencies.
    public var positionBase: Float
    /// Whether the LM head reuses `transformer.wte.weight` (GPT-2) or has its own `lm_head.weight`.
    public var tieEmbeddings: Bool
    /// Which attention kernel runs, in every mode (with dropout too: see `GPT.effectiveAttentionKernel(for:)`).
    public var attention: AttentionKernel
    /// The LM head's rows are padded to a multiple of this (1 = no padding). Padded logits are
    /// always 0, never read by the loss and never sampled; padding only speeds up the matmul.
    public var vocabularyPaddingMultiple: Int

    /// A config with GPT-2 defaults for everything not given. Throws a `ConfigError` naming the
    /// field if the combination is invalid.
    public init(
        vocabularySize: Int = 50257, blockSize: Int = 1024, layerCount: Int = 12, headCount: Int = 12,
        embeddingSize: Int = 768, dropout: Float = 0, bias: Bool = true,
        normalization: Normalization = .pre, activation: Activation = .geluTanh,
        mlpHiddenSize: Int? = nil, position: PositionEncoding = .learned, positionBase: Float = 10000,
        tieEmbeddings: Bool = true, attention: AttentionKernel = .flash, vocabularyPaddingMultiple: Int = 64
    ) throws {
        self.vocabularySize = vocabularySize
        self.blockSize = blockSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.embeddingSize = embeddingSize
        self.dropout = dropout
        self.bias = bias
        self.normalization = normalization
        self.activation = activation
        self.mlpHiddenSize = mlpHiddenSize ?? 4 * embeddingSize
        self.position = position
        self.positionBase = positionBase
        self.tieEmbeddings = tieEmbeddings
        self.attention = attention
        self.vocabularyPaddingMultiple = vocabularyPaddingMultiple
        try validate()
    }

    /// Channels per head, `embeddingSize / headCount`.
    public var headSize: Int { embeddingSize / headCount }

    /// Whether blocks have an MLP (`mlpHiddenSize > 0`).
    public var hasMLP: Bool { mlpHiddenSize > 0 }

    /// The LM head's row count Vp: the vocabulary rounded up to `vocabularyPaddingMultiple`.
    public var paddedVocabularySize: Int {
        let multiple = max(1, vocabularyPaddingMultiple)
        return (vocabularySize + multiple - 1) / multiple * multiple
    }

    /// Throws a `ConfigError` naming the first invalid field.
    public func validate() throws {
        func require(_ condition: Bool, _ field: String, _ reason: @autoclosure () -> String) throws {
            if !condition { throw ConfigError(field: field, reason: reason()) }
        }
        // The kernels take `int` sizes; keep every dimension well inside that.
        let limit = 1 << 24
        try require(vocabularySize >= 1 && vocabularySize <= limit, "vocab_size", "must be in 1...\(limit), got \(vocabularySize)")
        try require(blockSize >= 1 && blockSize <= 1 << 16, "block_size", "must be in 1...65536, got \(blockSize)")
        try require(layerCount >= 1 && layerCount <= 1024, "n_layer", "must be in 1...1024, got \(layerCount)")
        try require(headCount >= 1, "n_head", "must be at least 1, got \(headCount)")
        try require(embeddingSize >= 1 && embeddingSize <= 1 << 16, "n_embd", "must be in 1...65536, got \(embeddingSize)")
        try require(embeddingSize % headCount == 0, "n_embd",
                    "must be a multiple of n_head (\(headCount)), got \(embeddingSize)")
        try require(dropout.isFinite && dropout >= 0 && dropout < 1, "dropout", "must be in [0, 1), got \(dropout)")
        try require(mlpHiddenSize >= 0 && mlpHiddenSize <= 1 << 18, "mlp_hidden",
                    "must be in 0...\(1 << 18) (0 = attention-only blocks), got \(mlpHiddenSize)")
        try require(positionBase.isFinite && positionBase > 0, "position_base", "must be positive, got \(positionBase)")
        if position == .rope {
            try require(headSize % 2 == 0, "position",
                        "rope needs an even head size (n_embd / n_head), got \(embeddingSize) / \(headCount) = \(headSize)")
        }
        if position == .sinusoidal {
            try require(embeddingSize % 2 == 0, "position", "sinusoidal needs an even n_embd, got \(embeddingSize)")
        }
        try require(vocabularyPaddingMultiple >= 1 && vocabularyPaddingMultiple <= 4096, "vocab_padding_multiple",
                    "must be in 1...4096 (1 = no padding), got \(vocabularyPaddingMultiple)")
    }

    // MARK: Codable

    enum CodingKeys: String, CodingKey, CaseIterable {
        case vocabularySize = "vocab_size"
        case blockSize = "block_size"
        case layerCount = "n_layer"
        case headCount = "n_head"
        case embeddingSize = "n_embd"
        case dropout, bias
        case normalization = "norm"
        case activation
        case mlpHiddenSize = "mlp_hidden"
        case position
        case positionBase = "position_base"
        case tieEmbeddings = "tie_embeddings"
        case attention
        case vocabularyPaddingMultiple = "vocab_padding_multiple"
    }

    /// Every JSON key of the config.
    public static var jsonKeys: Set<String> { Set(CodingKeys.allCases.map(\.rawValue)) }

    /// Decodes with GPT-2 defaults for absent keys; an unknown variant name or an invalid
    /// combination throws a `ConfigError` naming the field.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            do {
                return try c.decodeIfPresent(T.self, forKey: key) ?? fallback
            } catch {
                throw ConfigError(field: key.rawValue, reason: "expected a \(T.self) value (\(error))")
            }
        }
        func variant<E: RawRepresentable & CaseIterable>(_ key: CodingKeys, _ fallback: E) throws -> E
        where E.RawValue == String {
            let name: String? = try value(key, nil)
            guard let name else { return fallback }
            guard let parsed = E(rawValue: name) else {
                let allowed = E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
                throw ConfigError(field: key.rawValue, reason: "unknown value \"\(name)\"; expected one of \(allowed)")
            }
            return parsed
        }
        let embeddingSize: Int = try value(.embeddingSize, 768)
        try self.init(
            vocabularySize: try value(.vocabularySize, 50257),
            blockSize: try value(.blockSize, 1024),
            layerCount: try value(.layerCount, 12),
            headCount: try value(.headCount, 12),
            embeddingSize: embeddingSize,
            dropout: try value(.dropout, 0),
            bias: try value(.bias, true),
            normalization: try variant(.normalization, Normalization.pre),
            activation: try variant(.activation, Activation.geluTanh),
            mlpHiddenSize: try value(.mlpHiddenSize, 4 * embeddingSize) as Int,
            position: try variant(.position, PositionEncoding.learned),
            positionBase: try value(.positionBase, 10000),
            tieEmbeddings: try value(.tieEmbeddings, true),
            attention: try variant(.attention, AttentionKernel.flash),
            vocabularyPaddingMultiple: try value(.vocabularyPaddingMultiple, 64)
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(vocabularySize, forKey: .vocabularySize)
        try c.encode(blockSize, forKey: .blockSize)
        try c.encode(layerCount, forKey: .layerCount)
        try c.encode(headCount, forKey: .headCount)
        try c.encode(embeddingSize, forKey: .embeddingSize)
        try c.encode(dropout, forKey: .dropout)
        try c.encode(bias, forKey: .bias)
        try c.encode(normalization.rawValue, forKey: .normalization)
        try c.encode(activation.rawValue, forKey: .activation)
        try c.encode(mlpHiddenSize, forKey: .mlpHiddenSize)
        try c.encode(position.rawValue, forKey: .position)
        try c.encode(positionBase, forKey: .positionBase)
        try c.encode(tieEmbeddings, forKey: .tieEmbeddings)
        try c.encode(attention.rawValue, forKey: .attention)
        try c.encode(vocabularyPaddingMultiple, forKey: .vocabularyPaddingMultiple)
    }
}

extension GPTConfig {
    /// Named configs: `"gpt2"` (124M), `"gpt2-medium"` (350M), `"shakespeare-char"` (nanoGPT's
    /// character-level config, 10.7M), `"tiny"` (nanoGPT's CPU recipe model with GPT-2's biases,
    /// 0.8M: block 64, 4×4×128; trains in a minute on a laptop CPU). Throws a `ConfigError` for an
    /// unknown name.
    public static func preset(named name: String) throws -> GPTConfig {
        switch name {
        case "gpt2": return try GPTConfig()
        case "gpt2-medium": return try GPTConfig(layerCount: 24, headCount: 16, embeddingSize: 1024)
        case "shakespeare-char":
            return try GPTConfig(vocabularySize: 65, blockSize: 256, layerCount: 6, headCount: 6,
                                 embeddingSize: 384, dropout: 0.2, bias: false)
        case "tiny":
            return try GPTConfig(vocabularySize: 65, blockSize: 64, layerCount: 4, headCount: 4,
                                 embeddingSize: 128, bias: true)
        default:
            throw ConfigError(field: "preset", reason: "unknown preset \"\(name)\"; expected one of \(presetNames.joined(separator: ", "))")
        }
    }

    /// Names `preset(named:)` accepts.
    public static let presetNames = ["gpt2", "gpt2-medium", "shakespeare-char", "tiny"]
}
