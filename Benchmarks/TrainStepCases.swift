/// GPT-2 124M training step (forward, backward, AdamW) — waits for the model (branch `model`).
enum TrainStepCases {
    static func all(quick: Bool) -> [BenchmarkCase] { [] }
}
