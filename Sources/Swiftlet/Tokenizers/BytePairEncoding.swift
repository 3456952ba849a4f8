import Foundation

/// The byte-level BPE engine GPT-2 and trained BPE tokenizers share: pre-tokenize with
/// ``GPT2PreTokenizer``, map each byte of a piece to its initial token, then apply merges
/// lowest rank first (the leftmost pair on ties) until none applies.
///
/// Merges are looked up by pair of ids in an open-addressing table, never by string. Repeated
/// pieces (most of them, in real text) come from a per-call cache.
struct BytePairEncoding: Sendable {
    /// One merge: `left` followed by `right` becomes `merged`; earlier merges have lower rank.
    struct Merge: Equatable, Sendable {
        var left: Int32, right: Int32, merged: Int32
    }

    /// The initial token of each byte.
    let byteTokens: [Int32]
    /// The bytes of every token, concatenated; token `id` is `bytes[offsets[id]..<offsets[id + 1]]`.
    let tokenBytes: [UInt8]
    let tokenOffsets: [Int]
    let pairs: PairTable

    var tokenCount: Int { tokenOffsets.count - 1 }

    /// - Parameters:
    ///   - byteTokens: 256 ids, the token of each single byte.
    ///   - merges: in rank order.
    ///   - tokens: the bytes of every token, by id.
    init(byteTokens: [Int32], merges: [Merge], tokens: [[UInt8]]) {
        self.byteTokens = byteTokens
        var offsets = [0]
        offsets.reserveCapacity(tokens.count + 1)
        var bytes: [UInt8] = []
        for token in tokens {
            bytes += token
            offsets.append(bytes.count)
        }
        tokenBytes = bytes
        tokenOffsets = offsets
        pairs = PairTable(merges)
    }

    func bytes(of id: Int) -> ArraySlice<UInt8> {
        tokenBytes[tokenOffsets[id]..<tokenOffsets[id + 1]]
    }

    /// Encodes valid UTF-8, appending the ids to `output`.
    func encode(_ text: UnsafeBufferPointer<UInt8>, into output: inout [Int], workspace: Workspace) {
        guard let base = text.baseAddress else { return }
        let count = text.count
        byteTokens.withUnsafeBufferPointer { byteTokens in
            var start = 0
            while start < count {
                let end = GPT2PreTokenizer.pieceEnd(base, count, from: start)
                if end - start == 1 {
                    output.append(Int(byteTokens[Int(base[start])]))
                } else {
                    workspace.encodePiece(base + start, end - start, engine: self, byteTokens: byteTokens, into: &output)
                }
                start = end
            }
        }
    }

    /// Encodes valid UTF-8 on up to `threads` threads. The text is cut only where a piece must
    /// start whatever comes before (see ``safeSplitPoints(_:parts:)``), so the ids are the same
    /// as a single-threaded encode.
    func encode(_ text: UnsafeBufferPointer<UInt8>, threads: Int) -> [Int] {
        let bounds = Self.safeSplitPoints(text, parts: max(1, threads))
        if bounds.count <= 2 {
            var output: [Int] = []
            output.reserveCapacity(text.count / 3 + 16)
            encode(text, into: &output, workspace: Workspace())
            return output
        }
        let results = ChunkResults(count: bounds.count - 1)
        let shared = SendableText(text: text)
        DispatchQueue.concurrentPerform(iterations: bounds.count - 1) { index in
            let chunk = UnsafeBufferPointer(rebasing: shared.text[bounds[index]..<bounds[index + 1]])
            var output: [Int] = []
            output.reserveCapacity(chunk.count / 3 + 16)
            encode(chunk, into: &output, workspace: Workspace())
            results.set(index, output)
        }
        return results.joined()
    }

