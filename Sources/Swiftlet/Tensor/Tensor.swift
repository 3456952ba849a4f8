/// A dense fp32 array with a shape, row-major. The value type that crosses the public API:
/// kernel wrappers take and return it, checkpoints load into it, tests compare it.
public struct Tensor: Equatable, Sendable {
    /// Extent of each dimension, outermost first. `[]` is a scalar.
    public let shape: [Int]
    /// The elements in row-major order; `values.count == shape.product`.
    public var values: [Float]

    /// Wraps `values` with `shape`. Throws if the counts disagree or a dimension is negative.
    public init(shape: [Int], values: [Float]) throws {
        try Tensor.validate(shape: shape)
        let count = shape.reduce(1, *)
        guard values.count == count else {
            throw KernelError.invalidShape("shape \(shape) holds \(count) elements, got \(values.count)")
        }
        self.shape = shape
        self.values = values
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) throws {
        try Tensor.validate(shape: shape)
        self.shape = shape
        self.values = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    /// A scalar.
    public init(scalar: Float) {
        self.shape = []
        self.values = [scalar]
    }

    /// Number of elements.
    public var count: Int { values.count }

    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// The same elements under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        try Tensor(shape: newShape, values: values)
    }

    static func validate(shape: [Int]) throws {
        if let bad = shape.first(where: { $0 < 0 }) {
            throw KernelError.invalidShape("negative dimension \(bad) in shape \(shape)")
        }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = values.prefix(6).map { "\($0)" }.joined(separator: ", ")
        return "Tensor(shape: \(shape), values: [\(preview)\(values.count > 6 ? ", …" : "")])"
    }
}
