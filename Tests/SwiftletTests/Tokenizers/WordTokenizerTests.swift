import Foundation
import Swiftlet
import Testing

@Suite("Word tokenizer") struct WordTokenizerTests {
    @Test func splitsLikeTheNotebookRegex() {
        #expect(WordTokenizer.split("Hello, World! It's 42_x.") == ["hello", ",", "world", "!", "it", "'", "s", "42_x", "."])
        #expect(WordTokenizer.split("  Ünïcode\tCAFÉ\n你好 ") == ["ünïcode", "café", "你好"])
        #expect(WordTokenizer.split("") == [])
    }

    @Test func specialsFirstThenMostFrequentWords() throws {
        let tokenizer = try WordTokenizer(corpus: "b a c a b a d", maximumVocabularySize: 7)
        #expect(tokenizer.words == ["<PAD>", "<UNK>", "<BOS>", "<EOS>", "a", "b", "c"])
        #expect(tokenizer.specialTokens == ["<PAD>": 0, "<UNK>": 1, "<BOS>": 2, "<EOS>": 3])
        #expect(try tokenizer.encode("A b D c") == [4, 5, 1, 6])
        #expect(try tokenizer.decode([2, 4, 5, 1, 3]) == "<BOS> a b <UNK> <EOS>")
        #expect(try tokenizer.encode("<BOS> a", allowedSpecial: ["<BOS>"]) == [2, 4])
    }

    @Test func tinyShakespeareVocabulary() throws {
        let text = try TokenizerResources.tinyShakespeareText()
        let tokenizer = try WordTokenizer(corpus: text, maximumVocabularySize: 1000)
        #expect(tokenizer.vocabularySize == 1000)
        // Checked with Python: Counter(re.findall(r"\w+|[^\w\s]", text.lower())).most_common(996).
        #expect(Array(tokenizer.words.prefix(12)) == ["<PAD>", "<UNK>", "<BOS>", "<EOS>", ",", ":", ".", "the", "'", "and", "i", "to"])
        #expect(Array(tokenizer.words.suffix(3)) == ["shake", "warm", "steel"])  // ties in order of first appearance
        #expect(try WordTokenizer(corpus: text, maximumVocabularySize: 20_000).vocabularySize == 4 + 11_466)
        let ids = try tokenizer.encode("First Citizen:")
        #expect(ids.count == 3 && !ids.contains(WordTokenizer.unknownId))
        #expect(try tokenizer.decode(ids) == "first citizen :")
    }

    @Test func jsonRoundTrip() throws {
        let tokenizer = try WordTokenizer(corpus: "to be or not to be", maximumVocabularySize: 100)
        let json = try AnyTokenizer.word(tokenizer).json
        guard case .word(let loaded) = try AnyTokenizer(json: json) else {
            Issue.record("wrong kind from \(json)")
            return
        }
        #expect(loaded == tokenizer)
        #expect(loaded.words == ["<PAD>", "<UNK>", "<BOS>", "<EOS>", "to", "be", "or", "not"])
    }

    @Test func badInputs() throws {
        #expect(throws: TokenizerError.emptyCorpus) { try WordTokenizer(corpus: " \n ", maximumVocabularySize: 10) }
        #expect(throws: TokenizerError.self) { try WordTokenizer(corpus: "a", maximumVocabularySize: 4) }
        #expect(throws: TokenizerError.self) { try AnyTokenizer(json: #"{"kind":"word","words":["a"]}"#) }
        #expect(throws: TokenizerError.self) {
            try AnyTokenizer(json: #"{"kind":"word","words":["<PAD>","<UNK>","<BOS>","<EOS>","x","x"]}"#)
        }
        let tokenizer = try WordTokenizer(corpus: "a", maximumVocabularySize: 10)
        #expect(throws: TokenizerError.idOutOfRange(5, vocabularySize: 5)) { try tokenizer.decode([5]) }
    }
}