    /// Offsets `0 = b0 < b1 < … < bk = count` that cut the text into about `parts` equal chunks
    /// at places where the pre-tokenizer starts a piece no matter what precedes: a space or
    /// newline between two ASCII non-space characters (`c X` or `c\nX`). The character before
    /// ends its piece there (only whitespace pieces hold a space after their start), and the
    /// single space or newline is treated the same with or without the text before it.
    static func safeSplitPoints(_ text: UnsafeBufferPointer<UInt8>, parts: Int) -> [Int] {
        let count = text.count
        var bounds = [0]
        let minimumChunk = 1 << 16  // smaller chunks are not worth a thread
        guard parts > 1, count >= 2 * minimumChunk else { return [0, count] }
        let parts = min(parts, count / minimumChunk)
        func isASCIINonSpace(_ byte: UInt8) -> Bool {
            byte < 0x80 && !(byte == 0x20 || (byte >= 0x09 && byte <= 0x0D))
        }
        for part in 1..<parts {
            var position = max(count * part / parts, bounds[bounds.count - 1] + 1)
            while position + 1 < count {
                let byte = text[position]
                if (byte == 0x20 || byte == 0x0A) && isASCIINonSpace(text[position - 1]) && isASCIINonSpace(text[position + 1]) {
                    break
                }
                position += 1
            }
            if position + 1 >= count { break }
            bounds.append(position)
        }
        bounds.append(count)
        return bounds
    }

    /// Scratch space and the piece cache of one encoding thread.
    final class Workspace {
        private var parts: [Int32] = []
        private var pairKeys: [UInt64] = []  // rank << 32 | merged, or .max for no merge
        private let cache = PieceCache()

        func encodePiece(_ piece: UnsafePointer<UInt8>, _ length: Int, engine: BytePairEncoding,
                         byteTokens: UnsafeBufferPointer<Int32>, into output: inout [Int]) {
            let cacheable = length <= PieceCache.maximumPieceLength
            if cacheable, cache.append(piece, length, into: &output) { return }
            let begin = output.count
            if length > Self.longPieceLength {
                mergeLong(piece, length, engine: engine, byteTokens: byteTokens, into: &output)
            } else {
                merge(piece, length, engine: engine, byteTokens: byteTokens, into: &output)
            }
            if cacheable { cache.insert(piece, length, ids: output[begin...]) }
        }

        /// Pieces longer than this merge with a heap (O(n log n)) instead of a scan per merge
        /// (O(n²)): a megabyte of spaces or of one letter must not take hours.
        static let longPieceLength = 256

        /// The BPE merge loop on one piece: keep the rank of every adjacent pair, merge the
        /// lowest, and update only the two pairs next to it.
        private func merge(_ piece: UnsafePointer<UInt8>, _ length: Int, engine: BytePairEncoding,
                           byteTokens: UnsafeBufferPointer<Int32>, into output: inout [Int]) {
            if parts.count < length {
                parts = [Int32](repeating: 0, count: length * 2)
                pairKeys = [UInt64](repeating: 0, count: length * 2)
            }
            let pairs = engine.pairs
            parts.withUnsafeMutableBufferPointer { parts in
                pairKeys.withUnsafeMutableBufferPointer { keys in
                    for index in 0..<length { parts[index] = byteTokens[Int(piece[index])] }
                    var count = length
                    for index in 0..<(count - 1) { keys[index] = pairs.lookup(parts[index], parts[index + 1]) }
                    while count > 1 {
                        var best = UInt64.max
                        var bestIndex = 0
                        for index in 0..<(count - 1) where keys[index] < best {
                            best = keys[index]
                            bestIndex = index
                        }
                        if best == .max { break }
                        parts[bestIndex] = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
                        // Remove parts[bestIndex + 1] and the pair that started at it.
                        var index = bestIndex + 1
                        while index < count - 1 {
                            parts[index] = parts[index + 1]
                            keys[index] = keys[index + 1]
                            index += 1
                        }
                        count -= 1
                        if bestIndex + 1 < count {
                            keys[bestIndex] = pairs.lookup(parts[bestIndex], parts[bestIndex + 1])
                        }
                        if bestIndex > 0 {
                            keys[bestIndex - 1] = pairs.lookup(parts[bestIndex - 1], parts[bestIndex])
                        }
                    }
                    for index in 0..<count { output.append(Int(parts[index])) }
                }
            }
        }
    }
}

