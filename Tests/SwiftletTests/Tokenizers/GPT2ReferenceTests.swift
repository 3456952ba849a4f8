import Foundation
import Swiftlet
import Testing

/// Checks the fast merge engine against a direct transcription of OpenAI's `encoder.py`
/// (string symbols, `min` over the pair set, merge every occurrence), built here from the raw
/// files — on random text and on long pieces that take the heap path.
@Suite("GPT-2 against encoder.py") struct GPT2ReferenceTests {
    struct Reference {
        let encoder: [String: Int]
        let ranks: [String: Int]  // "left right" → rank
        let byteSymbols: [String]

        init() throws {
            let directory = try #require(TokenizerResources.gpt2Directory)
            let object = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("encoder.json")))
            encoder = (object as? [String: Any] ?? [:]).compactMapValues { ($0 as? NSNumber)?.intValue }
            let lines = try String(contentsOf: directory.appendingPathComponent("vocab.bpe"), encoding: .utf8)
                .split(separator: "\n").dropFirst()
            ranks = Dictionary(uniqueKeysWithValues: lines.enumerated().map { (String($1), $0) })
            // bytes_to_unicode()
            var printable = Array(33...126) + Array(161...172) + Array(174...255)
            var characters = printable
            var extra = 0
            for byte in 0..<256 where !printable.contains(byte) {
                printable.append(byte)
                characters.append(256 + extra)
                extra += 1
            }
            var symbols = [String](repeating: "", count: 256)
            for (byte, character) in zip(printable, characters) { symbols[byte] = String(Unicode.Scalar(UInt32(character))!) }
            byteSymbols = symbols
        }

        func bpe(_ piece: String) -> [Int] {
            var word = piece.utf8.map { byteSymbols[Int($0)] }
            while word.count > 1 {
                var best: (rank: Int, left: String, right: String)?
                for index in 0..<(word.count - 1) {
                    if let rank = ranks[word[index] + " " + word[index + 1]], rank < (best?.rank ?? .max) {
                        best = (rank, word[index], word[index + 1])
                    }
                }
                guard let best else { break }
                var merged: [String] = []
                var index = 0
                while index < word.count {
                    if index + 1 < word.count && word[index] == best.left && word[index + 1] == best.right {
                        merged.append(best.left + best.right)
                        index += 2
                    } else {
                        merged.append(word[index])
                        index += 1
                    }
                }
                word = merged
            }
            return word.map { encoder[$0] ?? -1 }
        }

        func encode(_ text: String) -> [Int] { GPT2PreTokenizer.split(text).flatMap(bpe) }
    }

    @Test func randomTextAndLongPieces() throws {
        let reference = try Reference()
        let gpt2 = try GPT2Tokenizer.bundled()
        #expect(reference.encode("Hello world") == [15496, 995])  // the oracle itself works
        var texts = try TokenizerFixtures.gpt2Cases().filter { $0.allowed_special == nil }.map(\.text)
        var random = RandomUnicodeText(seed: 17)
        for _ in 0..<100 { texts.append(random.next()) }
        var letters = RandomGenerator(seed: 19)
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        texts += [
            String(repeating: "a", count: 700),
            String(repeating: " ", count: 600) + "x",
            "x" + String(repeating: " ", count: 600),
            String(repeating: "\n", count: 400),
            String((0..<800).map { _ in alphabet[letters.nextInt(below: alphabet.count)] }),
            String((0..<600).map { _ in Character(String(letters.nextInt(below: 10))) }),
            String(repeating: "😀👍🏽", count: 60),
            String(repeating: "你好世界", count: 80),
            String(repeating: "ab", count: 400),
        ]
        for text in texts {
            #expect(try gpt2.encode(text) == reference.encode(text), "\(text.prefix(40).debugDescription)…")
        }
    }
}
