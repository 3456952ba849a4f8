/// A tokenizer whose tokens are the byte strings of a `BytePairEncoding` engine (trained BPE and
/// GPT-2): decoding is the same for both.
protocol BytePairEncoded: Tokenizer {
    var engine: BytePairEncoding { get }
}

extension BytePairEncoded {
    public func tokenBytes(_ id: Int) throws -> [UInt8] {
        try validate(id)
        return Array(engine.bytes(of: id))
    }

    public func decodeBytes(_ ids: [Int]) throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids {
            try validate(id)
            bytes += engine.bytes(of: id)
        }
        return bytes
    }
}
