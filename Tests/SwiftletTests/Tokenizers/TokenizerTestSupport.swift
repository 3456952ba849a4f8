import Foundation
import Swiftlet

/// Shared fixtures for the tokenizer tests.
enum TokenizerFixtures {
    static let golden = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/golden")

    struct GPT2Case: Decodable {
        let text: String
        let ids: [Int]
        let allowed_special: [String]?
    }

    static func gpt2Cases() throws -> [GPT2Case] {
        try JSONDecoder().decode([GPT2Case].self, from: Data(contentsOf: golden.appendingPathComponent("gpt2_tokenizer.json")))
    }

    static func shakespeareTokens() throws -> [String: Any] {
        let data = try Data(contentsOf: golden.appendingPathComponent("shakespeare_tokens.json"))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    static func ints(_ value: Any?) -> [Int] { (value as? [Any] ?? []).compactMap { ($0 as? NSNumber)?.intValue } }

    /// A BPE tokenizer trained once on the first 200 kB of tinyshakespeare.
    static let smallBPE: Result<BytePairTokenizer, any Error> = Result {
        let text = try TokenizerResources.tinyShakespeareText()
        return try BPETrainer.train(corpus: String(text.prefix(200_000)), vocabularySize: 600)
    }

    /// A fresh temporary folder.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-tokenizer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Random text that stresses tokenizers: ASCII words and punctuation, contractions, digits,
/// whitespace runs of every kind, accented and combining characters, CJK, emoji with modifiers
/// and ZWJ, flags, and rare scalars.
struct RandomUnicodeText {
    private var random: RandomGenerator
    init(seed: UInt64) { random = RandomGenerator(seed: seed) }

    private static let fragments: [String] = [
        "the", " the", "Hello", " world", "I'm", "don't", "we'll", "'s", "'S", "'re", "'ve", "'d", "'ll", "'m", "'x",
        "123", " 4567", "3.14", "x=y+z", "!!", "?", " ...", "(", ")", "\"", "#", "@", "_", "-", "é", "e\u{301}",
        "ñ", "Zürich", "Ελληνικά", "русский", "你好", "世界", "こんにちは", "한국어", "😀", "👍🏽", "🚀", "❤️",
        "🇫🇷", "👨‍👩‍👧", "\u{200D}", "\u{FEFF}", "\u{0301}", "\u{0308}", "ﬁ", "Ⅻ", "½", "٣", "\u{1F}", "\u{7F}",
        " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n", "\u{A0}", "\u{3000}", "\u{2028}", "\u{85}", "\u{2003}",
        "𝔘𝔫𝔦", "𐍈", "\u{10FFFD}", "<|endoftext|>",
    ]

    mutating func next(maximumFragments: Int = 40) -> String {
        var text = ""
        for _ in 0..<random.nextInt(below: maximumFragments + 1) {
            if random.nextInt(below: 8) == 0 {
                // A random scalar from anywhere in Unicode.
                let value = UInt32(random.nextInt(below: 0x30000))
                if let scalar = Unicode.Scalar(value) { text.unicodeScalars.append(scalar) }
            } else {
                text += Self.fragments[random.nextInt(below: Self.fragments.count)]
            }
        }
        return text
    }
}
