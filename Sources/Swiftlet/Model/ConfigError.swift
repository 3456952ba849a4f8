/// A `GPTConfig` that cannot describe a model. The message names the offending JSON field.
public struct ConfigError: Error, Equatable, CustomStringConvertible {
    /// The JSON key at fault, e.g. `"n_embd"`.
    public let field: String
    /// What is wrong with it and what would be accepted.
    public let reason: String

    /// An error about `field` (a JSON key) saying `reason`.
    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { "invalid model config: \(field): \(reason)" }
}
