import Foundation
import Swiftlet
import Testing

@Suite("Datasets, splits and batches") struct DatasetTests {
    @Test func splitMatchesNanoGPT() {
        // Python: int(n * 0.9)
        #expect(DataSplit.trainCount(of: 1_115_394) == 1_003_854)
        #expect(DataSplit.trainCount(of: 17) == 15)
        #expect(DataSplit.trainCount(of: 0) == 0)
        let data = TokenDataset(tokens: (0..<17).map(Int32.init))
        let (train, validation) = DataSplit.split(data)
        #expect(train.tokens() == (0..<15).map(Int32.init))
        #expect(validation.tokens() == [15, 16])
        #expect(validation[1] == 16)
    }

    @Test func textSplitCountsUnicodeScalarsLikePython() {
        // "é" and "🙂" are one Python character each.
        let text = "aé🙂defghij"  // 10 scalars → 9 / 1
        let (train, validation) = DataSplit.split(text: text)
        #expect(train == "aé🙂defghi")
        #expect(validation == "j")
    }

    @Test func randomBatchesAreShiftedWindowsInRange() throws {
        let data = TokenDataset(tokens: (0..<50).map(Int32.init))
        var sampler = try BatchSampler(data: data, batchSize: 4, blockSize: 8, seed: 1)
        var starts = Set<Int32>()
        for _ in 0..<200 {
            let batch = sampler.next()
            #expect(batch.inputs.count == 32 && batch.targets.count == 32)
            for row in 0..<4 {
                let first = batch.inputs[row * 8]
                starts.insert(first)
                #expect(first >= 0 && first <= 50 - 8 - 1)  // randint(len - T) is exclusive
                for t in 0..<8 {
                    #expect(batch.inputs[row * 8 + t] == first + Int32(t))
                    #expect(batch.targets[row * 8 + t] == first + Int32(t) + 1)
                }
            }
        }
        #expect(starts.count == 42)  // every start 0...41 drawn
        #expect(sampler.state.batchesDrawn == 200)
    }

    @Test func samplerIsSeededAndResumable() throws {
        let data = TokenDataset(tokens: (0..<1000).map { Int32($0 % 97) })
        var straight = try BatchSampler(data: data, batchSize: 3, blockSize: 16, seed: 42)
        var first = try BatchSampler(data: data, batchSize: 3, blockSize: 16, seed: 42)
        for _ in 0..<5 { #expect(straight.next() == first.next()) }
        // Save the state as JSON (as a checkpoint does) and resume in a fresh sampler.
        let saved = try JSONEncoder().encode(first.state)
        var resumed = try BatchSampler(
            data: data, batchSize: 3, blockSize: 16, state: try JSONDecoder().decode(BatchSampler.State.self, from: saved))
        for _ in 0..<5 { #expect(straight.next() == resumed.next()) }
        var other = try BatchSampler(data: data, batchSize: 3, blockSize: 16, seed: 43)
        var same = try BatchSampler(data: data, batchSize: 3, blockSize: 16, seed: 42)
        #expect(other.next() != same.next())
    }

    @Test func shortAndEmptyDataAreRefused() throws {
        let exact = TokenDataset(tokens: [1, 2, 3, 4, 5], source: "five")
        var sampler = try BatchSampler(data: exact, batchSize: 2, blockSize: 4, seed: 0)
        #expect(sampler.next().inputs == [1, 2, 3, 4, 1, 2, 3, 4])
        let short = try #require(throws: DataError.self) {
            try BatchSampler(data: exact, batchSize: 2, blockSize: 5, seed: 0)
        }
        #expect(short.description.contains("five") && short.description.contains("at least 6"))
        let empty = try #require(throws: DataError.self) {
            try BatchSampler(data: TokenDataset(tokens: [], source: "nothing"), batchSize: 1, blockSize: 4, seed: 0)
        }
        #expect(empty.description.contains("empty"))
        #expect(throws: DataError.self) { try TokenDataset(tokens: [1, 70]).validate(vocabularySize: 65) }
    }

    @Test func sequentialBatchesPredictEveryTokenOnce() throws {
        let data = TokenDataset(tokens: (0..<23).map(Int32.init))
        let batches = try SequentialBatches(data: data, batchSize: 2, blockSize: 5)
        #expect(batches.windowCount == 5)  // ceil(22 / 5)
        var targets: [Int32] = []
        var rows: [Int] = []
        for batch in batches {
            rows.append(batch.batchSize)
            for (input, target) in zip(batch.inputs, batch.targets) where target != -1 {
                #expect(target == input + 1)
                targets.append(target)
            }
        }
        #expect(rows == [2, 2, 1])
        #expect(targets == (1..<23).map(Int32.init))
        #expect(batches.targetCount == 22)
    }

    @Test func memoryMappedFileDatasetMatchesMemory() throws {
        let directory = try TemporaryDirectory()
        let url = directory.file("t.bin")
        let tokens = (0..<300).map { Int32(($0 * 31) % 200) }
        try TokenFile.write(tokens, vocabularySize: 200, to: url)
        let file = try TokenDataset(contentsOf: url)
        let memory = TokenDataset(tokens: tokens)
        var a = try BatchSampler(data: DataSplit.split(file).train, batchSize: 2, blockSize: 7, seed: 9)
        var b = try BatchSampler(data: DataSplit.split(memory).train, batchSize: 2, blockSize: 7, seed: 9)
        for _ in 0..<10 { #expect(a.next() == b.next()) }
        #expect(DataSplit.split(file).validation.tokens() == Array(tokens[270...]))
    }

    @Test func countingText() {
        #expect(ToyDatasets.counting(0..<2) == "Number 0 comes before 1. A0B0C0. Number 1 comes before 2. A1B1C1. ")
        #expect(ToyDatasets.counting(5..<5).isEmpty)
    }

    @Test func copyTaskRepeatsEachSequenceAfterTheSeparator() throws {
        let task = try ToyDatasets.copy(examples: 20, length: 6, symbols: 10, seed: 3)
        #expect(task.vocabularySize == 11)
        #expect(task.tokens.count == 20 * 14)
        for example in 0..<20 {
            let tokens = Array(task.tokens[(example * 14)..<((example + 1) * 14)])
            #expect(tokens[6] == 10 && tokens[13] == 10)
            #expect(Array(tokens[0..<6]) == Array(tokens[7..<13]))
            #expect(tokens[0..<6].allSatisfy { $0 >= 0 && $0 < 10 })
        }
        #expect(try ToyDatasets.copy(examples: 20, length: 6, symbols: 10, seed: 3) == task)
        #expect(try ToyDatasets.copy(examples: 20, length: 6, symbols: 10, seed: 4) != task)
        #expect(throws: DataError.self) { try ToyDatasets.copy(examples: 0, length: 6, symbols: 10, seed: 3) }
    }
}
