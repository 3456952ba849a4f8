/// How a backward pass writes the parameter gradients (`GPT.backward(lossScale:gradients:)`).
/// Inside the model the layers' backwards also take it for their input gradients: `.overwrite`
/// where the destination is scratch (nothing in it read), `.accumulate` where they add into a
/// gradient already there (the residual stream of post-norm blocks).
public enum GradientWrite: String, Sendable, CaseIterable {
    /// Adds this pass's gradients to those already in `gradients`: the micro-batches of one step.
    case accumulate
    /// Replaces them: bit for bit what `zeroGradients()` and then `.accumulate` leave, without
    /// first writing zeros over all of them. The Linear weight products write their results over
    /// the old values (the LM head's is wte's, when tied); only the rest of the buffer (wpe, wte
    /// when untied, LayerNorms, biases, alignment gaps) is zeroed first.
    case overwrite
}
