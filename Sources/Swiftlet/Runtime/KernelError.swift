/// A kernel was called with arguments it cannot take. The message names the argument.
public enum KernelError: Error, Equatable, CustomStringConvertible {
    case invalidShape(String)
    case invalidArgument(String)
    case unsupportedInstructionSet(String)

    public var description: String {
        switch self {
        case .invalidShape(let message): "invalid shape: \(message)"
        case .invalidArgument(let message): "invalid argument: \(message)"
        case .unsupportedInstructionSet(let name): "this CPU does not support the \(name) path"
        }
    }
}
