import Swiftlet

/// GPT-2 byte-level BPE encoding of tinyshakespeare (the bundled 1.1 MB text), as ordinary text,
/// on as many threads as the sweep gives. Reports tokens/s; GB/s and FLOPs do not apply.
enum TokenizerCases {
    static func all() -> [BenchmarkCase] {
        // The shape is the text's size in bytes, known without reading it (the resource's size).
        [BenchmarkCase(name: "gpt2_encode", shape: "tinyshakespeare") { space in
            let tokenizer = try GPT2Tokenizer.bundled()
            let text = try TokenizerResources.tinyShakespeareText()
            space.tokensPerCall = try tokenizer.encodeOrdinary(text).count
            return { _ = try tokenizer.encodeOrdinary(text, threads: Runtime.threads) }
        }]
    }
}
