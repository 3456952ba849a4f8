import ArgumentParser
import Foundation
import Swiftlet

/// `swiftlet generation-speed`: tokens per second of a randomly initialized model, with and
/// without the KV cache (what the harness's `generate_gpt2_124m` measures), and where a cached
/// decode step spends its time.
struct GenerationSpeedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generation-speed",
        abstract: "Time greedy generation of a random model with and without the KV cache.",
        discussion: "Batch 1. The model is randomly initialized from --preset (default gpt2, 124M); nothing is downloaded."
    )

    @Option(help: "Model preset (gpt2, gpt2-medium, shakespeare-char, tiny).") var preset = "gpt2"
    @Option(name: .customLong("prompt-length"), help: "Prompt tokens.") var promptLength = 64
    @Option(name: .customLong("new-tokens"), help: "Tokens to generate with the cache.") var newTokens = 64
    @Option(name: .customLong("uncached-tokens"), help: "Tokens to generate without the cache (0 skips it).") var uncachedTokens = 8
    @Flag(help: "Also time each part of one cached decode step.") var profile = false
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        try runtime.apply()
        let config: GPTConfig
        do { config = try GPTConfig.preset(named: preset) } catch { throw ValidationError("--preset: \(error)") }
        let model = try GenerationBenchmark.makeModel(config: config)
        print("model \(preset): \(model.parameterCount) parameters, threads \(Runtime.threads), ISA \(Runtime.instructionSet.rawValue)")
        let cached = try GenerationBenchmark.run(model: model, promptLength: promptLength, newTokens: newTokens, useCache: true)
        report("cache", cached)
        if uncachedTokens > 0 {
            let recomputed = try GenerationBenchmark.run(model: model, promptLength: promptLength, newTokens: uncachedTokens,
                                                         useCache: false)
            report("no cache", recomputed)
            print(String(format: "speedup of the cache: %.1f×", cached.tokensPerSecond / recomputed.tokensPerSecond))
        }
        guard profile else { return }
        print(String(format: "streaming bandwidth (triad, %d threads): %.1f GB/s", Runtime.threads,
                     GenerationBenchmark.streamingBandwidth()))
        print("one cached decode step at position \(promptLength):")
        for part in try GenerationBenchmark.profileDecodeStep(model: model, promptLength: promptLength) {
            let bandwidth = part.weightBytes > 0 ? String(format: "  %6.1f MB  %5.1f GB/s", Double(part.weightBytes) / 1e6,
                                                          Double(part.weightBytes) / part.seconds / 1e9) : ""
            let name = part.part.padding(toLength: 11, withPad: " ", startingAt: 0)
            print("  " + name + String(format: " %8.3f ms", part.seconds * 1e3) + bandwidth)
        }
    }

    private func report(_ label: String, _ result: GenerationBenchmark.Result) {
        print(label.padding(toLength: 8, withPad: " ", startingAt: 0) + String(format: " %4d tokens after %d: %6.2f tokens/s overall, %6.2f tokens/s decoding, first token %.3f s, total %.2f s",
                     result.newTokens, result.promptLength, result.tokensPerSecond,
                     result.decodeTokensPerSecond, result.firstTokenSeconds, result.seconds))
    }
}
