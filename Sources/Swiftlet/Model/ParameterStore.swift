import SwiftletKernels

/// One named tensor inside a `ParameterStore`'s flat buffer.
public struct ParameterSlot: Equatable, Sendable {
    /// The nanoGPT `state_dict` name, e.g. `transformer.h.0.attn.c_attn.weight`.
    public let name: String
    /// PyTorch shape; Linear weights are (out_features, in_features).
    public let shape: [Int]
    /// Index of the first element in the flat buffer.
    public let offset: Int
    /// Number of elements, `shape` multiplied out.
    public var count: Int { shape.reduce(1, *) }
    /// Number of dimensions; AdamW decays the tensors of rank ≥ 2.
    public var rank: Int { shape.count }
}

/// Where each named tensor lives in a flat buffer.
///
/// Slots are in nanoGPT `named_parameters()` order. Each starts on a 64-byte boundary; the
/// alignment gaps and any reserved rows after a slot (the LM head's vocabulary padding) are part
/// of the buffer and stay 0.
public struct ParameterLayout: Equatable, Sendable {
    /// Every named tensor, in order.
    public private(set) var slots: [ParameterSlot] = []
    /// Floats in the buffer, gaps and padding included.
    public private(set) var count = 0

    /// Elements per alignment unit (16 floats = 64 bytes, one AVX-512 register or cache line).
    static let alignment = 16

    /// An empty layout; add tensors with `append(_:shape:reservedCount:)`.
    public init() {}

    /// A layout of the given tensors, in order, without padding.
    public init(_ tensors: [(name: String, shape: [Int])]) throws {
        for tensor in tensors { try append(tensor.name, shape: tensor.shape) }
    }

    /// Appends a tensor; `reservedCount` (≥ its element count) keeps room for padding after it.
    public mutating func append(_ name: String, shape: [Int], reservedCount: Int? = nil) throws {
        guard !name.isEmpty, !slots.contains(where: { $0.name == name }) else {
            throw ModelError.invalidArgument("parameter name \"\(name)\" is empty or already used")
        }
        guard shape.allSatisfy({ $0 >= 1 }) else {
            throw ModelError.invalidArgument("parameter \(name) has shape \(shape); every dimension must be at least 1")
        }
        let slot = ParameterSlot(name: name, shape: shape, offset: count)
        let reserved = max(slot.count, reservedCount ?? 0)
        slots.append(slot)
        count += (reserved + Self.alignment - 1) / Self.alignment * Self.alignment
    }

    /// The slot with this name.
    public func slot(named name: String) throws -> ParameterSlot {
        guard let slot = slots.first(where: { $0.name == name }) else { throw ModelError.unknownParameter(name) }
        return slot
    }
}

/// All of a model's parameters (or their gradients, or an optimizer moment) in one contiguous,
/// 64-byte-aligned fp32 buffer, with a named view per tensor.
///
/// Kernels run on the flat buffer; checkpoints read and write it tensor by tensor through
/// `layout.slots`, `tensor(named:)` and `setTensor(_:named:)`. Gradients and AdamW's moments are
/// stores with the same layout, so a slot's offset means the same thing in all of them.
public final class ParameterStore {
    /// The named tensors and the buffer size.
    public let layout: ParameterLayout
    /// The first element of the buffer (`count` floats).
    public let baseAddress: UnsafeMutablePointer<Float>

    /// A zero-filled store with this layout.
    public init(layout: ParameterLayout) {
        self.layout = layout
        // 64-byte alignment so every slot starts on a vector/cache-line boundary.
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, layout.count) * 4, alignment: 64)
        baseAddress = raw.bindMemory(to: Float.self, capacity: max(1, layout.count))
        baseAddress.initialize(repeating: 0, count: max(1, layout.count))
    }

    /// A zero-filled store with the same layout as `other`.
    public convenience init(mirroring other: ParameterStore) {
        self.init(layout: other.layout)
    }

    deinit { UnsafeMutableRawPointer(baseAddress).deallocate() }

    /// The named tensors, in nanoGPT `named_parameters()` order.
    public var slots: [ParameterSlot] { layout.slots }

    /// Floats in the buffer (gaps and padding included).
    public var count: Int { layout.count }

    /// Calls `body` with the whole flat buffer.
    public func withUnsafeMutableBufferPointer<Result>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> Result
    ) rethrows -> Result {
        try body(UnsafeMutableBufferPointer(start: baseAddress, count: count))
    }

    /// Calls `body` with the elements of one slot.
    public func withValues<Result>(
        of slot: ParameterSlot, _ body: (UnsafeMutableBufferPointer<Float>) throws -> Result
    ) rethrows -> Result {
        try body(UnsafeMutableBufferPointer(start: baseAddress + slot.offset, count: slot.count))
    }

    /// The slot with this name.
    public func slot(named name: String) throws -> ParameterSlot { try layout.slot(named: name) }

    /// A copy of the named tensor.
    public func tensor(named name: String) throws -> Tensor {
        let slot = try self.slot(named: name)
        let values = Array(UnsafeBufferPointer(start: baseAddress + slot.offset, count: slot.count))
        return try Tensor(shape: slot.shape, values: values)
    }

    /// Overwrites the named tensor. Throws unless `tensor.shape` equals the slot's shape.
    public func setTensor(_ tensor: Tensor, named name: String) throws {
        let slot = try self.slot(named: name)
        guard tensor.shape == slot.shape else {
            throw ModelError.shapeMismatch("\(name) has shape \(slot.shape), got a tensor of shape \(tensor.shape)")
        }
        tensor.values.withUnsafeBufferPointer { source in
            (baseAddress + slot.offset).update(from: source.baseAddress!, count: slot.count)
        }
    }

    /// Sets every element (gaps and padding included) to 0, on every thread.
    public func zero() {
        swl_zero(baseAddress, count)
    }

    /// Copies every element of `other`, which must have the same layout.
    public func copy(from other: ParameterStore) throws {
        guard other.layout == layout else {
            throw ModelError.shapeMismatch("cannot copy between parameter stores with different layouts")
        }
        baseAddress.update(from: other.baseAddress, count: count)
    }

    /// Σ x² over the whole buffer, in double, in a thread-count independent order.
    public func sumOfSquares() -> Double {
        swl_sum_of_squares(baseAddress, count)
    }

    /// Multiplies every element by `factor`.
    public func scale(by factor: Float) {
        swl_scale(baseAddress, count, factor)
    }

    /// A pointer to the first element of a slot, for kernels.
    func pointer(_ slot: ParameterSlot) -> UnsafeMutablePointer<Float> { baseAddress + slot.offset }
}
