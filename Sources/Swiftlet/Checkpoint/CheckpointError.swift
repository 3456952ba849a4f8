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

    /// A checkpoint file that `SafeTensors` or `SafeTensorsReader` refused: one it could not read
    /// at all, or one it read and found not to be safetensors.
    public init(reading error: SafeTensorsError) {
        self.init(path: error.source, reason: error.isReadFailure ? error.reason : "is not a valid safetensors file: \(error.reason)")
    }
}
