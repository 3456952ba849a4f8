import ArgumentParser

/// `swiftlet`: train, sample, evaluate and benchmark GPT models on the CPU.
@main
struct SwiftletCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftlet",
        abstract: "Train and run GPT-style transformers on the CPU.",
        subcommands: [TrainCommand.self, SampleCommand.self, InfoCommand.self, TokenizeCommand.self, BPECommand.self, EvalCommand.self, InspectCommand.self, BenchCommand.self, AttentionCommand.self, PlotCommand.self, GenerationSpeedCommand.self]
    )
}
