import ArgumentParser
import Foundation
import Swiftlet

/// `swiftlet attention`: heatmaps of a model's attention probabilities on a prompt.
struct AttentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention",
        abstract: "Draw attention-probability heatmaps for a prompt, one PNG per layer.",
        discussion: """
            Each image shows one layer: a grid with one panel per head (or only --head), query tokens
            down, key tokens across, keys after the query greyed out (the causal mask), and a colour
            scale. --out is a directory (default: the current one; files attention-layer<L>.png) or,
            for a single layer, a .png file.
            """
    )

    @Option(help: "Checkpoint file, run directory or Hugging Face GPT-2 directory.") var checkpoint: String
    @Option(help: "Prompt text, or @FILE to read it from a file.") var prompt: String
    @Option(help: "Only this layer (default: every layer).") var layer: Int?
    @Option(help: "Only this head (default: every head).") var head: Int?
    @Option(help: "Output directory, or a .png file when one layer is drawn.") var out: String = "."
    @Flag(name: .customLong("allow-special"), help: "Read special tokens such as <|endoftext|> in the prompt as tokens.") var allowSpecial = false
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        try runtime.apply()
        let url = try CheckpointLocation.resolve(checkpoint)
        let (model, savedTokenizer) = try ModelCheckpoint.load(url)
        guard let tokenizer = savedTokenizer else {
            throw CommandError("\(url.path) has no tokenizer; it cannot turn the prompt into ids")
        }
        let config = model.config
        if let layer, !(0..<config.layerCount).contains(layer) {
            throw ValidationError("--layer \(layer) is out of range: this model has layers 0...\(config.layerCount - 1)")
        }
        if let head, !(0..<config.headCount).contains(head) {
            throw ValidationError("--head \(head) is out of range: this model has heads 0...\(config.headCount - 1)")
        }
        let text = try PromptText.read(prompt)
        let specials = allowSpecial ? Set(tokenizer.specialTokens.keys) : []
        let ids = try tokenizer.encode(text, allowedSpecial: specials).map { Int32($0) }
        guard !ids.isEmpty else { throw ValidationError("--prompt encodes to no tokens; give at least one character") }
        guard ids.count <= config.blockSize else {
            throw ValidationError("--prompt is \(ids.count) tokens, longer than the model's block_size \(config.blockSize)")
        }
        let labels = try ids.map { String(decoding: try tokenizer.tokenBytes(Int($0)), as: UTF8.self) }
        let layers = layer.map { [$0] } ?? Array(0..<config.layerCount)
        let destinations = try outputFiles(layers: layers)
        for (layer, file) in zip(layers, destinations) {
            let probabilities = try model.attentionProbabilities(for: ids, layer: layer)
            let picture: AttentionPlot
            if let head {
                let t = ids.count
                let matrix = (0..<t).map { query in
                    Array(probabilities.values[((head * t) + query) * t..<((head * t) + query + 1) * t])
                }
                picture = try AttentionPlot(probabilities: [matrix], tokens: labels, layer: layer, heads: [head])
            } else {
                picture = try AttentionPlot(flatProbabilities: probabilities.values, headCount: config.headCount,
                                            tokens: labels, layer: layer)
            }
            try picture.write(to: file)
            print(file.path)
        }
    }

    /// One PNG per layer: `out` itself when it names a .png (one layer only), else files in the directory `out`.
    private func outputFiles(layers: [Int]) throws -> [URL] {
        let base = URL(fileURLWithPath: out)
        if out.lowercased().hasSuffix(".png") {
            guard layers.count == 1 else {
                throw ValidationError("--out \(out) is one file but \(layers.count) layers would be drawn: give --layer, or a directory")
            }
            try AtomicFile.createDirectory(base.deletingLastPathComponent())
            return [base]
        }
        try AtomicFile.createDirectory(base)
        let suffix = head.map { "-head\($0)" } ?? ""
        return layers.map { base.appendingPathComponent("attention-layer\($0)\(suffix).png") }
    }
}
