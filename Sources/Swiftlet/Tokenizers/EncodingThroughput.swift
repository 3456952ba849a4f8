import Foundation

/// How fast a tokenizer encoded a file: the harness's view of tokenizer speed.
public struct EncodingThroughput: Sendable, Codable {
    /// Bytes of UTF-8 encoded.
    public var bytes: Int
    /// Tokens produced.
    public var tokens: Int
    /// Wall-clock seconds of the encode alone (not reading the file or loading the tokenizer).
    public var seconds: Double
    /// Threads asked for.
    public var threads: Int
    /// Throughput in MB/s, with 1 MB = 10⁶ bytes (as tiktoken's benchmark reports).
    public var megabytesPerSecond: Double { seconds > 0 ? Double(bytes) / seconds / 1e6 : .infinity }

    /// Reads `url` (UTF-8), encodes it as ordinary text on `threads` threads, and times the encode.
    /// - Returns: the ids and the throughput.
    public static func measure(_ tokenizer: any Tokenizer, file url: URL, threads: Int = 1) throws -> (ids: [Int], throughput: EncodingThroughput) {
        let text = try TokenizerResources.readText(url)
        return try measure(tokenizer, text: text, threads: threads)
    }

    /// Encodes `text` as ordinary text on `threads` threads and times it.
    public static func measure(_ tokenizer: any Tokenizer, text: String, threads: Int = 1) throws -> (ids: [Int], throughput: EncodingThroughput) {
        let start = DispatchTime.now().uptimeNanoseconds
        let ids = try tokenizer.encodeOrdinary(text, threads: threads)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return (ids, EncodingThroughput(bytes: text.utf8.count, tokens: ids.count, seconds: seconds, threads: threads))
    }
}
