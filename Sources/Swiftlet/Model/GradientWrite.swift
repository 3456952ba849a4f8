/// How a backward pass writes the parameter gradients (`GPT.backward(lossScale:gradients:)`).
public enum GradientWrite: String, Sendable, CaseIterable {
    /// Adds this pass's gradients to those already in `gradients`: the micro-batches of one step.
    case accumulate
    /// Replaces them: bit for bit what `zeroGradients()` and then `.accumulate` leave, without
    /// first writing zeros over all of them. The weight products write their results over the old
    /// values; only the rest of the buffer (embeddings, LayerNorm, biases) is zeroed first.
    case overwrite
}
