import ArgumentParser
import Foundation
import Swiftlet

/// `swiftlet inspect`: what a checkpoint holds, and whether its checksum verifies.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a checkpoint's config, parameter count, tensors and checksum.",
        discussion: """
            PATH is a Swiftlet checkpoint, a run directory (its best.safetensors, else
            last.safetensors), any other safetensors file (tensors only), or a Hugging Face GPT-2
            directory (shown as it would be imported). Exits with status 1 when a Swiftlet
            checkpoint's checksum does not match its contents.
            """
    )

    @Argument(help: "Checkpoint file, run directory or Hugging Face GPT-2 directory.")
    var path: String

    @Flag(help: "Do not list the tensors.")
    var summary = false

    func run() throws {
        let url = try ModelCheckpoint.location(of: URL(fileURLWithPath: path))
        let resolvedPath = url.path
        if url.hasDirectoryPath {
            let checkpoint = try HuggingFaceGPT2.load(directory: url)
            print("file:       \(resolvedPath) (Hugging Face GPT-2, shown as imported)")
            printConfig(checkpoint.configJSON)
            print("parameters: \(checkpoint.parameterCount.formatted()) in \(checkpoint.tensors.count) tensors")
            if !summary {
                print("tensors:    \(checkpoint.tensors.count)")
                for named in checkpoint.tensors { print("  \(named.name)  F32  \(named.tensor.shape)") }
            }
            return
        }

        // The header, then the data a few megabytes at a time (for the checksum): inspecting a
        // large checkpoint does not hold it in memory.
        let file: SafeTensorsReader
        do { file = try SafeTensorsReader(contentsOf: url) } catch let error as SafeTensorsError {
            throw CheckpointError(reading: error)
        }
        let format = file.metadata[ModelCheckpoint.Key.format]
        let bytes = (try? FileManager.default.attributesOfItem(atPath: resolvedPath)[.size] as? Int) ?? nil
        print("file:       \(resolvedPath)\(bytes.map { " (\($0.formatted()) bytes)" } ?? "")")
        print("format:     \(format.map { "\($0) v\(file.metadata[ModelCheckpoint.Key.formatVersion] ?? "?")" } ?? "plain safetensors (not a Swiftlet checkpoint)")")
        if let config = file.metadata[ModelCheckpoint.Key.config] { printConfig(config) }
        if let tokenizerJSON = file.metadata[ModelCheckpoint.Key.tokenizer] {
            if let tokenizer = try? AnyTokenizer(json: tokenizerJSON) {
                print("tokenizer:  \(tokenizer.kind.rawValue), \(tokenizer.vocabularySize.formatted()) tokens")
            } else {
                print("tokenizer:  (cannot be loaded) \(tokenizerJSON.prefix(80))")
            }
        } else if format != nil {
            print("tokenizer:  none")
        }
        let parameters = file.entries.filter { !$0.name.hasPrefix(TrainingCheckpoint.optimizerPrefix) }
        print("parameters: \(parameters.reduce(0) { $0 + $1.count }.formatted()) in \(parameters.count) tensors")
        if let training = file.metadata[ModelCheckpoint.Key.training] {
            if let state = try? TrainingState(json: training) {
                let best = state.bestValidationLoss.map { "\($0)" } ?? "none"
                print("training:   step \(state.step), batches drawn \(state.trainSampler.batchesDrawn), best val loss \(best)")
            } else {
                print("training:   (unreadable state)")
            }
        }
        var verified = true
        if let stored = file.metadata[CheckpointChecksum.metadataKey] {
            do {
                try CheckpointChecksum.verify(file)
                print("checksum:   \(stored) (verified)")
            } catch let error as SafeTensorsError {  // the file could not be read to its end
                verified = false
                print("checksum:   not verified — \(error)")
            } catch {
                verified = false
                print("checksum:   MISMATCH — \(error)")
            }
        } else {
            print("checksum:   none")
        }
        if !summary {
            print("tensors:    \(file.entries.count)")
            for entry in file.entries { print("  \(entry.name)  \(entry.dtype.rawValue)  \(entry.shape)") }
        }
        if !verified { throw ExitCode(1) }
    }

    /// Prints the config JSON as stored (compact, sorted keys when Swiftlet wrote it).
    func printConfig(_ json: String) {
        print("config:     \(json)")
    }
}
