import ArgumentParser
import Swiftlet

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

    /// Checks OMP_NUM_THREADS before any kernel runs (OpenMP's runtime aborts on some values),
    /// except for help, which runs none.
    static func main() {
        let asksForHelp = CommandLine.arguments.dropFirst().contains { ["-h", "--help", "help"].contains($0) }
        if !asksForHelp, let problem = Runtime.threadEnvironmentProblem() { exit(withError: CommandError(problem)) }
        main(nil)
    }
}
