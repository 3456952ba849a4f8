import ArgumentParser
import Foundation
import Swiftlet

/// `swiftlet eval`: the mean loss of a model on a data file or on one exact batch.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Mean cross-entropy loss of a checkpoint on a data file or one exact batch; prints JSON.",
        discussion: """
            --checkpoint is a Swiftlet checkpoint (model or training), a run directory (its
            best.safetensors, else last.safetensors) or a Hugging Face GPT-2 directory (config.json +
            model.safetensors).

            --data FILE: a Swiftlet token file, or UTF-8 text tokenized with the checkpoint's tokenizer
            (GPT-2's for a Hugging Face directory). Every token after the first is predicted exactly once,
            in consecutive windows of --block-size tokens; the loss is the mean over all of them.

            --batch FILE: a safetensors file with int32 tensors `idx` and `targets`, both (B,T); targets
            of -1 are ignored. The loss is the model's loss on exactly that batch, so it can be compared
            with another implementation; --dump-logits OUT writes the (B,T,V) F32 logits as tensor
            `logits` of a safetensors file.

            Output: {"loss": L, "tokens": N} (N = targets counted).
            """
    )

    @Option(help: "Checkpoint file, run directory or Hugging Face GPT-2 directory.")
    var checkpoint: String

    @Option(help: "Text or token file to evaluate on.")
    var data: String?

    @Option(help: "Safetensors file with int32 idx and targets (B,T).")
    var batch: String?

    @Option(help: "Write the logits of --batch to this safetensors file.")
    var dumpLogits: String?

    @Option(help: "Which part of --data: all, train (first 90%) or val (last 10%).")
    var split: SplitChoice = .all

    @Option(help: "Sequences per forward pass for --data.")
    var batchSize: Int = 8

    @Option(help: "Tokens per sequence for --data (default and maximum: the model's block_size).")
    var blockSize: Int?

    @OptionGroup var runtime: RuntimeOptions

    enum SplitChoice: String, ExpressibleByArgument, CaseIterable { case all, train, val }

    func validate() throws {
        guard (data == nil) != (batch == nil) else { throw ValidationError("give exactly one of --data FILE or --batch FILE") }
        if dumpLogits != nil, batch == nil { throw ValidationError("--dump-logits needs --batch (one exact batch)") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if let blockSize, blockSize < 1 { throw ValidationError("--block-size must be at least 1, got \(blockSize)") }
    }

    func run() throws {
        try runtime.apply()
        let (model, tokenizer) = try ModelCheckpoint.load(CheckpointLocation.resolve(checkpoint))
        if let batch {
            let result = try Evaluation.loss(of: model, onBatchFile: URL(fileURLWithPath: batch),
                                             writingLogitsTo: dumpLogits.map { URL(fileURLWithPath: $0) })
            if result.tokens == 0 {
                FileHandle.standardError.write(Data("note: every target in \(batch) is -1; nothing was scored (loss 0)\n".utf8))
            }
            print("{\"loss\": \(result.loss), \"tokens\": \(result.tokens)}")
        } else if let data {
            var dataset = try TokenDataset.load(URL(fileURLWithPath: data), tokenizer: tokenizer, threads: Runtime.threads)
            switch split {
            case .all: break
            case .train: dataset = DataSplit.split(dataset).train
            case .val: dataset = DataSplit.split(dataset).validation
            }
            let result = try Evaluation.meanLoss(of: model, on: dataset, batchSize: batchSize, blockSize: blockSize)
            print("{\"loss\": \(result.loss), \"tokens\": \(result.tokens)}")
        }
    }
}
