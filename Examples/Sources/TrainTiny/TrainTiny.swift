// Trains a tiny character-level GPT on a few lines of text for a few steps and prints the loss.
import Swiftlet

@main
struct TrainTiny {
    static let text = """
        First Citizen:
        Before we proceed any further, hear me speak.
        All:
        Speak, speak.
        First Citizen:
        You are all resolved rather to die than to famish?
        """

    static func main() throws {
        // A character vocabulary: every distinct character of the text, sorted.
        let characters = Array(Set(text)).sorted()
        let idOf = Dictionary(uniqueKeysWithValues: characters.enumerated().map { ($1, Int32($0)) })
        let ids = text.compactMap { idOf[$0] }

        let config = try GPTConfig(vocabularySize: characters.count, blockSize: 32, layerCount: 2, headCount: 4,
                                   embeddingSize: 64, bias: false)
        let model = try GPT(config: config, seed: 1337)
        let trainer = try Trainer(model: model,
                                  schedule: .warmupCosine(maxLR: 3e-3, minLR: 3e-4, warmupSteps: 5, decaySteps: 60))
        print("\(model.parameterCount) parameters; \(Runtime.summary)")

        // 8 random windows: inputs are ids[i..<i+T], targets the same window shifted by one.
        var random = RandomGenerator(seed: 7)
        func nextBatch(batchSize: Int = 8, length: Int = 32) -> TrainingBatch {
            var inputs: [Int32] = [], targets: [Int32] = []
            for _ in 0..<batchSize {
                let start = random.nextInt(below: ids.count - length - 1)
                inputs += ids[start..<(start + length)]
                targets += ids[(start + 1)...(start + length)]
            }
            return TrainingBatch(inputs: inputs, targets: targets, batchSize: batchSize, sequenceLength: length)
        }

        for _ in 0..<60 {
            let result = try trainer.step { nextBatch() }
            if result.step == 1 || result.step % 10 == 0 {
                print("step \(result.step): loss \(result.loss), lr \(result.learningRate), grad norm \(result.gradientNorm)")
            }
        }
        print("evaluation loss \(try trainer.evaluate(nextBatch()))")
    }
}
