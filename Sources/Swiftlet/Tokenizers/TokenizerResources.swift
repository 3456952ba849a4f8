import Foundation

/// Data files bundled with Swiftlet (see `Sources/Swiftlet/Resources/README.md`).
public enum TokenizerResources {
    /// The bundled resource folder.
    public static var directory: URL? { Bundle.module.url(forResource: "Resources", withExtension: nil) }

    /// The folder holding GPT-2's `encoder.json` and `vocab.bpe`.
    public static var gpt2Directory: URL? { directory?.appendingPathComponent("gpt2") }

    /// tinyshakespeare (1,115,394 bytes of ASCII).
    public static var tinyShakespeare: URL? { directory?.appendingPathComponent("tinyshakespeare.txt") }

    /// The text of tinyshakespeare.
    public static func tinyShakespeareText() throws -> String {
        guard let url = tinyShakespeare else {
            throw TokenizerError.invalidFile(path: "Resources/tinyshakespeare.txt", reason: "the bundled resources are missing from this build")
        }
        return try readText(url)
    }

    /// Reads a UTF-8 text file; a missing file or bytes that are not UTF-8 give an error naming it.
    public static func readText(_ url: URL) throws -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw TokenizerError.invalidFile(path: url.path, reason: "is a folder, not a text file")
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TokenizerError.invalidFile(path: url.path, reason: "cannot read the file (\(error.localizedDescription))")
        }
        return try decodeUTF8(data, source: url.path)
    }

    /// Validates UTF-8; the error names `source` and the first bad byte.
    public static func decodeUTF8(_ data: Data, source: String) throws -> String {
        if let text = String(validating: data, as: UTF8.self) { return text }
        let offset = firstInvalidUTF8Offset([UInt8](data)) ?? 0
        throw TokenizerError.invalidFile(path: source, reason: "not valid UTF-8 text (first bad byte at offset \(offset))")
    }
}
