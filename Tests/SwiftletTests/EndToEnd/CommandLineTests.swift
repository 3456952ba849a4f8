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
        let outDirectory = try TemporaryDirectory()
        defer { withExtendedLifetime(outDirectory) {} }  // keep the folder until the test ends
        let out = outDirectory.url
        let result = try CommandLineTool.run(["train"] + tinyModel + ["--steps", "4", "--eval-interval", "2", "--out", out.path])
        #expect(result.status == 0, "\(result.error)")
        for file in ["last.safetensors", "best.safetensors", "metrics.jsonl", "loss.png", "config.json"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), "missing \(file)")
        }
        #expect(try losses(out).keys.sorted() == [1, 2, 3, 4])
        #expect(result.output.contains("val loss"))
    }

    @Test func resumeInANewProcessIsBitExact() throws {
        let straightDirectory = try TemporaryDirectory()
        defer { withExtendedLifetime(straightDirectory) {} }  // keep the folder until the test ends
        let straight = straightDirectory.url
        let splitDirectory = try TemporaryDirectory()
        defer { withExtendedLifetime(splitDirectory) {} }  // keep the folder until the test ends
        let split = splitDirectory.url
        let arguments = ["train"] + tinyModel + ["--eval-interval", "3", "--dropout", "0.1"]
        #expect(try CommandLineTool.run(arguments + ["--steps", "6", "--out", straight.path]).status == 0)
        #expect(try CommandLineTool.run(arguments + ["--steps", "3", "--out", split.path]).status == 0)
        let resumed = try CommandLineTool.run(["train", "--resume", "--steps", "6", "--out", split.path])
        #expect(resumed.status == 0, "\(resumed.error)")
        #expect(try losses(straight) == losses(split))
        let a = try ModelCheckpoint(contentsOf: straight.appendingPathComponent("last.safetensors"))
        let b = try ModelCheckpoint(contentsOf: split.appendingPathComponent("last.safetensors"))
        #expect(a.tensors.map(\.name) == b.tensors.map(\.name))
        for (x, y) in zip(a.tensors, b.tensors) {
            #expect(x.tensor.values.map(\.bitPattern) == y.tensor.values.map(\.bitPattern), "\(x.name) differs after resume")
        }
    }

    /// `--steps 0` saves the initial model (to compare with another implementation, or to
    /// resume from), and a run resumed from it is the run that never stopped.
    @Test func zeroStepsSavesTheInitialModel() throws {
        let straightDirectory = try TemporaryDirectory()
        defer { withExtendedLifetime(straightDirectory) {} }  // keep the folder until the test ends
        let initialDirectory = try TemporaryDirectory()
        defer { withExtendedLifetime(initialDirectory) {} }
        let (straight, initial) = (straightDirectory.url, initialDirectory.url)
        let created = try CommandLineTool.run(["train"] + tinyModel + ["--steps", "0", "--out", initial.path])
        #expect(created.status == 0, "\(created.error)")
        #expect(created.output.contains("nothing to train"))
        #expect(FileManager.default.fileExists(atPath: initial.appendingPathComponent("last.safetensors").path))
        #expect(try CommandLineTool.run(["train"] + tinyModel + ["--steps", "3", "--out", straight.path]).status == 0)
        let resumed = try CommandLineTool.run(["train", "--resume", "--steps", "3", "--out", initial.path])
        #expect(resumed.status == 0, "\(resumed.error)")
        #expect(try losses(initial) == losses(straight))
    }

    /// defaults ← preset ← config file ← flags, whichever layer names the preset: a config file
    /// alone starts from tiny; a --preset flag does not undo the file's settings; the flag's
    /// preset beats the file's; vocab_size in a file sets the tokenizer's size.
    @Test func settingsResolveInLayers() throws {
        let directory = try TemporaryDirectory()
        defer { withExtendedLifetime(directory) {} }  // keep the folder until the test ends
        func resolved(_ config: String, _ flags: [String]) throws -> [String: Any] {
            let file = directory.file("config-\(UUID().uuidString).json"), out = directory.file("run-\(UUID().uuidString)")
            try Data(config.utf8).write(to: file)
            let result = try CommandLineTool.run(["train", "--data", "counting", "--steps", "0", "--config", file.path,
                                                  "--out", out.path] + flags)
            #expect(result.status == 0, "\(result.error)")
            let data = try Data(contentsOf: out.appendingPathComponent("config.json"))
            return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        }
        let empty = try resolved("{}", [])
        #expect(empty["n_layer"] as? Int == 4 && empty["n_embd"] as? Int == 128, "an empty file starts from tiny")
        let overPreset = try resolved(#"{"n_layer": 2, "batch_size": 4}"#, ["--preset", "tiny"])
        #expect(overPreset["n_layer"] as? Int == 2 && overPreset["batch_size"] as? Int == 4)
        let flagPreset = try resolved(#"{"preset": "shakespeare-char", "lr": 0.002}"#, ["--preset", "tiny", "--n-head", "2"])
        #expect(flagPreset["n_layer"] as? Int == 4 && flagPreset["lr"] as? Double == 0.002 && flagPreset["n_head"] as? Int == 2)
        let vocabulary = try resolved(#"{"tokenizer": "bpe", "vocab_size": 270}"#, [])
        #expect(vocabulary["vocab_size"] as? Int == 270)
    }

    /// A new run in a directory that holds one replaces it: `--steps 0` writes its own initial
    /// state over the old last.safetensors, and the old best checkpoint and curve are gone until
    /// the new run evaluates.
    @Test func aNewRunReplacesTheDirectorysOldRun() throws {
        let outDirectory = try TemporaryDirectory()
        defer { withExtendedLifetime(outDirectory) {} }  // keep the folder until the test ends
        let out = outDirectory.url
        #expect(try CommandLineTool.run(["train"] + tinyModel + ["--steps", "2", "--eval-interval", "2", "--out", out.path]).status == 0)
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("best.safetensors").path))
        let again = try CommandLineTool.run(["train"] + tinyModel + ["--steps", "0", "--n-embd", "8", "--out", out.path])
        #expect(again.status == 0, "\(again.error)")
        #expect(again.output.contains("held a run; this new run replaces it"))
        let (model, _) = try ModelCheckpoint.load(out.appendingPathComponent("last.safetensors"))
        #expect(model.config.embeddingSize == 8, "last.safetensors is still the old run's")
        for stale in ["best.safetensors", "loss.png"] {
            #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent(stale).path), "the old \(stale) is left")
        }
    }

    /// A run on a data file given by a relative path resumes from another working directory: the
    /// run keeps the file's absolute path.
    @Test func resumeFindsTheDataFromAnotherDirectory() throws {
        let directory = try TemporaryDirectory()
        defer { withExtendedLifetime(directory) {} }  // keep the folder until the test ends
        try ToyDatasets.counting(0..<300).write(to: directory.file("data.txt"), atomically: true, encoding: .utf8)
        let settings = Array(tinyModel.dropFirst(2)) + ["--eval-interval", "2"]  // without --data counting
        let first = try CommandLineTool.run(["train", "--data", "data.txt", "--steps", "2", "--out", "run"] + settings,
                                            in: directory.url)
        #expect(first.status == 0, "\(first.error)")
        let resumed = try CommandLineTool.run(["train", "--resume", "--steps", "4", "--out", directory.file("run").path],
                                              in: FileManager.default.temporaryDirectory)
        #expect(resumed.status == 0, "\(resumed.error)")
    }

    @Test func sampleIsStreamedAndReproducible() throws {
        let outDirectory = try TemporaryDirectory()
        defer { withExtendedLifetime(outDirectory) {} }  // keep the folder until the test ends
        let out = outDirectory.url
        #expect(try CommandLineTool.run(["train"] + tinyModel + ["--steps", "2", "--out", out.path]).status == 0)
        let arguments = ["sample", "--checkpoint", out.path, "--prompt", "Number 1", "--max-new-tokens", "30", "--seed", "5"]
        let first = try CommandLineTool.run(arguments)
        let second = try CommandLineTool.run(arguments)
        #expect(first.status == 0, "\(first.error)")
        #expect(first.output.hasPrefix("Number 1"))
        #expect(first.output == second.output)
        let greedy = try CommandLineTool.run(arguments + ["--temperature", "0", "--num-samples", "2"])
        #expect(greedy.status == 0)
        #expect(greedy.output.contains("--- sample 2 ---"))
        // A character the tokenizer does not know, or a bad setting: a clear error, and nothing
        // printed before it.
        let unknown = try CommandLineTool.run(["sample", "--checkpoint", out.path, "--prompt", "Number €"])
        #expect(unknown.status != 0 && unknown.error.contains("not in the vocabulary"), "\(unknown.error)")
        #expect(unknown.output.isEmpty, "printed before the error: \(unknown.output)")
        let badSetting = try CommandLineTool.run(["sample", "--checkpoint", out.path, "--prompt", "Number", "--top-k", "0"])
        #expect(badSetting.status != 0 && badSetting.error.contains("top-k"), "\(badSetting.error)")
        #expect(badSetting.output.isEmpty, "printed before the error: \(badSetting.output)")
        // The counting data has no newline, nanoGPT's default start: the default prompt is then
        // the first token's text.
        let noPrompt = try CommandLineTool.run(["sample", "--checkpoint", out.path, "--max-new-tokens", "5"])
        #expect(noPrompt.status == 0, "\(noPrompt.error)")
    }

    /// A word model samples from the default prompt (a word tokenizer drops a newline), and the
    /// first new word is set apart from the prompt by a space.
    @Test func wordModelsSampleFromTheirDefaultPromptAndKeepTheSpace() throws {
        let outDirectory = try TemporaryDirectory()
        defer { withExtendedLifetime(outDirectory) {} }  // keep the folder until the test ends
        let out = outDirectory.url
        let train = try CommandLineTool.run(["train"] + tinyModel + ["--tokenizer", "word", "--steps", "2", "--out", out.path])
        #expect(train.status == 0, "\(train.error)")
        let noPrompt = try CommandLineTool.run(["sample", "--checkpoint", out.path, "--max-new-tokens", "5"])
        #expect(noPrompt.status == 0 && !noPrompt.output.isEmpty, "\(noPrompt.error)")
        let greedy = try CommandLineTool.run(["sample", "--checkpoint", out.path, "--prompt", "Number", "--max-new-tokens", "3",
                                              "--temperature", "0"])
        #expect(greedy.status == 0 && greedy.output.hasPrefix("Number "), "\(greedy.output) \(greedy.error)")
    }

    @Test func evalPrintsTheLossAsJSON() throws {
        let outDirectory = try TemporaryDirectory()
        defer { withExtendedLifetime(outDirectory) {} }  // keep the folder until the test ends
        let out = outDirectory.url
        #expect(try CommandLineTool.run(["train"] + tinyModel + ["--steps", "2", "--out", out.path]).status == 0)
        let text = out.appendingPathComponent("text.txt")
        try ToyDatasets.counting(0..<20).write(to: text, atomically: true, encoding: .utf8)
        let result = try CommandLineTool.run(["eval", "--checkpoint", out.appendingPathComponent("last.safetensors").path, "--data", text.path])
        #expect(result.status == 0, "\(result.error)")
        let folder = try CommandLineTool.run(["eval", "--checkpoint", out.path, "--data", out.path])
        #expect(folder.status != 0 && folder.error.contains("is a folder, not a text or token file"), "\(folder.error)")
        let json = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        let loss = json?["loss"] as? Double
        #expect(loss.map { $0.isFinite && $0 > 0 } == true, "\(result.output)")
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
        let outDirectory = try TemporaryDirectory()
        defer { withExtendedLifetime(outDirectory) {} }  // keep the folder until the test ends
        let out = outDirectory.url
        let result = try CommandLineTool.run(arguments + ["--out", out.path].filter { _ in arguments[0] == "train" })
        #expect(result.status != 0)
        #expect(result.error.contains(mention), "stderr: \(result.error)")
        #expect(!result.error.contains("Fatal error"), "crashed: \(result.error)")
    }

    /// An output path with a file in the way, and a file that cannot be read while the command
    /// runs: one clear line, status 1, no usage text (that is for bad arguments).
    @Test func filesInTheWayAndMissingFilesAreNamed() throws {
        let directory = try TemporaryDirectory()
        try Data().write(to: directory.file("afile"))
        for out in [directory.file("afile"), directory.file("afile").appendingPathComponent("run")] {
            let result = try CommandLineTool.run(["train"] + tinyModel + ["--steps", "1", "--out", out.path])
            #expect(result.status == 1 && result.error.contains("\(directory.file("afile").path) is a file, not a folder"),
                    "\(result.error)")
        }
        try ToyDatasets.counting(0..<50).write(to: directory.file("corpus.txt"), atomically: true, encoding: .utf8)
        let bpe = try CommandLineTool.run(["bpe", "train", "--corpus", directory.file("corpus.txt").path, "--vocab-size", "300",
                                           "--out", directory.file("afile").appendingPathComponent("bpe.json").path])
        #expect(bpe.status != 0 && bpe.error.contains("is a file, not a folder"), "\(bpe.error)")
        // A folder where a text file belongs.
        let corpusFolder = try CommandLineTool.run(["bpe", "train", "--corpus", directory.url.path, "--vocab-size", "300",
                                                    "--out", directory.file("bpe.json").path])
        #expect(corpusFolder.status != 0 && corpusFolder.error.contains("is a folder, not a text file"), "\(corpusFolder.error)")
        let run = directory.file("run")
        #expect(try CommandLineTool.run(["train"] + tinyModel + ["--steps", "1", "--out", run.path]).status == 0)
        let prompt = try CommandLineTool.run(["sample", "--checkpoint", run.path, "--prompt", "@\(directory.file("missing").path)"])
        #expect(prompt.status == 1 && prompt.error.contains("cannot read the prompt file") && !prompt.error.contains("Usage"),
                "\(prompt.error)")
        // A preset would replace the resumed run's settings.
        let resumeWithPreset = try CommandLineTool.run(["train", "--resume", "--preset", "tiny", "--steps", "2", "--out", run.path])
        #expect(resumeWithPreset.status != 0 && resumeWithPreset.error.contains("drop the preset"), "\(resumeWithPreset.error)")
    }

    @Test func preparedDirectoryTrainsWithItsOwnTokenizer() throws {
        let directory = try TemporaryDirectory()
        let prepared = directory.file("prepared")
        let prepare = try CommandLineTool.run(["prepare", "--data", "counting", "--tokenizer", "bpe", "--vocab-size", "300", "--out", prepared.path])
        #expect(prepare.status == 0, "\(prepare.error)")
        for file in ["train.bin", "val.bin", "tokenizer.json"] {
            #expect(FileManager.default.fileExists(atPath: prepared.appendingPathComponent(file).path), "missing \(file)")
        }
        let out = directory.file("run")
        let arguments = tinyModel.filter { $0 != "counting" && $0 != "--data" }
        let train = try CommandLineTool.run(["train", "--data", prepared.path] + arguments + ["--steps", "2", "--out", out.path])
        #expect(train.status == 0, "\(train.error)")
        #expect(train.output.contains("tokenizer bpe (300 tokens)"), "\(train.output)")
    }

    @Test func controlCSavesACheckpointAndResumeContinues() throws {
        let directory = try TemporaryDirectory()
        let out = directory.url
        let process = Process()
        process.executableURL = try CommandLineTool.executable()
        process.arguments = ["train"] + tinyModel + ["--steps", "30000", "--eval-interval", "30000", "--out", out.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait until a few steps are logged, then press Ctrl-C.
        let metrics = out.appendingPathComponent("metrics.jsonl")
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let lines = (try? String(contentsOf: metrics, encoding: .utf8))?.split(separator: "\n").count ?? 0
            if lines >= 3 { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        process.interrupt()
        process.waitUntilExit()
        #expect(process.terminationStatus == 130, "Ctrl-C did not stop the run")
        let checkpoint = try TrainingCheckpoint(contentsOf: out.appendingPathComponent("last.safetensors"))
        let stopped = checkpoint.state.step
        #expect(stopped >= 3)
        #expect(try losses(out).keys.max() == stopped)
        let resumed = try CommandLineTool.run(["train", "--resume", "--steps", "\(stopped + 2)", "--out", out.path])
        #expect(resumed.status == 0, "\(resumed.error)")
        #expect(try losses(out).keys.sorted() == Array(1...(stopped + 2)))
    }

    @Test func resumeWithAnotherModelConfigIsRefused() throws {
        let outDirectory = try TemporaryDirectory()
        defer { withExtendedLifetime(outDirectory) {} }  // keep the folder until the test ends
        let out = outDirectory.url
        #expect(try CommandLineTool.run(["train"] + tinyModel + ["--steps", "2", "--out", out.path]).status == 0)
        let result = try CommandLineTool.run(["train", "--resume", "--n-layer", "2", "--steps", "4", "--out", out.path])
        #expect(result.status != 0)
        #expect(result.error.contains("n_layer"), "\(result.error)")
    }
}