extension BytePairEncoding.Workspace {
    /// The same merges as ``merge`` for long pieces: the tokens form a linked list and a min-heap
    /// holds (rank, position) of candidate pairs, so the lowest rank merges first and the
    /// leftmost wins ties. Entries whose pair has since changed are skipped when popped.
    fileprivate func mergeLong(_ piece: UnsafePointer<UInt8>, _ length: Int, engine: BytePairEncoding,
                               byteTokens: UnsafeBufferPointer<Int32>, into output: inout [Int]) {
        let pairs = engine.pairs
        var tokens = (0..<length).map { byteTokens[Int(piece[$0])] }
        var next = (0..<length).map { $0 + 1 < length ? $0 + 1 : -1 }
        var previous = (0..<length).map { $0 - 1 }
        var heap = MinHeap()
        for index in 0..<(length - 1) {
            let key = pairs.lookup(tokens[index], tokens[index + 1])
            if key != .max { heap.push(key, index) }
        }
        while let (key, index) = heap.pop() {
            let right = next[index]
            // Skip merged-away tokens (they have no neighbours left) and stale pairs.
            guard right >= 0, previous[index] != -2, pairs.lookup(tokens[index], tokens[right]) == key else { continue }
            tokens[index] = Int32(truncatingIfNeeded: key & 0xFFFF_FFFF)
            let after = next[right]
            next[index] = after
            if after >= 0 { previous[after] = index }
            previous[right] = -2  // marks a removed token
            next[right] = -1
            if after >= 0 {
                let newKey = pairs.lookup(tokens[index], tokens[after])
                if newKey != .max { heap.push(newKey, index) }
            }
            let before = previous[index]
            if before >= 0 {
                let newKey = pairs.lookup(tokens[before], tokens[index])
                if newKey != .max { heap.push(newKey, before) }
            }
        }
        var index = 0
        while index >= 0 {
            output.append(Int(tokens[index]))
            index = next[index]
        }
    }
}

/// A binary min-heap of (merge key, position) for ``BytePairEncoding/Workspace/mergeLong``.
private struct MinHeap {
    private var items: [(key: UInt64, position: Int)] = []

    private static func below(_ a: (key: UInt64, position: Int), _ b: (key: UInt64, position: Int)) -> Bool {
        a.key != b.key ? a.key < b.key : a.position < b.position
    }

    mutating func push(_ key: UInt64, _ position: Int) {
        items.append((key, position))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.below(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (UInt64, Int)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var best = parent
                if left < items.count && Self.below(items[left], items[best]) { best = left }
                if right < items.count && Self.below(items[right], items[best]) { best = right }
                if best == parent { break }
                items.swapAt(parent, best)
                parent = best
            }
        }
        return (top.key, top.position)
    }
}

/// Merge rank and result by pair of ids: open addressing with linear probing.
struct PairTable: Sendable {
    private let keys: [UInt64]    // left << 32 | right, or .max for an empty slot
    private let values: [UInt64]  // rank << 32 | merged
    private let shift: UInt64

    init(_ merges: [BytePairEncoding.Merge]) {
        var bits: UInt64 = 4
        while (1 << bits) < merges.count * 2 { bits += 1 }
        let capacity = 1 << Int(bits)
        var keys = [UInt64](repeating: .max, count: capacity)
        var values = [UInt64](repeating: .max, count: capacity)
        let shift = 64 - bits
        for (rank, merge) in merges.enumerated() {
            let key = UInt64(UInt32(bitPattern: merge.left)) << 32 | UInt64(UInt32(bitPattern: merge.right))
            var slot = Int((key &* 0x9E37_79B9_7F4A_7C15) >> shift)
            while keys[slot] != .max && keys[slot] != key { slot = (slot + 1) & (capacity - 1) }
            if keys[slot] == key { continue }  // a repeated merge: the first (lowest) rank wins
            keys[slot] = key
            values[slot] = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: merge.merged))
        }
        self.keys = keys
        self.values = values
        self.shift = shift
    }

    /// `rank << 32 | merged` for the pair, or `UInt64.max` when it does not merge.
    @inline(__always)
    func lookup(_ left: Int32, _ right: Int32) -> UInt64 {
        let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        return keys.withUnsafeBufferPointer { keys in
            let mask = keys.count - 1
            var slot = Int((key &* 0x9E37_79B9_7F4A_7C15) >> shift)
            while true {
                let stored = keys[slot]
                if stored == key { return values.withUnsafeBufferPointer { $0[slot] } }
                if stored == .max { return .max }
                slot = (slot + 1) & mask
            }
        }
    }
}

