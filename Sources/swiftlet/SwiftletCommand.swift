import ArgumentParser

/// `swiftlet`: train, sample, evaluate and benchmark GPT models on the CPU.
@main
struct SwiftletCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftlet",
        abstract: "Train and run GPT-style transformers on the CPU.",
        subcommands: [InfoCommand.self, TokenizeCommand.self, BPECommand.self, BenchCommand.self]
    )
}
