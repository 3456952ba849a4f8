import Foundation

/// The checksum every Swiftlet checkpoint carries in `__metadata__["checksum"]`:
/// `"sha256:<64 hex digits>"`, the SHA-256 of
///
/// 1. the line `swiftlet-checkpoint-checksum-v1\n`,
/// 2. every other metadata entry, keys sorted, as `key\0value\0`,
/// 3. every tensor in file order as `name\0dtype\0shape (comma-separated)\0begin,end\0`,
/// 4. the data section.
///
/// It covers the header as well as the data, so a flipped digit in the config JSON or two
/// swapped `data_offsets` are caught, not just a flipped weight.
public enum CheckpointChecksum {
    /// The metadata key that holds the checksum.
    public static let metadataKey = "checksum"
    static let prefix = "sha256:"

    /// The `sha256:…` checksum of a file made of `metadata`, `entries` and `data`
    /// (any `metadataKey` entry in `metadata` is skipped).
    public static func compute(
        metadata: [String: String], entries: [SafeTensors.Entry], data: UnsafeRawBufferPointer
    ) -> String {
        compute(metadata: metadata, entries: entries) { hasher in hasher.update(data) }
    }

    /// The same, with the data section fed to the hasher by `hashData`, in pieces if it likes.
    static func compute(
        metadata: [String: String], entries: [SafeTensors.Entry], hashData: (inout SHA256) throws -> Void
    ) rethrows -> String {
        var hasher = SHA256()
        func add(_ text: String) { hasher.update(Data(text.utf8)) }
        add("swiftlet-checkpoint-checksum-v1\n")
        for key in metadata.keys.sorted() where key != metadataKey {
            add(key + "\0" + (metadata[key] ?? "") + "\0")
        }
        for entry in entries {
            let shape = entry.shape.map(String.init).joined(separator: ",")
            add("\(entry.name)\0\(entry.dtype.rawValue)\0\(shape)\0\(entry.byteRange.lowerBound),\(entry.byteRange.upperBound)\0")
        }
        try hashData(&hasher)
        return prefix + hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// The checksum of a file as read.
    public static func compute(_ file: SafeTensors) -> String {
        file.withUnsafeDataSection { compute(metadata: file.metadata, entries: file.entries, data: $0) }
    }

    /// Stores the checksum of everything added so far in the writer's metadata. Call last.
    public static func seal(_ writer: inout SafeTensorsWriter) {
        let checksum = compute(metadata: writer.metadata, entries: writer.entries) { hasher in
            writer.forEachDataChunk { hasher.update($0) }
        }
        writer.metadata[metadataKey] = checksum
    }

    /// Throws unless `file` carries a checksum that matches its contents.
    public static func verify(_ file: SafeTensors) throws {
        let stored = try storedValue(in: file.metadata, source: file.source)
        try check(compute(file), against: stored, source: file.source)
    }

    /// The same for a file read a piece at a time, holding a few megabytes of it at once. A file
    /// that cannot be read to its end throws the reader's `SafeTensorsError`.
    public static func verify(_ file: SafeTensorsReader) throws {
        let stored = try storedValue(in: file.metadata, source: file.source)
        let actual = try compute(metadata: file.metadata, entries: file.entries) { hasher in
            try file.forEachPiece(of: 0..<file.dataCount) { hasher.update($0) }
        }
        try check(actual, against: stored, source: file.source)
    }

    /// The checksum `metadata` carries; throws if it has none, or one of an unknown kind.
    static func storedValue(in metadata: [String: String], source: String) throws -> String {
        guard let stored = metadata[metadataKey] else {
            throw CheckpointError(path: source, reason: "has no checksum in __metadata__ (not written by Swiftlet, or damaged)")
        }
        guard stored.hasPrefix(prefix) else {
            throw CheckpointError(path: source, reason: "has a checksum of an unknown kind (\(stored.prefix(16))…); expected sha256:")
        }
        return stored
    }

    /// Throws unless the checksum of the contents, `actual`, is the `stored` one.
    static func check(_ actual: String, against stored: String, source: String) throws {
        guard actual == stored else {
            throw CheckpointError(
                path: source,
                reason: "checksum mismatch: the file says \(stored) but its contents hash to \(actual); the file is corrupted")
        }
    }
}
