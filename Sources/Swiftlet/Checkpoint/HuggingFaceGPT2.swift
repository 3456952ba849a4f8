import Foundation

/// Imports GPT-2 weights saved by Hugging Face `transformers` (a directory with
/// `model.safetensors` and `config.json`) as a nanoGPT-named `ModelCheckpoint`.
///
/// Hugging Face's GPT-2 differs from nanoGPT in three ways this importer undoes:
/// - names lack nanoGPT's `transformer.` prefix (`h.0.attn.c_attn.weight`); some exports
///   (`GPT2LMHeadModel`) carry it. Both are accepted.
/// - `c_attn`, `c_proj` and `c_fc` are `Conv1D` modules whose weights are stored (in, out);
///   nanoGPT's `Linear` weights are (out, in), so these four weights are transposed.
/// - the causal-mask buffers `h.N.attn.bias` / `h.N.attn.masked_bias` are not parameters and
///   are skipped.
///
/// The LM head is tied to `wte` (an `lm_head.weight` equal to it is dropped; one that differs
/// is kept and the config says `tie_embeddings: false`). F16 and BF16 files are widened to F32.
/// A model with GPT-2's 50,257-token vocabulary gets GPT-2's tokenizer, so the imported
/// checkpoint is complete.
public enum HuggingFaceGPT2 {
    /// The hyperparameters read from `config.json`.
    public struct Hyperparameters: Equatable, Sendable {
        public var vocabularySize: Int
        public var positionCount: Int
        public var layerCount: Int
        public var headCount: Int
        public var embeddingSize: Int
        public var mlpHiddenSize: Int
        public var layerNormEpsilon: Double
        public var activation: String
    }

    /// Reads `config.json` and `model.safetensors` from `directory`.
    public static func load(directory: URL) throws -> ModelCheckpoint {
        let hyper = try readConfig(directory.appendingPathComponent("config.json"))
        let weightsURL = directory.appendingPathComponent("model.safetensors")
        let file: SafeTensors
        do {
            file = try SafeTensors(contentsOf: weightsURL)
        } catch let error as SafeTensorsError {
            throw CheckpointError(path: weightsURL.path, reason: error.reason)
        }
        var checkpoint = try convert(file, hyper: hyper, source: weightsURL.path)
        if hyper.vocabularySize == 50257 {
            checkpoint.tokenizerJSON = try AnyTokenizer.gpt2(tokenizer(directory: directory)).json
        }
        return checkpoint
    }

    /// GPT-2's tokenizer: OpenAI's `encoder.json` and `vocab.bpe` from `directory` when both are
    /// there, else the bundled copy of the same files (Hugging Face's GPT-2 tokenizer is OpenAI's).
    public static func tokenizer(directory: URL) throws -> GPT2Tokenizer {
        let manager = FileManager.default
        if manager.fileExists(atPath: directory.appendingPathComponent("encoder.json").path),
           manager.fileExists(atPath: directory.appendingPathComponent("vocab.bpe").path) {
            return try GPT2Tokenizer(directory: directory)
        }
        return try GPT2Tokenizer.bundled()
    }

