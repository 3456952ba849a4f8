import Foundation
import Testing
import Swiftlet

@Suite("GPTConfig") struct GPTConfigTests {
    func decode(_ json: String) throws -> GPTConfig {
        try JSONDecoder().decode(GPTConfig.self, from: Data(json.utf8))
    }

    func expectConfigError(field: String, _ json: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try decode(json)
            Issue.record("expected a ConfigError for \(field) from \(json)", sourceLocation: sourceLocation)
        } catch let error as ConfigError {
            #expect(error.field == field, "\(error)", sourceLocation: sourceLocation)
            #expect(error.description.contains(field), sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected a ConfigError, got \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func absentKeysTakeGPT2Defaults() throws {
        let config = try decode("{}")
        #expect(config == (try GPTConfig()))
        #expect(config.vocabularySize == 50257 && config.blockSize == 1024 && config.layerCount == 12)
        #expect(config.headCount == 12 && config.embeddingSize == 768 && config.dropout == 0 && config.bias)
        #expect(config.normalization == .pre && config.activation == .geluTanh && config.mlpHiddenSize == 3072)
        #expect(config.position == .learned && config.positionBase == 10000 && config.tieEmbeddings)
        #expect(config.attention == .flash && config.paddedVocabularySize == 50304)
    }

    @Test func nanoGPTConfigDecodesWithVariantDefaults() throws {
        let config = try decode("""
            {"vocab_size": 65, "block_size": 256, "n_layer": 6, "n_head": 6, "n_embd": 384, "dropout": 0.2, "bias": false}
            """)
        #expect(config == (try GPTConfig.preset(named: "shakespeare-char")))
        #expect(config.mlpHiddenSize == 4 * 384)
        #expect(config.headSize == 64)
    }

    @Test func jsonRoundTripsWithSnakeCaseKeys() throws {
        let config = try GPTConfig(vocabularySize: 100, blockSize: 16, layerCount: 3, headCount: 2, embeddingSize: 8,
                                   dropout: 0.1, bias: true, normalization: .post, activation: .geluErf, mlpHiddenSize: 0,
                                   position: .rope, positionBase: 500, tieEmbeddings: false, attention: .naive,
                                   vocabularyPaddingMultiple: 1)
        let data = try JSONEncoder().encode(config)
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        #expect(Set(object.keys) == ["vocab_size", "block_size", "n_layer", "n_head", "n_embd", "dropout", "bias", "norm",
                                     "activation", "mlp_hidden", "position", "position_base", "tie_embeddings",
                                     "attention", "vocab_padding_multiple"])
        #expect(object["norm"] as? String == "post")
        #expect(object["activation"] as? String == "gelu_erf")
        #expect(object["position"] as? String == "rope")
        #expect(object["attention"] as? String == "naive")
        #expect(try JSONDecoder().decode(GPTConfig.self, from: data) == config)
    }

    @Test func invalidConfigsNameTheField() throws {
        expectConfigError(field: "n_embd", #"{"n_embd": 30, "n_head": 4}"#)
        expectConfigError(field: "position", #"{"n_embd": 12, "n_head": 4, "position": "rope"}"#)  // head size 3
        expectConfigError(field: "block_size", #"{"block_size": 0}"#)
        expectConfigError(field: "activation", #"{"activation": "swish"}"#)
        expectConfigError(field: "norm", #"{"norm": "sandwich"}"#)
        expectConfigError(field: "position", #"{"position": "alibi"}"#)
        expectConfigError(field: "attention", #"{"attention": "sparse"}"#)
        expectConfigError(field: "dropout", #"{"dropout": 1.0}"#)
        expectConfigError(field: "mlp_hidden", #"{"mlp_hidden": -1}"#)
        expectConfigError(field: "n_layer", #"{"n_layer": "twelve"}"#)
        expectConfigError(field: "vocab_size", #"{"vocab_size": 0}"#)
        #expect(throws: ConfigError(field: "n_embd", reason: "must be a multiple of n_head (4), got 30")) {
            try GPTConfig(headCount: 4, embeddingSize: 30)
        }
        #expect(throws: ConfigError.self) { try GPTConfig.preset(named: "gpt5") }
        for name in GPTConfig.presetNames { #expect(throws: Never.self) { try GPTConfig.preset(named: name) } }
    }

    @Test func attentionOnlyAndUntiedLayouts() throws {
        let config = try GPTConfig(vocabularySize: 10, blockSize: 4, layerCount: 1, headCount: 1, embeddingSize: 4,
                                   bias: true, normalization: .post, mlpHiddenSize: 0, position: .sinusoidal,
                                   tieEmbeddings: false, vocabularyPaddingMultiple: 1)
        let names = try GPT.layout(for: config).slots.map(\.name)
        #expect(names == ["transformer.wte.weight",
                          "transformer.h.0.ln_1.weight", "transformer.h.0.ln_1.bias",
                          "transformer.h.0.attn.c_attn.weight", "transformer.h.0.attn.c_attn.bias",
                          "transformer.h.0.attn.c_proj.weight", "transformer.h.0.attn.c_proj.bias",
                          "lm_head.weight"])
    }
}
