/// One benchmark case: what it runs, on what shape, and how much work one call does.
public struct BenchmarkCase {
    /// Report name, e.g. `matmul_fwd`, `attention_fwd`, `train_step_gpt2_124m`.
    public let name: String
    /// Which implementation or direction, e.g. `naive` / `flash`, `forward` / `backward`; nil if none.
    public let variant: String?
    /// Shape in the case's own convention (`MxKxN` for matmul, `B,H,T,hs` for attention, `B,T` for
    /// the training step).
    public let shape: String
    /// Floating-point operations per call, for compute-bound cases (GFLOP/s and % of FMA peak).
    public let flops: Double?
    /// Bytes read plus bytes written per call, for memory-bound cases (GB/s and % of bandwidth).
    public let bytes: Double?
    /// Memory the algorithm allocates beyond its inputs and outputs when run on the given number
    /// of threads (attention: some kernels size scratch per thread), or nil if not tracked.
    public let extraBytes: ((_ threads: Int) -> Int)?
    /// Tokens processed per call (training step), or nil (see also `Workspace.tokensPerCall`).
    public let tokens: Int?
    /// When set, the case is not run and the report says why (e.g. it would not fit in memory).
    public let skipReason: String?
    /// Allocates and fills the buffers once (in the workspace it is given, which the runner keeps
    /// alive while timing), then returns the call to time.
    public let prepare: (Workspace) throws -> () throws -> Void

    public init(
        name: String, variant: String? = nil, shape: String, flops: Double? = nil,
        bytes: Double? = nil, extraBytes: ((_ threads: Int) -> Int)? = nil, tokens: Int? = nil,
        skipReason: String? = nil, prepare: @escaping (Workspace) throws -> () throws -> Void
    ) {
        self.name = name
        self.variant = variant
        self.shape = shape
        self.flops = flops
        self.bytes = bytes
        self.extraBytes = extraBytes
        self.tokens = tokens
        self.skipReason = skipReason
        self.prepare = prepare
    }

    /// The label the table shows for the case: name, variant and shape.
    public var label: String { [name, variant, shape].compactMap { $0 }.joined(separator: " ") }
}

/// Raw buffers for one case, freed together when the workspace goes away, and what preparing the
/// case learned about its work.
///
/// Kernel cases call the C kernels directly on these (no Swift arrays in the timed loop).
public final class Workspace {
    private var allocations: [UnsafeMutableRawPointer] = []
    /// Tokens one call processes, when only preparing the case can tell (e.g. encoding a text).
    public var tokensPerCall: Int?
    /// Restores what a call consumes (the input of a kernel run in place), run untimed before
    /// every timed call; nil when calls can simply repeat.
    public var resetBeforeEachCall: (() -> Void)?

    /// `count` floats filled with a cheap deterministic pattern in [offset − scale/2, offset + scale/2).
    func floats(_ count: Int, scale: Float = 1, offset: Float = 0) -> UnsafeMutablePointer<Float> {
        let pointer = allocate(count, of: Float.self)
        for index in 0..<count {
            // A multiplicative hash: fast enough for 10⁸ parameters, varied enough for kernels.
            let bucket = Float((UInt64(index) &* 2_654_435_761) % 4096) / 4096
            pointer[index] = offset + scale * (bucket - 0.5)
        }
        return pointer
    }

    /// `count` floats like `floats(count)` for a call that overwrites them (a kernel run in place):
    /// a pristine copy is kept, and `resetBeforeEachCall` restores them from it.
    func consumedFloats(_ count: Int) -> UnsafeMutablePointer<Float> {
        let pristine = floats(count), pointer = allocate(count, of: Float.self)
        pointer.update(from: pristine, count: count)
        resetBeforeEachCall = { pointer.update(from: pristine, count: count) }
        return pointer
    }

    /// `count` zeroed floats (outputs and gradients).
    func zeros(_ count: Int) -> UnsafeMutablePointer<Float> {
        let pointer = allocate(count, of: Float.self)
        pointer.initialize(repeating: 0, count: count)
        return pointer
    }

    /// `count` int32 values in 0..<bound (token ids, targets).
    func indices(_ count: Int, below bound: Int) -> UnsafeMutablePointer<Int32> {
        let pointer = allocate(count, of: Int32.self)
        for index in 0..<count {
            pointer[index] = Int32(truncatingIfNeeded: (UInt64(index) &* 2_654_435_761) % UInt64(bound))
        }
        return pointer
    }

    private func allocate<Element>(_ count: Int, of type: Element.Type) -> UnsafeMutablePointer<Element> {
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: max(1, count) * MemoryLayout<Element>.stride, alignment: 64)
        allocations.append(raw)
        return raw.bindMemory(to: Element.self, capacity: max(1, count))
    }

    public init() {}

    deinit { for raw in allocations { raw.deallocate() } }
}
