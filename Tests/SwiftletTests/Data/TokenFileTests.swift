import Foundation
import Swiftlet
import Testing

@Suite("Token files") struct TokenFileTests {
    @Test func roundTripsUInt16() throws {
        let directory = try TemporaryDirectory()
        let url = directory.file("tokens.bin")
        let tokens: [Int32] = [0, 1, 65_535, 300, 7]
        try TokenFile.write(tokens, vocabularySize: 65_536, to: url)
        let file = try TokenFile(contentsOf: url)
        #expect(file.width == .uint16)
        #expect(file.count == 5)
        #expect(file.vocabularySize == 65_536)
        #expect(file.tokens() == tokens)
        #expect(file[2] == 65_535)
        #expect(try Data(contentsOf: url).count == TokenFile.headerSize + 2 * tokens.count)
    }

    @Test func usesUInt32AboveUInt16Range() throws {
        let directory = try TemporaryDirectory()
        let url = directory.file("tokens.bin")
        let tokens: [Int32] = [65_536, 0, 100_000, 3]
        try TokenFile.write(tokens, vocabularySize: 100_001, to: url)
        let file = try TokenFile(contentsOf: url)
        #expect(file.width == .uint32)
        #expect(file.tokens() == tokens)
        #expect(file.tokens(1..<3) == [0, 100_000])
        #expect(try Data(contentsOf: url).count == TokenFile.headerSize + 4 * tokens.count)
    }

    @Test func headerLayoutIsDocumented() throws {
        let data = try TokenFile.encode([1, 2, 3], vocabularySize: 10)
        #expect(Array(data.prefix(8)) == Array("SWLTOKEN".utf8))
        #expect(Array(data[8..<12]) == [1, 0, 0, 0])           // version
        #expect(Array(data[12..<16]) == [2, 0, 0, 0])          // uint16
        #expect(Array(data[16..<24]) == [3, 0, 0, 0, 0, 0, 0, 0])  // count
        #expect(Array(data[24..<32]) == [10, 0, 0, 0, 0, 0, 0, 0]) // vocab_size
        #expect(Array(data[32...]) == [1, 0, 2, 0, 3, 0])
    }

    @Test func refusesIdsOutsideTheVocabularyWhenWriting() {
        #expect(throws: DataError.self) { try TokenFile.encode([1, 10], vocabularySize: 10) }
        #expect(throws: DataError.self) { try TokenFile.encode([-1], vocabularySize: 10) }
        #expect(throws: DataError.self) { try TokenFile.encode([], vocabularySize: 10) }
    }

    @Test func validatesIdsAgainstAModelVocabulary() throws {
        let directory = try TemporaryDirectory()
        let url = directory.file("tokens.bin")
        try TokenFile.write([1, 2, 60, 3], vocabularySize: 100, to: url)
        let file = try TokenFile(contentsOf: url)
        try file.validate(vocabularySize: 61)
        let error = try #require(throws: DataError.self) { try file.validate(vocabularySize: 50) }
        #expect(error.description.contains("token 60 at position 2"))
        #expect(error.description.contains(url.path))
    }

    @Test func damagedFilesGiveClearErrors() throws {
        let directory = try TemporaryDirectory()
        let good = try TokenFile.encode([1, 2, 3, 4], vocabularySize: 10)
        func error(_ bytes: Data) throws -> String {
            let url = directory.file("bad-\(UUID().uuidString).bin")
            try bytes.write(to: url)
            let error = try #require(throws: DataError.self) { try TokenFile(contentsOf: url) }
            #expect(error.source == url.path)
            return error.reason
        }
        #expect(try error(Data()).contains("empty"))
        #expect(try error(good.prefix(20)).contains("header"))
        #expect(try error(good.prefix(good.count - 1)).contains("truncated"))
        #expect(try error(good + Data([0, 0])).contains("truncated or corrupted"))
        var foreign = good
        foreign[0] = UInt8(ascii: "X")
        #expect(try error(foreign).contains("not a Swiftlet token file"))
        var version = good
        version[8] = 9
        #expect(try error(version).contains("version 9"))
        var width = good
        width[12] = 3
        #expect(try error(width).contains("3 bytes per token"))
        var hugeCount = good
        for i in 16..<24 { hugeCount[i] = 0xFF }
        #expect(try error(hugeCount).contains("truncated or corrupted"))
        #expect(throws: DataError.self) { try TokenFile(contentsOf: directory.file("missing.bin")) }
        #expect(throws: DataError.self) { try TokenFile(contentsOf: directory.url) }
    }
}
