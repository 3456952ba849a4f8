import Foundation
import Swiftlet
import Testing

/// The `swiftlet` binary end to end: train, checkpoint, resume, sample, eval, and bad input.
@Suite(.serialized) struct CommandLineTests {
    /// A model small enough that a few steps take well under a second.
    let tinyModel = ["--data", "counting", "--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16",
                     "--batch-size", "2", "--eval-iters", "1", "--warmup", "1", "--decay-steps", "8"]

    func losses(_ directory: URL) throws -> [Int: Double] {
        let text = try String(contentsOf: directory.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        var losses: [Int: Double] = [:]
        for line in text.split(separator: "\n") {
            let record = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            if let loss = record["loss"] as? Double, let step = record["step"] as? Int { losses[step] = loss }
        }
        return losses
    }

    @Test func trainWritesCheckpointsMetricsAndACurve() throws {
        let out = try SwiftletProcess.temporaryDirectory("train")
        let result = try SwiftletProcess.run(["train"] + tinyModel + ["--steps", "4", "--eval-interval", "2", "--out", out.path])
        #expect(result.status == 0, "\(result.standardError)")
        for file in ["last.safetensors", "best.safetensors", "metrics.jsonl", "loss.png", "config.json"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), "missing \(file)")
        }
        #expect(try losses(out).keys.sorted() == [1, 2, 3, 4])
        #expect(result.standardOutput.contains("val loss"))
    }

    @Test func resumeInANewProcessIsBitExact() throws {
        let straight = try SwiftletProcess.temporaryDirectory("straight")
        let split = try SwiftletProcess.temporaryDirectory("split")
        let arguments = ["train"] + tinyModel + ["--eval-interval", "3", "--dropout", "0.1"]
        #expect(try SwiftletProcess.run(arguments + ["--steps", "6", "--out", straight.path]).status == 0)
        #expect(try SwiftletProcess.run(arguments + ["--steps", "3", "--out", split.path]).status == 0)
        let resumed = try SwiftletProcess.run(["train", "--resume", "--steps", "6", "--out", split.path])
        #expect(resumed.status == 0, "\(resumed.standardError)")
        #expect(try losses(straight) == losses(split))
        let a = try ModelCheckpoint(contentsOf: straight.appendingPathComponent("last.safetensors"))
        let b = try ModelCheckpoint(contentsOf: split.appendingPathComponent("last.safetensors"))
        #expect(a.tensors.map(\.name) == b.tensors.map(\.name))
        for (x, y) in zip(a.tensors, b.tensors) {
            #expect(x.tensor.values.map(\.bitPattern) == y.tensor.values.map(\.bitPattern), "\(x.name) differs after resume")
        }
    }

    @Test func sampleIsStreamedAndReproducible() throws {
        let out = try SwiftletProcess.temporaryDirectory("sample")
        #expect(try SwiftletProcess.run(["train"] + tinyModel + ["--steps", "2", "--out", out.path]).status == 0)
        let arguments = ["sample", "--checkpoint", out.path, "--prompt", "Number 1", "--max-new-tokens", "30", "--seed", "5"]
        let first = try SwiftletProcess.run(arguments)
        let second = try SwiftletProcess.run(arguments)
        #expect(first.status == 0, "\(first.standardError)")
        #expect(first.standardOutput.hasPrefix("Number 1"))
        #expect(first.standardOutput == second.standardOutput)
        let greedy = try SwiftletProcess.run(arguments + ["--temperature", "0", "--num-samples", "2"])
        #expect(greedy.status == 0)
        #expect(greedy.standardOutput.contains("--- sample 2 ---"))
    }

    @Test func evalPrintsTheLossAsJSON() throws {
        let out = try SwiftletProcess.temporaryDirectory("eval")
        #expect(try SwiftletProcess.run(["train"] + tinyModel + ["--steps", "2", "--out", out.path]).status == 0)
        let text = out.appendingPathComponent("text.txt")
        try ToyDatasets.counting(0..<20).write(to: text, atomically: true, encoding: .utf8)
        let result = try SwiftletProcess.run(["eval", "--checkpoint", out.appendingPathComponent("last.safetensors").path, "--data", text.path])
        #expect(result.status == 0, "\(result.standardError)")
        let json = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
        let loss = json?["loss"] as? Double
        #expect(loss.map { $0.isFinite && $0 > 0 } == true, "\(result.standardOutput)")
    }

    @Test(arguments: [
        (["train", "--data", "/nonexistent/file.txt"], "nonexistent"),
        (["train", "--tokenizer", "klingon"], "klingon"),
        (["train", "--n-embd", "30", "--n-head", "4"], "n_embd"),
        (["train", "--steps", "-3"], "steps"),
        (["sample", "--checkpoint", "/nonexistent.safetensors"], "nonexistent"),
        (["train", "--config", "/nonexistent.json"], "nonexistent"),
    ])
    func badInputGivesOneClearLineAndAFailingStatus(arguments: [String], mention: String) throws {
        let out = try SwiftletProcess.temporaryDirectory("bad")
        let result = try SwiftletProcess.run(arguments + ["--out", out.path].filter { _ in arguments[0] == "train" })
        #expect(result.status != 0)
        #expect(result.standardError.contains(mention), "stderr: \(result.standardError)")
        #expect(!result.standardError.contains("Fatal error"), "crashed: \(result.standardError)")
    }

    @Test func resumeWithAnotherModelConfigIsRefused() throws {
        let out = try SwiftletProcess.temporaryDirectory("mismatch")
        #expect(try SwiftletProcess.run(["train"] + tinyModel + ["--steps", "2", "--out", out.path]).status == 0)
        let result = try SwiftletProcess.run(["train", "--resume", "--n-layer", "2", "--steps", "4", "--out", out.path])
        #expect(result.status != 0)
        #expect(result.standardError.contains("n_layer"), "\(result.standardError)")
    }
}
