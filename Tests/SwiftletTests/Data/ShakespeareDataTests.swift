import Foundation
import Swiftlet
import Testing

/// Text → token file on the bundled tinyshakespeare, against the reference token streams in
/// `Tests/Fixtures/golden/shakespeare_tokens.json` (sha256 of the ids as uint16 little-endian).
@Suite("Shakespeare token files") struct ShakespeareDataTests {
    static func reference() throws -> [String: Any] {
        let url = Golden.directory.appendingPathComponent("shakespeare_tokens.json")
        return try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    /// SHA-256 of a token file's ids (everything after the header).
    static func payloadDigest(_ url: URL) throws -> String {
        SHA256.hex(of: try Data(contentsOf: url).dropFirst(TokenFile.headerSize))
    }

    @Test func characterTokenFileMatchesNanoGPT() throws {
        let char = try #require(try Self.reference()["char"] as? [String: Any])
        let text = try TokenizerResources.tinyShakespeareText()
        let tokenizer = try CharacterTokenizer(corpus: text)
        #expect(tokenizer.vocabularySize == 65)
        let directory = try TemporaryDirectory()
        let url = directory.file("shakespeare_char.bin")
        #expect(try TokenFile.write(text: text, tokenizer: tokenizer, to: url) == 1_115_394)
        #expect(try Self.payloadDigest(url) == char["sha256_uint16_le"] as? String)
        let file = try TokenFile(contentsOf: url)
        #expect(file.width == .uint16 && file.vocabularySize == 65)
        let (train, validation) = DataSplit.split(TokenDataset(file: file))
        #expect(train.count == 1_003_854 && validation.count == 111_540)
    }

    @Test func gpt2TokenFilesMatchNanoGPT() throws {
        let gpt2 = try #require(try Self.reference()["gpt2"] as? [String: Any])
        let split = try #require(gpt2["nanogpt_split"] as? [String: Any])
        let text = try TokenizerResources.tinyShakespeareText()
        let tokenizer = try GPT2Tokenizer.bundled()
        let directory = try TemporaryDirectory()
        let url = directory.file("shakespeare.bin")
        #expect(try TokenFile.write(text: text, tokenizer: tokenizer, threads: 2, to: url) == gpt2["n_tokens"] as? Int)
        #expect(try Self.payloadDigest(url) == gpt2["sha256_uint16_le"] as? String)
        // nanoGPT's prepare.py splits the characters 90/10 and encodes each part.
        let parts = DataSplit.split(text: text)
        #expect(try TokenFile.write(text: parts.train, tokenizer: tokenizer, to: directory.file("train.bin")) == split["train_tokens"] as? Int)
        #expect(try TokenFile.write(text: parts.validation, tokenizer: tokenizer, to: directory.file("val.bin")) == split["val_tokens"] as? Int)
    }
}
