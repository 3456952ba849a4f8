import Foundation
import Testing
@testable import Swiftlet

/// Renders realistic examples of every plot and checks they decode; with
/// `SWIFTLET_PICTURE_SAMPLES=/some/dir` set, also saves them there for people to look at.
@Suite("Picture samples") struct PictureSampleTests {
    static func save(_ picture: some Picture, _ name: String) throws -> DecodedPNG {
        let png = picture.png()
        if let directory = ProcessInfo.processInfo.environment["SWIFTLET_PICTURE_SAMPLES"] {
            try picture.write(to: URL(fileURLWithPath: directory).appendingPathComponent(name))
        }
        return try DecodedPNG(png)
    }

    /// A deterministic stand-in for Gaussian noise (sum of uniforms from an LCG).
    struct Noise {
        var state: UInt64 = 42
        mutating func next() -> Double {
            var sum = 0.0
            for _ in 0..<4 {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                sum += Double(state >> 11) / Double(1 << 53)
            }
            return (sum - 2) * 1.7
        }
    }

    @Test func lossCurveFromMetricsLog() throws {
        var noise = Noise(), lines: [String] = []
        for step in 0..<2000 {
            let loss = 1.45 + 9.5 * exp(-Double(step) / 180) + 0.08 * noise.next()
            lines.append(#"{"step": \#(step), "loss": \#(loss), "lr": 0.0003, "tokens_per_s": 51234.5}"#)
            if step % 100 == 0 || step == 1999 {
                let train = 1.45 + 9.5 * exp(-Double(step) / 180), validation = train + 0.03 + Double(step) / 5000
                lines.append(#"{"step": \#(step), "train_loss": \#(train), "val_loss": \#(validation)}"#)
            }
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-metrics-\(getpid()).jsonl")
        try lines.joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let plot = try LossCurvePlot(metricsLog: url, title: "loss: gpt-mini on shakespeare")
        #expect(plot.log.trainLoss.count == 2000 && plot.log.validationLoss.count == 21)
        let image = try Self.save(plot, "loss.png")
        #expect(image.width == 960 && image.height == 600)
    }

    @Test func attentionGrid() throws {
        let tokens = ["The", " cat", " sat", " on", " the", " mat", ".", "\n", "It", " was", " very", " happy",
                      " about", " that", "!", " extraordinarily"]
        let t = tokens.count
        let heads = (0..<4).map { head in
            (0..<t).map { query -> [Double] in
                let scores = (0...query).map { key -> Double in
                    switch head {
                    case 0: key == query - 1 ? 4 : 0  // previous token
                    case 1: key == 0 ? 3 : 0  // attention sink on the first token
                    case 2: 0  // uniform
                    default: -0.7 * Double(query - key)  // local, decaying
                    }
                }
                let exps = scores.map { exp($0) }, total = exps.reduce(0, +)
                return exps.map { $0 / total } + [Double](repeating: 0, count: t - query - 1)
            }
        }
        let grid = try AttentionPlot(probabilities: heads, tokens: tokens, layer: 0)
        let image = try Self.save(grid, "attention-grid.png")
        #expect(image.width > 600 && image.height > 600)
        let single = try AttentionPlot(probabilities: [heads[3]], tokens: tokens, layer: 2, heads: [3])
        _ = try Self.save(single, "attention-head.png")

        // Many heads and a long context: labels thin out instead of overlapping.
        let words = (0..<48).map { [" the", " quick", " brown", " fox", "\n", " jumps", ".", " over"][$0 % 8] }
        let dense: [[[Double]]] = (0..<6).map { head in
            (0..<48).map { q -> [Double] in
                let row: [Double] = (0..<48).map { k in k <= q ? exp(-Double(abs(q - k - head)) / 2) : 0 }
                let total = row.reduce(0, +)
                return row.map { $0 / total }
            }
        }
        let denseImage = try Self.save(try AttentionPlot(probabilities: dense, tokens: words, layer: 5, columns: 3),
                                       "attention-dense.png")
        #expect(denseImage.width < 2400)
    }

    @Test func positionalEncoding() throws {
        let values = (0..<64).map { position in
            (0..<32).map { i in
                let angle = Double(position) / pow(10000, Double(i / 2 * 2) / 32)
                return i % 2 == 0 ? sin(angle) : cos(angle)
            }
        }
        let image = try Self.save(try PositionalEncodingPlot(values: values, title: "sinusoidal positional encoding"),
                                  "positional-encoding.png")
        #expect(image.height > 64 * 7)
    }

    @Test func benchmark() throws {
        let lengths = [64.0, 128, 256, 512, 1024, 2048, 4096, 8192]
        let naive = AttentionBenchmarkPlot.Series(
            name: "naive", sequenceLengths: lengths,
            milliseconds: lengths.map { 0.02 + 3e-6 * $0 * $0 },
            peakBytes: lengths.map { $0 < 8192 ? 12 * $0 * $0 * 4 + 4e5 : .nan })
        let flash = AttentionBenchmarkPlot.Series(
            name: "flash", sequenceLengths: lengths,
            milliseconds: lengths.map { 0.03 + 1.6e-6 * $0 * $0 },
            peakBytes: lengths.map { 12 * 64 * $0 * 4 * 3 + 4e5 })
        let image = try Self.save(try AttentionBenchmarkPlot(series: [naive, flash]), "benchmark.png")
        #expect(image.width == 1400)
    }

    @Test func fontSpecimen() throws {
        let lines = [" !\"#$%&'()*+,-./0123456789:;<=>?", "@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_",
                     "`abcdefghijklmnopqrstuvwxyz{|}~", "jumpy gyroscope: " + BitmapFont.visibleLabel(" a\tb\nc\u{1}é", maximumLength: 20)]
        var canvas = Canvas(width: 40 + BitmapFont.width(of: lines[0], scale: 3), height: 20 + 36 * lines.count)
        for (row, line) in lines.enumerated() { canvas.drawText(line, x: 20, y: 10 + 36 * row, scale: 3) }
        let image = try Self.save(canvas, "font.png")
        #expect(image.pixels == canvas.pixels)
    }
}
