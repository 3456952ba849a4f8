import ArgumentParser
import Foundation
import Swiftlet

/// `swiftlet plot`: pictures of a model's positional encoding and of a run's loss curves.
struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw PNG pictures: positional encodings, loss curves.",
        subcommands: [PositionalEncodingCommand.self, LossCommand.self]
    )
}

/// `swiftlet plot pe`: a positional-encoding heatmap, position × dimension.
struct PositionalEncodingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pe",
        abstract: "Draw a positional-encoding heatmap (position down, dimension across).",
        discussion: """
            --kind sinusoidal draws the fixed table sin/cos(t / base^(2i/C)) and needs no checkpoint
            (--positions, --dimensions, --base). --kind learned draws transformer.wpe.weight of
            --checkpoint (its first --positions rows if given).
            """
    )

    enum Kind: String, ExpressibleByArgument, CaseIterable { case sinusoidal, learned }

    @Option(help: "sinusoidal or learned.") var kind: Kind
    @Option(help: "Checkpoint file, run directory or Hugging Face GPT-2 directory (learned).") var checkpoint: String?
    @Option(help: "Positions (rows) to draw. Default: 128 (sinusoidal), block_size (learned).") var positions: Int?
    @Option(help: "Embedding dimensions of the sinusoidal table.") var dimensions: Int = 128
    @Option(help: "Base of the sinusoidal frequencies.") var base: Float = 10_000
    @Option(help: "Output PNG file (default: pe-<kind>.png).") var out: String?

    func validate() throws {
        if let positions, positions < 1 { throw ValidationError("--positions must be at least 1, got \(positions)") }
        if dimensions < 2 || dimensions % 2 != 0 { throw ValidationError("--dimensions must be even and at least 2, got \(dimensions)") }
        if !(base > 0 && base.isFinite) { throw ValidationError("--base must be positive, got \(base)") }
        if kind == .learned && checkpoint == nil { throw ValidationError("--kind learned needs --checkpoint (it draws transformer.wpe.weight)") }
    }

    func run() throws {
        let table: Tensor, title: String
        switch kind {
        case .sinusoidal:
            let rows = positions ?? 128
            table = try Kernels.sinusoidalTable(length: rows, channels: dimensions, base: base)
            title = "sinusoidal positions, base \(Int(base))"
        case .learned:
            let url = try CheckpointLocation.resolve(checkpoint ?? "")
            let (model, _) = try ModelCheckpoint.load(url)
            guard model.config.position == .learned else {
                throw CommandError("\(url.path) has no learned position table: its model uses \(model.config.position.rawValue) positions")
            }
            let wpe = try model.parameters.tensor(named: "transformer.wpe.weight")
            let (length, channels) = (wpe.shape[0], wpe.shape[1])
            if let positions, positions > length {
                throw ValidationError("--positions \(positions): the model learned \(length) positions (its block_size); give at most \(length)")
            }
            let rows = positions ?? length
            table = try Tensor(shape: [rows, channels], values: Array(wpe.values.prefix(rows * channels)))
            title = "learned positional embedding (wpe)"
        }
        let picture = try PositionalEncodingPlot(flatValues: table.values, positions: table.shape[0],
                                                 dimensions: table.shape[1], title: title)
        let file = URL(fileURLWithPath: out ?? "pe-\(kind.rawValue).png")
        try AtomicFile.createDirectory(file.deletingLastPathComponent())
        try picture.write(to: file)
        print(file.path)
    }
}

/// `swiftlet plot loss RUN_DIR`: train and validation loss of a run on one chart.
struct LossCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loss",
        abstract: "Draw a run's train and validation loss curves from RUN_DIR/metrics.jsonl."
    )

    @Argument(help: "The training run's directory (holds metrics.jsonl).") var runDirectory: String
    @Option(help: "Output PNG file (default: RUN_DIR/loss.png).") var out: String?
    @Flag(name: .customLong("log-scale"), help: "Logarithmic loss axis.") var logScale = false

    func run() throws {
        let directory = URL(fileURLWithPath: runDirectory)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CommandError("no run directory at \(runDirectory)")
        }
        let metrics = directory.appendingPathComponent("metrics.jsonl")
        guard FileManager.default.fileExists(atPath: metrics.path) else {
            throw CommandError("\(runDirectory) has no metrics.jsonl: is it a training run's directory (swiftlet train --out)?")
        }
        let picture = try LossCurvePlot(metricsLog: metrics, title: "loss: \(directory.lastPathComponent)", logarithmicLoss: logScale)
        let file = out.map { URL(fileURLWithPath: $0) } ?? directory.appendingPathComponent("loss.png")
        try AtomicFile.createDirectory(file.deletingLastPathComponent())
        try picture.write(to: file)
        print(file.path)
    }
}