    /// Parses a Hugging Face GPT-2 `config.json`.
    public static func readConfig(_ url: URL) throws -> Hyperparameters {
        func fail(_ reason: String) -> CheckpointError { CheckpointError(path: url.path, reason: reason) }
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
                throw fail("is not a JSON object")
            }
            object = parsed
        } catch let error as CheckpointError {
            throw error
        } catch {
            throw fail("cannot read the Hugging Face config (\(error.localizedDescription))")
        }
        func integer(_ keys: [String], default fallback: Int? = nil) throws -> Int {
            for key in keys {
                guard let value = object[key], !(value is NSNull) else { continue }
                guard let number = value as? NSNumber, let integer = Int(exactly: number.doubleValue), integer >= 1 else {
                    throw fail("\(key) must be a positive integer, got \(value)")
                }
                return integer
            }
            if let fallback { return fallback }
            throw fail("has no \(keys.joined(separator: " or ")); is this a GPT-2 config?")
        }
        if let type = object["model_type"] as? String, type != "gpt2" {
            throw fail("model_type is \"\(type)\"; only GPT-2 (\"gpt2\") weights can be imported")
        }
        let embedding = try integer(["n_embd"])
        let epsilon = (object["layer_norm_epsilon"] as? NSNumber)?.doubleValue ?? 1e-5
        guard abs(epsilon - 1e-5) <= 1e-12 else {
            throw fail("layer_norm_epsilon is \(epsilon); Swiftlet's LayerNorm uses 1e-5")
        }
        let activation = (object["activation_function"] as? String) ?? "gelu_new"
        guard ["gelu_new", "gelu_pytorch_tanh", "gelu_fast"].contains(activation) else {
            throw fail("activation_function is \"\(activation)\"; Swiftlet imports GPT-2's tanh GELU (gelu_new)")
        }
        if let tied = object["tie_word_embeddings"] as? Bool, !tied {
            throw fail("tie_word_embeddings is false; only GPT-2's tied LM head is supported")
        }
        return Hyperparameters(
            vocabularySize: try integer(["vocab_size"]),
            positionCount: try integer(["n_positions", "n_ctx"]),
            layerCount: try integer(["n_layer"]),
            headCount: try integer(["n_head"]),
            embeddingSize: embedding,
            mlpHiddenSize: try integer(["n_inner"], default: 4 * embedding),
            layerNormEpsilon: epsilon,
            activation: activation)
    }

    /// The nanoGPT `GPTConfig` JSON for these hyperparameters (GPT-2: biases, pre-LN, tanh
    /// GELU, learned positions, tied embeddings).
    public static func configJSON(_ hyper: Hyperparameters, tiedEmbeddings: Bool = true) -> String {
        let fields: [(String, String)] = [
            ("vocab_size", "\(hyper.vocabularySize)"), ("block_size", "\(hyper.positionCount)"),
            ("n_layer", "\(hyper.layerCount)"), ("n_head", "\(hyper.headCount)"), ("n_embd", "\(hyper.embeddingSize)"),
            ("dropout", "0"), ("bias", "true"), ("norm", "\"pre\""), ("activation", "\"gelu_tanh\""),
            ("mlp_hidden", "\(hyper.mlpHiddenSize)"), ("position", "\"learned\""),
            ("tie_embeddings", tiedEmbeddings ? "true" : "false"),
        ]
        return "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    /// Renames and transposes the tensors of a Hugging Face GPT-2 file.
    static func convert(_ file: SafeTensors, hyper: Hyperparameters, source: String) throws -> ModelCheckpoint {
        func fail(_ reason: String) -> CheckpointError { CheckpointError(path: source, reason: reason) }
        let prefix = file.contains("transformer.wte.weight") ? "transformer." : ""
        let (V, T, C, H) = (hyper.vocabularySize, hyper.positionCount, hyper.embeddingSize, hyper.mlpHiddenSize)

        /// Reads a Hugging Face tensor with the expected shape, transposing Conv1D weights.
        func load(_ name: String, shape: [Int], transpose: Bool = false) throws -> Tensor {
            let hfName = prefix + name
            guard file.contains(hfName) else {
                throw fail("has no tensor \(hfName) (expected for a GPT-2 with n_layer \(hyper.layerCount)); is this a GPT-2 model?")
            }
            let entry = try file.entry(hfName)
            guard entry.shape == shape else {
                throw fail("tensor \(hfName) has shape \(entry.shape); config.json implies \(shape)")
            }
            let values: [Float]
            do { values = try file.floatsConverting(hfName) } catch let error as SafeTensorsError {
                throw fail(error.reason)
            }
            guard transpose else { return try Tensor(shape: shape, values: values) }
            let (rows, columns) = (shape[0], shape[1])  // Conv1D (in, out) → Linear (out, in)
            var transposed = [Float](repeating: 0, count: values.count)
            for r in 0..<rows { for c in 0..<columns { transposed[c * rows + r] = values[r * columns + c] } }
            return try Tensor(shape: [columns, rows], values: transposed)
        }

        var tensors: [NamedTensor] = []
        func add(_ name: String, _ tensor: Tensor) { tensors.append(NamedTensor(name: "transformer." + name, tensor: tensor)) }
        let wte = try load("wte.weight", shape: [V, C])
        add("wte.weight", wte)
        add("wpe.weight", try load("wpe.weight", shape: [T, C]))
        for layer in 0..<hyper.layerCount {
            let h = "h.\(layer)."
            add(h + "ln_1.weight", try load(h + "ln_1.weight", shape: [C]))
            add(h + "ln_1.bias", try load(h + "ln_1.bias", shape: [C]))
            add(h + "attn.c_attn.weight", try load(h + "attn.c_attn.weight", shape: [C, 3 * C], transpose: true))
            add(h + "attn.c_attn.bias", try load(h + "attn.c_attn.bias", shape: [3 * C]))
            add(h + "attn.c_proj.weight", try load(h + "attn.c_proj.weight", shape: [C, C], transpose: true))
            add(h + "attn.c_proj.bias", try load(h + "attn.c_proj.bias", shape: [C]))
            add(h + "ln_2.weight", try load(h + "ln_2.weight", shape: [C]))
            add(h + "ln_2.bias", try load(h + "ln_2.bias", shape: [C]))
            add(h + "mlp.c_fc.weight", try load(h + "mlp.c_fc.weight", shape: [C, H], transpose: true))
            add(h + "mlp.c_fc.bias", try load(h + "mlp.c_fc.bias", shape: [H]))
            add(h + "mlp.c_proj.weight", try load(h + "mlp.c_proj.weight", shape: [H, C], transpose: true))
            add(h + "mlp.c_proj.bias", try load(h + "mlp.c_proj.bias", shape: [C]))
        }
        add("ln_f.weight", try load("ln_f.weight", shape: [C]))
        add("ln_f.bias", try load("ln_f.bias", shape: [C]))

        var tied = true
        if file.contains("lm_head.weight") {
            let head = try file.entry("lm_head.weight")
            guard head.shape == [V, C] else { throw fail("tensor lm_head.weight has shape \(head.shape); expected \([V, C])") }
            let values = try file.floatsConverting("lm_head.weight")
            if values != wte.values {
                tied = false
                tensors.append(NamedTensor(name: "lm_head.weight", tensor: try Tensor(shape: [V, C], values: values)))
            }
        }
        // Anything else besides the attention-mask buffers means this is not the GPT-2 we know.
        let known = Set(tensors.map { String($0.name.dropFirst("transformer.".count)) }.map { prefix + $0 } + ["lm_head.weight"])
        for name in file.names where !known.contains(name) {
            let isMaskBuffer = name.hasSuffix(".attn.bias") || name.hasSuffix(".attn.masked_bias")
            guard isMaskBuffer else { throw fail("has an unexpected tensor \(name) for GPT-2") }
        }
        return ModelCheckpoint(configJSON: configJSON(hyper, tiedEmbeddings: tied), tensors: tensors)
    }
}
