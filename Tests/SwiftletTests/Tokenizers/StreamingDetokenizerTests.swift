import Foundation
import Swiftlet
import Testing

@Suite("Streaming detokenizer") struct StreamingDetokenizerTests {
    @Test func holdsBackPartialCharacters() throws {
        let gpt2 = try GPT2Tokenizer.bundled()
        let ids = try gpt2.encode("a🚀b")  // the rocket's 4 bytes span several tokens
        var detokenizer = StreamingDetokenizer(tokenizer: gpt2)
        var pieces: [String] = []
        for id in ids { pieces.append(try detokenizer.append(id)) }
        pieces.append(detokenizer.finish())
        #expect(pieces.joined() == "a🚀b")
        #expect(pieces.allSatisfy { !$0.contains("\u{FFFD}") })
        #expect(pieces.contains(""))  // at least one token completed no character
    }

    @Test func streamsEqualLossyDecodeOnRandomIds() throws {
        let gpt2 = try GPT2Tokenizer.bundled()
        var random = RandomGenerator(seed: 9)
        for _ in 0..<200 {
            let ids = (0..<random.nextInt(below: 20)).map { _ in
                // Mostly the single-byte tokens 0–255 (GPT-2 puts raw bytes there), which split characters.
                random.nextInt(below: 3) == 0 ? random.nextInt(below: 50257) : random.nextInt(below: 256)
            }
            var detokenizer = StreamingDetokenizer(tokenizer: gpt2)
            var text = ""
            for id in ids { text += try detokenizer.append(id) }
            text += detokenizer.finish()
            #expect(text == (try gpt2.decode(ids, replacingInvalidUTF8: true)), "\(ids)")
        }
    }

    @Test func streamsRandomUnicodeExactly() throws {
        let gpt2 = try GPT2Tokenizer.bundled()
        var random = RandomUnicodeText(seed: 13)
        for _ in 0..<100 {
            let text = random.next()
            var detokenizer = StreamingDetokenizer(tokenizer: gpt2)
            var streamed = ""
            for id in try gpt2.encode(text) { streamed += try detokenizer.append(id) }
            #expect(detokenizer.finish() == "")
            #expect(streamed == text)
        }
    }

    @Test func wordTokensAreJoinedWithSpaces() throws {
        let words = try WordTokenizer(corpus: "to be or not", maximumVocabularySize: 20)
        var detokenizer = StreamingDetokenizer(tokenizer: words)
        var text = ""
        for id in try words.encode("to be or") { text += try detokenizer.append(id) }
        #expect(text == "to be or")
    }

    /// After a prompt the first word gets its space too: the prompt's text and the pieces, joined,
    /// are the decoding of all the ids together.
    @Test func wordsThatFollowAPromptStartWithTheSeparator() throws {
        let words = try WordTokenizer(corpus: "to be or not", maximumVocabularySize: 20)
        let prompt = try words.encode("to be"), generated = try words.encode("or not")
        var detokenizer = StreamingDetokenizer(tokenizer: words, followsText: true)
        var text = ""
        for id in generated { text += try detokenizer.append(id) }
        text += detokenizer.finish()
        #expect(text == " or not")
        #expect(try words.decode(prompt) + text == words.decode(prompt + generated))
    }

    @Test func badIdIsAnError() throws {
        var detokenizer = StreamingDetokenizer(tokenizer: try CharacterTokenizer(corpus: "ab"))
        #expect(throws: TokenizerError.idOutOfRange(7, vocabularySize: 2)) { try detokenizer.append(7) }
    }
}
