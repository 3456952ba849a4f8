import Foundation
import Swiftlet
import Testing

@Suite("GPT-2 tokenizer") struct GPT2TokenizerTests {
    let gpt2: GPT2Tokenizer
    init() throws { gpt2 = try GPT2Tokenizer.bundled() }

    @Test func vocabulary() {
        #expect(gpt2.vocabularySize == 50257)
        #expect(gpt2.specialTokens == ["<|endoftext|>": 50256])
        #expect(gpt2.endOfTextId == 50256)
        #expect(gpt2.kind == .gpt2)
    }

    @Test func everyGoldenCase() throws {
        let cases = try TokenizerFixtures.gpt2Cases()
        #expect(cases.count == 34)
        for entry in cases {
            let allowed = Set(entry.allowed_special ?? [])
            let ids = try gpt2.encode(entry.text, allowedSpecial: allowed)
            #expect(ids == entry.ids, "\(entry.text.debugDescription)")
            // The multi-threaded path must agree (short texts fall back to one chunk).
            #expect(try gpt2.encode(entry.text, allowedSpecial: allowed, threads: 4) == entry.ids)
            #expect(try gpt2.decode(entry.ids) == entry.text, "decode \(entry.text.debugDescription)")
        }
    }

    @Test func sha256OfTheTestSupportIsRight() {
        #expect(TokenizerFixtures.sha256([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(TokenizerFixtures.sha256(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func endOfTextIsPlainTextUnlessAllowed() throws {
        #expect(try gpt2.encode("<|endoftext|>") == [27, 91, 437, 1659, 5239, 91, 29])
        #expect(try gpt2.encode("<|endoftext|>", allowedSpecial: ["<|endoftext|>"]) == [50256])
        #expect(try gpt2.decode([50256]) == "<|endoftext|>")
        #expect(throws: TokenizerError.unknownSpecialToken("<|fim|>")) {
            try gpt2.encode("x", allowedSpecial: ["<|fim|>"])
        }
    }

    @Test func wholeTinyShakespeare() throws {
        let golden = try TokenizerFixtures.shakespeareTokens()
        let expected = golden["gpt2"] as? [String: Any] ?? [:]
        let text = try TokenizerResources.tinyShakespeareText()
        let ids = try gpt2.encodeOrdinary(text)
        #expect(ids.count == 338_025)
        #expect(ids.count == (expected["n_tokens"] as? Int))
        #expect(Array(ids.prefix(64)) == TokenizerFixtures.ints(expected["first_64"]))
        #expect(Array(ids.suffix(64)) == TokenizerFixtures.ints(expected["last_64"]))
        // Every id of the stream, through the golden sha256 of the ids as uint16 and int32.
        #expect(TokenizerFixtures.sha256(TokenizerFixtures.littleEndianBytes(ids, width: 2)) == expected["sha256_uint16_le"] as? String)
        #expect(TokenizerFixtures.sha256(TokenizerFixtures.littleEndianBytes(ids, width: 4)) == expected["sha256_int32_le"] as? String)
        // nanoGPT's split: the first 90% of the characters and the rest, encoded separately.
        let split = text.index(text.startIndex, offsetBy: Int(Double(text.count) * 0.9))
        #expect(try gpt2.encodeOrdinary(String(text[..<split])).count == 301_966)
        #expect(try gpt2.encodeOrdinary(String(text[split...])).count == 36_059)
        // Multi-threaded encoding cuts at safe boundaries and gives identical ids.
        for threads in [2, 3, 8] {
            #expect(try gpt2.encodeOrdinary(text, threads: threads) == ids, "threads \(threads)")
        }
        #expect(try gpt2.encodeOrdinary(utf8: Array(text.utf8), threads: 2) == ids)
        #expect(try gpt2.decode(ids) == text)
    }

    @Test func randomUnicodeRoundTrips() throws {
        var random = RandomUnicodeText(seed: 7)
        for _ in 0..<400 {
            let text = random.next()
            let ids = try gpt2.encodeOrdinary(text)
            #expect(try gpt2.decode(ids) == text, "\(text.debugDescription)")
            #expect(ids.allSatisfy { $0 >= 0 && $0 < 50256 })
        }
    }

    @Test func multiThreadedMatchesOnLargeRandomText() throws {
        var random = RandomUnicodeText(seed: 11)
        var text = ""
        while text.utf8.count < 600_000 { text += random.next(maximumFragments: 200) + "\n" }
        let single = try gpt2.encodeOrdinary(text)
        #expect(try gpt2.encodeOrdinary(text, threads: 4) == single)
        #expect(try gpt2.decode(single) == text)
    }

    @Test func userDirectoryGivesTheSameTokenizer() throws {
        let directory = try TokenizerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let bundled = try #require(TokenizerResources.gpt2Directory)
        for name in ["encoder.json", "vocab.bpe"] {
            try FileManager.default.copyItem(at: bundled.appendingPathComponent(name), to: directory.appendingPathComponent(name))
        }
        let loaded = try GPT2Tokenizer(directory: directory)
        #expect(loaded.directory == directory)
        #expect(try loaded.encode("Hello world") == [15496, 995])
        let json = try AnyTokenizer.gpt2(loaded).json
        #expect(json.contains("\"directory\""))
        #expect(try AnyTokenizer(json: json).encode("Hello world") == [15496, 995])
        #expect(try AnyTokenizer.gpt2(gpt2).json == #"{"kind":"gpt2"}"#)
    }

    @Test func missingOrCorruptFilesGiveClearErrors() throws {
        let directory = try TokenizerFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        func expectFileError(_ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
            do {
                _ = try GPT2Tokenizer(directory: directory)
                Issue.record("loading should fail", sourceLocation: sourceLocation)
            } catch let error as TokenizerError {
                guard case .invalidFile(let path, _) = error else {
                    Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
                    return
                }
                #expect(path.hasSuffix(fragment), "\(error)", sourceLocation: sourceLocation)
            } catch {
                Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
            }
        }
        expectFileError("encoder.json")  // nothing there
        let encoder = directory.appendingPathComponent("encoder.json")
        let merges = directory.appendingPathComponent("vocab.bpe")
        try Data("{\"a\": 0, ".utf8).write(to: encoder)
        expectFileError("encoder.json")  // truncated JSON
        try Data("{\"a\": 0, \"b\": 0}".utf8).write(to: encoder)
        expectFileError("encoder.json")  // repeated id
        let bundled = try #require(TokenizerResources.gpt2Directory)
        try? FileManager.default.removeItem(at: encoder)
        try FileManager.default.copyItem(at: bundled.appendingPathComponent("encoder.json"), to: encoder)
        expectFileError("vocab.bpe")  // missing
        try Data("#version: 0.2\nĠ t\nnot-a-merge\n".utf8).write(to: merges)
        expectFileError("vocab.bpe")  // a line that is not a pair
        try Data("#version: 0.2\nĠ zzzzzz\n".utf8).write(to: merges)
        expectFileError("vocab.bpe")  // unknown token
        try Data([0x23, 0xFF, 0xFE]).write(to: merges)
        expectFileError("vocab.bpe")  // not UTF-8
    }

    @Test func badIdsAndBytes() throws {
        #expect(throws: TokenizerError.idOutOfRange(50257, vocabularySize: 50257)) { try gpt2.decode([15496, 50257]) }
        #expect(throws: TokenizerError.idOutOfRange(-1, vocabularySize: 50257)) { try gpt2.decode([-1]) }
        // 171 is the byte 0xEF alone: the start of a 3-byte character.
        #expect(throws: TokenizerError.invalidUTF8(offset: 1)) { try gpt2.decode([64, 171]) }
        #expect(try gpt2.decode([64, 171], replacingInvalidUTF8: true) == "a\u{FFFD}")
        #expect(throws: TokenizerError.invalidUTF8(offset: 2)) { try gpt2.encodeOrdinary(utf8: [0x61, 0x62, 0xFF]) }
    }
}
