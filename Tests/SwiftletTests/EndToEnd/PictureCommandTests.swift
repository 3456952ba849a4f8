import Foundation
import Swiftlet
import Testing

/// `swiftlet attention`, `swiftlet plot pe`, `swiftlet plot loss` and `swiftlet generation-speed`
/// through the binary: the files they write are valid PNGs, and bad input gives one clear line.
@Suite(.serialized) struct PictureCommandTests {
    /// A 2-layer, 2-head model trained for two steps (block_size 16), in a directory removed when
    /// the returned value goes away.
    func trainedRun() throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        let out = directory.url
        let result = try CommandLineTool.run([
            "train", "--data", "counting", "--n-layer", "2", "--n-head", "2", "--n-embd", "16", "--block-size", "16",
            "--batch-size", "2", "--eval-iters", "1", "--eval-interval", "2", "--warmup", "1", "--decay-steps", "8",
            "--steps", "2", "--out", out.path,
        ])
        #expect(result.status == 0, "\(result.error)")
        return directory
    }

    func expectPNG(_ file: URL, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let png = try DecodedPNG(try Data(contentsOf: file))
        #expect(png.width >= 200 && png.height >= 200, "\(file.lastPathComponent) is \(png.width)×\(png.height)",
                sourceLocation: sourceLocation)
    }

    @Test func attentionWritesOnePicturePerLayer() throws {
        let directory = try trainedRun()
        defer { withExtendedLifetime(directory) {} }  // keep the folder until the test ends
        let run = directory.url
        let pictures = run.appendingPathComponent("pictures")
        let all = try CommandLineTool.run(["attention", "--checkpoint", run.path, "--prompt", "Number 12", "--out", pictures.path])
        #expect(all.status == 0, "\(all.error)")
        let files = ["attention-layer0.png", "attention-layer1.png"].map { pictures.appendingPathComponent($0) }
        #expect(all.output.split(separator: "\n").map(String.init) == files.map(\.path))
        for file in files { try expectPNG(file) }

        let one = pictures.appendingPathComponent("head.png")
        let single = try CommandLineTool.run(["attention", "--checkpoint", run.path, "--prompt", "Number 12",
                                              "--layer", "1", "--head", "0", "--out", one.path])
        #expect(single.status == 0, "\(single.error)")
        try expectPNG(one)
        // One head is one panel: a smaller picture than the layer's grid of two.
        let grid = try DecodedPNG(try Data(contentsOf: files[1]))
        #expect(try DecodedPNG(try Data(contentsOf: one)).width < grid.width)
    }

    @Test func plotsPositionalEncodingsAndLossCurves() throws {
        let directory = try trainedRun()
        defer { withExtendedLifetime(directory) {} }  // keep the folder until the test ends
        let run = directory.url
        let sinusoidal = run.appendingPathComponent("pe-sin.png")
        let first = try CommandLineTool.run(["plot", "pe", "--kind", "sinusoidal", "--positions", "64", "--dimensions", "32",
                                             "--out", sinusoidal.path])
        #expect(first.status == 0, "\(first.error)")
        try expectPNG(sinusoidal)
        let learned = run.appendingPathComponent("pe-learned.png")
        let second = try CommandLineTool.run(["plot", "pe", "--kind", "learned", "--checkpoint", run.path, "--out", learned.path])
        #expect(second.status == 0, "\(second.error)")
        try expectPNG(learned)
        try FileManager.default.removeItem(at: run.appendingPathComponent("loss.png"))
        let loss = try CommandLineTool.run(["plot", "loss", run.path])
        #expect(loss.status == 0, "\(loss.error)")
        try expectPNG(run.appendingPathComponent("loss.png"))
    }

    @Test func badInputGivesClearErrors() throws {
        let directory = try trainedRun()
        defer { withExtendedLifetime(directory) {} }  // keep the folder until the test ends
        let run = directory.url
        let long = String(repeating: "1", count: 40)
        let cases: [([String], String)] = [
            (["attention", "--checkpoint", run.path, "--prompt", "1", "--layer", "2"], "--layer 2 is out of range"),
            (["attention", "--checkpoint", run.path, "--prompt", "1", "--head=-1"], "--head -1 is out of range"),
            (["attention", "--checkpoint", run.path, "--prompt", long], "block_size 16"),
            (["attention", "--checkpoint", "/nonexistent/run", "--prompt", "1"], "no checkpoint at /nonexistent/run"),
            (["attention", "--checkpoint", run.path, "--prompt", "1", "--out", "/tmp/x.png"], "--layer"),
            (["plot", "loss", FileManager.default.temporaryDirectory.path], "no metrics.jsonl"),
            (["plot", "loss", "/nonexistent/run"], "no run directory"),
            (["plot", "pe", "--kind", "learned"], "needs --checkpoint"),
            (["plot", "pe", "--kind", "learned", "--checkpoint", run.path, "--positions", "17"], "learned 16 positions"),
            (["plot", "pe", "--kind", "sinusoidal", "--dimensions", "7"], "--dimensions"),
        ]
        for (arguments, mention) in cases {
            let result = try CommandLineTool.run(arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.error.contains(mention), "\(arguments): \(result.error)")
            #expect(!result.error.contains("Fatal error"), "crashed: \(result.error)")
        }
    }

    @Test func generationSpeedReportsBothPaths() throws {
        let result = try CommandLineTool.run(["generation-speed", "--preset", "tiny", "--prompt-length", "8",
                                              "--new-tokens", "4", "--uncached-tokens", "2", "--profile"])
        #expect(result.status == 0, "\(result.error)")
        for text in ["cache ", "no cache", "speedup of the cache", "lm_head", "step"] {
            #expect(result.output.contains(text), "missing \(text): \(result.output)")
        }
    }
}
