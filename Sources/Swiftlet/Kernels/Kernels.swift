/// Checked Swift entry points to the C kernels in `SwiftletKernels`.
///
/// Each wrapper validates shapes and arguments, throwing a `KernelError` that names the argument,
/// then allocates its outputs and calls the kernel. Backward wrappers return fresh gradients
/// (the C kernels accumulate into zeroed buffers). The model calls the C kernels directly on its
/// flat buffers; these wrappers are for library users, tests and benchmarks.
public enum Kernels {}

extension Kernels {
    /// Throws unless `tensor.shape == expected`.
    static func require(_ tensor: Tensor, shape expected: [Int], _ name: String) throws {
        guard tensor.shape == expected else {
            throw KernelError.invalidShape("\(name) has shape \(tensor.shape), expected \(expected)")
        }
    }

    /// Throws unless `tensor` has `rank` dimensions; returns its shape.
    @discardableResult
    static func require(_ tensor: Tensor, rank: Int, _ name: String) throws -> [Int] {
        guard tensor.rank == rank else {
            throw KernelError.invalidShape("\(name) must have \(rank) dimensions, got shape \(tensor.shape)")
        }
        return tensor.shape
    }

    /// Throws unless `value ≥ 1`.
    static func requirePositive(_ value: Int, _ name: String) throws {
        guard value >= 1 else { throw KernelError.invalidArgument("\(name) must be at least 1, got \(value)") }
    }

    /// Throws unless the value fits the kernels' `int` sizes.
    static func int32(_ value: Int, _ name: String) throws -> Int32 {
        guard let narrow = Int32(exactly: value) else {
            throw KernelError.invalidArgument("\(name) = \(value) is too large for the kernels")
        }
        return narrow
    }
}