/// Ids of pieces already encoded, keyed by the piece's bytes (open addressing, grows as needed).
final class PieceCache {
    static let maximumPieceLength = 64
    private static let maximumEntries = 1 << 20

    private var slots = [Int32](repeating: -1, count: 1 << 12)
    private var hashes: [UInt64] = []
    private var keyOffsets: [Int] = [0]
    private var valueOffsets: [Int] = [0]
    private var keyBytes: [UInt8] = []
    private var values: [Int] = []

    @inline(__always)
    private static func hash(_ piece: UnsafePointer<UInt8>, _ length: Int) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for index in 0..<length { hash = (hash ^ UInt64(piece[index])) &* 0x100_0000_01B3 }
        return hash ^ (hash >> 29)
    }

    /// Appends the cached ids of the piece and returns true, or returns false on a miss.
    func append(_ piece: UnsafePointer<UInt8>, _ length: Int, into output: inout [Int]) -> Bool {
        let hash = Self.hash(piece, length)
        guard let entry = find(piece, length, hash) else { return false }
        output.append(contentsOf: values[valueOffsets[entry]..<valueOffsets[entry + 1]])
        return true
    }

    func insert(_ piece: UnsafePointer<UInt8>, _ length: Int, ids: ArraySlice<Int>) {
        if hashes.count >= Self.maximumEntries { clear() }
        if (hashes.count + 1) * 2 > slots.count { grow() }
        let hash = Self.hash(piece, length)
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = Int32(hashes.count)
        hashes.append(hash)
        keyBytes.append(contentsOf: UnsafeBufferPointer(start: piece, count: length))
        keyOffsets.append(keyBytes.count)
        values.append(contentsOf: ids)
        valueOffsets.append(values.count)
    }

    private func find(_ piece: UnsafePointer<UInt8>, _ length: Int, _ hash: UInt64) -> Int? {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = Int(slots[slot])
            if entry < 0 { return nil }
            if hashes[entry] == hash {
                let start = keyOffsets[entry]
                if keyOffsets[entry + 1] - start == length
                    && keyBytes.withUnsafeBufferPointer({ memcmp($0.baseAddress! + start, piece, length) == 0 }) {
                    return entry
                }
            }
            slot = (slot + 1) & mask
        }
    }

    private func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        let mask = slots.count - 1
        for (entry, hash) in hashes.enumerated() {
            var slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(entry)
        }
    }

    private func clear() {
        slots = [Int32](repeating: -1, count: 1 << 12)
        hashes = []
        keyOffsets = [0]
        valueOffsets = [0]
        keyBytes = []
        values = []
    }
}

/// Each chunk's ids, written by its own thread (every index exactly once).
private final class ChunkResults: @unchecked Sendable {
    private var results: [[Int]]
    private let lock = NSLock()
    init(count: Int) { results = Array(repeating: [], count: count) }
    func set(_ index: Int, _ ids: [Int]) {
        lock.lock()
        results[index] = ids
        lock.unlock()
    }
    func joined() -> [Int] {
        var all: [Int] = []
        all.reserveCapacity(results.reduce(0) { $0 + $1.count })
        for ids in results { all += ids }
        return all
    }
}

/// Read-only text shared by the encoding threads for the duration of one call.
private struct SendableText: @unchecked Sendable {
    let text: UnsafeBufferPointer<UInt8>
}
