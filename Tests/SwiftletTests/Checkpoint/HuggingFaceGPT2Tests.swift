import Foundation
import Swiftlet
import Testing

/// Builds tiny GPT-2 directories in Hugging Face's layout (Conv1D weights (in, out)) and checks
/// the importer renames and transposes every tensor.
@Suite("Hugging Face GPT-2 import") struct HuggingFaceGPT2Tests {
    struct Fixture {
        let V = 11, T = 8, C = 6, L = 2, H = 24
        /// nanoGPT-layout tensors by nanoGPT name (the truth the import must reproduce).
        var nano: [String: Tensor] = [:]
    }

    static func transpose(_ tensor: Tensor) throws -> Tensor {
        let (rows, columns) = (tensor.shape[0], tensor.shape[1])
        var out = [Float](repeating: 0, count: tensor.count)
        for r in 0..<rows { for c in 0..<columns { out[c * rows + r] = tensor.values[r * columns + c] } }
        return try Tensor(shape: [columns, rows], values: out)
    }

    /// Writes `config.json` and `model.safetensors`; returns the nanoGPT tensors they encode.
    /// `vocabularySize` replaces the fixture's 11 (GPT-2's 50,257 brings its tokenizer).
    static func writeDirectory(
        _ url: URL, prefix: String = "", maskBuffers: Bool = true, lmHead: Bool = false, config: [String: Any]? = nil,
        vocabularySize: Int? = nil
    ) throws -> [String: Tensor] {
        let f = Fixture()
        let vocabulary = vocabularySize ?? f.V
        var generator = RandomGenerator(seed: 3)
        func random(_ shape: [Int]) throws -> Tensor {
            try Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Float(generator.nextNormal()) })
        }
        var nano: [String: Tensor] = [:]
        var writer = SafeTensorsWriter(metadata: ["format": "pt"])
        func add(_ name: String, _ shape: [Int], conv1D: Bool = false) throws {
            let tensor = try random(shape)  // nanoGPT layout (out, in)
            nano["transformer." + name] = tensor
            try writer.add(prefix + name, tensor: conv1D ? transpose(tensor) : tensor)
        }
        try add("wte.weight", [vocabulary, f.C])
        try add("wpe.weight", [f.T, f.C])
        for layer in 0..<f.L {
            let h = "h.\(layer)."
            try add(h + "ln_1.weight", [f.C]); try add(h + "ln_1.bias", [f.C])
            if maskBuffers { try writer.add(prefix + h + "attn.bias", floats: [Float](repeating: 1, count: f.T * f.T), shape: [1, 1, f.T, f.T]) }
            try add(h + "attn.c_attn.weight", [3 * f.C, f.C], conv1D: true); try add(h + "attn.c_attn.bias", [3 * f.C])
            try add(h + "attn.c_proj.weight", [f.C, f.C], conv1D: true); try add(h + "attn.c_proj.bias", [f.C])
            try add(h + "ln_2.weight", [f.C]); try add(h + "ln_2.bias", [f.C])
            try add(h + "mlp.c_fc.weight", [f.H, f.C], conv1D: true); try add(h + "mlp.c_fc.bias", [f.H])
            try add(h + "mlp.c_proj.weight", [f.C, f.H], conv1D: true); try add(h + "mlp.c_proj.bias", [f.C])
        }
        try add("ln_f.weight", [f.C]); try add("ln_f.bias", [f.C])
        if lmHead, let wte = nano["transformer.wte.weight"] { try writer.add("lm_head.weight", tensor: wte) }
        try writer.write(to: url.appendingPathComponent("model.safetensors"))
        let json: [String: Any] = config ?? [
            "model_type": "gpt2", "n_embd": f.C, "n_layer": f.L, "n_head": 2, "n_positions": f.T, "n_ctx": f.T,
            "vocab_size": vocabulary, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new", "n_inner": NSNull(),
        ]
        try JSONSerialization.data(withJSONObject: json).write(to: url.appendingPathComponent("config.json"))
        return nano
    }

    @Test(arguments: ["", "transformer."])
    func importsRenamesAndTransposes(prefix: String) throws {
        let directory = try TemporaryDirectory()
        let nano = try Self.writeDirectory(directory.url, prefix: prefix, lmHead: !prefix.isEmpty)
        let checkpoint = try HuggingFaceGPT2.load(directory: directory.url)
        #expect(Set(checkpoint.tensors.map(\.name)) == Set(nano.keys))
        #expect(checkpoint.tensors.count == 2 + 2 * 12 + 2)
        for named in checkpoint.tensors { #expect(named.tensor == nano[named.name], "\(named.name)") }
        #expect(checkpoint.tensors.first?.name == "transformer.wte.weight")
        let config = try JSONSerialization.jsonObject(with: Data(checkpoint.configJSON.utf8)) as? [String: Any]
        #expect(config?["n_embd"] as? Int == 6 && config?["block_size"] as? Int == 8 && config?["mlp_hidden"] as? Int == 24)
        #expect(config?["bias"] as? Bool == true && config?["tie_embeddings"] as? Bool == true)
        #expect(config?["activation"] as? String == "gelu_tanh")
    }

    @Test func badDirectoriesGiveClearErrors() throws {
        let empty = try TemporaryDirectory()
        let noConfig = try #require(throws: CheckpointError.self) { try HuggingFaceGPT2.load(directory: empty.url) }
        #expect(noConfig.path.hasSuffix("config.json"))

        let wrongType = try TemporaryDirectory()
        _ = try Self.writeDirectory(wrongType.url, config: ["model_type": "llama", "n_embd": 6])
        #expect(try #require(throws: CheckpointError.self) { try HuggingFaceGPT2.load(directory: wrongType.url) }
            .reason.contains("llama"))

        let wrongShape = try TemporaryDirectory()
        _ = try Self.writeDirectory(wrongShape.url, config: [
            "n_embd": 6, "n_layer": 2, "n_head": 2, "n_positions": 8, "vocab_size": 12,
        ])
        let shape = try #require(throws: CheckpointError.self) { try HuggingFaceGPT2.load(directory: wrongShape.url) }
        #expect(shape.reason.contains("wte.weight") && shape.path.hasSuffix("model.safetensors"))

        let moreLayers = try TemporaryDirectory()
        _ = try Self.writeDirectory(moreLayers.url, config: [
            "n_embd": 6, "n_layer": 3, "n_head": 2, "n_positions": 8, "vocab_size": 11,
        ])
        #expect(try #require(throws: CheckpointError.self) { try HuggingFaceGPT2.load(directory: moreLayers.url) }
            .reason.contains("h.2.ln_1.weight"))

        let epsilon = try TemporaryDirectory()
        _ = try Self.writeDirectory(epsilon.url, config: [
            "n_embd": 6, "n_layer": 2, "n_head": 2, "n_positions": 8, "vocab_size": 11, "layer_norm_epsilon": 1e-6,
        ])
        #expect(try #require(throws: CheckpointError.self) { try HuggingFaceGPT2.load(directory: epsilon.url) }
            .reason.contains("layer_norm_epsilon"))
    }
}
