/// Small generated datasets for trying a training run in seconds, after the reference
/// notebooks: the model should drive their loss well below that of a uniform guess.
public enum ToyDatasets {
    /// Counting text: for each i in `range`, the sentences `"Number i comes before i+1. "`
    /// and `"A{i}B{i}C{i}. "`. A character-level model learns the patterns and the
    /// successor of a number.
    ///
    ///     ToyDatasets.counting(0..<2)
    ///     // "Number 0 comes before 1. A0B0C0. Number 1 comes before 2. A1B1C1. "
    public static func counting(_ range: Range<Int>) -> String {
        var text = ""
        for i in range {
            text += "Number \(i) comes before \(i + 1). "
            text += "A\(i)B\(i)C\(i). "
        }
        return text
    }

    /// A copy task as a token stream.
    ///
    /// Each example is `length` random symbols in `0..<symbols`, then the separator
    /// (`symbols`), then the same symbols again, then the separator once more so examples
    /// are delimited. The model can only predict the second half by attending back to the
    /// first, so this task checks that attention works. The vocabulary size is `symbols + 1`.
    ///
    /// - Parameters:
    ///   - examples: how many examples to concatenate.
    ///   - length: symbols per sequence (each example is `2 * length + 2` tokens).
    ///   - symbols: distinct content symbols.
    ///   - seed: seeds the `RandomGenerator` that draws the symbols.
    public static func copy(examples: Int, length: Int, symbols: Int, seed: UInt64) throws -> CopyTask {
        guard examples >= 1, length >= 1, symbols >= 1, symbols < Int(Int32.max) else {
            throw DataError(
                source: "copy",
                reason: "needs examples ≥ 1, length ≥ 1 and symbols ≥ 1, got \(examples), \(length), \(symbols)")
        }
        var generator = RandomGenerator(seed: seed)
        let separator = Int32(symbols)
        var tokens: [Int32] = []
        tokens.reserveCapacity(examples * (2 * length + 2))
        for _ in 0..<examples {
            let sequence = (0..<length).map { _ in Int32(generator.nextInt(below: symbols)) }
            tokens += sequence
            tokens.append(separator)
            tokens += sequence
            tokens.append(separator)
        }
        return CopyTask(tokens: tokens, separator: separator, exampleLength: 2 * length + 2)
    }

    /// The tokens of a copy task and how to read them.
    public struct CopyTask: Equatable, Sendable {
        /// All examples, concatenated.
        public let tokens: [Int32]
        /// The separator id; also the largest id.
        public let separator: Int32
        /// Tokens per example: sequence, separator, copy, separator.
        public let exampleLength: Int
        /// The vocabulary size a model needs: `separator + 1`.
        public var vocabularySize: Int { Int(separator) + 1 }
        /// The tokens as a dataset named `copy`.
        public var dataset: TokenDataset { TokenDataset(tokens: tokens, source: "copy") }
    }
}
