import Foundation
import Swiftlet
import Testing

@Suite("Character tokenizer") struct CharacterTokenizerTests {
    @Test func tinyShakespeareMatchesNanoGPT() throws {
        let golden = try TokenizerFixtures.shakespeareTokens()["char"] as? [String: Any] ?? [:]
        let text = try TokenizerResources.tinyShakespeareText()
        let tokenizer = try CharacterTokenizer(corpus: text)
        let vocabulary = try #require(golden["vocab"] as? String)
        #expect(String(String.UnicodeScalarView(tokenizer.characters)) == vocabulary)
        #expect(tokenizer.vocabularySize == 65)
        #expect(tokenizer.specialTokens.isEmpty)
        let ids = try tokenizer.encode(text)
        #expect(Array(ids.prefix(64)) == TokenizerFixtures.ints(golden["first_64"]))
        #expect(TokenizerFixtures.sha256(TokenizerFixtures.littleEndianBytes(ids, width: 2)) == golden["sha256_uint16_le"] as? String)
        #expect(try tokenizer.decode(ids) == text)
    }

    @Test func idsAreSortedScalarPositions() throws {
        let tokenizer = try CharacterTokenizer(corpus: "hello 世界 e\u{301} 😀")
        #expect(tokenizer.characters.map(\.value) == [0x20, 0x65, 0x68, 0x6C, 0x6F, 0x301, 0x4E16, 0x754C, 0x1F600])
        #expect(try tokenizer.encode("he\u{301}llo") == [2, 1, 5, 3, 3, 4])
        #expect(try tokenizer.decode([8, 0, 6, 7]) == "😀 世界")
    }

    @Test func unseenCharacterIsAnErrorNamingIt() throws {
        let tokenizer = try CharacterTokenizer(corpus: "abc")
        #expect(throws: TokenizerError.unknownCharacter("é", offset: 2)) { try tokenizer.encode("abé") }
        let message = "\(TokenizerError.unknownCharacter("é", offset: 2))"
        #expect(message.contains("'é'") && message.contains("U+00E9"))
    }

    @Test func explicitUnknownToken() throws {
        let tokenizer = try CharacterTokenizer(corpus: "abc", unknownToken: "<UNK>")
        #expect(tokenizer.vocabularySize == 4)
        #expect(tokenizer.specialTokens == ["<UNK>": 3])
        #expect(try tokenizer.encode("axb") == [0, 3, 1])
        #expect(try tokenizer.decode([0, 3]) == "a<UNK>")
    }

    @Test func jsonRoundTrip() throws {
        for tokenizer in [try CharacterTokenizer(corpus: "\n\t \"\\ é😀"), try CharacterTokenizer(corpus: "ab", unknownToken: "<UNK>")] {
            let json = try AnyTokenizer.character(tokenizer).json
            guard case .character(let loaded) = try AnyTokenizer(json: json) else {
                Issue.record("wrong kind from \(json)")
                continue
            }
            #expect(loaded == tokenizer)
        }
        #expect(try AnyTokenizer.character(try CharacterTokenizer(corpus: "ba")).json == #"{"characters":"ab","kind":"char"}"#)
    }

    @Test func badInputs() throws {
        #expect(throws: TokenizerError.emptyCorpus) { try CharacterTokenizer(corpus: "") }
        let tokenizer = try CharacterTokenizer(corpus: "ab")
        #expect(throws: TokenizerError.idOutOfRange(2, vocabularySize: 2)) { try tokenizer.decode([0, 2]) }
        #expect(throws: TokenizerError.self) { try AnyTokenizer(json: #"{"kind":"char","characters":"ba"}"#) }
        #expect(throws: TokenizerError.self) { try AnyTokenizer(json: #"{"kind":"char","characters":""}"#) }
    }
}
