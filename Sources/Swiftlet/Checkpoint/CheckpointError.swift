/// A checkpoint cannot be written or loaded. Says which file and what is wrong, and never
/// leaves a half-loaded model behind.
public struct CheckpointError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The checkpoint (or model directory) the problem is about.
    public let path: String
    /// What is wrong, in words.
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}
