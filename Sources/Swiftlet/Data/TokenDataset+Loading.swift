import Foundation

extension TokenDataset {
    /// Tokenizes text into an in-memory dataset, on up to `threads` threads (the ids do not
    /// depend on it).
    /// - Throws: `DataError` if the text is empty or encodes to no tokens.
    public static func tokenize(
        text: String, tokenizer: any Tokenizer, threads: Int = 1, source: String = "<text>"
    ) throws -> TokenDataset {
        guard !text.isEmpty else { throw DataError.empty(source) }
        let ids = try tokenizer.encodeOrdinary(text, threads: max(1, threads))
        guard !ids.isEmpty else { throw DataError.empty(source) }
        return TokenDataset(tokens: ids.map { Int32(truncatingIfNeeded: $0) }, source: source)
    }

    /// Opens a token file (recognized by its `SWLTOKEN` magic) or reads a UTF-8 text file and
    /// tokenizes it with `tokenizer`.
    /// - Throws: `DataError` for an empty file, or a text file when `tokenizer` is nil.
    public static func load(_ url: URL, tokenizer: (any Tokenizer)?, threads: Int = 1) throws -> TokenDataset {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            let hint = FileManager.default.fileExists(atPath: url.appendingPathComponent("val.bin").path)
                ? "; give one of its token files, such as \(url.appendingPathComponent("val.bin").path)" : ""
            throw DataError(source: url.path, reason: "is a folder, not a text or token file\(hint)")
        }
        if try isTokenFile(url) { return try TokenDataset(contentsOf: url) }
        guard let tokenizer else {
            throw DataError(source: url.path, reason: "is a text file, and there is no tokenizer to encode it; give a token file or a model with a tokenizer")
        }
        let text: String
        do {
            let bytes = try Data(contentsOf: url)
            guard !bytes.isEmpty else { throw DataError.empty(url.path) }
            guard let decoded = String(data: bytes, encoding: .utf8) else {
                throw DataError(source: url.path, reason: "is neither a Swiftlet token file nor UTF-8 text")
            }
            text = decoded
        } catch let error as DataError {
            throw error
        } catch {
            throw DataError(source: url.path, reason: "cannot read the file (\(error.localizedDescription))")
        }
        return try tokenize(text: text, tokenizer: tokenizer, threads: threads, source: url.path)
    }

    /// Whether the file starts with the token file magic.
    static func isTokenFile(_ url: URL) throws -> Bool {
        guard let handle = try? FileHandle(forReadingFrom: url) else {
            throw DataError(source: url.path, reason: "cannot open the file (does it exist?)")
        }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: TokenFile.magic.count)) ?? Data()
        return Array(head) == TokenFile.magic
    }
}

extension TokenFile {
    /// Tokenizes `text` and writes a token file for `tokenizer`'s vocabulary, atomically.
    /// Returns the number of tokens written.
    @discardableResult
    public static func write(text: String, tokenizer: any Tokenizer, threads: Int = 1, to url: URL) throws -> Int {
        let data = try TokenDataset.tokenize(text: text, tokenizer: tokenizer, threads: threads, source: url.path)
        try write(data.tokens(), vocabularySize: tokenizer.vocabularySize, to: url)
        return data.count
    }
}
