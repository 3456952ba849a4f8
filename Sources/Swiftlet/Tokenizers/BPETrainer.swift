/// Learns a byte-level BPE vocabulary from a corpus.
///
/// The corpus is cut into pieces with GPT-2's pre-tokenizer and each distinct piece is counted
/// once. Then, until the vocabulary is full, the most frequent adjacent pair (the smaller pair of
/// ids on ties) is merged into a new token. Pair counts are kept up to date incrementally: a merge
/// only revisits the pieces that contain the pair (an index from pair to pieces), and a max-heap
/// with lazy deletion finds the next pair — no rescan of the corpus per merge.
public enum BPETrainer {
    /// Trains a tokenizer of `vocabularySize` tokens: 256 bytes, merges, then `specialTokens`.
    ///
    /// When the corpus runs out of pairs first, the vocabulary is smaller than asked.
    /// - Throws: ``TokenizerError/emptyCorpus``, and
    ///   ``TokenizerError/invalidVocabularySize(_:)`` when the size cannot hold the bytes and specials.
    public static func train(corpus: String, vocabularySize: Int,
                             specialTokens: [String] = [GPT2Tokenizer.endOfText]) throws -> BytePairTokenizer {
        let mergeCount = vocabularySize - 256 - specialTokens.count
        guard mergeCount >= 0 else {
            throw TokenizerError.invalidVocabularySize("\(vocabularySize) is less than 256 bytes + \(specialTokens.count) special tokens")
        }
        guard !corpus.isEmpty else { throw TokenizerError.emptyCorpus }
        var state = State(pieceCounts: countPieces(corpus))
        var merges: [BytePairTokenizer.Pair] = []
        merges.reserveCapacity(mergeCount)
        while merges.count < mergeCount, let pair = state.popMostFrequentPair() {
            state.merge(pair, into: Int32(256 + merges.count))
            merges.append(.init(Int(pair.left), Int(pair.right)))
        }
        return try BytePairTokenizer(merges: merges, specialTokens: specialTokens)
    }

    /// How often each distinct pre-tokenizer piece occurs.
    static func countPieces(_ corpus: String) -> [ArraySlice<UInt8>: Int] {
        let bytes = Array(corpus.utf8)
        var counts: [ArraySlice<UInt8>: Int] = [:]
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            var start = 0
            while start < buffer.count {
                let end = GPT2PreTokenizer.pieceEnd(base, buffer.count, from: start)
                counts[bytes[start..<end], default: 0] += 1
                start = end
            }
        }
        return counts
    }

    struct PairKey: Hashable, Comparable {
        var left: Int32, right: Int32
        static func < (a: Self, b: Self) -> Bool { (a.left, a.right) < (b.left, b.right) }
    }

    /// The pieces as token sequences, pair counts, and where each pair occurs.
    struct State {
        var pieces: [[Int32]]
        var pieceCounts: [Int]
        var pairCounts: [PairKey: Int] = [:]
        var occurrences: [PairKey: [Int32]] = [:]
        var heap = PairHeap()
        var lastVisit: [Int]

        init(pieceCounts counts: [ArraySlice<UInt8>: Int]) {
            // Sorted so that training does not depend on dictionary order.
            let sorted = counts.sorted { $0.key.lexicographicallyPrecedes($1.key) }
            pieces = sorted.map { $0.key.map { Int32($0) } }
            pieceCounts = sorted.map(\.value)
            lastVisit = Array(repeating: -1, count: pieces.count)
            for (index, piece) in pieces.enumerated() {
                for position in piece.indices.dropLast() {
                    let key = PairKey(left: piece[position], right: piece[position + 1])
                    pairCounts[key, default: 0] += pieceCounts[index]
                    occurrences[key, default: []].append(Int32(index))
                }
            }
            for (key, count) in pairCounts { heap.push(count, key) }
        }

        /// The most frequent pair (smallest ids on ties), or nil when no pair is left.
        mutating func popMostFrequentPair() -> PairKey? {
            while let (count, key) = heap.pop() {
                let current = pairCounts[key] ?? 0
                if current == count && count > 0 { return key }
                // A stale entry: counts only go down without a fresh push, so re-push those.
                if current > 0 && current < count { heap.push(current, key) }
            }
            return nil
        }

        mutating func merge(_ pair: PairKey, into token: Int32) {
            var changed = Set<PairKey>()
            for index in occurrences[pair] ?? [] {
                let piece = Int(index)
                if lastVisit[piece] == Int(token) { continue }
                lastVisit[piece] = Int(token)
                let old = pieces[piece]
                let count = pieceCounts[piece]
                var new: [Int32] = []
                new.reserveCapacity(old.count)
                var position = 0
                while position < old.count {
                    if position + 1 < old.count && old[position] == pair.left && old[position + 1] == pair.right {
                        new.append(token)
                        position += 2
                    } else {
                        new.append(old[position])
                        position += 1
                    }
                }
                if new.count == old.count { continue }
                for position in old.indices.dropLast() {
                    pairCounts[PairKey(left: old[position], right: old[position + 1]), default: 0] -= count
                }
                for position in new.indices.dropLast() {
                    let key = PairKey(left: new[position], right: new[position + 1])
                    pairCounts[key, default: 0] += count
                    if key.left == token || key.right == token {
                        occurrences[key, default: []].append(Int32(piece))
                        changed.insert(key)
                    }
                }
                pieces[piece] = new
            }
            pairCounts[pair] = nil
            occurrences[pair] = nil
            for key in changed { if let count = pairCounts[key], count > 0 { heap.push(count, key) } }
        }
    }

    /// A max-heap of (count, pair): higher count first, then the smaller pair.
    struct PairHeap {
        private var items: [(count: Int, key: PairKey)] = []

        private static func above(_ a: (count: Int, key: PairKey), _ b: (count: Int, key: PairKey)) -> Bool {
            a.count != b.count ? a.count > b.count : a.key < b.key
        }

        mutating func push(_ count: Int, _ key: PairKey) {
            items.append((count, key))
            var child = items.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard Self.above(items[child], items[parent]) else { break }
                items.swapAt(child, parent)
                child = parent
            }
        }

        mutating func pop() -> (Int, PairKey)? {
            guard let top = items.first else { return nil }
            let last = items.removeLast()
            if !items.isEmpty {
                items[0] = last
                var parent = 0
                while true {
                    let left = 2 * parent + 1, right = left + 1
                    var best = parent
                    if left < items.count && Self.above(items[left], items[best]) { best = left }
                    if right < items.count && Self.above(items[right], items[best]) { best = right }
                    if best == parent { break }
                    items.swapAt(parent, best)
                    parent = best
                }
            }
            return (top.count, top.key)
        }
    }
}
