/// A model or optimizer call that cannot proceed. The message names the argument or tensor.
public enum ModelError: Error, Equatable, CustomStringConvertible {
    /// An argument is out of range (a token id ≥ vocab_size, T > block_size, a count mismatch…).
    case invalidArgument(String)
    /// No parameter has this name.
    case unknownParameter(String)
    /// A tensor's shape differs from the parameter's.
    case shapeMismatch(String)
    /// A call needs state an earlier call makes (backward needs a forward with targets).
    case invalidState(String)

    public var description: String {
        switch self {
        case .invalidArgument(let message): "invalid argument: \(message)"
        case .unknownParameter(let name): "unknown parameter \"\(name)\""
        case .shapeMismatch(let message): "shape mismatch: \(message)"
        case .invalidState(let message): message
        }
    }
}
