import Foundation
import Swiftlet
import Testing

@Suite("GPT-2 pre-tokenizer") struct GPT2PreTokenizerTests {
    /// GPT-2's pattern run by Swift's own regex engine over Unicode scalars: slow, but an
    /// independent oracle for the hand-written scanner.
    static func regexPieces(_ text: String) throws -> [String] {
        let pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
        let regex = try Regex(pattern).matchingSemantics(.unicodeScalar)
        return text.matches(of: regex).map { match in
            var piece = String.UnicodeScalarView()
            piece.append(contentsOf: text.unicodeScalars[match.range])
            return String(piece)
        }
    }

    @Test func knownSplits() throws {
        let known: [(String, [String])] = [
            ("a  b   c", ["a", " ", " b", "  ", " c"]),
            ("x \n\n y", ["x", " \n\n", " y"]),
            ("\n\nfoo", ["\n", "\n", "foo"]),
            ("?'s 12ab", ["?'", "s", " 12", "ab"]),
        ]
        for (text, pieces) in known {  // the oracle itself must agree with hand-checked splits
            #expect(try Self.regexPieces(text) == pieces, "\(text.debugDescription)")
        }
        #expect(GPT2PreTokenizer.split("Hello world") == ["Hello", " world"])
        #expect(GPT2PreTokenizer.split("I'm here, don't") == ["I", "'m", " here", ",", " don", "'t"])
        #expect(GPT2PreTokenizer.split("DON'T") == ["DON", "'", "T"])
        #expect(GPT2PreTokenizer.split("a  b   c") == ["a", " ", " b", "  ", " c"])
        #expect(GPT2PreTokenizer.split("x \n\n y") == ["x", " \n\n", " y"])
        #expect(GPT2PreTokenizer.split("end   ") == ["end", "   "])
        #expect(GPT2PreTokenizer.split("tab\there") == ["tab", "\t", "here"])
        #expect(GPT2PreTokenizer.split("\n\nfoo") == ["\n", "\n", "foo"])
        #expect(GPT2PreTokenizer.split("?'s 12ab") == ["?'", "s", " 12", "ab"])
        #expect(GPT2PreTokenizer.split("caf\u{E9} e\u{301}") == ["caf\u{E9}", " e", "\u{301}"])
        #expect(GPT2PreTokenizer.split("") == [])
    }

    @Test func agreesWithTheRegexOnRandomUnicode() throws {
        var random = RandomUnicodeText(seed: 3)
        for _ in 0..<300 {
            let text = random.next()
            #expect(GPT2PreTokenizer.split(text) == (try Self.regexPieces(text)), "\(text.debugDescription)")
        }
    }

    @Test func agreesWithTheRegexOnGoldenTexts() throws {
        for entry in try TokenizerFixtures.gpt2Cases() {
            #expect(GPT2PreTokenizer.split(entry.text) == (try Self.regexPieces(entry.text)), "\(entry.text.debugDescription)")
        }
    }
}
