import SwiftletKernels

/// AdamW with PyTorch semantics over a `ParameterStore`, with nanoGPT's two parameter groups.
///
/// Per element, for update number t (1-based):
/// `p ← p·(1 − lr·wd)`, `m ← β1·m + (1−β1)·g`, `v ← β2·v + (1−β2)·g²`,
/// `p ← p − lr·(m/(1−β1ᵗ)) / (√(v/(1−β2ᵗ)) + eps)`.
/// Weight decay applies to tensors of rank ≥ 2 (Linear weights, embeddings) and not to rank < 2
/// (biases, LayerNorm weights), as nanoGPT's `configure_optimizers` does.
///
/// The moments are `ParameterStore`s with the parameters' layout, so a checkpoint saves and
/// restores them by name with the parameters; restore `step` too.
public final class AdamW {
    /// β1, the first-moment decay.
    public var beta1: Float
    /// β2, the second-moment decay.
    public var beta2: Float
    /// ε added to √v̂.
    public var epsilon: Float
    /// Decoupled weight decay for the decayed group.
    public var weightDecay: Float
    /// Updates done so far; the next update is number `step + 1`.
    public var step: Int = 0
    /// m, same layout as the parameters.
    public let firstMoment: ParameterStore
    /// v, same layout as the parameters.
    public let secondMoment: ParameterStore
    /// A contiguous range of the flat buffer and whether it is weight-decayed.
    public struct Group: Equatable, Sendable {
        /// Indices into the flat buffer.
        public let range: Range<Int>
        /// Whether `weightDecay` applies (the tensors have rank ≥ 2).
        public let decays: Bool
    }

    /// The buffer split into runs of tensors with the same weight decay, in buffer order.
    public let groups: [Group]

    /// Zeroed moments for parameters with `layout`.
    public init(layout: ParameterLayout, beta1: Float = 0.9, beta2: Float = 0.95, epsilon: Float = 1e-8,
                weightDecay: Float = 0.1) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        firstMoment = ParameterStore(layout: layout)
        secondMoment = ParameterStore(layout: layout)
        groups = AdamW.groups(for: layout)
    }

    /// Zeroed moments for `model`'s parameters.
    public convenience init(model: GPT, beta1: Float = 0.9, beta2: Float = 0.95, epsilon: Float = 1e-8,
                            weightDecay: Float = 0.1) {
        self.init(layout: model.parameters.layout, beta1: beta1, beta2: beta2, epsilon: epsilon,
                  weightDecay: weightDecay)
    }

    /// Splits the buffer into runs of slots with the same decay, each run extended over the
    /// padding and gaps after its slots (they hold zeros and stay zero).
    static func groups(for layout: ParameterLayout) -> [Group] {
        var groups: [Group] = []
        for (index, slot) in layout.slots.enumerated() {
            let end = index + 1 < layout.slots.count ? layout.slots[index + 1].offset : layout.count
            let decays = slot.rank >= 2
            if let last = groups.last, last.decays == decays {
                groups[groups.count - 1] = Group(range: last.range.lowerBound..<end, decays: decays)
            } else {
                groups.append(Group(range: slot.offset..<end, decays: decays))
            }
        }
        return groups
    }

    /// Applies one update to `parameters` from `gradients` times `gradientScale` with
    /// `learningRate`, and counts it. The scale is gradient clipping's factor
    /// (`ParameterStore.clippingFactor`), applied as the gradients are read: the same values as
    /// scaling them first, without a pass of its own; `gradients` are not written.
    /// Throws unless both stores have the layout the optimizer was made for.
    public func update(parameters: ParameterStore, gradients: ParameterStore, learningRate: Float,
                       gradientScale: Float = 1) throws {
        guard parameters.layout == firstMoment.layout, gradients.layout == firstMoment.layout else {
            throw ModelError.shapeMismatch("AdamW was made for another parameter layout")
        }
        guard learningRate.isFinite, learningRate >= 0 else {
            throw ModelError.invalidArgument("learningRate must be finite and ≥ 0, got \(learningRate)")
        }
        guard gradientScale.isFinite, gradientScale >= 0 else {
            throw ModelError.invalidArgument("gradientScale must be finite and ≥ 0, got \(gradientScale)")
        }
        step += 1
        let t = Int32(clamping: step)
        for group in groups {
            let offset = group.range.lowerBound
            swl_adamw_update(parameters.baseAddress + offset, firstMoment.baseAddress + offset,
                             secondMoment.baseAddress + offset, gradients.baseAddress + offset,
                             group.range.count, gradientScale, learningRate, beta1, beta2, epsilon,
                             group.decays ? weightDecay : 0, t)
        }
    }
}
