import Foundation
import Swiftlet
import Testing

@Suite("BPE trainer") struct BPETrainerTests {
    /// The textbook algorithm: recount every pair of every piece before each merge.
    static func naiveMerges(corpus: String, mergeCount: Int) -> [BytePairTokenizer.Pair] {
        var counts: [[Int]: Int] = [:]
        for piece in GPT2PreTokenizer.split(corpus) { counts[piece.utf8.map { Int($0) }, default: 0] += 1 }
        var pieces = Array(counts.keys)
        let weights = pieces.map { counts[$0] ?? 0 }
        var merges: [BytePairTokenizer.Pair] = []
        while merges.count < mergeCount {
            var pairCounts: [BytePairTokenizer.Pair: Int] = [:]
            for (piece, weight) in zip(pieces, weights) {
                for index in piece.indices.dropLast() { pairCounts[.init(piece[index], piece[index + 1]), default: 0] += weight }
            }
            guard let best = pairCounts.max(by: { a, b in
                a.value != b.value ? a.value < b.value : (a.key.left, a.key.right) > (b.key.left, b.key.right)
            }) else { break }
            let token = 256 + merges.count
            merges.append(best.key)
            pieces = pieces.map { piece in
                var merged: [Int] = []
                var index = 0
                while index < piece.count {
                    if index + 1 < piece.count && piece[index] == best.key.left && piece[index + 1] == best.key.right {
                        merged.append(token)
                        index += 2
                    } else {
                        merged.append(piece[index])
                        index += 1
                    }
                }
                return merged
            }
        }
        return merges
    }

    @Test func incrementalCountsGiveTheTextbookMerges() throws {
        let corpus = String(try TokenizerResources.tinyShakespeareText().prefix(60_000)) + " aaaa aaa aaaaa aaaaaaa 😀😀 ééé"
        let trained = try BPETrainer.train(corpus: corpus, vocabularySize: 256 + 400 + 1)
        #expect(trained.merges.count == 400)
        #expect(trained.merges == Self.naiveMerges(corpus: corpus, mergeCount: 400))
    }

    @Test func vocabularyLayout() throws {
        let tokenizer = try TokenizerFixtures.smallBPE.get()
        #expect(tokenizer.vocabularySize == 600)
        #expect(tokenizer.merges.count == 600 - 257)
        #expect(tokenizer.specialTokens == ["<|endoftext|>": 599])
        #expect(try tokenizer.tokenBytes(65) == [65])
        // A merged token stands for the bytes of its two parts.
        let first = tokenizer.merges[0]
        #expect(try tokenizer.tokenBytes(256) == (try tokenizer.tokenBytes(first.left)) + (try tokenizer.tokenBytes(first.right)))
    }

    @Test func encodesAndRoundTrips() throws {
        let tokenizer = try TokenizerFixtures.smallBPE.get()
        let text = try TokenizerResources.tinyShakespeareText()
        let ids = try tokenizer.encode(text)
        #expect(ids.count < text.utf8.count / 2)  // 600 tokens compress English well below 1 per byte
        #expect(try tokenizer.decode(ids) == text)
        #expect(try tokenizer.encode(text, threads: 3) == ids)
        var random = RandomUnicodeText(seed: 5)
        for _ in 0..<200 {
            let sample = random.next()
            #expect(try tokenizer.decode(try tokenizer.encode(sample)) == sample, "\(sample.debugDescription)")
        }
        #expect(try tokenizer.encode("a<|endoftext|>", allowedSpecial: ["<|endoftext|>"]).last == 599)
    }

    @Test func savedAndLoaded() throws {
        let tokenizer = try TokenizerFixtures.smallBPE.get()
        let directory = try TokenizerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("bpe.json")
        try AnyTokenizer.bytePair(tokenizer).write(to: url)
        guard case .bytePair(let loaded) = try AnyTokenizer(contentsOf: url) else {
            Issue.record("wrong kind")
            return
        }
        #expect(loaded == tokenizer)
        #expect(try loaded.encode("To be, or not to be") == (try tokenizer.encode("To be, or not to be")))
    }

    @Test func badInputs() throws {
        #expect(throws: TokenizerError.emptyCorpus) { try BPETrainer.train(corpus: "", vocabularySize: 300) }
        #expect(throws: TokenizerError.self) { try BPETrainer.train(corpus: "abc", vocabularySize: 256) }
        // A corpus that runs out of pairs gives a smaller vocabulary, not a failure.
        let tiny = try BPETrainer.train(corpus: "ab ab", vocabularySize: 1000)
        #expect(tiny.vocabularySize < 1000)
        #expect(try tiny.decode(try tiny.encode("ab ab")) == "ab ab")
        let future = #"{"kind":"bpe","merges":[[256,1]],"special_tokens":[]}"#
        #expect(throws: TokenizerError.self) { try AnyTokenizer(json: future) }
        let wrongSize = #"{"kind":"bpe","merges":[[97,98]],"special_tokens":[],"vocab_size":300}"#
        #expect(throws: TokenizerError.self) { try AnyTokenizer(json: wrongSize) }
        let badPair = #"{"kind":"bpe","merges":[[97]],"special_tokens":[]}"#
        #expect(throws: TokenizerError.self) { try AnyTokenizer(json: badPair) }
    }
}
