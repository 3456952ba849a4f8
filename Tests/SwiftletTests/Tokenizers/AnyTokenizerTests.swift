import Foundation
import Swiftlet
import Testing

@Suite("Tokenizer JSON") struct AnyTokenizerTests {
    @Test func checkpointMetadataCarriesTheTokenizer() throws {
        // As a checkpoint does: the JSON as a string in safetensors __metadata__["tokenizer"].
        let tokenizer = AnyTokenizer.bytePair(try TokenizerFixtures.smallBPE.get())
        var writer = SafeTensorsWriter(metadata: ["tokenizer": try tokenizer.json])
        try writer.add("x", floats: [1], shape: [1])
        let file = try SafeTensors(bytes: writer.serialized())
        let restored = try AnyTokenizer(json: try #require(file.metadata["tokenizer"]))
        let ids = try tokenizer.encode("Sample text, decoded as trained.")
        #expect(restored.kind == .bytePair)
        #expect(try restored.decode(ids) == "Sample text, decoded as trained.")
        #expect(try restored.json == (try tokenizer.json))
    }

    @Test func corruptJSONGivesClearErrors() {
        func reason(_ json: String) -> String {
            do {
                _ = try AnyTokenizer(json: json)
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(reason("{").contains("corrupt tokenizer JSON"))
        #expect(reason(#"{"kind":"sentencepiece"}"#).contains("unknown tokenizer kind"))
        #expect(reason(#"{"characters":"ab"}"#).contains("lacks \"kind\""))
        #expect(reason(#"{"kind":"word"}"#).contains("lacks \"words\""))
        #expect(reason(#"{"kind":"bpe","merges":"x"}"#).contains("merges"))
    }

    @Test func missingFileNamesIt() {
        #expect(throws: TokenizerError.self) { try AnyTokenizer(contentsOf: URL(fileURLWithPath: "/nonexistent/tok.json")) }
        do {
            _ = try AnyTokenizer(contentsOf: URL(fileURLWithPath: "/nonexistent/tok.json"))
        } catch {
            #expect("\(error)".contains("/nonexistent/tok.json"))
        }
    }
}
