import ArgumentParser

/// `swiftlet`: train, sample, evaluate and benchmark GPT models on the CPU.
@main
struct SwiftletCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftlet",
        abstract: "Train and run GPT-style transformers on the CPU.",
        subcommands: [
            PrepareCommand.self, TrainCommand.self, SampleCommand.self, EvalCommand.self, InspectCommand.self,
            TokenizeCommand.self, BPECommand.self, AttentionCommand.self, PlotCommand.self,
            BenchCommand.self, InfoCommand.self, GenerationSpeedCommand.self,
        ]
    )
}
